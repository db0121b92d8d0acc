#include "nlreg/samples.hpp"

#include <cmath>

#include "common/error.hpp"
#include "io/data_identity.hpp"
#include "io/h5_read.hpp"
#include "io/h5_probe.hpp"
#include "io/team_read.hpp"
#include "team/layout.hpp"

namespace hpcb {
namespace {

void check_finite(const Samples& s, const std::vector<double>& v, const char* name) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw DataError(s.path + ": dataset " + name + " has a " + (std::isnan(v[i]) ? "NaN" : "infinite") +
                      " value at row " + std::to_string(s.row0 + static_cast<std::int64_t>(i)));
}

Samples read_samples(const Team& team, const std::string& path, bool distributed, VerifyMode mode) {
  H5Reader file(path, distributed ? team.native_comm() : nullptr);
  Samples s;
  s.path = path;
  const ArrayInfo x = file.info("/x", 1);
  const ArrayInfo y = file.info("/y", 1);
  if (x.dims[0] != y.dims[0])
    throw DataError(path + ": datasets /x and /y differ in length (" + std::to_string(x.dims[0]) + " and " +
                    std::to_string(y.dims[0]) + ")");
  s.n = x.dims[0];
  s.content_sha256 = file.root_string("content_sha256").value_or("");
  const auto [r0, r1] = group_rows(team, s.n, distributed, path);
  s.row0 = r0;
  check_allocation(path + ": rows " + std::to_string(r0) + ".." + std::to_string(r1) + " of /x and /y", 2 * (r1 - r0),
                   sizeof(double));
  s.x.resize(static_cast<std::size_t>(r1 - r0));
  s.y.resize(static_cast<std::size_t>(r1 - r0));
  file.read_rows("/x", r0, r1, DType::f64, s.x.data());
  file.read_rows("/y", r0, r1, DType::f64, s.y.data());
  const RowsCheck x_check(file, "/x", x, DType::f64, r0, r1, mode);
  const RowsCheck y_check(file, "/y", y, DType::f64, r0, r1, mode);
  // Every collective read is done: from here a rank may throw on its own.
  if (mode != VerifyMode::never) check_content_attributes(file, s.content_sha256, {"/x", "/y"});
  s.verified = x_check.check(s.x.data());
  s.verified = y_check.check(s.y.data()) && s.verified;
  require_verified(mode, s.verified, path);
  s.identity = data_identity(path, s.content_sha256);
  check_finite(s, s.x, "/x");
  check_finite(s, s.y, "/y");
  return s;
}

}  // namespace

std::shared_ptr<const Samples> load_samples(Team& team, const std::string& path, VerifyMode mode) {
  // What read_samples reads (the data, and the digests verify.hpp checks them against), walked
  // first in a child process (io/h5_probe.hpp).
  check_h5_walk_on_team(team, path, {{{"/x", 1, DType::f64}, {"/y", 1, DType::f64},
                                      {"/sha256_blocks/x", 2, DType::u8}, {"/sha256_blocks/y", 2, DType::u8}},
                                     {{"/", "content_sha256"}, {"/x", "sha256"}, {"/y", "sha256"}},
                                     {{"/sha256_blocks/x", "block_rows"}, {"/sha256_blocks/y", "block_rows"}}});
  return read_on_team<Samples>(team, [&](bool distributed) { return read_samples(team, path, distributed, mode); });
}

}  // namespace hpcb
