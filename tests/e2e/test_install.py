"""`make install PREFIX=... DESTDIR=...`: a tree from which the executables and a sweep dry run work."""
import os
import subprocess
import sys
import tempfile
import unittest

from tests.e2e.util import BIN, ROOT
from tests.skips import skip_anywhere

PYTHON = os.environ.get("HPCB_PYTHON", sys.executable)


class Install(unittest.TestCase):
    def setUp(self):
        if os.path.realpath(BIN) != os.path.realpath(os.path.join(ROOT, "build", "release", "bin")):
            skip_anywhere(self, "installs the release build; HPCB_BIN points elsewhere (e.g. make test-asan)")

    def test_installed_tree_runs(self):
        with tempfile.TemporaryDirectory(prefix="hpcb-install-") as tmp:
            stage, prefix = os.path.join(tmp, "stage"), "/opt/hpcb"
            p = subprocess.run(["make", "install", "PREFIX=" + prefix, "DESTDIR=" + stage], cwd=ROOT,
                               capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            root = stage + prefix
            for exe in ("kmeans_seq", "kmeans_hybrid", "nlreg_mpi", "mkdata"):
                self.assertTrue(os.access(os.path.join(root, "bin", exe), os.X_OK), exe)
            help_ = subprocess.run([os.path.join(root, "bin", "kmeans_seq"), "--help"], capture_output=True, text=True)
            self.assertEqual(help_.returncode, 0, help_.stderr)
            share = os.path.join(root, "share", "hpc-batch")
            for f in ("jobs/sweep.py", "jobs/templates/run.sbatch.in", "report/make_report.py",
                      "datasets/raw/SHA256SUMS", "datasets/regression20k.h5", "Makefile"):
                self.assertTrue(os.path.isfile(os.path.join(share, f)), f)
            self.assertFalse(os.path.exists(os.path.join(share, "jobs", "tests")), "tests are not installed")
            # the link to PREFIX/bin is relative, so it resolves in the staged tree too
            self.assertTrue(os.path.samefile(os.path.join(share, "build", "release", "bin", "kmeans_seq"),
                                             os.path.join(root, "bin", "kmeans_seq")))
            dry = subprocess.run([PYTHON, os.path.join(share, "jobs", "sweep.py"), "submit",
                                  os.path.join(share, "jobs", "grids", "local-small.ini"), "--no-slurm", "--dry-run",
                                  "--results", os.path.join(tmp, "results"), "--report-out", os.path.join(tmp, "rep")],
                                 capture_output=True, text=True, timeout=120, cwd=tmp)
            self.assertEqual(dry.returncode, 0, dry.stderr)
            self.assertIn("BIN=" + os.path.join(share, "build", "release", "bin"), dry.stdout)
            self.assertIn("nothing submitted", dry.stdout)


if __name__ == "__main__":
    unittest.main()
