// Software prefetch that the compiler keeps.
//
// GCC 12 (Debian 12's compiler) can delete a __builtin_prefetch call as dead code: a
// prefetch in a lambda capturing by reference, its address loaded from memory (the rows that
// moved, by index), left no prefetch instruction in the object (-fno-tree-dce kept it; the
// same loop outside a lambda kept it too). A volatile asm statement is never deleted, so on
// x86-64 the instruction is written out; elsewhere the builtin stays. (The prefetches written
// before this header survived in the builds checked: native Zen 3 and sapphirerapids.)
#pragma once

#include <cstddef>

namespace hpcb {

// Asks for the 64-byte line holding p to be brought into every cache level (prefetcht0).
// Never faults, whatever p is. (p goes in as a register: a memory operand would tell the
// compiler that *p may be read, a promise it could build on for addresses past an array.)
inline void prefetch(const void* p) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  asm volatile("prefetcht0 (%0)" : : "r"(p));
#else
  __builtin_prefetch(p);
#endif
}

// Every line of [p, p + bytes), one prefetch per 64 bytes from p.
inline void prefetch_bytes(const void* p, std::size_t bytes) {
  const auto* c = static_cast<const char*>(p);
  for (std::size_t b = 0; b < bytes; b += 64) prefetch(c + b);
}

}  // namespace hpcb
