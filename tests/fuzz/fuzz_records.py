#!/usr/bin/env python3
"""Fuzzes the run-record reader of the report (report/records.py: load, validate, group).

Its contract (report/README.md): bad input is skipped with a warning naming the file
and line, never an exception, so one broken line cannot cost the whole report. This
harness writes random and mutated record files and checks that

  - records.load() returns, whatever the bytes (malformed JSON, wrong types, huge or
    non-finite numbers, deep nesting, invalid UTF-8, NUL bytes, benchmark-looking
    files), with every warning a string that starts with the file name;
  - every record it keeps satisfies what validate() promises (positive integer
    ranks/threads/nodes, workers = ranks*threads, dicts where dicts are expected,
    a finite non-negative time_s.total for ok runs);
  - records.group() and make_gid() accept whatever load() kept.

No coverage feedback (atheris is not packaged for Debian): the mutations are
structure-aware instead, starting from valid records. Deterministic for a seed.

    python3 tests/fuzz/fuzz_records.py --seconds 20           # as `make fuzz` runs it
    python3 tests/fuzz/fuzz_records.py --replay tests/fuzz/regressions/records

A failing input is written to --artifacts (default build/fuzz/artifacts/records);
keep it in tests/fuzz/regressions/records/, which tests/e2e/test_reliability.py replays.
"""
import argparse
import copy
import json
import os
import random
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from report import records  # noqa: E402

VALID = {
    "schema": "run/1", "app": "kmeans", "backend": "mpi", "ranks": 2, "threads": 1, "workers": 2,
    "nodes": 1, "hosts": ["vm"],
    "dataset": {"path": "datasets/blobs-small.h5", "n": 20000, "d": 16, "dtype": "float32",
                "sha256": "ab" * 32, "has_labels": True},
    "params": {"k": 8, "iters": 20, "tol": 0.0, "seed": 1, "init": "random", "mstep": "reduce"},
    "result": {"iterations": 20, "converged": False, "inertia": 1234.5, "accuracy": 0.9, "nmi": 0.8,
               "sizes": [10, 20], "empty_cluster_events": 0, "inertia_trace": [2000.0, 1234.5],
               "validated": True},
    "time_s": {"total": 0.5, "io": 0.01, "init": 0.0, "compute": 0.4, "comm": 0.09, "iterations": 0.49,
               "per_iter": 0.0245},
    "status": "ok", "tag": None,
    "prov": {"git": "0123456789ab", "dirty": False, "compiler": "g++ 12.2.0", "mpi": "MPICH 4.0.2",
             "cores": 2, "utc": "2026-11-24T00:00:00Z"},
}
NLREG = dict(copy.deepcopy(VALID), app="nlreg", backend="seq", ranks=1, workers=1,
             params={"epochs": 10, "lr": 1e-4, "a0": 0.0, "b0": 0.0, "c0": 0.0},
             result={"epochs": 10, "a": 1.0, "b": 2.0, "c": 3.0, "mse": 0.5, "mse_optimum": None,
                     "loss_trace": {"epoch": [0, 10], "mse": [9.0, 0.5]}})
FAILED = {"schema": "run/1", "app": "nlreg", "backend": "omp", "status": "failed-validation"}
BENCH = {"context": {"date": "x", "num_cpus": 2}, "benchmarks": [{"name": "BM_x", "real_time": 1.0}]}

# Values that break naive code: wrong types, extremes, non-finite floats (Python's json
# reads and writes NaN and Infinity), integers too large for a float, odd strings.
NASTY = [None, True, False, 0, -1, 1, 2, 3, 7, 2**31, 2**63, -2**63, 10**400, -(10**400), 0.0, -0.0, 1.5,
         1e-320, 1e308, float("nan"), float("inf"), float("-inf"), "", "ok", "run/1", "seq", "mpi",
         "x" * 10000, "\u0000", "\ud800", "\u202e", [], {}, [1, 2], {"a": 1}, [[[[[]]]]], {"sha256": None},
         {"path": 12}, {"total": 10**400}, {"total": float("nan")}, {"total": -1}]
KEYS = list(VALID) + ["result", "sizes", "sha256", "path", "total", "epoch", "mse", "benchmarks", "context"]


def rand_value(rng, depth=0):
    if depth < 3 and rng.random() < 0.2:
        if rng.random() < 0.5:
            return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(KEYS): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return copy.deepcopy(rng.choice(NASTY))


def paths(obj, prefix=()):
    """Every (container, key) inside obj, for picking a spot to mutate."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((obj, k))
            out += paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append((obj, i))
            out += paths(v, prefix + (i,))
    return out


def mutate_structure(rng, obj):
    obj = copy.deepcopy(obj)
    for _ in range(rng.randint(1, 4)):
        spots = paths(obj)
        if not spots:
            return rand_value(rng)
        container, key = rng.choice(spots)
        r = rng.random()
        if r < 0.6:
            container[key] = rand_value(rng)
        elif r < 0.8 and isinstance(container, dict):
            del container[key]
        elif isinstance(container, dict):
            container[rng.choice(KEYS)] = rand_value(rng)
        else:
            container.append(rand_value(rng))
    return obj


def dumps(rng, obj):
    try:
        return json.dumps(obj, ensure_ascii=rng.random() < 0.5, allow_nan=True).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return b"{}"


def mutate_bytes(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        pos = rng.randint(0, len(data)) if data else 0
        if r < 0.3 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif r < 0.5:
            data[pos:pos] = bytes([rng.choice(b'{}[]",:0123456789.eE+-nNaIiftu\\ \n\r\t\x00\xff\xef\xbb\xbf')])
        elif r < 0.65 and data:
            del data[pos:pos + rng.randint(1, 16)]
        elif r < 0.75 and data:
            data = data[:pos]  # truncated, as by a killed writer
        elif r < 0.85 and data:
            a = rng.randint(0, len(data) - 1)
            data[pos:pos] = data[a:a + rng.randint(1, 64)]
        else:
            data[pos:pos] = rng.choice([b"\r\n", b"\n\n", b"\xef\xbb\xbf", b"NaN", b"Infinity", b"-0",
                                        b"1" * 400, b"1e999", b"[" * 200, b'"\\ud800"', b"\x85", b"\u2028".decode(
                                            "unicode_escape").encode()])
    return bytes(data)


def make_input(rng):
    """One file's bytes: usually several lines, each valid, mutated or random."""
    kind = rng.random()
    if kind < 0.05:
        return rng.choice([b"[" * rng.randint(1, 200000), b"{\"a\":" * rng.randint(1, 100000),
                           os.urandom(rng.randint(0, 512)), b"\n" * rng.randint(0, 50)])
    if kind < 0.15:  # a benchmark file, or something that nearly is one
        b = BENCH if rng.random() < 0.3 else mutate_structure(rng, BENCH)
        data = dumps(rng, b)
        return mutate_bytes(rng, data) if rng.random() < 0.3 else data
    lines = []
    for _ in range(rng.randint(1, 6)):
        base = rng.choice([VALID, NLREG, FAILED, VALID])
        r = rng.random()
        if r < 0.25:
            line = dumps(rng, base)
        elif r < 0.7:
            line = dumps(rng, mutate_structure(rng, base))
        elif r < 0.9:
            line = mutate_bytes(rng, dumps(rng, base))
        else:
            line = dumps(rng, rand_value(rng))
        lines.append(line)
    sep = rng.choice([b"\n", b"\n", b"\r\n", b"\n\n"])
    return sep.join(lines) + (sep if rng.random() < 0.8 else b"")


def check(path):
    """Runs the reader on one file; raises AssertionError (or whatever escapes) on a broken contract."""
    warnings = []
    loaded = records.load([path], warn=warnings.append)
    assert loaded.warnings == warnings, "warn() calls differ from Loaded.warnings"
    for w in warnings:
        assert isinstance(w, str) and w.startswith(path), f"warning does not name the file: {w!r}"
    assert len(loaded.files) <= 1
    for run in loaded.runs:
        for name in ("ranks", "threads", "nodes"):
            v = getattr(run, name)
            assert records._is_int(v) and v >= 1, f"{name}={v!r} kept"
        assert run.workers == run.ranks * run.threads
        for name in ("dataset", "params", "result", "time_s", "prov"):
            assert isinstance(getattr(run, name), dict), f"{name} is not a dict"
        assert isinstance(run.hosts, list)
        if run.ok:
            assert records._is_num(run.total) and run.total >= 0, f"ok run with total={run.total!r}"
        run.where()
    for g in records.group(loaded.runs):
        assert g.runs or g.failed
        g.forms()
        for form in g.forms():
            g.cells(form)
    loaded.unreadable()
    return loaded


def check_bytes(data, tmpdir):
    path = os.path.join(tmpdir, "runs.jsonl")
    with open(path, "wb") as f:
        f.write(data)
    check(path)


def fuzz(seconds, seed, artifacts):
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    count = 0
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    with tempfile.TemporaryDirectory(prefix="hpcb-fuzz-records-") as tmp:
        while time.monotonic() < deadline:
            data = make_input(rng)
            try:
                check_bytes(data, tmp)
            except Exception:  # noqa: BLE001 - every escaping exception is a finding
                os.makedirs(artifacts, exist_ok=True)
                import hashlib
                out = os.path.join(artifacts, "crash-" + hashlib.sha1(data).hexdigest())
                with open(out, "wb") as f:
                    f.write(data)
                print(f"fuzz records: FAILED after {count} inputs (seed {seed}); input saved to {out}")
                traceback.print_exc(limit=6)
                return 1
            count += 1
    print(f"fuzz records: ok, {seconds:g} s, {count} inputs run (seed {seed})")
    return 0


def replay(folder):
    """Checks every file in folder; returns the failures as (name, message)."""
    failures = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or name.startswith("."):
            continue
        try:
            check(path)
        except Exception as e:  # noqa: BLE001
            failures.append((name, f"{type(e).__name__}: {e}"))
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--seed", type=int, default=None, help="default: from the clock (printed)")
    p.add_argument("--artifacts", default=os.path.join(ROOT, "build", "fuzz", "artifacts", "records"))
    p.add_argument("--replay", metavar="DIR", help="check the files in DIR instead of fuzzing")
    args = p.parse_args()
    if args.replay:
        failures = replay(args.replay)
        for name, msg in failures:
            print(f"FAILED {name}: {msg}")
        print(f"replayed {args.replay}: {len(failures)} failed")
        return 1 if failures else 0
    seed = args.seed if args.seed is not None else int(time.time()) % 1000000
    return fuzz(args.seconds, seed, args.artifacts)


if __name__ == "__main__":
    sys.exit(main())
