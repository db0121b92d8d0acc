// libFuzzer entry point for the HDF5 input checks, src/io/h5_read.cpp (H5Reader:
// open, info, read_rows, root_string, dataset_double).
// The input becomes an in-memory file; the checks are in targets.hpp.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>

#include "targets.hpp"

// HDF5 keeps state between calls: the objects it frees on free lists of its own (handed out
// again, so ASan cannot see a stale pointer into them or a write past one), the files and
// objects a damaged input's error paths leave open (H5Dopen2 leaks), its caches. The damage
// one input does there can bring down a later input of the same fuzzing process, which then
// does not fail when replayed alone (run_fuzz.py counts such an input as a failure it cannot
// place; CI runs have had two). So every input starts from a library as a fresh process finds
// it: the free lists' limits at zero (every freed object goes back to malloc at once), and
// H5close() after the input (closes what it left open, frees the library's state; the next
// call starts HDF5 again), so that the input at fault is the one that fails, as the
// executables meet it (one file a process).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  H5set_free_list_limits(0, 0, 0, 0, 0, 0);
  {
    const hpcb::fuzz::MemFile file(data, size);
    hpcb::fuzz::h5_target(file.path());
  }
  H5close();
  return 0;
}
