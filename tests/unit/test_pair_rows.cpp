// uint8 rows by their nonzero pairs (pair_rows.hpp): the pair kernel's sums are the exact
// integer dot products, for every shape it takes apart (odd d and a last pair of one value,
// rows of zeros, rows of 255, a pair with only its second value, pairs past the vector steps of
// eight; one to six groups of eight centroids, the passes of four groups and their remainders),
// and the rows appended block by block are the rows appended at once; and the E-step takes the
// form where it should.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kmeans/estep.hpp"
#include "kmeans/int_assign.hpp"
#include "kmeans/pair_rows.hpp"

namespace hpcb::kmeans {
namespace {

struct Case {
  std::int64_t n, d;
  std::vector<std::uint8_t> X;
};

// Rows of every kind: sparse at random, all zeros, all 255, and only odd-numbered values (each
// pair's second) nonzero.
Case rows_of_every_kind(std::int64_t d, std::mt19937& gen) {
  const std::int64_t n = 12;
  Case c{n, d, std::vector<std::uint8_t>(static_cast<std::size_t>(n * d))};
  std::uniform_int_distribution<int> byte(1, 255), coin(0, 3);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j) {
      std::uint8_t v = coin(gen) == 0 ? static_cast<std::uint8_t>(byte(gen)) : 0;
      if (i == 1) v = 0;
      if (i == 2) v = 255;
      if (i == 3) v = j % 2 == 1 ? static_cast<std::uint8_t>(byte(gen)) : 0;
      c.X[static_cast<std::size_t>(i * d + j)] = v;
    }
  return c;
}

TEST(PairRows, DotsAreTheIntegerSums) {
  std::mt19937 gen(5);
  for (std::int64_t d : {1, 2, 3, 15, 16, 17, 33, 300, 784, 1001})
    for (int k : {1, 7, 8, 9, 16, 17, 33, 48}) {
      SCOPED_TRACE("d=" + std::to_string(d) + " k=" + std::to_string(k));
      const Case r = rows_of_every_kind(d, gen);
      // q as large as int32 sums allow (the quantizer's own limit): |sum_j x_j q_j| < 2^31.
      const std::int64_t qmax = std::min<std::int64_t>(32767, (std::int64_t{1} << 31) / (255 * d) - 1);
      std::uniform_int_distribution<std::int64_t> value(-qmax, qmax);
      std::vector<std::int64_t> q(static_cast<std::size_t>(k * d));
      PairCentroids P = pair_layout(k, d);
      ASSERT_EQ(P.groups, (k + 7) / 8);
      for (int c = 0; c < k; ++c) {
        std::vector<std::int16_t> row(static_cast<std::size_t>(d + 1), 0);  // a zero past an odd d
        for (std::int64_t j = 0; j < d; ++j) {
          const std::int64_t v = c == 0 && j < 4 ? (j % 2 ? qmax : -qmax) : value(gen);
          q[static_cast<std::size_t>(c * d + j)] = v;
          row[static_cast<std::size_t>(j)] = static_cast<std::int16_t>(v);
        }
        pair_set_row(P, c, row.data(), d);
      }
      PairRows rows;
      rows.reserve(r.n, d);
      rows.append(r.X.data(), 5, d);  // in two blocks, as the E-step's prepare_rows() gives them
      rows.append(r.X.data() + 5 * d, r.n - 5, d);
      ASSERT_EQ(rows.size(), r.n);
      std::int64_t nonzero_pairs = 0;
      for (std::int64_t i = 0; i < r.n; ++i)
        for (std::int64_t m = 0; 2 * m < d; ++m)
          nonzero_pairs += r.X[static_cast<std::size_t>(i * d + 2 * m)] != 0 ||
                           (2 * m + 1 < d && r.X[static_cast<std::size_t>(i * d + 2 * m + 1)] != 0);
      EXPECT_EQ(rows.pairs(), nonzero_pairs);
      std::vector<std::int32_t> out(static_cast<std::size_t>(8 * P.groups));
      for (std::int64_t i = 0; i < r.n; ++i) {
        std::fill(out.begin(), out.end(), -1);
        rows.dots(i, P, out.data());
        for (int c = 0; c < 8 * P.groups; ++c) {
          std::int64_t want = 0;
          for (std::int64_t j = 0; c < k && j < d; ++j)
            want += std::int64_t{r.X[static_cast<std::size_t>(i * d + j)]} * q[static_cast<std::size_t>(c * d + j)];
          EXPECT_EQ(out[static_cast<std::size_t>(c)], want) << "row " << i << " centroid " << c;
        }
      }
    }
}

// Rows with about `fill` of their values nonzero.
std::vector<std::uint8_t> sparse_rows(std::int64_t n, std::int64_t d, double fill, std::mt19937& gen) {
  std::vector<std::uint8_t> X(static_cast<std::size_t>(n * d));
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& x : X) x = u(gen) < fill ? static_cast<std::uint8_t>(1 + gen() % 255) : 0;
  return X;
}

// The E-step takes the pair form for sparse uint8 rows where its integer E-step is built with
// the pair kernel, for every algorithm (Hamerly's and Elkan's Lloyd steps too), never where the
// chunks cost fewer multiply-adds (dense rows, k = 1) or the integer E-step does not apply
// (d < 256); blocks prepared out of order drop it.
TEST(PairRows, TakenByTheIntegerEStepOnSparseRows) {
  std::mt19937 g(8);
  const std::int64_t n = 50, d = 784;
  const std::vector<std::uint8_t> sparse = sparse_rows(n, d, 0.05, g), dense = sparse_rows(n, d, 1.0, g);
  const float scale = 1.0f / 255.0f;
  const bool built = pair_rows_built() && int_assign_built();
  for (Algorithm a : {Algorithm::lloyd, Algorithm::hamerly, Algorithm::elkan}) {
    EXPECT_EQ(EStep<std::uint8_t>(a, sparse.data(), n, d, scale, 10).pair_rows() != nullptr, built);
    EXPECT_EQ(EStep<std::uint8_t>(a, sparse.data(), n, d, scale, 1).pair_rows(), nullptr);
    EXPECT_EQ(EStep<std::uint8_t>(a, dense.data(), n, d, scale, 10).pair_rows(), nullptr);
  }
  const std::vector<std::uint8_t> narrow = sparse_rows(n, 200, 0.05, g);
  EXPECT_EQ(EStep<std::uint8_t>(Algorithm::lloyd, narrow.data(), n, 200, scale, 10).pair_rows(), nullptr);

  using Pass = EStep<std::uint8_t>::RowPass;
  EStep<std::uint8_t> in_order(Algorithm::lloyd, sparse.data(), n, d, scale, 10, Pass::by_caller);
  in_order.prepare_rows(0, 20);
  in_order.prepare_rows(20, n);
  EXPECT_EQ(in_order.pair_rows() != nullptr, built);
  if (in_order.pair_rows()) {
    EXPECT_EQ(in_order.pair_rows()->size(), n);
  }
  EStep<std::uint8_t> out_of_order(Algorithm::lloyd, sparse.data(), n, d, scale, 10, Pass::by_caller);
  out_of_order.prepare_rows(20, n);
  out_of_order.prepare_rows(0, 20);
  EXPECT_EQ(out_of_order.pair_rows(), nullptr);
}

}  // namespace
}  // namespace hpcb::kmeans
