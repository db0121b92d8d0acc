"""The Slurm scheduler: jobs submitted with sbatch (the report job depends on the others), checked
with sbatch --test-only on a dry run; and the client queries, the states of jobs (sacct, else
scontrol) and which are still queued. direct.py is the same interface without Slurm."""

import re
import shlex
import shutil
import time

from .common import PROG, RunError, SweepError, fmt_time, run_cmd
from .plan import array_spec


def _expand_tasks(spec):
    """'3' / '[1-3,5]' / '1-3%2' -> [1, 2, 3, 5]; [] when not a task list."""
    spec = spec.strip("[]").split("%")[0]
    out = []
    for part in spec.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            return []
        a = int(m.group(1))
        out.extend(range(a, int(m.group(2) or a) + 1))
    return out


def job_states(ids):
    """{job id, or 'ARRAYID_TASK' for array elements: dict(state, exit, start, end, reason)}, from sacct
    when accounting works, else from scontrol (which knows finished jobs for MinJobAge seconds)."""
    ids = sorted({str(i).split("_")[0] for i in ids if i})
    if not ids:
        return {}
    states = {}

    def put(jobid, array_id, tasks, st):
        states[jobid] = st
        for t in tasks:
            states["%s_%d" % (array_id, t)] = st

    if shutil.which("sacct"):
        rc, out, _ = run_cmd(["sacct", "-n", "-P", "-X", "-j", ",".join(ids),
                              "-o", "JobID,State,ExitCode,Start,End,Reason"])
        if rc == 0 and out.strip():
            for line in out.splitlines():
                f = line.split("|")
                if len(f) < 5:
                    continue
                st = {"state": f[1].split()[0] if f[1] else "", "exit": f[2], "start": f[3], "end": f[4],
                      "reason": f[5] if len(f) > 5 else ""}
                aid, _, task = f[0].partition("_")
                put(f[0], aid, _expand_tasks(task) if task else [], st)
            return states
    if shutil.which("scontrol"):
        for jid in ids:
            rc, out, _ = run_cmd(["scontrol", "-o", "show", "job", jid])
            if rc != 0:
                continue
            for line in out.splitlines():
                kv = dict(re.findall(r"(\w+)=(\S*)", line))
                st = {"state": kv.get("JobState", ""), "exit": kv.get("ExitCode", ""),
                      "start": kv.get("StartTime", ""), "end": kv.get("EndTime", ""),
                      "reason": kv.get("Reason", ""), "job_id": kv.get("JobId", "")}
                tasks = _expand_tasks(kv["ArrayTaskId"]) if kv.get("ArrayJobId") and kv.get("ArrayTaskId") else []
                put(kv.get("JobId", ""), kv.get("ArrayJobId", ""), tasks, st)
    return states


ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED",
          "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "STOPPED"}


def queued_ids(ids):
    """Of these job ids (plain or array), the ones squeue still lists (pending or running)."""
    ids = [str(i) for i in ids if i]
    if not ids or not shutil.which("squeue"):
        return set()
    rc, out, _ = run_cmd(["squeue", "-h", "-j", ",".join(ids), "-o", "%i %T"])
    if rc != 0:
        # squeue fails for ids slurmctld has forgotten; ask one by one
        alive = set()
        for i in ids:
            rc, out, _ = run_cmd(["squeue", "-h", "-j", i, "-o", "%i %T"])
            if rc == 0 and out.strip():
                alive.add(i)
        return alive
    alive = set()
    for line in out.split("\n"):
        f = line.split()
        if f:
            alive.add(f[0].split("_")[0])
    return alive & set(ids)


def sbatch_test_only(script_path, cli):
    rc, out, err = run_cmd(["sbatch", "--test-only"] + cli + [script_path])
    msg = (err + out).strip()
    return rc == 0, msg


def submit_one(script_path, cli, extra=()):
    argv = ["sbatch", "--parsable"] + list(extra) + cli + [script_path]
    rc, out, err = run_cmd(argv)
    if rc != 0:
        raise RunError("sbatch failed (exit %d) for %s: %s" % (rc, script_path, (err or out).strip()))
    jid = out.strip().split(";")[0].strip()
    if not re.fullmatch(r"\d+", jid):
        raise RunError("sbatch --parsable printed %r for %s, not a job id" % (out.strip(), script_path))
    return jid


class SlurmScheduler(object):
    """Submits each job script with sbatch and returns at once (or waits with --wait)."""

    name = "slurm"
    tests_scripts = True

    def check_ready(self):
        if not shutil.which("sbatch"):
            raise SweepError("sbatch is not on PATH: this cluster profile submits Slurm jobs. Load Slurm (e.g. on a "
                             "login node), start the local test cluster (jobs/local-slurm/start.sh), or run the grid "
                             "without Slurm with --no-slurm (profile 'direct')")

    def script_tester(self):
        """(path, cli) -> (accepted, message) from sbatch --test-only; None without sbatch."""
        return sbatch_test_only if shutil.which("sbatch") else None

    def still_queued(self, missing, latest):
        """Of the missing (cell, rep) pairs, those an earlier submission's job still holds in the
        queue, and the ids of those jobs: they are not submitted twice."""
        prev = {str(latest[p]["job_id"]) for p in missing if p in latest and latest[p].get("scheduler") == "slurm"}
        alive = queued_ids(sorted(prev)) if prev and shutil.which("squeue") else set()
        queued, waiting_on = set(), set()
        for p in missing:
            s = latest.get(p)
            if s and str(s["job_id"]) in alive:
                queued.add(p)
                waiting_on.add(str(s["job_id"]))
        return queued, waiting_on

    def start_job(self, ctx, job, path):
        """-> the submission entry's scheduler fields; the job id is also the one to depend on."""
        jid = submit_one(path, job.cli)
        print("%s: submitted %s as job %s%s (%d run(s), --time=%s)" % (
            PROG, job.name, jid, " array %s" % array_spec(job.reps) if job.is_array else "", len(job.pairs()),
            fmt_time(job.time)))
        return {"job_id": jid}, jid

    def start_report(self, ctx, path, cli, deps, stamp):
        """-> (report job id, its submission entry)."""
        report_id = submit_one(path, cli, ["--dependency=afterany:" + ":".join(deps), "--kill-on-invalid-dep=yes"])
        print("%s: submitted the report job %s (--dependency=afterany:%s), which runs `make report` into %s" % (
            PROG, report_id, ":".join(deps), ctx.report_out))
        return report_id, {"kind": "report", "utc": stamp, "job_id": report_id, "script": path,
                           "depends_on": deps, "scheduler": "slurm"}

    def follow(self, ctx, args, ids, report_id):
        """After submitting: wait for the jobs with --wait; -> whether the status can be told now."""
        if args.wait and ids:
            from jobs import browse
            allids = ids + ([report_id] if report_id else [])
            deadline = time.time() + args.wait_timeout
            print("%s: waiting for job(s) %s (up to %d s)" % (PROG, ", ".join(allids), args.wait_timeout), flush=True)
            browse.Progress(ctx.sweep_dir).wait(allids, deadline)
        if not args.wait:
            print("%s: follow with `squeue -u $USER`; `jobs/sweep.py status %s` says what is recorded and what is "
                  "missing" % (PROG, shlex.quote(args.grid) if args.grid else "..."))
            return False
        return True
