// Checkpoint and restart across Slurm time limits and requeues.
//
// A checkpoint holds what an iterative run needs to continue exactly where it
// stopped: the iterations done, the model (k-means centroids or the regression's
// a, b, c), the per-iteration trace so far, and an identity (app, data content
// hash and shape, every parameter) that a resume must match. It is written by
// one worker as a new HDF5 file renamed over the old one, so a crash mid-write
// leaves the previous checkpoint intact.
//
// Because every worker's state is fully determined by the model (the bounds of
// accelerated k-means are rebuilt from it), a resumed run follows the same
// trajectory bit for bit as one that was never interrupted, at any worker count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "team/team.hpp"

namespace hpcb {

struct Checkpoint {
  std::string identity;        // JSON text; a resume must match it exactly
  std::int64_t iterations = 0; // iterations (epochs) completed
  std::vector<double> model;   // centroids (k x d) or [a, b, c]
  std::vector<double> trace;   // inertia per iteration, or loss per epoch, so far
  std::int64_t counter = 0;    // k-means: empty-cluster events so far
};

// What a checkpoint of this run can hold: a checkpoint is untrusted input (a
// damaged or foreign file may pass the identity check), so every value is
// checked against these before use.
struct CheckpointLimits {
  std::int64_t model_size = 0;      // values in /model (k x d, or 3)
  std::int64_t max_iterations = 0;  // iterations or epochs the run asks for
  std::int64_t max_counter = 0;     // the largest valid counter (k-means: iterations x k)
};

// Writes atomically; throws DataError naming the path on failure.
void write_checkpoint(const std::string& path, const Checkpoint& c);

// The checkpoint at `path`, or nullopt when there is none (a first run).
// Throws DataError for a file that is not a checkpoint or does not match
// `identity` (a resume with other data or parameters is refused), and for any
// value outside `limits`: counts that are not whole numbers in range, /model or
// /trace of the wrong length or type, non-finite or negative values.
std::optional<Checkpoint> read_checkpoint(const std::string& path, const std::string& identity,
                                          const CheckpointLimits& limits);

// SIGUSR1 (Slurm's warning before the time limit, --signal=B:USR1@T) and
// SIGTERM ask a run that checkpoints to save and stop at the next iteration
// boundary; install once, before the workers start.
void install_stop_signals();
bool stop_signal_received();

// What a solver needs from the command line to checkpoint: where, how often,
// the state to resume from, and whether the run should stop now (all workers
// agree on it, so they stop at the same iteration).
struct CheckpointPlan {
  std::string path;                 // empty: no checkpoints
  int every = 0;                    // also save every `every` iterations (0: only when stopping)
  std::optional<Checkpoint> resume; // state to continue from
  std::string identity;
  int stop_after = 0;               // testing: stop as if signalled after this many iterations (0: never)
  int signal_check_every = 1;       // iterations between the collective checks for a stop signal

  bool enabled() const { return !path.empty(); }
  // Collective: true on every worker when any worker received a stop signal,
  // or the testing limit is reached.
  bool should_stop(Team& team, std::int64_t iterations_done) const;
  // Saves on the first worker (errors are agreed, so all workers learn of them).
  void save(Team& team, const Checkpoint& c) const;
};

}  // namespace hpcb
