#!/usr/bin/env python3
"""make compare: the toolkit beside the libraries people would otherwise use.

k-means: MNIST (the 10,000 test images, float32 in [0, 1]), k = 10, the first
10 images as the initial centroids, at most 100 Lloyd iterations, tol 0 (stop
only at a fixed point). The toolkit (kmeans_seq, and kmeans_omp and kmeans_mpi
on all cores; Lloyd, Hamerly and Elkan) against scikit-learn's KMeans (lloyd and elkan,
n_init=1, the same initial centroids, float32) and faiss (Clustering on a flat
L2 index, the same initial centroids, no subsampling), when installed, at 1
thread and at all cores.

k-means at scale: float32 blobs (mkdata blobs, 10^6 x 64, 16 centres, seed 1,
made in a temporary directory), k = 16, the first 16 rows as the initial
centroids, 20 Lloyd iterations, tol 0: toolkit Lloyd (seq, omp on all cores)
against scikit-learn's Lloyd, with one streaming pass over the same rows (numpy
column sums, one thread) timed in the same run as the memory bound
(--scale-rows 0 skips this part).

Regression: the course's full-batch gradient descent on regression20k (20,000
points, 10,000 epochs, lr 1e-4), numpy against nlreg_seq, nlreg_omp and
nlreg_mpi on all cores.

Every measurement is repeated (--reps, default 5) and the median is shown. The
k-means forms (toolkit and libraries) and the regression forms run interleaved:
one run of each form per round, so that a drift in the machine's speed falls on
all alike, and the toolkit's speedup on all cores and scikit-learn's time over
the toolkit's are also given as medians of the rounds' paired ratios. Each
round also runs as many copies of each 1-worker toolkit form at once as there
are cores, one bound to each: the machine's ceiling for the all-core speedup
(report/peers.py: ceiling_ratio()), printed beside it, so that a shortfall can
be told apart from a machine that does not give n independent runs n times the
throughput of one (a shared VM often does not).
Times per iteration: the toolkit's record (time_s.per_iter: the iterations,
without start-up and input), the fit / train call divided by its iterations
for the libraries (after one untimed warm-up fit), the epoch loop for numpy.
Each library configuration runs in its own process with the thread count set
in the environment before anything is imported (OMP_NUM_THREADS and friends,
and threadpoolctl where it is there), so one setting cannot leak into another.
The libraries run on the best OpenBLAS kernels for the CPU: when OpenBLAS falls
back to a generic core type on a CPU with AVX2 or AVX-512 (and OPENBLAS_CORETYPE
is unset), every timed command gets OPENBLAS_CORETYPE=SkylakeX / Haswell in its
own environment (tools/blas_coretype.py); each row names the core type its
process actually ran with.
Quality is recomputed here the same way for everyone: inertia in float64 on
the [0, 1] data from the final labels and centroids, and the accuracy of the
best one-to-one map of clusters to digits (Hungarian).

The toolkit's runs are appended to --record with the tag "compare"; the peer
results and the medians to --out (results/compare.json). `make report` shows
compare.json as its "Comparison with peers" section and keeps the records tagged
"compare" out of its scaling groups (the regression runs here have the sweep's
very data and parameters, but other thread counts and a busier machine).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The sibling module, also when this file is loaded from elsewhere (the record-lock test).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blas_coretype  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from jobs import records_file  # noqa: E402  (the one appender of the Python parts)
MNIST = os.path.join(ROOT, "datasets", "mnist10k.h5")
REGR = os.path.join(ROOT, "datasets", "regression20k.h5")
K, ITERS, EPOCHS, LR = 10, 100, 10000, 1e-4
# The scale case: blobs of SCALE_D float32 features around SCALE_K centres.
SCALE_D, SCALE_K, SCALE_ITERS, SCALE_SEED = 64, 16, 20, 1
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


# ---- quality, the same for everyone ----------------------------------------------

def mnist():
    import h5py
    import numpy as np
    with h5py.File(MNIST, "r") as f:
        raw, truth = f["X"][...], f["labels"][...]
    return (raw.astype(np.float32) / np.float32(255)), truth


def blobs(path):
    """The scale case's /X (float32, scale 1) and /labels (the generating centres)."""
    import h5py
    with h5py.File(path, "r") as f:
        return f["X"][...], f["labels"][...]


def quality(X, truth, labels, centroids):
    """(inertia in float64, Hungarian accuracy) of a clustering."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment
    C64 = np.asarray(centroids, dtype=np.float64)
    inertia = 0.0
    for lo in range(0, len(X), 100000):  # in slices: a float64 copy of 10^6 x 64 rows is 512 MB
        inertia += float(np.sum((X[lo:lo + 100000].astype(np.float64) - C64[labels[lo:lo + 100000]]) ** 2))
    table = np.zeros((len(C64), int(truth.max()) + 1), dtype=np.int64)
    np.add.at(table, (labels, truth), 1)
    rows, cols = linear_sum_assignment(-table)
    return inertia, float(table[rows, cols].sum() / len(labels))


# ---- peers: each runs in a child process (see run_peer) ------------------------------

def peer_sklearn(algorithm, threads, reps, data=None):
    """scikit-learn's KMeans on MNIST (k = K, ITERS iterations), or with data on that blobs
    file (k = SCALE_K, SCALE_ITERS iterations)."""
    from sklearn.cluster import KMeans
    X, truth = blobs(data) if data else mnist()
    k, iters = (SCALE_K, SCALE_ITERS) if data else (K, ITERS)
    init = X[:k].copy()
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(limits=threads)
    except ImportError:
        limit = None

    def fit():
        km = KMeans(n_clusters=k, init=init, n_init=1, max_iter=iters, tol=0.0, algorithm=algorithm)
        start = time.perf_counter()
        km.fit(X)
        return time.perf_counter() - start, km

    fit()  # warm-up: imports, thread pools, page faults
    times, km = [], None
    for _ in range(reps):
        t, km = fit()
        times.append(t / km.n_iter_)
    inertia, acc = quality(X, truth, km.labels_, km.cluster_centers_)
    del limit
    return {"per_iter_s": times, "iterations": int(km.n_iter_), "inertia": inertia, "accuracy": acc,
            "blas_core": blas_label()}


def peer_faiss(threads, reps):
    import faiss
    import numpy as np
    faiss.omp_set_num_threads(threads)
    X, truth = mnist()
    init = X[:K].copy()

    def train():
        # All points (no subsampling) and exactly ITERS iterations (faiss has no early stop).
        km = faiss.Kmeans(X.shape[1], K, niter=ITERS, max_points_per_centroid=len(X), min_points_per_centroid=1)
        start = time.perf_counter()
        km.train(X, init_centroids=init)
        return time.perf_counter() - start, km

    train()
    times, km = [], None
    for _ in range(reps):
        t, km = train()
        times.append(t / ITERS)
    _, labels = km.index.search(X, 1)
    inertia, acc = quality(X, truth, labels[:, 0].astype(np.int64), km.centroids)
    return {"per_iter_s": times, "iterations": ITERS, "inertia": inertia, "accuracy": acc,
            "blas_core": blas_label()}


def peer_numpy_gd(reps):
    """The course's program, vectorised with numpy."""
    import h5py
    import numpy as np
    with h5py.File(REGR, "r") as f:
        x, y = f["x"][...], f["y"][...]
    n = float(len(x))
    x2 = x * x

    def gd():
        a = b = c = 0.0
        start = time.perf_counter()
        for _ in range(EPOCHS):
            r = y - (a * x2 + b * x + c)
            da, db, dc = -2 / n * np.dot(x2, r), -2 / n * np.dot(x, r), -2 / n * r.sum()
            a, b, c = a - LR * da, b - LR * db, c - LR * dc
        return time.perf_counter() - start, (a, b, c)

    gd()
    times, params = [], None
    for _ in range(reps):
        t, params = gd()
        times.append(t / EPOCHS)
    a, b, c = params
    mse = float(np.mean((y - (a * x2 + b * x + c)) ** 2))
    return {"per_iter_s": times, "iterations": EPOCHS, "params": [a, b, c], "mse": mse, "blas_core": blas_label()}


def peer_stream_pass(reps, data):
    """One pass over the blobs rows: numpy column sums in float32 (one thread), per pass."""
    import numpy as np
    X, _ = blobs(data)
    X.sum(axis=0, dtype=np.float32)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        X.sum(axis=0, dtype=np.float32)
        times.append(time.perf_counter() - start)
    return {"per_pass_s": times, "bytes": int(X.nbytes)}


def blas_label():
    """The OpenBLAS core type(s) this process runs with, "+"-joined, or "none" (no OpenBLAS)."""
    return "+".join(blas_coretype.python_cores()) or "none"


def probe_blas():
    """The OpenBLAS core types a peer process gets: the libraries imported as the peers import them."""
    import numpy  # noqa: F401
    for module in ("scipy.linalg", "sklearn.cluster", "faiss"):
        if available(module.split(".")[0]):
            __import__(module)
    return {"cores": blas_coretype.python_cores()}


PEERS = {
    "sklearn-lloyd": lambda t, r, data: peer_sklearn("lloyd", t, r, data),
    "sklearn-elkan": lambda t, r, data: peer_sklearn("elkan", t, r, data),
    "faiss": lambda t, r, data: peer_faiss(t, r),
    "numpy-gd": lambda t, r, data: peer_numpy_gd(r),
    "stream-pass": lambda t, r, data: peer_stream_pass(r, data),
    "blas-probe": lambda t, r, data: probe_blas(),
}


def run_peer(name, threads, reps, blas_env=None, data=None):
    """Runs one peer in a child process with its thread count fixed in the
    environment (and blas_env, e.g. {"OPENBLAS_CORETYPE": "SkylakeX"}), on data (the
    scale case's blobs file) or its own data set; returns its result, or None (with the
    reason) if it cannot run."""
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS}, **(blas_env or {}))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--peer", name, "--threads", str(threads),
                           "--reps", str(reps)] + (["--peer-data", data] if data else []),
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return None, last
    return json.loads(proc.stdout), None


def available(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


# ---- the toolkit ------------------------------------------------------------------

def append_records(path, lines):
    """Appends record lines as the executables do (jobs/records_file.py: one write under a POSIX
    lock, or one spool file per record where the file system has no locks)."""
    if not path or path == "none" or not lines:
        return
    records_file.append_lines(path, lines)


def toolkit_env(args):
    """The environment of every toolkit run: one OpenBLAS thread, the peers' OpenBLAS setting."""
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", **args.blas_env)


def run_toolkit(args, argv, reps):
    """Runs one executable reps times (with the peers' OpenBLAS setting, args.blas_env: the
    kernels make no BLAS call, but the records then name the same core type); returns
    (records, record lines)."""
    env = toolkit_env(args)
    recs, lines = [], []
    with tempfile.TemporaryDirectory(prefix="hpcb-compare-") as tmp:
        path = os.path.join(tmp, "runs.jsonl")
        for _ in range(reps):
            proc = subprocess.run(argv + ["--record", path, "--tag", "compare", "--quiet"], capture_output=True,
                                  text=True, env=env, cwd=ROOT)
            if proc.returncode != 0:
                raise SystemExit(f"compare: {' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
        with open(path) as f:
            lines = [line for line in f if line.strip()]
        recs = [json.loads(line) for line in lines]
    return recs, lines


def run_at_once(args, argv, cpus):
    """Runs argv once per CPU of cpus, all at the same time, copy i bound to cpus[i] (its record
    in a temporary file, not kept: these runs measure the machine, not the toolkit); returns
    each copy's time per iteration (time_s.per_iter)."""
    env = toolkit_env(args)
    times = []
    with tempfile.TemporaryDirectory(prefix="hpcb-compare-") as tmp:
        copies = []
        for i, cpu in enumerate(cpus):
            path = os.path.join(tmp, f"copy{i}.jsonl")
            copies.append((path, subprocess.Popen(argv + ["--record", path, "--quiet"], stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                                                  preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu}))))
        failed = []
        for path, proc in copies:
            _, err = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()}")
            else:
                with open(path) as f:
                    times.append(json.loads(f.readline())["time_s"]["per_iter"])
        if failed:
            raise SystemExit(f"compare: {failed[0]}")
    return times


def ceiling_cpus(cores):
    """The CPUs the ceiling's copies run on, one each: the first `cores` this process may use, or
    None where there are fewer (or one: no ceiling to measure)."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[:cores] if cores > 1 and len(cpus) >= cores else None


def launch(args, app, backend, workers, app_args):
    """The argv of <app>_<backend> on `workers` workers. Threads are bound to cores, as in
    make local (unbound, both threads may start on one core); MPI ranks are not bound."""
    argv = [os.path.join(args.bin, f"{app}_{backend}")] + app_args
    if backend == "omp":
        return ["env", "OMP_PROC_BIND=close", "OMP_PLACES=cores"] + argv + ["--threads", str(workers)]
    if backend == "mpi":
        return [args.mpiexec, "-n", str(workers)] + argv
    return argv


def kmeans_argv(args, backend, workers, algorithm, init, data=MNIST, k=K, iters=ITERS):
    return launch(args, "kmeans", backend, workers,
                  ["--data", data, "--k", str(k), "--iters", str(iters), "--tol", "0", "--init", init,
                   "--algorithm", algorithm])


def interleaved(tasks, reps):
    """Runs every task once per round, for reps rounds, so that a drift in the machine's speed
    (this VM's drifts by up to 2x) falls on every form alike and round r's times can be paired;
    returns each task's results, in round order."""
    results = [[] for _ in tasks]
    for _ in range(reps):
        for i, task in enumerate(tasks):
            results[i].append(task())
    return results


def toolkit_task(args, argv):
    """One run of a toolkit form: (records, record lines)."""
    return lambda: run_toolkit(args, argv, 1)


def toolkit_row(fields, runs, out, record_lines, X, truth, k):
    """A toolkit form's compare.json row from its runs (toolkit_task()) and the output file of
    the last one, with the last record's inertia, accuracy and distance count."""
    import h5py
    recs = [rec for run_recs, _ in runs for rec in run_recs]
    for _, lines in runs:
        record_lines += lines
    with h5py.File(out, "r") as f:
        inertia, acc = quality(X, truth, f["labels"][...], f["centroids"][...])
    r = recs[-1]["result"]
    return dict(fields, per_iter_s=[rec["time_s"]["per_iter"] for rec in recs], iterations=r["iterations"],
                inertia=inertia, accuracy=acc, labels_sha256=r["labels_sha256"],
                blas_core=recs[-1].get("prov", {}).get("blas_core"), record_inertia=r["inertia"],
                record_accuracy=r["accuracy"],
                distance_fraction=r["distance_evals"] / (X.shape[0] * k * (r["iterations"] + 1)))


def peer_task(args, name, threads, data=None):
    """One run of a peer (its own process, one timed fit after a warm-up): (result, why not)."""
    return lambda: run_peer(name, threads, 1, args.blas_env, data)


def peer_row(fields, runs):
    """A peer's row from its runs (peer_task()), or (None, why) where one failed."""
    for result, why in runs:
        if result is None:
            return None, why
    return dict(runs[-1][0], per_iter_s=[t for result, _ in runs for t in result["per_iter_s"]], **fields), None


def nlreg_argv(args, backend, workers):
    return launch(args, "nlreg", backend, workers, ["--data", REGR, "--epochs", str(EPOCHS), "--lr", str(LR)])


ALGORITHMS = ("lloyd", "hamerly", "elkan")
# The k-means peers: (the --peer name, the row's label, the module it needs).
KMEANS_PEERS = (("sklearn-lloyd", "sklearn lloyd", "sklearn"), ("sklearn-elkan", "sklearn elkan", "sklearn"),
                ("faiss", "faiss lloyd", "faiss"))


def kmeans_section(args, cores, thread_counts, reps, record_lines, skipped, X, truth, init, tmp, k, peers,
                   data=None, ceiling=None, ranks=False, **options):
    """The toolkit's three algorithms (seq, omp on all cores, and with `ranks` mpi on as many
    ranks) and the peers ((name, label) each, at every thread count), run interleaved round by
    round from one init file (data, options: kmeans_argv()'s data and iters; data also goes to
    the peers). With a `ceiling` dict, also the machine's ceiling for all cores: per algorithm,
    `cores` copies of the seq form at once (run_at_once()), their times per round into
    ceiling["per_iter_s"][algorithm]. Returns the rows, the toolkit's first; a peer that failed
    is left out and named in `skipped`."""
    forms, tasks = [], []
    for backend, workers in [("seq", 1), ("omp", cores)] + ([("mpi", cores)] if ranks and cores > 1 else []):
        for algorithm in ALGORITHMS:
            out = os.path.join(tmp, f"out-{backend}-{algorithm}.h5")
            argv = kmeans_argv(args, backend, workers, algorithm, init, data=data or MNIST, k=k,
                               **options) + ["--out", out]
            forms.append(("toolkit", dict(impl=f"toolkit {algorithm}", backend=backend, threads=workers), out))
            tasks.append(toolkit_task(args, argv))
    cpus = ceiling_cpus(cores) if ceiling is not None else None
    if cpus:
        ceiling.update(copies=len(cpus), per_iter_s={})
        for algorithm in ALGORITHMS:
            argv = kmeans_argv(args, "seq", 1, algorithm, init, data=data or MNIST, k=k, **options)
            forms.append(("ceiling", dict(algorithm=algorithm), None))
            tasks.append(lambda argv=argv: run_at_once(args, argv, cpus))
    for name, label in peers:
        for threads in thread_counts:
            forms.append(("peer", dict(impl=label, threads=threads), None))
            tasks.append(peer_task(args, name, threads, data))
    rows = []
    for (kind, fields, out), runs in zip(forms, interleaved(tasks, reps)):
        if kind == "toolkit":
            rows.append(toolkit_row(fields, runs, out, record_lines, X, truth, k))
            continue
        if kind == "ceiling":
            ceiling["per_iter_s"][fields["algorithm"]] = runs
            continue
        row, why = peer_row(fields, runs)
        if row is None:
            skipped.append(f"{fields['impl']} x{fields['threads']}{' at scale' if data else ''}: {why}")
        else:
            rows.append(row)
    return rows


def paired_ratios(rows, ceiling=None):
    """The interleaved MNIST rows' paired ratios: report/peers.py's paired_ratios(), which the
    report computes again from compare.json's rows and ceiling."""
    from report import peers  # (numpy; only the parent process needs it)
    return peers.paired_ratios(rows, ceiling)


def print_paired(paired, cores):
    from report import peers
    sentence = peers.paired_sentence(paired, cores)
    if sentence:
        print(sentence)


def toolkit_kmeans(args, cores, thread_counts, reps, record_lines, skipped, ceiling):
    """MNIST: the toolkit's forms (also on MPI ranks), the machine's ceiling for them (into
    `ceiling`) and the peers that are installed, interleaved."""
    import h5py
    import numpy as np
    X, truth = mnist()
    peers = []
    for name, label, module in KMEANS_PEERS:
        if available(module):
            peers.append((name, label))
        else:
            skipped.append(f"{label}: {module} is not installed")
    with tempfile.TemporaryDirectory(prefix="hpcb-compare-") as tmp:
        init = os.path.join(tmp, "init.h5")
        with h5py.File(MNIST, "r") as f:
            first = f["X"][:K].astype(np.float64) / 255.0  # scaled units, as /X's scale attribute
        with h5py.File(init, "w") as f:
            f["centroids"] = first
        return kmeans_section(args, cores, thread_counts, reps, record_lines, skipped, X, truth, init, tmp, K, peers,
                              ceiling=ceiling, ranks=True)


def toolkit_scale(args, cores, thread_counts, reps, record_lines, skipped, data, tmp):
    """The scale case's blobs: the toolkit's three algorithms and scikit-learn, interleaved."""
    import h5py
    import numpy as np
    X, truth = blobs(data)
    init = os.path.join(tmp, "init-scale.h5")
    with h5py.File(init, "w") as f:
        f["centroids"] = X[:SCALE_K].astype(np.float64)  # scale 1: rows are scaled units
    peers = [(name, label) for name, label, module in KMEANS_PEERS if module == "sklearn"]
    if not available("sklearn"):
        skipped.append("sklearn at scale: sklearn is not installed")
        peers = []
    return kmeans_section(args, cores, thread_counts, reps, record_lines, skipped, X, truth, init, tmp, SCALE_K, peers,
                          data=data, iters=SCALE_ITERS)


def make_blobs(args, rows, tmp):
    """The scale case's data set, made by the toolkit's own generator."""
    path = os.path.join(tmp, "blobs.h5")
    proc = subprocess.run([os.path.join(args.bin, "mkdata"), "blobs", "--n", str(rows), "--d", str(SCALE_D),
                           "--k", str(SCALE_K), "--seed", str(SCALE_SEED), "--dtype", "float32", "--out", path],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"compare: mkdata blobs failed ({proc.returncode}): {proc.stderr.strip()}")
    return path


def toolkit_nlreg(args, cores, reps, record_lines, ceiling):
    """nlreg_seq, nlreg_omp and nlreg_mpi on all cores, and the machine's ceiling for them
    (`cores` copies of nlreg_seq at once, their times per round into ceiling["per_iter_s"]),
    interleaved as the k-means forms are."""
    forms = [("seq", 1), ("omp", cores), ("mpi", cores)]
    tasks = [toolkit_task(args, nlreg_argv(args, backend, workers)) for backend, workers in forms]
    cpus = ceiling_cpus(cores)
    if cpus:
        tasks.append(lambda: run_at_once(args, nlreg_argv(args, "seq", 1), cpus))
    results = interleaved(tasks, reps)
    if cpus:
        ceiling.update(copies=len(cpus), per_iter_s=results.pop())
    rows = []
    for (backend, workers), runs in zip(forms, results):
        recs = [rec for run_recs, _ in runs for rec in run_recs]
        lines = [line for _, run_lines in runs for line in run_lines]
        record_lines += lines
        r = recs[-1]["result"]
        rows.append({"impl": f"nlreg_{backend}", "backend": backend, "threads": workers,
                     "per_iter_s": [rec["time_s"]["per_iter"] for rec in recs], "iterations": r["epochs"],
                     "params": [r["a"], r["b"], r["c"]], "mse": r["mse"],
                     "blas_core": recs[-1].get("prov", {}).get("blas_core")})
    return rows


# ---- the table --------------------------------------------------------------------

def median_ms(row):
    return 1e3 * statistics.median(row["per_iter_s"])


def print_clustering(rows, stream_s=None):
    """One k-means table: each library row's time over the toolkit's same algorithm at the same
    threads (faiss against Lloyd), each pruned toolkit row's over toolkit Lloyd's ('L'), and with
    stream_s a 1-thread row's iteration over one streaming pass."""
    print(f"{'implementation':<24}{'threads':>8}{'iters':>7}{'ms/iter':>10}{'vs toolkit':>12}"
          + (f"{'x stream':>10}" if stream_s else "")
          + f"{'inertia':>18}{'accuracy':>10}{'dist. computed':>16}  BLAS core")
    # A library against the toolkit's threads form (seq, omp), a toolkit row against its own backend's Lloyd.
    base = {(r["impl"].split()[1], r["threads"], r["backend"]): median_ms(r)
            for r in rows if r["impl"].startswith("toolkit")}
    for r in rows:
        ms = median_ms(r)
        family = "elkan" if "elkan" in r["impl"] else "hamerly" if "hamerly" in r["impl"] else "lloyd"
        backend = r.get("backend") or ("seq" if r["threads"] == 1 else "omp")
        ref = base.get((family, r["threads"], backend))
        ratio = f"{ms / ref:.2f}x" if ref and not r["impl"].startswith("toolkit") else "" if ref else "-"
        if r["impl"].startswith("toolkit") and family != "lloyd":
            ratio = f"{ms / base[('lloyd', r['threads'], backend)]:.2f}x L"
        bound = f"{ms / (1e3 * stream_s):.2f}" if stream_s and r["threads"] == 1 else ""
        frac = f"{100 * r['distance_fraction']:.1f}%" if "distance_fraction" in r else ""
        name = r["impl"] + (f" ({r['backend']})" if "backend" in r else "")
        print(f"{name:<24}{r['threads']:>8}{r['iterations']:>7}{ms:>10.3f}{ratio:>12}"
              + (f"{bound:>10}" if stream_s else "")
              + f"{r['inertia']:>18.2f}{r['accuracy']:>10.4f}{frac:>16}  {r.get('blas_core') or '-'}")
    print("vs toolkit: a library's time over the toolkit's (same algorithm, same threads (omp); faiss against Lloyd);"
          " 'L': a pruned toolkit algorithm's time over toolkit Lloyd's;"
          " BLAS core: the OpenBLAS kernel set the row's process loaded (the toolkit's kernels make no BLAS call)")


def print_kmeans(rows):
    print(f"\nk-means, MNIST (n=10000, d=784), k={K}, init: the first {K} images, at most {ITERS} iterations, tol 0;"
          f" median of {len(rows[0]['per_iter_s'])} runs")
    print_clustering(rows)


def print_scale(section):
    rows = section["rows"]
    print(f"\nk-means at scale, {section['dataset']}, k={SCALE_K}, init: the first {SCALE_K} rows, "
          f"{SCALE_ITERS} iterations, tol 0; median of {len(rows[0]['per_iter_s'])} runs")
    stream = section.get("stream_pass")
    print_clustering(rows, stream["median_s"] if stream else None)
    if stream:
        print(f"stream: one pass over the {stream['bytes'] / 1e6:.0f} MB of rows (numpy column sums, 1 thread) takes "
              f"{1e3 * stream['median_s']:.2f} ms (median); x stream: a 1-thread row's iteration over that pass")


def regression_paired(rows, ceiling=None):
    """The interleaved regression rows' paired speedups: report/peers.py's regression_paired()."""
    from report import peers
    return peers.regression_paired(rows, ceiling)


def print_regression_paired(paired, cores):
    from report import peers
    sentence = peers.regression_sentence(paired, cores)
    if sentence:
        print(sentence)


def print_nlreg(rows):
    print(f"\nregression, regression20k (20,000 points), {EPOCHS} epochs of gradient descent, lr {LR};"
          f" median of {len(rows[0]['per_iter_s'])} runs")
    print(f"{'implementation':<16}{'workers':>8}{'us/epoch':>10}{'s total':>9}{'vs toolkit':>12}"
          f"{'a':>14}{'b':>14}{'c':>14}{'MSE':>14}  BLAS core")
    base = {r["threads"]: median_ms(r) for r in rows if r["impl"].startswith("nlreg")}
    for r in rows:
        ms = median_ms(r)
        ratio = f"{ms / base[r['threads']]:.2f}x" if not r["impl"].startswith("nlreg") and r["threads"] in base else ""
        a, b, c = r["params"]
        print(f"{r['impl']:<16}{r['threads']:>8}{1e3 * ms:>10.2f}{ms * EPOCHS / 1e3:>9.3f}{ratio:>12}"
              f"{a:>14.8f}{b:>14.8f}{c:>14.8f}{r['mse']:>14.6f}  {r.get('blas_core') or '-'}")


# ---- main ---------------------------------------------------------------------------

def decide_blas():
    """The OpenBLAS setting for every timed command (tools/blas_coretype.py): what a peer process
    gets as things are, and OPENBLAS_CORETYPE to set when that is a generic fallback."""
    probe, why = run_peer("blas-probe", 1, 0)
    detected = (probe or {}).get("cores", [])
    user = os.environ.get("OPENBLAS_CORETYPE")
    flags = blas_coretype.cpu_flags()
    # One process may load several OpenBLAS builds: any generic one decides.
    decisions = [blas_coretype.choose(flags, core, user) for core in detected] or \
        [blas_coretype.choose(flags, None, user)]
    core, reason = next(((c, r) for c, r in decisions if c), decisions[0])
    if probe is None:
        reason += f" (probe failed: {why})"
    return {"detected": detected, "cpu_best": blas_coretype.best_core(flags), "openblas_coretype_env": user,
            "openblas_coretype_set": core, "reason": reason}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    parser.add_argument("--mpiexec", default="mpiexec.hydra")
    parser.add_argument("--record", default=os.path.join(ROOT, "results", "runs.jsonl"),
                        help="append the toolkit's run records here ('none': do not)")
    parser.add_argument("--out", default=os.path.join(ROOT, "results", "compare.json"))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="'all cores' (default: the machine's)")
    parser.add_argument("--scale-rows", type=int, default=1000000,
                        help="rows of the k-means scale case (float32 blobs, d = 64); 0 skips it")
    parser.add_argument("--peer", help=argparse.SUPPRESS)  # internal: one peer measurement, in a child
    parser.add_argument("--peer-data", help=argparse.SUPPRESS)  # internal: the scale case's file, for it
    args = parser.parse_args()

    if args.peer:
        print(json.dumps(PEERS[args.peer](args.threads, args.reps, args.peer_data)))
        return 0

    start = time.time()
    cores = args.threads or os.cpu_count() or 1
    load = os.getloadavg()[0]
    if load > 0.5:
        # Other work on the cores slows every timing below, the all-core ones
        # most (a worker waits at each synchronisation for one descheduled).
        print(f"compare: warning: the machine is busy (load average {load:.1f} on {os.cpu_count()} cores);"
              " timings will be noisy, the all-core ones unreliable", file=sys.stderr)
    thread_counts = sorted({1, cores})
    for path in (MNIST, REGR):
        if not os.path.exists(path):
            raise SystemExit(f"compare: {path} is missing (make datasets)")
    blas = decide_blas()
    print(f"compare: {blas['reason']}", file=sys.stderr)
    args.blas_env = {"OPENBLAS_CORETYPE": blas["openblas_coretype_set"]} if blas["openblas_coretype_set"] else {}
    record_lines, skipped, km_ceiling, nl_ceiling = [], [], {}, {}
    km_rows = toolkit_kmeans(args, cores, thread_counts, args.reps, record_lines, skipped, km_ceiling)
    nl_rows = toolkit_nlreg(args, cores, args.reps, record_lines, nl_ceiling)
    result, why = run_peer("numpy-gd", 1, args.reps, args.blas_env)
    if result:
        nl_rows.insert(0, dict(result, impl="numpy GD", threads=1))
    else:
        skipped.append(f"numpy GD: {why}")
    scale = None
    if args.scale_rows > 0:
        with tempfile.TemporaryDirectory(prefix="hpcb-compare-") as tmp:
            data = make_blobs(args, args.scale_rows, tmp)
            scale = {"dataset": f"blobs {args.scale_rows} x {SCALE_D} float32 (mkdata blobs, {SCALE_K} centres, "
                                f"seed {SCALE_SEED})", "k": SCALE_K, "max_iter": SCALE_ITERS, "tol": 0,
                     "init": f"first {SCALE_K} rows", "interleaved": True,
                     "rows": toolkit_scale(args, cores, thread_counts, args.reps, record_lines, skipped, data, tmp)}
            result, why = run_peer("stream-pass", 1, args.reps, args.blas_env, data)
            if result:
                scale["stream_pass"] = dict(result, impl="numpy column sums", threads=1,
                                            median_s=statistics.median(result["per_pass_s"]))
            else:
                skipped.append(f"streaming pass: {why}")

    paired = paired_ratios(km_rows, km_ceiling)
    nl_paired = regression_paired(nl_rows, nl_ceiling)
    print_kmeans(km_rows)
    print_paired(paired, cores)
    if scale:
        print_scale(scale)
    print_nlreg(nl_rows)
    print_regression_paired(nl_paired, cores)
    for s in skipped:
        print(f"skipped: {s}")
    append_records(args.record, record_lines)
    summary = {"schema": "compare/1", "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cores": cores,
               "load_average_at_start": load, "blas": blas,
               "reps": args.reps, "kmeans": {"dataset": "mnist10k", "k": K, "max_iter": ITERS, "tol": 0,
                                              "init": "first 10 images", "interleaved": True, "rows": km_rows,
                                              "ceiling": km_ceiling, "paired": paired},
               "regression": {"dataset": "regression20k", "epochs": EPOCHS, "lr": LR, "interleaved": True,
                              "rows": nl_rows, "ceiling": nl_ceiling, "paired": nl_paired},
               "skipped": skipped}
    if scale:
        summary["kmeans_scale"] = scale
    for group in (summary["kmeans"]["rows"], summary["regression"]["rows"], (scale or {}).get("rows", [])):
        for r in group:
            r["median_per_iter_s"] = statistics.median(r["per_iter_s"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"\n{len(record_lines)} toolkit records appended to {args.record} (tag compare); "
          f"results in {os.path.relpath(args.out, ROOT)} (make report shows them); {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
