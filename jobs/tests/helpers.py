"""Shared fixtures for the sweep-driver tests: fake executables, fake Slurm commands, grids.

Nothing here needs Slurm, MPI or the real executables; every test works in its own temporary
folder and runs in well under a second or two."""

import contextlib
import io
import json
import os
import shutil
import tempfile
import textwrap
import unittest

from jobs import sweep

# A stand-in for the six executables: checks its arguments like the real ones, appends a run/1
# record (with the fcntl lock), logs its argv to $FAKE_ARGV_LOG. A dataset whose file name
# contains FAIL exits 1 (data error); one containing HANG sleeps for two minutes.
FAKE_EXE = r'''#!/usr/bin/python3
import fcntl, json, os, sys, time
app, backend = os.path.basename(sys.argv[0]).split("_")
args, opts = [a for a in sys.argv[1:] if a != "--resume"], {}
if len(args) % 2:
    sys.exit("fake: odd argument list %r" % (args,))
for k, v in zip(args[0::2], args[1::2]):
    if not k.startswith("--"):
        sys.exit("fake: not an option: %r" % k)
    opts[k[2:]] = v
log = os.environ.get("FAKE_ARGV_LOG")
if log:
    with open(log, "a") as fh:
        fh.write(json.dumps(sys.argv) + "\n")
data = opts.pop("data")
name = os.path.basename(data)
if "FAIL" in name:
    sys.stderr.write("fake %s: %s: not an HDF5 file\n" % (app, data))
    sys.exit(1)
if "HANG" in name:
    # A run that does not react to the time-limit warning (SIGUSR1): only the limit ends it.
    import signal
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    time.sleep(120)
record, tag = opts.pop("record"), opts.pop("tag")
opts.pop("checkpoint", None)
threads = int(opts.pop("threads", 1))
ranks = int(os.environ.get("FAKE_RANKS", "1"))
params = {}
for k, v in opts.items():
    try:
        params[k] = int(v)
    except ValueError:
        try:
            params[k] = float(v)
        except ValueError:
            params[k] = v
params.setdefault("seed", 42) if app == "kmeans" else params.setdefault("a0", 0.0)
rec = {"schema": "run/1", "app": app, "backend": backend, "ranks": ranks, "threads": threads,
       "workers": ranks * threads, "nodes": 1, "hosts": ["fake"], "status": "ok", "tag": tag,
       "dataset": {"path": data, "n": 10, "d": 2, "dtype": "float32", "sha256": ""},
       "params": params, "result": {"validated": True}, "time_s": {"total": 0.001},
       "prov": {"slurm_job_id": os.environ.get("SLURM_JOB_ID"),
                "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID")}}
fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.write(fd, (json.dumps(rec) + "\n").encode())
os.close(fd)
'''

FAKE_MPIEXEC = """#!/bin/bash
# fake mpiexec -n N PROG ARGS...: runs PROG once, telling it the rank count
[ "$1" = -n ] || { echo "fake mpiexec: expected -n" >&2; exit 2; }
n=$2; shift 2
FAKE_RANKS=$n exec "$@"
"""

# A fake sbatch: --test-only answers like Slurm (rejecting scripts that ask for more than
# FAKE_SBATCH_MAX_NODES nodes), --parsable prints the next job id. Every call is logged (argv
# and a copy of the script) under $FAKE_SLURM_LOG.
FAKE_SBATCH = r'''#!/usr/bin/python3
import json, os, re, sys
logdir = os.environ["FAKE_SLURM_LOG"]
os.makedirs(logdir, exist_ok=True)
script = sys.argv[-1]
text = open(script).read()
counter = os.path.join(logdir, "next_id")
n = int(open(counter).read()) if os.path.exists(counter) else 101
calls = os.path.join(logdir, "calls.jsonl")
with open(calls, "a") as fh:
    fh.write(json.dumps({"argv": sys.argv[1:], "script": text}) + "\n")
nodes = int((re.search(r"^#SBATCH --nodes=(\d+)", text, re.M) or [0, 1])[1])
if nodes > int(os.environ.get("FAKE_SBATCH_MAX_NODES", "1000")):
    sys.stderr.write("sbatch: error: Batch job submission failed: Node count specification invalid\n")
    sys.exit(1)
if "--test-only" in sys.argv:
    sys.stderr.write("sbatch: Job %d to start at 2030-01-01T00:00:00 using %d processors on nodes c[1-%d] in "
                     "partition normal\n" % (n, nodes, nodes))
    sys.exit(0)
open(counter, "w").write(str(n + 1))
print(n if "--parsable" in sys.argv else "Submitted batch job %d" % n)
'''

# squeue that lists the ids in $FAKE_QUEUED (space-separated) as PENDING
FAKE_SQUEUE = """#!/bin/bash
for id in ${FAKE_QUEUED:-}; do echo "$id PENDING"; done
"""

# scontrol show job answering from $FAKE_SLURM_LOG/states.json: {"id": "TIMEOUT", ...}
FAKE_SCONTROL = r'''#!/usr/bin/python3
import json, os, sys
states = json.load(open(os.path.join(os.environ["FAKE_SLURM_LOG"], "states.json")))
jid = sys.argv[-1]
if jid not in states:
    sys.stderr.write("slurm_load_jobs error: Invalid job id specified\n")
    sys.exit(1)
print("JobId=%s JobName=x JobState=%s Reason=None ExitCode=0:15 StartTime=2030-01-01T00:00:00 "
      "EndTime=2030-01-01T00:01:00" % (jid, states[jid]))
'''


# scancel that logs its arguments to $FAKE_SLURM_LOG/scancel.jsonl
FAKE_SCANCEL = r'''#!/usr/bin/python3
import json, os, sys
os.makedirs(os.environ["FAKE_SLURM_LOG"], exist_ok=True)
with open(os.path.join(os.environ["FAKE_SLURM_LOG"], "scancel.jsonl"), "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\n")
'''


def write_exe(path, text):
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o755)


class SweepTestCase(unittest.TestCase):
    """A temporary folder with fake executables (bin/), fake Slurm tools (slurmbin/) and
    datasets (data/); self.run_sweep(...) runs jobs/sweep.py in-process."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sweep-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.bin = os.path.join(self.tmp, "bin")
        os.makedirs(self.bin)
        for app in ("kmeans", "nlreg"):
            for b in ("seq", "omp", "mpi"):
                write_exe(os.path.join(self.bin, "%s_%s" % (app, b)), FAKE_EXE)
        write_exe(os.path.join(self.bin, "fake-mpiexec"), FAKE_MPIEXEC)
        self.data = os.path.join(self.tmp, "data")
        os.makedirs(self.data)
        for n in ("a.h5", "b.h5", "FAIL.h5", "HANG.h5"):
            open(os.path.join(self.data, n), "w").close()
        self.results = os.path.join(self.tmp, "results")
        self.records = os.path.join(self.results, "runs.jsonl")
        self.slurmlog = os.path.join(self.tmp, "slurmlog")
        self.env = {"FAKE_ARGV_LOG": os.path.join(self.tmp, "argv.jsonl"), "FAKE_SLURM_LOG": self.slurmlog}
        self._old_env = dict(os.environ)
        self.addCleanup(self._restore_env)
        os.environ.update(self.env)
        for k in list(os.environ):
            if k.startswith("SLURM_"):
                del os.environ[k]

    def _restore_env(self):
        os.environ.clear()
        os.environ.update(self._old_env)

    def fake_slurm(self, tools=("sbatch",)):
        """Put fake Slurm client commands first on PATH (others are hidden from the driver)."""
        d = os.path.join(self.tmp, "slurmbin")
        os.makedirs(d, exist_ok=True)
        texts = {"sbatch": FAKE_SBATCH, "squeue": FAKE_SQUEUE, "scontrol": FAKE_SCONTROL, "scancel": FAKE_SCANCEL}
        for t in tools:
            write_exe(os.path.join(d, t), texts[t])
        # hide the real Slurm tools: a PATH with only the fakes and the basics the scripts need
        basics = os.path.join(self.tmp, "basics")
        os.makedirs(basics, exist_ok=True)
        for tool in ("bash", "python3", "env", "grep", "sort", "date", "hostname", "lscpu", "mkdir", "cp",
                     "sed", "sha256sum", "timeout", "sleep", "cat", "true"):
            real = shutil.which(tool, path=self._old_env.get("PATH"))
            if real and not os.path.exists(os.path.join(basics, tool)):
                os.symlink(real, os.path.join(basics, tool))
        os.environ["PATH"] = d + os.pathsep + basics
        return d

    def slurm_calls(self):
        path = os.path.join(self.slurmlog, "calls.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as fh:
            return [json.loads(l) for l in fh]

    def grid(self, text, name="grid.ini"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as fh:
            fh.write(textwrap.dedent(text))
        return path

    def run_sweep(self, *argv):
        """-> (exit status, stdout, stderr) of jobs/sweep.py ARGV, run in this process."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = sweep.main(list(argv))
        return rc, out.getvalue(), err.getvalue()

    def common(self, *extra):
        return ["--results", self.results, "--bin", self.bin, "--report-out", os.path.join(self.tmp, "report")] + list(extra)

    def load_records(self):
        return sweep.read_jsonl(self.records)
