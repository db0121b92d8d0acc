// The regression kernel core: plain sequential C++ over a range of samples,
// shared by every backend. The model is y = a x^2 + b x + c.
//
// Cost per epoch and sample: 1 fused pass reading x and y (16 bytes) with
// about 11 flops (residual 4, three gradient terms 5, squared residual 2).
#pragma once

#include <cstdint>

namespace hpcb::nlreg {

struct Model {
  double a = 0, b = 0, c = 0;
};

// Over rows samples with residual r = y - (a x^2 + b x + c), out gets
// [sum x^2 r, sum x r, sum r, sum r^2]: the three gradient sums and the SSE.
void residual_sums(const double* x, const double* y, std::int64_t rows, Model m, double out[4]);

// The sums of the normal equations for the least-squares quadratic:
// out = [sum x, sum x^2, sum x^3, sum x^4, sum y, sum x y, sum x^2 y].
void moment_sums(const double* x, const double* y, std::int64_t rows, double out[7]);

// The largest eigenvalue of the MSE's Hessian in (a, b, c), the 3x3 matrix
// (2/n) [[Sx4, Sx3, Sx2], [Sx3, Sx2, Sx1], [Sx2, Sx1, n]], from the moment sums
// (Jacobi rotations in long double; a pure function of its arguments). Gradient
// descent is stable for lr < 2 / lambda_max; 1 / lambda_max is the safe choice.
double max_curvature(const double moments[7], std::int64_t n);

// Solves the 3x3 normal equations from the moment sums of n samples (Gaussian
// elimination with partial pivoting in long double); false if singular.
bool solve_normal(const double moments[7], std::int64_t n, Model& out);

}  // namespace hpcb::nlreg
