// The collectives of the OpenMP team (team/group_team.hpp) among threads only: a gather
// meets at no barrier (each thread waits for the others' published counts) and a sum adds
// in place, so a thread that runs ahead must never overwrite what a slower one has still to
// read. Threads here arrive in a shuffled order (random busy delays) and contributions
// change size from call to call; every result is checked against what it must be.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "team/group_team.hpp"
#include "team/one_worker.hpp"

namespace hpcb {
namespace {

// A few microseconds at most, different on every thread and call.
void jitter(std::mt19937& gen) {
  std::uniform_int_distribution<int> spin(0, 3000);
  volatile int sink = 0;
  for (int i = spin(gen); i > 0; --i) sink = sink + i;
}

// Values of thread t's contribution to call c: a size that changes from call to call
// (1 to 3 values, which travel in the slot's own cache line, or 8 to 12, which do not),
// and values that name the call, the thread and the position.
int count_of(int call, int t) { return (call + t) % 4 == 3 ? 8 + (call + t) % 5 : 1 + (call + t) % 3; }
double value_of(int call, int t, int i) { return call * 1000.0 + t * 10.0 + i; }

// rounds calls on `threads` threads: gathers, with two sums (int64, int32) every fifth call; returns the
// number of wrong values seen by any thread.
long wrong_values(int threads, int rounds) {
  std::atomic<long> wrong{0};
  run_group(threads, nullptr, [&](Team& team) {
    const int t = team.rank();
    std::mt19937 gen(static_cast<unsigned>(1234 + t));
    std::vector<int> counts(static_cast<std::size_t>(threads));
    for (int call = 0; call < rounds; ++call) {
      jitter(gen);
      if (call % 5 == 4) {
        std::vector<std::int64_t> v{call, t, 1};
        team.sum(std::span<std::int64_t>(v));
        const std::int64_t threads64 = threads;
        if (v[0] != call * threads64 || v[1] != threads64 * (threads64 - 1) / 2 || v[2] != threads64) ++wrong;
        std::vector<std::int32_t> w{t, -call, 1, 7};  // the 32-bit sum, through the same steps
        team.sum(std::span<std::int32_t>(w));
        if (w != std::vector<std::int32_t>{threads * (threads - 1) / 2, -call * threads, threads, 7 * threads}) ++wrong;
        continue;
      }
      std::size_t total = 0;
      for (int u = 0; u < threads; ++u) total += static_cast<std::size_t>(counts[static_cast<std::size_t>(u)] = count_of(call, u));
      std::vector<double> mine;
      for (int i = 0; i < count_of(call, t); ++i) mine.push_back(value_of(call, t, i));
      std::vector<double> all(total, -1.0);
      team.gather(mine, counts, all);
      std::size_t at = 0;
      for (int u = 0; u < threads; ++u)
        for (int i = 0; i < count_of(call, u); ++i)
          if (all[at++] != value_of(call, u, i)) ++wrong;
    }
    return 0;
  });
  return wrong.load();
}

TEST(GroupTeam, GatherAndSumAmongTwoThreads) { EXPECT_EQ(wrong_values(2, 20000), 0); }
TEST(GroupTeam, GatherAndSumAmongThreeThreads) { EXPECT_EQ(wrong_values(3, 10000), 0); }
// More threads than this machine's cores: the waits sleep instead of spinning.
TEST(GroupTeam, GatherAndSumAmongSevenThreads) { EXPECT_EQ(wrong_values(7, 3000), 0); }

// The team between processes as one process alone would see it, counting which sum it was
// asked for.
class OneProcess final : public OneWorkerTeam {
 public:
  int int64_sums = 0, int32_sums = 0;
  void sum(std::span<std::int64_t>) override { ++int64_sums; }
  void sum(std::span<std::int32_t>) override { ++int32_sums; }
};

// A hybrid group's sums: the threads' total, passed on between the processes at the width
// the caller gave (int32: half the bytes under MPI).
TEST(GroupTeam, HybridSumKeepsItsWidthBetweenProcesses) {
  OneProcess processes;
  std::atomic<long> wrong{0};
  run_group(3, &processes, [&](Team& team) {
    std::vector<std::int64_t> a{1, team.rank()};
    std::vector<std::int32_t> b{2, 10 * team.rank()};
    team.sum(std::span<std::int64_t>(a));
    team.sum(std::span<std::int32_t>(b));
    if (a != std::vector<std::int64_t>{3, 3} || b != std::vector<std::int32_t>{6, 30}) ++wrong;
    return 0;
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(processes.int64_sums, 1);
  EXPECT_EQ(processes.int32_sums, 1);
}

}  // namespace
}  // namespace hpcb
