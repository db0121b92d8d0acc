"""Statistics for run times, chosen so that nothing assumes normally distributed data.

Timings on shared machines are skewed (a run can only be slowed down by interference), so
the report summarises with the median and inter-quartile range, and gives confidence
intervals from order statistics (distribution-free), following Hoefler & Belli (SC'15).
Pure Python but for one count (numpy): every number here is easy to recompute by hand.
"""

import math
from functools import lru_cache

import numpy

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


ALPHA = 0.05
# Exact Mann-Whitney distribution (no ties) up to this many pairs m*n; the normal
# approximation with tie and continuity correction beyond (as scipy.stats.mannwhitneyu).
EXACT_MW_PAIRS = 400


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


def _ranks(values):
    """1-based ranks, ties given their average rank; and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _norm_sf(z):
    return 0.5 * math.erfc(z / math.sqrt(2))


def _norm_isf(q):
    """z with P(Z > z) = q, by bisection on erfc (no scipy needed at run time)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if _norm_sf(mid) > q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _exact(m, n):
    return m * n <= EXACT_MW_PAIRS


def mann_whitney(a, b):
    """Two-sided Mann-Whitney U test of samples a and b: (U of a = #(a > b) + ties / 2, p, method).

    Exact distribution when there are no ties and m*n <= EXACT_MW_PAIRS, else the normal
    approximation with tie correction and continuity correction; p as scipy.stats.mannwhitneyu
    (method "exact" or "asymptotic") gives it."""
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        raise ValueError("Mann-Whitney test of an empty sample")
    ranks, ties = _ranks(list(a) + list(b))
    u = sum(ranks[:m]) - m * (m + 1) / 2
    big = max(u, m * n - u)
    if not ties and _exact(m, n):
        counts = _mw_counts(m, n)
        tail = sum(counts[int(big):]) / sum(counts)
        return u, min(1.0, 2 * tail), "exact"
    N = m + n
    var = m * n / 12 * ((N + 1) - sum(t ** 3 - t for t in ties) / (N * (N - 1)))
    if var <= 0:
        return u, 1.0, "normal"       # every value the same
    z = (big - m * n / 2 - 0.5) / math.sqrt(var)
    return u, min(1.0, max(0.0, 2 * _norm_sf(z))), "normal"


def mann_whitney_p(a, b):
    return mann_whitney(a, b)[1]


def _kth_difference(xs, ys, k):
    """The k-th smallest (1-based) of the m*n differences x - y, xs and ys sorted."""
    m, n = len(xs), len(ys)
    xa, ya = numpy.asarray(xs, dtype=float), numpy.asarray(ys, dtype=float)
    if m * n <= 1_000_000:
        return float(numpy.partition(numpy.subtract.outer(xa, ya).ravel(), k - 1)[k - 1])
    # Too many pairs to list (thousands of repetitions): bisect on the value, counting the
    # differences <= d (x - y <= d  <=>  y >= x - d) by binary search in ys.

    def count_le(d):
        return m * n - int(numpy.searchsorted(ya, xa - d, side="left").sum())
    lo, hi = xs[0] - ys[-1], xs[-1] - ys[0]
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if count_le(mid) >= k:
            hi = mid
        else:
            lo = mid
    return hi


def hodges_lehmann_ci(a, b, alpha=ALPHA):
    """CI of the shift of log(a) against log(b), as a ratio exp(shift): the set of ratios r for
    which the two-sided Mann-Whitney test of a/r against b does not reject at `alpha`; it
    excludes 1 exactly when the test rejects (without ties). (low, high) or None when no pair of
    order statistics is extreme enough (too few runs) or a time is not positive."""
    if min(a) <= 0 or min(b) <= 0:
        return None
    m, n = len(a), len(b)
    xs, ys = sorted(math.log(v) for v in a), sorted(math.log(v) for v in b)
    # k: the CI is [D_(k), D_(mn+1-k)]; the test rejects when U <= k-1 (or >= mn-k+1).
    if _exact(m, n) and len(set(xs + ys)) == m + n:
        counts = _mw_counts(m, n)
        total, below, k = sum(counts), 0, 0
        while k < len(counts) and 2 * (below + counts[k]) / total < alpha:
            below += counts[k]
            k += 1
    else:
        _, ties = _ranks(xs + ys)
        N = m + n
        sd = math.sqrt(m * n / 12 * ((N + 1) - sum(t ** 3 - t for t in ties) / (N * (N - 1))))
        k = math.ceil(m * n / 2 - 0.5 - _norm_isf(alpha / 2) * sd)
    if k < 1:
        return None
    return (math.exp(_kth_difference(xs, ys, k)), math.exp(_kth_difference(xs, ys, m * n + 1 - k)))


def compare(base, xs, alpha=ALPHA):
    """Is `xs` faster than `base` (both lists of times)? One two-sided Mann-Whitney test.

    Returns dict(verdict, method, p, alpha, ratio, ci): verdict 'faster', 'slower' or 'same'
    (no detectable difference) at level `alpha` (a Holm step, see compare_family); ratio =
    median(base) / median(xs), the speedup (above 1: faster); ci the Hodges-Lehmann interval of
    the same ratio at the same level, None when the samples are too small for one (then no test
    can reject either)."""
    u, p, method = mann_whitney(base, xs)
    mb, mx = median(base), median(xs)
    out = {"p": p, "method": method, "alpha": alpha, "ratio": mb / mx if mx > 0 else None,
           "ci": hodges_lehmann_ci(base, xs, alpha), "verdict": "same"}
    if p < alpha:
        # The direction of the shift the test found: base above xs (U of base large) is faster.
        out["verdict"] = "faster" if u > len(base) * len(xs) / 2 else "slower"
    return out


def holm(ps, alpha=ALPHA):
    """Holm's step-down levels: for each p of one family, the level its test is held to
    (alpha / (m - i) for the i-th smallest, 0-based), and whether it is rejected (every smaller
    p rejected too)."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    levels, reject = [alpha] * len(ps), [False] * len(ps)
    going = True
    for step, i in enumerate(order):
        levels[i] = alpha / (len(ps) - step)
        going = going and ps[i] < levels[i]
        reject[i] = going
    return levels, reject


def compare_family(pairs, alpha=ALPHA):
    """compare() for every (base, xs) of one question with Holm's correction: the verdicts
    hold together at `alpha`; each comparison's CI is at the level Holm held it to."""
    raw = [mann_whitney(base, xs)[1] for base, xs in pairs]
    levels, reject = holm(raw, alpha)
    out = []
    for (base, xs), level, rej in zip(pairs, levels, reject):
        v = compare(base, xs, level)
        if not rej:
            v["verdict"] = "same"
        v["holm_family"] = len(pairs)
        out.append(v)
    return out


def karp_flatt(speedup, p):
    """Experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p), defined for p > 1."""
    if p <= 1 or not speedup:
        return None
    return (1 / speedup - 1 / p) / (1 - 1 / p)


def amdahl_fit(ps, speedups):
    """Serial fraction f of Amdahl's law S(p) = 1 / (f + (1-f)/p), least squares on 1/S.

    1/S = 1/p + f (1 - 1/p) is linear in f, so with x = 1 - 1/p and y = 1/S - 1/p the
    minimiser is f = sum(x y) / sum(x^2). Not clipped: f > 1 is a slowdown, f < 0 superlinear
    speedup, and the caller says so. None without a point at p > 1."""
    pts = [(1 - 1 / p, 1 / s - 1 / p) for p, s in zip(ps, speedups) if p > 1 and s and s > 0]
    sxx = sum(x * x for x, _ in pts)
    if not pts or sxx == 0:
        return None
    return sum(x * y for x, y in pts) / sxx


def amdahl_speedup(f, p):
    return 1 / (f + (1 - f) / p)
