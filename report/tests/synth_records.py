#!/usr/bin/env python3
"""Write N synthetic but valid run records (schema run/1), shaped like the executables' own:
the same fields, nesting and sizes as records of kmeans_seq/omp/mpi/hybrid on MNIST and digits
and nlreg_* on the regression data (copied from real runs of this toolkit), with times drawn
from a scaling curve plus log-normal noise. For load tests of the report: a month of sweeps on
a cluster is some 200,000 records.
smpi_record() makes one simulated run (backend "smpi", as jobs/smpi-run records it) with given
simulated times, for the tests of the report's simulated section.

    /usr/bin/python3 report/tests/synth_records.py N OUT.jsonl [--seed S] [--failed-every K]
"""

import argparse
import json
import random

PROV = {"blas": "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64",
        "compiler": "g++ 12.2.0", "cores": 32, "cpu": "AMD EPYC", "dirty": False,
        "flags": "-std=c++20 -O3 -march=native -DNDEBUG -fopenmp", "git": "feafb61608ce", "hdf5": "1.10.8",
        "mpi": "MPICH Version:\t4.0.2", "omp_places": None, "omp_proc_bind": None,
        "slurm_array_task_id": None, "slurm_job_id": None}

DATASETS = {
    "mnist": {"d": 784, "dtype": "uint8", "has_labels": True, "n": 10000, "path": "datasets/mnist10k.h5",
              "sha256": "0bac9e96ccc8be0d48fafb49d0cd459fea5a51ce2475f8b13a380aea481b712c"},
    "digits": {"d": 64, "dtype": "uint8", "has_labels": True, "n": 1797, "path": "datasets/digits.h5",
               "sha256": "6e1e40630be067ae70556787f73b69c3cfbd2111b504fa0972a835c3d58611be"},
    "regression": {"d": 1, "dtype": "float64", "n": 20000, "path": "datasets/regression20k.h5",
                   "sha256": "34a345eb7f43c4206332ee7f2e3729cc924fd9c226baf1af41c5382a166d10f5"},
}
KM_PARAMS = {"algorithm": "lloyd", "init": "random", "iters": 100, "k": 10, "mstep": "reduce", "seed": 42, "tol": 0.0}
NL_PARAMS = {"a0": 0.0, "b0": 0.0, "c0": 0.0, "epochs": 10000, "lr": 0.0001, "solver": "gd",
             "target_mse": None}

# (app, dataset, sequential seconds, serial fraction): the four scaling groups.
GROUPS = [("kmeans", "mnist", 0.58, 0.05), ("kmeans", "digits", 0.012, 0.5), ("nlreg", "regression", 0.35, 0.1)]
# Configurations (backend, nodes, ranks, threads) run in every group.
CONFIGS = ([("seq", 1, 1, 1)] + [("omp", 1, 1, t) for t in (1, 2, 4, 8, 16, 32)]
           + [("mpi", n, r, 1) for n, r in ((1, 1), (1, 2), (1, 4), (1, 8), (1, 16), (1, 32), (2, 64))]
           + [("hybrid", n, r, t) for n, r, t in ((1, 2, 2), (1, 4, 8), (2, 8, 8))])


def _kmeans_result(rng, ds):
    iters = 54
    trace = [391028.8 + 350000.0 * 0.8 ** i + rng.random() for i in range(iters)]
    k = KM_PARAMS["k"]
    return {"accuracy": 0.469, "centroids_sha256": "5f4d6ee220c364151863bccf52dbe2795c2db55e142107a4def8754f03acd920",
            "converged": True, "distance_evals": ds["n"] * k * (iters + 1), "empty_cluster_events": 0,
            "inertia": trace[-1], "inertia_trace": trace, "iterations": iters,
            "labels_sha256": "51e876c634a1b9f51c9f0be71ba5eb40e871d49c45cb4878f84b9b8b0259ed03",
            "nmi": 0.48030688416961753, "resumed_from": 0, "sizes": [ds["n"] // k] * k, "validated": True}


def _nlreg_result(rng):
    epochs = sorted({int(round(1.16 ** i)) for i in range(63)} | {0})[:57]
    mse = [371.27 + 252000.0 / (1 + e) + rng.random() for e in epochs]
    return {"a": 9.502181674800925, "a_opt": 10.380420882117207, "b": 11.861262607997412,
            "b_opt": 1.4935060463485201, "c": 10.75668020578725, "c_opt": 35.81862977248899,
            "curvature": 4100.925703671453, "lr_used": 0.0001, "diverged": False, "epochs": 10000, "epochs_to_target": None,
            "loss_trace": {"epoch": epochs, "mse": mse}, "mse": 440.9402181789447, "mse_optimum": 371.2682517030344,
            "params_sha256": "18d461a645476751bf36d9654d313443401ddd73a51fca2872e8d202248a7dc3", "resumed_from": 0,
            "time_to_target_s": None, "validated": True}


def record(rng, i, app, dsname, t_seq, serial, cfg, failed=False):
    backend, nodes, ranks, threads = cfg
    p = ranks * threads
    ds = DATASETS[dsname]
    rec = {"app": app, "backend": backend, "dataset": ds, "hosts": [f"node{h:03d}" for h in range(nodes)],
           "nodes": nodes, "params": KM_PARAMS if app == "kmeans" else NL_PARAMS,
           "prov": dict(PROV, utc=f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                        slurm_job_id=str(100000 + i // 500)),
           "ranks": ranks, "schema": "run/1", "tag": "sweep", "threads": threads, "workers": p}
    if failed:
        return dict(rec, status="failed", error="rank 1 exited with status 137 (killed)")
    total = t_seq * (serial + (1 - serial) / p) * rng.lognormvariate(0, 0.05)
    io, init = 0.05 * total, 0.001 * total
    comm = 0.0 if p == 1 else 0.1 * total
    compute = total - io - init - comm
    count = 54 if app == "kmeans" else 10000
    # Results are the same in every repetition of a configuration (the toolkit is deterministic);
    # configurations may differ in the last bits (another order of the floating-point sums).
    same = random.Random(f"{app}/{dsname}/{cfg}")
    rec["result"] = _kmeans_result(same, ds) if app == "kmeans" else _nlreg_result(same)
    rec["time_s"] = {"comm": comm, "compute": compute, "init": init, "io": io, "iterations": compute + comm,
                     "per_iter": (compute + comm) / count, "total": total}
    rec["status"] = "ok"
    return rec


def smpi_record(i, app, dsname, ranks, per_iter, comm_per_iter, mstep="reduce", platform="stokes", per_node=48):
    """A simulated run (backend "smpi", as jobs/smpi-run records it) of `app` on `dsname` at
    `ranks` simulated ranks packed `per_node` per host, with the given simulated seconds per
    iteration (epoch) and the communication part of them."""
    nodes = -(-ranks // per_node)
    rec = record(random.Random(i), i, app, dsname, 1.0, 0.0, ("smpi", nodes, ranks, 1))
    rec["hosts"] = [f"{platform}-{h}" for h in range(nodes)]
    if app == "kmeans":
        rec["params"] = dict(KM_PARAMS, mstep=mstep)
    count = 54 if app == "kmeans" else 10000
    loop = per_iter * count
    rec["time_s"] = {"comm": comm_per_iter * count, "compute": loop - comm_per_iter * count, "init": 0.0,
                     "io": 0.01, "iterations": loop, "per_iter": per_iter, "total": loop + 0.01, "metrics": 0.0}
    rec["prov"] = dict(rec["prov"], simulated={"platform": platform, "simgrid": "3.32.0", "host_speed": "5.4e10f",
                                               "coll_selector": "mpich"})
    rec["tag"] = f"simulate/{platform}/{app}-{dsname}"
    return rec


def write(n, path, seed=1, failed_every=1000):
    """Write `n` records to `path`, cycling through every group and configuration in turn (the
    way a sweep interleaves them); every `failed_every`-th record is a failed run."""
    rng = random.Random(seed)
    cells = [(g, c) for g in GROUPS for c in CONFIGS]
    with open(path, "w") as f:
        for i in range(n):
            (app, ds, t_seq, serial), cfg = cells[i % len(cells)]
            failed = failed_every and i % failed_every == failed_every - 1
            f.write(json.dumps(record(rng, i, app, ds, t_seq, serial, cfg, failed), sort_keys=True,
                               separators=(",", ":")))
            f.write("\n")
    return len(cells)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--failed-every", type=int, default=1000, help="every K-th record a failed run (0: none)")
    args = ap.parse_args()
    write(args.n, args.out, args.seed, args.failed_every)


if __name__ == "__main__":
    main()
