"""Bad input: every case gets one clear error line naming the problem, exit
status 2 (usage) or 1 (data or runtime), no crash, no hang, no record
appended and no output file left behind, in all three backends (MPI with 2
ranks, so a hang in a collective would show)."""
import os
import shutil
import subprocess
import unittest

import h5py
import numpy as np

from tests.e2e.util import BIN, DATA, ROOT, TempDir, read_records, run, write_points, write_xy

BACKENDS = [("seq", 1), ("omp", 2), ("mpi", 2), ("hybrid", (2, 2))]
MNIST = os.path.join(DATA, "mnist10k.h5")
REGR = os.path.join(DATA, "regression20k.h5")


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def as_nobody_can(*argv):
    """True when the user nobody can run argv (e.g. reach a folder) with status 0."""
    return subprocess.run(list(NOBODY) + list(argv), capture_output=True).returncode == 0


class BadInput(unittest.TestCase):
    def expect_error(self, app, args, status, words, backends=BACKENDS, tmp=None, prefix=(), bin_dir=None):
        """Runs the case in every backend and checks the failure contract."""
        for backend, workers in backends:
            with self.subTest(app=app, backend=backend, args=args):
                with TempDir() as own:
                    where = tmp or own
                    out = own.file("out.h5")
                    if prefix:   # another user runs it: let it reach the output folder
                        os.chmod(own.path, 0o777)
                    proc = run(app, backend, workers, list(args) + ["--record", own.records, "--out", out],
                               timeout=120, prefix=prefix, bin_dir=bin_dir, cwd=own.path if prefix else ROOT)
                    self.assertEqual(proc.returncode, status, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
                    lines = [l for l in proc.stderr.splitlines() if l.strip()]
                    self.assertEqual(len(lines), 1, f"expected one error line, got {lines!r}")
                    self.assertTrue(lines[0].startswith(f"{app}_{backend}: "), lines[0])
                    for w in words:
                        self.assertIn(w.lower(), lines[0].lower())
                    self.assertEqual(read_records(own.records), [])
                    self.assertFalse(os.path.exists(out), "an output file was left behind")
                    self.assertEqual([f for f in os.listdir(own.path) if f.startswith(".tmp")], [])
                    del where

    # ---- files ----
    def test_missing_file(self):
        for app in ("kmeans", "nlreg"):
            self.expect_error(app, ["--data", "/nonexistent/data.h5"], 1, ["no such file"])

    def test_not_hdf5(self):
        with TempDir() as tmp:
            path = tmp.file("text.h5")
            with open(path, "w") as f:
                f.write("X,Y\n1,2\n")
            for app in ("kmeans", "nlreg"):
                self.expect_error(app, ["--data", path], 1, ["not an hdf5 file"])

    def test_unreadable_file(self):
        if os.geteuid() != 0:
            with TempDir() as tmp:
                path = tmp.file("secret.h5")
                write_xy(path, [1, 2, 3], [1, 2, 3])
                os.chmod(path, 0)
                for app in ("kmeans", "nlreg"):
                    self.expect_error(app, ["--data", path], 1, ["secret.h5", "permission denied"])
            return
        # Root reads files whatever their mode: run as nobody instead. The clone may sit where
        # nobody cannot enter (root's home, a mktemp -d folder), so the executables are copied
        # into a temporary folder nobody can reach, and the runs start there.
        if not shutil.which("setpriv"):
            self.skipTest("running as root without setpriv (util-linux) to drop to another user")
        with TempDir() as tmp:
            os.chmod(tmp.path, 0o755)
            if not as_nobody_can("test", "-x", tmp.path):
                self.skipTest(f"the user nobody cannot enter the temporary folder {tmp.path} (TMPDIR)")
            bin_dir = tmp.file("bin")
            os.mkdir(bin_dir)
            for app in ("kmeans", "nlreg"):
                for backend, _ in BACKENDS:
                    shutil.copy2(os.path.join(BIN, f"{app}_{backend}"), bin_dir)
            os.chmod(bin_dir, 0o755)
            path = tmp.file("secret.h5")
            write_xy(path, [1, 2, 3], [1, 2, 3])
            os.chmod(path, 0)
            for app in ("kmeans", "nlreg"):
                self.expect_error(app, ["--data", path], 1, ["secret.h5", "permission denied"],
                                  prefix=NOBODY, bin_dir=bin_dir)

    def test_missing_dataset(self):
        with TempDir() as tmp:
            self.expect_error("kmeans", ["--data", REGR], 1, ["/X", "missing"])
            self.expect_error("nlreg", ["--data", MNIST], 1, ["/x", "missing"])

    def test_wrong_rank(self):
        with TempDir() as tmp:
            path = tmp.file("rank.h5")
            write_points(path, np.zeros((4, 3, 2), dtype=np.float32))
            self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["rank 3", "expected 2"])
            path2 = tmp.file("xy2d.h5")
            with h5py.File(path2, "w") as f:
                f["x"] = np.zeros((5, 2))
                f["y"] = np.zeros(5)
            self.expect_error("nlreg", ["--data", path2], 1, ["/x", "rank 2"])

    def test_wrong_shape(self):
        with TempDir() as tmp:
            path = tmp.file("xy.h5")
            write_xy(path, np.arange(10.0), np.arange(9.0))
            self.expect_error("nlreg", ["--data", path], 1, ["differ in length"])
            path2 = tmp.file("labels.h5")
            write_points(path2, np.ones((6, 2), dtype=np.float32), labels=[0, 1, 0])
            self.expect_error("kmeans", ["--data", path2, "--k", "2"], 1, ["/labels", "3 entries"])

    def test_wrong_type(self):
        with TempDir() as tmp:
            path = tmp.file("strings.h5")
            with h5py.File(path, "w") as f:
                f["X"] = np.array([[b"a", b"b"], [b"c", b"d"]])
            self.expect_error("kmeans", ["--data", path, "--k", "1"], 1, ["unsupported type"])
            path2 = tmp.file("int64.h5")
            write_points(path2, np.ones((4, 2), dtype=np.int64))
            self.expect_error("kmeans", ["--data", path2, "--k", "1"], 1, ["/X", "uint8, float32 or float64"])

    def test_empty_dataset(self):
        with TempDir() as tmp:
            path = tmp.file("empty.h5")
            write_points(path, np.zeros((0, 4), dtype=np.float32))
            self.expect_error("kmeans", ["--data", path, "--k", "1"], 1, ["empty"])
            path2 = tmp.file("empty-xy.h5")
            write_xy(path2, [], [])
            self.expect_error("nlreg", ["--data", path2], 1, ["empty"])

    def test_nan_and_inf(self):
        with TempDir() as tmp:
            X = np.ones((600, 3), dtype=np.float32)
            X[555, 1] = np.nan  # in the second rank's slice
            path = tmp.file("nan.h5")
            write_points(path, X)
            self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["NaN", "row 555"])
            x = np.linspace(0, 1, 700)
            y = x.copy()
            y[650] = np.inf
            path2 = tmp.file("inf.h5")
            write_xy(path2, x, y)
            self.expect_error("nlreg", ["--data", path2], 1, ["infinite", "row 650"])

    def test_nan_in_a_later_slab(self):
        # 30,000 x 64 float32 rows (7.7 MB) are read in slabs of 2 MB by one process: the NaN is
        # in the last slab, and in the last MPI rank's rows.
        with TempDir() as tmp:
            X = np.ones((30000, 64), dtype=np.float32)
            X[29000, 63] = np.nan
            path = tmp.file("nan-late.h5")
            write_points(path, X)
            self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["NaN", "row 29000", "column 63"])

    def test_nan_and_inf_in_float64(self):
        # float64 data are checked by their own code path (check_finite<double>).
        with TempDir() as tmp:
            for bad, word in ((np.nan, "NaN"), (-np.inf, "infinite")):
                X = np.ones((600, 3), dtype=np.float64)
                X[521, 2] = bad  # in the second rank's slice
                path = tmp.file(f"f64-{word}.h5")
                write_points(path, X)
                self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, [word, "row 521", "column 2"])

    def test_values_whose_squares_overflow(self):
        # Finite values too large for the E-step's arithmetic (a fuzzed float64 file with values
        # of 1e289 ran to an infinite inertia and failed validation, exit 3): refused up front,
        # in the rank that holds them. Values well inside the limit still run.
        with TempDir() as tmp:
            X = np.ones((600, 3), dtype=np.float64)
            X[521, 2] = -1e200  # in the second rank's slice
            path = tmp.file("f64-huge.h5")
            write_points(path, X)
            self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["values up to 1e+200", "overflow float64"])
            X32 = np.ones((600, 3), dtype=np.float32)
            X32[521, 0] = 1e30
            path = tmp.file("f32-huge.h5")
            write_points(path, X32)
            self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["values up to 1e+30", "overflow float32"])
            path = tmp.file("u8-huge-scale.h5")
            write_points(path, np.arange(40, dtype=np.uint8).reshape(20, 2), scale=1e300)
            self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["times its scale", "overflow float32"])
            for X, name in ((np.random.default_rng(1).normal(size=(600, 3)) * 1e100, "f64-large.h5"),
                            ((np.random.default_rng(1).normal(size=(600, 3)) * 1e15).astype(np.float32), "f32-large.h5")):
                path = tmp.file(name)
                write_points(path, X)
                proc = run("kmeans", "seq", 1, ["--data", path, "--k", "2", "--record", "none", "--quiet"])
                self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_scale_not_positive(self):
        with TempDir() as tmp:
            X = np.arange(40, dtype=np.uint8).reshape(20, 2)
            for scale in (0.0, -1 / 255, np.nan, np.inf):
                path = tmp.file(f"scale-{scale}.h5")
                write_points(path, X, scale=scale)
                self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["scale", "/X", "positive"])

    def test_labels_not_integer_or_out_of_range(self):
        with TempDir() as tmp:
            X = np.random.default_rng(2).normal(size=(600, 2)).astype(np.float32)
            floats = tmp.file("float-labels.h5")
            with h5py.File(floats, "w") as f:
                f["X"] = X
                f["labels"] = np.zeros(600, dtype=np.float64)
            self.expect_error("kmeans", ["--data", floats, "--k", "2"], 1, ["/labels", "integers"])
            # Out of range, in the second rank's slice: a negative class, one past the
            # limit of 2^16 classes, and an int64 beyond int32 (read as int32 it must not wrap
            # into range).
            for value, dtype in ((-1, np.int32), (1 << 16, np.int32), (1 << 40, np.int64)):
                labels = np.zeros(600, dtype=dtype)
                labels[444] = value
                path = tmp.file(f"labels-{value}.h5")
                with h5py.File(path, "w") as f:
                    f["X"] = X
                    f["labels"] = labels
                self.expect_error("kmeans", ["--data", path, "--k", "2"], 1, ["/labels", "row 444"])

    def test_oversized_header(self):
        # A header claiming 10^12 rows (HDF5 allocates no storage for it) must
        # give an error before any allocation, not an out-of-memory kill.
        with TempDir() as tmp:
            path = tmp.file("huge.h5")
            with h5py.File(path, "w") as f:
                f.create_dataset("X", shape=(10**12, 784), dtype="u1")
                f.create_dataset("x", shape=(10**13,), dtype="f8")
                f.create_dataset("y", shape=(10**13,), dtype="f8")
            self.expect_error("kmeans", ["--data", path], 1, ["GB", "more than"])
            self.expect_error("nlreg", ["--data", path], 1, ["GB", "more than"])

    # ---- parameters ----
    def test_k_out_of_range(self):
        self.expect_error("kmeans", ["--data", MNIST, "--k", "0"], 2, ["--k"])
        self.expect_error("kmeans", ["--data", MNIST, "--k", "-3"], 2, ["--k"])
        with TempDir() as tmp:
            path = tmp.file("small.h5")
            write_points(path, np.arange(10, dtype=np.float64).reshape(5, 2))
            self.expect_error("kmeans", ["--data", path, "--k", "6"], 1, ["k = 6", "n = 5"])

    def test_iterations_and_epochs(self):
        self.expect_error("kmeans", ["--data", MNIST, "--iters", "0"], 2, ["--iters"])
        self.expect_error("nlreg", ["--data", REGR, "--epochs", "0"], 2, ["--epochs"])
        self.expect_error("nlreg", ["--data", REGR, "--epochs", "-5"], 2, ["--epochs"])

    def test_learning_rate(self):
        for lr in ("-0.001", "nan", "0", "inf"):
            self.expect_error("nlreg", ["--data", REGR, "--lr", lr], 2, ["--lr"])

    def test_tolerance_and_mstep(self):
        self.expect_error("kmeans", ["--data", MNIST, "--tol", "-1"], 2, ["--tol"])
        self.expect_error("kmeans", ["--data", MNIST, "--mstep", "sideways"], 2, ["--mstep"])

    def test_unknown_and_malformed_flags(self):
        self.expect_error("kmeans", ["--data", MNIST, "--frobnicate"], 2, ["frobnicate"])
        self.expect_error("kmeans", ["--data", MNIST, "--k", "ten"], 2, ["--k"])
        self.expect_error("nlreg", ["--data", REGR, "--epochs", "1e3x"], 2, ["--epochs"])
        self.expect_error("nlreg", [], 2, ["--data"])

    def test_threads_where_not_supported(self):
        self.expect_error("kmeans", ["--data", MNIST, "--threads", "2"], 2, ["--threads"],
                          backends=[("seq", 1)])

    def test_init_file_problems(self):
        with TempDir() as tmp:
            path = tmp.file("cent.h5")
            with h5py.File(path, "w") as f:
                f["centroids"] = np.zeros((3, 784))
            self.expect_error("kmeans", ["--data", MNIST, "--k", "10", "--init", path], 1,
                              ["/centroids", "expected k x d = 10 x 784"])
            self.expect_error("kmeans", ["--data", MNIST, "--init", tmp.file("none.h5")], 1, ["no such file"])

    def test_more_ranks_than_rows(self):
        with TempDir() as tmp:
            path = tmp.file("tiny.h5")
            write_points(path, np.arange(6, dtype=np.float64).reshape(3, 2))
            self.expect_error("kmeans", ["--data", path, "--k", "1"], 1, ["more MPI ranks (4) than rows (3)"],
                              backends=[("mpi", 4)])
            path2 = tmp.file("tiny-xy.h5")
            write_xy(path2, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
            self.expect_error("nlreg", ["--data", path2], 1, ["more MPI ranks"], backends=[("mpi", 4)])

    def test_regression_diverges(self):
        self.expect_error("nlreg", ["--data", REGR, "--lr", "0.1", "--epochs", "2000"], 1,
                          ["diverged", "smaller --lr"])

    def test_unwritable_record_and_output(self):
        for backend, workers in BACKENDS:
            with self.subTest(backend=backend), TempDir() as tmp:
                proc = run("nlreg", backend, workers, ["--data", REGR, "--epochs", "10",
                                                       "--out", "/proc/no/such/dir/out.h5", "--record", tmp.records])
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
                self.assertEqual(read_records(tmp.records), [])
                proc = run("nlreg", backend, workers, ["--data", REGR, "--epochs", "10",
                                                       "--record", "/proc/self/no-such/runs.jsonl"])
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn("records file", proc.stderr)


if __name__ == "__main__":
    unittest.main()
