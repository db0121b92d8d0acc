// What the process of an MPI backend holds while it runs: the libraries, started in
// order (MpiLibrary), and the team of all its ranks. The Backend members every MPI
// form shares are defined once, in mpi_process.cpp; team_mpi.cpp and team_hybrid.cpp
// add what differs.
#pragma once

#include "team/mpi_team.hpp"

namespace hpcb {

// The MPI thread support the backend needs; defined by each MPI backend.
int mpi_thread_level();

struct Backend::Libraries {
  Libraries(int& argc, char**& argv) : mpi(argc, argv, mpi_thread_level()) {}
  MpiLibrary mpi;
  MpiTeam world{MPI_COMM_WORLD};  // after MPI_Init: declared after `mpi`
};

}  // namespace hpcb
