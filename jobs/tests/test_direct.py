"""The grid without Slurm (profile direct), with fake executables: a failing cell, a cell killed
at the time limit, resume; earlier records are never lost."""

import os
import unittest

from jobs import sweep
from jobs.tests.helpers import SweepTestCase

GRID = """
[sweep]
name = d
repetitions = 2
forms = seq omp mpi
threads = 1 2
time_per_run = 0:30

[workload kmeans]
app = kmeans
datasets = {data}/a.h5 {data}/{second}
k = 3
"""


class TestDirect(SweepTestCase):

    def submit(self, second="b.h5", *extra):
        g = self.grid(GRID.format(data=self.data, second=second))
        return self.run_sweep("submit", g, "--no-slurm", "--set", "mpiexec=" + os.path.join(self.bin, "fake-mpiexec"),
                              "--set", "make=true", *self.common(*extra))

    def test_runs_records_and_resumes(self):
        rc, out, err = self.submit()
        self.assertEqual(rc, 0, err + out[-3000:])
        recs = self.load_records()
        self.assertEqual(len(recs), 2 * 4 * 2)      # 2 datasets x (seq, omp1, omp2, mpi1) x 2 reps
        mpi = [r for r in recs if r["backend"] == "mpi"]
        self.assertTrue(mpi and all(r["ranks"] == 1 for r in mpi))
        self.assertEqual(sorted({r["threads"] for r in recs if r["backend"] == "omp"}), [1, 2])
        self.assertTrue(all(r["prov"]["slurm_job_id"] is None for r in recs))
        # provenance per job, and the index
        jobs_dir = os.path.join(self.results, "jobs")
        index = sweep.load_index(jobs_dir)
        self.assertEqual(len(index), 4)             # 2 shapes x 2 repetitions
        for e in index.values():
            for f in ("job.txt", "lscpu.txt", "nodes.txt", "cells.log", "env.txt", "job-script.sh"):
                self.assertTrue(os.path.exists(os.path.join(jobs_dir, e["dir"], f)), f)
        # delete one cell's records: only that cell runs again
        with open(self.records) as fh:
            lines = fh.read().splitlines()
        keep = [l for l in lines if "d/kmeans.b.omp.n1-t1-c2/" not in l]
        self.assertEqual(len(keep), len(lines) - 2)
        with open(self.records, "w") as fh:
            fh.write("\n".join(keep) + "\n")
        os.remove(os.environ["FAKE_ARGV_LOG"])
        rc, out, err = self.submit()
        self.assertEqual(rc, 0, err)
        self.assertIn("14 recorded, 0 still queued, 2 to run", out)
        with open(os.environ["FAKE_ARGV_LOG"]) as fh:
            runs = fh.read().splitlines()
        self.assertEqual(len(runs), 2)
        self.assertTrue(all("d/kmeans.b.omp.n1-t1-c2/rep" in r for r in runs))
        self.assertEqual(len(self.load_records()), 16)

    def test_failing_cell_keeps_the_others_and_is_reported(self):
        rc, out, err = self.submit("FAIL.h5")
        self.assertEqual(rc, 1)
        self.assertIn("8 recorded, 8 missing", out)
        self.assertIn("MISSING kmeans.FAIL.seq.n1-t1-c1 rep0", out)
        self.assertIn("exited with status 1 (data error)", out)
        # status: one line per cell type by default, every missing run with -v
        g = self.grid(GRID.format(data=self.data, second="FAIL.h5"))
        rc, grouped, err = self.run_sweep("status", g, "--no-slurm", *self.common())
        self.assertEqual(rc, 1, err)
        self.assertRegex(grouped, r"\n  kmeans\.a\.omp +4/4 recorded\n")
        self.assertRegex(grouped, r"\n  kmeans\.FAIL\.omp +0/4 recorded, 4 missing: kmeans\.FAIL\.omp\.n1-t1-c1 rep0: "
                                  r".*exited with status 1 \(data error\).* \(and 3 more\)\n")
        self.assertNotIn("MISSING", grouped)
        self.assertEqual(len(grouped.splitlines()), 1 + 6 + 1)    # total, 6 cell types, the -v hint
        rc, detailed, err = self.run_sweep("status", g, "--no-slurm", "-v", *self.common())
        self.assertEqual(detailed.count("  MISSING kmeans.FAIL."), 8)
        recs = self.load_records()
        ok = [r for r in recs if r["status"] == "ok"]
        failed = [r for r in recs if r["status"] != "ok"]
        self.assertEqual(len(ok), 8)
        self.assertEqual(len(failed), 8)             # one failure record per missing run, for the report
        self.assertTrue(all(r["status"] == "failed" and "data error" in r["error"] for r in failed))
        self.assertTrue(all(r["dataset"]["path"].endswith("FAIL.h5") for r in failed))
        with open(self.records) as fh:
            before = fh.read()
        # run again: the ok cells are not re-run, the failed ones are, earlier lines are untouched
        rc, out, err = self.submit("FAIL.h5")
        self.assertEqual(rc, 1)
        self.assertIn("8 recorded, 0 still queued, 8 to run", out)
        with open(self.records) as fh:
            self.assertTrue(fh.read().startswith(before))

    def test_time_limit_kills_a_job_without_losing_records(self):
        g = self.grid(GRID.format(data=self.data, second="HANG.h5").replace("repetitions = 2", "repetitions = 1")
                      .replace("forms = seq omp mpi", "forms = seq"))
        rc, out, err = self.run_sweep("submit", g, "--no-slurm", "--time", "0:02", "--set", "make=true", *self.common())
        self.assertEqual(rc, 1)
        self.assertIn("killed at its time limit", err)
        recs = self.load_records()
        self.assertEqual([r["status"] for r in recs], ["ok", "timeout"])
        self.assertTrue(recs[0]["tag"].endswith("kmeans.a.seq.n1-t1-c1/rep0"))
        self.assertIn("killed at its time limit (TIMEOUT) while running kmeans.HANG.seq.n1-t1-c1 rep0", recs[1]["error"])

    def test_files_follow_the_umask_and_stay_in_the_results_folder(self):
        before = set(os.listdir(self.tmp))
        old = os.umask(0o027)
        try:
            rc, out, err = self.submit()
        finally:
            os.umask(old)
        self.assertEqual(rc, 0, err + out[-3000:])
        self.assertEqual(set(os.listdir(self.tmp)) - before - {"argv.jsonl", "grid.ini"}, {"results"})
        made = []
        for top, dirs, files in os.walk(self.results):
            made += [os.path.join(top, n) for n in dirs + files]
        self.assertGreater(len(made), 20)
        loose = [(p, oct(os.stat(p).st_mode & 0o777)) for p in made if os.stat(p).st_mode & 0o027]
        self.assertEqual(loose, [], "created with bits the umask 027 takes away")


class TestDirectSameGrid(SweepTestCase):

    def test_multi_node_cells_are_left_out_without_slurm(self):
        g = self.grid("""
            [sweep]
            name = mn
            forms = mpi
            nodes = 1 2 4
            tasks_per_node = 2

            [workload nlreg]
            datasets = %s/a.h5
            """ % self.data)
        rc, out, err = self.run_sweep("submit", g, "--no-slurm", "--set", "make=true",
                                      "--set", "mpiexec=" + os.path.join(self.bin, "fake-mpiexec"), *self.common())
        self.assertEqual(rc, 0, err)
        self.assertIn("left out 2 multi-node cell(s): nlreg.a.mpi.n2-t2-c1, nlreg.a.mpi.n4-t2-c1", err)
        self.assertEqual([(r["backend"], r["ranks"]) for r in self.load_records()], [("mpi", 2)])
        with self.assertRaises(sweep.SweepError) as cm:    # with Slurm the same grid is checked, not trimmed
            sweep.expand(sweep.normalise_grid(sweep.load_grid_file(g)), sweep.load_profile("local"), 2, 1)
        self.assertIn("2 nodes, but profile 'local' has 1", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
