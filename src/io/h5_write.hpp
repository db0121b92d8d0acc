// Writing HDF5 files: the converters and generators of `mkdata` and the `--out`
// files of the executables. Every file is written under a temporary name next to
// its destination and renamed into place on commit, so a failed or interrupted
// run never leaves a half-written output. Datasets are contiguous (no chunking,
// no compression) so that MPI-IO can read any row slice directly.
// Errors throw DataError naming the file and the dataset.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/sha256.hpp"
#include "io/h5_dtype.hpp"
#include "io/h5_handle.hpp"

namespace hpcb::h5 {

// A new HDF5 file at `path`, written as a hidden temporary in the same folder
// (".tmp-<pid>-<n>.<name>") and renamed over `path` by commit(). Destroying it
// uncommitted closes and deletes the temporary. The file is closed "strongly" on
// commit: identifiers still open in it (e.g. a live DatasetWriter) become invalid.
class AtomicH5File {
 public:
  explicit AtomicH5File(std::string path);
  ~AtomicH5File();
  AtomicH5File(const AtomicH5File&) = delete;
  AtomicH5File& operator=(const AtomicH5File&) = delete;

  hid_t id() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: passes straight to the helpers below
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

  // Flushes, closes and renames the file into place; throws DataError on failure
  // (the temporary is then removed).
  void commit();

 private:
  std::string path_;
  std::string temp_;
  hid_t id_ = H5I_INVALID_HID;
};

// A contiguous dataset of a fixed size, created by the constructor and filled by
// row ranges. Shape rows x cols, or a 1-D array of `rows` elements when cols == 0.
// Intermediate groups in `name` ("/a/b") are created as needed.
//
// The writer also hashes what it writes: when all rows were written exactly once
// in increasing order, sha256() is the SHA-256 of the dataset's bytes in row-major
// order as stored (little-endian); otherwise sha256() throws. It also keeps one
// SHA-256 per block of block_rows() consecutive rows (about kDigestBlockBytes
// each), which block_digests() returns (32 raw bytes a block, in row order) for
// the per-block verification of the data by its readers (io/verify.hpp).
class DatasetWriter {
 public:
  DatasetWriter(hid_t file, std::string name, DType type, std::uint64_t rows,
                std::uint64_t cols = 0);

  // Writes rows [r0, r1) from `data`, which holds (r1 - r0) * max(cols, 1)
  // elements; T must match the dataset's type exactly (no silent conversion).
  template <class T>
  void write_rows(std::uint64_t r0, std::uint64_t r1, const T* data) {
    write_raw(r0, r1, dtype_of_v<T>, data);
  }

  std::string sha256() const;
  std::uint64_t block_rows() const { return block_rows_; }
  std::vector<unsigned char> block_digests() const;
  hid_t id() const { return ds_.get(); }
  const std::string& name() const { return name_; }
  DType type() const { return type_; }
  std::uint64_t rows() const { return rows_; }
  std::uint64_t cols() const { return cols_; }

 private:
  void write_raw(std::uint64_t r0, std::uint64_t r1, DType type, const void* data);

  Dataset ds_;
  std::string file_;
  std::string name_;
  DType type_;
  std::uint64_t rows_;
  std::uint64_t cols_;
  std::uint64_t next_row_ = 0;  // rows hashed so far, in order
  bool in_order_ = true;
  Sha256 hash_;
  std::uint64_t block_rows_ = 1;
  Sha256 block_hash_;                  // the block in progress
  std::vector<unsigned char> blocks_;  // finished blocks' digests
};

// Target size of one digest block: small enough that a reader checking only its
// own rows reads little beyond them, large enough that the digests are a small
// fraction of the file (32 bytes per 256 KiB).
inline constexpr std::uint64_t kDigestBlockBytes = 256 * 1024;

// Whole small datasets in one call; both return the SHA-256 of the bytes written.
template <class T>
std::string write_vector(hid_t file, const std::string& name, const std::vector<T>& values) {
  DatasetWriter w(file, name, dtype_of_v<T>, values.size());
  w.write_rows<T>(0, values.size(), values.data());
  return w.sha256();
}

template <class T>
std::string write_matrix(hid_t file, const std::string& name, std::uint64_t rows,
                         std::uint64_t cols, const T* data) {
  DatasetWriter w(file, name, dtype_of_v<T>, rows, cols);
  w.write_rows<T>(0, rows, data);
  return w.sha256();
}

// Scalar attributes on the object at `object` ("/" for the root group, "/X" for a
// dataset), relative to `loc` (a file or an object in it). An existing attribute
// of that name is replaced. Strings are stored fixed-length, null-padded, UTF-8.
void write_attribute(hid_t loc, const std::string& object, const std::string& name,
                     std::string_view value);
void write_attribute(hid_t loc, const std::string& object, const std::string& name, double value);

// The file's name as the user gave it (AtomicH5File's temporary prefix removed),
// for error messages.
std::string display_name(hid_t loc);

}  // namespace hpcb::h5
