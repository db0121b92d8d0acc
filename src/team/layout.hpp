// How rows are split among workers. Rows are grouped into n_blocks() blocks of
// nearly equal size (whole 16-row units, spread evenly; none above
// kMaxRowsPerBlock) that depend only on the row count; each worker owns a
// contiguous range of whole blocks. Kernels work block by block and the block
// partial results are combined by a tree whose shape depends only on the number
// of blocks (tree_sum.hpp), so the arithmetic of every result is the same
// whatever the worker count.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "team/team.hpp"

namespace hpcb {

// At most 256 rows keeps a block of MNIST (256 x 784 bytes = 200 KB) inside L2,
// and gives 40 blocks for the 10,000 MNIST rows: enough to balance 7 workers.
inline constexpr std::int64_t kMaxRowsPerBlock = 256;
// Blocks are made of whole units of 16 rows (the last unit may be shorter), so
// the vectorised kernels see no ragged tails inside the data; the units are
// spread evenly over the blocks rather than filling each block to 256, so 2
// workers split MNIST 4,992 / 5,008 rows instead of 5,120 / 4,880.
inline constexpr std::int64_t kRowsPerUnit = 16;

class Layout {
 public:
  const std::int64_t n_rows;   // global
  const int workers;
  const int worker;            // this worker

  Layout(std::int64_t rows, int n_workers, int this_worker);

  // Where block b of `rows` rows starts: unit floor(b * units / blocks), so blocks differ by at
  // most one unit.
  static std::int64_t block_start(std::int64_t rows, std::int64_t b);
  static std::int64_t count_blocks(std::int64_t rows) { return (rows + kMaxRowsPerBlock - 1) / kMaxRowsPerBlock; }
  // The first of worker w's blocks (whole blocks, as even a split as they allow).
  static std::int64_t first_block(std::int64_t blocks, int w, int workers) { return blocks * w / workers; }
  // The worker whose blocks hold block b (b < blocks): the last w with first_block(w) <= b.
  // Constant time, so that code visiting blocks does not scan all workers (1,024 ranks).
  static int worker_of_block(std::int64_t blocks, std::int64_t b, int workers) {
    __extension__ using Wide = __int128;
    return static_cast<int>(((static_cast<Wide>(b) + 1) * workers - 1) / blocks);
  }

  std::int64_t n_blocks() const { return static_cast<std::int64_t>(starts_.size()) - 1; }
  // Blocks [first, last) of worker w.
  std::pair<std::int64_t, std::int64_t> blocks_of(int w) const {
    return {first_block(n_blocks(), w, workers), first_block(n_blocks(), w + 1, workers)};
  }
  // Global rows [first, last) of worker w.
  std::pair<std::int64_t, std::int64_t> rows_of(int w) const {
    const auto [b0, b1] = blocks_of(w);
    return {block_begin(b0), block_begin(b1)};
  }
  std::pair<std::int64_t, std::int64_t> my_blocks() const { return blocks_of(worker); }
  std::pair<std::int64_t, std::int64_t> my_rows() const { return rows_of(worker); }
  // Kernels ask for every block's bounds every iteration: a table lookup, no division.
  std::int64_t block_begin(std::int64_t b) const {
    return b < n_blocks() ? starts_[static_cast<std::size_t>(b)] : n_rows;
  }
  std::int64_t block_end(std::int64_t b) const { return block_begin(b + 1); }

 private:
  std::vector<std::int64_t> starts_;   // n_blocks() + 1 entries: 8 bytes per block of up to 256 rows
};

// Global rows [first, last) of the workers of this worker's group (the rows
// its group's reader loads). Throws DataError when MPI ranks outnumber rows.
std::pair<std::int64_t, std::int64_t> group_rows(const Team& team, std::int64_t n_rows, bool distributed,
                                                 const std::string& path);

}  // namespace hpcb
