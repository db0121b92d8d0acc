// The minimum-cost assignment behind the k-means accuracy, against brute force
// over every one-to-one mapping and against optima known by construction.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "kmeans/metrics.hpp"

namespace hpcb::kmeans {
namespace {

double cost_of(const std::vector<double>& cost, int cols, const std::vector<int>& row_to_col) {
  double sum = 0;
  for (std::size_t i = 0; i < row_to_col.size(); ++i)
    if (row_to_col[i] >= 0) sum += cost[i * static_cast<std::size_t>(cols) + static_cast<std::size_t>(row_to_col[i])];
  return sum;
}

// The smallest cost over every injective mapping of the smaller side into the larger.
double brute_force(const std::vector<double>& cost, int rows, int cols) {
  const int small = std::min(rows, cols), large = std::max(rows, cols);
  auto at = [&](int s, int l) {
    return rows <= cols ? cost[static_cast<std::size_t>(s * cols + l)] : cost[static_cast<std::size_t>(l * cols + s)];
  };
  std::vector<int> perm(static_cast<std::size_t>(large));
  std::iota(perm.begin(), perm.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  // Every permutation of the larger side; its first `small` entries are the mapping.
  do {
    double sum = 0;
    for (int s = 0; s < small; ++s) sum += at(s, perm[static_cast<std::size_t>(s)]);
    best = std::min(best, sum);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// A valid answer: one entry per row, distinct columns in range, and as many
// rows matched as the smaller side has.
void expect_valid(const std::vector<int>& m, int rows, int cols) {
  ASSERT_EQ(m.size(), static_cast<std::size_t>(rows));
  std::set<int> used;
  for (int c : m) {
    if (c < 0) continue;
    EXPECT_LT(c, cols);
    EXPECT_TRUE(used.insert(c).second) << "column " << c << " used twice";
  }
  EXPECT_EQ(used.size(), static_cast<std::size_t>(std::min(rows, cols)));
}

TEST(Assignment, GreedyIsNotOptimal) {
  // Row 0 taking column 0 (cost 1) forces a cost of 100 elsewhere.
  const std::vector<double> cost = {1, 2, 100, 2, 100, 100, 100, 3, 4};
  EXPECT_EQ(min_cost_assignment(cost, 3, 3), (std::vector<int>{1, 0, 2}));
}

TEST(Assignment, MatchesBruteForceOnSmallRandomMatrices) {
  std::mt19937_64 gen(2024);
  for (int trial = 0; trial < 400; ++trial) {
    const int rows = 1 + static_cast<int>(gen() % 8), cols = 1 + static_cast<int>(gen() % 8);
    // Small integer costs give many ties (as contingency tables do); some
    // trials use wide real-valued costs with negative entries.
    const bool ties = trial % 2 == 0;
    std::uniform_int_distribution<int> small(0, 3);
    std::uniform_real_distribution<double> wide(-1e3, 1e3);
    std::vector<double> cost(static_cast<std::size_t>(rows * cols));
    for (double& c : cost) c = ties ? small(gen) : wide(gen);
    SCOPED_TRACE(::testing::Message() << "trial " << trial << ": " << rows << " x " << cols);
    const std::vector<int> m = min_cost_assignment(cost, rows, cols);
    expect_valid(m, rows, cols);
    EXPECT_NEAR(cost_of(cost, cols, m), brute_force(cost, rows, cols), 1e-9);
  }
}

TEST(Assignment, KnownOptimumOfAPlantedPermutation) {
  // Cost 0 on a random permutation, >= 1 everywhere else: that permutation is
  // the unique optimum, also at a size where brute force is out of reach.
  const int n = 300;
  std::mt19937_64 gen(7);
  std::vector<int> planted(n);
  std::iota(planted.begin(), planted.end(), 0);
  std::shuffle(planted.begin(), planted.end(), gen);
  std::uniform_real_distribution<double> off(1.0, 2.0);
  std::vector<double> cost(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) cost[static_cast<std::size_t>(i) * n + j] = j == planted[i] ? 0.0 : off(gen);
  EXPECT_EQ(min_cost_assignment(cost, n, n), planted);
}

TEST(Assignment, EmptyAndSingleColumn) {
  EXPECT_TRUE(min_cost_assignment({}, 0, 3).empty());
  // Three rows, one column: the cheapest row takes it.
  EXPECT_EQ(min_cost_assignment({5, -1, 2}, 3, 1), (std::vector<int>{-1, 0, -1}));
}

TEST(Metrics, AccuracyWithManyMoreClustersThanLabels) {
  // k = 6 clusters over L = 2 labels: only two clusters can map to a label;
  // the best are cluster 4 (label 0, 9 rows) and cluster 1 (label 1, 7 rows).
  const std::vector<std::int64_t> table = {1, 1, 0, 7, 3, 2, 0, 0, 9, 6, 2, 2};
  EXPECT_DOUBLE_EQ(accuracy(table, 6, 2), 16.0 / 33.0);
  // The transposed table (2 clusters, 6 labels) has the same best mapping.
  std::vector<std::int64_t> t(12);
  for (int c = 0; c < 6; ++c)
    for (int l = 0; l < 2; ++l) t[static_cast<std::size_t>(l * 6 + c)] = table[static_cast<std::size_t>(c * 2 + l)];
  EXPECT_DOUBLE_EQ(accuracy(t, 2, 6), 16.0 / 33.0);
}

}  // namespace
}  // namespace hpcb::kmeans
