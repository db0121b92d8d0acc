"""The scheduler without Slurm (profile direct): each job script runs on this machine, once per
repetition, under its time limit, and the report step runs after them. Same interface as
slurm.SlurmScheduler."""

import os
import signal
import subprocess
import sys
import time

from .common import PROG, REPO, fmt_time, parse_time


def run_direct(ctx, job, script_path):
    """Run a rendered job script on this machine, once per repetition, with its time limit."""
    states, jids = {}, {}
    for rep in job.reps:
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("SLURM_"):
                del env[k]
        env["SWEEP_REP"] = str(rep)
        jid = "direct-%s-%s-r%d-%d" % (time.strftime("%Y%m%dT%H%M%S", time.gmtime()), job.name, rep, os.getpid())
        env["SWEEP_DIRECT_JOB_ID"] = jid
        os.makedirs(ctx.logs_dir, exist_ok=True)
        log = os.path.join(ctx.logs_dir, "%s.out" % jid)
        print("%s: running %s repetition %d directly (time limit %s), log %s" % (PROG, job.name, rep,
                                                                                  fmt_time(job.time), log))
        with open(log, "w") as fh:
            p = subprocess.Popen(["bash", script_path], stdout=fh, stderr=subprocess.STDOUT, env=env,
                                 cwd=REPO, start_new_session=True)
            try:
                rc = p.wait(timeout=job.time)
                state = "COMPLETED" if rc == 0 else "FAILED"
            except (subprocess.TimeoutExpired, KeyboardInterrupt) as e:
                # the script runs in its own session: stop all of it (bash and the run in progress)
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                if isinstance(e, KeyboardInterrupt):
                    raise
                state = "TIMEOUT"
                print("%s: %s repetition %d was killed at its time limit %s (TIMEOUT); records written before are "
                      "kept" % (PROG, job.name, rep, fmt_time(job.time)), file=sys.stderr)
        states[str(rep)] = state
        jids[str(rep)] = jid
    return states, jids


class DirectScheduler(object):
    """Runs every job script here, one after another; nothing is queued."""

    name = "direct"
    tests_scripts = False

    def check_ready(self):
        pass

    def script_tester(self):
        return None

    def still_queued(self, missing, latest):
        return set(), set()

    def start_job(self, ctx, job, path):
        states, jids = run_direct(ctx, job, path)
        return {"job_id": "direct", "direct_states": states, "direct_jobs": jids}, None

    def start_report(self, ctx, path, cli, deps, stamp):
        print("%s: running the report step directly" % PROG)
        log = os.path.join(ctx.logs_dir, "%s-report-direct-%s.out" % (ctx.slug, stamp))
        with open(log, "w") as fh:
            try:
                rc = subprocess.run(["bash", path], stdout=fh, stderr=subprocess.STDOUT, cwd=REPO,
                                    timeout=parse_time(ctx.profile["report_time"])).returncode
            except subprocess.TimeoutExpired:
                rc = 124
        with open(log, errors="replace") as fh:
            sys.stdout.write(fh.read())
        if rc != 0:
            print("%s: the report step failed (exit %d); log %s" % (PROG, rc, log), file=sys.stderr)
        return None, None

    def follow(self, ctx, args, ids, report_id):
        return True
