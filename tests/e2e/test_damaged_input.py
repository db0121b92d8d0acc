"""Damaged input never gives a result: a data file with a flipped bit or cut
short, and checkpoints that are damaged or do not belong to the data (short
/model, a NaN or too large iteration count, the data file replaced under the
same path), each give one error line and exit 1, in the sequential and the MPI
form (2 ranks, each verifying its own rows). Files are made by mkdata (with
per-block digests) and damaged with h5py; runs that pass record whether their
data were verified (dataset.verified)."""
import os
import subprocess
import unittest

import h5py
import numpy as np

from tests.e2e.util import appended_record, BIN, TempDir, read_records, run, write_points, write_xy

FORMS = [("seq", 1), ("mpi", 2)]


def mkdata(*args):
    subprocess.run([os.path.join(BIN, "mkdata"), *args], check=True, capture_output=True, timeout=120)


def make_blobs(path):
    # 20,000 rows of 64 bytes: 5 digest blocks, the 2-rank split falls inside one.
    mkdata("blobs", "--n", "20000", "--d", "16", "--k", "4", "--seed", "5", "--dtype", "float32", "--out", path)


def make_quad(path):
    # 50,000 pairs: 2 digest blocks per dataset, the 2-rank split inside the first.
    mkdata("quadratic", "--n", "50000", "--a", "1", "--b", "2", "--c", "3", "--noise", "0.5", "--seed", "9",
           "--out", path)


def flip_bit(path, dataset, element, bit=0):
    """Flips one bit of the stored bytes of `dataset` (contiguous), as a disk or copy error would."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        where = ds.id.get_offset() + element * ds.dtype.itemsize
    with open(path, "r+b") as raw:
        raw.seek(where)
        byte = raw.read(1)[0]
        raw.seek(where)
        raw.write(bytes([byte ^ (1 << bit)]))


APPS = {
    "kmeans": (make_blobs, "/X", ["--k", "4", "--iters", "30", "--seed", "3"], "--iters"),
    "nlreg": (make_quad, "/y", ["--epochs", "40", "--lr", "1e-4"], "--epochs"),
}


class DamagedInput(unittest.TestCase):
    def expect_error(self, tmp, app, form, args, words):
        backend, workers = form
        out = tmp.file("out.h5")
        before = read_records(tmp.records)
        proc = run(app, backend, workers, list(args) + ["--record", tmp.records, "--out", out], timeout=120)
        self.assertEqual(proc.returncode, 1, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, f"expected one error line, got {lines!r}")
        self.assertTrue(lines[0].startswith(f"{app}_{backend}: "), lines[0])
        for w in words:
            self.assertIn(w.lower(), lines[0].lower())
        self.assertEqual(read_records(tmp.records), before, "a failed run appended a record")
        self.assertFalse(os.path.exists(out), "an output file was left behind")

    def expect_ok(self, tmp, app, form, args):
        backend, workers = form
        proc = run(app, backend, workers, list(args) + ["--record", tmp.records, "--quiet"], timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return appended_record(proc)

    # ---- data files ----
    def test_intact_file_is_verified(self):
        for app, (make, _, args, _) in APPS.items():
            for form in FORMS:
                with self.subTest(app=app, form=form), TempDir() as tmp:
                    make(tmp.file("d.h5"))
                    rec = self.expect_ok(tmp, app, form, ["--data", tmp.file("d.h5")] + args)
                    self.assertIs(rec["dataset"]["verified"], True)
                    rec = self.expect_ok(tmp, app, form, ["--data", tmp.file("d.h5"), "--verify-data", "never"] + args)
                    self.assertIs(rec["dataset"]["verified"], False)

    def test_flipped_bit(self):
        for app, (make, dataset, args, _) in APPS.items():
            for form in FORMS:
                # The lowest mantissa bit: the data stay finite and plausible, only the digest can tell.
                for where in ("first", "last"):
                    with self.subTest(app=app, form=form, where=where), TempDir() as tmp:
                        path = tmp.file("d.h5")
                        make(path)
                        with h5py.File(path, "r") as f:
                            size = f[dataset].size
                        flip_bit(path, dataset, 0 if where == "first" else size - 1)
                        self.expect_error(tmp, app, form, ["--data", path] + args, ["damaged", dataset])
                        # Accepting the risk runs it, and the record says it was not verified.
                        rec = self.expect_ok(tmp, app, form, ["--data", path, "--verify-data", "never"] + args)
                        self.assertIs(rec["dataset"]["verified"], False)

    def test_truncated_file(self):
        for app, (make, dataset, args, _) in APPS.items():
            for form in FORMS:
                with self.subTest(app=app, form=form), TempDir() as tmp:
                    path = tmp.file("d.h5")
                    make(path)
                    with h5py.File(path, "r") as f:
                        ds = f[dataset]
                        end = ds.id.get_offset() + ds.id.get_storage_size()
                    os.truncate(path, end - 100)
                    self.expect_error(tmp, app, form, ["--data", path] + args, [path])

    def test_file_without_block_digests(self):
        """An older file (whole-dataset sha256 only) is verified where one process holds all rows."""
        for app, (make, dataset, args, _) in APPS.items():
            with self.subTest(app=app), TempDir() as tmp:
                path = tmp.file("d.h5")
                make(path)
                with h5py.File(path, "r+") as f:
                    del f["sha256_blocks"]
                self.assertIs(self.expect_ok(tmp, app, ("seq", 1), ["--data", path] + args)["dataset"]["verified"], True)
                self.assertIs(self.expect_ok(tmp, app, ("mpi", 2), ["--data", path] + args)["dataset"]["verified"], False)
                self.expect_error(tmp, app, ("mpi", 2), ["--data", path, "--verify-data", "require"] + args,
                                  ["cannot be verified"])
                flip_bit(path, dataset, 7)
                self.expect_error(tmp, app, ("seq", 1), ["--data", path] + args, ["damaged", dataset])

    def test_verify_mode_is_checked(self):
        with TempDir() as tmp:
            proc = run("kmeans", "seq", 1, ["--data", tmp.file("x.h5"), "--verify-data", "sometimes"])
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("--verify-data", proc.stderr)

    # ---- checkpoints ----
    def checkpointed(self, tmp, app, form, data_args):
        """A checkpoint after 3 iterations or epochs; returns (checkpoint path, run arguments)."""
        _, _, args, _ = APPS[app]
        ckpt = tmp.file("run.ckpt.h5")
        full = data_args + args + ["--checkpoint", ckpt]
        proc = run(app, *form, full + ["--record", tmp.records, "--stop-after", "3"], timeout=120)
        self.assertEqual(proc.returncode, 4, proc.stderr)
        return ckpt, full + ["--resume"]

    def damaged_checkpoint(self, change, words):
        for app, (make, _, _, limit_flag) in APPS.items():
            for form in FORMS:
                with self.subTest(app=app, form=form), TempDir() as tmp:
                    make(tmp.file("d.h5"))
                    ckpt, args = self.checkpointed(tmp, app, form, ["--data", tmp.file("d.h5")])
                    with h5py.File(ckpt, "r+") as f:
                        change(f, args[args.index(limit_flag) + 1])
                    self.expect_error(tmp, app, form, args, words)

    def test_short_model(self):
        def shorten(f, _):
            model = f["model"][...]
            del f["model"]
            f["model"] = model[:-1]
        self.damaged_checkpoint(shorten, ["damaged checkpoint", "/model"])

    def test_nan_model_value(self):
        def poison(f, _):
            f["model"][0] = np.nan
        self.damaged_checkpoint(poison, ["damaged checkpoint", "/model", "non-finite"])

    def test_nan_counter(self):
        def nan_count(f, _):
            f.attrs["iterations"] = np.nan
        self.damaged_checkpoint(nan_count, ["damaged checkpoint", "iterations"])

    def test_more_iterations_than_asked(self):
        def too_many(f, limit):
            claimed = int(limit) + 5
            f.attrs["iterations"] = float(claimed)
            del f["trace"]
            f["trace"] = np.ones(claimed)
        self.damaged_checkpoint(too_many, ["damaged checkpoint", "iterations"])

    def test_trace_of_wrong_length(self):
        def stretch(f, _):
            trace = f["trace"][...]
            del f["trace"]
            f["trace"] = np.append(trace, trace[-1])
        self.damaged_checkpoint(stretch, ["damaged checkpoint", "/trace"])

    def test_replaced_data_at_the_same_path(self):
        """A file without content_sha256 is identified by its content, not by its path."""
        writers = {
            "kmeans": lambda p, seed: write_points(p, np.random.default_rng(seed).normal(size=(600, 4))),
            "nlreg": lambda p, seed: write_xy(p, *np.random.default_rng(seed).uniform(0, 1, size=(2, 600))),
        }
        for app, write in writers.items():
            for form in FORMS:
                with self.subTest(app=app, form=form), TempDir() as tmp:
                    path = tmp.file("d.h5")
                    write(path, 1)
                    _, args = self.checkpointed(tmp, app, form, ["--data", path])
                    write(path, 2)  # other data, same path, same shape
                    self.expect_error(tmp, app, form, args, ["another run"])


if __name__ == "__main__":
    unittest.main()
