#include "app/app.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <charconv>
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
namespace {

// CLI11 reads integers with strtoll(text, 0): "0x10" is 16, "010" is 8, and a
// value beyond 64 bits is clamped to the largest one. Every integer option
// takes plain decimal digits (a '-' only where the type is signed), in range;
// narrower types are range-checked by CLI11 itself.
void decimal_integers_only(CLI::App& cli) {
  for (CLI::Option* opt : cli.get_options()) {
    const std::string type = opt->get_type_name();
    if (type != "INT" && type != "UINT") continue;
    const bool is_signed = type == "INT";
    opt->transform(CLI::Validator(
        [is_signed](std::string& text) -> std::string {
          const char* end = text.data() + text.size();
          std::from_chars_result r{};
          std::string canonical;
          if (is_signed) {
            std::int64_t v = 0;
            r = std::from_chars(text.data(), end, v);
            canonical = std::to_string(v);
          } else {
            std::uint64_t v = 0;
            r = std::from_chars(text.data(), end, v);
            canonical = std::to_string(v);
          }
          if (r.ec == std::errc::result_out_of_range) return "'" + text + "' is out of range";
          if (text.empty() || r.ec != std::errc() || r.ptr != end)
            return "'" + text + "' is not a " + (is_signed ? "" : "non-negative ") + "decimal integer";
          text = canonical;  // no leading zeros left for strtoll to read as octal
          return {};
        },
        ""));
  }
}

// A string nlohmann::json can write (the run record is JSON text): checked with
// the serializer that will write the record, so both agree on what is valid.
bool valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

// Every argument may end up in the record (--tag, --data, --init, ...): an
// invalid one is refused before the run, not after it.
void require_utf8_arguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!valid_utf8(argv[i]))
      throw UsageError("argument " + std::to_string(i) + (i > 1 ? std::string(" (after ") + argv[i - 1] + ")" : "") +
                       " is not valid UTF-8; run records are JSON text and cannot hold it");
}

void require_thread_limit(const CommonOptions& c, int threads) {
  const long cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  const std::string asked =
      c.threads > 0 ? "--threads " + std::to_string(threads) : "OMP_NUM_THREADS (" + std::to_string(threads) + " threads)";
  if (threads > kMaxThreads)
    throw UsageError(asked + " is more than " + std::to_string(kMaxThreads) + " threads per process, the limit");
  if (threads > kThreadsPerCpu * cpus && !c.oversubscribe)
    throw UsageError(asked + " is more than " + std::to_string(kThreadsPerCpu) + " x the " + std::to_string(cpus) +
                     " online CPUs; add --oversubscribe to run it anyway (at most " + std::to_string(kMaxThreads) + ")");
}

// The path checks (app/paths.hpp), before any file is opened: each process
// checks for itself (file systems may differ between nodes) and the team
// agrees, so every worker ends with the same error or none.
void check_paths(Team& team, const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  const bool checker = team.rank() == team.group_first();
  std::optional<std::string> usage, data;
  if (checker) {
    try {
      check_outputs(inputs, outputs);
    } catch (const UsageError& e) {
      usage = e.what();
    }
  }
  if (auto agreed = team.agree(usage)) throw UsageError(*agreed);
  if (checker) {
    try {
      check_inputs(inputs);
    } catch (const DataError& e) {
      data = e.what();
    }
  }
  if (auto agreed = team.agree(data)) throw AgreedError(*agreed);
}

}  // namespace

int run_app(int argc, char** argv, const std::string& app_name, const std::string& title, Backend& backend,
            const std::function<void(OptionTable&)>& add_options, const std::function<void()>& validate,
            const std::function<int(Team&, const RunContext&)>& body,
            const std::function<std::vector<NamedPath>()>& extra_inputs) {
  RunContext ctx;
  ctx.prog = std::filesystem::path(argc > 0 ? argv[0] : app_name).filename().string();
  ctx.app = app_name;
  const bool root_process = backend.info(0).is_root;
  auto fail = [&](int code, const std::string& message) {
    if (root_process) std::fprintf(stderr, "%s: %s\n", ctx.prog.c_str(), message.c_str());
    return code;
  };

  std::string status_line;
  for (const ExitCodeInfo& e : kExitCodes)
    status_line += (status_line.empty() ? "" : ", ") + std::to_string(int(e.code)) + " " + e.name;
  CLI::App cli(ctx.prog + ": " + title + " (" + backend.info(0).name + " backend). Exit status: " + status_line + ".");
  cli.option_defaults()->always_capture_default();
  auto& c = ctx.common;
  OptionTable opts(cli);
  const unsigned threaded = kOmp | kHybrid;
  opts.describe_only({"--help", "print this help and exit", Role::none});
  bool describe = false;
  opts.flag({"--describe", "print the options and exit codes as JSON (schema " + std::string(kDescribeSchema) +
                               ") and exit", Role::none}, describe);
  opts.text({"--data", "input HDF5 file (layout: datasets/README.md)", Role::sweep}, c.data, true, {}, true);
  add_options(opts);
  opts.text({"--record", "append the run record (one JSON line) to this file; 'none' for no record", Role::sweep},
            c.record, true, {"none"});
  opts.text({"--out", "also write the full result to this HDF5 file", Role::none}, c.out, true);
  opts.text({"--tag", "free-form label stored in the record (e.g. a sweep name)", Role::sweep}, c.tag, false);
  opts.integer({"--threads",
                "worker threads per process (OpenMP executables; the others accept only 0 or 1); 0: OMP_NUM_THREADS, "
                "else all cores; at most " + std::to_string(kThreadsPerCpu) + " x the online CPUs unless --oversubscribe",
                Role::sweep, false, threaded},
               c.threads, 0, kMaxThreads);
  opts.flag({"--oversubscribe",
             "allow more than " + std::to_string(kThreadsPerCpu) + " threads per online CPU (at most " +
                 std::to_string(kMaxThreads) + ")",
             Role::none, false, threaded},
            c.oversubscribe);
  opts.flag({"--quiet", "print nothing but errors", Role::none}, c.quiet);
  opts.text({"--checkpoint",
             "save the state to this HDF5 file on SIGUSR1/SIGTERM (then exit 4) and every --checkpoint-every iterations",
             Role::sweep},
            c.checkpoint, true);
  opts.integer({"--checkpoint-every", "also save every N iterations or epochs (0: only when stopped)"},
               c.checkpoint_every, 0);
  opts.flag({"--resume", "continue from --checkpoint if it exists (a checkpoint of other data or parameters is refused)",
             Role::sweep},
            c.resume);
  opts.choice<VerifyMode>({"--verify-data",
                           "auto: check the data against the file's digests where they allow | require: refuse "
                           "unverifiable data | never: no check (the record says verified: false)"},
                          c.verify, kVerifyModeNames);
  opts.integer({"--stop-after", "testing: stop as if signalled after N iterations or epochs", Role::none, false,
                kAllBackends, true},
               c.stop_after, 0);
  decimal_integers_only(cli);
  std::vector<NamedPath> inputs, outputs;
  std::optional<std::string> usage;
  try {
    cli.parse(argc, argv);
    if (describe) {
      if (root_process)
        std::printf("%s\n", describe_document(ctx.prog, app_name, backend.info(0).name, opts).dump().c_str());
      return kOk;
    }
    require_utf8_arguments(argc, argv);
    opts.check();
    if ((c.resume || c.checkpoint_every > 0 || c.stop_after > 0) && c.checkpoint.empty())
      throw UsageError("--resume, --checkpoint-every and --stop-after need --checkpoint PATH");
    validate();
    ctx.info = backend.info(c.threads);
    require_thread_limit(c, ctx.info.threads);
    inputs.push_back({"--data", c.data});
    if (extra_inputs)
      for (NamedPath& p : extra_inputs()) inputs.push_back(std::move(p));
    if (!c.out.empty()) outputs.push_back({"--out", c.out});
    if (!c.checkpoint.empty()) outputs.push_back({"--checkpoint", c.checkpoint});
    if (!c.record.empty() && c.record != "none") outputs.push_back({"--record", c.record});
  } catch (const CLI::CallForHelp&) {
    if (root_process) std::printf("%s", cli.help().c_str());
    return kOk;
  } catch (const CLI::ParseError& e) {
    usage = std::string(e.what()) + " (see --help)";
  } catch (const UsageError& e) {
    usage = e.what();
  }
  if (auto agreed = backend.agree(usage)) return fail(kUsageError, *agreed);

  if (!c.checkpoint.empty()) install_stop_signals();
  // Errors while the team starts (hybrid ranks asking for different thread
  // counts) are thrown by every process alike, before any worker runs.
  try {
    return backend.run(c.threads, [&](Team& team) {
      try {
        check_paths(team, inputs, outputs);
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
  } catch (const UsageError& e) {
    return fail(kUsageError, e.what());
  } catch (const DataError& e) {
    return fail(kDataError, e.what());
  }
}

CheckpointPlan checkpoint_plan(Team& team, const RunContext& ctx, const std::string& identity,
                               const CheckpointLimits& limits) {
  CheckpointPlan plan;
  const CommonOptions& c = ctx.common;
  plan.path = c.checkpoint;
  plan.every = c.checkpoint_every;
  plan.stop_after = c.stop_after;
  plan.identity = identity;
  if (c.resume) {
    // What read_checkpoint (io/checkpoint.cpp) reads, walked first in a child process (io/h5_probe.hpp).
    check_h5_walk_on_team(team, c.checkpoint, {{{"/model", 1, DType::f64}, {"/trace", 1, DType::f64}},
                                               {{"/", "format"}, {"/", "identity"}},
                                               {{"/", "iterations"}, {"/", "counter"}}});
    plan.resume = *read_on_team<std::optional<Checkpoint>>(team, [&](bool) { return read_checkpoint(c.checkpoint, identity, limits); });
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
  const std::string& out = ctx.common.out;
  const bool has_record = !ctx.common.record.empty() && ctx.common.record != "none";
  on_first_worker(team, [&] {
    if (!out.empty()) write_out(out);
    try {
      if (has_record) append_record(ctx.common.record, record);
    } catch (...) {
      // A failed run leaves no --out file (README): undo it.
      std::error_code ignored;
      if (!out.empty()) std::filesystem::remove(out, ignored);
      throw;
    }
  });
  retire_checkpoint(team, ctx);
}

int interrupted(Team& team, const RunContext& ctx, const char* unit, std::int64_t done) {
  if (ctx.root(team))
    std::fprintf(stderr, "%s: interrupted after %lld %s; state saved to %s: run again with --resume\n",
                 ctx.prog.c_str(), static_cast<long long>(done), unit, ctx.common.checkpoint.c_str());
  return kInterrupted;
}

}  // namespace hpcb
