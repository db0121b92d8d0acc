"""Statistics against values worked out by hand."""

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

    def test_speedup_ci_needs_seven(self):
        base = [10.0, 11, 12, 13, 14, 15, 16]
        fast = [5.0, 5.5, 6, 6.5, 7, 7.5, 8]
        lo, hi = stats.speedup_ci(base, fast)
        # n = 7: min/max has coverage 1 - 2/128 = 0.984 >= 0.975, so [min_b/max_f, max_b/min_f]
        self.assertAlmostEqual(lo, 10 / 8)
        self.assertAlmostEqual(hi, 16 / 5)
        self.assertIsNone(stats.speedup_ci(base[:6], fast[:6]))


class TestRankTest(unittest.TestCase):
    def test_complete_separation_five_each(self):
        # one arrangement of 252 in each tail: p = 2/252
        p = stats.mann_whitney_p([2, 3, 4, 5, 6], [0.1, 0.2, 0.3, 0.4, 0.5])
        self.assertAlmostEqual(p, 2 / 252)

    def test_interleaved_is_not_significant(self):
        self.assertGreater(stats.mann_whitney_p([1, 3, 5, 7], [2, 4, 6, 8]), 0.5)

    def test_compare_rules(self):
        self.assertEqual(stats.compare([1.0], [0.5])["verdict"], "n/a")
        # 3 + 3 runs: complete separation gives p = 2/C(6,3) = 0.1, so no verdict is possible
        self.assertEqual(stats.compare([2, 2.1, 2.2], [1, 1.1, 1.2])["method"], "too few repetitions")
        v = stats.compare([2, 2.1, 2.2, 2.3, 2.4], [1, 1.1, 1.2, 1.3, 1.4])
        self.assertEqual((v["verdict"], v["method"]), ("faster", "mann-whitney"))
        v = stats.compare([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6], [2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6])
        self.assertEqual((v["verdict"], v["method"]), ("slower", "ci"))
        v = stats.compare([1, 2, 3, 4, 5, 6, 7], [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5])
        self.assertEqual(v["verdict"], "same")


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
