// The M-step's exact sums of uint8 rows, for the rows an E-step has just read whole: the
// first E-step's accumulation and the moves of the rows that changed cluster in a Lloyd
// E-step (every Lloyd iteration, and the pruned algorithms' first ones, where thousands of
// rows move). They add in int32 lanes, sixteen to a vector where int64 sums take eight, into
// partial sums that flush() adds to the int64 ones: still exact integers, so the sums are
// those of accumulate() and relabel() bit for bit (tests/unit/test_kmeans_accel.cpp).
// MNIST, k = 10, rows just read (a standalone loop, medians of 7): 2,760 moves in 180 us
// against relabel()'s 400 (int64, eight bytes at a time), a first accumulation 300 us
// against accumulate()'s 410 (int32 partials made and flushed per block of 256 rows).
#pragma once

#include <cstdint>
#include <vector>

namespace hpcb::kmeans {

class ByteSums {
 public:
  ByteSums() = default;
  ByteSums(int k, std::int64_t d);

  // As accumulate(): rows [0, rows) of X (d values each) added to their cluster's sums,
  // counts[labels[i]] += 1. `sums` (k x d, int64) takes a flush when the partial sums need one.
  void add(const std::uint8_t* X, std::int64_t rows, const std::int32_t* labels, std::int64_t* counts,
           std::int64_t* sums);
  // As relabel(): each row whose label changed (from[i] != to[i]) moved from its old
  // cluster's sums to its new one's, with the counts. Returns the number of rows moved.
  std::int64_t move(const std::uint8_t* X, std::int64_t rows, const std::int32_t* from, const std::int32_t* to,
                    std::int64_t* counts, std::int64_t* sums);
  // The partial sums of the clusters changed since the last flush added to sums, and cleared.
  void flush(std::int64_t* sums);

 private:
  // A row operation (a row added or moved) changes a partial sum by at most 255: flushed
  // before the 2^23 + 1-th since the last flush (255 * 2^23 < 2^31), no int32 sum can overflow.
  static constexpr std::int64_t kMaxOps = std::int64_t{1} << 23;
  void one_more_op(std::int64_t* sums);

  std::int64_t d_ = 0;
  std::vector<std::int32_t> part_;   // k x d
  std::vector<std::uint8_t> dirty_;  // per cluster: changed since the last flush
  std::int64_t ops_ = 0;             // row operations since the last flush
  // move(): the rows of the call that changed cluster. They are scattered, and not in cache
  // after a Lloyd E-step that read the rows' nonzero pairs (pair_rows.hpp) instead of the
  // rows: each is asked for kAhead moved rows before it is added. In kmeans_seq runs (MNIST,
  // k = 10, medians of 5 to 7, interleaved) the second Lloyd iteration's 2,805 moves took
  // 610-700 us without, 350-480 with; a whole run's sums 5.3 -> 4.1 ms (Lloyd, 100
  // iterations), 3.9 -> 3.2 (Hamerly). One row ahead or four did no better than two.
  std::vector<std::int64_t> moving_;
  static constexpr std::size_t kAhead = 2;
};

}  // namespace hpcb::kmeans
