#include "app/workload.hpp"

#include <cstdio>

#include "common/error.hpp"
#include "common/timer.hpp"

namespace hpcb {

int run_workload(int argc, char** argv, Backend& backend, Workload& w) {
  auto add_options = [&](OptionTable& options) { w.add_options(options); };
  auto validate = [&] { w.validate(); };
  auto extra_inputs = [&] { return w.extra_inputs(); };
  return run_app(argc, argv, w.app(), w.title(), backend, add_options, validate, [&](Team& team, const RunContext& ctx) {
    team.barrier();
    const double t_start = now_s();
    Outcome o = w.run(team, ctx);
    if (o.interrupted) return interrupted(team, ctx, o.unit, o.done);
    team.barrier();
    o.seconds.total = now_s() - t_start;
    if (o.conclude) o.conclude(team, o);
    const TeamPhases phases = gather_phases(team, o.seconds);

    nlohmann::json rec = record_base(team, ctx);
    rec["dataset"] = o.dataset;
    rec["params"] = o.params;
    rec["result"] = o.result;
    rec["result"]["validated"] = o.valid;
    rec["time_s"] = time_record(phases, o.ran);
    if (!o.valid) rec["status"] = "failed-validation";
    finish_run(team, ctx, rec, [&](const std::string& path) { o.write_out(path, rec); });

    if (ctx.root(team) && !ctx.common.quiet) {
      o.summary(o, phases);
      std::printf("  %s\n", o.valid ? "Solution validates" : "Solution FAILED validation");
    }
    return o.valid ? int(kOk) : int(kValidationError);
  }, extra_inputs);
}

}  // namespace hpcb
