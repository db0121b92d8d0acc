// The distance kernel's exactness contract and the pruned E-step built on it:
// every function of the kernel computes a (row, centroid) value with the same
// operations (checked against a scalar model of them), the error bound that
// the pruning relies on holds, and Hamerly and Elkan give Lloyd's labels and
// distances bit for bit whatever the centroids do between E-steps.
//
// The model and the references below are written here and call no production
// helper (not sq_value, pick or value_error), so a bug in one of those cannot
// hide in the expected values: Lloyd's labels are also checked against a plain
// long-double nearest-centroid search, up to a textbook rounding bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kmeans/byte_sums.hpp"
#include "kmeans/estep.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/lane_rows.hpp"
#include "kmeans/pair_rows.hpp"

namespace hpcb::kmeans {
namespace {

template <class T>
std::vector<T> random_data(std::size_t count, std::mt19937& gen, double spread = 1.0) {
  std::vector<T> v(count);
  if constexpr (std::is_integral_v<T>) {
    std::uniform_int_distribution<int> u(0, 255);
    for (auto& x : v) x = static_cast<T>(u(gen));
  } else {
    std::normal_distribution<double> g(0, spread);
    for (auto& x : v) x = static_cast<T>(g(gen));
  }
  return v;
}

// The kernel's arithmetic, one pair at a time in scalar code: lane l of W
// accumulates x_j c_j for j = l, l + W, ... over the row padded to a multiple of
// W (one fused multiply-add each where the target has FMA), the lanes are
// added in halves (l + l+W/2, then l + l+W/4, ...), and the value is
// |x|^2 - 2 x.c + |c|^2 with |x|^2 and |c|^2 summed the same way.
template <class D>
D model_dot(const std::vector<D>& x, const std::vector<D>& c) {
  constexpr int W = 64 / sizeof(D);
  D lanes[W] = {};
  for (std::size_t j = 0; j < x.size(); ++j) {
#if defined(__FMA__) || defined(__AVX512F__)
    lanes[j % W] = std::fma(x[j], c[j], lanes[j % W]);
#else
    lanes[j % W] = lanes[j % W] + x[j] * c[j];
#endif
  }
  for (int width = W / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0];
}

// The nearest of k finite values, ties to the lower index, the value clamped
// at 0 (the kernel's documented choice, written out independently of pick()).
template <class D>
void reference_pick(const D* v, int k, std::int32_t& label, D& dist) {
  label = 0;
  for (int c = 1; c < k; ++c)
    if (v[c] < v[label]) label = c;
  dist = v[label] < D(0) ? D(0) : v[label];
}

template <class T>
struct Case {
  using D = dist_t<T>;
  std::int64_t n, d;
  int k;
  D scale;
  std::vector<T> X;
  std::vector<double> C;

  Case(std::int64_t n_, std::int64_t d_, int k_, unsigned seed, double spread = 1.0) : n(n_), d(d_), k(k_) {
    std::mt19937 gen(seed);
    scale = std::is_integral_v<T> ? D(1) / D(255) : D(1);
    X = random_data<T>(static_cast<std::size_t>(n * d), gen, spread);
    // Centroids: rows of X, perturbed, so the values span near and far.
    std::normal_distribution<double> g(0, 0.05 * spread);
    for (int c = 0; c < k; ++c)
      for (std::int64_t j = 0; j < d; ++j)
        C.push_back(static_cast<double>(X[static_cast<std::size_t>((c * 7 % n) * d + j)]) * scale + g(gen));
  }
  std::vector<D> row(std::int64_t i) const {
    std::vector<D> r(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j) r[static_cast<std::size_t>(j)] = static_cast<D>(X[static_cast<std::size_t>(i * d + j)]) * scale;
    return r;
  }
  std::vector<D> centroid(int c) const {
    std::vector<D> r(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j) r[static_cast<std::size_t>(j)] = static_cast<D>(C[static_cast<std::size_t>(c * d + j)]);
    return r;
  }
  D model_value(std::int64_t i, int c) const {
    const auto x = row(i), m = centroid(c);
    // |x|^2 - 2 x.c + |c|^2, evaluated left to right as the kernel documents it.
    return model_dot(x, x) - D(2) * model_dot(x, m) + model_dot(m, m);
  }
};

template <class T>
void check_kernel_against_model(std::int64_t n, std::int64_t d, int k) {
  using D = dist_t<T>;
  Case<T> cs(n, d, k, static_cast<unsigned>(n * 1000 + d * 10 + k));
  const auto P = pack_centroids<D>(cs.C.data(), k, d);
  std::vector<D> xx(static_cast<std::size_t>(n));
  row_norms<T>(cs.X.data(), n, d, cs.scale, xx.data());
  std::vector<const T*> rows;
  for (std::int64_t i = 0; i < n; ++i) rows.push_back(cs.X.data() + i * d);

  // All k values of all rows (register tiles of two rows and up to 12 centroids).
  std::vector<D> all(static_cast<std::size_t>(n * k));
  values<T>(rows.data(), n, d, cs.scale, xx.data(), P, nullptr, k, all.data());
  // Each centroid alone against every row (tiles of 8, 4, 2, 1 rows).
  std::vector<D> one(static_cast<std::size_t>(n));
  // assign() with and without the cached row norms.
  std::vector<std::int32_t> l1(static_cast<std::size_t>(n)), l2(static_cast<std::size_t>(n));
  std::vector<D> d1(static_cast<std::size_t>(n)), d2(static_cast<std::size_t>(n));
  assign<T>(cs.X.data(), n, d, cs.scale, P, xx.data(), l1.data(), d1.data());
  assign<T>(cs.X.data(), n, d, cs.scale, P, nullptr, l2.data(), d2.data());
  for (int c = 0; c < k; ++c) {
    values<T>(rows.data(), n, d, cs.scale, xx.data(), P, &c, 1, one.data());
    for (std::int64_t i = 0; i < n; ++i) {
      const D model = cs.model_value(i, c);
      const D v = all[static_cast<std::size_t>(i * k + c)];
      ASSERT_EQ(std::memcmp(&v, &model, sizeof v), 0) << "row " << i << " centroid " << c << ": " << v << " vs " << model;
      ASSERT_EQ(std::memcmp(&one[static_cast<std::size_t>(i)], &model, sizeof v), 0) << "row " << i << " centroid " << c;
    }
  }
  for (std::int64_t i = 0; i < n; ++i) {
    std::int32_t label;
    D dist;
    reference_pick<D>(all.data() + i * k, k, label, dist);
    EXPECT_EQ(l1[static_cast<std::size_t>(i)], label);
    EXPECT_EQ(l2[static_cast<std::size_t>(i)], label);
    EXPECT_EQ(std::memcmp(&d1[static_cast<std::size_t>(i)], &dist, sizeof dist), 0);
    EXPECT_EQ(std::memcmp(&d2[static_cast<std::size_t>(i)], &dist, sizeof dist), 0);
  }
}

TEST(KernelModel, EveryPathComputesTheSameOperations) {
  // With AVX-512, d <= 128 and k in {12, 13, 16, 17, 30, 33} (at most half of 16-lane blocks
  // padding) take assign()'s centroids-in-lanes form, the rest the feature-in-lanes tiles:
  // both must be the model's operations.
  for (std::int64_t d : {1, 15, 16, 17, 64, 100, 128, 129})
    for (int k : {1, 5, 12, 13, 16, 17, 30, 33}) {
      SCOPED_TRACE("d=" + std::to_string(d) + " k=" + std::to_string(k));
      check_kernel_against_model<std::uint8_t>(23, d, k);  // 23 rows: 2 x 8 + 4 + 2 + 1
      check_kernel_against_model<float>(23, d, k);
      check_kernel_against_model<double>(23, d, k);
    }
  // Many centroids (more than 256 KB of them packed): assign() takes them group by group over
  // blocks of rows; 130 rows: two whole blocks of 64 and a part.
  check_kernel_against_model<std::uint8_t>(130, 784, 100);
  check_kernel_against_model<float>(130, 300, 260);
  check_kernel_against_model<double>(130, 200, 200);
}

// Ties: every centroid twice (c and c + 1 equal), so each row's nearest value occurs twice,
// within a block of 16 centroids and, for c = 15, across two blocks of the centroids-in-
// lanes form; plus rows equal to a centroid (value 0 or just below). assign() must pick the
// lower index, as the scan over all values does.
template <class T>
void check_ties(std::int64_t d, int k) {
  using D = dist_t<T>;
  Case<T> cs(40, d, k, static_cast<unsigned>(d * 100 + k));
  for (int c = 1; c < k; c += 2)
    std::copy_n(cs.C.begin() + (c - 1) * d, d, cs.C.begin() + c * d);
  if (k > 16) std::copy_n(cs.C.begin() + 15 * d, d, cs.C.begin() + 16 * d);  // across the blocks
  const int on = std::min(15, k - 1);
  for (std::int64_t j = 0; j < d; ++j) {  // row 0 on centroid `on` (as far as rounding allows)
    double v = cs.C[static_cast<std::size_t>(on * d + j)] / cs.scale;
    if constexpr (std::is_integral_v<T>) v = std::clamp(std::round(v), 0.0, 255.0);
    cs.X[static_cast<std::size_t>(j)] = static_cast<T>(v);
  }
  const auto P = pack_centroids<D>(cs.C.data(), k, d);
  std::vector<D> xx(static_cast<std::size_t>(cs.n)), all(static_cast<std::size_t>(cs.n * k)), dist(xx.size());
  std::vector<std::int32_t> labels(xx.size());
  row_norms<T>(cs.X.data(), cs.n, d, cs.scale, xx.data());
  std::vector<const T*> rows;
  for (std::int64_t i = 0; i < cs.n; ++i) rows.push_back(cs.X.data() + i * d);
  values<T>(rows.data(), cs.n, d, cs.scale, xx.data(), P, nullptr, k, all.data());
  assign<T>(cs.X.data(), cs.n, d, cs.scale, P, xx.data(), labels.data(), dist.data());
  int ties = 0;
  for (std::int64_t i = 0; i < cs.n; ++i) {
    std::int32_t label;
    D best;
    reference_pick<D>(all.data() + i * k, k, label, best);
    ties += label + 1 < k && all[static_cast<std::size_t>(i * k + label + 1)] == all[static_cast<std::size_t>(i * k + label)];
    EXPECT_EQ(labels[static_cast<std::size_t>(i)], label) << "row " << i;
    EXPECT_EQ(std::memcmp(&dist[static_cast<std::size_t>(i)], &best, sizeof best), 0) << "row " << i;
  }
  EXPECT_GT(ties, 0);  // not vacuous: the nearest value did occur twice
}

TEST(KernelModel, TiesGoToTheLowerIndexOnEveryPath) {
  for (std::int64_t d : {16, 64, 100})
    for (int k : {10, 16, 32, 40}) {
      SCOPED_TRACE("d=" + std::to_string(d) + " k=" + std::to_string(k));
      check_ties<std::uint8_t>(d, k);
      check_ties<float>(d, k);
    }
}

template <class T>
void check_error_bound(double spread, double offset) {
  using D = dist_t<T>;
  std::mt19937 gen(3);
  for (std::int64_t d : {2, 33, 784, 3000}) {
    const ValueError e = value_error<D>(d);
    auto xs = random_data<T>(static_cast<std::size_t>(40 * d), gen, spread);
    auto cs = random_data<double>(static_cast<std::size_t>(7 * d), gen, spread);
    for (auto& v : cs) v += offset;
    if constexpr (!std::is_integral_v<T>)
      for (auto& v : xs) v = static_cast<T>(v + offset);
    const D scale = std::is_integral_v<T> ? D(1) / D(255) : D(1);
    const auto P = pack_centroids<D>(cs.data(), 7, d);
    std::vector<D> xx(40), out(40 * 7);
    row_norms<T>(xs.data(), 40, d, scale, xx.data());
    std::vector<const T*> rows;
    for (int i = 0; i < 40; ++i) rows.push_back(xs.data() + i * d);
    values<T>(rows.data(), 40, d, scale, xx.data(), P, nullptr, 7, out.data());
    for (int i = 0; i < 40; ++i)
      for (int c = 0; c < 7; ++c) {
        long double exact = 0, nx = 0, nc = 0;
        for (std::int64_t j = 0; j < d; ++j) {
          const long double x = static_cast<D>(xs[static_cast<std::size_t>(i * d + j)]) * scale;  // as the kernel holds x
          const long double m = static_cast<D>(cs[static_cast<std::size_t>(c * d + j)]);
          exact += (x - m) * (x - m);
          nx += x * x;
          nc += m * m;
        }
        const long double s = std::sqrt(nx) + std::sqrt(nc);
        const long double bound = e.rel / 2 * s * s + e.abs;  // the proven bound, without the safety factor 2
        EXPECT_LE(std::fabs(static_cast<long double>(out[static_cast<std::size_t>(i * 7 + c)]) - exact), bound)
            << "d=" << d << " row " << i << " centroid " << c;
      }
  }
}

TEST(ValueError, BoundsTheKernel) {
  check_error_bound<std::uint8_t>(1, 0);
  check_error_bound<float>(1, 0);
  check_error_bound<float>(1e-3, 50);  // large |x|, small differences: cancellation
  check_error_bound<float>(1e-20, 0);  // tiny values, near the subnormal range
  check_error_bound<double>(1, 0);
  check_error_bound<double>(1e-3, 50);
}

// The independent reference for Lloyd's E-step: for each row (as the kernel
// holds it: the stored value times scale, in D) and each centroid (rounded to
// D), the squared distance in long double straight from its definition, and
// the nearest centroid. The kernel's label may differ from it only where two
// centroids are closer than the rounding of the values can tell apart: the
// textbook bound for a length-m dot product, gamma_m (|x| + |c|)^2 with
// gamma_m = m u / (1 - m u) and m = d + 3 (d products and additions, then the
// three terms of |x|^2 - 2 x.c + |c|^2; any summation order is within it).
template <class T>
void check_lloyd_against_reference(const Case<T>& cs, const std::vector<double>& C, const std::int32_t* labels,
                                   const dist_t<T>* dist) {
  using D = dist_t<T>;
  const long double u = std::ldexp(1.0L, -std::numeric_limits<D>::digits);
  const long double m = static_cast<long double>(cs.d + 3);
  const long double gamma = m * u / (1 - m * u);
  std::int64_t agree = 0;
  std::vector<long double> exact(static_cast<std::size_t>(cs.k)), margin(static_cast<std::size_t>(cs.k));
  for (std::int64_t i = 0; i < cs.n; ++i) {
    int best = 0;
    for (int c = 0; c < cs.k; ++c) {
      long double sq = 0, nx = 0, nc = 0;
      for (std::int64_t j = 0; j < cs.d; ++j) {
        const long double x = static_cast<D>(cs.X[static_cast<std::size_t>(i * cs.d + j)]) * cs.scale;
        const long double y = static_cast<D>(C[static_cast<std::size_t>(c * cs.d + j)]);
        sq += (x - y) * (x - y);
        nx += x * x;
        nc += y * y;
      }
      const long double s = std::sqrt(nx) + std::sqrt(nc);
      exact[static_cast<std::size_t>(c)] = sq;
      margin[static_cast<std::size_t>(c)] = gamma * s * s;
      if (sq < exact[static_cast<std::size_t>(best)]) best = c;
    }
    const auto got = static_cast<std::size_t>(labels[i]);
    const auto want = static_cast<std::size_t>(best);
    ASSERT_LT(got, exact.size()) << "row " << i;
    // The kernel's value of its choice is within its margin of the exact one.
    EXPECT_LE(std::fabs(static_cast<long double>(dist[i]) - exact[got]), margin[got]) << "row " << i;
    if (got == want) {
      ++agree;
    } else {
      EXPECT_LE(exact[got] - exact[want], margin[got] + margin[want])
          << "row " << i << ": label " << got << " but centroid " << want << " is clearly nearer";
    }
  }
  // Not vacuous: random data has few near-ties.
  EXPECT_GE(agree * 10, cs.n * 9);
}

// Drives the three E-steps with the same sequence of centroids, which move
// the way Lloyd's do, jump, stand still, coincide, and checks that the labels
// agree bit for bit at every step (and Lloyd's with assign()'s, whose
// distances are checked against the reference).
struct PrunedCase {
  double spread = 1.0;          // of the data and the centroids' moves
  bool expect_savings = true;   // Elkan computes fewer values and reads fewer rows than Lloyd
  bool check_reference = true;  // Lloyd's distances against the long double reference
  bool sparse = false;          // rows with runs of zeros
  // Besides, each value kept with this probability (else 0): rows mostly of zeros, as MNIST's,
  // whose nonzero pairs the integer kernels take (pair_rows.hpp) where the build has them;
  // Hamerly then reads its rows from them where it has no lane form (k > 16), and must have.
  double density = 1.0;
  bool nan_steps = false;       // every fourth step, centroid 1 has a NaN value
  // The pruned E-steps of steps 0-2 and of each step after a jump (many rows change label)
  // Lloyd's (EStep::Bounds::skip); the steps after them start their bounds afresh.
  bool skip_steps = false;
  // The centroids' random moves after Lloyd's means, times spread / (1 + step): small ones
  // let the E-steps keep their centroid distances from the moves rather than recompute them.
  double drift = 0.3;
  bool disturb = true;  // centroid 0 still every other step, jumps, one centroid copying another
  // Every other block run by a second thread with a Scratch of its own, at the same time as
  // the others (as a thread helps another with its blocks: team/shared_blocks.hpp).
  bool two_threads = false;
};
template <class T>
void check_pruned_equals_lloyd(std::int64_t n, std::int64_t d, int k, unsigned seed, PrunedCase pc = {}) {
  const double spread = pc.spread;
  using D = dist_t<T>;
  Case<T> cs(n, d, k, seed, spread);
  std::mt19937 gen(seed + 1);
  if (pc.sparse) {
    // Rows with runs of zeros, as MNIST's margins: chunks of 16 values the kernels skip (each
    // with probability 1/2), and a run of zeros from a random place.
    for (std::int64_t i = 0; i < n; ++i) {
      T* x = cs.X.data() + i * d;
      for (std::int64_t j = 0; j < d; j += 16)
        if (gen() % 2) std::fill(x + j, x + std::min(d, j + 16), T{0});
      const std::int64_t from = static_cast<std::int64_t>(gen() % static_cast<unsigned>(d));
      std::fill(x + from, x + std::min(d, from + 40), T{0});
    }
  }
  if (pc.density < 1) {
    std::uniform_real_distribution<double> keep(0, 1);
    for (T& x : cs.X)
      if (keep(gen) >= pc.density) x = T{0};
  }
  EStep<T> lloyd(Algorithm::lloyd, cs.X.data(), n, d, cs.scale, k);
  EStep<T> hamerly(Algorithm::hamerly, cs.X.data(), n, d, cs.scale, k);
  EStep<T> elkan(Algorithm::elkan, cs.X.data(), n, d, cs.scale, k);
  std::vector<std::int32_t> lab[3], direct(static_cast<std::size_t>(n));
  std::vector<D> dist(static_cast<std::size_t>(n));
  for (auto& l : lab) l.assign(static_cast<std::size_t>(n), 0);
  typename EStep<T>::Scratch helpers[3];  // the second thread's, per algorithm (two_threads)
  auto run_blocks = [&](EStep<T>& e, std::vector<std::int32_t>& labels, typename EStep<T>::Scratch& helper) {
    constexpr std::int64_t kBlock = 50;
    auto blocks = [&](std::int64_t first, std::int64_t step, typename EStep<T>::Scratch* scratch) {
      for (std::int64_t lo = first; lo < n; lo += step)
        scratch ? e.run_block(lo, std::min(n, lo + kBlock), labels.data(), *scratch)
                : e.run_block(lo, std::min(n, lo + kBlock), labels.data());
    };
    if (!pc.two_threads) return blocks(0, kBlock, nullptr);
    std::thread other([&] { blocks(kBlock, 2 * kBlock, &helper); });
    blocks(0, 2 * kBlock, nullptr);
    other.join();
  };
  std::vector<double> C = cs.C;
  std::normal_distribution<double> g(0, 1);
  bool skipped_last = false;
  for (int step = 0; step < 25; ++step) {
    EStep<T>* all[3] = {&lloyd, &hamerly, &elkan};
    // nan_steps: every fourth step, centroid 1 has a NaN value (its values are NaN, which
    // never win), and the next step it is finite again somewhere else.
    const bool with_nan = pc.nan_steps && k > 1 && step % 4 == 2;
    std::vector<double> Cs = C;
    if (with_nan) Cs[static_cast<std::size_t>(d)] = std::numeric_limits<double>::quiet_NaN();
    const bool skip = pc.skip_steps && (step < 3 || step % 5 == 4);
    for (int a = 0; a < 3; ++a) {
      const std::int64_t read_before = all[a]->rows_read() + helpers[a].rows_read;
      all[a]->set_centroids(Cs, skip ? EStep<T>::Bounds::skip : EStep<T>::Bounds::keep);
      run_blocks(*all[a], lab[a], helpers[a]);
      // A Lloyd E-step reads every row, and so does the first to keep bounds after one (it
      // starts them), whatever bounds the E-step kept before.
      if (skip || skipped_last) {
        EXPECT_EQ(all[a]->rows_read() + helpers[a].rows_read - read_before, n) << "algorithm " << a << " step " << step;
      }
    }
    skipped_last = skip;
    assign<T>(cs.X.data(), n, d, cs.scale, pack_centroids<D>(Cs.data(), k, d), nullptr, direct.data(), dist.data());
    ASSERT_EQ(lab[0], direct) << "step " << step;
    if (pc.check_reference && !with_nan) check_lloyd_against_reference(cs, C, direct.data(), dist.data());
    for (int a = 1; a < 3; ++a) ASSERT_EQ(lab[a], lab[0]) << "algorithm " << a << " step " << step;
    // And the bounds behind them hold (a bound a little too tight may leave every label right).
    ASSERT_TRUE(hamerly.bounds_hold(0, n, lab[1].data())) << "hamerly, step " << step;
    ASSERT_TRUE(elkan.bounds_hold(0, n, lab[2].data())) << "elkan, step " << step;
    // Next centroids: Lloyd's means, then some disturbed: centroid 0 stands
    // still every other step, one jumps far, one copies another, the rest
    // drift by an amount that shrinks with the steps.
    std::vector<double> sums(C.size(), 0.0);
    std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto c = static_cast<std::size_t>(lab[0][static_cast<std::size_t>(i)]);
      ++counts[c];
      for (std::int64_t j = 0; j < d; ++j) sums[c * static_cast<std::size_t>(d) + static_cast<std::size_t>(j)] += static_cast<double>(cs.X[static_cast<std::size_t>(i * d + j)]) * cs.scale;
    }
    for (int c = (pc.disturb && step % 2 == 0 ? 1 : 0); c < k; ++c)
      for (std::int64_t j = 0; j < d; ++j) {
        double& v = C[static_cast<std::size_t>(c * d + j)];
        if (counts[static_cast<std::size_t>(c)] > 0) v = sums[static_cast<std::size_t>(c * d + j)] / static_cast<double>(counts[static_cast<std::size_t>(c)]);
        v += g(gen) * pc.drift * spread / (1 + step);
      }
    if (pc.disturb && k > 2 && step % 5 == 3)
      for (std::int64_t j = 0; j < d; ++j) C[static_cast<std::size_t>(2 * d + j)] += 3 * spread * g(gen);
    if (pc.disturb && k > 3 && step % 7 == 4) std::copy_n(C.begin(), d, C.begin() + 3 * d);  // centroid 3 := centroid 0
  }
  // These centroids jump too much for Hamerly's one bound to help much; at
  // worst it computes the own value and then all k.
  // (Counted in the Scratch that ran each block: the EStep's own, and the helper's.)
  std::int64_t evals[3], reads[3];
  for (int a = 0; a < 3; ++a) {
    const EStep<T>* e = a == 0 ? &lloyd : a == 1 ? &hamerly : &elkan;
    evals[a] = e->evaluations() + helpers[a].evaluations;
    reads[a] = e->rows_read() + helpers[a].rows_read;
  }
  EXPECT_LE(evals[1], evals[0] / k * (k + 1));
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    const std::int64_t estimated = hamerly.scratch().estimated + helpers[1].estimated;
    if (pc.density < 1 && k > kLaneRowsMaxK && d >= kIntAssignMinD && int_assign_built()) {
      EXPECT_GT(estimated, 0);
    }
    EXPECT_EQ(lloyd.scratch().estimated + elkan.scratch().estimated, 0);
  }
  // Rows read: Lloyd every row of every E-step; the pruned forms every row of the first one
  // and at most every row of each, and for each row they read one value at least and its own
  // and all k at most.
  EXPECT_EQ(reads[0], n * 25);
  for (int a = 1; a < 3; ++a) {
    EXPECT_GE(reads[a], n);
    EXPECT_LE(reads[a], reads[0]);
    EXPECT_GE(evals[a], reads[a]);
    EXPECT_LE(evals[a], reads[a] * (k + 1));
  }
  if (pc.expect_savings) {
    EXPECT_LT(evals[2], evals[0]);
    EXPECT_LT(reads[2], reads[0]);
  }
}

TEST(PrunedEStep, EqualsLloydBitForBit) {
  check_pruned_equals_lloyd<std::uint8_t>(300, 40, 6, 1);
  check_pruned_equals_lloyd<std::uint8_t>(257, 784, 10, 2);
  // Sparse rows, whose chunks of zeros the kernels skip (d = 300: a partial last chunk).
  check_pruned_equals_lloyd<std::uint8_t>(257, 784, 10, 14, {.sparse = true});
  check_pruned_equals_lloyd<std::uint8_t>(200, 300, 13, 15, {.sparse = true});
  // Mostly zeros, more centroids than a lane form holds (kLaneRowsMaxK: 16 with AVX2, 64 with
  // AVX-512): Hamerly from the integer estimates; k = 24 and 40 take the lanes' two and three
  // vectors of centroids with AVX-512, the estimates with AVX2; k = 70 the estimates on both.
  check_pruned_equals_lloyd<std::uint8_t>(300, 784, 24, 28, {.sparse = true, .density = 0.2});
  check_pruned_equals_lloyd<std::uint8_t>(257, 301, 40, 29, {.sparse = true, .density = 0.25});
  check_pruned_equals_lloyd<std::uint8_t>(257, 301, 70, 31, {.sparse = true, .density = 0.25});
  check_pruned_equals_lloyd<float>(400, 17, 9, 3);
  check_pruned_equals_lloyd<float>(300, 3, 20, 4);
  check_pruned_equals_lloyd<double>(300, 8, 5, 5);
}

TEST(PrunedEStep, ValuesNearOverflowAndUnderflow) {
  // float: |x|^2 near FLT_MAX, where values overflow to infinity or turn NaN
  // (Lloyd's choice is then whatever it is; the pruned forms must make it too);
  // and values deep in the subnormal range.
  // No reference there: the kernel's values overflow or lose everything to
  // underflow by design, so only the agreement of the three E-steps is checked.
  check_pruned_equals_lloyd<float>(200, 4, 6, 8, {.spread = 6e18, .expect_savings = false, .check_reference = false});
  check_pruned_equals_lloyd<float>(200, 4, 6, 9, {.spread = 1e-21, .expect_savings = false, .check_reference = false});
  check_pruned_equals_lloyd<double>(200, 4, 6, 10, {.spread = 1e150, .expect_savings = false, .check_reference = false});
  // Eight centroids and more: the bounds from all k values are formed eight at a time.
  check_pruned_equals_lloyd<float>(200, 4, 19, 11, {.spread = 6e18, .expect_savings = false, .check_reference = false});
  check_pruned_equals_lloyd<float>(200, 4, 19, 12, {.spread = 1e-21, .expect_savings = false, .check_reference = false});
  check_pruned_equals_lloyd<double>(200, 4, 19, 13, {.spread = 1e150, .expect_savings = false, .check_reference = false});
}

TEST(PrunedEStep, ACentroidNaNForAStep) {
  check_pruned_equals_lloyd<float>(400, 17, 9, 16, {.expect_savings = false, .nan_steps = true});
  check_pruned_equals_lloyd<std::uint8_t>(257, 784, 10, 17, {.expect_savings = false, .sparse = true, .nan_steps = true});
}

// Some E-steps Lloyd's (as the solver runs them until the centroids settle), the bounds
// started again after them: the same labels, and bounds that hold.
TEST(PrunedEStep, StepsWithoutBounds) {
  check_pruned_equals_lloyd<std::uint8_t>(257, 784, 10, 18, {.expect_savings = false, .sparse = true, .skip_steps = true});
  check_pruned_equals_lloyd<float>(400, 17, 9, 19, {.expect_savings = false, .skip_steps = true});
  check_pruned_equals_lloyd<double>(300, 8, 5, 20, {.expect_savings = false, .skip_steps = true});
}

// Centroids that settle, moving little: the E-steps bound the distances between their
// centroids from the moves, recomputing a pair once its moves add up.
TEST(PrunedEStep, SmallMoves) {
  check_pruned_equals_lloyd<std::uint8_t>(257, 784, 10, 21, {.expect_savings = false, .sparse = true, .drift = 1e-3, .disturb = false});
  check_pruned_equals_lloyd<float>(400, 17, 9, 22, {.expect_savings = false, .drift = 1e-3, .disturb = false});
  check_pruned_equals_lloyd<double>(300, 8, 5, 23, {.expect_savings = false, .drift = 1e-3, .disturb = false});
}

// Two threads running different blocks of the same E-steps at once, each with its own
// Scratch: the same labels and bounds as one thread.
TEST(PrunedEStep, BlocksOnTwoThreadsAtOnce) {
  check_pruned_equals_lloyd<std::uint8_t>(1000, 784, 10, 24, {.check_reference = false, .sparse = true, .drift = 1e-3, .disturb = false, .two_threads = true});
  check_pruned_equals_lloyd<std::uint8_t>(1000, 784, 10, 25, {.expect_savings = false, .check_reference = false, .sparse = true, .skip_steps = true, .two_threads = true});
  check_pruned_equals_lloyd<std::uint8_t>(600, 784, 70, 30, {.check_reference = false, .sparse = true, .density = 0.2, .drift = 1e-3, .disturb = false, .two_threads = true});
  check_pruned_equals_lloyd<float>(2000, 17, 9, 26, {.check_reference = false, .two_threads = true});
  check_pruned_equals_lloyd<double>(2000, 8, 5, 27, {.check_reference = false, .two_threads = true});
}

// The bound arithmetic's vector forms (AVX-512 or AVX2, whichever this build has) give the
// scalar functions' bits on every input: special values, every magnitude, ragged tails.
TEST(BoundForms, VectorEqualsScalarBitForBit) {
  using L = std::numeric_limits<double>;
  std::vector<double> v = {0.0, -0.0, L::denorm_min(), L::min(), 1e-300, 1e-30, 0.5, 1.0, 2.0, 1e30, 1e300, L::max(),
                           -L::max(), L::infinity(), -L::infinity(), L::quiet_NaN(), -L::quiet_NaN(), -1.0, -1e-300, 3.4e38, 3.5e38};
  std::vector<double> eps;
  for (double e : {0.0, 1e-300, 1e-7, 0.25, 1e10}) eps.insert(eps.end(), v.size(), e);
  {
    const std::vector<double> base = v;
    for (int r = 1; r < 5; ++r) v.insert(v.end(), base.begin(), base.end());
  }
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> exponent(-320, 310), unit(-0.1, 1);
  for (int i = 0; i < 1003; ++i) {  // (1003: not a multiple of the lanes)
    const double x = std::pow(10.0, exponent(gen));
    v.push_back(unit(gen) < 0 ? -x : x);
    eps.push_back(x * std::pow(10.0, exponent(gen) / 40));  // eps near, below and above the value
  }
  ASSERT_EQ(v.size(), eps.size());
  auto bits = [](const std::vector<float>& f) {
    std::vector<std::uint32_t> b(f.size());
    std::memcpy(b.data(), f.data(), f.size() * sizeof(float));
    return b;
  };
  const auto scalar = testing::bound_forms(v, eps, false), vec = testing::bound_forms(v, eps, true);
  EXPECT_EQ(bits(vec.lower), bits(scalar.lower));
  EXPECT_EQ(bits(vec.from_value), bits(scalar.from_value));
  EXPECT_EQ(bits(vec.from_upper), bits(scalar.from_upper));

  // The nearest two of k <= 16 values (one vector), with NaN, inf, ties and k = 1.
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 0.0f, 1.0f};
  for (int trial = 0; trial < 20000; ++trial) {
    const int k = 1 + static_cast<int>(gen() % 16);
    float vals[16];
    for (int c = 0; c < k; ++c)
      vals[c] = gen() % 4 == 0 ? specials[gen() % 4] : static_cast<float>(gen() % 8) * 0.5f;  // (repeats: ties)
    const auto a = testing::nearest_two_form(vals, k, true), b = testing::nearest_two_form(vals, k, false);
    ASSERT_EQ(a.first, b.first) << "k " << k << " trial " << trial;
    ASSERT_EQ(std::memcmp(&a.second, &b.second, sizeof(double)), 0) << "k " << k << " trial " << trial;
  }
}

// The distance between two centroids (or a centroid's norm) as the pruned E-steps bound it:
// the lower bound never above the exact distance (long double, from its definition), the upper
// never below, both within a few parts in 10^5 of it (a bound that gave up, 0 or infinity,
// fails): every length that ends a vector early or late, values far apart and nearly equal,
// subnormal ones, and differences whose float squares overflow (the double sums then).
TEST(CentroidDistance, BoundsWithinRounding) {
  std::mt19937 gen(31);
  std::normal_distribution<float> g(0, 1);
  for (std::int64_t d : {1, 7, 8, 9, 31, 32, 33, 63, 100, 784, 1000}) {
    for (float scale : {1.0f, 1e-3f, 1e15f, 1e19f, 3e37f, 1e-20f, 1e-42f}) {
      for (float closeness : {1.0f, 1e-4f, 0.0f, -1.0f}) {  // b = a + closeness * noise; -1: no b (the norm)
        std::vector<float> a(static_cast<std::size_t>(d)), b(a.size());
        for (std::size_t j = 0; j < a.size(); ++j) {
          a[j] = g(gen) * scale;
          b[j] = a[j] + closeness * g(gen) * scale;
        }
        if (closeness < 0) b.clear();
        long double exact = 0;
        for (std::size_t j = 0; j < a.size(); ++j) {
          const long double t = static_cast<long double>(a[j]) - (b.empty() ? 0.0f : b[j]);
          exact += t * t;
        }
        exact = std::sqrt(exact);
        const auto [low, high] = testing::centroid_distance_bounds(a, b);
        const std::string where = "d " + std::to_string(d) + " scale " + std::to_string(scale) + " closeness " + std::to_string(closeness);
        ASSERT_LE(static_cast<long double>(low), exact) << where;
        ASSERT_GE(static_cast<long double>(high), exact) << where;
        // Tight where the squares are normal floats (subnormal ones lose bits by design).
        if (scale >= 1e-3f && closeness != 0) {
          ASSERT_GE(static_cast<long double>(low), exact * (1 - 1e-5L)) << where;
          ASSERT_LE(static_cast<long double>(high), exact * (1 + 1e-5L)) << where;
        }
      }
    }
  }
}

TEST(PrunedEStep, OneClusterAndDuplicateRows) {
  check_pruned_equals_lloyd<float>(100, 4, 1, 6);
  check_pruned_equals_lloyd<float>(100, 4, 2, 7);
}

// relabel() leaves the sums accumulate() gives for the new labels, from the rows or (uint8)
// from their nonzeros (LaneRows, whose padding entries must change nothing): rows with runs
// of zeros, d below, at and past a multiple of 16 and of 64.
template <class T>
void relabel_equals_a_recount(std::int64_t d, int shift, bool by_nonzeros = false) {
  std::mt19937 gen(9);
  const std::int64_t n = 300;
  const int k = 5;
  auto X = random_data<T>(static_cast<std::size_t>(n * d), gen);
  if constexpr (std::is_integral_v<T>)
    for (std::size_t j = 0; j < X.size(); ++j)
      if (j % 37 < 20) X[j] = 0;
  std::vector<std::int32_t> from(static_cast<std::size_t>(n)), to(static_cast<std::size_t>(n));
  std::uniform_int_distribution<int> u(0, k - 1);
  for (auto& l : from) l = u(gen);
  for (std::size_t i = 0; i < to.size(); ++i) to[i] = i % 3 ? from[i] : u(gen);
  std::vector<std::int64_t> s1(static_cast<std::size_t>(k * d)), c1(static_cast<std::size_t>(k)), s2 = s1, c2 = c1;
  accumulate<T>(X.data(), n, d, shift, from.data(), s1.data(), c1.data());
  // uint8: also from the rows' nonzeros (LaneRows), as the pruned E-steps hold them.
  LaneRows lanes;
  if constexpr (std::is_same_v<T, std::uint8_t>) lanes.append(X.data(), n, d);
  const LaneRows* by_lanes = by_nonzeros ? &lanes : nullptr;
  const std::int64_t moved =
      relabel<T>(X.data(), n, d, shift, from.data(), to.data(), s1.data(), c1.data(), by_lanes, 0);
  accumulate<T>(X.data(), n, d, shift, to.data(), s2.data(), c2.data());
  EXPECT_EQ(s1, s2) << "d " << d << (by_nonzeros ? ", from the nonzeros" : "");
  EXPECT_EQ(c1, c2) << "d " << d;
  std::int64_t changed = 0;  // the rows relabel() reports as moved (Result::moved sums them)
  for (std::size_t i = 0; i < to.size(); ++i) changed += from[i] != to[i];
  EXPECT_GT(changed, 0);
  EXPECT_EQ(moved, changed);
}

TEST(Relabel, EqualsARecount) {
  for (int shift : {0, 20}) relabel_equals_a_recount<float>(13, shift);
  for (std::int64_t d : {1, 5, 13, 64, 100, 131}) {
    relabel_equals_a_recount<std::uint8_t>(d, 0);
    relabel_equals_a_recount<std::uint8_t>(d, 0, true);
  }
}

// ByteSums (the solver's sums of uint8 rows an E-step read whole) leaves the int64 sums that
// accumulate() gives: a first labelling added block by block, then moves to a second one and
// back, onto sums that already hold values; every d that ends a vector early or late.
TEST(ByteSums, EqualsARecount) {
  std::mt19937 gen(11);
  const std::int64_t n = 700, block = 256;
  const int k = 5;
  for (std::int64_t d : {1, 5, 13, 16, 64, 100, 131, 784}) {
    auto X = random_data<std::uint8_t>(static_cast<std::size_t>(n * d), gen);
    for (std::size_t j = 0; j < X.size(); ++j)
      if (j % 37 < 20) X[j] = 0;
    std::vector<std::int32_t> first(static_cast<std::size_t>(n)), second(first.size());
    std::uniform_int_distribution<int> u(0, k - 1);
    for (auto& l : first) l = u(gen);
    for (std::size_t i = 0; i < second.size(); ++i) second[i] = i % 3 ? first[i] : u(gen);
    const std::vector<std::int64_t> start(static_cast<std::size_t>(k * d), 1000);  // sums held before
    std::vector<std::int64_t> sums = start, counts(static_cast<std::size_t>(k));
    // The sums and counts a recount of `labels` gives, onto `start`.
    auto expect_recount = [&](const std::vector<std::int32_t>& labels, const char* what) {
      std::vector<std::int64_t> want = start, want_counts(static_cast<std::size_t>(k));
      accumulate<std::uint8_t>(X.data(), n, d, 0, labels.data(), want.data(), want_counts.data());
      EXPECT_EQ(sums, want) << "d " << d << ", " << what;
      EXPECT_EQ(counts, want_counts) << "d " << d << ", " << what;
    };
    ByteSums bytes(k, d);
    for (std::int64_t r = 0; r < n; r += block)
      bytes.add(X.data() + r * d, std::min(block, n - r), first.data() + r, counts.data(), sums.data());
    bytes.flush(sums.data());
    expect_recount(first, "added");
    std::int64_t moved = 0, changed = 0;
    for (std::int64_t r = 0; r < n; r += block)
      moved += bytes.move(X.data() + r * d, std::min(block, n - r), first.data() + r, second.data() + r, counts.data(),
                          sums.data());
    bytes.flush(sums.data());
    expect_recount(second, "moved");
    for (std::size_t i = 0; i < first.size(); ++i) changed += first[i] != second[i];
    EXPECT_GT(changed, 0);
    EXPECT_EQ(moved, changed);
    // And back, a row a call: calls with no row that moves and with one (fewer than move()
    // asks for ahead).
    moved = 0;
    for (std::int64_t r = 0; r < n; ++r)
      moved += bytes.move(X.data() + r * d, 1, second.data() + r, first.data() + r, counts.data(), sums.data());
    bytes.flush(sums.data());
    expect_recount(first, "moved back");
    EXPECT_EQ(moved, changed);
  }
}

// Sums past int32 in one call or in many: 2^24 + 3 rows of 255 (d = 1) added to one cluster
// (255 (2^24 + 3) > 2^31), then all moved to another: the int32 partial sums must be flushed
// on the way (a wrapped partial sum would leave the int64 ones wrong).
TEST(ByteSums, FlushesBeforeTheInt32SumsOverflow) {
  const std::int64_t n = (std::int64_t{1} << 24) + 3;
  const std::vector<std::uint8_t> X(static_cast<std::size_t>(n), 255);
  const std::vector<std::int32_t> zero(static_cast<std::size_t>(n), 0), one(static_cast<std::size_t>(n), 1);
  for (const std::int64_t block : {n, std::int64_t{1} << 20}) {
    std::vector<std::int64_t> sums(2), counts(2);
    ByteSums bytes(2, 1);
    for (std::int64_t r = 0; r < n; r += block)
      bytes.add(X.data() + r, std::min(block, n - r), zero.data() + r, counts.data(), sums.data());
    bytes.flush(sums.data());
    EXPECT_EQ(sums, (std::vector<std::int64_t>{255 * n, 0})) << "blocks of " << block;
    EXPECT_EQ(counts, (std::vector<std::int64_t>{n, 0}));
    for (std::int64_t r = 0; r < n; r += block)
      bytes.move(X.data() + r, std::min(block, n - r), zero.data() + r, one.data() + r, counts.data(), sums.data());
    bytes.flush(sums.data());
    EXPECT_EQ(sums, (std::vector<std::int64_t>{0, 255 * n})) << "blocks of " << block;
    EXPECT_EQ(counts, (std::vector<std::int64_t>{0, n}));
  }
}

}  // namespace
}  // namespace hpcb::kmeans
