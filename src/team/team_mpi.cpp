// The MPI backend: one worker per rank of MPI_COMM_WORLD (mpi_team.hpp).
#include <cstdio>

#include "common/error.hpp"
#include "team/mpi_process.hpp"
#include "team/simulation.hpp"

namespace hpcb {

int mpi_thread_level() { return MPI_THREAD_SINGLE; }

BackendInfo Backend::info(int threads_requested) const {
  if (threads_requested > 1)
    throw UsageError("the MPI executables run one thread per rank; use more ranks instead of --threads " +
                     std::to_string(threads_requested));
  const MpiTeam& world = libraries_->world;
  return {kMpiBackendName, mpi_library_version(), world.size(), 1, world.rank() == 0};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  info(threads_requested);
  MpiTeam& team = libraries_->world;
  team.reset_comm();
  try {
    return body(team);
  } catch (const std::exception& e) {
    // Not an agreed error: the other ranks may be inside a collective, so the
    // only way to end without a hang is to take the whole job down.
    std::fprintf(stderr, "error: rank %d: %s\n", team.rank(), e.what());
    team.abort(kDataError);
  }
}

}  // namespace hpcb
