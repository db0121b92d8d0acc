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


def paired_ratios(rows):
    """From the k-means rows of compare.json (dicts) whose forms ran interleaved, one run of each
    per round (tools/compare.py), so that run i of every row is from round i: per toolkit
    algorithm, `speedup_all_cores`, the median over the rounds of the toolkit's 1-thread time
    over its time on all cores (the omp row), and `sklearn_over_toolkit_1_thread`, the median over
    the rounds of scikit-learn's 1-thread time over the toolkit's (lloyd against lloyd, elkan
    against elkan and against hamerly). Each round's two runs were side by side, so a drift of
    the machine's speed between rounds cancels, as it does not in a ratio of medians."""
    def times(pred):
        return next((r["per_iter_s"] for r in rows if pred(r)), None)
    out = {}
    for algorithm in ("lloyd", "hamerly", "elkan"):
        impl = f"toolkit {algorithm}"
        seq = times(lambda r: r["impl"] == impl and r.get("backend") == "seq")
        par = times(lambda r: r["impl"] == impl and r.get("backend") == "omp")
        peer = times(lambda r: r["impl"] == f"sklearn {'lloyd' if algorithm == 'lloyd' else 'elkan'}" and r["threads"] == 1)
        entry = {}
        if seq and par:
            entry["speedup_all_cores"] = stats.median([a / b for a, b in zip(seq, par)])
        if seq and peer:
            entry["sklearn_over_toolkit_1_thread"] = stats.median([a / b for a, b in zip(peer, seq)])
        out[algorithm] = entry
    return out


def paired_sentence(paired, cores):
    """paired_ratios() as one sentence (the report's, and make compare's printout), or None."""
    speed = [f"{a} {e['speedup_all_cores']:.2f}x" for a, e in paired.items() if "speedup_all_cores" in e]
    peer = [f"{a} {e['sklearn_over_toolkit_1_thread']:.1f}x" for a, e in paired.items()
            if "sklearn_over_toolkit_1_thread" in e]
    parts = []
    if speed:
        parts.append(f"the toolkit's time on one thread over its time on {cores}: " + ", ".join(speed))
    if peer:
        parts.append("scikit-learn's time over the toolkit's on one thread (its Elkan against Hamerly): "
                     + ", ".join(peer))
    return ("The forms ran interleaved, one run of each per round, so each round's runs can be paired; "
            "medians over the rounds of each round's ratio: " + "; ".join(parts) + ".") if parts else None


def _family(impl):
    return next((a for a in ("elkan", "hamerly") if a in impl), "lloyd")


def _find(rows, pred):
    return next((r for r in rows if pred(r)), None)


def _kmeans_bases(rows):
    # A library against the toolkit's same algorithm at the same threads (faiss against Lloyd);
    # a pruned toolkit algorithm against toolkit Lloyd at the same threads; toolkit Lloyd on all
    # cores against itself on one thread.
    for r in rows:
        fam = _family(r.impl)
        if not r.toolkit:
            r.base = _find(rows, lambda b: b.toolkit and _family(b.impl) == fam and b.threads == r.threads)
        elif fam != "lloyd":
            r.base = _find(rows, lambda b: b.toolkit and _family(b.impl) == "lloyd" and b.threads == r.threads)
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

    def paired_sentence(self):
        """The MNIST rows' paired ratios as a sentence, where they ran interleaved."""
        return paired_sentence(self.paired, self.data.get("cores", "all")) if self.paired else None

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
    paired = paired_ratios([r.raw for r in km]) if kmeans.get("interleaved") is True else None
    return Comparison(path, data, km, rg, sc, stats.median(times) if times else None, paired)
