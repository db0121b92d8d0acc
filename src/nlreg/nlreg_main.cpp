// nlreg_seq, nlreg_omp, nlreg_mpi: this one main, linked with one of the three
// team backends (src/team/team_*.cpp).
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "app/app.hpp"
#include "app/phases.hpp"
#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/timer.hpp"
#include "io/h5_write.hpp"
#include "nlreg/nlreg_solver.hpp"

namespace {

using hpcb::DataError;
using hpcb::Team;
using hpcb::UsageError;

// About 64 points of the loss curve, spaced evenly in log(updates), for the
// record; the full curve goes to --out.
nlohmann::json loss_trace(const std::vector<double>& loss) {
  std::vector<std::int64_t> at;
  const auto last = static_cast<std::int64_t>(loss.size()) - 1;
  for (int i = 0; i <= 64; ++i) {
    const auto e = static_cast<std::int64_t>(std::llround(std::expm1(std::log1p(static_cast<double>(last)) * i / 64.0)));
    if (at.empty() || e > at.back()) at.push_back(std::min(e, last));
  }
  std::vector<double> values;
  for (auto e : at) values.push_back(loss[static_cast<std::size_t>(e)]);
  return {{"epoch", at}, {"mse", values}};
}

}  // namespace

int main(int argc, char** argv) {
  hpcb::Backend backend(argc, argv);
  hpcb::nlreg::Params prm;
  auto add_options = [&](hpcb::OptionTable& opts) {
    opts.integer({"--epochs", "gradient-descent epochs (full passes over the data)", hpcb::Role::param, true},
                 prm.epochs, 1);
    opts.real_or_word({"--lr", "learning rate, or auto: 1/lambda_max of the MSE's Hessian from the data (the largest "
                               "safe step)",
                       hpcb::Role::param, true},
                      prm.lr.value, prm.lr.automatic, 0.0, true, "auto");
    opts.choice<hpcb::nlreg::Solver>({"--solver", "gd: gradient descent | normal: exact least squares in one pass, 0 epochs",
                                      hpcb::Role::param, true},
                                     prm.solver, hpcb::nlreg::kSolverNames);
    opts.optional_real({"--target-mse", "report the first epoch (and the time) at which the MSE is <= this value",
                        hpcb::Role::param, true},
                       prm.target_mse, 0.0);
  };
  auto validate = [] {};

  return hpcb::run_app(argc, argv, "nlreg", backend, add_options, validate, [&](Team& team, const hpcb::RunContext& ctx) {
    team.barrier();
    const double t_start = hpcb::now_s();
    const auto samples = hpcb::load_samples(team, ctx.common.data, ctx.common.verify);
    const double io_s = hpcb::now_s() - t_start;
    const auto& s = *samples;

    const bool normal = prm.solver == hpcb::nlreg::Solver::normal;
    const std::string solver = hpcb::name_of<hpcb::nlreg::Solver>(hpcb::nlreg::kSolverNames, prm.solver);
    // The rate as asked for: "auto", or the number.
    const nlohmann::json lr_asked = prm.lr.automatic ? nlohmann::json("auto") : nlohmann::json(prm.lr.value);
    const nlohmann::json identity = {
        {"app", "nlreg"}, {"data", s.identity}, {"n", s.n},
        {"params", {{"epochs", prm.epochs}, {"lr", lr_asked},
                    {"solver", solver}, {"a0", prm.start.a}, {"b0", prm.start.b}, {"c0", prm.start.c}}}};
    hpcb::CheckpointPlan plan = hpcb::checkpoint_plan(team, ctx, identity.dump(), {3, prm.epochs, 0});
    plan.signal_check_every = 64;  // an epoch costs microseconds: a collective each would double it
    hpcb::nlreg::Params run_prm = prm;
    run_prm.checkpoint = &plan;
    const hpcb::nlreg::Result r = hpcb::nlreg::run(team, s, run_prm);
    if (r.interrupted) return hpcb::interrupted(team, ctx, "epochs", r.epochs_run);
    // Every worker holds the same moments, so all agree here.
    if (normal && !r.has_optimum)
      throw DataError(s.path + ": the normal equations are singular (x takes fewer than 3 distinct values); "
                      "use --solver gd");
    if (r.diverged) {
      const std::string where = "diverged at epoch " + std::to_string(r.epochs_run) + " of " +
                                std::to_string(prm.epochs) + " (the loss or the parameters became infinite or NaN)";
      // --lr auto is the largest stable step for these data: a smaller rate is
      // no remedy; the data's magnitudes overflow double precision.
      if (prm.lr.automatic)
        throw DataError(where + " with --lr auto: the data overflow double precision (" +
                        (std::isfinite(r.curvature) ? "the loss or its gradient" : "the curvature, from sums of x^4,") +
                        " is not finite); rescale x and y");
      throw DataError(where + ": use a smaller --lr than " + nlohmann::json(r.lr).dump());
    }
    team.barrier();
    const double total_s = hpcb::now_s() - t_start;
    // No quality metrics: the regression's only measure, the MSE, is part of its epochs.
    const hpcb::TeamPhases phases = hpcb::gather_phases(team, {total_s, io_s, r.init_s, r.iter_s, r.comm_s, 0.0});
    const hpcb::Phases& t = phases.slowest;
    // Every worker reaches the target at the same epoch (same sums); the time is the slowest worker's.
    const bool has_target = prm.target_mse.has_value(), reached = has_target && r.epochs_to_target >= 0;
    const double t_target = team.max(reached ? r.time_to_target_s : 0.0);

    std::vector<double> curve = r.loss;  // MSE after 0, 1, ..., epochs updates
    curve.push_back(r.mse);
    const double params[3] = {r.model.a, r.model.b, r.model.c};
    hpcb::Sha256 digest;
    digest.update(params, sizeof params);
    const bool valid = std::isfinite(r.mse) && (!r.has_optimum || r.mse >= r.mse_optimum * (1 - 1e-9) - 1e-12);

    nlohmann::json rec = hpcb::record_base(team, ctx);
    rec["dataset"] = {{"path", s.path}, {"n", s.n}, {"d", 1}, {"dtype", "float64"}, {"sha256", s.content_sha256}, {"verified", s.verified}};
    rec["params"] = {{"epochs", prm.epochs}, {"lr", lr_asked}, {"solver", solver},
                     {"target_mse", has_target ? nlohmann::json(*prm.target_mse) : nlohmann::json(nullptr)},
                     {"a0", prm.start.a}, {"b0", prm.start.b}, {"c0", prm.start.c}};
    auto opt = [&](double v) { return r.has_optimum ? nlohmann::json(v) : nlohmann::json(nullptr); };
    rec["result"] = {{"epochs", r.epochs_run}, {"resumed_from", r.resumed_from}, {"a", r.model.a}, {"b", r.model.b}, {"c", r.model.c}, {"mse", r.mse},
                     {"a_opt", opt(r.optimum.a)}, {"b_opt", opt(r.optimum.b)}, {"c_opt", opt(r.optimum.c)},
                     {"mse_optimum", opt(r.mse_optimum)}, {"params_sha256", digest.hex()}, {"diverged", false},
                     {"loss_trace", loss_trace(curve)}, {"validated", valid}, {"lr_used", r.lr}, {"curvature", r.curvature},
                     {"epochs_to_target", reached ? nlohmann::json(r.epochs_to_target) : nlohmann::json(nullptr)},
                     {"time_to_target_s", reached ? nlohmann::json(t_target) : nlohmann::json(nullptr)}};
    // A resumed run times only the epochs it ran itself.
    const int ran = r.epochs_run - r.resumed_from;
    rec["time_s"] = hpcb::time_record(phases, ran);
    if (!valid) rec["status"] = "failed-validation";

    hpcb::finish_run(team, ctx, rec, [&](const std::string& path) {
      hpcb::h5::AtomicH5File file(path);
      hpcb::h5::write_vector(file, "/params", std::vector<double>(params, params + 3));
      hpcb::h5::write_vector(file, "/loss", curve);
      if (r.has_optimum)
        hpcb::h5::write_vector(file, "/optimum", std::vector<double>{r.optimum.a, r.optimum.b, r.optimum.c});
      hpcb::h5::write_attribute(file, "/", "record", rec.dump());
      file.commit();
    });

    if (ctx.root(team) && !ctx.common.quiet) {
      if (normal)
        std::printf("%s: %s (n=%lld), normal equations (0 epochs), %d rank(s) x %d thread(s)\n", ctx.prog.c_str(),
                    s.path.c_str(), static_cast<long long>(s.n), ctx.info.ranks, ctx.info.threads);
      else
        std::printf("%s: %s (n=%lld), %d epochs, lr %g%s, %d rank(s) x %d thread(s)\n", ctx.prog.c_str(),
                    s.path.c_str(), static_cast<long long>(s.n), prm.epochs, r.lr, prm.lr.automatic ? " (auto)" : "",
                    ctx.info.ranks, ctx.info.threads);
      std::printf("  %-17s a = %.10g  b = %.10g  c = %.10g  MSE = %.10g\n",
                  normal ? "normal equations" : "gradient descent", r.model.a, r.model.b, r.model.c,
                  r.mse);
      if (r.has_optimum)
        std::printf("  least squares     a = %.10g  b = %.10g  c = %.10g  MSE = %.10g\n", r.optimum.a, r.optimum.b,
                    r.optimum.c, r.mse_optimum);
      else
        std::printf("  least squares     none (x takes fewer than 3 distinct values)\n");
      std::printf("  time              %.4f s total: io %.4f, optimum %.4f, epochs %.4f (compute %.4f, comm %.4f); %.3f us/epoch\n",
                  t.total, t.io, t.init, t.iterations, phases.compute(), t.comm, ran > 0 ? 1e6 * t.iterations / ran : 0.0);
      if (has_target) {
        if (reached)
          std::printf("  target MSE %g     reached after %d epochs, %.4f s\n", *prm.target_mse, r.epochs_to_target, t_target);
        else
          std::printf("  target MSE %g     not reached\n", *prm.target_mse);
      }
      std::printf("  digest            params %.16s\n", digest.hex().c_str());
      std::printf("  %s\n", valid ? "Solution validates" : "Solution FAILED validation");
    }
    return valid ? int(hpcb::kOk) : int(hpcb::kValidationError);
  });
}
