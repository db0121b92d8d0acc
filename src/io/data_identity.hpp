// What identifies a run's input for a checkpoint, so that a resume never
// continues on other data that happens to sit at the same path.
#pragma once

#include <string>

namespace hpcb {

// What every workload's input records of its file (Points, Samples).
struct DataSource {
  std::string path;
  std::string content_sha256;  // the file's content_sha256 attribute ("" if absent)
  std::string identity;        // what a checkpoint records of the data (data_identity below)
  bool verified = false;       // the values were checked against the file's digests (io/verify.hpp)
};

// The file's content_sha256 when it has one (then the data were, by default,
// verified against it: io/verify.hpp); otherwise its size, modification time
// and the SHA-256 of its first and last MiB, which any replacement or rewrite
// of the file changes. Throws DataError when the file cannot be read.
std::string data_identity(const std::string& path, const std::string& content_sha256);

}  // namespace hpcb
