// SHA-256 over OpenSSL's EVP interface: checksums of raw input files and of the
// data content written to HDF5 (see datasets/README.md, "content_sha256").
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace hpcb {

// Incremental hasher: feed bytes in any number of pieces, read the digest at any
// time (hex() does not end the stream, so a writer can keep hashing after it).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&& o) noexcept;
  Sha256& operator=(Sha256&& o) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  // Lowercase hex digest (64 characters) of all bytes fed so far.
  std::string hex() const;
  // The same digest as 32 raw bytes.
  std::array<unsigned char, 32> digest() const;

 private:
  EVP_MD_CTX* ctx_ = nullptr;
};

// Lowercase hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

// Lowercase hex SHA-256 of a file's bytes; DataError when it cannot be read.
std::string sha256_file(const std::string& path);

// The content digest of a multi-dataset file: SHA-256 of the concatenated
// lowercase hex digests of its datasets, in the documented order (e.g. X then
// labels). Each dataset can so be hashed in its own stream while it is written.
std::string combine_digests(const std::vector<std::string>& part_hex);

}  // namespace hpcb
