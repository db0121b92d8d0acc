"""The simulated backend (jobs/smpi.mk, jobs/smpi-run): kmeans_smpi and nlreg_smpi on 1, 3 and
64 simulated ranks of jobs/platforms/stokes.xml give bitwise the sequential result (SMPI runs
every rank's real arithmetic), also where ranks hold no rows (MNIST has 40 row blocks, fewer
than 64 ranks); the records say they are simulated; bad invocations exit 2. Few iterations and
epochs: all simulated ranks share one host core.

    HPCB_BIN=build/release/bin /usr/bin/python3 -m unittest tests.smpi.test_smpi -v
"""
import os
import subprocess
import unittest

import h5py
import numpy as np

from tests.e2e.util import BIN, DATA, MPIEXEC, ROOT, SMPI_BIN, SMPI_RUN, TempDir, appended_record, read_records, run, write_xy

RANKS = [1, 3, 64]


def require(test):
    for app in ("kmeans", "nlreg"):
        if not os.path.exists(os.path.join(SMPI_BIN, f"{app}_smpi")):
            test.fail(f"{SMPI_BIN}/{app}_smpi is missing: make smpi")


class SmpiBitwise(unittest.TestCase):
    def setUp(self):
        require(self)

    def check_simulated(self, rec, ranks):
        self.assertEqual(rec["backend"], "smpi")
        self.assertEqual(rec["ranks"], ranks)
        self.assertEqual(rec["nodes"], -(-ranks // 48))  # packed 48 per node on stokes
        sim = rec["prov"]["simulated"]
        self.assertEqual(sim["platform"], "stokes")
        self.assertRegex(sim["simgrid"], r"^3\.\d+")
        self.assertTrue(sim["host_speed"])
        self.assertEqual(sim["coll_selector"], "mpich")

    def test_kmeans_mnist(self):
        self.kmeans_check([], RANKS)

    def test_kmeans_owner_ranks_without_clusters(self):
        # --mstep owner: 16 ranks own 10 clusters, so 6 pass empty buffers to the reduce-scatter
        # and the all-gather (MPI allows a null buffer with a zero count; SMPI refuses it).
        self.kmeans_check(["--mstep", "owner"], [16])

    def kmeans_check(self, extra, ranks_list):
        args = ["--data", os.path.join(DATA, "mnist10k.h5"), "--k", "10", "--iters", "4", "--seed", "42",
                "--init", "random", "--quiet", *extra]
        with TempDir() as tmp:
            got = {}
            for backend, ranks in [("seq", 1)] + [("smpi", r) for r in ranks_list]:
                out = tmp.file(f"{backend}-{ranks}.h5")
                proc = run("kmeans", backend, ranks, args + ["--record", tmp.records, "--out", out])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                with h5py.File(out, "r") as f:
                    got[(backend, ranks)] = (appended_record(proc), f["labels"][...], f["centroids"][...])
            ref, ref_labels, ref_cent = got[("seq", 1)]
            for (backend, ranks), (rec, labels, cent) in got.items():
                with self.subTest(ranks=ranks):
                    for key in ("labels_sha256", "centroids_sha256", "iterations", "inertia", "inertia_trace"):
                        self.assertEqual(rec["result"][key], ref["result"][key], key)
                    np.testing.assert_array_equal(labels, ref_labels)
                    self.assertEqual(cent.tobytes(), ref_cent.tobytes())
                    if backend == "smpi":
                        self.check_simulated(rec, ranks)
                        self.assertGreater(rec["time_s"]["total"], 0)

    def nlreg_check(self, data, epochs, ranks):
        with TempDir() as tmp:
            recs = {}
            for backend, r in [("seq", 1)] + [("smpi", r) for r in ranks]:
                proc = run("nlreg", backend, r, ["--data", data, "--epochs", str(epochs), "--record", tmp.records,
                                                 "--quiet"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                recs[(backend, r)] = appended_record(proc)
            ref = recs[("seq", 1)]["result"]
            for (backend, r), rec in recs.items():
                with self.subTest(ranks=r):
                    res = rec["result"]
                    self.assertEqual((res["a"], res["b"], res["c"]), (ref["a"], ref["b"], ref["c"]))
                    self.assertEqual(res["params_sha256"], ref["params_sha256"])
                    self.assertEqual(res["loss_trace"], ref["loss_trace"])
                    if backend == "smpi":
                        self.check_simulated(rec, r)

    def test_nlreg_20k(self):
        self.nlreg_check(os.path.join(DATA, "regression20k.h5"), 20, RANKS)

    def test_nlreg_ranks_without_rows(self):
        # 600 points: 3 row blocks for 64 ranks.
        with TempDir() as tmp:
            data = tmp.file("xy-600.h5")
            x = np.linspace(-2, 2, 600)
            write_xy(data, x, 0.5 * x * x - x + 1.5)
            self.nlreg_check(data, 20, [64])


class SimulateSweep(unittest.TestCase):
    """jobs/simulate.sh (make simulate) in miniature: ranks 1 and 3, generated data of a few
    thousand rows instead of 10^6 to 10^8. Every workload and M-step runs at every count, the
    tags say which, the weak-scaling data hold WEAK rows per rank, and the report makes them
    one weak-scaling series."""
    WEAK = 300

    def test_every_workload_at_every_count(self):
        require(self)
        with TempDir() as tmp:
            env = dict(os.environ, SMPI_BIN=SMPI_BIN, SIM_RECORDS=tmp.records, RANKS="1 3", KMEANS_ITERS="3",
                       NLREG_EPOCHS="3", LARGE_ITERS="2", LARGE_EPOCHS="2", BLOBS_ROWS="1000 2000",
                       REGRESSION_ROWS="5000", WEAK_ROWS=str(self.WEAK), SCRATCH=tmp.file("scratch"),
                       MKDATA=os.path.join(BIN, "mkdata"))
            proc = subprocess.run([os.path.join(ROOT, "jobs", "simulate.sh")], env=env, cwd=ROOT, capture_output=True,
                                  text=True, timeout=600)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            recs = read_records(tmp.records)
            tags = sorted((r["tag"].split("/")[2], r["tag"].split("/")[3], r["ranks"]) for r in recs)
            workloads = [f"kmeans-{name}-{mstep}" for name in ("mnist10k", "blobs-1e3x64", "blobs-2000x64",
                                                               f"weak-{self.WEAK}-per-rank") for mstep in ("reduce", "owner")]
            # Blobs up to 10^6 rows run as many iterations as MNIST; weak scaling LARGE_ITERS.
            want = sorted([(w, "iters-2" if "weak" in w else "iters-3", r) for w in workloads for r in (1, 3)]
                          + [("nlreg-regression20k", "epochs-3", r) for r in (1, 3)]
                          + [("nlreg-quadratic-5000", "epochs-2", r) for r in (1, 3)])
            self.assertEqual(tags, want)
            self.assertTrue(all(r["backend"] == "smpi" and r["status"] == "ok" for r in recs))
            weak = [r for r in recs if "weak" in r["tag"]]
            self.assertEqual(sorted({(r["ranks"], r["dataset"]["n"]) for r in weak}), [(1, self.WEAK), (3, 3 * self.WEAK)])

            from report import model, records, simulated
            loaded = records.load([tmp.records])
            series = simulated.series(simulated.split(loaded.runs)[1], model.inputs(loaded))
            weak_series = [s for s in series if s.rows_per_rank]
            self.assertEqual([(s.rows_per_rank, s.params["mstep"], [pt.ranks for pt in s.points]) for s in weak_series],
                             [(self.WEAK, "owner", [1, 3]), (self.WEAK, "reduce", [1, 3])])


class LocalCheck(unittest.TestCase):
    """jobs/platforms/check_local.py (make smpi-check-local) with one run each: every workload at
    1 and 2 ranks measured (kmeans_mpi, nlreg_mpi) and simulated on local.xml, a table row for
    each, and records the report pairs (simulated.against_measured)."""

    def test_pairs_measured_and_simulated(self):
        require(self)
        with TempDir() as tmp:
            proc = subprocess.run([os.path.join(ROOT, "jobs", "platforms", "check_local.py"), "--reps", "1",
                                   "--record", tmp.records, "--bin", BIN, "--smpi-bin", SMPI_BIN, "--mpiexec", MPIEXEC],
                                  cwd=ROOT, capture_output=True, text=True, timeout=600)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            rows = [line.split("|")[1:-1] for line in proc.stdout.splitlines() if line.startswith("| ")][1:]
            self.assertEqual([(r[0].strip(), r[1].strip()) for r in rows],
                             [(label, ranks) for label in ("kmeans", "nlreg", "nlreg 400K") for ranks in ("1", "2")])
            self.assertTrue(all(float(r[4]) > 0 for r in rows))
            recs = read_records(tmp.records)
            self.assertEqual(sorted((r["backend"], r["app"], r["ranks"]) for r in recs),
                             sorted((b, a, n) for b in ("mpi", "smpi") for a in ("kmeans", "nlreg", "nlreg")
                                    for n in (1, 2)))
            self.assertTrue(all(r["tag"] == "check-local" for r in recs))
            self.assertEqual({r["prov"]["simulated"]["platform"] for r in recs if r["backend"] == "smpi"}, {"local"})

            from report import model, records, simulated
            loaded = records.load([tmp.records])
            measured, sim = simulated.split(loaded.runs)
            checks = simulated.against_measured(simulated.series(sim, model.inputs(loaded)), sim, measured)
            self.assertEqual(sorted((c.label.split(" (")[0], c.ranks) for c in checks),
                             sorted((f"{app} {data}", n) for app, data in (("kmeans", "mnist10k.h5"),
                                                                          ("nlreg", "regression20k.h5"),
                                                                          ("nlreg", "quad400k.h5")) for n in (1, 2)))


class SmpiRunErrors(unittest.TestCase):
    def smpi_run(self, *args, cwd=None):
        return subprocess.run([SMPI_RUN, *args], capture_output=True, text=True, timeout=120, cwd=cwd)

    def assert_usage(self, proc, words):
        self.assertEqual(proc.returncode, 2, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("smpi-run: "), lines[0])
        self.assertIn(words, lines[0])

    def test_bad_invocations_exit_2(self):
        exe = os.path.join(SMPI_BIN, "kmeans_smpi")
        self.assert_usage(self.smpi_run("nowhere", "2", exe, "--help"), "unknown platform 'nowhere'")
        self.assert_usage(self.smpi_run("stokes", "0", exe), "RANKS must be a whole number >= 1")
        self.assert_usage(self.smpi_run("stokes", "x", exe), "RANKS")
        self.assert_usage(self.smpi_run("stokes", "2", "/nonexistent/kmeans_smpi"), "not found")
        self.assert_usage(self.smpi_run("local", "3", exe), "do not fit")

    def test_program_status_passes_through(self):
        require(self)
        exe = os.path.join(SMPI_BIN, "kmeans_smpi")
        with TempDir() as tmp:
            usage = self.smpi_run("stokes", "3", exe, "--data", os.path.join(DATA, "mnist10k.h5"), "--k", "0",
                                  "--record", tmp.records)
            self.assertEqual(usage.returncode, 2, usage.stderr)
            self.assertEqual(len(usage.stderr.strip().splitlines()), 1, usage.stderr)
            data = self.smpi_run("stokes", "3", exe, "--data", tmp.file("missing.h5"), "--record", tmp.records)
            self.assertEqual(data.returncode, 1, data.stderr)
            self.assertEqual(len(data.stderr.strip().splitlines()), 1, data.stderr)
            self.assertNotIn("Execution failed", data.stdout)
            self.assertFalse(os.path.exists(tmp.records))


if __name__ == "__main__":
    unittest.main()
