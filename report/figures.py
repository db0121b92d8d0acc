"""Figures of the report: strong scaling, efficiency, phases, k-means quality, regression loss,
microbenchmarks. Each is saved as PNG and SVG and kept open for the PDF.

Choices that follow Hoefler & Belli (SC'15): every repetition is drawn, not only the median;
measured points are not joined by lines, because a worker count between two measured ones
does not exist (only models -- ideal scaling, the fitted Amdahl bound -- are drawn as curves);
the base case of each speedup is named in the axis label and caption.
"""

import os
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")   # no display on build machines; also makes output independent of $DISPLAY
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402

from . import fmt, stats  # noqa: E402
from .records import form_rank  # noqa: E402

DPI = 150
SIZE_STD = (8, 5)        # 1200 x 750 px at DPI
SIZE_WIDE = (12, 4.5)    # 1800 x 675 px: figures with several panels side by side
SIZE_SIM = (9, 6.5)      # 1350 x 975 px: one panel with its legend of several series below


def bench_size(n_rows):
    # Height grows with the number of benchmarks; halves keep the pixel size an exact integer.
    return (9, 2 + 0.5 * n_rows)


def setup():
    matplotlib.rcParams.update({
        "svg.hashsalt": "hpcb-report",   # fixed ids in SVG output, so reruns give identical files
        "svg.fonttype": "path",          # glyphs as paths: the SVG needs no fonts on the reader's side
        "pdf.fonttype": 42,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.fontsize": 8.5,
        "legend.framealpha": 0.9,
        # Every figure stays open until the PDF is written (one page each), by design: no warning at 20.
        "figure.max_open_warning": 0,
    })


_STYLE = {"seq": ("0.2", "s"), "omp": ("tab:blue", "o"), "mpi": ("tab:orange", "^")}
_EXTRA = [("tab:green", "D"), ("tab:purple", "v"), ("tab:brown", "P"), ("tab:pink", "X")]


def style(backend):
    if backend in _STYLE:
        return _STYLE[backend]
    return _EXTRA[sum(map(ord, backend)) % len(_EXTRA)]


@dataclass
class Figure:
    name: str          # file stem under figures/
    caption: str
    fig: object        # matplotlib Figure, closed after the PDF is written
    size_px: tuple     # (width, height) of the PNG


def save(f, outdir):
    os.makedirs(outdir, exist_ok=True)
    f.fig.savefig(os.path.join(outdir, f.name + ".png"), dpi=DPI)
    # The first draw placed every axes; keep those places for the SVG and the PDF page rather
    # than solving the constrained layout again for each (it was a third of the figures' cost).
    f.fig.set_layout_engine("none")
    # No date in the SVG metadata: the same data must give the same file.
    f.fig.savefig(os.path.join(outdir, f.name + ".svg"), metadata={"Date": None})


def _new(size, ncols=1, nrows=1):
    fig, axes = plt.subplots(nrows, ncols, figsize=size, dpi=DPI, layout="constrained")
    return fig, axes


# Beyond this many repetitions of one configuration the dots are that many evenly spaced
# quantiles (min and max included): the same picture of the spread, without drawing (and
# writing into the SVG and PDF) thousands of overlapping markers.
DOTS_MAX = 200


def _dots(ys):
    if len(ys) <= DOTS_MAX:
        return ys
    s = sorted(ys)
    return [stats.quantile(s, i / (DOTS_MAX - 1)) for i in range(DOTS_MAX)]


def _runs_and_medians(ax, xs, samples, medians, q1s, q3s, color, marker, label):
    """Every repetition as a faint dot (see DOTS_MAX), and each median with its inter-quartile
    bar: the spread stays visible next to the centre."""
    for x, ys in zip(xs, samples):
        ys = _dots(ys)
        ax.scatter([x] * len(ys), ys, s=12, color=color, marker=marker, alpha=0.35, linewidths=0, zorder=2)
    ax.errorbar(xs, medians, yerr=[[m - q for m, q in zip(medians, q1s)], [q - m for m, q in zip(medians, q3s)]],
                fmt=marker, color=color, ms=7, capsize=3, linestyle="none", zorder=3, label=label)


def _series(gs):
    """Cells split into series drawn with one style: a form, and within MPI one series per
    threads-per-rank and node count (hybrid or multi-node runs are not the same curve)."""
    out = {}
    for backend, cells in gs.cells.items():
        for c in cells:
            key = (backend, c.nodes, c.threads if backend == "mpi" else None)
            out.setdefault(key, []).append(c)
    labels = {}
    per_backend = {}
    for key in out:
        per_backend.setdefault(key[0], []).append(key)
    for backend, keys in per_backend.items():
        for key in keys:
            extra = []
            if len(keys) > 1 and key[2] is not None:
                extra.append(f"{key[2]} thread{'s' if key[2] != 1 else ''}/rank")
            if key[1] > 1:
                extra.append(f"{key[1]} nodes")
            labels[key] = backend + (f" ({', '.join(extra)})" if extra else "")
    return [(labels[k], k[0], v) for k, v in out.items()]


_ALT_MARKERS = ["s", "D", "v", "P", "X", "h"]


def _series_styles(series):
    """(color, marker) per series: a form keeps its colour; its second and later series
    (hybrid, multi-node) get other markers so they can be told apart."""
    seen = {}
    out = []
    for _, backend, _ in series:
        color, marker = style(backend)
        k = seen.get(backend, 0)
        seen[backend] = k + 1
        out.append((color, marker if k == 0 else _ALT_MARKERS[(k - 1) % len(_ALT_MARKERS)]))
    return out


def _offsets(n):
    # Series at the same worker count are nudged apart (x 2^+-0.04) so their markers stay visible.
    return [2 ** (0.04 * (i - (n - 1) / 2)) for i in range(n)]


def _worker_axis(ax, counts):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(counts))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    lo, hi = min(counts), max(counts)
    ax.set_xlim(lo / 2 ** 0.35, hi * 2 ** 0.35)
    ax.set_xlabel("workers p = ranks x threads (log2 scale)")


def _log_y(ax, lo, hi):
    """Log y axis with readable plain-number ticks, also over less than a decade."""
    ax.set_yscale("log")
    subs = (1.0, 2.0, 5.0) if hi / lo > 8 else (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(lo / 1.25, hi * 1.25)


def _form_grid(gs, backend):
    """Model curves of one form span only the worker counts that form was measured at."""
    return _grid([c.workers for c in gs.cells.get(backend, [])])


def _grid(counts):
    lo, hi = min(counts), max(counts)
    steps = 60
    return [lo * (hi / lo) ** (i / steps) for i in range(steps + 1)] if hi > lo else [lo]


def _title(gs, what):
    app = {"kmeans": "k-means", "nlreg": "regression"}.get(gs.group.app, gs.group.app)
    stem = os.path.splitext(os.path.basename(str(gs.group.dataset.get("path") or "data")))[0]
    return f"{app} on {stem}: {what}"


def _amdahl_note(gs):
    parts = [f"{b} f = {fmt.fixed(f, 3)}" for b, f in gs.amdahl.items() if f is not None and b != "seq"]
    return "; ".join(parts)


def _amdahl_caption(gs, what):
    """Say which forms have a drawn Amdahl curve and why the others have none."""
    note = _amdahl_note(gs)
    text = (f" Dashed coloured curves: {what} ({note})." if note else
            " No Amdahl curve: a fit needs two or more worker counts above 1 and a serial fraction in [0, 1].")
    return text


def _missing_note(ax, gs):
    """Name missing cells inside the plot, so an absent marker is not read as an oversight."""
    parts = []
    for backend, ws in gs.missing.items():
        failed = [w for w in ws if gs.failed_cells.get((backend, w))]
        never = [w for w in ws if w not in failed]
        for group, why in ((failed, "failed"), (never, "not run")):
            if group:
                parts.append(f"{backend} p={','.join(map(str, group))} {why}")
    if parts:
        ax.text(0.99, 0.02, "missing: " + "; ".join(parts), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=8.5, color="firebrick", wrap=True,
                bbox=dict(facecolor="white", edgecolor="firebrick", boxstyle="round,pad=0.3"))
    return parts


def fig_time(gs):
    fig, ax = _new(SIZE_STD)
    counts = gs.worker_counts()
    series = _series(gs)
    # A log axis cannot show a zero time (a run too short for the timer); such points are left out.
    positive = [t for c in gs.all_cells() for t in c.times if t > 0]
    lo, hi = (min(positive), max(positive)) if positive else (None, None)
    for off, (color, marker), (label, backend, cells) in zip(_offsets(len(series)), _series_styles(series), series):
        _runs_and_medians(ax, [c.workers * off for c in cells], [c.times for c in cells], [c.median for c in cells],
                          [c.q1 for c in cells], [c.q3 for c in cells], color, marker,
                          f"{label}: median, IQR bar, all runs as dots")
    grid = _grid(counts)
    base = gs.seq
    if base is not None:
        ax.axhline(base.median, color="0.2", lw=1, ls="--", zorder=1,
                   label=f"sequential median {fmt.secs(base.median)} s")
        ax.plot(grid, [base.median / p for p in grid], color="0.45", lw=1, ls=":",
                label="ideal: sequential time / p")
        if lo is not None and base.median > 0:
            lo = min(lo, base.median / max(counts))
    for backend, f in gs.amdahl.items():
        one = gs.one.get(backend)
        if f is None or one is None or backend == "seq":
            continue
        color, _ = style(backend)
        fg = _form_grid(gs, backend)
        ax.plot(fg, [one.median * (f + (1 - f) / p) for p in fg], color=color, lw=1.2, ls="--",
                alpha=0.8, label=f"Amdahl fit, {backend}: f = {fmt.fixed(f, 3)}")
    _worker_axis(ax, counts)
    if lo is not None:
        _log_y(ax, lo, hi)
    missing = _missing_note(ax, gs)
    ax.set_ylabel("total time per run [s]" + (" (log scale)" if lo is not None else ""))
    ax.set_title(_title(gs, "run time against workers"))
    ax.legend(loc="best")
    base_txt = (f"The sequential median ({fmt.secs(base.median)} s, n={base.n}) is the dashed line; "
                "the dotted line is ideal scaling from it. " if base else "There is no sequential run in this group. ")
    caption = (f"Strong scaling of {gs.group.app}: total time per run against workers p (log2 axis, log time axis). "
               "Large markers are medians with inter-quartile bars, small dots every repetition (above "
               f"{DOTS_MAX} repetitions, {DOTS_MAX} evenly spaced quantiles from min to max). " + base_txt +
               "Measured points are not joined: no worker counts lie between them."
               + _amdahl_caption(gs, "Amdahl's law fitted to each form's speedup over its own single-worker run, "
                                 "drawn over the range each form was measured at")
               + (f" Missing cells (no successful run): {', '.join(missing)}." if missing else ""))
    return Figure(f"{gs.gid}-time", caption, fig, _px(SIZE_STD))


def fig_speedup(gs):
    fig, ax = _new(SIZE_STD)
    counts = gs.worker_counts()
    series = [s for s in _series(gs) if s[1] != "seq"]
    vals = [1.0]
    any_ci = False
    over_labelled = False
    for off, (color, marker), (label, backend, cells) in zip(_offsets(len(series)), _series_styles(series), series):
        pts = [c for c in cells if c.vs_one is not None and c.vs_one.speedup]
        if not pts:
            continue
        x = [c.workers * off for c in pts]
        s = [c.vs_one.speedup for c in pts]
        vals += s
        err = [[0.0] * len(pts), [0.0] * len(pts)]
        for i, c in enumerate(pts):
            # The base point is S = 1 by definition: no interval on it.
            ci = c.vs_one.verdict.get("ci") if c is not c.vs_one.baseline else None
            if ci:
                any_ci = True
                err[0][i], err[1][i] = max(0.0, s[i] - ci[0]), max(0.0, ci[1] - s[i])
                vals += list(ci)
        one = pts[0].vs_one.baseline
        ax.errorbar(x, s, yerr=err, fmt=marker, color=color, ms=7, capsize=3, linestyle="none", zorder=3,
                    label=f"{label} (base: its 1-worker run, {fmt.secs(one.median)} s)")
        over = [c for c in pts if c.oversubscribed]
        if over:
            ax.scatter([c.workers * off for c in over], [c.vs_one.speedup for c in over], s=160,
                       facecolors="none", edgecolors="red", linewidths=1.2, zorder=4,
                       label=None if over_labelled else "more workers than cores (oversubscribed)")
            over_labelled = True
    grid = _grid(counts)
    ax.plot(grid, grid, color="0.3", lw=1, ls=":", label="ideal: S = p")
    vals += [max(counts)]
    _amdahl_curves(ax, gs, efficiency=False)
    _worker_axis(ax, counts)
    _missing_note(ax, gs)
    ax.set_yscale("log", base=2)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylim(min(vals) / 1.3, max(vals) * 1.3)
    ax.set_ylabel("speedup S = T(1 worker) / T(p) (log2 scale)")
    ax.set_title(_title(gs, "speedup over the single-worker run of the same form"))
    ax.legend(loc="upper left")
    caption = (f"Speedup of each parallel form of {gs.group.app} over its own single-worker run "
               "(absolute base times in the legend), ratio of medians. "
               + ("Bars are the Hodges-Lehmann confidence intervals of the speedup at each comparison's Holm level "
                  "(Method); the base point, S = 1 by definition, has none; "
                  if any_ci else "No bars: too few repetitions for a confidence interval; ")
               + "the dotted diagonal is ideal speedup. Speedups over the sequential run are in the tables."
               + _amdahl_caption(gs, "Amdahl's law fitted by least squares on 1/S"))
    return Figure(f"{gs.gid}-speedup", caption, fig, _px(SIZE_STD))


def _amdahl_curves(ax, gs, efficiency):
    """The Amdahl bound fitted to each parallel form: S(p), or E(p) = S(p)/p for the efficiency figure."""
    for backend, f in gs.amdahl.items():
        if f is None or backend == "seq":
            continue
        color, _ = style(backend)
        fg = _form_grid(gs, backend)
        label = f"Amdahl fit, {backend}" if efficiency else f"Amdahl bound fitted to {backend}"
        ax.plot(fg, [stats.amdahl_speedup(f, p) / (p if efficiency else 1) for p in fg], color=color, lw=1.2,
                ls="--", alpha=0.8, label=f"{label}: f = {fmt.fixed(f, 3)}")


def fig_efficiency(gs):
    fig, ax = _new(SIZE_STD)
    counts = gs.worker_counts()
    series = [s for s in _series(gs) if s[1] != "seq"]
    top = 1.1
    any_ci = False
    for off, (color, marker), (label, backend, cells) in zip(_offsets(len(series)), _series_styles(series), series):
        pts = [c for c in cells if c.vs_one is not None and c.vs_one.efficiency is not None]
        if not pts:
            continue
        e = [c.vs_one.efficiency for c in pts]
        err = [[0.0] * len(pts), [0.0] * len(pts)]
        for i, c in enumerate(pts):
            # E = S/p, so the interval of S divided by p; none on the base point (E = 1 there).
            ci = c.vs_one.verdict.get("ci") if c is not c.vs_one.baseline else None
            if ci:
                any_ci = True
                err[0][i], err[1][i] = max(0.0, e[i] - ci[0] / c.vs_one.p), max(0.0, ci[1] / c.vs_one.p - e[i])
        top = max(top, max(v + hi for v, hi in zip(e, err[1])) * 1.1)
        ax.errorbar([c.workers * off for c in pts], e, yerr=err, fmt=marker, color=color, ms=7, capsize=3,
                    linestyle="none", label=f"{label} (vs its 1-worker run)", zorder=3)
    ax.axhline(1.0, color="0.3", lw=1, ls=":", label="ideal: E = 1")
    _amdahl_curves(ax, gs, efficiency=True)
    _worker_axis(ax, counts)
    ax.set_ylim(0, top)
    ax.set_ylabel("parallel efficiency E = S / p")
    ax.set_title(_title(gs, "parallel efficiency"))
    ax.legend(loc="lower left")
    caption = (f"Parallel efficiency E = S/p of {gs.group.app}, S being the speedup over the single-worker run "
               "of the same form (medians). "
               + ("Bars: the speedup's confidence interval divided by p (Method); the base point, E = 1 by "
                  "definition, has none. " if any_ci else "No bars: too few repetitions for a confidence interval. ")
               + "The dotted line is ideal efficiency."
               + _amdahl_caption(gs, "the fitted Amdahl bound"))
    return Figure(f"{gs.gid}-efficiency", caption, fig, _px(SIZE_STD))


PHASE_COLORS = {"compute": "#4c72b0", "comm": "#dd8452", "io": "#55a868", "init": "#8172b3",
                "metrics": "#da8bc3", "other": "#bbbbbb"}


def phase_bars(c):
    """{phase: height} of a cell's bar, from its median-total run, and that run's total: the
    heights add up to the total exactly. 'other' is the total less the recorded phases; where a
    record's phases exceed its total (records from before the phase identity), they are scaled
    down to the total and the third value says by what factor (1 when not)."""
    total = float(c.phase_run.total)
    h = {ph: (c.phases.get(ph) or 0.0) for ph in ("compute", "comm", "io", "init", "metrics")}
    known = sum(h.values())
    scale = total / known if known > total else 1.0
    h = {ph: v * scale for ph, v in h.items()}
    h["other"] = max(0.0, total - sum(h.values()))
    return h, total, scale


def fig_phases(gs):
    fig, ax = _new(SIZE_STD)
    cells = gs.all_cells()
    x, labels, pos = [], [], 0.0
    prev = None
    for c in cells:
        if prev is not None and c.backend != prev:
            pos += 0.6      # a gap between forms
        x.append(pos)
        labels.append(f"{c.backend}\np={c.workers}" + (f"\n{c.nodes} nodes" if c.nodes > 1 else ""))
        pos += 1
        prev = c.backend
    bars = [phase_bars(c) for c in cells]
    bottom = [0.0] * len(cells)
    starts = {}
    for ph in ("compute", "comm", "io", "init", "metrics", "other"):
        h = [b[0][ph] for b in bars]
        starts[ph] = list(bottom)
        if not any(h):
            continue
        ax.bar(x, h, bottom=bottom, width=0.75, color=PHASE_COLORS[ph], label=ph, edgecolor="white", linewidth=0.5)
        bottom = [b + v for b, v in zip(bottom, h)]
    # Per-worker spread: where the segment's top would be for the fastest and the slowest worker.
    spread = False
    for i, (xi, c, (_, _, scale)) in enumerate(zip(x, cells, bars)):
        for ph, dx in (("compute", -0.2), ("comm", 0.2)):
            if ph in c.spread and c.workers > 1:
                lo, hi = (starts[ph][i] + v * scale for v in c.spread[ph])
                ax.plot([xi + dx] * 2, [lo, hi], color="black", lw=1.2, marker="_", ms=6, zorder=4)
                spread = True
    for xi, (_, total, _) in zip(x, bars):
        ax.text(xi, total, fmt.secs(total), ha="center", va="bottom", fontsize=7.5)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8.5)
    ax.grid(axis="x", visible=False)
    ax.set_ylim(0, (max(bottom) or 1.0) * 1.12)
    ax.set_ylabel("time per run [s] (the run with the median total)")
    ax.set_xlabel("form and workers p")
    ax.set_title(_title(gs, "time per phase"))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", ncol=6)
    scaled = [c for c, (_, _, sc) in zip(cells, bars) if sc != 1.0]
    caption = (f"Per-phase times of {gs.group.app} for every configuration, all from one run: the repetition whose "
               "total is the median (the lower middle one for an even count), so each bar is exactly as tall as the "
               "total written on it. Phases as recorded by the program, all from its slowest worker: compute, comm "
               "(communication and synchronisation; compute + comm = the iterations), io (reading the input), init, "
               "metrics (accuracy and NMI); 'other' is the rest of the total.")
    if spread:
        caption += (" Black whiskers: the top of the compute (left) and comm (right) segment for the fastest and "
                    "the slowest worker of that run (compute_min..max, comm_min..max), the load imbalance.")
    if scaled:
        caption += (" In " + ", ".join(f"{c.backend} p={c.workers}" for c in scaled) + " the recorded phases add up "
                    "to more than the total (records written before the phase identity); they are scaled down to it.")
    return Figure(f"{gs.gid}-phases", caption, fig, _px(SIZE_STD))


def _metric(r, key):
    v = r.result.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def quality_identical(gs):
    """Every run of the group ends with the same labels, centroids, inertia, accuracy and NMI:
    the quality figure would be flat lines, so one sentence replaces it (compose.quality_sentence)."""
    keys = ("labels_sha256", "centroids_sha256", "inertia", "accuracy", "nmi")
    seen = {tuple(r.result.get(k) for k in keys) for c in gs.all_cells() for r in c.runs}
    return len(seen) == 1 and any(v is not None for v in next(iter(seen)))


def fig_quality(gs):
    fig, axes = _new(SIZE_WIDE, ncols=3)
    counts = gs.worker_counts()
    series = _series(gs)
    for ax, key, ylabel in zip(axes, ("accuracy", "nmi", "inertia"),
                               ("accuracy (Hungarian one-to-one)",
                                "normalised mutual information", "inertia (sum of squared distances, scaled units)")):
        seen = []
        for off, (color, marker), (label, backend, cells) in zip(_offsets(len(series)), _series_styles(series),
                                                                 series):
            points = {}     # (x, value) -> runs: equal results are drawn once
            for c in cells:
                for r in c.runs:
                    v = _metric(r, key)
                    if v is not None:
                        points[(c.workers * off, v)] = points.get((c.workers * off, v), 0) + 1
            if points:
                seen += [v for (_, v), k in points.items() for _ in range(k)]
                xs, ys = [x for x, _ in points], [v for _, v in points]
                ax.plot(xs, ys, marker=marker, color=color, linestyle="none", ms=6, alpha=0.7, label=label)
        _worker_axis(ax, counts)
        ax.set_ylabel(ylabel)
        ax.set_title(key if key != "nmi" else "NMI")
        if not seen:
            ax.text(0.5, 0.5, "not recorded\n(no labels in the dataset)" if key != "inertia" else "not recorded",
                    transform=ax.transAxes, ha="center", va="center", color="0.4")
            ax.set_yticks([])
            continue
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        if max(seen) == min(seen):
            v = seen[0]
            pad = abs(v) * 0.01 or 0.01
            ax.set_ylim(v - pad, v + pad)
            ax.text(0.5, 0.9, f"identical in all {len(seen)} runs: {fmt.sig(v, 6)}", transform=ax.transAxes,
                    ha="center", fontsize=8.5, color="0.25",
                    bbox=dict(facecolor="white", edgecolor="0.8", boxstyle="round,pad=0.3"))
        else:
            ax.text(0.5, 0.9, f"range {fmt.sig(min(seen), 6)} .. {fmt.sig(max(seen), 6)}", transform=ax.transAxes,
                    ha="center", fontsize=8.5, color="0.25",
                    bbox=dict(facecolor="white", edgecolor="0.8", boxstyle="round,pad=0.3"))
    axes[0].legend(loc="lower left")
    fig.suptitle(_title(gs, "clustering result against workers"))
    caption = (f"Result quality of {gs.group.app} against workers p, every repetition of every form drawn "
               "(forms nudged sideways): clustering accuracy against the true labels (fraction of points in the "
               "best one-to-one (Hungarian) matching of clusters to labels; initial centroids "
               f"{gs.group.params.get('init') or 'not recorded'}), normalised mutual "
               "information, and the final inertia. A change with p would show as a vertical spread.")
    return Figure(f"{gs.gid}-quality", caption, fig, _px(SIZE_WIDE))


def fig_loss(gs):
    """Loss per epoch against the exact least-squares optimum; identical traces drawn once."""
    traces = {}
    opt = None
    for c in gs.all_cells():
        for r in c.runs:
            lt = r.result.get("loss_trace")
            if not isinstance(lt, dict) or not lt.get("epoch") or not lt.get("mse"):
                continue
            key = (tuple(lt["epoch"]), tuple(lt["mse"]))
            traces.setdefault(key, {}).setdefault(c.backend, set()).add(c.workers)
            if opt is None and isinstance(r.result.get("mse_optimum"), (int, float)):
                opt = float(r.result["mse_optimum"])
    if not traces:
        return None
    fig, (ax1, ax2) = _new(SIZE_WIDE, ncols=2)
    styles = ["-", "--", "-.", ":"]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for i, ((ep, mse), who) in enumerate(sorted(traces.items(), key=lambda kv: sorted(kv[1]))):
        label = "; ".join(f"{b} p={','.join(map(str, sorted(ws)))}"
                          for b, ws in sorted(who.items(), key=lambda kv: form_rank(kv[0])))
        kw = dict(color=colors[i % len(colors)], ls=styles[i % len(styles)], lw=1.5, marker=".", ms=5)
        pts = [(e, m) for e, m in zip(ep, mse) if e > 0 and m is not None and m > 0]
        ax1.plot([e for e, _ in pts], [m for _, m in pts], label=label, **kw)
        if opt is not None:
            ex = [(e, m - opt) for e, m in pts if m - opt > 0]
            ax2.plot([e for e, _ in ex], [m for _, m in ex], label=label, **kw)
    if opt is not None:
        ax1.axhline(opt, color="0.2", lw=1, ls=":", label=f"exact optimum MSE* = {fmt.sig(opt, 6)}")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("epoch (log scale)")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax1.set_ylabel("training MSE (log scale)")
    ax1.set_title("mean squared error per epoch")
    ax1.legend(loc="upper right")
    ax2.set_ylabel("MSE - MSE* (log scale)")
    ax2.set_title("distance to the exact optimum")
    if opt is None:
        ax2.text(0.5, 0.5, "no mse_optimum recorded", transform=ax2.transAxes, ha="center", color="0.4")
    fig.suptitle(_title(gs, "loss per epoch"))
    n = len(traces)
    caption = ("Training loss of the regression per epoch (epochs sampled on a log scale) and its distance to "
               "the exact least-squares optimum MSE*. "
               + ("All configurations recorded the same trace, drawn once; the legend lists them."
                  if n == 1 else f"{n} different traces were recorded; each is drawn once with the configurations "
                  "that produced it in the legend."))
    return Figure(f"{gs.gid}-loss", caption, fig, _px(SIZE_WIDE))


def fig_bench(rows):
    rows = [r for r in rows if r.real_s]
    if not rows:
        return None
    size = bench_size(len(rows))
    fig, ax = _new(size)
    sources = {r.source for r in rows}
    names = [(r.name if len(sources) == 1 else f"{os.path.basename(r.source)}: {r.name}") for r in rows]
    y = list(range(len(rows)))[::-1]
    for yi, r in zip(y, rows):
        if len(r.real_s) > 1:
            ax.plot([min(r.real_s), max(r.real_s)], [yi, yi], color="0.35", lw=1.2, zorder=2)
        ax.plot(r.real_s, [yi] * len(r.real_s), "o", color="0.35", ms=4, alpha=0.7, zorder=3)
        ax.plot([r.median], [yi], "D", color="#4c72b0", ms=9, zorder=4)
        ax.text(r.median, yi + 0.18, fmt.si_time(r.median), fontsize=8.5, ha="center", va="bottom")
    ax.set_yticks(y)
    ax.set_yticklabels([n.replace("$", r"\$") for n in names], fontsize=8.5)
    ax.set_xscale("log")
    lo, hi = min(min(r.real_s) for r in rows), max(max(r.real_s) for r in rows)
    ax.set_xlim(lo / 3, hi * 3)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.si_time(v)))
    ax.set_ylim(-0.6, len(rows) - 0.3)
    ax.set_xlabel("real (wall-clock) time per iteration (log scale)")
    ax.grid(axis="y", visible=False)
    ax.set_title("Google Benchmark microbenchmarks")
    ax.plot([], [], "D", color="#4c72b0", ms=8, label="median")
    ax.plot([], [], "o-", color="0.35", ms=4, label="each repetition, line min to max")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    caption = ("Microbenchmarks (Google Benchmark): median real (wall-clock) time per iteration (diamond), every "
               "repetition as a dot and the min-max range as a line, on a log time axis; a benchmark written only "
               "as aggregates shows its median aggregate.")
    return Figure("bench", caption, fig, _px(size))


def _time_axis(ax, values):
    """Log time axis over `values` (seconds) with readable units on the ticks."""
    positive = [v for v in values if v > 0]
    _log_y(ax, min(positive), max(positive))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.si_time(v)))


def fig_model(groups):
    """Measured time per iteration against the cost model's prediction, one panel per group."""
    ncols = min(3, len(groups))
    nrows = -(-len(groups) // ncols)
    size = SIZE_STD if len(groups) == 1 else (4.6 * ncols, 4.4 * nrows)
    fig, axes = _new(size, ncols=ncols, nrows=nrows)
    axes = list(getattr(axes, "flat", [axes]))
    for ax, mg in zip(axes, groups):
        backends = sorted({pt.cell.backend for pt in mg.points}, key=form_rank)
        values = []
        for off, backend in zip(_offsets(len(backends)), backends):
            pts = [pt for pt in mg.points if pt.cell.backend == backend]
            color, marker = style(backend)
            _runs_and_medians(ax, [pt.cell.workers * off for pt in pts], [pt.per_iter for pt in pts],
                              [pt.median for pt in pts], [pt.q1 for pt in pts], [pt.q3 for pt in pts], color, marker,
                              f"{backend}: measured")
            values += [v for pt in pts for v in pt.per_iter]
        ps = [p for p, _ in mg.curve]
        # The model is defined at whole rank counts only: drawn through them, as a model may be.
        ax.plot(ps, [pr.total_s for _, pr in mg.curve], color="black", lw=1.5, marker=".", ms=5, zorder=4,
                label="model: compute + messages")
        ax.plot(ps, [pr.compute_s for _, pr in mg.curve], color="0.45", lw=1.2, ls=":", zorder=4,
                label="model: compute only")
        values += [pr.total_s for _, pr in mg.curve] + [pr.compute_s for _, pr in mg.curve]
        _worker_axis(ax, sorted({pt.cell.workers for pt in mg.points} | set(ps)))
        _time_axis(ax, values)
        ax.set_ylabel(f"time per {mg.workload.unit} (log scale)")
        # Two groups can share a workload and data (other params): the group id tells them apart.
        ax.set_title(_title(mg.gs, f"per {mg.workload.unit}") + f"\ngroup {mg.gs.gid}", fontsize=9.5)
        ax.legend(loc="best")
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    fig.suptitle("Cost model (bench/cost_model.py --machine here) against the run records")
    caption = ("Time per iteration (k-means) or epoch (regression) against workers p: every run as a dot "
               "(time_s.per_iter of its record), the median with its inter-quartile bar per form, and the cost model's "
               "prediction for P MPI ranks on this machine (black line; dotted: its compute part alone). For threads "
               "the model's messages stand for the shared-memory reductions. The table below gives the ratios.")
    return Figure("model-vs-measured", caption, fig, _px(size))


_WORKLOAD_STYLES = [("tab:blue", "o"), ("tab:orange", "s"), ("tab:green", "^"), ("tab:red", "D"),
                    ("tab:purple", "v"), ("tab:brown", "P")]


def fig_stokes(pred):
    """The model's predicted time per iteration and speedup for 1 core and 1-16 Stokes nodes."""
    fig, (ax1, ax2) = _new(SIZE_WIDE, ncols=2)
    marks = sorted({r["ranks"] for rows in pred.rows.values() for r in rows})
    times, speedups = [], [1.0]
    for (key, curve), (color, marker) in zip(pred.curves.items(), _WORKLOAD_STYLES * 2):
        label = pred.workloads[key].label
        table = pred.rows[key]
        for ax, field, store in ((ax1, "total_s", times), (ax2, "speedup", speedups)):
            ax.plot([r["ranks"] for r in curve], [r[field] for r in curve], color=color, lw=1.4, label=label)
            ax.plot([r["ranks"] for r in table], [r[field] for r in table], marker, color=color, ms=6,
                    linestyle="none")
            store += [r[field] for r in curve]
    ax2.plot(marks, marks, color="0.3", lw=1, ls=":", label="ideal speedup: S = P")
    for ax in (ax1, ax2):
        _worker_axis(ax, marks)
        ax.set_xlabel("cores = MPI ranks: 1, then 1-16 nodes x 48 (log2 scale)")
    _time_axis(ax1, times)
    ax1.set_ylim(top=max(times) * 60)   # headroom above the curves for the legend
    ax1.set_ylabel("predicted time per iteration / epoch (log scale)")
    ax1.set_title("predicted time per iteration")
    ax2.set_yscale("log", base=2)
    ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax2.set_ylim(min(speedups) / 1.5, max(marks + speedups) * 1.5)
    ax2.set_ylabel("predicted speedup over 1 core (log2 scale)")
    ax2.set_title("predicted speedup")
    # Times fall to the right, so the upper right of the time panel is free for the workloads;
    # the speedup panel names only its ideal line, in its empty upper left.
    ax1.legend(loc="upper right")
    ax2.legend(handles=ax2.get_lines()[-1:], loc="upper left")
    fig.suptitle("PREDICTION for Stokes from the cost model's assumptions (not measured)")
    caption = ("Predicted, not measured: the cost model (bench/cost_model.py, assumptions in the text and in "
               "bench/COST_MODEL.md) for one core and 1, 2, 4, 8 and 16 nodes of 48 cores, one MPI rank per core. "
               "Markers are the table's configurations; lines pass through powers of two inside a node. Left: time "
               "per iteration (epoch), right: speedup over one core with ideal speedup dotted.")
    return Figure("stokes-prediction", caption, fig, _px(SIZE_WIDE))


def _px(size):
    return (round(size[0] * DPI), round(size[1] * DPI))


def group_figures(gs):
    out = [fig_time(gs)]
    if any(c.vs_one is not None and c.workers > 1 for c in gs.all_cells()):
        out += [fig_speedup(gs), fig_efficiency(gs)]
    out.append(fig_phases(gs))
    if gs.group.app == "kmeans" and not quality_identical(gs):
        out.append(fig_quality(gs))
    elif gs.group.app == "nlreg":
        loss = fig_loss(gs)
        if loss is not None:
            out.append(loss)
    return out


def close(figs):
    for f in figs:
        plt.close(f.fig)


def fig_simulated(series):
    """Simulated time per iteration (SMPI records) against ranks, with the cost model's prediction
    for the same configurations: one colour per workload, markers simulated, lines the model."""
    fig, ax = _new(SIZE_SIM)
    values, ranks = [], set()
    for s, (color, marker) in zip(series, _WORKLOAD_STYLES * (1 + len(series) // len(_WORKLOAD_STYLES))):
        xs = [pt.ranks for pt in s.points]
        ax.plot(xs, [pt.median for pt in s.points], marker, color=color, ms=6, linestyle="none",
                label=f"{s.label}: simulated")
        modelled = [pt for pt in s.points if pt.model is not None]
        if modelled:
            # The model exists at every rank count: drawn as a line through the simulated ones.
            ax.plot([pt.ranks for pt in modelled], [pt.model.total_s for pt in modelled], color=color, lw=1.2,
                    ls="--", label=f"{s.label}: cost model")
            values += [pt.model.total_s for pt in modelled]
        values += [pt.median for pt in s.points]
        ranks |= set(xs)
    _worker_axis(ax, sorted(ranks))
    _time_axis(ax, values)
    ax.set_xlabel("simulated MPI ranks (log2 scale; 48 per node on stokes, then whole nodes)")
    ax.set_ylabel("simulated time per iteration / epoch (log scale)")
    # Below the axes: the series cross the whole panel, no corner of it is free.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7)
    fig.suptitle("SIMULATED (SimGrid SMPI), not measured: time per iteration against the cost model")
    caption = ("Simulated, not measured: the unchanged MPI code run by SimGrid SMPI on a described platform "
               "(jobs/platforms/), markers the median time_s.per_iter of the simulated runs per rank count; "
               "dashed lines the cost model (bench/cost_model.py) for the same ranks and nodes. The table gives "
               "the ratios and every disagreement above 25% with its reason.")
    return Figure("simulated-vs-model", caption, fig, _px(SIZE_SIM))
