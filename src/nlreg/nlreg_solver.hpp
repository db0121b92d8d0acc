// Full-batch gradient descent for y = a x^2 + b x + c, exactly the program of the
// nonlinear-regression assignment of COP 6526, the parallel-computing course this
// project was written for (datasets/PROVENANCE.md): every epoch the MSE gradient
// over all samples,
//   D_a = -2/n sum x^2 (y - y_pred), D_b = -2/n sum x (y - y_pred), D_c = -2/n sum (y - y_pred),
// then a -= lr D_a, b -= lr D_b, c -= lr D_c. Synchronous: the partial sums of
// all workers are combined (tree_sum, fixed order) before the one update that
// every worker applies, so every backend follows the sequential trajectory bit
// for bit.
//
// --solver normal skips the epochs: the model is the exact least-squares
// optimum from the one distributed pass of moment sums (0 epochs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/names.hpp"
#include "io/checkpoint.hpp"
#include "nlreg/nlreg_core.hpp"
#include "nlreg/samples.hpp"
#include "team/team.hpp"

namespace hpcb::nlreg {

// gd: gradient descent; normal: the exact least squares, no epochs.
enum class Solver { gd, normal };
inline constexpr Named<Solver> kSolverNames[] = {{"gd", Solver::gd}, {"normal", Solver::normal}};

// The learning rate asked for: a value, or automatic: 1 / lambda_max of the
// MSE's Hessian (max_curvature), from the data (Result::lr is the rate used).
struct LearningRate {
  double value = 1e-4;
  bool automatic = false;
};

struct Params {
  int epochs = 10000;
  LearningRate lr;
  Solver solver = Solver::gd;
  std::optional<double> target_mse;  // none: no target (see Result::epochs_to_target)
  Model start{};  // a = b = c = 0, as in the assignment
  const CheckpointPlan* checkpoint = nullptr;  // save / resume / stop on signal (io/checkpoint.hpp)
};

struct Result {
  Model model;              // after the last epoch
  double mse = 0;           // of the final model
  std::vector<double> loss; // MSE at the start of each epoch (the model the gradient is taken at)
  int epochs_run = 0;
  bool interrupted = false;  // stopped on a signal after saving a checkpoint (no final result)
  int resumed_from = 0;      // epochs taken from a checkpoint
  bool diverged = false;    // the loss or the model stopped being finite
  bool has_optimum = false; // false when x has fewer than 3 distinct values
  Model optimum;            // exact least squares, from the normal equations
  double mse_optimum = 0;
  double lr = 0;                  // the learning rate used (Params::lr.value, or the automatic one)
  double curvature = 0;           // lambda_max of the MSE's Hessian
  // The first number of updates after which the MSE was <= target_mse (0: the
  // start; the normal solver's 0 when its MSE is), -1 when never or no target;
  // and the seconds from the start of run() until that MSE was known.
  int epochs_to_target = -1;
  double time_to_target_s = 0;
  double init_s = 0, iter_s = 0, comm_s = 0;  // seconds, this worker
};

Result run(Team& team, const Samples& samples, const Params& params);

}  // namespace hpcb::nlreg
