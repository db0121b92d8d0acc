// mkdata: converts the raw inputs to the toolkit's HDF5 layout and generates
// synthetic data sets (datasets/README.md). One subcommand per kind of file; each
// writes its output atomically and prints one summary line.
// Exit status: 0 ok, 1 data error, 2 usage error; errors as one line on stderr.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "common/error.hpp"
#include "io/h5_handle.hpp"
#include "io/h5_library.hpp"
#include "tools/convert.hpp"
#include "tools/generate.hpp"

namespace {

using namespace hpcb;

int report(const std::string& message, int status) {
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::cerr << "mkdata: " << line << '\n';
  return status;
}

// Counts and seeds: a plain unsigned integer, or an exact integer in scientific
// notation ("1e10", "2.5e6") for the large sizes; negative values are refused
// (CLI11 would wrap "-5" to 2^64 - 5).
std::uint64_t parse_unsigned(const std::string& option, const std::string& text) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc() && p == end) return v;
  double x = 0;
  auto [q, ec2] = std::from_chars(text.data(), end, x);
  // 2^64 is exactly representable; every double below it that is integral converts.
  if (ec2 == std::errc() && q == end && x >= 0 && x < 0x1p64 && x == std::floor(x)) {
    return static_cast<std::uint64_t>(x);
  }
  throw UsageError(option + " must be a non-negative integer, not '" + text + "'");
}

h5::DType parse_dtype(const std::string& name) {
  if (name == "float32") return h5::DType::f32;
  if (name == "float64") return h5::DType::f64;
  throw UsageError("unknown --dtype '" + name + "' (float32 or float64)");
}

}  // namespace

int main(int argc, char** argv) {
  const hpcb::Hdf5Library hdf5;
  h5::silence_errors();
  CLI::App app{
      "Convert raw data to HDF5 and generate synthetic data sets "
      "(layout: datasets/README.md).",
      "mkdata"};
  app.require_subcommand(1);
  std::string out, images, labels, in, source, dtype;

  auto* mnist = app.add_subcommand("mnist", "MNIST IDX files (plain or .gz) -> /X uint8, /labels");
  mnist->add_option("--images", images, "IDX image file (magic 0x803)")->required();
  mnist->add_option("--labels", labels, "IDX label file (magic 0x801)")->required();

  auto* csv = app.add_subcommand("csv", "two-column numeric CSV -> /x, /y float64");
  csv->add_option("--in", in, "CSV file, optional header line")->required();

  auto* digits = app.add_subcommand("digits", "scikit-learn digits.csv(.gz) -> /X uint8, /labels");
  digits->add_option("--in", in, "digits.csv.gz: 64 pixels then the label per line")->required();

  for (auto* sub : {mnist, csv, digits}) {
    sub->add_option("--source", source,
                    "text of the `source` attribute (default: describes the input)");
  }

  tools::BlobsParams bp;
  auto* blobs = app.add_subcommand("blobs", "Gaussian blobs -> /X, /labels, /centers");
  std::string n, d, k, seed, chunk_rows = "0";
  blobs->add_option("--n", n, "rows")->required()->type_name("UINT");
  blobs->add_option("--d", d, "columns")->required()->type_name("UINT");
  blobs->add_option("--k", k, "clusters")->required()->type_name("UINT");
  blobs->add_option("--seed", seed, "RNG seed")->required()->type_name("UINT");
  blobs->add_option("--dtype", dtype, "float32 or float64")->required();
  blobs->add_option("--std", bp.stddev, "standard deviation around a center")
      ->capture_default_str();
  blobs->add_option("--box", bp.box, "centers uniform in [-box, box]^d")->capture_default_str();
  blobs->add_option("--chunk-rows", chunk_rows, "rows per write (0: automatic; for testing)")
      ->type_name("UINT");

  tools::QuadraticParams qp;
  auto* quad = app.add_subcommand("quadratic", "y = a x^2 + b x + c + noise -> /x, /y float64");
  quad->add_option("--n", n, "rows")->required()->type_name("UINT");
  quad->add_option("--a", qp.a, "coefficient of x^2")->required();
  quad->add_option("--b", qp.b, "coefficient of x")->required();
  quad->add_option("--c", qp.c, "constant")->required();
  quad->add_option("--noise", qp.noise, "standard deviation of the noise")->required();
  quad->add_option("--seed", seed, "RNG seed")->required()->type_name("UINT");
  quad->add_option("--xmin", qp.xmin, "x uniform in [xmin, xmax]")->capture_default_str();
  quad->add_option("--xmax", qp.xmax, "x uniform in [xmin, xmax]")->capture_default_str();
  quad->add_option("--chunk-rows", chunk_rows, "rows per write (0: automatic; for testing)")
      ->type_name("UINT");

  for (auto* sub : {mnist, csv, digits, blobs, quad}) {
    sub->add_option("--out", out, "HDF5 file to write (replaced atomically)")->required();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return report(std::string(e.what()) + " (see mkdata --help)", kUsageError);
  }

  try {
    tools::Written w;
    if (*mnist) {
      w = tools::convert_mnist(images, labels, out, source);
    } else if (*csv) {
      w = tools::convert_csv(in, out, source);
    } else if (*digits) {
      w = tools::convert_digits(in, out, source);
    } else if (*blobs) {
      bp.n = parse_unsigned("--n", n);
      bp.d = parse_unsigned("--d", d);
      bp.k = parse_unsigned("--k", k);
      bp.seed = parse_unsigned("--seed", seed);
      bp.chunk_rows = parse_unsigned("--chunk-rows", chunk_rows);
      bp.dtype = parse_dtype(dtype);
      w = tools::write_blobs(bp, out);
    } else {
      qp.n = parse_unsigned("--n", n);
      qp.seed = parse_unsigned("--seed", seed);
      qp.chunk_rows = parse_unsigned("--chunk-rows", chunk_rows);
      w = tools::write_quadratic(qp, out);
    }
    std::cout << w.summary() << '\n';
    return kOk;
  } catch (const UsageError& e) {
    return report(e.what(), kUsageError);
  } catch (const DataError& e) {
    return report(e.what(), kDataError);
  } catch (const std::exception& e) {
    return report(e.what(), kDataError);
  }
}
