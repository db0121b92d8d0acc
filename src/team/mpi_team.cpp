#include "team/mpi_team.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "team/host_name.hpp"
#include "team/stamped_slot.hpp"

namespace hpcb {

MpiLibrary::MpiLibrary(int& argc, char**& argv, int thread_level) {
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, thread_level, &provided);
  if (provided < thread_level) {
    std::fprintf(stderr, "error: the MPI library does not provide the thread support this backend needs\n");
    MPI_Abort(MPI_COMM_WORLD, kDataError);
  }
}

MpiLibrary::~MpiLibrary() { MPI_Finalize(); }

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(text, &len);
  const std::string s(text, static_cast<std::size_t>(len));
  return s.substr(0, s.find('\n'));
}

MpiTeam::MpiTeam(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

// Gathers of at most StampedSlot::kSmall values per rank among ranks that all share one
// node go through an MPI-3 shared-memory window of stamped slots (team/stamped_slot.hpp,
// the protocol GroupTeam::gather uses among threads) instead of MPI_Allgatherv: each rank
// reads the others' values in one cache-line transfer each, and makes no MPI call (the
// regression's one gather per epoch). Waiting spins, then yields the core (a futex
// could not be shared between processes without more machinery; ranks usually have a
// core each). Not in the simulated build: SimGrid's ranks are threads of one process,
// and their time is simulated.
struct MpiTeam::NodeSlots {
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Win win = MPI_WIN_NULL;
  StampedSlot* slots = nullptr;  // 2 x size: half (gather & 1), then rank
  std::uint32_t gathers = 0;
  int spins = 0;
};

MpiTeam::~MpiTeam() {
  if (!node_) return;
  MPI_Win_unlock_all(node_->win);
  MPI_Win_free(&node_->win);
  MPI_Comm_free(&node_->node);
}

void MpiTeam::barrier() {
  Stopwatch w(comm_s_);
  MPI_Barrier(comm_);
}

namespace {

// An in-place sum all-reduce of a few tens of KB as several of at most kSumPieceBytes each:
// between two ranks of one node (MPICH 4.0.2, ch4:ucx, this project's VM), an all-reduce of up
// to 16 KB took 3.6-4.0 us and one of 18 KB to 32 KB 9.8-12.2 us (the transport's eager limit),
// so MNIST's 31.4 KB of int32 sums took 12 us whole and 7.4 us as two halves; pieces of 16 KB
// gained up to 128 KB (31.8 against 30.3 us), were even at 256 KB and lost at 1 MB (217
// against 146 us). Exact either way: integer sums, element by element.
constexpr std::size_t kSumPieceBytes = 16 << 10;
constexpr std::size_t kSumPiecesAtMost = 8;

template <class I>
void allreduce_sum(I* values, std::size_t n, MPI_Datatype type, MPI_Comm comm) {
  const std::size_t bytes = n * sizeof(I);
  const std::size_t pieces =
      bytes > kSumPieceBytes && bytes <= kSumPieceBytes * kSumPiecesAtMost ? (bytes + kSumPieceBytes - 1) / kSumPieceBytes : 1;
  for (std::size_t p = 0; p < pieces; ++p) {
    const std::size_t lo = n * p / pieces, hi = n * (p + 1) / pieces;
    MPI_Allreduce(MPI_IN_PLACE, values + lo, static_cast<int>(hi - lo), type, MPI_SUM, comm);
  }
}

}  // namespace

void MpiTeam::sum(std::span<std::int64_t> values) {
  Stopwatch w(comm_s_);
  allreduce_sum(values.data(), values.size(), MPI_INT64_T, comm_);
}

// On MNIST (k = 10: 7,850 values) between two ranks of one node an int32 all-reduce took
// 0.65x the time of the int64 one (MPICH 4.0, 12 against 18 us whole; 7.4 against 15 in pieces).
void MpiTeam::sum(std::span<std::int32_t> values) {
  Stopwatch w(comm_s_);
  allreduce_sum(values.data(), values.size(), MPI_INT32_T, comm_);
}

namespace {
// A rank that owns no clusters passes an empty span, whose data() may be null. MPI allows a
// null buffer with a zero count, but SimGrid's SMPI refuses it (MPI_ERR_BUFFER): point at a
// local instead, never read or written with a zero count.
template <typename T>
T* buffer(std::span<T> s, std::remove_const_t<T>& none) {
  return s.empty() ? &none : s.data();
}
}  // namespace

void MpiTeam::sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts,
                          std::span<std::int64_t> out) {
  Stopwatch w(comm_s_);
  std::int64_t none = 0;
  MPI_Reduce_scatter(in.data(), buffer(out, none), counts.data(), MPI_INT64_T, MPI_SUM, comm_);
}

void MpiTeam::gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) {
  Stopwatch w(comm_s_);
#ifndef HPCB_SMPI
  // Every rank sees the same counts, so all take the same path; the window is made at the
  // first gather that could use it (collective, as the gather itself is).
  if (size_ > 1 && *std::max_element(counts.begin(), counts.end()) <= static_cast<int>(StampedSlot::kSmall)) {
    if (!node_checked_) {
      node_checked_ = true;
      MPI_Comm node = MPI_COMM_NULL;
      MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
      int node_size = 0;
      MPI_Comm_size(node, &node_size);
      if (node_size != size_) {  // every rank sees this: on several nodes, each has fewer
        MPI_Comm_free(&node);
      } else {
        auto n = std::make_unique<NodeSlots>();
        n->node = node;
        const auto bytes = static_cast<MPI_Aint>(2 * static_cast<std::size_t>(size_) * sizeof(StampedSlot));
        void* base = nullptr;
        MPI_Win_allocate_shared(rank_ == 0 ? bytes : 0, sizeof(StampedSlot), MPI_INFO_NULL, node, &base, &n->win);
        MPI_Aint got = 0;
        int unit = 0;
        MPI_Win_shared_query(n->win, 0, &got, &unit, &base);
        n->slots = static_cast<StampedSlot*>(base);
        if (rank_ == 0) std::memset(base, 0, static_cast<std::size_t>(bytes));
        MPI_Win_lock_all(MPI_MODE_NOCHECK, n->win);
        MPI_Barrier(node);  // the zeroed slots visible to all before the first stamp
        n->spins = spins_before_rest(size_, sysconf(_SC_NPROCESSORS_ONLN));
        node_ = std::move(n);
      }
    }
    if (node_) {
      const std::uint32_t g = ++node_->gathers;
      StampedSlot* half = node_->slots + static_cast<std::size_t>(g & 1) * static_cast<std::size_t>(size_);
      StampedSlot& own = half[rank_];
      own.count = static_cast<std::uint32_t>(mine.size());
      std::copy(mine.begin(), mine.end(), own.small);
      stamp(own, g);
      auto at = all.begin();
      for (int r = 0; r < size_; ++r) {
        if (r != rank_) wait_until([&] { return stamped(half[r].gather, g); }, node_->spins);
        at = std::copy_n(half[r].small, counts[static_cast<std::size_t>(r)], at);
      }
      return;
    }
  }
#endif
  std::vector<int> displs(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) displs[i] = displs[i - 1] + counts[i - 1];
  double none = 0;
  MPI_Allgatherv(buffer(mine, none), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(), counts.data(),
                 displs.data(), MPI_DOUBLE, comm_);
}

void MpiTeam::gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t> counts,
                              std::span<std::int32_t> all) {
  Stopwatch w(comm_s_);
  // MPI counts are int: gather in rounds of at most INT_MAX/2 labels per rank.
  std::vector<int> c(counts.size()), displs(counts.size());
  std::vector<std::int64_t> done(counts.size(), 0), offset(counts.size(), 0);
  for (std::size_t r = 1; r < counts.size(); ++r) offset[r] = offset[r - 1] + counts[r - 1];
  const std::int64_t chunk = INT_MAX / 2;
  const auto me = static_cast<std::size_t>(rank_);
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
    MPI_Gatherv(mine.data() + done[me], c[me], MPI_INT32_T, staging.data(), c.data(), displs.data(), MPI_INT32_T, 0,
                comm_);
    for (std::size_t r = 0; r < counts.size(); ++r) {
      if (rank_ == 0) std::copy_n(staging.begin() + displs[r], c[r], all.begin() + offset[r] + done[r]);
      done[r] += c[r];
    }
  }
}

double MpiTeam::max(double value) {
  Stopwatch w(comm_s_);
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_);
  return value;
}

std::pair<int, int> MpiTeam::min_max(int value) {
  Stopwatch w(comm_s_);
  int both[2] = {-value, value};  // max(-v) = -min(v): one reduction for both
  MPI_Allreduce(MPI_IN_PLACE, both, 2, MPI_INT, MPI_MAX, comm_);
  return {-both[0], both[1]};
}

std::optional<std::string> MpiTeam::agree(const std::optional<std::string>& mine) {
  // The lowest rank with an error sends its message to all.
  int first = mine ? rank_ : size_;
  MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm_);
  if (first == size_) return std::nullopt;
  int length = rank_ == first ? static_cast<int>(mine->size()) : 0;
  MPI_Bcast(&length, 1, MPI_INT, first, comm_);
  std::string message(static_cast<std::size_t>(length), '\0');
  if (rank_ == first) message = *mine;
  MPI_Bcast(message.data(), length, MPI_CHAR, first, comm_);
  return message;
}

std::vector<std::string> MpiTeam::hosts() {
  // MPI's name for the processor: under SimGrid (jobs/smpi.mk) the simulated host's.
  char system_name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MPI_Get_processor_name(system_name, &len);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  std::snprintf(name, sizeof name, "%s", this_host(system_name).c_str());
  std::vector<char> all(static_cast<std::size_t>(size_) * MPI_MAX_PROCESSOR_NAME);
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, comm_);
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) out.emplace_back(all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);
  return out;
}

void MpiTeam::abort(int exit_code) {
  MPI_Abort(comm_, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this tells the compiler so
}

}  // namespace hpcb
