// Vectors whose data starts on a 64-byte boundary (a cache line, and one
// AVX-512 register). A 64-byte load that straddles two cache lines costs two:
// with the centroids misaligned the distance kernel ran at about 60% of its
// speed on the development machine (AMD Zen 5).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

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

// Bulk input (the rows of /X, up to many GB): 64-byte aligned as above, but
// resize() leaves the elements uninitialised, since the reader overwrites every
// byte and zero-filling first was a whole extra pass over the memory; and a
// large buffer asks for transparent huge pages (Linux madvise), which cuts the
// page faults of first touch 512-fold where THP is set to "madvise".
template <class T>
struct BulkAllocator {
  using value_type = T;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  BulkAllocator() = default;
  template <class U>
  BulkAllocator(const BulkAllocator<U>&) {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes, std::align_val_t{64}));
    void* p = ::operator new(bytes, std::align_val_t{kHugePage});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);  // advice only: a refusal changes nothing
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    ::operator delete(p, std::align_val_t{n * sizeof(T) < kHugePage ? std::size_t{64} : kHugePage});
  }
  // Value-less construction (resize) default-initialises: no zero fill. Construction from
  // values falls back to std::allocator_traits' default.
  template <class U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U>
  bool operator==(const BulkAllocator<U>&) const {
    return true;
  }
};

template <class T>
using bulk_vector = std::vector<T, BulkAllocator<T>>;

}  // namespace hpcb
