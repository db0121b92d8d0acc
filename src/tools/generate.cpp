#include "tools/generate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace hpcb::tools {

// Every multiply-add below is an explicit std::fma: left to the compiler, the
// contraction of a*b + c into one instruction depends on the flags (-march), and
// the same command would write different files on different builds.

namespace {

// rng::normal(seed, stream, i) draws from indices 2i and 2i+1, so the element index
// i*d + j must stay below 2^63 for distinct values.
constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 62;
// /centers is held in memory.
constexpr std::uint64_t kMaxCenterValues = std::uint64_t{1} << 27;

void require(bool ok, const std::string& message) {
  if (!ok) throw UsageError(message);
}

std::uint64_t rows_per_chunk(std::uint64_t requested, std::uint64_t row_bytes, std::uint64_t n) {
  const std::uint64_t rows =
      requested ? requested : std::max<std::uint64_t>(1, kChunkBytes / row_bytes);
  return std::min(rows, n);
}

template <class T>
void write_blob_rows(const BlobsParams& p, const std::vector<double>& centers,
                     h5::DatasetWriter& x_out, h5::DatasetWriter& labels_out) {
  const std::uint64_t chunk = rows_per_chunk(p.chunk_rows, p.d * sizeof(T), p.n);
  std::vector<T> x(chunk * p.d);
  std::vector<std::int32_t> labels(chunk);
  const double kd = static_cast<double>(p.k);
  for (std::uint64_t r0 = 0; r0 < p.n; r0 += chunk) {
    const std::uint64_t r1 = std::min(p.n, r0 + chunk);
    // Rows are independent, so threads may share the chunk in any way.
#pragma omp parallel for schedule(static)
    for (std::uint64_t i = r0; i < r1; ++i) {
      // u < 1, but u * k can round up to k for huge k: clamp.
      const auto c = std::min(
          p.k - 1, static_cast<std::uint64_t>(rng::uniform01(p.seed, kBlobLabelStream, i) * kd));
      labels[i - r0] = static_cast<std::int32_t>(c);
      T* row = &x[(i - r0) * p.d];
      for (std::uint64_t j = 0; j < p.d; ++j) {
        const double z = rng::normal(p.seed, kBlobNoiseStream, i * p.d + j);
        row[j] = static_cast<T>(std::fma(p.stddev, z, centers[c * p.d + j]));
      }
    }
    x_out.write_rows(r0, r1, x.data());
    labels_out.write_rows(r0, r1, labels.data());
  }
}

}  // namespace

void validate(const BlobsParams& p) {
  require(p.n >= 1, "blobs: --n must be at least 1");
  require(p.d >= 1, "blobs: --d must be at least 1");
  require(p.k >= 1, "blobs: --k must be at least 1");
  require(p.k <= p.n, "blobs: --k " + std::to_string(p.k) + " exceeds --n " + std::to_string(p.n));
  require(p.k <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()),
          "blobs: --k " + std::to_string(p.k) + " does not fit the int32 labels");
  require(p.n <= kMaxElements / p.d,
          "blobs: --n " + std::to_string(p.n) + " x --d " + std::to_string(p.d) + " is too large");
  require(p.k <= kMaxCenterValues / p.d, "blobs: --k " + std::to_string(p.k) + " x --d " +
                                             std::to_string(p.d) + " centers are too many");
  require(std::isfinite(p.stddev) && p.stddev >= 0, "blobs: --std must be finite and >= 0");
  require(std::isfinite(p.box) && p.box > 0, "blobs: --box must be finite and > 0");
  require(p.dtype == h5::DType::f32 || p.dtype == h5::DType::f64,
          "blobs: --dtype must be float32 or float64");
}

void validate(const QuadraticParams& p) {
  require(p.n >= 1, "quadratic: --n must be at least 1");
  require(std::isfinite(p.a) && std::isfinite(p.b) && std::isfinite(p.c),
          "quadratic: --a, --b and --c must be finite");
  require(std::isfinite(p.noise) && p.noise >= 0, "quadratic: --noise must be finite and >= 0");
  require(std::isfinite(p.xmin) && std::isfinite(p.xmax) && p.xmin < p.xmax,
          "quadratic: need finite --xmin < --xmax, got " + format_double(p.xmin) + " and " +
              format_double(p.xmax));
}

std::string describe(const BlobsParams& p) {
  return "blobs n=" + std::to_string(p.n) + " d=" + std::to_string(p.d) +
         " k=" + std::to_string(p.k) + " seed=" + std::to_string(p.seed) +
         " std=" + format_double(p.stddev) + " box=" + format_double(p.box) +
         " dtype=" + h5::dtype_name(p.dtype);
}

std::string describe(const QuadraticParams& p) {
  return "quadratic n=" + std::to_string(p.n) + " a=" + format_double(p.a) +
         " b=" + format_double(p.b) + " c=" + format_double(p.c) +
         " noise=" + format_double(p.noise) + " xmin=" + format_double(p.xmin) +
         " xmax=" + format_double(p.xmax) + " seed=" + std::to_string(p.seed);
}

Written write_blobs(const BlobsParams& p, const std::string& out) {
  validate(p);
  std::vector<double> centers(p.k * p.d);
  for (std::uint64_t e = 0; e < centers.size(); ++e) {
    centers[e] = std::fma(2 * p.box, rng::uniform01(p.seed, kBlobCenterStream, e), -p.box);
  }

  h5::AtomicH5File f(out);
  h5::DatasetWriter x(f, "/X", p.dtype, p.n, p.d);
  h5::DatasetWriter labels(f, "/labels", h5::DType::i32, p.n);
  if (p.dtype == h5::DType::f32) {
    write_blob_rows<float>(p, centers, x, labels);
  } else {
    write_blob_rows<double>(p, centers, x, labels);
  }
  h5::write_matrix(f, "/centers", p.k, p.d, centers.data());
  h5::write_attribute(f, "/", "source",
                      "synthetic: Gaussian blobs around k uniform random centers, made by mkdata "
                      "(formulas in datasets/README.md)");
  h5::write_attribute(f, "/", "generator", describe(p));
  Written w{out,
            "/X " + std::string(h5::dtype_name(p.dtype)) + " " + std::to_string(p.n) + " x " +
                std::to_string(p.d) + ", /labels int32 " + std::to_string(p.n) + " (" +
                std::to_string(p.k) + " clusters)",
            write_content_hash(f, {{"/X", finish_content(f, x)}, {"/labels", finish_content(f, labels)}})};
  f.commit();
  return w;
}

Written write_quadratic(const QuadraticParams& p, const std::string& out) {
  validate(p);
  h5::AtomicH5File f(out);
  h5::DatasetWriter x_out(f, "/x", h5::DType::f64, p.n);
  h5::DatasetWriter y_out(f, "/y", h5::DType::f64, p.n);
  const std::uint64_t chunk = rows_per_chunk(p.chunk_rows, 2 * sizeof(double), p.n);
  std::vector<double> x(chunk), y(chunk);
  for (std::uint64_t r0 = 0; r0 < p.n; r0 += chunk) {
    const std::uint64_t r1 = std::min(p.n, r0 + chunk);
#pragma omp parallel for schedule(static)
    for (std::uint64_t i = r0; i < r1; ++i) {
      const double xi = std::fma(p.xmax - p.xmin, rng::uniform01(p.seed, kQuadXStream, i), p.xmin);
      const double clean = std::fma(std::fma(p.a, xi, p.b), xi, p.c);
      x[i - r0] = xi;
      y[i - r0] = std::fma(p.noise, rng::normal(p.seed, kQuadNoiseStream, i), clean);
    }
    x_out.write_rows(r0, r1, x.data());
    y_out.write_rows(r0, r1, y.data());
  }
  h5::write_vector(f, "/true_params", std::vector<double>{p.a, p.b, p.c});
  h5::write_attribute(f, "/", "source",
                      "synthetic: y = a x^2 + b x + c + Gaussian noise, x uniform in [xmin, xmax], "
                      "made by mkdata (formulas in datasets/README.md)");
  h5::write_attribute(f, "/", "generator", describe(p));
  Written w{out, "/x, /y float64 " + std::to_string(p.n),
            write_content_hash(f, {{"/x", finish_content(f, x_out)}, {"/y", finish_content(f, y_out)}})};
  f.commit();
  return w;
}

}  // namespace hpcb::tools
