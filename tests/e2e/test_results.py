"""Known answers and the record contract: k-means on a data set worked out by
hand, regression against the closed form, the run record's fields, --out
files, and determinism (the same run twice gives the same numbers)."""
import os
import unittest

import h5py
import numpy as np

from tests.e2e.reference import check_inertia
from tests.e2e.util import appended_record, DATA, TempDir, read_records, run, write_points, write_xy

REQUIRED = {
    "schema", "app", "backend", "ranks", "threads", "workers", "nodes", "hosts", "dataset", "params",
    "result", "time_s", "status", "prov",
}
PROV = {"git", "dirty", "compiler", "flags", "mpi", "hdf5", "blas", "cpu", "cores", "slurm_job_id", "slurm_array_task_id",
        "omp_proc_bind", "omp_places", "utc", "blas_core", "openblas_coretype", "cpu_vendor", "cpu_family",
        "cpu_model_number", "cpu_stepping", "cpu_flags", "hypervisor", "hypervisor_vendor", "cpus_allowed",
        "memory_bytes", "os", "kernel", "arch", "argv"}
TIMES = {"total", "io", "init", "compute", "comm", "per_iter"}


class HandWorkedKMeans(unittest.TestCase):
    """Six points on a line, two obvious groups:
        0, 1, 2      -> centroid 1, squared distances 1 + 0 + 1
        10, 11, 15   -> centroid 12, squared distances 4 + 1 + 9
    Starting from centroids 0 and 15, the first assignment already splits the
    groups (2 is nearer 0; 10 is nearer 15), the second iteration moves no
    centroid. Inertia = 2 + 14 = 16, labels [0 0 0 1 1 1]; with the true
    labels [0 0 1 1 1 1] one row in six is misplaced: accuracy 5/6."""

    def test_line(self):
        with TempDir() as tmp:
            data, init, out = tmp.file("line.h5"), tmp.file("init.h5"), tmp.file("out.h5")
            write_points(data, np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [15.0]]), labels=[0, 0, 1, 1, 1, 1])
            with h5py.File(init, "w") as f:
                f["centroids"] = np.array([[0.0], [15.0]])
            for backend, workers in (("seq", 1), ("omp", 2), ("mpi", 2)):
                with self.subTest(backend=backend):
                    proc = run("kmeans", backend, workers, ["--data", data, "--k", "2", "--init", init,
                                                            "--record", tmp.records, "--out", out])
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    r = appended_record(proc)["result"]
                    self.assertEqual(r["inertia"], 16.0)
                    self.assertEqual(r["iterations"], 2)
                    self.assertTrue(r["converged"])
                    self.assertAlmostEqual(r["accuracy"], 5 / 6, places=12)
                    self.assertEqual(r["sizes"], [3, 3])
                    with h5py.File(out, "r") as f:
                        np.testing.assert_array_equal(f["labels"][...], [0, 0, 0, 1, 1, 1])
                        np.testing.assert_array_equal(f["centroids"][...], [[1.0], [12.0]])
                        # Iteration 1 against (0, 15): 0 + 1 + 4 + 25 + 16 + 0; iteration 2 against (1, 12).
                        np.testing.assert_array_equal(f["inertia"][...], [46.0, 16.0])

    def test_scale_attribute_and_empty_cluster(self):
        # uint8 data with scale 0.5: values 0, 2, 4 mean 0, 1, 2. A third
        # centroid far away never gets a row and keeps its place.
        with TempDir() as tmp:
            data, init = tmp.file("u8.h5"), tmp.file("init.h5")
            write_points(data, np.array([[0], [2], [4]], dtype=np.uint8), scale=0.5)
            with h5py.File(init, "w") as f:
                f["centroids"] = np.array([[0.0], [2.0], [100.0]])
            proc = run("kmeans", "seq", 1, ["--data", data, "--k", "3", "--init", init, "--record", tmp.records])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            r = appended_record(proc)["result"]
            # Value 1 is at distance 1 from both 0 and 2: the tie goes to the lower
            # cluster index, so the clusters get {0, 1}, {2}, {} and the first
            # centroid moves to 0.5: inertia 0.25 + 0.25 + 0.
            self.assertEqual(r["sizes"], [2, 1, 0])
            self.assertGreater(r["empty_cluster_events"], 0)
            self.assertIsNone(r["accuracy"])
            self.assertEqual(r["inertia"], 0.25 + 0.25)


    def test_inertia_before_convergence(self):
        # Stopped after three iterations, the final centroids are not the means of their rows, so
        # the inertia's term for the means' distance to the centroids counts (uint8 rows: from the
        # clusters' exact moments; float rows: row by row), at any worker count and algorithm.
        with TempDir() as tmp:
            for name in ("digits.h5", "mnist10k.h5", "blobs-small.h5", "blobs-f64.h5"):
                data = os.path.join(DATA, name)
                for backend, workers, algorithm in (("seq", 1, "lloyd"), ("omp", 2, "hamerly"), ("mpi", 3, "elkan")):
                    with self.subTest(data=name, backend=backend):
                        out = tmp.file("o.h5")
                        proc = run("kmeans", backend, workers, ["--data", data, "--k", "10", "--iters", "3",
                                                                "--algorithm", algorithm, "--record", tmp.records,
                                                                "--out", out, "--quiet"])
                        self.assertEqual(proc.returncode, 0, proc.stderr)
                        rec = appended_record(proc)
                        self.assertFalse(rec["result"]["converged"])
                        with h5py.File(out, "r") as f:
                            check_inertia(self, data, f["labels"][...], f["centroids"][...], rec)


    def test_tol_stops_at_the_first_small_move(self):
        # --tol T stops after the first iteration whose centroids moved by at most T in all (the
        # sum over clusters of their squared moves): the moves worked out in numpy from runs
        # stopped after 1, 2, ... iterations; the same stop and the same centroids for every
        # backend and algorithm.
        with TempDir() as tmp:
            data, init = os.path.join(DATA, "digits.h5"), tmp.file("init.h5")
            with h5py.File(data, "r") as f:
                scale = float(f["X"].attrs.get("scale", 1.0))
                first = f["X"][:10].astype(np.float64) * scale
            with h5py.File(init, "w") as f:
                f["centroids"] = first
            base = ["--data", data, "--k", "10", "--init", init, "--record", tmp.records, "--quiet"]
            centroids = [first]
            for iters in range(1, 9):
                out = tmp.file(f"o{iters}.h5")
                proc = run("kmeans", "seq", 1, base + ["--iters", str(iters), "--tol", "0", "--out", out])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                with h5py.File(out, "r") as f:
                    centroids.append(f["centroids"][...])
            moves = [float(np.sum((centroids[i] - centroids[i - 1]) ** 2)) for i in range(1, len(centroids))]
            # The stop: the last iteration whose move is below every earlier one, with T a hair
            # below the earlier ones (the solver sums the squares in another order: 1e-15 apart),
            # so that a total short of any part of some move stops too early.
            expected = max(i + 1 for i in range(1, len(moves)) if moves[i] < min(moves[:i]))
            tol = min(moves[:expected - 1]) * (1 - 1e-6)
            self.assertLess(moves[expected - 1], tol * (1 - 1e-6), moves)
            for backend, workers, algorithm in (("seq", 1, "lloyd"), ("omp", 3, "hamerly"), ("mpi", 2, "elkan")):
                with self.subTest(backend=backend):
                    out = tmp.file("tol.h5")
                    proc = run("kmeans", backend, workers, base + ["--iters", "100", "--tol", repr(tol),
                                                                   "--algorithm", algorithm, "--out", out])
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    r = appended_record(proc)["result"]
                    self.assertEqual(r["iterations"], expected, moves)
                    self.assertTrue(r["converged"])
                    with h5py.File(out, "r") as f:
                        np.testing.assert_array_equal(f["centroids"][...], centroids[expected])


class RegressionClosedForm(unittest.TestCase):
    def test_converges_to_least_squares(self):
        # x in [-1, 1] keeps the problem well conditioned, so a large step
        # converges in a few thousand epochs.
        rng = np.random.default_rng(5)
        x = rng.uniform(-1, 1, 3000)
        y = 2.0 * x**2 - 3.0 * x + 0.5 + rng.normal(0, 0.1, x.size)
        A = np.vstack([x**2, x, np.ones_like(x)]).T
        exact = np.linalg.lstsq(A, y, rcond=None)[0]
        with TempDir() as tmp:
            path = tmp.file("quad.h5")
            write_xy(path, x, y)
            for backend, workers in (("seq", 1), ("omp", 2), ("mpi", 2)):
                with self.subTest(backend=backend):
                    proc = run("nlreg", backend, workers, ["--data", path, "--lr", "0.3", "--epochs", "20000",
                                                           "--record", tmp.records, "--out", tmp.file("o.h5")])
                    self.assertEqual(proc.returncode, 0, proc.stderr)
                    r = appended_record(proc)["result"]
                    np.testing.assert_allclose([r["a_opt"], r["b_opt"], r["c_opt"]], exact, rtol=1e-9, atol=1e-12)
                    np.testing.assert_allclose([r["a"], r["b"], r["c"]], exact, rtol=1e-7, atol=1e-9)
                    self.assertAlmostEqual(r["mse"], r["mse_optimum"], delta=1e-12)
                    with h5py.File(tmp.file("o.h5"), "r") as f:
                        self.assertEqual(f["loss"].shape, (20001,))
                        np.testing.assert_array_equal(f["params"][...], [r["a"], r["b"], r["c"]])
                        # Gradient descent with a stable step never raises the loss.
                        self.assertTrue(np.all(np.diff(f["loss"][...]) <= 1e-15))

    def test_course_program_on_20k(self):
        # The course's program, in numpy, on the same data: same a, b, c to
        # round-off (numpy sums in another order).
        with TempDir() as tmp:
            with h5py.File(os.path.join(DATA, "regression20k.h5"), "r") as f:
                X, Y = f["x"][...], f["y"][...]
            a = b = c = 0.0
            n, L = len(X), 1e-4
            for _ in range(2000):
                Yp = a * X**2 + b * X + c
                Da = (-2 / n) * np.sum(X**2 * (Y - Yp))
                Db = (-2 / n) * np.sum(X * (Y - Yp))
                Dc = (-2 / n) * np.sum(Y - Yp)
                a, b, c = a - L * Da, b - L * Db, c - L * Dc
            proc = run("nlreg", "seq", 1, ["--data", os.path.join(DATA, "regression20k.h5"), "--epochs", "2000",
                                           "--record", tmp.records])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            r = appended_record(proc)["result"]
            np.testing.assert_allclose([r["a"], r["b"], r["c"]], [a, b, c], rtol=1e-10)


class RecordContract(unittest.TestCase):
    def test_fields_every_backend(self):
        with TempDir() as tmp:
            for app, extra in (("kmeans", ["--data", os.path.join(DATA, "digits.h5" if os.path.exists(
                    os.path.join(DATA, "digits.h5")) else "blobs-small.h5"), "--k", "10", "--iters", "5"]),
                               ("nlreg", ["--data", os.path.join(DATA, "regression20k.h5"), "--epochs", "50"])):
                for backend, workers in (("seq", 1), ("omp", 2), ("mpi", 2), ("hybrid", (2, 2))):
                    with self.subTest(app=app, backend=backend):
                        proc = run(app, backend, workers, extra + ["--record", tmp.records, "--tag", "x y"])
                        self.assertEqual(proc.returncode, 0, proc.stderr)
                        self.assertIn("Solution validates", proc.stdout)
                        rec = appended_record(proc)
                        self.assertLessEqual(REQUIRED, set(rec))
                        self.assertLessEqual(PROV, set(rec["prov"]))
                        self.assertLessEqual(TIMES, set(rec["time_s"]))
                        self.assertEqual(rec["schema"], "run/1")
                        self.assertEqual((rec["app"], rec["backend"]), (app, backend))
                        total = workers[0] * workers[1] if backend == "hybrid" else workers
                        self.assertEqual(rec["workers"], total)
                        self.assertEqual(rec["ranks"] * rec["threads"], total)
                        self.assertEqual(rec["tag"], "x y")
                        self.assertEqual(rec["status"], "ok")
                        self.assertEqual(len(rec["dataset"]["sha256"]), 64)
                        self.assertIn(rec["prov"]["mpi"] != "none", [backend in ("mpi", "hybrid")])
                        if backend in ("mpi", "hybrid"):
                            self.assertIn("MPICH", rec["prov"]["mpi"])
                        for k, v in rec["time_s"].items():
                            self.assertGreaterEqual(v, 0.0, k)
                        self.assertGreaterEqual(rec["time_s"]["total"], rec["time_s"]["compute"])
            # One line per run, each a complete JSON object.
            with open(tmp.records) as f:
                self.assertEqual(len(f.read().splitlines()), 8)

    def test_quiet_and_same_run_twice(self):
        with TempDir() as tmp:
            args = ["--data", os.path.join(DATA, "blobs-small.h5"), "--k", "8", "--init", "kmeans++",
                    "--record", tmp.records, "--quiet"]
            first = run("kmeans", "omp", 2, args)
            second = run("kmeans", "omp", 2, args)
            self.assertEqual((first.returncode, first.stdout, first.stderr), (0, "", ""))
            a, b = read_records(tmp.records)
            self.assertEqual(a["result"], b["result"])

    def test_thread_binding_recorded(self):
        with TempDir() as tmp:
            args = ["--data", os.path.join(DATA, "blobs-small.h5"), "--k", "4", "--record", tmp.records, "--quiet"]
            for prefix, want in ((("env", "-u", "OMP_PROC_BIND", "-u", "OMP_PLACES"), (None, None)),
                                 (("env", "OMP_PROC_BIND=close", "OMP_PLACES=cores"), ("close", "cores"))):
                proc = run("kmeans", "omp", 2, args, prefix=prefix)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                prov = appended_record(proc)["prov"]
                self.assertEqual((prov["omp_proc_bind"], prov["omp_places"]), want)

    def test_no_record(self):
        # Run from an empty folder, so a "none" taken as a file name (or any default records
        # file) would appear there.
        with TempDir() as tmp:
            for backend, workers in (("seq", 1), ("mpi", 2)):
                proc = run("nlreg", backend, workers, ["--data", os.path.join(DATA, "regression20k.h5"), "--epochs",
                                                       "5", "--record", "none"], cwd=tmp.path)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(os.listdir(tmp.path), [])


if __name__ == "__main__":
    unittest.main()
