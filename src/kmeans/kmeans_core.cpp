#include "kmeans/kmeans_core.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

// The centroids-in-lanes form of small d: 16 centroids a 64-byte vector with AVX-512, two
// 32-byte halves with AVX2 and FMA (the same lanes, the same tree).
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define HPCB_COLUMNS 1
#else
#define HPCB_COLUMNS 0
#endif

#include "common/prefetch.hpp"
#include "common/simd.hpp"
#include "kmeans/lane_rows.hpp"

namespace hpcb::kmeans {
namespace {

using simd::hsums;
using simd::kWidth;
using simd::load;
using simd::load_scaled;
using simd::madd;
using simd::vec;

// Tile shape: R rows x G centroids of accumulators. With AVX-512's 32 vector
// registers, 2 x 12 accumulators + 2 row chunks + 1 centroid chunk fit; with 16
// (a 64-byte vector is then two registers) one row and a few centroids.
#if defined(__AVX512F__)
constexpr int kTileRows = 2;
constexpr int kMaxGroup = 12;
#else
constexpr int kTileRows = 1;
constexpr int kMaxGroup = 6;
#endif

#if defined(__AVX512F__)
// The 16 x 16 floats of t[0..15] (a row each) transposed in place: row i becomes what was
// column i. Pairs of rows interleaved, then pairs of pairs, then 128-bit lanes twice.
// (Zero-masked forms: the plain ones trip GCC 12's -Wmaybe-uninitialized in its own header.)
inline void transpose16(__m512 (&t)[16]) {
  __m512 a[16], b[16];
  for (int i = 0; i < 16; i += 2) {
    a[i] = _mm512_maskz_unpacklo_ps(0xFFFF, t[i], t[i + 1]);      // per lane: r0[0] r1[0] r0[1] r1[1]
    a[i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, t[i], t[i + 1]);  //           r0[2] r1[2] r0[3] r1[3]
  }
  for (int i = 0; i < 16; i += 4)
    for (int h = 0; h < 2; ++h) {
      b[i + 2 * h] = _mm512_shuffle_ps(a[i + h], a[i + h + 2], 0x44);      // r0..r3 of element 2h
      b[i + 2 * h + 1] = _mm512_shuffle_ps(a[i + h], a[i + h + 2], 0xEE);  // of element 2h + 1
    }
  // b[4 q + e]: rows 4q..4q+3 of element e in each 128-bit lane (elements e, e+4, e+8, e+12).
  for (int q = 0; q < 16; q += 8)
    for (int e = 0; e < 4; ++e) {
      a[q + e] = _mm512_maskz_shuffle_f32x4(0xFFFF, b[q + e], b[q + 4 + e], 0x88);      // lanes 0, 2 of each
      a[q + e + 4] = _mm512_maskz_shuffle_f32x4(0xFFFF, b[q + e], b[q + 4 + e], 0xDD);  // lanes 1, 3
    }
  for (int e = 0; e < 8; ++e) {
    t[e] = _mm512_maskz_shuffle_f32x4(0xFFFF, a[e], a[e + 8], 0x88);
    t[e + 8] = _mm512_maskz_shuffle_f32x4(0xFFFF, a[e], a[e + 8], 0xDD);
  }
}
#elif defined(__AVX2__)
// The 8 x 8 floats of t[0..7] (a row each) transposed in place: row i becomes what was column
// i. Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves.
inline void transpose8(__m256 (&t)[8]) {
  __m256 a[8], b[8];
  for (int i = 0; i < 8; i += 2) {
    a[i] = _mm256_unpacklo_ps(t[i], t[i + 1]);      // per half: r0[0] r1[0] r0[1] r1[1]
    a[i + 1] = _mm256_unpackhi_ps(t[i], t[i + 1]);  //           r0[2] r1[2] r0[3] r1[3]
  }
  for (int i = 0; i < 8; i += 4)
    for (int h = 0; h < 2; ++h) {
      b[i + 2 * h] = _mm256_shuffle_ps(a[i + h], a[i + h + 2], 0x44);      // r0..r3 of element 2h
      b[i + 2 * h + 1] = _mm256_shuffle_ps(a[i + h], a[i + h + 2], 0xEE);  // of element 2h + 1
    }
  // b[4 q + e]: rows 4q..4q+3 of elements e (low half) and e + 4 (high half).
  for (int e = 0; e < 4; ++e) {
    t[e] = _mm256_permute2f128_ps(b[e], b[4 + e], 0x20);
    t[e + 4] = _mm256_permute2f128_ps(b[e], b[4 + e], 0x31);
  }
}
#endif

template <class D>
vec<D> splat(D v) {
  return vec<D>{} + v;
}

// Dot products of R rows with G centroids, out[r * G + g]; centroid g's chunk
// i is at c + g * W + i * step. Every lane of every accumulator adds its chunk
// products in order over the padded row (one fused multiply-add each), then
// hsums() reduces it by a fixed tree: the operations for a (row, centroid) pair
// are the same whatever R, G and the other rows and centroids are.
//
// live: the chunks to add (bit i: chunk i), the others being zeros in all R rows: a zero
// row value adds x c = +-0 to a sum that is never -0 (it starts at +0, and a rounded sum is
// -0 only from two -0), which changes no bit, for finite centroids. ~0: every chunk.
template <class T, class D, int R, int G>
void dot_tile(const T* const* x, std::int64_t d, vec<D> scale, const D* c0, std::int64_t step, D* out,
              std::uint64_t live = ~std::uint64_t{0}) {
  constexpr int W = kWidth<D>, P = simd::kParts<D>, H = W / P;
  using Part = simd::part<D>;
  Part acc[R * G * P];  // accumulator (r, g) in parts [(r G + g) P, +P)
#pragma GCC unroll 64
  for (int i = 0; i < R * G * P; ++i) acc[i] = Part{};  // unrolled into register zeroing, not a memset call
  auto chunk = [&](const Part* xv, std::int64_t i) {  // xv: R rows' P parts
    const D* c = c0 + i * step;
    for (int g = 0; g < G; ++g)
      for (int q = 0; q < P; ++q) {
        const Part cv = simd::load_part<D>(c + g * W + q * H);
        for (int r = 0; r < R; ++r) acc[(r * G + g) * P + q] = simd::madd_part<D>(xv[r * P + q], cv, acc[(r * G + g) * P + q]);
      }
  };
  const std::int64_t full = d / W * W;
  if (live == ~std::uint64_t{0}) {
    for (std::int64_t j = 0; j < full; j += W) {
      Part xv[R * P];
      for (int r = 0; r < R; ++r) simd::load_scaled_parts<T, D>(x[r] + j, scale, &xv[r * P]);
      chunk(xv, j / W);
    }
  } else {
    const std::int64_t chunks = full / W;
    for (std::uint64_t left = chunks >= 64 ? live : live & ((std::uint64_t{1} << chunks) - 1); left; left &= left - 1) {
      const std::int64_t i = __builtin_ctzll(left);
      Part xv[R * P];
      for (int r = 0; r < R; ++r) simd::load_scaled_parts<T, D>(x[r] + i * W, scale, &xv[r * P]);
      chunk(xv, i);
    }
  }
  if (full < d && (live == ~std::uint64_t{0} || (live >> (full / W) & 1))) {  // the last chunk: the row's tail, then zeros (as the centroids' padding)
    Part xv[R * P];
    for (int r = 0; r < R; ++r) {
      T tail[W] = {};
      std::memcpy(tail, x[r] + full, static_cast<std::size_t>(d - full) * sizeof(T));
      simd::load_scaled_parts<T, D>(tail, scale, &xv[r * P]);
    }
    chunk(xv, full / W);
  }
  simd::hsums_parts<D, R * G>(acc, out);
}

// dot_tile with G chosen at run time (1 <= g <= kMaxGroup).
template <class T, class D, int R, int G = kMaxGroup>
void dot_group(int g, const T* const* x, std::int64_t d, vec<D> scale, const D* c, std::int64_t step, D* out,
               std::uint64_t live = ~std::uint64_t{0}) {
  if constexpr (G >= 1) {
    if (g == G) return dot_tile<T, D, R, G>(x, d, scale, c, step, out, live);
    dot_group<T, D, R, G - 1>(g, x, d, scale, c, step, out, live);
  }
}

// The values of R rows against the g centroids from c0 (one register tile): centroid c0 + i
// of row r into out[r * stride + i].
template <class T, class D, int R>
void group_values(const T* const* x, std::int64_t d, vec<D> scale, const D* xx, const PackedCentroids<D>& C, int c0,
                  int g, D* out, std::int64_t stride, std::uint64_t live = ~std::uint64_t{0}) {
  constexpr int W = kWidth<D>;
  D dots[R * kMaxGroup];
  dot_group<T, D, R>(g, x, d, scale, C.first_chunk(c0, W), C.chunk_step(c0, W), dots, live);
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < g; ++i)
      out[r * stride + i] = sq_value<D>(xx[r], dots[r * g + i], C.norms[static_cast<std::size_t>(c0 + i)]);
}

// The values of R rows against m centroids, out[r * m + i]: all k in order,
// a whole group per tile, when cs is nullptr (m = k); else the centroids cs[i],
// one per tile.
template <class T, class D, int R>
void tile_values(const T* const* x, std::int64_t d, vec<D> scale, const D* xx, const PackedCentroids<D>& C,
                 const int* cs, int m, D* out, std::uint64_t live) {
  for (int i0 = 0; i0 < m;) {
    const int c0 = cs ? cs[i0] : i0;
    const int g = cs ? 1 : C.size_of_group(c0);
    group_values<T, D, R>(x, d, scale, xx, C, c0, g, out + i0, m, live);
    i0 += g;
  }
}

// |x|^2 of one row: the same chunked fused multiply-adds and tree as a dot (in parts, as
// dot_tile(): through 64-byte vectors, AVX2 code took 1.4 us a MNIST row).
template <class T, class D>
D row_norm(const T* x, std::int64_t d, vec<D> scale) {
  constexpr int W = kWidth<D>, P = simd::kParts<D>;
  using Part = simd::part<D>;
  Part acc[P] = {};
  auto add = [&](const T* chunk) {
    Part v[P];
    simd::load_scaled_parts<T, D>(chunk, scale, v);
    for (int q = 0; q < P; ++q) acc[q] = simd::madd_part<D>(v[q], v[q], acc[q]);
  };
  const std::int64_t full = d / W * W;
  for (std::int64_t j = 0; j < full; j += W) add(x + j);
  if (full < d) {
    T tail[W] = {};
    std::memcpy(tail, x + full, static_cast<std::size_t>(d - full) * sizeof(T));
    add(tail);
  }
  return simd::hsum_parts<D>(acc);
}

// Asks for the bytes kPrefetchAhead beyond values [from, to) of X (count values in all) to
// be brought into the cache. The rows stream from memory, and the column form below is fast
// enough that the hardware prefetcher alone leaves it waiting: one Lloyd iteration on
// 1e6 x 64 floats, k = 16, 1.16x and 1.3x faster in two runs (medians of 5, interleaved,
// against no prefetch; 1 to 4 KB ahead did as well). The feature-in-lanes tiles gain nothing.
constexpr std::int64_t kPrefetchAhead = 2048;
template <class T>
void prefetch_ahead(const T* X, std::int64_t count, std::int64_t from, std::int64_t to) {
  const char* base = reinterpret_cast<const char*>(X);
  const std::int64_t end = count * static_cast<std::int64_t>(sizeof(T));
  const std::int64_t last = std::min(end, to * static_cast<std::int64_t>(sizeof(T)) + kPrefetchAhead);
  for (std::int64_t b = from * static_cast<std::int64_t>(sizeof(T)) + kPrefetchAhead; b < last; b += 64)
    prefetch(base + b);
}

#if HPCB_COLUMNS
// Up to this many features, assign() takes the centroids-in-lanes form below when at most
// half of its lanes would be padding (k rounded up to 16): at small d the feature-in-lanes
// tiles spend as long reducing their accumulators (hsums) as accumulating (d = 64: four
// multiply-adds per accumulator, then a 16-lane reduction), while the column form pays for
// every padding lane. The E-step on 1e6 x 64 floats (make bench's BM_Assign, medians of 3,
// interleaved), columns against tiles: k = 10 (6 of 16 lanes padding) 1.35x faster, k = 8
// 1.07x faster, k = 4 1.3x slower; one Lloyd iteration on the 8x8 digits (k = 10) 1.23x faster.
// (AVX-512; for AVX2 see the form below.)
constexpr std::int64_t kColumnsMaxD = 128;
bool use_columns(std::int64_t d, int k) {
  const int kp = (k + kWidth<float> - 1) / kWidth<float> * kWidth<float>;
  return d <= kColumnsMaxD && 2 * (kp - k) <= kp;
}
#endif

#if defined(__AVX512F__)

// The dot products of R rows with the 16 centroids of one column block, bit for bit those
// of dot_tile: there, lane l of centroid c's accumulator adds x[j + l] c[j + l] over the
// chunks j in order and hsum() adds the 16 lanes by a fixed tree (l + l+8, then l + l+4,
// l + l+2, l + l+1). Here lane l's sums for the block's 16 centroids at once are one
// vector (x[j + l] broadcast against the centroids' feature j + l), and the tree's
// additions are vertical: node (L, S) is the sum of lanes L, L + S, L + 2S, ... Taken
// depth first, a row needs at most five live vectors, so R rows share each column load.
// NC chunks, all of them whole (the rows are zero-padded to NC * 16 values; the
// centroids' padding is zero, and 0 * 0 added to a sum that is never -0 changes no bit).
template <int NC, int R, int L = 0, int S = 1>
[[gnu::always_inline]] inline void lane_tree(const float* const (&xs)[R], const float* col, __m512 (&out)[R]) {
  constexpr int W = kWidth<float>;
  if constexpr (S == W) {
    asm volatile("" ::: "memory");
    for (int r = 0; r < R; ++r) out[r] = _mm512_setzero_ps();
    for (int j = 0; j < NC; ++j) {
      const __m512 c = _mm512_load_ps(col + (j * W + L) * W);
      for (int r = 0; r < R; ++r) out[r] = _mm512_fmadd_ps(_mm512_set1_ps(xs[r][j * W + L]), c, out[r]);
    }
  } else {
    __m512 upper[R];
    lane_tree<NC, R, L, 2 * S>(xs, col, out);
    lane_tree<NC, R, L + S, 2 * S>(xs, col, upper);
    for (int r = 0; r < R; ++r) {
      out[r] = _mm512_add_ps(out[r], upper[r]);
      asm volatile("" : "+v"(out[r]));
    }
  }
}

// The values of R rows (x[r]: row r, xx[r] its norm) against every centroid by columns: for
// each block of 16 centroids from c0, row r's 16 values as one vector, bit for bit those
// tile_values() computes (sq_value()'s operations: xx - 2 dot + cc), handed to
// each(r, c0, lanes, v); lanes masks the block's centroids (the others are padding).
template <class T, int NC, int R, class Each>
[[gnu::always_inline]] inline void rows_by_columns(const T* const* x, std::int64_t d, float scale, const float* xx,
                                                   const PackedCentroids<float>& C, Each&& each) {
  constexpr int W = kWidth<float>;
  // The rows' values as load_scaled() forms them (times scale, rounded to float), zero-
  // padded; read straight from the row when that changes nothing (float, scale 1, whole chunks).
  alignas(64) float scaled[R][NC * W];
  const float* xs[R];
  bool direct = false;
  if constexpr (std::is_same_v<T, float>) direct = scale == 1.0f && d == NC * W;
  for (int r = 0; r < R; ++r) {
    if (direct) {
      xs[r] = reinterpret_cast<const float*>(x[r]);
      continue;
    }
    const std::int64_t full = d / W * W;
    for (std::int64_t j = 0; j < full; j += W) {
      const vec<float> v = load_scaled<T, float>(x[r] + j, splat<float>(scale));
      std::memcpy(scaled[r] + j, &v, sizeof v);
    }
    if (full < NC * W) {  // the tail, then zeros
      T tail[W] = {};
      std::memcpy(tail, x[r] + full, static_cast<std::size_t>(d - full) * sizeof(T));
      const vec<float> v = load_scaled<T, float>(tail, splat<float>(scale));
      std::memcpy(scaled[r] + full, &v, sizeof v);
    }
    xs[r] = scaled[r];
  }
  for (int c0 = 0; c0 < C.k; c0 += W) {
    // Read the rows' values afresh in each block: hoisted out of the loop, the
    // 16 * NC * R broadcasts would not fit the registers and go through the stack.
    asm volatile("" ::: "memory");
    __m512 dot[R];
    lane_tree<NC, R>(xs, C.columns.data() + c0 * C.stride, dot);
    const __mmask16 lanes = static_cast<__mmask16>((C.k - c0 >= W) ? 0xFFFF : (1u << (C.k - c0)) - 1);
    const __m512 cc = _mm512_maskz_loadu_ps(lanes, C.norms.data() + c0);
    for (int r = 0; r < R; ++r)
      each(r, c0, lanes,
           sq_value16(_mm512_set1_ps(xx[r]), dot[r], cc));
  }
}

// assign() for R rows by columns: labels and distances as pick() would give them from the
// values. In each block of 16 centroids the lanes below the row's best so far (NaN never
// is, nor a padding lane) compete: the smallest wins, ties to the lowest lane; a later block
// must be strictly smaller, so ties still go to the lower index.
template <class T, int NC, int R>
void assign_rows_by_columns(const T* const* x, std::int64_t d, float scale, const float* xx,
                            const PackedCentroids<float>& C, std::int32_t* labels, float* dist) {
  float best[R];
  std::int32_t best_c[R] = {};
  for (int r = 0; r < R; ++r) best[r] = std::numeric_limits<float>::infinity();
  rows_by_columns<T, NC, R>(x, d, scale, xx, C, [&](int r, int c0, __mmask16 lanes, __m512 v) {
    const __mmask16 below = _mm512_mask_cmp_ps_mask(lanes, v, _mm512_set1_ps(best[r]), _CMP_LT_OQ);
    if (!below) return;
    const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    const __m512 m = (__m512)simd::min_lanes((vec<float>)_mm512_mask_mov_ps(inf, below, v));
    const int lane = __builtin_ctz(_mm512_mask_cmp_ps_mask(below, v, m, _CMP_EQ_OQ));
    best[r] = _mm512_cvtss_f32(m);
    best_c[r] = c0 + lane;
  });
  for (int r = 0; r < R; ++r) {
    labels[r] = best_c[r];
    dist[r] = std::max(best[r], 0.0f);
  }
}

// assign() by columns for `rows` rows: six at a time, then one. (BM_Assign<float>, medians
// of 3, two interleaved runs: 6 rows against 4, 1e6 x 64 k = 16 0.90-0.93x the time, 1e5 x 64
// k = 10 0.85-0.92x, k = 100 0.87-0.95x; 8 rows no better than 6.)
template <class T, int NC>
void assign_by_columns(const T* X, std::int64_t rows, std::int64_t d, float scale, const PackedCentroids<float>& C,
                       const float* xx, std::int32_t* labels, float* dist) {
  constexpr int R = 6;
  const vec<float> s = splat<float>(scale);
  std::int64_t i = 0;
  auto run = [&]<int Rows>() {
    const T* x[Rows];
    float norms[Rows];
    for (int r = 0; r < Rows; ++r) {
      x[r] = X + (i + r) * d;
      norms[r] = xx ? xx[i + r] : row_norm<T, float>(x[r], d, s);
    }
    prefetch_ahead(X, rows * d, i * d, (i + Rows) * d);
    assign_rows_by_columns<T, NC, Rows>(x, d, scale, norms, C, labels + i, dist + i);
    i += Rows;
  };
  while (i + R <= rows) run.template operator()<R>();
  while (i < rows) run.template operator()<1>();
}

// values() of every centroid by columns (out[r * k + c]) for the listed rows: six at a time,
// then one, the next rows asked for ahead (they are scattered: the pruned E-steps' rows whose
// bounds failed). Hamerly on 1e6 x 64 floats, k = 16, 20 iterations (kmeans_seq, medians of
// 5, interleaved): 0.72x the time per iteration of the feature-in-lanes tiles.
template <class T, int NC>
void values_by_columns(const T* const* rows, std::int64_t n_rows, std::int64_t d, float scale, const float* xx,
                       const PackedCentroids<float>& C, float* out) {
  constexpr int R = 6;
  const auto k = static_cast<std::int64_t>(C.k);
  const auto bytes = d * static_cast<std::int64_t>(sizeof(T));
  std::int64_t i = 0;
  auto run = [&]<int Rows>() {
    for (std::int64_t a = i + R; a < std::min(n_rows, i + R + Rows); ++a)
      prefetch_bytes(rows[a], static_cast<std::size_t>(bytes));
    float* o = out + i * k;
    rows_by_columns<T, NC, Rows>(rows + i, d, scale, xx + i, C, [&](int r, int c0, __mmask16 lanes, __m512 v) {
      _mm512_mask_storeu_ps(o + r * k + c0, lanes, v);
    });
    i += Rows;
  };
  while (i + R <= n_rows) run.template operator()<R>();
  while (i < n_rows) run.template operator()<1>();
}

#elif HPCB_COLUMNS
// AVX2 and FMA: the same column form, a block's 16 centroids as two 8-lane halves (H = 1
// where it holds at most 8). The 16 lanes' 32 partial sums would not fit the 16 registers, so,
// as LaneRows::values_in_halves() does for byte rows, the lanes go in four passes of four (L,
// L + 4, L + 8, L + 12), each ending in the tree's node (L, 4) = (a_L + a_L+8) + (a_L+4 +
// a_L+12), then (0, 1) = ((0, 4) + (2, 4)) + ((1, 4) + (3, 4)): hsum()'s pairs, and lane l
// adds x[j + l] c[j + l] over the chunks j in order, as in dot_tile (the same bits).
template <int NC, int H>
[[gnu::always_inline]] inline void node4(int L, const float* xs, const float* col, __m256 (&node)[H]) {
  constexpr int W = kWidth<float>;
  __m256 a[4][H];
  for (int q = 0; q < 4; ++q)
    for (int h = 0; h < H; ++h) a[q][h] = _mm256_setzero_ps();
  for (int j = 0; j < NC; ++j)
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const int f = j * W + L + 4 * q;
      const __m256 x = _mm256_broadcast_ss(xs + f);
      for (int h = 0; h < H; ++h) a[q][h] = _mm256_fmadd_ps(x, _mm256_load_ps(col + f * W + 8 * h), a[q][h]);
    }
  for (int h = 0; h < H; ++h) node[h] = _mm256_add_ps(_mm256_add_ps(a[0][h], a[2][h]), _mm256_add_ps(a[1][h], a[3][h]));
}

// Row xs's values (its norm xx) against the block of centroids at col (their norms cc, zero
// padded), out[0 .. 8 H): sq_value()'s operations.
template <int NC, int H>
[[gnu::always_inline]] inline void block_values(const float* xs, float xx, const float* col, const float* cc, float* out) {
  __m256 n0[H], n2[H], n1[H], n3[H], even[H];
  node4<NC, H>(0, xs, col, n0);
  node4<NC, H>(2, xs, col, n2);
  for (int h = 0; h < H; ++h) even[h] = _mm256_add_ps(n0[h], n2[h]);
  node4<NC, H>(1, xs, col, n1);
  node4<NC, H>(3, xs, col, n3);
  for (int h = 0; h < H; ++h) {
    const __m256 dot = _mm256_add_ps(even[h], _mm256_add_ps(n1[h], n3[h]));
    _mm256_storeu_ps(out + 8 * h, _mm256_add_ps(_mm256_sub_ps(_mm256_set1_ps(xx), _mm256_mul_ps(_mm256_set1_ps(2.0f), dot)),
                                                _mm256_loadu_ps(cc + 8 * h)));
  }
}

// The values of each listed row against every centroid by columns, handed to each(r, v)
// (v: the row's k values, then padding): rows[r] its values, xx[r] its norm.
template <class T, int NC, class Each>
void rows_by_columns(const T* const* rows, std::int64_t n_rows, std::int64_t d, float scale, const float* xx,
                     const PackedCentroids<float>& C, Each&& each) {
  constexpr int W = kWidth<float>;
  const int k = C.k;
  const int kp = (k + W - 1) / W * W;
  std::vector<float> cc(static_cast<std::size_t>(kp), 0.0f), values(static_cast<std::size_t>(kp));  // norms zero padded
  std::copy_n(C.norms.data(), k, cc.begin());
  float* v = values.data();
  alignas(32) float scaled[NC * W];
  for (std::int64_t r = 0; r < n_rows; ++r) {
    // The row's values as load_scaled() forms them (times scale, rounded to float), zero
    // padded; read straight from the row when that changes nothing.
    const float* xs = scaled;
    if constexpr (std::is_same_v<T, float>) {
      if (scale == 1.0f && d == NC * W) xs = rows[r];
    }
    if (xs == scaled) {
      const std::int64_t full = std::min<std::int64_t>(d / W * W, NC * W);  // (d <= NC W: the bound is for GCC)
      for (std::int64_t j = 0; j < full; j += W) {
        const vec<float> x = load_scaled<T, float>(rows[r] + j, splat<float>(scale));
        std::memcpy(scaled + j, &x, sizeof x);
      }
      if (full < NC * W) {
        T tail[W] = {};
        std::memcpy(tail, rows[r] + full, static_cast<std::size_t>(d - full) * sizeof(T));
        const vec<float> x = load_scaled<T, float>(tail, splat<float>(scale));
        std::memcpy(scaled + full, &x, sizeof x);
      }
    }
    for (int c0 = 0; c0 < k; c0 += W) {
      const float* col = C.columns.data() + c0 * C.stride;
      if (k - c0 <= 8)
        block_values<NC, 1>(xs, xx[r], col, cc.data() + c0, v + c0);
      else
        block_values<NC, 2>(xs, xx[r], col, cc.data() + c0, v + c0);
    }
    each(r, v);
  }
}

template <class T, int NC>
void values_by_columns(const T* const* rows, std::int64_t n_rows, std::int64_t d, float scale, const float* xx,
                       const PackedCentroids<float>& C, float* out) {
  const auto k = static_cast<std::int64_t>(C.k);
  rows_by_columns<T, NC>(rows, n_rows, d, scale, xx, C, [&](std::int64_t r, const float* v) { std::copy_n(v, k, out + r * k); });
}

// assign() by columns: each row's k values, then pick() (the tiles' choice, from the same values).
template <class T, int NC>
void assign_by_columns(const T* X, std::int64_t rows, std::int64_t d, float scale, const PackedCentroids<float>& C,
                       const float* xx, std::int32_t* labels, float* dist) {
  constexpr std::int64_t kBlock = 64;  // rows (and their norms) at a time
  const vec<float> s = splat<float>(scale);
  const T* x[kBlock];
  float norms[kBlock];
  for (std::int64_t i0 = 0; i0 < rows; i0 += kBlock) {
    const std::int64_t n = std::min(kBlock, rows - i0);
    for (std::int64_t r = 0; r < n; ++r) {
      x[r] = X + (i0 + r) * d;
      norms[r] = xx ? xx[i0 + r] : row_norm<T, float>(x[r], d, s);
    }
    rows_by_columns<T, NC>(x, n, d, scale, norms, C,
                           [&](std::int64_t r, const float* v) { pick<float>(v, C.k, labels[i0 + r], dist[i0 + r]); });
  }
}
#endif

#if HPCB_COLUMNS
// The column kernels with NC = the chunks of d, 1 to kColumnsMaxD / kWidth<float>, chosen at run time.
template <class T, int NC = kColumnsMaxD / kWidth<float>>
void values_by_columns_of(std::int64_t chunks, const T* const* rows, std::int64_t n_rows, std::int64_t d, float scale,
                          const float* xx, const PackedCentroids<float>& C, float* out) {
  if constexpr (NC >= 1) {
    if (chunks == NC) return values_by_columns<T, NC>(rows, n_rows, d, scale, xx, C, out);
    values_by_columns_of<T, NC - 1>(chunks, rows, n_rows, d, scale, xx, C, out);
  }
}

template <class T, int NC = kColumnsMaxD / kWidth<float>>
void assign_by_columns_of(std::int64_t chunks, const T* X, std::int64_t rows, std::int64_t d, float scale,
                          const PackedCentroids<float>& C, const float* xx, std::int32_t* labels, float* dist) {
  if constexpr (NC >= 1) {
    if (chunks == NC) return assign_by_columns<T, NC>(X, rows, d, scale, C, xx, labels, dist);
    assign_by_columns_of<T, NC - 1>(chunks, X, rows, d, scale, C, xx, labels, dist);
  }
}
#endif

}  // namespace

template <class D>
PackedCentroids<D> pack_centroids(const double* C, int k, std::int64_t d, ColumnForm columns) {
  PackedCentroids<D> p;
  pack_centroids(C, k, d, columns, p);
  return p;
}

template <class D>
void pack_centroids(const double* C, int k, std::int64_t d, [[maybe_unused]] ColumnForm columns, PackedCentroids<D>& p) {
  constexpr int W = kWidth<D>;
  [[maybe_unused]] const bool same_shape = p.k == k && p.d == d;  // (read where the columns are built)
  p.k = k;
  p.group = kMaxGroup;
  p.d = d;
  p.stride = (d + W - 1) / W * W;
  p.values.resize(static_cast<std::size_t>(k * p.stride));  // every entry written below
  p.norms.resize(static_cast<std::size_t>(k));
  std::vector<D> row(static_cast<std::size_t>(p.stride));
  for (int c = 0; c < k; ++c) {
    for (std::int64_t j = 0; j < d; ++j) row[static_cast<std::size_t>(j)] = static_cast<D>(C[c * d + j]);
    p.norms[static_cast<std::size_t>(c)] = row_norm<D, D>(row.data(), d, splat<D>(1));
    D* dst = const_cast<D*>(p.first_chunk(c, W));
    const std::int64_t step = p.chunk_step(c, W);  // (once: a division, which the stores kept in the loop)
    for (std::int64_t j = 0; j < p.stride; j += W, dst += step) std::copy_n(row.data() + j, W, dst);
  }
#if defined(__AVX512F__)
  if (std::is_same_v<D, float> && (use_columns(d, k) || columns == ColumnForm::always)) {
    p.kp = (k + W - 1) / W * W;
    // The padding (lanes past k, features past d) is zero from the first packing of this
    // shape on, and the writes below never touch it.
    const auto size = static_cast<std::size_t>(p.stride * p.kp);
    if (!same_shape || p.columns.size() != size) p.columns.assign(size, D(0));
    // Block c / W, feature j, lane c % W: the packed rows' chunks, sixteen centroids by
    // sixteen features at a time, transposed in registers (zeros past k; past d the rows'
    // padding, zero), each vector of the columns written whole. (Feature by feature from the
    // doubles, one value at a time, it took 13.9 of the 18 thousand cycles of packing
    // MNIST's ten centroids every E-step.)
    if constexpr (std::is_same_v<D, float>) {
      for (int c0 = 0; c0 < k; c0 += W) {
        const int n = std::min(W, k - c0);
        const D* chunk[W];  // each centroid's next chunk
        std::int64_t step[W];
        for (int c = 0; c < n; ++c) {
          chunk[c] = p.first_chunk(c0 + c, W);
          step[c] = p.chunk_step(c0 + c, W);
        }
        D* out = &p.columns[static_cast<std::size_t>(c0 / W * p.stride * W)];
        for (std::int64_t j = 0; j < p.stride; j += W, out += W * W) {
          __m512 tile[W];
          for (int c = 0; c < W; ++c) {
            tile[c] = c < n ? _mm512_loadu_ps(chunk[c]) : _mm512_setzero_ps();
            if (c < n) chunk[c] += step[c];
          }
          transpose16(tile);
          for (int f = 0; f < W; ++f) _mm512_storeu_ps(out + f * W, tile[f]);
        }
      }
    }
    return;
  }
#elif HPCB_COLUMNS
  if (std::is_same_v<D, float> && (use_columns(d, k) || columns == ColumnForm::always)) {  // AVX2
    p.kp = (k + W - 1) / W * W;
    const auto size = static_cast<std::size_t>(p.stride * p.kp);
    if (!same_shape || p.columns.size() != size) p.columns.assign(size, D(0));
    // Block c / W, feature j, lane c % W: the packed rows (the same floats, zero past d), eight
    // centroids by eight features at a time, transposed in registers (zero rows past k; lanes
    // of a half-block past k are left as they are, zero), each half-vector written whole.
    // (Feature by feature from the doubles, a block's lanes in order, it took 5 of the 8 us of
    // packing MNIST's ten centroids, at every pruned E-step on every worker.)
    if constexpr (std::is_same_v<D, float>) {
      for (int c0 = 0; c0 < k; c0 += W)
        for (int h = 0; h < W && c0 + h < k; h += 8) {
          const int n = std::min(8, k - c0 - h);
          const D* chunk[8];  // each centroid's chunk holding feature j
          std::int64_t step[8];
          for (int c = 0; c < n; ++c) {
            chunk[c] = p.first_chunk(c0 + h + c, W);
            step[c] = p.chunk_step(c0 + h + c, W);
          }
          D* out = &p.columns[static_cast<std::size_t>(c0 / W * p.stride * W + h)];
          for (std::int64_t j = 0; j < p.stride; j += 8, out += 8 * W) {
            __m256 tile[8];
            for (int c = 0; c < 8; ++c) tile[c] = c < n ? _mm256_loadu_ps(chunk[c] + j % W) : _mm256_setzero_ps();
            if (j % W == 8)
              for (int c = 0; c < n; ++c) chunk[c] += step[c];
            transpose8(tile);
            for (int f = 0; f < 8; ++f) _mm256_storeu_ps(out + f * W, tile[f]);
          }
        }
    }
    return;
  }
#endif
  p.columns.clear();
  p.kp = 0;
}

// assign() by the feature-in-lanes tiles: the rows in blocks of `block` rows, and within a
// block the centroids group by group (one register tile at a time), then pick() row by row.
// With block = kTileRows that is one tile of rows against every group in turn. With many
// centroids the blocks grow to kGroupRows, so that one group (at most kMaxGroup centroids:
// 37 KB of float at d = 784) stays in L1 while the block's rows stream past it, instead of
// every row pair streaming all k centroids from L2 (800 KB at k = 256); the packed centroids
// passing kGroupOrderBytes decide. One Lloyd iteration on MNIST (kmeans_seq, interleaved,
// medians of 3): k = 256 1.14x and k = 100 1.10x faster, k = 64 (200 KB) and k = 24
// unchanged; blocks of 16 to 256 rows did alike.
constexpr std::int64_t kGroupOrderBytes = 256 << 10;
constexpr std::int64_t kGroupRows = 64;
template <class T>
void assign_by_tiles(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale,
                     const PackedCentroids<dist_t<T>>& C, const dist_t<T>* xx, std::int32_t* labels, dist_t<T>* dist) {
  using D = dist_t<T>;
  const int k = C.k;
  const vec<D> s = splat<D>(scale);
  const std::int64_t block =
      static_cast<std::int64_t>(C.values.size() * sizeof(D)) > kGroupOrderBytes ? kGroupRows : kTileRows;
  std::vector<D> v(static_cast<std::size_t>(block * k)), norms(static_cast<std::size_t>(block));
  for (std::int64_t i0 = 0; i0 < rows; i0 += block) {
    const std::int64_t nb = std::min(block, rows - i0);
    for (std::int64_t i = 0; i < nb; ++i)
      norms[static_cast<std::size_t>(i)] = xx ? xx[i0 + i] : row_norm<T, D>(X + (i0 + i) * d, d, s);
    for (int c0 = 0; c0 < k; c0 += C.size_of_group(c0)) {
      auto tile = [&]<int R>(std::int64_t i) {
        const T* x[R];
        for (int r = 0; r < R; ++r) x[r] = X + (i0 + i + r) * d;
        group_values<T, D, R>(x, d, s, norms.data() + i, C, c0, C.size_of_group(c0), v.data() + i * k + c0, k);
      };
      std::int64_t i = 0;
      for (; i + kTileRows <= nb; i += kTileRows) tile.template operator()<kTileRows>(i);
      for (; i < nb; ++i) tile.template operator()<1>(i);
    }
    for (std::int64_t i = 0; i < nb; ++i) pick<D>(v.data() + i * k, k, labels[i0 + i], dist[i0 + i]);
  }
}

void row_chunk_masks(const std::uint8_t* X, std::int64_t rows, std::int64_t d, std::uint64_t* masks) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::uint8_t* x = X + i * d;
    std::uint64_t m = 0;
    std::int64_t j = 0;
#if defined(__AVX512BW__)
    for (; j + 64 <= d; j += 64) {  // 64 bytes at a time: which are nonzero, then per 16
      const std::uint64_t nz = _mm512_test_epi8_mask(_mm512_loadu_si512(x + j), _mm512_set1_epi8(-1));
      for (int q = 0; q < 4; ++q) m |= std::uint64_t{(nz >> (16 * q) & 0xFFFF) != 0} << (j / 16 + q);
    }
#endif
    for (; j < d; j += 16) {  // a chunk as two words (the last one zero-padded)
      std::uint64_t w[2] = {0, 0};
      std::memcpy(w, x + j, static_cast<std::size_t>(std::min<std::int64_t>(16, d - j)));
      m |= std::uint64_t{(w[0] | w[1]) != 0} << (j / 16);
    }
    masks[i] = m;
  }
}

template <class T>
void row_norms(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale, dist_t<T>* xx) {
  using D = dist_t<T>;
  for (std::int64_t i = 0; i < rows; ++i) xx[i] = row_norm<T, D>(X + i * d, d, splat<D>(scale));
}

template <class T>
void values(const T* const* rows, std::int64_t n_rows, std::int64_t d, dist_t<T> scale, const dist_t<T>* xx,
            const PackedCentroids<dist_t<T>>& C, const int* cs, int m, dist_t<T>* out, const std::uint64_t* live) {
  using D = dist_t<T>;
  constexpr int W = kWidth<D>;
  const vec<D> s = splat<D>(scale);
  // The chunks of the listed rows that hold a nonzero value (row_chunk_masks(): chunks of 16,
  // those of a float kernel's registers).
  if constexpr (W != 16) live = nullptr;
  auto live_union = [&](std::int64_t r0, int rs) {
    std::uint64_t u = 0;
    if (!live) return ~u;
    for (int r = 0; r < rs; ++r) u |= live[r0 + r];
    return u;
  };
#if HPCB_COLUMNS
  if constexpr (std::is_same_v<D, float>) {
    // Every centroid at small d: the column form (the same bits; it adds the chunks of
    // zeros too, which change none).
    if (!cs && use_columns(d, C.k))
      return values_by_columns_of<T>(C.stride / W, rows, n_rows, d, scale, xx, C, out);
  }
#endif
  std::int64_t i = 0;
  if (cs && m == 1) {
    // One centroid for all rows (the pruned E-step's own-centroid values):
    // eight rows per tile, so that eight independent sums are in flight.
    constexpr int R = 8;
    const int c = cs[0];
    const D* first = C.first_chunk(c, W);
    const std::int64_t step = C.chunk_step(c, W);
    const D cc = C.norms[static_cast<std::size_t>(c)];
    D dots[R];
    auto run = [&]<int Rows>() {
      dot_tile<T, D, Rows, 1>(rows + i, d, s, first, step, dots, live_union(i, Rows));
      for (int r = 0; r < Rows; ++r) out[i + r] = sq_value<D>(xx[i + r], dots[r], cc);
      i += Rows;
    };
    while (i + R <= n_rows) run.template operator()<R>();
    if (i + 4 <= n_rows) run.template operator()<4>();
    if (i + 2 <= n_rows) run.template operator()<2>();
    if (i < n_rows) run.template operator()<1>();
    return;
  }
  for (; i + kTileRows <= n_rows; i += kTileRows)
    tile_values<T, D, kTileRows>(rows + i, d, s, xx + i, C, cs, m, out + i * m, live_union(i, kTileRows));
  for (; i < n_rows; ++i) tile_values<T, D, 1>(rows + i, d, s, xx + i, C, cs, m, out + i * m, live_union(i, 1));
}

template <class T>
void assign(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale, const PackedCentroids<dist_t<T>>& C,
            const dist_t<T>* xx, std::int32_t* labels, dist_t<T>* dist) {
#if HPCB_COLUMNS
  if constexpr (std::is_same_v<dist_t<T>, float>) {
    if (use_columns(d, C.k))
      return assign_by_columns_of<T>(C.stride / kWidth<float>, X, rows, d, scale, C, xx, labels, dist);
  }
#endif
  assign_by_tiles<T>(X, rows, d, scale, C, xx, labels, dist);
}

namespace {

// Eight partial sums of doubles, as sq_distance() keeps them (lane l of a chain takes features
// 8 i + l), and their fixed tree: l + l+4, then l + l+2, then l + l+1.
using Lanes8 = double __attribute__((vector_size(8 * sizeof(double))));
using Lanes4 = double __attribute__((vector_size(4 * sizeof(double))));  // half of one
double sum_lanes8(Lanes8 acc) {
  for (int width = 4; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

// sq_distance(), with c or (WithC false) without it: the origin's zeros would
// change no bit (x - 0 is x), so they are not read. Q chains of eight lanes (chain q,
// lane l takes features 8 Q i + 8 q + l), added pairwise, then a fixed tree over the lanes.
template <bool WithC, int Q, class T, class C>
double sq_lanes(const T* x, const C* c, std::int64_t d, double scale) {
  // Eight independent partial sums per chain and a fixed tree: one fixed order, whatever
  // the vector width. A chain's eight lanes are held as two halves of four (lanes 0-3, 4-7):
  // in 64-byte vectors GCC 12 kept the chains on the stack on AVX2 and moved them through
  // general registers (0.6-0.9% of an Elkan run on MNIST: the centroids' moves, norms and half
  // distances of every E-step). Each lane's operations are the same, contracted alike (x s - c
  // in one rounding, then t t added in one), so the same bits.
  constexpr int L = 8;
  // Values p[0..3] as doubles. GCC 12 converts uint8 to double one element at a time (in
  // its own vectorisation and in __builtin_convertvector: the last E-step's inertia pass took
  // 3.5 ms on MNIST, as long as four Lloyd iterations), so bytes go through int32.
  auto four = [](const auto* p) {
    using E = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
#if defined(__AVX2__)
    if constexpr (std::is_same_v<E, std::uint8_t>) {
      std::int32_t b;
      std::memcpy(&b, p, sizeof b);
      return (Lanes4)_mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(b)));
    }
    if constexpr (std::is_same_v<E, float>) return (Lanes4)_mm256_cvtps_pd(_mm_loadu_ps(p));  // (GCC: two halves)
#endif
    typedef E e4 __attribute__((vector_size(4 * sizeof(E))));
    e4 v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, Lanes4);
  };
  Lanes4 lo[Q] = {}, hi[Q] = {};
  std::int64_t j = 0;
  for (; j + Q * L <= d; j += Q * L)
    for (int q = 0; q < Q; ++q) {
      Lanes4 a = four(x + j + q * L) * scale, b = four(x + j + q * L + 4) * scale;
      if constexpr (WithC) {
        a -= four(c + j + q * L);
        b -= four(c + j + q * L + 4);
      }
      lo[q] += a * a;
      hi[q] += b * b;
    }
  Lanes8 acc[Q];
  for (int q = 0; q < Q; ++q) acc[q] = __builtin_shufflevector(lo[q], hi[q], 0, 1, 2, 3, 4, 5, 6, 7);
  for (int l = 0; j + l < d; ++l) {
    double t = static_cast<double>(x[j + l]) * scale;
    if constexpr (WithC) t -= static_cast<double>(c[j + l]);
    acc[l / L][l % L] += t * t;
  }
  for (int width = Q / 2; width >= 1; width /= 2)
    for (int q = 0; q < width; ++q) acc[q] += acc[q + width];
  return sum_lanes8(acc[0]);
}

}  // namespace

template <class T, class C>
double sq_distance_fast(const T* x, const C* c, std::int64_t d, double scale) {
  return c ? sq_lanes<true, 4>(x, c, d, scale) : sq_lanes<false, 4>(x, c, d, scale);
}
template double sq_distance_fast<float, float>(const float*, const float*, std::int64_t, double);
template double sq_distance_fast<double, double>(const double*, const double*, std::int64_t, double);

template <class T, class C>
double sq_distance(const T* x, const C* c, std::int64_t d, double scale) {
  return c ? sq_lanes<true, 1>(x, c, d, scale) : sq_lanes<false, 1>(x, c, d, scale);
}

namespace {

using i64x4 = std::int64_t __attribute__((vector_size(4 * sizeof(std::int64_t))));
using i32x4 = std::int32_t __attribute__((vector_size(4 * sizeof(std::int32_t))));

// Four sums as doubles, each rounded as static_cast<double> rounds it, in vector instructions
// where the CPU has no int64 conversion (AVX2: GCC converts one at a time, 1.7% of a Hamerly
// run on MNIST). With the sign bit flipped, x + 2^63 = hi 2^32 + lo (hi, lo 32-bit unsigned),
// and each half is exact as a double by the 2^52 trick (its bits below a 2^52 exponent);
// (hi - 2^31) 2^32 is exact too, so the one rounding is the last addition's: that of x.
Lanes4 to_double4(const std::int64_t* p) {
  i64x4 x;
  std::memcpy(&x, p, sizeof x);
#if defined(__AVX512DQ__) && defined(__AVX512VL__)
  return __builtin_convertvector(x, Lanes4);  // one instruction
#else
  using u64x4 = std::uint64_t __attribute__((vector_size(4 * sizeof(std::uint64_t))));
  const u64x4 u = reinterpret_cast<u64x4>(x) ^ (std::uint64_t{1} << 63);
  constexpr std::uint64_t two52 = 0x4330000000000000;  // the bits of 2^52
  const Lanes4 hi = reinterpret_cast<Lanes4>((u >> 32) | two52) - (0x1p52 + 0x1p31);
  const Lanes4 lo = reinterpret_cast<Lanes4>((u & 0xFFFFFFFF) | two52) - 0x1p52;
  return hi * 0x1p32 + lo;
#endif
}
Lanes4 to_double4(const std::int32_t* p) {
  i32x4 x;
  std::memcpy(&x, p, sizeof x);
  return __builtin_convertvector(x, Lanes4);
}

}  // namespace

template <class S>
MeanSquares cluster_mean(const S* sums, std::int64_t count, double to_scaled, const double* old, std::int64_t d,
                         double* out) {
  // sq_lanes<.., 1>()'s order for both squares: one chain of Lanes8, then sum_lanes8(). Its
  // lanes here as two halves of four (in 64-byte vectors GCC 12 kept the chains on the stack
  // on AVX2, 1.4% of an Elkan run on MNIST).
  constexpr int L = 8;
  static_assert(std::is_same_v<S, std::int64_t> || std::is_same_v<S, std::int32_t>);
  // One division per cluster, not per value (a vector division takes ten times a
  // multiplication's issue slots: 2.5 of those 7.8 us).
  const double factor = to_scaled / static_cast<double>(count);
  Lanes4 move_lo{}, move_hi{}, norm_lo{}, norm_hi{};
  auto half = [&](std::int64_t at, Lanes4& move4, Lanes4& norm4) {
    const Lanes4 m = to_double4(sums + at) * factor;
    std::memcpy(out + at, &m, sizeof m);
    Lanes4 c;
    std::memcpy(&c, old + at, sizeof c);
    const Lanes4 t = m - c;
    move4 += t * t;  // (as sq_lanes() writes it, so contracted alike)
    norm4 += m * m;
  };
  std::int64_t j = 0;
  for (; j + L <= d; j += L) {
    half(j, move_lo, norm_lo);
    half(j + 4, move_hi, norm_hi);
  }
  Lanes8 move = __builtin_shufflevector(move_lo, move_hi, 0, 1, 2, 3, 4, 5, 6, 7);
  Lanes8 norm = __builtin_shufflevector(norm_lo, norm_hi, 0, 1, 2, 3, 4, 5, 6, 7);
  for (int l = 0; j + l < d; ++l) {
    const double m = static_cast<double>(sums[j + l]) * factor;
    out[j + l] = m;
    const double t = m - old[j + l];
    move[l] += t * t;
    norm[l] += m * m;
  }
  return {sum_lanes8(move), sum_lanes8(norm)};
}
template MeanSquares cluster_mean<std::int64_t>(const std::int64_t*, std::int64_t, double, const double*, std::int64_t, double*);
template MeanSquares cluster_mean<std::int32_t>(const std::int32_t*, std::int64_t, double, const double*, std::int64_t, double*);

void row_square_sums(const std::uint8_t* X, std::int64_t rows, std::int64_t d, std::int64_t* out) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::uint8_t* x = X + i * d;
    std::int64_t sum = 0;
    // In uint32 pieces of 2^16 values (each below 2^32), which GCC vectorises.
    for (std::int64_t j0 = 0; j0 < d; j0 += std::int64_t{1} << 16) {
      std::uint32_t part = 0;
      for (std::int64_t j = j0, end = std::min(d, j0 + (std::int64_t{1} << 16)); j < end; ++j)
        part += std::uint32_t{x[j]} * x[j];
      sum += part;
    }
    out[i] = sum;
  }
}

namespace {

// round(x * factor), half away from zero; |x * factor| < 2^62 by choose_shift(),
// so the conversion cannot overflow. (std::llrint would not vectorise.)
template <class T>
std::int64_t fixed_point(T x, double factor) {
  const double v = static_cast<double>(x) * factor;
  return static_cast<std::int64_t>(v + std::copysign(0.5, v));
}

}  // namespace

template <class T>
void accumulate(const T* X, std::int64_t rows, std::int64_t d, int shift, const std::int32_t* labels,
                std::int64_t* sums, std::int64_t* counts) {
  const double factor = std::ldexp(1.0, shift);
  for (std::int64_t i = 0; i < rows; ++i) {
    const T* x = X + i * d;
    std::int64_t* s = sums + static_cast<std::int64_t>(labels[i]) * d;
    if constexpr (std::is_integral_v<T>)
      for (std::int64_t j = 0; j < d; ++j) s[j] += x[j];
    else
      for (std::int64_t j = 0; j < d; ++j) s[j] += fixed_point(x[j], factor);
    ++counts[labels[i]];
  }
}

template <class T>
std::int64_t relabel(const T* X, std::int64_t rows, std::int64_t d, int shift, const std::int32_t* from,
                     const std::int32_t* to, std::int64_t* sums, std::int64_t* counts, const LaneRows* nonzeros,
                     std::int64_t lanes_row0) {
  const double factor = std::ldexp(1.0, shift);
  std::int64_t moved = 0;
  auto move_row = [&](std::int64_t i) {  // row i from cluster from[i] to to[i]: its count and sums
    ++moved;
    --counts[from[i]];
    ++counts[to[i]];
    const T* x = X + i * d;
    std::int64_t* out = sums + static_cast<std::int64_t>(from[i]) * d;
    std::int64_t* in = sums + static_cast<std::int64_t>(to[i]) * d;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      if (nonzeros) return nonzeros->move(lanes_row0 + i, d, out, in);
    }
    for (std::int64_t j = 0; j < d; ++j) {
      const std::int64_t v = std::is_integral_v<T> ? static_cast<std::int64_t>(x[j]) : fixed_point(x[j], factor);
      out[j] -= v;
      in[j] += v;
    }
  };
  std::int64_t i = 0;
#if defined(__AVX512F__)
  // The rows that moved, sixteen labels at a time (most did not): against a test per label
  // (interleaved, kmeans_seq), Hamerly on 10^6 x 64 floats, k = 16, 0.94x the time per iteration.
  for (; i + 16 <= rows; i += 16) {
    for (auto m = static_cast<unsigned>(_mm512_cmpneq_epi32_mask(_mm512_loadu_si512(from + i), _mm512_loadu_si512(to + i)));
         m; m &= m - 1)
      move_row(i + __builtin_ctz(m));
  }
#elif defined(__AVX2__)
  // Eight at a time, as above (a test per label took 1.5% of an Elkan run on MNIST).
  for (; i + 8 <= rows; i += 8) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(to + i));
    for (auto m = ~static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b)))) & 0xFF; m;
         m &= m - 1)
      move_row(i + std::countr_zero(m));
  }
#endif
  for (; i < rows; ++i)
    if (from[i] != to[i]) move_row(i);
  return moved;
}

template <class D>
ValueError value_error(std::int64_t d) {
  constexpr int W = kWidth<D>;
  const double u = std::ldexp(1.0, -std::numeric_limits<D>::digits);  // unit roundoff of D
  const double m = static_cast<double>((d + W - 1) / W) + std::log2(W) + 3;
  const double gamma = m * u / (1 - m * u);
  // Each of the m operations of each of the stride products can lose at most
  // a few subnormal units when it underflows.
  const double abs = 4 * m * static_cast<double>((d + W - 1) / W * W) * static_cast<double>(std::numeric_limits<D>::denorm_min());
  return {2 * gamma, abs};
}

int choose_shift(std::int64_t n, double max_abs) {
  if (!(max_abs > 0)) return 0;
  int e_max = 0, e_n = 0;
  std::frexp(max_abs, &e_max);                      // max_abs < 2^e_max
  std::frexp(static_cast<double>(n) + 1.0, &e_n);   // n + 1 <= 2^e_n
  // One bit of headroom for the rounding of each value.
  return 61 - e_max - e_n;
}

bool sums_fit_int32(std::int64_t n, std::int64_t max_value) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
  return n >= 0 && max_value >= 0 && n <= kMax / std::max<std::int64_t>(max_value, 1);
}

template <class T>
double max_abs(const T* X, std::int64_t count) {
  if constexpr (std::is_floating_point_v<T>) {
    // On the bit patterns with the sign cleared: as unsigned integers they
    // order as the magnitudes do, with infinity above every finite value and
    // every NaN above infinity, so one integer max finds the largest |x| and
    // flags a NaN or infinity in the same pass. (GCC 12 left the float form,
    // with its NaN test, scalar: 22% of reading 10^7 x 64 floats.)
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    constexpr U kMagnitude = std::numeric_limits<U>::max() >> 1;
    U m = 0;
    for (std::int64_t i = 0; i < count; ++i) m = std::max(m, static_cast<U>(std::bit_cast<U>(X[i]) & kMagnitude));
    return static_cast<double>(std::bit_cast<T>(m));
  } else {
    T m = 0;
    for (std::int64_t i = 0; i < count; ++i) m = std::max(m, X[i]);
    return static_cast<double>(m);
  }
}

template PackedCentroids<float> pack_centroids<float>(const double*, int, std::int64_t, ColumnForm);
template void pack_centroids<float>(const double*, int, std::int64_t, ColumnForm, PackedCentroids<float>&);
template double sq_distance<float, float>(const float*, const float*, std::int64_t, double);
template ValueError value_error<float>(std::int64_t);
template ValueError value_error<double>(std::int64_t);
template PackedCentroids<double> pack_centroids<double>(const double*, int, std::int64_t, ColumnForm);
template void pack_centroids<double>(const double*, int, std::int64_t, ColumnForm, PackedCentroids<double>&);

#define HPCB_KMEANS_INSTANTIATE(T)                                                                       \
  template void row_norms<T>(const T*, std::int64_t, std::int64_t, dist_t<T>, dist_t<T>*);              \
  template void assign<T>(const T*, std::int64_t, std::int64_t, dist_t<T>, const PackedCentroids<dist_t<T>>&, \
                          const dist_t<T>*, std::int32_t*, dist_t<T>*);                                  \
  template void values<T>(const T* const*, std::int64_t, std::int64_t, dist_t<T>, const dist_t<T>*,      \
                          const PackedCentroids<dist_t<T>>&, const int*, int, dist_t<T>*,                \
                          const std::uint64_t*);                                                        \
  template double sq_distance<T>(const T*, const double*, std::int64_t, double);                        \
  template void accumulate<T>(const T*, std::int64_t, std::int64_t, int, const std::int32_t*,           \
                              std::int64_t*, std::int64_t*);                                             \
  template std::int64_t relabel<T>(const T*, std::int64_t, std::int64_t, int, const std::int32_t*, const std::int32_t*, \
                           std::int64_t*, std::int64_t*, const LaneRows*, std::int64_t);                   \
  template double max_abs<T>(const T*, std::int64_t);
HPCB_KMEANS_INSTANTIATE(std::uint8_t)
HPCB_KMEANS_INSTANTIATE(float)
HPCB_KMEANS_INSTANTIATE(double)
#undef HPCB_KMEANS_INSTANTIATE

}  // namespace hpcb::kmeans
