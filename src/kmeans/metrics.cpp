#include "kmeans/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace hpcb::kmeans {

namespace {

// One shortest augmenting path from the free row `start` to a free column, over
// the reduced costs cost[i][j] - u[i] - v[j] (all >= 0), Dijkstra style; the
// columns not reached yet are kept in `remaining`, so each step scans only
// them. Among columns at the same distance a free one is taken first: with
// the many equal costs of a contingency table (most cells 0) that ends the
// path at once instead of walking through every matched column.
struct Solver {
  const double* cost;
  int rows, cols;  // rows <= cols
  std::vector<double> u, v, dist;
  std::vector<int> path, col_of_row, row_of_col, remaining;
  std::vector<char> row_seen, col_seen;

  Solver(const double* c, int r, int k)
      : cost(c), rows(r), cols(k), u(r, 0.0), v(k, 0.0), dist(k), path(k, -1), col_of_row(r, -1),
        row_of_col(k, -1), remaining(k), row_seen(r), col_seen(k) {}

  // Returns the free column the path ends in, and the path's length in min_value.
  int augmenting_path(int start, double& min_value) {
    const double inf = std::numeric_limits<double>::infinity();
    min_value = 0;
    // Filled in reverse, as scipy does, so that ties go to the same column.
    int left = cols;
    for (int it = 0; it < cols; ++it) remaining[it] = cols - it - 1;
    std::fill(row_seen.begin(), row_seen.end(), 0);
    std::fill(col_seen.begin(), col_seen.end(), 0);
    std::fill(dist.begin(), dist.end(), inf);
    int sink = -1, i = start;
    while (sink < 0) {
      row_seen[i] = 1;
      const double* ci = cost + std::size_t{1} * i * cols;
      const double base = min_value - u[i];
      int index = -1;
      double lowest = inf;
      for (int it = 0; it < left; ++it) {
        const int j = remaining[it];
        const double r = base + ci[j] - v[j];
        if (r < dist[j]) {
          path[j] = i;
          dist[j] = r;
        }
        if (dist[j] < lowest || (dist[j] == lowest && row_of_col[j] < 0)) {
          lowest = dist[j];
          index = it;
        }
      }
      min_value = lowest;
      if (index < 0 || !std::isfinite(lowest)) return -1;  // only with infinite costs
      const int j = remaining[index];
      if (row_of_col[j] < 0)
        sink = j;
      else
        i = row_of_col[j];
      col_seen[j] = 1;
      remaining[index] = remaining[--left];
    }
    return sink;
  }

  void solve() {
    for (int row = 0; row < rows; ++row) {
      double min_value = 0;
      int j = augmenting_path(row, min_value);
      if (j < 0) throw std::invalid_argument("min_cost_assignment: costs must be finite");
      // Update the potentials so that the reduced costs stay >= 0 and are 0 on
      // the matched pairs.
      u[row] += min_value;
      for (int i = 0; i < rows; ++i)
        if (row_seen[i] && i != row)
          u[i] += min_value - dist[col_of_row[i]];
      for (int c = 0; c < cols; ++c)
        if (col_seen[c]) v[c] -= min_value - dist[c];
      // Flip the matching along the path.
      for (;;) {
        const int i = path[j];
        row_of_col[j] = i;
        std::swap(col_of_row[i], j);
        if (i == row) break;
      }
    }
  }
};

}  // namespace

std::vector<int> min_cost_assignment(const std::vector<double>& cost, int rows, int cols) {
  if (rows <= 0 || cols <= 0) return std::vector<int>(std::max(rows, 0), -1);
  if (rows <= cols) {
    Solver s(cost.data(), rows, cols);
    s.solve();
    return s.col_of_row;
  }
  // More rows than columns: solve the transpose (columns assigned to rows).
  std::vector<double> t(cost.size());
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      t[std::size_t{1} * j * rows + i] = cost[std::size_t{1} * i * cols + j];
  Solver s(t.data(), cols, rows);
  s.solve();
  std::vector<int> row_to_col(rows, -1);
  for (int j = 0; j < cols; ++j) row_to_col[s.col_of_row[j]] = j;
  return row_to_col;
}

double accuracy(const std::vector<std::int64_t>& table, int k, int L) {
  // The best one-to-one mapping maximises the matched rows: minimise their
  // negated counts on the k x L table itself (no square padding: the solver
  // works on the smaller side, usually the L labels, so k in the thousands
  // costs milliseconds).
  std::vector<double> cost(std::size_t{1} * k * L);
  std::int64_t total = 0;
  for (std::size_t i = 0; i < cost.size(); ++i) {
    cost[i] = -static_cast<double>(table[i]);
    total += table[i];
  }
  if (total == 0) return 0.0;
  const std::vector<int> mapping = min_cost_assignment(cost, k, L);
  std::int64_t matched = 0;
  for (int c = 0; c < k; ++c)
    if (mapping[c] >= 0)
      matched += table[std::size_t{1} * c * L + mapping[c]];
  return static_cast<double>(matched) / static_cast<double>(total);
}

double nmi(const std::vector<std::int64_t>& table, int k, int L) {
  std::vector<double> rows(k, 0), cols(L, 0);
  double total = 0;
  for (int c = 0; c < k; ++c)
    for (int l = 0; l < L; ++l) {
      const double v = static_cast<double>(table[std::size_t{1} * c * L + l]);
      rows[c] += v;
      cols[l] += v;
      total += v;
    }
  if (total == 0) return 0.0;
  auto entropy = [total](const std::vector<double>& m) {
    double h = 0;
    for (double v : m)
      if (v > 0) h -= v / total * std::log(v / total);
    return h;
  };
  double mi = 0;
  for (int c = 0; c < k; ++c)
    for (int l = 0; l < L; ++l) {
      const double v = static_cast<double>(table[std::size_t{1} * c * L + l]);
      if (v > 0) mi += v / total * std::log(v * total / (rows[c] * cols[l]));
    }
  const double hu = entropy(rows), hv = entropy(cols);
  if (hu + hv == 0) return 1.0;
  return std::max(0.0, mi / ((hu + hv) / 2));
}

}  // namespace hpcb::kmeans
