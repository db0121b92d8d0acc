#include "kmeans/kmeans_core.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace hpcb::kmeans {
namespace {

// One 64-byte SIMD register's worth of D (16 floats or 8 doubles), through
// GCC/Clang vector extensions: the compiler emits AVX-512 where the target has
// it and pairs of narrower registers elsewhere. The arithmetic written here is
// exactly what runs (no reassociation), so results are reproducible.
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
template <class D>
using vec = typename VecOf<D>::type;
template <class D>
inline constexpr int kWidth = 64 / sizeof(D);

template <class D>
vec<D> load(const D* p) {
  vec<D> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Horizontal sum in a fixed order: halves added pairwise.
template <class D>
D hsum(vec<D> v) {
  D lanes[kWidth<D>];
  std::memcpy(lanes, &v, sizeof v);
  for (int width = kWidth<D> / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0];
}

// |x|^2 of a padded row, the same way for rows and for centroids.
template <class D>
D sq_norm(const D* x, std::int64_t stride) {
  vec<D> acc = {};
  for (std::int64_t j = 0; j < stride; j += kWidth<D>) {
    const vec<D> v = load<D>(x + j);
    acc += v * v;
  }
  return hsum<D>(acc);
}

// Dot products of R rows with G consecutive centroids: R x G accumulators held
// in registers, each row chunk and centroid chunk loaded once per tile. Every
// (row, centroid) pair gets the same operations in the same order whatever R
// and G are, so tiling never changes a result.
template <class D, int R, int G>
void dot_tile(const D* xt, std::int64_t stride, const D* c, D* out /* R x G */) {
  vec<D> acc[R][G] = {};
  for (std::int64_t j = 0; j < stride; j += kWidth<D>) {
    vec<D> x[R];
    for (int r = 0; r < R; ++r) x[r] = load<D>(xt + r * stride + j);
    for (int g = 0; g < G; ++g) {
      const vec<D> cv = load<D>(c + g * stride + j);
      for (int r = 0; r < R; ++r) acc[r][g] += x[r] * cv;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < G; ++g) out[r * G + g] = hsum<D>(acc[r][g]);
}

// The dots of R rows against all k centroids, in groups of 8, 4, 2, 1.
template <class D, int R>
void dots_all(const D* xt, const PackedCentroids<D>& C, D* dots /* R x k */) {
  D tile[R * 8];
  int c0 = 0;
  auto run = [&]<int G>() {
    dot_tile<D, R, G>(xt, C.stride, C.values.data() + c0 * C.stride, tile);
    for (int r = 0; r < R; ++r)
      for (int g = 0; g < G; ++g) dots[r * C.k + c0 + g] = tile[r * G + g];
    c0 += G;
  };
  while (C.k - c0 >= 8) run.template operator()<8>();
  if (C.k - c0 >= 4) run.template operator()<4>();
  if (C.k - c0 >= 2) run.template operator()<2>();
  if (C.k - c0 >= 1) run.template operator()<1>();
}

// Rows per tile: 2 rows x 8 centroids = 16 accumulators plus the loads fit the
// 32 vector registers of AVX-512; with 16 registers one row at a time.
#if defined(__AVX512F__)
constexpr int kRowsPerTile = 2;
#else
constexpr int kRowsPerTile = 1;
#endif

}  // namespace

template <class D>
PackedCentroids<D> pack_centroids(const double* C, int k, std::int64_t d) {
  PackedCentroids<D> p;
  p.k = k;
  p.d = d;
  p.stride = (d + kWidth<D> - 1) / kWidth<D> * kWidth<D>;
  p.values.assign(static_cast<std::size_t>(k * p.stride), D(0));
  p.norms.resize(static_cast<std::size_t>(k));
  for (int c = 0; c < k; ++c) {
    D* row = p.values.data() + c * p.stride;
    for (std::int64_t j = 0; j < d; ++j) row[j] = static_cast<D>(C[c * d + j]);
    p.norms[static_cast<std::size_t>(c)] = sq_norm(row, p.stride);
  }
  return p;
}

template <class T>
void assign(const T* X, std::int64_t rows, std::int64_t d, dist_t<T> scale, const PackedCentroids<dist_t<T>>& C,
            std::int32_t* labels, dist_t<T>* dist) {
  using D = dist_t<T>;
  const std::int64_t stride = C.stride;
  const int k = C.k;
  std::vector<D> xt(static_cast<std::size_t>(kRowsPerTile * stride), D(0));
  std::vector<D> dots(static_cast<std::size_t>(kRowsPerTile * k));

  auto finish_row = [&](std::int64_t i, const D* row, const D* row_dots) {
    const D xx = sq_norm(row, stride);
    D best = std::numeric_limits<D>::infinity();
    std::int32_t best_c = 0;
    for (int c = 0; c < k; ++c) {
      const D v = xx - D(2) * row_dots[c] + C.norms[static_cast<std::size_t>(c)];
      if (v < best) {
        best = v;
        best_c = c;
      }
    }
    labels[i] = best_c;
    // |x|^2 - 2 x.c + |c|^2 can round below zero for a row on its centroid.
    dist[i] = std::max(best, D(0));
  };
  auto convert = [&](std::int64_t i, D* to) {
    const T* src = X + i * d;
    for (std::int64_t j = 0; j < d; ++j) to[j] = static_cast<D>(src[j]) * scale;
  };

  std::int64_t i = 0;
  for (; i + kRowsPerTile <= rows; i += kRowsPerTile) {
    for (int r = 0; r < kRowsPerTile; ++r) convert(i + r, xt.data() + r * stride);
    dots_all<D, kRowsPerTile>(xt.data(), C, dots.data());
    for (int r = 0; r < kRowsPerTile; ++r) finish_row(i + r, xt.data() + r * stride, dots.data() + r * k);
  }
  for (; i < rows; ++i) {
    convert(i, xt.data());
    dots_all<D, 1>(xt.data(), C, dots.data());
    finish_row(i, xt.data(), dots.data());
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
void accumulate(const T* X, std::int64_t rows, std::int64_t d, int k, int shift, const std::int32_t* labels,
                std::int64_t* sums, std::int64_t* counts) {
  if constexpr (std::is_integral_v<T>) {
    // Bytes add up in 32-bit partial sums, twice the SIMD lanes of 64-bit ones;
    // 2^23 rows of 255 cannot overflow them, so flush once per 2^23 rows.
    constexpr std::int64_t kFlushRows = std::int64_t{1} << 23;
    std::vector<std::int32_t> part(static_cast<std::size_t>(k * d));
    for (std::int64_t i0 = 0; i0 < rows; i0 += kFlushRows) {
      std::fill(part.begin(), part.end(), 0);
      const std::int64_t i1 = std::min(rows, i0 + kFlushRows);
      for (std::int64_t i = i0; i < i1; ++i) {
        const T* x = X + i * d;
        std::int32_t* s = part.data() + static_cast<std::int64_t>(labels[i]) * d;
        for (std::int64_t j = 0; j < d; ++j) s[j] += x[j];
        ++counts[labels[i]];
      }
      for (std::size_t j = 0; j < part.size(); ++j) sums[j] += part[j];
    }
  } else {
    const double factor = std::ldexp(1.0, shift);
    for (std::int64_t i = 0; i < rows; ++i) {
      const T* x = X + i * d;
      std::int64_t* s = sums + static_cast<std::int64_t>(labels[i]) * d;
      // Round half away from zero; |v| < 2^62 by choose_shift, so the
      // conversion cannot overflow. (std::llrint would not vectorise.)
      for (std::int64_t j = 0; j < d; ++j) {
        const double v = static_cast<double>(x[j]) * factor;
        s[j] += static_cast<std::int64_t>(v + std::copysign(0.5, v));
      }
      ++counts[labels[i]];
    }
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

template PackedCentroids<float> pack_centroids<float>(const double*, int, std::int64_t);
template PackedCentroids<double> pack_centroids<double>(const double*, int, std::int64_t);

#define HPCB_KMEANS_INSTANTIATE(T)                                                                       \
  template void assign<T>(const T*, std::int64_t, std::int64_t, dist_t<T>, const PackedCentroids<dist_t<T>>&, \
                          std::int32_t*, dist_t<T>*);                                                    \
  template double sq_distance<T>(const T*, const double*, std::int64_t, double);                        \
  template void accumulate<T>(const T*, std::int64_t, std::int64_t, int, int, const std::int32_t*,      \
                              std::int64_t*, std::int64_t*);                                             \
  template double max_abs<T>(const T*, std::int64_t);
HPCB_KMEANS_INSTANTIATE(std::uint8_t)
HPCB_KMEANS_INSTANTIATE(float)
HPCB_KMEANS_INSTANTIATE(double)
#undef HPCB_KMEANS_INSTANTIATE

}  // namespace hpcb::kmeans
