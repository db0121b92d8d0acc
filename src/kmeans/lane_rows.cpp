#include "kmeans/lane_rows.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "common/prefetch.hpp"

// The kernel: 16 centroids a 64-byte vector with AVX-512; two 32-byte halves with AVX2 and FMA.
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define HPCB_LANE_KERNEL 1
#else
#define HPCB_LANE_KERNEL 0
#endif

namespace hpcb::kmeans {

bool lane_rows_built() { return HPCB_LANE_KERNEL; }

void LaneRows::clear() {
  start_ = {};
  rounds_ = {};
  entries_ = {};
}

namespace {

constexpr int kW = 16;                                // lanes
constexpr int kMaxChunks = kLaneRowsMaxD / kW;        // 64
using LaneMajor = std::array<std::uint16_t, kW * kMaxChunks>;  // lane l's t-th entry at l * 64 + t

// Where lane l's entry of a round is stored: in lane order with AVX-512 (one pass over the 16
// lanes); with AVX2, whose passes take lanes L, L + 4, L + 8, L + 12 (values_in_halves()), those
// four side by side, so that a pass reads its four entries in one 8-byte load.
constexpr int stored_at(int l) {
#if !defined(__AVX512F__) && defined(__AVX2__)
  return l % 4 * 4 + l / 4;
#else
  return l;
#endif
}

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
#elif defined(__AVX2__)
// For each mask of eight 16-bit entries, the byte shuffle that moves the entries it selects to
// the front, in order (zeros after them).
alignas(16) constexpr auto kCompress8 = [] {
  std::array<std::array<std::uint8_t, 16>, 256> a{};
  for (int m = 0; m < 256; ++m) {
    int at = 0;
    for (int i = 0; i < 8; ++i)
      if (m >> i & 1) {
        a[static_cast<std::size_t>(m)][static_cast<std::size_t>(at++)] = static_cast<std::uint8_t>(2 * i);
        a[static_cast<std::size_t>(m)][static_cast<std::size_t>(at++)] = static_cast<std::uint8_t>(2 * i + 1);
      }
    for (; at < 16; ++at) a[static_cast<std::size_t>(m)][static_cast<std::size_t>(at)] = 0x80;
  }
  return a;
}();

// Sixteen chunks at a time as a 16 x 16 byte transpose (chunk i, lane l -> lane l, chunk i),
// then each lane's nonzeros, eight entries at a time, moved to the front by a byte shuffle from
// a table (kCompress8) and stored whole, the next store starting where they end: no branch
// on the values (the one-value-at-a-time form took 1.2 us a MNIST row, 12 ms of a 60 ms run).
int lane_major(const std::uint8_t* x, std::int64_t d, LaneMajor& out) {
  const std::int64_t chunks = (d + kW - 1) / kW;
  alignas(16) std::uint8_t row[kLaneRowsMaxD];
  std::memcpy(row, x, static_cast<std::size_t>(d));
  std::memset(row + d, 0, static_cast<std::size_t>(chunks * kW - d));
  int at[kW] = {};
  for (std::int64_t b = 0; b * kW < chunks; ++b) {
    const std::int64_t here = std::min<std::int64_t>(kW, chunks - b * kW);  // chunks in this block
    __m128i t[kW];
    for (int i = 0; i < kW; ++i)
      t[i] = i < here ? _mm_load_si128(reinterpret_cast<const __m128i*>(row + (b * kW + i) * kW)) : _mm_setzero_si128();
    // Four rounds of interleaving neighbours (bytes, then 16-, 32-, 64-bit units), the low
    // halves to the first eight, the high ones to the last: each round moves one bit of the
    // column index into the row index, and lane l ends in t[reversed(l)] (its four bits reversed).
    for (int round = 0; round < 4; ++round) {
      __m128i u[kW];
      for (int i = 0; i < kW / 2; ++i) {
        const __m128i a = t[2 * i], c = t[2 * i + 1];
        switch (round) {
          case 0: u[i] = _mm_unpacklo_epi8(a, c); u[i + kW / 2] = _mm_unpackhi_epi8(a, c); break;
          case 1: u[i] = _mm_unpacklo_epi16(a, c); u[i + kW / 2] = _mm_unpackhi_epi16(a, c); break;
          case 2: u[i] = _mm_unpacklo_epi32(a, c); u[i + kW / 2] = _mm_unpackhi_epi32(a, c); break;
          default: u[i] = _mm_unpacklo_epi64(a, c); u[i + kW / 2] = _mm_unpackhi_epi64(a, c); break;
        }
      }
      std::copy_n(u, kW, t);
    }
    const __m128i ids = _mm_add_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm_set1_epi8(static_cast<char>(b * kW)));  // the chunks' numbers
    for (int l = 0; l < kW; ++l) {
      const __m128i lane = t[(l & 1) << 3 | (l & 2) << 1 | (l & 4) >> 1 | (l & 8) >> 3];
      const auto nz = static_cast<unsigned>(~_mm_movemask_epi8(_mm_cmpeq_epi8(lane, _mm_setzero_si128())) & 0xFFFF);
      std::uint16_t* dst = out.data() + l * kMaxChunks;
      for (int h = 0; h < 2; ++h) {  // entries (chunk << 8) | value of chunks 8h .. 8h + 7
        const __m128i e = h == 0 ? _mm_unpacklo_epi8(lane, ids) : _mm_unpackhi_epi8(lane, ids);
        const unsigned m = nz >> (8 * h) & 0xFF;
        // At most 8 (b 2 + h) entries are stored before: this store ends within the lane's 64.
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + at[l]),
                         _mm_shuffle_epi8(e, _mm_load_si128(reinterpret_cast<const __m128i*>(kCompress8[m].data()))));
        at[l] += std::popcount(m);
      }
    }
  }
  int rounds = 0;
  for (int l = 0; l < kW; ++l) {
    std::fill(out.data() + l * kMaxChunks + at[l], out.data() + (l + 1) * kMaxChunks, std::uint16_t{0});
    rounds = std::max(rounds, at[l]);
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
      for (int l = 0; l < kW; ++l) e[t * kW + stored_at(l)] = lanes[static_cast<std::size_t>(l * kMaxChunks + t)];
  }
}

void LaneRows::move(std::int64_t i, std::int64_t d, std::int64_t* out, std::int64_t* in) const {
  const std::uint16_t* e = entries_.data() + start_[static_cast<std::size_t>(i)];
  for (int t = rounds_[static_cast<std::size_t>(i)]; t > 0; --t, e += kW)
    for (int l = 0; l < kW; ++l) {
      // A padding entry (value 0, chunk 0) changes nothing; its lane may lie past d (d < 16),
      // so its place is kept within the row.
      const unsigned entry = e[stored_at(l)];
      const std::int64_t j = std::min<std::int64_t>((entry >> 8) * kW + l, d - 1);
      const std::int64_t v = entry & 0xFF;
      out[j] -= v;
      in[j] += v;
    }
}

void LaneRows::prefetch_row(std::size_t i) const {
  prefetch_bytes(entries_.data() + start_[i], std::size_t{rounds_[i]} * kW * sizeof(std::uint16_t));
}

// The rows the E-step lists are scattered (those its bounds left), so each starts with a trip
// to memory the hardware prefetcher cannot foresee: the entries of the row two ahead are
// asked for first. BM_FailedRowValues (every 5th MNIST row) 0.88x the time of no prefetch
// (one row ahead 0.92x; medians of 3, interleaved).
[[maybe_unused]] constexpr std::int64_t kAhead = 2;

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

// Node (L, T) of the lane tree over the lanes of one pass, L0, L0 + S, ..., whose sums are
// acc[(lane - L0) / S] (T a multiple of S): the tree's (0, 1) is built from the passes' nodes
// (L0, S), each pass taken on its own where H vectors of centroids (k > 16) would not fit the
// registers for all 16 lanes.
template <int L0, int S, int L, int T, int N>
[[gnu::always_inline]] inline __m512 pass_tree(const __m512 (&acc)[N]) {
  if constexpr (T == 16)
    return acc[(L - L0) / S];
  else
    return _mm512_add_ps(pass_tree<L0, S, L, 2 * T>(acc), pass_tree<L0, S, L + T, 2 * T>(acc));
}

// Lanes L0, L0 + S, ... of a row's rounds against H vectors of centroids (vector h at cols +
// h block): node (L0, S) of each. 16 H / S accumulators (16 at most), a broadcast and the
// centroids as memory operands: within the 32 registers.
template <int H, int S, int L0>
[[gnu::always_inline]] inline void lane_pass(const std::uint16_t* e, int rounds, const float* scaled, const float* cols,
                                             std::size_t block, __m512 (&node)[H]) {
  constexpr int N = kW / S;  // lanes in the pass
  __m512 acc[H][N];
#pragma GCC unroll 16
  for (int q = 0; q < N; ++q)
    for (int h = 0; h < H; ++h) acc[h][q] = _mm512_setzero_ps();
  for (int t = rounds; t > 0; --t, e += kW) {
#pragma GCC unroll 16
    for (int q = 0; q < N; ++q) {
      const unsigned v = e[L0 + S * q];
      const __m512 x = _mm512_set1_ps(scaled[v & 0xFF]);
      const float* col = cols + (static_cast<std::size_t>(v >> 8) * kW + L0 + S * q) * kW;
#pragma GCC unroll 4
      for (int h = 0; h < H; ++h) acc[h][q] = _mm512_fmadd_ps(x, _mm512_load_ps(col + h * block), acc[h][q]);
    }
  }
  for (int h = 0; h < H; ++h) node[h] = pass_tree<L0, S, L0, S>(acc[h]);
}

}  // namespace

void LaneRows::values(const std::int64_t* rows, std::int64_t n, float scale, const float* xx,
                      const PackedCentroids<float>& C, float* out) const {
  // A byte's value as load_scaled() forms it: converted, then times scale, rounded to float.
  alignas(64) float scaled[256];
  for (int v = 0; v < 256; ++v) scaled[v] = static_cast<float>(v) * scale;
  const int k = C.k;
  if (k > 3 * kW) return values_in_blocks<4>(rows, n, scaled, xx, C, out);
  if (k > 2 * kW) return values_in_blocks<3>(rows, n, scaled, xx, C, out);
  if (k > kW) return values_in_blocks<2>(rows, n, scaled, xx, C, out);
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

// 16 < k <= 64 (kLaneRowsMaxK): the centroids in H vectors, the lanes in passes of 16 / S
// (two of eight for two vectors, four of four for three and four: at most 16 accumulators),
// the passes' nodes (L, S) added as the tree adds them: (0, 1) = (0, 2) + (1, 2), (L, 2) =
// (L, 4) + (L + 2, 4).
template <int H>
void LaneRows::values_in_blocks(const std::int64_t* rows, std::int64_t n, const float* scaled, const float* xx,
                                const PackedCentroids<float>& C, float* out) const {
  constexpr int S = H == 2 ? 2 : 4;
  const int k = C.k;
  const auto last = static_cast<__mmask16>((1u << (k - (H - 1) * kW)) - 1);  // centroids of the last vector
  __m512 cc[H];
  for (int h = 0; h < H; ++h) cc[h] = _mm512_maskz_loadu_ps(h + 1 < H ? __mmask16(0xFFFF) : last, C.norms.data() + h * kW);
  const float* cols = C.columns.data();
  const auto block = static_cast<std::size_t>(C.stride) * kW;  // from one vector's columns to the next's
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(rows[r]);
    if (r + kAhead < n) prefetch_row(static_cast<std::size_t>(rows[r + kAhead]));
    const std::uint16_t* e = entries_.data() + start_[i];
    const int t = rounds_[i];
    __m512 dot[H];
    if constexpr (S == 2) {
      __m512 n0[H], n1[H];
      lane_pass<H, 2, 0>(e, t, scaled, cols, block, n0);
      lane_pass<H, 2, 1>(e, t, scaled, cols, block, n1);
      for (int h = 0; h < H; ++h) dot[h] = _mm512_add_ps(n0[h], n1[h]);
    } else {
      __m512 n0[H], n1[H], n2[H], n3[H];
      lane_pass<H, 4, 0>(e, t, scaled, cols, block, n0);
      lane_pass<H, 4, 2>(e, t, scaled, cols, block, n2);
      for (int h = 0; h < H; ++h) n0[h] = _mm512_add_ps(n0[h], n2[h]);  // (0, 2)
      lane_pass<H, 4, 1>(e, t, scaled, cols, block, n1);
      lane_pass<H, 4, 3>(e, t, scaled, cols, block, n3);
      for (int h = 0; h < H; ++h) dot[h] = _mm512_add_ps(n0[h], _mm512_add_ps(n1[h], n3[h]));  // (0, 2) + (1, 2)
    }
    const __m512 x2 = _mm512_set1_ps(xx[i]);
    for (int h = 0; h < H; ++h)
      _mm512_mask_storeu_ps(out + r * k + h * kW, h + 1 < H ? __mmask16(0xFFFF) : last, sq_value16(x2, dot[h], cc[h]));
  }
}
#elif HPCB_LANE_KERNEL

namespace {

// With AVX2 lane l's sums of the 16 centroids are two registers (H = 1 where k <= 8), and the
// 16 lanes' 32 would not fit the 16 registers: the lanes go in four passes of four, L, L + 4,
// L + 8, L + 12, each pass ending in the tree's node (L, 4) = (a_L + a_L+8) + (a_L+4 + a_L+12)
// (lane_tree() above, taken in the same pairs), then (0, 1) = ((0, 4) + (2, 4)) + ((1, 4) +
// (3, 4)).
template <int H>
struct LaneSums {
  __m256 h[H];
};

template <int H>
[[gnu::always_inline]] inline LaneSums<H> lane_node4(int L, const std::uint16_t* e, int rounds, const float* scaled,
                                                      const float* cols) {
  LaneSums<H> a[4];
  for (int q = 0; q < 4; ++q)
    for (int h = 0; h < H; ++h) a[q].h[h] = _mm256_setzero_ps();
  for (int t = rounds; t > 0; --t, e += kW) {
    std::uint64_t four;  // lanes L + 4 q (stored_at())
    std::memcpy(&four, e + 4 * L, sizeof four);
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const auto v = static_cast<unsigned>(four >> (16 * q) & 0xFFFF);
      const __m256 x = _mm256_broadcast_ss(scaled + (v & 0xFF));
      const float* col = cols + (static_cast<std::size_t>(v >> 8) * kW + static_cast<std::size_t>(L + 4 * q)) * kW;
      for (int h = 0; h < H; ++h) a[q].h[h] = _mm256_fmadd_ps(x, _mm256_load_ps(col + 8 * h), a[q].h[h]);
    }
  }
  LaneSums<H> node;
  for (int h = 0; h < H; ++h)
    node.h[h] = _mm256_add_ps(_mm256_add_ps(a[0].h[h], a[2].h[h]), _mm256_add_ps(a[1].h[h], a[3].h[h]));
  return node;
}

}  // namespace

template <int H>
void LaneRows::values_in_halves(const std::int64_t* rows, std::int64_t n, const float* scaled, const float* xx,
                                const PackedCentroids<float>& C, float* out) const {
  const int k = C.k;
  alignas(32) float cc[16] = {};
  std::copy_n(C.norms.data(), k, cc);
  const float* cols = C.columns.data();
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(rows[r]);
    if (r + kAhead < n) prefetch_row(static_cast<std::size_t>(rows[r + kAhead]));
    const std::uint16_t* e = entries_.data() + start_[i];
    const int t = rounds_[i];
    const LaneSums<H> n0 = lane_node4<H>(0, e, t, scaled, cols), n2 = lane_node4<H>(2, e, t, scaled, cols);
    LaneSums<H> even;
    for (int h = 0; h < H; ++h) even.h[h] = _mm256_add_ps(n0.h[h], n2.h[h]);
    const LaneSums<H> n1 = lane_node4<H>(1, e, t, scaled, cols), n3 = lane_node4<H>(3, e, t, scaled, cols);
    // The row's values stored whole, 8 H floats, where they end within out (the lanes past k
    // are the next rows', written after); the last rows' through a buffer (a copy of k floats,
    // a call to memmove, took 1.2% of a Hamerly run on MNIST for every row).
    alignas(32) float v[16];
    const bool whole = r * k + 8 * H <= n * k;
    for (int h = 0; h < H; ++h) {
      const __m256 dot = _mm256_add_ps(even.h[h], _mm256_add_ps(n1.h[h], n3.h[h]));
      // sq_value(): xx - 2 dot + cc, the same operations.
      const __m256 value = _mm256_add_ps(_mm256_sub_ps(_mm256_set1_ps(xx[i]), _mm256_mul_ps(_mm256_set1_ps(2.0f), dot)),
                                         _mm256_load_ps(cc + 8 * h));
      _mm256_storeu_ps(whole ? out + r * k + 8 * h : v + 8 * h, value);
    }
    if (!whole) std::copy_n(v, k, out + r * k);
  }
}

void LaneRows::values(const std::int64_t* rows, std::int64_t n, float scale, const float* xx,
                      const PackedCentroids<float>& C, float* out) const {
  // A byte's value as load_scaled() forms it: converted, then times scale, rounded to float.
  alignas(64) float scaled[256];
  for (int v = 0; v < 256; ++v) scaled[v] = static_cast<float>(v) * scale;
  if (C.k <= 8)
    values_in_halves<1>(rows, n, scaled, xx, C, out);
  else
    values_in_halves<2>(rows, n, scaled, xx, C, out);
}
#else
// Not built (lane_rows_built() is false, and the E-step never calls it): the 16 lanes are
// those of an AVX-512 register (or two of AVX2), whose order values() follows only in such a build.
void LaneRows::values(const std::int64_t*, std::int64_t, float, const float*, const PackedCentroids<float>&,
                      float*) const {}
#endif

}  // namespace hpcb::kmeans
