// What every file written by mkdata shares: the content checksum attributes and
// the one-line summary (see datasets/README.md for the definitions).
#pragma once

#include <hdf5.h>

#include <cstdint>

#include <string>
#include <utility>
#include <vector>

#include "io/h5_write.hpp"

namespace hpcb::tools {

// Writes attribute `sha256` (the hex digest of its bytes) on each named dataset and
// root attribute `content_sha256` = SHA-256 of those hex digests concatenated in
// the order given; returns the latter.
std::string write_content_hash(hid_t file,
                               const std::vector<std::pair<std::string, std::string>>& parts);

// Finishes a content dataset: writes its per-block digests (io/verify.hpp) and
// returns its SHA-256 hex digest, for write_content_hash.
std::string finish_content(hid_t file, const h5::DatasetWriter& w);

// A whole content dataset in one call (1-D when cols == 0); returns its digest.
template <class T>
std::string write_content(hid_t file, const std::string& name, std::uint64_t rows, std::uint64_t cols, const T* data) {
  h5::DatasetWriter w(file, name, h5::dtype_of_v<T>, rows, cols);
  w.write_rows<T>(0, rows, data);
  return finish_content(file, w);
}

// Shortest text that reads back as the same double ("0.5", "10", "1e-06").
std::string format_double(double v);

// Result of one mkdata subcommand.
struct Written {
  std::string path;
  std::string what;  // e.g. "/X uint8 10000 x 784, /labels int32 10000"
  std::string content_sha256;

  std::string summary() const {
    return "wrote " + path + ": " + what + ", content_sha256 " + content_sha256;
  }
};

}  // namespace hpcb::tools
