// What the process of the seq and omp backends holds while it runs: HDF5, started
// once (no MPI here or in what it includes: make check-no-mpi). The Backend members
// both forms share; team_seq.cpp and team_omp.cpp add what differs.
#include "io/h5_library.hpp"
#include "team/team.hpp"

namespace hpcb {

struct Backend::Libraries {
  Hdf5Library hdf5;
};

Backend::Backend(int&, char**&) : libraries_(std::make_unique<Libraries>()) {}
Backend::~Backend() = default;

// One process: its own usage error is everyone's.
std::optional<std::string> Backend::agree(const std::optional<std::string>& mine) { return mine; }

}  // namespace hpcb
