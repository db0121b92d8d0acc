// The fuzz targets' bodies, shared by the libFuzzer entry points (fuzz_*.cpp)
// and the unit test that replays every saved input (tests/unit/test_fuzz_regressions.cpp),
// so a regression input goes through exactly the code the fuzzer ran it through.
//
// Each target takes a file path (the parsers' own entry points take paths) and
// checks the parsers' contract on whatever the file holds:
//   - the only exception a parser may throw is hpcb::DataError (a one-line,
//     non-empty message naming the file); anything else (std::bad_alloc,
//     std::length_error, std::out_of_range, ...) escapes and is a finding;
//   - what a parser accepts satisfies the invariants its header promises
//     (shapes consistent, values finite, no empty tables); a violation throws
//     Violation, which is not a DataError and so escapes too.
// Under libFuzzer an escaping exception aborts the run (a crash with the input
// saved); under GoogleTest it fails the test with the message.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "io/csv.hpp"
#include "io/h5_probe.hpp"
#include "io/h5_read.hpp"
#include "io/idx.hpp"

namespace hpcb::fuzz {

// A broken promise of a parser (as opposed to a rejected input).
class Violation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

inline void expect(bool ok, const std::string& what) {
  if (!ok) throw Violation("fuzz contract violated: " + what);
}

// A DataError is the accepted way to refuse an input; its message must still be
// one non-empty line, since the executables print it as their error line.
inline void check_message(const DataError& e) {
  const std::string m = e.what();
  expect(!m.empty(), "empty DataError message");
  expect(m.find('\n') == std::string::npos, "DataError message spans lines: " + m.substr(0, 200));
}

// The fuzz input as a file, since the parsers take paths: a new file per input
// in /dev/shm (memory; else TMPDIR or /tmp), removed afterwards. Not a memfd:
// HDF5 resolves /proc/self/fd/N to its target name and fails. A new name per
// input, because HDF5 recognises a file it still has open and would reuse it.
class MemFile {
 public:
  MemFile(const std::uint8_t* data, std::size_t size) {
    static unsigned long counter = 0;
    static const std::string dir = [] {
      if (access("/dev/shm", W_OK) == 0) return std::string("/dev/shm");
      const char* t = std::getenv("TMPDIR");
      return std::string(t && *t ? t : "/tmp");
    }();
    path_ = dir + "/hpcb-fuzz-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + path_);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = write(fd, data + done, size - done);
      if (n <= 0) {
        close(fd);
        unlink(path_.c_str());
        throw std::runtime_error("cannot write " + path_);
      }
      done += static_cast<std::size_t>(n);
    }
    close(fd);
  }
  ~MemFile() { unlink(path_.c_str()); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- IDX (MNIST) ---------------------------------------------------------------

inline void idx_target(const std::string& path) {
  try {
    const idx::Images im = idx::read_images(path);
    expect(im.count > 0 && im.rows > 0 && im.cols > 0, "read_images accepted a zero dimension");
    expect(im.count * im.rows * im.cols <= idx::kMaxElements, "read_images accepted more than kMaxElements");
    expect(im.pixels.size() == im.count * im.rows * im.cols, "read_images: pixels.size() != count*rows*cols");
  } catch (const DataError& e) {
    check_message(e);
  }
  try {
    const std::vector<std::uint8_t> labels = idx::read_labels(path);
    expect(!labels.empty(), "read_labels accepted an empty file");
  } catch (const DataError& e) {
    check_message(e);
  }
}

// ---- CSV -----------------------------------------------------------------------

inline void check_table(const csv::Table& t, std::size_t cols) {
  expect(t.cols == cols, "read_table: cols differs from the request");
  expect(t.rows() > 0, "read_table accepted a table with no data rows");
  expect(t.values.size() == t.rows() * cols, "read_table: values.size() is not rows x cols");
  expect(t.header.empty() || t.header.size() == cols, "read_table: header has the wrong field count");
  for (double v : t.values) expect(std::isfinite(v), "read_table accepted a non-finite value");
}

inline void csv_target(const std::string& path) {
  try {
    const csv::XY xy = csv::read_xy(path);
    expect(!xy.x.empty() && xy.x.size() == xy.y.size(), "read_xy: x and y empty or of different lengths");
    for (std::size_t i = 0; i < xy.x.size(); ++i)
      expect(std::isfinite(xy.x[i]) && std::isfinite(xy.y[i]), "read_xy accepted a non-finite value");
  } catch (const DataError& e) {
    check_message(e);
  }
  // Also as a table of as many columns as the first line has fields (on the raw
  // bytes: arbitrary for gzip input, which is fine), and as scikit-learn's digits.
  const std::string raw = file_bytes(path);
  const std::size_t first_line = std::min(raw.find('\n'), raw.size());
  const std::size_t fields = 1 + static_cast<std::size_t>(std::count(raw.begin(), raw.begin() + first_line, ','));
  for (const std::size_t cols : {std::min<std::size_t>(fields, 256), std::size_t{65}}) {
    try {
      check_table(csv::read_table(path, cols), cols);
    } catch (const DataError& e) {
      check_message(e);
    }
  }
}

// ---- HDF5 ----------------------------------------------------------------------

// Mirrors what the executables do with an input file (kmeans/points.cpp,
// nlreg/samples.cpp): open, check each dataset, check the allocation, read rows,
// read the root attributes. Reads are bounded so a large but valid header costs
// no time; the allocation check still sees the full size.
// guarded: first the executables' guard against crashes inside HDF5 (the walk in
// a child process, io/h5_probe.hpp), as the unit test replays saved inputs; the
// fuzzer calls HDF5 unguarded, to see those crashes (and their coverage).
inline void h5_target(const std::string& path, bool guarded = false) {
  if (guarded) {
    try {
      check_h5_walk(path, {{{"/X", 2, DType::f64}, {"/x", 1, {}}, {"/y", 1, {}}, {"/labels", 1, {}}, {"/centroids", 2, {}}},
                           {{"/", "content_sha256"}, {"/", "source"}, {"/", "generator"}},
                           {{"/X", "scale"}}});
    } catch (const DataError& e) {
      check_message(e);
      return;
    }
  }
  try {
    const H5Reader file(path);
    struct Want {
      const char* name;
      int rank;
    };
    for (const Want w : {Want{"/X", 2}, Want{"/x", 1}, Want{"/y", 1}, Want{"/labels", 1}, Want{"/centroids", 2}}) {
      try {
        const ArrayInfo info = file.info(w.name, w.rank);
        expect(info.dims.size() == static_cast<std::size_t>(w.rank), "info: dims.size() != rank");
        std::int64_t row = 1;
        for (std::size_t i = 0; i < info.dims.size(); ++i) {
          expect(info.dims[i] > 0, "info accepted a non-positive dimension");
          if (i > 0) row = row > INT64_MAX / info.dims[i] ? INT64_MAX : row * info.dims[i];
        }
        const std::int64_t n = info.dims[0];
        if (row > 0 && n > INT64_MAX / row) throw DataError(path + ": impossible size");
        check_allocation(path + ": " + w.name, n * row, dtype_size(info.dtype));
        // At most 64 rows and 64 Ki values; the first rows and the last row.
        const std::int64_t rows = std::min<std::int64_t>(n, 64);
        if (row <= (std::int64_t{1} << 16) / rows) {
          std::vector<double> buf(static_cast<std::size_t>(rows * row));
          file.read_rows(w.name, 0, rows, DType::f64, buf.data());
          std::vector<std::uint8_t> last(static_cast<std::size_t>(row) * 8);
          file.read_rows(w.name, n - 1, n, info.dtype, last.data());
          file.read_rows(w.name, n, n, info.dtype, last.data());  // an empty selection, as ranks without rows do
        }
      } catch (const DataError& e) {
        check_message(e);
      }
    }
    for (const char* attr : {"content_sha256", "source", "generator"}) {
      if (auto s = file.root_string(attr)) expect(s->find('\0') == std::string::npos, "root_string kept a NUL");
    }
    try {
      (void)file.dataset_double("/X", "scale");
    } catch (const DataError& e) {
      check_message(e);
    }
  } catch (const DataError& e) {
    check_message(e);
  }
}

}  // namespace hpcb::fuzz
