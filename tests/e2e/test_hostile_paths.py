"""Hostile paths and resource requests: nothing a run writes may destroy its
input (an output that is the input, another output, a device node or a FIFO
is refused with exit 2 before anything is opened), no input may hang the
run (a FIFO is refused with exit 1), a failed record append leaves no --out
file, hybrid ranks with different thread counts end with one line (not
std::terminate), absurd thread counts are refused, and errors name their
real cause (a symbolic link loop, data overflowing double precision).

Every run here has a timeout and runs in its own process group, killed as a
whole on a timeout: a regression that blocks on a FIFO fails the test and
leaves no rank behind."""
import hashlib
import os
import resource
import signal
import stat
import subprocess
import unittest

import h5py
import numpy as np

from tests.e2e.util import BIN, MPIEXEC, ROOT, TempDir, command, read_records, write_points, write_xy

# The forms run in separate processes (seq) and as MPI ranks that must agree.
FORMS = [("seq", 1), ("mpi", 2)]
TIMEOUT_S = 60


def run_guarded(argv, timeout=TIMEOUT_S, env=None, preexec_fn=None):
    """Runs argv in its own process group; on a timeout kills the whole group
    (mpiexec and its ranks) and returns None."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True,
                            env=dict(os.environ if env is None else env, OPENBLAS_NUM_THREADS="1"),
                            preexec_fn=preexec_fn)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    return subprocess.CompletedProcess(argv, proc.returncode, out.decode(errors="replace"),
                                       err.decode(errors="replace"))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class HostilePaths(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir().__enter__()
        self.addCleanup(self.tmp.__exit__, None, None, None)
        rng = np.random.default_rng(7)
        self.points = self.tmp.file("points.h5")
        write_points(self.points, rng.normal(size=(300, 4)))
        self.xy = self.tmp.file("xy.h5")
        x = np.linspace(-1, 1, 300)
        write_xy(self.xy, x, 2 * x * x - x + 0.5)

    def run_app(self, app, form, args, **kw):
        backend, workers = form
        proc = run_guarded(command(app, backend, workers, list(args)), **kw)
        self.assertIsNotNone(proc, f"{app}_{backend} {args} did not finish in {TIMEOUT_S} s (blocked?)")
        return proc

    def expect_error(self, app, form, args, status, words, forbidden=()):
        proc = self.run_app(app, form, args)
        self.assertEqual(proc.returncode, status, f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, f"expected one error line, got {lines!r}")
        self.assertTrue(lines[0].startswith(f"{app}_{form[0]}: "), lines[0])
        for w in words:
            self.assertIn(w.lower(), lines[0].lower())
        for w in forbidden:
            self.assertNotIn(w.lower(), lines[0].lower())
        return lines[0]

    def km(self, *extra):
        record = [] if "--record" in extra else ["--record", self.tmp.records]
        return ["--data", self.points, "--k", "3", "--iters", "5", "--quiet", *record, *extra]

    def nl(self, *extra):
        return ["--data", self.xy, "--epochs", "5", "--quiet", "--record", self.tmp.records, *extra]

    # ---- outputs that would destroy an input ----
    def test_checkpoint_is_the_data(self):
        before = sha(self.points)
        for form in FORMS:
            with self.subTest(form=form):
                self.expect_error("kmeans", form, self.km("--checkpoint", self.points, "--checkpoint-every", "1"), 2,
                                  ["--checkpoint", "--data", "same file"])
                self.assertEqual(sha(self.points), before)
        self.assertEqual(read_records(self.tmp.records), [])

    def test_out_is_the_data(self):
        before = sha(self.xy)
        for form in FORMS:
            with self.subTest(form=form):
                self.expect_error("nlreg", form, self.nl("--out", self.xy), 2, ["--out", "same file"])
                self.assertEqual(sha(self.xy), before)

    def test_out_reaches_the_data_through_links(self):
        link = self.tmp.file("link.h5")
        os.symlink(self.points, link)
        hard = self.tmp.file("hard.h5")
        os.link(self.points, hard)
        before = sha(self.points)
        for out in (link, hard, os.path.join(self.tmp.path, ".", "sub", "..", "points.h5")):
            if "sub" in out:
                os.makedirs(self.tmp.file("sub"), exist_ok=True)
            with self.subTest(out=out):
                self.expect_error("kmeans", ("seq", 1), self.km("--out", out), 2, ["same file"])
        self.assertEqual(sha(self.points), before)

    def test_record_is_the_data(self):
        before = sha(self.xy)
        for form in FORMS:
            with self.subTest(form=form):
                self.expect_error("nlreg", form, ["--data", self.xy, "--epochs", "5", "--record", self.xy], 2,
                                  ["--record", "same file"])
                self.assertEqual(sha(self.xy), before)

    def test_out_is_the_init_file(self):
        init = self.tmp.file("init.h5")
        with h5py.File(init, "w") as f:
            f["centroids"] = np.zeros((3, 4))
        before = sha(init)
        self.expect_error("kmeans", ("mpi", 2), self.km("--init", init, "--out", init), 2, ["--init", "same file"])
        self.assertEqual(sha(init), before)

    def test_two_outputs_in_one_file(self):
        # Neither exists yet: the same canonical folder and name are the same file.
        out = self.tmp.file("result.h5")
        other = os.path.join(self.tmp.path, ".", "result.h5")
        for form in FORMS:
            with self.subTest(form=form):
                self.expect_error("kmeans", form, self.km("--out", out, "--checkpoint", other), 2,
                                  ["--checkpoint", "--out", "same file"])
                self.assertFalse(os.path.exists(out))
        self.expect_error("nlreg", ("seq", 1), ["--data", self.xy, "--out", out, "--record", out], 2, ["same file"])

    # ---- outputs that are not regular files ----
    def test_out_is_not_a_regular_file(self):
        fifo = self.tmp.file("fifo")
        os.mkfifo(fifo)
        folder = self.tmp.file("folder")
        os.mkdir(folder)
        cases = [("--out", fifo, stat.S_ISFIFO), ("--out", folder, stat.S_ISDIR),
                 ("--checkpoint", fifo, stat.S_ISFIFO), ("--record", folder, stat.S_ISDIR)]
        try:   # a device node of our own (the null device's numbers); root only
            node = self.tmp.file("null-node")
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            cases.append(("--out", node, stat.S_ISCHR))
        except PermissionError:
            pass
        for form in FORMS:
            for option, path, is_kind in cases:
                with self.subTest(form=form, option=option, path=path):
                    self.expect_error("kmeans", form, self.km(option, path), 2, [option, "not a regular file"])
                    self.assertTrue(is_kind(os.stat(path).st_mode), f"{path} was replaced")

    def test_failed_record_append_leaves_no_out(self):
        # The records file is already past the file-size limit: the append fails
        # with EFBIG after --out (a few KB) was written.
        out = self.tmp.file("out.h5")
        with open(self.tmp.records, "wb") as f:
            f.truncate(2 << 20)

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

        for form in (("seq", 1), ("omp", 2)):
            with self.subTest(form=form):
                proc = run_guarded(command("kmeans", form[0], form[1], self.km("--out", out)), preexec_fn=limit)
                self.assertIsNotNone(proc)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn("records file", proc.stderr)
                self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
                self.assertFalse(os.path.exists(out), "the --out file of a failed run was left behind")
                self.assertEqual(os.path.getsize(self.tmp.records), 2 << 20)

    # ---- inputs that would block ----
    def test_fifo_inputs_do_not_block(self):
        fifo = self.tmp.file("fifo.h5")
        os.mkfifo(fifo)
        for form in FORMS:
            with self.subTest(form=form, option="--data"):
                self.expect_error("kmeans", form, ["--data", fifo, "--record", "none"], 1, ["--data", "fifo"])
                self.expect_error("nlreg", form, ["--data", fifo, "--record", "none"], 1, ["--data", "fifo"])
            with self.subTest(form=form, option="--init"):
                self.expect_error("kmeans", form, self.km("--init", fifo), 1, ["--init", "fifo"])
            with self.subTest(form=form, option="--record"):
                self.expect_error("nlreg", form, ["--data", self.xy, "--epochs", "5", "--record", fifo], 2,
                                  ["--record", "fifo"])

    # ---- messages that name the real cause ----
    def test_symlink_loop_is_not_a_missing_file(self):
        a, b = self.tmp.file("a.h5"), self.tmp.file("b.h5")
        os.symlink(b, a)
        os.symlink(a, b)
        for form in FORMS:
            with self.subTest(form=form):
                self.expect_error("kmeans", form, ["--data", a, "--record", "none"], 1, ["loop"], ["no such file"])
                self.expect_error("kmeans", form, self.km("--init", a), 1, ["loop"], ["no such file"])
                self.expect_error("kmeans", form, self.km("--out", a), 2, ["loop"], ["no such file"])

    def test_auto_rate_overflow_names_the_data(self):
        huge = self.tmp.file("huge.h5")
        # x^4 (the curvature's moment) and y^2 (the loss) overflow.
        write_xy(huge, np.linspace(1e80, 4e80, 50), np.linspace(1e200, 4e200, 50))
        for form in FORMS:
            with self.subTest(form=form):
                self.expect_error("nlreg", form, ["--data", huge, "--lr", "auto", "--epochs", "10", "--record", "none"],
                                  1, ["--lr auto", "overflow", "rescale"], ["smaller --lr"])


class ThreadsAndTeams(unittest.TestCase):
    CPUS = os.sysconf("SC_NPROCESSORS_ONLN")

    def setUp(self):
        self.tmp = TempDir().__enter__()
        self.addCleanup(self.tmp.__exit__, None, None, None)
        self.points = self.tmp.file("points.h5")
        write_points(self.points, np.random.default_rng(3).normal(size=(200, 3)))

    def run_km(self, argv, env=None):
        proc = run_guarded(argv, env=env)
        self.assertIsNotNone(proc, f"{argv} did not finish")
        return proc

    def args(self):
        return ["--data", self.points, "--k", "2", "--iters", "3", "--quiet", "--record", self.tmp.records]

    def test_threads_beyond_the_limit(self):
        too_many = str(4 * self.CPUS + 1)
        omp = os.path.join(BIN, "kmeans_omp")
        proc = self.run_km([omp, "--threads", too_many] + self.args())
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        self.assertIn("--oversubscribe", proc.stderr)
        # The same count through OMP_NUM_THREADS.
        proc = self.run_km([omp] + self.args(), env=dict(os.environ, OMP_NUM_THREADS=too_many))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("OMP_NUM_THREADS", proc.stderr)
        # Asked for explicitly, it runs (passively waiting threads: more than the cores).
        proc = self.run_km([omp, "--threads", too_many, "--oversubscribe"] + self.args(),
                           env=dict(os.environ, OMP_WAIT_POLICY="passive"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (rec,) = read_records(self.tmp.records)
        self.assertEqual(rec["threads"], int(too_many))
        # The absolute limit holds even then; nothing is started.
        proc = self.run_km([omp, "--threads", "100000", "--oversubscribe"] + self.args())
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("limit", proc.stderr)
        self.assertEqual(len(read_records(self.tmp.records)), 1)

    def test_threads_zero_is_the_default(self):
        omp = os.path.join(BIN, "kmeans_omp")
        proc = self.run_km([omp, "--threads", "0"] + self.args(), env=dict(os.environ, OMP_NUM_THREADS="2"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (rec,) = read_records(self.tmp.records)
        self.assertEqual(rec["threads"], 2)
        help_text = self.run_km([omp, "--help"]).stdout
        self.assertIn("0: OMP_NUM_THREADS", " ".join(help_text.split()))
        proc = self.run_km([omp, "--threads", "-1"] + self.args())
        self.assertEqual(proc.returncode, 2, proc.stderr)
        # Without OMP_NUM_THREADS, 0 is every core this process may run on (OpenMP's
        # default, which follows the CPU affinity), and the record says so.
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        proc = self.run_km([omp, "--threads", "0"] + self.args(), env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(read_records(self.tmp.records)[-1]["threads"], len(os.sched_getaffinity(0)))
        self.assertEqual(len(read_records(self.tmp.records)), 2)
        # The single-threaded forms take 0 as their one thread.
        for backend, workers in (("seq", 1), ("mpi", 2)):
            with self.subTest(backend=backend):
                before = len(read_records(self.tmp.records))
                proc = self.run_km(command("kmeans", backend, workers, ["--threads", "0"] + self.args()), env=env)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                recs = read_records(self.tmp.records)[before:]
                self.assertEqual(len(recs), 1)
                self.assertEqual((recs[0]["threads"], recs[0]["ranks"]), (1, workers))

    def test_hybrid_ranks_with_different_thread_counts(self):
        exe = os.path.join(BIN, "kmeans_hybrid")
        argv = [MPIEXEC, "-n", "1", exe, "--threads", "1"] + self.args() + \
               [":", "-n", "1", exe, "--threads", "2"] + self.args()
        proc = self.run_km(argv)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("kmeans_hybrid: "), lines[0])
        self.assertIn("same number of threads", lines[0])
        self.assertEqual(read_records(self.tmp.records), [])


if __name__ == "__main__":
    unittest.main()
