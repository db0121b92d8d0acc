// Clustering quality against true labels, from the k x L contingency table
// (table[c * L + l] = number of rows in cluster c with label l).
#pragma once

#include <cstdint>
#include <vector>

namespace hpcb::kmeans {

// Fraction of rows whose cluster maps to their label under the best one-to-one
// cluster-to-label mapping (Hungarian method; clusters or labels left over map
// to nothing).
double accuracy(const std::vector<std::int64_t>& table, int k, int L);

// Normalised mutual information, arithmetic-mean normalisation (as
// scikit-learn's default): MI / ((H(clusters) + H(labels)) / 2); 1 when both
// entropies are 0.
double nmi(const std::vector<std::int64_t>& table, int k, int L);

// Minimum-cost assignment on a rows x cols cost matrix (row-major, finite
// values): every row of the smaller side is matched to a distinct element of
// the larger side so that the sum of the chosen costs is smallest. Returns for
// each row its column, or -1 for the rows left over when rows > cols.
// Shortest augmenting paths with dual potentials (Jonker-Volgenant, in the
// rectangular form of Crouse 2016, as scipy's linear_sum_assignment):
// O(min^2 * max) time, O(rows * cols) memory only for a transposed copy.
std::vector<int> min_cost_assignment(const std::vector<double>& cost, int rows, int cols);

}  // namespace hpcb::kmeans
