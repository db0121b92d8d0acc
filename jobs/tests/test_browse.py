"""The commands for looking at submitted sweeps (jobs/browse.py): list, cancel, export --csv,
compare, status --json, the progress lines of submit --wait, and the report job's 1 CPU."""

import csv
import io
import json
import os
import unittest

from jobs import browse, sweep
from jobs.tests.helpers import SweepTestCase

GRID = """
[sweep]
name = {name}
repetitions = {reps}
forms = seq omp
threads = 1 2
time_per_run = 0:30

[workload kmeans]
app = kmeans
datasets = {data}/a.h5
k = 3
"""


class TestBrowse(SweepTestCase):

    def direct(self, name, reps=2):
        g = self.grid(GRID.format(name=name, reps=reps, data=self.data), name=name + ".ini")
        rc, out, err = self.run_sweep("submit", g, "--no-slurm", "--set", "make=true", *self.common())
        self.assertEqual(rc, 0, err + out[-2000:])
        return g

    def test_list_counts_done_queued_and_missing(self):
        self.direct("one")
        self.direct("two", reps=3)
        rc, out, err = self.run_sweep("list", "--results", self.results)
        self.assertEqual(rc, 0, err)
        rows = {l.split()[0]: l.split() for l in out.splitlines()[1:]}
        self.assertEqual(rows["one"][2:6], ["6", "6", "0", "0"])     # seq, omp t1, omp t2 x 2 reps
        self.assertEqual(rows["two"][2:6], ["9", "9", "0", "0"])
        # a lost record shows as missing
        recs = sweep.read_jsonl(self.records)
        with open(self.records, "w") as fh:
            for r in recs:
                if r["tag"] != "one/" + r["tag"].split("/")[1] + "/rep1":
                    fh.write(json.dumps(r) + "\n")
        rc, out, _ = self.run_sweep("list", "--results", self.results)
        rows = {l.split()[0]: l.split() for l in out.splitlines()[1:]}
        self.assertEqual(rows["one"][2:6], ["6", "3", "0", "3"])

    def test_list_of_an_empty_results_folder(self):
        rc, out, _ = self.run_sweep("list", "--results", self.results)
        self.assertEqual(rc, 0)
        self.assertIn("no sweeps", out)

    def test_export_csv_one_flat_row_per_record(self):
        g = self.direct("ex")
        out_path = os.path.join(self.tmp, "ex.csv")
        rc, out, err = self.run_sweep("export", g, "--csv", "--out", out_path, "--results", self.results)
        self.assertEqual(rc, 0, err)
        with open(out_path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        self.assertEqual(len(rows), 6)
        self.assertEqual(list(rows[0])[:5], ["tag", "sweep", "cell", "rep", "status"])
        self.assertTrue(all(r["sweep"] == "ex" and r["status"] == "ok" for r in rows))
        self.assertEqual(sorted({r["rep"] for r in rows}), ["0", "1"])
        self.assertIn("params.k", rows[0])
        self.assertEqual({r["params.k"] for r in rows}, {"3"})
        # the same by sweep name, to standard output
        rc, out, _ = self.run_sweep("export", "ex", "--results", self.results)
        self.assertEqual(len(list(csv.DictReader(io.StringIO(out)))), 6)

    def test_unknown_sweep_is_a_usage_error(self):
        rc, _, err = self.run_sweep("export", "nosuch", "--results", self.results)
        self.assertEqual(rc, 2)
        self.assertIn("no sweep", err)

    def test_compare_two_sweeps_cell_by_cell(self):
        self.direct("base", reps=3)
        self.direct("new", reps=3)
        # make every run of "new" twice as slow
        recs = sweep.read_jsonl(self.records)
        with open(self.records, "w") as fh:
            for r in recs:
                r["time_s"]["total"] = (2.0 if r["tag"].startswith("new/") else 1.0) + 0.01 * int(r["tag"][-1])
                fh.write(json.dumps(r) + "\n")
        rc, out, err = self.run_sweep("compare", "base", "new", "--results", self.results)
        self.assertEqual(rc, 0, err)
        lines = [l for l in out.splitlines() if l.startswith("kmeans")]
        self.assertEqual(len(lines), 3)
        for l in lines:
            f = l.split()
            self.assertEqual((f[2], f[4], f[5]), ("1.01", "2.01", "%.3f" % (2.01 / 1.01)))   # medians, B/A
            self.assertIn("too few repetitions", l)   # 3 + 3 runs can never reach the test's level

    def test_cancel_scancels_only_the_queued_jobs_it_recorded(self):
        self.fake_slurm(["sbatch", "squeue", "scancel"])
        g = self.grid(GRID.format(name="c", reps=2, data=self.data), name="c.ini")
        rc, out, err = self.run_sweep("submit", g, "--profile", "local", "--set", "cores_per_node=4",
                                      "--set", "max_nodes=1", *self.common())
        self.assertEqual(rc, 0, err + out)
        ids = [str(s["job_id"]) for s in sweep.load_submissions(os.path.join(self.results, "sweeps", "c"))]
        os.environ["FAKE_QUEUED"] = " ".join(ids[1:] + ["999"])     # the first has ended; 999 is not ours
        rc, out, err = self.run_sweep("cancel", g, "--results", self.results)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(self.slurmlog, "scancel.jsonl")) as fh:
            calls = [json.loads(l) for l in fh]
        self.assertEqual(calls, [ids[1:]])
        os.environ["FAKE_QUEUED"] = ""
        rc, out, _ = self.run_sweep("cancel", "c", "--results", self.results)
        self.assertEqual(rc, 0)
        self.assertIn("none of the sweep's jobs", out)

    def test_status_json(self):
        g = self.direct("sj")
        os.remove(self.records)
        rc, out, _ = self.run_sweep("status", g, "--json", "--no-slurm", *self.common())
        self.assertEqual(rc, 1)
        st = json.loads(out)
        self.assertEqual((st["sweep"], st["expected"], st["recorded"], len(st["missing"])), ("sj", 6, 0, 6))

    def test_wait_progress_prints_changes_and_backs_off(self):
        self.direct("pw", reps=2)
        d = os.path.join(self.results, "sweeps", "pw")
        queue = [{"1"}, {"1"}, {"1"}, set()]
        sleeps = []
        real = sweep.queued_ids
        sweep.queued_ids = lambda ids: queue.pop(0)
        self.addCleanup(setattr, sweep, "queued_ids", real)
        out = io.StringIO()
        browse.Progress(d, out).wait(["1"], deadline=1e12, sleep=sleeps.append)
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 1, lines)           # nothing changed: one line, not one per poll
        self.assertIn("6/6 runs recorded", lines[0])
        self.assertEqual(sleeps, [2.0, 4.0, 8.0])        # backoff, never every second
        self.assertTrue(all(s >= 1 for s in sleeps))


class TestReportJobCpus(SweepTestCase):

    def test_report_job_never_exclusive(self):
        g = sweep.normalise_grid(sweep.load_grid_file(self.grid(GRID.format(name="x", reps=1, data=self.data))))
        p = sweep.load_profile("stokes", {"account": "a"})
        self.assertTrue(p["exclusive"])
        ctx = sweep.Ctx(g, p, self.results, self.records, os.path.join(self.tmp, "report"), self.bin)
        text, cli = sweep.render_report(ctx, ["1"])
        self.assertNotIn("--exclusive", text + " ".join(cli))
        self.assertIn("#SBATCH --cpus-per-task=1\n", text)
        self.assertIn("#SBATCH --ntasks-per-node=1\n", text)
        cells = sweep.expand(g, p, 48, None)
        jobs = [sweep.render_job(ctx, j) for j in sweep.plan_jobs(cells, {(c.id, 0) for c in cells})]
        self.assertTrue(all("#SBATCH --exclusive\n" in j.script for j in jobs))   # run jobs still whole nodes


if __name__ == "__main__":
    unittest.main()


class TestBinarySets(SweepTestCase):
    """The job runs the first of the profile's bin_sets whose executables start on its node."""

    def make_set(self, name, starts):
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        for app in ("kmeans", "nlreg"):
            for b in ("seq", "omp", "mpi"):
                with open(os.path.join(d, "%s_%s" % (app, b)), "w") as fh:
                    if starts:
                        fh.write('#!/bin/bash\n[ "$1" = --help ] && exit 0\nexec %s "$@"\n'
                                 % os.path.join(self.bin, "%s_%s" % (app, b)))
                    else:   # what the start-up CPU check does on a node lacking the set's instructions
                        fh.write("#!/bin/bash\necho \"$(basename \"$0\"): this CPU lacks avx512fp16\" >&2\nexit 1\n")
                os.chmod(os.path.join(d, "%s_%s" % (app, b)), 0o755)
        return d

    def bins_used(self, sets):
        g = self.grid(GRID.format(name="bs", reps=1, data=self.data), name="bs.ini")
        rc, out, err = self.run_sweep("submit", g, "--no-slurm", "--set", "make=true", "--set",
                                      "bin_sets=" + " ".join(sets), *self.common())
        self.assertEqual(rc, 0, err + out[-2000:])
        jobs_dir = os.path.join(self.results, "jobs")
        used = set()
        for d in os.listdir(jobs_dir):
            p = os.path.join(jobs_dir, d, "job.txt")
            if os.path.isfile(p):
                with open(p) as fh:
                    used |= {l.split("=", 1)[1].strip() for l in fh if l.startswith("bin=")}
        self.assertEqual(len(self.load_records()), 3)
        return used

    def test_first_set_that_starts_is_used(self):
        newer, fits = self.make_set("spr", starts=False), self.make_set("skx", starts=True)
        self.assertEqual(self.bins_used([newer, fits]), {fits})

    def test_portable_set_when_none_starts(self):
        newer = self.make_set("spr", starts=False)
        self.assertEqual(self.bins_used([newer]), {self.bin})


class TestSpoolMerge(SweepTestCase):

    def test_report_job_merges_the_spool(self):
        g = self.grid(GRID.format(name="m", reps=1, data=self.data), name="m.ini")
        rc, out, err = self.run_sweep("submit", g, "--no-slurm", "--set", "make=true", "--no-report", *self.common())
        self.assertEqual(rc, 0, err)
        with open(self.records) as fh:
            lines = fh.read().splitlines()
        # as if the last run had found the records file unlockable: its record in the spool
        with open(self.records, "w") as fh:
            fh.write("\n".join(lines[:-1]) + "\n")
        os.makedirs(self.records + ".spool")
        with open(os.path.join(self.records + ".spool", "node1-1-1-0.jsonl"), "w") as fh:
            fh.write(lines[-1] + "\n")
        rc, out, _ = self.run_sweep("status", g, "--no-slurm", *self.common())
        self.assertEqual(rc, 0, out)                  # status reads the spool too
        rc, out, err = self.run_sweep("reconcile", "--sweep-dir", os.path.join(self.results, "sweeps", "m"))
        self.assertEqual(rc, 0, err)
        self.assertIn("merged 1 record(s)", out)
        with open(self.records) as fh:
            self.assertEqual(fh.read().splitlines(), lines)
        self.assertEqual(os.listdir(self.records + ".spool"), [])
