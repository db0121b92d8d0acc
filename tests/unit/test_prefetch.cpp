#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "common/prefetch.hpp"

namespace {

// prefetch() never faults: callers ask for lines past the end of their arrays (the next rows,
// a fixed distance ahead) without checking. A prefetch written as a load would crash here:
// null, an address in no mapping (a page unmapped just before), the last byte of the address
// space.
TEST(Prefetch, NeverFaults) {
  const long page = sysconf(_SC_PAGESIZE);
  void* mapped = mmap(nullptr, static_cast<std::size_t>(page), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  ASSERT_EQ(munmap(mapped, static_cast<std::size_t>(page)), 0);
  hpcb::prefetch(nullptr);
  hpcb::prefetch(mapped);
  hpcb::prefetch(reinterpret_cast<const void*>(~std::uintptr_t{0}));
  hpcb::prefetch_bytes(mapped, static_cast<std::size_t>(page));
  SUCCEED();
}

// prefetch_bytes() over a real range leaves it as it was (a prefetch writes nothing).
TEST(Prefetch, LeavesTheDataAlone) {
  std::vector<std::uint8_t> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(i * 7);
  const std::vector<std::uint8_t> before = v;
  hpcb::prefetch_bytes(v.data(), v.size());
  hpcb::prefetch_bytes(v.data() + 3, 0);
  EXPECT_EQ(v, before);
}

}  // namespace
