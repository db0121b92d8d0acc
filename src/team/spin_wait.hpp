// Waiting for another worker of the node (a thread of the process, or a rank through a
// shared-memory window) without a system call while it is close: spin a while, then rest.
// The teams' gathers (stamped_slot.hpp) and the shared E-step blocks (shared_blocks.hpp)
// wait this way.
#pragma once

#include <sched.h>

namespace hpcb {

// How long a wait spins before it sleeps or yields: long only where every worker has a
// core of its own (libgomp's barrier does the same).
inline int spins_before_rest(long workers, long cores) { return workers <= cores ? 1 << 14 : 64; }

// Tells the core this thread is spinning (it yields the pipeline to a sibling thread and
// saves power).
inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Tries ready() up to `spins` times, a pause between tries; returns its last answer.
template <class Ready>
bool spin_until(Ready&& ready, int spins) {
  for (int i = 0; i < spins; ++i) {
    if (ready()) return true;
    cpu_pause();
  }
  return ready();
}

// Returns once ready(): spinning first (the other worker is usually well under a
// microsecond away), then yielding the core between tries, so that more workers than cores
// do not spin away each other's time.
template <class Ready>
void wait_until(Ready&& ready, int spins) {
  if (spin_until(ready, spins)) return;
  while (!ready()) sched_yield();
}

}  // namespace hpcb
