// Vectors whose data starts on a 64-byte boundary (a cache line, and one
// AVX-512 register). A 64-byte load that straddles two cache lines costs two:
// with the centroids misaligned the distance kernel ran at about 60% of its
// speed on the development machine (AMD Zen 5).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace hpcb {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};

template <class T>
using aligned_vector = std::vector<T, AlignedAllocator<T>>;

}  // namespace hpcb
