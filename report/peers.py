"""The side-by-side comparison with peer libraries (`make compare` -> results/compare.json,
schema compare/1, written by tools/compare.py): rows with medians, the ratio to a named base
row, and whether every implementation reached the same result."""

from dataclasses import dataclass

from . import stats

# Relative spread of the final inertia (or MSE) below which implementations count as agreeing:
# compare.py recomputes every inertia in float64 from float32 centroids, so the same clustering
# still differs in about the 8th digit.
SAME_RESULT = 1e-6


@dataclass
class PeerRow:
    impl: str            # "toolkit lloyd", "sklearn elkan", "nlreg_omp", "numpy GD", ...
    backend: str         # toolkit rows: seq, omp or mpi; libraries: None
    threads: int
    iterations: int
    times: list          # seconds per iteration (epoch) of each repetition
    raw: dict            # the compare.json row (quality fields)
    base: "PeerRow" = None

    @property
    def toolkit(self):
        return self.backend is not None

    @property
    def median(self):
        return stats.median(self.times)

    @property
    def ratio(self):
        """This row's median time over its base row's (above 1: slower than the base)."""
        return self.median / self.base.median if self.base else None

    def label(self):
        # "toolkit lloyd (omp)"; "nlreg_omp" already names its form.
        return self.impl + (f" ({self.backend})" if self.backend and not self.impl.endswith(self.backend) else "")


def _rows(section):
    """PeerRows of one compare.json section, skipping rows without usable times."""
    out = []
    for r in (section or {}).get("rows", []):
        times = r.get("per_iter_s") if isinstance(r, dict) else None
        if not isinstance(r, dict) or not isinstance(r.get("impl"), str) or not isinstance(r.get("threads"), int) \
                or not isinstance(times, list) or not times \
                or not all(isinstance(t, (int, float)) and t > 0 for t in times):
            continue
        out.append(PeerRow(r["impl"], r.get("backend"), r["threads"], r.get("iterations"), [float(t) for t in times], r))
    return out


def ceiling_ratio(seq, copies):
    """The machine's ceiling for n workers, from interleaved rounds: per round, n times the one
    worker's time alone (seq[i]) over the mean time of n copies of the same one-worker run at
    once, each on a core of its own (copies[i]), and the median over the rounds. n independent
    runs share nothing but the machine (caches, memory, the host's other work), so no n-worker
    run of the same work should beat it; a perfect machine gives n."""
    rounds = [(s, c) for s, c in zip(seq, copies) if c and s > 0]
    return stats.median([len(c) * s / (sum(c) / len(c)) for s, c in rounds]) if rounds else None


def _ceiling_times(ceiling, key=None):
    """The copies' times per round from a compare.json ceiling (per algorithm under `key`), or None."""
    if not isinstance(ceiling, dict):
        return None
    times = ceiling.get("per_iter_s")
    if key is not None:
        times = times.get(key) if isinstance(times, dict) else None
    ok = isinstance(times, list) and times and all(
        isinstance(c, list) and c and all(isinstance(t, (int, float)) and t > 0 for t in c) for c in times)
    return times if ok else None


def paired_ratios(rows, ceiling=None):
    """From the k-means rows of compare.json (dicts) whose forms ran interleaved, one run of each
    per round (tools/compare.py), so that run i of every row is from round i: per toolkit
    algorithm, `speedup_all_cores`, the median over the rounds of the toolkit's 1-thread time
    over its time on all cores (the omp row), `speedup_all_ranks` the same over the mpi row, and
    `sklearn_over_toolkit_1_thread`, the median over the rounds of scikit-learn's 1-thread time
    over the toolkit's (lloyd against lloyd, elkan against elkan and against hamerly); with
    compare.json's `ceiling` (copies of the 1-thread form run at once, in the same rounds),
    `ceiling_all_cores`: ceiling_ratio(). Each round's runs were side by side, so a drift of the
    machine's speed between rounds cancels, as it does not in a ratio of medians."""
    def times(pred):
        return next((r["per_iter_s"] for r in rows if pred(r)), None)
    out = {}
    for algorithm in ("lloyd", "hamerly", "elkan"):
        impl = f"toolkit {algorithm}"
        seq = times(lambda r: r["impl"] == impl and r.get("backend") == "seq")
        par = times(lambda r: r["impl"] == impl and r.get("backend") == "omp")
        mpi = times(lambda r: r["impl"] == impl and r.get("backend") == "mpi")
        peer = times(lambda r: r["impl"] == f"sklearn {'lloyd' if algorithm == 'lloyd' else 'elkan'}" and r["threads"] == 1)
        copies = _ceiling_times(ceiling, algorithm)
        entry = {}
        if seq and par:
            entry["speedup_all_cores"] = stats.median([a / b for a, b in zip(seq, par)])
        if seq and mpi:
            entry["speedup_all_ranks"] = stats.median([a / b for a, b in zip(seq, mpi)])
        if seq and copies:
            entry["ceiling_all_cores"] = ceiling_ratio(seq, copies)
        if seq and peer:
            entry["sklearn_over_toolkit_1_thread"] = stats.median([a / b for a, b in zip(peer, seq)])
        out[algorithm] = entry
    return out


def regression_paired(rows, ceiling=None):
    """From the regression rows of compare.json (dicts), interleaved as the k-means ones: per
    parallel toolkit form (omp, mpi), `speedup`, the median over the rounds of nlreg_seq's time
    over its time; with the `ceiling`, `ceiling`: ceiling_ratio() of nlreg_seq."""
    seq = next((r["per_iter_s"] for r in rows if r.get("backend") == "seq"), None)
    out = {}
    if not seq:
        return out
    for r in rows:
        if r.get("backend") in ("omp", "mpi"):
            out[r["backend"]] = {"speedup": stats.median([a / b for a, b in zip(seq, r["per_iter_s"])])}
    copies = _ceiling_times(ceiling)
    if copies:
        out["ceiling"] = ceiling_ratio(seq, copies)
    return out


_CEILING_WORDS = ("the machine's ceiling (as many independent one-worker runs at once, one per core: their "
                  "throughput over one alone; a perfect machine gives {cores}x)")


def paired_sentence(paired, cores):
    """paired_ratios() as one sentence (the report's, and make compare's printout), or None."""
    speed = [f"{a} {e['speedup_all_cores']:.2f}x" + (f" (ceiling {e['ceiling_all_cores']:.2f}x)"
                                                      if e.get("ceiling_all_cores") else "")
             for a, e in paired.items() if "speedup_all_cores" in e]
    peer = [f"{a} {e['sklearn_over_toolkit_1_thread']:.1f}x" for a, e in paired.items()
            if "sklearn_over_toolkit_1_thread" in e]
    ranks = [f"{a} {e['speedup_all_ranks']:.2f}x" for a, e in paired.items() if "speedup_all_ranks" in e]
    parts = []
    if speed:
        parts.append(f"the toolkit's time on one thread over its time on {cores}: " + ", ".join(speed))
    if ranks:
        parts.append(f"over its time on {cores} MPI ranks: " + ", ".join(ranks))
    if peer:
        parts.append("scikit-learn's time over the toolkit's on one thread (its Elkan against Hamerly): "
                     + ", ".join(peer))
    ceilings = [e["ceiling_all_cores"] for e in paired.values() if e.get("ceiling_all_cores")]
    return ("The forms ran interleaved, one run of each per round, so each round's runs can be paired; "
            "medians over the rounds of each round's ratio: " + "; ".join(parts) + "."
            + (" Ceiling: " + _CEILING_WORDS.format(cores=cores) + _above(ceilings, cores) + "." if ceilings else "")) \
        if parts else None


def _above(ceilings, cores):
    """Words for ceilings above the core count: what the median says, that in most rounds the lone
    run took longer than the copies at once (no cause is claimed)."""
    return (f"; above {cores}x, the lone run was slowed more than the copies in most rounds"
            if isinstance(cores, int) and any(c > cores for c in ceilings) else "")


def regression_sentence(paired, cores):
    """regression_paired() as one sentence, or None."""
    speed = [f"nlreg_{b} {paired[b]['speedup']:.2f}x" for b in ("omp", "mpi") if b in paired]
    if not speed:
        return None
    return ("The regression forms ran interleaved too; medians over the rounds of nlreg_seq's time over the form's "
            f"on {cores} worker{'' if cores == 1 else 's'}: " + ", ".join(speed)
            + (f"; {_CEILING_WORDS.format(cores=cores)}: {paired['ceiling']:.2f}x{_above([paired['ceiling']], cores)}"
               if paired.get("ceiling") else "")
            + ".")


def _family(impl):
    return next((a for a in ("elkan", "hamerly") if a in impl), "lloyd")


def _find(rows, pred):
    return next((r for r in rows if pred(r)), None)


def _kmeans_bases(rows):
    # A library against the toolkit's same algorithm at the same threads (seq or omp; faiss
    # against Lloyd); a pruned toolkit algorithm against toolkit Lloyd of the same form; toolkit
    # Lloyd on all cores (threads or ranks) against itself on one thread.
    for r in rows:
        fam = _family(r.impl)
        if not r.toolkit:
            r.base = _find(rows, lambda b: b.toolkit and _family(b.impl) == fam and b.threads == r.threads
                           and b.backend in ("seq", "omp"))
        elif fam != "lloyd":
            r.base = _find(rows, lambda b: b.toolkit and _family(b.impl) == "lloyd" and b.threads == r.threads
                           and b.backend == r.backend)
        elif r.threads > 1:
            r.base = _find(rows, lambda b: b.toolkit and _family(b.impl) == "lloyd" and b.threads == 1)


def _regression_bases(rows):
    # numpy against the toolkit at the same threads; the parallel toolkit forms against nlreg_seq.
    seq = _find(rows, lambda b: b.backend == "seq")
    for r in rows:
        if not r.toolkit:
            r.base = _find(rows, lambda b: b.toolkit and b.threads == r.threads)
        elif r is not seq:
            r.base = seq


def _clustering_agreement(name, rows):
    """One sentence: do these k-means rows reach the same clustering (inertia and accuracy)?"""
    inertia = [r.raw["inertia"] for r in rows if isinstance(r.raw.get("inertia"), (int, float))]
    acc = sorted({r.raw["accuracy"] for r in rows if isinstance(r.raw.get("accuracy"), (int, float))})
    if not inertia:
        return None
    spread = (max(inertia) - min(inertia)) / max(inertia)
    same = spread <= SAME_RESULT and len(acc) <= 1
    lo, hi = f"{min(inertia):.2f}", f"{max(inertia):.2f}"
    return (f"{name}: the final inertia of all {len(inertia)} rows "
            + (f"is {lo}" if lo == hi else f"lies in {lo} .. {hi}")
            + f" (relative spread {spread:.1e}) and the accuracy "
            + (f"is {acc[0]:.4f}" if len(acc) == 1 else f"in {acc[0]:.4f} .. {acc[-1]:.4f}")
            + (": every implementation reaches the same clustering." if same
               else ": the implementations do not reach the same clustering; compare times with care."))


@dataclass
class Comparison:
    path: str
    data: dict           # the whole compare.json
    kmeans: list         # PeerRows
    regression: list
    scale: list = None   # PeerRows of the k-means scale case (float32 blobs), if measured
    stream_s: float = None  # its streaming pass over the same rows: median seconds per pass
    paired: dict = None  # paired_ratios() of the MNIST rows, where they ran interleaved
    regression_paired: dict = None  # regression_paired() of the regression rows, where interleaved

    def paired_sentence(self):
        """The MNIST rows' paired ratios as a sentence, where they ran interleaved."""
        return paired_sentence(self.paired, self.data.get("cores", "all")) if self.paired else None

    def regression_sentence(self):
        """The regression rows' paired speedups as a sentence, where they ran interleaved."""
        return regression_sentence(self.regression_paired, self.data.get("cores", "all")) \
            if self.regression_paired else None

    def stream_sentence(self):
        """The 1-thread scale rows' time per iteration as a multiple of the streaming pass."""
        if not self.scale or not self.stream_s:
            return None
        parts = [f"{r.label()} {r.median / self.stream_s:.2f}x" for r in self.scale if r.threads == 1]
        return ("One pass over the same rows (numpy column sums, one thread, measured in the same run) takes "
                f"{self.stream_s * 1e3:.2f} ms (median); one iteration on one thread takes " + ", ".join(parts)
                + " of that pass.") if parts else None

    def agreement(self):
        """Sentences: do all implementations reach the same k-means and regression result?"""
        out = [s for s in (_clustering_agreement("k-means", self.kmeans),
                           _clustering_agreement("k-means at scale", self.scale or [])) if s]
        fits = [r.raw for r in self.regression if isinstance(r.raw.get("params"), list)
                and isinstance(r.raw.get("mse"), (int, float))]
        if fits:
            diff = max(abs(f["params"][i] - fits[0]["params"][i]) for f in fits for i in range(3))
            mses = [f["mse"] for f in fits]
            spread = (max(mses) - min(mses)) / max(mses)
            if diff == 0 and spread == 0:
                out.append(f"Regression: a, b, c and the MSE of all {len(fits)} rows are identical: the same fit.")
            else:
                out.append(f"Regression: a, b, c of all {len(fits)} rows differ by at most {diff:.1e} and the MSE by "
                           f"a relative {spread:.1e}" + (": the same fit." if spread <= SAME_RESULT
                                                         else ": the fits differ; compare times with care."))
        return out


def load(loaded):
    """The Comparison of the last compare.json given to the report, or None."""
    path, data = loaded.side_input("compare")
    if data is None:
        return None
    km, rg, sc = _rows(data.get("kmeans")), _rows(data.get("regression")), _rows(data.get("kmeans_scale"))
    _kmeans_bases(km)
    _kmeans_bases(sc)
    _regression_bases(rg)
    stream = (data.get("kmeans_scale") or {}).get("stream_pass") or {}
    times = [t for t in stream.get("per_pass_s") or [] if isinstance(t, (int, float)) and t > 0]
    kmeans = data.get("kmeans") or {}
    paired = paired_ratios([r.raw for r in km], kmeans.get("ceiling")) if kmeans.get("interleaved") is True else None
    regression = data.get("regression") or {}
    rg_paired = regression_paired([r.raw for r in rg], regression.get("ceiling")) \
        if regression.get("interleaved") is True else None
    return Comparison(path, data, km, rg, sc, stats.median(times) if times else None, paired, rg_paired)
