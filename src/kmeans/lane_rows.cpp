#include "kmeans/lane_rows.hpp"

#include <algorithm>
#include <array>
#include <bit>

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

namespace {

constexpr int kW = 16;                                // lanes
constexpr int kMaxChunks = kLaneRowsMaxD / kW;        // 64
using LaneMajor = std::array<std::uint16_t, kW * kMaxChunks>;  // lane l's t-th entry at l * 64 + t

// Row x (d <= kLaneRowsMaxD) into lane-major form: lane l's nonzeros in chunk order, each as
// (chunk << 8) | value, then zero entries up to 64. Returns the longest lane's count.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__) && defined(__AVX512VBMI2__)
// The permutes' indices, made at compile time (built per row, stored narrow and loaded wide,
// they cost more than the transpose). Byte 4 l + q of a block <- byte 16 q + l.
alignas(64) constexpr auto kToLanes = [] {
  std::array<std::uint8_t, 64> a{};
  for (int l = 0; l < kW; ++l)
    for (int q = 0; q < 4; ++q) a[static_cast<std::size_t>(4 * l + q)] = static_cast<std::uint8_t>(16 * q + l);
  return a;
}();
// Stage s = 2^stage of the word transpose: word l of the pair's first and second vectors.
constexpr auto stage_indices(bool second) {
  std::array<std::array<std::int32_t, kW>, 4> a{};
  for (int stage = 0; stage < 4; ++stage) {
    const int s = 1 << stage;
    for (int l = 0; l < kW; ++l)
      a[static_cast<std::size_t>(stage)][static_cast<std::size_t>(l)] =
          second ? ((l & s) ? kW + l : l + s) : ((l & s) ? kW + l - s : l);
  }
  return a;
}
alignas(64) constexpr auto kStageLo = stage_indices(false);
alignas(64) constexpr auto kStageHi = stage_indices(true);
alignas(64) constexpr auto kChunkIds = [] {
  std::array<std::uint16_t, 64> a{};
  for (int m = 0; m < 64; ++m) a[static_cast<std::size_t>(m)] = static_cast<std::uint16_t>(m << 8);
  return a;
}();

// A 64 x 16 byte transpose (chunks x lanes; bytes within 64-byte blocks, then 32-bit words by
// four butterfly stages), then each lane's nonzeros compressed, 32 at a time. Without branches
// on the values: a branch per nonzero, mispredicted, took 1 us a row (MNIST: 10 ms of start-up
// for 10,000 rows), and a branch-free scalar form as long.
int lane_major(const std::uint8_t* x, std::int64_t d, LaneMajor& out) {
  // (The zero-masked forms of the intrinsics: the plain ones trip GCC 12's -Wmaybe-uninitialized.)
  __m512i w[kW];  // block b: chunks 4b .. 4b+3; after the byte permute, word l = lane l's four bytes
  const __m512i to_lanes = _mm512_load_si512(kToLanes.data());
  for (int b = 0; b < kW; ++b) {
    const std::int64_t left = d - 64 * b;
    const __mmask64 m = left >= 64 ? ~__mmask64{0} : left <= 0 ? 0 : (__mmask64{1} << left) - 1;
    w[b] = _mm512_maskz_permutexvar_epi8(~__mmask64{0}, to_lanes, _mm512_maskz_loadu_epi8(m, x + 64 * b));
  }
  // 16 x 16 words: row b, column l -> row l, column b. Stage s swaps the off-diagonal s x s
  // blocks of each 2s x 2s block.
  for (int s = 8; s >= 1; s /= 2) {
    const int stage = std::countr_zero(static_cast<unsigned>(s));
    const __m512i lo = _mm512_load_si512(kStageLo[stage].data()), hi = _mm512_load_si512(kStageHi[stage].data());
    for (int i = 0; i < kW; ++i) {
      if (i & s) continue;
      const __m512i a = w[i], b = w[i + s];
      w[i] = _mm512_permutex2var_epi32(a, lo, b);
      w[i + s] = _mm512_permutex2var_epi32(a, hi, b);
    }
  }
  // w[l]: lane l's byte of chunk m at byte m. Entries (m << 8) | byte, nonzeros first.
  const __m512i ids_lo = _mm512_load_si512(kChunkIds.data()), ids_hi = _mm512_load_si512(kChunkIds.data() + 32);
  int rounds = 0;
  for (int l = 0; l < kW; ++l) {
    const __mmask64 nz = _mm512_test_epi8_mask(w[l], w[l]);
    const auto nz_lo = static_cast<__mmask32>(nz), nz_hi = static_cast<__mmask32>(nz >> 32);
    const __m512i lo = _mm512_or_si512(_mm512_maskz_cvtepu8_epi16(~__mmask32{0}, _mm512_maskz_extracti64x4_epi64(0xFF, w[l], 0)), ids_lo);
    const __m512i hi = _mm512_or_si512(_mm512_maskz_cvtepu8_epi16(~__mmask32{0}, _mm512_maskz_extracti64x4_epi64(0xFF, w[l], 1)), ids_hi);
    std::uint16_t* dst = out.data() + l * kMaxChunks;
    const int n_lo = std::popcount(static_cast<std::uint32_t>(nz_lo));
    // The zeros after each compressed half: padding (the second half's over the first's zeros).
    _mm512_storeu_si512(dst, _mm512_maskz_compress_epi16(nz_lo, lo));
    _mm512_storeu_si512(dst + n_lo, _mm512_maskz_compress_epi16(nz_hi, hi));
    if (n_lo < 32) std::fill(dst + n_lo + 32, dst + kMaxChunks, std::uint16_t{0});
    rounds = std::max(rounds, n_lo + std::popcount(static_cast<std::uint32_t>(nz_hi)));
  }
  return rounds;
}
#else
int lane_major(const std::uint8_t* x, std::int64_t d, LaneMajor& out) {
  int rounds = 0;
  for (int l = 0; l < kW; ++l) {
    std::uint16_t* dst = out.data() + l * kMaxChunks;
    int at = 0;
    for (std::int64_t j = l; j < d; j += kW)
      if (x[j]) dst[at++] = static_cast<std::uint16_t>(j / kW << 8 | x[j]);
    std::fill(dst + at, dst + kMaxChunks, std::uint16_t{0});
    rounds = std::max(rounds, at);
  }
  return rounds;
}
#endif

}  // namespace

void LaneRows::reserve(std::int64_t rows, std::int64_t d) {
  start_.reserve(static_cast<std::size_t>(rows));
  rounds_.reserve(static_cast<std::size_t>(rows));
  entries_.reserve(static_cast<std::size_t>(rows * d) / sizeof(std::uint16_t) + kW);
}

void LaneRows::append(const std::uint8_t* X, std::int64_t rows, std::int64_t d) {
  LaneMajor lanes;
  for (std::int64_t i = 0; i < rows; ++i) {
    const int rounds = lane_major(X + i * d, d, lanes);
    const std::size_t base = entries_.size();
    start_.push_back(static_cast<std::int64_t>(base));
    rounds_.push_back(static_cast<std::uint16_t>(rounds));
    entries_.resize(base + static_cast<std::size_t>(rounds) * kW);
    std::uint16_t* e = entries_.data() + base;
    for (int t = 0; t < rounds; ++t)
      for (int l = 0; l < kW; ++l) e[t * kW + l] = lanes[static_cast<std::size_t>(l * kMaxChunks + t)];
  }
}

void LaneRows::move(std::int64_t i, std::int64_t d, std::int64_t* out, std::int64_t* in) const {
  const std::uint16_t* e = entries_.data() + start_[static_cast<std::size_t>(i)];
  for (int t = rounds_[static_cast<std::size_t>(i)]; t > 0; --t, e += kW)
    for (int l = 0; l < kW; ++l) {
      // A padding entry (value 0, chunk 0) changes nothing; its lane may lie past d (d < 16),
      // so its place is kept within the row.
      const std::int64_t j = std::min<std::int64_t>((e[l] >> 8) * kW + l, d - 1);
      const std::int64_t v = e[l] & 0xFF;
      out[j] -= v;
      in[j] += v;
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

void LaneRows::prefetch_row(std::size_t i) const {
  const auto* p = reinterpret_cast<const char*>(entries_.data() + start_[i]);
  const std::size_t bytes = std::size_t{rounds_[i]} * kW * sizeof(std::uint16_t);
  for (std::size_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b);
}

// The rows the E-step lists are scattered (those its bounds left), so each starts with a trip
// to memory the hardware prefetcher cannot foresee: the entries of the row two ahead are
// asked for first. BM_FailedRowValues (every 5th MNIST row) 0.88x the time of no prefetch
// (one row ahead 0.92x; medians of 3, interleaved).
constexpr std::int64_t kAhead = 2;

void LaneRows::values(const std::int64_t* rows, std::int64_t n, float scale, const float* xx,
                      const PackedCentroids<float>& C, float* out) const {
  // A byte's value as load_scaled() forms it: converted, then times scale, rounded to float.
  alignas(64) float scaled[256];
  for (int v = 0; v < 256; ++v) scaled[v] = static_cast<float>(v) * scale;
  const int k = C.k;
  const auto lanes = static_cast<__mmask16>((1u << k) - 1);
  const __m512 cc = _mm512_maskz_loadu_ps(lanes, C.norms.data());
  const float* cols = C.columns.data();
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(rows[r]);
    __m512 acc[kW];
#pragma GCC unroll 16
    for (int l = 0; l < kW; ++l) acc[l] = _mm512_setzero_ps();
    if (r + kAhead < n) prefetch_row(static_cast<std::size_t>(rows[r + kAhead]));
    const std::uint16_t* e = entries_.data() + start_[i];
    for (int t = rounds_[i]; t > 0; --t, e += kW) {
      // Written out for all 16 lanes: a loop the compiler must unroll keeps acc in registers.
#pragma GCC unroll 16
      for (int l = 0; l < kW; ++l) {
        const unsigned v = e[l];
        acc[l] = _mm512_fmadd_ps(_mm512_set1_ps(scaled[v & 0xFF]),
                                 _mm512_load_ps(cols + (static_cast<std::size_t>(v >> 8) * kW + l) * kW), acc[l]);
      }
    }
    _mm512_mask_storeu_ps(out + r * k, lanes, sq_value16(_mm512_set1_ps(xx[i]), lane_tree(acc), cc));
  }
}
#else
// Not built (lane_rows_built() is false, and the E-step never calls it): the 16 lanes are
// those of an AVX-512 register, whose order values() follows only in such a build.
void LaneRows::values(const std::int64_t*, std::int64_t, float, const float*, const PackedCentroids<float>&,
                      float*) const {}
#endif

}  // namespace hpcb::kmeans
