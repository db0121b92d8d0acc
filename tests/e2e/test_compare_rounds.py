"""make compare's interleaving (tools/compare.py): every form runs once per round, in the same
order each round, and the paired ratios are medians over the rounds of the rounds' own ratios
(not a ratio of medians). Pure logic: the runs are faked, nothing is timed."""
import importlib.util
import os
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

    def test_a_peer_that_failed_once_is_left_out(self):
        ok = ({"per_iter_s": [0.5], "iterations": 100}, None)
        row_, why = compare.peer_row({"impl": "faiss lloyd", "threads": 1}, [ok, (None, "crashed"), ok])
        self.assertIsNone(row_)
        self.assertEqual(why, "crashed")
        row_, why = compare.peer_row({"impl": "faiss lloyd", "threads": 1}, [ok, ok])
        self.assertEqual(row_["per_iter_s"], [0.5, 0.5])
        self.assertEqual((row_["impl"], row_["threads"], row_["iterations"]), ("faiss lloyd", 1, 100))


if __name__ == "__main__":
    unittest.main()
