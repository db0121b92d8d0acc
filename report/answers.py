"""Answers to the course questions, written from the data every time (no canned text).

Decision rules, stated once in the report's method section:
- "faster" and "slower" need a two-sided Mann-Whitney test at 5%, Holm-corrected across the
  comparisons of one question (stats.compare_family); otherwise "no detectable difference";
- a question about a worker count that was not run (missing cell) or a form with only one
  worker count cannot be answered, and the answer says so instead of guessing.
"""

import os
from dataclasses import dataclass, field

from . import fmt, summary


def _cite(gs, kinds, figs, tables=True):
    """'Figures: `gid-time`, ...' for the figures that were drawn (all named kinds when figs is None)."""
    names = [f"{gs.gid}-{k}" for k in kinds]
    if figs is not None:
        names = [n for n in names if n in figs]
    text = ("Figures: " + ", ".join(f"`{n}`" for n in names)) if names else ""
    if tables:
        text += ("; t" if text else "T") + f"ables of group `{gs.gid}`"
    return text + "." if text else ""


@dataclass
class Answer:
    key: str
    question: str
    short: str                                   # the verdict, one or two sentences
    details: list = field(default_factory=list)  # supporting statements with numbers


VERDICT_WORDS = {"faster": "faster", "slower": "slower", "same": "no detectable difference"}
SAME = VERDICT_WORDS["same"]


class Evidence:
    """The comparisons of answers.json (schema answers/1), looked up by the cells they compare:
    the prose quotes these entries, so the sentences and the file cannot disagree."""

    def __init__(self, doc):
        self.by_key = {(e["group"], e["backend"], tuple(e["config"]), e["base"]["backend"],
                        tuple(e["base"]["config"])): e for e in doc["comparisons"] if e["question"] != "mstep"}

    def of(self, gs, cmp):
        return self.by_key[(gs.gid, cmp.cell.backend, cmp.cell.config, cmp.baseline.backend, cmp.baseline.config)]


def test_text(e):
    """'Mann-Whitney p = 0.004 at level 0.025 (Holm, 2 comparisons); 97.5% CI 1.4-1.8' for an answers.json entry."""
    family = e["holm_family_size"]
    text = f"Mann-Whitney p = {fmt.pvalue(e['p_value'])}"
    if family > 1:
        text += f" at level {e['alpha']:.4g} (Holm, {family} comparisons)"
    if e["ci"]:
        text += f"; {100 * (1 - e['alpha']):.4g}% CI {fmt.ratio(e['ci'][0])}-{fmt.ratio(e['ci'][1])}"
    else:
        text += "; no CI: too few repetitions for any test to reach its level"
    return text


def _verdict_text(e):
    return f"speedup {fmt.ratio(e['ratio'])} ({test_text(e)}): {e['verdict']}"


def _efficiency(e):
    return e["ratio"] / (e["workers"] / e["base"]["workers"])


def _cell_line(c, cmp, e):
    text = (f"p = {c.workers} ({c.shape()}): median {fmt.secs(c.median)} s (n={c.n}) against "
            f"{fmt.secs(cmp.baseline.median)} s at p = {cmp.baseline.workers}; "
            + _verdict_text(e) + f", efficiency {fmt.ratio(_efficiency(e))}")
    if c.oversubscribed:
        text += f" (oversubscribed: {c.workers} workers on {c.cores} cores per node)"
    return text


def scaling_text(model, backend):
    """What the speedups of `backend` over its single-worker run say about its serial part
    (a summary.ScalingModel), one sentence; None without a point above the base."""
    if model is None:
        return None
    if model.kind == "karp-flatt":
        p, s = max(model.points, key=lambda t: t[1])
        text = (f"{backend} ran at one worker count above its base only (p = {p:g}): the Karp-Flatt "
                f"serial fraction there is e = {fmt.fixed(model.value, 3)}")
        if model.slowdown:
            text += f", above 1 because the run is slower than on one worker (speedup {fmt.ratio(s)})"
        return text + "; with one point no scaling model (Amdahl) can be fitted, so none is."
    res = "; ".join(f"p = {p:g}: S = {fmt.ratio(s)}, fit {fmt.ratio(m)}, residual {m - s:+.3f}"
                    for p, s, m in model.residuals)
    text = (f"{backend}: Amdahl's law fitted by least squares on 1/S to {len(model.points)} points gives a serial "
            f"fraction f = {fmt.fixed(model.value, 3)}")
    if model.slowdown:
        text += " (above 1: the runs get slower with more workers, so f bounds nothing)"
    elif model.value < 0:
        text += " (below 0: superlinear speedup, which Amdahl's law does not describe)"
    else:
        text += f", bounding the speedup by 1/f = {fmt.sig(1 / model.value, 3) if model.value > 0 else 'infinity'}"
    return text + f"; residuals (fit minus measured): {res}."


def only_count(cells):
    """', the only count above 1 on this 2-core machine' (the core count when the records agree on it)."""
    cores = {c.cores for c in cells}
    machine = f" on this {cores.pop()}-core machine" if len(cores) == 1 and None not in cores else ""
    return f", the only count above 1{machine}"


def _summarise_verdicts(items, unit):
    """items: [(cell, answers.json entry)] for p > 1. Returns the group-level verdict sentence."""
    faster = [c for c, e in items if e["verdict"] == "faster"]
    slower = [c for c, e in items if e["verdict"] == "slower"]
    same = [c for c, e in items if e["verdict"] == SAME]
    entry = {id(c): e for c, e in items}

    # Two configurations can share a worker count (4 ranks, or 2 ranks x 2 threads): name the shape then.
    counts = [c.workers for c, _ in items]
    shared = {w for w in counts if counts.count(w) > 1}

    def ps(cells):
        text = ", ".join(f"{c.workers} ({c.shape()})" if c.workers in shared else str(c.workers) for c in cells)
        if len(set(counts)) == 1:
            text += only_count(c for c, _ in items)
        return text

    if all(e["ci"] is None for _, e in items):
        few = "one repetition" if min(min(e["n"], e["n_base"]) for _, e in items) == 1 else "too few repetitions"
        return (f"No detectable difference at p = {ps([c for c, _ in items])}, and the data cannot answer: with "
                f"{few} no test can reach its level.")
    best = max(faster, key=lambda c: entry[id(c)]["ratio"]) if faster else None
    if faster and not (slower or same) and len(set(counts)) == 1:
        e = entry[id(best)]
        return (f"Faster at p = {ps([best])}: speedup {fmt.ratio(e['ratio'])} "
                f"(efficiency {fmt.ratio(_efficiency(e))}).")
    if faster and not (slower or same):
        e = entry[id(best)]
        return (f"Faster at every tested count above one {unit} (p = {ps(faster)}); the largest speedup is "
                f"{fmt.ratio(e['ratio'])} at p = {ps([best])} (efficiency {fmt.ratio(_efficiency(e))}).")
    if faster:
        rest = []
        if slower:
            rest.append(f"slower at p = {ps(slower)}")
        if same:
            rest.append(f"no detectable difference at p = {ps(same)}")
        return (f"Faster at p = {ps(faster)} (best {fmt.ratio(entry[id(best)]['ratio'])} at p = {ps([best])}), "
                f"but {fmt.join_and(rest)}.")
    if slower:
        return f"Slower at p = {ps(slower)}" + (f", no detectable difference at p = {ps(same)}" if same else "") + "."
    return f"No detectable difference from one {unit} at p = {ps(same)}."


def _missing_line(gs, backend):
    miss = gs.missing.get(backend)
    if not miss:
        return None
    parts = []
    for w in miss:
        nf = gs.failed_cells.get((backend, w), 0)
        parts.append(f"p = {w}" + (f" ({fmt.plural(nf, 'failed run')})" if nf else " (not run)"))
    return (f"Missing cell(s) for {backend}: {', '.join(parts)}; other forms ran there, this one has no "
            "successful run, so the data cannot answer for those counts.")


def _groups_of(summaries, app, ans):
    """(group, prefix) for each group of `app`; the prefix names the group when there are several.
    With no group, ans says the data cannot answer and the list is empty."""
    groups = [gs for gs in summaries if gs.group.app == app]
    if not groups:
        what = "k-means" if app == "kmeans" else "regression"
        ans.short = f"The data cannot answer: there are no successful {what} runs."
    return [(gs, f"On {dataset_label(gs, groups)}: " if len(groups) > 1 else "") for gs in groups]


def dataset_label(gs, groups):
    """The dataset's file stem, with the parameters that set its group apart from others on the
    same data: group ids belong in tables, sentences name data and settings."""
    def stem(g):
        return os.path.splitext(os.path.basename(str(g.group.dataset.get("path") or "data")))[0]
    same = [g for g in groups if stem(g) == stem(gs)]
    if len(same) < 2:
        return stem(gs)
    keys = sorted({k for g in same for k in g.group.params})
    differ = [k for k in keys if len({repr(g.group.params.get(k)) for g in same}) > 1]
    return stem(gs) + " (" + ", ".join(f"{k} = {gs.group.params.get(k)}" for k in differ) + ")"


def scaling_answer(summaries, key, backend, unit, question, figs, ev):
    ans = Answer(key, question, "")
    groups = _groups_of(summaries, "kmeans", ans)
    if not groups:
        return ans
    shorts = []
    for gs, prefix in groups:
        cells = gs.cells.get(backend, [])
        one = gs.one.get(backend)
        if not cells:
            shorts.append(prefix + f"The data cannot answer: no successful {backend} runs in this group.")
            continue
        if one is None:
            shorts.append(prefix + f"The data cannot answer: no single-{unit} {backend} run to compare with "
                          "(missing cell).")
            continue
        items = [(c, ev.of(gs, c.vs_one)) for c in cells if c.workers > one.workers and c.vs_one is not None]
        if not items:
            shorts.append(prefix + f"The data cannot answer: {backend} was run at one worker count only "
                          f"(p = {one.workers}).")
        else:
            verdict = _summarise_verdicts(items, unit)
            if gs.missing.get(backend):
                verdict += (f" The data cannot answer for p = {', '.join(map(str, gs.missing[backend]))} "
                            "(missing cell: no successful run there).")
            shorts.append(prefix + verdict)
            ans.details.append(f"{prefix}Baseline: the single-{unit} {backend} run, median "
                               f"{fmt.secs(one.median)} s (n={one.n}).")
            ans.details += [prefix + _cell_line(c, c.vs_one, e) for c, e in items]
            if gs.seq is not None:
                vs = [f"p = {c.workers}: {fmt.ratio(e['ratio'])} ({e['verdict']})"
                      for c, e in ((c, ev.of(gs, c.vs_seq)) for c in cells if c.vs_seq is not None)]
                ans.details.append(f"{prefix}Against the sequential program (median {fmt.secs(gs.seq.median)} s, "
                                   f"n={gs.seq.n}) the speedups are " + "; ".join(vs) + ".")
            model = scaling_text(gs.scaling.get(backend), backend)
            if model:
                ans.details.append(prefix + model)
        miss = _missing_line(gs, backend)
        if miss:
            ans.details.append(prefix + miss)
        ans.details.append(prefix + _cite(gs, ("time", "speedup", "efficiency"), figs))
    ans.short = " ".join(shorts)
    return ans


def _values_by_config(gs, getter):
    """{value: [(backend, workers)]} over every ok run, plus whether any configuration's
    repetitions disagreed among themselves."""
    by_value = {}
    rep_varies = False
    for c in gs.all_cells():
        vals = [getter(r) for r in c.runs]
        vals = [v for v in vals if v is not None]
        if len(set(vals)) > 1:
            rep_varies = True
        for v in vals:
            cfgs = by_value.setdefault(v, [])
            if (c.backend, c.workers) not in cfgs:
                cfgs.append((c.backend, c.workers))
    return by_value, rep_varies


def _where(cfgs):
    per = {}
    for b, w in cfgs:
        per.setdefault(b, []).append(w)
    return "; ".join(f"{b} p={','.join(map(str, sorted(ws)))}" for b, ws in per.items())


def _num(r, key):
    v = r.result.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _str(r, key):
    v = r.result.get(key)
    return v if isinstance(v, str) and v else None


def compare_field(gs, name, getter, numeric):
    """One statement about one result field across all configurations of a group.

    Returns (status, text, forms) with status 'identical', 'differs' or 'missing', and `forms`
    the forms whose value changes with the worker count (as opposed to differing between forms)."""
    by_value, rep_varies = _values_by_config(gs, getter)
    if not by_value:
        return "missing", f"{name}: not recorded", []
    if len(by_value) == 1:
        v = next(iter(by_value))
        shown = f"{v:.10g}" if numeric else f"{v[:12]}..."
        return "identical", f"{name} identical at every worker count ({shown})", []
    forms = []
    for backend in gs.cells:
        vals = {v for v, cfgs in by_value.items() for b, _ in cfgs if b == backend}
        if len(vals) > 1:
            forms.append(backend)
    reps = " (repetitions of one configuration also disagree)" if rep_varies else ""
    if numeric:
        lo, hi = min(by_value), max(by_value)
        rel = (hi - lo) / abs(hi) if hi else float("inf")
        spread = " vs ".join(f"{v:.10g} ({_where(c)})" for v, c in sorted(by_value.items()))
        return "differs", f"{name} differs by {fmt.sig(hi - lo, 3)} (relative {fmt.sig(rel, 2)}): {spread}{reps}", forms
    spread = " vs ".join(f"{v[:12]}... ({_where(c)})" for v, c in by_value.items())
    return "differs", f"{name} differs ({len(by_value)} distinct values): {spread}{reps}", forms


def _difference_verdict(results, what):
    """Sentence for fields that differ: does the worker count change them, or only the form?"""
    differs = [t for _, st, t, _ in results if st == "differs"]
    forms = sorted({b for *_, fs in results for b in fs})
    if forms:
        return (f"Yes: {what} changes with the worker count (within {', '.join(forms)}): "
                + "; ".join(differs) + ".")
    return (f"Not with the worker count: within each form {what} is the same at every p, but the forms "
            "differ: " + "; ".join(differs) + ".")


def quality_answer(summaries, figs=None):
    q = ("(c) Does changing the number of processes change the k-means result or its accuracy?")
    ans = Answer("c", q, "")
    groups = _groups_of(summaries, "kmeans", ans)
    if not groups:
        return ans
    shorts = []
    for gs, prefix in groups:
        counts = gs.worker_counts()
        if len(counts) < 2:
            shorts.append(prefix + f"The data cannot answer: only one worker count (p = {counts[0]}) was run.")
            continue
        fields = [("labels (labels_sha256)", lambda r: _str(r, "labels_sha256"), False),
                  ("centroids (centroids_sha256)", lambda r: _str(r, "centroids_sha256"), False),
                  ("inertia", lambda r: _num(r, "inertia"), True),
                  (f"accuracy (Hungarian one-to-one matching of clusters to labels; "
                   f"{gs.group.params.get('init') or 'init not recorded'} initial centroids)",
                   lambda r: _num(r, "accuracy"), True),
                  ("NMI", lambda r: _num(r, "nmi"), True)]
        results = [(name, *compare_field(gs, name, get, numeric)) for name, get, numeric in fields]
        differs = [t for _, st, t, _ in results if st == "differs"]
        same = [n for n, st, _, _ in results if st == "identical"]
        missing = [n for n, st, _, _ in results if st == "missing"]
        ps = ", ".join(map(str, counts))
        forms = ", ".join(gs.cells)
        if differs:
            shorts.append(prefix + _difference_verdict(results, "the clustering result"))
        elif same:
            shorts.append(prefix + f"No: {fmt.join_and(n.split(' (')[0] for n in same)} are identical at every "
                          f"worker count (p = {ps}) in every form ({forms}).")
        else:
            shorts.append(prefix + "The data cannot answer: no result fields (hashes, inertia, accuracy) were recorded.")
        ans.details += [prefix + t + "." for _, _, t, _ in results]
        if missing:
            ans.details.append(prefix + f"Not recorded, so not compared: {', '.join(missing)}.")
        ans.details.append(f"{prefix}Compared over {sum(c.n for c in gs.all_cells())} successful runs at "
                           f"p = {ps}. " + (_cite(gs, ("quality",), figs, tables=False)
                                            or "Identical results: one sentence under the group's tables "
                                               "replaces the quality figure."))
    ans.short = " ".join(shorts)
    return ans


def omp_mpi_pairs(gs):
    """[(omp cell, mpi cell)] at equal worker counts on one node: the regression question compares
    shared memory with MPI there."""
    pairs = []
    cells = [c for c in gs.all_cells() if c.backend in ("omp", "mpi") and c.nodes == 1]
    for w in sorted({c.workers for c in cells}):
        at = {c.backend: c for c in cells if c.workers == w}
        if "omp" in at and "mpi" in at:
            pairs.append((at["omp"], at["mpi"]))
    return pairs


def regression_answer(summaries, figs, ev):
    q = ("(regression) How do the sequential, shared-memory and MPI runtimes compare, and does the worker "
         "count change the fitted a, b, c?")
    ans = Answer("regression", q, "")
    groups = _groups_of(summaries, "nlreg", ans)
    if not groups:
        return ans
    shorts = []
    for gs, prefix in groups:
        seq = gs.seq
        parts = []
        if seq is None:
            parts.append("There is no sequential run, so the forms cannot be compared with it.")
        else:
            ans.details.append(f"{prefix}Sequential: median {fmt.secs(seq.median)} s (n={seq.n}, IQR "
                               f"{fmt.secs(seq.iqr)} s).")
        ranking = []
        for backend, cells in gs.cells.items():
            if backend == "seq":
                continue
            for c in cells:
                line = f"{prefix}{backend} p = {c.workers}: median {fmt.secs(c.median)} s (n={c.n})"
                if c.vs_seq is not None:
                    line += "; against sequential " + _verdict_text(ev.of(gs, c.vs_seq))
                    ranking.append(c)
                if c.oversubscribed:
                    line += f" (oversubscribed: {c.workers} workers on {c.cores} cores)"
                ans.details.append(line + ".")
            miss = _missing_line(gs, backend)
            if miss:
                ans.details.append(prefix + miss)
        if ranking:
            e_seq = {id(c): ev.of(gs, c.vs_seq) for c in ranking}

            def listed(cells):
                return ", ".join(f"{c.backend} p = {c.workers} ({fmt.ratio(e_seq[id(c)]['ratio'])}x)" for c in cells)
            faster = [c for c in ranking if e_seq[id(c)]["verdict"] == "faster"]
            slower = [c for c in ranking if e_seq[id(c)]["verdict"] == "slower"]
            same = [c for c in ranking if e_seq[id(c)]["verdict"] == SAME]
            best = min(ranking, key=lambda c: c.median)
            # "Fastest" of the parallel runs, which may still be slower than the sequential one.
            parts.append(f"Fastest parallel median: {best.backend} at p = {best.workers}, {fmt.secs(best.median)} s against "
                         f"{fmt.secs(seq.median)} s sequential ({fmt.ratio(e_seq[id(best)]['ratio'])}x, "
                         f"{e_seq[id(best)]['verdict']}).")
            if faster:
                parts.append("Faster than sequential: " + listed(faster) + ".")
            if slower:
                parts.append("Slower than sequential: " + listed(slower) + ".")
            if same:
                parts.append("No detectable difference from sequential: " + listed(same) + ".")
            above = [c for c in ranking if c.workers > 1]
            if len({c.workers for c in above}) == 1:
                parts.append(f"Parallel runs were measured at p = {above[0].workers}{only_count(above)}.")
            gaps = [f"{b} p = {w}" for b, ws in gs.missing.items() for w in ws]
            if gaps:
                parts.append(f"The data cannot answer for {', '.join(gaps)} (missing cell: no successful run).")
            pairs = []
            for o, m in omp_mpi_pairs(gs):
                e = ev.of(gs, summary.compare_cells(m, o))
                word = {"faster": "MPI faster", "slower": "MPI slower"}.get(e["verdict"], SAME)
                pairs.append(f"p = {m.workers}: omp {fmt.secs(o.median)} s vs mpi {fmt.secs(m.median)} s "
                             f"(omp/mpi time ratio {fmt.ratio(e['ratio'])}, {test_text(e)}: {word})")
            for backend in gs.cells:
                model = scaling_text(gs.scaling.get(backend), backend) if backend != "seq" else None
                if model:
                    ans.details.append(prefix + model)
            if pairs:
                ans.details.append(prefix + "Shared memory against MPI at equal worker counts: " + "; ".join(pairs) + ".")
        elif seq is not None:
            parts.append("Only the sequential form ran: there is nothing to compare it with.")
        # Does the worker count change a, b, c?
        counts = gs.worker_counts()
        fields = [("parameters (params_sha256)", lambda r: _str(r, "params_sha256"), False)] + \
                 [(k, (lambda key: lambda r: _num(r, key))(k), True) for k in ("a", "b", "c", "mse")]
        results = [(name, *compare_field(gs, name, get, numeric)) for name, get, numeric in fields]
        if len(counts) < 2:
            parts.append(f"Whether the worker count changes a, b, c the data cannot answer: only p = {counts[0]} ran.")
        else:
            abc = [r for r in results if r[0] != "mse"]
            differs = [t for _, st, t, _ in abc if st == "differs"]
            recorded = [n for n, st, _, _ in abc if st != "missing"]
            if differs:
                parts.append(_difference_verdict(abc, "the fit (a, b, c)"))
            elif recorded:
                parts.append(f"a, b and c are identical at every worker count (p = {', '.join(map(str, counts))}) "
                             "and in every form.")
            else:
                parts.append("a, b, c were not recorded, so the data cannot say whether they change.")
        ans.details += [prefix + t + "." for _, _, t, _ in results]
        r0 = gs.all_cells()[0].runs[0].result
        if all(isinstance(r0.get(k), (int, float)) for k in ("mse", "mse_optimum")):
            opt = r0["mse_optimum"]
            gap = (r0["mse"] - opt) / opt * 100 if opt else None
            opt_txt = ", ".join(f"{k} = {r0[k]:.6g} (optimum {r0[k + '_opt']:.6g})"
                                for k in ("a", "b", "c")
                                if isinstance(r0.get(k), (int, float)) and isinstance(r0.get(k + "_opt"), (int, float)))
            ans.details.append(f"{prefix}After {r0.get('epochs', '?')} epochs the MSE is {r0['mse']:.6g} against "
                               f"the exact optimum {opt:.6g}"
                               + (f" ({fmt.sig(gap, 2)}% above)" if gap is not None else "")
                               + (f"; {opt_txt}" if opt_txt else "") + ".")
        diverged = [r for c in gs.all_cells() for r in c.runs if r.result.get("diverged") is True]
        if diverged:
            ans.details.append(f"{prefix}{fmt.plural(len(diverged), 'run')} report diverged = true.")
        ans.details.append(prefix + _cite(gs, ("time", "speedup", "phases", "loss"), figs))
        shorts.append(prefix + " ".join(parts))
    ans.short = " ".join(shorts)
    return ans


def all_answers(summaries, figs=None, doc=None):
    """The four answers; `figs` (names of the figures drawn) limits which figures are cited.
    Every speed verdict, ratio and p-value is quoted from `doc`, the answers.json document
    (answers_json(summaries) when not given)."""
    ev = Evidence(doc if doc is not None else answers_json(summaries))
    return [
        scaling_answer(summaries, "a", "omp", "thread",
                       "(a) Does increasing the number of threads make the shared-memory k-means faster?", figs, ev),
        scaling_answer(summaries, "b", "mpi", "rank",
                       "(b) Do more MPI ranks make the MPI k-means faster?", figs, ev),
        quality_answer(summaries, figs),
        regression_answer(summaries, figs, ev),
    ]


SCHEMA = "answers/1"
# The question whose answer relies on a form's scaling comparisons (against its 1-worker run).
_SCALING_QUESTION = {("kmeans", "omp"): "a", ("kmeans", "mpi"): "b"}


def _comparison_json(gs, cell, cmp, question, family):
    v = cmp.verdict
    base = cmp.baseline
    return {"question": question, "family": family, "app": gs.group.app,
            "dataset": gs.group.dataset.get("path"), "dataset_sha256": gs.group.dataset.get("sha256"),
            "group": gs.gid, "backend": cell.backend, "workers": cell.workers, "config": list(cell.config),
            "base": {"backend": base.backend, "workers": base.workers, "config": list(base.config)},
            "metric": "total", "times": cell.times, "base_times": base.times, "n": cell.n, "n_base": base.n,
            "verdict": VERDICT_WORDS[v["verdict"]], "p_value": v["p"], "test": f"mann-whitney ({v['method']})",
            "alpha": v["alpha"], "holm_family_size": v.get("holm_family", 1),
            "ratio": v["ratio"], "ci": list(v["ci"]) if v["ci"] else None}


def answers_json(summaries):
    """Schema answers/1: every comparison the answers rely on, with the per-run times it used.
    `ratio` is median(base_times) / median(times), the speedup (above 1: faster), `ci` its
    Hodges-Lehmann interval at level 1 - alpha; `alpha` is the Holm step the test was held to."""
    out = []
    for gs in summaries:
        app = gs.group.app
        for cell in gs.all_cells():
            one = gs.one.get(cell.backend)
            if cell.vs_one is not None and cell is not one:
                question = _SCALING_QUESTION.get((app, cell.backend), "regression" if app == "nlreg" else None)
                out.append(_comparison_json(gs, cell, cell.vs_one, question,
                                            f"{gs.gid}: {cell.backend} against its 1-worker run"))
            if cell.vs_seq is not None:
                question = "regression" if app == "nlreg" else _SCALING_QUESTION.get((app, cell.backend))
                out.append(_comparison_json(gs, cell, cell.vs_seq, question,
                                            f"{gs.gid}: parallel configurations against sequential"))
        if app == "nlreg":
            # Shared memory against MPI at equal worker counts: one family per group.
            cmps = [summary.compare_cells(m, o) for o, m in omp_mpi_pairs(gs)]
            summary.decide(cmps)
            out += [_comparison_json(gs, k.cell, k, "regression", f"{gs.gid}: mpi against omp at equal workers")
                    for k in cmps]
    out += mstep_json(summaries)
    return {"schema": SCHEMA, "comparisons": out, "phases": phases_json(summaries),
            "quality": quality_json(summaries)}


def _count(v):
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def iterations_of(r):
    """Iterations (k-means) or epochs (regression) the run made, None when not recorded."""
    for src, key in ((r.result, "iterations"), (r.result, "epochs"), (r.params, "epochs")):
        if _count(src.get(key)):
            return src[key]
    return None


def phases_json(summaries):
    """The recorded phases of each configuration's median run (the run whose phases the tables
    show): what the summary's reasons ('reading the file is half of a run', 'synchronising per
    iteration against computing per iteration') are computed from."""
    out = []
    for gs in summaries:
        ds = gs.group.dataset
        for c in gs.all_cells():
            r = c.phase_run
            total = float(r.total)
            ph = {k: c.phases.get(k) for k in ("io", "init", "compute", "comm")}
            setup = sum(v for v in (ph["io"], ph["init"]) if v is not None)
            it = iterations_of(r)
            out.append({"group": gs.gid, "app": gs.group.app, "dataset": ds.get("path"), "rows": _count(ds.get("n")),
                        "backend": c.backend, "workers": c.workers, "config": list(c.config), "cores": c.cores,
                        "oversubscribed": c.oversubscribed, "total_s": total,
                        **{f"{k}_s": v for k, v in ph.items()}, "iterations": it,
                        "setup_share": setup / total if total > 0 else None,
                        "compute_per_iter_s": ph["compute"] / it if it and ph["compute"] is not None else None,
                        "comm_per_iter_s": ph["comm"] / it if it and ph["comm"] is not None else None})
    return out


QUALITY_FIELDS = ("labels_sha256", "centroids_sha256", "inertia", "accuracy", "nmi")


def quality_json(summaries):
    """Per k-means group: every distinct value of each result field over all ok runs, with the
    init and M-step it came from. `accuracy` is the executables' one: the best one-to-one
    (Hungarian) matching of clusters to labels (src/kmeans/metrics.cpp)."""
    out = []
    for gs in summaries:
        if gs.group.app != "kmeans":
            continue
        fields = {}
        for name in QUALITY_FIELDS:
            values = sorted({r.result.get(name) for c in gs.all_cells() for r in c.runs
                             if isinstance(r.result.get(name), (int, float, str))
                             and not isinstance(r.result.get(name), bool)}, key=repr)
            fields[name] = values
        out.append({"group": gs.gid, "dataset": gs.group.dataset.get("path"),
                    "rows": _count(gs.group.dataset.get("n")), "init": gs.group.params.get("init"),
                    "mstep": gs.group.params.get("mstep"), "workers": gs.worker_counts(), "forms": list(gs.cells),
                    "runs": sum(c.n for c in gs.all_cells()), "values": fields,
                    "accuracy_definition": "hungarian one-to-one"})
    return out


def mstep_pairs(summaries):
    """[(reduce group, owner group)]: k-means groups that differ in the M-step only."""
    def key(gs):
        g = gs.group
        return (g.app, g.dataset.get("sha256") or g.dataset.get("path"),
                repr(sorted((k, v) for k, v in g.params.items() if k != "mstep")))
    by = {}
    for gs in summaries:
        if gs.group.app == "kmeans":
            by.setdefault(key(gs), {})[gs.group.params.get("mstep")] = gs
    return [(d["reduce"], d["owner"]) for d in by.values() if "reduce" in d and "owner" in d]


def mstep_json(summaries):
    """The assignment's per-cluster M-step (owner) against the all-reduce one at every
    configuration both ran: one Holm family per pair of groups, and whether the result
    (labels and centroids hashes) is bitwise the same."""
    out = []
    for red, own in mstep_pairs(summaries):
        base = {(c.backend, c.config): c for c in red.all_cells()}
        cmps = [summary.compare_cells(c, base[(c.backend, c.config)]) for c in own.all_cells()
                if (c.backend, c.config) in base]
        summary.decide(cmps)
        for k in cmps:
            e = _comparison_json(own, k.cell, k, "mstep", f"{own.gid}: mstep owner against reduce")
            e["base"]["group"] = red.gid
            e["mstep"], e["base"]["mstep"] = "owner", "reduce"
            hashes = [{(r.result.get("labels_sha256"), r.result.get("centroids_sha256")) for r in c.runs}
                      for c in (k.cell, k.baseline)]
            e["same_result"] = len(hashes[0] | hashes[1]) == 1 and None not in next(iter(hashes[0]))
            out.append(e)
    return out
