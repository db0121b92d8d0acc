#include "io/verify.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.hpp"
#include "common/sha256.hpp"

namespace hpcb {
namespace {

constexpr std::size_t kDigest = 32;

std::string rows_text(std::int64_t a, std::int64_t b) { return "rows " + std::to_string(a) + ".." + std::to_string(b); }

}  // namespace

std::string block_digest_name(const std::string& dataset) { return "/sha256_blocks" + dataset; }

RowsCheck::RowsCheck(const H5Reader& file, const std::string& name, const ArrayInfo& info, DType memtype,
                     std::int64_t r0, std::int64_t r1, VerifyMode mode)
    : where_(file.path() + ": dataset " + name), r0_(r0), r1_(r1), n_(info.dims[0]),
      row_bytes_(static_cast<std::size_t>(info.row_elements()) * dtype_size(memtype)) {
  // Only bytes read as they are stored can be hashed as stored.
  if (mode == VerifyMode::never || !info.exact || info.dtype != memtype) return;
  const std::string blocks = block_digest_name(name);
  if (!file.has(blocks)) {
    const std::optional<std::string> whole = file.string_attr(name, "sha256");
    if (whole && r0 == 0 && r1 == n_) {
      how_ = How::whole;
      whole_sha256_ = *whole;
    }
    return;
  }
  const std::string bad = file.path() + ": dataset " + blocks + " (the digests of " + name + ") is damaged: ";
  const std::optional<double> rows = file.dataset_double(blocks, "block_rows");
  if (!rows || !(*rows >= 1 && *rows <= 9e15 && *rows == std::floor(*rows)))
    throw DataError(bad + "no valid block_rows attribute");
  block_rows_ = static_cast<std::int64_t>(*rows);
  const ArrayInfo d = file.info(blocks, 2);
  const std::int64_t n_blocks = (n_ + block_rows_ - 1) / block_rows_;
  if (d.dims[0] != n_blocks || d.dims[1] != static_cast<std::int64_t>(kDigest) || d.dtype != DType::u8 || !d.exact)
    throw DataError(bad + "expected uint8 " + std::to_string(n_blocks) + " x 32");
  how_ = How::blocks;
  // Blocks overlapping [r0, r1); none for a rank without rows (it still joins the reads).
  b0_ = r1 > r0 ? r0 / block_rows_ : 0;
  const std::int64_t b1 = r1 > r0 ? (r1 + block_rows_ - 1) / block_rows_ : 0;
  digests_.resize(static_cast<std::size_t>(b1 - b0_) * kDigest);
  file.read_rows(blocks, b0_, b1, DType::u8, digests_.data());
  const std::int64_t head0 = r1 > r0 ? b0_ * block_rows_ : 0, head1 = r1 > r0 ? r0 : 0;
  const std::int64_t tail0 = r1 > r0 ? r1 : 0, tail1 = r1 > r0 ? std::min(n_, b1 * block_rows_) : 0;
  head_.resize(static_cast<std::size_t>(head1 - head0) * row_bytes_);
  tail_.resize(static_cast<std::size_t>(tail1 - tail0) * row_bytes_);
  file.read_rows(name, head0, head1, memtype, head_.data());
  file.read_rows(name, tail0, tail1, memtype, tail_.data());
}

bool RowsCheck::check(const void* rows) const {
  const auto* bytes = static_cast<const unsigned char*>(rows);
  if (how_ == How::none) return false;
  if (how_ == How::whole) {
    Sha256 h;
    h.update(bytes, static_cast<std::size_t>(r1_ - r0_) * row_bytes_);
    if (h.hex() != whole_sha256_)
      throw DataError(where_ + " does not match its sha256 attribute: the file is damaged");
    return true;
  }
  if (r1_ <= r0_) return true;
  const std::int64_t head_rows = static_cast<std::int64_t>(head_.size() / row_bytes_);
  const auto blocks = static_cast<std::int64_t>(digests_.size() / kDigest);
  // One thread per reader: the parallelism is that of the readers (MPI ranks),
  // so a sequential or MPI run uses no more cores than it was given.
  for (std::int64_t i = 0; i < blocks; ++i) {
    const std::int64_t g0 = (b0_ + i) * block_rows_, g1 = std::min(n_, g0 + block_rows_);
    Sha256 h;
    // Rows before r0 (first block), the block's rows held here, rows from r1 on (last block).
    if (g0 < r0_) h.update(head_.data() + static_cast<std::size_t>(g0 - (r0_ - head_rows)) * row_bytes_,
                           static_cast<std::size_t>(r0_ - g0) * row_bytes_);
    const std::int64_t a = std::max(g0, r0_), b = std::min(g1, r1_);
    h.update(bytes + static_cast<std::size_t>(a - r0_) * row_bytes_, static_cast<std::size_t>(b - a) * row_bytes_);
    if (g1 > r1_) h.update(tail_.data(), static_cast<std::size_t>(g1 - r1_) * row_bytes_);
    if (std::memcmp(h.digest().data(), digests_.data() + static_cast<std::size_t>(i) * kDigest, kDigest) != 0)
      throw DataError(where_ + ": " + rows_text(g0, g1) +
                      " do not match their digest: the file is damaged (or changed while being read)");
  }
  return true;
}

void require_verified(VerifyMode mode, bool verified, const std::string& path) {
  if (mode == VerifyMode::require && !verified)
    throw DataError(path + ": cannot be verified (no block digests; one process must hold all rows to check the "
                    "whole-dataset sha256): rewrite it with mkdata, or use --verify-data auto");
}

void check_content_attributes(const H5Reader& file, const std::string& content_sha256,
                              const std::vector<std::string>& datasets) {
  if (content_sha256.empty()) return;
  std::vector<std::string> parts;
  for (const auto& d : datasets) {
    const std::optional<std::string> h = file.string_attr(d, "sha256");
    if (!h) return;
    parts.push_back(*h);
  }
  if (combine_digests(parts) != content_sha256)
    throw DataError(file.path() + ": content_sha256 does not match the sha256 attributes of its datasets: "
                    "the file's metadata is damaged");
}

}  // namespace hpcb
