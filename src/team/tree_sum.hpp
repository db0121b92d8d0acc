// Reproducible floating-point sums over row blocks.
//
// Floating-point addition is not associative, so a sum split among P workers
// and combined in an arbitrary order changes its last bits with P. Here the
// order is fixed instead: every block's partial sum (a leaf) is combined with
// the others along one binary tree over the block indices, whose shape depends
// only on the number of blocks. Each worker computes the largest subtrees that
// lie entirely inside its own block range (at most about 2 log2(blocks) of
// them), the workers exchange those few subtree values, and every worker
// finishes the top of the tree in the same order. Result: bitwise the same sum
// for the sequential run and for any number of threads or ranks, at the cost
// of one small all-gather.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "team/layout.hpp"
#include "team/team.hpp"

namespace hpcb {

// The sums over one layout. Which subtrees every worker contributes follows from the layout
// alone; it is worked out once here (O(workers x log blocks)), not in every sum, where at
// 1,024 ranks it would cost each rank about a millisecond per iteration.
class TreeSum {
 public:
  explicit TreeSum(const Layout& layout);  // `layout` must outlive this object

  // `leaves` holds m values for each block this worker owns (my_blocks(), in
  // order); the result is the m sums over all blocks, identical on every worker.
  std::vector<double> operator()(Team& team, std::span<const double> leaves, int m) const;

 private:
  const Layout& layout_;
  std::vector<int> subtrees_;  // per worker: how many subtrees (values per sum) it contributes
};

// One sum: TreeSum(layout)(team, leaves, m).
std::vector<double> tree_sum(Team& team, const Layout& layout, std::span<const double> leaves, int m);

}  // namespace hpcb
