"""Grid parameters follow the executables' option rules (their --describe, applied by
jobs/options.py), and the grid example of jobs/README.md is accepted as written. That the
schema agrees with every executable's --help is tests/e2e/test_describe.py's."""

import os
import re
import subprocess
import unittest

from jobs import sweep
from jobs.tests.helpers import SweepTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class TestParameterRules(SweepTestCase):

    GRID = """
        [sweep]
        name = p

        [workload {app}]
        datasets = {data}/a.h5
        {key} = {value}
        """

    def params(self, app, key, value):
        g = sweep.load_grid_file(self.grid(self.GRID.format(app=app, data=self.data, key=key, value=value)))
        return sweep.normalise_grid(g)["workloads"][0]["params"]

    def test_values_the_executables_refuse_are_refused(self):
        bad = [("kmeans", "k", "0"), ("kmeans", "k", "-3"), ("kmeans", "k", "0x10"), ("kmeans", "k", "1_0"),
               ("kmeans", "k", "1e3"), ("kmeans", "k", "2147483648"), ("kmeans", "iters", "0"),
               ("kmeans", "tol", "-1e-9"), ("kmeans", "tol", "inf"), ("kmeans", "tol", "nan"),
               ("kmeans", "tol", "0x1p3"), ("kmeans", "seed", str(2 ** 64)), ("kmeans", "seed", "-1"),
               ("kmeans", "algorithm", "fast"), ("kmeans", "mstep", "sideways"), ("kmeans", "init", ""),
               ("kmeans", "checkpoint_every", "-1"),
               ("nlreg", "epochs", "0"), ("nlreg", "lr", "0"), ("nlreg", "lr", "-0.1"), ("nlreg", "lr", "Auto"),
               ("nlreg", "lr", "infinity"), ("nlreg", "solver", "adam"), ("nlreg", "target_mse", "-1"),
               ("nlreg", "threads", "2"), ("nlreg", "data", "x.h5"), ("nlreg", "k", "3")]
        for app, key, value in bad:
            with self.subTest(app=app, key=key, value=value):
                with self.assertRaises(sweep.SweepError) as cm:
                    self.params(app, key, value)
                self.assertIn(key, str(cm.exception))

    def test_values_the_executables_take_are_taken(self):
        good = [("kmeans", "k", "1", 1), ("kmeans", "seed", str(2 ** 64 - 1), 2 ** 64 - 1),
                ("kmeans", "tol", "0", 0.0), ("kmeans", "tol", "1e-6", 1e-6), ("kmeans", "algorithm", "elkan", "elkan"),
                ("kmeans", "init", "kmeans++", "kmeans++"), ("kmeans", "checkpoint_every", "0", 0),
                ("nlreg", "lr", "auto", "auto"), ("nlreg", "lr", ".5", 0.5), ("nlreg", "solver", "normal", "normal"),
                ("nlreg", "target_mse", "0.25", 0.25), ("nlreg", "target-mse", "0", 0.0)]
        for app, key, value, want in good:
            with self.subTest(app=app, key=key, value=value):
                got = self.params(app, key, value)
                self.assertEqual(got, {key.replace("-", "_"): want})

    def test_json_values_follow_the_same_rules(self):
        for params, ok in (({"k": 3}, True), ({"k": 3.0}, False), ({"k": True}, False), ({"k": 0}, False),
                           ({"tol": 0}, True), ({"tol": -0.5}, False), ({"lr": "auto"}, False),
                           ({"seed": 2 ** 64}, False)):
            g = {"name": "j", "workloads": {"kmeans": {"datasets": ["x.h5"], "params": params}}}
            with self.subTest(params=params):
                if ok:
                    sweep.normalise_grid(g)
                else:
                    with self.assertRaises(sweep.SweepError):
                        sweep.normalise_grid(g)

    def test_empty_dataset_paths_are_refused(self):
        for value in ('""', "''", 'a.h5 ""', ""):
            with self.subTest(datasets=value):
                text = self.GRID.format(app="kmeans", data=self.data, key="k", value=3).replace(
                    "datasets = %s/a.h5" % self.data, "datasets = " + value)
                with self.assertRaises(sweep.SweepError) as cm:
                    sweep.normalise_grid(sweep.load_grid_file(self.grid(text)))
                self.assertIn("datasets", str(cm.exception))

    def test_every_option_reaches_the_command_line(self):
        g = self.grid("""
            [sweep]
            name = every
            forms = seq

            [workload kmeans]
            datasets = %(d)s/a.h5
            algorithm = elkan   ; the accelerated one
            mstep = owner
            k = 4
            checkpoint_every = 5

            [workload nlreg]
            datasets = %(d)s/a.h5
            lr = auto           # the largest safe rate
            solver = normal
            target-mse = 0.5
            """ % {"d": self.data})
        rc, out, err = self.run_sweep("submit", g, "--no-slurm", "--dry-run", *self.common())
        self.assertEqual(rc, 0, err)
        for words in ("--algorithm elkan", "--mstep owner", "--k 4", "--checkpoint-every 5", "--lr auto",
                      "--solver normal", "--target-mse 0.5"):
            self.assertIn(words, out)

    def test_missing_init_file_is_found_before_submitting(self):
        g = self.grid(self.GRID.format(app="kmeans", data=self.data, key="init", value=self.data + "/nosuch.h5"))
        rc, out, err = self.run_sweep("submit", g, "--no-slurm", *self.common())
        self.assertEqual(rc, 2)
        self.assertIn("nosuch.h5 is neither random nor kmeans++ nor an existing file", err)

    def test_a_grid_that_is_not_utf8_is_one_line(self):
        for name, data in (("bad.ini", b"[sweep]\nname = caf\xe9\n"), ("bad.json", b'{"name": "caf\xe9"}')):
            path = os.path.join(self.tmp, name)
            with open(path, "wb") as fh:
                fh.write(data)
            p = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "jobs", "sweep.py"), "submit", path,
                                "--no-slurm", "--dry-run"] + self.common(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
            self.assertIn("is not UTF-8", p.stderr)
            self.assertNotIn("Traceback", p.stderr)


class TestReadmeGrid(unittest.TestCase):
    """The grid example in jobs/README.md, exactly as written there."""

    def test_readme_example_is_accepted(self):
        with open(os.path.join(REPO, "jobs", "README.md"), encoding="utf-8") as fh:
            blocks = re.findall(r"^```ini\n(.*?)^```", fh.read(), re.S | re.M)
        self.assertEqual(len(blocks), 1, "expected one ```ini block in jobs/README.md")
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "readme.ini")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(blocks[0])
            g = sweep.normalise_grid(sweep.load_grid_file(path))
        self.assertEqual((g["name"], g["profile"], g["repetitions"]), ("scaling", "stokes", 5))
        self.assertEqual(g["forms"], ["seq", "omp", "mpi", "hybrid"])
        self.assertEqual(g["form_axes"]["omp"]["threads"], [1, 2, 4, 8, 16, 24, 48])
        (w,) = g["workloads"]
        self.assertEqual(w["datasets"], ["datasets/mnist10k.h5", "datasets/my data.h5"])
        self.assertEqual(w["params"], {"k": 10, "iters": 100})
        self.assertIsNone(g["time"])
        cells = sweep.expand(g, sweep.load_profile(g["profile"]), 48, None)
        self.assertTrue(any(c.form == "hybrid" and c.nodes == 4 for c in cells))


if __name__ == "__main__":
    unittest.main()
