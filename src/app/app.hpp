// What the six executables share: the command line options every one of them
// takes, parsing with usage errors reported the same way, the error-to-exit-code
// policy, and the common part of the run record.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "app/options.hpp"
#include "app/paths.hpp"
#include "io/checkpoint.hpp"
#include "io/verify.hpp"
#include "team/team.hpp"

namespace hpcb {

struct CommonOptions {
  std::string data;                          // --data: input HDF5 file
  std::string record = "results/runs.jsonl"; // --record: records file ("" or "none": no record)
  std::string out;                           // --out: optional HDF5 output
  std::string tag;                           // --tag: free-form label stored in the record
  bool quiet = false;                        // --quiet: no summary on stdout
  int threads = 0;                           // --threads (0: OMP_NUM_THREADS / backend default)
  bool oversubscribe = false;                // --oversubscribe: allow more than kThreadsPerCpu threads per CPU
  std::string checkpoint;                    // --checkpoint: state file (io/checkpoint.hpp)
  int checkpoint_every = 0;                  // --checkpoint-every N iterations (0: only on a stop signal)
  bool resume = false;                       // --resume from --checkpoint when it exists
  int stop_after = 0;                        // --stop-after N: testing, behave as if signalled after N
  VerifyMode verify = VerifyMode::automatic; // --verify-data (io/verify.hpp)
};

// --threads above kThreadsPerCpu x the online CPUs is refused unless
// --oversubscribe; above kMaxThreads always (each thread's stack and the
// runtime's per-thread state: 20,000 threads took 22 GB, 100,000 crashed libgomp).
constexpr int kThreadsPerCpu = 4;
constexpr int kMaxThreads = 1024;

struct RunContext {
  std::string prog;  // executable name, prefix of every error line
  std::string app;   // "kmeans" or "nlreg"
  BackendInfo info;
  CommonOptions common;
  bool root(const Team& team) const { return info.is_root && team.rank() == 0; }
};

// Parses the command line (options: add_options plus the common ones), then runs
// body on every worker. Exit status: common/error.hpp (kExitCodes); errors are
// one line on stderr, "<prog>: <message>", printed once. Each option's own rules
// (options.hpp) are checked after parsing, then validate(), which throws
// UsageError, checks the rules between options. --describe prints the option
// schema (options.hpp) and exits 0 before anything else runs.
// extra_inputs names the files an app reads besides --data (k-means: an --init
// file); before body runs, the inputs must be regular files and no output may
// be an input or another output (app/paths.hpp).
// title: what the app computes, for --help.
int run_app(int argc, char** argv, const std::string& app, const std::string& title, Backend& backend,
            const std::function<void(OptionTable&)>& add_options, const std::function<void()>& validate,
            const std::function<int(Team&, const RunContext&)>& body,
            const std::function<std::vector<NamedPath>()>& extra_inputs = {});

// The checkpoint plan of this run: identity = what a resume must match (JSON
// text of app, data and parameters); reads the state to resume from, if any.
// Collective. Throws AgreedError for a checkpoint of another run.
CheckpointPlan checkpoint_plan(Team& team, const RunContext& ctx, const std::string& identity,
                               const CheckpointLimits& limits);

// After a successful run: the checkpoint is spent, remove it (worker 0).
void retire_checkpoint(Team& team, const RunContext& ctx);

// Record fields every app shares; the app adds dataset, params, result, time_s.
nlohmann::json record_base(Team& team, const RunContext& ctx);

// The end of every successful run: write --out (through write_out, on worker
// 0, if asked for), append the record unless --record none, retire the checkpoint.
// When the record cannot be appended, the --out file just written is removed.
void finish_run(Team& team, const RunContext& ctx, const nlohmann::json& record,
                const std::function<void(const std::string& path)>& write_out);

// A run stopped by a signal after saving its checkpoint: says so once, returns exit status 4.
int interrupted(Team& team, const RunContext& ctx, const char* unit, std::int64_t done);

}  // namespace hpcb
