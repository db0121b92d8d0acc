"""A sweep's context (Ctx): its grid and profile, and where its records, jobs, logs and state
files are, from a grid file and the command line; and the check that its inputs exist."""

import os
import sys

from jobs import options as opts
from .common import PROG, REPO, SweepError, check_text, safe_dir_name, slug
from .grid import load_grid_file, normalise_grid
from .profiles import bin_sets, load_profile


class Ctx(object):
    """Everything a sweep needs to know about where things are."""

    def __init__(self, grid, profile, results, records, report_out, bin_dir):
        self.grid, self.profile = grid, profile
        self.sweep = grid["name"]
        self.results = results
        self.records = records
        self.report_out = report_out
        self.bin_dir = bin_dir
        self.jobs_dir = os.path.join(results, "jobs")
        self.logs_dir = os.path.join(self.jobs_dir, "logs")
        self.sweep_dir = os.path.join(results, "sweeps", safe_dir_name(self.sweep))
        self.slug = slug(self.sweep, 24)


def build_ctx(args):
    g = load_grid_file(args.grid) if args.grid else {"workloads": {}, "form_axes": {}}
    where = "grid %s" % args.grid if args.grid else "grid (command line)"
    # command-line overrides
    for opt, key in (("name", "name"), ("reps", "repetitions"), ("forms", "forms"), ("nodes", "nodes"),
                     ("tasks_per_node", "tasks_per_node"), ("threads", "threads"), ("time", "time"),
                     ("time_per_run", "time_per_run")):
        v = getattr(args, opt, None)
        if v is not None:
            g[key] = v
    if args.app:
        if not args.dataset:
            raise SweepError("--app needs at least one --dataset")
        params = {}
        for kv in args.param or []:
            if "=" not in kv:
                raise SweepError("--param %r is not KEY=VALUE" % kv)
            k, v = kv.split("=", 1)
            params[k.strip()] = v
        g["workloads"] = {args.app: {"app": args.app, "datasets": list(args.dataset), "params": params}}
    elif args.dataset or args.param:
        raise SweepError("--dataset/--param define a workload together with --app")
    grid = normalise_grid(g, where)
    pname = "direct" if args.no_slurm else (args.profile or grid["profile"] or "local")
    overrides = {}
    for key in ("partition", "account", "constraint", "qos"):
        v = getattr(args, key, None)
        if v is not None:
            overrides[key] = v
    for kv in args.set or []:
        if "=" not in kv:
            raise SweepError("--set %r is not KEY=VALUE" % kv)
        k, v = kv.split("=", 1)
        overrides[k.strip()] = v
    profile = load_profile(pname, overrides)
    results = os.path.abspath(check_text("--results", args.results or os.path.join(REPO, "results")))
    records = os.path.abspath(check_text("--records", args.records or os.path.join(results, "runs.jsonl")))
    report_out = os.path.abspath(check_text("--report-out", args.report_out or os.path.join(REPO, "report", "out")))
    bin_dir = check_text("--bin", args.bin or profile["bin_dir"])
    bin_dir = os.path.abspath(os.path.join(REPO, bin_dir))
    ctx = Ctx(grid, profile, results, records, report_out, bin_dir)
    return ctx


def check_inputs(ctx, cells, strict):
    """Datasets and executables must exist (relative paths are relative to the repository)."""
    problems = []
    for ds in sorted({c.dataset for c in cells}):
        if not os.path.isfile(os.path.join(REPO, ds)):
            problems.append("dataset %s not found (relative to %s; `make datasets` writes the standard ones)" % (ds, REPO))
    for init in sorted({str(c.params["init"]) for c in cells if "init" in c.params}):
        if init not in opts.find_param("kmeans", "init").words and not os.path.isfile(os.path.join(REPO, init)):
            problems.append("init %s is neither %s nor an existing file (relative to %s)"
                            % (init, " nor ".join(opts.find_param("kmeans", "init").words), REPO))
    for exe in sorted({"%s_%s" % (c.app, c.backend) for c in cells}):
        p = os.path.join(ctx.bin_dir, exe)
        if not os.access(p, os.X_OK):
            problems.append("executable %s not found (build with `make`, or pass --bin DIR)" % p)
    for d in bin_sets(ctx.profile):
        if not os.access(os.path.join(d, "kmeans_seq"), os.X_OK):
            print("%s: warning: binary set %s (profile bin_sets) is not built: jobs will not use it "
                  "(build it with `make TARGET=<cpu>`, README \"Binaries for a mixed partition\")" % (PROG, d),
                  file=sys.stderr)
    if problems:
        if strict:
            raise SweepError("cannot run the sweep:\n  " + "\n  ".join(problems))
        for p in problems:
            print("%s: warning: %s" % (PROG, p), file=sys.stderr)
