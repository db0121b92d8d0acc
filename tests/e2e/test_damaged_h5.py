"""Damaged HDF5 files: the saved fuzz inputs (tests/fuzz/regressions/h5/) through the
executables. Files named hdf5-crash-* once crashed the HDF5 library itself (Debian's
1.10.8, SIGSEGV and worse): the executables must walk them in a child process first
(src/io/h5_probe.hpp) and end with exit status 1 and one line, in every form, as
data, as --init centroids and as a --resume checkpoint. The other saved inputs broke
our own reader once: no crash, and an error is one line.
"""
import os
import shutil
import signal
import subprocess
import unittest

from tests.e2e.util import BIN, ROOT, SANITIZED, TempDir, read_records, run

REGRESSIONS = os.path.join(ROOT, "tests", "fuzz", "regressions", "h5")
# Every form; under the sanitizers (make test-asan) the first and the last, which between them
# take every start-up path (no MPI; MPI with threads): ~100 sanitized starts took 40 s.
BACKENDS = [("seq", 1), ("omp", 2), ("mpi", 2), ("hybrid", (2, 2))]
if SANITIZED:
    BACKENDS = [BACKENDS[0], BACKENDS[-1]]
MNIST = os.path.join(ROOT, "datasets", "mnist10k.h5")


def short(app):
    """Arguments for a short run of `app` (the files are rejected before it starts)."""
    return ["--iters", "2"] if app == "kmeans" else ["--epochs", "2"]


def saved(prefix=""):
    return sorted(os.path.join(REGRESSIONS, n) for n in os.listdir(REGRESSIONS) if n.startswith(prefix))


class DamagedHdf5(unittest.TestCase):
    def check(self, app, backend, workers, args, expect_error):
        """Runs one case; asserts no crash, one line on error, no record or output on error."""
        with TempDir() as tmp:
            out = tmp.file("out.h5")
            proc = run(app, backend, workers, list(args) + ["--record", tmp.records, "--out", out, "--quiet"],
                       timeout=120)
            lines = [l for l in proc.stderr.splitlines() if l.strip()]
            self.assertIn(proc.returncode, (1,) if expect_error else (0, 1), f"stderr={proc.stderr!r}")
            if proc.returncode == 1:
                self.assertEqual(len(lines), 1, f"expected one error line, got {lines!r}")
                self.assertTrue(lines[0].startswith(f"{app}_{backend}: "), lines[0])
                self.assertEqual(read_records(tmp.records), [])
                self.assertFalse(os.path.exists(out), "an output file was left behind")
            return lines[0] if lines else ""

    def test_library_crash_inputs_as_data(self):
        crashes = saved("hdf5-crash-")
        self.assertTrue(crashes, f"no hdf5-crash-* inputs in {REGRESSIONS}")
        damaged = 0
        for path in crashes:
            for app in ("kmeans", "nlreg"):
                for backend, workers in BACKENDS:
                    with self.subTest(file=os.path.basename(path), app=app, backend=backend):
                        line = self.check(app, backend, workers, ["--data", path] + short(app), True)
                        damaged += "damaged HDF5 file" in line
        # The guard, not a later check, stopped at least one of them (each crashed the library once).
        self.assertGreater(damaged, 0)

    def test_library_crash_inputs_as_init_and_checkpoint(self):
        # Each walk touches only what its reader reads, so the message may name the
        # damage or a missing dataset: either way one line and exit 1.
        for path in saved("hdf5-crash-"):
            for backend, workers in BACKENDS:
                with self.subTest(file=os.path.basename(path), backend=backend, role="init"):
                    self.check("kmeans", backend, workers, ["--data", MNIST, "--init", path, "--iters", "2"], True)
                with self.subTest(file=os.path.basename(path), backend=backend, role="checkpoint"), TempDir() as tmp:
                    ckpt = tmp.file("ckpt.h5")
                    shutil.copy(path, ckpt)
                    self.check("kmeans", backend, workers,
                               ["--data", MNIST, "--checkpoint", ckpt, "--resume", "--iters", "2"], True)

    def test_started_with_sigchld_ignored(self):
        # An ignored SIGCHLD is inherited; the kernel would then reap the checking
        # child and its crash would go unseen (and the run would crash itself).
        path = saved("hdf5-crash-accum-read-segv-")[0]
        proc = subprocess.run([os.path.join(BIN, "kmeans_seq"), "--data", path, "--record", "none"],
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("damaged HDF5 file", proc.stderr)

    def test_other_saved_inputs(self):
        for path in saved():
            if os.path.basename(path).startswith("hdf5-crash-"):
                continue
            for app in ("kmeans", "nlreg"):
                with self.subTest(file=os.path.basename(path), app=app):
                    self.check(app, "seq", 1, ["--data", path] + short(app), False)


if __name__ == "__main__":
    unittest.main()
