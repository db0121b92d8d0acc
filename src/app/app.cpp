#include "app/app.hpp"

#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "app/provenance.hpp"
#include "common/record.hpp"
#include "io/h5_probe.hpp"
#include "io/team_read.hpp"
#include "team/on_first.hpp"

namespace hpcb {

int run_app(int argc, char** argv, const std::string& app_name, Backend& backend,
            const std::function<void(CLI::App&)>& add_options, const std::function<void()>& validate,
            const std::function<int(Team&, const RunContext&)>& body) {
  // No HDF5 shutdown at exit: every HDF5 object is closed by its owner, and a
  // file whose close failed (a full disk) makes HDF5 1.10.8's shutdown crash
  // (SIGSEGV) after the error was reported. Must precede any other HDF5 call.
  // (Under MPI the shutdown also runs inside MPI_Finalize, registered when HDF5
  // starts after MPI_Init; avoiding that needs H5open() before MPI_Init.)
  H5dont_atexit();
  RunContext ctx;
  ctx.prog = std::filesystem::path(argc > 0 ? argv[0] : app_name).filename().string();
  ctx.app = app_name;
  const bool root_process = backend.info(0).is_root;
  auto fail = [&](int code, const std::string& message) {
    if (root_process) std::fprintf(stderr, "%s: %s\n", ctx.prog.c_str(), message.c_str());
    return code;
  };

  CLI::App cli(ctx.prog + ": " + (app_name == "kmeans" ? "Lloyd's k-means" : "quadratic regression by gradient descent") +
               " (" + backend.info(0).name + " backend). Exit status: 0 ok, 1 data error, 2 usage error, 3 failed validation.");
  cli.option_defaults()->always_capture_default();
  auto& c = ctx.common;
  cli.add_option("--data", c.data, "input HDF5 file (layout: datasets/README.md)")->required();
  add_options(cli);
  cli.add_option("--record", c.record, "append the run record (one JSON line) to this file; 'none' for no record");
  cli.add_option("--out", c.out, "also write the full result to this HDF5 file");
  cli.add_option("--tag", c.tag, "free-form label stored in the record (e.g. a sweep name)");
  cli.add_option("--threads", c.threads, "worker threads (OpenMP executables; default OMP_NUM_THREADS)");
  cli.add_flag("--quiet", c.quiet, "print nothing but errors");
  cli.add_option("--checkpoint", c.checkpoint,
                 "save the state to this HDF5 file on SIGUSR1/SIGTERM (then exit 4) and every --checkpoint-every iterations");
  cli.add_option("--checkpoint-every", c.checkpoint_every, "also save every N iterations or epochs (0: only when stopped)");
  cli.add_flag("--resume", c.resume, "continue from --checkpoint if it exists (a checkpoint of other data or parameters is refused)");
  cli.add_option("--stop-after", c.stop_after, "testing: stop as if signalled after N iterations or epochs")->group("");
  try {
    cli.parse(argc, argv);
    if (c.threads < 0) throw UsageError("--threads must be >= 1, got " + std::to_string(c.threads));
    if (c.checkpoint_every < 0) throw UsageError("--checkpoint-every must be >= 0");
    if (c.stop_after < 0) throw UsageError("--stop-after must be >= 0");
    if ((c.resume || c.checkpoint_every > 0 || c.stop_after > 0) && c.checkpoint.empty())
      throw UsageError("--resume, --checkpoint-every and --stop-after need --checkpoint PATH");
    validate();
    ctx.info = backend.info(c.threads);
  } catch (const CLI::CallForHelp&) {
    if (root_process) std::printf("%s", cli.help().c_str());
    return kOk;
  } catch (const CLI::ParseError& e) {
    return fail(kUsageError, std::string(e.what()) + " (see --help)");
  } catch (const UsageError& e) {
    return fail(kUsageError, e.what());
  }

  if (!c.checkpoint.empty()) install_stop_signals();
  return backend.run(c.threads, [&](Team& team) {
    try {
      return body(team, ctx);
    } catch (const UsageError& e) {
      if (ctx.root(team)) std::fprintf(stderr, "%s: %s\n", ctx.prog.c_str(), e.what());
      return int(kUsageError);
    } catch (const DataError& e) {
      // Reaching here on every worker is guaranteed for AgreedError, and for
      // errors derived from data every worker holds (all throw the same).
      if (ctx.root(team)) std::fprintf(stderr, "%s: %s\n", ctx.prog.c_str(), e.what());
      return int(kDataError);
    }
  });
}

CheckpointPlan checkpoint_plan(Team& team, const RunContext& ctx, const std::string& identity) {
  CheckpointPlan plan;
  const CommonOptions& c = ctx.common;
  plan.path = c.checkpoint;
  plan.every = c.checkpoint_every;
  plan.stop_after = c.stop_after;
  plan.identity = identity;
  if (c.resume) {
    // What read_checkpoint (io/checkpoint.cpp) reads, walked first in a child process (io/h5_probe.hpp).
    check_h5_walk_on_team(team, c.checkpoint, {{{"/model", 1, DType::f64}, {"/trace", 1, DType::f64}},
                                               {"format", "identity"}, {{"/", "iterations"}, {"/", "counter"}}});
    plan.resume = *read_on_team<std::optional<Checkpoint>>(team, [&](bool) { return read_checkpoint(c.checkpoint, identity); });
  }
  return plan;
}

void retire_checkpoint(Team& team, const RunContext& ctx) {
  if (ctx.common.checkpoint.empty() || team.rank() != 0) return;
  std::error_code ec;
  std::filesystem::remove(ctx.common.checkpoint, ec);
}

nlohmann::json record_base(Team& team, const RunContext& ctx) {
  const std::vector<std::string> hosts = team.hosts();
  const std::set<std::string> nodes(hosts.begin(), hosts.end());
  nlohmann::json r;
  r["schema"] = kRecordSchema;
  r["app"] = ctx.app;
  r["backend"] = ctx.info.name;
  r["ranks"] = ctx.info.ranks;
  r["threads"] = ctx.info.threads;
  r["workers"] = ctx.info.ranks * ctx.info.threads;
  r["nodes"] = nodes.size();
  r["hosts"] = std::vector<std::string>(nodes.begin(), nodes.end());
  r["status"] = "ok";
  r["tag"] = ctx.common.tag.empty() ? nlohmann::json(nullptr) : nlohmann::json(ctx.common.tag);
  // Only the recording worker asks the libraries: HDF5 (built without thread
  // safety) must not be entered by several threads at once.
  if (ctx.root(team)) r["prov"] = provenance(ctx.info.mpi_library);
  return r;
}

void finish_run(Team& team, const RunContext& ctx, const nlohmann::json& record,
                const std::function<void(const std::string& path)>& write_out) {
  if (!ctx.common.out.empty()) on_first_worker(team, [&] { write_out(ctx.common.out); });
  if (!ctx.common.record.empty() && ctx.common.record != "none")
    on_first_worker(team, [&] { append_record(ctx.common.record, record); });
  retire_checkpoint(team, ctx);
}

int interrupted(Team& team, const RunContext& ctx, const char* unit, std::int64_t done) {
  if (ctx.root(team))
    std::fprintf(stderr, "%s: interrupted after %lld %s; state saved to %s: run again with --resume\n",
                 ctx.prog.c_str(), static_cast<long long>(done), unit, ctx.common.checkpoint.c_str());
  return kInterrupted;
}

}  // namespace hpcb
