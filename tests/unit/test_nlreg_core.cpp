// The regression kernels against direct formulas.
#include <gtest/gtest.h>

#include <cmath>

#include "nlreg/nlreg_core.hpp"

namespace hpcb::nlreg {
namespace {

TEST(ResidualSums, MatchTheDefinition) {
  std::vector<double> x, y;
  for (int i = 0; i < 21; ++i) {  // 21: two full 8-lane rounds and a remainder
    x.push_back(0.5 * i - 3);
    y.push_back(std::sin(i));
  }
  const Model m{0.3, -1.1, 2.0};
  double out[4];
  residual_sums(x.data(), y.data(), 21, m, out);
  double e[4] = {};
  for (int i = 0; i < 21; ++i) {
    const double r = y[i] - (m.a * x[i] * x[i] + m.b * x[i] + m.c);
    e[0] += x[i] * x[i] * r;
    e[1] += x[i] * r;
    e[2] += r;
    e[3] += r * r;
  }
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(out[j], e[j], 1e-12 * (1 + std::fabs(e[j])));
}

TEST(NormalEquations, RecoverAnExactQuadratic) {
  std::vector<double> x, y;
  for (int i = 0; i < 50; ++i) {
    x.push_back(i * 0.2);
    y.push_back(2.5 * x.back() * x.back() - 3 * x.back() + 7);
  }
  double s[7];
  moment_sums(x.data(), y.data(), 50, s);
  Model m;
  ASSERT_TRUE(solve_normal(s, 50, m));
  EXPECT_NEAR(m.a, 2.5, 1e-10);
  EXPECT_NEAR(m.b, -3.0, 1e-9);
  EXPECT_NEAR(m.c, 7.0, 1e-9);
}

TEST(NormalEquations, SingularWhenFewerThanThreeDistinctX) {
  const double x[] = {1, 1, 2, 2}, y[] = {1, 2, 3, 4};
  double s[7];
  moment_sums(x, y, 4, s);
  Model m;
  EXPECT_FALSE(solve_normal(s, 4, m));
}

}  // namespace
}  // namespace hpcb::nlreg
