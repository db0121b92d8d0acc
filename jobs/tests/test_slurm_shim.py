"""Submission through fake Slurm commands (no Slurm needed): Stokes scripts checked with
sbatch --test-only, job ids collected, the report job's dependency, resume while jobs are
queued, a missing sbatch, a rejected script, and a job killed at its time limit."""

import json
import os
import re
import unittest

from jobs import sweep
from jobs.tests.helpers import SweepTestCase

GRID = """
[sweep]
name = st
profile = stokes
repetitions = 3
forms = seq omp mpi
time_per_run = 00:02:00

[form omp]
threads = 1 24 48

[form mpi]
nodes = 1 2 4
tasks_per_node = 48

[workload kmeans]
app = kmeans
datasets = {data}/a.h5
k = 10
"""


class TestStokesWithFakeSbatch(SweepTestCase):

    def setUp(self):
        super().setUp()
        self.g = self.grid(GRID.format(data=self.data))

    def test_dry_run_renders_and_checks_every_script_with_test_only(self):
        self.fake_slurm(["sbatch"])
        rc, out, err = self.run_sweep("submit", self.g, "--dry-run", "--account", "grp", "--constraint", "cascadelake",
                                      *self.common())
        self.assertEqual(rc, 0, err)
        calls = self.slurm_calls()
        # 1x1x1 (seq, omp 1), 1x1x24, 1x1x48, mpi 1/2/4 nodes x 48 tasks, and the report job
        self.assertEqual(len(calls), 7)
        self.assertTrue(all(c["argv"][0] == "--test-only" for c in calls))
        self.assertEqual(out.count("---- sbatch --test-only: OK"), 7)
        for c in calls:
            s = c["script"]
            for line in ("#SBATCH --partition=normal", "#SBATCH --account=grp", "#SBATCH --constraint=cascadelake"):
                self.assertIn(line + "\n", s)
            self.assertGreaterEqual(sweep.parse_time(re.search(r"#SBATCH --time=(\S+)", s).group(1)), 600)
        shapes = sorted(re.search(r"--nodes=(\d+)\n#SBATCH --ntasks-per-node=(\d+)\n#SBATCH --cpus-per-task=(\d+)",
                                  c["script"]).groups() for c in calls[:-1])
        self.assertEqual(shapes, [("1", "1", "1"), ("1", "1", "24"), ("1", "1", "48"), ("1", "48", "1"),
                                  ("2", "48", "1"), ("4", "48", "1")])
        self.assertTrue(all("#SBATCH --array=0-2" in c["script"] for c in calls[:-1]))
        self.assertIn("srun --mpi=pmi2 --nodes=4 --ntasks=192 --ntasks-per-node=48", out)
        self.assertFalse(os.path.exists(os.path.join(self.results, "sweeps")), "a dry run writes no state")

    def test_test_only_rejection_is_an_error(self):
        self.fake_slurm(["sbatch"])
        os.environ["FAKE_SBATCH_MAX_NODES"] = "2"
        rc, out, err = self.run_sweep("submit", self.g, "--dry-run", *self.common())
        self.assertEqual(rc, 1)
        self.assertIn("REJECTED: sbatch: error: Batch job submission failed: Node count specification invalid", out)
        self.assertIn("1 script(s) rejected", err)

    def test_submit_collects_ids_and_the_report_job_depends_on_all(self):
        self.fake_slurm(["sbatch"])
        rc, out, err = self.run_sweep("submit", self.g, *self.common())
        self.assertEqual(rc, 0, err)
        calls = self.slurm_calls()
        self.assertEqual(len(calls), 7)
        run_ids = [str(101 + i) for i in range(6)]
        self.assertTrue(all(c["argv"][0] == "--parsable" for c in calls))
        report = calls[-1]["argv"]
        self.assertIn("--dependency=afterany:" + ":".join(run_ids), report)
        self.assertIn("--kill-on-invalid-dep=yes", report)
        self.assertIn("make report RECORDS=%s" % self.records, calls[-1]["script"])
        subs = sweep.load_submissions(os.path.join(self.results, "sweeps", "st"))
        self.assertEqual([s["job_id"] for s in subs], run_ids + ["107"])
        self.assertEqual(sum(len(s.get("pairs", [])) for s in subs), 7 * 3)
        for s in subs[:-1]:
            self.assertTrue(os.path.exists(s["script"]))

    def test_sbatch_refusing_a_job_mid_submission(self):
        self.fake_slurm(["sbatch", "squeue"])
        os.environ["FAKE_SBATCH_MAX_NODES"] = "2"      # the 4-node job (the last shape) is refused
        rc, out, err = self.run_sweep("submit", self.g, *self.common())
        self.assertEqual(rc, 1)
        self.assertIn("Node count specification invalid", err)
        self.assertIn("jobs submitted before this one (101, 102, 103, 104, 105) stay queued", err)
        subs = sweep.load_submissions(os.path.join(self.results, "sweeps", "st"))
        self.assertEqual([s["job_id"] for s in subs], ["101", "102", "103", "104", "105"])
        # fixed (here: the limit lifted) and re-run while the others are queued: only the 4-node job
        del os.environ["FAKE_SBATCH_MAX_NODES"]
        os.environ["FAKE_QUEUED"] = "101 102 103 104 105"
        rc, out, err = self.run_sweep("submit", self.g, *self.common())
        self.assertEqual(rc, 0, err)
        self.assertIn("18 still queued, 3 to run", out)
        self.assertIn("#SBATCH --nodes=4\n", self.slurm_calls()[-2]["script"])

    def test_resubmit_skips_runs_still_queued(self):
        self.fake_slurm(["sbatch", "squeue"])
        self.assertEqual(self.run_sweep("submit", self.g, *self.common())[0], 0)
        os.environ["FAKE_QUEUED"] = " ".join(str(101 + i) for i in range(6))
        rc, out, err = self.run_sweep("submit", self.g, *self.common())
        self.assertEqual(rc, 0, err)
        self.assertIn("21 still queued, 0 to run", out)
        self.assertIn("nothing new to submit", out)
        self.assertEqual(len(self.slurm_calls()), 7)
        # job 101 (seq + omp 1 thread) has gone without records: only its runs are submitted again,
        # and the new report job also waits for the jobs still queued
        os.environ["FAKE_QUEUED"] = " ".join(str(102 + i) for i in range(5))
        rc, out, err = self.run_sweep("submit", self.g, *self.common())
        self.assertEqual(rc, 0, err)
        self.assertIn("15 still queued, 6 to run", out)
        calls = self.slurm_calls()[7:]
        self.assertEqual(len(calls), 2)
        self.assertIn("--cpus-per-task=1\n", calls[0]["script"])
        self.assertIn("--dependency=afterany:108:102:103:104:105:106", calls[1]["argv"])

    def test_no_sbatch_on_path(self):
        os.environ["PATH"] = os.path.join(self.tmp, "empty")
        rc, out, err = self.run_sweep("submit", self.g, *self.common())
        self.assertEqual(rc, 2)
        self.assertIn("sbatch is not on PATH", err)
        self.assertIn("--no-slurm", err)
        rc, out, err = self.run_sweep("submit", self.g, "--dry-run", *self.common())
        self.assertEqual(rc, 1)
        self.assertIn("#SBATCH --partition=normal", out)       # still rendered
        self.assertIn("could not be checked: sbatch is not on PATH", err)

    def test_job_killed_at_time_limit_is_explained_and_recorded(self):
        self.fake_slurm(["sbatch", "scontrol"])
        g = self.grid(GRID.format(data=self.data).replace("repetitions = 3", "repetitions = 1")
                      .replace("forms = seq omp mpi", "forms = seq omp").replace("threads = 1 24 48", "threads = 1"))
        self.assertEqual(self.run_sweep("submit", g, "--no-report", *self.common())[0], 0)
        # what job 101 left: the first run recorded, the second one killed by Slurm
        a, b = "kmeans.a.seq.n1-t1-c1", "kmeans.a.omp.n1-t1-c1"
        jobdir = os.path.join(self.results, "jobs", "101")
        os.makedirs(jobdir)
        with open(os.path.join(jobdir, "cells.log"), "w") as fh:
            fh.write("start %s rep0 1\nend %s rep0 0 2\nstart %s rep0 2\n" % (a, a, b))
        ok = {"schema": "run/1", "app": "kmeans", "backend": "seq", "ranks": 1, "threads": 1, "nodes": 1,
              "status": "ok", "tag": "st/%s/rep0" % a, "dataset": {"path": self.data + "/a.h5", "sha256": ""},
              "params": {"k": 10, "iters": 100, "mstep": "reduce"}, "prov": {"slurm_job_id": "101"}}
        with open(self.records, "w") as fh:
            fh.write(json.dumps(ok) + "\n")
        with open(os.path.join(self.slurmlog, "states.json"), "w") as fh:
            json.dump({"101": "TIMEOUT"}, fh)
        sweep_dir = os.path.join(self.results, "sweeps", "st")
        rc, out, err = self.run_sweep("reconcile", "--sweep-dir", sweep_dir)
        self.assertEqual(rc, 0, err)
        self.assertIn("1 recorded, 1 missing", out)
        self.assertIn("MISSING %s rep0: job 101 was killed at its time limit (TIMEOUT) while running %s rep0" % (b, b), out)
        recs = sweep.read_jsonl(self.records)
        self.assertEqual(recs[0], ok)
        self.assertEqual(len(recs), 2)
        self.assertEqual((recs[1]["status"], recs[1]["tag"], recs[1]["prov"]["slurm_job_id"]),
                         ("timeout", "st/%s/rep0" % b, "101"))
        # the failure record joins the workload's group in the report: same params as the ok run
        self.assertEqual(recs[1]["params"], ok["params"])
        # reconciling again adds nothing; status says the same
        self.run_sweep("reconcile", "--sweep-dir", sweep_dir)
        self.assertEqual(len(sweep.read_jsonl(self.records)), 2)
        rc, out, err = self.run_sweep("status", g, *self.common())
        self.assertEqual(rc, 1)
        self.assertIn("killed at its time limit", out)


if __name__ == "__main__":
    unittest.main()
