#include "kmeans/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hpcb::kmeans {

std::vector<int> hungarian(const std::vector<double>& cost, int n) {
  // Shortest augmenting paths with row/column potentials (Kuhn-Munkres in the
  // O(n^3) form); 1-based internally, index 0 is the virtual start column.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<int> match(n + 1, 0), way(n + 1, 0);  // match[col] = row
  for (int row = 1; row <= n; ++row) {
    match[0] = row;
    int col0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<char> used(n + 1, 0);
    do {
      used[col0] = 1;
      const int r = match[col0];
      double delta = inf;
      int col1 = 0;
      for (int col = 1; col <= n; ++col) {
        if (used[col]) continue;
        const double reduced = cost[static_cast<std::size_t>((r - 1) * n + (col - 1))] - u[r] - v[col];
        if (reduced < minv[col]) {
          minv[col] = reduced;
          way[col] = col0;
        }
        if (minv[col] < delta) {
          delta = minv[col];
          col1 = col;
        }
      }
      for (int col = 0; col <= n; ++col) {
        if (used[col]) {
          u[match[col]] += delta;
          v[col] -= delta;
        } else {
          minv[col] -= delta;
        }
      }
      col0 = col1;
    } while (match[col0] != 0);
    do {
      const int col1 = way[col0];
      match[col0] = match[col1];
      col0 = col1;
    } while (col0 != 0);
  }
  std::vector<int> row_to_col(n, -1);
  for (int col = 1; col <= n; ++col)
    if (match[col] > 0) row_to_col[match[col] - 1] = col - 1;
  return row_to_col;
}

double accuracy(const std::vector<std::int64_t>& table, int k, int L) {
  const int n = std::max(k, L);
  std::vector<double> cost(static_cast<std::size_t>(n) * n, 0.0);
  std::int64_t total = 0;
  for (int c = 0; c < k; ++c)
    for (int l = 0; l < L; ++l) {
      const std::int64_t v = table[static_cast<std::size_t>(c) * L + l];
      cost[static_cast<std::size_t>(c) * n + l] = -static_cast<double>(v);
      total += v;
    }
  if (total == 0) return 0.0;
  const std::vector<int> mapping = hungarian(cost, n);
  std::int64_t matched = 0;
  for (int c = 0; c < k; ++c)
    if (mapping[c] < L) matched += table[static_cast<std::size_t>(c) * L + mapping[c]];
  return static_cast<double>(matched) / static_cast<double>(total);
}

double nmi(const std::vector<std::int64_t>& table, int k, int L) {
  std::vector<double> rows(k, 0), cols(L, 0);
  double total = 0;
  for (int c = 0; c < k; ++c)
    for (int l = 0; l < L; ++l) {
      const double v = static_cast<double>(table[static_cast<std::size_t>(c) * L + l]);
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
      const double v = static_cast<double>(table[static_cast<std::size_t>(c) * L + l]);
      if (v > 0) mi += v / total * std::log(v * total / (rows[c] * cols[l]));
    }
  const double hu = entropy(rows), hv = entropy(cols);
  if (hu + hv == 0) return 1.0;
  return std::max(0.0, mi / ((hu + hv) / 2));
}

}  // namespace hpcb::kmeans
