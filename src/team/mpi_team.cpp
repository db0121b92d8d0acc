// The MPI backend: one worker per rank of MPI_COMM_WORLD, collectives mapped
// one to one onto MPI's. Integer sums use MPI_INT64_T, which is exact, so the
// reduction order MPI picks does not matter.
#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "team/mpi_library.hpp"
#include "team/simulation.hpp"
#include "team/team.hpp"

namespace hpcb {
namespace {

std::vector<int> displacements(std::span<const int> counts) {
  std::vector<int> displs(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) displs[i] = displs[i - 1] + counts[i - 1];
  return displs;
}

class MpiTeam final : public Team {
 public:
  MpiTeam() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int group_first() const override { return rank_; }
  int group_size() const override { return 1; }

  void barrier() override {
    Stopwatch w(comm_s_);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  void sum(std::span<std::int64_t> values) override {
    Stopwatch w(comm_s_);
    MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_INT64_T, MPI_SUM,
                  MPI_COMM_WORLD);
  }
  void sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts,
                   std::span<std::int64_t> out) override {
    Stopwatch w(comm_s_);
    MPI_Reduce_scatter(in.data(), out.data(), counts.data(), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  }
  void gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) override {
    Stopwatch w(comm_s_);
    const auto displs = displacements(counts);
    MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(), counts.data(),
                   displs.data(), MPI_DOUBLE, MPI_COMM_WORLD);
  }
  void gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t> counts,
                       std::span<std::int32_t> all) override {
    Stopwatch w(comm_s_);
    // MPI counts are int: gather in rounds of at most INT_MAX/2 labels per rank.
    std::vector<int> c(counts.size()), displs(counts.size());
    std::vector<std::int64_t> done(counts.size(), 0), offset(counts.size(), 0);
    for (std::size_t r = 1; r < counts.size(); ++r) offset[r] = offset[r - 1] + counts[r - 1];
    const std::int64_t chunk = INT_MAX / 2;
    std::vector<std::int32_t> staging;
    for (;;) {
      bool any = false;
      for (std::size_t r = 0; r < counts.size(); ++r) {
        c[r] = static_cast<int>(std::min(chunk, counts[r] - done[r]));
        any = any || c[r] > 0;
      }
      if (!any) break;
      int total = 0;
      for (std::size_t r = 0; r < counts.size(); ++r) {
        displs[r] = total;
        total += c[r];
      }
      if (rank_ == 0) staging.resize(static_cast<std::size_t>(total));
      MPI_Gatherv(mine.data() + done[static_cast<std::size_t>(rank_)], c[static_cast<std::size_t>(rank_)],
                  MPI_INT32_T, staging.data(), c.data(), displs.data(), MPI_INT32_T, 0, MPI_COMM_WORLD);
      for (std::size_t r = 0; r < counts.size(); ++r) {
        if (rank_ == 0)
          std::copy_n(staging.begin() + displs[r], c[r], all.begin() + offset[r] + done[r]);
        done[r] += c[r];
      }
    }
  }
  double max(double value) override {
    Stopwatch w(comm_s_);
    MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return value;
  }
  std::shared_ptr<const void> share(std::shared_ptr<const void> from_first) override { return from_first; }

  std::optional<std::string> agree(const std::optional<std::string>& mine) override {
    int first = mine ? rank_ : size_;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size_) return std::nullopt;
    int length = rank_ == first ? static_cast<int>(mine->size()) : 0;
    MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD);
    std::string message(static_cast<std::size_t>(length), '\0');
    if (rank_ == first) message = *mine;
    MPI_Bcast(message.data(), length, MPI_CHAR, first, MPI_COMM_WORLD);
    return message;
  }

  const void* native_comm() const override { return &comm_; }

  std::vector<std::string> hosts() override {
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int len = 0;
    MPI_Get_processor_name(name, &len);
    // Under Slurm the node's name (several slurmd can share one host, as on a
    // test cluster; on a real cluster the two agree).
    if (const char* node = std::getenv("SLURMD_NODENAME")) std::snprintf(name, sizeof name, "%s", node);
    std::vector<char> all(static_cast<std::size_t>(size_) * MPI_MAX_PROCESSOR_NAME);
    MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                  MPI_COMM_WORLD);
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) out.emplace_back(all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);
    return out;
  }

 private:
  int rank_ = 0, size_ = 1;
  MPI_Comm comm_ = MPI_COMM_WORLD;
};

}  // namespace

Backend::Backend(int& argc, char**& argv) {
  // HDF5 started after MPI_Init hooks its shutdown onto MPI_Finalize, where a
  // file whose close failed (a full disk) crashes HDF5 1.10.8: start it first,
  // without an exit-time shutdown (every HDF5 object is closed by its owner).
  H5dont_atexit();
  H5open();
  // MPI's default handler (errors are fatal for the whole job) is kept on purpose:
  // a failed collective then ends every rank instead of leaving some waiting.
  MPI_Init(&argc, &argv);
}

Backend::~Backend() { MPI_Finalize(); }

BackendInfo Backend::info(int threads_requested) const {
  if (threads_requested > 1)
    throw UsageError("the MPI executables run one thread per rank; use more ranks instead of --threads " +
                     std::to_string(threads_requested));
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return {kMpiBackendName, mpi_library_version(), size, 1, rank == 0};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  info(threads_requested);
  MpiTeam team;
  try {
    return body(team);
  } catch (const std::exception& e) {
    // Not an agreed error: the other ranks may be inside a collective, so the
    // only way to end without a hang is to take the whole job down.
    std::fprintf(stderr, "error: rank %d: %s\n", team.rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, kDataError);
    return kDataError;
  }
}

}  // namespace hpcb
