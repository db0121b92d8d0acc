// uint8 rows held by their nonzero values, for the values of every centroid (k <= 16; with
// AVX-512 k <= 64) of a few scattered rows: the rows the pruned E-steps' bounds did not settle. Bit for bit values().
//
// values() adds, in lane l of a 16-lane accumulator per centroid, the products x[16 m + l] c[16 m
// + l] over the chunks m in order, then the 16 lanes by a fixed tree (kmeans_core.cpp:
// dot_tile(), hsums()). Here lane l's sums of all 16 centroids are one vector: for each nonzero
// x[16 m + l] in turn, x broadcast times the centroids' feature 16 m + l (PackedCentroids::
// columns) into accumulator l, and the tree's additions are vertical, as the column form does at
// small d. A zero value adds x c = +-0 to a sum that is never -0, which changes no bit (finite
// centroids), so only the nonzeros are visited: on MNIST 151 of a row's 784 values, where
// values() takes ten multiply-adds for each of the 29 chunks of 16 that hold one. The nonzeros
// are stored round by round, round t holding each lane's t-th nonzero (a lane with fewer holds
// zeros: the same +0), so that every round is sixteen independent multiply-adds with no branch
// (a loop per lane, each ending at its own count, mispredicted its way to 1.2x the time of
// values()); the longest lane sets a row's rounds (11.3 on MNIST, for 9.4 nonzeros a lane).
// With AVX-512 and 16 < k <= 64 a lane's sums are H = 2 to 4 vectors, and the 16 H would not
// fit the registers for all 16 lanes at once: the lanes in passes (the even lanes, then the
// odd; or four passes of four), each ending in its node of the same tree (values_in_blocks()).
//
// A nonzero is 16 bits: its chunk m (below kLaneRowsMaxD / 16) above its byte.
#pragma once

#include <cstdint>
#include <vector>

#include "kmeans/aligned.hpp"
#include "kmeans/kmeans_core.hpp"

namespace hpcb::kmeans {

// Centroids: one vector of 16 with AVX2 (two halves), up to four with AVX-512 (values_in_blocks()).
inline constexpr int kLaneRowsBlockK = 16;  // centroids a vector of sums holds
#if defined(__AVX512F__)
inline constexpr int kLaneRowsMaxK = 64;
#else
inline constexpr int kLaneRowsMaxK = 16;
#endif
inline constexpr std::int64_t kLaneRowsMaxD = 1024;  // chunks of 16 below 64

// Whether this build has the lane kernel (AVX-512, or AVX2 and FMA).
bool lane_rows_built();

class LaneRows {
 public:
  // Rows [size(), size() + rows) of d <= kLaneRowsMaxD values: appended in order, block by block.
  void append(const std::uint8_t* X, std::int64_t rows, std::int64_t d);
  // Room for `rows` rows of d values whose entries take at most their bytes (the E-step drops
  // the form past that), so that appending never moves what is held.
  void reserve(std::int64_t rows, std::int64_t d);
  std::int64_t size() const { return static_cast<std::int64_t>(rounds_.size()); }
  // Multiply-adds over all rows: 16 per round and vector of centroids (kLaneRowsBlockK).
  std::int64_t work() const { return static_cast<std::int64_t>(entries_.size()); }
  std::int64_t bytes() const {
    return static_cast<std::int64_t>(entries_.size() * sizeof(std::uint16_t) + rounds_.size() * sizeof(std::uint16_t) +
                                     start_.size() * sizeof(std::int64_t));
  }
  void clear();

  // The values of the listed rows against the k <= kLaneRowsMaxK centroids of C, out[r * k + c], as
  // values() computes them (xx: every row's row_norms(), by row number; scale: the rows'). C
  // must hold its columns (pack_centroids() with ColumnForm::always) and finite centroids.
  void values(const std::int64_t* rows, std::int64_t n, float scale, const float* xx,
              const PackedCentroids<float>& C, float* out) const;

  // Row i's values (of d) subtracted from out[0, d) and added to in[0, d): relabel()'s move.
  void move(std::int64_t i, std::int64_t d, std::int64_t* out, std::int64_t* in) const;

 private:
  // Row i's entries asked from memory ahead of their use (values()).
  void prefetch_row(std::size_t i) const;
  // values() with AVX-512, 16 < k <= 64 (lane_rows.cpp): H vectors of 16 centroids.
  template <int H>
  void values_in_blocks(const std::int64_t* rows, std::int64_t n, const float* scaled, const float* xx,
                        const PackedCentroids<float>& C, float* out) const;
  // values() with AVX2 (lane_rows.cpp): H registers of 8 centroids.
  template <int H>
  void values_in_halves(const std::int64_t* rows, std::int64_t n, const float* scaled, const float* xx,
                        const PackedCentroids<float>& C, float* out) const;

  std::vector<std::int64_t> start_;     // per row: its first entry (a multiple of 16)
  std::vector<std::uint16_t> rounds_;   // per row
  // Round-major: lane l's t-th nonzero at start + 16 t + l. Bulk: every entry is written (no
  // zero fill first), and the pages come huge where the system allows (fewer first-touch faults).
  bulk_vector<std::uint16_t> entries_;
};

}  // namespace hpcb::kmeans
