#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/, and the
hand-made regression inputs into tests/fuzz/regressions/<target>/.

The seeds are committed; this script documents where they came from and
regenerates them byte for byte (fixed contents, no randomness, HDF5 files made
with libver='earliest' and fixed attributes, no timestamps). Run with an
interpreter that has numpy and h5py (Debian: /usr/bin/python3):

    /usr/bin/python3 tests/fuzz/make_seeds.py

Small on purpose: libFuzzer mutates a few hundred bytes much faster than a few
kilobytes, and the parsers' interesting paths (headers, field splitting, the
HDF5 superblock and object headers) sit at the start of a file.
"""
import gzip
import io
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def out(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def gz(data):
    # mtime=0 and no file name: the same bytes on every run.
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return buf.getvalue()


def idx_seeds():
    be = lambda *v: struct.pack(">" + "I" * len(v), *v)
    pix = bytes((i * 37) % 256 for i in range(2 * 3 * 4))
    images = be(0x803, 2, 3, 4) + pix
    labels = be(0x801, 5) + bytes([7, 2, 1, 0, 4])
    out("idx", "images-2x3x4", images)
    out("idx", "labels-5", labels)
    out("idx", "images-2x3x4.gz", gz(images))
    out("idx", "labels-5.gz", gz(labels))
    out("idx", "images-1x1x1", be(0x803, 1, 1, 1) + b"\xff")
    out("idx", "images-truncated", be(0x803, 2, 3, 4) + pix[:10])
    out("idx", "images-trailing", images + b"\x00\x01")
    out("idx", "images-huge-header", be(0x803, 60000, 28, 28))
    out("idx", "labels-huge-header.gz", gz(be(0x801, 0xFFFFFFFF)))
    out("idx", "magic-4d", be(0x804, 1, 1, 1, 1) + b"\x01")
    out("idx", "empty", b"")


def csv_seeds():
    out("csv", "xy-header", b"X,Y\n1,2\n3.5,-4e-3\n+7,1E+2\n")
    out("csv", "xy-bom-crlf", b"\xef\xbb\xbfx,y\r\n0.25,0.5\r\n-1,1\r\n\r\n")
    out("csv", "xy-no-header-spaces", b" 1 , 2 \n\t3,\t4\n5,6\n\n\n")
    out("csv", "xy.gz", gz(b"X,Y\n1,2\n3,4\n5,6\n"))
    out("csv", "xy-bad-field", b"X,Y\n1,2\nnan,4\n1e999,2\n0x10,3\n")
    out("csv", "xy-blank-before-data", b"1,2\n\n3,4\n")
    out("csv", "xy-wrong-count", b"1,2,3\n4,5\n")
    out("csv", "xy-nul", b"1,2\n3\x00,4\n")
    digits = b",".join(str((i * 7) % 17).encode() for i in range(64)) + b",3\n"
    out("csv", "digits-2rows", digits + digits)
    out("csv", "header-only", b"a,b\n")
    out("csv", "empty", b"")


def h5_seeds():
    import h5py
    import numpy as np

    def h5(name, fill):
        buf = io.BytesIO()
        with h5py.File(buf, "w", libver="earliest", track_order=False) as f:
            fill(f)
        out("h5", name, buf.getvalue())

    def blobs(f):
        # The layout of `mkdata blobs`: /X float32, /labels int32, fixed-length string attributes.
        f.create_dataset("X", data=np.arange(12, dtype=np.float32).reshape(4, 3) / 4, track_times=False)
        f.create_dataset("labels", data=np.array([0, 1, 0, 1], dtype=np.int32), track_times=False)
        f.attrs.create("content_sha256", np.bytes_("ab" * 32))
        f.attrs.create("generator", np.bytes_("blobs n=4"))

    def mnist_like(f):
        ds = f.create_dataset("X", data=np.arange(6, dtype=np.uint8).reshape(2, 3) * 40, track_times=False)
        ds.attrs["scale"] = 1 / 255
        f.create_dataset("labels", data=np.array([3, 9], dtype=np.uint8), track_times=False)
        f.attrs["source"] = "variable-length string"  # h5py writes str as a variable-length string

    def regression(f):
        x = np.linspace(-1, 1, 5)
        f.create_dataset("x", data=x, track_times=False)
        f.create_dataset("y", data=2 * x * x - x + 0.5, track_times=False)
        f.attrs.create("content_sha256", np.bytes_("cd" * 32))

    def chunked(f):
        f.create_dataset("X", data=np.ones((8, 2), dtype=np.float64), chunks=(4, 2), compression="gzip",
                         shuffle=True, fletcher32=True, track_times=False)
        f.create_dataset("centroids", data=np.zeros((2, 2)), track_times=False)

    def odd_types(f):
        f.create_dataset("X", data=np.ones((2, 2), dtype=np.int64), track_times=False)
        f.create_dataset("x", data=np.array([b"ab", b"cd"]), track_times=False)
        f.create_dataset("y", data=np.ones((2, 2)), track_times=False)
        f.create_dataset("labels", data=np.ones(2, dtype=">i2"), track_times=False)
        g = f.create_group("g")
        g.attrs["n"] = 3
        f["centroids"] = h5py.SoftLink("/g")

    def huge_header(f):
        # Shapes claimed with no storage allocated: the allocation check's case.
        f.create_dataset("X", shape=(10**12, 784), dtype="u1", track_times=False)
        f.create_dataset("x", shape=(10**13,), dtype="f8", track_times=False)

    h5("blobs-f32", blobs)
    h5("mnist-like-u8", mnist_like)
    h5("regression-xy", regression)
    h5("chunked-gzip", chunked)
    h5("odd-types", odd_types)
    h5("huge-header", huge_header)
    out("h5", "not-hdf5", b"X,Y\n1,2\n")


def regressions():
    """Minimal hand-made forms of what the fuzzers found (the raw crashing inputs sit beside them)."""
    import h5py
    import numpy as np

    def reg(target, name, data):
        folder = os.path.join(HERE, "regressions", target)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)

    def h5(name, fill):
        buf = io.BytesIO()
        with h5py.File(buf, "w", libver="earliest", track_order=False) as f:
            f.create_dataset("X", data=np.ones((4, 2), dtype=np.float32), track_times=False)
            fill(f)
        reg("h5", name, buf.getvalue())

    # H5Reader read an attribute of N elements into a buffer for one: a stack or heap
    # overflow (the release executables crashed with SIGSEGV) on valid HDF5 files.
    h5("attr-scale-1000-values", lambda f: f["X"].attrs.create("scale", np.ones(1000)))
    h5("attr-scale-2-values", lambda f: f["X"].attrs.create("scale", np.array([0.5, 0.25])))
    h5("attr-scale-empty", lambda f: f["X"].attrs.create("scale", h5py.Empty("f8")))
    h5("attr-sha256-100-fixed-strings", lambda f: f.attrs.create("content_sha256", np.array([b"ab" * 32] * 100)))
    h5("attr-sha256-2-vlen-strings", lambda f: f.attrs.create(
        "content_sha256", ["a" * 64, "b" * 64], dtype=h5py.string_dtype()))

    # report/records.py let exceptions escape on these lines (fuzz_records.py).
    good = json.dumps(VALID_RECORD)
    reg("records", "deep-nesting-line.jsonl", (good + "\n" + "[" * 5000 + "\n").encode())
    reg("records", "deep-nesting-whole-file.jsonl", ("{\"a\":" * 5000).encode())
    reg("records", "huge-integer-total.jsonl", good.replace('"total": 0.5', '"total": 1' + "0" * 400).encode())
    reg("records", "integer-over-4300-digits.jsonl", ('{"schema": "run/1", "ranks": ' + "7" * 5000 + "}\n").encode())
    for kind, value in (("int", 5), ("dict", {"a": 1}), ("list", [1])):
        bad = json.loads(good)
        bad["dataset"]["sha256"] = value
        reg("records", f"dataset-sha256-{kind}.jsonl", (good + "\n" + json.dumps(bad) + "\n").encode())


VALID_RECORD = {
    "schema": "run/1", "app": "nlreg", "backend": "seq", "ranks": 1, "threads": 1, "workers": 1, "nodes": 1,
    "hosts": ["vm"], "dataset": {"path": "d.h5", "n": 5, "d": 1, "sha256": "cd" * 32},
    "params": {"epochs": 10, "lr": 0.0001, "a0": 0.0, "b0": 0.0, "c0": 0.0},
    "result": {"epochs": 10, "a": 1.0, "b": 2.0, "c": 3.0, "mse": 0.5},
    "time_s": {"total": 0.5, "io": 0.01, "compute": 0.4, "comm": 0.0}, "status": "ok", "tag": None, "prov": {},
}


def main():
    idx_seeds()
    csv_seeds()
    try:
        h5_seeds()
        regressions()
    except ImportError as e:
        print(f"make_seeds: HDF5 seeds not written ({e}); use an interpreter with h5py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
