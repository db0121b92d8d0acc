"""The report as a list of format-neutral blocks; render.py turns them into Markdown, HTML and PDF.

Blocks are tuples:
  ("h", level, text)           heading (level 1..4)
  ("p", text)                  paragraph; `code` spans and **bold** are the only inline markup
  ("ul", [text, ...])          bullet list
  ("table", header, rows, note[, meta])   rows are lists of cell strings; note is a paragraph or
                               None; meta (optional dict): "key" (what the summary cites it by),
                               "csv" ((header, rows) of the records it came from; else the table
                               itself is its CSV), "num" and "csv_name" (set by number_tables)
  ("fig", number, Figure)      a figures.Figure with its caption
"""

import os
import platform
import re
from collections import Counter

import matplotlib
import numpy

from . import fmt, handin, model, simulated, stats, summary
from .records import FORM_NAMES, SCHEMA, SIDE_TAGS, form_rank
from .answers import iterations_of, mstep_pairs, scaling_text

STOKES = ("Stokes is the research cluster of the University of Central Florida's Advanced Research Computing "
          "Center (UCF ARCC), the cluster `jobs/grids/stokes-scaling.ini` targets: Slurm, nodes of 32 (Skylake) or 48 "
          "(Cascade Lake, Ice Lake, Sapphire Rapids) cores, accounts charged in core-hours.")
APP_NAMES = {"kmeans": "k-means clustering", "nlreg": "nonlinear regression"}
TITLE = "hpc-batch report: k-means and nonlinear regression, sequential / OpenMP / MPI"


def _params_text(params):
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "none"


def _dataset_text(ds):
    bits = [f"`{ds.get('path', '?')}`"]
    shape = [f"{k}={ds[k]}" for k in ("n", "d", "dtype") if k in ds]
    if shape:
        bits.append("(" + ", ".join(shape) + ")")
    if ds.get("sha256"):
        bits.append(f"sha256 `{str(ds['sha256'])[:16]}...`")
    return " ".join(bits)


def _distinct(runs, getter):
    c = Counter()
    for r in runs:
        v = getter(r)
        if isinstance(v, list):
            v = ", ".join(map(str, v))
        c["(not recorded)" if v in (None, "") else str(v)] += 1
    return c


def _speedup_cell(cmp, is_base):
    if is_base:
        return "base"
    if cmp is None or cmp.speedup is None:
        return "n/a"
    v = cmp.verdict
    text = fmt.ratio(cmp.speedup)
    if v["ci"]:
        text += f" [{fmt.ratio(v['ci'][0])}, {fmt.ratio(v['ci'][1])}]"
    text += f" (p={fmt.pvalue(v['p'])})"
    mark = {"faster": " +", "slower": " -", "same": " ="}[v["verdict"]]
    return text + mark


TABLE_HEADER = ["nodes", "ranks", "threads", "p", "n", "median [s]", "mean [s]", "IQR [s]", "95% CI of median [s]",
                "S vs seq", "E vs seq", "S vs p=1", "E vs p=1", "Karp-Flatt e", "compute [s]", "comm [s]", "io [s]"]


def form_table(gs, backend):
    rows = []
    any_over = False
    for c in gs.cells[backend]:
        is_seq_base = c is gs.seq
        is_one_base = c is gs.one.get(backend)
        p = str(c.workers)
        if c.oversubscribed:
            p += "*"
            any_over = True
        rows.append([str(c.nodes), str(c.ranks), str(c.threads), p, str(c.n),
                     fmt.secs(c.median), fmt.secs(c.mean), fmt.secs(c.iqr),
                     fmt.interval(c.ci) if c.ci else f"n/a (n={c.n}<6)",
                     _speedup_cell(c.vs_seq, is_seq_base),
                     "base" if is_seq_base else fmt.ratio(c.vs_seq.efficiency) if c.vs_seq else "n/a",
                     _speedup_cell(c.vs_one, is_one_base),
                     "base" if is_one_base else fmt.ratio(c.vs_one.efficiency) if c.vs_one else "n/a",
                     fmt.ratio(c.karp_flatt) if c.karp_flatt is not None else "-",
                     fmt.secs(c.phases.get("compute")), fmt.secs(c.phases.get("comm")), fmt.secs(c.phases.get("io"))])
    one = gs.one.get(backend)
    base = []
    if gs.seq is not None:
        base.append(f"S/E vs seq: the sequential run, median {fmt.secs(gs.seq.median)} s (n={gs.seq.n})")
    if one is not None and backend != "seq":
        base.append(f"S/E vs p=1: the single-worker {backend} run ({one.nodes} node, {one.ranks} rank, "
                    f"{one.threads} thread), median {fmt.secs(one.median)} s (n={one.n})")
    note = ("Baselines: " + "; ".join(base) + ". " if base else "No baseline run in this group. ")
    note += ("S = ratio of median times, E = S/p, Karp-Flatt e = (1/S - 1/p)/(1 - 1/p) from S vs p=1. "
             "In brackets the CI of S at its Holm level; p = the two-sided Mann-Whitney p-value (see Method); "
             "+ faster, - slower, = no detectable difference. Phase columns: the run with the median total.")
    if any_over:
        note += " * more workers than cores per node (oversubscribed)."
    return ("table", TABLE_HEADER, rows, note,
            {"key": ("form", gs.gid, backend), "csv": runs_csv(gs.gid, gs.cells[backend])})


RUN_CSV_HEADER = ["group", "app", "backend", "nodes", "ranks", "threads", "workers", "total_s", "io_s", "init_s",
                  "compute_s", "comm_s", "metrics_s", "per_iter_s", "iterations", "mstep", "init", "accuracy",
                  "inertia", "mse", "tag", "utc", "git", "file", "line"]


def runs_csv(gid, cells):
    """(header, rows): one row per run record behind a table, with its phases and result."""
    rows = []
    for c in cells:
        for r in c.runs:
            ts = r.time_s
            rows.append([gid, r.app, r.backend, r.nodes, r.ranks, r.threads, r.workers]
                        + [ts.get(k) for k in ("total", "io", "init", "compute", "comm", "metrics", "per_iter")]
                        + [iterations_of(r), r.params.get("mstep"), r.params.get("init")]
                        + [r.result.get(k) for k in ("accuracy", "inertia", "mse")]
                        + [r.tag, r.prov.get("utc"), r.prov.get("git"), r.source, r.line])
    return RUN_CSV_HEADER, rows


def quality_sentence(gs):
    """One sentence in place of the quality figure when every run of the group has the same
    result (figures.quality_identical)."""
    r = gs.all_cells()[0].runs[0].result
    init = gs.group.params.get("init") or "not recorded"
    vals = [f"inertia {fmt.sig(r['inertia'], 7)}" if isinstance(r.get("inertia"), (int, float)) else None,
            (f"accuracy {r['accuracy']:.4f} (Hungarian one-to-one matching of clusters to labels, "
             f"{init} initial centroids)") if isinstance(r.get("accuracy"), (int, float)) else None,
            f"NMI {r['nmi']:.4f}" if isinstance(r.get("nmi"), (int, float)) else None]
    n = sum(c.n for c in gs.all_cells())
    return (f"Result quality: every one of the {n} runs, at every worker count "
            f"(p = {', '.join(map(str, gs.worker_counts()))}) and in every form, ends with the same labels and "
            f"centroids (hashes) and " + fmt.join_and(v for v in vals if v) + ", so no quality figure is drawn.")


def mstep_blocks(summaries, doc):
    """The per-cluster M-step (owner) against the all-reduce one, from answers.json's "mstep" entries."""
    pairs = mstep_pairs(summaries)
    if not pairs:
        return []
    out = [("h", 3, "M-step: per-cluster (owner) against all-reduce (reduce)"),
           ("p", "The assignment asks each worker to handle a cluster in the M-step (`--mstep owner`: each worker "
                 "averages the clusters it owns, after the per-worker sums are exchanged); the questions above use "
                 "`--mstep reduce` (every worker's per-cluster sums are all-reduced). Both are measured with the "
                 "same data and parameters; the test is the report's Mann-Whitney test with Holm's correction "
                 "across the configurations of one dataset.")]
    header = ["group (owner)", "group (reduce)", "form", "p", "n", "median reduce [s]", "median owner [s]",
              "reduce/owner time", "p-value", "verdict (owner)", "same result"]
    for red, own in pairs:
        es = [e for e in doc["comparisons"] if e["question"] == "mstep" and e["group"] == own.gid]
        rows = []
        for e in es:
            ci = f" [{fmt.ratio(e['ci'][0])}, {fmt.ratio(e['ci'][1])}]" if e["ci"] else ""
            rows.append([own.gid, red.gid, e["backend"], str(e["workers"]), f"{e['n']}+{e['n_base']}",
                         fmt.secs(stats.median(e["base_times"])), fmt.secs(stats.median(e["times"])),
                         fmt.ratio(e["ratio"]) + ci, fmt.pvalue(e["p_value"]), e["verdict"],
                         "bitwise" if e["same_result"] else "differs"])
        cells = [c for c in red.all_cells()] + [c for c in own.all_cells()]
        out.append(("table", header, rows,
                    "reduce/owner time: median time with reduce over median time with owner (above 1: owner "
                    "faster), Hodges-Lehmann CI at the Holm level in brackets. Same result: labels and centroids "
                    "hashes equal in every run of both.",
                    {"key": ("mstep", own.gid), "csv": runs_csv(own.gid, cells)}))
    return out


def group_blocks(gs, figs, fignum):
    g = gs.group
    out = [("h", 3, f"Group `{gs.gid}`")]
    n_fail = len(g.failed)
    out.append(("p", f"Workload `{g.app}` ({APP_NAMES.get(g.app, g.app)}); data {_dataset_text(g.dataset)}; "
                     f"params: {_params_text(g.params)}. "
                     f"{fmt.plural(len(g.runs), 'successful run')}"
                     + (f", {fmt.plural(n_fail, 'failed run')} (listed under Failed runs)" if n_fail else "")
                     + f"; forms: {', '.join(FORM_NAMES.get(b, b) for b in gs.cells)}."))
    mixed = []
    for label, get in (("CPU models", lambda r: r.prov.get("cpu")), ("git commits", lambda r: r.prov.get("git")),
                       ("host sets", lambda r: tuple(r.hosts)), ("compilers", lambda r: r.prov.get("compiler")),
                       ("flag sets", lambda r: r.prov.get("flags"))):
        vals = {get(r) for r in g.runs}
        if len(vals) > 1:
            mixed.append(f"{len(vals)} {label}")
    if mixed:
        out.append(("p", "**Caution:** this group mixes " + fmt.join_and(mixed) +
                         " (see Setup and provenance); their times are summarised together because the report "
                         "groups by workload, data and parameters only."))
    for backend in gs.cells:
        out.append(("h", 4, f"{FORM_NAMES.get(backend, backend)} ({backend})"))
        out.append(form_table(gs, backend))
    models = [scaling_text(m, b) for b, m in gs.scaling.items() if m is not None and b != "seq"]
    if models:
        out.append(("p", "Serial fraction from S vs p=1 (oversubscribed runs left out; Amdahl fitted only from "
                         "two or more worker counts above 1): " + " ".join(models)))
    if g.app == "kmeans" and not any(f.name == f"{gs.gid}-quality" for f in figs):
        out.append(("p", quality_sentence(gs)))
    for f in figs:
        fignum[0] += 1
        out.append(("fig", fignum[0], f))
    return out


def stream_bound_sentences(rows):
    """One sentence per dense Lloyd iteration benchmark (BM_LloydIteration<T>/n/d/k) whose
    file also holds the streaming pass over the same rows (BM_StreamPass<T>/n/d): the
    iteration's median time as a multiple of that pass's median (both per benchmark iteration)."""
    by_key = {(r.source, r.name): r for r in rows if r.median}
    out = []
    for r in rows:
        m = re.fullmatch(r"BM_LloydIteration<(\w+)>/(\d+)/(\d+)/(\d+)", r.name)
        if not (m and r.median):
            continue
        dtype, n, d, k = m.groups()
        bound = by_key.get((r.source, f"BM_StreamPass<{dtype}>/{n}/{d}"))
        if bound is None:
            continue
        out.append(f"one dense Lloyd iteration on {int(n):,} x {d} {dtype} rows with k = {k} takes "
                   f"{fmt.si_time(r.median)}, {r.median / bound.median:.2f}x one streaming pass over the same rows "
                   f"({fmt.si_time(bound.median)}; medians over {len(r.real_s)} and {len(bound.real_s)} repetitions, "
                   f"{os.path.basename(r.source)}).")
    return out


# The file's reference rates for the roofline table: the best SGEMM (OpenBLAS, the E-step's
# product) and the streaming pass (one read of the rows) measured in the same run.
PEAK_FLOPS_BENCH = "BM_Sgemm/"
STREAM_BENCH = "BM_StreamPass<"


def roofline_rows(rows):
    """[benchmark, file, GFLOP/s, x SGEMM, GB/s, x stream] for each benchmark with a flop rate,
    against the fastest BM_Sgemm and the fastest BM_StreamPass of the same file (a run's own
    reference points: the fraction of what this machine reached, not of a datasheet peak)."""
    def best(source, prefix, key):
        rates = [r.rates[key] for r in rows
                 if r.source == source and r.name.startswith(prefix) and r.rates.get(key)]
        return max(rates) if rates else None

    out = []
    for r in rows:
        flops = r.rates.get(summary.FLOPS_COUNTER)
        if not flops or r.name.startswith(PEAK_FLOPS_BENCH):
            continue
        peak = best(r.source, PEAK_FLOPS_BENCH, summary.FLOPS_COUNTER)
        stream = best(r.source, STREAM_BENCH, "bytes_per_second")
        bw = r.rates.get("bytes_per_second")
        out.append([r.name, os.path.basename(r.source), f"{flops / 1e9:.1f}",
                    f"{flops / peak:.2f}" if peak else "n/a", f"{bw / 1e9:.2f}" if bw else "n/a",
                    f"{bw / stream:.2f}" if bw and stream else "n/a"])
    return out


# BM_KMeansRun's counters (bench/bench_kernels.cpp, from kmeans::Result): seconds per iteration.
PHASES = [("prep_s", "prep"), ("assign_s", "E-step"), ("sums_s", "M-step sums"), ("means_s", "means"),
          ("comm_s", "collectives")]


def phase_rows(rows):
    """[benchmark, file, time per iteration, each phase (share), moved, distances] of BM_KMeansRun."""
    out = []
    for r in rows:
        c = r.counters or {}
        per = c.get("time_per_iteration")
        if not r.name.startswith("BM_KMeansRun/") or not per or not all(k in c for k, _ in PHASES):
            continue
        out.append([r.name.split("/", 1)[1], os.path.basename(r.source), fmt.si_time(per)]
                   + [f"{fmt.si_time(c[k])} ({100 * c[k] / per:.0f}%)" for k, _ in PHASES]
                   + [f"{100 * c[k]:{'.2f' if k == 'moved_fraction' else '.1f'}}%" if k in c else "n/a"
                      for k in ("moved_fraction", "distance_fraction", "rows_read_fraction")])
    return out


PHASE_HEADER = ["algorithm", "file", "per iteration"] + [label for _, label in PHASES] + \
               ["rows moved per iteration", "distances computed", "rows read"]
PHASE_CAPTION = ("Where one k-means iteration's time goes (`BM_KMeansRun`: the solver on one worker, MNIST, k = 10, "
                 "from the first 10 images to convergence; CPU time per iteration, medians): prep readies the E-step "
                 "for new centroids (packing; the pruned algorithms' centroid drifts), the E-step tests bounds and "
                 "computes distances, the M-step sums are updated by the rows that moved, means divides them "
                 "(collectives apart). Phases are wall time and need not add up to the CPU time exactly. Rows read: "
                 "the rows whose values an E-step read (each costs a trip to memory: the pruned E-steps' time follows "
                 "them more than the distances).")

ROOFLINE_HEADER = ["benchmark", "file", "GFLOP/s", "x best SGEMM", "GB/s of input", "x streaming pass"]
ROOFLINE_CAPTION = ("Where the kernels stand: each benchmark's flop rate against the fastest OpenBLAS SGEMM "
                    "(`BM_Sgemm`, the E-step's product) and its input read rate against the streaming pass "
                    "(`BM_StreamPass`), both measured in the same file's run (medians). A kernel near 1.00x SGEMM "
                    "is bound by arithmetic, near 1.00x streaming by memory.")


def bench_blocks(rows, fig, fignum):
    out = [("h", 2, "Microbenchmarks")]
    if not rows:
        out.append(("p", "The benchmark files hold no benchmark entries."))
        return out
    header = ["benchmark", "file", "threads", "reps", "median real", "min..max real", "median CPU", "items/s", "bytes/s"]
    body = []
    for r in rows:
        body.append([r.name, os.path.basename(r.source), str(r.threads),
                     (str(len(r.real_s)) + (" (aggregate)" if r.from_aggregate else "")) if r.real_s else "0",
                     fmt.si_time(r.median),
                     f"{fmt.si_time(min(r.real_s))}..{fmt.si_time(max(r.real_s))}" if r.real_s else "n/a",
                     fmt.si_time(stats.median(r.cpu_s)) if r.cpu_s else "n/a",
                     fmt.si_rate(r.rates.get("items_per_second")), fmt.si_rate(r.rates.get("bytes_per_second"))])
    out.append(("table", header, body, "Times per benchmark iteration; rates are medians over repetitions "
                                       "(for an odd count the rate of the median time)."))
    for build, header, caption in ((roofline_rows, ROOFLINE_HEADER, ROOFLINE_CAPTION),
                                   (phase_rows, PHASE_HEADER, PHASE_CAPTION)):
        body = build(rows)
        if body:
            out.append(("table", header, body, caption))
    bound = stream_bound_sentences(rows)
    if bound:
        out.append(("p", "Against the memory bound, measured in the same run: " + " ".join(bound)))
    errs = [f"{r.name}: {r.error}" for r in rows if r.error]
    if errs:
        out.append(("p", "Benchmarks that reported an error:"))
        out.append(("ul", errs))
    if fig is not None:
        fignum[0] += 1
        out.append(("fig", fignum[0], fig))
    return out


def model_blocks(inp, groups, fig, fignum):
    """Cost model against measurement: the figure, the table of ratios and what they say."""
    out = [("h", 2, "Cost model against measurement")]
    ab = (f"alpha and beta from `{inp.alpha_beta_path}`" if inp.alpha_beta is not None
          else "the built-in alpha and beta of cost_model.py")
    out.append(("p", "The cost model of `bench/COST_MODEL.md` (`bench/cost_model.py --machine here`) predicts one "
                     "iteration (k-means) or epoch (regression) from the per-row cost of its kernel on one core and "
                     "the alpha-beta cost of the collectives, for P MPI ranks. Here it is evaluated with per-row costs "
                     f"from {'`' + inp.costs_source + '`' if inp.measured_costs else inp.costs_source} and {ab}."))
    fill = []
    if not inp.measured_costs:
        fill.append("`make bench` measures this machine's per-row costs (results/bench/microbench.json)")
    if inp.alpha_beta is None:
        fill.append("`make bench-mpi` its MPI latency and bandwidth (results/bench/alpha_beta.json)")
    if fill:
        out.append(("p", "Built-in values stand in for missing inputs: " + "; ".join(fill) + "; then `make report`."))
    if not groups:
        out.append(("p", "No run records of a workload the model covers (k-means with k = 10, Lloyd, reduce M-step, "
                         "on 784 uint8 or 64 float32 features; regression by gradient descent): `make local` runs "
                         "them."))
        return out
    m = groups[0].machine
    out.append(("p", f"Model machine: P = p ranks on a node of {m['cores_per_node']} cores, alpha = "
                     f"{m['alpha_intra'] * 1e6:.3g} us, beta = {m['beta_intra']:.3g} s/byte "
                     f"({1 / m['beta_intra'] / 1e9:.3g} GB/s). Measured: the median and IQR of time_s.per_iter of "
                     "the runs; recorded comm: the median of time_s.comm per iteration (communication and waiting)."))
    if fig is not None:
        fignum[0] += 1
        out.append(("fig", fignum[0], fig))
    header = ["form", "p", "n", "measured median", "IQR", "model", "model compute", "model comm", "measured / model",
              "recorded comm"]
    for mg in groups:
        out.append(("h", 3, f"{mg.workload.label}: group `{mg.gs.gid}`"))
        out.append(("table", header,
                    [[pt.cell.backend, str(pt.cell.workers), str(len(pt.per_iter)), fmt.si_time(pt.median),
                      fmt.si_time(pt.q3 - pt.q1), fmt.si_time(pt.model.total_s), fmt.si_time(pt.model.compute_s),
                      fmt.si_time(pt.model.comm_s), fmt.ratio(pt.ratio), fmt.si_time(pt.comm)] for pt in mg.points],
                    f"Times per {mg.workload.unit}."))
        out.append(("ul", model.findings(mg, inp)))
    return out


def stokes_blocks(inp, pred, fig, fignum):
    """The model's prediction for 1 core and 1-16 Stokes nodes, labelled as a prediction."""
    out = [("h", 2, "Prediction for a Stokes-sized sweep")]
    out.append(("p", STOKES))
    out.append(("p", "**A prediction from stated assumptions, not a measurement.** The same cost model with the "
                     "Stokes parameters of `bench/cost_model.py` (argued in `bench/COST_MODEL.md`) predicts the time "
                     "per iteration on one core and on 1 to 16 nodes of 48 cores. Assumptions:"))
    out.append(("ul", model.assumptions(inp)))
    configs = next(iter(pred.rows.values()))
    header = ["workload"] + [("1 core" if r["ranks"] == 1 else f"{fmt.plural(r['nodes'], 'node')} ({r['ranks']} cores)")
                             for r in configs]

    def cell(r):
        if r["ranks"] == 1:
            return fmt.si_time(r["total_s"])
        # Far above ideal means a rank's rows just dropped into cache: the model's step from memory
        # to cache bandwidth is abrupt there (bench/COST_MODEL.md), so the number is flagged.
        return f"{fmt.si_time(r['total_s'])} ({fmt.sig(r['speedup'], 3)}x{'*' if r['efficiency'] > 1.2 else ''})"
    body = [[pred.workloads[key].label] + [cell(r) for r in rows] for key, rows in pred.rows.items()]
    superlinear = any(r["efficiency"] > 1.2 for rows in pred.rows.values() for r in rows)
    out.append(("table", header, body, "Predicted time per iteration (epoch for the regression); in brackets the "
                                       "speedup over one core"
                + ("; * above 1.2x ideal: each rank's rows fit in cache there, where the model's switch from memory "
                   "to cache bandwidth is too abrupt to trust: read it as 'faster than linear'" if superlinear else "")
                + ". Per-row costs and alpha-beta measured on Stokes itself (`make bench`, `bench/mpi/alpha_beta.cpp`) "
                  "would replace the assumptions."))
    if fig is not None:
        fignum[0] += 1
        out.append(("fig", fignum[0], fig))
    return out


def simulated_blocks(ss, fig, fignum, checks=()):
    """Simulated runs (SMPI) beside the cost model: a section of their own, never in a verdict."""
    out = [("h", 2, "Simulated scaling (SimGrid SMPI, not measured)")]
    out.append(("p", "**Simulated, not measured.** These records (`backend: \"smpi\"`, `make simulate`, "
                     "`jobs/smpi-run`) come from the unchanged MPI code run by SimGrid SMPI on a platform described in "
                     "`jobs/platforms/`: every rank executes its real arithmetic, compute bursts are timed on the host "
                     "and rescaled, MPI calls are timed by the network model. Their times are simulated seconds; they "
                     "are in no group, answer or verdict above. Beside each configuration: the cost model "
                     "(`bench/cost_model.py`) for the same ranks and nodes."))
    for s in ss:
        note = f" The model: {s.workload.label}" if s.workload else " The cost model has no workload for these parameters."
        if s.rows_per_rank and s.workload:
            note = (f" Weak scaling: {s.rows_per_rank} rows per rank, so each rank count has its own data set "
                    f"(n = {s.rows_per_rank} x ranks), and the model is of that data")
        if s.model_note:
            note += f"; {s.model_note}"
        out.append(("table", simulated.HEADER, simulated.rows(s),
                    f"{s.label}, tag {', '.join(f'`{t}`' for t in s.tags)}: simulated time per {s.unit} (median of the runs) and the "
                    f"model's." + (note + "." if s.workload else note)))
        sentence = simulated.peak_sentence(s)
        if sentence:
            out.append(("p", sentence))
    if fig is not None:
        fignum[0] += 1
        out.append(("fig", fignum[0], fig))
    dis = simulated.disagreements(ss)
    limit = round(100 * (simulated.DISAGREES - 1))
    if dis:
        out.append(("p", f"Simulation and model differ by more than {limit}% at "
                         f"{fmt.plural(len(dis), 'configuration')}:"))
        out.append(("ul", [f"{s.label}, {fmt.plural(pt.ranks, 'rank')} on {fmt.plural(pt.nodes, 'node')} "
                           f"(simulated / model {fmt.ratio(pt.ratio)}): " + "; ".join(why)
                           for s, pt, why in dis]))
    else:
        out.append(("p", f"Simulation and model agree within {limit}% at every simulated configuration."))
    out += local_check_blocks(checks)
    return out


# Below this measured time per iteration, the compute bursts SMPI times are a few microseconds,
# where its own cost per burst shows (jobs/platforms/README.md, "Simulation against measurement").
SHORT_BURST_S = 20e-6


def local_check_blocks(checks):
    """The simulation against measurement on the machine local.xml describes, when both exist."""
    if not checks:
        return []
    limit = round(100 * (simulated.DISAGREES - 1))
    out = [("h", 3, "Simulation against measurement on this machine (local.xml)"),
           ("table", simulated.LOCAL_HEADER, simulated.local_rows(checks),
            "Simulated time per iteration (epoch for the regression) on `jobs/platforms/local.xml` beside the "
            "measured MPI runs of the same data, parameters and ranks on the machine it describes (medians; "
            "`jobs/platforms/check_local.py` makes the pairs).")]
    off = [c for c in checks if not c.within]
    text = (f"The simulated time per iteration is within {limit}% of the measured one at "
            f"{len(checks) - len(off)} of {fmt.plural(len(checks), 'configuration')}.")
    if off:
        text += " Beyond it: " + "; ".join(
            f"{c.label} at {fmt.plural(c.ranks, 'rank')} ({fmt.ratio(c.ratio)}"
            + (f": an iteration of {fmt.si_time(stats.median(c.measured))}, so compute bursts of a few microseconds, "
               "where SMPI's own cost per burst shows" if stats.median(c.measured) < SHORT_BURST_S else "")
            + ")" for c in off) + "."
    out.append(("p", text))
    return out


def _clustering_table(rows, caption):
    """The k-means comparison table of these PeerRows: times, ratio to the base row, quality."""
    return ("table", ["implementation", "threads", "iterations", "runs", "median per iteration", "min..max",
                      "compared with", "time ratio", "inertia", "accuracy", "distances computed"],
            [_peer_cells(r) + [_quality(r.raw, "inertia", 2), _quality(r.raw, "accuracy", 4), _distances(r)]
             for r in rows], caption)


def _distances(row):
    """A k-means row's share of Lloyd's distances, or '-' (libraries do not say)."""
    f = row.raw.get("distance_fraction")
    return f"{100 * f:.1f}%" if isinstance(f, (int, float)) else "-"


def _quality(raw, key, digits):
    v = raw.get(key)
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"


def _peer_cells(r):
    return [r.label(), str(r.threads), str(r.iterations if r.iterations is not None else "-"), str(len(r.times)),
            fmt.si_time(r.median), f"{fmt.si_time(min(r.times))}..{fmt.si_time(max(r.times))}",
            r.base.label() if r.base else "-", fmt.ratio(r.ratio) if r.base else "-"]


def compare_blocks(comparison, n_records):
    """The toolkit beside scikit-learn, faiss and numpy, from compare.json (make compare)."""
    out = [("h", 2, "Comparison with peers")]
    if comparison is None:
        out.append(("p", "Not measured yet: `make compare` writes results/compare.json, which `make report` reads."))
        return out
    d = comparison.data
    km, rg = d.get("kmeans") or {}, d.get("regression") or {}
    load = d.get("load_average_at_start")
    out.append(("p", f"From `{comparison.path}` ({d.get('utc', 'date not recorded')}, {d.get('cores', '?')} cores, "
                     f"median of {d.get('reps', '?')} runs per row). k-means: MNIST, k = {km.get('k', '?')}, initial "
                     f"centroids {km.get('init', '?')}, at most {km.get('max_iter', '?')} iterations, tol "
                     f"{km.get('tol', '?')}; regression: {rg.get('dataset', '?')}, {rg.get('epochs', '?')} epochs of "
                     f"gradient descent, lr {rg.get('lr', '?')}. Times per iteration or epoch: the toolkit's "
                     "time_s.per_iter, the libraries' fit divided by its iterations (after one untimed warm-up fit)."
                     + (f" **The machine was busy when it started (load average {load:.1f}): the all-core times "
                        "are unreliable.**" if isinstance(load, (int, float)) and load > 0.5 else "")))
    if comparison.kmeans:
        out.append(("h", 3, "k-means"))
        out.append(_clustering_table(
            comparison.kmeans,
            "Time ratio: this row's median over that of the row it is compared with (above 1: slower). A "
            "library is compared with the toolkit's same algorithm at the same threads (faiss with Lloyd), "
            "toolkit Hamerly and Elkan with toolkit Lloyd, toolkit Lloyd on all cores with itself on one. "
            "Inertia (float64, [0, 1] pixels) and accuracy (Hungarian) recomputed the same way for all."))
        paired = comparison.paired_sentence()
        if paired:
            out.append(("p", paired))
    if comparison.scale:
        sc = d.get("kmeans_scale") or {}
        out.append(("h", 3, "k-means at scale"))
        out.append(("p", f"{sc.get('dataset', '?')}, k = {sc.get('k', '?')}, initial centroids {sc.get('init', '?')}, "
                         f"{sc.get('max_iter', '?')} iterations, tol {sc.get('tol', '?')}."))
        out.append(_clustering_table(
            comparison.scale,
            "As the MNIST table: a library is compared with the toolkit's same algorithm at the same "
            "threads, toolkit Hamerly and Elkan with toolkit Lloyd, toolkit Lloyd on all cores with itself "
            "on one; inertia in float64, accuracy against the blobs' generating centres (Hungarian)."))
        stream = comparison.stream_sentence()
        if stream:
            out.append(("p", stream))
    if comparison.regression:
        out.append(("h", 3, "Regression"))
        out.append(("table", ["implementation", "workers", "epochs", "runs", "median per epoch", "min..max",
                              "compared with", "time ratio", "a", "b", "c", "MSE"],
                    [_peer_cells(r) + [fmt.sig(r.raw["params"][i], 9) if isinstance(r.raw.get("params"), list) else "-"
                                       for i in range(3)] + [_quality(r.raw, "mse", 6)]
                     for r in comparison.regression],
                    "numpy runs the course's loop vectorised on one thread and is compared with nlreg_seq; the "
                    "toolkit's parallel forms are compared with nlreg_seq."))
        paired = comparison.regression_sentence()
        if paired:
            out.append(("p", paired))
    agree = comparison.agreement()
    if agree:
        out.append(("p", "Do they compute the same thing? " + " ".join(agree)))
    skipped = [str(x) for x in d.get("skipped") or []]
    if skipped:
        out.append(("p", "Not measured:"))
        out.append(("ul", skipped))
    if n_records:
        out.append(("p", f"The {fmt.plural(n_records, 'run record')} tagged `compare` in the inputs are the toolkit's "
                         "runs of this comparison; they are left out of the scaling groups, tables and answers above."))
    return out


def method_blocks():
    return [("h", 2, "Method"), ("ul", [
        "Grouping: records are summarised together only when the workload (app), the dataset content hash "
        "(dataset.sha256, else its path) and all params agree; different data or parameters are separate groups "
        "and never averaged. Within a group each form (backend) and configuration (nodes, ranks, threads) is one "
        "table row; p = ranks x threads is the worker count.",
        "Timing: the programs take every time after a barrier and report the maximum over ranks and threads; "
        "`total` is the whole run including input (io) and setup (init). Each repetition is a separate launch.",
        "Summary: median and inter-quartile range (IQR, linear interpolation between order statistics); the "
        "arithmetic mean is shown beside the median. Timing noise on shared machines is one-sided (runs get slower, "
        "never faster), so the median is the robust centre.",
        "95% CI of the median: the order statistics x(j), x(n+1-j) with exact binomial coverage >= 95%; it needs "
        "n >= 6 repetitions (the table says n/a below that).",
        "Speedup S = median(base) / median(run), efficiency E = S/p, Karp-Flatt serial fraction "
        "e = (1/S - 1/p)/(1 - 1/p) for p > 1, from the speedup over the single-worker run of the same form. "
        "Two named baselines: the sequential run of the group, and the p=1 run of the same form.",
        "Faster or slower: a two-sided Mann-Whitney U test of the two configurations' times at alpha = 0.05 "
        "(exact distribution without ties and up to 400 pairs, else the normal approximation with tie and "
        "continuity correction), Holm-corrected across the comparisons of one question: each form's "
        "configurations against its single-worker run are one question, all parallel configurations of a group "
        "against the sequential program another. Three verdicts only: faster, slower, no detectable difference.",
        "Effect: the speedup (ratio of medians) with the Hodges-Lehmann confidence interval of the ratio, from "
        "the pairwise differences of log times at the level Holm held that comparison to (e.g. 97.5% for the "
        "second of two); it excludes 1 exactly when the test rejects (without ties). With too few repetitions "
        "no interval exists and no test can reject (3 + 3 runs: the smallest p is 0.1).",
        "Serial fraction: with one worker count above 1, the Karp-Flatt value e = (1/S - 1/p)/(1 - 1/p) at that "
        "count, and no model (Amdahl's f would equal e, with no residual to test it). From two or more counts "
        "above 1, Amdahl's f fitted by least squares on 1/S = 1/p + f (1 - 1/p), with each point's residual. Runs "
        "with more workers than cores are left out (they measure the scheduler, not the program). Nothing is "
        "clipped: e or f above 1 is a slowdown and is called one.",
        "Phases: all from the run whose total is the median, so they add up to that run's total; the spread "
        "across workers (compute_min..max, comm_min..max) is that run's.",
    ])]


def _checklist(loaded, summaries):
    runs = loaded.runs
    ok = [r for r in runs if r.ok]
    cells = [c for gs in summaries for c in gs.all_cells()]
    with_ci = sum(1 for c in cells if c.ci)
    noisy = sum(1 for c in cells if c.n > 1 and c.iqr > 0)
    multi = sum(1 for c in cells if c.n > 1)
    over = [f"{gs.gid}: {c.backend} p={c.workers}" for gs in summaries for c in gs.all_cells() if c.oversubscribed]
    cores = sorted({r.prov.get("cores") for r in ok if isinstance(r.prov.get("cores"), int)})
    maxp = max((c.workers for c in cells), default=0)
    bases = "; ".join(f"{gs.gid}: sequential {fmt.secs(gs.seq.median)} s" if gs.seq else f"{gs.gid}: no sequential run"
                      for gs in summaries)
    det = []
    for gs in summaries:
        varies = any(len({(r.result.get("labels_sha256"), r.result.get("params_sha256"),
                           r.result.get("inertia"), r.result.get("mse")) for r in c.runs}) > 1 for c in gs.all_cells())
        det.append(f"{gs.gid}: results {'vary' if varies else 'identical'} across repetitions")
    rows = [
        ["1", "Name the speedup base case and its absolute time",
         "Every speedup column and figure names its base: the sequential run and the single-worker run of the same "
         f"form, with their median times in the table notes and legends ({bases})."],
        ["2", "Say why only a subset of benchmarks or resources is used",
         f"All {len(runs)} valid records are reported ({len(ok)} ok, {len(runs) - len(ok)} not ok, listed below); "
         f"{len(loaded.warnings)} skipped input lines are listed. Worker counts go up to p = {maxp}"
         + (f" on machines with {', '.join(map(str, cores))} cores" if cores else " (core count not recorded)")
         + (f"; oversubscribed: {', '.join(over)}" if over else "; no configuration has more workers than cores") + "."],
        ["3", "Arithmetic mean only for costs, harmonic mean for rates",
         "Times (costs) are summarised by the median with the arithmetic mean beside it; rates are not averaged "
         "(benchmark rates are medians of per-repetition rates)."],
        ["4", "Do not summarise ratios; summarise the underlying costs",
         "Speedup and efficiency are ratios of median times, never means of per-run ratios."],
        ["5", "Report whether data is deterministic; give CIs for non-deterministic data",
         f"Times vary between repetitions in {noisy} of {multi} configurations with more than one run, so they are "
         f"treated as non-deterministic; {with_ci} of {len(cells)} configurations have a 95% CI of the median "
         f"(n >= 6), the rest say n/a. Results: {'; '.join(det)}."],
        ["6", "Do not assume normality without checking",
         "No normality is assumed: medians, IQR, order-statistic CIs and a rank test are distribution-free."],
        ["7", "Check that the median or mean is a useful summary",
         "Every repetition is drawn as a dot in the time figures and the IQR is tabulated, so skew and outliers "
         "stay visible next to the median."],
        ["8", "Compare non-deterministic data with statistics",
         "Faster/slower statements come from a Mann-Whitney test with Holm's correction (Method), never eyeballing."],
        ["9", "Document all varying factors and the full setup",
         "Varying factors: form, nodes, ranks, threads (levels in each table); fixed: dataset and params per group. "
         "Hardware, software versions, commit and dates are under Setup and provenance."],
        ["10", "Report how parallel times are measured, synchronised and summarised",
         "Barrier before timing, maximum over ranks and threads, one launch per repetition, median over "
         "repetitions (Method)."],
        ["11", "Show upper performance bounds",
         "Ideal scaling, and the fitted Amdahl bound where three or more worker counts allow a fit, are drawn in "
         "the time, speedup and efficiency figures; the "
         "regression loss is drawn against the exact least-squares optimum."],
        ["12", "Plot enough to interpret; connect points only where interpolation is valid",
         "All repetitions are plotted; measured points at different worker counts are not joined (no worker counts "
         "exist between them); lines are models, or one run's loss sampled over epochs."],
    ]
    return ("table", ["rule", "Hoefler & Belli (SC'15)", "how this report meets it"], rows, None)


def _cpu_id(prov):
    keys = ("cpu_vendor", "cpu_family", "cpu_model_number", "cpu_stepping")
    if all(prov.get(k) is None for k in keys):
        return None
    return (f"{prov.get('cpu_vendor')} family {prov.get('cpu_family')} model {prov.get('cpu_model_number')} "
            f"stepping {prov.get('cpu_stepping')}")


def _hypervisor(prov):
    if prov.get("hypervisor") is None:
        return None
    return (f"yes ({prov.get('hypervisor_vendor') or 'vendor not reported'})" if prov["hypervisor"]
            else "none (bare metal)")


def _binding(r):
    """How the run's workers were placed: OpenMP's binding variables and the CPUs it may use."""
    if all(r.prov.get(k) is None for k in ("omp_proc_bind", "omp_places", "cpus_allowed")):
        return None
    return (f"{r.backend}: OMP_PROC_BIND={r.prov.get('omp_proc_bind') or 'unset'}, "
            f"OMP_PLACES={r.prov.get('omp_places') or 'unset'}, CPUs allowed {r.prov.get('cpus_allowed', '?')}")


_PER_RUN_OPTIONS = ("--record", "--tag", "--checkpoint")


def _launch(r):
    """The launch command with paths cut to their names and without the per-run options (under
    MPI each rank's argv, after mpiexec, with the rank count put back in front)."""
    argv = r.prov.get("argv")
    if not isinstance(argv, list) or not argv:
        return None
    words, skip = [os.path.basename(str(argv[0]))], False
    for a in map(str, argv[1:]):
        # Options whose values differ in every run (record file, tag, checkpoint) would make
        # every record its own row: they are left out.
        if skip or a in _PER_RUN_OPTIONS:
            skip = not skip and a in _PER_RUN_OPTIONS
            continue
        words.append(os.path.basename(a) if "/" in a else a)
    head = f"mpiexec -n {r.ranks} " if r.backend in ("mpi", "hybrid") else ""
    return head + " ".join(words)


def provenance_blocks(loaded, groups, summaries, comparison=None):
    out = [("h", 2, "Setup and provenance")]
    runs = loaded.runs
    out.append(("p", "Warm-up policy: none inside a run; each repetition is a fresh process (one launch per "
                     "record), and the main job interleaves the configurations repetition by repetition, so slow "
                     "drift of a shared machine spreads over all of them alike."))
    getters = [("hosts", lambda r: r.hosts), ("nodes", lambda r: r.nodes),
               ("CPU model", lambda r: r.prov.get("cpu")), ("CPU id", lambda r: _cpu_id(r.prov)),
               ("CPU flags", lambda r: r.prov.get("cpu_flags")),
               ("hypervisor", lambda r: _hypervisor(r.prov)),
               ("cores per node", lambda r: r.prov.get("cores")),
               ("memory", lambda r: (f"{r.prov['memory_bytes'] / 2**30:.1f} GiB"
                                     if isinstance(r.prov.get("memory_bytes"), int) else None)),
               ("OS", lambda r: r.prov.get("os")), ("kernel", lambda r: r.prov.get("kernel")),
               ("arch", lambda r: r.prov.get("arch")),
               ("compiler", lambda r: r.prov.get("compiler")), ("flags", lambda r: r.prov.get("flags")),
               ("MPI", lambda r: r.prov.get("mpi")), ("HDF5", lambda r: r.prov.get("hdf5")),
               ("BLAS", lambda r: r.prov.get("blas")),
               ("OpenBLAS core type", lambda r: (f"{r.prov.get('blas_core')} (OPENBLAS_CORETYPE="
                                                 f"{r.prov.get('openblas_coretype') or 'unset'})")
                if r.prov.get("blas_core") else None),
               ("thread binding", _binding), ("launch command", _launch),
               ("git commit", lambda r: (f"{r.prov.get('git')}" + (" (dirty)" if r.prov.get("dirty") else ""))
                if r.prov.get("git") else None),
               ("Slurm job", lambda r: r.prov.get("slurm_job_id")), ("tag", lambda r: r.tag)]
    rows = []
    for name, get in getters:
        for value, n in sorted(_distinct(runs, get).items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append([name, value, str(n)])
    dates = sorted(str(r.prov["utc"]) for r in runs if r.prov.get("utc"))
    rows.append(["run dates (UTC)", f"{dates[0]} .. {dates[-1]}" if dates else "(not recorded)", str(len(dates))])
    out.append(("table", ["field", "value", "records"], rows,
                f"Distinct values over all {len(runs)} valid records (schema {SCHEMA}), from each record's `prov`; "
                "(not recorded) for records written before a field existed."))
    blas = (comparison.data.get("blas") if comparison is not None else None)
    if isinstance(blas, dict):
        out.append(("p", f"OpenBLAS in the comparison with peers (`{comparison.path}`, `blas`): core types detected "
                         f"{', '.join(map(str, blas.get('detected') or [])) or 'none'}, best for this CPU "
                         f"{blas.get('cpu_best') or '-'}, OPENBLAS_CORETYPE from the environment "
                         f"{blas.get('openblas_coretype_env') or 'unset'}, set for every timed command "
                         f"{blas.get('openblas_coretype_set') or 'nothing'}"
                         + (f" ({blas['reason']})" if blas.get("reason") else "") + "."))
    for bf in loaded.benches:
        ctx = bf.context
        keys = ("host_name", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "library_build_type", "date", "executable")
        out.append(("p", f"Benchmark file `{bf.path}`: " +
                    ", ".join(f"{k} = {ctx[k]}" for k in keys if k in ctx) + "."))
    out.append(("p", f"Report generator: Python {platform.python_version()}, numpy {numpy.__version__}, "
                     f"matplotlib {matplotlib.__version__}."))
    out.append(("h", 3, "Input files"))
    out.append(("table", ["file", "kind", "entries", "sha256"],
                [[p, kind, str(n), f"`{h[:16]}...`" if h else "-"] for p, h, kind, n in loaded.files], None))

    out.append(("h", 3, "Failed runs"))
    failed = [r for r in runs if not r.ok]
    if failed:
        out.append(("table", ["where", "app", "backend", "nodes x ranks x threads", "status", "message"],
                    [[r.where(), r.app, r.backend, f"{r.nodes} x {r.ranks} x {r.threads}", r.status,
                      r.message or ""] for r in failed], None))
    else:
        out.append(("p", "None: every valid record has status \"ok\"."))

    out.append(("h", 3, "Missing cells"))
    out.append(("p", "Rule: within one group (same app, data and params), every parallel form of that app is "
                     "expected at every worker count p that any parallel form of the group has a successful run "
                     "at. A (form, p) without a successful run is a missing cell; the answers do not guess there. "
                     "The sequential form has only p = 1 and is not part of the rule."))
    miss = []
    for gs in summaries:
        for backend, ws in gs.missing.items():
            for w in ws:
                nf = gs.failed_cells.get((backend, w), 0)
                miss.append([gs.gid, backend, str(w), f"{nf} failed" if nf else "not run"])
    for g in groups:
        if not g.runs:
            miss.append([g.gid, ", ".join(sorted({r.backend for r in g.failed}, key=form_rank)), "all",
                         f"{len(g.failed)} failed, no successful run in this group"])
    if miss:
        out.append(("table", ["group", "form", "p", "why"], miss, None))
    else:
        out.append(("p", "None."))

    out.append(("h", 3, "Skipped input"))
    skipped = [f"{p}: {kind}" for p, kind in loaded.unreadable()] + list(loaded.warnings)
    if skipped:
        out.append(("ul", skipped))
    else:
        out.append(("p", "None: every line was a valid record."))
    out.append(("h", 2, "Checklist: Hoefler & Belli's twelve rules"))
    out.append(_checklist(loaded, summaries))
    return out


def build(loaded, groups, summaries, answers, group_figs, bench_rows, bench_fig, perf, doc):
    """The whole document; `perf` holds the cost model, Stokes and peer sections' inputs
    (make_report.Performance), `doc` the answers.json document the summary quotes."""
    ok = sum(1 for r in loaded.runs if r.ok)
    side = sum(1 for r in loaded.runs if r.tag in SIDE_TAGS)
    blocks = [("h", 1, TITLE)]
    blocks.append(("p", f"Inputs: {fmt.plural(len(loaded.runs), 'valid run record')} ({ok} ok, "
                        f"{len(loaded.runs) - ok} not ok) from "
                        + ", ".join(f"`{p}`" for p, _, kind, _ in loaded.files if kind == "records")
                        + (f" (only those whose tag starts with `{loaded.tag_prefix}`)" if loaded.tag_prefix else "")
                        + (f"; {fmt.plural(len(loaded.benches), 'benchmark file')}" if loaded.benches else "")
                        + (f"; {fmt.plural(len(loaded.warnings), 'input line')} skipped (listed under Skipped input)"
                           if loaded.warnings else "")
                        + f". {fmt.plural(len(summaries), 'group')} of runs with the same workload, data and "
                          "parameters"
                        + (f"; {fmt.plural(side, 'record')} tagged `compare` only under Comparison with peers"
                           if side else "")
                        + (f"; {fmt.plural(len(loaded.simulated), 'simulated record')} (SMPI) only under Simulated "
                           "scaling" if loaded.simulated else "")
                        + ". Figures are under `figures/` as PNG and SVG."))
    blocks.append(("h", 2, "Answers"))
    blocks.append(("p", "Generated from the data by the rules under Method; the numbers behind each statement are "
                        "in the group tables and figures."))
    for a in answers:
        blocks.append(("h", 3, a.question))
        blocks.append(("p", "**" + a.short + "**"))
        if a.details:
            blocks.append(("ul", a.details))
    blocks += method_blocks()
    fignum = [0]
    for app in sorted({gs.group.app for gs in summaries}):
        blocks.append(("h", 2, f"Results: {APP_NAMES.get(app, app)} (`{app}`)"))
        for gs in summaries:
            if gs.group.app == app:
                blocks += group_blocks(gs, group_figs[gs.gid], fignum)
        if app == "kmeans":
            blocks += mstep_blocks(summaries, doc)
    blocks += model_blocks(perf.inputs, perf.model_groups, perf.model_fig, fignum)
    blocks += stokes_blocks(perf.inputs, perf.stokes, perf.stokes_fig, fignum)
    if perf.simulated:
        blocks += simulated_blocks(perf.simulated, perf.simulated_fig, fignum, perf.local_checks)
    blocks += compare_blocks(perf.comparison, side)
    if loaded.benches:
        blocks += bench_blocks(bench_rows, bench_fig, fignum)
    blocks += provenance_blocks(loaded, groups, summaries, perf.comparison)
    refs = number_tables(blocks)
    summary_page = handin.blocks(doc, summaries, refs, perf.comparison)
    # The summary goes first, after the title and the inputs line.
    return blocks[:2] + summary_page + blocks[2:]


def number_tables(blocks):
    """Numbers the tables in document order (in place) and names each one's CSV file; returns
    handin.Refs, the table and figure numbers by what they show."""
    tables, n = {}, 0
    for i, b in enumerate(blocks):
        if b[0] != "table":
            continue
        n += 1
        meta = dict(b[4]) if len(b) > 4 else {}
        meta["num"] = n
        meta["csv_name"] = f"table-{n:02d}.csv"
        if "key" in meta:
            tables[meta["key"]] = n
        blocks[i] = ("table", b[1], b[2], b[3], meta)
    figures = {b[2].name: b[1] for b in blocks if b[0] == "fig"}
    return handin.Refs(tables, figures)
