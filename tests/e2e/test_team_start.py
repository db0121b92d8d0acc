"""Starting the team: a usage error that only some processes find (hybrid ranks started
with different thread counts, one rank's own --threads over the limit or a bad option on
one rank's command line) ends every process alike, with one line "<prog>: ..." on stderr
and exit status 2 (README, "Exit status"), instead of leaving the other ranks waiting in a
collective; and every backend names its host as Slurm does (SLURMD_NODENAME) in the record."""
import os
import subprocess
import unittest

from tests.e2e.util import BIN, DATA, MPIEXEC, TempDir, appended_record, run

# A hang fails the test rather than the suite.
TIMEOUT_S = 60


def per_rank(app, backend, ranks):
    """An MPMD command line: one rank per (env, args) pair in `ranks`."""
    exe = os.path.join(BIN, f"{app}_{backend}")
    argv = [MPIEXEC]
    for i, (env, args) in enumerate(ranks):
        if i:
            argv.append(":")
        argv += ["-n", "1"]
        for name, value in env.items():
            argv += ["-env", name, value]
        argv += [exe, "--data", os.path.join(DATA, "blobs-small.h5"), "--record", "none", "--quiet", *args]
    return argv


class TeamStart(unittest.TestCase):
    def refused(self, app, backend, ranks, words):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
        proc = subprocess.run(per_rank(app, backend, ranks), capture_output=True, text=True, timeout=TIMEOUT_S,
                              env=env)
        self.assertEqual(proc.returncode, 2, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith(f"{app}_{backend}: "), lines[0])
        self.assertIn(words, lines[0])

    def test_hybrid_ranks_with_different_omp_num_threads(self):
        self.refused("kmeans", "hybrid", [({"OMP_NUM_THREADS": "1"}, []), ({"OMP_NUM_THREADS": "2"}, [])],
                     "same number of threads")

    def test_hybrid_ranks_with_different_threads_options(self):
        self.refused("kmeans", "hybrid", [({}, ["--threads", "2"]), ({}, ["--threads", "1"])],
                     "same number of threads")

    def test_one_rank_over_the_thread_limit(self):
        # Found by rank 1 alone, before the team exists: 1000 is within the option's bound
        # (1024) but more than 4 threads per online CPU (machines of up to 249 CPUs).
        self.refused("kmeans", "hybrid", [({}, ["--threads", "1"]), ({}, ["--threads", "1000"])],
                     "--threads 1000 is more than 4 x the")

    def test_one_rank_with_a_bad_option(self):
        self.refused("kmeans", "mpi", [({}, []), ({}, ["--no-such-option"])], "--no-such-option")

    def test_hosts_follow_slurmd_nodename(self):
        forms = [("seq", 1), ("omp", 2), ("mpi", 2), ("hybrid", (2, 2))]
        for backend, workers in forms:
            with self.subTest(backend=backend), TempDir() as tmp:
                os.environ["SLURMD_NODENAME"] = "node-from-slurm"
                try:
                    proc = run("nlreg", backend, workers,
                               ["--data", os.path.join(DATA, "quad-small.h5"), "--epochs", "2", "--quiet",
                                "--record", tmp.records], timeout=TIMEOUT_S)
                finally:
                    del os.environ["SLURMD_NODENAME"]
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(appended_record(proc)["hosts"], ["node-from-slurm"])


if __name__ == "__main__":
    unittest.main()
