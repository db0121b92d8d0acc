// The k-means kernels and metrics on inputs small enough to check by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>
#include <random>
#include <limits>
#include <cstring>

#include "kmeans/int_assign.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/kmeans_solver.hpp"
#include "kmeans/lane_rows.hpp"
#include "kmeans/metrics.hpp"

namespace hpcb::kmeans {
namespace {

TEST(Assign, NearestCentroidAndLowerIndexOnTies) {
  // Rows 0, 5, 10 (uint8, scale 1) against centroids 0 and 10: row 5 is a tie.
  const std::uint8_t X[] = {0, 5, 10};
  const double C[] = {0., 10.};
  std::int32_t labels[3];
  float dist[3];
  assign<std::uint8_t>(X, 3, 1, 1.0f, pack_centroids<float>(C, 2, 1), nullptr, labels, dist);
  EXPECT_EQ(labels[0], 0);
  EXPECT_EQ(labels[1], 0);
  EXPECT_EQ(labels[2], 1);
  EXPECT_EQ(dist[1], 25.f);
}

TEST(Assign, ScaleAndManyFeatures) {
  // d = 37 exercises the 16-lane body and the remainder.
  const int d = 37;
  std::vector<float> X(2 * d);
  std::vector<double> C(2 * d, 0.0);
  for (int j = 0; j < d; ++j) {
    X[j] = 1.f;       // row 0: all ones -> distance 37 to the zero centroid
    X[d + j] = 4.f;   // row 1: all fours
    C[d + j] = 2.f;   // centroid 1: all twos; with scale 0.5 row 1 sits on it
  }
  std::int32_t labels[2];
  float dist[2];
  assign<float>(X.data(), 2, d, 0.5f, pack_centroids<float>(C.data(), 2, d), nullptr, labels, dist);
  EXPECT_EQ(labels[0], 0);
  EXPECT_FLOAT_EQ(dist[0], 37 * 0.25f);
  EXPECT_EQ(labels[1], 1);
  EXPECT_EQ(dist[1], 0.f);
}

TEST(Assign, ResultOfARowDoesNotDependOnItsNeighbours) {
  // The same row alone, first of a pair, or second of a pair: same bits.
  const int d = 50, k = 11;
  std::vector<float> X(3 * d);
  std::vector<double> C(static_cast<std::size_t>(k) * d);
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = std::sin(0.37f * static_cast<float>(i));
  for (std::size_t i = 0; i < C.size(); ++i) C[i] = std::cos(0.11 * static_cast<double>(i));
  const auto P = pack_centroids<float>(C.data(), k, d);
  std::int32_t l3[3], l1[1];
  float d3[3], d1[1];
  assign<float>(X.data(), 3, d, 1.0f, P, nullptr, l3, d3);
  for (int r = 0; r < 3; ++r) {
    assign<float>(X.data() + r * d, 1, d, 1.0f, P, nullptr, l1, d1);
    EXPECT_EQ(l1[0], l3[r]);
    EXPECT_EQ(d1[0], d3[r]);
  }
}

// The arithmetic every distance kernel promises (kmeans_core.hpp, common/simd.hpp), written
// out one scalar at a time: W = 64 / sizeof(D) lanes, lane l adds x[m W + l] scale c[m W + l]
// by one fused multiply-add (where the target has FMA) per chunk m in order (zeros past d), the lanes summed by halves
// (l + l+W/2, then l + l+W/4, ...), and |x|^2 - 2 x.c + |c|^2. Whatever registers a build
// holds the lanes in (one 64-byte vector with AVX-512, two 32-byte parts with AVX2) must give
// these bits, so that results do not depend on the node a job ran on.
template <class T, class D>
D lane_model_dot(const T* x, const D* c, std::int64_t d, D scale) {
  constexpr int W = 64 / sizeof(D);
  D lanes[W] = {};
  for (std::int64_t j0 = 0; j0 < d; j0 += W)
    for (int l = 0; l < W; ++l) {
      const std::int64_t j = j0 + l;
      const D xs = j < d ? static_cast<D>(x[j]) * scale : D(0);
      const D cj = j < d ? c[j] : D(0);
#if defined(__FMA__)
      lanes[l] = std::fma(xs, cj, lanes[l]);  // simd::madd(): one rounding where the target has FMA
#else
      lanes[l] = lanes[l] + xs * cj;  // two otherwise (TARGET=x86-64)
#endif
    }
  for (int width = W / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0];
}

template <class T>
void expect_lane_model(std::int64_t d, int k, dist_t<T> scale) {
  using D = dist_t<T>;
  SCOPED_TRACE(::testing::Message() << "d = " << d << ", k = " << k << ", " << sizeof(T) << "-byte values");
  const int n = 7;
  std::mt19937 gen(static_cast<unsigned>(d * 31 + k));
  std::vector<T> X(static_cast<std::size_t>(n * d));
  for (T& v : X) {
    if constexpr (std::is_same_v<T, std::uint8_t>)
      v = gen() % 3 == 0 ? T(0) : static_cast<T>(gen() % 256);  // a third zeros, as images have
    else
      v = static_cast<T>(std::uniform_real_distribution<double>(-3, 3)(gen));
  }
  std::vector<double> C(static_cast<std::size_t>(k * d));
  for (double& v : C) v = std::uniform_real_distribution<double>(-1, 2)(gen);
  const auto P = pack_centroids<D>(C.data(), k, d);
  std::vector<D> xx(n), out(static_cast<std::size_t>(n * k));
  row_norms<T>(X.data(), n, d, scale, xx.data());
  std::vector<const T*> rows(n);
  for (int r = 0; r < n; ++r) rows[static_cast<std::size_t>(r)] = X.data() + r * d;
  values<T>(rows.data(), n, d, scale, xx.data(), P, nullptr, k, out.data());
  for (int r = 0; r < n; ++r) {
    const T* x = rows[static_cast<std::size_t>(r)];
    std::vector<D> xd(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j) xd[static_cast<std::size_t>(j)] = static_cast<D>(x[j]) * scale;
    const D norm = lane_model_dot<D, D>(xd.data(), xd.data(), d, D(1));
    ASSERT_EQ(xx[static_cast<std::size_t>(r)], norm) << "row " << r;
    for (int c = 0; c < k; ++c) {
      std::vector<D> cd(static_cast<std::size_t>(d));
      for (std::int64_t j = 0; j < d; ++j) cd[static_cast<std::size_t>(j)] = static_cast<D>(C[static_cast<std::size_t>(c * d + j)]);
      const D cc = lane_model_dot<D, D>(cd.data(), cd.data(), d, D(1));
      ASSERT_EQ(P.norms[static_cast<std::size_t>(c)], cc) << "centroid " << c;
      const D dot = lane_model_dot<T, D>(x, cd.data(), d, scale);
      ASSERT_EQ(out[static_cast<std::size_t>(r * k + c)], sq_value<D>(norm, dot, cc)) << "row " << r << ", centroid " << c;
    }
  }
}

TEST(Values, AreTheLaneModelBitForBit) {
  for (std::int64_t d : {1, 5, 16, 37, 64, 100, 784})
    for (int k : {1, 3, 10, 13, 20}) {
      expect_lane_model<std::uint8_t>(d, k, 1.0f / 255);
      expect_lane_model<float>(d, k, 0.5f);
      expect_lane_model<double>(d, k, 1.0);
    }
}

TEST(Accumulate, ExactIntegerSums) {
  const double X[] = {0.5, -0.25, 1.0, 3.0};
  const std::int32_t labels[] = {1, 1, 0, 1};
  std::int64_t sums[2] = {}, counts[2] = {};
  accumulate<double>(X, 4, 1, 2, labels, sums, counts);  // shift 2: values times 4
  EXPECT_EQ(sums[0], 4);
  EXPECT_EQ(sums[1], 2 - 1 + 12);
  EXPECT_EQ(counts[0], 1);
  EXPECT_EQ(counts[1], 3);
}

TEST(Accumulate, BytesAddUpExactly) {
  const std::uint8_t X[] = {255, 1, 255, 2, 7, 9};
  const std::int32_t labels[] = {0, 0, 1};
  std::int64_t sums[4] = {100, 0, 0, 0}, counts[2] = {};
  accumulate<std::uint8_t>(X, 3, 2, 0, labels, sums, counts);
  EXPECT_EQ(sums[0], 100 + 510);  // adds to what is there
  EXPECT_EQ(sums[1], 3);
  EXPECT_EQ(sums[2], 7);
  EXPECT_EQ(sums[3], 9);
  EXPECT_EQ(counts[0], 2);
}

// The per-row integer constants of uint8 rows: the byte sums (the integer kernel's margin,
// 64 bytes an instruction where built) and the sums of squares (the inertia's moments), against
// plain loops, at widths around the vector's 64 bytes and with bytes up to 255.
TEST(RowSums, SumsAndSquareSumsAreExact) {
  std::mt19937 gen(31);
  for (std::int64_t d : {1, 7, 63, 64, 65, 300, 784}) {
    const std::int64_t n = 5;
    std::vector<std::uint8_t> X(static_cast<std::size_t>(n * d));
    for (auto& v : X) v = static_cast<std::uint8_t>(gen() % 4 == 0 ? 255 : gen() % 256);
    std::vector<std::uint32_t> sums(static_cast<std::size_t>(n));
    std::vector<std::int64_t> squares(static_cast<std::size_t>(n));
    row_sums(X.data(), n, d, sums.data());
    row_square_sums(X.data(), n, d, squares.data());
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint64_t sum = 0, square = 0;
      for (std::int64_t j = 0; j < d; ++j) {
        sum += X[static_cast<std::size_t>(i * d + j)];
        square += std::uint64_t{X[static_cast<std::size_t>(i * d + j)]} * X[static_cast<std::size_t>(i * d + j)];
      }
      EXPECT_EQ(sums[static_cast<std::size_t>(i)], sum) << "d " << d;
      EXPECT_EQ(static_cast<std::uint64_t>(squares[static_cast<std::size_t>(i)]), square) << "d " << d;
    }
  }
}

// sq_distance_fast() (the pruned E-steps' centroid moves, norms and half distances): four
// chains of eight lanes (chain q, lane l: features 32 i + 8 q + l; the last partial pass into
// chain l / 8, lane l % 8), chains added 0 + 2, 1 + 3, then 0 + 1, then the lane tree l + l+4,
// l + l+2, l + l+1: bit for bit this scalar model (the same operations per value, contracted
// alike), so that no vector form can reorder them unnoticed.
template <class D>
double fast_model(const D* x, const D* c, std::int64_t d) {
  double acc[4][8] = {};
  std::int64_t j = 0;
  auto add = [&](std::int64_t at, int q, int l) {
    double t = static_cast<double>(x[at]);
    if (c) t -= static_cast<double>(c[at]);
    acc[q][l] += t * t;
  };
  for (; j + 32 <= d; j += 32)
    for (int q = 0; q < 4; ++q)
      for (int l = 0; l < 8; ++l) add(j + 8 * q + l, q, l);
  for (int l = 0; j + l < d; ++l) add(j + l, l / 8, l % 8);
  for (int l = 0; l < 8; ++l) {
    acc[0][l] += acc[2][l];
    acc[1][l] += acc[3][l];
    acc[0][l] += acc[1][l];
  }
  for (int width = 4; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) acc[0][l] += acc[0][l + width];
  return acc[0][0];
}

TEST(SqDistanceFast, SumsInItsFixedOrder) {
  std::mt19937 gen(33);
  std::uniform_real_distribution<double> u(-3, 3);
  for (std::int64_t d : {1, 4, 7, 8, 31, 32, 33, 63, 100, 784})
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> xf(static_cast<std::size_t>(d)), cf(xf.size());
      std::vector<double> xd(xf.size()), cd(xf.size());
      for (std::size_t i = 0; i < xf.size(); ++i) {
        xf[i] = static_cast<float>(u(gen));
        cf[i] = static_cast<float>(u(gen));
        xd[i] = u(gen);
        cd[i] = u(gen);
      }
      ASSERT_EQ((sq_distance_fast<float, float>(xf.data(), cf.data(), d, 1.0)), fast_model(xf.data(), cf.data(), d)) << d;
      ASSERT_EQ((sq_distance_fast<float, float>(xf.data(), nullptr, d, 1.0)), fast_model<float>(xf.data(), nullptr, d)) << d;
      ASSERT_EQ((sq_distance_fast<double, double>(xd.data(), cd.data(), d, 1.0)), fast_model(xd.data(), cd.data(), d)) << d;
      ASSERT_EQ((sq_distance_fast<double, double>(xd.data(), nullptr, d, 1.0)), fast_model<double>(xd.data(), nullptr, d)) << d;
    }
}

// cluster_mean(): the mean value by value as its formula says, and its two squares bit for bit
// sq_distance()'s (the inertia trace's terms keep their bits), at lengths with and without a
// partial last vector; negative sums too (fixed-point floats).
TEST(ClusterMean, MeanAndSquaresAsTheirFormulas) {
  std::mt19937 gen(32);
  for (std::int64_t d : {1, 5, 8, 13, 64, 784}) {
    for (int trial = 0; trial < 20; ++trial) {  // (a sum in another order often rounds alike)
      std::vector<std::int64_t> sums(static_cast<std::size_t>(d));
      std::vector<double> old(static_cast<std::size_t>(d)), mean(static_cast<std::size_t>(d));
      for (std::size_t j = 0; j < sums.size(); ++j) {
        sums[j] = static_cast<std::int64_t>(gen() % 2000000) - 500000;
        old[j] = static_cast<double>(gen() % 1000) / 97.0;
      }
      const std::int64_t count = 7 + static_cast<std::int64_t>(gen() % 1000);
      const double to_scaled = 1.0 / 255;
      const MeanSquares m = cluster_mean(sums.data(), count, to_scaled, old.data(), d, mean.data());
      const double factor = to_scaled / static_cast<double>(count);
      for (std::size_t j = 0; j < sums.size(); ++j)
        ASSERT_EQ(mean[j], static_cast<double>(sums[j]) * factor) << "d " << d << " j " << j;
      EXPECT_EQ(m.move, sq_distance(mean.data(), old.data(), d, 1.0)) << "d " << d;
      EXPECT_EQ(m.norm, (sq_distance<double, double>(mean.data(), nullptr, d, 1.0))) << "d " << d;
      // The same sums as int32 (as uint8 rows' sums travel): the same bits.
      const std::vector<std::int32_t> narrow(sums.begin(), sums.end());
      std::vector<double> mean32(mean.size());
      const MeanSquares m32 = cluster_mean(narrow.data(), count, to_scaled, old.data(), d, mean32.data());
      EXPECT_EQ(mean32, mean) << "d " << d;
      EXPECT_EQ(m32.move, m.move) << "d " << d;
      EXPECT_EQ(m32.norm, m.norm) << "d " << d;
    }
  }
}

// cluster_mean()'s conversion of the sums is static_cast<double>'s at every magnitude the
// fixed-point sums reach (below 2^62): odd values above 2^53 round, ties to even, both signs.
TEST(ClusterMean, LargeSumsRoundAsTheCast) {
  std::mt19937_64 gen(62);
  std::vector<std::int64_t> sums;
  for (int bits = 0; bits <= 62; ++bits)
    for (std::int64_t sign : {1, -1}) {
      const std::int64_t p = std::int64_t{1} << bits;
      for (std::int64_t v : {p, p + 1, p - 1, p + 3, p + static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(p))})
        sums.push_back(sign * v);
    }
  sums.push_back(std::numeric_limits<std::int64_t>::min());
  sums.push_back(std::numeric_limits<std::int64_t>::max());
  const auto d = static_cast<std::int64_t>(sums.size());
  std::vector<double> old(sums.size(), 0.0), mean(sums.size());
  cluster_mean(sums.data(), 1, 1.0, old.data(), d, mean.data());
  for (std::size_t j = 0; j < sums.size(); ++j) ASSERT_EQ(mean[j], static_cast<double>(sums[j])) << sums[j];
}

TEST(ChooseShift, NoOverflowAndFullUseOfTheRange) {
  for (std::int64_t n : {1L, 1000L, 10000000L}) {
    for (double m : {1e-3, 1.0, 255.0, 1e6}) {
      const int s = choose_shift(n, m);
      // n values of magnitude m, scaled and rounded, stay below 2^62...
      EXPECT_LT((static_cast<double>(n) * (std::ldexp(m, s) + 0.5)), std::ldexp(1.0, 62));
      // ...and one more bit would have risked it.
      EXPECT_GE(static_cast<double>(n) * std::ldexp(m, s + 3), std::ldexp(1.0, 61));
    }
  }
  EXPECT_EQ(choose_shift(10, 0.0), 0);
}

TEST(SumsFitInt32, UpToTheLastRowThatCannotOverflow) {
  // uint8 rows: n 255 <= 2^31 - 1 up to 8,421,504 rows.
  EXPECT_TRUE(sums_fit_int32(8421504, 255));
  EXPECT_FALSE(sums_fit_int32(8421505, 255));
  EXPECT_TRUE(sums_fit_int32(10000, 255));  // MNIST
  // All zeros: only the counts, at most n.
  EXPECT_TRUE(sums_fit_int32(2147483647, 0));
  EXPECT_FALSE(sums_fit_int32(2147483648, 0));
  EXPECT_FALSE(sums_fit_int32(-1, 255));
  EXPECT_FALSE(sums_fit_int32(10, -1));
}

// Packing into a used PackedCentroids (the E-step's, every iteration) gives what a fresh
// packing gives, also after another shape: the columns' zero padding included.
TEST(PackCentroids, IntoUsedStorageAsFresh) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(-2, 2);
  auto centroids = [&](int k, std::int64_t d) {
    std::vector<double> C(static_cast<std::size_t>(k * d));
    for (double& c : C) c = u(gen);
    return C;
  };
  PackedCentroids<float> used;
  struct Shape { int k; std::int64_t d; ColumnForm form; };
  // (20, 37) then (17, 40): columns of the same size, other padding.
  for (const Shape& s : {Shape{20, 37, ColumnForm::always}, Shape{20, 37, ColumnForm::always}, Shape{17, 40, ColumnForm::always},
                         Shape{3, 5, ColumnForm::always}, Shape{20, 37, ColumnForm::where_assign_uses_it}}) {
    const auto C = centroids(s.k, s.d);
    pack_centroids<float>(C.data(), s.k, s.d, s.form, used);
    const auto fresh = pack_centroids<float>(C.data(), s.k, s.d, s.form);
    EXPECT_EQ(used.k, fresh.k);
    EXPECT_EQ(used.stride, fresh.stride);
    EXPECT_EQ(used.kp, fresh.kp);
    EXPECT_TRUE(std::equal(used.values.begin(), used.values.end(), fresh.values.begin(), fresh.values.end()));
    EXPECT_EQ(used.norms, fresh.norms);
    EXPECT_TRUE(std::equal(used.columns.begin(), used.columns.end(), fresh.columns.begin(), fresh.columns.end()));
  }
}

// The column form as its layout says: centroid c's feature j, rounded to float, at
// columns[(c / W * stride + j) * W + c % W], zeros past k and past d. Centroid counts on both
// sides of a register tile's group (12), of a half block (8: AVX2 packs eight at a time) and of
// a block of lanes (16).
TEST(PackCentroids, ColumnsAsTheirLayout) {
  std::mt19937 gen(8);
  std::uniform_real_distribution<double> u(-2, 2);
  for (const int k : {1, 7, 8, 9, 10, 12, 13, 16, 17, 25, 33})
    for (const std::int64_t d : {std::int64_t{5}, std::int64_t{37}, std::int64_t{784}}) {
      std::vector<double> C(static_cast<std::size_t>(k * d));
      for (double& c : C) c = u(gen);
      const auto p = pack_centroids<float>(C.data(), k, d, ColumnForm::always);
      // Built where the lane kernel that reads it is (AVX-512, or AVX2 and FMA): elsewhere none at all.
      ASSERT_EQ(p.columns.empty(), !lane_rows_built()) << k << " x " << d;
      if (p.columns.empty()) continue;
      constexpr int W = 16;
      ASSERT_EQ(p.columns.size(), static_cast<std::size_t>(p.kp * p.stride)) << k << " x " << d;
      for (int c = 0; c < p.kp; ++c)
        for (std::int64_t j = 0; j < p.stride; ++j) {
          const float want = c < k && j < d ? static_cast<float>(C[static_cast<std::size_t>(c * d + j)]) : 0.0f;
          ASSERT_EQ(p.columns[static_cast<std::size_t>((c / W * p.stride + j) * W + c % W)], want)
              << "k " << k << ", d " << d << ": centroid " << c << ", feature " << j;
        }
    }
}

TEST(MaxAbs, LargestMagnitudeOrNotFinite) {
  // One pass gives both the M-step's scale and the input's finiteness check.
  std::vector<float> x(1000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.5f;
  x[613] = -40.25f;
  EXPECT_EQ(max_abs(x.data(), static_cast<std::int64_t>(x.size())), 40.25);
  x[977] = std::numeric_limits<float>::quiet_NaN();  // loses every comparison: counted on the side
  EXPECT_TRUE(std::isnan(max_abs(x.data(), static_cast<std::int64_t>(x.size()))));
  x[977] = -std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isinf(max_abs(x.data(), static_cast<std::int64_t>(x.size()))));
  const double d[] = {-0.0, 3.5, -7.0};
  EXPECT_EQ(max_abs(d, 3), 7.0);
  EXPECT_EQ(max_abs(d, 1), 0.0);
}

// The left-to-right scan pick() documents, written out plainly: the guard for any faster pick()
// (a two-pass one measured slower here and was not kept).
template <class D>
void scan_pick(const D* v, int k, std::int32_t& label, D& dist) {
  D best = std::numeric_limits<D>::infinity();
  label = 0;
  for (int c = 0; c < k; ++c)
    if (v[c] < best) {
      best = v[c];
      label = c;
    }
  dist = std::max(best, D(0));
}

TEST(Pick, SameLabelAndBitsAsTheScan) {
  // Few distinct values, so ties are common; with +0 and -0, NaN, infinities and negatives.
  const float pool[] = {3.0f, 1.5f, 1.5f, 0.0f, -0.0f, -2.0f, std::numeric_limits<float>::quiet_NaN(),
                        std::numeric_limits<float>::infinity(), 7.25f};
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> pick_value(0, 8), pick_k(1, 40);
  for (int trial = 0; trial < 20000; ++trial) {
    const int k = pick_k(gen);
    std::vector<float> v(static_cast<std::size_t>(k));
    for (auto& x : v) x = pool[pick_value(gen)];
    if (trial % 7 == 0)  // none below infinity
      for (auto& x : v) x = trial % 2 ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    std::int32_t want_label, got_label;
    float want_dist, got_dist;
    scan_pick(v.data(), k, want_label, want_dist);
    pick(v.data(), k, got_label, got_dist);
    ASSERT_EQ(got_label, want_label) << "trial " << trial;
    ASSERT_EQ(std::memcmp(&got_dist, &want_dist, sizeof got_dist), 0) << "trial " << trial;
  }
}

TEST(Metrics, AccuracyWithRelabelledClusters) {
  // Clusters are the labels permuted, plus one mistake in ten.
  // table[c * L + l]; cluster 0 = label 2, 1 = label 0, 2 = label 1.
  const std::vector<std::int64_t> table = {0, 0, 4, 3, 0, 0, 0, 2, 1};
  EXPECT_DOUBLE_EQ(accuracy(table, 3, 3), 9.0 / 10.0);
}

TEST(Metrics, NmiExtremes) {
  EXPECT_DOUBLE_EQ(nmi({5, 0, 0, 5}, 2, 2), 1.0);
  EXPECT_NEAR(nmi({5, 5, 5, 5}, 2, 2), 0.0, 1e-15);
  // A hand-computed case: table [[2,1],[0,1]], n = 4; cluster sizes 3, 1,
  // label counts 2, 2. H(c) = -(3/4 ln 3/4 + 1/4 ln 1/4), H(l) = ln 2,
  // MI = 2/4 ln(2*4/(3*2)) + 1/4 ln(1*4/(3*2)) + 1/4 ln(1*4/(1*2)).
  const double hc = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25)), hl = std::log(2.0);
  const double mi = 0.5 * std::log(8.0 / 6.0) + 0.25 * std::log(4.0 / 6.0) + 0.25 * std::log(2.0);
  EXPECT_NEAR(nmi({2, 1, 0, 1}, 2, 2), mi / ((hc + hl) / 2), 1e-15);
}

}  // namespace
}  // namespace hpcb::kmeans
