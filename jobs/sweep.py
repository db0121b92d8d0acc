#!/usr/bin/python3
"""Sweep driver: run a grid of k-means / regression runs as Slurm jobs (or directly) and resume it.

    jobs/sweep.py submit GRID [--profile stokes|local|direct|FILE] [--dry-run] [--wait] [...]
    jobs/sweep.py status GRID [...]          what is recorded, what is missing and why
    jobs/sweep.py reconcile --sweep-dir DIR  (the report job) list missing cells, record failures
    jobs/sweep.py profiles                   the cluster profiles in jobs/profiles/
    jobs/sweep.py list [--results DIR]       the sweeps submitted, with done/queued/missing runs
    jobs/sweep.py cancel SWEEP               scancel its jobs (SWEEP: a name or the grid file)
    jobs/sweep.py export SWEEP --csv         its records, one flattened row each
    jobs/sweep.py compare SWEEP_A SWEEP_B    the same cells side by side (medians, ratio, test)

A grid (INI or JSON, see jobs/README.md) gives workloads x datasets x forms (seq, omp, mpi) x
nodes x tasks per node x threads x repetitions. Every (cell, repetition) is one run of one
executable that appends one record to the records file, tagged "<sweep>/<cell>/rep<i>".
`submit` renders one job script per resource shape from jobs/templates/run.sbatch.in (a job
array over the repetitions when more than one is missing), submits them with --parsable and
then a report job with --dependency=afterany:<ids> --kill-on-invalid-dep=yes that runs
`make report`. Re-running `submit` skips every (cell, repetition) that already has a valid
record and every one still queued, so only missing or failed runs are submitted again.

Standard library only; Python 3.6 or newer. Exit status: 0 ok, 1 a job, sbatch or a check
failed, 2 a usage or grid error (nothing submitted).
"""

import argparse
import configparser
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

try:
    from jobs import options as opts
    from jobs import records_file
except ImportError:   # run as jobs/sweep.py: its own folder is on sys.path
    import options as opts
    import records_file

PROG = "sweep"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TEMPLATES = os.path.join(HERE, "templates")
PROFILES_DIR = os.path.join(HERE, "profiles")
CMD_TIMEOUT = 60          # seconds for any one Slurm client command

APPS = opts.APPS
FORMS = ("seq", "omp", "mpi", "hybrid")
EXIT_MEANING = {1: "data error", 2: "usage error", 3: "failed validation",
                4: "stopped by a signal after saving its checkpoint; the next submit resumes it", 124: "timed out",
                126: "not executable", 127: "command not found: check the profile's setup (modules, Spack)",
                137: "killed (SIGKILL)", 143: "terminated (SIGTERM)"}


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


# ---------------------------------------------------------------- profiles -------------------

PROFILE_DEFAULTS = {
    "description": "", "scheduler": "slurm", "partition": "", "account": "", "constraint": "",
    "qos": "", "cores_per_node": "auto", "max_nodes": "auto", "launcher": "srun", "srun_mpi": "pmi2",
    "mpiexec": "mpiexec.hydra", "mpiexec_bind": "-bind-to core:{threads}", "time_per_run": "00:05:00", "min_time": "00:02:00", "max_time": "",
    "report_time": "00:15:00", "exclusive": "no", "modules": "", "setup": "", "sbatch_options": "",
    "python": "/usr/bin/python3", "make": "make", "bin_dir": "build/release/bin", "bin_sets": "",
}
PROFILE_OVERRIDABLE = set(PROFILE_DEFAULTS) - {"setup"}


def profile_names():
    try:
        return sorted(f[:-5] for f in os.listdir(PROFILES_DIR) if f.endswith(".conf"))
    except OSError:
        return []


def load_profile(name_or_path, overrides=None):
    """A cluster profile: jobs/profiles/NAME.conf or a path to such a file ([profile] section)."""
    if os.sep in name_or_path or name_or_path.endswith(".conf"):
        path = name_or_path
    else:
        path = os.path.join(PROFILES_DIR, name_or_path + ".conf")
    if not os.path.isfile(path):
        raise SweepError("unknown cluster profile %r (no file %s); available: %s"
                         % (name_or_path, path, ", ".join(profile_names()) or "none"))
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read(path, encoding="utf-8")
    except configparser.Error as e:
        raise SweepError("profile %s: %s" % (path, e))
    if not cp.has_section("profile"):
        raise SweepError("profile %s has no [profile] section" % path)
    p = dict(PROFILE_DEFAULTS)
    for k, v in cp.items("profile"):
        if k not in PROFILE_DEFAULTS:
            raise SweepError("profile %s: unknown key %r (known: %s)" % (path, k, ", ".join(sorted(PROFILE_DEFAULTS))))
        p[k] = v.strip() if k != "setup" else v
    for k, v in (overrides or {}).items():
        if k not in PROFILE_OVERRIDABLE:
            raise SweepError("cannot set profile key %r (settable: %s)" % (k, ", ".join(sorted(PROFILE_OVERRIDABLE))))
        p[k] = check_text("profile " + k, v).strip()
    p["name"] = os.path.basename(path)[:-5] if path.endswith(".conf") else path
    p["path"] = path
    if p["scheduler"] not in ("slurm", "direct"):
        raise SweepError("profile %s: scheduler must be slurm or direct, not %r" % (path, p["scheduler"]))
    if p["launcher"] not in ("srun", "mpiexec"):
        raise SweepError("profile %s: launcher must be srun or mpiexec, not %r" % (path, p["launcher"]))
    if p["scheduler"] == "direct" and p["launcher"] == "srun":
        raise SweepError("profile %s: the direct scheduler (no Slurm) needs launcher = mpiexec" % path)
    for k in ("partition", "account", "constraint", "qos", "srun_mpi"):
        if p[k] and not re.fullmatch(r"[A-Za-z0-9_.,:&|!*\[\]()+=@-]+", p[k]):
            raise SweepError("profile %s: %s=%r has characters Slurm does not use there" % (path, k, p[k]))
    # Options after `mpiexec -n P` for hybrid cells ({threads}: threads per rank): each rank gets
    # its own cores, or OMP_PROC_BIND=close puts every rank's threads on the same first cores.
    if not re.fullmatch(r"(?:[A-Za-z0-9_.,:= -]|\{threads\})*", p["mpiexec_bind"]):
        raise SweepError("profile %s: mpiexec_bind=%r: only options and {threads} are allowed" % (path, p["mpiexec_bind"]))
    for k in ("mpiexec", "python", "make"):
        check_text("profile " + k, p[k])
        if not p[k]:
            raise SweepError("profile %s: %s must not be empty" % (path, k))
    for k in ("time_per_run", "min_time", "report_time"):
        parse_time(p[k], "profile %s" % k)
    if p["max_time"]:
        parse_time(p["max_time"], "profile max_time")
    if p["exclusive"].lower() not in ("yes", "no", "true", "false", "1", "0"):
        raise SweepError("profile %s: exclusive must be yes or no" % path)
    p["exclusive"] = p["exclusive"].lower() in ("yes", "true", "1")
    for m in p["modules"].split():
        if not re.fullmatch(r"[A-Za-z0-9_.+/@-]+", m):
            raise SweepError("profile %s: module name %r has unexpected characters" % (path, m))
    for opt in p["sbatch_options"].split():
        if not re.fullmatch(r"--[a-z][a-z-]*(=[A-Za-z0-9_.,:/@%+=-]*)?", opt):
            raise SweepError("profile %s: sbatch_options entry %r is not of the form --name[=value]" % (path, opt))
    return p


def resolve_capacity(profile):
    """cores_per_node and max_nodes as integers (max_nodes None = not checked here)."""
    cores, maxn = profile["cores_per_node"], profile["max_nodes"]
    info = None
    if profile["scheduler"] == "slurm" and "auto" in (cores, maxn):
        argv = ["sinfo", "-h", "-N", "-o", "%N %c"]
        if profile["partition"]:
            argv[1:1] = ["-p", profile["partition"]]
        rc, out, err = run_cmd(argv)
        if rc != 0:
            raise SweepError("profile %s: cores_per_node/max_nodes = auto needs `sinfo`, which failed: %s"
                             % (profile["name"], (err or out).strip() or "rc %d" % rc))
        rows = [l.split() for l in out.splitlines() if len(l.split()) == 2]
        if not rows:
            raise SweepError("profile %s: sinfo lists no nodes%s" % (profile["name"],
                             " in partition " + profile["partition"] if profile["partition"] else ""))
        info = {n: int(c) for n, c in rows}
    if cores == "auto":
        cores = max(info.values()) if info else (os.cpu_count() or 1)
    if maxn == "auto":
        maxn = len(info) if info else 1
    try:
        cores = int(cores)
        maxn = int(maxn) if maxn not in ("", None) else None
    except ValueError:
        raise SweepError("profile %s: cores_per_node and max_nodes must be integers or auto" % profile["name"])
    if profile["scheduler"] == "direct":
        maxn = 1
    return cores, maxn


# ---------------------------------------------------------------- grids ----------------------

def load_grid_file(path):
    """INI or JSON grid file -> a plain dict (see normalise_grid)."""
    if not os.path.isfile(path):
        raise SweepError("grid file %s does not exist" % path)
    if path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as fh:
                g = json.load(fh)
        except UnicodeDecodeError as e:
            raise SweepError("grid %s is not UTF-8 text (byte %d)" % (path, e.start))
        except ValueError as e:
            raise SweepError("grid %s: invalid JSON: %s" % (path, e))
        if not isinstance(g, dict):
            raise SweepError("grid %s: the top level must be an object" % path)
        return g
    # `;` or `#` after whitespace starts a comment, also after a value (as in jobs/README.md)
    cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        cp.read(path, encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SweepError("grid %s is not UTF-8 text (byte %d)" % (path, e.start))
    except configparser.Error as e:
        raise SweepError("grid %s: %s" % (path, e))
    g = {"workloads": {}, "form_axes": {}}
    for sec in cp.sections():
        items = dict(cp.items(sec))
        if sec == "sweep":
            g.update(items)
        elif sec.startswith("workload "):
            name = sec[len("workload "):].strip()
            w = {"params": {}}
            for k, v in items.items():
                if k in ("app", "datasets"):
                    w[k] = v
                else:
                    w["params"][k] = v
            g["workloads"][name] = w
        elif sec.startswith("form "):
            g["form_axes"][sec[len("form "):].strip()] = items
        else:
            raise SweepError("grid %s: unknown section [%s] (use [sweep], [workload NAME], [form NAME])" % (path, sec))
    return g


def convert_param(app, key, value, where):
    """A grid parameter checked with the executable's own rules (jobs/options.py)."""
    o = opts.find_param(app, key)
    if o is None:
        raise SweepError("%s: unknown %s parameter %r (known: %s)"
                         % (where, app, key, ", ".join(sorted(opts.grid_params(app)))))
    check_text("%s: %s" % (where, key), value)
    try:
        return o.key, opts.check_value(o, value)
    except opts.OptionError as e:
        raise SweepError("%s: %s" % (where, e))


def normalise_grid(g, where="grid"):
    """Check a grid dict and fill in defaults. Returns a new dict."""
    known = {"name", "profile", "repetitions", "forms", "nodes", "tasks_per_node", "threads",
             "time_per_run", "time", "workloads", "form_axes"}
    unknown = set(g) - known
    if unknown:
        raise SweepError("%s: unknown key(s) %s (known: %s)" % (where, ", ".join(sorted(unknown)), ", ".join(sorted(known))))
    out = {}
    name = check_text("%s: name" % where, g.get("name", "")).strip()
    if not name:
        raise SweepError("%s: the sweep needs a name (name = ... in [sweep], or --name)" % where)
    out["name"] = name
    out["profile"] = check_text("%s: profile" % where, g.get("profile") or "").strip() or None
    reps = int_list("%s: repetitions" % where, g.get("repetitions", 1))
    if len(reps) != 1:
        raise SweepError("%s: repetitions is one positive integer" % where)
    out["repetitions"] = reps[0]
    forms = word_list("%s: forms" % where, g.get("forms", "seq omp mpi"))
    for f in forms:
        if f not in FORMS:
            raise SweepError("%s: unknown form %r (known: %s)" % (where, f, ", ".join(FORMS)))
    if not forms:
        raise SweepError("%s: no forms given" % where)
    out["forms"] = forms
    for axis in ("nodes", "tasks_per_node", "threads"):
        out[axis] = int_list("%s: %s" % (where, axis), g.get(axis, 1))
    out["time_per_run"] = parse_time(g["time_per_run"], "%s: time_per_run" % where) if g.get("time_per_run") else None
    out["time"] = parse_time(g["time"], "%s: time" % where) if g.get("time") else None
    fa = {}
    for form, axes in (g.get("form_axes") or {}).items():
        if form not in FORMS:
            raise SweepError("%s: [form %s]: unknown form" % (where, form))
        fa[form] = {}
        for axis, v in axes.items():
            if axis not in ("nodes", "tasks_per_node", "threads"):
                raise SweepError("%s: [form %s]: unknown axis %r (nodes, tasks_per_node, threads)" % (where, form, axis))
            fa[form][axis] = int_list("%s: [form %s] %s" % (where, form, axis), v)
    out["form_axes"] = fa
    wls = g.get("workloads") or {}
    if not wls:
        raise SweepError("%s: no workloads (add a [workload NAME] section with app and datasets, or --app/--dataset)" % where)
    out["workloads"] = []
    for wname, w in wls.items():
        check_text("%s: workload name" % where, wname)
        wwhere = "%s: [workload %s]" % (where, wname)
        app = (w.get("app") or wname).strip()
        if app not in APPS:
            raise SweepError("%s: unknown app %r (known: %s)" % (wwhere, app, ", ".join(sorted(APPS))))
        datasets = path_list("%s datasets" % wwhere, w.get("datasets", ""))
        if not datasets:
            raise SweepError("%s: no datasets" % wwhere)
        if any(not d.strip() for d in datasets):
            raise SweepError("%s: datasets: an empty path in %r" % (wwhere, w.get("datasets")))
        params = {}
        for k, v in (w.get("params") or {}).items():
            key, value = convert_param(app, k, v, wwhere)
            if key in params:
                raise SweepError("%s: %s is given twice" % (wwhere, key))
            params[key] = value
        out["workloads"].append({"name": wname, "app": app, "datasets": datasets, "params": params})
    return out


def form_axes(grid, form):
    """The (nodes, tasks_per_node, threads) values a form runs at: axes that do not apply to a form
    are fixed at 1 (seq: 1x1x1; omp: one process, the threads axis; mpi: nodes x tasks per node,
    one thread per rank; hybrid: all three). [form NAME] sections override the shared axes."""
    over = grid["form_axes"].get(form, {})
    if form == "seq":
        fixed = {"nodes": [1], "tasks_per_node": [1], "threads": [1]}
    elif form == "omp":
        fixed = {"nodes": [1], "tasks_per_node": [1], "threads": grid["threads"]}
    elif form == "mpi":
        fixed = {"nodes": grid["nodes"], "tasks_per_node": grid["tasks_per_node"], "threads": [1]}
    else:  # hybrid
        fixed = {"nodes": grid["nodes"], "tasks_per_node": grid["tasks_per_node"], "threads": grid["threads"]}
    for axis, v in over.items():
        if form in ("seq", "omp") and axis != "threads" and v != [1] or form == "seq" and v != [1]:
            raise SweepError("grid: [form %s] %s = %s: the %s executables run as one process%s"
                             % (form, axis, " ".join(map(str, v)), form, "" if form == "omp" else " with one thread"))
        if form == "mpi" and axis == "threads" and v != [1]:
            raise SweepError("grid: [form mpi] threads = %s: the mpi executables run one thread per rank; "
                             "use the form hybrid for ranks x threads" % " ".join(map(str, v)))
        fixed[axis] = v
    return fixed


class Cell(object):
    """One point of the grid: workload x dataset x form x nodes x tasks per node x threads."""

    def __init__(self, workload, app, dataset, form, nodes, tpn, threads, params, ds_key):
        self.workload, self.app, self.dataset, self.form = workload, app, dataset, form
        self.nodes, self.tasks_per_node, self.threads = nodes, tpn, threads
        self.params = params
        self.backend = form
        self.ranks = nodes * tpn if form in ("mpi", "hybrid") else 1
        self.cpus_per_task = threads
        self.id = "%s.%s.%s.n%d-t%d-c%d" % (slug(workload, 24), ds_key, form, nodes, tpn, threads)

    @property
    def shape(self):
        return (self.nodes, self.tasks_per_node, self.cpus_per_task)

    def to_json(self):
        return {"id": self.id, "workload": self.workload, "app": self.app, "dataset": self.dataset,
                "form": self.form, "backend": self.backend, "nodes": self.nodes,
                "tasks_per_node": self.tasks_per_node, "threads": self.threads, "ranks": self.ranks,
                "params": self.params}

    @classmethod
    def from_json(cls, d):
        c = cls.__new__(cls)
        c.id, c.workload, c.app, c.dataset = d["id"], d["workload"], d["app"], d["dataset"]
        c.form = d["form"]
        c.backend, c.nodes, c.tasks_per_node, c.threads = d["backend"], d["nodes"], d["tasks_per_node"], d["threads"]
        c.ranks, c.params, c.cpus_per_task = d["ranks"], d["params"], d["threads"]
        return c


def tag_of(sweep, cell_id, rep):
    return "%s/%s/rep%d" % (sweep, cell_id, rep)


def expand(grid, profile, cores, max_nodes, skipped=None):
    """All cells of the grid, checked against the profile's node shape. Without Slurm (profile
    direct) cells that need more than one node are left out (listed in `skipped`), so the same
    grid runs on one machine; with Slurm they make the grid impossible."""
    cells, problems = [], []
    for w in grid["workloads"]:
        keys = {}
        for ds in w["datasets"]:
            k = slug(os.path.splitext(os.path.basename(ds))[0], 24)
            if k in keys.values():
                k += "-" + hashlib.sha1(ds.encode()).hexdigest()[:6]
            keys[ds] = k
        for ds in w["datasets"]:
            for form in grid["forms"]:
                ax = form_axes(grid, form)
                for n in ax["nodes"]:
                    for t in ax["tasks_per_node"]:
                        for c in ax["threads"]:
                            cell = Cell(w["name"], w["app"], ds, form, n, t, c, w["params"], keys[ds])
                            if t * c > cores:
                                problems.append("%s: %d task(s) per node x %d thread(s) = %d CPUs, but profile %r "
                                                "has %d cores per node" % (cell.id, t, c, t * c, profile["name"], cores))
                            if max_nodes is not None and n > max_nodes and skipped is not None \
                                    and profile["scheduler"] == "direct":
                                skipped.append(cell.id)
                                continue
                            if max_nodes is not None and n > max_nodes:
                                problems.append("%s: %d nodes, but profile %r has %d%s" % (
                                    cell.id, n, profile["name"], max_nodes,
                                    " (direct runs use this machine only)" if profile["scheduler"] == "direct" else ""))
                            cells.append(cell)
    ids = [c.id for c in cells]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        problems.append("duplicate cells (two workloads with the same name?): " + ", ".join(dup))
    if problems:
        raise SweepError("impossible grid:\n  " + "\n  ".join(problems))
    if not cells:
        raise SweepError("the grid has no cell this profile can run%s" % (
            " (direct runs use this machine only, and every cell needs more than one node)" if skipped else ""))
    return cells


def expand_noting(grid, profile, cores, max_nodes):
    skipped = []
    cells = expand(grid, profile, cores, max_nodes, skipped)
    if skipped:
        print("%s: note: without Slurm this machine is the only node: left out %d multi-node cell(s): %s"
              % (PROG, len(skipped), ", ".join(skipped)), file=sys.stderr)
    return cells


# ---------------------------------------------------------------- records / resume -----------

def _same_value(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return str(a) == str(b)


def load_index(jobs_dir):
    """slurm_job_id -> index entry written by each job (nodes, node list, provenance dir)."""
    return {str(e.get("slurm_job_id")): e for e in read_jsonl(os.path.join(jobs_dir, "index.jsonl"))}


def record_matches(rec, cell, tag, index):
    """A valid record of this cell and repetition: status ok, the tag, and the configuration."""
    if rec.get("status") != "ok" or rec.get("tag") != tag:
        return False
    if rec.get("app") != cell.app or rec.get("backend") != cell.backend:
        return False
    if rec.get("ranks") != cell.ranks or rec.get("threads") != (cell.threads if cell.form in ("omp", "hybrid") else 1):
        return False
    nodes = rec.get("nodes")
    if nodes != cell.nodes:
        # Fake nodes of one machine share a host name, so the record counts one node; the job's
        # own index entry has Slurm's node count.
        job = str((rec.get("prov") or {}).get("slurm_job_id"))
        try:
            nodes = int(index.get(job, {}).get("nodes"))
        except (TypeError, ValueError):
            nodes = None
        if nodes != cell.nodes:
            return False
    ds = rec.get("dataset") or {}
    if ds.get("path") != cell.dataset:
        return False
    rp = rec.get("params") or {}
    for k, v in cell.params.items():
        o = opts.find_param(cell.app, k)
        if o is not None and not o.recorded:
            continue
        if not same_request(k, v, rp):
            return False
    return True


def same_request(key, asked, rp):
    """Was a run recorded with params rp asked for key = asked? A word such as `lr = auto` is
    matched where the record keeps it: verbatim, or as `<key>_auto: true` beside the value the
    run derived (the record's `lr` is the rate used), so an auto run is found again instead of
    being resubmitted for ever, and a run at a fixed rate never passes for an auto one."""
    if key not in rp:
        return False
    if isinstance(asked, str) and str(rp[key]) == asked:
        return True
    if asked == "auto":
        return rp.get(key + "_auto") is True
    if rp.get(key + "_auto") is True:
        return False
    return _same_value(rp[key], asked)


def classify(cells, reps, sweep, records, index):
    """-> (done, missing): sets of (cell id, rep)."""
    by_tag = {}
    for r in records:
        by_tag.setdefault(r.get("tag"), []).append(r)
    done, missing = set(), set()
    for c in cells:
        for i in range(reps):
            t = tag_of(sweep, c.id, i)
            if any(record_matches(r, c, t, index) for r in by_tag.get(t, ())):
                done.add((c.id, i))
            else:
                missing.add((c.id, i))
    return done, missing


# ---------------------------------------------------------------- rendering ------------------

DIRECTIVE_PLAIN = re.compile(r"[A-Za-z0-9_./:%+=,@-]+")


def directive_or_cli(opt, value, cli):
    """An #SBATCH line when Slurm's directive parser can carry the value, else the option goes on
    the sbatch command line (argv: no quoting problems at all) and the line says so."""
    value = str(value)
    if DIRECTIVE_PLAIN.fullmatch(value):
        return "#SBATCH %s=%s" % (opt, value)
    if not re.search(r'["\\#\n\r\0]', value):
        return '#SBATCH %s="%s"' % (opt, value)
    cli.append("%s=%s" % (opt, value))
    return "# %s is given on the sbatch command line (its value has characters #SBATCH cannot carry)" % opt


def render_template(name, values):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
        text = fh.read()
    missing = []

    def sub(m):
        k = m.group(1)
        if k not in values:
            missing.append(k)
            return m.group(0)
        return str(values[k])
    out = re.sub(r"@([A-Z_]+)@", sub, text)
    if missing:
        raise SweepError("template %s: no value for %s" % (name, ", ".join(sorted(set(missing)))))
    return out


def setup_block(profile):
    lines = []
    if profile["modules"].split():
        lines.append("module load " + " ".join(shlex.quote(m) for m in profile["modules"].split()))
    if profile["setup"].strip():
        for l in profile["setup"].strip("\n").splitlines():
            if re.match(r"\s*(\.|source)\s", l):
                lines.append("# shellcheck source=/dev/null")
            lines.append(l.rstrip())
    return "\n".join(lines) if lines else "# (none: the executables and tools are found on PATH)"


def common_directives(profile, cli, exclusive=True):
    """The profile's #SBATCH lines; exclusive=False for the 1-CPU report job, which must not be
    charged a whole node (a Stokes node is 48 cores) for its minutes of work."""
    d = []
    for key, opt in (("partition", "--partition"), ("account", "--account"),
                     ("constraint", "--constraint"), ("qos", "--qos")):
        if profile[key]:
            d.append(directive_or_cli(opt, profile[key], cli))
    if profile["exclusive"] and exclusive:
        d.append("#SBATCH --exclusive")
    for opt in profile["sbatch_options"].split():
        d.append("#SBATCH " + opt)
    return d


def checkpoint_word(cell, rep):
    """The checkpoint file of one run, as a shell word ($CKPT_DIR is set by the script)."""
    return '"$CKPT_DIR"/%s' % shlex.quote("%s-rep%d.h5" % (cell.id, rep))


def cell_command(cell, rep, sweep, profile):
    """The argv (as shell words) of one run; $BIN and $RECORDS are set by the script."""
    exe = '"$BIN"/%s_%s' % (cell.app, cell.backend)
    # Every run checkpoints, so a job stopped by Slurm's warning signal before its time
    # limit (--signal=B:USR1@T in the template) continues where it stopped once requeued.
    args = ["--data", shlex.quote(cell.dataset), "--record", '"$RECORDS"',
            "--tag", shlex.quote(tag_of(sweep, cell.id, rep)),
            "--checkpoint", checkpoint_word(cell, rep), "--resume"]
    if cell.form in ("omp", "hybrid"):
        args += ["--threads", '"$OMP_NUM_THREADS"']
    for k, v in cell.params.items():
        args += [opts.find_param(cell.app, k).flag, shlex.quote(repr(v) if isinstance(v, float) else str(v))]
    if cell.form in ("mpi", "hybrid"):
        if profile["launcher"] == "srun":
            launch = ["srun", "--mpi=" + shlex.quote(profile["srun_mpi"]), "--nodes=%d" % cell.nodes,
                      "--ntasks=%d" % cell.ranks, "--ntasks-per-node=%d" % cell.tasks_per_node,
                      "--cpus-per-task=%d" % (cell.threads if cell.form == "hybrid" else 1)]
        else:
            launch = [shlex.quote(profile["mpiexec"]), "-n", str(cell.ranks)]
            if cell.form == "hybrid":
                launch += profile["mpiexec_bind"].replace("{threads}", str(cell.threads)).split()
        return launch + [exe] + args
    return [exe] + args


def array_spec(reps):
    """[0,1,2,4] -> '0-2,4'."""
    reps = sorted(reps)
    parts, start = [], reps[0]
    for a, b in zip(reps, reps[1:] + [None]):
        if b != a + 1:
            parts.append(str(start) if start == a else "%d-%d" % (start, a))
            start = b
    return ",".join(parts)


class Job(object):
    """One submission: the cells of one shape, for one or more repetitions (an array)."""

    def __init__(self, shape, reps_cells):
        self.shape = shape
        self.reps_cells = reps_cells       # {rep: [Cell]}
        self.script = self.cli = self.name = self.time = None

    @property
    def reps(self):
        return sorted(self.reps_cells)

    @property
    def is_array(self):
        return len(self.reps_cells) > 1

    def pairs(self):
        return [(c.id, r) for r in self.reps for c in self.reps_cells[r]]


def plan_jobs(cells, missing):
    by_id = {c.id: c for c in cells}
    order = {c.id: i for i, c in enumerate(cells)}      # grid order: workloads, datasets, forms as listed
    shapes = {}
    for cid, rep in sorted(missing):
        c = by_id[cid]
        shapes.setdefault(c.shape, {}).setdefault(rep, []).append(c)
    jobs = []
    for shape in sorted(shapes):
        rc = shapes[shape]
        for r in rc:
            rc[r].sort(key=lambda c: order[c.id])
        jobs.append(Job(shape, rc))
    return jobs


class Ctx(object):
    """Everything a sweep needs to know about where things are."""

    def __init__(self, grid, profile, results, records, report_out, bin_dir):
        self.grid, self.profile = grid, profile
        self.sweep = grid["name"]
        self.results = results
        self.records = records
        self.report_out = report_out
        self.bin_dir = bin_dir
        self.jobs_dir = os.path.join(results, "jobs")
        self.logs_dir = os.path.join(self.jobs_dir, "logs")
        self.sweep_dir = os.path.join(results, "sweeps", safe_dir_name(self.sweep))
        self.slug = slug(self.sweep, 24)


def job_time(ctx, njob_cells):
    if ctx.grid["time"]:
        secs = ctx.grid["time"]
    else:
        per = ctx.grid["time_per_run"] or parse_time(ctx.profile["time_per_run"])
        secs = max(parse_time(ctx.profile["min_time"]), per * njob_cells + 60)
        secs = int(math.ceil(secs / 60.0)) * 60
    if ctx.profile["max_time"] and secs > parse_time(ctx.profile["max_time"]):
        raise SweepError("a job needs --time=%s, more than the profile's max_time %s; split the grid or lower "
                         "time_per_run" % (fmt_time(secs), ctx.profile["max_time"]))
    return secs


def render_job(ctx, job):
    n, t, c = job.shape
    shape_txt = "n%d-t%d-c%d" % (n, t, c)
    job.name = "%s-%s" % (ctx.slug, shape_txt)
    job.cli = []
    out = os.path.join(ctx.logs_dir, "%x-%A_%a.out" if job.is_array else "%x-%j.out")
    directives = [directive_or_cli("--output", out, job.cli)]
    if job.is_array:
        directives.append("#SBATCH --array=%s" % array_spec(job.reps))
    directives.append(directive_or_cli("--chdir", REPO, job.cli))
    directives += common_directives(ctx.profile, job.cli)
    job.time = job_time(ctx, max(len(v) for v in job.reps_cells.values()))
    cases = []
    for r in job.reps:
        cases.append("  %d)" % r)
        for cell in job.reps_cells[r]:
            tag_json = json.dumps(tag_of(ctx.sweep, cell.id, r), ensure_ascii=False, separators=(",", ":"))
            cases.append("    run_cell %s %d %s %s %s" % (cell.id, r, shlex.quote(tag_json), checkpoint_word(cell, r),
                                                         " ".join(cell_command(cell, r, ctx.sweep, ctx.profile))))
        cases.append("    ;;")
    ncells = sum(len(v) for v in job.reps_cells.values())
    values = {
        "HEADER": "sweep %s, shape %s: %d run(s), profile %s" % (json.dumps(ctx.sweep), shape_txt, ncells,
                                                                   ctx.profile["name"]),
        "JOB_NAME": job.name, "NODES": n, "TASKS_PER_NODE": t, "CPUS_PER_TASK": c,
        "TIME": fmt_time(job.time), "DIRECTIVES": "\n".join(directives),
        # The warning signal comes a tenth of the time limit before it (30 s to 5 min): time
        # for the running cell to finish its iteration and write its checkpoint.
        "SIGNAL_SECS": min(300, max(30, job.time // 10)),
        "ARRAY_NOTE": ("Array elements = repetitions %s; each runs the cells missing for its repetition."
                       % array_spec(job.reps)) if job.is_array else "Repetition %d." % job.reps[0],
        "REPO": shlex.quote(REPO), "BIN": shlex.quote(ctx.bin_dir), "RECORDS": shlex.quote(ctx.records),
        "BIN_SETS": " ".join(shlex.quote(d) for d in bin_sets(ctx.profile)),
        "JOBS_DIR": shlex.quote(ctx.jobs_dir), "SWEEP_JSON": shlex.quote(json.dumps(ctx.sweep)),
        "SHAPE": shape_txt, "PROFILE": ctx.profile["name"], "SETUP": setup_block(ctx.profile),
        "DEFAULT_REP": job.reps[0], "CASES": "\n".join(cases),
    }
    job.script = render_template("run.sbatch.in", values)
    return job


def bin_sets(profile):
    """The profile's per-CPU-family binary folders (absolute), most specific first: the job runs
    the first whose executables start on its node (they check the CPU at start-up and exit 1
    when it lacks what they were built for), else bin_dir, the portable set."""
    return [os.path.abspath(os.path.join(REPO, d)) for d in profile["bin_sets"].split()]


MAKE_SAFE = re.compile(r"[A-Za-z0-9_./+,@-]+")


def render_report(ctx, dep_ids):
    cli = []
    directives = [directive_or_cli("--output", os.path.join(ctx.logs_dir, "%x-%j.out"), cli),
                  directive_or_cli("--chdir", REPO, cli)]
    directives += common_directives(ctx.profile, cli, exclusive=False)
    rec, out = ctx.records, ctx.report_out
    make = ctx.profile["make"]
    if MAKE_SAFE.fullmatch(rec) and MAKE_SAFE.fullmatch(out):
        words = [make, "report", "RECORDS=" + rec, "REPORT_OUT=" + out]
        cmd = " ".join(shlex.quote(w) for w in words)
    else:
        # make cannot pass a path with spaces or make metacharacters in a variable: run what
        # `make report` runs, the report script with the interpreter tools/find-python.sh picks.
        words = ["report/make_report.py", "--out", out, rec]
        cmd = ('REPORT_PY=$(tools/find-python.sh /usr/bin/python3 python3)\n'
               '"${REPORT_PY:-python3}" report/make_report.py --out %s %s  # what `make report` runs'
               % (shlex.quote(out), shlex.quote(rec)))
    values = {
        "HEADER": "sweep %s: report job, profile %s" % (json.dumps(ctx.sweep), ctx.profile["name"]),
        "JOB_NAME": ctx.slug + "-report", "TIME": ctx.profile["report_time"] and fmt_time(parse_time(ctx.profile["report_time"])),
        "DIRECTIVES": "\n".join(directives),
        "DEPENDENCY": "afterany:" + ":".join(dep_ids) if dep_ids else "no dependency",
        "REPO": shlex.quote(REPO), "PYTHON": shlex.quote(ctx.profile["python"]),
        "SWEEP_DIR": shlex.quote(ctx.sweep_dir), "PROFILE": ctx.profile["name"],
        "SETUP": setup_block(ctx.profile), "REPORT_CMD": cmd,
        "REPORT_CMD_ECHO": " ".join(shlex.quote(w) for w in words),
    }
    return render_template("report.sbatch.in", values), cli


# ---------------------------------------------------------------- Slurm queries --------------

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


# ---------------------------------------------------------------- state files ----------------

def load_submissions(sweep_dir):
    return read_jsonl(os.path.join(sweep_dir, "submissions.jsonl"))


def save_plan(ctx, cells):
    os.makedirs(ctx.sweep_dir, exist_ok=True)
    plan = {"sweep": ctx.sweep, "repetitions": ctx.grid["repetitions"], "records": ctx.records,
            "jobs_dir": ctx.jobs_dir, "report_out": ctx.report_out, "profile": ctx.profile["name"],
            "scheduler": ctx.profile["scheduler"], "cells": [c.to_json() for c in cells],
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    tmp = os.path.join(ctx.sweep_dir, "plan.json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(plan, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, os.path.join(ctx.sweep_dir, "plan.json"))


def latest_submission_of(subs):
    """(cell id, rep) -> the latest run submission that included it."""
    latest = {}
    for s in subs:
        if s.get("kind") != "run":
            continue
        for cid, rep in s.get("pairs", []):
            latest[(cid, rep)] = s
    return latest


def element_id(sub, rep):
    return "%s_%d" % (sub["job_id"], rep) if sub.get("array") else str(sub["job_id"])


def cells_log_of(jobs_dir, index, sub, rep):
    """The provenance dir of the job (element) that ran this repetition, and its cells.log events."""
    if sub.get("scheduler") == "direct":
        jid = (sub.get("direct_jobs") or {}).get(str(rep))
    elif sub.get("array"):
        jid = None
        for e in index.values():
            if str(e.get("array_job_id")) == str(sub["job_id"]) and str(e.get("array_task_id")) == str(rep):
                jid = e.get("dir")
    else:
        jid = str(sub["job_id"])
    if not jid:
        return None, []
    path = os.path.join(jobs_dir, jid, "cells.log")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return os.path.join(jobs_dir, jid), [l.split() for l in fh if l.strip()]
    except OSError:
        return (os.path.join(jobs_dir, jid) if os.path.isdir(os.path.join(jobs_dir, jid)) else None), []


def explain(cid, rep, sub, states, jobs_dir, index):
    """-> (finished, status, message) for a (cell, rep) without a valid record."""
    if sub is None:
        return False, None, "not submitted yet"
    if sub.get("scheduler") == "direct":
        eid = (sub.get("direct_jobs") or {}).get(str(rep), "direct run")
    else:
        eid = element_id(sub, rep)
    st = states.get(eid) or states.get(str(sub.get("job_id"))) or {}
    state = (st.get("state") or "").split()[0] if st else ""
    if sub.get("scheduler") == "direct":
        state = (sub.get("direct_states") or {}).get(str(rep), "")
    if state in ACTIVE:
        return False, None, "job %s is %s" % (eid, state.lower())
    pdir, events = cells_log_of(jobs_dir, index, sub, rep)
    me = "%s rep%d" % (cid, rep)
    started = ended = killed = None
    for ev in events:
        if len(ev) >= 3 and ev[1] == cid and ev[2] == "rep%d" % rep:
            if ev[0] == "start":
                started = ev
            elif ev[0] == "end":
                ended = ev
            elif ev[0] == "killed":
                killed = ev
    where = " (provenance: %s)" % pdir if pdir else ""
    timeout = state == "TIMEOUT"
    if not state and not events:
        return True, "failed", ("job %s: no trace (not in the queue, no provenance dir); it may have failed before "
                                "starting, or Slurm forgot it" % eid)
    if ended and len(ended) >= 4 and ended[3] != "0":
        rc = int(ended[3]) if ended[3].isdigit() else -1
        return True, "failed", "job %s: %s exited with status %s (%s)%s" % (
            eid, me, ended[3], EXIT_MEANING.get(rc, "failed"), where)
    if ended:
        return True, "failed", "job %s: %s exited 0 but no valid record was found in the records file%s" % (eid, me, where)
    if started or killed:
        if timeout:
            return True, "timeout", ("job %s was killed at its time limit (TIMEOUT) while running %s; raise time or "
                                     "time_per_run%s" % (eid, me, where))
        return True, "failed", "job %s ended (%s) while running %s%s" % (eid, state or "killed", me, where)
    if timeout:
        return True, "timeout", ("job %s was killed at its time limit (TIMEOUT) before reaching %s; raise time or "
                                 "time_per_run%s" % (eid, me, where))
    if state:
        return True, "failed", "job %s ended %s without running %s%s%s" % (
            eid, state, me, (" (exit %s)" % st.get("exit")) if st.get("exit") else "", where)
    return True, "failed", "job %s ended without running %s%s" % (eid, me, where)


# ---------------------------------------------------------------- status / reconcile ---------

def sweep_status(sweep, reps, cells, records_path, jobs_dir, sweep_dir):
    records = read_records(records_path)
    index = load_index(jobs_dir)
    done, missing = classify(cells, reps, sweep, records, index)
    subs = load_submissions(sweep_dir)
    latest = latest_submission_of(subs)
    need = set()
    for pair in missing:
        s = latest.get(pair)
        if s and s.get("scheduler") != "direct":
            need.add(element_id(s, pair[1]))
            need.add(str(s["job_id"]))
    states = job_states(sorted(need)) if need else {}
    rows = []
    for cid, rep in sorted(missing):
        fin, status, msg = explain(cid, rep, latest.get((cid, rep)), states, jobs_dir, index)
        rows.append({"cell": cid, "rep": rep, "finished": fin, "status": status, "message": msg,
                     "job": (lambda s: element_id(s, rep) if s and s.get("scheduler") != "direct" else None)(
                         latest.get((cid, rep)))})
    return done, rows, records, index


def failure_record(cell, rep, sweep, status, message, job, records, index):
    """A run/1 record with status failed/timeout, so the report lists the missing cell. Its params
    and dataset are copied from an ok record of the same workload when there is one (so it joins
    that group in the report)."""
    params, dataset = dict(cell.params), {"path": cell.dataset}
    for r in records:
        if (r.get("status") == "ok" and r.get("app") == cell.app and (r.get("dataset") or {}).get("path") == cell.dataset
                and all(_same_value((r.get("params") or {}).get(k), v) for k, v in cell.params.items())):
            params, dataset = dict(r.get("params") or {}), dict(r.get("dataset") or {})
            break
    threads = cell.threads if cell.form in ("omp", "hybrid") else 1
    jid, task = (job.split("_", 1) + [None])[:2] if job else (None, None)
    slurm_id = None
    if jid:
        for e in index.values():
            if str(e.get("array_job_id")) == jid and str(e.get("array_task_id")) == str(task):
                slurm_id = str(e.get("slurm_job_id"))
        if task is None:
            slurm_id = jid
    return {"schema": "run/1", "app": cell.app, "backend": cell.backend, "ranks": cell.ranks, "threads": threads,
            "workers": cell.ranks * threads, "nodes": cell.nodes, "hosts": [], "dataset": dataset, "params": params,
            "status": status, "tag": tag_of(sweep, cell.id, rep), "error": message, "result": {}, "time_s": {},
            "prov": {"slurm_job_id": slurm_id, "slurm_array_task_id": task, "sweep_job": job,
                     "source": "jobs/sweep.py reconcile",
                     "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}


def format_status(sweep, reps, cells, done, rows):
    total = len(cells) * reps
    lines = ["sweep %s: %d run(s) expected (%d cell(s) x %d repetition(s)): %d recorded, %d missing"
             % (json.dumps(sweep), total, len(cells), reps, len(done), len(rows))]
    for r in rows:
        lines.append("  MISSING %s rep%d: %s" % (r["cell"], r["rep"], r["message"]))
    return lines


def cmd_reconcile(args):
    sweep_dir = args.sweep_dir
    try:
        with open(os.path.join(sweep_dir, "plan.json"), encoding="utf-8") as fh:
            plan = json.load(fh)
    except (OSError, ValueError) as e:
        raise SweepError("%s: no readable plan.json (%s); was this sweep submitted?" % (sweep_dir, e))
    cells = [Cell.from_json(c) for c in plan["cells"]]
    merged = 0 if args.no_write else records_file.merge_spool(plan["records"])
    done, rows, records, index = sweep_status(plan["sweep"], plan["repetitions"], cells, plan["records"],
                                              plan["jobs_dir"], sweep_dir)
    lines = format_status(plan["sweep"], plan["repetitions"], cells, done, rows)
    if merged:
        lines.append("merged %d record(s) from %s into %s" % (merged, records_file.spool_dir(plan["records"]),
                                                            plan["records"]))
    by_id = {c.id: c for c in cells}
    have = {(r.get("tag"), (r.get("prov") or {}).get("sweep_job")) for r in records if r.get("status") != "ok"}
    new = []
    for r in rows:
        if not r["finished"]:
            continue
        key = (tag_of(plan["sweep"], r["cell"], r["rep"]), r["job"])
        if key in have:
            continue
        new.append(json.dumps(failure_record(by_id[r["cell"]], r["rep"], plan["sweep"], r["status"], r["message"],
                                             r["job"], records, index), sort_keys=True))
    if new and not args.no_write:
        lock_append(plan["records"], new)
        lines.append("appended %d failure record(s) to %s (earlier records untouched); re-run the same sweep "
                     "command to resubmit the missing cells" % (len(new), plan["records"]))
    elif not rows:
        lines.append("every run of the sweep has a valid record")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with open(os.path.join(sweep_dir, "status.txt"), "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


# ---------------------------------------------------------------- submit ---------------------

def need_sbatch():
    if not shutil.which("sbatch"):
        raise SweepError("sbatch is not on PATH: this cluster profile submits Slurm jobs. Load Slurm (e.g. on a "
                         "login node), start the local test cluster (jobs/local-slurm/start.sh), or run the grid "
                         "without Slurm with --no-slurm (profile 'direct')")


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


def build_ctx(args):
    g = load_grid_file(args.grid) if args.grid else {"workloads": {}, "form_axes": {}}
    where = "grid %s" % args.grid if args.grid else "grid (command line)"
    # command-line overrides
    for opt, key in (("name", "name"), ("reps", "repetitions"), ("forms", "forms"), ("nodes", "nodes"),
                     ("tasks_per_node", "tasks_per_node"), ("threads", "threads"), ("time", "time"),
                     ("time_per_run", "time_per_run")):
        v = getattr(args, opt, None)
        if v is not None:
            g[key] = v
    if args.app:
        if not args.dataset:
            raise SweepError("--app needs at least one --dataset")
        params = {}
        for kv in args.param or []:
            if "=" not in kv:
                raise SweepError("--param %r is not KEY=VALUE" % kv)
            k, v = kv.split("=", 1)
            params[k.strip()] = v
        g["workloads"] = {args.app: {"app": args.app, "datasets": list(args.dataset), "params": params}}
    elif args.dataset or args.param:
        raise SweepError("--dataset/--param define a workload together with --app")
    grid = normalise_grid(g, where)
    pname = "direct" if args.no_slurm else (args.profile or grid["profile"] or "local")
    overrides = {}
    for key in ("partition", "account", "constraint", "qos"):
        v = getattr(args, key, None)
        if v is not None:
            overrides[key] = v
    for kv in args.set or []:
        if "=" not in kv:
            raise SweepError("--set %r is not KEY=VALUE" % kv)
        k, v = kv.split("=", 1)
        overrides[k.strip()] = v
    profile = load_profile(pname, overrides)
    results = os.path.abspath(check_text("--results", args.results or os.path.join(REPO, "results")))
    records = os.path.abspath(check_text("--records", args.records or os.path.join(results, "runs.jsonl")))
    report_out = os.path.abspath(check_text("--report-out", args.report_out or os.path.join(REPO, "report", "out")))
    bin_dir = check_text("--bin", args.bin or profile["bin_dir"])
    bin_dir = os.path.abspath(os.path.join(REPO, bin_dir))
    ctx = Ctx(grid, profile, results, records, report_out, bin_dir)
    return ctx


def check_inputs(ctx, cells, strict):
    """Datasets and executables must exist (relative paths are relative to the repository)."""
    problems = []
    for ds in sorted({c.dataset for c in cells}):
        if not os.path.isfile(os.path.join(REPO, ds)):
            problems.append("dataset %s not found (relative to %s; `make datasets` writes the standard ones)" % (ds, REPO))
    for init in sorted({str(c.params["init"]) for c in cells if "init" in c.params}):
        if init not in opts.find_param("kmeans", "init").words and not os.path.isfile(os.path.join(REPO, init)):
            problems.append("init %s is neither %s nor an existing file (relative to %s)"
                            % (init, " nor ".join(opts.find_param("kmeans", "init").words), REPO))
    for exe in sorted({"%s_%s" % (c.app, c.backend) for c in cells}):
        p = os.path.join(ctx.bin_dir, exe)
        if not os.access(p, os.X_OK):
            problems.append("executable %s not found (build with `make`, or pass --bin DIR)" % p)
    for d in bin_sets(ctx.profile):
        if not os.access(os.path.join(d, "kmeans_seq"), os.X_OK):
            print("%s: warning: binary set %s (profile bin_sets) is not built: jobs will not use it "
                  "(build it with `make TARGET=<cpu>`, README \"Binaries for a mixed partition\")" % (PROG, d),
                  file=sys.stderr)
    if problems:
        if strict:
            raise SweepError("cannot run the sweep:\n  " + "\n  ".join(problems))
        for p in problems:
            print("%s: warning: %s" % (PROG, p), file=sys.stderr)


def cmd_submit(args):
    ctx = build_ctx(args)
    prof = ctx.profile
    slurm = prof["scheduler"] == "slurm"
    if slurm and not args.dry_run:
        need_sbatch()
    cores, max_nodes = resolve_capacity(prof)
    cells = expand_noting(ctx.grid, prof, cores, max_nodes)
    check_inputs(ctx, cells, strict=not args.dry_run)
    reps = ctx.grid["repetitions"]
    records = read_records(ctx.records)
    index = load_index(ctx.jobs_dir)
    done, missing = classify(cells, reps, ctx.sweep, records, index)
    # runs still queued from an earlier submission are not submitted twice
    subs = load_submissions(ctx.sweep_dir)
    latest = latest_submission_of(subs)
    queued = set()
    waiting_on = set()
    if slurm and not args.force and missing:
        prev = {str(latest[p]["job_id"]) for p in missing if p in latest and latest[p].get("scheduler") == "slurm"}
        alive = queued_ids(sorted(prev)) if prev and shutil.which("squeue") else set()
        for p in missing:
            s = latest.get(p)
            if s and str(s["job_id"]) in alive:
                queued.add(p)
                waiting_on.add(str(s["job_id"]))
    todo = missing - queued
    print("%s: sweep %s, profile %s (%s, %d cores/node%s): %d cell(s) x %d repetition(s) = %d run(s): %d recorded, "
          "%d still queued, %d to %s" % (
              PROG, json.dumps(ctx.sweep), prof["name"], prof["scheduler"], cores,
              ", %d node(s)" % max_nodes if max_nodes else "", len(cells), reps, len(cells) * reps, len(done),
              len(queued), len(todo), "check" if args.dry_run else "run"))
    jobs = [render_job(ctx, j) for j in plan_jobs(cells, todo)]
    if args.dry_run:
        return dry_run(ctx, jobs, slurm, args)
    if not todo:
        if queued:
            print("%s: nothing new to submit; %d run(s) are still queued in job(s) %s" % (
                PROG, len(queued), ", ".join(sorted(waiting_on))))
        else:
            print("%s: every run already has a valid record; nothing to submit (`make report` rebuilds the report)" % PROG)
        return 0
    os.makedirs(ctx.logs_dir, exist_ok=True)
    os.makedirs(ctx.jobs_dir, exist_ok=True)
    save_plan(ctx, cells)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    subs_path = os.path.join(ctx.sweep_dir, "submissions.jsonl")
    ids = []
    for j in jobs:
        path = write_script(ctx, "%s-%s.sbatch" % (stamp, j.name), j.script)
        entry = {"kind": "run", "utc": stamp, "name": j.name, "shape": list(j.shape), "script": path,
                 "array": array_spec(j.reps) if j.is_array else None, "pairs": j.pairs(),
                 "scheduler": prof["scheduler"], "time": fmt_time(j.time)}
        if slurm:
            try:
                jid = submit_one(path, j.cli)
            except RunError as e:
                raise RunError("%s\n%s" % (e, "jobs submitted before this one (%s) stay queued; once the cause is "
                               "fixed, re-running the same command submits only what is missing" % ", ".join(ids)
                               if ids else "nothing was submitted"))
            entry["job_id"] = jid
            ids.append(jid)
            print("%s: submitted %s as job %s%s (%d run(s), --time=%s)" % (
                PROG, j.name, jid, " array %s" % entry["array"] if j.is_array else "", len(j.pairs()), fmt_time(j.time)))
        else:
            st, jids = run_direct(ctx, j, path)
            entry["job_id"] = "direct"
            entry["direct_states"], entry["direct_jobs"] = st, jids
        lock_append(subs_path, [json.dumps(entry)])
    if args.no_report:
        return finish(ctx, args, ids, None, slurm)
    deps = ids + sorted(waiting_on)
    text, cli = render_report(ctx, deps)
    path = write_script(ctx, "%s-%s-report.sbatch" % (stamp, ctx.slug), text)
    report_id = None
    if slurm:
        report_id = submit_one(path, cli, ["--dependency=afterany:" + ":".join(deps), "--kill-on-invalid-dep=yes"])
        print("%s: submitted the report job %s (--dependency=afterany:%s), which runs `make report` into %s" % (
            PROG, report_id, ":".join(deps), ctx.report_out))
        lock_append(subs_path, [json.dumps({"kind": "report", "utc": stamp, "job_id": report_id, "script": path,
                                            "depends_on": deps, "scheduler": "slurm"})])
    else:
        print("%s: running the report step directly" % PROG)
        log = os.path.join(ctx.logs_dir, "%s-report-direct-%s.out" % (ctx.slug, stamp))
        with open(log, "w") as fh:
            try:
                rc = subprocess.run(["bash", path], stdout=fh, stderr=subprocess.STDOUT, cwd=REPO,
                                    timeout=parse_time(prof["report_time"])).returncode
            except subprocess.TimeoutExpired:
                rc = 124
        with open(log, errors="replace") as fh:
            sys.stdout.write(fh.read())
        if rc != 0:
            print("%s: the report step failed (exit %d); log %s" % (PROG, rc, log), file=sys.stderr)
    return finish(ctx, args, ids, report_id, slurm)


def finish(ctx, args, ids, report_id, slurm):
    if slurm and args.wait and ids:
        allids = ids + ([report_id] if report_id else [])
        deadline = time.time() + args.wait_timeout
        print("%s: waiting for job(s) %s (up to %d s)" % (PROG, ", ".join(allids), args.wait_timeout), flush=True)
        browse_module().Progress(ctx.sweep_dir).wait(allids, deadline)
    if slurm and not args.wait:
        print("%s: follow with `squeue -u $USER`; `jobs/sweep.py status %s` says what is recorded and what is missing"
              % (PROG, shlex.quote(args.grid) if args.grid else "..."))
        return 0
    with open(os.path.join(ctx.sweep_dir, "plan.json"), encoding="utf-8") as fh:
        plan_cells = [Cell.from_json(c) for c in json.load(fh)["cells"]]
    done, rows, _, _ = sweep_status(ctx.sweep, ctx.grid["repetitions"], plan_cells, ctx.records, ctx.jobs_dir,
                                    ctx.sweep_dir)
    for line in format_status(ctx.sweep, ctx.grid["repetitions"], plan_cells, done, rows):
        print(line)
    return 1 if rows else 0


def dry_run(ctx, jobs, slurm, args):
    import tempfile
    have_sbatch = bool(shutil.which("sbatch"))
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
            if slurm and have_sbatch and not args.no_test_only:
                ok, msg = sbatch_test_only(path, cli)
                print("---- sbatch --test-only: %s: %s" % ("OK" if ok else "REJECTED", msg))
                bad += 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not items:
        print("%s: nothing to run: every run already has a valid record" % PROG)
    if slurm and not have_sbatch and not args.no_test_only:
        raise RunError("the scripts above could not be checked: sbatch is not on PATH (use --no-test-only to only render)")
    if bad:
        raise RunError("%d script(s) rejected (see above)" % bad)
    print("%s: dry run: %d script(s) rendered%s; nothing submitted" % (
        PROG, len(items), " and accepted by sbatch --test-only" if slurm and not args.no_test_only else ""))
    return 0


def cmd_status(args):
    ctx = build_ctx(args)
    cores, max_nodes = resolve_capacity(ctx.profile) if ctx.profile["scheduler"] == "direct" else (10 ** 6, None)
    cells = expand_noting(ctx.grid, ctx.profile, cores, max_nodes)
    done, rows, _, _ = sweep_status(ctx.sweep, ctx.grid["repetitions"], cells, ctx.records, ctx.jobs_dir,
                                    ctx.sweep_dir)
    if args.json:
        json.dump({"sweep": ctx.sweep, "expected": len(cells) * ctx.grid["repetitions"], "recorded": len(done),
                   "missing": rows}, sys.stdout, indent=1, sort_keys=True)
        print()
    else:
        for line in format_status(ctx.sweep, ctx.grid["repetitions"], cells, done, rows):
            print(line)
    return 1 if rows else 0


def browse_module():
    """jobs/browse.py (list, cancel, export, compare, --wait progress), bound to this module: run as
    a script, this module is __main__, and browse must raise the SweepError that main() catches."""
    try:
        from jobs import browse
    except ImportError:
        import browse
    browse.sw = sys.modules[__name__]
    return browse


def cmd_profiles(args):
    for n in profile_names():
        try:
            p = load_profile(n)
            print("%-8s %s" % (n, p["description"]))
        except SweepError as e:
            print("%-8s (broken: %s)" % (n, e))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="jobs/sweep.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Grid format, profiles and examples: jobs/README.md")
    sub = ap.add_subparsers(dest="cmd")

    def grid_opts(p):
        p.add_argument("grid", nargs="?", help="grid file (.ini or .json)")
        p.add_argument("--profile", help="cluster profile: %s, or a .conf path (default: the grid's, else local)"
                       % ", ".join(profile_names()))
        p.add_argument("--no-slurm", action="store_true", help="run on this machine without Slurm (profile direct)")
        p.add_argument("--name", help="sweep name (also the first part of every tag)")
        p.add_argument("--reps", help="repetitions")
        p.add_argument("--forms", help="forms, e.g. 'seq omp mpi'")
        p.add_argument("--nodes", help="node counts, e.g. '1 2 4'")
        p.add_argument("--tasks-per-node", dest="tasks_per_node", help="MPI tasks per node, e.g. '1 2'")
        p.add_argument("--threads", help="OpenMP threads, e.g. '1 2 4'")
        p.add_argument("--time", help="--time of every job (Slurm format); default: time_per_run x runs")
        p.add_argument("--time-per-run", dest="time_per_run", help="time allowed per run (Slurm format)")
        p.add_argument("--app", choices=sorted(APPS), help="define a workload on the command line ...")
        p.add_argument("--dataset", action="append", help="... its dataset(s) (repeatable)")
        p.add_argument("--param", action="append", help="... and parameters KEY=VALUE (repeatable)")
        p.add_argument("--partition")
        p.add_argument("--account")
        p.add_argument("--constraint")
        p.add_argument("--qos")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a profile key")
        p.add_argument("--results", help="results folder (records, jobs/, sweeps/); default results/")
        p.add_argument("--records", help="records file (default RESULTS/runs.jsonl)")
        p.add_argument("--report-out", dest="report_out", help="report folder (default report/out)")
        p.add_argument("--bin", help="folder of the executables (default: the profile's bin_dir)")

    ps = sub.add_parser("submit", help="submit the missing runs of a grid (and a report job)")
    grid_opts(ps)
    ps.add_argument("--dry-run", action="store_true", help="print the scripts and check them with sbatch --test-only")
    ps.add_argument("--no-test-only", action="store_true", help="with --dry-run: only render")
    ps.add_argument("--no-report", action="store_true", help="do not submit the report job")
    ps.add_argument("--force", action="store_true", help="also resubmit runs whose earlier job is still queued")
    ps.add_argument("--wait", action="store_true", help="wait for the jobs, then print the status")
    ps.add_argument("--wait-timeout", type=int, default=3600, help="seconds --wait waits at most (default 3600)")
    pst = sub.add_parser("status", help="what is recorded, what is missing and why")
    grid_opts(pst)
    pst.add_argument("--json", action="store_true", help="the same as one JSON object")

    def results_opt(p):
        p.add_argument("--results", default=os.path.join(REPO, "results"),
                       help="results folder the sweeps were submitted with (default results/)")
    pl = sub.add_parser("list", help="the sweeps under the results folder, with done/queued/missing runs")
    results_opt(pl)
    pc = sub.add_parser("cancel", help="scancel the sweep's queued and running jobs (by the ids it recorded)")
    pc.add_argument("sweep", help="sweep name, or its grid file")
    results_opt(pc)
    pe = sub.add_parser("export", help="the sweep's records as CSV, one row per record (columns: jobs/README.md)")
    pe.add_argument("sweep", help="sweep name, or its grid file")
    pe.add_argument("--csv", action="store_true", help="CSV (the only format; the default)")
    pe.add_argument("--out", help="file to write (default: standard output)")
    results_opt(pe)
    pcmp = sub.add_parser("compare", help="two sweeps' cells side by side: medians, ratio and the report's test")
    pcmp.add_argument("sweep_a", metavar="SWEEP_A", help="sweep name or grid file (the base)")
    pcmp.add_argument("sweep_b", metavar="SWEEP_B", help="sweep name or grid file")
    results_opt(pcmp)
    pr = sub.add_parser("reconcile", help="(report job) list missing cells and append failure records")
    pr.add_argument("--sweep-dir", required=True)
    pr.add_argument("--no-write", action="store_true", help="only print")
    sub.add_parser("profiles", help="list the cluster profiles")
    args = ap.parse_args(argv)
    if not args.cmd:
        ap.print_help()
        return 2
    try:
        if args.cmd in ("list", "cancel", "export", "compare"):
            args.results = os.path.abspath(args.results)
            return getattr(browse_module(), "cmd_" + args.cmd)(args)
        return {"submit": cmd_submit, "status": cmd_status, "reconcile": cmd_reconcile,
                "profiles": cmd_profiles}[args.cmd](args)
    except SweepError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("%s: interrupted; jobs already submitted stay queued, records already written are kept" % PROG,
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
