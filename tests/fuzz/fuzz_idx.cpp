// libFuzzer entry point for the IDX (MNIST) reader, src/io/idx.cpp: read_images and read_labels.
// The input becomes an in-memory file; the checks are in targets.hpp.
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hpcb::fuzz::MemFile file(data, size);
  hpcb::fuzz::idx_target(file.path());
  return 0;
}
