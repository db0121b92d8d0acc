// Synthetic data sets from the counter-based RNG (common/rng.hpp). Every value is
// a pure function of (seed, row, column), so the files are written in chunks of
// rows, never held in memory whole, and do not depend on the chunk size. The
// exact formulas are in datasets/README.md.
#pragma once

#include <cstdint>
#include <string>

#include "io/h5_write.hpp"
#include "tools/content.hpp"

namespace hpcb::tools {

// RNG streams (the second argument of rng::uniform01 / rng::normal).
inline constexpr std::uint64_t kBlobCenterStream = 1;  // index c*d + j
inline constexpr std::uint64_t kBlobLabelStream = 2;   // index i
inline constexpr std::uint64_t kBlobNoiseStream = 3;   // index i*d + j
inline constexpr std::uint64_t kQuadXStream = 1;       // index i
inline constexpr std::uint64_t kQuadNoiseStream = 2;   // index i

// Bytes of /X generated per chunk when chunk_rows is 0 (automatic): large enough
// for efficient HDF5 writes, small enough for any machine.
inline constexpr std::uint64_t kChunkBytes = std::uint64_t{16} << 20;

struct BlobsParams {
  std::uint64_t n = 0;  // rows
  std::uint64_t d = 0;  // columns
  std::uint64_t k = 0;  // clusters
  std::uint64_t seed = 0;
  double stddev = 1.0;               // standard deviation of each coordinate around its center
  double box = 10.0;                 // centers uniform in [-box, box]^d
  h5::DType dtype = h5::DType::f64;  // f32 or f64
  std::uint64_t chunk_rows = 0;      // 0: about kChunkBytes of /X per chunk
};

struct QuadraticParams {
  std::uint64_t n = 0;
  double a = 0, b = 0, c = 0;
  double noise = 0;  // standard deviation of the additive Gaussian noise
  double xmin = 0, xmax = 10;
  std::uint64_t seed = 0;
  std::uint64_t chunk_rows = 0;  // 0: about kChunkBytes per chunk
};

// Throw UsageError on parameters that cannot make a file (n = 0, k > n, ...).
void validate(const BlobsParams& p);
void validate(const QuadraticParams& p);

// The `generator` attribute: name and every parameter.
std::string describe(const BlobsParams& p);
std::string describe(const QuadraticParams& p);

// Validate, then write /X, /labels, /centers (blobs) or /x, /y, /true_params
// (quadratic) to `out` atomically.
Written write_blobs(const BlobsParams& p, const std::string& out);
Written write_quadratic(const QuadraticParams& p, const std::string& out);

}  // namespace hpcb::tools
