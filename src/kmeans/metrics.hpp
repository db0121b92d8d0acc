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

// Minimum-cost perfect assignment on a square n x n cost matrix (row-major);
// returns for each row the chosen column. O(n^3).
std::vector<int> hungarian(const std::vector<double>& cost, int n);

}  // namespace hpcb::kmeans
