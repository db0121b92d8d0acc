"""make compare's interleaving (tools/compare.py): every form runs once per round, in the same
order each round, and the paired ratios are medians over the rounds of the rounds' own ratios
(not a ratio of medians). Pure logic: the runs are faked, nothing is timed."""
import importlib.util
import os
import sys
import tempfile
import types
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("compare_rounds_under_test", os.path.join(ROOT, "tools", "compare.py"))
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)


def row(impl, threads, times, backend=None):
    r = {"impl": impl, "threads": threads, "per_iter_s": times}
    if backend:
        r["backend"] = backend
    return r


class Rounds(unittest.TestCase):
    def test_one_run_of_each_form_per_round(self):
        calls = []

        def task(name):
            def run():
                calls.append(name)
                return f"{name}{sum(c == name for c in calls)}"
            return run

        results = compare.interleaved([task("a"), task("b"), task("c")], 3)
        self.assertEqual(calls, ["a", "b", "c"] * 3)
        self.assertEqual(results, [["a1", "a2", "a3"], ["b1", "b2", "b3"], ["c1", "c2", "c3"]])

    def test_paired_ratios_are_medians_of_each_rounds_ratio(self):
        # Round speeds drift (round 2 four times as slow for everyone): lloyd's rounds give 2, 2
        # and 3 (median 2; the ratio of the medians, 1.2 / 0.5, would be 2.4), scikit-learn's
        # 10, 10 and 5 (median 10; of the medians 8.3).
        rows = [row("toolkit lloyd", 1, [1.0, 4.0, 1.2], "seq"), row("toolkit lloyd", 2, [0.5, 2.0, 0.4], "omp"),
                row("toolkit elkan", 1, [0.1, 0.4, 0.3], "seq"), row("toolkit elkan", 2, [0.05, 0.2, 0.15], "omp"),
                row("toolkit hamerly", 1, [0.2, 0.8, 0.3], "seq"),
                row("sklearn lloyd", 1, [10.0, 40.0, 6.0]), row("sklearn elkan", 1, [1.0, 4.0, 3.0]),
                row("sklearn elkan", 2, [9.0, 9.0, 9.0])]
        paired = compare.paired_ratios(rows)
        self.assertEqual(paired["lloyd"], {"speedup_all_cores": 2.0, "sklearn_over_toolkit_1_thread": 10.0})
        self.assertEqual(paired["elkan"], {"speedup_all_cores": 2.0, "sklearn_over_toolkit_1_thread": 10.0})
        # No omp row for hamerly here: no speedup; against scikit-learn's elkan, 5, 5 and 10.
        self.assertEqual(paired["hamerly"], {"sklearn_over_toolkit_1_thread": 5.0})
        # MPI ranks, paired the same way: lloyd's rounds 2.5, 2 and 1.2.
        rows.append(row("toolkit lloyd", 2, [0.4, 2.0, 1.0], "mpi"))
        self.assertEqual(compare.paired_ratios(rows)["lloyd"]["speedup_all_ranks"], 2.0)
        from report import peers
        self.assertIn("over its time on 2 MPI ranks: lloyd 2.00x", peers.paired_sentence(compare.paired_ratios(rows), 2))

    def test_a_peer_that_failed_once_is_left_out(self):
        ok = ({"per_iter_s": [0.5], "iterations": 100}, None)
        row_, why = compare.peer_row({"impl": "faiss lloyd", "threads": 1}, [ok, (None, "crashed"), ok])
        self.assertIsNone(row_)
        self.assertEqual(why, "crashed")
        row_, why = compare.peer_row({"impl": "faiss lloyd", "threads": 1}, [ok, ok])
        self.assertEqual(row_["per_iter_s"], [0.5, 0.5])
        self.assertEqual((row_["impl"], row_["threads"], row_["iterations"]), ("faiss lloyd", 1, 100))

    def test_ceiling_is_the_median_of_each_rounds_throughput_ratio(self):
        # Two copies at once, per round: (1.0, 1.0) against 1.0 alone -> 2.0; (1.5, 2.5) against
        # 1.0 -> 1.0; (4.4, 4.4) against 4.0 (a slow round for all) -> 1.818...; median 1.818.
        rows = [row("toolkit elkan", 1, [1.0, 1.0, 4.0], "seq"), row("toolkit elkan", 2, [0.6, 0.6, 2.5], "omp")]
        ceiling = {"copies": 2, "per_iter_s": {"elkan": [[1.0, 1.0], [1.5, 2.5], [4.4, 4.4]]}}
        paired = compare.paired_ratios(rows, ceiling)
        self.assertAlmostEqual(paired["elkan"]["ceiling_all_cores"], 2 * 4.0 / 4.4)
        self.assertAlmostEqual(paired["elkan"]["speedup_all_cores"], 1.0 / 0.6)
        self.assertNotIn("ceiling_all_cores", paired["lloyd"])  # no seq row, no copies
        # A ceiling with a malformed round is left out, not half used.
        bad = {"copies": 2, "per_iter_s": {"elkan": [[1.0, 1.0], [], [4.4, 4.4]]}}
        self.assertNotIn("ceiling_all_cores", compare.paired_ratios(rows, bad)["elkan"])
        from report import peers
        sentence = peers.paired_sentence(paired, 2)
        self.assertIn("elkan 1.67x (ceiling 1.82x)", sentence)
        self.assertIn("the machine's ceiling", sentence)
        self.assertNotIn("slowed", sentence)
        # A ceiling above the core count says so (round 1 alone twice as slow as each copy).
        ceiling["per_iter_s"]["elkan"] = [[0.5, 0.5], [0.5, 0.5], [2.0, 2.0]]
        self.assertIn("above 2x, the lone run was slowed", peers.paired_sentence(compare.paired_ratios(rows, ceiling), 2))

    def test_regression_pairs_each_round(self):
        rows = [{"impl": "numpy GD", "threads": 1, "per_iter_s": [9.0, 9.0, 9.0]},
                row("nlreg_seq", 1, [2.0, 8.0, 2.0], "seq"), row("nlreg_omp", 2, [1.0, 4.0, 2.0], "omp"),
                row("nlreg_mpi", 2, [1.25, 4.0, 1.0], "mpi")]
        paired = compare.regression_paired(rows, {"copies": 2, "per_iter_s": [[2.0, 2.0], [10.0, 10.0], [2.0, 2.2]]})
        self.assertEqual(paired["omp"], {"speedup": 2.0})  # rounds 2, 2, 1
        self.assertEqual(paired["mpi"], {"speedup": 2.0})  # rounds 1.6, 2, 2
        self.assertAlmostEqual(paired["ceiling"], 2 * 2.0 / 2.1)  # rounds 2, 1.6, 1.905
        from report import peers
        self.assertIn("nlreg_omp 2.00x, nlreg_mpi 2.00x", peers.regression_sentence(paired, 2))


# A stand-in for a toolkit executable: writes a record whose time per iteration is 1 + the
# lowest CPU it may run on, after waiting (at most 20 s) for the other copy to start.
FAKE = """
import json, os, sys, time
path = sys.argv[sys.argv.index("--record") + 1]
me = os.path.join(sys.argv[1], str(os.getpid()))
open(me, "w").close()
deadline = time.time() + 20
while len(os.listdir(sys.argv[1])) < 2:
    if time.time() > deadline:
        sys.exit(7)
    time.sleep(0.01)
with open(path, "w") as f:
    f.write(json.dumps({"time_s": {"per_iter": 1.0 + min(os.sched_getaffinity(0))}}) + "\\n")
"""


@unittest.skipUnless(len(os.sched_getaffinity(0)) >= 2, "needs two CPUs")
class AtOnce(unittest.TestCase):
    def test_copies_run_together_each_on_its_cpu(self):
        cpus = compare.ceiling_cpus(2)
        self.assertEqual(cpus, sorted(os.sched_getaffinity(0))[:2])
        with tempfile.TemporaryDirectory() as rendezvous:
            args = types.SimpleNamespace(blas_env={})
            # A copy that ran alone would wait for the other in vain and fail (exit 7).
            times = compare.run_at_once(args, [sys.executable, "-c", FAKE, rendezvous], cpus)
        self.assertEqual(times, [1.0 + cpus[0], 1.0 + cpus[1]])

    def test_a_failed_copy_fails_the_measurement(self):
        args = types.SimpleNamespace(blas_env={})
        with self.assertRaises(SystemExit) as cm:
            compare.run_at_once(args, [sys.executable, "-c", "import sys; sys.exit(3)"], compare.ceiling_cpus(2))
        self.assertIn("failed (3)", str(cm.exception))

    def test_no_ceiling_for_one_worker_or_too_few_cpus(self):
        self.assertIsNone(compare.ceiling_cpus(1))
        self.assertIsNone(compare.ceiling_cpus(len(os.sched_getaffinity(0)) + 1))


if __name__ == "__main__":
    unittest.main()
