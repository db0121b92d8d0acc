"""A real MPI run stopped through mpiexec.hydra: the checkpoint is saved and the sweep's cell logic
calls the cell interrupted (resume), whatever hydra's own exit status (usually 0 although the
ranks exited 4). Needs the built executables and mpiexec.hydra; about 10 s."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from jobs import sweep
from jobs.tests.helpers import write_exe

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("HPCB_BIN") or os.path.join(REPO, "build", "release", "bin")
MPIEXEC = os.environ.get("HPCB_MPIEXEC") or "mpiexec.hydra"
# Overlapping blobs: Lloyd takes minutes to reach a fixed point with --tol 0, so the run is
# surely still iterating when the signal comes.
DATA_ARGS = ["blobs", "--n", "300000", "--d", "16", "--k", "64", "--seed", "1", "--dtype", "float32",
             "--std", "5", "--box", "1"]
# --checkpoint-every: the first periodic checkpoint shows the ranks are iterating, with their
# signal handlers in place (a signal during start-up, on a loaded machine, would kill them).
RUN_ARGS = ["--k", "64", "--iters", "100000", "--tol", "0", "--checkpoint-every", "5"]


def wait_for(path, proc, limit=120):
    end = time.time() + limit
    while not os.path.exists(path) and proc.poll() is None and time.time() < end:
        time.sleep(0.1)
    return os.path.exists(path) and proc.poll() is None


def cell_logic():
    """The template's `recorded` and `cell_outcome` functions, as the job script has them."""
    with open(os.path.join(REPO, "jobs", "templates", "run.sbatch.in"), encoding="utf-8") as fh:
        text = fh.read()
    return "\n".join(re.search(r"^%s\(\) \{\n.*?^\}\n" % name, text, re.S | re.M).group(0)
                     for name in ("recorded", "cell_outcome"))


class TestCheckpointThroughHydra(unittest.TestCase):

    def setUp(self):
        for tool in (os.path.join(BIN, "kmeans_mpi"), os.path.join(BIN, "mkdata")):
            if not os.access(tool, os.X_OK):
                if os.environ.get("HPCB_BIN"):
                    self.fail("%s is not built" % tool)
                self.skipTest("%s is not built (make)" % tool)
        if not shutil.which(MPIEXEC):
            self.skipTest("%s not found" % MPIEXEC)
        self.tmp = tempfile.mkdtemp(prefix="sweep-mpi-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "blobs.h5")
        subprocess.run([os.path.join(BIN, "mkdata")] + DATA_ARGS + ["--out", self.data], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        self.records = os.path.join(self.tmp, "runs.jsonl")

    def log(self, name):
        fh = open(os.path.join(self.tmp, name), "w")
        self.addCleanup(fh.close)
        return fh

    def sweep_of_one_cell(self, form, tasks_per_node):
        """A sweep "t" of one cell (self.data, RUN_ARGS), its plan saved as submit saves it."""
        g = sweep.normalise_grid({"name": "t", "forms": form, "tasks_per_node": tasks_per_node, "workloads": {
            "kmeans": {"datasets": [self.data], "params": {k[2:]: v for k, v in zip(RUN_ARGS[0::2], RUN_ARGS[1::2])}}}})
        prof = sweep.load_profile("direct", {"mpiexec": MPIEXEC})
        (cell,) = sweep.expand(g, prof, tasks_per_node, None)
        ctx = sweep.Ctx(g, prof, os.path.join(self.tmp, "results"), self.records, os.path.join(self.tmp, "report"), BIN)
        sweep.save_plan(ctx, [cell])
        return ctx, cell

    def outcome(self, rc, ckpt, ctx, cell, stopping=0):
        script = cell_logic() + '\nSTOPPING=%d\ncell_outcome "$@"\n' % stopping
        p = subprocess.run(["bash", "-c", script, "cell_outcome", str(rc), ckpt, cell.id, "0"],
                           env=dict(os.environ, REPO=REPO, PYTHON=sys.executable, SWEEP_DIR=ctx.sweep_dir),
                           stdout=subprocess.PIPE, universal_newlines=True, timeout=30)
        return p.stdout.strip()

    def test_sigterm_to_hydra_leaves_a_checkpoint_the_cell_logic_resumes(self):
        ckpt = os.path.join(self.tmp, "ckpt.h5")
        ctx, cell = self.sweep_of_one_cell("mpi", 2)
        tag = sweep.tag_of(ctx.sweep, cell.id, 0)
        p = subprocess.Popen([MPIEXEC, "-n", "2", os.path.join(BIN, "kmeans_mpi"), "--data", self.data,
                              "--record", self.records, "--tag", tag, "--checkpoint", ckpt] + RUN_ARGS,
                             stdout=self.log("out.txt"), stderr=subprocess.STDOUT)
        try:
            self.assertTrue(wait_for(ckpt, p), "the run did not start iterating")
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        with open(os.path.join(self.tmp, "out.txt")) as fh:
            out = fh.read()
        self.assertIn(p.returncode, (0, 4), out)     # hydra: 0 in most tries, 4 in others
        self.assertIn("state saved to", out)
        self.assertTrue(os.path.isfile(ckpt), out)
        self.assertFalse(os.path.exists(self.records), "an interrupted run appends no record")
        # whatever hydra said, and also when it says 0:
        self.assertEqual(self.outcome(p.returncode, ckpt, ctx, cell), "interrupted")
        self.assertEqual(self.outcome(0, ckpt, ctx, cell), "interrupted")
        # the contrasts: no checkpoint is a finished run; a valid record means finished too
        self.assertEqual(self.outcome(0, ckpt + ".none", ctx, cell), "finished")
        with open(self.records, "w") as fh:
            fh.write(json.dumps({"tag": tag, "status": "ok", "app": "kmeans", "backend": "mpi", "ranks": 2,
                                 "threads": 1, "nodes": 1, "dataset": {"path": self.data},
                                 "params": cell.params}) + "\n")
        self.assertEqual(self.outcome(0, ckpt, ctx, cell), "finished")
        self.assertEqual(self.outcome(1, ckpt + ".none", ctx, cell), "failed")

    def test_job_warning_through_hydra_requeues_the_cell(self):
        # The whole job script, as Slurm would run it: the time-limit warning (USR1) goes to
        # the batch shell, which passes it to mpiexec.hydra; the job must requeue itself.
        ctx, cell = self.sweep_of_one_cell("mpi", 2)
        (job,) = [sweep.render_job(ctx, j) for j in sweep.plan_jobs([cell], {(cell.id, 0)})]
        script = os.path.join(self.tmp, "job.sh")
        with open(script, "w") as fh:
            fh.write(job.script)
        fake = os.path.join(self.tmp, "fakebin")
        os.makedirs(fake)
        calls = os.path.join(self.tmp, "scontrol.log")
        write_exe(os.path.join(fake, "scontrol"), '#!/bin/bash\necho "$*" >>%s\n' % calls)
        env = dict(os.environ, SLURM_JOB_ID="81", SLURM_JOB_NODELIST="n1",
                   PATH=fake + os.pathsep + os.environ["PATH"])
        errf = os.path.join(self.tmp, "job.err")
        p = subprocess.Popen(["bash", script], env=env, stdout=subprocess.DEVNULL, stderr=self.log("job.err"))
        try:
            self.assertTrue(wait_for(os.path.join(ctx.jobs_dir, "checkpoints", "%s-rep0.h5" % cell.id), p),
                            "the run did not start iterating")
            p.send_signal(signal.SIGUSR1)
            p.wait(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        with open(errf) as fh:
            err = fh.read()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("saved its checkpoint at the time-limit warning", err)
        self.assertTrue(os.path.isfile(os.path.join(ctx.jobs_dir, "checkpoints", "%s-rep0.h5" % cell.id)))
        with open(calls) as fh:
            self.assertIn("requeue 81", fh.read().splitlines())
        with open(os.path.join(ctx.jobs_dir, "81", "cells.log")) as fh:
            end = [l.split() for l in fh if l.startswith("end ")]
        self.assertEqual([e[3] for e in end], ["4"], end)


if __name__ == "__main__":
    unittest.main()
