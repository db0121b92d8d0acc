#include "tools/convert.hpp"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "io/csv.hpp"
#include "io/h5_write.hpp"
#include "io/idx.hpp"

namespace hpcb::tools {

namespace {

std::string base_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string count_classes(const std::vector<std::int32_t>& labels) {
  return std::to_string(std::set<std::int32_t>(labels.begin(), labels.end()).size()) + " classes";
}

// The layout shared by MNIST and digits: /X uint8, /labels int32, checksums.
Written write_classified(const std::string& out, std::uint64_t n, std::uint64_t d,
                         const std::vector<std::uint8_t>& pixels,
                         const std::vector<std::int32_t>& labels, const std::string& source,
                         const std::string& sha256_raw, bool scaled) {
  h5::AtomicH5File f(out);
  const std::string x_hex = write_content(f, "/X", n, d, pixels.data());
  if (scaled) h5::write_attribute(f, "/X", "scale", 1.0 / 255.0);
  const std::string labels_hex = write_content(f, "/labels", n, 0, labels.data());
  h5::write_attribute(f, "/", "source", source);
  h5::write_attribute(f, "/", "sha256_raw", sha256_raw);
  Written w{out,
            "/X uint8 " + std::to_string(n) + " x " + std::to_string(d) +
                (scaled ? " (scale 1/255)" : "") + ", /labels int32 " + std::to_string(n) + " (" +
                count_classes(labels) + ")",
            write_content_hash(f, {{"/X", x_hex}, {"/labels", labels_hex}})};
  f.commit();
  return w;
}

}  // namespace

Written convert_mnist(const std::string& images, const std::string& labels, const std::string& out,
                      std::string source) {
  const idx::Images im = idx::read_images(images);
  const std::vector<std::uint8_t> raw_labels = idx::read_labels(labels);
  if (raw_labels.size() != im.count) {
    throw DataError(images + " holds " + std::to_string(im.count) + " images but " + labels +
                    " holds " + std::to_string(raw_labels.size()) + " labels");
  }
  std::vector<std::int32_t> lab(raw_labels.begin(), raw_labels.end());
  for (std::size_t i = 0; i < lab.size(); ++i) {
    if (lab[i] > 9) {
      throw DataError(labels + ": label " + std::to_string(lab[i]) + " of image " +
                      std::to_string(i) + " is not a digit 0..9");
    }
  }
  if (source.empty()) {
    const std::string files = base_name(images) + ", " + base_name(labels);
    const std::string shape = std::to_string(im.count) + " images of " + std::to_string(im.rows) +
                              "x" + std::to_string(im.cols) + " pixels";
    source = "MNIST handwritten digits (" + files + "; " + shape +
             ") by Y. LeCun, C. Cortes and C. J. C. Burges, licence CC BY-SA 3.0";
  }
  const std::string raw = "images:" + sha256_file(images) + " labels:" + sha256_file(labels);
  return write_classified(out, im.count, im.rows * im.cols, im.pixels, lab, source, raw, true);
}

Written convert_csv(const std::string& in, const std::string& out, std::string source) {
  const csv::XY xy = csv::read_xy(in);
  if (source.empty()) source = "two-column CSV " + base_name(in) + " (x = column 1, y = column 2)";
  const std::string raw = sha256_file(in);
  h5::AtomicH5File f(out);
  const std::string x_hex = write_content(f, "/x", xy.x.size(), 0, xy.x.data());
  const std::string y_hex = write_content(f, "/y", xy.y.size(), 0, xy.y.data());
  h5::write_attribute(f, "/", "source", source);
  h5::write_attribute(f, "/", "sha256_raw", raw);
  Written w{out, "/x, /y float64 " + std::to_string(xy.x.size()),
            write_content_hash(f, {{"/x", x_hex}, {"/y", y_hex}})};
  f.commit();
  return w;
}

Written convert_digits(const std::string& in, const std::string& out, std::string source) {
  constexpr std::size_t kPixels = 64;
  const csv::Table t = csv::read_table(in, kPixels + 1);
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;
  pixels.reserve(t.rows() * kPixels);
  labels.reserve(t.rows());
  for (std::size_t r = 0; r < t.rows(); ++r) {
    for (std::size_t j = 0; j <= kPixels; ++j) {
      const double v = t.values[r * (kPixels + 1) + j];
      const double top = j < kPixels ? 16 : 9;
      if (v != std::floor(v) || v < 0 || v > top) {
        throw DataError(in + ":" + std::to_string(t.line_of_row(r)) + ": field " +
                        std::to_string(j + 1) + " = " + format_double(v) + " is not " +
                        (j < kPixels ? "a pixel value 0..16" : "a label 0..9"));
      }
      if (j < kPixels) {
        pixels.push_back(static_cast<std::uint8_t>(v));
      } else {
        labels.push_back(static_cast<std::int32_t>(v));
      }
    }
  }
  if (source.empty()) {
    source = std::string(
                 "Optical Recognition of Handwritten Digits, test set (E. Alpaydin and C. Kaynak, "
                 "UCI Machine Learning Repository, 1998; licence CC BY 4.0) as shipped by "
                 "scikit-learn in ") +
             base_name(in) + ": 8x8 images, pixels 0..16";
  }
  return write_classified(out, t.rows(), kPixels, pixels, labels, source, sha256_file(in), false);
}

}  // namespace hpcb::tools
