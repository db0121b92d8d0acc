// Helpers for the data-layer tests: a scratch folder removed after each test,
// raw file writers (plain and gzip), and HDF5 read-back through the C API alone
// (so the writer is checked against the library, not against itself).
#pragma once

#include <hdf5.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace hpcb::datatest {

class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<unsigned> counter{0};
    const auto tag = std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                     std::to_string(std::random_device{}());
    path_ = std::filesystem::temp_directory_path() / ("hpcb-data-test-" + tag);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

  // Names of everything in the folder (to catch left-over temporaries).
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write test file " + path);
}

inline void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write test file " + path);
  const int wrote =
      bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  if (wrote != static_cast<int>(bytes.size())) throw std::runtime_error("gzwrite failed: " + path);
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Big-endian uint32, as in IDX headers.
inline std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// ---- HDF5 read-back ------------------------------------------------------------

struct H5Closer {
  hid_t id;
  herr_t (*close)(hid_t);
  ~H5Closer() {
    if (id >= 0) close(id);
  }
};

inline std::vector<hsize_t> h5_dims(const std::string& file, const std::string& dataset) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5Closer cf{f, H5Fclose};
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  H5Closer cd{d, H5Dclose};
  hid_t s = H5Dget_space(d);
  H5Closer cs{s, H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(s);
  if (rank < 0) throw std::runtime_error("cannot read dataset " + dataset + " of " + file);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(s, dims.data(), nullptr);
  return dims;
}

// The whole dataset, converted to T by HDF5.
template <class T>
std::vector<T> h5_read_all(const std::string& file, const std::string& dataset, hid_t memtype) {
  std::size_t count = 1;
  for (hsize_t d : h5_dims(file, dataset)) count *= d;
  std::vector<T> out(count);
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5Closer cf{f, H5Fclose};
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  H5Closer cd{d, H5Dclose};
  if (count > 0 && H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    throw std::runtime_error("cannot read dataset " + dataset + " of " + file);
  }
  return out;
}

// Fixed-length string attribute on `object` ("/" or a dataset path).
inline std::string h5_string_attr(const std::string& file, const std::string& object,
                                  const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5Closer cf{f, H5Fclose};
  hid_t a = H5Aopen_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  H5Closer ca{a, H5Aclose};
  hid_t t = H5Aget_type(a);
  H5Closer ct{t, H5Tclose};
  if (a < 0 || t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0) {
    throw std::runtime_error("no fixed-length string attribute " + name + " on " + object);
  }
  std::string value(H5Tget_size(t), '\0');
  if (H5Aread(a, t, value.data()) < 0) throw std::runtime_error("cannot read attribute " + name);
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

inline double h5_double_attr(const std::string& file, const std::string& object,
                             const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5Closer cf{f, H5Fclose};
  hid_t a = H5Aopen_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  H5Closer ca{a, H5Aclose};
  double v = 0;
  if (a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) {
    throw std::runtime_error("cannot read attribute " + name + " on " + object);
  }
  return v;
}

inline bool h5_has_attr(const std::string& file, const std::string& object,
                        const std::string& name) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5Closer cf{f, H5Fclose};
  return H5Aexists_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

}  // namespace hpcb::datatest
