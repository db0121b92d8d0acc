#include "kmeans/kmeans_core.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace hpcb::kmeans {
namespace {

// Sixteen independent partial sums let the compiler vectorise the loop without
// -ffast-math, and fix the summation order, so a row's distance is the same
// bits wherever it is computed.
constexpr int kLanes = 16;

template <class D>
D sq_dist_lanes(const D* x, const D* c, std::int64_t d) {
  D acc[kLanes] = {};
  std::int64_t j = 0;
  for (; j + kLanes <= d; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const D t = x[j + l] - c[j + l];
      acc[l] += t * t;
    }
  for (int l = 0; j < d; ++j, ++l) {
    const D t = x[j] - c[j];
    acc[l] += t * t;
  }
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

}  // namespace

template <class T>
void assign(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale, const dist_t<T>* C, int k,
            std::int32_t* labels, dist_t<T>* dist) {
  using D = dist_t<T>;
  std::vector<D> x(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < rows; ++i) {
    // One conversion per row, reused for all k centroids.
    const T* src = X + i * d;
    for (std::int64_t j = 0; j < d; ++j) x[static_cast<std::size_t>(j)] = static_cast<D>(src[j]) * scale;
    D best = std::numeric_limits<D>::infinity();
    std::int32_t best_c = 0;
    for (int c = 0; c < k; ++c) {
      const D v = sq_dist_lanes(x.data(), C + static_cast<std::int64_t>(c) * d, d);
      if (v < best) {
        best = v;
        best_c = c;
      }
    }
    labels[i] = best_c;
    dist[i] = best;
  }
}

template <class T>
double sq_distance(const T* x, const double* c, std::int64_t d, double scale) {
  double acc = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(x[j]) * scale - c[j];
    acc += t * t;
  }
  return acc;
}

template <class T>
void accumulate(const T* X, std::int64_t rows, std::int64_t d, int shift, const std::int32_t* labels,
                std::int64_t* sums, std::int64_t* counts) {
  const double factor = std::ldexp(1.0, shift);
  for (std::int64_t i = 0; i < rows; ++i) {
    const T* x = X + i * d;
    std::int64_t* s = sums + static_cast<std::int64_t>(labels[i]) * d;
    if constexpr (std::is_integral_v<T>) {
      for (std::int64_t j = 0; j < d; ++j) s[j] += x[j];
    } else {
      for (std::int64_t j = 0; j < d; ++j) s[j] += std::llrint(static_cast<double>(x[j]) * factor);
    }
    ++counts[labels[i]];
  }
}

int choose_shift(std::int64_t n, double max_abs) {
  if (!(max_abs > 0)) return 0;
  int e_max = 0, e_n = 0;
  std::frexp(max_abs, &e_max);                      // max_abs < 2^e_max
  std::frexp(static_cast<double>(n) + 1.0, &e_n);   // n + 1 <= 2^e_n
  // One bit of headroom for the rounding of each value.
  return 61 - e_max - e_n;
}

template <class T>
double max_abs(const T* X, std::int64_t count) {
  double m = 0;
  for (std::int64_t i = 0; i < count; ++i) m = std::fmax(m, std::fabs(static_cast<double>(X[i])));
  return m;
}

#define HPCB_KMEANS_INSTANTIATE(T)                                                                       \
  template void assign<T>(const T*, std::int64_t, std::int64_t, dist_t<T>, const dist_t<T>*, int,       \
                          std::int32_t*, dist_t<T>*);                                                    \
  template double sq_distance<T>(const T*, const double*, std::int64_t, double);                        \
  template void accumulate<T>(const T*, std::int64_t, std::int64_t, int, const std::int32_t*,           \
                              std::int64_t*, std::int64_t*);                                             \
  template double max_abs<T>(const T*, std::int64_t);
HPCB_KMEANS_INSTANTIATE(std::uint8_t)
HPCB_KMEANS_INSTANTIATE(float)
HPCB_KMEANS_INSTANTIATE(double)
#undef HPCB_KMEANS_INSTANTIATE

}  // namespace hpcb::kmeans
