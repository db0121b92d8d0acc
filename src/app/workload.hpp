// A workload (k-means, the regression) supplies its options, the rules between
// them, and a `run` that returns an Outcome; app/ does what every run does
// around it (run_workload): the common options, the paths check, the barrier
// and the clock, the phase times and the time_s block, the validation status,
// the record and --out (finish_run), and the summary's last line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/app.hpp"
#include "app/phases.hpp"
#include "common/timer.hpp"

namespace hpcb {

// What one worker's run hands back.
struct Outcome {
  // Stopped on a signal after saving its checkpoint: nothing else below is used.
  Outcome& stopped_after(const char* what, std::int64_t count) {
    interrupted = true;
    unit = what;
    done = count;
    return *this;
  }
  bool interrupted = false;
  const char* unit = "iterations";  // "iterations" or "epochs", for the interrupted message
  std::int64_t done = 0;            // iterations or epochs done when stopped

  Phases seconds;  // this worker's io, init, iterations, comm, metrics (total is app's)
  int ran = 0;     // iterations or epochs this process ran (a resumed run: its own only)
  nlohmann::json dataset, params, result;  // the record's parts; app adds result.validated
  bool valid = false;                      // the run's self-validation

  // Collective, untimed: what the record needs after the clock stops (labels
  // gathered for their digest, ...). May complete `result`.
  std::function<void(Team&, Outcome&)> conclude;
  // Worker 0, when --out is given: the full result, with the record as written.
  std::function<void(const std::string& path, const nlohmann::json& record)> write_out;
  // The root process, unless --quiet: the summary before its last line.
  std::function<void(const Outcome&, const TeamPhases&)> summary;
};

// Reads the run's input (what load returns) and times the reading as this
// worker's io phase: the first thing every workload's run does.
template <class Load>
auto timed_input(Outcome& o, Load&& load) {
  const double t_start = now_s();
  auto input = load();
  o.seconds.io = now_s() - t_start;
  return input;
}

class Workload {
 public:
  virtual ~Workload() = default;
  virtual const char* app() const = 0;    // "kmeans" or "nlreg": the record's app
  virtual const char* title() const = 0;  // what it computes, for --help
  virtual void add_options(OptionTable& options) = 0;
  // The rules between options, after each option's own (throws UsageError).
  virtual void validate() {}
  // Files read besides --data (k-means: an --init file).
  virtual std::vector<NamedPath> extra_inputs() const { return {}; }
  // On every worker, after the barrier that starts the clock.
  virtual Outcome run(Team& team, const RunContext& ctx) = 0;
};

int run_workload(int argc, char** argv, Backend& backend, Workload& workload);

}  // namespace hpcb
