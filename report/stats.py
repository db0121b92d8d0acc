"""Statistics for run times, chosen so that nothing assumes normally distributed data.

Timings on shared machines are skewed (a run can only be slowed down by interference), so
the report summarises with the median and inter-quartile range, and gives confidence
intervals from order statistics (distribution-free), following Hoefler & Belli (SC'15).
Pure Python on purpose: every number here is easy to recompute by hand in the tests.
"""

import math
from functools import lru_cache

LEVEL = 0.95


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def mean(xs):
    return sum(xs) / len(xs)


def quantile(xs, q):
    """Quantile by linear interpolation between order statistics (Hyndman-Fan type 7,
    numpy's default): position h = (n-1) q in the sorted values, 0-based."""
    s = sorted(xs)
    h = (len(s) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def iqr(xs):
    return quantile(xs, 0.75) - quantile(xs, 0.25)


# Up to this many samples the coverage is summed in exact integers; beyond, in floating point
# from log-probabilities (exact integers cost O(n^2) bit operations: 10,000 runs took minutes).
EXACT_MAX_N = 1000


def _binom_half_pmf(n):
    """P(B = i) for i = 0, 1, ..., n // 2, B ~ Binomial(n, 1/2), one at a time, in floating
    point from log-probabilities: terms below 2^-1074 are 0, negligible next to 1 - level."""
    log_all = math.lgamma(n + 1) - n * math.log(2)
    for i in range(n // 2 + 1):
        yield math.exp(log_all - math.lgamma(i + 1) - math.lgamma(n - i + 1))


@lru_cache(maxsize=None)
def median_ci_ranks(n, level=LEVEL):
    """The narrowest symmetric pair of order statistics (j, n+1-j), 1-based, whose binomial
    coverage of the median, P(j <= B <= n-j) for B ~ Binomial(n, 1/2), is at least `level`,
    with that coverage; None when even (min, max) is not enough (for 95% that is n < 6:
    1 - 2/2^5 = 0.9375). Exact for n <= EXACT_MAX_N, to about 1e-12 beyond; O(n)."""
    best = None
    if n <= EXACT_MAX_N:
        # Exact: compare integer counts, cov = (2^n - 2 * below) / 2^n with below = #{B < j}.
        total, below, c = 2 ** n, 0, 1
        for j in range(1, n // 2 + 1):
            below += c                        # adds C(n, j-1)
            c = c * (n - j + 1) // j          # C(n, j)
            inside = total - 2 * below
            if inside >= level * total:
                best = (j, n + 1 - j, inside / total)
            else:
                break
        return best
    below = 0.0
    for j, pmf in enumerate(_binom_half_pmf(n), start=1):
        below += pmf                          # P(B <= j - 1)
        cov = 1 - 2 * below
        if j > n // 2 or cov < level:
            break
        best = (j, n + 1 - j, cov)
    return best


def median_ci(xs, level=LEVEL):
    """(low, high, coverage) of a distribution-free CI of the median, or None if n is too small."""
    ranks = median_ci_ranks(len(xs), level)
    if ranks is None:
        return None
    s = sorted(xs)
    j, k, cov = ranks
    return (s[j - 1], s[k - 1], cov)


def speedup_ci(base, xs, level=LEVEL):
    """CI of S = median(base)/median(xs) by interval arithmetic on the two medians' CIs.

    Each median CI is taken at level 1-(1-level)/2 (Bonferroni), so both hold together with
    probability >= level and the ratio interval [lo_base/hi, hi_base/lo] then holds too. At 95%
    this needs 7 or more repetitions on both sides. None when unavailable or a bound is 0."""
    each = 1 - (1 - level) / 2
    a, b = median_ci(base, each), median_ci(xs, each)
    if a is None or b is None or b[0] <= 0 or b[1] <= 0:
        return None
    return (a[0] / b[1], a[1] / b[0])


@lru_cache(maxsize=None)
def _mw_counts(m, n):
    """Number of arrangements of m x's and n y's giving each U = #(x > y) pairs, for U = 0..m*n."""
    if m == 0 or n == 0:
        return (1,) + (0,) * (m * n)
    # The largest value is either an x (beating all n y's) or a y (beating none).
    with_x = _mw_counts(m - 1, n)
    with_y = _mw_counts(m, n - 1)
    out = [0] * (m * n + 1)
    for u, c in enumerate(with_x):
        out[u + n] += c
    for u, c in enumerate(with_y):
        out[u] += c
    return tuple(out)


def mann_whitney_p(a, b):
    """Exact two-sided p-value of the Mann-Whitney rank-sum test (no normal approximation;
    ties count one half, which keeps the test usable though no longer exact for them)."""
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return None
    u = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)
    counts = _mw_counts(m, n)
    total = sum(counts)
    lower = sum(c for k, c in enumerate(counts) if k <= u) / total
    upper = sum(c for k, c in enumerate(counts) if k >= u) / total
    return min(1.0, 2 * min(lower, upper))


def compare(base, xs, alpha=1 - LEVEL):
    """Is `xs` faster than `base` (both lists of times)?

    Returns dict(verdict, method, ci, p). verdict is 'faster', 'slower', 'same' (no detectable
    difference) or 'n/a'. The speedup CI decides when it exists (a CI above 1 means faster);
    with 2..6 repetitions, where no CI exists, an exact Mann-Whitney test at `alpha` decides;
    with one repetition on either side, or too few for the test to ever reach `alpha`, nothing
    can be said (verdict 'n/a', method says why)."""
    out = {"verdict": "n/a", "method": None, "ci": None, "p": None}
    if len(base) < 2 or len(xs) < 2:
        out["method"] = "one repetition"
        return out
    ci = speedup_ci(base, xs)
    if ci is not None:
        out.update(method="ci", ci=ci)
        out["verdict"] = "faster" if ci[0] > 1 else "slower" if ci[1] < 1 else "same"
        return out
    if 2 / math.comb(len(base) + len(xs), len(xs)) >= alpha:
        # Even complete separation could not reach `alpha` (3 + 3 runs: p >= 0.1): undecidable.
        out["method"] = "too few repetitions"
        return out
    p = mann_whitney_p(base, xs)
    out.update(method="mann-whitney", p=p)
    if p < alpha:
        out["verdict"] = "faster" if median(xs) < median(base) else "slower"
    else:
        out["verdict"] = "same"
    return out


def karp_flatt(speedup, p):
    """Experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p), defined for p > 1."""
    if p <= 1 or not speedup:
        return None
    return (1 / speedup - 1 / p) / (1 - 1 / p)


def amdahl_fit(ps, speedups):
    """Serial fraction f of Amdahl's law S(p) = 1 / (f + (1-f)/p), least squares on 1/S.

    1/S = 1/p + f (1 - 1/p) is linear in f, so with x = 1 - 1/p and y = 1/S - 1/p the
    minimiser is f = sum(x y) / sum(x^2). Clipped to [0, 1]; None without a point at p > 1."""
    pts = [(1 - 1 / p, 1 / s - 1 / p) for p, s in zip(ps, speedups) if p > 1 and s and s > 0]
    sxx = sum(x * x for x, _ in pts)
    if not pts or sxx == 0:
        return None
    f = sum(x * y for x, y in pts) / sxx
    return min(1.0, max(0.0, f))


def amdahl_speedup(f, p):
    return 1 / (f + (1 - f) / p)
