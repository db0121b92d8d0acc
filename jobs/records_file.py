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


def merge_spool(path):
    """Folds the spool into the records file, each line once, and removes the spool files merged.
    Returns the number of record lines added to the file (0 when there was no spool, or when
    another merge holds the spool's .merging folder; readers read both meanwhile).

    The file is rewritten (a new file with the old lines and the new ones, renamed over it)
    rather than appended to, since appending needs the lock this file system refuses. That is
    safe because, where locks are refused, no appender writes to the file itself (each spools),
    and mkdir of <spool>/.merging (atomic on local file systems, NFS and Lustre) keeps mergers
    apart. Where the lock works, the new lines are appended under it instead."""
    files = record_files(path)[1:]
    if not files:
        return 0
    mutex = os.path.join(spool_dir(path), ".merging")
    try:
        os.mkdir(mutex)
    except FileExistsError:
        return 0
    try:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                old = fh.read()
        except FileNotFoundError:
            old = ""
        have = set(old.splitlines())
        new = []
        for f in files:
            with open(f, encoding="utf-8", errors="replace") as fh:
                for line in fh.read().splitlines():
                    if line.strip() and line not in have:
                        have.add(line)
                        new.append(line)
        if new:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                locked = True
            except OSError as e:
                if e.errno not in LOCK_UNSUPPORTED:
                    os.close(fd)
                    raise
                locked = False
            try:
                if locked:
                    os.write(fd, "".join(l + "\n" for l in new).encode())
                    os.fsync(fd)
                else:
                    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                                       ".%s.merge-%d" % (os.path.basename(path), os.getpid()))
                    with open(tmp, "w", encoding="utf-8") as out:
                        out.write(old if not old or old.endswith("\n") else old + "\n")
                        out.write("".join(l + "\n" for l in new))
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(tmp, path)
            finally:
                os.close(fd)
        for f in files:
            os.unlink(f)
        return len(new)
    finally:
        os.rmdir(mutex)
