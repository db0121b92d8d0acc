"""The command line of jobs/sweep.py: its subcommands and their options (jobs/README.md)."""

import argparse
import json
import os
import sys

from . import __doc__ as USAGE
from .common import APPS, PROG, REPO, SweepError
from .context import build_ctx
from .grid import expand_noting
from .profiles import load_profile, profile_names, resolve_capacity
from .reconcile import cmd_reconcile, format_status, sweep_status
from .recorded import recorded_in_sweep
from .submit import cmd_submit


def cmd_status(args):
    ctx = build_ctx(args)
    cores, max_nodes = resolve_capacity(ctx.profile) if ctx.profile["scheduler"] == "direct" else (10 ** 6, None)
    cells = expand_noting(ctx.grid, ctx.profile, cores, max_nodes)
    done, rows, _, _ = sweep_status(ctx.sweep, ctx.grid["repetitions"], cells, ctx.records, ctx.jobs_dir,
                                    ctx.sweep_dir)
    if args.json:
        json.dump({"sweep": ctx.sweep, "expected": len(cells) * ctx.grid["repetitions"], "recorded": len(done),
                   "missing": rows}, sys.stdout, indent=1, sort_keys=True)
        print()
    else:
        for line in format_status(ctx.sweep, ctx.grid["repetitions"], cells, done, rows, grouped=not args.verbose):
            print(line)
    return 1 if rows else 0


def cmd_recorded(args):
    """For the job scripts: exit 0 when the run already has a valid record (recorded.py's rule)."""
    try:
        return 0 if recorded_in_sweep(args.sweep_dir, args.cell, args.rep) else 1
    except (OSError, ValueError, KeyError) as e:
        raise SweepError("%s: no readable plan.json (%s)" % (args.sweep_dir, e))


def cmd_profiles(args):
    for n in profile_names():
        try:
            p = load_profile(n)
            print("%-8s %s" % (n, p["description"]))
        except SweepError as e:
            print("%-8s (broken: %s)" % (n, e))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="jobs/sweep.py", description=USAGE.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Grid format, profiles and examples: jobs/README.md")
    sub = ap.add_subparsers(dest="cmd")

    def grid_opts(p):
        p.add_argument("grid", nargs="?", help="grid file (.ini or .json)")
        p.add_argument("--profile", help="cluster profile: %s, or a .conf path (default: the grid's, else local)"
                       % ", ".join(profile_names()))
        p.add_argument("--no-slurm", action="store_true", help="run on this machine without Slurm (profile direct)")
        p.add_argument("--name", help="sweep name (also the first part of every tag)")
        p.add_argument("--reps", help="repetitions")
        p.add_argument("--forms", help="forms, e.g. 'seq omp mpi'")
        p.add_argument("--nodes", help="node counts, e.g. '1 2 4'")
        p.add_argument("--tasks-per-node", dest="tasks_per_node", help="MPI tasks per node, e.g. '1 2'")
        p.add_argument("--threads", help="OpenMP threads, e.g. '1 2 4'")
        p.add_argument("--time", help="--time of every job (Slurm format); default: time_per_run x runs")
        p.add_argument("--time-per-run", dest="time_per_run", help="time allowed per run (Slurm format)")
        p.add_argument("--app", choices=sorted(APPS), help="define a workload on the command line ...")
        p.add_argument("--dataset", action="append", help="... its dataset(s) (repeatable)")
        p.add_argument("--param", action="append", help="... and parameters KEY=VALUE (repeatable)")
        p.add_argument("--partition")
        p.add_argument("--account")
        p.add_argument("--constraint")
        p.add_argument("--qos")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a profile key")
        p.add_argument("--results", help="results folder (records, jobs/, sweeps/); default results/")
        p.add_argument("--records", help="records file (default RESULTS/runs.jsonl)")
        p.add_argument("--report-out", dest="report_out", help="report folder (default report/out)")
        p.add_argument("--bin", help="folder of the executables (default: the profile's bin_dir)")

    ps = sub.add_parser("submit", help="submit the missing runs of a grid (and a report job)")
    grid_opts(ps)
    ps.add_argument("--dry-run", action="store_true", help="print the scripts and check them with sbatch --test-only")
    ps.add_argument("--no-test-only", action="store_true", help="with --dry-run: only render")
    ps.add_argument("--no-report", action="store_true", help="do not submit the report job")
    ps.add_argument("--force", action="store_true", help="also resubmit runs whose earlier job is still queued")
    ps.add_argument("--wait", action="store_true", help="wait for the jobs, then print the status")
    ps.add_argument("--wait-timeout", type=int, default=3600, help="seconds --wait waits at most (default 3600)")
    pst = sub.add_parser("status", help="what is recorded, what is missing and why")
    grid_opts(pst)
    pst.add_argument("--json", action="store_true", help="the same as one JSON object")
    pst.add_argument("-v", "--verbose", action="store_true",
                     help="every missing run and why (default: one line per cell type)")

    def results_opt(p):
        p.add_argument("--results", default=os.path.join(REPO, "results"),
                       help="results folder the sweeps were submitted with (default results/)")
    pl = sub.add_parser("list", help="the sweeps under the results folder, with done/queued/missing runs")
    results_opt(pl)
    pc = sub.add_parser("cancel", help="scancel the sweep's queued and running jobs (by the ids it recorded)")
    pc.add_argument("sweep", help="sweep name, or its grid file")
    results_opt(pc)
    pe = sub.add_parser("export", help="the sweep's records as CSV, one row per record (columns: jobs/README.md)")
    pe.add_argument("sweep", help="sweep name, or its grid file")
    pe.add_argument("--csv", action="store_true", help="CSV (the only format; the default)")
    pe.add_argument("--out", help="file to write (default: standard output)")
    results_opt(pe)
    pcmp = sub.add_parser("compare", help="two sweeps' cells side by side: medians, ratio and the report's test")
    pcmp.add_argument("sweep_a", metavar="SWEEP_A", help="sweep name or grid file (the base)")
    pcmp.add_argument("sweep_b", metavar="SWEEP_B", help="sweep name or grid file")
    results_opt(pcmp)
    pr = sub.add_parser("reconcile", help="(report job) list missing cells and append failure records")
    pr.add_argument("--sweep-dir", required=True)
    pr.add_argument("--no-write", action="store_true", help="only print")
    prec = sub.add_parser("recorded", help="(job scripts) exit 0 when a run has a valid record, else 1")
    prec.add_argument("--sweep-dir", required=True)
    prec.add_argument("--cell", required=True)
    prec.add_argument("--rep", type=int, required=True)
    sub.add_parser("profiles", help="list the cluster profiles")
    args = ap.parse_args(argv)
    if not args.cmd:
        ap.print_help()
        return 2
    try:
        if args.cmd in ("list", "cancel", "export", "compare"):
            args.results = os.path.abspath(args.results)
            from jobs import browse
            return getattr(browse, "cmd_" + args.cmd)(args)
        return {"submit": cmd_submit, "status": cmd_status, "reconcile": cmd_reconcile, "recorded": cmd_recorded,
                "profiles": cmd_profiles}[args.cmd](args)
    except SweepError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("%s: interrupted; jobs already submitted stay queued, records already written are kept" % PROG,
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
