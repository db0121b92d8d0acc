"""jobs/records_file.py: the spool where the records file cannot be locked, read with the file
and merged into it (each line once) by the report job's reconcile."""

import errno
import fcntl
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from jobs import records_file


def refuse(err):
    def lockf(fd, op):
        raise OSError(err, os.strerror(err))
    return mock.patch.object(fcntl, "lockf", lockf)


class TestRecordsFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="records-file-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.path = os.path.join(self.tmp, "runs.jsonl")

    def line(self, tag):
        return json.dumps({"schema": "run/1", "tag": tag})

    def test_refused_lock_spools_each_append(self):
        records_file.append_lines(self.path, [self.line("a")])
        with refuse(errno.ENOLCK):
            records_file.append_lines(self.path, [self.line("b")])
            records_file.append_lines(self.path, [self.line("c"), self.line("d")])
        self.assertEqual(len(os.listdir(records_file.spool_dir(self.path))), 2)
        self.assertEqual(records_file.read_lines(self.path), [self.line(t) for t in "abcd"])

    def test_other_lock_errors_are_not_hidden(self):
        with refuse(errno.EIO), self.assertRaises(OSError):
            records_file.append_lines(self.path, [self.line("a")])
        self.assertFalse(os.path.exists(records_file.spool_dir(self.path)))

    def test_merge_without_locks_rewrites_once_and_empties_the_spool(self):
        records_file.append_lines(self.path, [self.line("a")])
        with refuse(errno.ENOSYS):
            for t in "bc":
                records_file.append_lines(self.path, [self.line(t)])
            records_file.append_lines(self.path, [self.line("a")])   # a line already in the file
            self.assertEqual(records_file.merge_spool(self.path), 2)
        with open(self.path) as fh:
            self.assertEqual(fh.read().splitlines(), [self.line(t) for t in "abc"])
        self.assertEqual(os.listdir(records_file.spool_dir(self.path)), [])
        self.assertEqual(records_file.merge_spool(self.path), 0)

    def test_merge_with_locks_appends(self):
        with refuse(errno.ENOLCK):
            records_file.append_lines(self.path, [self.line("x")])
        records_file.append_lines(self.path, [self.line("y")])
        self.assertEqual(records_file.merge_spool(self.path), 1)
        with open(self.path) as fh:
            self.assertEqual(fh.read().splitlines(), [self.line("y"), self.line("x")])

    def test_a_merge_in_progress_is_left_alone(self):
        with refuse(errno.ENOLCK):
            records_file.append_lines(self.path, [self.line("x")])
        os.mkdir(os.path.join(records_file.spool_dir(self.path), ".merging"))
        self.assertEqual(records_file.merge_spool(self.path), 0)
        self.assertEqual(records_file.read_lines(self.path), [self.line("x")])


if __name__ == "__main__":
    unittest.main()
