"""What every part of the sweep driver shares: where things are, its two errors, the exit
meanings of a run, and small text, time and file helpers."""

import hashlib
import json
import math
import os
import re
import shlex
import subprocess

from jobs import options as opts
from jobs import records_file

PROG = "sweep"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # jobs/
REPO = os.path.dirname(HERE)
TEMPLATES = os.path.join(HERE, "templates")
PROFILES_DIR = os.path.join(HERE, "profiles")
CMD_TIMEOUT = 60          # seconds for any one Slurm client command

APPS = opts.APPS
FORMS = ("seq", "omp", "mpi", "hybrid")
MPI_FORMS = ("mpi", "hybrid")          # the backends started by a launcher, one process per rank
# What the shell and timeout(1) report, besides the executables' own codes (exit_meaning).
SHELL_EXIT_MEANING = {124: "timed out", 126: "not executable",
                      127: "command not found: check the profile's setup (modules, Spack)",
                      137: "killed (SIGKILL)", 143: "terminated (SIGTERM)"}


def threaded_forms():
    """The backends --threads applies to (the executables' --describe)."""
    return opts.options_of(APPS[0])["--threads"].backends


def exit_meaning():
    """code -> what a run's exit status means: the executables' codes (--describe; 4: the next
    submit resumes from the checkpoint) and the shell's."""
    meaning = dict(opts.exit_names())
    meaning[4] += ": stopped by a signal after saving its checkpoint; the next submit resumes it"
    meaning.update(SHELL_EXIT_MEANING)
    return meaning


class SweepError(Exception):
    """A usage, grid or profile error: nothing was submitted (exit status 2)."""
    status = 2


class RunError(SweepError):
    """sbatch, a check or a job failed (exit status 1)."""
    status = 1


# ---------------------------------------------------------------- small helpers --------------

def check_text(what, value):
    """Names, paths and parameters go into job scripts: newlines and NUL are never allowed."""
    value = str(value)
    if any(c in value for c in "\n\r\0"):
        raise SweepError("%s contains a newline or NUL character, which is not allowed: %r" % (what, value))
    return value


def slug(text, maxlen=40):
    """A file- and job-name-safe version of text ([A-Za-z0-9._-])."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-") or "x"
    return s[:maxlen]


def safe_dir_name(text):
    """slug(text), plus a short hash when that changed anything, so distinct names never collide."""
    s = slug(text, 48)
    if s != text:
        s += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return s


def parse_time(text, what="time"):
    """Slurm time (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S) -> seconds."""
    t = str(text).strip()
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", t)
    if not m or not t:
        raise SweepError("%s %r is not a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"
                         % (what, text))
    d, a, b, c = m.groups()
    a, b, c = int(a), int(b) if b else None, int(c) if c else None
    if d is not None:
        secs = int(d) * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    elif c is not None:
        secs = a * 3600 + b * 60 + c
    elif b is not None:
        secs = a * 60 + b
    else:
        secs = a * 60
    if secs <= 0:
        raise SweepError("%s %r must be positive" % (what, text))
    return secs


def fmt_time(secs):
    secs = int(math.ceil(secs))
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return ("%d-%02d:%02d:%02d" % (d, h, m, s)) if d else ("%02d:%02d:%02d" % (h, m, s))


def int_list(what, value):
    """'1 2 4' / '1,2,4' / [1, 2, 4] -> [1, 2, 4]; every entry a positive integer."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, int):
        items = [value]
    else:
        items = [x for x in re.split(r"[\s,]+", str(value).strip()) if x]
    if not items:
        raise SweepError("%s: empty list" % what)
    out = []
    for x in items:
        if isinstance(x, bool) or isinstance(x, float) or not opts.DECIMAL_INT.fullmatch(str(x)):
            raise SweepError("%s: %r is not an integer (decimal digits)" % (what, x))
        v = int(str(x), 10)
        if v < 1:
            raise SweepError("%s: %d is not a positive integer (there is no job with zero or fewer %s)"
                             % (what, v, what.split(".")[-1].replace("_", " ")))
        if v not in out:
            out.append(v)
    return out


def word_list(what, value):
    if isinstance(value, (list, tuple)):
        return [check_text(what, x) for x in value]
    return [check_text(what, x) for x in re.split(r"[\s,]+", str(value).strip()) if x]


def path_list(what, value):
    if isinstance(value, (list, tuple)):
        return [check_text(what, x) for x in value]
    try:
        return [check_text(what, x) for x in shlex.split(str(value))]
    except ValueError as e:
        raise SweepError("%s: %s in %r" % (what, e, value))


def run_cmd(argv, timeout=CMD_TIMEOUT, env=None):
    """Run a client command; returns (rc, stdout, stderr). rc 127 when it does not exist."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except FileNotFoundError:
        return 127, "", "%s: command not found" % argv[0]
    except subprocess.TimeoutExpired:
        return 124, "", "%s did not answer within %d s" % (" ".join(argv[:2]), timeout)


def lock_append(path, lines):
    """Append record lines as the executables do (jobs/records_file.py: locked, or spooled where
    the file system has no locks)."""
    records_file.append_lines(path, lines)


def json_objects(lines):
    """The JSON objects among text lines; blank, malformed and non-object lines are skipped."""
    out = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def read_records(path):
    """The run records of a records file and its spool (jobs/records_file.py)."""
    return json_objects(records_file.read_lines(path))


def read_jsonl(path):
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            out = json_objects(fh)
    except FileNotFoundError:
        pass
    return out
