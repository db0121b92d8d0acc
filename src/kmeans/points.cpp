#include "kmeans/points.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>

#include "common/error.hpp"
#include "io/data_identity.hpp"
#include "io/h5_probe.hpp"
#include "io/team_read.hpp"
#include "kmeans/kmeans_core.hpp"
#include "team/layout.hpp"

namespace hpcb {
namespace {

// Labels above this are surely not class labels (and would make the
// confusion matrix huge).
constexpr std::int32_t kMaxLabel = 1 << 16;

// The largest |value| of the rows (the M-step's fixed-point scale needs it), scanned slab by
// slab as the reader lands them; where a value is not finite, the first one is named.
template <class T>
struct MaxAbsScan {
  const Points& p;
  double max_abs = 0;
  bool finite = true;
  void operator()(std::int64_t lo, std::int64_t hi) {
    const double m = kmeans::max_abs(p.row<T>(lo), (hi - lo) * p.d);
    if (std::isfinite(m))
      max_abs = std::max(max_abs, m);
    else
      finite = false;
  }
  double result() const {
    if (finite) return max_abs;
    const T* v = p.row<T>(p.row0);
    for (std::int64_t i = 0; i < p.rows * p.d; ++i)
      if (!std::isfinite(v[i]))
        throw DataError(p.path + ": dataset /X has a " + (std::isnan(v[i]) ? "NaN" : "infinite") + " value at row " +
                        std::to_string(p.row0 + i / p.d) + ", column " + std::to_string(i % p.d));
    return max_abs;
  }
};

// Values so large that the squared distances overflow: the E-step's (float for uint8 and
// float32 rows, double for float64) of one row against a centroid (a mean of rows: every
// coordinate within the same bound), at most 4 d M^2 for values of magnitude M times the
// scale, or the inertia's sum of n of them in double. Found by fuzzing: a float64 file with
// values of 1e289 ran to an infinite inertia and failed its validation (exit status 3).
void check_magnitude(const Points& p) {
  const double most = (p.dtype == DType::u8 ? 255.0 : p.max_abs) * p.scale;
  const double d = static_cast<double>(std::max<std::int64_t>(p.d, 1)), n = static_cast<double>(std::max<std::int64_t>(p.n, 1));
  // A factor 2 of headroom for the rounding of the sums.
  const double type_max = p.dtype == DType::f64 ? std::numeric_limits<double>::max() : std::numeric_limits<float>::max();
  const double limit = std::min(std::sqrt(type_max / (8 * d)), std::sqrt(std::numeric_limits<double>::max() / (8 * d * n)));
  if (!(most <= limit)) {
    char text[160];
    std::snprintf(text, sizeof text, ": dataset /X has values up to %.3g%s; above %.3g the squared distances overflow %s",
                  most, p.scale != 1 ? " (times its scale)" : "", limit, p.dtype == DType::f64 ? "float64" : "float32");
    throw DataError(p.path + text);
  }
}

Points read_points(const Team& team, const std::string& path, bool distributed, VerifyMode mode) {
  H5Reader file(path, distributed ? team.native_comm() : nullptr);
  Points p;
  p.path = path;
  const ArrayInfo x = file.info("/X", 2);
  if (x.dtype == DType::i32)
    throw DataError(path + ": dataset /X must be uint8, float32 or float64, not a wide integer type");
  p.n = x.dims[0];
  p.d = x.dims[1];
  p.dtype = x.dtype;
  if (auto s = file.dataset_double("/X", "scale")) {
    if (!std::isfinite(*s) || *s <= 0)
      throw DataError(path + ": attribute scale of /X must be a positive number, got " + std::to_string(*s));
    p.scale = *s;
  }
  p.content_sha256 = file.root_string("content_sha256").value_or("");
  const auto [r0, r1] = group_rows(team, p.n, distributed, path);
  p.row0 = r0;
  p.rows = r1 - r0;
  if (p.d > 0 && p.rows > INT64_MAX / p.d) throw DataError(path + ": dataset /X claims an impossible size");
  check_allocation(path + ": rows " + std::to_string(r0) + ".." + std::to_string(r1) + " of /X", p.rows * p.d,
                   dtype_size(p.dtype));
  p.X.resize(static_cast<std::size_t>(p.rows * p.d) * dtype_size(p.dtype));
  MaxAbsScan<float> scan32{p};
  MaxAbsScan<double> scan64{p};
  H5Reader::SlabFn scan;
  if (p.dtype == DType::f32) scan = std::ref(scan32);
  if (p.dtype == DType::f64) scan = std::ref(scan64);
  file.read_rows("/X", r0, r1, p.dtype, p.X.data(), scan);
  const RowsCheck x_check(file, "/X", x, p.dtype, r0, r1, mode);

  std::optional<RowsCheck> labels_check;
  p.has_labels = file.has("/labels");
  if (p.has_labels) {
    const ArrayInfo l = file.info("/labels", 1);
    if (l.dtype != DType::i32 && l.dtype != DType::u8)
      throw DataError(path + ": dataset /labels must hold integers");
    if (l.dims[0] != p.n)
      throw DataError(path + ": dataset /labels has " + std::to_string(l.dims[0]) + " entries but /X has " +
                      std::to_string(p.n) + " rows");
    p.labels.resize(static_cast<std::size_t>(p.rows));
    file.read_rows("/labels", r0, r1, DType::i32, p.labels.data());
    labels_check.emplace(file, "/labels", l, DType::i32, r0, r1, mode);
  }
  // Every collective read is done: from here a rank may throw on its own.
  if (mode != VerifyMode::never)
    check_content_attributes(file, p.content_sha256, p.has_labels ? std::vector<std::string>{"/X", "/labels"}
                                                                  : std::vector<std::string>{"/X"});
  p.verified = x_check.check(p.X.data());
  if (labels_check) p.verified = labels_check->check(p.labels.data()) && p.verified;
  require_verified(mode, p.verified, path);
  p.identity = data_identity(path, p.content_sha256);
  if (p.dtype == DType::f32) p.max_abs = scan32.result();
  if (p.dtype == DType::f64) p.max_abs = scan64.result();
  check_magnitude(p);
  if (p.has_labels) {
    for (std::int64_t i = 0; i < p.rows; ++i) {
      const std::int32_t v = p.labels[static_cast<std::size_t>(i)];
      if (v < 0 || v >= kMaxLabel)
        throw DataError(path + ": dataset /labels has value " + std::to_string(v) + " at row " +
                        std::to_string(r0 + i) + " (expected 0.." + std::to_string(kMaxLabel - 1) + ")");
    }
  }
  return p;
}

}  // namespace

std::shared_ptr<const Points> load_points(Team& team, const std::string& path, VerifyMode mode) {
  // What read_points reads (the data, and the digests verify.hpp checks them against), walked
  // first in a child process (io/h5_probe.hpp).
  check_h5_walk_on_team(team, path, {{{"/X", 2, {}}, {"/labels", 1, DType::i32},
                                      {"/sha256_blocks/X", 2, DType::u8}, {"/sha256_blocks/labels", 2, DType::u8}},
                                     {{"/", "content_sha256"}, {"/X", "sha256"}, {"/labels", "sha256"}},
                                     {{"/X", "scale"}, {"/sha256_blocks/X", "block_rows"},
                                      {"/sha256_blocks/labels", "block_rows"}}});
  return read_on_team<Points>(team, [&](bool distributed) { return read_points(team, path, distributed, mode); });
}

}  // namespace hpcb
