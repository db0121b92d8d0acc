"""Grids: an INI or JSON file -> a checked dict -> the cells (workload x dataset x form x nodes x
tasks per node x threads) a profile can run."""

import configparser
import hashlib
import json
import os
import sys

from jobs import options as opts
from .common import APPS, FORMS, MPI_FORMS, PROG, threaded_forms, SweepError, check_text, int_list, parse_time, path_list, slug, word_list


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
    ranks = form in MPI_FORMS
    fixed = {"nodes": grid["nodes"] if ranks else [1], "tasks_per_node": grid["tasks_per_node"] if ranks else [1],
             "threads": grid["threads"] if form in threaded_forms() else [1]}
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
        self.ranks = nodes * tpn if form in MPI_FORMS else 1
        self.cpus_per_task = threads
        self.id = "%s.%s.%s.n%d-t%d-c%d" % (slug(workload, 24), ds_key, form, nodes, tpn, threads)

    @property
    def run_threads(self):
        """The threads the run itself uses (its --threads, its record's `threads`): the threads
        axis where the backend takes --threads, else 1."""
        return self.threads if self.form in threaded_forms() else 1

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
