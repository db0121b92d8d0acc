// The curvature behind --lr auto: the largest eigenvalue of the MSE's Hessian.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nlreg/nlreg_core.hpp"

namespace hpcb::nlreg {
namespace {

std::vector<double> moments_of(const std::vector<double>& x) {
  std::vector<double> y(x.size(), 0.0), m(7);
  moment_sums(x.data(), y.data(), static_cast<std::int64_t>(x.size()), m.data());
  return m;
}

TEST(MaxCurvature, TwoPointsHaveAClosedForm) {
  // x = {0, 1}: (2/n) M = [[1, 1, 1], [1, 1, 1], [1, 1, 2]], eigenvalues
  // 0 and 2 -+ sqrt(2).
  const auto m = moments_of({0.0, 1.0});
  EXPECT_NEAR(max_curvature(m.data(), 2), 2 + std::sqrt(2.0), 1e-14);
}

TEST(MaxCurvature, BoundsTheRayleighQuotient) {
  // For a spread of x, lambda_max >= v'Hv / v'v for any v, with equality at the
  // top eigenvector; gradient descent at 2 / lambda_max is the divergence edge.
  std::vector<double> x;
  for (int i = 0; i < 1000; ++i) x.push_back(10.0 * i / 999);
  const auto m = moments_of(x);
  const double n = 1000, lam = max_curvature(m.data(), 1000);
  const double H[3][3] = {{m[3], m[2], m[1]}, {m[2], m[1], m[0]}, {m[1], m[0], n}};
  double best = 0;
  for (double a = -1; a <= 1; a += 0.01)
    for (double b = -1; b <= 1; b += 0.05) {
      const double v[3] = {1, a, b};
      double num = 0, den = 0;
      for (int r = 0; r < 3; ++r) {
        den += v[r] * v[r];
        for (int c = 0; c < 3; ++c) num += v[r] * 2 / n * H[r][c] * v[c];
      }
      best = std::max(best, num / den);
    }
  EXPECT_GE(lam * (1 + 1e-12), best);
  EXPECT_LE(lam, best * 1.001);  // the grid comes close to the top eigenvector
  // The trace is the sum of the eigenvalues, all >= 0 (a Gram matrix).
  EXPECT_LE(lam, 2 / n * (m[3] + m[1] + n));
}

}  // namespace
}  // namespace hpcb::nlreg
