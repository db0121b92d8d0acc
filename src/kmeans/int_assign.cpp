#include "kmeans/int_assign.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "common/prefetch.hpp"
#include "common/simd.hpp"

// The int8 first pass: with AVX-512 VNNI (vpdpbusd) only.
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define HPCB_INT8_PASS 1
#else
#define HPCB_INT8_PASS 0
#endif
// The integer kernel: the int8 and int16 passes with AVX-512 VNNI, the int16 one with AVX2.
#if HPCB_INT8_PASS || defined(__AVX2__)
#define HPCB_INT_KERNEL 1
#else
#define HPCB_INT_KERNEL 0
#endif

namespace hpcb::kmeans {
namespace {

constexpr int kChunk = 32;             // int16 values per 64-byte register
constexpr int kMaxGroup = 12;          // centroids per register tile (as the float kernel's)
constexpr double kOut = 1 + 0x1p-50;   // covers up to 8 roundings of a double expression
constexpr std::int64_t kMaxX = 255;    // the largest row value

// The float kernel's choice for row x (its k values, then pick()): where the margin does
// not settle the row, and the whole path where the integer kernel is not built.
void float_choice(const std::uint8_t* x, std::int64_t d, const PackedCentroids<float>& C, float scale, float xx,
                  std::vector<float>& vals, std::int32_t& label) {
  vals.resize(static_cast<std::size_t>(C.k));
  values<std::uint8_t>(&x, 1, d, scale, &xx, C, nullptr, C.k, vals.data());
  float dist;
  pick<float>(vals.data(), C.k, label, dist);
}

// The least and the largest of finite values, 16 at a time (GCC 12 leaves std::minmax_element
// and a loop of std::min and std::max scalar).
std::pair<float, float> value_range(const std::vector<float>& v) {
  using vf = simd::vec<float>;
  const std::size_t whole = v.size() / simd::kWidth<float> * simd::kWidth<float>;
  vf lo = vf{} + v[0], hi = lo;
  for (std::size_t i = 0; i < whole; i += simd::kWidth<float>) {
    const vf x = simd::load<float>(v.data() + i);
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
  }
  float least = v[0], most = v[0];
  for (int l = 0; l < simd::kWidth<float>; ++l) {
    least = std::min(least, lo[l]);
    most = std::max(most, hi[l]);
  }
  for (std::size_t i = whole; i < v.size(); ++i) {
    least = std::min(least, v[i]);
    most = std::max(most, v[i]);
  }
  return {least, most};
}

}  // namespace

bool int8_pass_built() { return HPCB_INT8_PASS; }

#if HPCB_INT_KERNEL

bool int_assign_built() { return true; }

namespace {

#if HPCB_INT8_PASS
constexpr int kTileRows = 2;  // 2 x 12 accumulators, 2 row chunks and a centroid chunk: 27 of 32 registers
#else
// AVX2: the int16 sums alone (vpmaddwd: 16 products into 8 int32, then an add). An int8 pass
// (vpmaddubsw) saturates its int16 pair sums beyond |q| = 64, and its second step to int32 costs
// what it saves: per product it takes the multiplier units as long as the int16 sums do.
constexpr int kTileRows = 1;  // G accumulators, a row half-chunk and a product: up to 14 of 16 registers
#endif
// Values per bit of the int16 tile's `live` mask.
constexpr int kLiveStep16 = HPCB_INT8_PASS ? kChunk : kChunk / 2;
constexpr int kBlockRows = 8 * kTileRows;  // rows of the int16 pass whose D_c come before any is settled

#if HPCB_INT8_PASS
// P[r * G + g] = sum_j x_r[j] q_g[j], exactly: R rows against the G centroids of one group.
// Bytes false: q int16, chunks of 32 (chunk i of centroid g at c + (i * G + g) * 32), the
// rows widened to int16, vpdpwssd; Bytes true: q int8, chunks of 64, the rows' bytes as
// they are, vpdpbusd (unsigned times signed bytes, four products per lane).
// Of the first 64 chunks, only those whose bit is set in `live` (chunk i: bit i; every chunk
// from the 65th on): a chunk of zeros in every row adds nothing to an integer sum (MNIST rows
// are mostly margin: 29% of their 64-byte chunks are zeros, 31% of the 32-value ones in both
// rows of a pair).
template <int R, int G, bool Bytes>
[[gnu::noinline]] void int_dot_tile(const std::uint8_t* const* x, std::int64_t d, const void* centroids,
                                    std::uint64_t live, std::int32_t* out) {
  using vi = simd::vec<std::int32_t>;
  constexpr int kStep = Bytes ? 64 : kChunk;  // values per register
  const auto* c0 = static_cast<const char*>(centroids);
  vi acc[R * G];
#pragma GCC unroll 32
  for (int i = 0; i < R * G; ++i) acc[i] = vi{};
  // One loop for every chunk, the last one masked (zero-extended; the centroids' padding is
  // zero too), on GCC's own vector type: with a separate tail, or on __m512i, GCC 12 kept
  // some accumulators on the stack.
  const std::int64_t chunks = (d + kStep - 1) / kStep;
  for (std::int64_t base = 0; base < chunks; base += 64)
  for (std::uint64_t left_chunks = (base == 0 ? live : ~std::uint64_t{0}) &
                                   (chunks - base >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << (chunks - base)) - 1);
       left_chunks; left_chunks &= left_chunks - 1) {
    const std::int64_t chunk = base + __builtin_ctzll(left_chunks);
    const std::int64_t j = chunk * kStep;
    const char* c = c0 + chunk * G * 64;
    const std::int64_t left = d - j;
    vi xv[R];
    if constexpr (Bytes) {
      const auto m = left >= kStep ? ~__mmask64{0} : static_cast<__mmask64>((std::uint64_t{1} << left) - 1);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) xv[r] = (vi)_mm512_maskz_loadu_epi8(m, x[r] + j);
    } else {
      const auto m = left >= kStep ? ~__mmask32{0} : static_cast<__mmask32>((std::uint64_t{1} << left) - 1);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) xv[r] = (vi)_mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, x[r] + j));
    }
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g) {
      const vi cv = simd::load<std::int32_t>(reinterpret_cast<const std::int32_t*>(c + g * 64));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        if constexpr (Bytes)
          acc[r * G + g] = __builtin_ia32_vpdpbusd_v16si(acc[r * G + g], xv[r], cv);
        else
          acc[r * G + g] = __builtin_ia32_vpdpwssd_v16si(acc[r * G + g], xv[r], cv);
      }
    }
  }
  simd::hsums<std::int32_t, R * G>(acc, out);  // integer sums: exact in any order
}
#else
// out[i] = the sum of a[i]'s 8 lanes, i < N: four accumulators at a time by two rounds of
// pairwise adds (vphaddd) and one of halves, not seven steps each (a tenth of a k = 10 tile).
template <int N>
void hsums8(const __m256i* a, std::int32_t* out) {
  auto four = [](__m256i a0, __m256i a1, __m256i a2, __m256i a3) {  // lanes 0-3 | 4-7 of each, summed
    return _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
  };
  int i = 0;
  for (; i + 8 <= N; i += 8) {
    const __m256i q0 = four(a[i], a[i + 1], a[i + 2], a[i + 3]), q1 = four(a[i + 4], a[i + 5], a[i + 6], a[i + 7]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20), _mm256_permute2x128_si256(q0, q1, 0x31)));
  }
  if constexpr (N % 8 != 0) {
    const __m256i zero = _mm256_setzero_si256();
    for (; i < N; i += 4) {
      const __m256i q = four(a[i], i + 1 < N ? a[i + 1] : zero, i + 2 < N ? a[i + 2] : zero, i + 3 < N ? a[i + 3] : zero);
      alignas(16) std::int32_t sums[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(sums), _mm_add_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)));
      for (int t = 0; t < 4 && i + t < N; ++t) out[i + t] = sums[t];
    }
  }
}

// The int16 sums only (no int8 pass: HPCB_INT8_PASS is 0), 16 values at a time: the row's
// bytes widened to int16, per centroid one vpmaddwd (16 products into 8 int32) with the
// centroid's half-chunk as its memory operand, added into one int32 accumulator per (row,
// centroid): integer sums, exact in any order. G accumulators, a row half-chunk and a product
// take G + 2 of the 16 registers. `live`: one bit per 16 values (MNIST rows: 28.6 of 49
// live, against 17.6 of 25 chunks of 32: a fifth fewer products). The last, partial half-chunk
// from a zero-padded copy after the loop: with the tail inside the loop (a branch and a copy
// per chunk) GCC 12 kept most accumulators on the stack, a store and a load per product.
template <int R, int G, bool Bytes>
[[gnu::noinline]] void int_dot_tile(const std::uint8_t* const* x, std::int64_t d, const void* centroids,
                                    std::uint64_t live, std::int32_t* out) {
  static_assert(!Bytes, "no int8 pass without AVX-512 VNNI (HPCB_INT8_PASS)");
  constexpr int kHalf = kChunk / 2;
  const auto* c0 = static_cast<const char*>(centroids);
  __m256i acc[R * G];
#pragma GCC unroll 32
  for (int i = 0; i < R * G; ++i) acc[i] = _mm256_setzero_si256();
  // Half-chunk h (values [16 h, 16 h + 16)) with row r's values at rows[r] + offset; centroid
  // g's at c0 + ((h / 2) G + g) 64 + (h % 2) 32 bytes (quantize_centroids()).
  auto add_half = [&](std::int64_t h, const std::uint8_t* const* rows, std::int64_t offset) __attribute__((always_inline)) {
    const char* c = c0 + (h >> 1) * G * 64 + (h & 1) * 32;
    __m256i xv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
      xv[r] = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + offset)));
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g) {
      const __m256i cv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + g * 64));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r * G + g] = _mm256_add_epi32(acc[r * G + g], _mm256_madd_epi16(xv[r], cv));
    }
  };
  const std::int64_t whole = d / kHalf, halves = (d + kHalf - 1) / kHalf;
  bool tail = false;
  for (std::int64_t base = 0; base < halves; base += 64) {
    std::uint64_t left = (base == 0 ? live : ~std::uint64_t{0}) &
                         (halves - base >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << (halves - base)) - 1);
    if (whole < halves && whole >= base && whole - base < 64) {  // the partial half-chunk: after the loop
      tail = (left >> (whole - base) & 1) != 0;
      left &= ~(std::uint64_t{1} << (whole - base));
    }
    for (; left; left &= left - 1) {
      const std::int64_t h = base + __builtin_ctzll(left);
      add_half(h, x, h * kHalf);
    }
  }
  if (tail) {  // the rows' last values, then zeros (no read past a row; the centroids' padding is zero)
    alignas(16) std::uint8_t padded[R][kHalf] = {};
    const std::uint8_t* rows[R];
    for (int r = 0; r < R; ++r) {
      std::memcpy(padded[r], x[r] + whole * kHalf, static_cast<std::size_t>(d - whole * kHalf));
      rows[r] = padded[r];
    }
    add_half(whole, rows, 0);
  }
  hsums8<R * G>(acc, out);
}
#endif

// The chunks of `step` values (16, 32 or 64) that hold a nonzero value in any of R rows, from
// the rows' masks of 16-value chunks (row_chunk_masks(), d <= kChunkMaskMaxD; nullptr:
// every chunk), as int_dot_tile() takes them.
template <int R>
std::uint64_t live_chunks(const std::uint64_t* masks, int step) {
  if (!masks) return ~std::uint64_t{0};
  std::uint64_t m = 0;
  for (int r = 0; r < R; ++r) m |= masks[r];
  if (step == 16) return m;
#if defined(__BMI2__)
  if (step == 64) return _pext_u64(m | m >> 1 | m >> 2 | m >> 3, 0x1111111111111111ULL);
  return _pext_u64(m | m >> 1, 0x5555555555555555ULL);
#else
  const int per = step / 16;  // 16-value chunks per chunk
  std::uint64_t out = 0;
  for (int i = 0; i * per < 64; ++i) out |= static_cast<std::uint64_t>((m >> (i * per) & ((1u << per) - 1)) != 0) << i;
  return out;
#endif
}

// sum_j x_j, by sums of absolute differences from zero (eight bytes per 64-bit lane).
#if defined(__AVX512BW__)
std::uint64_t byte_sum(const std::uint8_t* x, std::int64_t d) {
  __m512i acc = _mm512_setzero_si512();
  for (std::int64_t j = 0; j < d; j += 64) {
    const std::int64_t left = d - j;
    const auto m = left >= 64 ? ~__mmask64{0} : static_cast<__mmask64>((std::uint64_t{1} << left) - 1);
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_maskz_loadu_epi8(m, x + j), _mm512_setzero_si512()));
  }
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, acc);
  std::uint64_t sum = 0;
  for (std::uint64_t v : lanes) sum += v;
  return sum;
}
#else
std::uint64_t byte_sum(const std::uint8_t* x, std::int64_t d) {
  __m256i acc = _mm256_setzero_si256();
  std::int64_t j = 0;
  for (; j + 32 <= d; j += 32)
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j)),
                                                _mm256_setzero_si256()));
  alignas(32) std::uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
  std::uint64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; j < d; ++j) sum += x[j];
  return sum;
}
#endif

// The margin m of a row (the kernel's |x_f|^2 xx, the sum of its values) with the centroids
// rounded in steps of `unit` (2^-shift, or Q.unit8): see assign_uint8().
[[gnu::always_inline]] inline double row_margin(float xx, std::uint64_t row_sum, double unit, const IntCentroids& Q, ValueError err, std::int64_t d) {
  // |x_f| from the kernel's |x_f|^2, which is at most rel / 2 low.
  const double xn = std::sqrt(static_cast<double>(xx) * (1 + err.rel)) * kOut;
  const double s = xn + Q.norm_max;
  const double quant = unit * static_cast<double>(row_sum);
  return (err.rel * s * s + err.abs + quant + 0x1p-22 * xn * Q.norm_max +
          static_cast<double>(d + 8) * 0x1p-50 * (s * s + quant)) * kOut;
}

// k rounded up to whole vectors of doubles: the D_c of a row as settled_centroid() takes them.
int padded_k(int k) {
#if defined(__AVX512F__)
  constexpr int kDoubles = 8;
#else
  constexpr int kDoubles = 4;
#endif
  return (k + kDoubles - 1) / kDoubles * kDoubles;
}

// The centroid whose D_c (dv[0, kp): padded with +inf to whole vectors of doubles) is more than
// 2 m below every other's, or -1.
[[gnu::always_inline]] inline int settled_centroid(const double* dv, int kp, double m) {
  int count = 0, lane = -1;
#if defined(__AVX512F__)
  // (Vector extensions, not _mm512_min_pd: GCC 12's header trips -Wmaybe-uninitialized.)
  using vd = simd::vec<double>;
  auto min = [](vd a, vd b) { return a < b ? a : b; };
  vd low = simd::load<double>(dv);
  for (int c = 8; c < kp; c += 8) low = min(low, simd::load<double>(dv + c));
  typedef std::int64_t idx __attribute__((vector_size(64)));
  low = min(low, __builtin_shuffle(low, idx{4, 5, 6, 7, 0, 1, 2, 3}));
  low = min(low, __builtin_shuffle(low, idx{2, 3, 0, 1, 6, 7, 4, 5}));
  const double least = std::min(low[0], low[1]);
#elif defined(__AVX2__)
  // (Intrinsics on 4 doubles: GCC 12 makes 64-byte vectors and their shuffles of AVX2 code
  // into stack traffic, and one value at a time is a chain of kp dependent minima.)
  __m256d low = _mm256_loadu_pd(dv);
  for (int c = 4; c < kp; c += 4) low = _mm256_min_pd(low, _mm256_loadu_pd(dv + c));
  const __m128d half = _mm_min_pd(_mm256_castpd256_pd128(low), _mm256_extractf128_pd(low, 1));
  const double least = std::min(half[0], half[1]);
#else
  double least = dv[0];
  for (int c = 1; c < kp; ++c) least = std::min(least, dv[c]);
#endif
  // Every D_c within 2 m of the least (the sum's rounding covered by the last term):
  // settled when that is the least alone.
  const double bound = least + (2 * m * kOut + 0x1p-50 * std::fabs(least));
#if defined(__AVX512F__)
  const __m512d within = _mm512_set1_pd(bound);
  for (int c = 0; c < kp; c += 8) {
    const auto mask = static_cast<unsigned>(_mm512_cmp_pd_mask(_mm512_loadu_pd(dv + c), within, _CMP_LE_OQ));
    if (mask && count == 0) lane = c + __builtin_ctz(mask);
    count += __builtin_popcount(mask);
  }
#elif defined(__AVX2__)
  // The compares' masks gathered into one word per 64 centroids, then counted: no branch on
  // where the lane lies, and one count a word, not a chain of dependent steps per vector
  // (which took a fifth of the integer E-step's own time). Where the count is 1, one word
  // is nonzero, and the sum of the nonzero words' first lanes is that lane.
  const __m256d within = _mm256_set1_pd(bound);
  int lanes = 0;
  for (int c0 = 0; c0 < kp; c0 += 64) {
    std::uint64_t mask = 0;
    for (int c = c0; c < std::min(kp, c0 + 64); c += 4)
      mask |= static_cast<std::uint64_t>(_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(dv + c), within, _CMP_LE_OQ)))
              << (c - c0);
    lanes += (mask != 0) * (c0 + std::countr_zero(mask));
    count += std::popcount(mask);
  }
  lane = lanes;
#else
  for (int c = kp - 1; c >= 0; --c) {  // without branches (the first lane within wins)
    const bool within = dv[c] <= bound;
    lane = within ? c : lane;
    count += within;
  }
#endif
  return count == 1 ? lane : -1;
}

template <int R, bool Bytes, int G = kMaxGroup>
void int_dot_group(int g, const std::uint8_t* const* x, std::int64_t d, const void* c, std::uint64_t live,
                   std::int32_t* out) {
  if constexpr (G >= 1) {
    if (g == G) return int_dot_tile<R, G, Bytes>(x, d, c, live, out);
    int_dot_group<R, Bytes, G - 1>(g, x, d, c, live, out);
  }
}

}  // namespace

// Why the margin m below bounds |V_c - (|x_f|^2 + D_c + K)| for every centroid c (V_c the
// float kernel's value, D_c as computed here, K a constant of the row; x_f,j = fl(x_j s), s the
// scale; c the float centroid; u the grid's step, 2^-shift for int16, unit8 for int8):
//  - the kernel: |V_c - T_c| <= rel (|x_f| + |c|)^2 + abs (value_error()), T_c = |x_f - c|^2;
//  - the centroid's rounding: int16 q_j = round(s c_j 2^shift) (s c_j is exact in double),
//    int8 q_j + offset8 = round(fl(factor8 s c_j)): q_j + offset8 (int8; offset8 0 for int16)
//    is within 1/2 a step of s c_j / u (unit8 covers fl()'s rounding), so with
//    P_c = sum_j x_j q_j, |sum_j x_j s c_j - u (P_c + offset8 sum_j x_j)| <= (u/2) sum_j x_j,
//    twice that in T_c; K = -2 u offset8 sum_j x_j is the same for every c;
//  - the row's: x_f,j = x_j s (1 + t_j), |t_j| <= 2^-24, so |x_f.c - sum_j x_j s c_j| <=
//    2^-24 |x_s| |c|, twice that (and a little) is below 2^-22 |x_f| |c|;
//  - D_c = fl(n_c - 2u P_c) with n_c the double sum of c's squares ((d + 4) ulps), the
//    product exact for int16 (a power of two), and for int8 two roundings of a value of at
//    most about 2 sqrt(d) |x_f| |c| (|q_j| u <= ~max_j |s c_j|): below (d + 8) 2^-50 ((|x_f| + |c|)^2 + u sum_j x_j).
// So if the smallest D_b is more than 2 m below every other D_c, V_c > V_b for every c != b.
void assign_uint8(const std::uint8_t* X, std::int64_t rows, std::int64_t d, const PackedCentroids<float>& C,
                  const IntCentroids& Q, const float* xx, const std::uint32_t* sums, const std::uint64_t* live,
                  PairBlock pairs, std::int32_t* labels) {
  const int k = Q.k;
  const int kp = padded_k(k);
  const ValueError err = value_error<float>(d);
  const bool bytes = Q.bytes_usable();
  std::vector<double> dc(static_cast<std::size_t>(kBlockRows * kp), std::numeric_limits<double>::infinity());
  std::vector<float> vals;
  std::int32_t dots[kTileRows * kMaxGroup];

  // 2^(1 - shift): an exact power of two, once per call (an ldexp per tile was 1.3% of a Lloyd iteration).
  const double to_value16 = std::ldexp(1.0, 1 - Q.shift);
  // D_c = |c|^2 - to_value P_c of centroids [c0, c0 + n), from their sums P at `dot`, into out[c0, c0 + n).
  auto values_of_sums = [&](const std::int32_t* dot, int c0, int n, double to_value, double* out) {
    for (int t = 0; t < n; ++t)
      out[c0 + t] = Q.norms[static_cast<std::size_t>(c0 + t)] - to_value * static_cast<double>(dot[t]);
  };
  // D_c of R rows (R x kp at out), from the int8 (Bytes) or the int16 centroids;
  // masks: the R rows' row_chunk_masks(), or nullptr.
  auto fill = [&]<int R, bool Bytes>(const std::uint8_t* const* x, const std::uint64_t* masks, double* out) {
    const std::uint64_t chunks = live_chunks<R>(masks, Bytes ? 64 : kLiveStep16);
    for (int c0 = 0; c0 < k; c0 += kMaxGroup) {
      const int g = std::min(kMaxGroup, k - c0);
      const void* q = Bytes ? static_cast<const void*>(Q.values8.data() + c0 * Q.stride8)
                            : static_cast<const void*>(Q.values.data() + c0 * Q.stride);
      int_dot_group<R, Bytes>(g, x, d, q, chunks, dots);
      for (int r = 0; r < R; ++r) values_of_sums(dots + r * g, c0, g, Bytes ? Q.to_value8 : to_value16, out + r * kp);
    }
  };
  // The same D_c from the pair kernel (pair_rows.hpp): row i's, at out.
  const bool by_pairs = pairs.rows && Q.pairs.usable();
  std::vector<std::int32_t> pair_sums(static_cast<std::size_t>(8 * Q.pairs.groups));
  auto fill_by_pairs = [&](std::int64_t i, double* out) {
    pairs.rows->dots(pairs.first + i, Q.pairs, pair_sums.data());
    values_of_sums(pair_sums.data(), 0, k, to_value16, out);
  };
  // The margin of row i with the centroids rounded in steps of `unit` (unit16 or Q.unit8).
  const double unit16 = std::ldexp(1.0, -Q.shift);
  auto margin = [&](std::int64_t i, double unit) {
    return row_margin(xx[i], sums ? sums[i] : byte_sum(X + i * d, d), unit, Q, err, d);
  };
  auto settled = [kp](const double* dv, double m) { return settled_centroid(dv, kp, m); };
  // Each pass over all the rows before the next (the int8 sums, then the int16 ones for the
  // rows they leave, two at a time, then the float values for the rows left after that): the
  // passes' unrolled kernels taken in turns row by row ran the int8 one up to twice as slowly
  // (MNIST, the first 10 images as centroids: a quarter of the rows left to the int16 pass).
  // pending: the rows the pass before left, in order; left: those this pass leaves.
  std::vector<std::int64_t> pending, left;
  pending.reserve(static_cast<std::size_t>(rows));
  // Rows i[0..n) through the int16 sums, R at a time (n a multiple of R, at most kBlockRows),
  // then the rows they settle labelled. All n rows' D_c before any row is settled: one row's
  // settling is a chain of dependent steps (values, least, count), which the out-of-order core
  // overlaps across the rows of a block, not across a kernel call (AVX2 Lloyd 1.1x).
  auto int16_rows = [&]<int R>(const std::int64_t* i, int n) {
    if (by_pairs) {
      for (int t = 0; t < n; ++t) fill_by_pairs(i[t], dc.data() + t * kp);
    } else {
      for (int t = 0; t < n; t += R) {
        const std::uint8_t* x[R];
        std::uint64_t masks[R];
        for (int r = 0; r < R; ++r) {
          x[r] = X + i[t + r] * d;
          masks[r] = live ? live[i[t + r]] : 0;
        }
        fill.template operator()<R, false>(x, live ? masks : nullptr, dc.data() + t * kp);
      }
    }
    for (int t = 0; t < n; ++t) {
      const int b = settled(dc.data() + t * kp, margin(i[t], unit16));
      if (b >= 0)
        labels[i[t]] = b;
      else
        left.push_back(i[t]);
    }
  };
  auto int16_pass = [&] {
    std::size_t p = 0;
    for (; p + kBlockRows <= pending.size(); p += kBlockRows) int16_rows.template operator()<kTileRows>(pending.data() + p, kBlockRows);
    const int tiles = static_cast<int>(pending.size() - p) / kTileRows * kTileRows;
    int16_rows.template operator()<kTileRows>(pending.data() + p, tiles);
    p += static_cast<std::size_t>(tiles);
    int16_rows.template operator()<1>(pending.data() + p, static_cast<int>(pending.size() - p));
    for (std::int64_t i : left) float_choice(X + i * d, d, C, Q.scale, xx[i], vals, labels[i]);
  };
#if HPCB_INT8_PASS
  // Rows [i, i + R) through the int8 sums, those they do not settle to `pending`.
  auto int8_tile = [&]<int R>(std::int64_t i) {
    const std::uint8_t* x[R];
    for (int r = 0; r < R; ++r) x[r] = X + (i + r) * d;
    fill.template operator()<R, true>(x, live ? live + i : nullptr, dc.data());
    for (int r = 0; r < R; ++r) {
      const int b = settled(dc.data() + r * kp, margin(i + r, Q.unit8));
      if (b >= 0)
        labels[i + r] = b;
      else
        pending.push_back(i + r);
    }
  };
#endif
  std::int64_t i = 0;
  if (Q.amx.usable()) {
    // Rows 32 at a time by AMX while a row follows them (the tiles read a little past the
    // 32nd): the exact int16 sums of all k centroids at once, then the int16 margin (no
    // int8 pass: the sums cost less than its margin test would save).
    std::vector<std::int64_t> P(32 * 16);
    std::vector<double> dv(static_cast<std::size_t>(32 * kp), std::numeric_limits<double>::infinity());
    amx_begin();
    for (; i + 32 < rows; i += 32) {
      for (int g = 0; g * 16 < k; ++g) {
        amx_dots(X + i * d, Q.amx, g, P.data());
        for (int r = 0; r < 32; ++r)
          for (int t = 0; t < 16 && g * 16 + t < k; ++t)
            dv[static_cast<std::size_t>(r * kp + g * 16 + t)] =
                Q.norms[static_cast<std::size_t>(g * 16 + t)] - to_value16 * static_cast<double>(P[static_cast<std::size_t>(r * 16 + t)]);
      }
      for (int r = 0; r < 32; ++r) {
        const int b = settled(dv.data() + r * kp, margin(i + r, unit16));
        if (b >= 0)
          labels[i + r] = b;
        else
          float_choice(X + (i + r) * d, d, C, Q.scale, xx[i + r], vals, labels[i + r]);
      }
    }
    amx_end();
  }
  if (!bytes) {  // the int16 pass alone, over the rows the AMX loop left
    for (; i < rows; ++i) pending.push_back(i);
  } else {
#if HPCB_INT8_PASS  // (else quantize_centroids() makes no int8 centroids)
    for (; i + kTileRows <= rows; i += kTileRows) int8_tile.template operator()<kTileRows>(i);
    for (; i < rows; ++i) int8_tile.template operator()<1>(i);
#endif
  }
  int16_pass();
}

// The estimates' error: |T_c - (|x_f|^2 + D_c)| is at most the margin m less its first term
// (the kernel's error, which T_c does not have: see above); the kernel's |x_f|^2, xx, is
// within (rel / 2) |x_f|^2 of it, so within rel xx; and the estimate xx + D_c rounds once,
// by at most 2^-53 (xx + |D_c|), |D_c| <= (|x_f| + |c|)^2 = s^2. The bound takes m whole.
namespace {
// What the estimates take from the call alone (not the row): once a call.
struct EstimateTerms {
  EstimateTerms(const IntCentroids& Q, std::int64_t d)
      : err(value_error<float>(d)), to_value16(std::ldexp(1.0, 1 - Q.shift)), unit16(std::ldexp(1.0, -Q.shift)) {}
  ValueError err;
  double to_value16, unit16;
};

// Row i's estimates (entry r of out) from its exact int16 sums P_c (dots[0, k)); dc: kp
// doubles of room, padded with +inf past k.
void estimate_row(std::int64_t i, std::size_t r, const std::int32_t* dots, std::int64_t d, const IntCentroids& Q,
                  const EstimateTerms& e, const float* xx, const std::uint32_t* sums, double* dc, RowEstimates& out) {
  const int k = Q.k;
  for (int c = 0; c < k; ++c)
    dc[c] = Q.norms[static_cast<std::size_t>(c)] - e.to_value16 * static_cast<double>(dots[c]);
  const double m = row_margin(xx[i], sums[i], e.unit16, Q, e.err, d);
  out.label[r] = settled_centroid(dc, padded_k(k), m);
  const double x2 = static_cast<double>(xx[i]);
  double* v = out.values.data() + r * static_cast<std::size_t>(k);
  for (int c = 0; c < k; ++c) v[c] = x2 + dc[c];
  const double xn = std::sqrt(x2 * (1 + e.err.rel)) * kOut, s = xn + Q.norm_max;
  out.error[r] = (m + e.err.rel * x2 + 0x1p-52 * (x2 + s * s)) * kOut;
}

// The outputs sized for n rows, and the working buffers for k centroids (kept in `out`
// between calls, once per block of rows: no allocation after the first).
void size_estimates(std::int64_t n, const IntCentroids& Q, std::size_t sums, RowEstimates& out) {
  const auto nn = static_cast<std::size_t>(n);
  out.values.resize(nn * static_cast<std::size_t>(Q.k));
  out.error.resize(nn);
  out.label.resize(nn);
  out.sums.resize(sums);
  out.row_values.assign(static_cast<std::size_t>(padded_k(Q.k)), std::numeric_limits<double>::infinity());
}
}  // namespace

void pair_estimates(const PairRows& pairs, const std::int64_t* rows, std::int64_t n, std::int64_t d,
                    const IntCentroids& Q, const float* xx, const std::uint32_t* sums, RowEstimates& out) {
  size_estimates(n, Q, static_cast<std::size_t>(8 * Q.pairs.groups), out);
  const EstimateTerms terms(Q, d);
  for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
    // The rows are scattered (those the bounds left): the pairs of the row two ahead asked for
    // first, as LaneRows::values() does.
    if (r + 2 < static_cast<std::size_t>(n)) pairs.prefetch_row(rows[r + 2]);
    pairs.dots(rows[r], Q.pairs, out.sums.data());
    estimate_row(rows[r], r, out.sums.data(), d, Q, terms, xx, sums, out.row_values.data(), out);
  }
}

void dense_estimates(const std::uint8_t* X, const std::int64_t* rows, std::int64_t n, std::int64_t d,
                     const IntCentroids& Q, const float* xx, const std::uint32_t* sums, const std::uint64_t* live,
                     RowEstimates& out) {
  const int k = Q.k;
  const auto ku = static_cast<std::size_t>(k);
  size_estimates(n, Q, kTileRows * ku, out);
  const EstimateTerms terms(Q, d);
  std::int32_t dots[kTileRows * kMaxGroup];
  // Rows [r, r + R) of the list: their int16 sums of every group of centroids, then each
  // row's estimates. The row kTileRows on asked for first (the rows are scattered).
  auto tile = [&]<int R>(std::size_t r) {
    const std::uint8_t* x[R];
    std::uint64_t masks[R];
    for (int t = 0; t < R; ++t) {
      x[t] = X + rows[r + static_cast<std::size_t>(t)] * d;
      masks[t] = live ? live[rows[r + static_cast<std::size_t>(t)]] : 0;
      if (r + kTileRows + static_cast<std::size_t>(t) < static_cast<std::size_t>(n))
        prefetch_bytes(X + rows[r + kTileRows + static_cast<std::size_t>(t)] * d, static_cast<std::size_t>(d));
    }
    const std::uint64_t chunks = live_chunks<R>(live ? masks : nullptr, kLiveStep16);
    for (int c0 = 0; c0 < k; c0 += kMaxGroup) {
      const int g = std::min(kMaxGroup, k - c0);
      int_dot_group<R, false>(g, x, d, Q.values.data() + c0 * Q.stride, chunks, dots);
      for (int t = 0; t < R; ++t)
        std::copy_n(dots + t * g, g, out.sums.data() + static_cast<std::size_t>(t) * ku + static_cast<std::size_t>(c0));
    }
    for (int t = 0; t < R; ++t)
      estimate_row(rows[r + static_cast<std::size_t>(t)], r + static_cast<std::size_t>(t),
                   out.sums.data() + static_cast<std::size_t>(t) * ku, d, Q, terms, xx, sums, out.row_values.data(), out);
  };
  std::size_t r = 0;
  for (; r + kTileRows <= static_cast<std::size_t>(n); r += kTileRows) tile.template operator()<kTileRows>(r);
  for (; r < static_cast<std::size_t>(n); ++r) tile.template operator()<1>(r);
}

#else

bool int_assign_built() { return false; }

// Never called (quantize_centroids() gives nothing usable here); correct all the same.
void assign_uint8(const std::uint8_t* X, std::int64_t rows, std::int64_t d, const PackedCentroids<float>& C,
                  const IntCentroids& Q, const float* xx, const std::uint32_t*, const std::uint64_t*, PairBlock,
                  std::int32_t* labels) {
  std::vector<float> vals;
  for (std::int64_t i = 0; i < rows; ++i) float_choice(X + i * d, d, C, Q.scale, xx[i], vals, labels[i]);
}


// Never called (quantize_centroids() gives nothing usable here): no row settled.
namespace {
void no_estimates(std::int64_t n, const IntCentroids& Q, RowEstimates& out) {
  out.values.assign(static_cast<std::size_t>(n * Q.k), 0.0);
  out.error.assign(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  out.label.assign(static_cast<std::size_t>(n), -1);
}
}  // namespace
void pair_estimates(const PairRows&, const std::int64_t*, std::int64_t n, std::int64_t, const IntCentroids& Q,
                    const float*, const std::uint32_t*, RowEstimates& out) {
  no_estimates(n, Q, out);
}
void dense_estimates(const std::uint8_t*, const std::int64_t*, std::int64_t n, std::int64_t, const IntCentroids& Q,
                     const float*, const std::uint32_t*, const std::uint64_t*, RowEstimates& out) {
  no_estimates(n, Q, out);
}

#endif

void row_sums(const std::uint8_t* X, std::int64_t rows, std::int64_t d, std::uint32_t* sums) {
  // (d < 2^24 where the integer path applies: no overflow.)
  for (std::int64_t i = 0; i < rows; ++i) {
#if HPCB_INT_KERNEL
    sums[i] = static_cast<std::uint32_t>(byte_sum(X + i * d, d));  // 32 or 64 bytes an instruction
#else
    std::uint32_t sum = 0;
    for (std::int64_t j = 0; j < d; ++j) sum += X[i * d + j];
    sums[i] = sum;
#endif
  }
}

IntCentroids quantize_centroids(const double* C, int k, std::int64_t d, float scale, ForPairs for_pairs) {
  IntCentroids Q;
  // A normal scale keeps the rows' rounding relative (2^-24), as the margin assumes.
  if (!int_assign_built() || k < 1 || d < 1 || !(scale >= 0x1p-100f) || !std::isfinite(scale)) return Q;
  const std::int64_t stride = (d + kChunk - 1) / kChunk * kChunk;
  // Every partial sum of x_j q_j below 2^31 in magnitude, and q an int16.
  const std::int64_t limit = std::min<std::int64_t>(32767, (std::int64_t{1} << 31) / (kMaxX * stride) - 1);
  if (limit < 1) return Q;
  // The float centroids, as pack_centroids() rounds them, and the largest |s c_j|.
  // (Branch-free loops, which the compiler vectorises: this runs at every E-step, on every worker.)
  std::vector<float> cf(static_cast<std::size_t>(k * d));
  for (std::size_t i = 0; i < cf.size(); ++i) cf[i] = static_cast<float>(C[i]);
  const double fmax = max_abs<float>(cf.data(), k * d);  // not finite where some c_j is not
  if (!std::isfinite(fmax)) return Q;
  const double cmax = static_cast<double>(scale) * fmax;  // exact
  double norm_max = 0;
  std::vector<double> norms(static_cast<std::size_t>(k));
  for (int c = 0; c < k; ++c) {
    // (Four chains: the margin needs only the sum's error bound, d / 32 + 6 ulps, within its
    // d + 4; one chain of d / 8 dependent adds took half of this function's time.)
    norms[static_cast<std::size_t>(c)] = sq_distance_fast<float, float>(cf.data() + c * d, nullptr, d, 1.0);
    norm_max = std::max(norm_max, norms[static_cast<std::size_t>(c)]);
  }
  norm_max = std::sqrt(norm_max * (1 + static_cast<double>(d + 4) * 0x1p-52)) * kOut;
  // The kernel's values stay below (|x_f| + |c|)^2 < 2^100, far from float overflow.
  const double row_max = static_cast<double>(kMaxX) * scale * std::sqrt(static_cast<double>(d)) * kOut;
  if (!(row_max + norm_max < 0x1p50)) return Q;
  // The largest shift with cmax 2^shift <= most.
  auto shift_for = [cmax](std::int64_t most) {
    if (!(cmax > 0)) return 0;
    int e = 0;
    std::frexp(static_cast<double>(most) / cmax, &e);  // in [2^(e-1), 2^e)
    return std::min(e - 1, 60);
  };
  const int shift = shift_for(limit);
  Q.k = k;
  Q.shift = shift;
  Q.stride = stride;
  Q.norms = std::move(norms);
  Q.norm_max = norm_max;
  Q.scale = scale;
  Q.values.assign(static_cast<std::size_t>(k * stride), 0);
  if (k >= kIntAmxMinK) Q.amx = amx_layout(k, d);
  if (for_pairs == ForPairs::yes && pair_rows_built() && d <= kPairRowsMaxD) Q.pairs = pair_layout(k, d);
  const double factor = static_cast<double>(scale) * std::ldexp(1.0, shift);  // exact: times a power of two
  // Centroid c's q, a whole row (a loop the compiler vectorises), then into each layout.
  std::vector<std::int16_t> q(static_cast<std::size_t>(stride), 0);
  for (int c = 0; c < k; ++c) {
    const float* src = cf.data() + c * d;
    for (std::int64_t j = 0; j < d; ++j) q[static_cast<std::size_t>(j)] = static_cast<std::int16_t>(std::nearbyint(factor * src[j]));
    const int c0 = c / kMaxGroup * kMaxGroup, g = std::min(kMaxGroup, k - c0), t = c - c0;
    for (std::int64_t j0 = 0; j0 < d; j0 += kChunk)  // chunk by chunk in its group of g
      std::copy_n(q.data() + j0, std::min<std::int64_t>(kChunk, d - j0),
                  Q.values.data() + c0 * stride + (j0 / kChunk * g + t) * kChunk);
    if (Q.amx.usable())
      for (std::int64_t j = 0; j < d; ++j) amx_set(Q.amx, c, j, q[static_cast<std::size_t>(j)]);
    if (Q.pairs.usable()) pair_set_row(Q.pairs, c, q.data(), d);  // (q is zero past d)
  }
  // int8: |q| <= 127, and every partial sum of x_j q_j below 2^31. Up to kIntBytesMaxK
  // centroids: with more, more of them lie near each row's nearest, the int8 margin leaves
  // more rows to the int16 pass, and the first pass stops paying (MNIST, Lloyd iteration,
  // kmeans_seq, interleaved, against the int16 pass alone: k = 32 0.89x, 64 0.95x, 100
  // 1.0x, 256 1.03x the time).
  const std::int64_t stride8 = (d + 63) / 64 * 64;
  if (HPCB_INT8_PASS && k <= kIntBytesMaxK && stride8 * kMaxX * 127 < (std::int64_t{1} << 31)) {
    // The grid spans the values' range, centred on it: q + offset8 = round(factor8 s c_j)
    // with q in [-127, 127], any factor (2^-shift8 grids of MNIST's means used 64 to 127
    // of the 255 steps, and left twice as many rows to the int16 pass).
    const auto [fmin, fmax8] = value_range(cf);
    const double lo = static_cast<double>(scale) * fmin, hi = static_cast<double>(scale) * fmax8;  // exact
    const double span = hi - lo, far = std::max(std::fabs(lo), std::fabs(hi));
    // 252 steps over the span: |factor8 s c_j - offset8| <= 126 + 1/2 and a rounding; and
    // |factor8 s c_j| at most 2^24 (one value, or none but zeros: no span to fill).
    double factor8 = far > 0 ? 0x1p24 / far : 1.0;
    if (span > 0) factor8 = std::min(factor8, 252 / span);
    Q.factor8 = factor8;
    const double offset8 = std::nearbyint(factor8 * (lo + (hi - lo) / 2));  // a whole number
    Q.to_value8 = 2 / factor8;
    // The product factor8 s c_j (at most 2^24) rounds by at most 2^-29: |q_j + offset8 -
    // factor8 s c_j| <= (1/2)(1 + 2^-28), which a step of (1/factor8)(1 + 2^-26) covers in the
    // margin, and the roundings of 1/factor8 and of the margin's product with it too.
    Q.unit8 = 1 / factor8 * (1 + 0x1p-26);
    Q.stride8 = stride8;
    Q.values8.assign(static_cast<std::size_t>(k * stride8), 0);
    for (int c0 = 0; c0 < k; c0 += kMaxGroup) {
      const int g = std::min(kMaxGroup, k - c0);
      for (int t = 0; t < g; ++t)
        for (std::int64_t j0 = 0; j0 < d; j0 += 64) {
          const float* src = cf.data() + (c0 + t) * d + j0;
          std::int8_t* dst = Q.values8.data() + c0 * stride8 + (j0 / 64 * g + t) * 64;
          const std::int64_t n = std::min<std::int64_t>(64, d - j0);
          for (std::int64_t l = 0; l < n; ++l)
            dst[l] = static_cast<std::int8_t>(
                std::nearbyint(factor8 * (static_cast<double>(scale) * src[l])) - offset8);
        }
    }
  }
  return Q;
}

}  // namespace hpcb::kmeans
