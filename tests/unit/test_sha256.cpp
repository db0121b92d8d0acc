#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "data_test_util.hpp"

namespace {

using hpcb::Sha256;
using hpcb::sha256_hex;

// FIPS 180-2 / NIST example vectors.
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kTwoBlocks =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr const char* kMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), kEmpty);
  EXPECT_EQ(sha256_hex("abc"), kAbc);
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), kTwoBlocks);
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), kMillionA);
}

TEST(Sha256, IncrementalEqualsOneShot) {
  Sha256 h;
  const std::string a(1000000, 'a');
  // Uneven pieces across the 64-byte block boundaries.
  std::size_t at = 0;
  for (std::size_t piece = 1; at < a.size(); piece = piece * 3 % 1000 + 1) {
    const std::size_t n = std::min(piece, a.size() - at);
    h.update(a.data() + at, n);
    at += n;
  }
  EXPECT_EQ(h.hex(), kMillionA);
}

TEST(Sha256, HexDoesNotEndTheStream) {
  Sha256 h;
  h.update("a", 1);
  const std::string first = h.hex();
  EXPECT_EQ(first, h.hex());  // repeatable
  h.update("bc", 2);
  EXPECT_EQ(h.hex(), kAbc);
  EXPECT_NE(first, kAbc);
}

TEST(Sha256, MovedHasherKeepsState) {
  Sha256 h;
  h.update("ab", 2);
  Sha256 moved = std::move(h);
  moved.update("c", 1);
  EXPECT_EQ(moved.hex(), kAbc);
}

TEST(Sha256, File) {
  hpcb::datatest::ScratchDir dir;
  hpcb::datatest::write_bytes(dir.file("abc.txt"), "abc");
  hpcb::datatest::write_bytes(dir.file("empty"), "");
  EXPECT_EQ(hpcb::sha256_file(dir.file("abc.txt")), kAbc);
  EXPECT_EQ(hpcb::sha256_file(dir.file("empty")), kEmpty);
  EXPECT_THROW(hpcb::sha256_file(dir.file("missing")), hpcb::DataError);
  EXPECT_THROW(hpcb::sha256_file(dir.path().string()), hpcb::DataError);  // a folder
}

TEST(Sha256, CombineDigestsHashesTheHexConcatenation) {
  const std::string x = sha256_hex("x bytes");
  const std::string y = sha256_hex("y bytes");
  EXPECT_EQ(hpcb::combine_digests({x, y}), sha256_hex(x + y));
  EXPECT_NE(hpcb::combine_digests({x, y}), hpcb::combine_digests({y, x}));
  EXPECT_EQ(hpcb::combine_digests({x}), sha256_hex(x));
}

}  // namespace
