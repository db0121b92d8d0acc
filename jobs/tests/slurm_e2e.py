#!/usr/bin/python3
"""End-to-end test of the sweep driver on a real Slurm cluster (`make test-slurm`).

Starts a throwaway cluster on this machine (jobs/local-slurm/start.sh: munged, slurmctld, 4 fake
nodes of this machine's CPUs), then, through jobs/sweep.py and its templates:
  1. a sweep with a failing cell and a cell that hangs until the job's time limit kills it
     (submitted first; its minute runs while the rest goes on);
  2. the main sweep: kmeans + nlreg x seq / omp (2 threads) / mpi on 1 and 2 nodes (1 rank per
     node) x 2 repetitions, checked with sbatch --test-only, submitted, waited for; records,
     provenance, the report, and that the report job started after every other job had ended;
  3. resume: one cell's records deleted, the sweep re-run: only that cell is resubmitted;
     then the commands for looking at sweeps on its real jobs and records: the progress of
     --wait, list, status --json, export --csv, compare, and cancel of a long job;
  4. a 2-node MPI job launched with mpiexec.hydra instead of srun;
  6. (submitted first, runs alongside) a time-limited job: a regression run longer than the
     job's 1-minute limit gets Slurm's warning signal (--signal=B:USR1@30), saves a checkpoint,
     the job requeues itself and resumes, possibly several times, and the one record it writes
     equals an uninterrupted run's bit for bit. Slurm keeps a requeued job pending for ~2 min
     (reason BeginTime); the test releases it at once (scontrol update StartTime=now);
  7. a sweep of 50 jobs (5 shapes x 10-element arrays, 120 runs): all recorded, every run of a
     workload bitwise equal whatever its form, node or rank count;
  5. the cluster restarted with a Stokes-like shape (4 nodes x 48 cores, partition normal, node
     feature cascadelake): the stokes profile's scripts pass sbatch --test-only; impossible
     requests are refused;
then stops the cluster (by PID) and removes its scratch folder. Everything happens under a
scratch folder in /tmp; results/ and report/out of the repository are never touched.
Prints PASS/FAIL lines; the last line is "N passed, M failed". Needs root, slurm-wlm and munge.
"""

import argparse
import csv
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SWEEP = [sys.executable, os.path.join(REPO, "jobs", "sweep.py")]
START = os.path.join(REPO, "jobs", "local-slurm", "start.sh")
STOP = os.path.join(REPO, "jobs", "local-slurm", "stop.sh")
T0 = time.time()

passed = failed = 0


def log(msg):
    print("[%6.1fs] %s" % (time.time() - T0, msg), flush=True)


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS  %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL  %s%s" % (name, (": " + detail) if detail else ""), flush=True)
    return ok


def sh(argv, timeout=120, env=None, cwd=REPO):
    """-> (rc, combined output); rc 124 on timeout."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                           timeout=timeout, env=env, cwd=cwd)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        return 124, (out if isinstance(out, str) else out.decode(errors="replace")) + "\n(timed out after %d s)" % timeout


def tail(text, n=15):
    return "\n        " + "\n        ".join(text.strip().splitlines()[-n:])


def records(path):
    out = []
    try:
        with open(path) as fh:
            for line in fh:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def job_info(jid):
    rc, out = sh(["scontrol", "-o", "show", "job", str(jid)], timeout=30)
    return [dict(re.findall(r"(\w+)=(\S*)", l)) for l in out.splitlines() if "JobId=" in l] if rc == 0 else []


def ts(s):
    return time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%S")) if s and s[0].isdigit() else None


def submitted_ids(out):
    return re.findall(r"as job (\d+)", out), re.findall(r"report job (\d+)", out)


def wait_gone(ids, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rc, out = sh(["squeue", "-h", "-o", "%i"], timeout=30)
        alive = {l.split("_")[0] for l in out.split()} & {str(i) for i in ids}
        if rc == 0 and not alive:
            return True
        time.sleep(1)
    return False


def grid_file(path, text):
    with open(path, "w") as fh:
        fh.write(text)
    return path


def small_grid(name, repetitions, tasks_per_node, time_per_run):
    """A sweep of the two small workloads in every form, on 1 and 2 nodes."""
    return """
[sweep]
name = %s
repetitions = %d
forms = seq omp mpi
nodes = 1 2
tasks_per_node = %s
threads = 2
time_per_run = %s

[workload kmeans]
app = kmeans
datasets = datasets/blobs-small.h5
k = 3
iters = 10

[workload nlreg]
app = nlreg
datasets = datasets/quad-small.h5
epochs = 50
lr = 0.0001
""" % (name, repetitions, tasks_per_node, time_per_run)


class TimeLimitResume(object):
    """Section 6: a run that outlasts its job's time limit, checkpointed and requeued by the
    job template until it finishes; compared with an uninterrupted run of the same parameters."""

    WORK_S = 70      # uninterrupted length, > the 60 s limit: Slurm must warn before it kills
    RELEASE_AFTER_S = 5   # a requeued job waits this long in the queue before the test releases it

    def __init__(self, W, env, common, bin_dir):
        self.W, self.env, self.common, self.bin_dir = W, env, common, bin_dir
        self.results = os.path.join(W, "time limit")
        self.data = os.path.join(REPO, "datasets", "regression20k.h5")
        self.ids, self.releases, self.ref, self.stop = [], 0, None, threading.Event()

    def start(self):
        exe = os.path.join(self.bin_dir, "nlreg_seq")
        trial = 300000
        t0 = time.time()
        rc, out = sh([exe, "--data", self.data, "--epochs", str(trial), "--record", "none", "--quiet"], timeout=60)
        per_epoch = (time.time() - t0) / trial
        self.epochs = int(min(max(self.WORK_S / max(per_epoch, 1e-9), 1e6), 1e8))
        log("time-limit job: %d epochs (%.2f us/epoch measured, ~%d s uninterrupted)"
            % (self.epochs, per_epoch * 1e6, self.epochs * per_epoch))
        self.grid = grid_file(os.path.join(self.W, "timelimit.ini"), """
[sweep]
name = time limit
repetitions = 1
forms = seq
time = 1

[workload long]
app = nlreg
datasets = datasets/regression20k.h5
epochs = %d
""" % self.epochs)
        rc, out = sh(SWEEP + ["submit", self.grid, "--results", self.results, "--no-report"] + self.common,
                     timeout=60, env=self.env)
        self.ids = submitted_ids(out)[0]
        check("time-limit sweep submitted (1 job, --time=00:01:00)",
              rc == 0 and len(self.ids) == 1 and "--time=00:01:00" in out, tail(out))
        # The uninterrupted reference, niced: it only soaks up what the other sections leave.
        self.ref_records = os.path.join(self.W, "reference.jsonl")
        self.ref = subprocess.Popen([exe, "--data", self.data, "--epochs", str(self.epochs), "--record",
                                     self.ref_records, "--quiet"], preexec_fn=lambda: os.nice(19))
        threading.Thread(target=self._release_requeued, daemon=True).start()

    def _release_requeued(self):
        # Release a requeued job early, but not at once: slurmd rejects a job credential
        # created in the same second as (or before) the kill that revoked the job's last one
        # (cred->ctime <= revoked), and the launch then fails with exit 1 and no output.
        # Slurm's own delay (about 2 minutes) exists for that; a few seconds are enough here.
        pending_since = None
        while self.ids and not self.stop.wait(2):
            rc, out = sh(["squeue", "-h", "-j", self.ids[0], "-o", "%T %r"], timeout=30)
            if rc != 0 or out.split() != ["PENDING", "BeginTime"]:
                pending_since = None
                continue
            pending_since = pending_since or time.time()
            if time.time() - pending_since >= self.RELEASE_AFTER_S:
                if sh(["scontrol", "update", "JobId=" + self.ids[0], "StartTime=now"], timeout=30)[0] == 0:
                    self.releases += 1
                pending_since = None

    def _cells_log(self):
        found = glob.glob(os.path.join(self.results, "jobs", "*", "cells.log"))
        return open(found[0]).read().strip().replace("\n", " | ") if found else "(none)"

    def finish(self):
        log("waiting for the time-limit job (up to 300 s)")
        done = bool(self.ids) and wait_gone(self.ids, 300)
        self.stop.set()
        ref_rc = self.ref.wait(timeout=300) if self.ref else None
        info = job_info(self.ids[0]) if self.ids else []
        restarts = int(info[0].get("Restarts", 0)) if info else 0
        logs = glob.glob(os.path.join(self.results, "jobs", "logs", "*.out"))
        text = open(logs[0]).read() if logs else ""
        saved = text.count("saved its checkpoint at the time-limit warning")
        check("time-limit job: warned, checkpointed and requeued %d time(s), then COMPLETED (%d early release(s) "
              "from Slurm's requeue delay)" % (restarts, self.releases),
              done and restarts >= 1 and saved == restarts and info[0].get("JobState") == "COMPLETED"
              and text.count("interrupted after") == restarts,
              "%s\n        job: %s\n        cells.log: %s" % (tail(text, 25), json.dumps(info[:1]),
                                                             self._cells_log()))
        recs = records(os.path.join(self.results, "runs.jsonl"))
        ref = records(self.ref_records)

        def digest(r):
            x = r["result"]
            return (x["params_sha256"], x["a"], x["b"], x["c"], x["mse"], x["epochs"])
        check("time-limit job: one record, bitwise equal to the uninterrupted run's",
              ref_rc == 0 and len(recs) == 1 and len(ref) == 1 and recs[0]["status"] == "ok"
              and recs[0]["result"]["epochs"] == self.epochs and digest(recs[0]) == digest(ref[0]),
              json.dumps([digest(r) for r in recs + ref]))
        rc, out = sh(SWEEP + ["status", self.grid, "--results", self.results] + self.common, timeout=60, env=self.env)
        check("time-limit job: the sweep counts the run once (1 recorded, 0 missing)",
              rc == 0 and "1 recorded, 0 missing" in out, tail(out))


def fifty_jobs(W, env, common):
    """Section 7: 50 jobs at once; every run of a workload gives the same bits."""
    g = grid_file(os.path.join(W, "fifty.ini"), small_grid("fifty", repetitions=10, tasks_per_node="1 2",
                                                           time_per_run="00:00:30"))
    res = os.path.join(W, "fifty")
    t0 = time.time()
    rc, out = sh(SWEEP + ["submit", g, "--results", res, "--no-report", "--wait", "--wait-timeout", "300"] + common,
                 timeout=360, env=env)
    log("50-job sweep done in %.1f s" % (time.time() - t0))
    ids = submitted_ids(out)[0]
    elements = [i for j in ids for i in job_info(j)]
    check("50-job sweep: 5 arrays of 10, every element COMPLETED, 120 runs recorded",
          rc == 0 and len(ids) == 5 and len(elements) == 50 and all(i.get("JobState") == "COMPLETED" for i in elements)
          and "120 recorded, 0 missing" in out, tail(out))
    recs = records(os.path.join(res, "runs.jsonl"))
    digests = {}
    for r in recs:
        x = r.get("result", {})
        digests.setdefault(r.get("app"), set()).add((x.get("labels_sha256"), x.get("centroids_sha256"),
                                                     x.get("params_sha256"), x.get("inertia"), x.get("mse")))
    forms = {(r["backend"], r["nodes"], r["ranks"], r["threads"]) for r in recs}
    check("50-job sweep: 120 ok records from 50 job elements in 6 forms, one result per workload (bitwise)",
          len(recs) == 120 and all(r.get("status") == "ok" for r in recs) and len(forms) == 6
          and len({r["prov"].get("slurm_job_id") for r in recs}) == 50
          and sorted(digests) == ["kmeans", "nlreg"] and all(len(v) == 1 for v in digests.values()),
          "%d records, forms %s, distinct results %s" % (len(recs), sorted(forms),
                                                         {k: len(v) for k, v in digests.items()}))


def browse_sweeps(W, env, common, g_main, main_results, mopts, main_out):
    """Section 3b: the commands for looking at sweeps (jobs/browse.py) on the main sweep's real
    records and jobs: --wait progress, list, status --json, export --csv, compare, cancel."""
    check("submit --wait printed progress (runs recorded of 16, queued, failed, elapsed)",
          re.search(r"^sweep: \d+/16 runs recorded, \d+ queued, \d+ failed record\(s\), \S+ elapsed", main_out, re.M)
          is not None, tail(main_out))
    rc, out = sh(SWEEP + ["list", "--results", main_results], timeout=60, env=env)
    check("list: the main sweep with 16 runs, 16 done, 0 queued, 0 missing",
          rc == 0 and re.search(r"^e2e\s+\S+\s+16\s+16\s+0\s+0\s", out, re.M) is not None, tail(out))
    rc, out = sh(SWEEP + ["status", g_main, "--json"] + mopts, timeout=60, env=env)
    try:
        st = json.loads(out)
    except ValueError:
        st = {}
    check("status --json: 16 expected, 16 recorded, nothing missing",
          rc == 0 and st.get("expected") == 16 and st.get("recorded") == 16 and st.get("missing") == [], tail(out))
    csv_path = os.path.join(W, "e2e.csv")
    rc, out = sh(SWEEP + ["export", g_main, "--csv", "--out", csv_path, "--results", main_results], timeout=60, env=env)
    rows = []
    if rc == 0 and os.path.exists(csv_path):
        with open(csv_path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    check("export --csv: one row per record (16), each ok with its cell, repetition and total time",
          len(rows) == 16 and all(r["status"] == "ok" and r["cell"] and r["rep"] in ("0", "1")
                                  and float(r["time_s.total"]) > 0 for r in rows), tail(out))
    rc, out = sh(SWEEP + ["compare", g_main, g_main, "--results", main_results], timeout=60, env=env)
    check("compare: the sweep against itself, 8 cells, each ratio 1.000 and no detectable difference",
          rc == 0 and out.count(" 1.000  no detectable difference") == 8, tail(out))
    # cancel: a sweep whose one run would take minutes
    g_long = grid_file(os.path.join(W, "long.ini"), """
[sweep]
name = long
repetitions = 1
forms = seq
nodes = 1
tasks_per_node = 1
threads = 1
time_per_run = 00:05:00

[workload nlreg]
app = nlreg
datasets = datasets/quad-small.h5
epochs = 500000000
lr = 0.0001
""")
    long_results = os.path.join(W, "long")
    rc, out = sh(SWEEP + ["submit", g_long, "--results", long_results, "--no-report"] + common, timeout=60, env=env)
    long_ids, _ = submitted_ids(out)
    rc, out = sh(SWEEP + ["cancel", g_long, "--results", long_results], timeout=60, env=env)
    check("cancel: the sweep's job cancelled by the id it recorded, and gone from the queue",
          rc == 0 and len(long_ids) == 1 and ("cancelled job(s) %s " % long_ids[0]) in out
          and wait_gone(long_ids, 60), tail(out))
    rc, out = sh(SWEEP + ["list", "--results", long_results], timeout=60, env=env)
    check("list after cancel: the cancelled sweep's run is missing, none queued",
          rc == 0 and re.search(r"^long\s+\S+\s+1\s+0\s+0\s+1\s", out, re.M) is not None, tail(out))


def job_processes_left(grace_s=30):
    """Processes, other than Slurm's daemons, that carry a SLURM_JOB_ID of this test's cluster
    in their environment, once the grace period (epilogs still running) is over."""
    own = os.environ.get("SLURM_JOB_ID")  # if this test itself runs inside a job, that job is not ours
    deadline = time.time() + grace_s
    while True:
        left = []
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(os.path.join(d, "comm")) as f:
                    comm = f.read().strip()
                with open(os.path.join(d, "environ"), "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            jobs = [e[len(b"SLURM_JOB_ID="):].decode(errors="replace") for e in env if e.startswith(b"SLURM_JOB_ID=")]
            if jobs and jobs[0] != own and comm not in ("slurmd", "slurmstepd", "slurmctld", "munged"):
                left.append("pid %s (%s, job %s)" % (os.path.basename(d), comm, jobs[0]))
        if not left or time.time() > deadline:
            return left
        time.sleep(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="build/release/bin")
    ap.add_argument("--mpiexec", default="mpiexec.hydra")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    bin_dir = os.path.abspath(os.path.join(REPO, args.bin))

    missing = [c for c in ("sbatch", "srun", "squeue", "scontrol", "sinfo", "slurmctld", "slurmd", "munged", "munge")
               if not shutil.which(c)]
    if missing or os.geteuid() != 0:
        why = ("missing commands: %s; install the Debian packages slurm-wlm munge "
               "(make deps EXTRA_DEBS='slurm-wlm munge')" % " ".join(missing)) if missing else "needs root"
        check("preconditions", False, why)
        return
    need = [os.path.join(bin_dir, "%s_%s" % (a, b)) for a in ("kmeans", "nlreg") for b in ("seq", "omp", "mpi")]
    need += [os.path.join(REPO, "datasets", d) for d in ("blobs-small.h5", "quad-small.h5", "mnist10k.h5",
                                                         "regression20k.h5")]
    absent = [p for p in need if not os.path.exists(p)]
    if absent:
        check("preconditions", False, "missing %s (run make and make datasets)" % ", ".join(absent))
        return
    if sh(["scontrol", "ping"], timeout=15)[0] == 0 and "UP" in sh(["scontrol", "ping"], timeout=15)[1]:
        check("preconditions", False, "a Slurm controller is already answering on this machine; stop it first "
                                      "(jobs/local-slurm/stop.sh with its SLURM_LOCAL_DIR)")
        return

    W = tempfile.mkdtemp(prefix="hpcb-test-slurm-")
    env = dict(os.environ, SLURM_LOCAL_DIR=os.path.join(W, "slurm"), SLURM_LOCAL_NODES="4")
    for k in [k for k in env if k.startswith("SLURM_") and k not in ("SLURM_LOCAL_DIR", "SLURM_LOCAL_NODES")]:
        del env[k]
    log("scratch folder %s" % W)
    try:
        run_all(W, env, bin_dir, args)
    finally:
        rc, out = sh([STOP], timeout=90, env=env)
        left = glob.glob(os.path.join(W, "slurm", "*.pid"))
        check("stop.sh stopped every daemon it started (by PID)", rc == 0 and not left, tail(out))
        survivors = job_processes_left()
        check("no process started in a job outlives the test (epilog kills the lost ones)", not survivors,
              "; ".join(survivors))
        if not args.keep:
            shutil.rmtree(W, ignore_errors=True)


def run_all(W, env, bin_dir, args):
    rc, out = sh([START], timeout=120, env=env)
    if not check("local cluster: 4 fake nodes up (jobs/local-slurm/start.sh)", rc == 0 and out.count(" idle ") == 4,
                 tail(out)):
        return
    log("cluster up")
    common = ["--bin", bin_dir, "--profile", "local"]

    # ---- 6. (submitted first: it runs for a few minutes alongside the rest)
    timelimit = TimeLimitResume(W, env, common, bin_dir)
    timelimit.start()

    # ---- 1. a failing cell and a cell killed at the time limit (submitted first: it takes ~1-1.5 min)
    data = os.path.join(W, "data")
    os.makedirs(data)
    bad = os.path.join(data, "bad data.h5")
    with open(bad, "w") as fh:
        fh.write("not an HDF5 file\n")
    # A run that hangs until the time limit: the executables now refuse every input that
    # could block them (a FIFO is exit 1), so this sweep runs from a copy of the binaries in
    # which nlreg_seq is a stand-in that ignores the warning and sleeps (no core burnt).
    hang = os.path.join(data, "hang.h5")
    shutil.copy(os.path.join(REPO, "datasets", "quad-small.h5"), hang)
    hang_bin = os.path.join(W, "bin-with-a-hang")
    os.makedirs(hang_bin)
    for exe in os.listdir(bin_dir):
        os.symlink(os.path.join(bin_dir, exe), os.path.join(hang_bin, exe))
    os.remove(os.path.join(hang_bin, "nlreg_seq"))
    with open(os.path.join(hang_bin, "nlreg_seq"), "w") as fh:
        fh.write("#!/bin/sh\n# stands for a run that hangs: deaf to the time-limit warning, killed at the limit\n"
                 "trap '' USR1 TERM\nexec sleep 100000\n")
    os.chmod(os.path.join(hang_bin, "nlreg_seq"), 0o755)
    bad_common = ["--bin", hang_bin] + common[2:]
    bad_results = os.path.join(W, "bad results")
    g_bad = grid_file(os.path.join(W, "bad.ini"), """
[sweep]
name = bad sweep; $(touch %s/PWNED)
repetitions = 1
forms = seq
time = 1

[workload good]
app = kmeans
datasets = datasets/blobs-small.h5
k = 3
iters = 5

[workload broken]
app = kmeans
datasets = "%s"
k = 3

[workload stuck]
app = nlreg
datasets = %s
epochs = 5
""" % (W, bad, hang))
    rc, out_bad = sh(SWEEP + ["submit", g_bad, "--results", bad_results, "--report-out", os.path.join(W, "bad report")]
                     + bad_common, timeout=60, env=env)
    bad_ids, bad_report = submitted_ids(out_bad)
    check("failure sweep submitted (1 job + report job)", rc == 0 and len(bad_ids) == 1 and len(bad_report) == 1,
          tail(out_bad))

    # ---- 4 (started early, runs alongside): 2-node MPI with mpiexec.hydra inside the allocation
    hy_results = os.path.join(W, "hydra")
    rc, out_hy = sh(SWEEP + ["submit", "--name", "hydra", "--app", "kmeans", "--dataset", "datasets/blobs-small.h5",
                             "--param", "k=3", "--param", "iters=5", "--forms", "mpi", "--nodes", "2",
                             "--set", "launcher=mpiexec", "--set", "mpiexec=" + args.mpiexec, "--no-report",
                             "--results", hy_results] + common, timeout=60, env=env)
    hy_ids, _ = submitted_ids(out_hy)

    # ---- 2. the main sweep
    main_results = os.path.join(W, "main")
    main_report = os.path.join(W, "report")
    g_main = grid_file(os.path.join(W, "main.ini"), small_grid("e2e", repetitions=2, tasks_per_node="1",
                                                               time_per_run="00:01:00"))
    mopts = ["--results", main_results, "--report-out", main_report] + common
    rc, out = sh(SWEEP + ["submit", g_main, "--dry-run"] + mopts, timeout=120, env=env)
    check("dry run: 3 shapes + report rendered, all accepted by sbatch --test-only",
          rc == 0 and out.count("---- sbatch --test-only: OK") == 4 and "nothing submitted" in out, tail(out))
    check("dry run wrote nothing", not os.path.exists(main_results))
    t_sub = time.time()
    rc, out = sh(SWEEP + ["submit", g_main, "--wait", "--wait-timeout", "240"] + mopts, timeout=300, env=env)
    main_out = out
    run_ids, rep_ids = submitted_ids(out)
    log("main sweep done in %.1f s" % (time.time() - t_sub))
    check("main sweep: one job per shape (3 arrays of 2 repetitions) + report job",
          len(run_ids) == 3 and len(rep_ids) == 1 and out.count(" array 0-1 ") == 3, tail(out))
    check("main sweep: 16 runs recorded, 0 missing", rc == 0 and "16 recorded, 0 missing" in out, tail(out))
    recs = records(os.path.join(main_results, "runs.jsonl"))
    ok = [r for r in recs if r.get("status") == "ok"]
    check("16 valid records, tagged e2e/<cell>/rep<i>, with Slurm job ids",
          len(ok) == 16 == len(recs) and all(re.fullmatch(r"e2e/[\w.-]+/rep[01]", r["tag"]) for r in ok)
          and all(r["prov"].get("slurm_job_id") for r in ok), "%d records" % len(recs))
    index = {}
    for line in open(os.path.join(main_results, "jobs", "index.jsonl")):
        e = json.loads(line)
        index[e["slurm_job_id"]] = e
    two = [r for r in ok if "mpi.n2-t1-c1" in r["tag"]]
    check("2-node MPI runs: 2 ranks, 1 per fake node (job index: 2 nodes)",
          len(two) == 4 and all(r["ranks"] == 2 and r["threads"] == 1 for r in two)
          and all(index.get(r["prov"]["slurm_job_id"], {}).get("nodes") == 2 for r in two),
          json.dumps([(r["ranks"], index.get(r["prov"]["slurm_job_id"])) for r in two])[:400])
    omp = [r for r in ok if r["backend"] == "omp"]
    check("OpenMP runs used 2 threads (OMP_NUM_THREADS from --cpus-per-task)",
          len(omp) == 4 and all(r["threads"] == 2 for r in omp))
    provs = [os.path.join(main_results, "jobs", e["dir"]) for e in index.values()]
    files = ("scontrol-show-job.txt", "nodes.txt", "lscpu.txt", "job-script.sh", "env.txt", "cells.log", "job.txt")
    check("provenance per job element (6): scontrol show job, node list, lscpu, script, env",
          len(provs) == 6 and all(os.path.getsize(os.path.join(p, f)) > 0 for p in provs for f in files),
          str(provs))
    multi = [p for p in provs if os.path.exists(os.path.join(p, "cpu-per-node.txt"))]
    check("2-node jobs record the CPU model of both nodes",
          len(multi) == 2 and all(len(open(os.path.join(p, "cpu-per-node.txt")).read().split("\n")) >= 3 for p in multi)
          and all("OMP_NUM_THREADS=1" in open(os.path.join(p, "env.txt")).read() for p in multi))
    logs = sorted(os.listdir(os.path.join(main_results, "jobs", "logs")))
    check("job output names follow %x-%A_%a / %x-%j",
          sum(bool(re.fullmatch(r"e2e-n\d-t1-c\d-%s_[01]\.out" % i, l)) for l in logs for i in run_ids) == 6
          and "e2e-report-%s.out" % rep_ids[0] in logs if rep_ids else False, str(logs))
    # the report
    rlog = os.path.join(main_results, "jobs", "logs", "e2e-report-%s.out" % (rep_ids[0] if rep_ids else "?"))
    rtext = open(rlog).read() if os.path.exists(rlog) else ""
    check("report job ran `make report`", "running: make report RECORDS=" in rtext and
          "make report exited with status 0" in rtext, tail(rtext))
    if os.path.exists(os.path.join(REPO, "report", "make_report.py")):
        md = os.path.join(main_report, "report.md")
        check("report written: %s" % md, os.path.exists(md) and os.path.getsize(md) > 0, tail(rtext))
    else:
        log("report/make_report.py does not exist yet: only checked that the report job ran `make report`")
    # the report job started after every other job ended
    info = [i for j in run_ids for i in job_info(j)]
    rinfo = job_info(rep_ids[0]) if rep_ids else []
    ends = [ts(i.get("EndTime")) for i in info]
    rstart = ts(rinfo[0].get("StartTime")) if rinfo else None
    check("report job started after all %d run-job elements ended (scontrol StartTime/EndTime)" % len(info),
          len(info) == 6 and None not in ends and rstart is not None and rstart >= max(ends)
          and all(i.get("JobState") == "COMPLETED" for i in info),
          "report start %s, ends %s" % (rinfo[0].get("StartTime") if rinfo else None,
                                        [i.get("EndTime") for i in info]))
    subs = [json.loads(l) for l in open(os.path.join(main_results, "sweeps", "e2e", "submissions.jsonl"))]
    rsub = [x for x in subs if x["kind"] == "report"]
    check("report job submitted with --dependency=afterany:<every run job>",
          bool(rsub) and rsub[0]["depends_on"] == run_ids, str(rsub[:1]))

    # ---- 3. resume: delete one cell's records, run again: only that cell is submitted
    rec_path = os.path.join(main_results, "runs.jsonl")
    lines = open(rec_path).read().splitlines()
    victim = "e2e/nlreg.quad-small.omp.n1-t1-c2/"
    keep = [l for l in lines if victim not in l]
    with open(rec_path, "w") as fh:
        fh.write("".join(l + "\n" for l in keep))
    rc, out = sh(SWEEP + ["submit", g_main, "--wait", "--wait-timeout", "120"] + mopts, timeout=180, env=env)
    r_ids, r_rep = submitted_ids(out)
    subs = [json.loads(l) for l in open(os.path.join(main_results, "sweeps", "e2e", "submissions.jsonl"))]
    last_run = [s for s in subs if s["kind"] == "run"][-1]
    check("resume: 14 recorded, exactly one job (array 0-1) for the deleted cell resubmitted",
          "14 recorded, 0 still queued, 2 to run" in out and len(r_ids) == 1 and len(r_rep) == 1
          and sorted(map(tuple, last_run["pairs"])) == [("nlreg.quad-small.omp.n1-t1-c2", 0),
                                                          ("nlreg.quad-small.omp.n1-t1-c2", 1)], tail(out))
    recs2 = records(rec_path)
    check("resume: 16 valid records again, the 14 kept lines unchanged",
          rc == 0 and len(recs2) == 16 and open(rec_path).read().startswith("".join(l + "\n" for l in keep)))
    rc, out = sh(SWEEP + ["submit", g_main] + mopts, timeout=60, env=env)
    check("resume with nothing missing submits nothing", rc == 0 and "nothing to submit" in out
          and not submitted_ids(out)[0], tail(out))
    browse_sweeps(W, env, common, g_main, main_results, mopts, main_out)

    # ---- 4. the mpiexec.hydra job
    ok_hy = wait_gone(hy_ids, 60)
    hrec = records(os.path.join(hy_results, "runs.jsonl"))
    check("2-node MPI job launched with %s inside the allocation" % args.mpiexec,
          ok_hy and len(hy_ids) == 1 and len(hrec) == 1 and hrec[0]["status"] == "ok" and hrec[0]["ranks"] == 2,
          tail(out_hy))
    hlog = glob.glob(os.path.join(hy_results, "jobs", "logs", "*.out"))
    check("... and the job script used %s -n 2" % args.mpiexec,
          bool(hlog) and ("%s -n 2 " % os.path.basename(args.mpiexec)) in open(hlog[0]).read())

    # ---- 1. (continued) the failing and the timed-out cell
    log("waiting for the time-limit job (up to 150 s)")
    done = wait_gone(bad_ids + bad_report, 150)
    brecs = records(os.path.join(bad_results, "runs.jsonl"))
    st = {r["tag"].split("/")[-2].split(".")[0]: r["status"] for r in brecs}
    check("failure sweep: the good cell's record kept; failure records for the others",
          done and st == {"good": "ok", "broken": "failed", "stuck": "timeout"}, json.dumps(st))
    binfo = job_info(bad_ids[0]) if bad_ids else []
    check("the job ended by its time limit (JobState=TIMEOUT)", bool(binfo) and binfo[0].get("JobState") == "TIMEOUT",
          str(binfo[:1]))
    rc, out = sh(SWEEP + ["status", g_bad, "--results", bad_results] + bad_common, timeout=60, env=env)
    check("status explains both missing cells clearly",
          rc == 1 and "1 recorded, 2 missing" in out and "exited with status 1 (data error)" in out
          and "killed at its time limit (TIMEOUT) while running stuck" in out, tail(out))
    check("no name was executed as shell code", not os.path.exists(os.path.join(W, "PWNED")))
    if os.path.exists(os.path.join(REPO, "report", "make_report.py")):
        md = os.path.join(W, "bad report", "report.md")
        text = open(md).read() if os.path.exists(md) else ""
        check("the report lists the failed and the timed-out cell",
              "data error" in text and "TIMEOUT" in text, md)

    # ---- 7. fifty jobs; then 6. the time-limit job's result (before the cluster is restarted)
    fifty_jobs(W, env, common)
    timelimit.finish()

    # ---- 5. Stokes-shaped cluster: the stokes profile's scripts pass sbatch --test-only
    env2 = dict(env, SLURM_LOCAL_CPUS="48", SLURM_LOCAL_PARTITION="normal", SLURM_LOCAL_FEATURES="cascadelake")
    rc, out = sh([START], timeout=120, env=env2)
    check("cluster restarted as 4 nodes x 48 cores, partition normal, feature cascadelake",
          rc == 0 and out.count(" normal* idle 48 ") == 4, tail(out))
    sopts = ["--profile", "stokes", "--account", "test-acct", "--constraint", "cascadelake", "--bin", bin_dir,
             "--results", os.path.join(W, "stokes")]
    g_st = os.path.join(REPO, "jobs", "grids", "stokes-scaling.ini")
    rc, out = sh(SWEEP + ["submit", g_st, "--dry-run"] + sopts, timeout=180, env=env2)
    n_ok = out.count("---- sbatch --test-only: OK")
    check("stokes profile: every script (jobs/grids/stokes-scaling.ini, up to 4 nodes x 48 ranks) passes "
          "sbatch --test-only (%d)" % n_ok,
          rc == 0 and n_ok >= 8 and "REJECTED" not in out and "#SBATCH --partition=normal" in out
          and "#SBATCH --account=test-acct" in out and "#SBATCH --exclusive" in out, tail(out))
    g5 = grid_file(os.path.join(W, "st5.ini"), open(g_st).read().replace("nodes = 1 2 4", "nodes = 5"))
    rc, out = sh(SWEEP + ["submit", g5, "--dry-run"] + sopts, timeout=180, env=env2)
    check("stokes profile: 5 nodes on a 4-node cluster is rejected by sbatch --test-only",
          rc == 1 and "REJECTED" in out, tail(out))
    g49 = grid_file(os.path.join(W, "st49.ini"), open(g_st).read().replace("24 48\n\n[workload", "24 49\n\n[workload"))
    rc, out = sh(SWEEP + ["submit", g49, "--dry-run"] + sopts, timeout=60, env=env2)
    check("stokes profile: 49 tasks per node is an impossible grid (48 cores per node)",
          rc == 2 and "impossible grid" in out and "48 cores per node" in out, tail(out))


def on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    try:
        main()
    except KeyboardInterrupt as e:
        check("finished before being interrupted", False, str(e))
    except Exception as e:    # a bug in the test itself still ends with the summary line
        import traceback
        traceback.print_exc()
        check("test script ran to the end", False, repr(e))
    print("test-slurm took %.0f s" % (time.time() - T0))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
