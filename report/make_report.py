#!/usr/bin/env python3
"""Write the performance report from run records (JSON Lines, schema run/1) and optional
Google Benchmark JSON files.

    report/make_report.py --out report/out results/runs.jsonl [results/bench/*.json]

Output folder: report.md, report.html (self-contained), report.pdf, table-NN.csv (the records behind
each numbered table), summary.json (every table
number at full precision), answers.json (every comparison the answers rest on, schema answers/1),
figures/*.png and figures/*.svg. Exit status 0 on success, 1 when
there are no run records, 2 on a usage error. Needs numpy and matplotlib (Debian's /usr/bin/python3).
"""

import argparse
import gc
import glob
import json
import os
import sys

PROG = "make_report"

# Run as a script, Python puts report/ itself first on sys.path; import the modules as the
# `report` package from the repository root instead, so they cannot shadow other modules.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    sys.path.pop(0)
sys.path.insert(0, os.path.dirname(_HERE))

try:
    import matplotlib  # noqa: F401  (imported only to fail early with a clear message)
    import numpy  # noqa: F401
except ImportError as e:
    print(f"{PROG}: error: {e.name} is not importable by {sys.executable}; run the report with an interpreter "
          "that has numpy and matplotlib (on Debian /usr/bin/python3 with python3-numpy python3-matplotlib)",
          file=sys.stderr)
    sys.exit(1)

from dataclasses import dataclass  # noqa: E402

from report import answers, compose, figures, model, peers, records, render, simulated, summary  # noqa: E402


@dataclass
class Performance:
    """Inputs of the sections beyond the scaling groups: cost model, Stokes prediction, peers."""
    inputs: model.Inputs
    model_groups: list
    model_fig: object
    stokes: model.Stokes
    stokes_fig: object
    comparison: object      # peers.Comparison or None
    simulated: list         # simulated.Series of the smpi records
    simulated_fig: object
    local_checks: list      # simulated.LocalCheck: local.xml beside measurement


def _cell_json(c):
    def cmp(k):
        if k is None:
            return None
        return {"baseline": {"backend": k.baseline.backend, "config": list(k.baseline.config),
                             "median_s": k.baseline.median, "n": k.baseline.n},
                "p": k.p, "speedup": k.speedup, "efficiency": k.efficiency,
                "verdict": k.verdict["verdict"], "method": k.verdict["method"], "alpha": k.verdict["alpha"],
                "ci": list(k.verdict["ci"]) if k.verdict["ci"] else None, "p_value": k.verdict["p"]}
    return {"backend": c.backend, "nodes": c.nodes, "ranks": c.ranks, "threads": c.threads, "workers": c.workers,
            "n": c.n, "times_s": c.times, "median_s": c.median, "mean_s": c.mean, "q1_s": c.q1, "q3_s": c.q3,
            "iqr_s": c.iqr, "median_ci_s": list(c.ci[:2]) if c.ci else None,
            "median_ci_coverage": c.ci[2] if c.ci else None, "phases_of_median_run_s": c.phases,
            "phase_spread_s": {k: list(v) for k, v in c.spread.items()},
            "cores": c.cores, "oversubscribed": c.oversubscribed,
            "vs_seq": cmp(c.vs_seq), "vs_one": cmp(c.vs_one), "karp_flatt": c.karp_flatt}


def _performance_json(perf):
    inp = perf.inputs
    groups = [{"gid": mg.gs.gid, "workload": mg.workload.label, "machine": mg.machine,
               "points": [{"backend": pt.cell.backend, "nodes": pt.cell.nodes, "workers": pt.cell.workers,
                           "n": len(pt.per_iter), "measured_median_s": pt.median, "measured_q1_s": pt.q1,
                           "measured_q3_s": pt.q3, "recorded_comm_s": pt.comm, "model_total_s": pt.model.total_s,
                           "model_compute_s": pt.model.compute_s, "model_comm_s": pt.model.comm_s,
                           "ratio": pt.ratio} for pt in mg.points],
               "findings": model.findings(mg, inp)} for mg in perf.model_groups]
    c = perf.comparison
    compare = None if c is None else {
        "path": c.path, "agreement": c.agreement(),
        **{section: [{"impl": r.impl, "backend": r.backend, "threads": r.threads, "median_s": r.median,
                      "base": r.base.label() if r.base else None, "ratio": r.ratio} for r in rows]
           for section, rows in (("kmeans", c.kmeans), ("regression", c.regression))}}
    return {
        "cost_model": {"row_costs": {k: list(v) for k, v in inp.costs.items()}, "row_costs_source": inp.costs_source,
                       "alpha_beta": inp.alpha_beta_path, "groups": groups},
        "stokes_prediction": {"machine": perf.stokes.machine, "assumptions": model.assumptions(inp),
                              "workloads": {perf.stokes.workloads[k].label: rows for k, rows in perf.stokes.rows.items()}},
        "compare": compare,
        "simulated": simulated.to_json(perf.simulated),
        "simulated_against_measured": simulated.local_json(perf.local_checks),
    }


def summary_json(summaries, answer_list, figs, perf):
    return {
        **_performance_json(perf),
        "groups": [{"gid": gs.gid, "app": gs.group.app, "dataset": gs.group.dataset, "params": gs.group.params,
                    "amdahl_serial_fraction": gs.amdahl,
                    "scaling_model": {b: (None if m is None else
                                          {"kind": m.kind, "value": m.value, "points": m.points,
                                           "residuals": m.residuals})
                                      for b, m in gs.scaling.items()},
                    "missing_cells": gs.missing,
                    "failed_runs": len(gs.group.failed),
                    "cells": [_cell_json(c) for c in gs.all_cells()]} for gs in summaries],
        "answers": [{"key": a.key, "question": a.question, "short": a.short, "details": a.details}
                    for a in answer_list],
        "figures": [{"name": f.name, "caption": f.caption, "png": f"figures/{f.name}.png",
                     "svg": f"figures/{f.name}.svg", "size_px": list(f.size_px)} for f in figs],
    }


def _save_in_child(figs, figdir):
    """Writes the figures' PNG and SVG files in a forked process while this one writes the
    text and the PDF: the two are the report's largest costs and independent, so on two cores
    they overlap. Returns the child's pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    # Objects that exist now are never collected in the child, so it does not touch (and copy)
    # the pages of the loaded records.
    gc.freeze()
    pid = os.fork()
    if pid:
        gc.unfreeze()
        return pid
    status = 0
    try:
        for f in figs:
            figures.save(f, figdir)
    except BaseException as e:  # noqa: BLE001 - reported by the parent, one line
        print(f"{PROG}: error: {f.name}: {e}", file=sys.stderr)
        status = 1
    finally:
        sys.stderr.flush()
        os._exit(status)


def _child_failure(pid):
    """None when the figure writer exited 0, else why it did not."""
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return None
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit {os.WEXITSTATUS(status)}"


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="report/out", help="output folder (default: report/out)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")
    ap.add_argument("--tag", metavar="PREFIX",
                    help="only the run records whose tag starts with PREFIX (a sweep: its name and '/', "
                         "e.g. stokes-scaling/; a make local run: local-2026)")
    ap.add_argument("inputs", nargs="*", metavar="FILE",
                    help="run-record JSONL files and Google Benchmark JSON files (told apart by content)")
    args = ap.parse_args(argv)

    def warn(msg):
        print(f"{PROG}: warning: {msg}", file=sys.stderr)

    if not args.inputs:
        print(f"{PROG}: error: no input files given (expected run records such as results/runs.jsonl)",
              file=sys.stderr)
        return 1
    loaded = records.load(args.inputs, warn=warn)
    if args.tag is not None:
        loaded.tag_prefix = args.tag
        loaded.runs = [r for r in loaded.runs if isinstance(r.tag, str) and r.tag.startswith(args.tag)]
        if not loaded.runs:
            print(f"{PROG}: error: no run records with a tag starting with {args.tag!r}", file=sys.stderr)
            return 1
    if not loaded.runs:
        # One line that says why, per input file (empty, unreadable, only benchmarks, no valid line).
        why = "; ".join(f"{p}: {'no valid records' if kind == 'records' else kind if kind.startswith('unreadable') else kind + ' file'}"
                        for p, _, kind, _ in loaded.files)
        print(f"{PROG}: error: no run records to report ({why})", file=sys.stderr)
        return 1
    for path, kind in loaded.unreadable():
        warn(f"{path}: {kind}; skipped")

    # Simulated runs (SMPI) have their own section and never join a measured group or verdict.
    loaded.runs, loaded.simulated = simulated.split(loaded.runs)
    # Side experiments (make compare) are reported in their own section, not as scaling groups.
    groups = records.group(records.scaling_runs(loaded.runs))
    summaries = summary.summarise_all(groups)

    figdir = os.path.join(args.out, "figures")
    os.makedirs(figdir, exist_ok=True)
    # Figures of an earlier report with other groups would linger and mislead: clear our own kinds.
    for stale in glob.glob(os.path.join(figdir, "*.png")) + glob.glob(os.path.join(figdir, "*.svg")):
        os.remove(stale)

    figures.setup()
    group_figs, all_figs = {}, []
    for gs in summaries:
        group_figs[gs.gid] = figures.group_figures(gs)
        all_figs += group_figs[gs.gid]
    bench_rows = summary.summarise_benches(loaded.benches)
    bench_fig = figures.fig_bench(bench_rows) if bench_rows else None
    inputs = model.inputs(loaded)
    mgroups = model.model_groups(summaries, inputs)
    stokes = model.stokes(inputs)
    sim = simulated.series(loaded.simulated, inputs)
    perf = Performance(inputs, mgroups, figures.fig_model(mgroups) if mgroups else None, stokes,
                       figures.fig_stokes(stokes), peers.load(loaded), sim,
                       figures.fig_simulated(sim) if sim else None,
                       simulated.against_measured(sim, loaded.simulated, loaded.runs))
    all_figs += [f for f in (perf.model_fig, perf.stokes_fig, perf.simulated_fig, bench_fig) if f is not None]
    saver = _save_in_child(all_figs, figdir)
    answers_doc = answers.answers_json(summaries)
    answer_list = answers.all_answers(summaries, {f.name for f in all_figs}, answers_doc)

    blocks = compose.build(loaded, groups, summaries, answer_list, group_figs, bench_rows, bench_fig, perf,
                           answers_doc)
    with open(os.path.join(args.out, "report.md"), "w") as fh:
        fh.write(render.markdown(blocks))
    render.write_csvs(blocks, args.out)
    render.pdf(blocks, os.path.join(args.out, "report.pdf"), {f.name: f for f in all_figs})
    figures.close(all_figs)
    why = _child_failure(saver)
    if why:
        print(f"{PROG}: error: writing the figures failed ({why})", file=sys.stderr)
        return 1
    # The page embeds the PNG files, so it waits for them.
    with open(os.path.join(args.out, "report.html"), "w") as fh:
        fh.write(render.html_page(blocks, figdir, compose.TITLE))
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(summary_json(summaries, answer_list, all_figs, perf), fh, indent=1, sort_keys=True)
        fh.write("\n")

    with open(os.path.join(args.out, "answers.json"), "w") as fh:
        json.dump(answers_doc, fh, indent=1, sort_keys=True)
        fh.write("\n")

    if not args.quiet:
        print(f"{PROG}: {len(loaded.runs)} records in {len(summaries)} groups"
              + (f", {len(loaded.simulated)} simulated" if loaded.simulated else "")
              + f", {len(all_figs)} figures -> "
              f"{os.path.join(args.out, 'report.html')} (also report.md, report.pdf)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
