// Lloyd's k-means, written once for every backend (SPMD over a Team).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/names.hpp"
#include "io/checkpoint.hpp"
#include "kmeans/estep.hpp"
#include "kmeans/points.hpp"
#include "team/team.hpp"

namespace hpcb::kmeans {

// How the first centroids are chosen: k distinct rows uniformly, k-means++, or
// given (an --init file, read before the run: load_initial_centroids).
enum class Init { random, kmeanspp, file };
inline constexpr Named<Init> kInitNames[] = {{"random", Init::random}, {"kmeans++", Init::kmeanspp}};

// The M-step: "reduce": all workers reduce all sums; "owner": each worker
// finalises the clusters it owns (reduce-scatter + all-gather).
enum class MStep { reduce, owner };
inline constexpr Named<MStep> kMStepNames[] = {{"reduce", MStep::reduce}, {"owner", MStep::owner}};

struct Params {
  int k = 10;                 // clusters
  int max_iter = 100;         // Lloyd iterations at most
  double tol = 0.0;           // stop when the sum of squared centroid moves is <= tol
  std::uint64_t seed = 42;    // for init random / kmeans++
  Init init = Init::random;
  std::string init_path;      // Init::file: the HDF5 file with /centroids (k x d)
  MStep mstep = MStep::reduce;
  Algorithm algorithm = Algorithm::lloyd;  // E-step: every distance, or exact pruning (estep.hpp)
  std::vector<double> given_centroids;     // Init::file: k x d, scaled units (load_initial_centroids)
  const CheckpointPlan* checkpoint = nullptr;  // save / resume / stop on signal (io/checkpoint.hpp)
};

// The --init / --mstep / --algorithm words as the record and the summary show them.
std::string init_text(const Params& prm);

// Init::file: the k x d centroids of the file, checked (shape, finite). Collective.
std::vector<double> load_initial_centroids(Team& team, const std::string& path, int k, std::int64_t d);

struct Result {
  int iterations = 0;
  bool converged = false;
  double inertia = 0;                 // sum of squared distances, final labels vs final centroids
  std::vector<double> inertia_trace;  // inertia of each iteration's assignment
  std::vector<double> centroids;      // k x d, scaled units
  std::vector<std::int64_t> sizes;    // rows per cluster
  std::vector<std::int32_t> labels;   // this worker's rows
  std::int64_t empty_cluster_events = 0;  // iterations x clusters left empty (kept in place)
  std::int64_t distance_evals = 0;        // (row, centroid) values the E-steps computed, all workers
  std::int64_t rows_read = 0;             // rows whose values they read, once per E-step (EStep::rows_read())
  // Against the true labels, when the data has them.
  bool has_quality = false;
  double accuracy = 0, nmi = 0;
  bool interrupted = false;  // stopped on a signal after saving a checkpoint (no final result)
  int resumed_from = 0;      // iterations taken from a checkpoint
  // Seconds, this worker: comm_s is the part of iter_s spent in collectives;
  // metrics_s (accuracy, NMI) follows the iterations.
  double init_s = 0, iter_s = 0, comm_s = 0, metrics_s = 0;
  // Where iter_s went, this worker (make bench's BM_KMeansRun reports them): prep_s readies
  // the E-step for new centroids (packing them; the pruned algorithms' centroid drifts and
  // inter-centroid distances), assign_s is the E-step over the rows (bound tests and
  // distances), sums_s the M-step's exact cluster sums (accumulate, then relabel of the rows
  // that moved; fused into the E-step's pass over each block and split off it by host time),
  // means_s the new centroids from the sums without their collectives (comm_s).
  double prep_s = 0, assign_s = 0, sums_s = 0, means_s = 0;
  std::int64_t moved = 0;  // rows that changed cluster, this worker, summed over the iterations
};

// Runs k-means on the team. Params must be valid (k <= n checked by the caller).
// Every worker gets the same centroids, sizes and metrics; labels are local.
Result run(Team& team, const Points& points, const Params& params);

}  // namespace hpcb::kmeans
