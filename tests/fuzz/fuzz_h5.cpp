// libFuzzer entry point for the HDF5 input checks, src/io/h5_read.cpp (H5Reader:
// open, info, read_rows, root_string, dataset_double).
// The input becomes an in-memory file; the checks are in targets.hpp.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>

#include "targets.hpp"

// HDF5 keeps the objects it frees on free lists of its own and hands them out again: ASan
// cannot see a stale pointer into them or a write past one, and the damage one input does
// there can bring down a later input of the same fuzzing process, which then does not fail
// when replayed alone (run_fuzz.py counts such an input as a failure it cannot place; a CI
// run had one). With the lists' limits at zero every freed object goes back to malloc at once,
// so the input at fault is the one that fails.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5set_free_list_limits(0, 0, 0, 0, 0, 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hpcb::fuzz::MemFile file(data, size);
  hpcb::fuzz::h5_target(file.path());
  return 0;
}
