#include "kmeans/lane_rows.hpp"

#include <algorithm>
#include <array>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace hpcb::kmeans {

#if defined(__AVX512F__)
bool lane_rows_built() { return true; }
#else
bool lane_rows_built() { return false; }
#endif

void LaneRows::clear() {
  start_ = {};
  rounds_ = {};
  entries_ = {};
}

void LaneRows::append(const std::uint8_t* X, std::int64_t rows, std::int64_t d) {
  constexpr int W = 16;
  const std::int64_t chunks = (d + W - 1) / W;
  std::array<std::vector<std::uint16_t>, W> lane;
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::uint8_t* x = X + i * d;
    for (auto& l : lane) l.clear();
    for (std::int64_t m = 0; m < chunks; ++m)
      for (std::int64_t l = 0, end = std::min<std::int64_t>(W, d - m * W); l < end; ++l)
        if (x[m * W + l]) lane[static_cast<std::size_t>(l)].push_back(static_cast<std::uint16_t>(m << 8 | x[m * W + l]));
    std::size_t rounds = 0;
    for (const auto& l : lane) rounds = std::max(rounds, l.size());
    start_.push_back(static_cast<std::int64_t>(entries_.size()));
    rounds_.push_back(static_cast<std::uint16_t>(rounds));
    for (std::size_t t = 0; t < rounds; ++t)
      for (const auto& l : lane) entries_.push_back(t < l.size() ? l[t] : std::uint16_t{0});
  }
}

#if defined(__AVX512F__)
namespace {

// Node (L, S) of the lane tree: the sum of lanes L, L + S, L + 2S, ...; (0, 1) is the dot
// product (hsums()'s order: l + l+8, then l + l+4, l + l+2, l + l+1).
template <int L = 0, int S = 1>
[[gnu::always_inline]] inline __m512 lane_tree(const __m512 (&acc)[16]) {
  if constexpr (S == 16)
    return acc[L];
  else
    return _mm512_add_ps(lane_tree<L, 2 * S>(acc), lane_tree<L + S, 2 * S>(acc));
}

}  // namespace

void LaneRows::values(const std::int64_t* rows, std::int64_t n, float scale, const float* xx,
                      const PackedCentroids<float>& C, float* out) const {
  constexpr int W = 16;
  // A byte's value as load_scaled() forms it: converted, then times scale, rounded to float.
  alignas(64) float scaled[256];
  for (int v = 0; v < 256; ++v) scaled[v] = static_cast<float>(v) * scale;
  const int k = C.k;
  const auto lanes = static_cast<__mmask16>((1u << k) - 1);
  const __m512 cc = _mm512_maskz_loadu_ps(lanes, C.norms.data());
  const float* cols = C.columns.data();
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(rows[r]);
    __m512 acc[W];
#pragma GCC unroll 16
    for (int l = 0; l < W; ++l) acc[l] = _mm512_setzero_ps();
    const std::uint16_t* e = entries_.data() + start_[i];
    for (int t = rounds_[i]; t > 0; --t, e += W) {
      // Written out for all 16 lanes: a loop the compiler must unroll keeps acc in registers.
#pragma GCC unroll 16
      for (int l = 0; l < W; ++l) {
        const unsigned v = e[l];
        acc[l] = _mm512_fmadd_ps(_mm512_set1_ps(scaled[v & 0xFF]),
                                 _mm512_load_ps(cols + (static_cast<std::size_t>(v >> 8) * W + l) * W), acc[l]);
      }
    }
    const __m512 dot = lane_tree(acc);
    // sq_value()'s operations: xx - 2 dot + cc.
    const __m512 value =
        _mm512_add_ps(_mm512_sub_ps(_mm512_set1_ps(xx[i]), _mm512_mul_ps(_mm512_set1_ps(2.0f), dot)), cc);
    _mm512_mask_storeu_ps(out + r * k, lanes, value);
  }
}
#else
// Not built (lane_rows_built() is false, and the E-step never calls it): the 16 lanes are
// those of an AVX-512 register, whose order values() follows only in such a build.
void LaneRows::values(const std::int64_t*, std::int64_t, float, const float*, const PackedCentroids<float>&,
                      float*) const {}
#endif

}  // namespace hpcb::kmeans
