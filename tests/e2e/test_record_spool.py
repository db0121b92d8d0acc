"""Records on a file system without locks (a Lustre mount without flock): the lock is refused
(ENOLCK, ENOSYS, EINVAL, EOPNOTSUPP), and every appender falls back to one record file per
record in "<records>.spool/" (src/common/record.cpp, jobs/records_file.py) instead of exiting 1.

tests/shims/split_write.so (LD_PRELOAD) with HPCB_SHIM_LOCK_ERRNO makes every lock request fail
with that errno. Checked: each appender (the executables, jobs/sweep.py, tools/compare.py) spools
its record, every reader (jobs/sweep.py, the report) finds it, and 50 concurrent writers lose
nothing and tear nothing.
"""
import json
import os
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.test_record_lock import REGR, SHIM, WRITERS_B, ShimTest
from tests.e2e.util import ROOT, TempDir, command

sys.path.insert(0, ROOT)
from jobs import records_file, sweep  # noqa: E402
from report import records as report_records  # noqa: E402

PYTHON = os.environ.get("HPCB_PYTHON", sys.executable)


def refused_env(records, err="ENOLCK"):
    """Locks on the records file fail with err. Only there: HDF5 1.10 also locks the input file and
    gives up on ENOLCK (not on ENOSYS); on such a mount set HDF5_USE_FILE_LOCKING=FALSE."""
    return dict(os.environ, LD_PRELOAD=SHIM, HPCB_SHIM_LOCK_ERRNO=err, HPCB_SHIM_LOCK_PATH=records,
                OPENBLAS_NUM_THREADS="1")


def tags(path):
    return sorted(json.loads(line)["tag"] for line in records_file.read_lines(path))


class RecordSpool(ShimTest):
    def test_each_appender_spools_when_the_lock_is_refused(self):
        for err in ("ENOLCK", "ENOSYS", "EINVAL", "EOPNOTSUPP"):
            for name, writer in WRITERS_B.items():
                with self.subTest(errno=err, writer=name), TempDir() as tmp:
                    p = subprocess.run(writer(tmp.records, "B"), env=refused_env(tmp.records, err), capture_output=True,
                                       timeout=120, cwd=ROOT)
                    self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
                    self.assertFalse(os.path.exists(tmp.records) and os.path.getsize(tmp.records),
                                     "a record went into the file although it could not be locked")
                    spooled = os.listdir(records_file.spool_dir(tmp.records))
                    self.assertEqual(len(spooled), 1, spooled)
                    self.assertFalse(spooled[0].startswith("."), "a half-written record file was left")
                    self.assertEqual(tags(tmp.records), ["B"])

    def test_readers_see_file_and_spool_together(self):
        with TempDir() as tmp:
            records_file.append_lines(tmp.records, [json.dumps({"schema": "run/1", "tag": "locked"})])
            p = subprocess.run(command("nlreg", "seq", 1, ["--data", REGR, "--epochs", "2", "--record", tmp.records,
                                                         "--tag", "spooled", "--quiet"]),
                               env=refused_env(tmp.records), capture_output=True, timeout=120, cwd=ROOT)
            self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
            self.assertEqual(sorted(r.get("tag") for r in sweep.read_records(tmp.records)), ["locked", "spooled"])
            loaded = report_records.load([tmp.records])
            self.assertEqual([r.tag for r in loaded.runs], ["spooled"])   # the hand-written line is no run/1 record

    def test_fifty_concurrent_writers_lose_nothing(self):
        with TempDir() as tmp:
            def write(i):
                if i % 5 == 0:   # every fifth an executable, the others the Python appender
                    argv = command("nlreg", "seq", 1, ["--data", REGR, "--epochs", "2", "--record", tmp.records,
                                                     "--tag", "w%02d" % i, "--quiet"])
                else:
                    argv = WRITERS_B["jobs/sweep.py"](tmp.records, "w%02d" % i)
                return subprocess.run(argv, env=refused_env(tmp.records), capture_output=True, timeout=300, cwd=ROOT)

            with ThreadPoolExecutor(max_workers=10) as pool:
                results = list(pool.map(write, range(50)))
            for p in results:
                self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
            self.assertEqual(tags(tmp.records), ["w%02d" % i for i in range(50)])
            for f in records_file.record_files(tmp.records)[1:]:
                with open(f) as fh:
                    lines = fh.read().split("\n")
                self.assertEqual(lines[-1], "")
                self.assertEqual(len(lines), 2, f"{f}: not exactly one whole line")
                json.loads(lines[0])


if __name__ == "__main__":
    unittest.main()
