// Row blocks handed out as the threads of a process come free.
//
// Each worker owns a contiguous range of row blocks (layout.hpp) and keeps the state of
// their rows. In a round (one pass over the rows: the k-means E-step) every worker takes its
// own blocks in order, then helps the threads of its process that still have blocks left,
// taking theirs one at a time from the same counter, and returns once all of its own blocks
// are done, by whichever thread. What a block computes depends only on its rows and on
// state fixed for the round, and its integer sums are exact in any order, so the results
// stay those of any worker count; what changes is that a worker whose blocks take longer
// (the pruned E-steps' work per row varies with the rows; a thread the host runs slower)
// no longer holds the others up at the next collective.
//
// An MPI rank is a group of one and does its own blocks: ranks share no memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <sched.h>
#include <unistd.h>

#include "team/spin_wait.hpp"
#include "team/team.hpp"

namespace hpcb {

template <class Owner>
class SharedBlocks {
 public:
  // One board per process, shared by its threads. Collective over the team.
  static std::shared_ptr<SharedBlocks> for_group(Team& team) {
    std::shared_ptr<const void> made;
    if (team.rank() == team.group_first()) made = std::make_shared<SharedBlocks>(team.group_size());
    return std::const_pointer_cast<SharedBlocks>(std::static_pointer_cast<const SharedBlocks>(team.share(made)));
  }

  explicit SharedBlocks(int members)
      : members_(members), slots_(std::make_unique<Slot[]>(static_cast<std::size_t>(members))),
        spins_(spins_before_rest(members, usable_cores())) {}

  // One round, called by every worker of the group the same number of times, with at least
  // one collective of the group between two rounds. member: this worker's place in its group
  // (rank - group_first()); it owns blocks [b0, b1) (fewer than 2^32), which visit(owner, b)
  // runs, whichever thread calls it. This worker runs its own blocks, then those the other
  // workers have left once they reach the round; each block is run once. Returns once every
  // block of this worker's is done, with how many blocks of others it ran.
  template <class Visit>
  std::int64_t round(int member, Owner& owner, std::int64_t b0, std::int64_t b1, Visit&& visit) {
    Slot& mine = slots_[static_cast<std::size_t>(member)];
    const std::uint64_t r = (mine.state.load(std::memory_order_relaxed) >> 32) + 1;
    // Read by the helpers of this round only, after the post below.
    mine.owner = &owner;
    mine.first = b0;
    mine.count = b1 - b0;
    mine.done.store(0, std::memory_order_relaxed);
    mine.state.store(r << 32, std::memory_order_release);  // round r, block 0 next
    run_blocks(mine, r, visit);
    std::int64_t helped = 0;
    for (int step = 1; step < members_; ++step)
      helped += run_blocks(slots_[static_cast<std::size_t>((member + step) % members_)], r, visit);
    wait_done(mine);
    return helped;
  }

 private:
  struct alignas(64) Slot {
    // The round (high 32 bits) and the next of its blocks to hand out (low 32 bits, counted
    // from `first`), in one word: a block is taken only in the round that posted it.
    std::atomic<std::uint64_t> state{0};
    std::atomic<std::uint32_t> done{0};  // blocks of this round finished
    Owner* owner = nullptr;
    std::int64_t first = 0, count = 0;
  };

  // Takes and runs the blocks `slot` has left in round r, once its worker has posted the
  // round (every worker does, after its own preparation: a thread late to it, held up by the
  // host, is helped all the more); returns how many.
  template <class Visit>
  std::int64_t run_blocks(Slot& slot, std::uint64_t r, Visit& visit) {
    std::int64_t ran = 0;
    std::uint64_t s = 0;
    wait_until([&] { return ((s = slot.state.load(std::memory_order_acquire)) >> 32) == r; }, spins_);
    while (static_cast<std::int64_t>(s & 0xFFFFFFFFu) < slot.count) {
      if (!slot.state.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_acquire)) continue;
      visit(*slot.owner, slot.first + static_cast<std::int64_t>(s & 0xFFFFFFFFu));
      slot.done.fetch_add(1, std::memory_order_release);
      ++ran;
      s = slot.state.load(std::memory_order_acquire);
    }
    return ran;
  }

  // Until every block of `slot` is done: a thread helping may still be on the last one.
  void wait_done(Slot& slot) {
    const auto all = static_cast<std::uint32_t>(slot.count);
    wait_until([&] { return slot.done.load(std::memory_order_acquire) == all; }, spins_);
  }

  // The cores this process may run on (a Slurm job's share of a node, not the node's).
  static long usable_cores() {
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
  }

  int members_;
  std::unique_ptr<Slot[]> slots_;
  int spins_;
};

}  // namespace hpcb
