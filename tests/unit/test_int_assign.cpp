// The integer E-step for uint8 rows (int_assign.hpp) against the float kernel's assign():
// the same labels, bit for bit, on rows far from and near their decision boundaries, on
// exact ties (which it must leave to the float values: ties go to the lower index), for
// every tile shape (row pairs and a last row, groups of 12 centroids and a part, d with
// and without a partial chunk) and both scales of uint8 data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <limits>
#include <random>
#include <vector>

#include "kmeans/int_assign.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/pair_rows.hpp"

namespace hpcb::kmeans {
namespace {

struct Rows {
  std::int64_t n, d;
  float scale;
  std::vector<std::uint8_t> X;
  std::vector<float> xx;
  std::vector<std::uint32_t> sums;
};

// Sparse like MNIST (most values 0, the rest anywhere in 0..255), or dense.
Rows random_rows(std::int64_t n, std::int64_t d, float scale, std::mt19937& gen, bool dense = false) {
  Rows r{n, d, scale, std::vector<std::uint8_t>(static_cast<std::size_t>(n * d)), {}, {}};
  std::uniform_int_distribution<int> byte(0, 255), coin(0, 3);
  for (auto& x : r.X) x = dense || coin(gen) == 0 ? static_cast<std::uint8_t>(byte(gen)) : 0;
  r.xx.resize(static_cast<std::size_t>(n));
  r.sums.resize(static_cast<std::size_t>(n));
  row_norms<std::uint8_t>(r.X.data(), n, d, scale, r.xx.data());
  row_sums(r.X.data(), n, d, r.sums.data());
  return r;
}

// Whether this build has the integer E-step. Where it has not (neither AVX-512 VNNI nor AVX2:
// TARGET=x86-64, say), what must hold is that it stays off:
// the quantizer gives nothing usable, so the solver runs the float kernel (tested elsewhere).
// (Not a skip: CI counts skips as failures, and a C++ skip cannot say it is expected.)
bool integer_path_built() {
  if (int_assign_built()) return true;
  std::vector<double> C(2 * 300, 0.5);
  EXPECT_FALSE(quantize_centroids(C.data(), 2, 300, 1.0f).usable());
  return false;
}

// Labels of assign() and of assign_uint8() (with and without the precomputed sums, and where
// the build has the pair kernel, from the rows' nonzero pairs: row 0 as one block, rows [1, n)
// as another, at the PairRows' row 1); returns how many rows differ (0 expected) after checking
// the integer path was taken.
int compare(const Rows& r, const std::vector<double>& C, int k) {
  const auto P = pack_centroids<float>(C.data(), k, r.d);
  const auto Q = quantize_centroids(C.data(), k, r.d, r.scale, ForPairs::yes);
  EXPECT_TRUE(Q.usable());
  if (!Q.usable()) return -1;
  EXPECT_EQ(Q.pairs.usable(), pair_rows_built());
  const auto n = static_cast<std::size_t>(r.n);
  std::vector<std::int32_t> want(n), got(n), got2(n), got3(n);
  std::vector<float> dist(n);
  assign<std::uint8_t>(r.X.data(), r.n, r.d, r.scale, P, r.xx.data(), want.data(), dist.data());
  assign_uint8(r.X.data(), r.n, r.d, P, Q, r.xx.data(), r.sums.data(), nullptr, {}, got.data());
  assign_uint8(r.X.data(), r.n, r.d, P, Q, r.xx.data(), nullptr, nullptr, {}, got2.data());
  if (Q.pairs.usable()) {
    PairRows pairs;
    pairs.append(r.X.data(), r.n, r.d);
    assign_uint8(r.X.data(), 1, r.d, P, Q, r.xx.data(), r.sums.data(), nullptr, PairBlock{&pairs, 0}, got3.data());
    assign_uint8(r.X.data() + r.d, r.n - 1, r.d, P, Q, r.xx.data() + 1, r.sums.data() + 1, nullptr, PairBlock{&pairs, 1},
                 got3.data() + 1);
  } else {
    got3 = got;
  }
  int differ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    differ += want[i] != got[i] || want[i] != got2[i] || want[i] != got3[i];
    EXPECT_EQ(want[i], got[i]) << "row " << i;
    EXPECT_EQ(want[i], got3[i]) << "row " << i << ", by pairs";
  }
  return differ;
}

// Centroids: rows of X (scaled), each moved by up to `jitter` (scaled units) per value.
std::vector<double> centroids_near_rows(const Rows& r, int k, double jitter, std::mt19937& gen) {
  std::uniform_real_distribution<double> u(-jitter, jitter);
  std::vector<double> C(static_cast<std::size_t>(k * r.d));
  for (int c = 0; c < k; ++c)
    for (std::int64_t j = 0; j < r.d; ++j)
      C[static_cast<std::size_t>(c * r.d + j)] =
          r.X[static_cast<std::size_t>((c * 3 % r.n) * r.d + j)] * static_cast<double>(r.scale) + u(gen);
  return C;
}

TEST(IntAssign, LabelsAreTheFloatKernels) {
  if (!integer_path_built()) return;
  std::mt19937 gen(7);
  for (float scale : {1.0f / 255, 1.0f})
    for (std::int64_t d : {256, 300, 784, 4500})  // 4500: more than 64 chunks in both passes
      for (int k : {1, 5, 12, 13, 25, 70}) {  // 70: above kIntBytesMaxK, the int16 pass alone
        SCOPED_TRACE("scale=" + std::to_string(scale) + " d=" + std::to_string(d) + " k=" + std::to_string(k));
        const Rows r = random_rows(41, d, scale, gen);  // 20 row pairs and a last row
        EXPECT_EQ(compare(r, centroids_near_rows(r, k, 0.3 * 255 * scale, gen), k), 0);
      }
}

// The estimates Hamerly takes past 16 centroids (dense_estimates(), and pair_estimates() where
// the build has the pair kernel): every row's estimate of every centroid's exact squared
// distance (long double, from the float row and centroid as the kernel holds them) within the
// bound it states, which is no wider than a few margins; and the label it settles the float
// kernel's. The two take the same integers, so they give the same estimates, bit for bit.
// Centroids near the rows, and pairs of them a hair apart (the margin must leave those rows
// unsettled, or settle them right); rows whose chunks of zeros the chunk kernel skips.
TEST(IntAssign, EstimatesBoundTheExactDistances) {
  if (!integer_path_built()) return;
  std::mt19937 gen(23);
  for (float scale : {1.0f / 255, 1.0f})
    for (std::int64_t d : {256, 301, 784})
      for (int k : {1, 17, 40}) {
        SCOPED_TRACE("scale=" + std::to_string(scale) + " d=" + std::to_string(d) + " k=" + std::to_string(k));
        Rows r = random_rows(61, d, scale, gen);
        for (std::int64_t i = 0; i < r.n; i += 3)  // every third row zero in its first half
          std::fill_n(r.X.begin() + i * d, d / 2, std::uint8_t{0});
        row_norms<std::uint8_t>(r.X.data(), r.n, d, scale, r.xx.data());
        row_sums(r.X.data(), r.n, d, r.sums.data());
        std::vector<std::uint64_t> live(static_cast<std::size_t>(r.n));
        row_chunk_masks(r.X.data(), r.n, d, live.data());
        auto C = centroids_near_rows(r, k, 0.3 * 255 * scale, gen);
        for (int c = 0; c + 1 < k; c += 4)  // every fourth centroid, and one a hair from it
          for (std::int64_t j = 0; j < d; ++j)
            C[static_cast<std::size_t>((c + 1) * d + j)] = C[static_cast<std::size_t>(c * d + j)] + 1e-6 * scale;
        const auto Q = quantize_centroids(C.data(), k, d, r.scale, ForPairs::yes);
        ASSERT_TRUE(Q.usable());
        ASSERT_EQ(Q.pairs.usable(), pair_rows_built());
        std::vector<std::int64_t> rows;
        for (std::int64_t i = r.n - 1; i >= 0; i -= 2) rows.push_back(i);  // scattered, out of order
        const auto n = static_cast<std::int64_t>(rows.size());
        RowEstimates est;
        dense_estimates(r.X.data(), rows.data(), n, d, Q, r.xx.data(), r.sums.data(), live.data(), est);
        if (Q.pairs.usable()) {
          PairRows pairs;
          pairs.append(r.X.data(), r.n, d);
          RowEstimates by_pairs;
          pair_estimates(pairs, rows.data(), n, d, Q, r.xx.data(), r.sums.data(), by_pairs);
          EXPECT_EQ(by_pairs.values, est.values);
          EXPECT_EQ(by_pairs.error, est.error);
          EXPECT_EQ(by_pairs.label, est.label);
        }
        const auto P = pack_centroids<float>(C.data(), k, d);
        std::vector<std::int32_t> want(static_cast<std::size_t>(r.n));
        std::vector<float> dist(static_cast<std::size_t>(r.n));
        assign<std::uint8_t>(r.X.data(), r.n, d, r.scale, P, r.xx.data(), want.data(), dist.data());
        int settled = 0;
        for (std::size_t t = 0; t < rows.size(); ++t) {
          const std::int64_t i = rows[t];
          if (est.label[t] >= 0) {
            ++settled;
            EXPECT_EQ(est.label[t], want[static_cast<std::size_t>(i)]) << "row " << i;
          }
          EXPECT_GT(est.error[t], 0);
          for (int c = 0; c < k; ++c) {
            long double exact = 0;
            for (std::int64_t j = 0; j < d; ++j) {
              const long double x = static_cast<float>(static_cast<float>(r.X[static_cast<std::size_t>(i * d + j)]) * r.scale);
              const long double t2 = x - static_cast<float>(C[static_cast<std::size_t>(c * d + j)]);
              exact += t2 * t2;
            }
            const long double v = est.values[t * static_cast<std::size_t>(k) + static_cast<std::size_t>(c)];
            ASSERT_LE(std::fabs(v - exact), static_cast<long double>(est.error[t])) << "row " << i << " centroid " << c;
          }
        }
        EXPECT_GT(settled, 0);
      }
}

// Pairs of centroids that differ by `gap` in every value: the rows' two values differ by
// about gap times the row's sum, from far below the margin (the float values decide) to far
// above it (the integer sums do); every row must get the float kernel's label. Dense rows
// make the centroids' rounding to int16 the largest term of the margin.
TEST(IntAssign, NearTiesFollowTheFloatValues) {
  if (!integer_path_built()) return;
  std::mt19937 gen(11);
  const std::int64_t d = 784;
  for (bool dense : {false, true})
    for (float scale : {1.0f / 255, 1.0f}) {
      const Rows r = random_rows(200, d, scale, gen, dense);
      for (double gap : {1e-9, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2}) {
        SCOPED_TRACE("dense=" + std::to_string(dense) + " scale=" + std::to_string(scale) + " gap=" + std::to_string(gap));
        const int k = 8;
        auto C = centroids_near_rows(r, k, 0.1 * 255 * scale, gen);
        for (int c = 0; c + 1 < k; c += 2)
          for (std::int64_t j = 0; j < d; ++j)
            C[static_cast<std::size_t>((c + 1) * d + j)] = C[static_cast<std::size_t>(c * d + j)] + gap * 255 * scale;
        EXPECT_EQ(compare(r, C, k), 0);
      }
    }
}

// The centroids' rounding at its worst, for the int8 pass and for the int16 one: every value
// of centroid 0 just below a rounding boundary of q (rounded down by 0.49 steps) and of
// centroid 1 just above it (up by 0.49), so the integer sums put centroid 1 nearer than it is
// by about a step times sum_j x_j, far more than the float kernel's own error. The margins must
// leave these rows to the next pass (a margin without the rounding term certifies the integer
// order, and fails here).
TEST(IntAssign, RoundingOfTheCentroidsIsInTheMargin) {
  if (!integer_path_built()) return;
  const std::int64_t d = 784;
  const float scale = 1.0f;
  const int k = 2;
  std::mt19937 gen(17);
  Rows r = random_rows(40, d, scale, gen, true);
  for (std::int64_t i = 0; i < r.n; ++i)  // rows of one value each, 40 to 235
    std::fill_n(r.X.begin() + i * d, d, static_cast<std::uint8_t>(40 + 5 * i));
  row_norms<std::uint8_t>(r.X.data(), r.n, d, scale, r.xx.data());
  row_sums(r.X.data(), r.n, d, r.sums.data());
  // Values from 160 to 240 (the first two of every centroid), the rest near 200: the int16
  // pass rounds in steps of 1/32 (shift 5); the int8 grid spans the range in 252 steps of
  // 80/252, centred on it (q + offset8 = round(factor8 c)), as checked below.
  std::vector<double> C(static_cast<std::size_t>(k * d), 200.0);
  for (int c = 0; c < k; ++c) {
    C[static_cast<std::size_t>(c * d)] = 160;
    C[static_cast<std::size_t>(c * d + 1)] = 240;
  }
  const double factor8 = quantize_centroids(C.data(), k, d, scale).factor8;
  std::vector<double> grids{1.0 / 32};  // the int16 pass's step
  if (int8_pass_built()) {
    ASSERT_EQ(factor8, 252.0 / 80);
    grids.push_back(1 / factor8);
  }
  for (const double step : grids) {
    SCOPED_TRACE("step=" + std::to_string(step));
    for (std::int64_t j = 2; j < d; ++j) {
      const double steps = std::round(200 / step) + static_cast<double>(j % 7);
      C[static_cast<std::size_t>(j)] = (steps + 0.49) * step;
      C[static_cast<std::size_t>(d + j)] = (steps + 0.51) * step;
    }
    const auto Q = quantize_centroids(C.data(), k, d, scale);
    ASSERT_EQ(Q.shift, 5);
    ASSERT_EQ(Q.bytes_usable(), int8_pass_built());
    ASSERT_EQ(Q.factor8, factor8);
    EXPECT_EQ(compare(r, C, k), 0);
  }
}

// The int8 grid spans the centroids' values, centred on them, wherever they lie: negative
// values (an initial centroid file may hold any), one value for all (no span: the finest grid
// the offset allows), all zero. q stays in [-127, 127] and the labels are the float kernel's.
TEST(IntAssign, Int8GridFollowsTheValuesRange) {
  if (!integer_path_built()) return;
  std::mt19937 gen(19);
  const std::int64_t d = 300;
  const Rows r = random_rows(41, d, 1.0f, gen);
  for (const auto& [lo, hi] : {std::pair{-3.0, 250.0}, std::pair{-250.0, -3.0}, std::pair{7.0, 7.0}, std::pair{0.0, 0.0}}) {
    SCOPED_TRACE("range " + std::to_string(lo) + ".." + std::to_string(hi));
    const int k = 5;
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<double> C(static_cast<std::size_t>(k * d));
    for (auto& c : C) c = u(gen);
    C[0] = lo;
    C[1] = hi;
    const auto Q = quantize_centroids(C.data(), k, d, 1.0f);
    ASSERT_EQ(Q.bytes_usable(), int8_pass_built());  // AVX2: the int16 pass alone, same labels
    int qmin = 0, qmax = 0;
    for (std::int8_t q : Q.values8) {
      qmin = std::min<int>(qmin, q);
      qmax = std::max<int>(qmax, q);
    }
    EXPECT_GE(qmin, -127);
    if (hi > lo && int8_pass_built()) {
      EXPECT_GE(qmax - qmin, 250);  // the whole grid used
    }
    EXPECT_EQ(compare(r, C, k), 0);
  }
}

// Exact ties (every centroid twice) and rows equal to a centroid: the float values decide,
// and they send each row to the lower index.
TEST(IntAssign, TiesGoToTheLowerIndex) {
  if (!integer_path_built()) return;
  std::mt19937 gen(13);
  const std::int64_t d = 300;
  const float scale = 1.0f;
  const Rows r = random_rows(31, d, scale, gen);
  const int k = 14;  // a whole group of 12 and a part: the twins 11 and 12 straddle them
  std::vector<double> C(static_cast<std::size_t>(k * d));
  for (int c = 0; c < k; ++c)
    for (std::int64_t j = 0; j < d; ++j)  // centroid c is row (c + 1) / 2: 2t - 1 and 2t are twins
      C[static_cast<std::size_t>(c * d + j)] = r.X[static_cast<std::size_t>(((c + 1) / 2) * d + j)];
  const auto P = pack_centroids<float>(C.data(), k, d);
  const auto Q = quantize_centroids(C.data(), k, d, scale);
  ASSERT_TRUE(Q.usable());
  std::vector<std::int32_t> got(static_cast<std::size_t>(r.n)), want(got.size());
  std::vector<float> dist(got.size());
  assign_uint8(r.X.data(), r.n, d, P, Q, r.xx.data(), r.sums.data(), nullptr, {}, got.data());
  assign<std::uint8_t>(r.X.data(), r.n, d, scale, P, r.xx.data(), want.data(), dist.data());
  int odd = 0;
  for (std::int64_t i = 0; i < r.n; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)], want[static_cast<std::size_t>(i)]) << "row " << i;
    odd += got[static_cast<std::size_t>(i)] % 2;
  }
  // Centroids 0 and 13 stand alone; the lower of two twins (an odd index) wins every row
  // nearest a pair (the tie was really there).
  EXPECT_EQ(got[1], 1);   // row 1 is centroids 1 and 2
  EXPECT_EQ(got[6], 11);  // row 6 is centroids 11 and 12, across the groups
  EXPECT_GT(odd, 0);
}

// With the rows' masks of nonzero chunks (row_chunk_masks(), as the solver passes them for
// MNIST-like rows): the chunks it skips hold only zeros, whichever chunks those are (the
// first, the last partial one, runs in between), so the labels stay the float kernel's.
TEST(IntAssign, SkippedChunksChangeNoLabel) {
  if (!integer_path_built()) return;
  std::mt19937 gen(17);
  std::bernoulli_distribution blank(0.5);
  for (std::int64_t d : {300, 784, 1000, 1024})  // partial last chunks of 12, 16 and 8 values; none
    for (int k : {5, 10, 13}) {
      SCOPED_TRACE("d=" + std::to_string(d) + " k=" + std::to_string(k));
      Rows r = random_rows(37, d, 1.0f / 255, gen, true);
      for (std::int64_t i = 0; i < r.n; ++i)  // each 16-value chunk of each row blank or not
        for (std::int64_t j0 = 0; j0 < d; j0 += 16)
          if (blank(gen)) std::fill_n(r.X.begin() + i * d + j0, std::min<std::int64_t>(16, d - j0), 0);
      row_norms<std::uint8_t>(r.X.data(), r.n, d, r.scale, r.xx.data());
      row_sums(r.X.data(), r.n, d, r.sums.data());
      std::vector<std::uint64_t> masks(static_cast<std::size_t>(r.n));
      row_chunk_masks(r.X.data(), r.n, d, masks.data());
      const std::vector<double> C = centroids_near_rows(r, k, 0.3, gen);
      const auto P = pack_centroids<float>(C.data(), k, d);
      const auto Q = quantize_centroids(C.data(), k, d, r.scale);
      ASSERT_TRUE(Q.usable());
      std::vector<std::int32_t> got(static_cast<std::size_t>(r.n)), want(got.size());
      std::vector<float> dist(got.size());
      assign<std::uint8_t>(r.X.data(), r.n, d, r.scale, P, r.xx.data(), want.data(), dist.data());
      assign_uint8(r.X.data(), r.n, d, P, Q, r.xx.data(), r.sums.data(), masks.data(), {}, got.data());
      EXPECT_EQ(got, want);
    }
}

TEST(IntAssign, NotUsableWhereTheBoundCouldFail) {
  if (!integer_path_built()) return;
  std::vector<double> C(2 * 300, 0.5);
  EXPECT_TRUE(quantize_centroids(C.data(), 2, 300, 1.0f).usable());
  C[7] = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(quantize_centroids(C.data(), 2, 300, 1.0f).usable());
  C[7] = 1e300;  // finite in double, infinite as the kernel's float
  EXPECT_FALSE(quantize_centroids(C.data(), 2, 300, 1.0f).usable());
  C[7] = 0.5;
  EXPECT_FALSE(quantize_centroids(C.data(), 2, 300, 1e-40f).usable());  // a subnormal scale
  EXPECT_FALSE(quantize_centroids(C.data(), 2, 300, 1e30f).usable());   // values near float overflow
}

}  // namespace
}  // namespace hpcb::kmeans
