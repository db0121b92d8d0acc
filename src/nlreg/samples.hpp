// The regression input: the (x, y) pairs this worker holds (all of them for
// threads and the sequential run, its own slice under MPI).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/data_identity.hpp"
#include "io/verify.hpp"
#include "team/team.hpp"

namespace hpcb {

struct Samples : DataSource {
  std::int64_t n = 0;          // global number of pairs
  std::int64_t row0 = 0;       // global index of the first stored pair
  std::vector<double> x, y;    // stored pairs

  const double* x_at(std::int64_t global_row) const { return x.data() + (global_row - row0); }
  const double* y_at(std::int64_t global_row) const { return y.data() + (global_row - row0); }
};

// Reads /x and /y (1-D, same length, numeric; converted to float64). Throws
// AgreedError on every worker for a missing or non-HDF5 file, missing
// datasets, wrong rank, different lengths, empty data, NaN or Inf values, or
// more MPI ranks than pairs, data that do not match the file's digests (unless
// mode is never).
std::shared_ptr<const Samples> load_samples(Team& team, const std::string& path, VerifyMode mode = VerifyMode::automatic);

}  // namespace hpcb
