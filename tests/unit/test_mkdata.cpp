// The converters and generators behind `mkdata` (src/tools), checked through the
// files they write.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "common/sha256.hpp"
#include "data_test_util.hpp"
#include "io/h5_handle.hpp"
#include "tools/convert.hpp"
#include "tools/generate.hpp"

namespace {

using hpcb::DataError;
using hpcb::UsageError;
using hpcb::datatest::h5_read_all;
using hpcb::datatest::h5_string_attr;
using hpcb::datatest::ScratchDir;
using namespace hpcb::tools;

class Mkdata : public ::testing::Test {
 protected:
  void SetUp() override { hpcb::h5::silence_errors(); }
  ScratchDir dir;
};

// content_sha256 recomputed from the datasets as read back (little-endian host).
template <class A, class B>
std::string content_of(const std::vector<A>& a, const std::vector<B>& b) {
  hpcb::Sha256 ha, hb;
  ha.update(a.data(), a.size() * sizeof(A));
  hb.update(b.data(), b.size() * sizeof(B));
  return hpcb::sha256_hex(ha.hex() + hb.hex());
}

BlobsParams small_blobs(hpcb::h5::DType dtype) {
  BlobsParams p;
  p.n = 1001;
  p.d = 5;
  p.k = 4;
  p.seed = 42;
  p.stddev = 0.5;
  p.box = 3;
  p.dtype = dtype;
  return p;
}

TEST_F(Mkdata, BlobsFollowTheDocumentedFormula) {
  const BlobsParams p = small_blobs(hpcb::h5::DType::f64);
  const Written w = write_blobs(p, dir.file("b.h5"));
  const auto x = h5_read_all<double>(w.path, "/X", H5T_NATIVE_DOUBLE);
  const auto labels = h5_read_all<std::int32_t>(w.path, "/labels", H5T_NATIVE_INT32);
  const auto centers = h5_read_all<double>(w.path, "/centers", H5T_NATIVE_DOUBLE);
  ASSERT_EQ(x.size(), p.n * p.d);
  ASSERT_EQ(centers.size(), p.k * p.d);
  for (std::uint64_t e = 0; e < centers.size(); ++e) {
    EXPECT_EQ(centers[e], std::fma(6.0, hpcb::rng::uniform01(42, kBlobCenterStream, e), -3.0));
  }
  for (std::uint64_t i = 0; i < p.n; i += 97) {
    const auto c = static_cast<std::uint64_t>(hpcb::rng::uniform01(42, kBlobLabelStream, i) * 4);
    ASSERT_EQ(labels[i], static_cast<std::int32_t>(c));
    for (std::uint64_t j = 0; j < p.d; ++j) {
      const double z = hpcb::rng::normal(42, kBlobNoiseStream, i * p.d + j);
      EXPECT_EQ(x[i * p.d + j], std::fma(0.5, z, centers[c * p.d + j]));
    }
  }
  EXPECT_EQ(h5_string_attr(w.path, "/", "generator"),
            "blobs n=1001 d=5 k=4 seed=42 std=0.5 box=3 dtype=float64");
  EXPECT_EQ(h5_string_attr(w.path, "/", "content_sha256"), content_of(x, labels));
  EXPECT_EQ(w.content_sha256, content_of(x, labels));
  EXPECT_FALSE(hpcb::datatest::h5_has_attr(w.path, "/", "sha256_raw"));
}

TEST_F(Mkdata, BlobsDoNotDependOnTheChunkSize) {
  BlobsParams p = small_blobs(hpcb::h5::DType::f32);
  const Written whole = write_blobs(p, dir.file("whole.h5"));
  p.chunk_rows = 1;
  const Written single = write_blobs(p, dir.file("single.h5"));
  p.chunk_rows = 333;
  const Written uneven = write_blobs(p, dir.file("uneven.h5"));
  EXPECT_EQ(whole.content_sha256, single.content_sha256);
  EXPECT_EQ(whole.content_sha256, uneven.content_sha256);
  const auto a = h5_read_all<float>(whole.path, "/X", H5T_NATIVE_FLOAT);
  EXPECT_EQ(a, h5_read_all<float>(uneven.path, "/X", H5T_NATIVE_FLOAT));
  const auto labels = h5_read_all<std::int32_t>(whole.path, "/labels", H5T_NATIVE_INT32);
  EXPECT_EQ(whole.content_sha256, content_of(a, labels));
}

TEST_F(Mkdata, BlobParametersAreChecked) {
  const auto invalid = [&](auto change) {
    BlobsParams p = small_blobs(hpcb::h5::DType::f32);
    change(p);
    EXPECT_THROW(write_blobs(p, dir.file("bad.h5")), UsageError);
  };
  invalid([](BlobsParams& p) { p.n = 0; });
  invalid([](BlobsParams& p) { p.d = 0; });
  invalid([](BlobsParams& p) { p.k = 0; });
  invalid([](BlobsParams& p) { p.k = p.n + 1; });
  invalid([](BlobsParams& p) { p.stddev = -1; });
  invalid([](BlobsParams& p) { p.box = 0; });
  invalid([](BlobsParams& p) { p.dtype = hpcb::h5::DType::u8; });
  invalid([](BlobsParams& p) {
    p.n = std::uint64_t{1} << 40;
    p.d = std::uint64_t{1} << 30;
  });
  EXPECT_TRUE(dir.entries().empty());
}

TEST_F(Mkdata, QuadraticFollowsTheFormulaInAnyChunking) {
  QuadraticParams p;
  p.n = 500;
  p.a = 2;
  p.b = -3;
  p.c = 5;
  p.noise = 0.5;
  p.xmin = -1;
  p.xmax = 4;
  p.seed = 3;
  const Written w = write_quadratic(p, dir.file("q.h5"));
  p.chunk_rows = 7;
  EXPECT_EQ(write_quadratic(p, dir.file("q7.h5")).content_sha256, w.content_sha256);
  const auto x = h5_read_all<double>(w.path, "/x", H5T_NATIVE_DOUBLE);
  const auto y = h5_read_all<double>(w.path, "/y", H5T_NATIVE_DOUBLE);
  ASSERT_EQ(x.size(), 500u);
  for (std::uint64_t i = 0; i < p.n; ++i) {
    // The documented formula, fused multiply-adds included.
    const double xi = std::fma(5.0, hpcb::rng::uniform01(3, kQuadXStream, i), -1.0);
    const double z = hpcb::rng::normal(3, kQuadNoiseStream, i);
    ASSERT_EQ(x[i], xi);
    ASSERT_EQ(y[i], std::fma(0.5, z, std::fma(std::fma(2.0, xi, -3.0), xi, 5.0)));
  }
  EXPECT_EQ(h5_read_all<double>(w.path, "/true_params", H5T_NATIVE_DOUBLE),
            (std::vector<double>{2, -3, 5}));
  EXPECT_EQ(h5_string_attr(w.path, "/", "content_sha256"), content_of(x, y));
  EXPECT_EQ(h5_string_attr(w.path, "/", "generator"),
            "quadratic n=500 a=2 b=-3 c=5 noise=0.5 xmin=-1 xmax=4 seed=3");
  p.xmax = p.xmin;
  EXPECT_THROW(write_quadratic(p, dir.file("bad.h5")), UsageError);
}

TEST_F(Mkdata, CsvConversion) {
  const std::string csv = dir.file("in.csv");
  hpcb::datatest::write_bytes(csv, "X,Y\r\n1.5,2\r\n-3,4.25\r\n");
  const Written w = convert_csv(csv, dir.file("r.h5"), "test data");
  const auto x = h5_read_all<double>(w.path, "/x", H5T_NATIVE_DOUBLE);
  const auto y = h5_read_all<double>(w.path, "/y", H5T_NATIVE_DOUBLE);
  EXPECT_EQ(x, (std::vector<double>{1.5, -3}));
  EXPECT_EQ(y, (std::vector<double>{2, 4.25}));
  EXPECT_EQ(h5_string_attr(w.path, "/", "source"), "test data");
  EXPECT_EQ(h5_string_attr(w.path, "/", "sha256_raw"), hpcb::sha256_file(csv));
  EXPECT_EQ(h5_string_attr(w.path, "/", "content_sha256"), content_of(x, y));
  EXPECT_EQ(h5_string_attr(w.path, "/x", "sha256"),
            hpcb::sha256_hex(
                std::string(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(double))));
}

TEST_F(Mkdata, MnistConversion) {
  using hpcb::datatest::be32;
  const std::string img = dir.file("img.gz"), lbl = dir.file("lbl");
  std::string pixels(3 * 4, '\0');
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i * 20);
  hpcb::datatest::write_gzip(img, be32(0x803) + be32(3) + be32(2) + be32(2) + pixels);
  hpcb::datatest::write_bytes(lbl, be32(0x801) + be32(3) + std::string("\x07\x00\x09", 3));
  const Written w = convert_mnist(img, lbl, dir.file("m.h5"));
  const auto x = h5_read_all<std::uint8_t>(w.path, "/X", H5T_NATIVE_UINT8);
  const auto labels = h5_read_all<std::int32_t>(w.path, "/labels", H5T_NATIVE_INT32);
  EXPECT_EQ(hpcb::datatest::h5_dims(w.path, "/X"), (std::vector<hsize_t>{3, 4}));
  EXPECT_EQ(x[5], 100);
  EXPECT_EQ(labels, (std::vector<std::int32_t>{7, 0, 9}));
  EXPECT_EQ(hpcb::datatest::h5_double_attr(w.path, "/X", "scale"), 1.0 / 255.0);
  EXPECT_EQ(h5_string_attr(w.path, "/", "sha256_raw"),
            "images:" + hpcb::sha256_file(img) + " labels:" + hpcb::sha256_file(lbl));
  EXPECT_NE(h5_string_attr(w.path, "/", "source").find("CC BY-SA 3.0"), std::string::npos);
  EXPECT_EQ(w.content_sha256, content_of(x, labels));
}

TEST_F(Mkdata, MnistCountMismatchWritesNothing) {
  using hpcb::datatest::be32;
  const std::string img = dir.file("img"), lbl = dir.file("lbl");
  hpcb::datatest::write_bytes(img, be32(0x803) + be32(2) + be32(1) + be32(1) + "ab");
  hpcb::datatest::write_bytes(lbl, be32(0x801) + be32(3) + "abc");
  try {
    convert_mnist(img, lbl, dir.file("m.h5"));
    FAIL() << "2 images with 3 labels must throw";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("2 images but"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.h5")));
  EXPECT_EQ(dir.entries().size(), 2u);  // the two inputs only, no temporary
}

TEST_F(Mkdata, DigitsConversionChecksValues) {
  std::string row;
  for (int j = 0; j < 64; ++j) row += std::to_string(j % 17) + ",";
  hpcb::datatest::write_gzip(dir.file("d.csv.gz"), row + "3\n" + row + "9\n");
  const Written w = convert_digits(dir.file("d.csv.gz"), dir.file("d.h5"));
  EXPECT_EQ(hpcb::datatest::h5_dims(w.path, "/X"), (std::vector<hsize_t>{2, 64}));
  EXPECT_EQ(h5_read_all<std::int32_t>(w.path, "/labels", H5T_NATIVE_INT32),
            (std::vector<std::int32_t>{3, 9}));
  EXPECT_EQ(h5_read_all<std::uint8_t>(w.path, "/X", H5T_NATIVE_UINT8)[16], 16);
  EXPECT_FALSE(hpcb::datatest::h5_has_attr(w.path, "/X", "scale"));

  hpcb::datatest::write_bytes(dir.file("bad.csv"), row + "3\n" + row + "10\n");
  EXPECT_THROW(convert_digits(dir.file("bad.csv"), dir.file("bad.h5")), DataError);
  std::string big = row;
  big.replace(0, 1, "17");
  hpcb::datatest::write_bytes(dir.file("bad2.csv"), big + "3\n");
  EXPECT_THROW(convert_digits(dir.file("bad2.csv"), dir.file("bad.h5")), DataError);
  hpcb::datatest::write_bytes(dir.file("bad3.csv"), "0.5" + row.substr(1) + "3\n");
  EXPECT_THROW(convert_digits(dir.file("bad3.csv"), dir.file("bad.h5")), DataError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.h5")));
}

}  // namespace
