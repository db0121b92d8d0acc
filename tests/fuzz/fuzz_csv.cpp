// libFuzzer entry point for the CSV reader, src/io/csv.cpp: read_xy and read_table.
// The input becomes an in-memory file; the checks are in targets.hpp.
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hpcb::fuzz::MemFile file(data, size);
  hpcb::fuzz::csv_target(file.path());
  return 0;
}
