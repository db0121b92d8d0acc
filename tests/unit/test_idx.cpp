#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "common/error.hpp"
#include "data_test_util.hpp"
#include "io/idx.hpp"

namespace {

using hpcb::DataError;
using hpcb::datatest::be32;
using hpcb::datatest::ScratchDir;
using hpcb::datatest::write_bytes;
using hpcb::datatest::write_gzip;

std::string image_file(std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                       const std::string& payload) {
  return be32(0x00000803) + be32(n) + be32(rows) + be32(cols) + payload;
}

std::string label_file(std::uint32_t n, const std::string& payload) {
  return be32(0x00000801) + be32(n) + payload;
}

std::string pixels(std::size_t count) {
  std::string p(count, '\0');
  for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<char>(i * 37 % 256);
  return p;
}

// The message of the DataError that `f` throws ("" when it throws none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(Idx, ReadsPlainImages) {
  ScratchDir dir;
  const std::string path = dir.file("img.idx");
  write_bytes(path, image_file(2, 2, 3, pixels(12)));
  const auto im = hpcb::idx::read_images(path);
  EXPECT_EQ(im.count, 2u);
  EXPECT_EQ(im.rows, 2u);
  EXPECT_EQ(im.cols, 3u);
  ASSERT_EQ(im.pixels.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i)
    EXPECT_EQ(im.pixels[i], static_cast<std::uint8_t>(i * 37 % 256));
}

TEST(Idx, ReadsGzipImagesAndLabels) {
  ScratchDir dir;
  write_gzip(dir.file("img.gz"), image_file(3, 4, 5, pixels(60)));
  write_gzip(dir.file("lbl.gz"), label_file(3, std::string("\x07\x02\x01", 3)));
  const auto im = hpcb::idx::read_images(dir.file("img.gz"));
  EXPECT_EQ(im.count, 3u);
  EXPECT_EQ(im.pixels.size(), 60u);
  EXPECT_EQ(im.pixels[59], static_cast<std::uint8_t>(59 * 37 % 256));
  EXPECT_EQ(hpcb::idx::read_labels(dir.file("lbl.gz")), (std::vector<std::uint8_t>{7, 2, 1}));
}

TEST(Idx, RejectsBadMagic) {
  ScratchDir dir;
  write_bytes(dir.file("lbl"), label_file(2, "ab"));
  write_bytes(dir.file("junk"), "PK\x03\x04 this is a zip file, not IDX");
  const std::string swapped = error_of([&] { hpcb::idx::read_images(dir.file("lbl")); });
  EXPECT_NE(swapped.find("bad magic 0x00000801"), std::string::npos) << swapped;
  EXPECT_NE(swapped.find(dir.file("lbl")), std::string::npos) << swapped;
  EXPECT_THROW(hpcb::idx::read_labels(dir.file("junk")), DataError);
  write_bytes(dir.file("img"), image_file(1, 1, 1, "x"));
  EXPECT_THROW(hpcb::idx::read_labels(dir.file("img")), DataError);
}

TEST(Idx, RejectsTruncatedHeader) {
  ScratchDir dir;
  write_bytes(dir.file("empty"), "");
  write_bytes(dir.file("short"), std::string("\0\0", 2));
  write_bytes(dir.file("half"), be32(0x00000803) + be32(10));  // rows and cols missing
  EXPECT_NE(error_of([&] { hpcb::idx::read_images(dir.file("empty")); }).find("truncated"),
            std::string::npos);
  EXPECT_THROW(hpcb::idx::read_images(dir.file("short")), DataError);
  EXPECT_NE(error_of([&] { hpcb::idx::read_images(dir.file("half")); }).find("8 of 16"),
            std::string::npos);
}

TEST(Idx, RejectsZeroDimension) {
  ScratchDir dir;
  write_bytes(dir.file("img"), image_file(5, 0, 28, ""));
  write_bytes(dir.file("lbl"), label_file(0, ""));
  EXPECT_NE(error_of([&] { hpcb::idx::read_images(dir.file("img")); }).find("zero dimension"),
            std::string::npos);
  EXPECT_THROW(hpcb::idx::read_labels(dir.file("lbl")), DataError);
}

TEST(Idx, RejectsAbsurdHeaderBeforeAllocating) {
  ScratchDir dir;
  // 4e9 x 28 x 28 would be 3 TB: refused from the header alone.
  write_bytes(dir.file("huge"), image_file(4000000000u, 28, 28, pixels(100)));
  const std::string msg = error_of([&] { hpcb::idx::read_images(dir.file("huge")); });
  EXPECT_NE(msg.find("absurd"), std::string::npos) << msg;
  // 1000 x 28 x 28 is plausible, but not in a 116-byte file.
  write_bytes(dir.file("big"), image_file(1000, 28, 28, pixels(100)));
  const std::string big = error_of([&] { hpcb::idx::read_images(dir.file("big")); });
  EXPECT_NE(big.find("784000"), std::string::npos) << big;
  EXPECT_NE(big.find("truncated"), std::string::npos) << big;
  // The same claim in a small gzip file: beyond what deflate can expand to.
  write_gzip(dir.file("big.gz"), image_file(30000, 200, 200, pixels(10)));
  EXPECT_NE(error_of([&] { hpcb::idx::read_images(dir.file("big.gz")); }).find("can hold"),
            std::string::npos);
}

TEST(Idx, RejectsTruncatedPayload) {
  ScratchDir dir;
  write_bytes(dir.file("img"), image_file(2, 2, 3, pixels(11)));
  write_gzip(dir.file("img.gz"), image_file(2, 2, 3, pixels(7)));
  write_bytes(dir.file("lbl"), label_file(4, "abc"));
  const std::string plain = error_of([&] { hpcb::idx::read_images(dir.file("img")); });
  EXPECT_NE(plain.find("truncated image payload: the file holds 11 of 12"), std::string::npos)
      << plain;
  const std::string gz = error_of([&] { hpcb::idx::read_images(dir.file("img.gz")); });
  EXPECT_NE(gz.find("truncated image payload: 7 of 12"), std::string::npos) << gz;
  EXPECT_THROW(hpcb::idx::read_labels(dir.file("lbl")), DataError);
}

TEST(Idx, RejectsTrailingData) {
  ScratchDir dir;
  write_bytes(dir.file("img"), image_file(2, 2, 3, pixels(15)));
  write_gzip(dir.file("lbl.gz"), label_file(2, "abXYZ"));
  const std::string msg = error_of([&] { hpcb::idx::read_images(dir.file("img")); });
  EXPECT_NE(msg.find("3 bytes of trailing data"), std::string::npos) << msg;
  EXPECT_THROW(hpcb::idx::read_labels(dir.file("lbl.gz")), DataError);
}

TEST(Idx, RejectsCorruptGzip) {
  ScratchDir dir;
  write_gzip(dir.file("full.gz"), image_file(100, 10, 10, pixels(10000)));
  const std::string gz = hpcb::datatest::read_bytes(dir.file("full.gz"));
  // Cut the compressed stream in half: zlib sees an unexpected end.
  write_bytes(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  EXPECT_THROW(hpcb::idx::read_images(dir.file("cut.gz")), DataError);
  // Flip bytes in the middle of the deflate data.
  std::string bad = gz;
  for (std::size_t i = bad.size() / 3; i < bad.size() / 3 + 8; ++i)
    bad[i] = static_cast<char>(~bad[i]);
  write_bytes(dir.file("bad.gz"), bad);
  EXPECT_THROW(hpcb::idx::read_images(dir.file("bad.gz")), DataError);
}

TEST(Idx, RejectsMissingFile) {
  ScratchDir dir;
  const std::string msg = error_of([&] { hpcb::idx::read_labels(dir.file("nope.gz")); });
  EXPECT_NE(msg.find("nope.gz"), std::string::npos) << msg;
}

// The real MNIST test set, when the tests run from the repository root.
TEST(Idx, MnistTestSetLabelCounts) {
  const std::string images = "datasets/raw/mnist/t10k-images-idx3-ubyte.gz";
  const std::string labels = "datasets/raw/mnist/t10k-labels-idx1-ubyte.gz";
  if (!std::filesystem::exists(images) || !std::filesystem::exists(labels)) {
    GTEST_SKIP() << "MNIST raw files not found from " << std::filesystem::current_path();
  }
  const auto im = hpcb::idx::read_images(images);
  const auto lab = hpcb::idx::read_labels(labels);
  EXPECT_EQ(im.count, 10000u);
  EXPECT_EQ(im.rows * im.cols, 784u);
  ASSERT_EQ(lab.size(), 10000u);
  EXPECT_EQ(std::vector<std::uint8_t>(lab.begin(), lab.begin() + 10),
            (std::vector<std::uint8_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
  std::map<int, int> counts;
  for (auto l : lab) ++counts[l];
  const std::map<int, int> expected{{0, 980}, {1, 1135}, {2, 1032}, {3, 1010}, {4, 982},
                                    {5, 892}, {6, 958},  {7, 1028}, {8, 974},  {9, 1009}};
  EXPECT_EQ(counts, expected);
}

}  // namespace
