// The k-means kernel core: plain sequential C++ over a range of rows. No MPI,
// no OpenMP, no I/O; every backend calls exactly these functions, block by
// block, which is what makes their results identical.
//
// Cost per Lloyd iteration, n rows, d features, k clusters:
//   E-step  assign():      2 n k d flops (one multiply-add per row, centroid and
//                          feature, for the dot products x.c) + 2 n d for |x|^2;
//                          reads the n d inputs once; the k centroids stay in L1/L2.
//   M-step  accumulate():  n d integer additions, n d inputs read again (from L2:
//                          the solver calls both on one block of rows at a time).
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

namespace hpcb::kmeans {

// Distances are computed in float for uint8 and float32 input (as scikit-learn
// does for float32) and in double for float64 input.
template <class T>
using dist_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Centroids in the layout assign() reads: each of the k rows padded with zeros
// to a multiple of the vector width, and the squared norm of each row.
template <class D>
struct PackedCentroids {
  int k = 0;
  std::int64_t d = 0, stride = 0;
  std::vector<D> values;  // k x stride
  std::vector<D> norms;   // k: |c|^2, summed as assign() sums |x|^2
};

// C: k x d centroids in scaled units (double), rounded to D.
template <class D>
PackedCentroids<D> pack_centroids(const double* C, int k, std::int64_t d);

// Nearest centroid of each of `rows` rows of X (row-major, d values, used as
// X * scale). Out: labels[rows] (ties go to the lower cluster index) and
// dist[rows], the squared distance to it, |x|^2 - 2 x.c + |c|^2 clamped at 0.
// A row's result depends only on the row and the centroids, never on which
// other rows are in the call: that is what keeps every split of the rows exact.
template <class T>
void assign(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale, const PackedCentroids<dist_t<T>>& C,
            std::int32_t* labels, dist_t<T>* dist);

// Squared distance in double precision (for the reported inertia and k-means++).
template <class T>
double sq_distance(const T* x, const double* c, std::int64_t d, double scale);

// The M-step in exact integer arithmetic, so sums never depend on the order in
// which workers add them: each value becomes the integer round(x * 2^shift)
// (uint8 values are integers already: shift 0), added into sums[label * d + j];
// counts[label] += 1, for labels in [0, k). choose_shift() picks the largest
// shift for which no sum can overflow.
template <class T>
void accumulate(const T* X, std::int64_t rows, std::int64_t d, int k, int shift, const std::int32_t* labels,
                std::int64_t* sums, std::int64_t* counts);

// Largest shift such that n values of magnitude <= max_abs, scaled by 2^shift
// and rounded, sum to less than 2^62 in magnitude.
int choose_shift(std::int64_t n, double max_abs);

// Largest |value| among `count` values.
template <class T>
double max_abs(const T* X, std::int64_t count);

}  // namespace hpcb::kmeans
