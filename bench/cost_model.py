#!/usr/bin/env python3
"""The cost model of bench/COST_MODEL.md, evaluated: time per iteration of the
k-means and regression workloads on P MPI ranks (one per core), from the
per-row costs measured by `make bench` (results/bench/microbench.json), the
alpha-beta parameters measured by bench/mpi/alpha_beta.cpp
(results/bench/alpha_beta.json) and the stated assumptions about the target
machine. Prints Markdown tables; --json also writes the numbers.

    python3 bench/cost_model.py [--machine stokes|here] [--json results/bench/cost_model.json]
"""
import argparse
import json
import math
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS_PER_BLOCK = 256

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

# Per-row (per-sample) costs on one core here: seconds of compute and bytes of
# input streamed per E-step or epoch (bench names in microbench.json).
DEFAULT_ROW_COST = {
    "mnist_lloyd": (0.082e-6, 784),     # BM_Assign<uint8>/10000/784/10: 0.82 ms / 10,000 rows
    "blobs_lloyd": (0.0208e-6, 256),    # BM_Assign<float>/1000000/64/10: 20.8 ms / 1e6 rows
    "regression": (2.12e-6 / 20000, 16),  # BM_ResidualSums/20000: 2.12 us / 20,000 samples
}


def load_row_costs():
    path = os.path.join(ROOT, "results", "bench", "microbench.json")
    costs = dict(DEFAULT_ROW_COST)
    if not os.path.exists(path):
        return costs, "defaults (results/bench/microbench.json absent)"
    with open(path) as f:
        bench = {b["name"]: b for b in json.load(f).get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"}

    def per_row(name, rows):
        b = bench.get(name)
        if not b:
            return None
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
        return b["cpu_time"] * scale / rows

    for key, name, rows in (("mnist_lloyd", "BM_Assign<std::uint8_t>/10000/784/10", 10000),
                            ("blobs_lloyd", "BM_Assign<float>/1000000/64/10", 1000000),
                            ("regression", "BM_ResidualSums/20000", 20000)):
        t = per_row(name, rows)
        if t:
            costs[key] = (t, costs[key][1])
    return costs, "results/bench/microbench.json"


def load_alpha_beta(machine):
    path = os.path.join(ROOT, "results", "bench", "alpha_beta.json")
    if machine is HERE and os.path.exists(path):
        with open(path) as f:
            ab = json.load(f)
        machine = dict(machine, alpha_intra=ab["alpha_s"], beta_intra=ab["beta_s_per_byte"])
    return machine


def alpha(m, nodes):
    """Latency of one step of a collective's tree: within a node, or across nodes."""
    return m["alpha_intra"] if nodes <= 1 else m["alpha_inter"]


def allreduce(m, ranks, nodes, size):
    """Recursive halving/doubling (MPICH's large-message all-reduce):
    2 log2(P) alpha + 2 (P-1)/P size beta; the log2 P steps split between the
    steps inside a node and those across nodes."""
    if ranks <= 1:
        return 0.0
    intra = math.ceil(math.log2(min(ranks, m["cores_per_node"])))
    inter = math.ceil(math.log2(nodes)) if nodes > 1 else 0
    beta = m["beta_inter"] if nodes > 1 else m["beta_intra"]
    return 2 * (intra * m["alpha_intra"] + inter * (m["alpha_inter"] or 0)) + 2 * (ranks - 1) / ranks * size * beta


def allgather(m, ranks, nodes, size_per_rank):
    """Recursive doubling: log2(P) alpha + (P-1) size beta."""
    if ranks <= 1:
        return 0.0
    intra = math.ceil(math.log2(min(ranks, m["cores_per_node"])))
    inter = math.ceil(math.log2(nodes)) if nodes > 1 else 0
    beta = m["beta_inter"] if nodes > 1 else m["beta_intra"]
    return intra * m["alpha_intra"] + inter * (m["alpha_inter"] or 0) + (ranks - 1) * size_per_rank * beta


def iteration(m, workload, ranks, nodes, row_cost):
    """(compute, communication) seconds of one iteration on `ranks` ranks."""
    n, values, reduce_bytes = workload["n"], workload["tree_values"], workload["reduce_bytes"]
    t_row, bytes_row = row_cost
    blocks = math.ceil(n / ROWS_PER_BLOCK)
    busy = min(ranks, blocks)  # whole blocks per rank: more ranks than blocks idle
    rows = math.ceil(blocks / busy) * ROWS_PER_BLOCK
    compute = rows * t_row / m["speed"]
    # Memory bound when a rank's rows do not stay in its share of the cache.
    per_node = min(busy, m["cores_per_node"])
    if rows * bytes_row > m["cache_per_core"]:
        bandwidth = min(m["core_bandwidth"], m["node_bandwidth"] / per_node)
        compute = max(compute, rows * bytes_row / bandwidth)
    # Tree sum: each rank sends its ~2 log2(blocks per rank) subtree values.
    nodes_per_rank = max(1, 2 * math.ceil(math.log2(max(2, blocks / busy))))
    comm = allgather(m, ranks, nodes, nodes_per_rank * values * 8)
    if reduce_bytes:
        comm += allreduce(m, ranks, nodes, reduce_bytes)
    return compute, comm


WORKLOADS = {
    "k-means MNIST (n=1e4, d=784, k=10), Lloyd": {"n": 10000, "tree_values": 1, "reduce_bytes": 10 * 785 * 8,
                                                  "cost": "mnist_lloyd"},
    "k-means blobs (n=1e7, d=64, k=10), Lloyd": {"n": 10_000_000, "tree_values": 1, "reduce_bytes": 10 * 65 * 8,
                                                 "cost": "blobs_lloyd"},
    "regression (n=2e4), one epoch": {"n": 20000, "tree_values": 4, "reduce_bytes": 0, "cost": "regression"},
    "regression (n=1e8), one epoch": {"n": 100_000_000, "tree_values": 4, "reduce_bytes": 0, "cost": "regression"},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--machine", choices=["stokes", "here"], default="stokes")
    parser.add_argument("--json", help="also write the table as JSON here")
    args = parser.parse_args()
    machine = load_alpha_beta(STOKES if args.machine == "stokes" else HERE)
    costs, source = load_row_costs()
    if args.machine == "stokes":
        configs = [(1, 1)] + [(nodes * 48, nodes) for nodes in (1, 2, 4, 8, 16)]
    else:
        configs = [(1, 1), (2, 1)]
    print(f"Machine: {machine['name']}; per-row costs from {source}.\n")
    out = {}
    for name, w in WORKLOADS.items():
        t1 = sum(iteration(machine, w, 1, 1, costs[w["cost"]]))
        print(f"**{name}**\n")
        print("| nodes | ranks | compute | comm | per iteration | speedup | efficiency |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        rows = []
        for ranks, nodes in configs:
            comp, comm = iteration(machine, w, ranks, nodes, costs[w["cost"]])
            total = comp + comm
            rows.append({"nodes": nodes, "ranks": ranks, "compute_s": comp, "comm_s": comm, "total_s": total})
            print(f"| {nodes} | {ranks} | {comp * 1e6:,.1f} us | {comm * 1e6:,.1f} us | {total * 1e6:,.1f} us "
                  f"| {t1 / total:,.1f} | {100 * t1 / total / ranks:.0f}% |")
        print()
        out[name] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "row_costs": costs, "workloads": out}, f, indent=1)


if __name__ == "__main__":
    main()
