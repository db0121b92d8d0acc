"""The records file's lock, tested so that a broken lock fails every time.

tests/shims/split_write.so (LD_PRELOAD) splits each write to the records file
in two. Writer A writes its first half and holds still until writer B has
either queued behind A's lock or written its own line: with the lock, B waits
and both lines are whole; without it (HPCB_SHIM_NO_LOCK=1 plants that bug), B's
line lands inside A's, every time, whatever the machine's load. Each appender of the project is tried as
writer B: the executables and the two Python ones (jobs/sweep.py, tools/compare.py).
"""
import json
import os
import subprocess
import sys
import time
import unittest

from tests.e2e.util import BIN, DATA, ROOT, SANITIZED, TempDir, command
from tests.skips import skip_anywhere

SHIM = os.environ.get("HPCB_SPLIT_WRITE_SHIM", os.path.join(ROOT, "build", "shims", "split_write.so"))
REGR = os.path.join(DATA, "regression20k.h5")
PYTHON = os.environ.get("HPCB_PYTHON", sys.executable)


def shim_env(records, no_lock, **flags):
    env = dict(os.environ, LD_PRELOAD=SHIM, HPCB_SPLIT_WRITE_PATH=records, OPENBLAS_NUM_THREADS="1", **flags)
    if no_lock:
        env["HPCB_SHIM_NO_LOCK"] = "1"
    return env


def executable_writer(records, tag):
    return command("nlreg", "seq", 1, ["--data", REGR, "--epochs", "2", "--record", records, "--tag", tag, "--quiet"])


def python_writer(module_path, function, records, tag):
    """argv of a Python process that appends one record line through module.function(path, lines)."""
    code = (f"import importlib.util, json, sys; spec = importlib.util.spec_from_file_location('m', {module_path!r}); "
            f"m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            f"m.{function}({records!r}, [json.dumps({{'schema': 'run/1', 'tag': {tag!r}, 'status': 'ok'}})])")
    return [PYTHON, "-c", code]


WRITERS_B = {
    "executable": executable_writer,
    "jobs/sweep.py": lambda records, tag: python_writer(os.path.join(ROOT, "jobs", "sweep.py"), "lock_append",
                                                          records, tag),
    "tools/compare.py": lambda records, tag: python_writer(os.path.join(ROOT, "tools", "compare.py"),
                                                           "append_records", records, tag),
}


def wait_for_partial_line(path, proc, timeout_s=60):
    """Waits until `path` ends inside a line (writer A is paused between its halves)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"writer A ended (exit {proc.returncode}) before its pause: "
                                 f"{proc.stderr.read().decode(errors='replace')}")
        try:
            with open(path, "rb") as f:
                data = f.read()
            if data and not data.endswith(b"\n"):
                return
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise AssertionError("writer A never left a partial line: is the shim loaded?")


def race(records, writer_b, no_lock):
    """A pauses inside its write, B appends meanwhile; returns the file's lines (bytes)."""
    flag = records + ".b-waits-or-wrote"
    a = subprocess.Popen(executable_writer(records, "A"), env=shim_env(records, no_lock, HPCB_SHIM_WAIT_FOR=flag),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        wait_for_partial_line(records, a)
        b = subprocess.run(writer_b(records, "B"), env=shim_env(records, no_lock, HPCB_SHIM_SIGNAL=flag),
                           capture_output=True, timeout=120, cwd=ROOT)
        assert b.returncode == 0, b.stderr.decode(errors="replace")
        assert a.wait(timeout=120) == 0, a.stderr.read().decode(errors="replace")
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
        a.stderr.close()
    with open(records, "rb") as f:
        return f.read().split(b"\n")


def whole_lines(lines):
    """The tags of the lines if every line is a whole JSON record, else None."""
    if lines[-1] != b"":
        return None
    try:
        return sorted(json.loads(line)["tag"] for line in lines[:-1])
    except (ValueError, KeyError):
        return None


class ShimTest(unittest.TestCase):
    """Base of the tests that preload tests/shims/split_write.so (no tests of its own)."""

    def setUp(self):
        # The sanitizer build's ASan runtime must come first in the libraries a process loads,
        # so an LD_PRELOAD shim cannot be put before it: these run in make test, not test-asan.
        if SANITIZED:
            skip_anywhere(self, "LD_PRELOAD shims cannot load before the ASan runtime (run by make test)")
        if not os.path.exists(SHIM):
            self.fail(f"{SHIM} not built (make test builds it)")


class RecordLock(ShimTest):
    def test_each_appender_waits_for_the_lock(self):
        for name, writer_b in WRITERS_B.items():
            with self.subTest(writer_b=name), TempDir() as tmp:
                self.assertEqual(whole_lines(race(tmp.records, writer_b, no_lock=False)), ["A", "B"])

    def test_a_broken_lock_is_caught_every_time(self):
        # The planted bug: locks that lock nothing. Two tries each, both must show it.
        for name, writer_b in WRITERS_B.items():
            for attempt in range(2):
                with self.subTest(writer_b=name, attempt=attempt), TempDir() as tmp:
                    self.assertIsNone(whole_lines(race(tmp.records, writer_b, no_lock=True)),
                                      "two unlocked writers left whole lines: the shim forced no interleaving")


if __name__ == "__main__":
    unittest.main()
