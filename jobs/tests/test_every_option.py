"""Grids that use the options added to the executables last (algorithm, solver, lr = auto): they
dry-run, run without Slurm, and a second submit finds them recorded and submits nothing. And the
job script's "already recorded" test is the sweep's own rule (jobs/sweep/recorded.py): a record
with the right tag but another configuration does not make the script skip the run."""

import json
import os
import shlex
import unittest

from jobs import sweep
from jobs.tests.helpers import SweepTestCase

GRID = """
[sweep]
name = every
repetitions = 2
forms = seq omp
threads = 2
time_per_run = 0:30

[workload kmeans]
app = kmeans
datasets = {data}/a.h5
k = 3
algorithm = elkan

[workload nlreg]
app = nlreg
datasets = {data}/b.h5
solver = normal
lr = auto
"""


class TestEveryOption(SweepTestCase):

    def submit(self, *extra):
        return self.run_sweep("submit", self.grid(GRID.format(data=self.data)), "--no-slurm",
                              "--set", "make=true", *self.common(*extra))

    def runs(self):
        """The argv of every run the fake executables made since the last call."""
        path = os.environ["FAKE_ARGV_LOG"]
        if not os.path.exists(path):
            return []
        with open(path) as fh:
            argvs = [json.loads(l) for l in fh]
        os.remove(path)
        return argvs

    def test_dry_run_passes_the_options(self):
        rc, out, err = self.submit("--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertIn("8 to check", out)                 # 2 workloads x (seq, omp) x 2 repetitions
        self.assertIn("--algorithm elkan", out)
        self.assertIn("--solver normal", out)
        self.assertIn("--lr auto", out)
        self.assertEqual(self.runs(), [])

    def test_direct_run_then_nothing_resubmitted(self):
        rc, out, err = self.submit()
        self.assertEqual(rc, 0, err + out[-3000:])
        recs = self.load_records()
        self.assertEqual(len(recs), 8)
        nl = [r for r in recs if r["app"] == "nlreg"]
        self.assertTrue(nl and all(r["params"]["lr"] == "auto" and r["params"]["solver"] == "normal" for r in nl))
        self.assertTrue(all(r["params"]["algorithm"] == "elkan" for r in recs if r["app"] == "kmeans"))
        self.assertEqual(len(self.runs()), 8)
        rc, out, err = self.submit()
        self.assertEqual(rc, 0, err)
        self.assertIn("8 recorded, 0 still queued, 0 to run", out)
        self.assertIn("nothing to submit", out)
        self.assertEqual(self.runs(), [])
        self.assertEqual(len(self.load_records()), 8)

    def test_job_script_reruns_a_run_recorded_with_another_configuration(self):
        self.assertEqual(self.submit()[0], 0)
        self.runs()
        # The nlreg seq runs now look as if made at a fixed rate: same tags, status ok. The sweep
        # does not count them, so it submits them again; the job script must then run them
        # rather than skip them as "already recorded" (a rule of its own would loop for ever).
        with open(self.records) as fh:
            recs = [json.loads(l) for l in fh]
        for r in recs:
            if r["app"] == "nlreg" and r["backend"] == "seq":
                r["params"]["lr"] = 0.01
        with open(self.records, "w") as fh:
            fh.write("".join(json.dumps(r) + "\n" for r in recs))
        rc, out, err = self.submit()
        self.assertEqual(rc, 0, err + out[-3000:])
        self.assertIn("6 recorded, 0 still queued, 2 to run", out)
        again = self.runs()
        self.assertEqual(len(again), 2, out)
        self.assertTrue(all(os.path.basename(a[0]) == "nlreg_seq" for a in again))
        rc, out, err = self.submit()
        self.assertIn("8 recorded, 0 still queued, 0 to run", out)
        self.assertEqual(self.runs(), [])


class TestExitCodesInTheJobScript(SweepTestCase):

    def test_every_exit_meaning_is_in_the_script(self):
        # The job script names a failed run's status from the sweep's own table (code 4, the
        # checkpointed stop, included), not from a copy of its own.
        g = sweep.normalise_grid(sweep.load_grid_file(self.grid(GRID.format(data=self.data))))
        ctx = sweep.Ctx(g, sweep.load_profile("direct"), self.results, self.records, self.tmp, self.bin)
        cells = sweep.expand(g, ctx.profile, 4, 1)
        (job,) = [sweep.render_job(ctx, j) for j in sweep.plan_jobs(cells[:1], {(cells[0].id, 0)})]
        meanings = sweep.exit_meaning()
        for code, meaning in meanings.items():
            self.assertIn("%d) why=%s ;;" % (code, shlex.quote(meaning)), job.script)
        self.assertEqual(sorted(c for c in meanings if c < 100), [0, 1, 2, 3, 4])   # the executables' table


if __name__ == "__main__":
    unittest.main()
