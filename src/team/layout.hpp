// How rows are split among workers. Rows are grouped into n_blocks() blocks of
// nearly equal size (sizes differ by at most one row, none above
// kMaxRowsPerBlock) that depend only on the row count; each worker owns a
// contiguous range of whole blocks. Kernels work block by block and the block
// partial results are combined by a tree whose shape depends only on the number
// of blocks (tree_sum.hpp), so the arithmetic of every result is the same
// whatever the worker count.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "team/team.hpp"

namespace hpcb {

// At most 256 rows keeps a block of MNIST (256 x 784 bytes = 200 KB) inside L2,
// and gives 40 blocks for the 10,000 MNIST rows: enough to balance 7 workers.
// Equal blocks rather than full ones and a remainder: MNIST's 40 blocks are
// 250 rows each, so 2 workers get 5,000 rows each, not 5,120 and 4,880.
inline constexpr std::int64_t kMaxRowsPerBlock = 256;

struct Layout {
  std::int64_t n_rows = 0;   // global
  int workers = 1;
  int worker = 0;            // this worker

  std::int64_t n_blocks() const { return (n_rows + kMaxRowsPerBlock - 1) / kMaxRowsPerBlock; }
  // Blocks [first, last) of worker w.
  std::pair<std::int64_t, std::int64_t> blocks_of(int w) const {
    const std::int64_t nb = n_blocks();
    return {nb * w / workers, nb * (w + 1) / workers};
  }
  // Global rows [first, last) of worker w.
  std::pair<std::int64_t, std::int64_t> rows_of(int w) const {
    const auto [b0, b1] = blocks_of(w);
    return {block_begin(b0), block_begin(b1)};
  }
  std::pair<std::int64_t, std::int64_t> my_blocks() const { return blocks_of(worker); }
  std::pair<std::int64_t, std::int64_t> my_rows() const { return rows_of(worker); }
  // The first n_rows % n_blocks() blocks have one row more than the others.
  std::int64_t block_begin(std::int64_t b) const {
    const std::int64_t nb = n_blocks();
    if (b >= nb) return n_rows;
    const std::int64_t q = n_rows / nb, r = n_rows % nb;
    return b * q + (b < r ? b : r);
  }
  std::int64_t block_end(std::int64_t b) const { return block_begin(b + 1); }
};

// Global rows [first, last) of the workers of this worker's group (the rows
// its group's reader loads). Throws DataError when MPI ranks outnumber rows.
std::pair<std::int64_t, std::int64_t> group_rows(const Team& team, std::int64_t n_rows, bool distributed,
                                                 const std::string& path);

}  // namespace hpcb
