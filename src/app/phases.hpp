// The phase times of a run record (time_s). Each worker times its own phases;
// the record takes every phase from one worker, the one with the largest total,
// so that the phases add up (compute + comm = iterations, and io + init +
// iterations + metrics <= total). Maxima taken phase by phase would come from
// different workers and need not add up. How unevenly the work was spread is
// kept apart, as the range of compute and comm over the workers.
#pragma once

#include <nlohmann/json.hpp>

#include "team/team.hpp"

namespace hpcb {

// One worker's seconds, each an interval of its own within [start, start + total].
struct Phases {
  double total = 0;       // whole run, from the barrier before reading the input
  double io = 0;          // reading the input
  double init = 0;        // initial centroids / the regression's optimum
  double iterations = 0;  // the iterations or epochs, their collectives included
  double comm = 0;        // time inside collectives during the iterations
  double metrics = 0;     // quality against true labels (k-means accuracy, NMI)
};

struct TeamPhases {
  Phases slowest;  // the worker with the largest total (the lowest rank on ties)
  double compute() const { return slowest.iterations - slowest.comm; }
  // Over all workers: the spread that load imbalance and waiting leave.
  double compute_min = 0, compute_max = 0, comm_min = 0, comm_max = 0;
};

// Collective: every worker passes its own phases and receives the same answer.
TeamPhases gather_phases(Team& team, const Phases& mine);

// The record's time_s object; `ran` = iterations or epochs this process ran
// (per_iter is null when it ran none).
nlohmann::json time_record(const TeamPhases& t, int ran);

}  // namespace hpcb
