"""Phases that add up: in every record, of every executable at 1 and 2 workers,
compute + comm = iterations and io + init + iterations + metrics <= total (all
taken from one worker), and the per-worker spread brackets the recorded value."""
import math
import os
import unittest

from tests.e2e.util import DATA, TempDir, read_records, run

# Timer resolution (steady_clock, nanoseconds) plus the rounding of the subtraction.
RESOLUTION_S = 1e-9

# Worker counts 1 and 2 of every backend; hybrid both ways round.
FORMS = [("seq", 1), ("omp", 1), ("omp", 2), ("mpi", 1), ("mpi", 2), ("hybrid", (1, 1)), ("hybrid", (2, 1)),
         ("hybrid", (1, 2))]
# blobs-small carries true labels, so k-means also times its quality metrics.
ARGS = {
    "kmeans": ["--data", os.path.join(DATA, "blobs-small.h5"), "--k", "8", "--iters", "20"],
    "nlreg": ["--data", os.path.join(DATA, "regression20k.h5"), "--epochs", "200"],
}


class PhasesAddUp(unittest.TestCase):
    def check(self, app, t):
        for name in ("total", "io", "init", "iterations", "compute", "comm", "metrics",
                     "compute_min", "compute_max", "comm_min", "comm_max"):
            self.assertTrue(isinstance(t[name], float) and math.isfinite(t[name]) and t[name] >= 0, (name, t[name]))
        self.assertAlmostEqual(t["compute"] + t["comm"], t["iterations"], delta=RESOLUTION_S)
        self.assertLessEqual(t["io"] + t["init"] + t["iterations"] + t["metrics"], t["total"] + RESOLUTION_S)
        self.assertLessEqual(t["compute_min"], t["compute"] + RESOLUTION_S)
        self.assertLessEqual(t["compute"], t["compute_max"] + RESOLUTION_S)
        self.assertLessEqual(t["comm_min"], t["comm"])
        self.assertLessEqual(t["comm"], t["comm_max"])
        if app == "kmeans":
            # Accuracy and NMI are timed on their own, outside the iterations.
            self.assertGreater(t["metrics"], 0.0)
        else:
            self.assertEqual(t["metrics"], 0.0)

    def test_every_executable(self):
        with TempDir() as tmp:
            for app, args in ARGS.items():
                for backend, workers in FORMS:
                    with self.subTest(app=app, backend=backend, workers=workers):
                        proc = run(app, backend, workers, args + ["--record", tmp.records, "--quiet"])
                        self.assertEqual(proc.returncode, 0, proc.stderr)
                        self.check(app, read_records(tmp.records)[-1]["time_s"])


if __name__ == "__main__":
    unittest.main()
