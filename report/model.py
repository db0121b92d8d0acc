"""The cost model of bench/COST_MODEL.md against the run records, and its prediction for a
Stokes-sized sweep: numbers and the sentences drawn from them. figures.py draws them,
compose.py lays them out.

The model is imported from bench/cost_model.py, never re-implemented here, so the report and
`make cost-model` cannot disagree. It is fed the inputs the report was given -- the kernel
timings of a Google Benchmark file (`make bench`) and an alpha_beta.json (`make bench-mpi`) --
and falls back to the built-in values of cost_model.py, saying so, when they are absent.
"""

import importlib.util
import os
import sys
from dataclasses import dataclass, field

from . import fmt, stats

_COST_MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "cost_model.py")


def import_cost_model(name="hpcb_cost_model"):
    """bench/cost_model.py as module `name` (a new instance for a new name)."""
    # bench/ is a folder of C++ benchmarks with one Python script, not a package: load the
    # script by its path. Registered in sys.modules first, as dataclasses expect of a module.
    spec = importlib.util.spec_from_file_location(name, _COST_MODEL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cost_model = import_cost_model()

# Measured within this factor of the model (either way) counts as agreeing. Timings on a shared
# two-core machine vary by about this much between repetitions.
AGREES = 1.15


@dataclass
class Inputs:
    """What the model is evaluated with, and where each part came from."""
    costs: dict                 # cost_model.row_costs(): kernel -> (seconds per row, bytes per row)
    costs_source: str
    measured_costs: bool        # from a benchmark file given to the report (else defaults)
    alpha_beta: dict = None     # parsed alpha_beta.json, or None
    alpha_beta_path: str = None


def inputs(loaded):
    """Model inputs from the loaded files: the last benchmark file that times one of the
    model's kernels, and the last alpha_beta.json."""
    names = {name for k in cost_model.KERNELS.values() for name in k.names()}
    bench = None
    for bf in loaded.benches:
        if any(b.get("name") in names for b in bf.benchmarks):
            bench = bf
    costs, source = (cost_model.row_costs({"benchmarks": bench.benchmarks}, bench.path) if bench
                     else cost_model.row_costs())
    path, ab = loaded.side_input("alpha-beta")
    return Inputs(costs, source, bench is not None, ab, path)


def _num(d, key):
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def comm_per_iteration(run):
    """Recorded communication (and waiting) time per iteration or epoch, or None.

    time_s.comm covers the iterations; divide by their number, which is time_s.iterations /
    time_s.per_iter when both were recorded, else the result's iteration or epoch count."""
    comm, per_iter, loop = (_num(run.time_s, k) for k in ("comm", "per_iter", "iterations"))
    if comm is None:
        return None
    if per_iter and loop:
        return comm * per_iter / loop
    count = _num(run.result, "iterations") or _num(run.result, "epochs")
    return comm / count if count else None


@dataclass
class Point:
    """One measured configuration of a modelled group beside the model's prediction for it."""
    cell: object            # summary.Cell
    per_iter: list          # seconds per iteration (or epoch) of each run
    median: float
    q1: float
    q3: float
    comm: float             # median recorded comm per iteration, or None
    model: object           # cost_model.Prediction for P = workers ranks on the cell's nodes

    @property
    def ratio(self):
        return self.median / self.model.total_s


@dataclass
class ModelGroup:
    gs: object              # summary.GroupSummary
    workload: object        # cost_model.Workload
    machine: dict
    points: list
    curve: list = field(default_factory=list)   # (P, Prediction) for P = 1 .. the largest p measured

    @property
    def kernel(self):
        return cost_model.KERNELS[self.workload.kernel]


def model_groups(summaries, inp):
    """A ModelGroup for every scaling group the model has a workload for (and whose runs recorded
    time_s.per_iter). The machine is cost_model's "here" with the records' core count."""
    out = []
    for gs in summaries:
        w = cost_model.workload_for(gs.group.app, gs.group.dataset, gs.group.params)
        if w is None:
            continue
        cores = next((c.cores for c in gs.all_cells() if c.cores), None)
        m = cost_model.machine("here", alpha_beta=inp.alpha_beta, cores=cores)
        points = []
        for c in gs.all_cells():
            per_iter = [v for v in (_num(r.time_s, "per_iter") for r in c.runs) if v is not None and v > 0]
            if not per_iter:
                continue
            comms = [v for v in (comm_per_iteration(r) for r in c.runs) if v is not None]
            points.append(Point(c, per_iter, stats.median(per_iter), stats.quantile(per_iter, 0.25),
                                stats.quantile(per_iter, 0.75), stats.median(comms) if comms else None,
                                cost_model.predict(m, w, c.workers, c.nodes, inp.costs)))
        if points:
            top = max(pt.cell.workers for pt in points)
            nodes = max(pt.cell.nodes for pt in points)
            curve = [(p, cost_model.predict(m, w, p, nodes if p > m["cores_per_node"] else 1, inp.costs))
                     for p in range(1, top + 1)]
            out.append(ModelGroup(gs, w, m, points, curve))
    return out


def findings(mg, inp):
    """Sentences on where measurement and model part, and why, from this group's numbers."""
    unit = mg.workload.unit
    out = []
    ones = sorted((pt for pt in mg.points if pt.cell.workers == 1), key=lambda pt: pt.cell.backend != "seq")
    base = ones[0] if ones else None
    if base is not None:
        r, gap = base.ratio, base.median - base.model.total_s
        head = (f"At p = 1 ({base.cell.backend}) the runs take {fmt.si_time(base.median)} per {unit} against the "
                f"model's {fmt.si_time(base.model.total_s)} ({r:.2f}x)")
        if 1 / AGREES <= r <= AGREES:
            out.append(head + f": within {round(100 * (AGREES - 1))}%, so the kernel {mg.kernel.label()} is "
                       f"nearly all of the {unit}.")
        elif r > 1:
            out.append(head + f". The model's per-row cost is the kernel {mg.kernel.label()} alone; it leaves "
                       f"out {mg.kernel.leaves_out}, which take the other {fmt.si_time(gap)} per {unit} "
                       f"({100 * gap / base.median:.0f}% of it).")
        else:
            out.append(head + f": the runs are faster than the model, whose per-row cost comes from "
                       f"{inp.costs_source}.")
    for backend in sorted({pt.cell.backend for pt in mg.points if pt.cell.workers > 1}):
        pt = max((p for p in mg.points if p.cell.backend == backend and p.cell.workers > 1),
                 key=lambda p: (p.cell.workers, p.cell.config))
        text = f"At p = {pt.cell.workers} ({backend}) measured/model is {pt.ratio:.2f}"
        if base is not None:
            text += f" (p = 1: {base.ratio:.2f})"
        if pt.comm is not None:
            text += (f"; the records show {fmt.si_time(pt.comm)} of communication and waiting per {unit}, the model "
                     f"{fmt.si_time(pt.model.comm_s)} of messages")
        excess = pt.comm - pt.model.comm_s if pt.comm is not None else None
        if base is not None and pt.ratio > base.ratio * AGREES:
            text += (". The gap grows with p: the model splits the work perfectly and charges only the "
                     "messages, not the synchronisation of every " + unit + " or waiting for the slowest worker")
            if excess is not None and excess > 0:
                text += f" ({fmt.si_time(excess)} per {unit} beyond its message cost here)"
        elif base is not None and pt.ratio * AGREES < base.ratio:
            text += ". The gap shrinks with p: the work the model leaves out is split among the workers too"
        out.append(text + ".")
    return out


@dataclass
class Stokes:
    """The model's prediction for a Stokes-sized sweep (cost_model.STOKES assumptions)."""
    machine: dict
    workloads: dict     # key -> cost_model.Workload
    curves: dict        # key -> cost_model.sweep() rows on a dense grid that holds the table's configurations

    @property
    def rows(self):
        """key -> the rows of cost_model.stokes_configs() (1 core, 1 to 16 full nodes): the table."""
        table = set(cost_model.stokes_configs())
        return {key: [r for r in curve if (r["ranks"], r["nodes"]) in table] for key, curve in self.curves.items()}


def _dense_stokes_grid():
    # Powers of two inside one node, then whole nodes: the figure's curves pass through every
    # configuration of the table.
    cpn = cost_model.STOKES["cores_per_node"]
    inside = [p for p in (1, 2, 4, 8, 16, 32) if p < cpn] + [cpn]
    return [(p, 1) for p in inside] + [(cpn * n, n) for n in cost_model.STOKES_NODES if n > 1]


def stokes(inp):
    m, ws = cost_model.machine("stokes"), cost_model.WORKLOADS
    return Stokes(m, dict(ws), {key: cost_model.sweep(m, w, _dense_stokes_grid(), inp.costs) for key, w in ws.items()})


def assumptions(inp):
    """The Stokes assumptions in words, from the parameters the prediction used."""
    s = cost_model.STOKES
    return [
        f"per-core compute rate {s['speed']:g} x the per-row costs of the kernels ({inp.costs_source})",
        f"{s['cores_per_node']} cores per node, one MPI rank per core; rows in whole blocks of at most "
        f"{cost_model.MAX_ROWS_PER_BLOCK}, perfectly balanced otherwise (more ranks than blocks idle)",
        f"memory: {s['node_bandwidth'] / 1e9:g} GB/s per node, at most {s['core_bandwidth'] / 1e9:g} GB/s for one "
        f"core; a rank whose rows exceed {s['cache_per_core'] / 1e6:g} MB of cache streams them at its share",
        f"network: latency {s['alpha_intra'] * 1e6:g} us inside a node and {s['alpha_inter'] * 1e6:g} us between "
        f"nodes, {1 / s['beta_inter'] / 1e9:g} GB/s; MPICH's textbook all-reduce and all-gather trees",
        "no OS noise, no network contention, no load imbalance beyond whole blocks",
    ]
