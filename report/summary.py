"""Per-group summaries shared by the tables, the figures and the answers.

Each configuration (nodes, ranks, threads) of each form becomes a Cell with its time
statistics and its comparison against two named baselines: the sequential run of the same
group, and the single-worker run (1 node, 1 rank, 1 thread) of the same form. Ratios are
always formed from the medians of the underlying times, never averaged (Hoefler & Belli).
"""

from dataclasses import dataclass, field

from . import stats
from .records import form_rank

# The phases that add up to at most `total` in one record (compute + comm = iterations).
PHASES = ("compute", "comm", "io", "init", "metrics")
# The per-worker spread of a phase, recorded beside it (load imbalance).
SPREAD = {"compute": ("compute_min", "compute_max"), "comm": ("comm_min", "comm_max")}


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@dataclass
class Comparison:
    baseline: "Cell"
    p: float            # workers relative to the baseline's workers
    speedup: float
    efficiency: float
    verdict: dict       # from stats.compare_family, over the comparisons of one question
    cell: "Cell" = None


@dataclass
class Cell:
    backend: str
    nodes: int
    ranks: int
    threads: int
    runs: list
    times: list = field(default_factory=list)
    n: int = 0
    median: float = 0.0
    mean: float = 0.0
    q1: float = 0.0
    q3: float = 0.0
    iqr: float = 0.0
    ci: tuple = None                 # (lo, hi, coverage) or None
    # The phases of one run, the one whose total is the median (the lower of the middle two for
    # an even count): medians taken phase by phase come from different runs and do not add up.
    phase_run: object = None
    phases: dict = field(default_factory=dict)   # phase -> seconds in phase_run (None if not recorded)
    spread: dict = field(default_factory=dict)   # phase -> (min, max) across workers in phase_run
    cores: int = None                # cores per node as recorded, when all runs agree
    vs_seq: Comparison = None
    vs_one: Comparison = None
    karp_flatt: float = None

    @property
    def workers(self):
        return self.ranks * self.threads

    @property
    def config(self):
        return (self.nodes, self.ranks, self.threads)

    @property
    def oversubscribed(self):
        """More workers per node than cores per node: a run the hardware cannot run in parallel."""
        if not self.cores:
            return None
        return self.workers / self.nodes > self.cores

    def shape(self):
        """How the workers are made up: "2 threads", "4 ranks", "2 ranks x 2 threads, 2 nodes"."""
        def n(k, word):
            return f"{k} {word}" + ("s" if k != 1 else "")
        if self.ranks > 1 and self.threads > 1:
            text = f"{n(self.ranks, 'rank')} x {n(self.threads, 'thread')}"
        elif self.ranks > 1 or self.backend == "mpi":
            text = n(self.ranks, "rank")
        else:
            text = n(self.threads, "thread")
        return text + (f", {self.nodes} nodes" if self.nodes > 1 else "")


def make_cell(backend, config, runs):
    nodes, ranks, threads = config
    c = Cell(backend=backend, nodes=nodes, ranks=ranks, threads=threads, runs=runs)
    c.times = [float(r.total) for r in runs]
    c.n = len(c.times)
    c.median = stats.median(c.times)
    c.mean = stats.mean(c.times)
    c.q1, c.q3 = stats.quantile(c.times, 0.25), stats.quantile(c.times, 0.75)
    c.iqr = c.q3 - c.q1
    c.ci = stats.median_ci(c.times)
    c.phase_run = median_run(runs)
    ts = c.phase_run.time_s
    c.phases = {ph: _num(ts.get(ph)) for ph in PHASES}
    for ph, (lo, hi) in SPREAD.items():
        if _num(ts.get(lo)) is not None and _num(ts.get(hi)) is not None:
            c.spread[ph] = (_num(ts[lo]), _num(ts[hi]))
    cores = {r.prov.get("cores") for r in runs}
    only = cores.pop() if len(cores) == 1 else None
    c.cores = only if isinstance(only, int) and not isinstance(only, bool) and only > 0 else None
    return c


def median_run(runs):
    """The run whose total is the median: the lower middle one for an even count."""
    order = sorted(runs, key=lambda r: float(r.total))
    return order[(len(order) - 1) // 2]


def compare_cells(cell, base):
    """The comparison of `cell` with `base`, its verdict still open (see decide)."""
    p = cell.workers / base.workers
    s = base.median / cell.median if cell.median > 0 else None
    return Comparison(baseline=base, p=p, speedup=s, efficiency=(s / p if s else None), verdict=None, cell=cell)


def decide(comparisons):
    """Verdicts of the comparisons of one question (one family for Holm's correction)."""
    comparisons = [k for k in comparisons if k is not None]
    for k, v in zip(comparisons, stats.compare_family([(k.baseline.times, c.times) for k, c in
                                                       ((k, k.cell) for k in comparisons)])):
        k.verdict = v


@dataclass
class ScalingModel:
    """What one form's speedups over its single-worker run support. With one worker count
    above the base, Amdahl's law has as many unknowns as points: its f would be the Karp-Flatt
    value with no residual, so only that is reported (kind "karp-flatt"). From two counts above
    the base (three worker counts in all) f is fitted (kind "amdahl") and every point keeps
    its residual. Nothing is clipped: e or f above 1 means a slowdown, below 0 superlinear."""
    kind: str                        # "karp-flatt" or "amdahl"
    points: list                     # [(p, speedup)], p relative to the base's workers
    value: float                     # e (karp-flatt, the only point's) or fitted f (amdahl)
    residuals: list = field(default_factory=list)   # [(p, speedup, fitted speedup)] for amdahl

    @property
    def slowdown(self):
        return self.value > 1

    @property
    def bound(self):
        """The fitted f when it is a serial fraction that bounds the speedup, else None."""
        return self.value if self.kind == "amdahl" and 0 <= self.value <= 1 else None


def scaling_model(points):
    """ScalingModel for [(p, speedup)] with p > 1 (None without any such point)."""
    points = [(p, s) for p, s in points if p > 1 and s and s > 0]
    counts = {p for p, _ in points}
    if not counts:
        return None
    if len(counts) == 1:
        # Several shapes at one count (4 ranks, 2 x 2): e of the fastest stands for the count.
        p, s = max(points, key=lambda t: t[1])
        return ScalingModel("karp-flatt", points, stats.karp_flatt(s, p))
    f = stats.amdahl_fit([p for p, _ in points], [s for _, s in points])
    return ScalingModel("amdahl", points, f, [(p, s, stats.amdahl_speedup(f, p)) for p, s in points])


@dataclass
class GroupSummary:
    group: object
    cells: dict                    # backend -> [Cell] in worker order
    seq: Cell = None               # sequential baseline
    one: dict = field(default_factory=dict)       # backend -> single-worker Cell
    amdahl: dict = field(default_factory=dict)    # backend -> fitted serial fraction bounding S, or None
    scaling: dict = field(default_factory=dict)   # backend -> ScalingModel or None
    missing: dict = field(default_factory=dict)   # backend -> [workers] missing cells
    failed_cells: dict = field(default_factory=dict)  # (backend, workers) -> number of failed runs

    @property
    def gid(self):
        return self.group.gid

    def all_cells(self):
        return [c for cells in self.cells.values() for c in cells]

    def worker_counts(self):
        return sorted({c.workers for c in self.all_cells()})


def summarise(group, app_forms):
    """Summarise one records.Group. `app_forms` are the parallel forms seen for this app in
    any group: a form absent here is a missing cell at every worker count."""
    cells = {}
    for backend in group.forms():
        cells[backend] = [make_cell(backend, cfg, runs) for cfg, runs in group.cells(backend).items()]
    gs = GroupSummary(group=group, cells=cells)
    seq = cells.get("seq", [])
    # The sequential backend has exactly one configuration; take the 1-worker one if several.
    gs.seq = next((c for c in seq if c.config == (1, 1, 1)), seq[0] if seq else None)
    for backend, bcells in cells.items():
        one = next((c for c in bcells if c.config == (1, 1, 1)), None)
        if one is None:
            one = next((c for c in bcells if c.workers == 1), None)
        if one is not None:
            gs.one[backend] = one
        for c in bcells:
            if gs.seq is not None and backend != "seq":
                c.vs_seq = compare_cells(c, gs.seq)
            if one is not None:
                c.vs_one = compare_cells(c, one)
                if c.workers > one.workers and c.vs_one.speedup:
                    c.karp_flatt = stats.karp_flatt(c.vs_one.speedup, c.vs_one.p)
        # One question per form: does it get faster with more workers than its single-worker run?
        decide([c.vs_one for c in bcells if c is not one])
        if one is not None:
            one.vs_one.verdict = stats.compare(one.times, one.times)
        # Amdahl's law models p processors that really run in parallel: leave out
        # oversubscribed configurations, which measure the scheduler instead.
        fit = [(c.vs_one.p, c.vs_one.speedup) for c in bcells
               if c.vs_one is not None and c.vs_one.speedup and not c.oversubscribed]
        gs.scaling[backend] = scaling_model(fit)
        gs.amdahl[backend] = gs.scaling[backend].bound if gs.scaling[backend] else None

    # And one across forms: is each parallel configuration faster than the sequential program?
    decide([c.vs_seq for c in gs.all_cells()])

    for r in group.failed:
        key = (r.backend, r.ranks * r.threads)
        gs.failed_cells[key] = gs.failed_cells.get(key, 0) + 1

    # Missing cells: a worker count that some parallel form of this group was run at, but this
    # parallel form has no ok run at. The sequential form only ever has one worker.
    parallel = sorted(set(app_forms) - {"seq"}, key=form_rank)
    present = {b: {c.workers for c in cells.get(b, [])} for b in parallel}
    counts = set().union(*present.values()) if present else set()
    for b in parallel:
        miss = sorted(counts - present[b])
        if miss:
            gs.missing[b] = miss
    return gs


def summarise_all(groups):
    """GroupSummary for every group with ok runs (groups holding only failed runs have no
    numbers to summarise; the report lists their failures)."""
    app_forms = {}
    for g in groups:
        app_forms.setdefault(g.app, set()).update(r.backend for r in g.runs)
    return [summarise(g, app_forms[g.app]) for g in groups if g.runs]


_UNIT_S = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


# Google Benchmark's own fields of a benchmark entry; every other number is a user counter.
_GBENCH_FIELDS = {"family_index", "per_family_instance_index", "repetitions", "repetition_index", "threads",
                  "iterations", "real_time", "cpu_time", "aggregate_unit"}
# The user counter of bench/bench_kernels.cpp's flops(): floating-point operations per second.
FLOPS_COUNTER = "GFLOP/s"


@dataclass
class BenchRow:
    source: str
    name: str
    threads: int
    real_s: list          # per repetition, seconds per iteration
    cpu_s: list
    rates: dict           # counter name (items_per_second, ...) -> median over repetitions
    from_aggregate: bool  # only aggregates were written (--benchmark_report_aggregates_only)
    error: str = None
    counters: dict = None  # every other numeric user counter -> median over repetitions

    @property
    def median(self):
        return stats.median(self.real_s) if self.real_s else None


def summarise_benches(bench_files):
    """One row per benchmark (run_name) and file. Repetitions ("iteration" entries) are kept
    individually; when a file holds only aggregates, its median (else mean) stands in."""
    rows = []
    for bf in bench_files:
        by_name = {}
        for b in bf.benchmarks:
            name = str(b.get("run_name") or b.get("name"))
            by_name.setdefault(name, []).append(b)
        for name, entries in by_name.items():
            iters = [b for b in entries if b.get("run_type", "iteration") == "iteration"]
            errors = [str(b.get("error_message", "error")) for b in entries if b.get("error_occurred")]
            use, from_agg = iters, False
            if not iters:
                aggs = {b.get("aggregate_name"): b for b in entries}
                pick = aggs.get("median") or aggs.get("mean")
                use, from_agg = ([pick] if pick else []), True

            def sec(b, key):
                v = b.get(key)
                scale = _UNIT_S.get(b.get("time_unit", "ns"))
                return v * scale if isinstance(v, (int, float)) and scale else None

            real = [s for s in (sec(b, "real_time") for b in use if not b.get("error_occurred")) if s is not None]
            cpu = [s for s in (sec(b, "cpu_time") for b in use if not b.get("error_occurred")) if s is not None]
            rates = {}
            for key in ("items_per_second", "bytes_per_second", FLOPS_COUNTER):
                vals = [b[key] for b in use if isinstance(b.get(key), (int, float))]
                if vals:
                    rates[key] = stats.median(vals)
            counters = {}
            for key in sorted({k for b in use for k in b} - _GBENCH_FIELDS - set(rates)):
                vals = [b[key] for b in use if isinstance(b.get(key), (int, float)) and not isinstance(b.get(key), bool)]
                if vals:
                    counters[key] = stats.median(vals)
            rows.append(BenchRow(source=bf.path, name=name, threads=int(entries[0].get("threads", 1) or 1),
                                 real_s=real, cpu_s=cpu, rates=rates, from_aggregate=from_agg,
                                 error="; ".join(errors) or None, counters=counters))
    return rows
