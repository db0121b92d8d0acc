"""Write the committed test fixtures under report/tests/fixtures (deterministic: fixed seed).

    /usr/bin/python3 report/tests/make_fixtures.py

The numbers imitate `make local` on a 4-core cloud VM: k-means on the 10,000 MNIST test
images (7 repetitions per configuration, so confidence intervals exist) and the course's
regression on 20,000 points (5 repetitions, so they do not, and the report must fall back to
a rank test). The 4-rank MPI regression run failed, which makes it a missing cell. The tests
hard-code some of these values; regenerating with other numbers makes them fail on purpose.

The inputs of the cost-model and peer sections have round numbers instead: kernels.json (the
kernel microbenchmarks), alpha_beta.json, compare.json and compare-runs.jsonl (the toolkit's
records of `make compare`, tag "compare").
"""

import hashlib
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")

PROV = {"git": "3f9c2a71d0be", "dirty": False, "compiler": "g++ 12.2.0",
        "flags": "-std=c++20 -O3 -march=native -DNDEBUG -fopenmp",
        "mpi": "MPICH Version: 4.0.2 MPICH Release date: Thu Apr 7 12:34:45 CDT 2022",
        "hdf5": "1.10.8", "blas": "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64",
        "cpu": "AMD EPYC 7B13 64-Core Processor", "cores": 4, "slurm_job_id": None}


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


MNIST = {"path": "datasets/mnist10k.h5", "n": 10000, "d": 784, "dtype": "uint8", "sha256": sha("mnist10k")}
REGR = {"path": "datasets/regression20k.h5", "n": 20000, "d": 1, "dtype": "float64", "sha256": sha("regression20k")}
KM_PARAMS = {"k": 10, "iters": 100, "tol": 0.0, "seed": 42, "init": "random", "mstep": "reduce"}
NL_PARAMS = {"epochs": 10000, "lr": 0.0001, "a0": 0, "b0": 0, "c0": 0}

# Median phase times in seconds per (backend, workers): io, init, compute, comm.
KM_PHASES = {("seq", 1): (0.0210, 0.0020, 0.4250, 0.0),
             ("omp", 1): (0.0211, 0.0021, 0.4310, 0.0002),
             ("omp", 2): (0.0209, 0.0021, 0.2210, 0.0030),
             ("omp", 4): (0.0212, 0.0022, 0.1180, 0.0061),
             ("mpi", 1): (0.0220, 0.0020, 0.4330, 0.0010),
             ("mpi", 2): (0.0140, 0.0021, 0.2190, 0.0090),
             ("mpi", 4): (0.0110, 0.0022, 0.1120, 0.0210)}
NL_PHASES = {("seq", 1): (0.0040, 0.0001, 0.3980, 0.0),
             ("omp", 1): (0.0041, 0.0001, 0.4010, 0.0020),
             ("omp", 2): (0.0040, 0.0001, 0.2040, 0.0110),
             ("omp", 4): (0.0041, 0.0001, 0.1180, 0.0310),
             ("mpi", 1): (0.0042, 0.0001, 0.4050, 0.0040),
             ("mpi", 2): (0.0031, 0.0001, 0.2070, 0.0180)}


def times(rng, phases, iters, slow=1.0):
    io, init, compute, comm = (round(v * rng.lognormvariate(0, 0.02) * slow, 4) for v in phases)
    total = round(io + init + compute + comm + 0.0008, 4)
    return {"total": total, "io": io, "init": init, "compute": compute, "comm": comm,
            "per_iter": round(compute / iters, 6)}


def config(backend, workers):
    ranks, threads = (workers, 1) if backend == "mpi" else (1, workers)
    return {"ranks": ranks, "threads": threads, "workers": workers, "nodes": 1, "hosts": ["vm"]}


def record(app, backend, workers, dataset, params, result, time_s, utc, status="ok", **extra):
    rec = {"schema": "run/1", "app": app, "backend": backend, **config(backend, workers),
           "dataset": dataset, "params": params}
    if result is not None:
        rec["result"] = result
    rec.update({"time_s": time_s, "status": status, "tag": "local",
                "prov": dict(PROV, utc=utc)})
    rec.update(extra)
    return rec


def kmeans_result():
    trace = [round(389424.1 + 2.1e5 * math.exp(-0.35 * i), 1) for i in range(37)]
    trace[-1] = 389424.1
    return {"iterations": 37, "converged": True, "inertia": 389424.1, "accuracy": 0.5439,
            "nmi": 0.4952, "labels_sha256": sha("labels"), "centroids_sha256": sha("centroids"),
            "inertia_trace": trace}


def nlreg_result():
    opt = 24.9127
    epochs = [2 ** i for i in range(14)] + [10000]
    # Fast early drop, then the slow c direction of plain gradient descent (lr = 1e-4).
    mse = [round(opt + 1.8e5 * math.exp(-1.3 * e) + 0.7353 * math.exp(-e / 4000), 4) for e in epochs]
    return {"epochs": 10000, "a": 10.4621, "b": 5.3117, "c": 2.2154, "mse": mse[-1],
            "a_opt": 10.4300, "b_opt": 5.6298, "c_opt": 2.8511, "mse_optimum": opt,
            "params_sha256": sha("abc"), "diverged": False,
            "loss_trace": {"epoch": epochs, "mse": mse}}


def runs_fixture():
    rng = random.Random(20261124)
    lines = []
    minute = 0

    def utc():
        nonlocal minute
        minute += 1
        return f"2026-11-24T15:{minute // 60:02d}:{minute % 60:02d}Z"

    for (backend, workers), phases in KM_PHASES.items():
        for rep in range(7):
            # One repetition of the 4-thread run met a noisy neighbour (20% slower).
            slow = 1.2 if (backend, workers, rep) == ("omp", 4, 3) else 1.0
            lines.append(record("kmeans", backend, workers, MNIST, KM_PARAMS, kmeans_result(),
                                times(rng, phases, 37, slow), utc()))
    for (backend, workers), phases in NL_PHASES.items():
        for rep in range(5):
            lines.append(record("nlreg", backend, workers, REGR, NL_PARAMS, nlreg_result(),
                                times(rng, phases, 10000), utc()))
    lines.append(record("nlreg", "mpi", 4, REGR, NL_PARAMS, None, {"total": None}, utc(),
                        status="failed", error="mpiexec.hydra: rank 3 killed by signal 9"))
    return lines


def malformed_fixture():
    base = runs_fixture()[:3]
    good = [json.dumps(r) for r in base]
    no_backend = dict(base[0])
    del no_backend["backend"]
    bad_workers = dict(base[1], workers=3)
    return [good[0],
            '{"schema": "run/1", "app": "kmeans", "backend": "seq", "ranks": 1,',
            good[1],
            "",
            json.dumps(no_backend),
            "[1, 2, 3]",
            json.dumps(bad_workers),
            good[2]]


def grouping_fixture():
    """Same app, two datasets and two params sets: three groups that must stay apart."""
    other = dict(MNIST, path="datasets/digits.h5", n=1797, d=64, sha256=sha("digits"))
    k5 = dict(KM_PARAMS, k=5)
    lines = []
    spec = [(MNIST, KM_PARAMS, {"seq": [1.0, 1.2, 1.1], "omp": [0.6, 0.5, 0.7]}),
            (other, KM_PARAMS, {"seq": [0.010, 0.012, 0.011], "omp": [0.020, 0.030, 0.025]}),
            (MNIST, k5, {"seq": [2.0, 2.4, 2.2], "omp": [1.0, 1.2, 1.1]})]
    for ds, params, per_form in spec:
        for backend, totals in per_form.items():
            for t in totals:
                workers = 1 if backend == "seq" else 2
                lines.append(record("kmeans", backend, workers, ds, params, kmeans_result(),
                                    {"total": t, "compute": t * 0.9, "comm": 0.0, "io": t * 0.05},
                                    "2026-11-24T16:00:00Z"))
    return lines


def bench_fixture():
    """A Google Benchmark 1.7-style JSON file: 3 repetitions of two benchmarks plus aggregates."""
    benches = []
    for fam, (name, base_ns) in enumerate((("BM_Assign/10000/784/10", 8.1e6), ("BM_TreeSum/1048576", 3.9e5))):
        reps = [base_ns * f for f in (1.00, 1.03, 0.99)]
        for i, t in enumerate(reps):
            benches.append({"name": name, "family_index": fam, "per_family_instance_index": 0,
                            "run_name": name, "run_type": "iteration", "repetitions": 3,
                            "repetition_index": i, "threads": 1, "iterations": 100,
                            "real_time": t, "cpu_time": t * 0.998, "time_unit": "ns",
                            "items_per_second": 1e4 / (t * 1e-9)})
        for agg in ("mean", "median", "stddev", "cv"):
            benches.append({"name": f"{name}_{agg}", "family_index": fam, "per_family_instance_index": 0,
                            "run_name": name, "run_type": "aggregate", "repetitions": 3,
                            "threads": 1, "aggregate_name": agg, "aggregate_unit": "time",
                            "iterations": 3, "real_time": base_ns, "cpu_time": base_ns, "time_unit": "ns"})
    return {"context": {"date": "2026-11-24T15:30:00+00:00", "host_name": "vm",
                        "executable": "build/release/bin/microbench", "num_cpus": 4,
                        "mhz_per_cpu": 2450, "cpu_scaling_enabled": False,
                        "library_build_type": "release", "load_avg": [0.3, 0.2, 0.1]},
            "benchmarks": benches}


# ---- inputs of the cost model and peer sections ---------------------------------------------
# Round numbers, no random noise: the tests recompute the model and the ratios from them by hand.

def kernels_fixture():
    """`make bench` output with the three kernels the cost model reads, 3 repetitions each, plus
    aggregates whose values are deliberately off (the model must use the repetitions' median)."""
    benches = []
    spec = (("BM_Assign<std::uint8_t>/10000/784/10", "ms", (0.90, 0.92, 0.89)),     # median 0.90 ms: 9e-8 s/row
            ("BM_Assign<float>/1000000/64/10", "ms", (20.0, 21.0, 19.5)),          # median 20 ms: 2e-8 s/row
            ("BM_ResidualSums/20000", "us", (2.5, 2.6, 2.4)))                      # median 2.5 us: 1.25e-10 s/row
    for fam, (name, unit, reps) in enumerate(spec):
        for i, t in enumerate(reps):
            benches.append({"name": name, "family_index": fam, "per_family_instance_index": 0, "run_name": name,
                            "run_type": "iteration", "repetitions": 3, "repetition_index": i, "threads": 1,
                            "iterations": 100, "real_time": t, "cpu_time": t, "time_unit": unit})
        benches.append({"name": f"{name}_median", "family_index": fam, "per_family_instance_index": 0,
                        "run_name": name, "run_type": "aggregate", "repetitions": 3, "threads": 1,
                        "aggregate_name": "median", "aggregate_unit": "time", "iterations": 3,
                        "real_time": 99.0, "cpu_time": 99.0, "time_unit": unit})
    return {"context": {"date": "2026-11-24T15:40:00+00:00", "host_name": "vm", "num_cpus": 4,
                        "executable": "build/release/bin/microbench", "library_build_type": "release"},
            "benchmarks": benches}


def alpha_beta_fixture():
    """bench/mpi/alpha_beta.cpp output (one line), abridged."""
    return {"ranks": 2, "pingpong": [{"bytes": 8, "s": 2e-07}, {"bytes": 2097152, "s": 0.000168}],
            "alpha_s": 2e-07, "beta_s_per_byte": 8e-11,
            "allreduce_int64": [{"count": 7850, "s": 1.1e-05}], "allgather_double": [{"per_rank": 4, "s": 3e-07}]}


INERTIA, ACCURACY = 389424.1031840959, 0.5439


def _peer(impl, threads, ms, backend=None, **extra):
    # Five repetitions around the median `ms`: median, two faster, two slower.
    row = {"impl": impl, "threads": threads, "per_iter_s": [ms * f / 1e3 for f in (1.0, 0.98, 1.03, 0.99, 1.05)],
           "iterations": extra.pop("iterations", 100)}
    if backend:
        row["backend"] = backend
    row.update(extra)
    row["median_per_iter_s"] = ms / 1e3
    return row


def compare_fixture():
    """tools/compare.py output (schema compare/1) on a 4-core machine; sklearn elkan on 4 threads
    failed, so it is listed as skipped."""
    km = dict(inertia=INERTIA, accuracy=ACCURACY)
    toolkit = [_peer(f"toolkit {alg}", t, ms, backend, distance_fraction=frac, **km)
               for backend, t in (("seq", 1), ("omp", 4))
               for alg, frac, ms in (("lloyd", 1.0, 0.86 if t == 1 else 0.25),
                                     ("hamerly", 0.2468, 0.47 if t == 1 else 0.15),
                                     ("elkan", 0.12, 0.44 if t == 1 else 0.14))]
    libs = [_peer("sklearn lloyd", 1, 6.2, **km), _peer("sklearn lloyd", 4, 1.0, **km),
            _peer("sklearn elkan", 1, 5.0, **km), _peer("faiss lloyd", 1, 2.15, **km),
            _peer("faiss lloyd", 4, 0.75, inertia=INERTIA * (1 + 2e-10), accuracy=ACCURACY)]
    fit = dict(params=[9.502181674800925, 11.861262607997412, 10.75668020578725], mse=440.9402181789447,
               iterations=10000)
    regression = [_peer("numpy GD", 1, 0.02475, **fit), _peer("nlreg_seq", 1, 0.00339, "seq", **fit),
                  _peer("nlreg_omp", 4, 0.0015, "omp", **fit), _peer("nlreg_mpi", 4, 0.0016, "mpi", **fit)]
    return {"schema": "compare/1", "utc": "2026-11-24T15:50:00Z", "cores": 4, "load_average_at_start": 0.1,
            "reps": 5,
            "kmeans": {"dataset": "mnist10k", "k": 10, "max_iter": 100, "tol": 0, "init": "first 10 images",
                       "rows": toolkit + libs},
            "regression": {"dataset": "regression20k", "epochs": 10000, "lr": 0.0001, "rows": regression},
            "skipped": ["sklearn elkan x4: RuntimeError: example failure"]}


def compare_runs_fixture():
    """The toolkit's run records of `make compare` (tag "compare"). The regression ones have the
    same data and params as runs.jsonl's regression group and much shorter times: if they leaked
    into the scaling groups, that group's medians would change."""
    params = dict(KM_PARAMS, init="/tmp/hpcb-compare-q1w2e3/init.h5", algorithm="lloyd", tol=0.0)
    lines = []
    for backend, workers, total in (("seq", 1, 0.0921), ("omp", 4, 0.0312)):
        for rep in range(3):
            t = {"total": total + rep * 1e-4, "io": 0.005, "init": 0.0002, "compute": total - 0.006,
                 "comm": 0.0, "per_iter": round((total - 0.006) / 100, 7)}
            lines.append(record("kmeans", backend, workers, MNIST, params, kmeans_result(), t,
                                "2026-11-24T15:45:00Z", **{"tag": "compare"}))
    for backend, workers, total in (("seq", 1, 0.0351), ("omp", 4, 0.0172), ("mpi", 4, 0.0181)):
        for rep in range(3):
            t = {"total": total + rep * 1e-4, "io": 0.0016, "init": 0.0, "compute": total - 0.0016,
                 "comm": 0.0, "per_iter": round((total - 0.0016) / 10000, 9)}
            lines.append(record("nlreg", backend, workers, REGR, NL_PARAMS, nlreg_result(), t,
                                "2026-11-24T15:46:00Z", **{"tag": "compare"}))
    return lines


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, lines in (("runs.jsonl", [json.dumps(r) for r in runs_fixture()]),
                        ("malformed.jsonl", malformed_fixture()),
                        ("grouping.jsonl", [json.dumps(r) for r in grouping_fixture()]),
                        ("compare-runs.jsonl", [json.dumps(r) for r in compare_runs_fixture()])):
        with open(os.path.join(OUT, name), "w") as f:
            f.write("\n".join(lines) + "\n")
    for name, obj in (("microbench.json", bench_fixture()), ("kernels.json", kernels_fixture()),
                      ("compare.json", compare_fixture())):
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    with open(os.path.join(OUT, "alpha_beta.json"), "w") as f:
        # One line, as alpha_beta prints it: the loader must not read it as one bad record.
        f.write(json.dumps(alpha_beta_fixture()) + "\n")


if __name__ == "__main__":
    main()
