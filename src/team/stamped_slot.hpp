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

namespace hpcb {

struct alignas(64) StampedSlot {
  static constexpr std::size_t kSmall = 7;  // values that travel in the slot's own line
  std::uint32_t gather = 0;                 // the gather whose values it holds (through std::atomic_ref)
  std::uint32_t count = 0;
  double small[kSmall] = {};
};
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free, "stamps may be shared between processes");

// How long a wait spins before it sleeps or yields: long only where every worker has a
// core of its own (libgomp's barrier does the same).
inline int spins_before_rest(long workers, long cores) { return workers <= cores ? 1 << 14 : 64; }

// Spins until the stamp reads `target` (true) or the spins run out (false).
inline bool spin_for_stamp(std::uint32_t& stamp, std::uint32_t target, int spins) {
  const std::atomic_ref<std::uint32_t> s(stamp);
  for (int i = 0; i < spins; ++i) {
    if (s.load(std::memory_order_acquire) == target) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return s.load(std::memory_order_acquire) == target;
}

// Stamps `slot` with gather g once its values are written.
inline void stamp(StampedSlot& slot, std::uint32_t g) {
  std::atomic_ref<std::uint32_t>(slot.gather).store(g, std::memory_order_release);
}

}  // namespace hpcb
