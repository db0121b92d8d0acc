"""Rendering: required directives and exports, launchers per profile, quoting of hostile names."""

import json
import os
import re
import shlex
import shutil
import subprocess
import unittest

from jobs import sweep
from jobs.tests.helpers import SweepTestCase, write_exe

GRID = """
[sweep]
name = r
repetitions = {reps}
forms = seq omp mpi
nodes = 2
tasks_per_node = 2
threads = 2

[workload kmeans]
app = kmeans
datasets = {data}/a.h5
k = 3
"""


class TestRender(SweepTestCase):

    def render(self, profile="local", reps=1, grid=None, cores=2, **over):
        g = sweep.normalise_grid(sweep.load_grid_file(self.grid((grid or GRID).format(data=self.data, reps=reps))))
        p = sweep.load_profile(profile, over)
        cells = sweep.expand(g, p, cores, None)
        ctx = sweep.Ctx(g, p, self.results, self.records, os.path.join(self.tmp, "report"), self.bin)
        missing = {(c.id, r) for c in cells for r in range(g["repetitions"])}
        return ctx, [sweep.render_job(ctx, j) for j in sweep.plan_jobs(cells, missing)]

    def test_every_job_sets_resources_time_output_and_thread_environment(self):
        ctx, jobs = self.render()
        self.assertEqual(sorted(j.shape for j in jobs), [(1, 1, 1), (1, 1, 2), (2, 2, 1)])
        for j in jobs:
            s = j.script
            n, t, c = j.shape
            for line in ("#SBATCH --nodes=%d" % n, "#SBATCH --ntasks-per-node=%d" % t,
                         "#SBATCH --cpus-per-task=%d" % c, "#SBATCH --job-name=r-n%d-t%d-c%d" % j.shape,
                         "export OMP_PLACES=cores", "export OMP_PROC_BIND=close", "export OPENBLAS_NUM_THREADS=1",
                         'export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-$SHAPE_THREADS}"',
                         'export SRUN_CPUS_PER_TASK="${SLURM_CPUS_PER_TASK:-$SHAPE_THREADS}"'):
                self.assertIn(line + "\n", s, line)
            self.assertRegex(s, r"#SBATCH --time=\d\d:\d\d:\d\d\n")
            # a requeued job appends to its log instead of truncating the earlier segments
            self.assertIn("#SBATCH --requeue\n#SBATCH --open-mode=append\n", s)
            # Binding only for tasks with several threads: pinned single-thread MPI ranks
            # would all land on the first core of their mask.
            self.assertRegex(s, r'-gt 1 \]; then\n  export OMP_PLACES=cores\n  export OMP_PROC_BIND=close\nfi')
            self.assertRegex(s, r"#SBATCH --output=\S+/jobs/logs/%x-%j\.out\n")
            self.assertNotIn("--array", s)
            self.assertEqual(subprocess.run(["bash", "-n"], input=s.encode()).returncode, 0)
        mpi = [j for j in jobs if j.shape == (2, 2, 1)][0].script
        self.assertIn("srun --mpi=pmi2 --nodes=2 --ntasks=4 --ntasks-per-node=2 --cpus-per-task=1 \"$BIN\"/kmeans_mpi", mpi)
        omp = [j for j in jobs if j.shape == (1, 1, 2)][0].script
        self.assertIn('"$BIN"/kmeans_omp --data', omp)
        self.assertIn('--threads "$OMP_NUM_THREADS"', omp)

    def test_arrays_only_over_repetitions_with_array_output_names(self):
        ctx, jobs = self.render(reps=3)
        self.assertEqual(len(jobs), 3)          # still one job per shape
        for j in jobs:
            self.assertIn("#SBATCH --array=0-2\n", j.script)
            self.assertRegex(j.script, r"#SBATCH --output=\S+/%x-%A_%a\.out\n")
            self.assertIn('REP="${SLURM_ARRAY_TASK_ID:-${SWEEP_REP:-0}}"', j.script)
        self.assertEqual(sweep.array_spec([0, 1, 2, 4, 6, 7]), "0-2,4,6-7")

    def test_mpiexec_launcher_from_the_profile(self):
        ctx, jobs = self.render("local", launcher="mpiexec")
        mpi = [j for j in jobs if j.shape == (2, 2, 1)][0].script
        self.assertIn('mpiexec.hydra -n 4 "$BIN"/kmeans_mpi', mpi)
        self.assertNotIn("srun --mpi", mpi.split("case \"$REP\"")[1])

    def test_hybrid_ranks_under_mpiexec_get_their_own_cores(self):
        grid = GRID.replace("forms = seq omp mpi", "forms = hybrid")
        ctx, jobs = self.render("local", grid=grid, cores=4, launcher="mpiexec")
        (hybrid,) = [j.script for j in jobs if j.shape == (2, 2, 2)]
        self.assertIn('mpiexec.hydra -n 4 -bind-to core:2 "$BIN"/kmeans_hybrid', hybrid)
        ctx, jobs = self.render("local", grid=grid, cores=4, launcher="mpiexec", mpiexec_bind="")
        self.assertIn('mpiexec.hydra -n 4 "$BIN"/kmeans_hybrid', [j.script for j in jobs if j.shape == (2, 2, 2)][0])
        for bad in ("-bind-to $(reboot)", "{rank}", "a;b"):
            with self.assertRaises(sweep.SweepError):
                sweep.load_profile("local", {"mpiexec_bind": bad})

    def test_stokes_profile(self):
        ctx, jobs = self.render("stokes", cores=48, account="grp-x", constraint="cascadelake")
        for j in jobs:
            s = j.script
            for line in ("#SBATCH --partition=normal", "#SBATCH --account=grp-x", "#SBATCH --constraint=cascadelake",
                         "#SBATCH --exclusive", 'spack env activate -d "$REPO"'):
                self.assertIn(line + "\n", s)
            secs = sweep.parse_time(re.search(r"--time=(\S+)", s).group(1))
            self.assertGreaterEqual(secs, 600)   # Stokes' default limit is 10 minutes: always set, never below
        text, cli = sweep.render_report(ctx, ["11", "12"])
        self.assertIn("#SBATCH --kill-on-invalid-dep=yes\n", text)
        self.assertIn("#SBATCH --partition=normal\n", text)
        self.assertIn("make report RECORDS=", text)
        self.assertIn("jobs/sweep.py reconcile", text)

    def test_report_job_with_a_path_make_cannot_carry(self):
        g = sweep.normalise_grid(sweep.load_grid_file(self.grid(GRID.format(data=self.data, reps=1))))
        ctx = sweep.Ctx(g, sweep.load_profile("local"), self.results, os.path.join(self.tmp, "my records.jsonl"),
                        os.path.join(self.tmp, "rep$out"), self.bin)
        text, cli = sweep.render_report(ctx, ["5"])
        self.assertNotIn("make report", text.split("set -uo pipefail")[1].split("echo")[0])
        self.assertIn("report/make_report.py --out '%s/rep$out' '%s/my records.jsonl'" % (self.tmp, self.tmp), text)
        self.assertEqual(subprocess.run(["bash", "-n"], input=text.encode()).returncode, 0)

    def test_warning_between_cells_requeues_the_job(self):
        # The first cell finishes just as Slurm's warning (USR1) reaches the job script: the
        # second cell must not start, and the job must put itself back in the queue.
        grid = GRID.replace("forms = seq omp mpi", "forms = seq") + "\n[workload nlreg]\ndatasets = {data}/a.h5\n"
        ctx, (job,) = self.render(grid=grid)
        script = os.path.join(self.tmp, "job.sh")
        with open(script, "w") as fh:
            fh.write(job.script)
        ran, requeued = os.path.join(self.tmp, "ran.log"), os.path.join(self.tmp, "scontrol.log")
        # A cell that ignores the warning itself, raises it in its parent and completes.
        write_exe(os.path.join(self.bin, "kmeans_seq"),
                  "#!/bin/bash\ntrap '' USR1\nkill -USR1 $PPID\nsleep 0.5\necho kmeans >>%s\n" % ran)
        write_exe(os.path.join(self.bin, "nlreg_seq"), "#!/bin/bash\necho nlreg >>%s\n" % ran)
        fake = os.path.join(self.tmp, "fakebin")
        os.makedirs(fake)
        write_exe(os.path.join(fake, "scontrol"), '#!/bin/bash\necho "$*" >>%s\n' % requeued)
        env = dict(os.environ, SLURM_JOB_ID="77", SLURM_JOB_NODELIST="n1", PATH=fake + os.pathsep + os.environ["PATH"])
        p = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(ran) as fh:
            self.assertEqual(fh.read().split(), ["kmeans"])
        with open(requeued) as fh:
            self.assertIn("requeue 77", fh.read().splitlines())

    def test_checkpointed_cell_requeues_whatever_the_launcher_says(self):
        # mpiexec.hydra usually exits 0 after its ranks saved their checkpoint and exited 4:
        # the job must still see the cell as interrupted (checkpoint there, no record) and
        # requeue, not take it as finished. The fake cell raises the warning in its parent,
        # saves its checkpoint when the warning reaches it, and exits 0 as hydra does.
        grid = GRID.replace("forms = seq omp mpi", "forms = seq")
        ctx, (job,) = self.render(grid=grid)
        script = os.path.join(self.tmp, "job.sh")
        with open(script, "w") as fh:
            fh.write(job.script)
        requeued = os.path.join(self.tmp, "scontrol.log")
        write_exe(os.path.join(self.bin, "kmeans_seq"),
                  "#!/bin/bash\n"
                  "while [ \"$1\" != --checkpoint ]; do shift; done; ckpt=$2\n"
                  "trap 'touch \"$ckpt\"; exit 0' USR1\n"
                  "sleep 0.3; kill -USR1 $PPID\n"
                  "for _ in $(seq 100); do sleep 0.1; done\n"
                  "exit 0\n")
        fake = os.path.join(self.tmp, "fakebin")
        os.makedirs(fake)
        write_exe(os.path.join(fake, "scontrol"), '#!/bin/bash\necho "$*" >>%s\n' % requeued)
        env = dict(os.environ, SLURM_JOB_ID="78", SLURM_JOB_NODELIST="n1", PATH=fake + os.pathsep + os.environ["PATH"])
        p = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("saved its checkpoint at the time-limit warning", p.stderr)
        self.assertTrue(os.path.exists(os.path.join(ctx.jobs_dir, "checkpoints", "kmeans.a.seq.n1-t1-c1-rep0.h5")))
        with open(requeued) as fh:
            self.assertIn("requeue 78", fh.read().splitlines())
        with open(os.path.join(ctx.jobs_dir, "78", "cells.log")) as fh:
            end = [l.split() for l in fh if l.startswith("end ")]
        self.assertEqual([e[3] for e in end], ["4"])
        self.assertEqual(end[0][5:], ["launcher_status=0"])

    def test_finished_cell_is_not_taken_for_an_interrupted_one(self):
        # The warning comes while the cell is finishing: it writes its record, removes its
        # checkpoint and exits 0: finished, no requeue for it.
        grid = GRID.replace("forms = seq omp mpi", "forms = seq")
        ctx, (job,) = self.render(grid=grid)
        script = os.path.join(self.tmp, "job.sh")
        with open(script, "w") as fh:
            fh.write(job.script)
        write_exe(os.path.join(self.bin, "kmeans_seq"),
                  "#!/bin/bash\n"
                  "trap '' USR1\nkill -USR1 $PPID\nsleep 0.3\n"
                  "printf '{\"tag\": %%s, \"status\": \"ok\"}\\n' %s >>%s\n"
                  % (shlex.quote(json.dumps(sweep.tag_of("r", "kmeans.a.seq.n1-t1-c1", 0))), shlex.quote(self.records)))
        os.makedirs(self.results, exist_ok=True)
        fake = os.path.join(self.tmp, "fakebin")
        os.makedirs(fake)
        write_exe(os.path.join(fake, "scontrol"), "#!/bin/bash\necho \"$*\" >>%s\n" % os.path.join(self.tmp, "sc.log"))
        env = dict(os.environ, SLURM_JOB_ID="79", SLURM_JOB_NODELIST="n1", PATH=fake + os.pathsep + os.environ["PATH"])
        p = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("saved its checkpoint", p.stderr)
        with open(os.path.join(self.tmp, "sc.log")) as fh:
            self.assertNotIn("requeue 79", fh.read().splitlines())

    @unittest.skipUnless(shutil.which("shellcheck"), "shellcheck not installed")
    def test_rendered_scripts_pass_shellcheck(self):
        for profile, cores in (("local", 2), ("stokes", 48), ("direct", 2)):
            ctx, jobs = self.render(profile, reps=2, cores=cores)
            texts = [j.script for j in jobs] + [sweep.render_report(ctx, ["1", "2"])[0]]
            for t in texts:
                p = subprocess.run(["shellcheck", "-"], input=t.encode(), stdout=subprocess.PIPE)
                self.assertEqual(p.returncode, 0, p.stdout.decode()[:2000])

    def test_directives_never_carry_unsafe_values(self):
        cli = []
        self.assertEqual(sweep.directive_or_cli("--output", "/a/b/%x-%j.out", cli), "#SBATCH --output=/a/b/%x-%j.out")
        self.assertEqual(sweep.directive_or_cli("--chdir", "/a b/c", cli), '#SBATCH --chdir="/a b/c"')
        line = sweep.directive_or_cli("--chdir", '/a"b#c', cli)
        self.assertTrue(line.startswith("# --chdir is given on the sbatch command line"))
        self.assertEqual(cli, ['--chdir=/a"b#c'])


class TestQuoting(SweepTestCase):
    """Hostile sweep names, workload names, dataset paths and result folders reach the executables
    intact and never run as shell code."""

    def test_hostile_names_and_paths(self):
        marker = os.path.join(self.tmp, "PWNED")
        evil_dir = os.path.join(self.tmp, "d a't\"a $(touch %s) `touch %s`; x" % (marker, marker))
        os.makedirs(evil_dir)
        ds = os.path.join(evil_dir, "in put;$HOME.h5")
        open(ds, "w").close()
        import json
        grid = {"name": "sw 'eep' \"$(touch %s)\" ; `id` & | > <" % marker,
                "repetitions": 2, "forms": ["seq", "omp"], "threads": [1],
                "workloads": {"k m$(touch %s)" % marker: {"app": "kmeans", "datasets": [ds],
                                                           "params": {"init": "kmeans++", "k": 2}}}}
        path = os.path.join(self.tmp, "evil.json")
        with open(path, "w") as fh:
            json.dump(grid, fh)
        results = os.path.join(self.tmp, "res \"ul'ts $(touch %s)" % marker)
        rc, out, err = self.run_sweep("submit", path, "--no-slurm", "--no-report", "--results", results,
                                      "--bin", self.bin)
        self.assertEqual(rc, 0, err + out[-2000:])
        self.assertFalse(os.path.exists(marker), "a name was executed as shell code")
        recs = sweep.read_jsonl(os.path.join(results, "runs.jsonl"))
        self.assertEqual(len(recs), 4)
        for r in recs:
            self.assertEqual(r["dataset"]["path"], ds)
            self.assertTrue(r["tag"].startswith(grid["name"] + "/"), r["tag"])
            self.assertEqual(r["params"]["init"], "kmeans++")
        # resuming finds them all again
        rc, out, err = self.run_sweep("submit", path, "--no-slurm", "--no-report", "--results", results,
                                      "--bin", self.bin)
        self.assertEqual(rc, 0)
        self.assertIn("4 recorded", out)
        self.assertIn("nothing to submit", out)


if __name__ == "__main__":
    unittest.main()
