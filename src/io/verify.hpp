// Verifying input data against the digests written with it, so that a damaged
// file (a flipped bit, a file truncated while being read, which HDF5 reads as
// zeros) never gives a result that is recorded as if it were of the real data.
//
// mkdata stores, beside each content dataset D, the dataset /sha256_blocks/D:
// uint8, one row of 32 bytes per block of `block_rows` consecutive rows of D
// (attribute `block_rows`, float64), the raw SHA-256 of the block's bytes as
// stored (row-major, little-endian). Each reader checks the blocks that overlap
// its own rows, so every MPI rank verifies its slice in parallel; rows of a
// boundary block held by another rank are read for the check only.
//
// Files without block digests (older files, files made by other tools) are
// verified against their datasets' whole-content `sha256` attributes when one
// process holds all rows (seq, omp, one rank); otherwise they are unverified,
// which the run records (dataset.verified = false), or refuses with
// --verify-data require. Details: datasets/README.md, "Block digests".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/names.hpp"
#include "io/h5_read.hpp"

namespace hpcb {

// --verify-data: auto (check what the file's digests allow; the default),
// require (also refuse a file that cannot be verified), never (no check; the
// user accepts the risk).
enum class VerifyMode { automatic, require, never };
inline constexpr Named<VerifyMode> kVerifyModeNames[] = {
    {"auto", VerifyMode::automatic}, {"require", VerifyMode::require}, {"never", VerifyMode::never}};

// "/sha256_blocks/X" for "/X".
std::string block_digest_name(const std::string& dataset);

// The check of rows [r0, r1) of one dataset. The constructor makes every HDF5
// read the check needs (collective under MPI, so every rank constructs one for
// the same datasets in the same order, also with no rows); check() only hashes,
// so a rank whose data is damaged can throw without leaving the others waiting.
class RowsCheck {
 public:
  RowsCheck(const H5Reader& file, const std::string& name, const ArrayInfo& info, DType memtype, std::int64_t r0,
            std::int64_t r1, VerifyMode mode);
  // `rows` holds rows [r0, r1) as read. Throws DataError naming the first block
  // whose digest differs. Returns whether the rows were verified.
  bool check(const void* rows) const;

 private:
  enum class How { none, blocks, whole };
  std::string where_;
  How how_ = How::none;
  std::int64_t r0_ = 0, r1_ = 0, n_ = 0;
  std::size_t row_bytes_ = 0;
  std::int64_t block_rows_ = 1, b0_ = 0;
  std::vector<unsigned char> digests_;      // blocks b0_.. of the range, 32 bytes each
  std::vector<unsigned char> head_, tail_;  // rows of the first and last block outside [r0, r1)
  std::string whole_sha256_;                // How::whole: the dataset's `sha256` attribute
};

// With `require`, the DataError for data that could not be verified.
void require_verified(VerifyMode mode, bool verified, const std::string& path);

// content_sha256 must be the combination of the content datasets' `sha256`
// attributes (datasets/README.md), else the file's metadata is damaged: the
// record would carry a checksum of other data. No-op when either is absent.
void check_content_attributes(const H5Reader& file, const std::string& content_sha256,
                              const std::vector<std::string>& datasets);

}  // namespace hpcb
