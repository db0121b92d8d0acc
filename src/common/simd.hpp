// SIMD building blocks of the kernels (k-means distances and bounds, the regression's
// residual sums): the one set of vector helpers.
//
// One 64-byte register's worth of D (16 floats or 8 doubles), through GCC/Clang
// vector extensions: the compiler emits AVX-512 where the target has it and
// pairs of narrower registers elsewhere. The arithmetic written here is exactly
// what runs (no reassociation; the one fused multiply-add is explicit where the
// target has FMA), so every (row, centroid) value is a fixed function of the
// row and the centroid, whichever function of the kernel computes it.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__AVX512F__) || defined(__AVX512DQ__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace hpcb::simd {

template <class D>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <>
struct VecOf<std::int32_t> {  // the result of comparing two vec<float>
  typedef std::int32_t type __attribute__((vector_size(64)));
};
template <class D>
using vec = typename VecOf<D>::type;
template <class D>
inline constexpr int kWidth = 64 / sizeof(D);

// A vector V of D from p (unaligned).
template <class V, class D>
inline V load_as(const D* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class D>
inline vec<D> load(const D* p) {
  return load_as<vec<D>>(p);
}

// acc + a * b with one rounding where the target has FMA, two otherwise; the
// same instruction in every caller, so no caller can differ in the last bit
// through the compiler's choice to contract or not.
template <class D>
inline vec<D> madd(vec<D> a, vec<D> b, vec<D> acc) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<D, float>)
    return (vec<D>)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)acc);
  else
    return (vec<D>)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)acc);
#elif defined(__AVX2__) && defined(__FMA__)
  // Two 32-byte fused multiply-adds, explicit as madd_part()'s: left to the compiler, the
  // contraction of acc + a * b depends on the optimisation level (not at -O1), and the
  // kernels' values would differ between functions.
  if constexpr (std::is_same_v<D, float>) {
    typedef float half __attribute__((vector_size(32)));
    const half lo = (half)_mm256_fmadd_ps((__m256)__builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7),
                                          (__m256)__builtin_shufflevector(b, b, 0, 1, 2, 3, 4, 5, 6, 7),
                                          (__m256)__builtin_shufflevector(acc, acc, 0, 1, 2, 3, 4, 5, 6, 7));
    const half hi = (half)_mm256_fmadd_ps((__m256)__builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15),
                                          (__m256)__builtin_shufflevector(b, b, 8, 9, 10, 11, 12, 13, 14, 15),
                                          (__m256)__builtin_shufflevector(acc, acc, 8, 9, 10, 11, 12, 13, 14, 15));
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  } else {
    typedef double half __attribute__((vector_size(32)));
    const half lo = (half)_mm256_fmadd_pd((__m256d)__builtin_shufflevector(a, a, 0, 1, 2, 3),
                                          (__m256d)__builtin_shufflevector(b, b, 0, 1, 2, 3),
                                          (__m256d)__builtin_shufflevector(acc, acc, 0, 1, 2, 3));
    const half hi = (half)_mm256_fmadd_pd((__m256d)__builtin_shufflevector(a, a, 4, 5, 6, 7),
                                          (__m256d)__builtin_shufflevector(b, b, 4, 5, 6, 7),
                                          (__m256d)__builtin_shufflevector(acc, acc, 4, 5, 6, 7));
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
  }
#else
  // (Without FMA: a multiply and an add, each rounded.)
  return acc + a * b;
#endif
}

#if defined(__AVX2__) && !defined(__AVX512F__)
// Sixteen bytes as floats (exactly), eight at a time. (Through vector extensions alone GCC 12
// converts the bytes one by one, through the stack: the dense E-step took 31 ms an iteration
// on MNIST, on a Zen 3 without AVX-512, against 3.7 with this.)
inline void bytes_to_floats(const std::uint8_t* p, __m256& lo, __m256& hi) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
  hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(b, b)));
}
#endif

// W values of a row, as D, times scale. uint8 rows are converted here, in
// registers, so the row is never written out as floats.
template <class T, class D>
inline vec<D> load_scaled(const T* p, vec<D> scale) {
  if constexpr (std::is_same_v<T, D>) {
    return load<D>(p) * scale;
  } else {
    static_assert(std::is_same_v<T, std::uint8_t> && std::is_same_v<D, float>);
    // Bytes to 32-bit integers to floats. (GCC 12 scalarises a direct
    // byte-to-float __builtin_convertvector, and the byte-to-int one too.)
#if defined(__AVX512F__)
    // (The zero-masked form: the plain one trips GCC 12's -Wmaybe-uninitialized.)
    typedef std::int32_t ints __attribute__((vector_size(64)));
    const ints v = (ints)_mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return __builtin_convertvector(v, vec<D>) * scale;
#elif defined(__AVX2__)
    typedef float half __attribute__((vector_size(32)));
    __m256 lo, hi;
    bytes_to_floats(p, lo, hi);
    return __builtin_shufflevector((half)lo, (half)hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) * scale;
#else
    typedef std::uint8_t bytes __attribute__((vector_size(16)));
    typedef std::int32_t ints __attribute__((vector_size(64)));
    bytes b;
    std::memcpy(&b, p, sizeof b);
    return __builtin_convertvector(__builtin_convertvector(b, ints), vec<D>) * scale;
#endif
  }
}

// The registers a kernel keeps many vec<D> in (dot_tile's accumulators): vec<D> itself with
// AVX-512; elsewhere P = 2 parts of 32 bytes, lanes [0, W/2) and [W/2, W). The arithmetic is
// the same lane by lane (one fused multiply-add where the target has FMA), so a part-wise
// kernel computes the bits its vec<D> form would; written out because GCC 12 keeps 64-byte
// vectors of AVX2 code on the stack once more than a few are live (the dense E-step spent
// most of its time moving its accumulators to and from memory).
#if defined(__AVX512F__)
template <class D>
using part = vec<D>;
#else
template <class D>
struct PartOf;
template <>
struct PartOf<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct PartOf<double> {
  typedef double type __attribute__((vector_size(32)));
};
template <class D>
using part = typename PartOf<D>::type;
#endif
template <class D>
inline constexpr int kParts = sizeof(vec<D>) / sizeof(part<D>);

template <class D>
inline part<D> load_part(const D* p) {
  return load_as<part<D>>(p);
}

// madd() on one part.
template <class D>
inline part<D> madd_part(part<D> a, part<D> b, part<D> acc) {
  if constexpr (kParts<D> == 1) {
    return madd<D>(a, b, acc);
  } else {
#if defined(__AVX2__) && defined(__FMA__)
    if constexpr (std::is_same_v<D, float>)  // (explicit: see madd())
      return (part<D>)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)acc);
    else
      return (part<D>)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)acc);
#else
    return acc + a * b;
#endif
  }
}

// load_scaled() into its kParts<D> parts, out[0..P).
template <class T, class D>
inline void load_scaled_parts(const T* p, vec<D> scale, part<D>* out) {
  if constexpr (kParts<D> == 1) {
    out[0] = load_scaled<T, D>(p, scale);
  } else {
    part<D> s;
    std::memcpy(&s, &scale, sizeof s);  // a splat: every part the same
#if defined(__AVX2__)
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      __m256 lo, hi;
      bytes_to_floats(p, lo, hi);
      out[0] = (part<D>)lo * s;
      out[1] = (part<D>)hi * s;
      return;
    }
#endif
    if constexpr (std::is_same_v<T, D>) {
      for (int q = 0; q < kParts<D>; ++q) out[q] = load_part<D>(p + q * (kWidth<D> / kParts<D>)) * s;
    } else {
      const vec<D> v = load_scaled<T, D>(p, scale);
      std::memcpy(out, &v, sizeof v);
    }
  }
}

// Bit l set where lane l of m (a comparison's result: all ones or zero) is true.
inline std::uint32_t lane_bits(vec<std::int32_t> m) {
#if defined(__AVX512DQ__)
  return _mm512_movepi32_mask((__m512i)m);
#else
  std::uint32_t b = 0;
  for (int l = 0; l < kWidth<std::int32_t>; ++l) b |= static_cast<std::uint32_t>(m[l] != 0) << l;
  return b;
#endif
}

// The smallest of the 16 float lanes (no NaN among them), in every lane: min is exact, so
// the order does not matter. Vector extensions, not intrinsics: GCC 12's _mm512_min_ps,
// _mm512_shuffle_f32x4 and _mm512_reduce_min_ps trip -Wmaybe-uninitialized in its own header.
inline vec<float> min_lanes(vec<float> v) {
  using lanes = vec<std::int32_t>;
  auto min = [](vec<float> a, vec<float> b) { return a < b ? a : b; };
  v = min(v, __builtin_shuffle(v, lanes{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7}));
  v = min(v, __builtin_shuffle(v, lanes{4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11}));
  v = min(v, __builtin_shuffle(v, lanes{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13}));
  v = min(v, __builtin_shuffle(v, lanes{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}));
  return v;
}

// Horizontal sum in a fixed order: halves added pairwise (lane l + lane l + W/2,
// then l + W/4, ...).
template <class D>
inline D hsum(vec<D> v) {
  D lanes[kWidth<D>];
  std::memcpy(lanes, &v, sizeof v);
  for (int width = kWidth<D> / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0];
}

// hsum() of the vec<D> whose parts are p[0..P). With two parts its first level (lane l +
// lane l + W/2) is the sum of the parts, the rest the same pairs within one part.
template <class D>
inline D hsum_parts(const part<D>* p) {
  if constexpr (kParts<D> == 1) {
    return hsum<D>(p[0]);
  } else {
    static_assert(kParts<D> == 2);
    const part<D> v = p[0] + p[1];
#if defined(__AVX2__)
    if constexpr (std::is_same_v<D, float>) {
      __m128 h = _mm_add_ps(_mm256_castps256_ps128((__m256)v), _mm256_extractf128_ps((__m256)v, 1));  // l + l+4
      h = _mm_add_ps(h, _mm_movehl_ps(h, h));                                                          // l + l+2
      return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));                                         // l + l+1
    } else {
      const __m128d h = _mm_add_pd(_mm256_castpd256_pd128((__m256d)v), _mm256_extractf128_pd((__m256d)v, 1));  // l + l+2
      return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));                                              // l + l+1
    }
#else
    D lanes[kWidth<D> / 2];
    std::memcpy(lanes, &v, sizeof v);
    for (int width = kWidth<D> / 4; width >= 1; width /= 2)
      for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
    return lanes[0];
#endif
  }
}

// out[i] = hsum(acc[i]) for i < N, bit for bit: with AVX-512 sixteen floats
// (eight doubles) at a time through a transposing shuffle network that
// performs exactly hsum's additions, pairing the same lanes, at about 3
// instructions per sum instead of about 10.
//
// Floats, 16 sums A..P: level 1 puts the 256-bit halves of two sums side by
// side and adds (lane l + lane l+8 of each); level 2 does the same with
// 128-bit quarters (l + l+4), level 3 within quarters (l + l+2), level 4
// (l + l+1). Doubles: the same with 8 sums and three levels.
template <class D>
inline void hsums_block(const vec<D>* acc, D* out);

template <class D, int N>
inline void hsums(const vec<D>* acc, D* out) {
  int i = 0;
#if defined(__AVX512F__)
  constexpr int B = kWidth<D>;  // sums per network
  for (; i + B <= N; i += B) hsums_block<D>(acc + i, out + i);
  if constexpr (N % B >= 3) {
    // The rest through the network too, padded with zero vectors whose sums
    // are dropped: cheaper than one hsum each from three on.
    vec<D> pad[B];
    D tmp[B];
#pragma GCC unroll 16
    for (int t = 0; t < B; ++t) pad[t] = t < N % B ? acc[i + t] : vec<D>{};  // unrolled: no memset call
    hsums_block<D>(pad, tmp);
    for (int t = 0; t < N % B; ++t) out[i + t] = tmp[t];
    i = N;
  }
#endif
  for (; i < N; ++i) out[i] = hsum<D>(acc[i]);
}

#if defined(__AVX512F__)
// Sixteen 4-byte lanes (float, or int32 for the integer dot products, whose sums are exact
// in any order).
template <class D>
inline void hsums_block16(const vec<D>* acc, D* out) {
  static_assert(sizeof(D) == 4);
  typedef std::int32_t idx __attribute__((vector_size(64)));
  vec<D> b[8], c[4], e[2];
  for (int t = 0; t < 8; ++t)  // [A.lo256, B.lo256] + [A.hi256, B.hi256]
    b[t] = __builtin_shuffle(acc[2 * t], acc[2 * t + 1], idx{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}) +
           __builtin_shuffle(acc[2 * t], acc[2 * t + 1], idx{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31});
  for (int t = 0; t < 4; ++t)  // quarters: [A.q0, B.q0, C.q0, D.q0] + [A.q1, B.q1, C.q1, D.q1]
    c[t] = __builtin_shuffle(b[2 * t], b[2 * t + 1], idx{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27}) +
           __builtin_shuffle(b[2 * t], b[2 * t + 1], idx{4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31});
  // c[t], quarter q: the four level-2 partials of sum 4t + q.
  for (int t = 0; t < 2; ++t)  // per quarter: [X0, X1, Y0, Y1] + [X2, X3, Y2, Y3]
    e[t] = __builtin_shuffle(c[2 * t], c[2 * t + 1], idx{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29}) +
           __builtin_shuffle(c[2 * t], c[2 * t + 1], idx{2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31});
  // e[t], quarter q: [S0, S1] of sum 8t + q, then of sum 8t + 4 + q.
  // Level 4, with the lanes put straight into sum order.
  const vec<D> f = __builtin_shuffle(e[0], e[1], idx{0, 4, 8, 12, 2, 6, 10, 14, 16, 20, 24, 28, 18, 22, 26, 30}) +
                   __builtin_shuffle(e[0], e[1], idx{1, 5, 9, 13, 3, 7, 11, 15, 17, 21, 25, 29, 19, 23, 27, 31});
  std::memcpy(out, &f, sizeof f);
}

template <>
inline void hsums_block<float>(const vec<float>* acc, float* out) {
  hsums_block16<float>(acc, out);
}
template <>
inline void hsums_block<std::int32_t>(const vec<std::int32_t>* acc, std::int32_t* out) {
  hsums_block16<std::int32_t>(acc, out);
}

template <>
inline void hsums_block<double>(const vec<double>* acc, double* out) {
  typedef std::int64_t idx __attribute__((vector_size(64)));
  vec<double> b[4], c[2];
  for (int t = 0; t < 4; ++t)  // 256-bit halves (lane l + lane l+4)
    b[t] = __builtin_shuffle(acc[2 * t], acc[2 * t + 1], idx{0, 1, 2, 3, 8, 9, 10, 11}) +
           __builtin_shuffle(acc[2 * t], acc[2 * t + 1], idx{4, 5, 6, 7, 12, 13, 14, 15});
  for (int t = 0; t < 2; ++t)  // 128-bit quarters (l + l+2)
    c[t] = __builtin_shuffle(b[2 * t], b[2 * t + 1], idx{0, 1, 4, 5, 8, 9, 12, 13}) +
           __builtin_shuffle(b[2 * t], b[2 * t + 1], idx{2, 3, 6, 7, 10, 11, 14, 15});
  // c[t], quarter q: the two level-2 partials of sum 4t + q. Level 3 (l + l+1), in sum order.
  const vec<double> f = __builtin_shuffle(c[0], c[1], idx{0, 2, 4, 6, 8, 10, 12, 14}) +
                        __builtin_shuffle(c[0], c[1], idx{1, 3, 5, 7, 9, 11, 13, 15});
  std::memcpy(out, &f, sizeof f);
}
#endif

// out[i] = hsum_parts(&acc[P i]) for i < N: with AVX2, 3 to 8 float sums at once through a
// transposing network that pairs the same lanes as hsum_parts() (the parts' sum, then l + l+4,
// l + l+2, l + l+1), at about a third of its instructions per sum (the dense E-step at d = 64,
// four multiply-adds per part then a reduction, 1.06x faster).
template <class D, int N>
inline void hsums_parts(const part<D>* acc, D* out) {
  if constexpr (kParts<D> == 1) {
    hsums<D, N>(acc, out);
#if defined(__AVX2__) && !defined(__AVX512F__)
  } else if constexpr (std::is_same_v<D, float> && N >= 3) {
    static_assert(N <= 8, "one network: dot_tile's tiles hold at most 6 sums without AVX-512");
    __m256 v[8];
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) v[t] = t < N ? (__m256)(acc[2 * t] + acc[2 * t + 1]) : _mm256_setzero_ps();
    __m256 h[4], q[2];
    for (int t = 0; t < 4; ++t)  // [A.lo128, B.lo128] + [A.hi128, B.hi128]: l + l+4
      h[t] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * t], v[2 * t + 1], 0x20),
                           _mm256_permute2f128_ps(v[2 * t], v[2 * t + 1], 0x31));
    for (int t = 0; t < 2; ++t)  // per 128-bit lane [X0, X1, Y0, Y1] + [X2, X3, Y2, Y3]: l + l+2
      q[t] = _mm256_add_ps(_mm256_shuffle_ps(h[2 * t], h[2 * t + 1], 0x44), _mm256_shuffle_ps(h[2 * t], h[2 * t + 1], 0xEE));
    // l + l+1: lanes hold the sums 0, 2, 4, 6 | 1, 3, 5, 7, put in order.
    const __m256 f = _mm256_add_ps(_mm256_shuffle_ps(q[0], q[1], 0x88), _mm256_shuffle_ps(q[0], q[1], 0xDD));
    alignas(32) float all[8];
    _mm256_store_ps(all, _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) out[t] = all[t];
#endif
  } else {
    for (int i = 0; i < N; ++i) out[i] = hsum_parts<D>(acc + kParts<D> * i);
  }
}

}  // namespace hpcb::simd
