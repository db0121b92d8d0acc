"""Checkpoint paths a real cluster takes: SIGTERM (what Slurm sends to every
task at a time limit or scancel, not only SIGUSR1) to a running sequential,
OpenMP or MPI k-means or regression run saves the state and exits 4 without a record; the
resumed run ends bitwise where an uninterrupted one ends - also at 7 workers
from a checkpoint written at 2, with --algorithm hamerly, --mstep owner,
--init kmeans++ and float64 data; and a run killed outright (SIGKILL: no
stop-signal save) resumes from its last periodic --checkpoint-every file.

Runs are signalled once an event shows they are in their iterations (the
periodic checkpoint file appears), never after a fixed sleep. The data are
uniform points, on which Lloyd creeps for hundreds of iterations, so a run
is still going when the signal arrives."""
import os
import signal
import subprocess
import time
import unittest

import h5py
import numpy as np

from tests.e2e.util import ROOT, SANITIZED, TempDir, appended_record, command, read_records, run, write_points, write_xy

EVERY = 5           # --checkpoint-every: the event the tests wait for
ITERS = 400         # far more than the first periodic save needs
EPOCHS = 20000      # regression: a sequential run of about 0.2 s
EPOCHS_EVERY = 200
WAIT_S = 60         # for the event; a run that never checkpoints fails the test instead of hanging


def digest(record):
    r = record["result"]
    if record["app"] == "nlreg":
        return (r["a"], r["b"], r["c"], r["mse"], r["loss_trace"], r["params_sha256"], r["epochs"])
    return (r["labels_sha256"], r["centroids_sha256"], r["iterations"], r["converged"], r["inertia"],
            r["inertia_trace"], r["sizes"])


def checkpoint_iterations(path):
    """The iteration count stored in a checkpoint file (written atomically: a file that
    exists is complete)."""
    with h5py.File(path, "r") as f:
        return int(f.attrs["iterations"])


def descendants(pid, name):
    """Pids of the processes below `pid` whose command name is `name` (the MPI ranks under
    mpiexec and its proxy)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            parent[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), comm)
    found = []
    for p, (_, comm) in parent.items():
        q = p
        while q in parent and q != pid:
            q = parent[q][0]
        if q == pid and comm == name[:15]:
            found.append(p)
    return found


class Running:
    """A run started in its own process group; on leaving, whatever is left of it is
    killed (a failing test leaves no rank behind)."""

    def __init__(self, argv):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env=env, start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate()

    def wait_for(self, condition, what):
        deadline = time.monotonic() + WAIT_S
        while not condition():
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended (exit {self.proc.returncode}) before {what}: "
                                     f"{self.proc.stderr.read()[-500:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {WAIT_S} s")
            time.sleep(0.02)

    def finish(self):
        out, err = self.proc.communicate(timeout=WAIT_S)
        return self.proc.returncode, err


class CheckpointPaths(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        rng = np.random.default_rng(16)
        # Uniform in the unit square: no cluster structure, so Lloyd's centroids keep
        # drifting for many iterations. 50,000 rows (about 150 iterations): the periodic
        # checkpoint the tests wait for exists from the 5th iteration until the run removes it
        # at the end, and 12,000 rows (a fixed point after about 66 iterations, 35 ms for
        # Hamerly, about 20 ms for Lloyd at 2 threads with --mstep owner) left that window
        # between two 20 ms polls: the run ended first (exit 0, twice in CI). The sanitizer
        # build runs several times slower, which widens the window as much: there both files
        # stay 12,000 rows (50,000 took 40-50 s a test under ASan; the float64 one with
        # kmeans++ at k = 40 still runs ~110 iterations at ~40 ms each there).
        rows = 12000 if SANITIZED else 50000
        cls.f32 = cls.tmp.file("uniform-f32.h5")
        write_points(cls.f32, rng.random((rows, 2)).astype(np.float32))
        cls.f64 = cls.tmp.file("uniform-f64.h5")
        write_points(cls.f64, rng.random((rows, 2)))
        cls.quad = cls.tmp.file("quad.h5")
        x = rng.uniform(-2, 2, 4000)
        write_xy(cls.quad, x, 1.5 * x * x - 0.5 * x + 2 + rng.normal(0, 0.3, x.size))
        cls.references = {}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def args(self, data, extra):
        if data == self.quad:
            return ["--data", data, "--epochs", str(EPOCHS), "--quiet"] + list(extra)
        return ["--data", data, "--k", "40", "--iters", str(ITERS), "--seed", "3", "--quiet"] + list(extra)

    def app(self, data):
        return "nlreg" if data == self.quad else "kmeans"

    def every(self, data):
        return EPOCHS_EVERY if data == self.quad else EVERY

    def reference(self, data, extra):
        """The uninterrupted sequential run's record (once per parameter set)."""
        key = (data, tuple(extra))
        if key not in self.references:
            proc = run(self.app(data), "seq", 1, self.args(data, extra) + ["--record", self.tmp.records])
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.references[key] = appended_record(proc)
            # The runs below are interrupted part way only if there is a way to go.
            done = self.references[key]["result"]["epochs" if data == self.quad else "iterations"]
            self.assertGreater(done, 4 * self.every(data))
        return self.references[key]

    def stop_with_sigterm(self, tag, data, extra, first):
        """Starts `first` (backend, workers) with periodic checkpoints, waits for the first
        one, sends SIGTERM to every worker process (as Slurm does), and checks the stop:
        exit 4, one line naming --resume, the checkpoint, no record. Returns
        (checkpoint path, records path, iterations saved)."""
        ckpt, records = self.tmp.file(f"{tag}.ckpt.h5"), self.tmp.file(f"{tag}.jsonl")
        backend, workers = first
        app = self.app(data)
        argv = command(app, backend, workers, self.args(data, extra) +
                       ["--checkpoint", ckpt, "--checkpoint-every", str(self.every(data)), "--record", records])
        with Running(argv) as r:
            r.wait_for(lambda: os.path.exists(ckpt), "periodic checkpoint")
            if backend in ("mpi", "hybrid"):
                ranks = descendants(r.proc.pid, f"{app}_{backend}")
                self.assertEqual(len(ranks), workers if backend == "mpi" else workers[0], ranks)
                for pid in ranks:
                    os.kill(pid, signal.SIGTERM)
            else:
                r.proc.send_signal(signal.SIGTERM)
            status, err = r.finish()
        self.assertEqual(status, 4, err)
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("interrupted after", lines[0])
        self.assertIn("--resume", lines[0])
        self.assertEqual(read_records(records), [], "an interrupted run appended a record")
        saved = checkpoint_iterations(ckpt)
        # The stop-signal save, not just the periodic one the test waited for.
        self.assertIn(f"interrupted after {saved} ", lines[0])
        self.assertGreater(saved, 0)
        return ckpt, records, saved

    def resume(self, ckpt, records, data, extra, second, saved):
        backend, workers = second
        proc = run(self.app(data), backend, workers,
                   self.args(data, extra) + ["--checkpoint", ckpt, "--resume", "--record", records])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rec = appended_record(proc)
        self.assertEqual(rec["result"]["resumed_from"], saved)
        self.assertFalse(os.path.exists(ckpt), "a finished run removes its spent checkpoint")
        return rec

    def sigterm_then_resume(self, tag, data, extra, first, second):
        ref = self.reference(data, extra)
        ckpt, records, saved = self.stop_with_sigterm(tag, data, extra, first)
        rec = self.resume(ckpt, records, data, extra, second, saved)
        self.assertEqual(digest(rec), digest(ref))
        return rec

    def test_sigterm_sequential(self):
        self.sigterm_then_resume("seq", self.f32, [], ("seq", 1), ("seq", 1))

    def test_sigterm_mpi_resumed_at_7_ranks(self):
        # Written at 2 ranks, resumed at 7 (oversubscribed: passive waiting, see util.run).
        rec = self.sigterm_then_resume("mpi7", self.f32, [], ("mpi", 2), ("mpi", 7))
        self.assertEqual(rec["ranks"], 7)

    def test_sigterm_threads_resumed_at_7_threads(self):
        rec = self.sigterm_then_resume("omp7", self.f32, [], ("omp", 2), ("omp", 7))
        self.assertEqual(rec["threads"], 7)

    def test_sigterm_regression(self):
        # Parameters a, b, c, the loss trace and the MSE: bitwise those of the uninterrupted run.
        # MPI only until the signal: an epoch is one small all-reduce, slow on a loaded machine.
        self.sigterm_then_resume("nl-seq", self.quad, [], ("seq", 1), ("omp", 2))
        self.sigterm_then_resume("nl-mpi", self.quad, [], ("mpi", 2), ("seq", 1))

    def test_hamerly_float64(self):
        # The pruning bounds are not in the checkpoint: they are rebuilt on resume.
        self.sigterm_then_resume("ham", self.f64, ["--algorithm", "hamerly"], ("mpi", 2), ("omp", 2))

    def test_owner_mstep_kmeanspp(self):
        self.sigterm_then_resume("own", self.f32, ["--mstep", "owner", "--init", "kmeans++"], ("omp", 2),
                                 ("mpi", 3))

    def test_resume_from_a_periodic_checkpoint_alone(self):
        # SIGKILL: no stop-signal save, only what --checkpoint-every wrote survives.
        data, extra = self.f64, ["--init", "kmeans++"]
        ref = self.reference(data, extra)
        ckpt, records = self.tmp.file("kill.ckpt.h5"), self.tmp.file("kill.jsonl")
        argv = command("kmeans", "omp", 2, self.args(data, extra) +
                       ["--checkpoint", ckpt, "--checkpoint-every", str(EVERY), "--record", records])
        with Running(argv) as r:
            # A second periodic save: the file is replaced in place, not only created.
            r.wait_for(lambda: os.path.exists(ckpt) and checkpoint_iterations(ckpt) >= 2 * EVERY,
                       "second periodic checkpoint")
            os.killpg(r.proc.pid, signal.SIGKILL)
            status, err = r.finish()
        self.assertEqual(status, -signal.SIGKILL, err)
        self.assertEqual(read_records(records), [])
        saved = checkpoint_iterations(ckpt)
        self.assertEqual(saved % EVERY, 0, "a checkpoint other than a periodic one")
        self.assertLess(saved, ref["result"]["iterations"])
        rec = self.resume(ckpt, records, data, extra, ("mpi", 2), saved)
        self.assertEqual(digest(rec), digest(ref))


if __name__ == "__main__":
    unittest.main()
