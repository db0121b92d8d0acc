// The k-means input: the rows of /X this worker holds (all rows for threads and
// the sequential run, its own slice under MPI) and their true labels, if any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/data_identity.hpp"
#include "io/h5_read.hpp"
#include "io/verify.hpp"
#include "kmeans/aligned.hpp"
#include "team/team.hpp"

namespace hpcb {

struct Points : DataSource {
  std::int64_t n = 0, d = 0;   // global shape of /X
  std::int64_t row0 = 0;       // global index of the first stored row
  std::int64_t rows = 0;       // stored rows
  DType dtype = DType::f64;    // stored element type: uint8, float32 or float64
  double scale = 1.0;          // values are used as X * scale (the /X attribute `scale`)
  bulk_vector<unsigned char> X;        // rows x d elements of dtype, row-major (64-byte aligned: see aligned.hpp)
  double max_abs = 0;                  // float data: the largest |value| of these rows, unscaled (found by the finiteness check)
  std::vector<std::int32_t> labels;    // rows true labels; empty when the file has none
  bool has_labels = false;

  template <class T>
  const T* row(std::int64_t global_row) const {
    return reinterpret_cast<const T*>(X.data()) + (global_row - row0) * d;
  }
};

// Reads `path` for this team (see io/team_read.hpp). Throws AgreedError, on every
// worker, for any problem with the file: missing, not HDF5, no /X, /X not 2-D or
// not uint8/float32/float64, empty, NaN or Inf values, a bad `scale`, /labels of
// the wrong length or with negative values, more MPI ranks than rows, data that
// do not match the file's digests (unless mode is never).
std::shared_ptr<const Points> load_points(Team& team, const std::string& path, VerifyMode mode = VerifyMode::automatic);

}  // namespace hpcb
