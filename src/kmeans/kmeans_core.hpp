// The k-means kernel core: plain sequential C++ over a range of rows. No MPI,
// no OpenMP, no I/O; every backend calls exactly these functions, block by
// block, which is what makes their results identical.
//
// Cost per Lloyd iteration, n rows, d features, k clusters (bench/COST_MODEL.md):
//   E-step  assign():      2 n k d flops (one fused multiply-add per row,
//                          centroid and feature, for the dot products x.c);
//                          reads the n d inputs once; the k centroids stay in
//                          L1/L2. |x|^2 (2 n d) once per run: row_norms().
//   M-step  accumulate():  n d integer additions in the first iteration, then
//                          relabel(): 2 d per row that changed cluster.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "kmeans/aligned.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace hpcb::kmeans {

// Distances are computed in float for uint8 and float32 input (as scikit-learn
// does for float32) and in double for float64 input.
template <class T>
using dist_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Centroids in the layout the kernel reads: groups of up to `group` centroids
// (the register tile's width), each group stored chunk by chunk (one vector
// width of features of each of its centroids in turn), rows padded with zeros
// to a multiple of the vector width; and the squared norm of each centroid.
template <class D>
struct PackedCentroids {
  int k = 0, group = 1;
  std::int64_t d = 0, stride = 0;  // stride: d rounded up to the vector width
  aligned_vector<D> values;        // k x stride, in the group layout
  std::vector<D> norms;            // k: |c|^2, summed as the kernel sums |x|^2
  // Small d (AVX-512 or AVX2 with FMA, float distances), or any d when asked (ColumnForm::always, for
  // lane_rows.hpp): the same centroids by columns, in blocks of one vector width W of
  // centroids, feature-major within a block: centroid c's feature j at
  // columns[(c / W * stride + j) * W + c % W], k rounded up to kp (zeros beyond k and
  // beyond d), for assign()'s centroids-in-lanes form; empty otherwise.
  aligned_vector<D> columns;
  int kp = 0;
  // Centroid c: its first chunk, and the distance from one chunk to the next.
  const D* first_chunk(int c, int width) const {
    const int g0 = c / group * group;
    return values.data() + g0 * stride + (c - g0) * width;
  }
  std::int64_t chunk_step(int c, int width) const { return static_cast<std::int64_t>(size_of_group(c)) * width; }
  int size_of_group(int c) const { return std::min(group, k - c / group * group); }
};

// C: k x d centroids in scaled units (double), rounded to D. The columns (float; AVX-512, or AVX2 and FMA)
// where assign() takes the column form, or always.
enum class ColumnForm { where_assign_uses_it, always };
template <class D>
PackedCentroids<D> pack_centroids(const double* C, int k, std::int64_t d,
                                  ColumnForm columns = ColumnForm::where_assign_uses_it);
// The same into p, reusing its storage: the E-step packs every iteration (MNIST k = 10: 81 KB
// that were allocated and zeroed each time).
template <class D>
void pack_centroids(const double* C, int k, std::int64_t d, ColumnForm columns, PackedCentroids<D>& p);

// The one formula of every distance the E-step compares, in D arithmetic:
// |x|^2 - 2 x.c + |c|^2. Every function below computes each (row, centroid)
// value with the same operations in the same order, whichever other rows and
// centroids share the call, so the pruned algorithms (bounds.hpp) reproduce
// Lloyd's values bit for bit, and so does every split of the rows.
template <class D>
inline D sq_value(D xx, D dot, D cc) {
  return xx - D(2) * dot + cc;
}
#if defined(__AVX512F__)
// sq_value() of 16 float pairs at once (the centroids-in-lanes forms): the same operations.
inline __m512 sq_value16(__m512 xx, __m512 dot, __m512 cc) {
  return _mm512_add_ps(_mm512_sub_ps(xx, _mm512_mul_ps(_mm512_set1_ps(2.0f), dot)), cc);
}
#endif

// |x|^2 of each of `rows` rows of X (row-major, d values, used as X * scale),
// summed as the kernel sums it. Rows never change, so callers can compute this
// once and pass it to assign() and values() (a tenth of the work for k = 10).
template <class T>
void row_norms(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale, dist_t<T>* xx);

// Nearest centroid of each of `rows` rows of X. xx: the rows' row_norms(), or
// nullptr to compute them here. Out: labels[rows] (ties go to the lower cluster
// index) and dist[rows], the value of the nearest centroid clamped at 0 (it can
// round below zero for a row on its centroid). A row's result depends only on
// the row and the centroids, never on which other rows are in the call: that
// is what keeps every split of the rows exact.
template <class T>
void assign(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale, const PackedCentroids<dist_t<T>>& C,
            const dist_t<T>* xx, std::int32_t* labels, dist_t<T>* dist);

// The values of selected (row, centroid) pairs, bit for bit those assign()
// compares: rows[i] points at a row of d values, xx[i] is its row norm; for
// each row, the m centroids listed in cs (all k in order when cs is nullptr,
// m = k). out: n_rows x m, row-major. live: nullptr, or the rows' row_chunk_masks(),
// whose chunks of zeros are then skipped (the same bits, where the centroids are finite).
template <class T>
void values(const T* const* rows, std::int64_t n_rows, std::int64_t d, dist_t<T> scale, const dist_t<T>* xx,
            const PackedCentroids<dist_t<T>>& C, const int* cs, int m, dist_t<T>* out,
            const std::uint64_t* live = nullptr);

// Lloyd's choice among the k values of one row: the smallest, ties to the lower
// index (NaN values never win); dist is the chosen value clamped at 0.
template <class D>
inline void pick(const D* v, int k, std::int32_t& label, D& dist) {
  D best = std::numeric_limits<D>::infinity();
  std::int32_t best_c = 0;
  for (int c = 0; c < k; ++c)
    if (v[c] < best) {
      best = v[c];
      best_c = c;
    }
  label = best_c;
  dist = std::max(best, D(0));
}

// A bound on the rounding error of every value above: for a row x (as the
// kernel holds it: the stored values times scale, in D) and a centroid c
// (rounded to D), |value - |x - c|^2| <= rel * (|x| + |c|)^2 + abs, with
// |x - c|^2 exact. Each product x_j c_j passes through at most
// ceil(d / width) + log2(width) + 3 roundings (chunk sums, the reduction tree,
// the multiply where there is no FMA, the two additions of sq_value), so the
// classic bound gamma_m = m u / (1 - m u) applies to xx + 2 sum|x_j c_j| + cc,
// which Cauchy-Schwarz bounds by (|x| + |c|)^2; abs covers underflow. rel is
// returned twice that, to cover the rounding of whoever evaluates the bound.
struct ValueError {
  double rel = 0, abs = 0;
};
template <class D>
ValueError value_error(std::int64_t d);

// Per row, which of its chunks of 16 values hold a nonzero value (bit c: values [16 c,
// 16 c + 16)), for kernels that skip chunks of zeros; d at most kChunkMaskMaxD.
inline constexpr std::int64_t kChunkMaskMaxD = 1024;
void row_chunk_masks(const std::uint8_t* X, std::int64_t rows, std::int64_t d, std::uint64_t* masks);

// Per uint8 row, the sum of its squared values x_j^2 (unscaled), exactly: at most d 255^2, so
// int64 holds it (and the sum over n rows while n d < 2^63 / 255^2, see kMaxExactSquares).
inline constexpr std::int64_t kMaxExactSquares = std::numeric_limits<std::int64_t>::max() / (255 * 255);
void row_square_sums(const std::uint8_t* X, std::int64_t rows, std::int64_t d, std::int64_t* out);

// Squared distance in double precision, |x * scale - c|^2, or |x * scale|^2
// when c is nullptr (for the reported inertia, its trace and k-means++; with
// C = T = dist_t, the pruned E-step's centroid distances): eight partial sums
// and a fixed tree, one fixed order.
template <class T, class C = double>
double sq_distance(const T* x, const C* c, std::int64_t d, double scale);
// The same sum in four chains of eight partial sums (added pairwise, then the same tree): a
// fixed order, but not sq_distance()'s, so other bits; four times its throughput, for sums
// whose order no result depends on (the pruned E-step's bounds, which need only the error
// bound: a square passes through at most d / 32 + 6 additions). T = C = float or double.
template <class T, class C>
double sq_distance_fast(const T* x, const C* c, std::int64_t d, double scale);

// A cluster's mean from its exact integer sums and count > 0, out[j] = sums[j] * (to_scaled /
// count) in scaled units (two roundings, as sums[j] * to_scaled / count had), and in the same
// pass the two squares the M-step takes of it, each summed in sq_distance()'s order (the bits
// of sq_distance(out, old, d, 1) and of sq_distance(out, nullptr, d, 1)): |out - old|^2, its
// move from the centroid `old`, and |out|^2. (Three passes over the k x d values, each square a
// chain of its own, and a division per value took 6 of the 7.8 us of MNIST's M-step at k = 10;
// this takes 1.8.)
struct MeanSquares {
  double move = 0, norm = 0;
};
// S: the sums' type, int64 or (as the collectives carry uint8 rows' sums) int32.
template <class S>
MeanSquares cluster_mean(const S* sums, std::int64_t count, double to_scaled, const double* old, std::int64_t d,
                         double* out);

// The M-step in exact integer arithmetic, so sums never depend on the order in
// which workers add them: each value becomes the integer round(x * 2^shift)
// (uint8 values are integers already: shift 0), added into sums[label * d + j];
// counts[label] += 1, for labels in [0, k). choose_shift() picks the largest
// shift for which no sum can overflow.
template <class T>
void accumulate(const T* X, std::int64_t rows, std::int64_t d, int shift, const std::int32_t* labels,
                std::int64_t* sums, std::int64_t* counts);

// The incremental M-step: for each of `rows` rows whose label changed
// (from[i] != to[i]), moves its fixed-point values (as accumulate() forms them)
// from sums[from[i]] to sums[to[i]], and its count. Integer arithmetic, so
// the sums equal what accumulate() would give for the new labels, exactly.
// Returns the number of rows that moved. nonzeros (uint8 rows): the same rows by their
// nonzeros (row i is its row lanes_row0 + i), read instead of X: a row moves only after the
// E-step read it, in that form where it holds one, so that is what is still in the cache.
// (The solver's uint8 rows that an E-step read whole move by ByteSums, byte_sums.hpp, and
// the first E-step's sums are formed there too: these two are the reference it is tested on.)
class LaneRows;
template <class T>
std::int64_t relabel(const T* X, std::int64_t rows, std::int64_t d, int shift, const std::int32_t* from,
                     const std::int32_t* to, std::int64_t* sums, std::int64_t* counts,
                     const LaneRows* nonzeros = nullptr, std::int64_t lanes_row0 = 0);

// Largest shift such that n values of magnitude <= max_abs, scaled by 2^shift
// and rounded, sum to less than 2^62 in magnitude.
int choose_shift(std::int64_t n, double max_abs);

// Whether the M-step's sums of n rows of integer values in [0, max_value] fit in 32 bits:
// every partial sum, the total, and the counts (so they may travel as int32: Team::sum()).
bool sums_fit_int32(std::int64_t n, std::int64_t max_value);

// Largest |value| among `count` values; not finite (inf or NaN) when a value is
// not: so one pass both checks the input and gives the M-step's scale.
template <class T>
double max_abs(const T* X, std::int64_t count);

}  // namespace hpcb::kmeans
