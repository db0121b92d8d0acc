"""Same result on any worker count: the sequential run, OpenMP at 1, 2, 3, 4
and 7 threads, MPI at 1, 2, 3, 4 and 7 ranks and hybrid MPI x OpenMP (2 x 2,
3 x 2, 1 x 3), and more workers than 256-row blocks (some hold no rows) must give bitwise identical
k-means labels and centroids, and bitwise identical regression parameters.

The comparison uses the digests in the run records (SHA-256 of the labels as
int32 and of the centroids / parameters as float64) and, for k-means, the
arrays of the --out files. 7 workers oversubscribe the 2 cores of the CI
machine; MPI collectives are then slow (see toolchain notes), so the
regression at 3, 4 and 7 ranks runs fewer epochs against a sequential run of
the same length.
"""
import os
import unittest

import h5py
import numpy as np

from tests.e2e.reference import check_converged_lloyd
from tests.e2e.util import COURSE_EPOCHS, MNIST_ITERS, SANITIZED, appended_record, DATA, TempDir, run, write_points, write_xy

# 7: more workers than cores, an odd count. Under the sanitizers: one, two (the machine's
# cores) and the oversubscribed odd count.
WORKERS = [1, 2, 7] if SANITIZED else [1, 2, 3, 4, 7]
HYBRID = [("hybrid", (2, 2)), ("hybrid", (3, 2)), ("hybrid", (1, 3))]


def kmeans_runs(tmp, data, extra, configs, out=True):
    """Runs each (backend, workers) config; returns {config: (record, labels, centroids)}."""
    results = {}
    for backend, workers in configs:
        out_path = tmp.file(f"km-{backend}-{workers}.h5".replace(" ", ""))
        args = ["--data", data, "--record", tmp.records, "--quiet"] + extra
        if out:
            args += ["--out", out_path]
        proc = run("kmeans", backend, workers, args)
        if proc.returncode != 0:
            raise AssertionError(f"kmeans_{backend} x{workers} failed ({proc.returncode}): {proc.stderr}")
        record = appended_record(proc)
        labels = centroids = None
        if out:
            with h5py.File(out_path, "r") as f:
                labels, centroids = f["labels"][...], f["centroids"][...]
        results[(backend, workers)] = (record, labels, centroids)
    return results


class KMeansBitwise(unittest.TestCase):
    def check_identical(self, results, reference=("seq", 1)):
        ref_rec, ref_labels, ref_cent = results[reference]
        for config, (rec, labels, cent) in results.items():
            with self.subTest(config=config):
                self.assertEqual(rec["status"], "ok")
                self.assertEqual(rec["result"]["labels_sha256"], ref_rec["result"]["labels_sha256"])
                self.assertEqual(rec["result"]["centroids_sha256"], ref_rec["result"]["centroids_sha256"])
                self.assertEqual(rec["result"]["iterations"], ref_rec["result"]["iterations"])
                # Exact float equality on purpose: the result must not depend on the split.
                self.assertEqual(rec["result"]["inertia"], ref_rec["result"]["inertia"])
                self.assertEqual(rec["result"]["inertia_trace"], ref_rec["result"]["inertia_trace"])
                if labels is not None:
                    np.testing.assert_array_equal(labels, ref_labels)
                    self.assertEqual(cent.tobytes(), ref_cent.tobytes())

    def test_mnist_k10_100_iterations_all_worker_counts(self):
        configs = [("seq", 1)] + [(b, w) for b in ("omp", "mpi") for w in WORKERS] + HYBRID
        with TempDir() as tmp:
            results = kmeans_runs(tmp, os.path.join(DATA, "mnist10k.h5"),
                                  ["--k", "10", "--iters", "100", "--seed", "42", "--init", "random"], configs)
            self.check_identical(results)
            rec = results[("seq", 1)][0]
            self.assertEqual(rec["dataset"]["n"], 10000)
            self.assertEqual(rec["dataset"]["d"], 784)
            # Expected values from an independent computation (tests/e2e/reference.py), not a
            # fixed threshold: the result is a Lloyd fixed point, and its inertia, accuracy
            # and NMI are those numpy, scipy and scikit-learn compute from its labels.
            _, labels, centroids = results[("seq", 1)]
            check_converged_lloyd(self, os.path.join(DATA, "mnist10k.h5"), labels, centroids, rec)
            # The ranks and threads the records claim are the ones asked for.
            self.assertEqual(results[("mpi", 7)][0]["ranks"], 7)
            self.assertEqual(results[("omp", WORKERS[-2])][0]["threads"], WORKERS[-2])

    def test_mnist_owner_mstep_equals_reduce(self):
        # The two M-step strategies sum the same integers, so they agree exactly.
        configs = [("seq", 1), ("omp", 3), ("mpi", 3), ("omp", 7), ("mpi", 2), ("hybrid", (2, 2))]
        with TempDir() as tmp:
            reduce = kmeans_runs(tmp, os.path.join(DATA, "mnist10k.h5"),
                                 ["--k", "10", "--iters", "20", "--mstep", "reduce"], configs[:1])
            owner = kmeans_runs(tmp, os.path.join(DATA, "mnist10k.h5"),
                                ["--k", "10", "--iters", "20", "--mstep", "owner"], configs[1:])
            self.check_identical({**reduce, **owner})

    def test_blobs_float32_kmeanspp(self):
        configs = [("seq", 1)] + [(b, w) for b in ("omp", "mpi") for w in WORKERS] + HYBRID
        with TempDir() as tmp:
            results = kmeans_runs(tmp, os.path.join(DATA, "blobs-small.h5"),
                                  ["--k", "8", "--iters", "50", "--init", "kmeans++", "--seed", "7"], configs)
            self.check_identical(results)

    def test_blobs_float64_owner(self):
        configs = [("seq", 1), ("omp", 2), ("omp", 7), ("mpi", 3), ("mpi", 4)]
        with TempDir() as tmp:
            results = kmeans_runs(tmp, os.path.join(DATA, "blobs-f64.h5"),
                                  ["--k", "5", "--iters", "50", "--mstep", "owner", "--seed", "3"], configs)
            self.check_identical(results)

    def test_digits(self):
        path = os.path.join(DATA, "digits.h5")
        if not os.path.exists(path):
            self.skipTest("digits.h5 not built (python3-sklearn not installed)")
        configs = [("seq", 1), ("omp", 4), ("mpi", 4)]
        with TempDir() as tmp:
            results = kmeans_runs(tmp, path, ["--k", "10", "--iters", "100", "--init", "kmeans++"], configs)
            self.check_identical(results)

    def test_more_workers_than_blocks(self):
        # 1,000 rows are 4 blocks of 256: at 6 ranks or 3 x 2 threads some workers hold no
        # rows at all (a Stokes node's 48 ranks on MNIST's 40 blocks is the same case).
        configs = [("seq", 1), ("mpi", 6), ("omp", 6), ("hybrid", (3, 2))]
        with TempDir() as tmp:
            data = tmp.file("blobs-1k.h5")
            rng = np.random.default_rng(5)
            write_points(data, (rng.normal(size=(1000, 4)) + rng.integers(0, 3, size=(1000, 1)) * 6)
                         .astype(np.float32))
            results = kmeans_runs(tmp, data, ["--k", "3", "--iters", "20", "--init", "kmeans++"], configs)
            self.check_identical(results)


    def test_float32_read_in_slabs(self):
        # 24,000 x 64 float32 rows are 6 MB: one process reads them in slabs of 2 MB and finds the
        # largest |value| (the M-step's fixed-point scale) slab by slab; an MPI rank reads its rows
        # in one collective read. The largest value sits in the first slab, so a scan that kept
        # only some slabs would choose another scale, and the results would differ.
        configs = [("seq", 1), ("omp", 3), ("mpi", 2), ("mpi", 3)]
        with TempDir() as tmp:
            data = tmp.file("blobs-6mb.h5")
            rng = np.random.default_rng(11)
            X = (rng.normal(size=(24000, 64)) + rng.integers(0, 4, size=(24000, 1)) * 5).astype(np.float32)
            X[5, 7] = 1000.0
            write_points(data, X)
            results = kmeans_runs(tmp, data, ["--k", "4", "--iters", "10", "--init", "kmeans++"], configs)
            self.check_identical(results)

class RegressionBitwise(unittest.TestCase):
    def runs(self, tmp, epochs, configs, data=os.path.join(DATA, "regression20k.h5")):
        out = {}
        for backend, workers in configs:
            proc = run("nlreg", backend, workers, ["--data", data,
                                                   "--epochs", str(epochs), "--record", tmp.records, "--quiet"])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            out[(backend, workers)] = appended_record(proc)
        return out

    def check(self, records):
        ref = records[("seq", 1)]["result"]
        for config, rec in records.items():
            with self.subTest(config=config):
                r = rec["result"]
                self.assertEqual((r["a"], r["b"], r["c"]), (ref["a"], ref["b"], ref["c"]))
                self.assertEqual(r["mse"], ref["mse"])
                self.assertEqual(r["params_sha256"], ref["params_sha256"])
                self.assertEqual(r["loss_trace"], ref["loss_trace"])

    def test_20k_10000_epochs(self):
        configs = [("seq", 1)] + [("omp", w) for w in WORKERS] + [("mpi", 1), ("mpi", 2), ("hybrid", (1, 2))]
        with TempDir() as tmp:
            records = self.runs(tmp, COURSE_EPOCHS, configs)
            self.check(records)
            r = records[("seq", 1)]["result"]
            self.assertEqual(r["epochs"], COURSE_EPOCHS)
            # The course's fixed step is far from converged after 10,000 epochs.
            self.assertGreater(r["mse"], r["mse_optimum"])

    def test_20k_oversubscribed_mpi(self):
        configs = [("seq", 1), ("mpi", 3), ("mpi", 4), ("mpi", 7), ("hybrid", (2, 2)), ("hybrid", (3, 2))]
        with TempDir() as tmp:
            self.check(self.runs(tmp, 100, configs))

    def test_more_workers_than_blocks(self):
        with TempDir() as tmp:
            data = tmp.file("quad-600.h5")
            x = np.linspace(-3, 3, 600)
            write_xy(data, x, 2 * x * x - x + 1 + np.sin(7 * x))
            self.check(self.runs(tmp, 200, [("seq", 1), ("mpi", 5), ("omp", 5), ("hybrid", (2, 3))], data))


if __name__ == "__main__":
    unittest.main()
