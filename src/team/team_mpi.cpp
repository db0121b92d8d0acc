// The MPI backend: one worker per rank of MPI_COMM_WORLD (mpi_team.hpp).
#include <cstdio>

#include "common/error.hpp"
#include "team/mpi_team.hpp"
#include "team/simulation.hpp"

namespace hpcb {

struct Backend::Libraries {
  Libraries(int& argc, char**& argv) : mpi(argc, argv, MPI_THREAD_SINGLE) {}
  MpiLibrary mpi;
  MpiTeam world{MPI_COMM_WORLD};  // after MPI_Init: declared after `mpi`
};

Backend::Backend(int& argc, char**& argv) : libraries_(std::make_unique<Libraries>(argc, argv)) {}
Backend::~Backend() = default;

std::optional<std::string> Backend::agree(const std::optional<std::string>& mine) { return libraries_->world.agree(mine); }

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
