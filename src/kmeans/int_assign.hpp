// Lloyd's assignment of uint8 rows through exact integer dot products: the float
// kernel's labels (assign()), bit for bit, at about twice its speed where the CPU
// has AVX-512 VNNI (one vpdpwssd multiplies and adds 32 int16 pairs, one vpdpbusd 64
// byte pairs; one fused multiply-add, 16 floats), and 1.25x with AVX2 (vpmaddwd, 16 int16
// pairs, and an add; the int16 pass alone).
//
// The rows are integers (x, with the kernel's row x_f = x * scale rounded to float),
// so only the centroids are rounded: q = round(scale * c * 2^shift) as int16, c the
// kernel's float centroid. P = sum_j x_j q_j is exact in int32 (shift keeps every
// partial sum below 2^31), and D_c = |c|^2 - 2^(1 - shift) P_c differs from the
// kernel's value V_c less |x_f|^2 by at most a margin m (the kernel's own error bound,
// value_error(), plus the rounding of q, of x_f and of D_c; written out in
// int_assign.cpp). A row whose smallest D_b is more than 2 m below every other D_c
// has V_b strictly below every other V_c: label b, Lloyd's choice, with no tie to
// break. A first pass rounds the centroids to int8 (vpdpbusd: 64 byte products per
// instruction, half the int16 pass's instructions) on a grid of 255 steps centred on their
// range (its offset moves every D_c of a row by the same amount, which no comparison sees),
// with a margin about 30 times wider (MNIST's means); the rows it leaves (about 1 in 30 on
// MNIST near convergence) take the int16 pass, and those that leaves too (a few per ten
// thousand) the float kernel's values of all k centroids and pick() among them, as
// assign() does.
//
// From kIntAmxMinK centroids, where the CPU has AMX, the int16 sums of 32 rows at a time
// come from AMX tiles instead (amx_dots.hpp: the same integers), with the int16 margin.
//
// It gives labels only (the solver's inertia comes from the M-step's sums), and only
// where the bound is sure to hold: see IntCentroids::usable().
#pragma once

#include <cstdint>
#include <vector>

#include "kmeans/aligned.hpp"
#include "kmeans/amx_dots.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/pair_rows.hpp"

namespace hpcb::kmeans {

// The centroids as assign_uint8() reads them: q in groups of up to 12 centroids (a register tile), chunk
// by chunk of 32 int16 (one 64-byte register; zeros beyond d), as PackedCentroids::values
// is laid out; and per centroid |c|^2 (double sums of the float centroid's squares).
struct IntCentroids {
  int k = 0, shift = 0;
  std::int64_t stride = 0;  // d rounded up to 32
  aligned_vector<std::int16_t> values;
  // The same rounded to int8 (chunks of 64) on a grid centred on the values' range,
  // q + offset8 = round(factor8 scale c) with a whole offset8 that moves every D_c of a row
  // alike, so that nothing here keeps it (quantize_centroids()): a first pass at half the
  // multiply-adds, whose wider margin leaves more rows to the int16 sums. Empty where the
  // int8 sums could overflow, and for more than kIntBytesMaxK centroids.
  double factor8 = 0;
  double to_value8 = 0;      // 2 / factor8, rounded: D_c = |c|^2 - to_value8 P_c, less 2 offset8 sum_j x_j / factor8
  double unit8 = 0;          // 1 / factor8 rounded up (with the rounding of factor8 scale c): the margin's step
  std::int64_t stride8 = 0;  // d rounded up to 64
  aligned_vector<std::int8_t> values8;
  // The int16 values again, as AMX tiles read them (amx_dots.hpp): where the CPU and the
  // kernel allow AMX, and from kIntAmxMinK centroids, these sums replace both passes above
  // for the rows that come 32 at a time.
  AmxCentroids amx;
  // The int16 values again, as the pair kernel reads them (pair_rows.hpp): where asked for.
  PairCentroids pairs;
  std::vector<double> norms;
  double norm_max = 0;  // >= max |c| over the centroids
  float scale = 1;
  // Built, and the rounding bounds hold (finite centroids and values far from float overflow).
  bool usable() const { return !values.empty(); }
  bool bytes_usable() const { return !values8.empty(); }
};

// Whether this build has the integer kernel (AVX-512 VNNI and BW: both passes; AVX2: the
// int16 pass alone, 1.25x faster than the float kernel on MNIST, Zen 3), and from how many
// features the EStep takes it (below, the 16-lane reductions of its sums outweigh the
// halved multiply-adds).
bool int_assign_built();
// Whether it has the int8 first pass (AVX-512 VNNI): elsewhere quantize_centroids() makes no
// int8 centroids (bytes_usable() is false).
bool int8_pass_built();
inline constexpr std::int64_t kIntAssignMinD = 256;
inline constexpr int kIntBytesMaxK = 64;  // the int8 first pass up to this many centroids
// AMX from this many centroids (a tile holds 16): measured on MNIST (kmeans_seq, Lloyd,
// against the VNNI passes, same run), k = 10 1.1x slower, 16 1.15-1.2x faster, 24 1.07x,
// 32 1.3x, 64 1.55x, 100 1.5x, 256 1.7x faster.
inline constexpr int kIntAmxMinK = 16;

// The sum of each row's values (x_j, unscaled): they bound the centroids' rounding in the
// margin, and never change, so callers compute them once.
void row_sums(const std::uint8_t* X, std::int64_t rows, std::int64_t d, std::uint32_t* sums);

// C: k x d centroids in scaled units, as for pack_centroids(); scale: the rows'. ForPairs::yes:
// with the pair kernel's layout too (where pair_rows_built()).
// Not usable() where the kernel is not built or the bounds could fail.
enum class ForPairs { no, yes };
IntCentroids quantize_centroids(const double* C, int k, std::int64_t d, float scale, ForPairs for_pairs = ForPairs::no);

// Labels of `rows` uint8 rows (used as X * scale, the scale Q was made for), those
// assign() gives with C (the same centroids, pack_centroids()); xx: the rows'
// row_norms(); sums: the rows' row_sums(), or nullptr to compute them here; live: the
// rows' row_chunk_masks() (their chunks of zeros are skipped), or nullptr; pairs: the rows
// by their nonzero pairs, whose int16 sums then come from the pair kernel where Q has its
// layout (Q.pairs), or none. Q must be usable().
void assign_uint8(const std::uint8_t* X, std::int64_t rows, std::int64_t d, const PackedCentroids<float>& C,
                  const IntCentroids& Q, const float* xx, const std::uint32_t* sums, const std::uint64_t* live,
                  PairBlock pairs, std::int32_t* labels);

// The rows a pruned E-step reads whole (those its bounds did not settle), from their exact
// int16 sums: per listed row r, for every centroid c an estimate values[r k + c] = xx + D_c of
// the exact squared distance T_c = |x_f - c|^2 (x_f the kernel's float row, c its float
// centroid) with |T_c - values[r k + c]| <= error[r], and label[r] the float kernel's choice
// (Lloyd's) where the int16 margin settles it, else -1 (the caller then takes the float values).
struct RowEstimates {
  std::vector<double> values, error;
  std::vector<std::int32_t> label;
  // The call's working buffers (one row's integer sums and its D_c, padded), kept for the next.
  std::vector<std::int32_t> sums;
  std::vector<double> row_values;
};
// rows: numbers of the rows of X or `pairs`, and of xx and sums (their row_norms() and
// row_sums()). Q must be usable(), and for the pairs hold their layout (Q.pairs.usable()).
// From the rows' nonzero pairs (pair_estimates(): the pair kernel, AVX2 builds), or from the
// rows themselves (dense_estimates(): the int16 chunk kernel, with its vpdpwssd where the CPU
// has AVX-512 VNNI; live: the rows' row_chunk_masks(), by row number, or nullptr). The same
// integers, so the same estimates, either way.
void pair_estimates(const PairRows& pairs, const std::int64_t* rows, std::int64_t n, std::int64_t d,
                    const IntCentroids& Q, const float* xx, const std::uint32_t* sums, RowEstimates& out);
void dense_estimates(const std::uint8_t* X, const std::int64_t* rows, std::int64_t n, std::int64_t d,
                     const IntCentroids& Q, const float* xx, const std::uint32_t* sums, const std::uint64_t* live,
                     RowEstimates& out);

}  // namespace hpcb::kmeans
