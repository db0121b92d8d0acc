#include "nlreg/nlreg_workload.hpp"

#include <cmath>
#include <cstdio>
#include <memory>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/timer.hpp"
#include "io/h5_write.hpp"

namespace hpcb::nlreg {
namespace {

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

// What --out and the summary need after the run, on each worker.
struct Finished {
  std::shared_ptr<const Samples> samples;
  Result r;
  std::vector<double> curve;  // MSE after 0, 1, ..., epochs updates
  std::string digest;
  double t_target = 0;        // the slowest worker's time to the target MSE
};

}  // namespace

void RegressionWorkload::add_options(OptionTable& opts) {
  opts.integer({"--epochs", "gradient-descent epochs (full passes over the data)", Role::param, true}, prm_.epochs, 1);
  opts.real_or_word(
      {"--lr", "learning rate, or auto: 1/lambda_max of the MSE's Hessian from the data (the largest safe step)",
       Role::param, true},
      prm_.lr.value, prm_.lr.automatic, 0.0, true, "auto");
  opts.choice<Solver>(
      {"--solver", "gd: gradient descent | normal: exact least squares in one pass, 0 epochs", Role::param, true},
      prm_.solver, kSolverNames);
  opts.optional_real(
      {"--target-mse", "report the first epoch (and the time) at which the MSE is <= this value", Role::param, true},
      prm_.target_mse, 0.0);
}

Outcome RegressionWorkload::run(Team& team, const RunContext& ctx) {
  Outcome o;
  auto f = std::make_shared<Finished>();
  f->samples = timed_input(o, [&] { return load_samples(team, ctx.common.data, ctx.common.verify); });
  const Samples& s = *f->samples;

  const bool normal = prm_.solver == Solver::normal;
  const std::string solver = name_of<Solver>(kSolverNames, prm_.solver);
  // The rate as asked for: "auto", or the number; the rate used goes to result.lr_used.
  const nlohmann::json lr_asked = prm_.lr.automatic ? nlohmann::json("auto") : nlohmann::json(prm_.lr.value);
  const nlohmann::json identity = {
      {"app", "nlreg"}, {"data", s.identity}, {"n", s.n},
      {"params", {{"epochs", prm_.epochs}, {"lr", lr_asked},
                  {"solver", solver}, {"a0", prm_.start.a}, {"b0", prm_.start.b}, {"c0", prm_.start.c}}}};
  CheckpointPlan plan = checkpoint_plan(team, ctx, identity.dump(), {3, prm_.epochs, 0});
  plan.signal_check_every = 64;  // an epoch costs microseconds: a collective each would double it
  Params run_prm = prm_;
  run_prm.checkpoint = &plan;
  f->r = nlreg::run(team, s, run_prm);
  const Result& r = f->r;
  if (r.interrupted) return o.stopped_after("epochs", r.epochs_run);
  // Every worker holds the same moments, so all agree here.
  if (normal && !r.has_optimum)
    throw DataError(s.path + ": the normal equations are singular (x takes fewer than 3 distinct values); "
                    "use --solver gd");
  if (r.diverged) {
    const std::string where = "diverged at epoch " + std::to_string(r.epochs_run) + " of " +
                              std::to_string(prm_.epochs) + " (the loss or the parameters became infinite or NaN)";
    // --lr auto is the largest stable step for these data: a smaller rate is
    // no remedy; the data's magnitudes overflow double precision.
    if (prm_.lr.automatic)
      throw DataError(where + " with --lr auto: the data overflow double precision (" +
                      (std::isfinite(r.curvature) ? "the loss or its gradient" : "the curvature, from sums of x^4,") +
                      " is not finite); rescale x and y");
    throw DataError(where + ": use a smaller --lr than " + nlohmann::json(r.lr).dump());
  }
  // No quality metrics: the regression's only measure, the MSE, is part of its epochs.
  o.seconds.init = r.init_s;
  o.seconds.iterations = r.iter_s;
  o.seconds.comm = r.comm_s;
  o.ran = r.epochs_run - r.resumed_from;

  f->curve = r.loss;
  f->curve.push_back(r.mse);
  const double params[3] = {r.model.a, r.model.b, r.model.c};
  Sha256 digest;
  digest.update(params, sizeof params);
  f->digest = digest.hex();
  o.valid = std::isfinite(r.mse) && (!r.has_optimum || r.mse >= r.mse_optimum * (1 - 1e-9) - 1e-12);

  o.dataset = {{"path", s.path}, {"n", s.n}, {"d", 1}, {"dtype", "float64"}, {"sha256", s.content_sha256}, {"verified", s.verified}};
  const bool has_target = prm_.target_mse.has_value();
  o.params = {{"epochs", prm_.epochs}, {"lr", lr_asked}, {"solver", solver},
              {"target_mse", has_target ? nlohmann::json(*prm_.target_mse) : nlohmann::json(nullptr)},
              {"a0", prm_.start.a}, {"b0", prm_.start.b}, {"c0", prm_.start.c}};
  auto opt = [&](double v) { return r.has_optimum ? nlohmann::json(v) : nlohmann::json(nullptr); };
  o.result = {{"epochs", r.epochs_run}, {"resumed_from", r.resumed_from}, {"a", r.model.a}, {"b", r.model.b}, {"c", r.model.c}, {"mse", r.mse},
              {"a_opt", opt(r.optimum.a)}, {"b_opt", opt(r.optimum.b)}, {"c_opt", opt(r.optimum.c)},
              {"mse_optimum", opt(r.mse_optimum)}, {"params_sha256", f->digest}, {"diverged", false},
              {"loss_trace", loss_trace(f->curve)}, {"lr_used", r.lr}, {"curvature", r.curvature}};

  // Every worker reaches the target at the same epoch (same sums); the time is the slowest worker's.
  const bool reached = has_target && r.epochs_to_target >= 0;
  o.conclude = [f, reached](Team& t, Outcome& out) {
    f->t_target = t.max(reached ? f->r.time_to_target_s : 0.0);
    out.result["epochs_to_target"] = reached ? nlohmann::json(f->r.epochs_to_target) : nlohmann::json(nullptr);
    out.result["time_to_target_s"] = reached ? nlohmann::json(f->t_target) : nlohmann::json(nullptr);
  };
  o.write_out = [f](const std::string& path, const nlohmann::json& record) {
    const Result& res = f->r;
    h5::AtomicH5File file(path);
    h5::write_vector(file, "/params", std::vector<double>{res.model.a, res.model.b, res.model.c});
    h5::write_vector(file, "/loss", f->curve);
    if (res.has_optimum)
      h5::write_vector(file, "/optimum", std::vector<double>{res.optimum.a, res.optimum.b, res.optimum.c});
    h5::write_attribute(file, "/", "record", record.dump());
    file.commit();
  };
  o.summary = [f, &ctx, normal, reached, epochs = prm_.epochs, lr_auto = prm_.lr.automatic,
               target = prm_.target_mse](const Outcome& done, const TeamPhases& phases) {
    const Samples& smp = *f->samples;
    const Result& res = f->r;
    const Phases& t = phases.slowest;
    if (normal)
      std::printf("%s: %s (n=%lld), normal equations (0 epochs), %d rank(s) x %d thread(s)\n", ctx.prog.c_str(),
                  smp.path.c_str(), static_cast<long long>(smp.n), ctx.info.ranks, ctx.info.threads);
    else
      std::printf("%s: %s (n=%lld), %d epochs, lr %g%s, %d rank(s) x %d thread(s)\n", ctx.prog.c_str(),
                  smp.path.c_str(), static_cast<long long>(smp.n), epochs, res.lr, lr_auto ? " (auto)" : "",
                  ctx.info.ranks, ctx.info.threads);
    std::printf("  %-17s a = %.10g  b = %.10g  c = %.10g  MSE = %.10g\n",
                normal ? "normal equations" : "gradient descent", res.model.a, res.model.b, res.model.c, res.mse);
    if (res.has_optimum)
      std::printf("  least squares     a = %.10g  b = %.10g  c = %.10g  MSE = %.10g\n", res.optimum.a, res.optimum.b,
                  res.optimum.c, res.mse_optimum);
    else
      std::printf("  least squares     none (x takes fewer than 3 distinct values)\n");
    std::printf("  time              %.4f s total: io %.4f, optimum %.4f, epochs %.4f (compute %.4f, comm %.4f); %.3f us/epoch\n",
                t.total, t.io, t.init, t.iterations, phases.compute(), t.comm,
                done.ran > 0 ? 1e6 * t.iterations / done.ran : 0.0);
    if (target) {
      if (reached)
        std::printf("  target MSE %g     reached after %d epochs, %.4f s\n", *target, res.epochs_to_target, f->t_target);
      else
        std::printf("  target MSE %g     not reached\n", *target);
    }
    std::printf("  digest            params %.16s\n", f->digest.c_str());
  };
  return o;
}

}  // namespace hpcb::nlreg
