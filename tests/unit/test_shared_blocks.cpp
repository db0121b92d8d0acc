// Blocks handed out among the threads of a process (team/shared_blocks.hpp): in every round
// each block is run exactly once, by its owner or by a thread that helps, and a worker's
// round returns only once all of its blocks are done, whoever ran them. Worker 0's blocks
// are made slow here, so that the others finish first and must help.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstdint>
#include <vector>

#include "team/group_team.hpp"
#include "team/layout.hpp"
#include "team/shared_blocks.hpp"

namespace hpcb {
namespace {

// One worker's blocks: per block, the last round that ran it, and by how many runs.
struct Owner {
  int worker = 0;
  std::int64_t first = 0;
  std::vector<int> round_of;  // written by whichever thread runs the block
  std::vector<int> runs;
};

struct Totals {
  std::atomic<long> wrong{0};        // a block run twice in a round, or not at all
  std::atomic<long> helped{0};       // blocks run by a thread not their owner, as counted here
  std::atomic<long> reported{0};     // ... and as round() reported them
};

// A few microseconds of work, so that a round's blocks overlap between threads.
void busy(int n) {
  volatile int sink = 0;
  for (int i = 0; i < n; ++i) sink = sink + i;
}

void run_rounds(int threads, std::int64_t blocks, int rounds, Totals& totals) {
  std::atomic<int> helped_of_0{0};  // 1 + the last round in which another thread ran a block of worker 0's
  run_group(threads, nullptr, [&](Team& team) {
    const int w = team.rank();
    const std::int64_t b0 = Layout::first_block(blocks, w, threads), b1 = Layout::first_block(blocks, w + 1, threads);
    Owner mine{w, b0, std::vector<int>(static_cast<std::size_t>(b1 - b0), -1),
               std::vector<int>(static_cast<std::size_t>(b1 - b0), 0)};
    auto board = SharedBlocks<Owner>::for_group(team);
    helped_of_0.store(0);
    team.barrier();
    for (int r = 0; r < rounds; ++r) {
      totals.reported += board->round(w, mine, b0, b1, [&](Owner& owner, std::int64_t b) {
        const auto i = static_cast<std::size_t>(b - owner.first);
        if (owner.round_of[i] != r - 1) ++totals.wrong;  // run twice in this round, or skipped in the last
        owner.round_of[i] = r;
        ++owner.runs[i];
        if (owner.worker != w) ++totals.helped;
        busy(owner.worker == 0 ? 20000 : 200);  // worker 0's blocks the slow ones
        // Worker 0 holds on to its first block until another thread has taken one of its
        // others (for a second at most: on a loaded machine the others may not run at all
        // while it does its few blocks).
        if (w == 0 && b == owner.first && b1 - b0 >= 2 && threads > 1)
          for (const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
               helped_of_0.load() <= r && std::chrono::steady_clock::now() < until;)
            std::this_thread::yield();
        if (owner.worker == 0 && w != 0) helped_of_0.store(r + 1);
      });
      // On return every block of this worker's is done and its writes are visible here.
      for (int got : mine.round_of)
        if (got != r) ++totals.wrong;
      team.barrier();  // the collective between rounds (the solver's M-step)
    }
    for (int n : mine.runs)
      if (n != rounds) ++totals.wrong;
    return 0;
  });
}

TEST(SharedBlocks, EveryBlockOnceAndDoneOnReturn) {
  for (int threads : {1, 2, 3, 4}) {
    for (std::int64_t blocks : {std::int64_t{1}, std::int64_t{7}, std::int64_t{40}}) {
      Totals totals;
      run_rounds(threads, blocks, 60, totals);
      EXPECT_EQ(totals.wrong.load(), 0) << threads << " threads, " << blocks << " blocks";
      EXPECT_EQ(totals.reported.load(), totals.helped.load()) << threads << " threads, " << blocks << " blocks";
      // Worker 0 has two or more blocks where threads < blocks, and holds on to its first until
      // another thread takes one of the others.
      if (threads > 1 && blocks >= 2 * threads) {
        EXPECT_GT(totals.helped.load(), 0) << threads << " threads";
      }
      if (threads == 1) {
        EXPECT_EQ(totals.helped.load(), 0);
      }
    }
  }
}

}  // namespace
}  // namespace hpcb
