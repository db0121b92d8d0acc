// LaneRows::values() against values(): the same bits for every (row, centroid), whatever the
// rows' zeros, d and k, and whichever rows are listed.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kmeans/estep.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/lane_rows.hpp"

namespace hpcb::kmeans {
namespace {

// n rows of d bytes: row 0 all zeros, row 1 all 255, the rest with a share `density` of
// nonzero bytes, in runs (as strokes are in images), anywhere in [1, 255].
std::vector<std::uint8_t> sparse_rows(std::int64_t n, std::int64_t d, double density, std::mt19937& g) {
  std::vector<std::uint8_t> X(static_cast<std::size_t>(n * d), 0);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> byte(1, 255);
  for (std::int64_t j = 0; j < d; ++j) X[static_cast<std::size_t>(d + j)] = 255;
  for (std::int64_t i = 2; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j)
      if (u(g) < density || (j > 0 && X[static_cast<std::size_t>(i * d + j - 1)] && u(g) < 0.5))
        X[static_cast<std::size_t>(i * d + j)] = static_cast<std::uint8_t>(byte(g));
  return X;
}

void expect_values_of_the_kernel(std::int64_t d, int k, float scale, double density) {
  SCOPED_TRACE("d = " + std::to_string(d) + ", k = " + std::to_string(k) + ", scale " + std::to_string(scale));
  std::mt19937 g(static_cast<unsigned>(d * 131 + k));
  const std::int64_t n = 40;
  const std::vector<std::uint8_t> X = sparse_rows(n, d, density, g);
  // Centroids of mixed signs and magnitudes, so that the products round.
  std::normal_distribution<double> normal(0.3, 0.7);
  std::vector<double> C(static_cast<std::size_t>(k * d));
  for (double& c : C) c = normal(g) * (scale == 1.0f ? 100.0 : 1.0);
  const PackedCentroids<float> P = pack_centroids<float>(C.data(), k, d, ColumnForm::always);
  std::vector<float> xx(static_cast<std::size_t>(n));
  row_norms<std::uint8_t>(X.data(), n, d, scale, xx.data());

  LaneRows lanes;  // in two blocks, as the solver's blocks come
  lanes.append(X.data(), n / 3, d);
  lanes.append(X.data() + n / 3 * d, n - n / 3, d);
  ASSERT_EQ(lanes.size(), n);

  // Every other row, backwards: the rows listed need not be in order or adjacent.
  std::vector<std::int64_t> rows;
  for (std::int64_t i = n - 1; i >= 0; i -= 2) rows.push_back(i);
  rows.push_back(0);
  rows.push_back(1);
  const auto m = static_cast<std::int64_t>(rows.size());
  std::vector<const std::uint8_t*> ptrs;
  std::vector<float> xxs;
  for (std::int64_t i : rows) {
    ptrs.push_back(X.data() + i * d);
    xxs.push_back(xx[static_cast<std::size_t>(i)]);
  }
  // got: m k values, then 16 guard floats values() must leave alone (it stores a row's values
  // as whole vectors where they end within the m k).
  constexpr std::size_t kGuard = 16;
  std::vector<float> want(static_cast<std::size_t>(m * k)), got(static_cast<std::size_t>(m * k) + kGuard, -1.0f);
  values<std::uint8_t>(ptrs.data(), m, d, scale, xxs.data(), P, nullptr, k, want.data());
  lanes.values(rows.data(), m, scale, xx.data(), P, got.data());
  for (std::size_t e = 0; e < kGuard; ++e) EXPECT_EQ(got[static_cast<std::size_t>(m * k) + e], -1.0f) << "past the end: " << e;
  for (std::int64_t r = 0; r < m; ++r)
    for (int c = 0; c < k; ++c) {
      const auto t = static_cast<std::size_t>(r * k + c);
      EXPECT_EQ(std::memcmp(&want[t], &got[t], sizeof(float)), 0)
          << "row " << rows[static_cast<std::size_t>(r)] << ", centroid " << c << ": " << got[t] << " against "
          << want[t];
    }
}

// Whether this build has the lane form. Where it has not (no AVX-512: the sanitizer builds),
// what must hold is that the E-step never takes it. (Not a skip: CI counts skips as failures,
// and a C++ skip cannot say it is expected.)
bool lane_form_built() {
  if (lane_rows_built()) return true;
  std::mt19937 g(5);
  const std::vector<std::uint8_t> X = sparse_rows(50, 784, 0.05, g);
  const EStep<std::uint8_t> e(Algorithm::hamerly, X.data(), 50, 784, 1.0f / 255.0f, 10);
  EXPECT_EQ(e.lane_rows(), nullptr);
  return false;
}

TEST(LaneRows, ValuesBitForBitThoseOfTheKernel) {
  if (!lane_form_built()) return;
  for (std::int64_t d : {1, 5, 15, 16, 17, 100, 131, 784, 1000})
    for (int k : {1, 3, 10, 16, 17, 24, 32, 33, 48, 49, 64}) {  // past 16: two to four vectors of centroids (AVX-512)
      if (k > kLaneRowsMaxK) continue;
      expect_values_of_the_kernel(d, k, 1.0f / 255.0f, 0.15);
      expect_values_of_the_kernel(d, k, 1.0f, 0.5);
    }
}

// The pruned E-steps take the form for sparse uint8 rows (where it is built), never for
// Lloyd, nor for rows whose nonzeros would cost more multiply-adds than the tiles.
TEST(LaneRows, TakenByThePrunedEStepsOnSparseRows) {
  std::mt19937 g(6);
  const std::int64_t n = 50, d = 784;
  const std::vector<std::uint8_t> sparse = sparse_rows(n, d, 0.05, g);
  std::vector<std::uint8_t> dense(static_cast<std::size_t>(n * d));
  for (auto& x : dense) x = static_cast<std::uint8_t>(1 + g() % 255);
  const float scale = 1.0f / 255.0f;
  for (Algorithm a : {Algorithm::hamerly, Algorithm::elkan}) {
    EXPECT_EQ(EStep<std::uint8_t>(a, sparse.data(), n, d, scale, 10).lane_rows() != nullptr, lane_rows_built());
    EXPECT_EQ(EStep<std::uint8_t>(a, sparse.data(), n, d, scale, kLaneRowsMaxK).lane_rows() != nullptr, lane_rows_built());
    EXPECT_EQ(EStep<std::uint8_t>(a, sparse.data(), n, d, scale, kLaneRowsMaxK + 1).lane_rows(), nullptr);
    EXPECT_EQ(EStep<std::uint8_t>(a, dense.data(), n, d, scale, 10).lane_rows(), nullptr);
  }
  EXPECT_EQ(EStep<std::uint8_t>(Algorithm::lloyd, sparse.data(), n, d, scale, 10).lane_rows(), nullptr);

  // Rows prepared by the caller: block by block in order, the form is built; a block out of
  // order drops it (values() serves alone).
  EStep<std::uint8_t> in_order(Algorithm::hamerly, sparse.data(), n, d, scale, 10, EStep<std::uint8_t>::RowPass::by_caller);
  in_order.prepare_rows(0, 20);
  in_order.prepare_rows(20, n);
  EXPECT_EQ(in_order.lane_rows() != nullptr, lane_rows_built());
  EStep<std::uint8_t> out_of_order(Algorithm::hamerly, sparse.data(), n, d, scale, 10,
                                   EStep<std::uint8_t>::RowPass::by_caller);
  out_of_order.prepare_rows(20, n);
  out_of_order.prepare_rows(0, 20);
  EXPECT_EQ(out_of_order.lane_rows(), nullptr);
}

TEST(LaneRows, HoldsTheNonzerosRoundByRound) {
  // One row, d = 40 (chunks of 16: 0-15, 16-31, 32-39): lane 3 holds x[3] and x[35], lane 4
  // x[20]; two rounds of sixteen (lane 3's count), 32 multiply-adds.
  std::vector<std::uint8_t> x(40, 0);
  x[3] = 7;
  x[35] = 9;
  x[20] = 1;
  LaneRows lanes;
  lanes.append(x.data(), 1, 40);
  EXPECT_EQ(lanes.work(), 32);
  lanes.append(std::vector<std::uint8_t>(40, 0).data(), 1, 40);  // a row of zeros: no round
  EXPECT_EQ(lanes.work(), 32);
  EXPECT_EQ(lanes.size(), 2);
}

}  // namespace
}  // namespace hpcb::kmeans
