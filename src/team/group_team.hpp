// The team of OpenMP threads, optionally one of several such groups joined by a
// team of processes (hybrid: MPI ranks x threads, team/mpi_team.hpp). Worker
// number = process * threads + thread, so the workers of one process own a
// contiguous range of row blocks. This file knows nothing of MPI: the OpenMP
// executables compile without its headers.
//
// Every collective has the same three stages: each thread publishes a pointer
// to its contribution and the threads meet at a barrier; thread 0 combines the
// contributions of its group (and, in the hybrid form, runs the one collective
// of the process team, so MPI needs only MPI_THREAD_FUNNELED); after a second
// barrier every thread reads the result, and a third barrier keeps the
// buffers alive until all have read. Integer sums are exact and gathers move
// bits, so no result depends on the order in which threads arrive. A gather
// among threads only (the regression's one collective per epoch) needs a
// single barrier, and a sum among threads only two, its adding shared by the
// threads: see GroupTeam::gather and GroupTeam::sum.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "team/stamped_slot.hpp"
#include "team/team.hpp"

namespace hpcb {

// What the threads of one process share.
struct GroupShared {
  explicit GroupShared(int threads)
      : in(static_cast<std::size_t>(threads)),
        errors(static_cast<std::size_t>(threads)),
        slots{std::vector<Slot>(static_cast<std::size_t>(threads)), std::vector<Slot>(static_cast<std::size_t>(threads))} {}
  std::vector<const void*> in;  // each thread's contribution
  std::vector<std::optional<std::string>> errors;
  std::vector<std::int64_t> ints;     // combined integer results
  std::vector<std::int32_t> ints32;   // the same, of sum(std::span<std::int32_t>)
  std::vector<double> doubles;        // combined floating-point results
  std::vector<std::int32_t> labels;   // gather_to_first staging
  double scalar = 0;
  std::shared_ptr<const void> object;
  std::optional<std::string> agreed;
  std::vector<std::string> hosts;
  // gather() among threads only (team/stamped_slot.hpp): each thread's contribution, in two
  // halves used by turns; more than StampedSlot::kSmall values go in `values`.
  struct Slot {
    StampedSlot stamped;
    std::vector<double> values;
  };
  std::array<std::vector<Slot>, 2> slots;
};

class GroupTeam final : public Team {
 public:
  // processes: nullptr for threads only; else the team joining the groups, one
  // worker per process (every process runs the same number of threads), which
  // only thread 0 calls.
  GroupTeam(GroupShared& shared, int thread, int threads, Team* processes);

  int rank() const override { return process_ * threads_ + thread_; }
  int size() const override { return processes_ * threads_; }
  int group_first() const override { return process_ * threads_; }
  int group_size() const override { return threads_; }
  const void* native_comm() const override { return between_ ? between_->native_comm() : nullptr; }

  void barrier() override;
  void sum(std::span<std::int64_t> values) override { sum_of(values); }
  void sum(std::span<std::int32_t> values) override { sum_of(values); }
  void sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts, std::span<std::int64_t> out) override;
  void gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) override;
  void gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t> counts,
                       std::span<std::int32_t> all) override;
  double max(double value) override;
  std::shared_ptr<const void> share(std::shared_ptr<const void> from_first) override;
  std::optional<std::string> agree(const std::optional<std::string>& mine) override;
  std::vector<std::string> hosts() override;
  [[noreturn]] void abort(int exit_code) override;

 private:
  void publish(const void* p);  // stage 1: contribution visible, all threads arrived
  void sync();                  // a plain barrier inside a collective
  // Where the combined sums of I (int64 or int32) go: s_.ints or s_.ints32.
  template <class I>
  std::vector<I>& combined();
  // combined<I>() = sum of the published arrays of n I (all groups: between them by the
  // process team's sum of I, on thread 0), then sync.
  template <class I>
  void sum_published(std::size_t n);
  template <class I>
  void sum_of(std::span<I> values);
  // This process's threads' contributions, in worker order: one contiguous segment of the result.
  template <class T, class C>
  std::vector<T> concat_published(std::span<const C> counts) const;

  GroupShared& s_;
  int thread_, threads_;
  Team* between_;
  int process_ = 0, processes_ = 1;
  std::uint32_t gathers_ = 0;  // gathers among threads only so far (the same count on every thread)
  int spins_;      // how long a wait spins before it sleeps
};

// Runs body on `threads` OpenMP threads as GroupTeams joined by `processes`
// (nullptr: threads only); returns thread 0's status. An exception escaping a
// thread ends the run (Team::abort), since the other threads may be waiting for
// it at a barrier.
int run_group(int threads, Team* processes, const std::function<int(Team&)>& body);

// OMP_NUM_THREADS (or the core count) when requested <= 0.
int resolve_threads(int requested);

}  // namespace hpcb
