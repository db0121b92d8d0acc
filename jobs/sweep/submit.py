"""`submit`: plan the missing runs of a grid, then hand the job scripts to the profile's scheduler
(slurm.SlurmScheduler or direct.DirectScheduler, one interface), record each submission in the
sweep's state, and add the report job. `--dry-run` renders and checks instead."""

import json
import os
import shlex
import shutil
import sys
import tempfile
import time

from .common import PROG, RunError, lock_append, read_records, fmt_time, run_cmd
from .context import build_ctx, check_inputs
from .direct import DirectScheduler
from .grid import Cell, expand_noting
from .plan import array_spec, plan_jobs
from .profiles import resolve_capacity
from .reconcile import format_status, sweep_status
from .recorded import classify, load_index
from .render import render_job, render_report
from .slurm import SlurmScheduler
from .state import latest_submission_of, load_submissions, save_plan


def scheduler_of(profile):
    return SlurmScheduler() if profile["scheduler"] == "slurm" else DirectScheduler()


class Plan(object):
    """What a submit does: the grid's cells and, of their runs, those recorded, those an earlier
    job still holds in the queue (and its ids), and those to run now, grouped into jobs."""

    def __init__(self, ctx, sched, args):
        self.cores, self.max_nodes = resolve_capacity(ctx.profile)
        self.cells = expand_noting(ctx.grid, ctx.profile, self.cores, self.max_nodes)
        check_inputs(ctx, self.cells, strict=not args.dry_run)
        self.done, missing = classify(self.cells, ctx.grid["repetitions"], ctx.sweep, read_records(ctx.records),
                                      load_index(ctx.jobs_dir))
        self.queued, self.waiting_on = set(), set()
        if not args.force and missing:
            latest = latest_submission_of(load_submissions(ctx.sweep_dir))
            self.queued, self.waiting_on = sched.still_queued(missing, latest)
        self.todo = missing - self.queued
        self.jobs = [render_job(ctx, j) for j in plan_jobs(self.cells, self.todo)]

    def summary(self, ctx, verb):
        prof, reps = ctx.profile, ctx.grid["repetitions"]
        return ("%s: sweep %s, profile %s (%s, %d cores/node%s): %d cell(s) x %d repetition(s) = %d run(s): "
                "%d recorded, %d still queued, %d to %s" % (
                    PROG, json.dumps(ctx.sweep), prof["name"], prof["scheduler"], self.cores,
                    ", %d node(s)" % self.max_nodes if self.max_nodes else "", len(self.cells), reps,
                    len(self.cells) * reps, len(self.done), len(self.queued), len(self.todo), verb))


def cmd_submit(args):
    ctx = build_ctx(args)
    sched = scheduler_of(ctx.profile)
    if not args.dry_run:
        sched.check_ready()
    plan = Plan(ctx, sched, args)
    print(plan.summary(ctx, "check" if args.dry_run else "run"))
    if args.dry_run:
        return dry_run(ctx, plan.jobs, sched, args)
    if not plan.todo:
        if plan.queued:
            print("%s: nothing new to submit; %d run(s) are still queued in job(s) %s" % (
                PROG, len(plan.queued), ", ".join(sorted(plan.waiting_on))))
        else:
            print("%s: every run already has a valid record; nothing to submit (`make report` rebuilds the report)"
                  % PROG)
        return 0
    os.makedirs(ctx.logs_dir, exist_ok=True)
    os.makedirs(ctx.jobs_dir, exist_ok=True)
    save_plan(ctx, plan.cells)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    ids = start_jobs(ctx, sched, plan.jobs, stamp)
    report_id = None
    if not args.no_report:
        report_id = start_report(ctx, sched, ids + sorted(plan.waiting_on), stamp)
    return finish(ctx, sched, args, ids, report_id)


def submissions_path(ctx):
    return os.path.join(ctx.sweep_dir, "submissions.jsonl")


def start_jobs(ctx, sched, jobs, stamp):
    """Hands each job script to the scheduler and records the submission; -> the job ids to wait on."""
    ids = []
    for j in jobs:
        path = write_script(ctx, "%s-%s.sbatch" % (stamp, j.name), j.script)
        entry = {"kind": "run", "utc": stamp, "name": j.name, "shape": list(j.shape), "script": path,
                 "array": array_spec(j.reps) if j.is_array else None, "pairs": j.pairs(),
                 "scheduler": sched.name, "time": fmt_time(j.time)}
        try:
            fields, jid = sched.start_job(ctx, j, path)
        except RunError as e:
            raise RunError("%s\n%s" % (e, "jobs submitted before this one (%s) stay queued; once the cause is "
                           "fixed, re-running the same command submits only what is missing" % ", ".join(ids)
                           if ids else "nothing was submitted"))
        entry.update(fields)
        if jid:
            ids.append(jid)
        lock_append(submissions_path(ctx), [json.dumps(entry)])
    return ids


def start_report(ctx, sched, deps, stamp):
    text, cli = render_report(ctx, deps)
    path = write_script(ctx, "%s-%s-report.sbatch" % (stamp, ctx.slug), text)
    report_id, entry = sched.start_report(ctx, path, cli, deps, stamp)
    if entry:
        lock_append(submissions_path(ctx), [json.dumps(entry)])
    return report_id


def finish(ctx, sched, args, ids, report_id):
    if not sched.follow(ctx, args, ids, report_id):
        return 0
    with open(os.path.join(ctx.sweep_dir, "plan.json"), encoding="utf-8") as fh:
        plan_cells = [Cell.from_json(c) for c in json.load(fh)["cells"]]
    done, rows, _, _ = sweep_status(ctx.sweep, ctx.grid["repetitions"], plan_cells, ctx.records, ctx.jobs_dir,
                                    ctx.sweep_dir)
    for line in format_status(ctx.sweep, ctx.grid["repetitions"], plan_cells, done, rows):
        print(line)
    return 1 if rows else 0


def write_script(ctx, name, text):
    d = os.path.join(ctx.sweep_dir, "scripts")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    # Executable as far as the user's umask allows (created anew: os.open's mode applies only then).
    if os.path.exists(path):
        os.remove(path)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777), "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def dry_run(ctx, jobs, sched, args):
    """Prints every script, checks it with bash -n and (Slurm) sbatch --test-only; submits nothing."""
    testing = sched.tests_scripts and not args.no_test_only
    tester = sched.script_tester() if testing else None
    tmp = tempfile.mkdtemp(prefix="sweep-dry-")
    bad = 0
    items = [(j.name, j.script, j.cli) for j in jobs]
    if jobs and not args.no_report:
        text, cli = render_report(ctx, ["<ids of the jobs above>"])
        items.append((ctx.slug + "-report", text, cli))
    try:
        for name, text, cli in items:
            path = os.path.join(tmp, name + ".sbatch")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            print("=" * 24 + " %s (sbatch %s) " % (name, " ".join(shlex.quote(c) for c in cli + [name + ".sbatch"])) + "=" * 8)
            sys.stdout.write(text)
            rc, _, err = run_cmd(["bash", "-n", path])
            if rc != 0:
                bad += 1
                print("%s: %s: bash -n: %s" % (PROG, name, err.strip()), file=sys.stderr)
            if tester:
                ok, msg = tester(path, cli)
                print("---- sbatch --test-only: %s: %s" % ("OK" if ok else "REJECTED", msg))
                bad += 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not items:
        print("%s: nothing to run: every run already has a valid record" % PROG)
    if testing and not tester:
        raise RunError("the scripts above could not be checked: sbatch is not on PATH (use --no-test-only to only render)")
    if bad:
        raise RunError("%d script(s) rejected (see above)" % bad)
    print("%s: dry run: %d script(s) rendered%s; nothing submitted" % (
        PROG, len(items), " and accepted by sbatch --test-only" if testing else ""))
    return 0
