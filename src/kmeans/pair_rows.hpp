// uint8 rows held by their nonzero pairs of values, for the int16 pass's exact integer sums
// (int_assign.hpp) where the CPU has no int8 pass (AVX2): the same integers as its chunk
// kernel, in fewer multiply-adds where rows are mostly zeros.
//
// The chunk kernel takes, for every 16 values of a row that hold a nonzero, one vpmaddwd per
// centroid (16 products): on MNIST 28.6 such chunks a row, so 286 instructions at k = 10. Here
// the row's values are taken two at a time, and only the pairs that hold a nonzero (88.3 of
// 392 on MNIST): the pair (x_2m, x_2m+1) broadcast to every lane, times the pair's values of
// eight centroids at once (q_c,2m, q_c,2m+1 side by side for c in a group of eight), one
// vpmaddwd per group of eight: 2 instructions a pair at k = 10, 177 a row (MNIST, one core of
// the Zen 3 machine: 68 against ~85 ns a row; at k = 256, 2,826 against 7,323 and 2.3x faster).
//
// Integer sums are exact in any order, so the labels are those of the chunk kernel (and of
// the float kernel) whichever form gives them.
#pragma once

#include <cstdint>
#include <vector>

#include "kmeans/aligned.hpp"

namespace hpcb::kmeans {

inline constexpr std::int64_t kPairRowsMaxD = std::int64_t{1} << 17;  // a pair's number fits 16 bits

// Whether this build has the pair kernel: AVX2 without the int8 pass (which AVX-512 VNNI
// builds run first, and whose leftover rows are too few to pay for this form).
bool pair_rows_built();

// The int16 centroids as the pair kernel reads them: pair m, group h of eight centroids at
// values[(m * groups + h) * 16], centroid 8 h + t's two values at 2 t and 2 t + 1; zeros past
// k and d.
struct PairCentroids {
  int k = 0, groups = 0;
  aligned_vector<std::int16_t> values;
  bool usable() const { return !values.empty(); }
};

// Zeros in that layout, for pair_set_row() to fill.
PairCentroids pair_layout(int k, std::int64_t d);
// Centroid c's values q[0, d), and q[d] where d is odd (a zero: the last pair's second).
void pair_set_row(PairCentroids& P, int c, const std::int16_t* q, std::int64_t d);

class PairRows {
 public:
  // Rows [size(), size() + rows) of d <= kPairRowsMaxD values: appended in order, block by block.
  void append(const std::uint8_t* X, std::int64_t rows, std::int64_t d);
  // Room for `rows` rows whose pairs take at most their bytes (the E-step drops the form past
  // that), so that appending never moves what is held.
  void reserve(std::int64_t rows, std::int64_t d);
  std::int64_t size() const { return start_.empty() ? 0 : static_cast<std::int64_t>(start_.size()) - 1; }
  std::int64_t pairs() const { return static_cast<std::int64_t>(values_.size()); }
  std::int64_t bytes() const {
    return static_cast<std::int64_t>(values_.size() * (sizeof(std::uint32_t) + sizeof(std::uint16_t)) +
                                     start_.size() * sizeof(std::int64_t));
  }
  void clear();

  // out[c] = sum_j x_j q_c,j for row i and the centroids of Q, c < 8 Q.groups (zeros past Q.k).
  void dots(std::int64_t i, const PairCentroids& Q, std::int32_t* out) const;
  // Row i's pairs asked from memory ahead of their use (rows read out of order).
  void prefetch_row(std::int64_t i) const;

 private:
  std::vector<std::int64_t> start_;   // row i's pairs: [start_[i], start_[i + 1])
  bulk_vector<std::uint32_t> values_;  // per pair holding a nonzero: x_2m | x_2m+1 << 16
  bulk_vector<std::uint16_t> at_;      // and its m
};

// Rows [first, ...) of a PairRows, numbered from 0 as a block's other arrays are (assign_uint8());
// rows nullptr: none.
struct PairBlock {
  const PairRows* rows = nullptr;
  std::int64_t first = 0;
};

}  // namespace hpcb::kmeans
