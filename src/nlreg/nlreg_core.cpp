#include "nlreg/nlreg_core.hpp"

#include <cmath>
#include <algorithm>
#include <utility>

namespace hpcb::nlreg {
namespace {

// Eight independent partial sums per quantity: vectorisable without
// -ffast-math, and a fixed order, so the bits depend only on the rows.
constexpr int kLanes = 8;

}  // namespace

void residual_sums(const double* x, const double* y, std::int64_t rows, Model m, double out[4]) {
  double s2[kLanes] = {}, s1[kLanes] = {}, s0[kLanes] = {}, sq[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= rows; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const double xv = x[i + l];
      const double x2 = xv * xv;
      const double r = y[i + l] - (m.a * x2 + m.b * xv + m.c);  // the course's form, not Horner's
      s0[l] += r;
      s1[l] += xv * r;
      s2[l] += x2 * r;
      sq[l] += r * r;
    }
  for (int l = 0; i < rows; ++i, ++l) {
    const double xv = x[i];
    const double x2 = xv * xv;
    const double r = y[i] - (m.a * x2 + m.b * xv + m.c);
    s0[l] += r;
    s1[l] += xv * r;
    s2[l] += x2 * r;
    sq[l] += r * r;
  }
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) {
      s0[l] += s0[l + width];
      s1[l] += s1[l + width];
      s2[l] += s2[l + width];
      sq[l] += sq[l + width];
    }
  out[0] = s2[0];
  out[1] = s1[0];
  out[2] = s0[0];
  out[3] = sq[0];
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
