// The HDF5 library, started for the life of the process.
#pragma once

namespace hpcb {

// Starts HDF5 without its exit-time shutdown: every HDF5 object is closed by its
// owner, and a file whose close failed (a full disk) makes HDF5 1.10.8's shutdown
// crash (SIGSEGV) after the error was reported. Construct it before any other HDF5
// call, and before MPI_Init (team/mpi_team.hpp holds one for that reason). Every
// executable's Backend (team/team.hpp) and mkdata hold one.
class Hdf5Library {
 public:
  Hdf5Library();
  Hdf5Library(const Hdf5Library&) = delete;
  Hdf5Library& operator=(const Hdf5Library&) = delete;
};

}  // namespace hpcb
