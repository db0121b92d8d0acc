#include "common/sha256.hpp"

#include <algorithm>

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "common/error.hpp"

namespace hpcb {

namespace {

[[noreturn]] void openssl_failure(const char* what) {
  throw DataError(std::string("SHA-256: OpenSSL ") + what + " failed");
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) openssl_failure("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    openssl_failure("EVP_DigestInit_ex");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256::Sha256(Sha256&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& o) noexcept {
  if (this != &o) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}

void Sha256::update(const void* data, std::size_t size) {
  if (ctx_ == nullptr) throw DataError("SHA-256: use of a moved-from hasher");
  if (size == 0) return;
  if (EVP_DigestUpdate(ctx_, data, size) != 1) openssl_failure("EVP_DigestUpdate");
}

std::array<unsigned char, 32> Sha256::digest() const {
  if (ctx_ == nullptr) throw DataError("SHA-256: use of a moved-from hasher");
  // Finalise a copy so that the running state stays usable.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_) != 1) openssl_failure("EVP_MD_CTX_copy_ex");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(copy.get(), digest, &len) != 1 || len != 32) openssl_failure("EVP_DigestFinal_ex");
  std::array<unsigned char, 32> out;
  std::copy(digest, digest + 32, out.begin());
  return out;
}

std::string Sha256::hex() const {
  const std::array<unsigned char, 32> digest = this->digest();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out.push_back(kDigits[digest[i] >> 4]);
    out.push_back(kDigits[digest[i] & 0xF]);
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

std::string sha256_file(const std::string& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!f) throw DataError(path + ": cannot open for reading: " + std::strerror(errno));
  Sha256 h;
  std::vector<char> buf(1 << 20);
  std::size_t got = 0;
  while ((got = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.update(buf.data(), got);
  if (std::ferror(f.get())) throw DataError(path + ": read error while hashing");
  return h.hex();
}

std::string combine_digests(const std::vector<std::string>& part_hex) {
  Sha256 h;
  for (const auto& part : part_hex) h.update(part);
  return h.hex();
}

}  // namespace hpcb
