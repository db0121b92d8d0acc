"""Option values: integers are plain decimal and in range for every integer
option (no hexadecimal or octal, no silent clamping at 2^64), every argument
is valid UTF-8 before the run starts (the record is JSON), and the malformed
values nothing guarded before (--seed abc, --tol nan, --init "", negative
--checkpoint-every) each end with one line and exit 2, appending no record
and writing no --out file."""
import os
import subprocess
import unittest

import numpy as np

from tests.e2e.util import TempDir, command, read_records, run, write_points, write_xy

FORMS = [("seq", 1), ("mpi", 2)]


class OptionRules(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir().__enter__()
        self.addCleanup(self.tmp.__exit__, None, None, None)
        self.points = self.tmp.file("points.h5")
        write_points(self.points, np.random.default_rng(5).normal(size=(120, 3)))
        self.xy = self.tmp.file("xy.h5")
        x = np.linspace(0, 1, 100)
        write_xy(self.xy, x, 3 * x * x + 1)

    def km(self, *extra):
        return ["--data", self.points, "--iters", "3", "--quiet", "--record", self.tmp.records, *extra]

    def usage_error(self, app, args, words, forms=FORMS):
        for backend, workers in forms:
            with self.subTest(backend=backend, args=args):
                out = self.tmp.file("out.h5")
                proc = run(app, backend, workers, list(args) + ["--out", out], timeout=60)
                self.assertEqual(proc.returncode, 2, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
                self.assertFalse(os.path.exists(out), "a refused run left an output file")
                lines = [l for l in proc.stderr.splitlines() if l.strip()]
                self.assertEqual(len(lines), 1, lines)
                self.assertTrue(lines[0].startswith(f"{app}_{backend}: "), lines[0])
                for w in words:
                    self.assertIn(w, lines[0])
                self.assertEqual(read_records(self.tmp.records), [])

    def test_integers_are_decimal(self):
        self.usage_error("kmeans", self.km("--k", "0x10"), ["--k", "0x10", "decimal"])
        self.usage_error("kmeans", self.km("--k", "3", "--iters", "0b11"), ["--iters"])
        self.usage_error("kmeans", self.km("--k", "3", "--seed", "0x2A"), ["--seed"])
        self.usage_error("nlreg", ["--data", self.xy, "--epochs", "0x10", "--record", self.tmp.records], ["--epochs"])

    def test_leading_zeros_are_decimal_not_octal(self):
        proc = run("kmeans", "seq", 1, self.km("--k", "010"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (rec,) = read_records(self.tmp.records)
        self.assertEqual(rec["params"]["k"], 10)

    def test_seed_range(self):
        self.usage_error("kmeans", self.km("--k", "3", "--seed", str(2 ** 64)), ["--seed", "out of range"])
        self.usage_error("kmeans", self.km("--k", "3", "--seed", "-1"), ["--seed"])
        self.usage_error("kmeans", self.km("--k", "3", "--seed", "abc"), ["--seed", "abc"])
        proc = run("kmeans", "seq", 1, self.km("--k", "3", "--seed", str(2 ** 64 - 1)))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (rec,) = read_records(self.tmp.records)
        self.assertEqual(rec["params"]["seed"], 2 ** 64 - 1)

    def test_int_options_out_of_range(self):
        self.usage_error("kmeans", self.km("--k", str(2 ** 63)), ["--k"])
        self.usage_error("kmeans", self.km("--k", str(2 ** 31)), ["--k"], forms=[("seq", 1)])

    def test_unguarded_values(self):
        ck = self.tmp.file("ck.h5")
        self.usage_error("kmeans", self.km("--k", "3", "--checkpoint", ck, "--checkpoint-every", "-1"),
                         ["--checkpoint-every"])
        self.usage_error("kmeans", self.km("--k", "3", "--tol", "nan"), ["--tol"])
        self.usage_error("kmeans", self.km("--k", "3", "--init", ""), ["--init"])
        self.usage_error("kmeans", ["--data", "", "--record", self.tmp.records], ["--data"])
        self.assertFalse(os.path.exists(ck))

    def test_arguments_must_be_utf8(self):
        # bytes arguments: the invalid UTF-8 reaches the program as is.
        for backend, workers in FORMS:
            with self.subTest(backend=backend):
                argv = [a.encode() for a in command("kmeans", backend, workers, self.km("--k", "3"))]
                proc = subprocess.run(argv + [b"--tag", b"sweep-\xff\xfe"], capture_output=True, timeout=60)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                lines = proc.stderr.decode(errors="replace").strip().splitlines()
                self.assertEqual(len(lines), 1, lines)
                self.assertIn("--tag", lines[0])
                self.assertIn("UTF-8", lines[0])
                self.assertEqual(read_records(self.tmp.records), [])
        # A data path that is not UTF-8 (a valid file under a Latin-1 name).
        latin1 = os.path.join(os.fsencode(self.tmp.path), b"donn\xe9es.h5")
        os.link(self.points, latin1)
        argv = [a.encode() for a in command("kmeans", "seq", 1, ["--k", "3", "--record", self.tmp.records])]
        proc = subprocess.run(argv + [b"--data", latin1], capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"UTF-8", proc.stderr)
        self.assertEqual(read_records(self.tmp.records), [])


if __name__ == "__main__":
    unittest.main()
