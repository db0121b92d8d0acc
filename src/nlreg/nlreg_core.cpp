#include "nlreg/nlreg_core.hpp"

#include <cmath>
#include <cstring>
#include <algorithm>
#include <utility>

#include "common/simd.hpp"

namespace hpcb::nlreg {
namespace {

// Eight doubles per 64-byte SIMD register (common/simd.hpp), two registers per
// quantity so that eight independent additions are in flight. The operations
// written here are exactly what runs, so the sums' bits depend only on the rows.
// Each register is held as its simd::part<double>s (two of four doubles without
// AVX-512): lane for lane the same arithmetic, kept in registers (as 64-byte vectors, GCC 12
// kept the accumulators of AVX2 code on the stack: 49 us an epoch on 20,000 rows, 10x slower).
using Part = simd::part<double>;
constexpr int kLanes = simd::kWidth<double>;
constexpr int kParts = simd::kParts<double>;

// hsum() of register 0 plus register 1 of a quantity, from their parts s[0, 2 P).
double total(const Part* s) {
  Part v[kParts];
  for (int q = 0; q < kParts; ++q) v[q] = s[q] + s[kParts + q];
  return simd::hsum_parts<double>(v);
}

}  // namespace

void residual_sums(const double* x, const double* y, std::int64_t rows, Model m, double out[4]) {
  constexpr int H = kLanes / kParts;  // doubles per part
  Part s2[2 * kParts] = {}, s1[2 * kParts] = {}, s0[2 * kParts] = {}, sq[2 * kParts] = {};
  std::int64_t i = 0;
  for (; i + 2 * kLanes <= rows; i += 2 * kLanes)
#pragma GCC unroll 4
    for (int p = 0; p < 2 * kParts; ++p) {
      const Part xv = simd::load_part<double>(x + i + p * H);
      const Part x2 = xv * xv;
      const Part r = simd::load_part<double>(y + i + p * H) - (m.a * x2 + m.b * xv + m.c);  // the assignment's y_pred, same order of operations
      s0[p] += r;
      s1[p] += xv * r;
      s2[p] += x2 * r;
      sq[p] += r * r;
    }
  double t2 = 0, t1 = 0, t0 = 0, tq = 0;
  for (; i < rows; ++i) {
    const double xv = x[i], x2 = xv * xv;
    const double r = y[i] - (m.a * x2 + m.b * xv + m.c);
    t0 += r;
    t1 += xv * r;
    t2 += x2 * r;
    tq += r * r;
  }
  out[0] = total(s2) + t2;
  out[1] = total(s1) + t1;
  out[2] = total(s0) + t0;
  out[3] = total(sq) + tq;
}

void moment_sums(const double* x, const double* y, std::int64_t rows, double out[7]) {
  for (int j = 0; j < 7; ++j) out[j] = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const double x1 = x[i], x2 = x1 * x1;
    out[0] += x1;
    out[1] += x2;
    out[2] += x2 * x1;
    out[3] += x2 * x2;
    out[4] += y[i];
    out[5] += x1 * y[i];
    out[6] += x2 * y[i];
  }
}

double max_curvature(const double s[7], std::int64_t n) {
  const long double f = 2.0L / static_cast<long double>(n);
  long double A[3][3] = {{s[3], s[2], s[1]}, {s[2], s[1], s[0]}, {s[1], s[0], static_cast<long double>(n)}};
  for (auto& row : A)
    for (auto& v : row) v *= f;
  // Cyclic Jacobi: each rotation zeroes one off-diagonal pair; a 3x3 matrix is
  // diagonal to working precision after a handful of sweeps.
  for (int sweep = 0; sweep < 50; ++sweep) {
    const long double off = A[0][1] * A[0][1] + A[0][2] * A[0][2] + A[1][2] * A[1][2];
    const long double diag = A[0][0] * A[0][0] + A[1][1] * A[1][1] + A[2][2] * A[2][2];
    if (!(off > diag * 1e-40L)) break;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        if (A[p][q] == 0) continue;
        const long double theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const long double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const long double c = 1 / std::sqrt(t * t + 1), sn = t * c;
        for (int r = 0; r < 3; ++r) {  // columns p, q
          const long double arp = A[r][p], arq = A[r][q];
          A[r][p] = c * arp - sn * arq;
          A[r][q] = sn * arp + c * arq;
        }
        for (int r = 0; r < 3; ++r) {  // rows p, q
          const long double apr = A[p][r], aqr = A[q][r];
          A[p][r] = c * apr - sn * aqr;
          A[q][r] = sn * apr + c * aqr;
        }
      }
  }
  return static_cast<double>(std::max({A[0][0], A[1][1], A[2][2]}));
}

bool solve_normal(const double s[7], std::int64_t n, Model& out) {
  // [S4 S3 S2] [a]   [S2y]
  // [S3 S2 S1] [b] = [S1y]
  // [S2 S1 n ] [c]   [Sy ]
  long double A[3][4] = {{s[3], s[2], s[1], s[6]}, {s[2], s[1], s[0], s[5]}, {s[1], s[0], static_cast<long double>(n), s[4]}};
  long double largest = 0;
  for (auto& row : A)
    for (int j = 0; j < 3; ++j) largest = std::max(largest, std::fabs(row[j]));
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 3; ++r)
      if (std::fabs(A[r][col]) > std::fabs(A[pivot][col])) pivot = r;
    // A pivot at round-off level means the x values span fewer than 3 distinct points.
    if (std::fabs(A[pivot][col]) <= largest * 1e-15L) return false;
    if (pivot != col)
      for (int j = 0; j < 4; ++j) std::swap(A[col][j], A[pivot][j]);
    for (int r = col + 1; r < 3; ++r) {
      const long double f = A[r][col] / A[col][col];
      for (int j = col; j < 4; ++j) A[r][j] -= f * A[col][j];
    }
  }
  long double v[3];
  for (int r = 2; r >= 0; --r) {
    long double acc = A[r][3];
    for (int j = r + 1; j < 3; ++j) acc -= A[r][j] * v[j];
    v[r] = acc / A[r][r];
  }
  if (!std::isfinite(static_cast<double>(v[0])) || !std::isfinite(static_cast<double>(v[1])) ||
      !std::isfinite(static_cast<double>(v[2])))
    return false;
  out = {static_cast<double>(v[0]), static_cast<double>(v[1]), static_cast<double>(v[2])};
  return true;
}

}  // namespace hpcb::nlreg
