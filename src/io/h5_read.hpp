// Reading the toolkit's HDF5 inputs (layout: datasets/README.md). Every check a
// file can fail (missing, not HDF5, missing dataset, wrong rank or type, sizes)
// throws DataError with a one-line message naming the file and the dataset.
// With an MPI communicator the file is opened through MPI-IO and each rank
// reads only its own rows, collectively; built against serial HDF5 (the
// simulated smpi build) each rank opens the file on its own and reads its rows.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/h5_handle.hpp"
#include "io/h5_write.hpp"

namespace hpcb {

using h5::DType;  // one list of element types for reading and writing

struct ArrayInfo {
  std::vector<std::int64_t> dims;
  DType dtype;  // the stored type, mapped onto the types the toolkit reads
  bool exact = false;  // stored exactly as dtype, little-endian: the bytes read are the bytes stored
  std::int64_t row_elements() const;  // elements per row (product of dims after the first)
};

class H5Reader {
 public:
  // mpi_comm: nullptr for an ordinary (POSIX) open, or a pointer to an MPI_Comm
  // for a collective MPI-IO open; all ranks of it must make the same calls.
  H5Reader(std::string path, const void* mpi_comm = nullptr);
  const std::string& path() const { return path_; }

  bool has(const std::string& name) const;
  // Shape and type; throws when the dataset is missing, its rank differs from
  // `rank`, a dimension is zero, or its type is not one the toolkit reads.
  ArrayInfo info(const std::string& name, int rank) const;
  std::optional<std::string> root_string(const std::string& attr) const { return string_attr("/", attr); }
  std::optional<std::string> string_attr(const std::string& object, const std::string& attr) const;
  std::optional<double> dataset_double(const std::string& name, const std::string& attr) const;

  // Rows [r0, r1) along the first dimension, converted to `memtype`, into out
  // (which holds (r1 - r0) * row_length values). Collective under MPI, also for
  // ranks with no rows. Throws DataError when the dataset's stored extent lies
  // beyond the end of the file, before or after the read (a truncated file: HDF5
  // would read zeros), or when any HDF5 call fails.
  // With `each_slab`, a single process reads the rows in slabs of about kSlabBytes and calls
  // each_slab(lo, hi) as soon as rows [lo, hi) have landed, while they are still in cache
  // (one pass over memory for the read and a scan of it); a collective read is one slab.
  using SlabFn = std::function<void(std::int64_t lo, std::int64_t hi)>;
  static constexpr std::int64_t kSlabBytes = std::int64_t{2} << 20;
  void read_rows(const std::string& name, std::int64_t r0, std::int64_t r1, DType memtype, void* out,
                 const SlabFn& each_slab = {}) const;

 private:
  void check_extent(hid_t ds, const std::string& where) const;

  std::string path_;
  h5::File file_;
  bool collective_ = false;
};

}  // namespace hpcb

namespace hpcb {

// Sizes read from a file are checked before anything is allocated: a header
// claiming 10^15 rows must give an error, not an out-of-memory kill. Throws
// DataError when `count` elements of `element_bytes` overflow or exceed the
// physical memory of this machine.
void check_allocation(const std::string& what, std::int64_t count, std::size_t element_bytes);

}  // namespace hpcb
