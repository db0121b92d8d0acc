"""Helpers for the end-to-end tests: running the executables, making HDF5
inputs, reading records."""
import json
import os
import subprocess
import tempfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("HPCB_BIN", os.path.join(ROOT, "build", "release", "bin"))
MPIEXEC = os.environ.get("HPCB_MPIEXEC", "mpiexec.hydra")
DATA = os.path.join(ROOT, "datasets")
# The simulated backend (jobs/smpi.mk), run through jobs/smpi-run on SMPI_PLATFORM.
SMPI_BIN = os.environ.get("HPCB_SMPI_BIN", os.path.join(ROOT, "build", "smpi", "bin"))
SMPI_RUN = os.path.join(ROOT, "jobs", "smpi-run")
SMPI_PLATFORM = "stokes"
# Upper bound for any single run: a hang fails the test instead of the CI job.
TIMEOUT_S = 300
# Set by make test-asan: the executables are the sanitizer build (several times slower), so
# sweeps over worker counts take a representative few; every code path still runs.
SANITIZED = os.environ.get("HPCB_SANITIZED") == "1"
# The course-sized runs (MNIST k-means to 100 iterations, the regression to 10,000 epochs)
# repeat the same code path every iteration: the sanitized build runs fewer of them (CI's time,
# issue 16), the release build the full count.
MNIST_ITERS = 25 if SANITIZED else 100
COURSE_EPOCHS = 2000 if SANITIZED else 10000


def command(app, backend, workers, args, bin_dir=None):
    """The argv for running <app>_<backend> on `workers` workers ((ranks, threads) for hybrid)."""
    exe = os.path.join(bin_dir or BIN, f"{app}_{backend}")
    if backend == "hybrid":
        ranks, threads = workers
        return [MPIEXEC, "-n", str(ranks), exe, "--threads", str(threads)] + list(args)
    if backend == "mpi":
        return [MPIEXEC, "-n", str(workers), exe] + list(args)
    if backend == "smpi":
        return [SMPI_RUN, SMPI_PLATFORM, str(workers), os.path.join(bin_dir or SMPI_BIN, f"{app}_smpi")] + list(args)
    if backend == "omp":
        return [exe, "--threads", str(workers)] + list(args)
    return [exe] + list(args)


def run(app, backend, workers, args, timeout=TIMEOUT_S, prefix=(), bin_dir=None, cwd=ROOT):
    """Runs one executable (after `prefix`, e.g. setpriv; from `bin_dir` instead of the build
    folder when given); returns the CompletedProcess (text output)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    # More threads than cores: spinning at barriers would starve the thread
    # that is still working, so oversubscribed runs wait passively.
    total = workers[0] * workers[1] if backend == "hybrid" else workers
    if backend in ("omp", "hybrid") and total > (os.cpu_count() or 1):
        env["OMP_WAIT_POLICY"] = "passive"
    records = records_path(args, cwd)
    before = count_lines(records)
    proc = subprocess.run(list(prefix) + command(app, backend, workers, args, bin_dir), capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=cwd)
    # What this run appended: read_records(...)[-1] would hand a run that appended nothing
    # the previous run's record.
    proc.new_records = read_records(records)[before:] if records and os.path.isfile(records) else []
    return proc


def records_path(args, cwd):
    """The records file a command line appends to (None for --record none or "", and when the
    command names none: the tests always name theirs)."""
    args = list(args)
    if "--record" not in args:
        return None
    path = args[args.index("--record") + 1]
    return None if path in ("", "none") else os.path.join(cwd, path)


def count_lines(path):
    # Only a regular file is read: tests hand the executables FIFOs and devices as --record.
    return len(read_records(path)) if path and os.path.isfile(path) else 0


def appended_record(proc):
    """The one record the run `proc` (from run()) appended; fails unless it appended exactly one."""
    if len(proc.new_records) != 1:
        raise AssertionError(f"the run appended {len(proc.new_records)} records, expected 1 "
                             f"(exit {proc.returncode}): {proc.stderr[-500:]}")
    return proc.new_records[0]


def read_records(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class TempDir:
    """A temporary folder as a context manager, with a records path in it."""

    def __enter__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="hpcb-e2e-")
        self.path = self._tmp.name
        self.records = os.path.join(self.path, "runs.jsonl")
        return self

    def file(self, name):
        return os.path.join(self.path, name)

    def __exit__(self, *exc):
        self._tmp.cleanup()


def write_points(path, X, labels=None, scale=None):
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("X", data=X)
        if scale is not None:
            ds.attrs["scale"] = scale
        if labels is not None:
            f.create_dataset("labels", data=np.asarray(labels, dtype=np.int32))


def write_xy(path, x, y):
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.asarray(x, dtype=np.float64))
        f.create_dataset("y", data=np.asarray(y, dtype=np.float64))
