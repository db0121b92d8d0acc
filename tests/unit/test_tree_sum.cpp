// tree_sum must give bitwise the same sum for any number of workers, and the
// sum must be the fixed pairwise tree over the blocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <random>
#include <thread>

#include "team/layout.hpp"
#include "team/tree_sum.hpp"

namespace hpcb {
namespace {

// A minimal team of std::threads: only gather() is needed by tree_sum.
struct Board {
  explicit Board(int n) : sync(n), in(static_cast<std::size_t>(n)) {}
  std::barrier<> sync;
  std::vector<const double*> in;
};

class ThreadsForTest final : public Team {
 public:
  ThreadsForTest(Board& b, int rank, int size) : b_(b), rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int group_first() const override { return 0; }
  int group_size() const override { return size_; }
  void barrier() override { b_.sync.arrive_and_wait(); }
  void sum(std::span<std::int64_t>) override { FAIL() << "not used"; }
  void sum(std::span<std::int32_t>) override { FAIL() << "not used"; }
  void sum_scatter(std::span<const std::int64_t>, std::span<const int>, std::span<std::int64_t>) override {}
  void gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) override {
    b_.in[static_cast<std::size_t>(rank_)] = mine.data();
    b_.sync.arrive_and_wait();
    std::size_t off = 0;
    for (int t = 0; t < size_; ++t) {
      std::copy_n(b_.in[static_cast<std::size_t>(t)], counts[static_cast<std::size_t>(t)], all.begin() + static_cast<std::ptrdiff_t>(off));
      off += static_cast<std::size_t>(counts[static_cast<std::size_t>(t)]);
    }
    b_.sync.arrive_and_wait();
  }
  void gather_to_first(std::span<const std::int32_t>, std::span<const std::int64_t>, std::span<std::int32_t>) override {}
  double max(double v) override { return v; }
  std::shared_ptr<const void> share(std::shared_ptr<const void> p) override { return p; }
  std::optional<std::string> agree(const std::optional<std::string>& e) override { return e; }
  std::vector<std::string> hosts() override { return {}; }

 private:
  Board& b_;
  int rank_, size_;
};

// Leaves with wildly different magnitudes, so any change of order shows in the bits.
std::vector<double> make_leaves(std::int64_t blocks, int m) {
  std::mt19937_64 gen(12345);
  std::uniform_real_distribution<double> mant(-1, 1);
  std::uniform_int_distribution<int> expo(-30, 30);
  std::vector<double> v(static_cast<std::size_t>(blocks * m));
  for (auto& x : v) x = std::ldexp(mant(gen), expo(gen));
  return v;
}

std::vector<double> sum_with_workers(const std::vector<double>& leaves, std::int64_t rows, int m, int workers) {
  Board board(workers);
  std::vector<std::vector<double>> results(static_cast<std::size_t>(workers));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      ThreadsForTest team(board, w, workers);
      const Layout layout{rows, workers, w};
      const auto [b0, b1] = layout.my_blocks();
      std::span<const double> mine(leaves.data() + b0 * m, static_cast<std::size_t>((b1 - b0) * m));
      results[static_cast<std::size_t>(w)] = tree_sum(team, layout, mine, m);
    });
  }
  for (auto& t : threads) t.join();
  for (int w = 1; w < workers; ++w) EXPECT_EQ(results[0], results[static_cast<std::size_t>(w)]);
  return results[0];
}

// The reference: the pairwise tree written out directly.
double reference(const std::vector<double>& leaves, std::int64_t lo, std::int64_t hi, int m, int j) {
  if (hi - lo == 1) return leaves[static_cast<std::size_t>(lo * m + j)];
  const std::int64_t mid = lo + (hi - lo) / 2;
  return reference(leaves, lo, mid, m, j) + reference(leaves, mid, hi, m, j);
}

TEST(TreeSum, SameBitsForAnyWorkerCount) {
  for (std::int64_t rows : {1L, 255L, 256L, 257L, 10000L, 20000L, 99999L}) {
    const std::int64_t blocks = Layout{rows, 1, 0}.n_blocks();
    for (int m : {1, 4, 7}) {
      const auto leaves = make_leaves(blocks, m);
      std::vector<double> expected(static_cast<std::size_t>(m));
      for (int j = 0; j < m; ++j) expected[static_cast<std::size_t>(j)] = reference(leaves, 0, blocks, m, j);
      for (int workers : {1, 2, 3, 4, 7, 13}) {
        SCOPED_TRACE("rows=" + std::to_string(rows) + " m=" + std::to_string(m) + " workers=" + std::to_string(workers));
        EXPECT_EQ(sum_with_workers(leaves, rows, m, workers), expected);
      }
    }
  }
}

TEST(TreeSum, OrderMattersSoTheTestCanFail) {
  // The leaves above are chosen so that a plain left-to-right sum differs
  // from the tree: a test of the tree's order, not of a lucky data set.
  const auto leaves = make_leaves(40, 1);
  double linear = 0;
  for (double v : leaves) linear += v;
  EXPECT_NE(linear, reference(leaves, 0, 40, 1, 0));
}

TEST(Layout, BlocksCoverRowsOnceInOrder) {
  for (std::int64_t rows : {1L, 300L, 10000L}) {
    for (int workers : {1, 2, 3, 7, 64}) {
      std::int64_t next = 0;
      for (int w = 0; w < workers; ++w) {
        const Layout layout{rows, workers, w};
        const auto [r0, r1] = layout.my_rows();
        const auto [b0, b1] = layout.my_blocks();
        EXPECT_EQ(r0, next);
        EXPECT_LE(r0, r1);
        EXPECT_EQ(r0, layout.block_begin(b0));
        EXPECT_EQ(r1, layout.block_begin(b1));
        next = r1;
      }
      EXPECT_EQ(next, rows);
    }
  }
}

TEST(Layout, WorkerOfBlockIsTheWorkerWhoseBlocksHoldIt) {
  // Against a scan of every worker's blocks, including workers that hold none (more workers
  // than blocks) and the largest MPI job the platforms describe.
  for (std::int64_t blocks : {1L, 2L, 3L, 40L, 79L, 3907L}) {
    for (int workers : {1, 2, 3, 7, 48, 64, 1000, 1024, 4096}) {
      int owner = 0;
      for (std::int64_t b = 0; b < blocks; ++b) {
        while (!(Layout::first_block(blocks, owner, workers) <= b && b < Layout::first_block(blocks, owner + 1, workers)))
          ++owner;
        ASSERT_EQ(Layout::worker_of_block(blocks, b, workers), owner) << "blocks=" << blocks << " workers=" << workers
                                                                      << " b=" << b;
      }
    }
  }
}

TEST(Layout, BlocksAreWholeUnitsWithinOneUnitAndDependOnlyOnTheRowCount) {
  for (std::int64_t rows : {1L, 15L, 255L, 256L, 257L, 10000L, 20000L, 1000003L}) {
    const Layout one{rows, 1, 0}, seven{rows, 7, 3};
    const std::int64_t nb = one.n_blocks();
    EXPECT_EQ(nb, (rows + kMaxRowsPerBlock - 1) / kMaxRowsPerBlock);
    std::int64_t smallest = rows, largest = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
      EXPECT_EQ(one.block_begin(b) % kRowsPerUnit, 0);
      const std::int64_t size = one.block_end(b) - one.block_begin(b);
      EXPECT_GT(size, 0);
      if (b + 1 < nb) {   // the last block may end in a short unit
        smallest = std::min(smallest, size);
        largest = std::max(largest, size);
      }
      EXPECT_EQ(one.block_begin(b), seven.block_begin(b));
    }
    EXPECT_EQ(one.block_begin(nb), rows);
    if (nb > 1) {
      EXPECT_LE(largest, kMaxRowsPerBlock);
      EXPECT_LE(largest - smallest, kRowsPerUnit) << rows;
    }
  }
  // MNIST: 625 units over 40 blocks; 2 workers hold 4,992 and 5,008 rows.
  EXPECT_EQ((Layout{10000, 2, 0}.my_rows().second), 4992);
}

}  // namespace
}  // namespace hpcb
