"""Loading, validation and grouping of run records ("run/1") and Google Benchmark JSON.

The report never averages records that did different work: records are grouped by
(app, dataset content hash, all params), and inside a group by form (backend) and
configuration (nodes, ranks, threads). Bad input is skipped with a warning that names
the file and line, so one broken line does not cost the whole report.
"""

import hashlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field

SCHEMA = "run/1"
# Known forms in the order the report lists them; other backend names sort after these.
FORM_ORDER = ("seq", "omp", "mpi")
FORM_NAMES = {"seq": "sequential", "omp": "OpenMP (shared memory)", "mpi": "MPI"}


def form_rank(backend):
    return (FORM_ORDER.index(backend), "") if backend in FORM_ORDER else (len(FORM_ORDER), backend)


@dataclass
class Run:
    """One validated run record: the fields the report reads (records.load keeps no more, see _slim)."""
    app: str
    backend: str
    nodes: int
    ranks: int
    threads: int
    workers: int
    dataset: dict
    params: dict
    status: str
    result: dict
    time_s: dict
    prov: dict
    hosts: list
    tag: object
    source: str          # file name
    line: int            # 1-based line number in that file
    message: str = None  # a failed run's "error" (or "message") text

    @property
    def ok(self):
        return self.status == "ok"

    @property
    def config(self):
        return (self.nodes, self.ranks, self.threads)

    @property
    def total(self):
        return self.time_s.get("total")

    def where(self):
        return f"{self.source}:{self.line}"


@dataclass
class BenchFile:
    """A Google Benchmark JSON file: its context block (provenance) and benchmark entries."""
    path: str
    context: dict
    benchmarks: list


@dataclass
class Loaded:
    runs: list = field(default_factory=list)        # every valid record, ok or not
    benches: list = field(default_factory=list)
    warnings: list = field(default_factory=list)    # "file:line: what; skipped"
    files: list = field(default_factory=list)       # (path, sha256 or None, kind, entries)
    # Single-object JSON inputs other than benchmarks, by kind (SIDE_FILES): [(path, object)]
    side: dict = field(default_factory=dict)
    tag_prefix: object = None   # make_report --tag: only the records whose tag starts with it were kept
    simulated: list = field(default_factory=list)   # backend "smpi" runs, split off runs (report/simulated.py)

    def unreadable(self):
        return [(p, kind) for p, _, kind, _ in self.files if kind.startswith("unreadable")]

    def side_input(self, kind):
        """(path, object) of the last file of `kind` given, or (None, None)."""
        return (self.side.get(kind) or [(None, None)])[-1]


# One-object JSON files that `make report` is handed beside the records (results/bench/*.json,
# results/compare.json), told apart by content like benchmark files: kind -> is-it test.
# "cost-model" is bench/cost_model.py --json output: listed, not read (the report evaluates
# the model itself from the microbenchmarks and alpha_beta.json it is given).
SIDE_FILES = {
    "compare": lambda obj: obj.get("schema") == "compare/1",
    "alpha-beta": lambda obj: "alpha_s" in obj and "beta_s_per_byte" in obj,
    "cost-model": lambda obj: "workloads" in obj and "machine" in obj,
}

# Records of side experiments rather than of the scaling sweep: `make compare` tags the
# toolkit's runs "compare" (one thread and all cores, initial centroids from a temporary file).
# They are shown with the comparison only, never in the scaling groups and answers.
SIDE_TAGS = frozenset({"compare"})


def scaling_runs(runs):
    """The runs that belong to the scaling groups: all but those tagged in SIDE_TAGS."""
    return [r for r in runs if r.tag not in SIDE_TAGS]


def _is_int(x):
    # bool is a subclass of int in Python; `true` is not a rank count.
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x):
    # An integer beyond any float (JSON allows 10**400) is no usable number; math.isfinite
    # would raise OverflowError on it.
    if _is_int(x):
        return abs(x) <= sys.float_info.max
    return isinstance(x, float) and math.isfinite(x)


def validate(obj):
    """Return (Run fields dict, None) for a usable record or (None, reason)."""
    if not isinstance(obj, dict):
        return None, f"not a JSON object ({type(obj).__name__})"
    schema = obj.get("schema")
    if schema != SCHEMA:
        return None, f"schema is {schema!r}, expected {SCHEMA!r}"
    missing = [k for k in ("app", "backend", "status") if not isinstance(obj.get(k), str) or not obj.get(k)]
    if missing:
        return None, "missing or empty required field(s): " + ", ".join(missing)
    ok = obj["status"] == "ok"
    # A failed run may have died before it knew its configuration; only ok runs need it all.
    required = ["ranks", "threads", "dataset", "params", "time_s", "result"] if ok else []
    missing = [k for k in required if k not in obj or obj[k] is None]
    if missing:
        return None, "missing required field(s): " + ", ".join(missing)
    ranks, threads = obj.get("ranks", 1), obj.get("threads", 1)
    nodes = obj.get("nodes", 1)
    for name, v in (("ranks", ranks), ("threads", threads), ("nodes", nodes)):
        if not _is_int(v) or v < 1:
            return None, f"{name} must be a positive integer, got {v!r}"
    workers = obj.get("workers", ranks * threads)
    if not _is_int(workers) or workers != ranks * threads:
        return None, f"workers={workers!r} but ranks*threads={ranks * threads}"
    dataset = obj.get("dataset") or {}
    params = obj.get("params") or {}
    if not isinstance(dataset, dict) or not isinstance(params, dict):
        return None, "dataset and params must be JSON objects"
    for k in ("sha256", "path"):
        # Strings or absent: they become the group key, which must hash and sort.
        if dataset.get(k) is not None and not isinstance(dataset[k], str):
            return None, f"dataset.{k} must be a string, got {type(dataset[k]).__name__}"
    if ok and not (dataset.get("sha256") or dataset.get("path")):
        return None, "dataset has neither sha256 nor path"
    time_s = obj.get("time_s") or {}
    result = obj.get("result") or {}
    if not isinstance(time_s, dict) or not isinstance(result, dict):
        return None, "time_s and result must be JSON objects"
    if ok and not (_is_num(time_s.get("total")) and time_s["total"] >= 0):
        return None, f"time_s.total must be a non-negative number, got {time_s.get('total')!r}"
    prov = obj.get("prov") if isinstance(obj.get("prov"), dict) else {}
    hosts = obj.get("hosts") if isinstance(obj.get("hosts"), list) else []
    return dict(app=obj["app"], backend=obj["backend"], nodes=nodes, ranks=ranks, threads=threads,
                workers=workers, dataset=dataset, params=params, status=obj["status"],
                result=result, time_s=time_s, prov=prov, hosts=hosts, tag=obj.get("tag"),
                message=_message(obj)), None


def _message(obj):
    text = obj.get("error") or obj.get("message")
    return str(text) if text else None


# A file that holds one JSON document over several lines (a benchmark or side file) is parsed
# whole; beyond this size it cannot be one (Google Benchmark writes kilobytes), so a large file
# whose first line is broken is read line by line instead of being held in memory twice.
WHOLE_DOCUMENT_MAX = 64 << 20
_BOM = b"\xef\xbb\xbf"


def _parse_whole(data):
    """The JSON object a whole file holds, or None (JSON Lines, broken, not an object)."""
    # utf-8-sig: a byte-order mark from an editor must not make the document malformed.
    text = data.decode("utf-8-sig", errors="replace")
    if not text.lstrip().startswith("{"):
        return None
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        return None     # JSON Lines with more than one object, or broken: read per line
    return whole if isinstance(whole, dict) else None


def _whole_kind(obj):
    """'benchmark', a SIDE_FILES kind, or None for an object that is a record (or nothing known)."""
    if not isinstance(obj, dict):
        return None
    if "benchmarks" in obj:
        return "benchmark"
    return next((kind for kind, test in SIDE_FILES.items() if test(obj)), None)


# Bytes read at a time: large enough that hashing and splitting run in C over whole blocks,
# small enough that a 500 MB file is never held at once.
READ_BLOCK = 1 << 22


def _lines(f, digest):
    """(1-based line number, decoded text) of every line of binary file `f`, read in blocks of
    READ_BLOCK bytes (never the whole file at once), feeding every byte to `digest` on the way."""
    lineno = 0
    tail = b""
    while True:
        block = f.read(READ_BLOCK)
        if not block:
            break
        digest.update(block)
        parts = (tail + block).split(b"\n")
        tail = parts.pop()
        for raw in parts:
            lineno += 1
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            yield lineno, raw.decode("utf-8", errors="replace")
    if tail:
        lineno += 1
        if lineno == 1 and tail.startswith(_BOM):
            tail = tail[len(_BOM):]
        yield lineno, tail.decode("utf-8", errors="replace")


def _parse_line(line):
    """(object, None) or (None, why the line is malformed)."""
    try:
        return json.loads(line), None
    except ValueError as e:
        # JSONDecodeError has a position; other ValueErrors (an integer of over 4300 digits) do not.
        where = f" at column {e.colno}" if hasattr(e, "colno") else ""
        return None, f"malformed JSON ({getattr(e, 'msg', e)}{where})"
    except RecursionError:
        return None, "malformed JSON (nested too deeply)"


# Result fields that are lists or objects but still read by the report (figures.fig_loss).
KEPT_RESULT_LISTS = frozenset({"loss_trace"})


class _Shared:
    """One shared instance per distinct value: 200,000 records of one sweep name a handful of
    datasets, parameter sets and machines, which would otherwise be held 200,000 times."""

    def __init__(self):
        self._seen = {}

    def __call__(self, obj):
        if isinstance(obj, str):
            return sys.intern(obj)
        # repr is an exact key for a decoded JSON value: it keeps the types apart (1, 1.0 and
        # True differ), floats round-trip, and it runs in C (a hand-built key took 60% of loading).
        return self._seen.setdefault(repr(obj), obj)


def _slim(fields, share):
    """Keep of a validated record only what the report reads, sharing repeated values: the
    scalar results and `loss_trace` (the per-iteration traces besides it are drawn nowhere),
    the scalar provenance, and the message of a failed run."""
    result = {k: (share(v) if k in KEPT_RESULT_LISTS else v) for k, v in fields["result"].items()
              if k in KEPT_RESULT_LISTS or not isinstance(v, (list, dict))}
    fields["result"] = result
    fields["time_s"] = {k: v for k, v in fields["time_s"].items() if not isinstance(v, (list, dict))}
    # prov differs in every record (utc, job id): its strings are shared, not the object.
    # Lists of scalars (cpu_flags, the launch's argv) repeat across records and are shared whole.
    # A simulated run's `simulated` (platform, SimGrid version) is kept: report/simulated.py reads it.
    fields["prov"] = {k: share(v) if isinstance(v, (str, list)) or k == "simulated" else v
                      for k, v in fields["prov"].items()
                      if (not isinstance(v, dict) or k == "simulated")
                      and not (isinstance(v, list) and any(isinstance(x, (list, dict)) for x in v))}
    for k in ("dataset", "params", "hosts", "app", "backend", "status"):
        fields[k] = share(fields[k])
    if isinstance(fields["tag"], str):
        fields["tag"] = sys.intern(fields["tag"])
    return fields


def _with_spools(paths):
    """Each path followed by its spool's record files: where the records file cannot be locked
    (Lustre without flock), every record is its own file in "<records>.spool/"
    (jobs/records_file.py, src/common/record.cpp)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from jobs import records_file
    out = []
    for p in paths:
        out += records_file.record_files(p)
    return out


def load(paths, warn=None):
    """Read run-record JSONL files and Google Benchmark JSON files.

    A file is a benchmark file when its whole content parses as one JSON object with a
    top-level "benchmarks" key (decided by content, not by name), a side input when that
    object passes a test of SIDE_FILES; otherwise it is read as JSON Lines, streamed: only the
    fields the report uses are kept of each record (see _slim). `warn(msg)` is called for every
    skipped line; unreadable files are only listed in `files` with kind "unreadable (reason)".
    """
    out = Loaded()
    share = _Shared()

    def note(msg):
        out.warnings.append(msg)
        if warn:
            warn(msg)

    for path in _with_spools(paths):
        try:
            f = open(path, "rb")
        except OSError as e:
            # Not a line-level warning: the caller decides how to report an unreadable file.
            out.files.append((path, None, f"unreadable ({e.strerror or e})", 0))
            continue
        with f:
            try:
                _load_file(path, f, out, note, share)
            except OSError as e:
                out.files.append((path, None, f"unreadable ({e.strerror or e})", 0))
    return out


def _first_line_is_record(f):
    """Whether the first non-blank line is a JSON object of its own that is neither a benchmark
    nor a side file: then the file is JSON Lines, and parsing it whole would be wasted work."""
    for raw in f:
        if raw.strip():
            break
    else:
        raw = b""
    f.seek(0)
    obj, reason = _parse_line(raw.removeprefix(_BOM).decode("utf-8", errors="replace"))
    return reason is None and isinstance(obj, dict) and _whole_kind(obj) is None


def _load_file(path, f, out, note, share):
    size = os.fstat(f.fileno()).st_size
    if size <= WHOLE_DOCUMENT_MAX and not _first_line_is_record(f):
        data = f.read()
        whole = _parse_whole(data)
        kind = _whole_kind(whole)
        if kind == "benchmark":
            benches = whole.get("benchmarks")
            if not isinstance(benches, list):
                note(f"{path}: \"benchmarks\" is not a list; skipped")
                return
            ctx = whole.get("context") if isinstance(whole.get("context"), dict) else {}
            out.benches.append(BenchFile(path, ctx, [b for b in benches if isinstance(b, dict)]))
            out.files.append((path, hashlib.sha256(data).hexdigest(), "benchmark", len(benches)))
            return
        if kind:
            out.side.setdefault(kind, []).append((path, whole))
            out.files.append((path, hashlib.sha256(data).hexdigest(), kind, 1))
            return
        del whole, data
        f.seek(0)
    digest = hashlib.sha256()
    count = 0
    for lineno, line in _lines(f, digest):
        if not line.strip():
            continue
        obj, reason = _parse_line(line)
        if reason:
            note(f"{path}:{lineno}: {reason}; line skipped")
            continue
        fields, reason = validate(obj)
        if fields is None:
            note(f"{path}:{lineno}: {reason}; record skipped")
            continue
        out.runs.append(Run(source=path, line=lineno, **_slim(fields, share)))
        count += 1
    out.files.append((path, digest.hexdigest(), "records", count))


def dataset_id(dataset):
    # The content hash identifies the data; the path is only a fallback when no hash was recorded.
    return dataset.get("sha256") or ("path:" + str(dataset.get("path")))


def group_key(run):
    params = json.dumps(run.params, sort_keys=True, separators=(",", ":"))
    return (run.app, dataset_id(run.dataset), params)


@dataclass
class Group:
    key: tuple
    gid: str             # short, file-name-safe id used in figure names
    app: str
    dataset: dict
    params: dict
    runs: list = field(default_factory=list)     # ok runs only
    failed: list = field(default_factory=list)   # status != "ok" with this key

    def forms(self):
        return sorted({r.backend for r in self.runs}, key=form_rank)

    def cells(self, backend):
        """{(nodes, ranks, threads): [ok runs]} for one form, ordered by workers then config."""
        cells = {}
        for r in self.runs:
            if r.backend == backend:
                cells.setdefault(r.config, []).append(r)
        return dict(sorted(cells.items(), key=lambda kv: (kv[0][1] * kv[0][2], kv[0])))


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "data"


def make_gid(key, dataset):
    stem = os.path.splitext(os.path.basename(str(dataset.get("path") or "data")))[0]
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:8]
    return f"{key[0]}-{_slug(stem)}-{digest}"


def group(runs):
    """Group ok runs by (app, dataset, params); attach failed runs to the group they name.

    Failed runs whose key matches no ok group get a group of their own (with no ok runs),
    so they are still listed and count towards missing cells.
    """
    groups = {}
    for r in runs:
        key = group_key(r)
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(key=key, gid=make_gid(key, r.dataset), app=r.app,
                                    dataset=r.dataset, params=r.params)
        (g.runs if r.ok else g.failed).append(r)
    # Stable order: by app, then dataset path, then params text.
    return sorted(groups.values(), key=lambda g: (g.app, str(g.dataset.get("path")), g.key))
