"""Simulated runs (backend "smpi": SimGrid SMPI, jobs/smpi-run, make simulate) beside the cost
model of bench/cost_model.py. Their time_s are simulated seconds on a described platform, so
they are kept out of the scaling groups, the answers and every verdict (make_report.py splits
them off first) and shown only here, labelled as simulated.

The model is the one report/model.py imports (never re-implemented): the platform's machine of
cost_model ("stokes" for stokes.xml, "here" for local.xml) with the per-row costs and alpha-beta
the report was given. Every simulated configuration whose time per iteration differs from the
model's by more than DISAGREES (either way) is listed with the reasons its numbers show.
"""

import json
import math
from dataclasses import dataclass

from . import fmt, stats
from .model import comm_per_iteration, cost_model

BACKEND = "smpi"
# Simulation and model disagree when one is more than this factor of the other.
DISAGREES = 1.25
# The platform files of jobs/platforms/ and the cost model's machine for each.
PLATFORM_MACHINE = {"stokes": "stokes", "local": "here"}


def is_simulated(run):
    return run.backend == BACKEND


def split(runs):
    """(measured runs, simulated runs): simulated ones never join a measured group."""
    measured, simulated = [], []
    for r in runs:
        (simulated if is_simulated(r) else measured).append(r)
    return measured, simulated


def platform(run):
    sim = run.prov.get("simulated")
    return str(sim.get("platform")) if isinstance(sim, dict) else "unknown"


def _num(d, key):
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@dataclass
class Point:
    ranks: int
    nodes: int
    per_iter: list          # simulated seconds per iteration (epoch) of each run
    comm: float             # median simulated comm per iteration, or None
    spread: tuple           # (least, most) compute of a rank over the loop, of the median run, or None
    model: object           # cost_model.Prediction, or None
    bound_model: object     # the same without the memory-bandwidth limit (cache unlimited), or None
    blocks: int             # row blocks of the data (cost_model.MAX_ROWS_PER_BLOCK rows at most)

    @property
    def median(self):
        return stats.median(self.per_iter)

    @property
    def ratio(self):
        return self.median / self.model.total_s if self.model else None

    @property
    def disagrees(self):
        r = self.ratio
        return r is not None and not (1 / DISAGREES <= r <= DISAGREES)


@dataclass
class Series:
    """One simulated workload on one platform: app, data, params (all of them). A weak-scaling
    series (rows_per_rank set) holds one data set per rank count, each of rows_per_rank x ranks
    rows; `dataset` is then its smallest."""
    app: str
    dataset: dict
    params: dict
    platform: str
    workload: object        # cost_model.Workload (of `dataset`) or None
    model_note: str         # how the model stands for these params ("" when it models them as they are)
    points: list
    tags: list              # the runs' distinct tags
    rows_per_rank: int = None

    @property
    def label(self):
        extra = f", mstep {self.params['mstep']}" if self.app == "kmeans" and "mstep" in self.params else ""
        if self.rows_per_rank:
            shape = f"d={self.dataset.get('d')} {self.dataset.get('dtype')}, " if self.app == "kmeans" else ""
            return (f"{self.app} weak scaling ({self.rows_per_rank} rows per rank, {shape}n={self.rows_per_rank} x "
                    f"ranks{extra}) on {self.platform}")
        name = str(self.dataset.get("path", "data")).rsplit("/", 1)[-1]
        return f"{self.app} {name} (n={self.dataset.get('n')}{extra}) on {self.platform}"

    @property
    def unit(self):
        return "epoch" if self.app == "nlreg" else "iteration"


def _workload(app, dataset, params):
    """The model's workload and a note. The model has only the reduce M-step; for owner
    (reduce-scatter, then all-gather: together the data of one all-reduce) it stands in."""
    w = cost_model.workload_for(app, dataset, params)
    if w is None and app == "kmeans" and params.get("mstep") == "owner":
        w = cost_model.workload_for(app, dataset, dict(params, mstep="reduce"))
        if w is not None:
            return w, "the model's all-reduce stands for owner's reduce-scatter and all-gather"
    return w, ""


def _key(run):
    return (run.app, json.dumps(run.dataset, sort_keys=True), json.dumps(run.params, sort_keys=True), platform(run))


def _rows_per_rank(runs):
    """n / ranks when the runs (of one tag) are on several data sets and every run holds the same
    number of rows per rank: a weak-scaling sweep (make simulate). Otherwise None."""
    if len({json.dumps(r.dataset, sort_keys=True) for r in runs}) < 2:
        return None
    per = {r.dataset.get("n") / r.ranks if isinstance(r.dataset.get("n"), int) else None for r in runs}
    if len(per) != 1 or None in per:
        return None
    value = per.pop()
    return int(value) if value == int(value) and value >= 1 else None


def _groups(runs):
    """[(runs, rows_per_rank or None)]: the weak-scaling tags first, then one group per app, data,
    params and platform (strong scaling: the same data at every rank count)."""
    by_tag = {}
    for r in runs:
        if r.tag:
            by_tag.setdefault((r.app, json.dumps(r.params, sort_keys=True), platform(r), str(r.tag)), []).append(r)
    out, weak = [], set()
    for key in sorted(by_tag):
        per = _rows_per_rank(by_tag[key])
        if per:
            out.append((by_tag[key], per))
            weak.update(id(r) for r in by_tag[key])
    by = {}
    for r in runs:
        if id(r) not in weak:
            by.setdefault(_key(r), []).append(r)
    return [(by[key], None) for key in sorted(by)] + out


def series(runs, inp):
    """Series of the simulated ok runs with time_s.per_iter, with the model beside each point."""
    out = []
    for rs, per_rank in _groups([r for r in runs if r.ok and _num(r.time_s, "per_iter")]):
        first = min(rs, key=lambda r: (r.dataset.get("n") or 0, r.ranks))
        w, note = _workload(first.app, first.dataset, first.params)
        m = cost_model.machine(PLATFORM_MACHINE[platform(first)], alpha_beta=inp.alpha_beta) \
            if platform(first) in PLATFORM_MACHINE else None
        if m is not None and platform(first) == "local":
            m["cores_per_node"] = max(r.ranks for r in rs)
        cells = {}
        for r in rs:
            cells.setdefault((r.ranks, r.nodes), []).append(r)
        points = []
        for (ranks, nodes), cell in sorted(cells.items()):
            comms = [v for v in (comm_per_iteration(r) for r in cell) if v is not None]
            dataset = cell[0].dataset  # one data set per rank count, also in a weak-scaling series
            cw = _workload(first.app, dataset, first.params)[0] if per_rank else w
            pred = bound = None
            if cw is not None and m is not None:
                pred = cost_model.predict(m, cw, ranks, nodes, inp.costs)
                bound = cost_model.predict(dict(m, cache_per_core=math.inf), cw, ranks, nodes, inp.costs)
            mid = sorted(cell, key=lambda r: _num(r.time_s, "per_iter"))[len(cell) // 2]
            lo, hi = _num(mid.time_s, "compute_min"), _num(mid.time_s, "compute_max")
            points.append(Point(ranks, nodes, [_num(r.time_s, "per_iter") for r in cell],
                                stats.median(comms) if comms else None,
                                (lo, hi) if lo is not None and hi is not None else None, pred, bound,
                                math.ceil(dataset.get("n", 0) / cost_model.MAX_ROWS_PER_BLOCK)))
        out.append(Series(first.app, first.dataset, first.params, platform(first), w, note, points,
                          sorted({str(r.tag) for r in rs}), per_rank))
    return out


def reasons(s, pt):
    """Why simulation and model part at this point, from its numbers (possibly several)."""
    out = []
    m = pt.model
    if pt.ranks > pt.blocks:
        out.append(f"idle ranks: {pt.ranks - pt.blocks} of {pt.ranks} hold no rows ({pt.blocks} row blocks), "
                   "yet every rank takes part in each collective")
    if pt.comm is not None and m.comm_s > 0:
        rc = pt.comm / m.comm_s
        if not (1 / DISAGREES <= rc <= DISAGREES):
            what = ("collective algorithm: SMPI runs MPICH's algorithms (smpi/coll-selector mpich) over the "
                    "platform's links, the model charges textbook recursive doubling/halving")
            out.append(f"{what}: communication and waiting {fmt.si_time(pt.comm)} simulated against "
                       f"{fmt.si_time(m.comm_s)} modelled per {s.unit} ({rc:.2f}x)")
        # Bursts timed on a loaded host make ranks with equal rows unequal: the others wait.
        if pt.spread and pt.spread[0] > 0 and pt.ranks <= pt.blocks and pt.spread[1] > DISAGREES * pt.spread[0]:
            out.append(f"waiting: the ranks' compute over the loop ranges from {fmt.si_time(pt.spread[0])} to "
                       f"{fmt.si_time(pt.spread[1])} for equal shares of rows (compute bursts are timed on the "
                       "host, whose load they carry), and the others wait for the slowest in each collective")
        if max(pt.comm, m.comm_s) > m.compute_s:
            out.append(f"latency-bound regime: communication ({fmt.si_time(max(pt.comm, m.comm_s))} per {s.unit}) "
                       f"exceeds the busiest rank's compute ({fmt.si_time(m.compute_s)}), so small "
                       "differences in per-message cost decide the total")
    compute = pt.median - (pt.comm or 0.0)
    # Simulated compute over the model's, here and at 1 rank: how much of the gap came with P.
    one = next((q for q in s.points if q.ranks == 1 and q.model), None)
    rk1 = (one.median - (one.comm or 0.0)) / one.model.compute_s if one and pt.ranks > 1 else None
    if compute > 0 and m.compute_s > 0:
        rk = compute / m.compute_s
        if not (1 / DISAGREES <= rk <= DISAGREES):
            text = (f"compute: {fmt.si_time(compute)} simulated against {fmt.si_time(m.compute_s)} modelled per "
                    f"{s.unit} ({rk:.2f}x)")
            if m.compute_s > pt.bound_model.compute_s * DISAGREES:
                text += ("; the model is memory-bound here (a rank's rows exceed its cache share), while SMPI "
                         "rescales bursts timed on this host and models no memory bandwidth")
            elif rk1 and rk > DISAGREES * rk1:
                text += (f"; at 1 rank the ratio is {rk1:.2f}x, so the rest came with P: fixed costs per rank and "
                         "iteration, and bursts timed on one host core that all simulated ranks share in turn "
                         "(each starts with a cold cache); the model has neither")
            elif rk > 1:
                text += (f"; the model's per-row cost is the kernel alone and leaves out "
                         f"{cost_model.KERNELS[s.workload.kernel].leaves_out}")
            out.append(text)
    return out or ["no single cause evident from the recorded phases"]


def peak(s):
    """(P, speedup, point) of the largest simulated speedup over the series' 1-rank point, or None."""
    one = next((pt for pt in s.points if pt.ranks == 1), None)
    if one is None or len(s.points) < 2:
        return None
    best = max(s.points, key=lambda pt: one.median / pt.median)
    return best.ranks, one.median / best.median, best


def weak_sentence(s):
    """How the time per iteration of a weak-scaling series grows from its fewest ranks to its most."""
    lo, hi = s.points[0], s.points[-1]
    if len(s.points) < 2:
        return None
    text = (f"{s.label}: with {s.rows_per_rank} rows per rank (simulated on {s.platform}) the time per {s.unit} goes "
            f"from {fmt.si_time(lo.median)} at {fmt.plural(lo.ranks, 'rank')} to {fmt.si_time(hi.median)} at "
            f"{hi.ranks} ranks: a weak-scaling efficiency (time at {lo.ranks} over time at {hi.ranks}) of "
            f"{lo.median / hi.median:.2f}")
    if hi.comm is not None:
        text += f"; at {hi.ranks} ranks communication and waiting take {fmt.si_time(hi.comm)} per {s.unit}"
    return text + "."


def peak_sentence(s):
    if s.rows_per_rank:
        return weak_sentence(s)
    pk = peak(s)
    if pk is None:
        return None
    p, speedup, pt = pk
    if p == 1:
        pt = next(q for q in s.points if q.ranks > 1)
        text = (f"{s.label}: at scale (simulated on {s.platform}) no rank count beats 1 rank; at {pt.ranks} ranks "
                f"the time per {s.unit} is {fmt.si_time(pt.median)} against {fmt.si_time(s.points[0].median)}")
        if pt.comm is not None:
            text += f", {fmt.si_time(pt.comm)} of it communication and waiting"
        return text + "."
    text = (f"{s.label}: at scale (simulated on {s.platform}) the speedup peaks at {p} ranks "
            f"({speedup:.3g}x over 1 rank)")
    if pt.comm is not None:
        compute = pt.median - pt.comm
        text += (f", where communication and waiting take {fmt.si_time(pt.comm)} per {s.unit} against "
                 f"{fmt.si_time(compute)} of compute")
    return text + "."


# What identifies the data of a run, and the machine that ran it (prov), for the check below.
DATA_KEYS = ("sha256", "n", "d", "dtype")
MACHINE_KEYS = ("cpu", "cpu_model_number", "cores", "memory_bytes")
MEASURED_BACKEND = "mpi"


@dataclass
class LocalCheck:
    """One simulated configuration on local.xml beside the measured MPI runs of the same app, data,
    parameters and rank count on the machine local.xml describes (the one that ran the simulation)."""
    label: str
    unit: str
    ranks: int
    measured: list          # seconds per iteration of the measured runs
    simulated: list         # simulated seconds per iteration of the simulated runs

    @property
    def ratio(self):
        return stats.median(self.simulated) / stats.median(self.measured)

    @property
    def within(self):
        return 1 / DISAGREES <= self.ratio <= DISAGREES


def _same(a, b, keys):
    return all(a.get(k) == b.get(k) for k in keys)


def against_measured(ss, simulated_runs, measured_runs):
    """The local.xml series' points that have measured twins: same app, data (content, not path),
    parameters and ranks, measured with the MPI backend on a machine whose prov matches the one
    that ran the simulation (cpu, cores, memory). jobs/platforms/check_local.py makes such pairs."""
    out = []
    for s in ss:
        if s.platform != "local":
            continue
        sims = [r for r in simulated_runs if _key(r) == (s.app, json.dumps(s.dataset, sort_keys=True),
                                                         json.dumps(s.params, sort_keys=True), s.platform)]
        for pt in s.points:
            at = [r for r in sims if r.ranks == pt.ranks and _num(r.time_s, "per_iter")]
            twins = [_num(m.time_s, "per_iter") for m in measured_runs
                     if m.ok and m.backend == MEASURED_BACKEND and m.app == s.app and m.ranks == pt.ranks
                     and _num(m.time_s, "per_iter") and _same(m.dataset, s.dataset, DATA_KEYS)
                     and m.params == s.params and any(_same(m.prov, r.prov, MACHINE_KEYS) for r in at)]
            if twins:
                out.append(LocalCheck(s.label, s.unit, pt.ranks, twins, pt.per_iter))
    return out


def local_rows(checks):
    return [[c.label, str(c.ranks), str(len(c.measured)), fmt.si_time(stats.median(c.measured)),
             str(len(c.simulated)), fmt.si_time(stats.median(c.simulated)), fmt.ratio(c.ratio),
             "yes" if c.within else "no"] for c in checks]


LOCAL_HEADER = ["configuration", "ranks", "measured runs", "measured per iteration", "simulated runs",
                "simulated per iteration", "simulated / measured", f"within {round(100 * (DISAGREES - 1))}%"]


def local_json(checks):
    return [{"label": c.label, "ranks": c.ranks, "measured_per_iter_s": c.measured,
             "simulated_per_iter_s": c.simulated, "measured_median_s": stats.median(c.measured),
             "simulated_median_s": stats.median(c.simulated), "ratio": c.ratio, "within": c.within}
            for c in checks]


def rows(s):
    """Table rows of a series: ranks, nodes, simulated, model (compute + comm), ratio, agreement."""
    out = []
    for pt in s.points:
        m = pt.model
        out.append([str(pt.ranks), str(pt.nodes), str(len(pt.per_iter)), fmt.si_time(pt.median),
                    fmt.si_time(pt.comm) if pt.comm is not None else "n/a",
                    fmt.si_time(m.total_s) if m else "n/a",
                    f"{fmt.si_time(m.compute_s)} + {fmt.si_time(m.comm_s)}" if m else "n/a",
                    fmt.ratio(pt.ratio) if m else "n/a",
                    ("differs" if pt.disagrees else "agrees") if m else "no model"])
    return out


HEADER = ["ranks", "nodes", "runs", "simulated per iteration", "simulated comm", "model", "model compute + comm",
          "simulated / model", f"within {round(100 * (DISAGREES - 1))}%"]


def disagreements(ss):
    """[(series, point, [reasons])] for every point beyond DISAGREES."""
    return [(s, pt, reasons(s, pt)) for s in ss for pt in s.points if pt.disagrees]


def to_json(ss):
    return [{"label": s.label, "app": s.app, "platform": s.platform, "params": s.params,
             "workload": s.workload.label if s.workload else None, "model_note": s.model_note,
             "points": [{"ranks": pt.ranks, "nodes": pt.nodes, "n": len(pt.per_iter),
                         "simulated_per_iter_s": pt.median, "simulated_comm_per_iter_s": pt.comm,
                         "model_total_s": pt.model.total_s if pt.model else None,
                         "model_compute_s": pt.model.compute_s if pt.model else None,
                         "model_comm_s": pt.model.comm_s if pt.model else None,
                         "ratio": pt.ratio, "disagrees": pt.disagrees,
                         "reasons": reasons(s, pt) if pt.disagrees else []} for pt in s.points],
             "rows_per_rank": s.rows_per_rank, "peak": peak_sentence(s)} for s in ss]

