"""The one-page summary a student can hand in: each course question answered in plain sentences
that reconcile the datasets, with the evidence (table and figure numbers) and the reason, all
computed from answers.json (schema answers/1: its comparisons, phases and quality entries).

Group ids stay in the tables; sentences name the data ("mnist10k, 10,000 samples").
"""

from . import fmt
from .answers import SAME, dataset_label, mstep_pairs

# A one-worker run whose reading and setting up take at least this share of its total is "too
# short to gain": that part does not shrink with more workers.
SETUP_HEAVY = 0.25
# Synchronisation per iteration at least this fraction of the computing per iteration is named
# as a reason a parallel run does not gain.
SYNC_HEAVY = 0.25

UNIT_WORD = {"omp": "thread", "mpi": "rank"}
FORM_WORD = {"omp": "OpenMP", "mpi": "MPI", "seq": "sequential"}


class Refs:
    """Table and figure numbers by what they show: ("form", gid, backend) or ("mstep", gid) for
    tables, the figure name for figures."""

    def __init__(self, tables, figures):
        self.tables, self.figures = tables, figures

    def cite(self, gid, backends=(), kinds=()):
        bits = []
        nums = sorted({self.tables[("form", gid, b)] for b in backends if ("form", gid, b) in self.tables})
        if nums:
            bits.append(("Tables " if len(nums) > 1 else "Table ") + fmt.join_and(map(str, nums)))
        figs = sorted({self.figures[f"{gid}-{k}"] for k in kinds if f"{gid}-{k}" in self.figures})
        if figs:
            bits.append(("Figures " if len(figs) > 1 else "Figure ") + fmt.join_and(map(str, figs)))
        return ", ".join(bits)


def _main_groups(summaries, app):
    """The groups the questions are answered from: with both M-steps measured, the all-reduce
    one (the owner groups are compared with it in their own paragraph)."""
    owners = {id(own) for _, own in mstep_pairs(summaries)}
    return [gs for gs in summaries if gs.group.app == app and id(gs) not in owners]


def _pct(x):
    return f"{100 * x:.0f}%"


def _p(e):
    p = fmt.pvalue(e["p_value"])
    return f"p < {p[1:]}" if p.startswith("<") else f"p = {p}"


def _label(gs, groups):
    n = gs.group.dataset.get("n")
    rows = f", {n:,} samples" if isinstance(n, int) and not isinstance(n, bool) else ""
    return f"{dataset_label(gs, groups)}{rows}"


def _phase(doc, gid, backend, config):
    return next((x for x in doc.get("phases", []) if x["group"] == gid and x["backend"] == backend
                 and x["config"] == list(config)), None)


def _cores(doc, gid):
    cores = {x["cores"] for x in doc.get("phases", []) if x["group"] == gid}
    return cores.pop() if len(cores) == 1 and None not in cores else None


def _only_count(doc, gid, counts):
    if len(counts) != 1:
        return ""
    cores = _cores(doc, gid)
    return ", the only count above 1" + (f" on this {cores}-core machine" if cores else "")


def reason(doc, e, step):
    """Why the comparison `e` came out as it did, from the recorded phases of the base run and
    of the compared run (None when the phases are not recorded)."""
    base = _phase(doc, e["group"], e["base"]["backend"], e["base"]["config"])
    run = _phase(doc, e["group"], e["backend"], e["config"])
    if base is None or run is None:
        return None
    share = base["setup_share"]
    sync, comp = run["comm_per_iter_s"], run["compute_per_iter_s"]
    base_word = "the sequential run" if e["base"]["backend"] == "seq" else \
        f"a one-{UNIT_WORD.get(e['base']['backend'], 'worker')} run"
    sync_text = (f"synchronising takes {fmt.si_time(sync)} per {step} against {fmt.si_time(comp)} of computing "
                 f"at p = {e['workers']}") if sync is not None and comp else None
    if e["verdict"] == "faster":
        text = (f"computing, {_pct(1 - share)} of {base_word}, is divided among the workers"
                if share is not None else "the computing is divided among the workers")
        if sync_text:
            text += (", while " if sync < SYNC_HEAVY * comp else ", although ") + sync_text
        return text
    reasons = []
    if run["oversubscribed"]:
        reasons.append(f"{e['workers']} workers share {run['cores']} cores")
    if share is not None and share >= SETUP_HEAVY:
        setup = (base["io_s"] or 0) + (base["init_s"] or 0)
        reasons.append(f"reading the file and setting up take {_pct(share)} of {base_word} "
                       f"({fmt.si_time(setup)} of {fmt.si_time(base['total_s'])}), which more workers do not shorten")
    if sync_text and sync >= SYNC_HEAVY * comp:
        reasons.append(sync_text)
    if not reasons:
        if sync_text:
            reasons.append(sync_text + ", too little work per worker to outweigh the start-up of the workers")
        else:
            return None
    lead = "the run is too short to gain: " if share is not None and share >= SETUP_HEAVY else ""
    return lead + (reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + ", and " + reasons[-1])


def _verdict_clause(es, unit, doc, gid):
    """'more threads make it faster: at p = 2, the only count above 1 ..., the speedup over one
    thread is 1.85 (p < 0.001)' for the comparisons `es` of one form against its 1-worker run."""
    counts = sorted({e["workers"] for e in es})
    by = {v: [e for e in es if e["verdict"] == v] for v in ("faster", "slower", SAME)}
    best = max(es, key=lambda e: e["ratio"] or 0)
    at = f"at p = {best['workers']}{_only_count(doc, gid, counts)}"
    effect = f"the speedup over one {unit} is {fmt.ratio(best['ratio'])} (Mann-Whitney {_p(best)})"
    if len(counts) > 1:
        at = f"at every count tested (p = {fmt.join_and(map(str, counts))})"
        effect = (f"the largest speedup over one {unit}, {fmt.ratio(best['ratio'])}, is at p = {best['workers']} "
                  f"(Mann-Whitney {_p(best)})")
    if len(by["faster"]) == len(es):
        return f"more {unit}s make it faster {at}: {effect}", best
    if not by["faster"] and len(by["slower"]) == len(es):
        worst = min(es, key=lambda e: e["ratio"] or 0)
        return (f"more {unit}s make it slower: at p = {worst['workers']}{_only_count(doc, gid, counts)}, the "
                f"speedup over one {unit} is {fmt.ratio(worst['ratio'])} (Mann-Whitney {_p(worst)})"), worst
    if not by["faster"] and not by["slower"]:
        return f"more {unit}s make no detectable difference {at}: {effect}", best
    parts = [f"{w} at p = {fmt.join_and(str(e['workers']) for e in by[v])}"
             for v, w in (("faster", "faster"), ("slower", "slower"), (SAME, "no detectable difference")) if by[v]]
    return f"more {unit}s help only partly ({'; '.join(parts)}): {effect}", best


def scaling_summary(doc, summaries, refs, question, backend):
    unit = UNIT_WORD[backend]
    groups = _main_groups(summaries, "kmeans")
    if not groups:
        return "The data cannot answer: there are no successful k-means runs."
    out = []
    for gs in groups:
        label = _label(gs, groups)
        es = [e for e in doc["comparisons"] if e["question"] == question and e["group"] == gs.gid
              and e["backend"] == backend and e["base"]["backend"] == backend]
        if not es:
            out.append(f"on {label} the data cannot answer: {FORM_WORD[backend]} has no run above one {unit} "
                       "to compare with its one-{unit} run".replace("{unit}", unit))
            continue
        if all(e["ci"] is None for e in es):
            out.append(f"on {label} the data cannot answer: with {min(e['n'] for e in es)} repetitions no test "
                       "can reach its level")
            continue
        clause, key = _verdict_clause(es, unit, doc, gs.gid)
        cite = refs.cite(gs.gid, (backend,), ("time", "speedup", "phases"))
        why = reason(doc, key, "iteration")
        out.append(f"on {label}, {clause}" + (f" ({cite})" if cite else "") + (f", because {why}" if why else ""))
    text = "; ".join(out) + "."
    return text[0].upper() + text[1:]


def _accuracy_bits(q):
    acc = q["values"]["accuracy"]
    init = q["init"] or "not recorded"
    if not acc:
        return f"accuracy not recorded ({init} initial centroids)"
    shown = fmt.join_and(f"{v:.4g}" for v in acc)
    return f"accuracy {shown} (Hungarian one-to-one matching of clusters to labels; {init} initial centroids)"


def _peer_accuracy(comparison):
    """'first 10 images: accuracy 0.5439 on mnist10k in the comparison with peers' from
    compare.json, or None."""
    if comparison is None:
        return None
    km = comparison.data.get("kmeans") or {}
    acc = sorted({r.raw["accuracy"] for r in comparison.kmeans if r.toolkit
                  and isinstance(r.raw.get("accuracy"), (int, float))})
    if not acc or not km.get("init"):
        return None
    return (f"the comparison with peers starts from {km['init']} and reaches accuracy "
            f"{fmt.join_and(f'{v:.4g}' for v in acc)} on {km.get('dataset', 'its data')}")


def quality_summary(doc, summaries, refs, comparison=None):
    groups = _main_groups(summaries, "kmeans")
    quality = {q["group"]: q for q in doc.get("quality", [])}
    if not groups:
        return "The data cannot answer: there are no successful k-means runs."
    out = []
    for gs in groups:
        q = quality[gs.gid]
        label = _label(gs, groups)
        ps = ", ".join(map(str, q["workers"]))
        if len(q["workers"]) < 2:
            out.append(f"on {label} the data cannot answer: only p = {ps} ran")
            continue
        v = q["values"]
        varies = [k for k in ("labels_sha256", "centroids_sha256", "inertia", "accuracy") if len(v[k]) > 1]
        cite = refs.cite(gs.gid, (), ("quality",))
        if varies:
            out.append(f"on {label}, yes: {fmt.join_and(k.replace('_sha256', '') for k in varies)} take several "
                       f"values over p = {ps} ({_accuracy_bits(q)})" + (f" ({cite})" if cite else ""))
        else:
            out.append(f"on {label}, no: labels, centroids and inertia are bitwise the same at every worker count "
                       f"(p = {ps}) in every form over {q['runs']} runs, and so is the {_accuracy_bits(q)}"
                       + (f" ({cite})" if cite else ""))
    text = "; ".join(out) + "."
    inits = sorted({q["init"] for q in doc.get("quality", []) if q["init"]})
    text = text[0].upper() + text[1:]
    text += (" The worker count changes only how the sums are split, not the starting centroids, so with the same "
             "init the result is the same. The accuracy depends on that start: Lloyd's iterations stop in the local "
             "minimum of the inertia nearest the initial centroids, and k-means minimises the inertia, not the "
             "misclassification, so random, k-means++ and first-k-images starts end in different clusterings "
             "with different accuracies")
    text += (f" (here: {fmt.join_and(inits)}" if inits else "")
    peer = _peer_accuracy(comparison)
    if peer:
        text += ("; " if inits else " (") + peer
    return text + (")." if inits or peer else ".")


def mstep_summary(doc, summaries, refs):
    pairs = mstep_pairs(summaries)
    if not pairs:
        measured = sorted({gs.group.params.get("mstep") for gs in summaries if gs.group.app == "kmeans"} - {None})
        return ("Only the " + (fmt.join_and(measured) if measured else "default") + " M-step was measured; the "
                "assignment's per-cluster scheme (`--mstep owner`) and the all-reduce one (`--mstep reduce`) are "
                "compared when both are run (`make local` runs both).")
    out = []
    groups = _main_groups(summaries, "kmeans")
    for red, own in pairs:
        es = [e for e in doc["comparisons"] if e["question"] == "mstep" and e["group"] == own.gid]
        if not es:
            continue
        same = sum(1 for e in es if e["same_result"])
        by = {v: [e for e in es if e["verdict"] == v] for v in ("faster", "slower", SAME)}
        timing = "; ".join(
            f"{w} at " + ", ".join(f"{e['backend']} p = {e['workers']} ({fmt.ratio(e['ratio'])}x, {_p(e)})"
                                   for e in by[v])
            for v, w in (("faster", "faster"), ("slower", "slower"), (SAME, "no detectable difference")) if by[v])
        num = refs.tables.get(("mstep", own.gid))
        lab = dataset_label(red, groups)
        out.append(f"on {lab}, the per-cluster M-step gives "
                   + (f"bitwise the same labels and centroids in all {len(es)}" if same == len(es)
                      else f"the same labels and centroids in {same} of {len(es)}")
                   + " configurations both ran; against the all-reduce "
                   f"M-step its time is {timing}" + (f" (Table {num})" if num else ""))
    text = ("The assignment's per-cluster M-step (`--mstep owner`: each worker averages the points of the clusters "
            "it owns) against the all-reduce one (`--mstep reduce`, used for the questions above): "
            + "; ".join(out) + ".")
    return text


def regression_summary(doc, summaries, refs):
    groups = _main_groups(summaries, "nlreg")
    if not groups:
        return "The data cannot answer: there are no successful regression runs."
    out = []
    for gs in groups:
        label = _label(gs, groups)
        vs_seq = [e for e in doc["comparisons"] if e["question"] == "regression" and e["group"] == gs.gid
                  and e["base"]["backend"] == "seq" and e["workers"] > 1]
        if gs.seq is None or not vs_seq:
            out.append(f"on {label} the data cannot answer: there is no sequential run or no parallel run above one "
                       "worker to compare it with")
            continue
        counts = sorted({e["workers"] for e in vs_seq})
        forms = []
        for e in sorted(vs_seq, key=lambda e: (e["backend"], e["workers"])):
            word = {"faster": "faster", "slower": "slower"}.get(e["verdict"], "not detectably different")
            forms.append(f"{FORM_WORD.get(e['backend'], e['backend'])} at p = {e['workers']} is {word} "
                         f"(speedup {fmt.ratio(e['ratio'])}, {_p(e)})")
        cite = refs.cite(gs.gid, list(gs.cells), ("time", "phases"))
        text = (f"on {label}, against the sequential program's {fmt.secs(gs.seq.median)} s, " + "; ".join(forms)
                + (f" ({cite})" if cite else ""))
        if len(counts) == 1:
            text += f"; p = {counts[0]} is{_only_count(doc, gs.gid, counts)[1:]}"
        mpi = [e for e in vs_seq if e["backend"] == "mpi"]
        if mpi:
            why = reason(doc, max(mpi, key=lambda e: e["workers"]), "epoch")
            if why:
                text += f"; for MPI, {why}"
        pairs = [e for e in doc["comparisons"] if e["group"] == gs.gid and e["backend"] == "mpi"
                 and e["base"]["backend"] == "omp"]
        if pairs:
            text += "; MPI against OpenMP at equal workers: " + ", ".join(
                f"p = {e['workers']} {'no detectable difference' if e['verdict'] == SAME else e['verdict']} "
                f"({_p(e)})" for e in pairs)
        out.append(text)
    text = "; ".join(out) + "."
    return text[0].upper() + text[1:]


def blocks(doc, summaries, refs, comparison=None):
    """The summary page: one heading and one paragraph per question."""
    out = [("h", 2, "Summary"),
           ("p", "The course questions answered from this report's data; the tables and figures named hold the "
                 "evidence, the Answers section below the details, `answers.json` every number quoted here.")]
    qs = [("(a) Do more threads make the shared-memory k-means faster?",
           scaling_summary(doc, summaries, refs, "a", "omp")),
          ("(b) Do more MPI ranks make the MPI k-means faster?", scaling_summary(doc, summaries, refs, "b", "mpi")),
          ("(c) Does the number of processes change the clustering or its accuracy?",
           quality_summary(doc, summaries, refs, comparison)),
          ("M-step: the assignment's per-cluster update against the all-reduce one",
           mstep_summary(doc, summaries, refs)),
          ("Regression: sequential, shared-memory and MPI runtimes", regression_summary(doc, summaries, refs))]
    for q, text in qs:
        out += [("h", 3, q), ("p", text)]
    return out
