// The slot of a gather that meets at no barrier: among the threads of a process
// (group_team.cpp) and among the ranks of one node through a shared-memory window
// (mpi_team.cpp). Each worker writes its values into its own slot (one cache line), then
// stamps it with the gather's number; the others wait for the stamp and read the values
// in the same cache-line transfer. Slots come in two halves used by turns (odd and even
// gathers): a worker writes a half again only after every other worker has stamped the
// next gather, which each does only after reading this one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "team/spin_wait.hpp"

namespace hpcb {

struct alignas(64) StampedSlot {
  static constexpr std::size_t kSmall = 7;  // values that travel in the slot's own line
  std::uint32_t gather = 0;                 // the gather whose values it holds (through std::atomic_ref)
  std::uint32_t count = 0;
  double small[kSmall] = {};
};
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free, "stamps may be shared between processes");

// Whether the stamp reads `target` (what the wait for a slot asks: spin_wait.hpp).
inline bool stamped(std::uint32_t& stamp, std::uint32_t target) {
  return std::atomic_ref<std::uint32_t>(stamp).load(std::memory_order_acquire) == target;
}

// Stamps `slot` with gather g once its values are written.
inline void stamp(StampedSlot& slot, std::uint32_t g) {
  std::atomic_ref<std::uint32_t>(slot.gather).store(g, std::memory_order_release);
}

}  // namespace hpcb
