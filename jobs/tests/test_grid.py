"""Grid files, profiles and validation: impossible grids fail with a clear message."""

import json
import os
import unittest

from jobs import sweep
from jobs.tests.helpers import SweepTestCase

GRID = """
[sweep]
name = g
repetitions = 2
forms = seq omp mpi
nodes = 1 2
tasks_per_node = 1 2
threads = 1 2

[workload kmeans]
app = kmeans
datasets = {data}/a.h5
k = 3
iters = 5
"""


class TestGrid(SweepTestCase):

    def cells(self, text, profile="direct", cores=2, max_nodes=None, **over):
        g = sweep.normalise_grid(sweep.load_grid_file(self.grid(text.format(data=self.data))))
        g.update(over)
        prof = sweep.load_profile(profile)
        return sweep.expand(g, prof, cores, max_nodes)

    def test_forms_use_the_axes_that_apply_to_them(self):
        cells = self.cells(GRID)
        shapes = sorted((c.form, c.nodes, c.tasks_per_node, c.threads) for c in cells)
        self.assertEqual(shapes, [("mpi", 1, 1, 1), ("mpi", 1, 2, 1), ("mpi", 2, 1, 1), ("mpi", 2, 2, 1),
                                  ("omp", 1, 1, 1), ("omp", 1, 1, 2), ("seq", 1, 1, 1)])
        mpi22 = [c for c in cells if c.form == "mpi" and c.nodes == 2 and c.tasks_per_node == 2][0]
        self.assertEqual(mpi22.ranks, 4)
        self.assertEqual(mpi22.id, "kmeans.a.mpi.n2-t2-c1")

    def test_json_grid_equals_ini_grid(self):
        j = {"name": "g", "repetitions": 2, "forms": ["seq", "omp", "mpi"], "nodes": [1, 2],
             "tasks_per_node": [1, 2], "threads": "1 2",
             "workloads": {"kmeans": {"app": "kmeans", "datasets": [self.data + "/a.h5"], "params": {"k": 3, "iters": 5}}}}
        path = os.path.join(self.tmp, "g.json")
        with open(path, "w") as fh:
            json.dump(j, fh)
        a = sweep.expand(sweep.normalise_grid(sweep.load_grid_file(path)), sweep.load_profile("direct"), 2, None)
        b = self.cells(GRID)
        self.assertEqual([c.to_json() for c in a], [c.to_json() for c in b])

    def test_form_sections_override_axes(self):
        cells = self.cells(GRID + "\n[form omp]\nthreads = 1\n[form mpi]\nnodes = 2\n")
        self.assertEqual(sorted((c.form, c.nodes, c.threads) for c in cells if c.form != "seq"),
                         [("mpi", 2, 1), ("mpi", 2, 1), ("omp", 1, 1)])

    def test_hybrid_takes_ranks_and_threads(self):
        text = GRID.replace("forms = seq omp mpi", "forms = seq hybrid") + "\n[form hybrid]\ntasks_per_node = 1\nthreads = 2\n"
        cells = [c for c in self.cells(text) if c.form == "hybrid"]
        self.assertTrue(cells)
        self.assertTrue(all(c.threads == 2 for c in cells))
        for c in cells:
            self.assertEqual(c.ranks, c.nodes * c.tasks_per_node)
            self.assertEqual(c.cpus_per_task, c.threads)
        # threads > 1 for the pure MPI form points to hybrid.
        with self.assertRaises(sweep.SweepError) as cm:
            self.cells(GRID + "\n[form mpi]\nthreads = 2\n")
        self.assertIn("one thread per rank", str(cm.exception))
        self.assertIn("hybrid", str(cm.exception))

    def test_zero_nodes_is_impossible(self):
        for axis in ("nodes = 0 1", "tasks_per_node = 0", "threads = -1", "repetitions = 0"):
            key = axis.split()[0]
            text = "\n".join(axis if l.startswith(key + " ") else l for l in GRID.splitlines())
            with self.assertRaises(sweep.SweepError) as cm:
                self.cells(text)
            self.assertIn("positive integer", str(cm.exception))

    def test_more_cpus_than_cores_per_node_is_impossible(self):
        with self.assertRaises(sweep.SweepError) as cm:
            self.cells(GRID.replace("threads = 1 2", "threads = 1 4"))
        msg = str(cm.exception)
        self.assertIn("impossible grid", msg)
        self.assertIn("kmeans.a.omp.n1-t1-c4", msg)
        self.assertIn("2 cores per node", msg)
        # Stokes: 48 cores per node; 48 MPI ranks per node fit, 49 do not, nor 64 threads
        ok = self.cells(GRID.replace("tasks_per_node = 1 2", "tasks_per_node = 48"), "stokes", 48)
        self.assertTrue(any(c.tasks_per_node == 48 for c in ok))
        for change in (("tasks_per_node = 1 2", "tasks_per_node = 49"), ("threads = 1 2", "threads = 64")):
            with self.assertRaises(sweep.SweepError) as cm:
                self.cells(GRID.replace(*change), "stokes", 48)
            self.assertIn("48 cores per node", str(cm.exception))

    def test_too_many_nodes(self):
        with self.assertRaises(sweep.SweepError) as cm:
            self.cells(GRID, "direct", 2, 1)
        self.assertIn("direct runs use this machine only", str(cm.exception))
        with self.assertRaises(sweep.SweepError) as cm:
            self.cells(GRID.replace("nodes = 1 2", "nodes = 8"), "local", 2, 4)
        self.assertIn("8 nodes, but profile 'local' has 4", str(cm.exception))

    def test_unknown_things(self):
        bad = [(GRID.replace("app = kmeans", "app = kmedoids"), "unknown app"),
               (GRID.replace("k = 3", "kay = 3"), "unknown kmeans parameter 'kay'"),
               (GRID.replace("k = 3", "k = three"), "is not an int"),
               (GRID + "mstep = sideways\n", "mstep must be one of"),
               (GRID.replace("forms = seq omp mpi", "forms = seq cuda"), "unknown form 'cuda'"),
               (GRID + "\n[extras]\nx = 1\n", "unknown section [extras]"),
               (GRID.replace("name = g", "name =\n"), "needs a name"),
               (GRID.replace("datasets = {data}/a.h5", "datasets ="), "no datasets")]
        for text, msg in bad:
            with self.assertRaises(sweep.SweepError, msg=msg) as cm:
                self.cells(text)
            self.assertIn(msg, str(cm.exception))

    def test_unknown_profile(self):
        with self.assertRaises(sweep.SweepError) as cm:
            sweep.load_profile("frontier")
        self.assertIn("unknown cluster profile 'frontier'", str(cm.exception))
        self.assertIn("stokes", str(cm.exception))
        rc, out, err = self.run_sweep("submit", self.grid(GRID.format(data=self.data)), "--profile", "nosuch",
                                      *self.common())
        self.assertEqual(rc, 2)
        self.assertIn("unknown cluster profile 'nosuch'", err)

    def test_profile_overrides_are_checked(self):
        p = sweep.load_profile("stokes", {"account": "my-group", "constraint": "cascadelake"})
        self.assertEqual((p["account"], p["constraint"], p["partition"]), ("my-group", "cascadelake", "normal"))
        for over in ({"account": "a; rm -rf /"}, {"account": "a\nb"}, {"setup": "x"}, {"bogus": "1"}):
            with self.assertRaises(sweep.SweepError):
                sweep.load_profile("stokes", over)

    def test_newlines_are_rejected(self):
        j = {"name": "a\nb", "workloads": {"kmeans": {"datasets": ["x.h5"]}}}
        with self.assertRaises(sweep.SweepError) as cm:
            sweep.normalise_grid(j)
        self.assertIn("newline", str(cm.exception))
        j = {"name": "ok", "workloads": {"kmeans": {"datasets": ["x\ny.h5"]}}}
        with self.assertRaises(sweep.SweepError):
            sweep.normalise_grid(j)
        j = {"name": "ok", "workloads": {"kmeans": {"datasets": ["x.h5"], "params": {"init": "a\rb"}}}}
        with self.assertRaises(sweep.SweepError):
            sweep.normalise_grid(j)

    def test_times(self):
        self.assertEqual(sweep.parse_time("10"), 600)
        self.assertEqual(sweep.parse_time("1:30"), 90)
        self.assertEqual(sweep.parse_time("01:00:00"), 3600)
        self.assertEqual(sweep.parse_time("2-00"), 2 * 86400)
        self.assertEqual(sweep.parse_time("1-02:03:04"), 86400 + 2 * 3600 + 3 * 60 + 4)
        self.assertEqual(sweep.fmt_time(86400 + 61), "1-00:01:01")
        for bad in ("", "ten", "0", "1:2:3:4", "-5"):
            with self.assertRaises(sweep.SweepError):
                sweep.parse_time(bad)

    def test_command_line_grid(self):
        rc, out, err = self.run_sweep("submit", "--no-slurm", "--dry-run", "--name", "cli", "--app", "nlreg",
                                      "--dataset", self.data + "/a.h5", "--param", "epochs=5", "--forms", "seq omp",
                                      "--threads", "1,2", *self.common())
        self.assertEqual(rc, 0, err)
        self.assertIn("3 cell(s) x 1 repetition(s)", out[:300])
        self.assertIn("--epochs 5", out)


if __name__ == "__main__":
    unittest.main()
