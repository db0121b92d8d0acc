#include "kmeans/byte_sums.hpp"

#include <algorithm>

#include "common/prefetch.hpp"

namespace hpcb::kmeans {

namespace {

// GCC vectorises these sixteen int32 lanes at a time (restrict: the bytes of x are not the
// sums, nor are one cluster's sums another's).
void add_row(const std::uint8_t* __restrict x, std::int32_t* __restrict s, std::int64_t d) {
  for (std::int64_t j = 0; j < d; ++j) s[j] += x[j];
}
void move_row(const std::uint8_t* __restrict x, std::int32_t* __restrict out, std::int32_t* __restrict in, std::int64_t d) {
  for (std::int64_t j = 0; j < d; ++j) {
    out[j] -= x[j];
    in[j] += x[j];
  }
}

}  // namespace

ByteSums::ByteSums(int k, std::int64_t d)
    : d_(d), part_(static_cast<std::size_t>(k) * static_cast<std::size_t>(d)), dirty_(static_cast<std::size_t>(k)) {}

void ByteSums::one_more_op(std::int64_t* sums) {
  if (ops_ == kMaxOps) flush(sums);
  ++ops_;
}

void ByteSums::add(const std::uint8_t* X, std::int64_t rows, const std::int32_t* labels, std::int64_t* counts,
                   std::int64_t* sums) {
  for (std::int64_t i = 0; i < rows; ++i) {
    one_more_op(sums);
    const auto c = static_cast<std::size_t>(labels[i]);
    add_row(X + i * d_, &part_[c * static_cast<std::size_t>(d_)], d_);
    dirty_[c] = 1;
    ++counts[c];
  }
}

std::int64_t ByteSums::move(const std::uint8_t* X, std::int64_t rows, const std::int32_t* from, const std::int32_t* to,
                            std::int64_t* counts, std::int64_t* sums) {
  moving_.clear();
  for (std::int64_t i = 0; i < rows; ++i)
    if (from[i] != to[i]) moving_.push_back(i);
  const auto row_bytes = static_cast<std::size_t>(d_);
  const std::size_t n = moving_.size();
  for (std::size_t m = 0; m < std::min(n, kAhead); ++m) prefetch_bytes(X + moving_[m] * d_, row_bytes);
  for (std::size_t m = 0; m < n; ++m) {
    if (m + kAhead < n) prefetch_bytes(X + moving_[m + kAhead] * d_, row_bytes);
    const std::int64_t i = moving_[m];
    one_more_op(sums);
    const auto a = static_cast<std::size_t>(from[i]), b = static_cast<std::size_t>(to[i]);
    move_row(X + i * d_, &part_[a * static_cast<std::size_t>(d_)], &part_[b * static_cast<std::size_t>(d_)], d_);
    dirty_[a] = dirty_[b] = 1;
    --counts[a];
    ++counts[b];
  }
  return static_cast<std::int64_t>(n);
}

void ByteSums::flush(std::int64_t* sums) {
  const auto d = static_cast<std::size_t>(d_);
  for (std::size_t c = 0; c < dirty_.size(); ++c) {
    if (!dirty_[c]) continue;
    std::int32_t* p = &part_[c * d];
    std::int64_t* s = sums + c * d;
    for (std::size_t j = 0; j < d; ++j) s[j] += p[j];
    std::fill_n(p, d, 0);
    dirty_[c] = 0;
  }
  ops_ = 0;
}

}  // namespace hpcb::kmeans
