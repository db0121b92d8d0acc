#include "team/tree_sum.hpp"

#include <stdexcept>

namespace hpcb {
namespace {

using Range = std::pair<std::int64_t, std::int64_t>;
constexpr int kMaxValues = 16;  // values per node: enough for every caller, and no allocation per node

// The one place the tree's shape is defined: [lo, hi) splits at the midpoint.
std::int64_t split(std::int64_t lo, std::int64_t hi) { return lo + (hi - lo) / 2; }

bool inside(std::int64_t lo, std::int64_t hi, Range r) { return r.first <= lo && hi <= r.second; }

// Sum of the subtree [lo, hi), all of whose leaves are local (leaf b at
// leaves[(b - first) * m]).
void subtree(std::int64_t lo, std::int64_t hi, std::int64_t first, std::span<const double> leaves, int m,
             double* out) {
  if (hi - lo == 1) {
    for (int j = 0; j < m; ++j) out[j] = leaves[static_cast<std::size_t>((lo - first) * m + j)];
    return;
  }
  double right[kMaxValues];
  const std::int64_t mid = split(lo, hi);
  subtree(lo, mid, first, leaves, m, out);
  subtree(mid, hi, first, leaves, m, right);
  for (int j = 0; j < m; ++j) out[j] += right[j];
}

// Visits, left to right, the maximal subtrees inside `mine` (the canonical
// nodes of that range); calls emit(lo, hi) for each.
template <class Emit>
void canonical(std::int64_t lo, std::int64_t hi, Range mine, Emit&& emit) {
  if (hi <= mine.first || mine.second <= lo || mine.first == mine.second) return;
  if (inside(lo, hi, mine)) {
    emit(lo, hi);
    return;
  }
  const std::int64_t mid = split(lo, hi);
  canonical(lo, mid, mine, emit);
  canonical(mid, hi, mine, emit);
}

// Finishes the tree from the gathered canonical nodes: node values of worker w
// are consumed in the same left-to-right order in which w emitted them.
void top(std::int64_t lo, std::int64_t hi, const Layout& layout, const std::vector<double>& all,
         std::vector<std::size_t>& cursor, int m, double* out) {
  // Only the worker holding block lo can hold all of [lo, hi).
  const int w = Layout::worker_of_block(layout.n_blocks(), lo, layout.workers);
  if (inside(lo, hi, layout.blocks_of(w))) {
    const double* v = all.data() + cursor[static_cast<std::size_t>(w)];
    for (int j = 0; j < m; ++j) out[j] = v[j];
    cursor[static_cast<std::size_t>(w)] += static_cast<std::size_t>(m);
    return;
  }
  double right[kMaxValues];
  const std::int64_t mid = split(lo, hi);
  top(lo, mid, layout, all, cursor, m, out);
  top(mid, hi, layout, all, cursor, m, right);
  for (int j = 0; j < m; ++j) out[j] += right[j];
}

}  // namespace

TreeSum::TreeSum(const Layout& layout) : layout_(layout), subtrees_(static_cast<std::size_t>(layout.workers), 0) {
  for (int w = 0; w < layout.workers; ++w)
    canonical(0, layout.n_blocks(), layout.blocks_of(w),
              [&](std::int64_t, std::int64_t) { ++subtrees_[static_cast<std::size_t>(w)]; });
}

std::vector<double> TreeSum::operator()(Team& team, std::span<const double> leaves, int m) const {
  const Layout& layout = layout_;
  const std::int64_t nb = layout.n_blocks();
  std::vector<double> result(static_cast<std::size_t>(m), 0.0);
  if (m < 1 || m > kMaxValues) throw std::logic_error("tree_sum: m out of range");
  if (nb == 0) return result;
  const Range mine = layout.my_blocks();
  if (static_cast<std::int64_t>(leaves.size()) != (mine.second - mine.first) * m)
    throw std::logic_error("tree_sum: leaves do not match this worker's blocks");

  // Every worker can work out every other worker's canonical nodes from the
  // layout alone, so only the values travel.
  std::vector<int> counts(static_cast<std::size_t>(layout.workers));
  for (std::size_t w = 0; w < counts.size(); ++w) counts[w] = subtrees_[w] * m;

  std::vector<double> local;
  local.reserve(static_cast<std::size_t>(counts[static_cast<std::size_t>(layout.worker)]));
  canonical(0, nb, mine, [&](std::int64_t lo, std::int64_t hi) {
    local.resize(local.size() + static_cast<std::size_t>(m));
    subtree(lo, hi, mine.first, leaves, m, local.data() + local.size() - m);
  });

  std::vector<double> all;
  std::vector<std::size_t> cursor(static_cast<std::size_t>(layout.workers), 0);
  if (layout.workers == 1) {
    all = std::move(local);
  } else {
    std::size_t total = 0;
    for (int w = 0; w < layout.workers; ++w) {
      cursor[static_cast<std::size_t>(w)] = total;
      total += static_cast<std::size_t>(counts[static_cast<std::size_t>(w)]);
    }
    all.resize(total);
    team.gather(local, counts, all);
  }
  top(0, nb, layout, all, cursor, m, result.data());
  return result;
}

std::vector<double> tree_sum(Team& team, const Layout& layout, std::span<const double> leaves, int m) {
  return TreeSum(layout)(team, leaves, m);
}

}  // namespace hpcb
