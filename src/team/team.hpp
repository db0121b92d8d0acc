// A team is the set of workers that run one algorithm together: one worker
// (sequential), the threads of an OpenMP parallel region, or the ranks of an MPI
// communicator. The algorithms (kmeans_solver, nlreg_solver) are written once,
// SPMD style, against this interface; the backends differ only in how they
// implement these few collectives: team_seq.cpp (one worker), group_team.cpp (the
// threads of a process: team_omp.cpp) and mpi_team.cpp (the ranks of a communicator:
// team_mpi.cpp), the two joined in team_hybrid.cpp.
//
// Every worker must call the collectives in the same order, like MPI.
// All collectives are deterministic: the integer sums are exact and the gathers
// move bits, so the result never depends on arrival order. Together with the
// fixed block tree of tree_sum.hpp that makes every result independent of the
// worker count.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hpcb {

class Team {
 public:
  virtual ~Team() = default;

  virtual int rank() const = 0;  // this worker, 0 .. size()-1
  virtual int size() const = 0;  // number of workers
  // The workers that share this worker's address space (the threads of its
  // process): workers group_first() .. group_first() + group_size() - 1. The
  // first of them reads the input rows of the whole group and share() hands
  // them to the others.
  virtual int group_first() const = 0;
  virtual int group_size() const = 0;

  virtual void barrier() = 0;
  // Exact all-reduce of 64-bit integers, in place.
  virtual void sum(std::span<std::int64_t> values) = 0;
  // The same of 32-bit integers the caller knows will not overflow: every sum of any workers'
  // values within int32 (not checked). Half the bytes (the k-means M-step's sums of uint8 rows).
  virtual void sum(std::span<std::int32_t> values) = 0;
  // Reduce-scatter: every worker passes `in` (sum of counts elements); worker w
  // receives into `out` the element-wise sum over workers of its segment
  // counts[w] (segments in rank order).
  virtual void sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts,
                           std::span<std::int64_t> out) = 0;
  // All-gather with varying counts: worker w contributes counts[w] values
  // (mine.size() == counts[rank()]); `all` receives them in rank order.
  virtual void gather(std::span<const double> mine, std::span<const int> counts,
                      std::span<double> all) = 0;
  // Gather to worker 0 only (labels for output files); `all` is used on worker 0.
  virtual void gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t> counts,
                               std::span<std::int32_t> all) = 0;
  virtual double max(double value) = 0;
  // The first worker of a group passes an object, every worker of the group gets it.
  virtual std::shared_ptr<const void> share(std::shared_ptr<const void> from_first) = 0;

  // Errors are agreed collectively, so no worker is left waiting in a collective
  // for a worker that gave up: every worker passes its own error (or none) and
  // all receive the message of the lowest-ranked worker that had one.
  virtual std::optional<std::string> agree(const std::optional<std::string>& mine) = 0;

  // The MPI communicator (a pointer to MPI_Comm) for parallel file access, or
  // nullptr where the workers do not do their own I/O.
  virtual const void* native_comm() const { return nullptr; }

  // Host names of all workers, in rank order (identical in every worker).
  virtual std::vector<std::string> hosts() = 0;

  // Ends the run at once with exit_code, for an error the workers have not agreed
  // on (the others may be waiting in a collective for this one): the process, or
  // under MPI every process of the job.
  [[noreturn]] virtual void abort(int exit_code) { std::_Exit(exit_code); }

  // Seconds this worker spent inside collectives since the last reset.
  double comm_s() const { return comm_s_; }
  void reset_comm() { comm_s_ = 0; }

 protected:
  double comm_s_ = 0;
};

// What an executable knows about its backend before the workers start.
struct BackendInfo {
  std::string name;         // "seq", "omp", "mpi" or "hybrid"
  std::string mpi_library;  // MPI_Get_library_version, or "none"
  int ranks = 1;            // processes
  int threads = 1;          // threads per process
  bool is_root = true;      // the process that prints and writes records
};

// Implemented once per backend (team_<backend>.cpp). Holds the libraries the
// process runs on, started and shut down in order (HDF5, then MPI where there is
// MPI: io/h5_library.hpp, team/mpi_team.hpp), for as long as it lives.
class Backend {
 public:
  Backend(int& argc, char**& argv);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // Before the team runs: every process passes the usage error it found on its own
  // command line (or none), and all receive that of the lowest-ranked process that
  // had one, so that an error one process finds (its own --threads, say) ends every
  // process alike instead of leaving the others waiting in run(). Collective over
  // the processes; the identity without MPI.
  std::optional<std::string> agree(const std::optional<std::string>& mine);

  // `threads_requested` is 0 for "the default" (OMP_NUM_THREADS for OpenMP).
  // Throws UsageError when the backend cannot honour it.
  BackendInfo info(int threads_requested) const;

  // Runs `body` on every worker of a team of info(threads).ranks*threads
  // workers and returns its exit status (the body must return the same status on
  // every worker; errors inside must go through Team::agree). Throws UsageError,
  // on every process alike and before any worker runs, when the team cannot be
  // formed (hybrid ranks started with different thread counts).
  int run(int threads_requested, const std::function<int(Team&)>& body);

 private:
  struct Libraries;  // defined by each backend
  std::unique_ptr<Libraries> libraries_;
};

}  // namespace hpcb
