// The one MPI layer: every collective the toolkit runs over a communicator, and the
// start-up and shutdown of the MPI library. The MPI backend (team_mpi.cpp) is this
// team over MPI_COMM_WORLD; the hybrid backend (team_hybrid.cpp) joins its groups of
// threads with it (group_team.hpp), each group's first thread calling it for the
// process. Only the MPI executables link this file (Makefile: TEAM_mpi, TEAM_hybrid).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/h5_library.hpp"
#include "team/team.hpp"

namespace hpcb {

// The libraries of an MPI process, started in the one order that works: HDF5 first
// (the member below, io/h5_library.hpp: started after MPI_Init, HDF5 would hook its
// shutdown onto MPI_Finalize, where a file whose close failed crashes HDF5 1.10.8),
// then MPI at the thread level asked for; MPI_Finalize when the object goes.
// MPI's default error handler (errors are fatal for the whole job) is kept on purpose:
// a failed collective then ends every rank instead of leaving some waiting.
class MpiLibrary {
 public:
  // thread_level: MPI_THREAD_SINGLE, or MPI_THREAD_FUNNELED where only the main
  // thread calls MPI (the hybrid backend). Ends the job when MPI cannot provide it.
  MpiLibrary(int& argc, char**& argv, int thread_level);
  ~MpiLibrary();
  MpiLibrary(const MpiLibrary&) = delete;
  MpiLibrary& operator=(const MpiLibrary&) = delete;

 private:
  Hdf5Library hdf5_;  // constructed before the body of MpiLibrary() calls MPI_Init_thread
};

// The MPI library's own description of itself, for the run record: the first line of
// MPI_Get_library_version (the rest is configure flags).
std::string mpi_library_version();

// One worker per rank of a communicator, the collectives mapped one to one onto
// MPI's, except a gather of a few values per rank among ranks that all share one node,
// which goes through a shared-memory window, and a sum of 16 to 128 KB, which goes in
// pieces below the transport's eager limit (mpi_team.cpp). Integer sums use MPI_INT64_T
// or MPI_INT32_T, which are exact, so the reduction order MPI picks does not matter;
// gathers move bits.
class MpiTeam final : public Team {
 public:
  explicit MpiTeam(MPI_Comm comm);
  ~MpiTeam() override;  // collective where a node window was made (see gather())
  MpiTeam(const MpiTeam&) = delete;
  MpiTeam& operator=(const MpiTeam&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int group_first() const override { return rank_; }
  int group_size() const override { return 1; }

  void barrier() override;
  void sum(std::span<std::int64_t> values) override;
  void sum(std::span<std::int32_t> values) override;
  void sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts,
                   std::span<std::int64_t> out) override;
  void gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) override;
  void gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t> counts,
                       std::span<std::int32_t> all) override;
  double max(double value) override;
  std::shared_ptr<const void> share(std::shared_ptr<const void> from_first) override { return from_first; }
  std::optional<std::string> agree(const std::optional<std::string>& mine) override;
  const void* native_comm() const override { return &comm_; }
  std::vector<std::string> hosts() override;
  [[noreturn]] void abort(int exit_code) override;

  // The smallest and largest of `value` over the ranks.
  std::pair<int, int> min_max(int value);

 private:
  // Gathers of a few values among ranks that all share one node (mpi_team.cpp).
  struct NodeSlots;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  bool node_checked_ = false;
  std::unique_ptr<NodeSlots> node_;  // null: not all on one node (or simulated)
};

}  // namespace hpcb
