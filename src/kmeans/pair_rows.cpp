#include "kmeans/pair_rows.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "common/prefetch.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

// The kernel where the int16 pass runs alone: AVX2 builds without AVX-512 VNNI (int_assign.cpp).
#if defined(__AVX2__) && !(defined(__AVX512VNNI__) && defined(__AVX512BW__))
#define HPCB_PAIR_KERNEL 1
#else
#define HPCB_PAIR_KERNEL 0
#endif

namespace hpcb::kmeans {

bool pair_rows_built() { return HPCB_PAIR_KERNEL; }

PairCentroids pair_layout(int k, std::int64_t d) {
  PairCentroids P;
  P.k = k;
  P.groups = (k + 7) / 8;
  P.values.assign(static_cast<std::size_t>((d + 1) / 2 * P.groups * 16), 0);
  return P;
}

void pair_set_row(PairCentroids& P, int c, const std::int16_t* q, std::int64_t d) {
  // Each pair's two values as one 32-bit store, a stride of a pair's groups apart.
  const std::size_t stride = static_cast<std::size_t>(P.groups) * 16;
  std::int16_t* at = P.values.data() + (c >> 3) * 16 + (c & 7) * 2;
  for (std::int64_t m = 0; 2 * m < d; ++m, at += stride) std::memcpy(at, q + 2 * m, 2 * sizeof(std::int16_t));
}

void PairRows::clear() {
  start_ = {};
  values_ = {};
  at_ = {};
}

void PairRows::reserve(std::int64_t rows, std::int64_t d) {
  start_.reserve(static_cast<std::size_t>(rows + 1));
  // At most the rows' bytes, and room past that for one row's every pair and eight more
  // (append() writes a row's pairs before it knows how many hold a nonzero).
  const auto most = static_cast<std::size_t>(rows * d) / (sizeof(std::uint32_t) + sizeof(std::uint16_t)) +
                    static_cast<std::size_t>((d + 1) / 2 + 8);
  values_.reserve(most);
  at_.reserve(most);
}

namespace {

#if HPCB_PAIR_KERNEL
// Per mask of eight lanes, the permute that moves the lanes it selects to the front, in order
// (AVX2 has no compress): one byte a lane, widened when loaded.
constexpr auto kCompress = [] {
  std::array<std::uint64_t, 256> t{};
  for (int mask = 0; mask < 256; ++mask)
    for (int l = 0, o = 0; l < 8; ++l)
      if (mask >> l & 1) t[static_cast<std::size_t>(mask)] |= static_cast<std::uint64_t>(l) << (8 * o++);
  return t;
}();

// Pairs [m0, m0 + 8) of row x (16 bytes): those that hold a nonzero written at v and at, and
// their count. Writes eight entries whatever the count.
inline int listed8(const std::uint8_t* x, std::int64_t m0, std::uint32_t* v, std::uint16_t* at) {
  const __m256i pairs = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 2 * m0)));
  const auto mask = static_cast<unsigned>(
      _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(pairs, _mm256_setzero_si256())))) ^ 0xFFu;
  const __m256i order = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(&kCompress[mask])));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(v), _mm256_permutevar8x32_epi32(pairs, order));
  const __m256i m = _mm256_permutevar8x32_epi32(
      _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(m0)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), order);
  // (m < 2^16: packus keeps it; its lanes interleave the halves, which the 64-bit permute undoes.)
  _mm_storeu_si128(reinterpret_cast<__m128i*>(at),
                   _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(m, m), 0b1000)));
  return std::popcount(mask);
}
#endif

}  // namespace

void PairRows::append(const std::uint8_t* X, std::int64_t rows, std::int64_t d) {
  const std::int64_t whole = d / 2, halves = (d + 1) / 2;
  if (start_.empty()) start_.push_back(0);
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::uint8_t* x = X + i * d;
    const std::size_t base = values_.size();
    // Room for every pair and the eight entries listed8() stores whatever its count.
    values_.resize(base + static_cast<std::size_t>(halves) + 8);
    at_.resize(base + static_cast<std::size_t>(halves) + 8);
    std::uint32_t* v = values_.data() + base;
    std::uint16_t* at = at_.data() + base;
    std::size_t n = 0;
    std::int64_t m = 0;
#if HPCB_PAIR_KERNEL
    for (; m + 8 <= whole; m += 8) n += static_cast<std::size_t>(listed8(x, m, v + n, at + n));
#endif
    // Every pair written, the count advanced past those that hold a nonzero: no branch on the
    // values (MNIST: a quarter of the pairs, in no pattern a predictor learns).
    for (; m < halves; ++m) {
      const std::uint32_t lo = x[2 * m], hi = m < whole ? x[2 * m + 1] : 0;
      v[n] = lo | hi << 16;
      at[n] = static_cast<std::uint16_t>(m);
      n += (lo | hi) != 0;
    }
    values_.resize(base + n);
    at_.resize(base + n);
    start_.push_back(static_cast<std::int64_t>(base + n));
  }
}

void PairRows::prefetch_row(std::int64_t i) const {
  const auto s = static_cast<std::size_t>(start_[static_cast<std::size_t>(i)]);
  const auto n = static_cast<std::size_t>(start_[static_cast<std::size_t>(i) + 1]) - s;
  prefetch_bytes(values_.data() + s, n * sizeof(std::uint32_t));
  prefetch_bytes(at_.data() + s, n * sizeof(std::uint16_t));
}

#if HPCB_PAIR_KERNEL
namespace {

// Groups [h0, h0 + H) of Q for pairs [0, n) of one row: per pair one broadcast and H vpmaddwd
// (eight centroids' two products each, summed into their int32 lane). Two sets of
// accumulators, pair by pair in turn: an add's result is not waited for by the next pair's.
template <int H>
void pair_pass(const std::uint32_t* value, const std::uint16_t* at, std::int64_t n, const std::int16_t* q,
               std::int64_t pair_stride, std::int32_t* out) {
  __m256i a0[H], a1[H];
  for (int h = 0; h < H; ++h) a0[h] = a1[h] = _mm256_setzero_si256();
  auto add = [&](__m256i(&acc)[H], std::int64_t p) __attribute__((always_inline)) {
    const __m256i x = _mm256_set1_epi32(static_cast<int>(value[p]));
    const std::int16_t* c = q + at[p] * pair_stride;
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h)
      acc[h] = _mm256_add_epi32(acc[h], _mm256_madd_epi16(x, _mm256_load_si256(reinterpret_cast<const __m256i*>(c + 16 * h))));
  };
  std::int64_t p = 0;
  for (; p + 2 <= n; p += 2) {
    add(a0, p);
    add(a1, p + 1);
  }
  if (p < n) add(a0, p);
  for (int h = 0; h < H; ++h) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * h), _mm256_add_epi32(a0[h], a1[h]));
}

}  // namespace

void PairRows::dots(std::int64_t i, const PairCentroids& Q, std::int32_t* out) const {
  const auto s = static_cast<std::size_t>(start_[static_cast<std::size_t>(i)]);
  const std::int64_t n = start_[static_cast<std::size_t>(i) + 1] - start_[static_cast<std::size_t>(i)];
  const std::int64_t stride = std::int64_t{Q.groups} * 16;
  // Four groups (32 centroids) a pass: eight accumulators, two broadcasts.
  for (int h0 = 0; h0 < Q.groups; h0 += 4) {
    const std::int16_t* q = Q.values.data() + h0 * 16;
    std::int32_t* o = out + 8 * h0;
    switch (std::min(4, Q.groups - h0)) {
      case 1: pair_pass<1>(values_.data() + s, at_.data() + s, n, q, stride, o); break;
      case 2: pair_pass<2>(values_.data() + s, at_.data() + s, n, q, stride, o); break;
      case 3: pair_pass<3>(values_.data() + s, at_.data() + s, n, q, stride, o); break;
      default: pair_pass<4>(values_.data() + s, at_.data() + s, n, q, stride, o); break;
    }
  }
}
#else
// No pair kernel in this build (the E-step never builds the form): the same sums, one by one.
void PairRows::dots(std::int64_t i, const PairCentroids& Q, std::int32_t* out) const {
  std::fill(out, out + 8 * Q.groups, 0);
  for (auto p = static_cast<std::size_t>(start_[static_cast<std::size_t>(i)]);
       p < static_cast<std::size_t>(start_[static_cast<std::size_t>(i) + 1]); ++p)
    for (int c = 0; c < 8 * Q.groups; ++c) {
      const std::int16_t* q = Q.values.data() + (at_[p] * Q.groups + c / 8) * 16 + c % 8 * 2;
      out[c] += static_cast<std::int32_t>(values_[p] & 0xFFFF) * q[0] + static_cast<std::int32_t>(values_[p] >> 16) * q[1];
    }
}
#endif

}  // namespace hpcb::kmeans
