"""The executables' command-line options and their value rules, for the Python side.

The executables declare their options once (src/app/options.cpp) and print them with
`--describe` (schema hpcb-describe/1: flag, type, bounds, choices, words, default, meaning,
backends, role, recorded, and the exit-code table). This module reads that schema, once per
process, from the built `<app>_seq` (every backend takes the same options; each option's
`backends` says where it applies) and checks grid values by its rules. Nothing here restates
an option.

Every option has a `role`:
  param  a grid parameter (`k = 10` in a [workload] section, `--param k=10`)
  sweep  set by the sweep for every run (--data from `datasets`, --threads from the threads axis,
         --record, --tag, --checkpoint, --resume)
  none   not used by sweeps (--help, --describe, --out: one file per run is not a sweep's
         business, --quiet)

Standard library only; Python 3.6 or newer.
"""

import json
import math
import os
import re
import subprocess

UINT64_MAX = 2 ** 64 - 1       # --seed


class Option(object):
    """One flag: its apps, role, kind (int, float, choice, text, flag) and value rules."""

    def __init__(self, flag, apps, role, kind, lo=None, hi=None, lo_open=False, choices=(), words=(),
                 recorded=True, path_allowed=False, backends=None, default=None, meaning=""):
        self.flag, self.apps, self.role, self.kind = flag, apps, role, kind
        self.backends = tuple(backends or ())  # the backends that take it (--threads: omp, hybrid)
        self.default, self.meaning = default, meaning
        self.lo, self.hi, self.lo_open = lo, hi, lo_open
        self.choices = tuple(choices)     # the only values allowed (kind choice)
        self.words = tuple(words)         # words allowed besides a number (lr: auto) or a path (init)
        self.recorded = recorded          # the record's params carry it (the sweep's resume compares it)
        self.path_allowed = path_allowed  # any other value is a file path (init)

    @property
    def key(self):
        """The grid key and the record's params key: --target-mse -> target_mse."""
        return self.flag[2:].replace("-", "_")


    @classmethod
    def from_schema(cls, entry, app):
        """One entry of an executable's `--describe` "options" list (schema hpcb-describe/1)."""
        kind = entry["type"]
        if kind not in SCHEMA_TYPES:
            raise OptionError("%s --describe: option %s has an unknown type %r" % (app, entry.get("flag"), kind))
        hi = entry.get("max")
        if kind == "uint64" and hi is None:
            hi = UINT64_MAX
        return cls(entry["flag"], (app,), entry["role"], SCHEMA_TYPES[kind], lo=entry.get("min"), hi=hi,
                   lo_open=bool(entry.get("min_exclusive")), choices=entry.get("choices") or (),
                   words=entry.get("words") or (), recorded=bool(entry.get("recorded", True)),
                   path_allowed=bool(entry.get("path_allowed")), backends=entry.get("backends"),
                   default=entry.get("default"), meaning=entry.get("meaning") or "")


APPS = ("kmeans", "nlreg")
DECIMAL_INT = re.compile(r"[+-]?[0-9]+")
DECIMAL_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class OptionError(ValueError):
    """A value the executable would refuse (its message names the option and the rule)."""


# ---- the executables' own description of their options (`--describe`) ----------------------

SCHEMA = "hpcb-describe/1"
# the schema's value types -> how check_value treats them (uint64: an int whose max is 2^64-1)
SCHEMA_TYPES = {"int": "int", "uint64": "int", "float": "float", "choice": "choice", "text": "text", "flag": "flag"}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_described = {}
_parsed = {}   # id(schema document) -> its Options (options_of)


def default_bin_dir():
    """Where the schema is read: $HPCB_BIN, else the release build (an install links it)."""
    return os.environ.get("HPCB_BIN") or os.path.join(REPO, "build", "release", "bin")


def parse_schema(text, where):
    """`--describe` output -> its JSON object, checked for the schema's name and parts."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise OptionError("%s: --describe did not print JSON (%s)" % (where, e))
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise OptionError("%s: --describe printed no %s schema" % (where, SCHEMA))
    if not isinstance(doc.get("options"), list) or not isinstance(doc.get("exit_codes"), list):
        raise OptionError("%s: --describe has no options or exit_codes list" % where)
    return doc


def describe(app, bin_dir=None):
    """The schema `<bin_dir>/<app>_seq --describe` prints (every backend takes the same options;
    each option's `backends` says where it applies), read once per process."""
    exe = os.path.join(bin_dir or default_bin_dir(), "%s_seq" % app)
    if exe not in _described:
        try:
            p = subprocess.run([exe, "--describe"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise OptionError("cannot run %s --describe (%s): build the executables (make)" % (exe, e))
        if p.returncode != 0:
            raise OptionError("%s --describe failed (exit %d): %s" % (exe, p.returncode, p.stderr.strip()))
        _described[exe] = parse_schema(p.stdout, exe)
    return _described[exe]


def options_from_schema(doc):
    """The Options of one app's schema."""
    return [Option.from_schema(e, doc["app"]) for e in doc["options"]]


def exit_meanings(doc):
    """code -> meaning, from a schema's exit_codes."""
    return {int(e["code"]): e["meaning"] for e in doc["exit_codes"]}


def options_of(app, role=None):
    """app's options (flag -> Option) as its executables describe them, optionally only those
    of one role."""
    doc = describe(app)
    key = id(doc)   # describe() keeps one document per executable: parse it into Options once
    if key not in _parsed:
        _parsed[key] = options_from_schema(doc)
    return {o.flag: o for o in _parsed[key] if role is None or o.role == role}


def exit_names():
    """code -> short name (\"usage error\") of the executables' exit codes, from the schema."""
    return {int(e["code"]): e["name"] for e in describe(APPS[0])["exit_codes"]}


def grid_params(app):
    """Grid key -> Option for the parameters a grid may set for app."""
    return {o.key: o for o in options_of(app, "param").values()}


def find_param(app, key):
    """The parameter `key` of app (`target-mse` and `target_mse` alike), or None."""
    return grid_params(app).get(str(key).strip().replace("-", "_"))


def _describe(o):
    if o.kind == "choice":
        return "one of " + ", ".join(o.choices)
    parts = []
    if o.kind in ("int", "float"):
        num = "an integer (decimal digits)" if o.kind == "int" else "a finite number"
        if o.lo is not None:
            num += " %s %s" % (">" if o.lo_open else ">=", o.lo if o.kind == "int" else ("%g" % o.lo))
        if o.hi is not None:
            num += " and <= %d" % o.hi
        parts.append(num)
    parts += list(o.words)
    if o.path_allowed:
        parts.append("a file path")
    return " or ".join(parts)


def check_value(o, value):
    """value (a grid string or a JSON value) -> the typed value the run is asked for.

    Integers in decimal digits only (no 0x, no 1_000, no 1e3); floats finite and in decimal;
    the limits of each option; raises OptionError with the rule."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise OptionError("%s must be %s, not %r" % (o.key, _describe(o), value))
    text = value if isinstance(value, str) else repr(value)
    text = text.strip()
    if text in o.words:
        return text
    if o.kind == "choice":
        if text not in o.choices:
            raise OptionError("%s must be %s, not %r" % (o.key, _describe(o), text))
        return text
    if o.kind == "text":
        if not text:
            raise OptionError("%s must not be empty (%s)" % (o.key, _describe(o)))
        return text
    if o.kind == "int":
        if isinstance(value, float) or not DECIMAL_INT.fullmatch(text):
            raise OptionError("%s=%r is not %s" % (o.key, value, _describe(o)))
        v = int(text, 10)
    else:
        if isinstance(value, str) and not DECIMAL_FLOAT.fullmatch(text):
            raise OptionError("%s=%r is not %s" % (o.key, value, _describe(o)))
        v = float(text)
        if not math.isfinite(v):
            raise OptionError("%s=%r is not %s" % (o.key, value, _describe(o)))
    low = o.lo is not None and (v <= o.lo if o.lo_open else v < o.lo)
    if low or (o.hi is not None and v > o.hi):
        raise OptionError("%s=%r is out of range: it must be %s" % (o.key, value, _describe(o)))
    return v


def flags_in_help(text):
    """The long flags a CLI11 --help lists (its OPTIONS block: lines starting with -x or --x)."""
    flags = set()
    for line in text.splitlines():
        m = re.match(r"\s+(?:-[A-Za-z],)?\s*(--[A-Za-z0-9][A-Za-z0-9-]*)", line)
        if m:
            flags.add(m.group(1))
    return flags
