// Where and how a run happened, for the "prov" part of the run record: the
// build (git commit, compiler, flags: compiled in by the Makefile), the
// libraries (MPI, HDF5, OpenBLAS), the CPU, the Slurm job and the time.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace hpcb {

// mpi_library: the MPI_Get_library_version line, or "none".
nlohmann::json provenance(const std::string& mpi_library);

std::string cpu_model();   // /proc/cpuinfo "model name", or "unknown"
std::string utc_now();     // ISO 8601, e.g. 2026-11-24T15:00:00Z

}  // namespace hpcb
