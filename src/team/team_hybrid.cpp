// The hybrid backend: MPI ranks, each running OpenMP threads; worker number =
// rank * threads + thread (group_team.cpp with MPI). Only each rank's thread 0
// calls MPI, so MPI_THREAD_FUNNELED is enough.
#include <hdf5.h>
#include <mpi.h>

#include "common/error.hpp"
#include "team/group_team.hpp"
#include "team/mpi_library.hpp"

namespace hpcb {
namespace {
MPI_Comm world = MPI_COMM_WORLD;
}

Backend::Backend(int& argc, char**& argv) {
  // HDF5 before MPI, without exit-time shutdown: see team_mpi.cpp.
  H5dont_atexit();
  H5open();
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  if (provided < MPI_THREAD_FUNNELED) {
    std::fprintf(stderr, "error: the MPI library does not support MPI_THREAD_FUNNELED\n");
    MPI_Abort(MPI_COMM_WORLD, kDataError);
  }
}

Backend::~Backend() { MPI_Finalize(); }

BackendInfo Backend::info(int threads_requested) const {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return {"hybrid", mpi_library_version(), size, resolve_threads(threads_requested), rank == 0};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  // Every rank must run the same number of threads (the worker numbering
  // assumes it): agree on the minimum and refuse a mismatch.
  const int threads = resolve_threads(threads_requested);
  int lowest = threads, highest = threads;
  MPI_Allreduce(MPI_IN_PLACE, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &highest, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (lowest != highest) throw UsageError("every MPI rank must run the same number of threads (OMP_NUM_THREADS)");
  return run_group(threads, &world, body);
}

}  // namespace hpcb
