#!/usr/bin/env python3
"""Runs every test suite of the project and prints one total.

Suites: the C++ unit tests (GoogleTest binary), the end-to-end tests of the
executables (tests/e2e), the report's tests (report/tests) and the job
templating tests (jobs/tests), each a stdlib unittest suite. The last line is
the plain "N passed, M failed" the CI reads; the exit status is 0 only when
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


def run_gtest(binary):
    """Runs the GoogleTest binary; returns (passed, failed, failed names)."""
    if not os.path.exists(binary):
        return 0, 1, [f"{binary} is missing (make {binary})"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "gtest.json")
        proc = subprocess.run([binary, f"--gtest_output=json:{out}", "--gtest_brief=1"], cwd=ROOT)
        if not os.path.exists(out):
            return 0, 1, [f"{binary} crashed (exit {proc.returncode}) before writing results"]
        with open(out) as f:
            report = json.load(f)
    passed, failed, names = 0, 0, []
    for suite in report.get("testsuites", []):
        for case in suite.get("testsuite", []):
            if case.get("failures"):
                failed += 1
                names.append(f"{suite['name']}.{case['name']}")
            elif case.get("result") != "SKIPPED" and case.get("status") != "NOTRUN":
                passed += 1
    if proc.returncode != 0 and failed == 0:
        failed, names = 1, [f"{binary} exited with {proc.returncode}"]
    return passed, failed, names


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def run_unittest(start_dir, pattern="test_*.py"):
    """Discovers and runs one unittest suite; returns (passed, failed, failed names)."""
    path = os.path.join(ROOT, start_dir)
    if not os.path.isdir(path):
        return 0, 0, []
    suite = unittest.defaultTestLoader.discover(path, pattern=pattern, top_level_dir=ROOT)
    runner = unittest.TextTestRunner(verbosity=1, resultclass=CountingResult, stream=sys.stdout)
    result = runner.run(suite)
    bad = result.failures + result.errors + [(t, "unexpected success") for t in result.unexpectedSuccesses]
    return result.passed, len(bad), [str(t) for t, _ in bad]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", default="build/release/bin", help="folder of the built executables")
    parser.add_argument("--mpiexec", default="mpiexec.hydra", help="MPI launcher")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the Python parts")
    parser.add_argument("--only", nargs="*", help="run only these suites (unit, e2e, report, jobs)")
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
    ]
    total_passed, total_failed, failures = 0, 0, []
    for name, run in suites:
        if args.only and name not in args.only:
            continue
        print(f"==== {name} tests", flush=True)
        start = time.time()
        passed, failed, names = run()
        print(f"==== {name}: {passed} passed, {failed} failed ({time.time() - start:.1f} s)", flush=True)
        total_passed += passed
        total_failed += failed
        failures += [f"{name}: {n}" for n in names]
    for f in failures:
        print(f"FAILED {f}")
    print(f"{total_passed} passed, {total_failed} failed")
    return 0 if total_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
