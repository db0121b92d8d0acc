#include "kmeans/estep.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "common/simd.hpp"

namespace hpcb::kmeans {
namespace {

// Outward rounding of bound arithmetic done in double: one operation errs by
// at most half an ulp (2^-53 relative) or, below the normal range, by the
// smallest subnormal; up() and down() step past both. Infinities pass.
constexpr double kUlp = 0x1p-52;
constexpr double kTiny = std::numeric_limits<double>::denorm_min();
double up(double v) { return std::isinf(v) ? v : v + std::fabs(v) * kUlp + kTiny; }
double down(double v) { return std::isinf(v) ? v : v - std::fabs(v) * kUlp - kTiny; }

// Bounds are stored and updated as float (half the memory of Elkan's n x k
// bounds, twice the SIMD lanes), always rounded outwards. For a positive
// finite float the next float down is the bit pattern minus one.
float next_down(float f) { return std::bit_cast<float>(std::bit_cast<std::int32_t>(f) - 1); }
float next_up(float f) { return std::bit_cast<float>(std::bit_cast<std::int32_t>(f) + 1); }
// A lower bound (>= 0) from a double one; NaN gives 0, no bound.
float float_down(double v) {
  if (!(v > 0)) return 0.0f;
  const float f = static_cast<float>(v);
  return static_cast<double>(f) > v ? next_down(f) : f;
}
// An upper bound from a double one (>= 0); NaN stays NaN, which clears nothing.
float float_up(double v) {
  if (!(v > 0)) return std::isnan(v) ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
  const float f = static_cast<float>(v);
  return static_cast<double>(f) < v && !std::isinf(f) ? next_up(f) : f;
}
// lower - move as a lower bound: one float subtraction, then a step down for
// its rounding; 0 (always a valid bound) when it is not positive or is NaN.
float decay(float lower, float move) {
  const float l = lower - move;
  return l > 0 ? next_down(l) : 0.0f;
}

// |a - b| (exact real distance of two D vectors, b = nullptr: |a|) from a double sum of d
// squares (sq_distance_fast(): a square passes through at most d / 32 + 6 additions), whose
// relative error (d + 4) ulps covers. (These sums run on every worker at every E-step, k (k
// + 1) / 2 + 2 k of them, 65 at k = 10: in one chain of eight sums, a chain of d / 8
// dependent additions, they took 21 us per E-step on MNIST; in a single chain of d, 68 us.)
template <class D>
double sq_sum_diff(const D* a, const D* b, std::int64_t d) {
  return sq_distance_fast<D, D>(a, b, d, 1.0);
}

template <class D>
double dist_up(const D* a, const D* b, std::int64_t d) {
  return up(std::sqrt(sq_sum_diff(a, b, d) * (1 + static_cast<double>(d + 4) * kUlp)));
}
template <class D>
double dist_down(const D* a, const D* b, std::int64_t d) {
  return std::max(0.0, down(std::sqrt(sq_sum_diff(a, b, d) * (1 - static_cast<double>(d + 4) * kUlp))));
}

#if defined(__AVX2__) && defined(__FMA__)
// sum_j (a_j - b_j)^2 in float (b nullptr: sum_j a_j^2): four chains of eight lanes (a fused
// multiply-add per square), the chains added pairwise, then the lanes by halves; the last
// values masked.
float float_sq_sum_diff(const float* a, const float* b, std::int64_t d) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  auto diff = [b](__m256 x, const float* y) __attribute__((always_inline)) { return b ? _mm256_sub_ps(x, _mm256_loadu_ps(y)) : x; };
  std::int64_t j = 0;
  for (; j + 32 <= d; j += 32)
    for (int q = 0; q < 4; ++q) {
      const __m256 t = diff(_mm256_loadu_ps(a + j + 8 * q), b + j + 8 * q);
      acc[q] = _mm256_fmadd_ps(t, t, acc[q]);
    }
  for (int q = 0; j < d; j += 8, ++q) {  // at most three whole groups of eight and a part
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<std::int64_t>(d - j, 8))),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 x = _mm256_maskload_ps(a + j, m);
    const __m256 t = b ? _mm256_sub_ps(x, _mm256_maskload_ps(b + j, m)) : x;
    acc[q] = _mm256_fmadd_ps(t, t, acc[q]);
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

// Four rows a against two rows c: out[2 p + q] = sum_j (a_p,j - c_q,j)^2 in float, each in one
// chain of eight lanes (eight values a step: the six rows' values loaded once for the eight
// sums), then the lanes by halves; the last values masked.
void float_sq_sums_diff4x2(const float* const a[4], const float* const c[2], std::int64_t d, float out[8]) {
  __m256 acc[8];
  for (auto& v : acc) v = _mm256_setzero_ps();
  auto step = [&](__m256 c0, __m256 c1, const __m256 (&av)[4]) __attribute__((always_inline)) {
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {
      const __m256 t0 = _mm256_sub_ps(av[p], c0), t1 = _mm256_sub_ps(av[p], c1);
      acc[2 * p] = _mm256_fmadd_ps(t0, t0, acc[2 * p]);
      acc[2 * p + 1] = _mm256_fmadd_ps(t1, t1, acc[2 * p + 1]);
    }
  };
  std::int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const __m256 av[4] = {_mm256_loadu_ps(a[0] + j), _mm256_loadu_ps(a[1] + j), _mm256_loadu_ps(a[2] + j),
                          _mm256_loadu_ps(a[3] + j)};
    step(_mm256_loadu_ps(c[0] + j), _mm256_loadu_ps(c[1] + j), av);
  }
  if (j < d) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(d - j)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 av[4] = {_mm256_maskload_ps(a[0] + j, m), _mm256_maskload_ps(a[1] + j, m), _mm256_maskload_ps(a[2] + j, m),
                          _mm256_maskload_ps(a[3] + j, m)};
    step(_mm256_maskload_ps(c[0] + j, m), _mm256_maskload_ps(c[1] + j, m), av);
  }
  for (int i = 0; i < 8; ++i) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[i]), _mm256_extractf128_ps(acc[i], 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    out[i] = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
  }
}
#endif

// The E-step's centroids' distances (and norms), rounded down and up: their moves, norms and
// half distances at every E-step that computes them exactly (k (k - 1) / 2 + 2 k sums over d).
// For float centroids, from the float sums above, whose error is bounded here: each difference
// rounds once (its square by 2^-23 and a little), each square then passes through at most m
// roundings (the fused multiply-adds of its lane, then the tree: m = ceil(d / 32) + 5 for four
// chains, ceil(d / 8) + 3 for one), so the sum is within (m + 3) 2^-24 of the exact one,
// relatively (gamma_m of a sum of squares), plus 2^-150 per rounding below the normal range;
// (m + 3) 2^-23 and (d + 64) 2^-149 cover both twice over. The bound below or above the exact
// distance from such a sum; false where the sum is not finite (values 1.8e19 apart: the
// caller takes the double sums, dist_down() and dist_up()).
enum class Side { below, above };
[[maybe_unused]] bool distance_of_float_sum(float sum, std::int64_t m, std::int64_t d, Side side, double& out) {
  const double s = static_cast<double>(sum);
  if (!std::isfinite(s)) return false;
  const double rel = static_cast<double>(m + 3) * 0x1p-23, abs = static_cast<double>(d + 64) * 0x1p-149;
  out = side == Side::below ? std::max(0.0, down(std::sqrt(std::max(0.0, down(down(s - abs) * (1 - rel))))))
                            : up(std::sqrt(up(up(s + abs) * (1 + rel))));
  return true;
}

// |a - b| (b nullptr: |a|) rounded down or up: float centroids from the float sum above, where it is finite.
template <class D>
double centroid_distance(const D* a, const D* b, std::int64_t d, Side side) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<D, float>) {
    double out;
    if (distance_of_float_sum(float_sq_sum_diff(a, b, d), (d + 31) / 32 + 5, d, side, out)) return out;
  }
#endif
  return side == Side::below ? dist_down<D>(a, b, d) : dist_up<D>(a, b, d);
}

// Branch-free outward rounding, for loops the compiler vectorises: each
// double operation errs by at most 2^-53 relative, so one factor (1 -+ 2^-50)
// covers up to 8 of them; the float conversion errs by 2^-24 relative, which
// (1 -+ 2^-23) covers, and tiny absolute terms cover subnormal results.
constexpr double kIn = 1 - 0x1p-50, kOut = 1 + 0x1p-50;

// A lower bound on the exact distance of a centroid whose kernel value is v
// (v >= exact - eps): 0 when v is not finite, as an overflowed value says
// nothing about the exact distance.
float lower_from_value(double v, double eps) {
  const double t = std::isfinite(v) ? (v - eps) * kIn : 0.0;
  const double s = std::sqrt(t > 0 ? t : 0.0) * kIn * (1 - 0x1p-23) - 0x1p-140;
  return static_cast<float>(s > 0 ? s : 0.0);
}

#if defined(__AVX512F__)
// lower_from_value() of eight values at once, the same operations.
inline __m256 lower_from_value8(__m512d x, __m512d eps) {
  const __m512d in = _mm512_set1_pd(kIn), zero = _mm512_setzero_pd();
  const __mmask8 finite = _mm512_cmp_pd_mask(_mm512_abs_pd(x), _mm512_set1_pd(std::numeric_limits<double>::max()),
                                             _CMP_LE_OQ);
  __m512d t = _mm512_maskz_mul_pd(finite, _mm512_sub_pd(x, eps), in);
  t = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(t, zero, _CMP_GT_OQ), t);
  __m512d r = _mm512_sub_pd(_mm512_mul_pd(_mm512_mul_pd(_mm512_maskz_sqrt_pd(0xFF, t), in),
                                          _mm512_set1_pd(1 - 0x1p-23)), _mm512_set1_pd(0x1p-140));
  r = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(r, zero, _CMP_GT_OQ), r);
  return _mm512_maskz_cvtpd_ps(0xFF, r);  // (zero-masked forms: see sq_sum_diff())
}

// threshold_of_value()'s square, t = (own + eps) kOut clamped at 0, eight lanes at a time;
// ok: the lanes where it gives a bound (own finite, t not NaN).
inline __m512d value_square8(__m512d own, __m512d eps, __mmask8& ok) {
  const __m512d t = _mm512_mul_pd(_mm512_add_pd(own, eps), _mm512_set1_pd(kOut));
  ok = _mm512_cmp_pd_mask(_mm512_abs_pd(own), _mm512_set1_pd(std::numeric_limits<double>::max()), _CMP_LE_OQ) &
       _mm512_cmp_pd_mask(t, t, _CMP_ORD_Q);
  return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(t, _mm512_setzero_pd(), _CMP_GT_OQ), t);
}

// threshold_of_upper()'s square, t = (upper^2 + 2 eps) kOut, eight lanes at a time; ok: the
// lanes where it gives a bound (t not NaN).
inline __m512d upper_square8(__m512d upper, __m512d eps, __mmask8& ok) {
  const __m512d t =
      _mm512_mul_pd(_mm512_add_pd(_mm512_mul_pd(upper, upper), _mm512_add_pd(eps, eps)), _mm512_set1_pd(kOut));
  ok = _mm512_cmp_pd_mask(t, t, _CMP_ORD_Q);
  return t;
}

// The threshold from its square t (>= 0), the last steps of threshold_of_value() and
// threshold_of_upper() eight lanes at a time; NaN (no bound) outside ok.
inline __m256 threshold_from_square8(__m512d t, __mmask8 ok) {
  const __m512d u = _mm512_mul_pd(_mm512_maskz_sqrt_pd(0xFF, _mm512_add_pd(t, _mm512_set1_pd(0x1p-1000))),
                                  _mm512_set1_pd(kOut));
  const __m256 tau = _mm512_maskz_cvtpd_ps(
      0xFF, _mm512_add_pd(_mm512_mul_pd(u, _mm512_set1_pd(1 + 0x1p-23)), _mm512_set1_pd(0x1p-140)));
  return _mm256_mask_blend_ps(ok, _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN()), tau);
}

// threshold_of_value() (below) of eight values at once, the same operations.
inline __m256 threshold_of_value8(__m512d own, __m512d eps) {
  __mmask8 ok;
  const __m512d t = value_square8(own, eps, ok);
  return threshold_from_square8(t, ok);
}

// A per-centroid table of k floats, looked up for sixteen labels at once: one permute of a
// register where the table fits one (k <= 16), else a gather.
class ByLabel16 {
 public:
  ByLabel16(const float* table, int k)
      : table_(table), in_register_(k <= 16),
        register_(in_register_ ? _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << k) - 1), table)
                               : _mm512_setzero_ps()) {}
  __m512 operator()(__m512i labels) const {
    // (Masked forms: the plain ones trip GCC 12's -Wmaybe-uninitialized in its own header.)
    return in_register_ ? _mm512_maskz_permutexvar_ps(0xFFFF, labels, register_)
                        : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, labels, table_, 4);
  }

 private:
  const float* table_;
  bool in_register_;
  __m512 register_;
};

// Up to eight D values from p (lanes beyond n zero), as doubles.
template <class D>
__m512d load8(const D* p, std::size_t n) {
  const auto m = static_cast<__mmask8>(n >= 8 ? 0xFF : (1u << n) - 1);
  if constexpr (std::is_same_v<D, float>)
    return _mm512_maskz_cvtps_pd(0xFF, _mm256_maskz_loadu_ps(m, p));
  else
    return _mm512_maskz_loadu_pd(m, p);
}
#elif defined(__AVX2__)
// The same forms four doubles at a time (eight floats for the tables): the same operations in
// the same order, so bit for bit the scalar functions; masks are lanes of all ones.
inline __m256d finite4(__m256d x) {
  return _mm256_cmp_pd(_mm256_andnot_pd(_mm256_set1_pd(-0.0), x), _mm256_set1_pd(std::numeric_limits<double>::max()),
                       _CMP_LE_OQ);
}
inline __m256d positive_or_zero4(__m256d x) { return _mm256_and_pd(_mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GT_OQ), x); }
// Four 64-bit mask lanes as four 32-bit ones.
inline __m128 narrow4(__m256d mask) {
  return _mm256_castps256_ps128(_mm256_permutevar8x32_ps(_mm256_castpd_ps(mask), _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)));
}

// decay_v()'s step on eight floats: x (a bound less a move) where above 0, the next float down;
// else 0.
inline __m256 next_down_or_zero8(__m256 x) {
  return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ),
                       _mm256_castsi256_ps(_mm256_sub_epi32(_mm256_castps_si256(x), _mm256_set1_epi32(1))));
}

// lower_from_value() of four values at once.
inline __m128 lower_from_value4(__m256d x, __m256d eps) {
  const __m256d in = _mm256_set1_pd(kIn);
  const __m256d t = positive_or_zero4(_mm256_and_pd(finite4(x), _mm256_mul_pd(_mm256_sub_pd(x, eps), in)));
  const __m256d r = _mm256_sub_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_sqrt_pd(t), in), _mm256_set1_pd(1 - 0x1p-23)),
                                  _mm256_set1_pd(0x1p-140));
  return _mm256_cvtpd_ps(positive_or_zero4(r));
}

// threshold_of_value()'s square, clamped at 0; ok: the lanes where it gives a bound.
inline __m256d value_square4(__m256d own, __m256d eps, __m256d& ok) {
  const __m256d t = _mm256_mul_pd(_mm256_add_pd(own, eps), _mm256_set1_pd(kOut));
  ok = _mm256_and_pd(finite4(own), _mm256_cmp_pd(t, t, _CMP_ORD_Q));
  return positive_or_zero4(t);
}

// threshold_of_upper()'s square; ok: the lanes where it gives a bound.
inline __m256d upper_square4(__m256d upper, __m256d eps, __m256d& ok) {
  const __m256d t =
      _mm256_mul_pd(_mm256_add_pd(_mm256_mul_pd(upper, upper), _mm256_add_pd(eps, eps)), _mm256_set1_pd(kOut));
  ok = _mm256_cmp_pd(t, t, _CMP_ORD_Q);
  return t;
}

// The threshold from its square t (>= 0); NaN (no bound) outside ok.
inline __m128 threshold_from_square4(__m256d t, __m256d ok) {
  const __m256d u = _mm256_mul_pd(_mm256_sqrt_pd(_mm256_add_pd(t, _mm256_set1_pd(0x1p-1000))), _mm256_set1_pd(kOut));
  const __m128 tau =
      _mm256_cvtpd_ps(_mm256_add_pd(_mm256_mul_pd(u, _mm256_set1_pd(1 + 0x1p-23)), _mm256_set1_pd(0x1p-140)));
  return _mm_blendv_ps(_mm_set1_ps(std::numeric_limits<float>::quiet_NaN()), tau, narrow4(ok));
}

inline __m128 threshold_of_value4(__m256d own, __m256d eps) {
  __m256d ok;
  const __m256d t = value_square4(own, eps, ok);
  return threshold_from_square4(t, ok);
}

// Up to four D values from p (lanes beyond n zero), as doubles.
template <class D>
__m256d load4(const D* p, std::size_t n = 4) {
  const __m256i lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(std::min<std::size_t>(n, 4))),
                                           _mm256_setr_epi64x(0, 1, 2, 3));
  if constexpr (std::is_same_v<D, float>)
    return _mm256_cvtps_pd(_mm_maskload_ps(p, _mm_castps_si128(narrow4(_mm256_castsi256_pd(lanes)))));
  else
    return _mm256_maskload_pd(p, lanes);
}

// A per-centroid table of k floats, looked up for eight labels at once: permutes of the one
// or two registers that hold it where k <= 16, else a gather.
class ByLabel8 {
 public:
  ByLabel8(const float* table, int k) : table_(table), k_(k) {
    if (k > 16) return;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    low_ = _mm256_maskload_ps(table, _mm256_cmpgt_epi32(_mm256_set1_epi32(k), lane));
    if (k > 8) high_ = _mm256_maskload_ps(table + 8, _mm256_cmpgt_epi32(_mm256_set1_epi32(k - 8), lane));
  }
  __m256 operator()(__m256i labels) const {
    if (k_ > 16) return _mm256_i32gather_ps(table_, labels, 4);
    const __m256 low = _mm256_permutevar8x32_ps(low_, labels);  // (by the labels' low three bits)
    if (k_ <= 8) return low;
    // Labels 8 to 15 have bit 3 set: shifted to the sign bit, blendv's choice.
    return _mm256_blendv_ps(low, _mm256_permutevar8x32_ps(high_, labels), _mm256_castsi256_ps(_mm256_slli_epi32(labels, 28)));
  }

 private:
  const float* table_;
  int k_;
  __m256 low_ = _mm256_setzero_ps(), high_ = _mm256_setzero_ps();
};

// Writes at out the numbers first + j of the set bits j of mask (four bits), in order, and
// returns the end of them: a permute by a table, four numbers stored whatever the count
// (AVX2 has no compress).
struct ListTable {
  alignas(32) std::int32_t pairs[16][8];  // per mask, the 32-bit halves of the listed lanes
};
constexpr ListTable kListTable = [] {
  ListTable t{};
  for (int m = 0; m < 16; ++m)
    for (int j = 0, o = 0; j < 4; ++j)
      if (m >> j & 1) {
        t.pairs[m][2 * o] = 2 * j;
        t.pairs[m][2 * o + 1] = 2 * j + 1;
        ++o;
      }
  return t;
}();
inline std::int64_t* store_listed4(std::int64_t* out, std::int64_t first, unsigned mask) {
  const __m256i at = _mm256_add_epi64(_mm256_set1_epi64x(first), _mm256_setr_epi64x(0, 1, 2, 3));
  const __m256i order = _mm256_load_si256(reinterpret_cast<const __m256i*>(kListTable.pairs[mask]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permutevar8x32_epi32(at, order));
  return out + std::popcount(mask);
}
#endif

// pick()'s label among k values, and the smallest value of the others: -1 (no bound) where
// one of them is NaN, +inf where there is none (k = 1).
struct Nearest {
  std::int32_t label;
  double second;
};
template <class D>
Nearest nearest_two_scalar(const D* v, int k) {
  std::int32_t label;
  D chosen;
  pick<D>(v, k, label, chosen);
  double second = std::numeric_limits<double>::infinity();
  for (int c = 0; c < k; ++c)
    if (c != label) second = std::isnan(v[c]) ? -1.0 : std::min(second, static_cast<double>(v[c]));
  return {label, second};
}

// nearest_two_scalar(), in vectors where the build has them and the k values fit.
template <class D>
Nearest nearest_two(const D* v, int k) {
#if defined(__AVX512F__)
  // At most 16 float values: one vector, the same comparisons (min is exact). Hamerly on
  // 1e6 x 64 floats, k = 16: 0.82x the time per iteration of the scalar loop, which took as
  // long as computing the values; on MNIST, k = 10: 0.92x (medians of 5, interleaved).
  if constexpr (std::is_same_v<D, float>) {
    if (k <= simd::kWidth<float>) {
      const auto lanes = static_cast<__mmask16>((1u << k) - 1);
      const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
      const __m512 x = _mm512_mask_loadu_ps(inf, lanes, v);
      const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
      const __m512 numbers = _mm512_mask_mov_ps(x, nan, inf);
      const __m512 least = (__m512)simd::min_lanes((simd::vec<float>)numbers);
      // pick(): the first lane holding the least value below inf, else 0.
      const __mmask16 at = _mm512_cmp_ps_mask(numbers, least, _CMP_EQ_OQ);
      const int label = _mm512_cvtss_f32(least) < std::numeric_limits<float>::infinity() ? __builtin_ctz(at) : 0;
      const auto own = static_cast<__mmask16>(1u << label);
      if (nan & ~own) return {label, -1.0};
      const __m512 others = _mm512_mask_mov_ps(numbers, own, inf);
      return {label, static_cast<double>(_mm512_cvtss_f32((__m512)simd::min_lanes((simd::vec<float>)others)))};
    }
  }
#elif defined(__AVX2__)
  // The same with two halves of eight lanes.
  if constexpr (std::is_same_v<D, float>) {
    if (k <= 16) {
      const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      __m256 numbers[2];
      unsigned nan = 0;
      for (int h = 0; h < 2; ++h) {  // values past k are inf, NaN ones too (flagged in nan)
        const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(k - 8 * h), lane);
        const __m256 x = _mm256_maskload_ps(v + 8 * h, in);
        const __m256 unordered = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
        nan |= static_cast<unsigned>(_mm256_movemask_ps(unordered)) << (8 * h);
        numbers[h] = _mm256_blendv_ps(inf, _mm256_blendv_ps(x, inf, unordered), _mm256_castsi256_ps(in));
      }
      auto least_of = [](__m256 a, __m256 b) {  // in every lane
        __m256 m = _mm256_min_ps(a, b);
        m = _mm256_min_ps(m, _mm256_permute2f128_ps(m, m, 1));
        m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
        return _mm256_min_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
      };
      const __m256 least = least_of(numbers[0], numbers[1]);
      const unsigned at = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(numbers[0], least, _CMP_EQ_OQ))) |
                          static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(numbers[1], least, _CMP_EQ_OQ))) << 8;
      const int label = _mm256_cvtss_f32(least) < std::numeric_limits<float>::infinity() ? std::countr_zero(at) : 0;
      if (nan & ~(1u << label)) return {label, -1.0};
      const __m256i own = _mm256_set1_epi32(label);
      const __m256 others = least_of(
          _mm256_blendv_ps(numbers[0], inf, _mm256_castsi256_ps(_mm256_cmpeq_epi32(lane, own))),
          _mm256_blendv_ps(numbers[1], inf, _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(8)), own))));
      return {label, static_cast<double>(_mm256_cvtss_f32(others))};
    }
  }
#endif
  return nearest_two_scalar<D>(v, k);
}

// The threshold tau of a row, from its own centroid's kernel value own:
// tau^2 >= own + eps, so the own centroid is at exact distance <= tau (own is at
// most eps below the exact squared distance), and a centroid at exact distance
// > tau has a kernel value strictly above own: |x - c|^2 > tau^2 >= own + eps
// implies value(c) >= |x - c|^2 - eps > own. NaN, which clears nothing, when own
// is not finite: only Lloyd's own choice over all k may settle that row.
float threshold_of_value(double own, double eps) {
  const double t = (own + eps) * kOut;
  if (!std::isfinite(own) || std::isnan(t)) return std::numeric_limits<float>::quiet_NaN();
  const double u = std::sqrt((t > 0 ? t : 0.0) + 0x1p-1000) * kOut;
  return static_cast<float>(u * (1 + 0x1p-23) + 0x1p-140);
}

// The same for a row whose own value is not known, only an upper bound u on the
// exact distance to its own centroid: own <= u^2 + eps, so tau^2 >= u^2 + 2 eps
// gives value(c) > own for every centroid c at exact distance > tau. (u^2 of a
// float is exact in double.)
float threshold_of_upper(float upper, double eps) {
  const double t = (static_cast<double>(upper) * upper + 2 * eps) * kOut;
  if (std::isnan(t)) return std::numeric_limits<float>::quiet_NaN();
  const double u = std::sqrt(t + 0x1p-1000) * kOut;
  return static_cast<float>(u * (1 + 0x1p-23) + 0x1p-140);
}

// An upper bound that grows by a centroid's move, rounded up (NaN and inf pass).
float grow(float upper, float move) {
  const float u = upper + move;
  return std::isfinite(u) ? next_up(u) : u;
}

using vf = simd::vec<float>;
using vi = simd::vec<std::int32_t>;
constexpr std::size_t kLanes = simd::kWidth<float>;
using simd::lane_bits;
using simd::load;

// decay() on 16 bounds at once.
// (With AVX2 GCC 12 compares these 64-byte vectors lane by lane: the hot callers have their
// own 8-lane forms, next_down_or_zero8(); what is left here is set_drift()'s rare rebase.)
vf decay_v(vf lower, vf move) {
  const vf l = lower - move;
  return l > 0 ? (vf)((vi)l - 1) : vf{};
}

// with_drift() on 16 bounds at once: v + drift, then the next float down, or 0.
[[maybe_unused]] vf with_drift_v(vf v, vf drift_down) { return decay_v(v, -drift_down); }

// Elkan's fresh bounds of one row as stored (with_drift_v()): lower_from_value() of each of
// its k values v, plus the centroid's drift, into out[0, kp) (lanes past k: 0 + 0), sixteen
// lanes formed in registers and stored once. (Formed eight at a time by two masked stores
// and read back as one vector for the drift, the read waited for both stores to retire: 41%
// of full()'s time on MNIST.)
template <class D>
void fresh_lower_bounds(const D* v, std::size_t k, std::size_t kp, double eps, const float* drift_down, float* out) {
#if defined(__AVX2__) && !defined(__AVX512F__)
  // Eight lanes at a time, each from two quarters of four square roots (those past k hold
  // padding, whose bound is 0), plus the drift as with_drift_v() adds it (v - -drift is
  // v + drift): the 16-lane form's compare GCC 12 makes lane by lane on AVX2.
  for (std::size_t h = 0; h < kp; h += 8) {
    __m128 quarter[2];
    for (std::size_t q = 0; q < 2; ++q) {
      const std::size_t c = h + 4 * q;
      quarter[q] = c < k ? lower_from_value4(load4<D>(v + c, k - c), _mm256_set1_pd(eps)) : _mm_setzero_ps();
    }
    const __m256 l = _mm256_set_m128(quarter[1], quarter[0]);
    _mm256_storeu_ps(out + h, next_down_or_zero8(_mm256_add_ps(l, _mm256_loadu_ps(drift_down + h))));
  }
#else
  for (std::size_t c0 = 0; c0 < kp; c0 += kLanes) {
    vf l{};
#if defined(__AVX512F__)
    // Two halves of eight square roots (k = 10: two scalar square roots a row took as long as
    // the eight); values past k load as 0, whose bound is 0.
    auto half = [&](std::size_t c) {
      return lower_from_value8(load8<D>(v + c, c < k ? std::min<std::size_t>(8, k - c) : 0), _mm512_set1_pd(eps));
    };
    l = (vf)_mm512_insertf32x8(_mm512_castps256_ps512(half(c0)), half(c0 + 8), 1);
#else
    for (std::size_t c = c0; c < std::min(k, c0 + kLanes); ++c) l[c - c0] = lower_from_value(static_cast<double>(v[c]), eps);
#endif
    const vf stored = with_drift_v(l, load(drift_down + c0));
    std::memcpy(out + c0, &stored, sizeof stored);
  }
#endif
}

// a + b (both >= 0 or NaN) rounded up: the sum, then the next float up (+inf goes to NaN,
// which clears nothing).
[[maybe_unused]] vf sum_up_v(vf a, vf b) { return (vf)((vi)(a + b) + 1); }

}  // namespace

template <class T>
EStep<T>::EStep(Algorithm algorithm, const T* X, std::int64_t rows, std::int64_t d, D scale, int k, RowPass pass)
    : algorithm_(algorithm), X_(X), rows_(rows), d_(d), scale_(scale), k_(k), error_(value_error<D>(d)),
      xx_(static_cast<std::size_t>(rows)) {
  const auto n = static_cast<std::size_t>(rows);
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    if (d <= kChunkMaskMaxD) live_.resize(n);  // which chunks of each row the kernels may skip
    if (d >= kIntAssignMinD && int_assign_built()) sums_.resize(n);  // for the integer kernel
    lanes_.start(algorithm != Algorithm::lloyd && k <= kLaneRowsMaxK && d <= kLaneRowsMaxD && !live_.empty() &&
                     lane_rows_built(),
                 rows, d);
    pairs_.start(!sums_.empty() && d <= kPairRowsMaxD && pair_rows_built(), rows, d);
  }
  if (algorithm_ != Algorithm::lloyd) {
    own_.resize(n);
    upper_.resize(n);
    stale_.assign(n, 0);
    norm_.resize(n);
    kp_ = (static_cast<std::size_t>(k) + kLanes - 1) / kLanes * kLanes;
    lower_.assign(algorithm_ == Algorithm::elkan ? n * kp_ : n, 0.0f);
    if (algorithm_ == Algorithm::elkan) floor_.assign(n, 0.0f);
  }
  if (pass == RowPass::in_constructor) prepare_rows(0, rows);
}

// The rows never change: their norms and chunk masks once, instead of once per E-step.
template <class T>
void EStep<T>::prepare_rows(std::int64_t lo, std::int64_t hi) {
  row_norms<T>(X_ + lo * d_, hi - lo, d_, scale_, xx_.data() + lo);
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    if (!live_.empty()) row_chunk_masks(X_ + lo * d_, hi - lo, d_, live_.data() + lo);
    if (!sums_.empty()) row_sums(X_ + lo * d_, hi - lo, d_, sums_.data() + lo);
    lanes_.add(X_, lo, hi, rows_, d_, [this](const LaneRows& f) { return lanes_wanted(f); });
    pairs_.add(X_, lo, hi, rows_, d_, [this](const PairRows& f) { return pairs_wanted(f); });
  }
  // |x| from the kernel's |x|^2, which is at most rel/2 low.
  if (norm_.empty()) return;  // Lloyd keeps no bounds
  for (auto i = static_cast<std::size_t>(lo); i < static_cast<std::size_t>(hi); ++i)
    norm_[i] = float_up(up(std::sqrt(up(static_cast<double>(xx_[i]) * (1 + error_.rel)))));
}

// Whether the lane form (LaneRows::values(): one multiply-add per entry and vector of 16
// centroids) takes fewer multiply-adds than values() with its chunks of zeros skipped (k per
// chunk that holds a nonzero), by a margin: per
// multiply-add it took 1.2x as long (MNIST, k = 10, 2,000 scattered rows, both warm: 181
// multiply-adds a row in 105 ns against 286 in 137 ns, medians of 7).
template <class T>
bool EStep<T>::lanes_wanted(const LaneRows& lanes) const {
  return lanes.work() * ((k_ + kLaneRowsBlockK - 1) / kLaneRowsBlockK) * 6 < live_chunks() * k_ * 5;
}

// The chunks of 16 values the chunk kernels take over all the rows: those that hold a nonzero.
template <class T>
std::int64_t EStep<T>::live_chunks() const {
  if (live_.empty()) return rows_ * ((d_ + 15) / 16);
  std::int64_t chunks = 0;
  for (std::uint64_t m : live_) chunks += std::popcount(m);
  return chunks;
}

// Whether the pair kernel takes fewer multiply-adds than the int16 chunk kernel (AVX2: one
// per centroid and chunk of 16 that holds a nonzero), counting half a multiply-add more per
// pair for its broadcast and loads (MNIST, one core: 45 ns a row at k = 8, one multiply-add a
// pair, against 61 at k = 10, two; the chunk kernel 0.35 ns a multiply-add).
template <class T>
bool EStep<T>::pairs_wanted(const PairRows& pairs) const {
  return pairs.pairs() * (2 * ((k_ + 7) / 8) + 1) < live_chunks() * k_ * 2;
}

template <class T>
void EStep<T>::set_centroids(const std::vector<double>& centroids, Bounds bounds) {
  const auto k = static_cast<std::size_t>(k_);
  const auto d = static_cast<std::size_t>(d_);
  pack_centroids<D>(centroids.data(), k_, d_, lanes_.ready() ? ColumnForm::always : ColumnForm::where_assign_uses_it, C_);
  lloyd_step_ = algorithm_ == Algorithm::lloyd || bounds == Bounds::skip;
  // uint8 rows: the integer E-step (the same labels), where it is built and applies; and
  // Hamerly's rows read whole, from their int16 sums, where the rows have no lane form
  // (more than kLaneRowsMaxK centroids: hamerly_by_estimates()).
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    const bool wanted = lloyd_step_ ? !sums_.empty() : algorithm_ == Algorithm::hamerly && !sums_.empty() && !lanes_.ready();
    Q_ = wanted ? quantize_centroids(centroids.data(), k_, d_, scale_, pairs_.ready() ? ForPairs::yes : ForPairs::no)
                : IntCentroids{};
  }
  if (lloyd_step_) {
    now_.clear();  // no bounds kept: the next E-step that keeps them starts them (pruning_ false)
    return;
  }
  before_.swap(now_);
  now_.resize(k * d);
  for (std::size_t i = 0; i < now_.size(); ++i) now_[i] = static_cast<D>(centroids[i]);  // as pack_centroids rounds
  pruning_ = before_.size() == now_.size();
  auto row = [&](const std::vector<D>& v, std::size_t c) { return v.data() + c * d; };

  if (pruning_) {
    move_.assign(kp_, 0.0f);
    move_max_ = move_second_ = 0;
    move_argmax_ = -1;
    for (std::size_t c = 0; c < k; ++c) {
      // Bits, not values (memcmp runs vectorised; std::equal on floats did not): the same
      // bits give the same kernel values, and a centroid whose bits changed, even between -0
      // and 0, is treated as moved. A moved centroid's move_ is above 0 (float_up() of a
      // positive bound; infinite where a value was not finite, NaN to it: a move not known
      // bounds nothing), an unmoved one's exactly 0.
      if (std::memcmp(row(now_, c), row(before_, c), d * sizeof(D)) == 0) continue;
      move_[c] = float_up(centroid_distance<D>(row(now_, c), row(before_, c), d_, Side::above));
      if (std::isnan(move_[c])) move_[c] = std::numeric_limits<float>::infinity();
      if (algorithm_ == Algorithm::elkan) drift_[c] = up(drift_[c] + static_cast<double>(move_[c]));
      if (move_[c] > move_max_) {
        move_second_ = move_max_;
        move_max_ = move_[c];
        move_argmax_ = static_cast<int>(c);
      } else {
        move_second_ = std::max(move_second_, move_[c]);
      }
    }
  }
  // The centroids' norms and the half distances between them: exact, or bounds from the exact
  // ones and the moves since, by the triangle inequality (a norm grows by at most its
  // centroid's move, a distance shrinks by at most the two centroids' moves), per centroid and
  // per pair, while those moves add up to a 64th of the norm, a quarter of the half distance
  // (half_distances_from_moves()). MNIST, k = 256: one rule for all pairs (every pair exact
  // once the moves added up to a quarter of the least half distance) took every pair exactly
  // at almost every E-step, 1.84 ms of a 10.3 ms Elkan iteration (0.86 ms so).
  const float inf = std::numeric_limits<float>::infinity();
  norm_up_.resize(k);
  norm_exact_.resize(k);
  for (std::size_t c = 0; c < k; ++c) {
    const double grown = pruning_ ? up(norm_up_[c] + static_cast<double>(move_[c])) : 0.0;
    if (pruning_ && grown <= norm_exact_[c] * (1 + 1.0 / 64)) {
      norm_up_[c] = grown;
    } else {
      norm_up_[c] = norm_exact_[c] = centroid_distance<D>(row(now_, c), nullptr, d_, Side::above);
    }
  }
  norm_max_ = *std::max_element(norm_up_.begin(), norm_up_.end());
  if (algorithm_ == Algorithm::elkan) set_drift();
  // For a row at exact distance <= tau from its centroid a, a centroid c with |a - c| > 2 tau
  // is more than tau away.
  if (half_between_.size() != k * kp_) half_between_.assign(k * kp_, inf);  // the padding stays inf
  if (!pruning_ || !half_distances_from_moves()) {
    exact_half_distances();
    half_exact_ = half_between_;
  }
  half_gap_.assign(k, inf);
  for (std::size_t a = 0; a < k; ++a) {
    half_between_[a * kp_ + a] = inf;
    for (std::size_t c = 0; c < k; ++c) half_gap_[a] = std::min(half_gap_[a], half_between_[a * kp_ + c]);
  }
}

// half_between_ lowered by this E-step's moves, and computed exactly again for the pairs whose
// bound has lost a quarter of its exact value since (or that was 0 and moved); false, leaving
// the exact computation of every pair to the caller, where that is more than half the pairs
// (the tiles of exact_half_distances() take them at a third of the cost each).
template <class T>
bool EStep<T>::half_distances_from_moves() {
  const auto k = static_cast<std::size_t>(k_);
  const auto d = static_cast<std::size_t>(d_);
  stale_pairs_.clear();
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t c = a + 1; c < k; ++c) {
      const double moved = up(static_cast<double>(move_[a]) + static_cast<double>(move_[c]));
      if (!(moved > 0)) continue;  // neither moved: the bound stands
      float& half = half_between_[a * kp_ + c];
      half = float_down(down(static_cast<double>(half) - moved / 2));
      half_between_[c * kp_ + a] = half;
      const float exact = half_exact_[a * kp_ + c];
      if (!(exact - half <= exact / 4) || exact == 0) stale_pairs_.push_back(a * k + c);
    }
  if (stale_pairs_.size() * 4 > k * (k - 1)) return false;
  for (std::uint64_t p : stale_pairs_) {
    const std::size_t a = p / k, c = p % k;
    const float half = float_down(centroid_distance<D>(now_.data() + a * d, now_.data() + c * d, d_, Side::below) / 2);
    half_between_[a * kp_ + c] = half_between_[c * kp_ + a] = half_exact_[a * kp_ + c] = half_exact_[c * kp_ + a] = half;
  }
  return true;
}

// half_between_ (both triangles) from the centroids' exact distances, rounded down and halved
// (exactly). Float centroids: four rows a against two later rows c at a time, each row's
// values read once for eight sums (one pair at a time, two loads a multiply-add held the
// kernel at half the speed of its multiply-adds: MNIST, k = 256, 3.5 ms an E-step, the rows
// c streamed from memory for every a).
template <class T>
void EStep<T>::exact_half_distances() {
  const auto k = static_cast<std::size_t>(k_);
  const auto d = static_cast<std::size_t>(d_);
  auto row = [&](std::size_t c) { return now_.data() + std::min(c, k - 1) * d; };
  auto set = [&](std::size_t a, std::size_t c, double distance_down) {
    half_between_[a * kp_ + c] = half_between_[c * kp_ + a] = float_down(distance_down / 2);
  };
  std::size_t a0 = 0;
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<D, float>) {
    // Rows a0 .. a0 + 3 against rows c, c + 1 > a0 (rows past k - 1 repeat the last; the sums of
    // pairs not above the diagonal, or past k, are dropped).
    for (; a0 + 1 < k; a0 += 4) {
      const float* a[4] = {row(a0), row(a0 + 1), row(a0 + 2), row(a0 + 3)};
      for (std::size_t c0 = a0 + 1; c0 < k; c0 += 2) {
        const float* c[2] = {row(c0), row(c0 + 1)};
        float sums[8];
        float_sq_sums_diff4x2(a, c, d_, sums);
        for (std::size_t p = 0; p < 4; ++p)
          for (std::size_t q = 0; q < 2; ++q) {
            const std::size_t ai = a0 + p, ci = c0 + q;
            if (ai >= ci || ci >= k) continue;
            double low;
            if (!distance_of_float_sum(sums[2 * p + q], (d_ + 7) / 8 + 3, d_, Side::below, low)) low = dist_down<D>(a[p], c[q], d_);
            set(ai, ci, low);
          }
      }
    }
  }
#endif
  for (std::size_t a = a0; a < k; ++a)
    for (std::size_t c = a + 1; c < k; ++c) set(a, c, dist_down<D>(row(a), row(c), d_));
}

// Elkan's stored bounds less drift_ bound the exact distances (see drift_): drift_up_ and
// drift_down_ as floats for the tests and the stores. A drift past the largest centroid
// norm (the bounds' scale: a float bound then keeps fewer of its bits), or not finite (a
// move not known), is taken into the bounds once, in one pass that decays every bound by it,
// and starts again from 0.
template <class T>
void EStep<T>::set_drift() {
  const auto k = static_cast<std::size_t>(k_);
  drift_.resize(kp_, 0.0);
  drift_up_.assign(kp_, 0.0f);
  drift_down_.assign(kp_, 0.0f);
  bool rebase = false;
  for (std::size_t c = 0; c < k; ++c) rebase |= !(drift_[c] <= norm_max_);
  for (std::size_t c = 0; c < k; ++c) drift_up_[c] = float_up(drift_[c]);
  if (rebase) {
    for (std::size_t r = 0; r < static_cast<std::size_t>(rows_); ++r)
      for (std::size_t q = 0; q < kp_ / kLanes; ++q) {
        float* lb = lower_.data() + r * kp_ + q * kLanes;
        const vf l = decay_v(load(lb), load(drift_up_.data() + q * kLanes));
        std::memcpy(lb, &l, sizeof l);
      }
    std::fill(drift_.begin(), drift_.end(), 0.0);
    std::fill(drift_up_.begin(), drift_up_.end(), 0.0f);
  }
  for (std::size_t c = 0; c < k; ++c) drift_down_[c] = float_down(drift_[c]);
}

// A fresh lower bound v on the distance to centroid c, as stored: v + drift_[c], rounded down.
template <class T>
float EStep<T>::with_drift(float v, std::size_t c) const {
  const float s = v + drift_down_[c];
  return s > 0 ? next_down(s) : 0.0f;
}

// s.eps: the kernel's worst error for each row of the block against any
// centroid, rel (|x| + max |c|)^2 + abs (value_error(); rel carries a factor 2
// over the proven bound, kOut the rounding of this line).
template <class T>
void EStep<T>::block_margins(std::int64_t lo, std::int64_t hi, Scratch& s) const {
  s.eps.resize(static_cast<std::size_t>(hi - lo));
  s.tau.resize(static_cast<std::size_t>(hi - lo));
  for (std::int64_t i = lo; i < hi; ++i) {
    const double r = static_cast<double>(norm_[static_cast<std::size_t>(i)]) + norm_max_;
    s.eps[static_cast<std::size_t>(i - lo)] = (error_.rel * r * r + error_.abs) * kOut;
  }
}

// s.tau, per row of the block: from its own value, or from its upper bound
// when the own value is stale.
template <class T>
void EStep<T>::block_thresholds(std::int64_t lo, std::int64_t hi, Scratch& s) const {
  std::int64_t i = lo;
#if defined(__AVX512F__)
  // Eight rows at a time, the same operations as threshold_of_value() and
  // threshold_of_upper() (a square root per row, one after the other, took longer than
  // the rest of a row's tests).
  for (; i + 8 <= hi; i += 8) {
    const auto row = static_cast<std::size_t>(i), r = static_cast<std::size_t>(i - lo);
    const __m512d eps = _mm512_loadu_pd(s.eps.data() + r);
    const __m512d up = _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(upper_.data() + row));
    std::uint64_t stale_bytes;
    std::memcpy(&stale_bytes, stale_.data() + row, 8);
    const __mmask8 stale = _mm512_cmpneq_epi64_mask(
        _mm512_maskz_cvtepu8_epi64(0xFF, _mm_cvtsi64_si128(static_cast<long long>(stale_bytes))), _mm512_setzero_si512());
    __mmask8 value_ok;
    const __m512d tv = value_square8(load8<D>(own_.data() + row, 8), eps, value_ok);
    __mmask8 upper_ok;
    const __m512d tu = upper_square8(up, eps, upper_ok);
    const __mmask8 ok = static_cast<__mmask8>((stale & upper_ok) | (~stale & value_ok));
    _mm256_storeu_ps(s.tau.data() + r, threshold_from_square8(_mm512_mask_blend_pd(stale, tv, tu), ok));
  }
#elif defined(__AVX2__)
  for (; i + 4 <= hi; i += 4) {  // four rows at a time, as above
    const auto row = static_cast<std::size_t>(i), r = static_cast<std::size_t>(i - lo);
    const __m256d eps = _mm256_loadu_pd(s.eps.data() + r);
    const __m256d up = _mm256_cvtps_pd(_mm_loadu_ps(upper_.data() + row));
    std::uint32_t stale_bytes;
    std::memcpy(&stale_bytes, stale_.data() + row, 4);
    const __m256d stale = _mm256_castsi256_pd(_mm256_cmpgt_epi64(
        _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(static_cast<int>(stale_bytes))), _mm256_setzero_si256()));
    __m256d value_ok;
    const __m256d tv = value_square4(load4<D>(own_.data() + row), eps, value_ok);
    __m256d upper_ok;
    const __m256d tu = upper_square4(up, eps, upper_ok);
    _mm_storeu_ps(s.tau.data() + r, threshold_from_square4(_mm256_blendv_pd(tv, tu, stale), _mm256_blendv_pd(value_ok, upper_ok, stale)));
  }
#endif
  for (; i < hi; ++i) {
    const auto r = static_cast<std::size_t>(i - lo);
    const auto row = static_cast<std::size_t>(i);
    s.tau[r] = stale_[row] ? threshold_of_upper(upper_[row], s.eps[r])
                          : threshold_of_value(static_cast<double>(own_[row]), s.eps[r]);
  }
}

template <class T>
void EStep<T>::run_block(std::int64_t lo, std::int64_t hi, std::int32_t* labels, Scratch& s) {
  if (lloyd_step_) {
    s.evaluations += (hi - lo) * k_;
    s.rows_read += hi - lo;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      if (Q_.usable())
        return assign_uint8(X_ + lo * d_, hi - lo, d_, C_, Q_, xx_.data() + lo, sums_.data() + lo,
                            live_.empty() ? nullptr : live_.data() + lo, PairBlock{pair_rows(), lo}, labels + lo);
    }
    s.lloyd_dist.resize(static_cast<std::size_t>(hi - lo));
    return assign<T>(X_ + lo * d_, hi - lo, d_, scale_, C_, xx_.data() + lo, labels + lo, s.lloyd_dist.data());
  }
  s.block_lo = lo;
  block_margins(lo, hi, s);
  if (!pruning_) {  // the first E-step: every value, which also sets every bound
    s.rows_read += hi - lo;
    s.list.clear();
    for (std::int64_t i = lo; i < hi; ++i) s.list.push_back(i);
    full(s.list, labels, s);
    return;
  }
  // A row whose centroid moved no longer knows its own value, only that the
  // exact distance grew by at most the move. The value is computed when a bound
  // test needs it, not for every row: most rows keep their label on the bound.
  std::int64_t i = lo;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  // Sixteen rows at a time, grow()'s operations; a centroid moved exactly where its move_ is
  // above 0 (set_centroids()).
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  const ByLabel16 move_of(move_.data(), k_);
  for (; i + 16 <= hi; i += 16) {
    const auto row = static_cast<std::size_t>(i);
    const __m512i a = _mm512_loadu_si512(labels + i);
    const __m512 move = move_of(a);
    const __mmask16 moved = _mm512_cmp_ps_mask(move, _mm512_setzero_ps(), _CMP_GT_OQ);
    const __m512 u = _mm512_add_ps(_mm512_loadu_ps(upper_.data() + row), move);
    const __mmask16 finite = _mm512_cmp_ps_mask(_mm512_abs_ps(u), inf, _CMP_LT_OQ);
    const __m512 grown = _mm512_mask_blend_ps(
        finite, u, _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(u), _mm512_set1_epi32(1))));
    _mm512_mask_storeu_ps(upper_.data() + row, moved, grown);
    _mm_mask_storeu_epi8(stale_.data() + row, moved, _mm_set1_epi8(1));
  }
#elif defined(__AVX2__)
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const ByLabel8 move_of(move_.data(), k_);
  for (; i + 8 <= hi; i += 8) {  // eight rows at a time, as above
    const auto row = static_cast<std::size_t>(i);
    const __m256 move = move_of(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(labels + i)));
    const __m256 moved = _mm256_cmp_ps(move, _mm256_setzero_ps(), _CMP_GT_OQ);
    const __m256 u = _mm256_add_ps(_mm256_loadu_ps(upper_.data() + row), move);
    const __m256 finite = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), u), inf, _CMP_LT_OQ);
    const __m256 grown = _mm256_blendv_ps(
        u, _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(u), _mm256_set1_epi32(1))), finite);
    _mm256_maskstore_ps(upper_.data() + row, _mm256_castps_si256(moved), grown);
    const auto bits = static_cast<unsigned>(_mm256_movemask_ps(moved));
    for (std::size_t j = 0; j < 8; ++j) stale_[row + j] = static_cast<char>(stale_[row + j] | (bits >> j & 1));
  }
#endif
  for (; i < hi; ++i) {
    const auto row = static_cast<std::size_t>(i);
    const auto a = static_cast<std::size_t>(labels[i]);
    if (!(move_[a] > 0)) continue;
    stale_[row] = 1;
    upper_[row] = grow(upper_[row], move_[a]);
  }
  block_thresholds(lo, hi, s);
  if (algorithm_ == Algorithm::hamerly)
    hamerly_block(lo, hi, labels, s);
  else
    elkan_block(lo, hi, labels, s);
}

// All k values of the listed rows (of the current block): Lloyd's choice, and
// fresh bounds.
template <class T>
void EStep<T>::full(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    if (algorithm_ == Algorithm::hamerly && Q_.usable()) return hamerly_by_estimates(rows, labels, s);
  }
  full_values(rows, labels, s);
}

// Hamerly's rows read whole (uint8 rows with the integer kernel and no lane form): their labels
// and bounds from the integer estimates of all k exact distances, from the exact int16 sums of
// the pair kernel where the rows have the pair form (pair_estimates(): 2 multiply-adds per
// nonzero pair and 8 centroids), else of the chunk kernel (dense_estimates(): with AVX-512 VNNI
// one vpdpwssd per 32 values and centroid), against the float tiles' one multiply-add per 16
// values and centroid. The estimates are not the kernel's values, so such a row keeps an upper
// bound on its own distance only (stale_, as after its centroid moved); a row whose label the
// int16 margin does not settle takes the float values.
template <class T>
void EStep<T>::hamerly_by_estimates(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s) {
  if constexpr (!std::is_same_v<T, std::uint8_t>) {
    full_values(rows, labels, s);
  } else {
    if (rows.empty()) return;
    const auto k = static_cast<std::size_t>(k_);
    const auto n = static_cast<std::int64_t>(rows.size());
    if (Q_.pairs.usable() && pairs_.ready())
      pair_estimates(pairs_.form(), rows.data(), n, d_, Q_, xx_.data(), sums_.data(), s.estimates);
    else
      dense_estimates(X_, rows.data(), n, d_, Q_, xx_.data(), sums_.data(), live_.empty() ? nullptr : live_.data(),
                      s.estimates);
    s.by_estimates.clear();
    s.float_rows.clear();
    s.owns.clear();
    s.seconds.clear();
    s.row_eps.clear();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::int32_t b = s.estimates.label[r];
      if (b < 0) {
        s.float_rows.push_back(rows[r]);
        continue;
      }
      const double* v = s.estimates.values.data() + r * k;
      double second = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c) second = c == static_cast<std::size_t>(b) ? second : std::min(second, v[c]);
      labels[rows[r]] = b;
      s.by_estimates.push_back(rows[r]);
      s.owns.push_back(v[b]);
      s.seconds.push_back(second);
      s.row_eps.push_back(s.estimates.error[r]);
    }
    s.evaluations += static_cast<std::int64_t>(s.by_estimates.size() * k);
    s.estimated += static_cast<std::int64_t>(s.by_estimates.size());
    set_bounds(s.by_estimates, Own::estimate, s);
    full_values(s.float_rows, labels, s);
  }
}

// All k kernel values of the listed rows: Lloyd's choice, and fresh bounds.
template <class T>
void EStep<T>::full_values(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s) {
  if (rows.empty()) return;
  const auto n = rows.size();
  const auto k = static_cast<std::size_t>(k_);
  s.vals.resize(n * k);
  bool by_lanes = false;
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    by_lanes = lanes_.ready() && std::isfinite(norm_max_);  // (a zero times an infinite centroid is NaN)
    if (by_lanes) lanes_.form().values(rows.data(), static_cast<std::int64_t>(n), scale_, xx_.data(), C_, s.vals.data());
  }
  if (!by_lanes) {
    s.ptrs.resize(n);
    s.xxs.resize(n);
    for (std::size_t r = 0; r < n; ++r) {
      s.ptrs[r] = X_ + rows[r] * d_;
      s.xxs[r] = xx_[static_cast<std::size_t>(rows[r])];
    }
    values<T>(s.ptrs.data(), static_cast<std::int64_t>(n), d_, scale_, s.xxs.data(), C_, nullptr, k_, s.vals.data(),
              live_of(rows, s));
  }
  s.evaluations += static_cast<std::int64_t>(n * k);
  bounds_from_values(rows, labels, s);
  if (algorithm_ != Algorithm::elkan) return;
  for (std::size_t r = 0; r < n; ++r) {  // and Elkan's k bounds
    const auto i = static_cast<std::size_t>(rows[r]);
    fresh_lower_bounds<D>(s.vals.data() + r * k, k, kp_, s.row_eps[r], drift_down_.data(), lower_.data() + i * kp_);
  }
}

// The labels of the listed rows from all k values (s.vals, pick()'s choice), and the bounds
// one row's value each gives: the own value the upper bound and threshold (set_own()), the
// nearest other centroid the lower bound on every other centroid (Hamerly's lower_, Elkan's
// floor_: from the second value, not from the k bounds, which round more); no other centroid
// (k = 1): nothing can ever compete. The square roots eight rows at a time, every row through
// the same vector code, bit for bit the scalar forms (checked on MNIST, digits, blobs and the
// unit cases): Hamerly on blobs 1e6 x 64, k = 16, 0.94x the time per iteration of one row at
// a time; MNIST k = 10, 0.97x (medians of 7, interleaved).
template <class T>
void EStep<T>::bounds_from_values(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s) {
  const std::size_t n = rows.size();
  s.owns.resize(n);
  s.seconds.resize(n);
  s.row_eps.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(rows[r]);
    const D* v = s.vals.data() + r * static_cast<std::size_t>(k_);
    const Nearest near = nearest_two<D>(v, k_);
    labels[i] = near.label;
    s.owns[r] = static_cast<double>(v[near.label]);
    s.seconds[r] = near.second;
    s.row_eps[r] = s.eps[i - static_cast<std::size_t>(s.block_lo)];
  }
  set_bounds(rows, Own::value, s);
}

// The bounds of the listed rows (labelled) from their own and second values and the error of
// those (s.owns, s.seconds, s.row_eps). Own::value: the own values are the kernel's (kept in
// own_); Own::estimate: they are not, and a row keeps only its upper bound (stale_).
template <class T>
void EStep<T>::set_bounds(const std::vector<std::int64_t>& rows, Own own, Scratch& s) {
  const std::size_t n = rows.size();
  const auto k = static_cast<std::size_t>(k_);
  s.taus.resize(n);
  s.lows.resize(n);
  const float none = std::numeric_limits<float>::infinity();
  std::size_t r = 0;
#if defined(__AVX512F__)
  for (; r < n; r += 8) {
    const auto m = static_cast<__mmask8>(n - r >= 8 ? 0xFF : (1u << (n - r)) - 1);
    const __m512d eps = load8<double>(s.row_eps.data() + r, n - r);
    _mm256_mask_storeu_ps(s.taus.data() + r, m, threshold_of_value8(load8<double>(s.owns.data() + r, n - r), eps));
    _mm256_mask_storeu_ps(s.lows.data() + r, m,
                          k == 1 ? _mm256_set1_ps(none) : lower_from_value8(load8<double>(s.seconds.data() + r, n - r), eps));
  }
#elif defined(__AVX2__)
  for (; r + 4 <= n; r += 4) {
    const __m256d eps = _mm256_loadu_pd(s.row_eps.data() + r);
    _mm_storeu_ps(s.taus.data() + r, threshold_of_value4(_mm256_loadu_pd(s.owns.data() + r), eps));
    _mm_storeu_ps(s.lows.data() + r, k == 1 ? _mm_set1_ps(none) : lower_from_value4(_mm256_loadu_pd(s.seconds.data() + r), eps));
  }
#endif
  for (; r < n; ++r) {
    s.taus[r] = threshold_of_value(s.owns[r], s.row_eps[r]);
    s.lows[r] = k == 1 ? none : lower_from_value(s.seconds[r], s.row_eps[r]);
  }
  float* others = algorithm_ == Algorithm::hamerly ? lower_.data() : floor_.data();
  for (r = 0; r < n; ++r) {  // set_own()'s writes, and the lower bound
    const auto i = static_cast<std::size_t>(rows[r]);
    if (own == Own::value) own_[i] = static_cast<D>(s.owns[r]);  // (a float or double, exactly)
    stale_[i] = own == Own::estimate;
    upper_[i] = s.tau[i - static_cast<std::size_t>(s.block_lo)] = s.taus[r];
    others[i] = s.lows[r];
  }
}

// The chunk masks of the listed rows (s.live_rows: those of rows[order[r]], or of rows[r]
// without an order) for values() to skip their chunks of zeros; nullptr where there are no
// masks (not uint8 rows) or a centroid value is infinite (0 times it is NaN, not nothing;
// a NaN value makes the centroid's values NaN through its norm either way).
template <class T>
const std::uint64_t* EStep<T>::live_of(const std::vector<std::int64_t>& rows, Scratch& s, const std::size_t* order) const {
  if (live_.empty() || !std::isfinite(norm_max_)) return nullptr;
  s.live_rows.resize(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    s.live_rows[r] = live_[static_cast<std::size_t>(rows[order ? order[r] : r])];
  return s.live_rows.data();
}

// Row i's own value is v (its centroid's kernel value, this E-step): its bound
// and threshold follow from it.
template <class T>
void EStep<T>::set_own(std::size_t i, D v, double eps, Scratch& s) {
  own_[i] = v;
  stale_[i] = 0;
  upper_[i] = threshold_of_value(static_cast<double>(v), eps);
  s.tau[i - static_cast<std::size_t>(s.block_lo)] = upper_[i];
}

// Values of the pairs (rows[p], cents[p]) into out[p], grouped by centroid so
// that the kernel runs several rows against one centroid at a time.
template <class T>
void EStep<T>::values_by_centroid(const std::vector<std::int64_t>& rows, const std::vector<int>& cents, D* out,
                                  Scratch& s) const {
  const std::size_t n = rows.size();
  if (n == 0) return;
  const auto k = static_cast<std::size_t>(k_);
  s.offsets.assign(k + 1, 0);
  for (int c : cents) ++s.offsets[static_cast<std::size_t>(c) + 1];
  for (std::size_t c = 0; c < k; ++c) s.offsets[c + 1] += s.offsets[c];
  s.fill.assign(s.offsets.begin(), s.offsets.end() - 1);
  s.order.resize(n);
  for (std::size_t p = 0; p < n; ++p) s.order[static_cast<std::size_t>(s.fill[static_cast<std::size_t>(cents[p])]++)] = p;
  s.ptrs.resize(n);
  s.xxs.resize(n);
  s.vals.resize(n);
  for (std::size_t q = 0; q < n; ++q) {
    const std::int64_t i = rows[s.order[q]];
    s.ptrs[q] = X_ + i * d_;
    s.xxs[q] = xx_[static_cast<std::size_t>(i)];
  }
  const std::uint64_t* live = live_of(rows, s, s.order.data());
  for (int c = 0; c < k_; ++c) {
    const auto b = static_cast<std::size_t>(s.offsets[static_cast<std::size_t>(c)]);
    const auto e = static_cast<std::size_t>(s.offsets[static_cast<std::size_t>(c) + 1]);
    if (b < e)
      values<T>(s.ptrs.data() + b, static_cast<std::int64_t>(e - b), d_, scale_, s.xxs.data() + b, C_, &c, 1,
                s.vals.data() + b, live ? live + b : nullptr);
  }
  for (std::size_t q = 0; q < n; ++q) out[s.order[q]] = s.vals[q];
  s.evaluations += static_cast<std::int64_t>(n);
}

// The own values of the listed rows (whose bound tests failed on the upper
// bound alone), and their thresholds from them.
template <class T>
void EStep<T>::refresh_own(const std::vector<std::int64_t>& rows, const std::int32_t* labels, Scratch& s) {
  s.own_cents.clear();
  for (std::int64_t i : rows) s.own_cents.push_back(labels[i]);
  s.own_vals.resize(rows.size());
  values_by_centroid(rows, s.own_cents, s.own_vals.data(), s);
  for (std::size_t p = 0; p < rows.size(); ++p) {
    const auto i = static_cast<std::size_t>(rows[p]);
    set_own(i, s.own_vals[p], s.eps[i - static_cast<std::size_t>(s.block_lo)], s);
  }
}

template <class T>
void EStep<T>::hamerly_block(std::int64_t lo, std::int64_t hi, std::int32_t* labels, Scratch& s) {
  // A row keeps its label when no other centroid can be within tau; the rest take all k,
  // also those that knew only an upper bound on their own value: computing that value
  // first, and all k only where the bound still failed, read more rows and took longer
  // (MNIST, kmeans_seq, medians of 3-7, interleaved: all k at once 0.85x the time at k = 10,
  // 0.93x at 16, 1.0x at 64 and 256).
  unsettled_rows(lo, hi, labels, lower_.data(), s.tau, s.list);
  s.rows_read += static_cast<std::int64_t>(s.list.size());
  full(s.list, labels, s);
}

// Into `out`, the rows of [lo, hi) that a lower bound on the distance to every centroid but
// their own (floor: Hamerly's lower_, Elkan's floor_) does not settle: first every bound
// decays by the largest move of any other centroid since it was set; a row keeps its label
// where its bound, or half the distance from its centroid to the nearest other one, clears
// its tau.
template <class T>
void EStep<T>::unsettled_rows(std::int64_t lo, std::int64_t hi, const std::int32_t* labels, float* floor,
                              const std::vector<float>& row_tau, std::vector<std::int64_t>& out) const {
  // (The vector loop stores whole vectors of 8 row numbers: for rows [i, i + 16) at most up to
  // entry i + 15 - lo, so within the hi - lo entries.)
  out.resize(static_cast<std::size_t>(hi - lo));
  std::int64_t* failed = out.data();
  std::int64_t i = lo;
#if defined(__AVX512F__)
  // Sixteen rows at a time, the same operations (decay(): a subtraction, then the next float
  // down, or 0); the failed rows' numbers stored compressed. Hamerly on 1e6 x 64 floats,
  // k = 16, 20 iterations: 0.80x the time per iteration of the scalar loops; MNIST 0.97x
  // (medians of 7 and 5, interleaved).
  const __m512 zero = _mm512_setzero_ps();
  const __m512i argmax = _mm512_set1_epi32(move_argmax_);
  const __m512 max = _mm512_set1_ps(move_max_), second = _mm512_set1_ps(move_second_);
  const ByLabel16 gap_of(half_gap_.data(), k_);
  for (; i + 16 <= hi; i += 16) {
    const auto row = static_cast<std::size_t>(i);
    const __m512i a = _mm512_loadu_si512(labels + i);
    const __m512 move = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(a, argmax), max, second);
    const __m512 l = _mm512_sub_ps(_mm512_loadu_ps(floor + row), move);
    const __m512 lower = _mm512_maskz_mov_ps(
        _mm512_cmp_ps_mask(l, zero, _CMP_GT_OQ),
        _mm512_castsi512_ps(_mm512_sub_epi32(_mm512_castps_si512(l), _mm512_set1_epi32(1))));
    _mm512_storeu_ps(floor + row, lower);
    const __m512 gap = gap_of(a);
    const __m512 tau = _mm512_loadu_ps(row_tau.data() + (i - lo));
    const auto fail = static_cast<__mmask16>(
        ~(_mm512_cmp_ps_mask(lower, tau, _CMP_GT_OQ) | _mm512_cmp_ps_mask(gap, tau, _CMP_GT_OQ)));
    const __m512i at = _mm512_add_epi64(_mm512_set1_epi64(i), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    // Compressed in a register, then stored whole: the compressing store to memory is
    // microcoded on AMD Zen 4, where this loop took a tenth of Hamerly's time on MNIST.
    _mm512_storeu_si512(failed, _mm512_maskz_compress_epi64(static_cast<__mmask8>(fail), at));
    failed += std::popcount(static_cast<unsigned>(fail & 0xFF));
    _mm512_storeu_si512(failed, _mm512_maskz_compress_epi64(static_cast<__mmask8>(fail >> 8),
                                                            _mm512_add_epi64(at, _mm512_set1_epi64(8))));
    failed += std::popcount(static_cast<unsigned>(fail >> 8));
  }
#elif defined(__AVX2__)
  // Eight rows at a time, the same operations; the failed rows' numbers stored four at a time
  // (store_listed4()).
  const __m256i argmax = _mm256_set1_epi32(move_argmax_);
  const __m256 max = _mm256_set1_ps(move_max_), second = _mm256_set1_ps(move_second_);
  const ByLabel8 gap_of(half_gap_.data(), k_);
  for (; i + 8 <= hi; i += 8) {
    const auto row = static_cast<std::size_t>(i);
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(labels + i));
    const __m256 move = _mm256_blendv_ps(max, second, _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, argmax)));
    const __m256 l = _mm256_sub_ps(_mm256_loadu_ps(floor + row), move);
    const __m256 lower = _mm256_and_ps(_mm256_cmp_ps(l, _mm256_setzero_ps(), _CMP_GT_OQ),
                                       _mm256_castsi256_ps(_mm256_sub_epi32(_mm256_castps_si256(l), _mm256_set1_epi32(1))));
    _mm256_storeu_ps(floor + row, lower);
    const __m256 tau = _mm256_loadu_ps(row_tau.data() + (i - lo));
    const auto fail = ~static_cast<unsigned>(_mm256_movemask_ps(
        _mm256_or_ps(_mm256_cmp_ps(lower, tau, _CMP_GT_OQ), _mm256_cmp_ps(gap_of(a), tau, _CMP_GT_OQ))));
    failed = store_listed4(failed, i, fail & 15);
    failed = store_listed4(failed, i + 4, fail >> 4 & 15);
  }
#endif
  for (; i < hi; ++i) {
    const auto r = static_cast<std::size_t>(i);
    const int a = labels[i];
    floor[r] = decay(floor[r], a == move_argmax_ ? move_second_ : move_max_);
    const float tau = row_tau[static_cast<std::size_t>(i - lo)];
    if (!(floor[r] > tau || half_gap_[static_cast<std::size_t>(a)] > tau)) *failed++ = i;
  }
  out.resize(static_cast<std::size_t>(failed - out.data()));
}

// Elkan: the least of a row's k bounds lb (less the drift, rounded down) but that of its own
// centroid a; +inf where there is no other centroid. floor_ holds it for every row, set
// where the row's bounds are read or written (elkan_block(), full()), not in a pass of its
// own over the rows afterwards (which took as long as Elkan's tests on MNIST).
template <class T>
float EStep<T>::floor_of(const float* lb, std::int32_t a) const {
#if defined(__AVX2__) && !defined(__AVX512F__)
  // Eight lanes at a time, the same operations (GCC 12 compares the 16-lane vectors below
  // lane by lane on AVX2: 13% of Elkan's run on MNIST).
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256i own = _mm256_set1_epi32(a), last = _mm256_set1_epi32(k_ - 1);
  __m256 least = inf;
  for (std::size_t c0 = 0; c0 < kp_; c0 += 8) {
    const __m256i c = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(c0)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 l = next_down_or_zero8(_mm256_sub_ps(_mm256_loadu_ps(lb + c0), _mm256_loadu_ps(drift_up_.data() + c0)));
    const __m256i skip = _mm256_or_si256(_mm256_cmpeq_epi32(c, own), _mm256_cmpgt_epi32(c, last));
    least = _mm256_min_ps(least, _mm256_blendv_ps(l, inf, _mm256_castsi256_ps(skip)));
  }
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(least), _mm256_extractf128_ps(least, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_shuffle_ps(m, m, 1)));
#else
  const vf inf = vf{} + std::numeric_limits<float>::infinity();
  vi lane{};
  for (int l = 0; l < static_cast<int>(kLanes); ++l) lane[l] = l;
  vf least = inf;
  for (std::size_t q = 0; q < kp_ / kLanes; ++q) {
    const vi c = lane + static_cast<std::int32_t>(q * kLanes);
    const vf l = decay_v(load(lb + q * kLanes), load(drift_up_.data() + q * kLanes));
    const vf b = (c == a) | (c >= k_) ? inf : l;
    least = least < b ? least : b;
  }
  return simd::min_lanes(least)[0];
#endif
}

// Elkan's tests for row i against the centroids 16 at a time: into s.masks, the
// centroids other than its own that might be within tau (neither their lower
// bound nor half their distance to the own centroid clears them; padding
// lanes have half-distance inf and are never flagged). Returns how many.
template <class T>
std::size_t EStep<T>::elkan_flags(std::int64_t i, float tau, const std::int32_t* labels, Scratch& s) const {
  const auto a = static_cast<std::size_t>(labels[i]);
  const float* lb = lower_.data() + static_cast<std::size_t>(i) * kp_;
  const float* hb = half_between_.data() + a * kp_;
  std::size_t flagged = 0;
  for (std::size_t q = 0; q < kp_ / kLanes; ++q) {
    // The stored bound less the drift clears tau where it clears tau + drift, rounded up.
#if defined(__AVX2__) && !defined(__AVX512F__)
    // Eight lanes at a time, the same operations (GCC 12 compares 64-byte vectors lane by lane
    // on AVX2: these tests took 9% of Elkan's run on MNIST so).
    const __m256 tv = _mm256_set1_ps(tau);
    std::uint32_t clear = 0;
    for (std::size_t h = 0; h < kLanes; h += 8) {
      const std::size_t c = q * kLanes + h;
      const __m256 t = _mm256_castsi256_ps(_mm256_add_epi32(
          _mm256_castps_si256(_mm256_add_ps(tv, _mm256_loadu_ps(drift_up_.data() + c))), _mm256_set1_epi32(1)));
      clear |= static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_or_ps(
                   _mm256_cmp_ps(_mm256_loadu_ps(lb + c), t, _CMP_GT_OQ), _mm256_cmp_ps(_mm256_loadu_ps(hb + c), tv, _CMP_GT_OQ))))
               << h;
    }
    s.masks[q] = ~clear & 0xFFFF;
#else
    const vf tv = vf{} + tau;
    const vf t = sum_up_v(tv, load(drift_up_.data() + q * kLanes));
    s.masks[q] = lane_bits(~(load(lb + q * kLanes) > t) & ~(load(hb + q * kLanes) > tv));
#endif
    if (q == a / kLanes) s.masks[q] &= ~(std::uint32_t{1} << (a % kLanes));
    flagged += static_cast<std::size_t>(std::popcount(s.masks[q]));
  }
  return flagged;
}

// Whether a row with `flagged` centroids to evaluate takes all k values instead (one pass
// of the register tile; fresh bounds for every centroid) rather than its own value and the
// flagged ones one pair at a time. A row read costs a trip to memory whatever is computed
// on it, and fresh bounds spare later reads: on MNIST (Elkan, kmeans_seq, medians of 3-5,
// interleaved) all k from 1 flag in 8 (that is, (flagged + 1) 8 >= k) took 0.71x the time
// of the former rule (more than half flagged) at k = 10, 0.88x at 16, 0.93x at 64 and 256;
// from 1 in 4, 0.83x, 0.90x, 0.94x, 0.91x; from 1 in 16, 0.72x, 0.93x, 1.03x, 0.98x.
constexpr std::size_t kAllValuesFrom = 8;
template <class T>
bool EStep<T>::all_values(std::size_t flagged) const {
  return kAllValuesFrom * (flagged + 1) >= static_cast<std::size_t>(k_);
}

// Row i (own value known) with `flagged` centroids in s.masks: all k at once where
// all_values() (or its own value is not finite: Lloyd's own choice), else the pairs.
template <class T>
void EStep<T>::elkan_candidates(std::int64_t i, std::size_t flagged, float tau, Scratch& s) const {
  if (flagged == 0) return;
  if (std::isnan(tau) || all_values(flagged)) {
    s.list.push_back(i);
    return;
  }
  for (std::size_t q = 0; q < kp_ / kLanes; ++q)
    for (std::uint32_t m = s.masks[q]; m; m &= m - 1) {
      s.pair_rows.push_back(i);
      s.pair_cents.push_back(static_cast<int>(q * kLanes + static_cast<std::size_t>(std::countr_zero(m))));
    }
}

template <class T>
void EStep<T>::elkan_block(std::int64_t lo, std::int64_t hi, std::int32_t* labels, Scratch& s) {
  // Rows the bounds settle keep their label. Rows that knew only an upper bound
  // on their own distance get their own value first and are tested again.
  s.list.clear();
  s.pair_rows.clear();
  s.pair_cents.clear();
  s.stale_rows.clear();
  s.masks.resize(kp_ / kLanes);
  std::int64_t read = 0;
  // Hamerly's test first, on floor_: most rows settle on it without their k bounds read.
  unsettled_rows(lo, hi, labels, floor_.data(), s.tau, s.unsettled);
  for (std::int64_t i : s.unsettled) {
    const auto r = static_cast<std::size_t>(i);
    const float tau = s.tau[static_cast<std::size_t>(i - lo)];
    const std::size_t flagged = elkan_flags(i, tau, labels, s);
    if (flagged > 0 || std::isnan(tau)) {
      if (stale_[r] || flagged > 0) ++read;  // its own value, or the flagged ones'
      if (stale_[r])  // its own value first, unless all k will do
        (all_values(flagged) ? s.list : s.stale_rows).push_back(i);
      else
        elkan_candidates(i, flagged, tau, s);
    }
    // The floor decayed as its bounds have, while they are in cache; a row listed for all k
    // gets it from its fresh bounds in full() (and one with a few values, again after them).
    if (s.list.empty() || s.list.back() != i) floor_[r] = floor_of(lower_.data() + r * kp_, labels[i]);
  }
  s.rows_read += read;
  refresh_own(s.stale_rows, labels, s);
  for (std::int64_t i : s.stale_rows) {
    const auto r = static_cast<std::size_t>(i);
    const auto a = static_cast<std::size_t>(labels[i]);
    const float tau = s.tau[static_cast<std::size_t>(i - lo)];
    elkan_candidates(i, elkan_flags(i, tau, labels, s), tau, s);
    // After the flags, which pass over the own centroid's bound: stored before, it held up
    // their vector read of the row's bounds until the store retired.
    lower_[r * kp_ + a] = with_drift(lower_from_value(static_cast<double>(own_[r]), s.eps[static_cast<std::size_t>(i - lo)]), a);
  }
  full(s.list, labels, s);

  // The candidates, then per row the smallest value, ties to the lower index:
  // exactly Lloyd's choice, since every centroid not evaluated has a value
  // strictly above the own one.
  s.pair_vals.resize(s.pair_rows.size());
  values_by_centroid(s.pair_rows, s.pair_cents, s.pair_vals.data(), s);
  for (std::size_t p = 0; p < s.pair_rows.size(); ++p) {
    const std::int64_t i = s.pair_rows[p];
    const auto r = static_cast<std::size_t>(i);
    const int c = s.pair_cents[p];
    const D v = s.pair_vals[p];
    const double eps = s.eps[static_cast<std::size_t>(i - lo)];
    lower_[r * kp_ + static_cast<std::size_t>(c)] = with_drift(lower_from_value(static_cast<double>(v), eps), static_cast<std::size_t>(c));
    if (v < own_[r] || (v == own_[r] && c < labels[i])) {
      labels[i] = c;
      set_own(r, v, eps, s);
    }
  }
  // The rows with a few values: new bounds, and maybe a new label (the pairs of a row are
  // listed together).
  for (std::size_t p = 0; p < s.pair_rows.size(); ++p) {
    const std::int64_t i = s.pair_rows[p];
    if (p + 1 == s.pair_rows.size() || s.pair_rows[p + 1] != i)
      floor_[static_cast<std::size_t>(i)] = floor_of(lower_.data() + static_cast<std::size_t>(i) * kp_, labels[i]);
  }
}

template <class T>
bool EStep<T>::bounds_hold(std::int64_t lo, std::int64_t hi, const std::int32_t* labels) const {
  if (lloyd_step_) return true;
  const auto k = static_cast<std::size_t>(k_);
  const auto d = static_cast<std::size_t>(d_);
  // The long double sums err by far less than the float bounds' outward steps; a
  // relative 2^-40 absorbs them.
  auto above = [](long double bound, long double exact) { return bound > exact * (1 + 0x1p-40L); };
  // The centroids' own bounds: norm_max_ and the half distances between them (kept from the
  // moves between exact ones).
  auto centroid_distance = [&](std::size_t a, std::size_t c) {  // c == k: the origin
    long double sum = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const long double t = static_cast<long double>(now_[a * d + j]) - (c < k ? now_[c * d + j] : 0.0L);
      sum += t * t;
    }
    return std::sqrt(sum);
  };
  for (std::size_t a = 0; a < k; ++a) {
    if (above(centroid_distance(a, k), norm_max_)) return false;  // (as an upper bound: exact above it)
    for (std::size_t c = 0; c < k; ++c)
      if (c != a && above(half_between_[a * kp_ + c], centroid_distance(a, c) / 2)) return false;
  }
  std::vector<long double> dist(k);
  for (std::int64_t i = lo; i < hi; ++i) {
    const T* x = X_ + i * d_;
    for (std::size_t c = 0; c < k; ++c) {
      long double sum = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const long double t = static_cast<long double>(static_cast<D>(static_cast<D>(x[j]) * scale_)) - now_[c * d + j];
        sum += t * t;
      }
      dist[c] = std::sqrt(sum);
    }
    const auto r = static_cast<std::size_t>(i);
    const auto a = static_cast<std::size_t>(labels[i]);
    if (upper_[r] < dist[a] * (1 - 0x1p-40L)) return false;  // (NaN, no bound, passes)
    // The bound to every other centroid: Hamerly's only one, Elkan's first test.
    long double second = std::numeric_limits<long double>::infinity();
    for (std::size_t c = 0; c < k; ++c)
      if (c != a) second = std::min(second, dist[c]);
    const float floor = algorithm_ == Algorithm::hamerly ? lower_[r] : floor_[r];
    if (k > 1 && above(floor, second)) return false;
    if (algorithm_ == Algorithm::elkan)
      for (std::size_t c = 0; c < k; ++c)
        if (above(static_cast<long double>(lower_[r * kp_ + c]) - drift_[c], dist[c])) return false;
  }
  return true;
}

namespace testing {

BoundForms bound_forms(const std::vector<double>& v, const std::vector<double>& eps, bool vector) {
  const std::size_t n = v.size();
  BoundForms out{std::vector<float>(n), std::vector<float>(n), std::vector<float>(n)};
  std::vector<float> upper(n);
  for (std::size_t i = 0; i < n; ++i) upper[i] = static_cast<float>(v[i]);
  std::size_t i = 0;
  if (vector) {
#if defined(__AVX512F__)
    for (; i < n; i += 8) {
      const auto m = static_cast<__mmask8>(n - i >= 8 ? 0xFF : (1u << (n - i)) - 1);
      const __m512d x = load8<double>(v.data() + i, n - i), e = load8<double>(eps.data() + i, n - i);
      _mm256_mask_storeu_ps(out.lower.data() + i, m, lower_from_value8(x, e));
      _mm256_mask_storeu_ps(out.from_value.data() + i, m, threshold_of_value8(x, e));
      __mmask8 ok;
      const __m512d t = upper_square8(load8<float>(upper.data() + i, n - i), e, ok);
      _mm256_mask_storeu_ps(out.from_upper.data() + i, m, threshold_from_square8(t, ok));
    }
#elif defined(__AVX2__)
    for (; i + 4 <= n; i += 4) {
      const __m256d x = load4<double>(v.data() + i), e = load4<double>(eps.data() + i);
      _mm_storeu_ps(out.lower.data() + i, lower_from_value4(x, e));
      _mm_storeu_ps(out.from_value.data() + i, threshold_of_value4(x, e));
      __m256d ok;
      const __m256d t = upper_square4(load4<float>(upper.data() + i), e, ok);
      _mm_storeu_ps(out.from_upper.data() + i, threshold_from_square4(t, ok));
    }
#endif
  }
  for (; i < n; ++i) {
    out.lower[i] = lower_from_value(v[i], eps[i]);
    out.from_value[i] = threshold_of_value(v[i], eps[i]);
    out.from_upper[i] = threshold_of_upper(upper[i], eps[i]);
  }
  return out;
}

std::pair<double, double> centroid_distance_bounds(const std::vector<float>& a, const std::vector<float>& b) {
  const float* other = b.empty() ? nullptr : b.data();
  const auto d = static_cast<std::int64_t>(a.size());
  return {centroid_distance<float>(a.data(), other, d, Side::below), centroid_distance<float>(a.data(), other, d, Side::above)};
}

std::pair<std::int32_t, double> nearest_two_form(const float* v, int k, bool vector) {
  const Nearest n = vector ? nearest_two<float>(v, k) : nearest_two_scalar<float>(v, k);
  return {n.label, n.second};
}

}  // namespace testing

template class EStep<std::uint8_t>;
template class EStep<float>;
template class EStep<double>;

}  // namespace hpcb::kmeans
