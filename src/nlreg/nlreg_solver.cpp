#include "nlreg/nlreg_solver.hpp"

#include <cmath>

#include "common/timer.hpp"
#include "team/layout.hpp"
#include "team/tree_sum.hpp"

namespace hpcb::nlreg {
namespace {

// The four residual sums over all samples for model m, the same on every worker.
std::vector<double> global_residual_sums(Team& team, const Layout& layout, const TreeSum& sum, const Samples& s,
                                         Model m, std::vector<double>& leaves) {
  const auto [b0, b1] = layout.my_blocks();
  for (std::int64_t b = b0; b < b1; ++b) {
    const std::int64_t lo = layout.block_begin(b), hi = layout.block_end(b);
    residual_sums(s.x_at(lo), s.y_at(lo), hi - lo, m, &leaves[static_cast<std::size_t>((b - b0) * 4)]);
  }
  return sum(team, leaves, 4);
}

}  // namespace

Result run(Team& team, const Samples& s, const Params& prm) {
  const Layout layout{s.n, team.size(), team.rank()};
  const TreeSum sum(layout);
  const auto [b0, b1] = layout.my_blocks();
  const double n = static_cast<double>(s.n);
  Result res;
  team.reset_comm();
  const double t_start = now_s();
  const bool has_target = prm.target_mse.has_value();
  auto reached = [&](int epochs, double mse) {
    if (has_target && res.epochs_to_target < 0 && mse <= *prm.target_mse) {
      res.epochs_to_target = epochs;
      res.time_to_target_s = now_s() - t_start;
    }
  };

  // One pass of moment sums: the exact optimum (3x3 solve) and the curvature.
  const double t_init = now_s();
  {
    std::vector<double> leaves(static_cast<std::size_t>((b1 - b0) * 7));
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::int64_t lo = layout.block_begin(b), hi = layout.block_end(b);
      moment_sums(s.x_at(lo), s.y_at(lo), hi - lo, &leaves[static_cast<std::size_t>((b - b0) * 7)]);
    }
    const std::vector<double> moments = sum(team, leaves, 7);
    res.has_optimum = solve_normal(moments.data(), s.n, res.optimum);
    res.curvature = max_curvature(moments.data(), s.n);
  }
  std::vector<double> leaves(static_cast<std::size_t>((b1 - b0) * 4));
  if (res.has_optimum) res.mse_optimum = global_residual_sums(team, layout, sum, s, res.optimum, leaves)[3] / n;
  // Every worker holds the same moments, so all choose the same step.
  res.lr = prm.lr.automatic ? 1.0 / res.curvature : prm.lr.value;
  res.init_s = now_s() - t_init;
  team.reset_comm();

  const double t_iter = now_s();
  if (prm.solver == Solver::normal) {
    // Without an optimum (singular equations) the caller reports an error.
    res.model = res.optimum;
    res.mse = res.mse_optimum;
    reached(0, res.mse);
    res.iter_s = now_s() - t_iter;
    res.comm_s = team.comm_s();
    return res;
  }
  Model m = prm.start;
  const CheckpointPlan* plan = prm.checkpoint;
  res.loss.reserve(static_cast<std::size_t>(prm.epochs));
  if (plan && plan->resume) {
    // The model is the whole state of gradient descent; the loss so far comes along.
    const auto& saved = plan->resume->model;
    m = {saved.at(0), saved.at(1), saved.at(2)};
    res.loss = plan->resume->trace;
    res.epochs_run = res.resumed_from = static_cast<int>(plan->resume->iterations);
    for (int e = 0; e < res.epochs_run; ++e) reached(e, res.loss[static_cast<std::size_t>(e)]);
  }
  for (int epoch = res.epochs_run; epoch < prm.epochs; ++epoch) {
    const std::vector<double> g = global_residual_sums(team, layout, sum, s, m, leaves);
    res.loss.push_back(g[3] / n);
    reached(epoch, g[3] / n);
    const double da = -2.0 / n * g[0], db = -2.0 / n * g[1], dc = -2.0 / n * g[2];
    m.a -= res.lr * da;
    m.b -= res.lr * db;
    m.c -= res.lr * dc;
    res.epochs_run = epoch + 1;
    // Every worker sees the same sums, so all stop at the same epoch.
    if (!std::isfinite(g[3]) || !std::isfinite(m.a) || !std::isfinite(m.b) || !std::isfinite(m.c)) {
      res.diverged = true;
      break;
    }
    if (plan && plan->enabled() && res.epochs_run < prm.epochs) {
      const bool stop = plan->should_stop(team, res.epochs_run);
      if (stop || (plan->every > 0 && res.epochs_run % plan->every == 0))
        plan->save(team, {plan->identity, res.epochs_run, {m.a, m.b, m.c}, res.loss, 0});
      if (stop) {
        res.model = m;
        res.interrupted = true;
        res.iter_s = now_s() - t_iter;
        res.comm_s = team.comm_s();
        return res;
      }
    }
  }
  res.model = m;
  if (!res.diverged) {
    res.mse = global_residual_sums(team, layout, sum, s, m, leaves)[3] / n;
    res.diverged = !std::isfinite(res.mse);
    if (!res.diverged) reached(res.epochs_run, res.mse);
  }
  res.iter_s = now_s() - t_iter;
  res.comm_s = team.comm_s();
  return res;
}

}  // namespace hpcb::nlreg
