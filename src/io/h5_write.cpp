#include "io/h5_write.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/error.hpp"

namespace hpcb::h5 {

// Hashes are defined over the stored little-endian bytes; on a big-endian host
// the writer would have to swap before hashing.
static_assert(std::endian::native == std::endian::little,
              "content hashing assumes a little-endian host");

namespace {

// The innermost message of HDF5's error stack (errors are not printed; see
// silence_errors), which usually carries the system error, e.g. a missing folder.
// An upward walk starts at the innermost entry.
herr_t keep_innermost(unsigned, const H5E_error2_t* err, void* out) {
  auto& reason = *static_cast<std::string*>(out);
  if (reason.empty() && err->desc != nullptr) reason = err->desc;
  return 0;
}

// Must run before any other HDF5 call, which would clear the error stack.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &reason);
  // System errors come as "..., errno = 2, error message = 'No such file...', ...":
  // the quoted part is what a user needs.
  constexpr std::string_view kSys = "error message = '";
  const std::size_t at = reason.find(kSys);
  if (at != std::string::npos) {
    const std::size_t from = at + kSys.size();
    reason = reason.substr(from, reason.find('\'', from) - from);
  }
  return reason;
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  const std::string reason = hdf5_reason();
  throw DataError(file + ": " + what + (reason.empty() ? "" : " (" + reason + ")"));
}

constexpr std::string_view kTempPrefix = ".tmp-";

std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path p(path);
  const std::string name = std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++) + "." + p.filename().string();
  return (p.parent_path() / name).string();
}

}  // namespace

std::string display_name(hid_t loc) {
  const ssize_t len = H5Fget_name(loc, nullptr, 0);
  if (len <= 0) return "(unknown HDF5 file)";
  std::string name(static_cast<std::size_t>(len) + 1, '\0');
  H5Fget_name(loc, name.data(), name.size());
  name.resize(static_cast<std::size_t>(len));
  // ".tmp-<pid>-<n>.<name>" -> "<name>"
  const std::size_t slash = name.rfind('/');
  const std::size_t base = slash == std::string::npos ? 0 : slash + 1;
  if (name.compare(base, kTempPrefix.size(), kTempPrefix) == 0) {
    const std::size_t dot = name.find('.', base + kTempPrefix.size());
    if (dot != std::string::npos) name.erase(base, dot + 1 - base);
  }
  return name;
}

// ---- AtomicH5File ------------------------------------------------------------

AtomicH5File::AtomicH5File(std::string path) : path_(std::move(path)), temp_(temp_name_for(path_)) {
  Plist fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
    fail(path_, "cannot set up a file access property list");
  }
  id_ = H5Fcreate(temp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (id_ < 0) {
    // H5Fcreate may have created the file before failing to write its superblock
    // (a full disk): remove it, as every other failure path does.
    const std::string reason = hdf5_reason();
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
    throw DataError(path_ + ": cannot create the temporary file " + temp_ +
                    (reason.empty() ? "" : " (" + reason + ")"));
  }
}

AtomicH5File::~AtomicH5File() {
  if (id_ >= 0) {
    H5Fclose(id_);
    std::error_code ec;
    std::filesystem::remove(temp_, ec);  // best effort: a destructor must not throw
  }
}

void AtomicH5File::commit() {
  if (id_ < 0) throw DataError(path_ + ": commit of a file already committed or failed");
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  std::error_code ec;
  // Close even when the flush failed (a full disk), so no identifier is left
  // open. When the close fails too, HDF5 1.10.8 crashes (SIGSEGV in
  // H5F__close_cb) if it tries to close the file again when the library shuts
  // down: every executable therefore starts HDF5 without that shutdown (io/h5_library.hpp).
  std::string reason;
  bool failed = false;
  if (H5Fflush(id, H5F_SCOPE_GLOBAL) < 0) {
    failed = true;
    reason = hdf5_reason();
  }
  if (H5Fclose(id) < 0) {
    if (!failed) reason = hdf5_reason();
    failed = true;
  }
  if (failed) {
    std::filesystem::remove(temp_, ec);
    throw DataError(path_ + ": cannot flush and close " + temp_ + (reason.empty() ? "" : " (" + reason + ")"));
  }
  std::filesystem::rename(temp_, path_, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
    throw DataError(path_ + ": cannot rename " + temp_ + " into place: " + ec.message());
  }
}

// ---- DatasetWriter -----------------------------------------------------------

DatasetWriter::DatasetWriter(hid_t file, std::string name, DType type, std::uint64_t rows,
                             std::uint64_t cols)
    : file_(display_name(file)), name_(std::move(name)), type_(type), rows_(rows), cols_(cols) {
  const std::uint64_t row_bytes = (cols_ == 0 ? 1 : cols_) * dtype_size(type_);
  block_rows_ = std::max<std::uint64_t>(1, kDigestBlockBytes / std::max<std::uint64_t>(1, row_bytes));
  const hsize_t dims[2] = {rows_, cols_};
  Space space(H5Screate_simple(cols_ == 0 ? 1 : 2, dims, nullptr));
  Plist lcpl(H5Pcreate(H5P_LINK_CREATE));
  if (!space.valid() || !lcpl.valid() || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
    fail(file_, "cannot set up dataset " + name_);
  }
  // Default creation properties give a contiguous layout, allocated at the first
  // write and never pre-filled: large datasets are written once, not twice.
  ds_ = Dataset(
      H5Dcreate2(file, name_.c_str(), file_type(type_), space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  if (!ds_.valid()) {
    fail(file_, "cannot create dataset " + name_ + " (" + dtype_name(type_) + ", " +
                    std::to_string(rows_) + (cols_ ? " x " + std::to_string(cols_) : "") + ")");
  }
}

void DatasetWriter::write_raw(std::uint64_t r0, std::uint64_t r1, DType type, const void* data) {
  if (type != type_) {
    throw DataError(file_ + ": cannot write " + dtype_name(type) + " values into " + name_ +
                    ", a " + dtype_name(type_) + " dataset");
  }
  if (r0 > r1 || r1 > rows_) {
    throw DataError(file_ + ": row range [" + std::to_string(r0) + ", " + std::to_string(r1) +
                    ") outside dataset " + name_ + " of " + std::to_string(rows_) + " rows");
  }
  if (r0 == r1) return;
  const int rank = cols_ == 0 ? 1 : 2;
  const hsize_t start[2] = {r0, 0};
  const hsize_t count[2] = {r1 - r0, cols_};
  Space file_space(H5Dget_space(ds_));
  Space mem_space(H5Screate_simple(rank, count, nullptr));
  if (!file_space.valid() || !mem_space.valid() ||
      H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
      H5Dwrite(ds_, memory_type(type_), mem_space, file_space, H5P_DEFAULT, data) < 0) {
    fail(file_,
         "cannot write rows [" + std::to_string(r0) + ", " + std::to_string(r1) + ") of " + name_);
  }
  if (r0 == next_row_ && in_order_) {
    const std::uint64_t row_bytes = (cols_ == 0 ? 1 : cols_) * dtype_size(type_);
    hash_.update(data, (r1 - r0) * row_bytes);
    // The same bytes, cut at the block boundaries.
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::uint64_t r = r0; r < r1;) {
      const std::uint64_t block_end = std::min(r1, (r / block_rows_ + 1) * block_rows_);
      block_hash_.update(bytes + (r - r0) * row_bytes, (block_end - r) * row_bytes);
      r = block_end;
      if (r % block_rows_ == 0 || r == rows_) {
        const std::array<unsigned char, 32> digest = block_hash_.digest();
        blocks_.insert(blocks_.end(), digest.begin(), digest.end());
        block_hash_ = Sha256();
      }
    }
    next_row_ = r1;
  } else {
    in_order_ = false;
  }
}

std::string DatasetWriter::sha256() const {
  if (!in_order_ || next_row_ != rows_) {
    throw DataError(file_ + ": no content hash for " + name_ +
                    ": its rows were not written exactly once in order");
  }
  return hash_.hex();
}

std::vector<unsigned char> DatasetWriter::block_digests() const {
  sha256();  // throws unless every row was hashed in order
  return blocks_;
}

// ---- attributes --------------------------------------------------------------

namespace {

void write_scalar_attribute(hid_t loc, const std::string& object, const std::string& name,
                            hid_t stored, hid_t memory, const void* value) {
  const std::string file = display_name(loc);
  const std::string where = "attribute " + name + " on " + object;
  if (H5Aexists_by_name(loc, object.c_str(), name.c_str(), H5P_DEFAULT) > 0 &&
      H5Adelete_by_name(loc, object.c_str(), name.c_str(), H5P_DEFAULT) < 0) {
    fail(file, "cannot replace " + where);
  }
  Space scalar(H5Screate(H5S_SCALAR));
  Attr attr(H5Acreate_by_name(loc, object.c_str(), name.c_str(), stored, scalar, H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr, memory, value) < 0) fail(file, "cannot write " + where);
}

}  // namespace

void write_attribute(hid_t loc, const std::string& object, const std::string& name,
                     std::string_view value) {
  // HDF5 cannot make a zero-sized string type; one NUL byte stands for "".
  Type str(H5Tcopy(H5T_C_S1));
  if (!str.valid() || H5Tset_size(str, std::max<std::size_t>(value.size(), 1)) < 0 ||
      H5Tset_strpad(str, H5T_STR_NULLPAD) < 0 || H5Tset_cset(str, H5T_CSET_UTF8) < 0) {
    fail("HDF5", "cannot make a string type for attribute " + name);
  }
  const std::string padded = value.empty() ? std::string(1, '\0') : std::string(value);
  write_scalar_attribute(loc, object, name, str, str, padded.data());
}

void write_attribute(hid_t loc, const std::string& object, const std::string& name, double value) {
  write_scalar_attribute(loc, object, name, file_type(DType::f64), memory_type(DType::f64), &value);
}

}  // namespace hpcb::h5
