#include "io/h5_read.hpp"

#include <mpi.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace hpcb {
namespace {

// Elements in an attribute: 1 for a scalar or a one-element array, 0 for an
// empty one, more for an array; -1 when the dataspace cannot be read. H5Aread
// writes all of them, so a read into one value must check this first.
hssize_t attribute_elements(hid_t attr) {
  h5::Space space(H5Aget_space(attr));
  return space.valid() ? H5Sget_simple_extent_npoints(space) : -1;
}

// One element stored in full: a damaged file can give an attribute less data
// than its type needs, and HDF5 1.10 then copies past the end of what it read.
bool single_value(hid_t attr, hid_t type) {
  return attribute_elements(attr) == 1 && H5Aget_storage_size(attr) >= H5Tget_size(type);
}

// True for the standard IEEE floats and two's-complement integers (either byte
// order), the only number types HDF5 is asked to convert. A damaged file can
// describe others (a 0-bit integer, a float with overlapping fields) on which
// HDF5 1.10's conversion routines read out of bounds.
bool standard_number(hid_t type) {
  for (const hid_t t : {H5T_IEEE_F32LE, H5T_IEEE_F32BE, H5T_IEEE_F64LE, H5T_IEEE_F64BE, H5T_STD_I8LE, H5T_STD_I8BE,
                        H5T_STD_U8LE, H5T_STD_U8BE, H5T_STD_I16LE, H5T_STD_I16BE, H5T_STD_U16LE, H5T_STD_U16BE,
                        H5T_STD_I32LE, H5T_STD_I32BE, H5T_STD_U32LE, H5T_STD_U32BE, H5T_STD_I64LE, H5T_STD_I64BE,
                        H5T_STD_U64LE, H5T_STD_U64BE})
    if (H5Tequal(type, t) > 0) return true;
  return false;
}

}  // namespace

H5Reader::H5Reader(std::string path, const void* mpi_comm) : path_(std::move(path)) {
  h5::silence_errors();
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) throw DataError(path_ + ": no such file");
  if (std::filesystem::is_directory(path_, ec)) throw DataError(path_ + ": is a directory, not an HDF5 file");
  // HDF5 reports an unreadable file only as a failure; open it ourselves to say why.
  if (std::FILE* probe = std::fopen(path_.c_str(), "rb")) {
    std::fclose(probe);
  } else {
    throw DataError(path_ + ": cannot be read: " + std::strerror(errno));
  }
  const htri_t is_h5 = H5Fis_hdf5(path_.c_str());
  if (is_h5 < 0) throw DataError(path_ + ": cannot be read");
  if (is_h5 == 0) throw DataError(path_ + ": not an HDF5 file");
  h5::Plist fapl(H5Pcreate(H5P_FILE_ACCESS));
#ifdef H5_HAVE_PARALLEL
  if (mpi_comm) {
    H5Pset_fapl_mpio(fapl, *static_cast<const MPI_Comm*>(mpi_comm), MPI_INFO_NULL);
    collective_ = true;
  }
#else
  // Serial HDF5 (the SimGrid build, jobs/smpi.mk: MPICH's parallel HDF5 cannot be linked
  // into an SMPI program): every rank opens the file read-only on its own and reads its
  // own rows with ordinary reads. The only place where that build differs in reading.
  (void)mpi_comm;
#endif
  file_ = h5::File(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, fapl));
  if (!file_.valid()) throw DataError(path_ + ": cannot open as HDF5");
}

std::int64_t ArrayInfo::row_elements() const {
  std::int64_t e = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) e *= dims[i];
  return e;
}

bool H5Reader::has(const std::string& name) const {
  return H5Lexists(file_, name.c_str(), H5P_DEFAULT) > 0 && H5Oexists_by_name(file_, name.c_str(), H5P_DEFAULT) > 0;
}

ArrayInfo H5Reader::info(const std::string& name, int rank) const {
  const std::string where = path_ + ": dataset " + name;
  if (!has(name)) throw DataError(where + " is missing");
  h5::Dataset ds(H5Dopen2(file_, name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) throw DataError(where + " cannot be opened (is it a dataset?)");
  h5::Space space(H5Dget_space(ds));
  const int got = H5Sget_simple_extent_ndims(space);
  if (got != rank)
    throw DataError(where + " has rank " + std::to_string(got) + ", expected " + std::to_string(rank));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  ArrayInfo out;
  for (hsize_t v : dims) {
    if (v == 0) throw DataError(where + " is empty");
    if (v > static_cast<hsize_t>(INT64_MAX)) throw DataError(where + " claims an impossible size");
    out.dims.push_back(static_cast<std::int64_t>(v));
  }
  h5::Type type(H5Dget_type(ds));
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (!standard_number(type)) {
    throw DataError(where + " has an unsupported type (expected uint8, float32, float64 or an integer type)");
  } else if (cls == H5T_FLOAT && size == 4) {
    out.dtype = DType::f32;
  } else if (cls == H5T_FLOAT && size == 8) {
    out.dtype = DType::f64;
  } else if (cls == H5T_INTEGER && size == 1 && H5Tget_sign(type) == H5T_SGN_NONE) {
    out.dtype = DType::u8;
  } else if (cls == H5T_INTEGER && size <= 8) {
    out.dtype = DType::i32;
  } else {
    throw DataError(where + " has an unsupported type (expected uint8, float32, float64 or an integer type)");
  }
  out.exact = H5Tequal(type, h5::file_type(out.dtype)) > 0;
  return out;
}

std::optional<std::string> H5Reader::string_attr(const std::string& object, const std::string& attr) const {
  if ((object != "/" && !has(object)) || H5Aexists_by_name(file_, object.c_str(), attr.c_str(), H5P_DEFAULT) <= 0)
    return std::nullopt;
  h5::Attr a(H5Aopen_by_name(file_, object.c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT));
  if (!a.valid()) return std::nullopt;
  h5::Type type(H5Aget_type(a));
  if (H5Tget_class(type) != H5T_STRING) return std::nullopt;
  if (!single_value(a, type)) return std::nullopt;  // e.g. an array of strings is not one string
  if (H5Tis_variable_str(type) > 0) {
    h5::Type mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));  // HDF5 does not convert between ASCII and UTF-8
    char* value = nullptr;
    if (H5Aread(a, mem, &value) < 0 || !value) return std::nullopt;
    std::string s(value);
    H5free_memory(value);
    return s;
  }
  const std::size_t n = H5Tget_size(type);
  std::string s(n, '\0');
  // Read the stored bytes as they are (any padding, any character set).
  h5::Type mem(H5Tcopy(type));
  if (H5Aread(a, mem, s.data()) < 0) return std::nullopt;
  s.resize(s.find('\0') == std::string::npos ? n : s.find('\0'));
  return s;
}

std::optional<double> H5Reader::dataset_double(const std::string& name, const std::string& attr) const {
  if (!has(name) || H5Aexists_by_name(file_, name.c_str(), attr.c_str(), H5P_DEFAULT) <= 0) return std::nullopt;
  h5::Attr a(H5Aopen_by_name(file_, name.c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT));
  const hssize_t elements = attribute_elements(a);
  if (elements != 1)
    throw DataError(path_ + ": attribute " + attr + " of " + name + " must be a single number, it holds " +
                    std::to_string(elements) + " values");
  h5::Type type(H5Aget_type(a));
  if (!single_value(a, type) || !standard_number(type))
    throw DataError(path_ + ": attribute " + attr + " of " + name + " is not a number");
  double value = 0;
  if (H5Aread(a, h5::memory_type(DType::f64), &value) < 0)
    throw DataError(path_ + ": attribute " + attr + " of " + name + " is not a number");
  return value;
}

void H5Reader::read_rows(const std::string& name, std::int64_t r0, std::int64_t r1, DType memtype, void* out,
                         const SlabFn& each_slab) const {
  const std::string where = path_ + ": dataset " + name;
  h5::Dataset ds(H5Dopen2(file_, name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) throw DataError(where + " cannot be opened");
  h5::Space file_space(H5Dget_space(ds));
  const int rank = file_space.valid() ? H5Sget_simple_extent_ndims(file_space) : -1;
  if (rank < 1) throw DataError(where + ": cannot read its shape");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (H5Sget_simple_extent_dims(file_space, dims.data(), nullptr) < 0) throw DataError(where + ": cannot read its shape");
  if (r0 < 0 || r1 < r0 || static_cast<hsize_t>(r1) > dims[0])
    throw DataError(where + ": rows " + std::to_string(r0) + ".." + std::to_string(r1) + " outside the dataset");
  std::int64_t row_bytes = static_cast<std::int64_t>(dtype_size(memtype));
  for (std::size_t i = 1; i < dims.size(); ++i) row_bytes *= static_cast<std::int64_t>(dims[i]);
  const std::int64_t slab_rows =
      each_slab && !collective_ ? std::max<std::int64_t>(1, kSlabBytes / std::max<std::int64_t>(1, row_bytes)) : r1 - r0;
  h5::Plist xfer(H5Pcreate(H5P_DATASET_XFER));
  if (!xfer.valid()) throw DataError(where + ": cannot set up the read");
#ifdef H5_HAVE_PARALLEL
  if (collective_ && H5Pset_dxpl_mpio(xfer, H5FD_MPIO_COLLECTIVE) < 0) throw DataError(where + ": cannot set up the read");
#endif
  // The extent is checked only after the read: under MPI the read is collective, and a
  // rank that threw before it (seeing the file shorter than another rank did) would leave
  // the others waiting in it. Checked afterwards it also catches a file truncated while
  // being read (HDF5 returns zeros past the end).
  std::int64_t lo = r0;
  do {  // once also for no rows: a rank with none still takes part in the collective read
    const std::int64_t hi = std::min(r1, lo + slab_rows);
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = static_cast<hsize_t>(lo);
    count[0] = static_cast<hsize_t>(hi - lo);
    h5::Space mem_space(H5Screate_simple(rank, count.data(), nullptr));
    if (!mem_space.valid()) throw DataError(where + ": cannot set up the read");
    const herr_t selected = hi > lo ? H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr)
                                    : std::min(H5Sselect_none(file_space), H5Sselect_none(mem_space));
    if (selected < 0) throw DataError(where + ": cannot set up the read");
    if (H5Dread(ds, h5::memory_type(memtype), mem_space, file_space, xfer, static_cast<char*>(out) + (lo - r0) * row_bytes) < 0)
      throw DataError(where + ": read failed (rows " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
    if (each_slab && hi > lo) each_slab(lo, hi);
    lo = hi;
  } while (lo < r1);
  check_extent(ds, where);
}

void H5Reader::check_extent(hid_t ds, const std::string& where) const {
  h5::Plist dcpl(H5Dget_create_plist(ds));
  if (!dcpl.valid() || H5Pget_layout(dcpl) != H5D_CONTIGUOUS) return;  // compact or chunked: HDF5 checks its own index
  h5::Space space(H5Dget_space(ds));
  h5::Type type(H5Dget_type(ds));
  const hssize_t elements = space.valid() ? H5Sget_simple_extent_npoints(space) : -1;
  const std::size_t element = type.valid() ? H5Tget_size(type) : 0;
  if (elements < 0 || element == 0) throw DataError(where + ": cannot read its extent");
  const auto need = static_cast<unsigned long long>(elements) * element;
  const haddr_t offset = H5Dget_offset(ds);
  if (offset == HADDR_UNDEF)  // never written: HDF5 would return fill values
    throw DataError(where + " has no data stored (" + std::to_string(need) + " bytes expected)");
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) throw DataError(path_ + ": cannot be read: " + std::strerror(errno));
  const auto size = static_cast<unsigned long long>(st.st_size);
  if (offset + need > size)
    throw DataError(where + " ends at byte " + std::to_string(offset + need) + " but the file has " +
                    std::to_string(size) + " bytes: the file is truncated");
}

}  // namespace hpcb

namespace hpcb {

void check_allocation(const std::string& what, std::int64_t count, std::size_t element_bytes) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const double physical = pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
  const double bytes = static_cast<double>(count) * static_cast<double>(element_bytes);
  if (count < 0 || (physical > 0 && bytes > physical)) {
    char msg[160];
    std::snprintf(msg, sizeof msg, " would need %.3g GB in this process, more than the %.3g GB of memory here", bytes / 1e9,
                  physical / 1e9);
    throw DataError(what + msg + " (use more MPI ranks or nodes)");
  }
}

}  // namespace hpcb
