// The hybrid backend: MPI ranks, each running OpenMP threads; worker number =
// rank * threads + thread (group_team.cpp joined by mpi_team.cpp). Only each
// rank's thread 0 calls MPI, so MPI_THREAD_FUNNELED is enough.
#include "common/error.hpp"
#include "team/group_team.hpp"
#include "team/mpi_process.hpp"

namespace hpcb {

int mpi_thread_level() { return MPI_THREAD_FUNNELED; }

BackendInfo Backend::info(int threads_requested) const {
  const MpiTeam& world = libraries_->world;
  return {"hybrid", mpi_library_version(), world.size(), resolve_threads(threads_requested), world.rank() == 0};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  // Every rank must run the same number of threads (the worker numbering
  // assumes it): refuse a mismatch on every rank alike.
  MpiTeam& world = libraries_->world;
  const int threads = resolve_threads(threads_requested);
  const auto [lowest, highest] = world.min_max(threads);
  if (lowest != highest)
    throw UsageError("every MPI rank must run the same number of threads (--threads or OMP_NUM_THREADS); got " +
                     std::to_string(lowest) + " to " + std::to_string(highest));
  world.reset_comm();
  return run_group(threads, &world, body);
}

}  // namespace hpcb
