"""Statistics against values worked out by hand."""

import math
import random
import unittest

from report.tests import helpers  # noqa: F401  (puts the repository root on sys.path)
from report import stats


class TestSummaries(unittest.TestCase):
    def test_median_odd_and_even(self):
        self.assertEqual(stats.median([3.0, 1.0, 2.0]), 2.0)
        self.assertEqual(stats.median([4.0, 1.0, 3.0, 2.0]), 2.5)

    def test_quantile_linear_interpolation(self):
        xs = [10.0, 20.0, 30.0, 40.0, 50.0]           # h = 4 q
        self.assertAlmostEqual(stats.quantile(xs, 0.25), 20.0)
        self.assertAlmostEqual(stats.quantile(xs, 0.75), 40.0)
        ys = [1.0, 2.0, 4.0, 8.0]                     # h = 3 q: 0.75 -> 1 + 0.75*(2-1); 2.25 -> 4 + 0.25*(8-4)
        self.assertAlmostEqual(stats.quantile(ys, 0.25), 1.75)
        self.assertAlmostEqual(stats.quantile(ys, 0.75), 5.0)
        self.assertAlmostEqual(stats.iqr(ys), 3.25)


class TestMedianCI(unittest.TestCase):
    def test_too_few_samples(self):
        # (min, max) of 5 samples covers the median with 1 - 2/32 = 0.9375 < 0.95
        self.assertIsNone(stats.median_ci([1, 2, 3, 4, 5]))

    def test_six_samples_use_min_and_max(self):
        lo, hi, cov = stats.median_ci([6, 1, 5, 2, 4, 3])
        self.assertEqual((lo, hi), (1, 6))
        self.assertAlmostEqual(cov, 1 - 2 / 64)

    def test_nine_samples_use_second_order_statistics(self):
        # j = 2: 1 - 2 (C(9,0) + C(9,1)) / 512 = 1 - 20/512 = 0.9609 >= 0.95; j = 3 gives 0.8203
        lo, hi, cov = stats.median_ci(list(range(1, 10)))
        self.assertEqual((lo, hi), (2, 8))
        self.assertAlmostEqual(cov, 1 - 20 / 512)

    def test_large_n_matches_exact_sum_and_normal_approximation(self):
        # Above EXACT_MAX_N the coverage comes from log-probabilities: same ranks as the exact
        # integer sum (done here by math.comb for one n), and j near n/2 - 1.96 sqrt(n)/2.
        n = stats.EXACT_MAX_N + 1
        j, k, cov = stats.median_ci_ranks(n)
        exact = sum(math.comb(n, i) for i in range(j, n - j + 1)) / 2 ** n
        self.assertAlmostEqual(cov, exact, places=12)
        self.assertLess(sum(math.comb(n, i) for i in range(j + 1, n - j)) / 2 ** n, 0.95)
        j, k, cov = stats.median_ci_ranks(200_000)
        self.assertLessEqual(abs(j - (100_000 - 1.959964 * math.sqrt(200_000) / 2)), 1)
        self.assertEqual(k, 200_001 - j)
        self.assertGreaterEqual(cov, 0.95)


class TestRankTest(unittest.TestCase):
    def test_complete_separation_five_each(self):
        # one arrangement of 252 in each tail: p = 2/252
        p = stats.mann_whitney_p([2, 3, 4, 5, 6], [0.1, 0.2, 0.3, 0.4, 0.5])
        self.assertAlmostEqual(p, 2 / 252)

    def test_interleaved_is_not_significant(self):
        self.assertGreater(stats.mann_whitney_p([1, 3, 5, 7], [2, 4, 6, 8]), 0.5)

    def test_against_scipy_with_and_without_ties(self):
        # scipy is a test dependency only (Debian python3-scipy); the report does not need it.
        from scipy.stats import mannwhitneyu
        rng = random.Random(11)
        methods = set()
        for trial in range(600):
            m, n = rng.randint(1, 30), rng.randint(1, 30)
            if trial % 3 == 0:       # many ties
                a, b = [rng.randint(0, 5) for _ in range(m)], [rng.randint(0, 6) for _ in range(n)]
            else:
                a = [rng.lognormvariate(0, 0.3) for _ in range(m)]
                b = [rng.lognormvariate(rng.choice((0, 0.2, 0.5)), 0.3) for _ in range(n)]
            u, p, method = stats.mann_whitney(a, b)
            methods.add(method)
            ref = mannwhitneyu(a, b, alternative="two-sided", method="exact" if method == "exact" else "asymptotic")
            self.assertAlmostEqual(u, ref.statistic, places=9, msg=(a, b))
            self.assertAlmostEqual(p, ref.pvalue, places=12, msg=(a, b))
        self.assertEqual(methods, {"exact", "normal"})

    def test_ci_excludes_one_exactly_when_the_test_rejects(self):
        rng = random.Random(5)
        for _ in range(400):
            m, n = rng.randint(2, 40), rng.randint(2, 40)
            a = [rng.lognormvariate(0, 0.3) for _ in range(m)]
            b = [rng.lognormvariate(rng.choice((0, 0.1, 0.3)), 0.3) for _ in range(n)]
            for alpha in (0.05, 0.0125):
                v = stats.compare(a, b, alpha)
                outside = v["ci"] is not None and (v["ci"][0] > 1 or v["ci"][1] < 1)
                self.assertEqual(outside, v["p"] < alpha, v)
                if v["ci"]:
                    self.assertLessEqual(v["ci"][0], v["ci"][1])

    def test_kth_difference_by_bisection_matches_the_full_list(self):
        rng = random.Random(2)
        xs = sorted(rng.random() for _ in range(1100))
        ys = sorted(rng.random() for _ in range(1000))       # 1.1 million pairs: bisection
        diffs = sorted(x - y for x in xs for y in ys)
        for k in (1, 12345, 550_000, len(diffs)):
            self.assertAlmostEqual(stats._kth_difference(xs, ys, k), diffs[k - 1], places=12)

    def test_three_verdicts(self):
        # 3 + 3 runs: complete separation gives p = 2/C(6,3) = 0.1: no detectable difference, no CI
        v = stats.compare([2, 2.1, 2.2], [1, 1.1, 1.2])
        self.assertEqual((v["verdict"], v["ci"]), ("same", None))
        self.assertAlmostEqual(v["p"], 0.1)
        self.assertEqual(stats.compare([1.0], [0.5])["verdict"], "same")
        v = stats.compare([2, 2.1, 2.2, 2.3, 2.4], [1, 1.1, 1.2, 1.3, 1.4])
        self.assertEqual(v["verdict"], "faster")
        self.assertGreater(v["ci"][0], 1)
        self.assertAlmostEqual(v["ratio"], 2.2 / 1.2)
        v = stats.compare([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6], [2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6])
        self.assertEqual(v["verdict"], "slower")
        v = stats.compare([1, 2, 3, 4, 5, 6, 7], [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5])
        self.assertEqual(v["verdict"], "same")

    def test_one_slow_run_does_not_hide_a_clear_speedup(self):
        # Issue 10's MNIST case: six of seven 2-rank runs far below every 1-rank run, one slow.
        one = [0.126, 0.131, 0.135, 0.139, 0.142, 0.147, 0.153]
        two = [0.082, 0.083, 0.084, 0.085, 0.087, 0.088, 0.135]
        v = stats.compare(one, two)
        self.assertEqual(v["verdict"], "faster")
        self.assertLess(v["p"], 0.01)

    def test_another_repetition_cannot_undo_faster(self):
        # Clearly separated samples: every base run slower than every fast one. Adding a run that
        # keeps them separated, to either side, must keep the verdict "faster".
        rng = random.Random(7)
        for m in range(4, 30):
            for n in range(4, 30, 5):
                base = [2 + rng.random() for _ in range(m)]
                fast = [1 + rng.random() * 0.5 for _ in range(n)]
                before = stats.compare(base, fast)["verdict"]
                if before != "faster":
                    self.assertLessEqual(min(m, n), 4)      # too few runs for 5%: allowed only then
                    continue
                self.assertEqual(stats.compare(base + [2.5], fast)["verdict"], "faster", (m, n))
                self.assertEqual(stats.compare(base, fast + [1.2])["verdict"], "faster", (m, n))

    def test_holm(self):
        levels, reject = stats.holm([0.01, 0.04, 0.03])
        self.assertEqual(levels, [0.05 / 3, 0.05 / 1, 0.05 / 2])
        self.assertEqual(reject, [True, False, False])
        levels, reject = stats.holm([0.001, 0.02, 0.04])
        self.assertEqual(reject, [True, True, True])
        # The family's verdicts follow Holm: alone p = 0.03 would be "slower", in a family of 3 not.
        pairs = [([1.0, 1.1, 1.2, 1.3, 1.4], [2.0, 2.1, 2.2, 2.3, 2.4])] * 3
        fam = stats.compare_family(pairs)
        self.assertEqual([v["verdict"] for v in fam], ["slower"] * 3)   # p = 0.0079 < 0.05/3
        self.assertTrue(all(v["holm_family"] == 3 for v in fam))


class TestModels(unittest.TestCase):
    def test_karp_flatt(self):
        # S = 1.6 at p = 2: (1/1.6 - 1/2) / (1 - 1/2) = (0.625 - 0.5) / 0.5 = 0.25
        self.assertAlmostEqual(stats.karp_flatt(1.6, 2), 0.25)
        self.assertIsNone(stats.karp_flatt(1.0, 1))

    def test_amdahl_fit_recovers_serial_fraction(self):
        f = 0.1
        ps = [1, 2, 4, 8]
        s = [1 / (f + (1 - f) / p) for p in ps]
        self.assertAlmostEqual(stats.amdahl_fit(ps, s), f)
        self.assertAlmostEqual(stats.amdahl_speedup(f, 2), 1 / 0.55)
        self.assertIsNone(stats.amdahl_fit([1], [1.0]))


if __name__ == "__main__":
    unittest.main()
