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
    return Comparison(path, data, km, rg, sc, stats.median(times) if times else None)
