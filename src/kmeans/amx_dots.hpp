// Exact integer dot products of uint8 rows with int16 centroids on AMX tiles (Intel
// Sapphire Rapids and later: one TDPBUSD multiplies and adds a 16 x 64 byte tile by a
// 64 x 16 one, 16,384 byte products, where one AVX-512 VNNI instruction does 64).
//
// AMX multiplies bytes only, so each int16 centroid value q is split as q = 256 hi + lo
// with hi signed (int8) and lo unsigned (uint8): sum_j x_j q_j = 256 sum_j x_j hi_j +
// sum_j x_j lo_j, two byte products (TDPBUSD, TDPBUUD) each summed exactly in int32 (at
// most 255 * 255 * d), combined in int64. The result is the same integer as the int16
// sums of int_assign.cpp, bit for bit, so the labels that follow are the same too.
#pragma once

#include <cstdint>

#include "kmeans/aligned.hpp"

namespace hpcb::kmeans {

// Whether this build has AMX (tile and int8) and the kernel lets this process use it
// (Linux asks each process to request the tile state: arch_prctl ARCH_REQ_XCOMP_PERM).
// The request is made once, at the first call.
bool amx_ready();

// The centroids as the tiles read them: per group of 16 centroids and chunk of 64
// features one 16 x 64 byte tile of hi and one of lo, element [f / 4][c * 4 + f % 4] for
// centroid c and feature f of the chunk (the layout TDPBUSD expects of its second
// operand); zeros beyond k and d (so the last chunk may read past the row's end).
struct AmxCentroids {
  int k = 0;
  std::int64_t d = 0, chunks = 0;  // chunks of 64 features, the last one possibly partial
  aligned_vector<std::int8_t> hi;
  aligned_vector<std::uint8_t> lo;
  bool usable() const { return !hi.empty(); }
};

// Zeros in the tiles' layout for k centroids of d features, to be filled by amx_set();
// empty (not usable) where amx_ready() is false or d < 64 (a chunk may read past a row's
// end only into the next row).
AmxCentroids amx_layout(int k, std::int64_t d);

// Centroid c's value v (int16) at feature j.
inline void amx_set(AmxCentroids& A, int c, std::int64_t j, int v) {
  const auto at = static_cast<std::size_t>(((c >> 4) * A.chunks + (j >> 6)) * 1024 + (j & 63) / 4 * 64 + (c & 15) * 4 + (j & 3));
  A.hi[at] = static_cast<std::int8_t>(v >> 8);  // floor(v / 256): v = 256 hi + lo
  A.lo[at] = static_cast<std::uint8_t>(v & 0xFF);
}

// P[r * 16 + c] = sum_j x_r[j] q_c[j] for the 32 rows at X (row r at X + r d) and the
// 16 centroids of group g (exact). Reads up to 63 bytes past the 32nd row: the caller
// keeps at least one more row after them. A must be usable. Call amx_begin() first on
// this thread and amx_end() after the last call.
void amx_dots(const std::uint8_t* X, const AmxCentroids& A, int g, std::int64_t* P);
void amx_begin();
void amx_end();

}  // namespace hpcb::kmeans
