// libFuzzer entry point for the HDF5 input checks, src/io/h5_read.cpp (H5Reader:
// open, info, read_rows, root_string, dataset_double).
// The input becomes an in-memory file; the checks are in targets.hpp.
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hpcb::fuzz::MemFile file(data, size);
  hpcb::fuzz::h5_target(file.path());
  return 0;
}
