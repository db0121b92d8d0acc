// Reader for the IDX format of the MNIST files (plain or gzip-compressed):
// a big-endian header (magic 0x000008NN with NN = number of dimensions, then one
// uint32 size per dimension) followed by the uint8 payload in row-major order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hpcb::idx {

// Largest payload accepted, in elements: protects the allocation against
// corrupt or hostile headers (MNIST's largest file holds 47 million).
inline constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 31;

// Images: count x (rows * cols) pixels, row-major, one image per row.
struct Images {
  std::uint64_t count = 0;
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::vector<std::uint8_t> pixels;
};

// Reads an image file (magic 0x00000803). Throws DataError naming the file and
// the numbers on a bad magic, a zero or absurd dimension, a truncated payload,
// bytes after the payload, or a corrupt gzip stream.
Images read_images(const std::string& path);

// Reads a label file (magic 0x00000801), same checks.
std::vector<std::uint8_t> read_labels(const std::string& path);

}  // namespace hpcb::idx
