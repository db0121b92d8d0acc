#!/usr/bin/env python3
"""The cost model of bench/COST_MODEL.md, evaluated: time per iteration of the
k-means and regression workloads on P MPI ranks (one per core), from the
per-row costs measured by `make bench` (results/bench/microbench.json), the
alpha-beta parameters measured by bench/mpi/alpha_beta.cpp
(results/bench/alpha_beta.json) and the stated assumptions about the target
machine. Prints Markdown tables; --json also writes the numbers.

    python3 bench/cost_model.py [--machine stokes|here] [--json results/bench/cost_model.json]

The report (report/model.py) imports this file for the same numbers:
machine(), row_costs(), predict(), sweep(), workload_for() take their inputs as
arguments and read no files, so a report built from given files predicts from
exactly those files.
"""
import argparse
import json
import math
import os
import statistics
from dataclasses import dataclass, replace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_ROWS_PER_BLOCK = 256   # src/team/layout.hpp: ceil(n / 256) blocks, equal to within one 16-row unit
MICROBENCH_JSON = os.path.join(ROOT, "results", "bench", "microbench.json")
ALPHA_BETA_JSON = os.path.join(ROOT, "results", "bench", "alpha_beta.json")

# Measured on the development machine (1 core of an AMD EPYC Zen 5, 4.2 GHz,
# AVX-512; MPICH 4.0 over shared memory), used when the JSON files are absent.
HERE = {
    "name": "this machine (2 cores, shared-memory MPI)",
    "cores_per_node": 2,
    "speed": 1.0,                 # per-core compute rate relative to the measurements
    "node_bandwidth": 25e9,       # B/s of memory bandwidth per node (assumed)
    "core_bandwidth": 20e9,       # B/s one core can draw alone (assumed)
    "cache_per_core": 1.0e6 + 16e6,  # L2 + share of L3 (B)
    "alpha_intra": 0.12e-6, "alpha_inter": None,
    "beta_intra": 6.3e-11, "beta_inter": None,
}
# Assumptions for UCF Stokes (jobs/profiles/stokes.conf: 48-core nodes, Cascade
# Lake or newer): AVX-512 with two FMA units at ~2.2 GHz under AVX-512 load,
# about half this machine's per-core rate; ~200 GB/s STREAM per two-socket
# node; 1.5 MB of L3 per core; InfiniBand EDR-class network between nodes.
STOKES = {
    "name": "Stokes (assumed: 48-core Cascade Lake nodes, EDR InfiniBand)",
    "cores_per_node": 48,
    "speed": 0.5,
    "node_bandwidth": 200e9,
    "core_bandwidth": 12e9,
    "cache_per_core": 1.0e6 + 1.4e6,
    "alpha_intra": 0.4e-6, "alpha_inter": 1.5e-6,
    "beta_intra": 1.0e-10, "beta_inter": 1.0e-10,  # ~10 GB/s either way (memory copy / 100 Gb/s link)
}
MACHINES = {"here": HERE, "stokes": STOKES}
STOKES_NODES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Kernel:
    """The microbenchmark that gives a workload its per-row cost on one core, and
    what of an iteration that benchmark does not time (so the model leaves it out)."""
    bench: str              # Google Benchmark name in microbench.json
    rows: int               # rows (samples) per benchmark iteration
    seconds_per_row: float  # default: measured on the development machine
    bytes_per_row: int      # input bytes streamed per row
    leaves_out: str
    fallbacks: tuple = ()   # the benchmarks to take, in turn, where `bench` was not measured (a
                            # build without the kernel it times; same rows per iteration)

    def names(self):
        return [self.bench] + list(self.fallbacks)

    def label(self):
        """The benchmark(s), as the report names them."""
        if not self.fallbacks:
            return f"`{self.bench}`"
        return f"`{self.bench}` (" + ", else ".join(f"`{f}`" for f in self.fallbacks) + " where that was not measured)"


KERNELS = {
    # Lloyd on MNIST runs the integer E-step where the CPU has AVX2 or AVX-512 VNNI
    # (BM_AssignInt, on MNIST itself: by the rows' nonzero pairs, /1, where the build has the
    # pair kernel, AVX2; else by chunks, /0), the float kernel elsewhere (BM_Assign, which
    # BM_AssignInt skips there).
    "mnist_lloyd": Kernel("BM_AssignInt/10000/784/10/1", 10000, 0.082e-6, 784,   # 0.82 ms / 10,000 rows
                          "the M-step (moving changed rows between the cluster sums, the centroid means, "
                          "the inertia from the sums) and the convergence test",
                          fallbacks=("BM_AssignInt/10000/784/10/0", "BM_Assign<std::uint8_t>/10000/784/10")),
    "blobs_lloyd": Kernel("BM_Assign<float>/1000000/64/10", 1000000, 0.0208e-6, 256,     # 20.8 ms / 1e6 rows
                          "the M-step (moving changed rows between the cluster sums, the centroid means, "
                          "the inertia from the sums) and the convergence test"),
    "regression": Kernel("BM_ResidualSums/20000", 20000, 2.12e-6 / 20000, 16,            # 2.12 us / 20,000 samples
                         "the tree sum of the block partial sums, the parameter update and the loss bookkeeping"),
}


@dataclass(frozen=True)
class Workload:
    """One iteration (k-means) or epoch (regression) of a workload the model predicts."""
    label: str
    app: str            # the run records' "app" it models
    n: int              # rows (samples)
    kernel: str         # key of KERNELS: the per-row cost
    tree_values: int    # doubles per node of the tree sum each iteration (0: none)
    reduce_bytes: int   # bytes all-reduced per iteration (k-means cluster sums), 0 for none
    unit: str = "iteration"


def kmeans_workload(label, n, d, k, kernel):
    # The cluster sums: k x (d + 1) int64 (d coordinates and the count); the inertia comes
    # from them, so no tree sum.
    return Workload(label, "kmeans", n, kernel, tree_values=0, reduce_bytes=k * (d + 1) * 8)


def regression_workload(label, n):
    # The tree sum carries four values: the three gradient sums and the squared residuals.
    return Workload(label, "nlreg", n, "regression", tree_values=4, reduce_bytes=0, unit="epoch")


WORKLOADS = {
    "mnist": kmeans_workload("k-means MNIST (n=1e4, d=784, k=10), Lloyd", 10000, 784, 10, "mnist_lloyd"),
    "blobs": kmeans_workload("k-means blobs (n=1e7, d=64, k=10), Lloyd", 10_000_000, 64, 10, "blobs_lloyd"),
    "regression_20k": regression_workload("regression (n=2e4), one epoch", 20000),
    "regression_1e8": regression_workload("regression (n=1e8), one epoch", 100_000_000),
}


# ---- inputs --------------------------------------------------------------------------

DEFAULT_SOURCE = "built-in defaults measured on the development machine"


def row_costs(bench=None, name="microbench.json"):
    """{kernel: (seconds per row, bytes per row)} and where the seconds come from.

    `bench` is a parsed Google Benchmark JSON object (make bench) or None, `name`
    its file name for the message; each kernel it measured replaces the built-in
    default (median CPU time over its repetitions; a file written with only the
    aggregates gives its "median" aggregate). Kernels it lacks keep their
    defaults."""
    costs = {key: (k.seconds_per_row, k.bytes_per_row) for key, k in KERNELS.items()}
    if not bench:
        return costs, DEFAULT_SOURCE
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    measured = []
    def seconds(name):
        rows = [b for b in bench.get("benchmarks", []) if b.get("run_name", b.get("name")) == name
                and not b.get("error_occurred")]
        times = [b["cpu_time"] * scale[b.get("time_unit", "ns")] for b in rows
                 if b.get("run_type", "iteration") == "iteration"]
        if not times:
            times = [b["cpu_time"] * scale[b.get("time_unit", "ns")] for b in rows
                     if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
        return times

    for key, k in KERNELS.items():
        times = next((t for t in map(seconds, k.names()) if t), None)
        if times:
            costs[key] = (statistics.median(times) / k.rows, k.bytes_per_row)
            measured.append(key)
    if not measured:
        return costs, f"{DEFAULT_SOURCE} ({name} lacks the kernels)"
    if len(measured) < len(KERNELS):
        return costs, f"{name} ({', '.join(measured)}; defaults for the rest)"
    return costs, name


def machine(name="stokes", alpha_beta=None, cores=None):
    """The parameters of `name` ("here" or "stokes") as a new dict. For "here",
    a parsed alpha_beta.json replaces the latency and per-byte time inside a node,
    and `cores` (when known, e.g. from the run records) the cores per node."""
    m = dict(MACHINES[name])
    if name == "here":
        if alpha_beta:
            m.update(alpha_intra=alpha_beta["alpha_s"], beta_intra=alpha_beta["beta_s_per_byte"])
        if cores:
            m.update(cores_per_node=cores, name=f"this machine ({cores} cores, shared-memory MPI)")
    return m


def read_json(path):
    """A JSON file's content, or None when it does not exist."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


# ---- the model -------------------------------------------------------------------------

def _tree_steps(m, ranks, nodes):
    """Steps of a collective's tree inside a node and across nodes."""
    intra = math.ceil(math.log2(min(ranks, m["cores_per_node"])))
    inter = math.ceil(math.log2(nodes)) if nodes > 1 else 0
    return intra, inter


def _between_nodes(m, nodes):
    """(alpha, beta) of the steps across nodes. A machine without network constants
    (this one: the local Slurm cluster's "nodes" share one host) uses its intra-node ones."""
    alpha = m["alpha_inter"] if m["alpha_inter"] is not None else m["alpha_intra"]
    beta = m["beta_inter"] if nodes > 1 and m["beta_inter"] is not None else m["beta_intra"]
    return alpha, beta


def allreduce(m, ranks, nodes, size):
    """Recursive halving/doubling (MPICH's large-message all-reduce):
    2 log2(P) alpha + 2 (P-1)/P size beta; the log2 P steps split between the
    steps inside a node and those across nodes."""
    if ranks <= 1:
        return 0.0
    intra, inter = _tree_steps(m, ranks, nodes)
    alpha_inter, beta = _between_nodes(m, nodes)
    return 2 * (intra * m["alpha_intra"] + inter * alpha_inter) + 2 * (ranks - 1) / ranks * size * beta


def allgather(m, ranks, nodes, size_per_rank):
    """Recursive doubling: log2(P) alpha + (P-1) size beta."""
    if ranks <= 1:
        return 0.0
    intra, inter = _tree_steps(m, ranks, nodes)
    alpha_inter, beta = _between_nodes(m, nodes)
    return intra * m["alpha_intra"] + inter * alpha_inter + (ranks - 1) * size_per_rank * beta


@dataclass(frozen=True)
class Prediction:
    compute_s: float
    comm_s: float

    @property
    def total_s(self):
        return self.compute_s + self.comm_s


def predict(m, workload, ranks, nodes=1, costs=None):
    """Predicted Prediction(compute_s, comm_s) of one iteration of `workload` (a
    Workload or a key of WORKLOADS) on `ranks` ranks over `nodes` nodes of
    machine `m`; `costs` from row_costs() (default: the built-in ones)."""
    w = WORKLOADS[workload] if isinstance(workload, str) else workload
    t_row, bytes_row = (costs or row_costs()[0])[w.kernel]
    blocks = math.ceil(w.n / MAX_ROWS_PER_BLOCK)
    busy = min(ranks, blocks)  # whole blocks per rank: more ranks than blocks idle
    rows = math.ceil(blocks / busy) * math.ceil(w.n / blocks)   # the busiest rank's whole blocks
    compute = rows * t_row / m["speed"]
    # Memory bound when a rank's rows do not stay in its share of the cache.
    per_node = min(busy, m["cores_per_node"])
    if rows * bytes_row > m["cache_per_core"]:
        bandwidth = min(m["core_bandwidth"], m["node_bandwidth"] / per_node)
        compute = max(compute, rows * bytes_row / bandwidth)
    # Tree sum: each rank sends its ~2 log2(blocks per rank) subtree values.
    nodes_per_rank = max(1, 2 * math.ceil(math.log2(max(2, blocks / busy))))
    comm = allgather(m, ranks, nodes, nodes_per_rank * w.tree_values * 8) if w.tree_values else 0.0
    if w.reduce_bytes:
        comm += allreduce(m, ranks, nodes, w.reduce_bytes)
    return Prediction(compute, comm)


def stokes_configs():
    """(ranks, nodes): one core, then 1 to 16 full 48-core nodes."""
    return [(1, 1)] + [(nodes * STOKES["cores_per_node"], nodes) for nodes in STOKES_NODES]


def sweep(m, workload, configs, costs=None):
    """One row per (ranks, nodes) with the prediction and the speedup and
    efficiency over one rank."""
    t1 = predict(m, workload, 1, 1, costs).total_s
    rows = []
    for ranks, nodes in configs:
        p = predict(m, workload, ranks, nodes, costs)
        rows.append({"nodes": nodes, "ranks": ranks, "compute_s": p.compute_s, "comm_s": p.comm_s,
                     "total_s": p.total_s, "speedup": t1 / p.total_s, "efficiency": t1 / p.total_s / ranks})
    return rows


def workload_for(app, dataset, params):
    """The Workload that models runs of `app` on `dataset` with `params` (run
    record fields), with the dataset's n, or None where the model has no measured
    per-row cost: k-means only for Lloyd with k = 10, the reduce M-step and the
    shapes the microbenchmarks time (784 uint8 pixels, or 64 float32 values);
    regression only for gradient descent."""
    n = dataset.get("n")
    if not isinstance(n, int) or n < 1:
        return None
    if app == "kmeans":
        if params.get("k") != 10 or params.get("algorithm", "lloyd") != "lloyd" \
                or params.get("mstep", "reduce") != "reduce":
            return None
        kernel = {(784, "uint8"): "mnist_lloyd", (64, "float32"): "blobs_lloyd"}.get(
            (dataset.get("d"), dataset.get("dtype")))
        if kernel is None:
            return None
        base = WORKLOADS["mnist" if kernel == "mnist_lloyd" else "blobs"]
        label = f"k-means {os.path.splitext(os.path.basename(str(dataset.get('path', 'data'))))[0]} " \
                f"(n={n}, d={dataset['d']}, k=10), Lloyd"
        return replace(base, label=label, n=n)
    if app == "nlreg" and params.get("solver", "gd") == "gd":
        return regression_workload(f"regression (n={n}), one epoch", n)
    return None


# ---- command line ----------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--machine", choices=sorted(MACHINES), default="stokes")
    parser.add_argument("--json", help="also write the table as JSON here")
    args = parser.parse_args()
    m = machine(args.machine, alpha_beta=read_json(ALPHA_BETA_JSON))
    costs, source = row_costs(read_json(MICROBENCH_JSON), os.path.relpath(MICROBENCH_JSON, ROOT))
    configs = stokes_configs() if args.machine == "stokes" else [(1, 1), (2, 1)]
    print(f"Machine: {m['name']}; per-row costs from {source}.\n")
    out = {}
    for w in WORKLOADS.values():
        print(f"**{w.label}**\n")
        print(f"| nodes | ranks | compute | comm | per {w.unit} | speedup | efficiency |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        rows = sweep(m, w, configs, costs)
        for r in rows:
            print(f"| {r['nodes']} | {r['ranks']} | {r['compute_s'] * 1e6:,.1f} us | {r['comm_s'] * 1e6:,.1f} us "
                  f"| {r['total_s'] * 1e6:,.1f} us | {r['speedup']:,.1f} | {100 * r['efficiency']:.0f}% |")
        print()
        out[w.label] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": m, "row_costs": costs, "row_costs_source": source, "workloads": out}, f, indent=1)


if __name__ == "__main__":
    main()
