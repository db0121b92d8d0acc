"""The records file, as every Python part of the project writes and reads it (jobs/sweep.py,
tools/compare.py, report/records.py), the same way as the executables (src/common/record.cpp).

Appending: the lines go out in one write() on the file opened O_APPEND, under a POSIX (fcntl)
lock, so concurrent writers never interleave. lockf, not flock: on Linux the two kinds do not
exclude each other, and the executables take the fcntl kind.

Where the file system refuses the lock (ENOLCK, ENOSYS, EINVAL, EOPNOTSUPP: a Lustre mount
without flock/localflock, some NFS setups), every record goes to its own file in
"<records>.spool/", written under a hidden name and renamed into place: rename within a folder
is atomic on local file systems, NFS and Lustre, and no two writers share a file, so nothing
can interleave or be lost. (A single O_APPEND write without the lock is atomic on a local file
system but not guaranteed across NFS or Lustre clients, so it is not relied on.)

Reading: the file's lines, then the spool's records in name order; a line already seen
(the same bytes) is not returned twice. Standard library only."""

import errno
import fcntl
import itertools
import os
import socket
import time

SPOOL_SUFFIX = ".spool"
LOCK_UNSUPPORTED = {errno.ENOLCK, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}
_counter = itertools.count()


def spool_dir(path):
    return path + SPOOL_SUFFIX


def _spool_append(path, data):
    d = spool_dir(path)
    os.makedirs(d, exist_ok=True)
    name = "%s-%d-%d-%d.jsonl" % (socket.gethostname() or "host", os.getpid(), time.time_ns(), next(_counter))
    tmp = os.path.join(d, "." + name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.rename(tmp, os.path.join(d, name))


def append_lines(path, lines):
    """Appends record lines (str, with or without their newline) as one write."""
    if not lines:
        return
    data = "".join(l if l.endswith("\n") else l + "\n" for l in lines).encode()
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
        except OSError as e:
            if e.errno not in LOCK_UNSUPPORTED:
                raise
            _spool_append(path, data)
            return
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def record_files(path):
    """The records file and its spool's record files, in reading order."""
    d = spool_dir(path)
    try:
        spooled = sorted(n for n in os.listdir(d) if n.endswith(".jsonl") and not n.startswith("."))
    except OSError:
        spooled = []
    return [path] + [os.path.join(d, n) for n in spooled]


def read_lines(path):
    """Every record line (str, without its newline) of the file and its spool, each once."""
    seen, out = set(), []
    for f in record_files(path):
        try:
            with open(f, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    line = line.rstrip("\n")
                    if line.strip() and line not in seen:
                        seen.add(line)
                        out.append(line)
        except FileNotFoundError:
            continue
    return out
