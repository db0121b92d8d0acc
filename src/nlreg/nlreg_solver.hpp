// Full-batch gradient descent for y = a x^2 + b x + c, exactly the course's
// program: every epoch the MSE gradient over all samples,
//   D_a = -2/n sum x^2 (y - y_pred), D_b = -2/n sum x (y - y_pred), D_c = -2/n sum (y - y_pred),
// then a -= lr D_a, b -= lr D_b, c -= lr D_c. Synchronous: the partial sums of
// all workers are combined (tree_sum, fixed order) before the one update that
// every worker applies, so every backend follows the sequential trajectory bit
// for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "nlreg/nlreg_core.hpp"
#include "nlreg/samples.hpp"
#include "team/team.hpp"

namespace hpcb::nlreg {

struct Params {
  int epochs = 10000;
  double lr = 1e-4;
  Model start{};  // a = b = c = 0, as the course
};

struct Result {
  Model model;              // after the last epoch
  double mse = 0;           // of the final model
  std::vector<double> loss; // MSE at the start of each epoch (the model the gradient is taken at)
  int epochs_run = 0;
  bool diverged = false;    // the loss or the model stopped being finite
  bool has_optimum = false; // false when x has fewer than 3 distinct values
  Model optimum;            // exact least squares, from the normal equations
  double mse_optimum = 0;
  double init_s = 0, iter_s = 0, comm_s = 0;  // seconds, this worker
};

Result run(Team& team, const Samples& samples, const Params& params);

}  // namespace hpcb::nlreg
