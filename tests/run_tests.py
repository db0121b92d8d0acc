#!/usr/bin/env python3
"""Runs every test suite of the project and prints one total.

Suites: the C++ unit tests (GoogleTest binary), the end-to-end tests of the
executables (tests/e2e), the report's tests (report/tests) and the job
templating tests (jobs/tests), each a stdlib unittest suite. Every skip is
listed with its reason; under CI (CI=true) a skip is a failure unless the test
marked it as allowed there (tests/skips.py). The last line is the plain
"N passed, M failed, K skipped" the CI reads; the exit status is 0 only when
nothing failed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.skips import allowed_in_ci  # noqa: E402


class Outcome:
    """What one suite did: counts, the names of the failures, (name, reason) of the skips."""

    def __init__(self, passed=0, failed=None, skipped=None):
        self.passed = passed
        self.failed = failed or []
        self.skipped = skipped or []


def run_gtest(binary):
    """Runs the GoogleTest binary; returns its Outcome."""
    if not os.path.exists(binary):
        return Outcome(failed=[f"{binary} is missing (make {binary})"])
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "gtest.json")
        proc = subprocess.run([binary, f"--gtest_output=json:{out}", "--gtest_brief=1"], cwd=ROOT)
        if not os.path.exists(out):
            return Outcome(failed=[f"{binary} crashed (exit {proc.returncode}) before writing results"])
        with open(out) as f:
            report = json.load(f)
    outcome = Outcome()
    for suite in report.get("testsuites", []):
        for case in suite.get("testsuite", []):
            name = f"{suite['name']}.{case['name']}"
            if case.get("failures"):
                outcome.failed.append(name)
            elif case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                reason = "; ".join(s.get("message", "") for s in case.get("skipped", [])) or "skipped"
                outcome.skipped.append((name, reason.strip()))
            else:
                outcome.passed += 1
    if proc.returncode != 0 and not outcome.failed:
        outcome.failed.append(f"{binary} exited with {proc.returncode}")
    return outcome


class CountingResult(unittest.TextTestResult):
    """Counts passes and keeps each test's wall time (the slowest are listed: CI's time budget)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0
        self.seconds = {}

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.seconds[test.id()] = time.monotonic() - self._started

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def run_unittest(start_dir, pattern="test_*.py"):
    """Discovers and runs one unittest suite; returns its Outcome."""
    path = os.path.join(ROOT, start_dir)
    if not os.path.isdir(path):
        return Outcome(failed=[f"{start_dir}: no such folder"])
    suite = unittest.defaultTestLoader.discover(path, pattern=pattern, top_level_dir=ROOT)
    runner = unittest.TextTestRunner(verbosity=1, resultclass=CountingResult, stream=sys.stdout)
    result = runner.run(suite)
    slowest = sorted(result.seconds.items(), key=lambda kv: -kv[1])
    print("slowest: " + ", ".join(f"{name.split('.', 2)[-1]} {sec:.1f} s" for name, sec in slowest[:8]), flush=True)
    # HPCB_TEST_TIMES=FILE: every test's seconds appended as "seconds<TAB>test id" lines (sizing CI).
    if os.environ.get("HPCB_TEST_TIMES"):
        with open(os.environ["HPCB_TEST_TIMES"], "a") as fh:
            fh.writelines(f"{sec:.2f}\t{name}\n" for name, sec in slowest)
    bad = result.failures + result.errors + [(t, "unexpected success") for t in result.unexpectedSuccesses]
    return Outcome(result.passed, [str(t) for t, _ in bad], [(str(t), r) for t, r in result.skipped])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", default="build/release/bin", help="folder of the built executables")
    parser.add_argument("--mpiexec", default="mpiexec.hydra", help="MPI launcher")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the Python parts")
    parser.add_argument("--only", nargs="*", help="run only these suites (unit, e2e, report, jobs, spack; stress and smpi only when named)")
    args = parser.parse_args()

    os.environ["HPCB_BIN"] = os.path.abspath(os.path.join(ROOT, args.bin))
    os.environ["HPCB_MPIEXEC"] = args.mpiexec
    os.environ["HPCB_PYTHON"] = args.python
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, ROOT)

    suites = [
        ("unit", lambda: run_gtest(os.path.join(os.environ["HPCB_BIN"], "unit_tests"))),
        ("e2e", lambda: run_unittest("tests/e2e")),
        ("report", lambda: run_unittest("report/tests")),
        ("jobs", lambda: run_unittest("jobs/tests")),
        ("spack", lambda: run_unittest("tests/spack")),
    ]
    # Run only when named (make stress): minutes long and gigabytes large.
    if args.only and "stress" in args.only:
        suites.append(("stress", lambda: run_unittest("tests/stress")))
    # The simulated backend (make test-smpi: needs make smpi first).
    if args.only and "smpi" in args.only:
        suites.append(("smpi", lambda: run_unittest("tests/smpi")))
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    total_passed, failures, skips = 0, [], []
    for name, run in suites:
        if args.only and name not in args.only:
            continue
        print(f"==== {name} tests", flush=True)
        start = time.time()
        outcome = run()
        print(f"==== {name}: {outcome.passed} passed, {len(outcome.failed)} failed, {len(outcome.skipped)} skipped"
              f" ({time.time() - start:.1f} s)", flush=True)
        total_passed += outcome.passed
        failures += [f"{name}: {n}" for n in outcome.failed]
        for test, reason in outcome.skipped:
            if in_ci and not allowed_in_ci(reason):
                failures.append(f"{name}: {test} skipped under CI, where everything it needs is installed: {reason}")
            else:
                skips.append(f"{name}: {test}: {reason}")
    for s in skips:
        print(f"SKIPPED {s}")
    for f in failures:
        print(f"FAILED {f}")
    print(f"{total_passed} passed, {len(failures)} failed, {len(skips)} skipped")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
