#include "kmeans/amx_dots.hpp"

#include <algorithm>

#if defined(__AMX_TILE__) && defined(__AMX_INT8__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "common/prefetch.hpp"

namespace hpcb::kmeans {

AmxCentroids amx_layout(int k, std::int64_t d) {
  AmxCentroids A;
  if (!amx_ready() || d < 64 || k < 1) return A;
  A.k = k;
  A.d = d;
  A.chunks = (d + 63) / 64;
  const std::int64_t groups = (k + 15) / 16;
  A.hi.assign(static_cast<std::size_t>(groups * A.chunks * 1024), 0);
  A.lo.assign(A.hi.size(), 0);
  return A;
}

#if defined(__AMX_TILE__) && defined(__AMX_INT8__)

namespace {

// Eight tiles of 16 x 64 bytes: 0 and 1 the chunk of two groups of 16 rows, 2 and 3 the
// centroids' hi and lo, 4 to 7 the sums (16 x 16 int32) of rows 0-15 and 16-31 by hi and
// by lo: four independent chains of sums, and each centroid tile serves 32 rows. (Tiles
// are not renamed: a tile loaded again waits for the instructions still reading it.)
struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

}  // namespace

bool amx_ready() {
  // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): refused by kernels before 5.16 and
  // where the hypervisor hides the tile state.
  static const bool ready = syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  return ready;
}

void amx_begin() {
  TileConfig t;
  for (int i = 0; i < 8; ++i) {
    t.colsb[i] = 64;
    t.rows[i] = 16;
  }
  // GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes of the 64, and
  // _tile_loadd that it reads no memory at all: without this barrier the stores above
  // were dropped as dead (a #GP on ldtilecfg).
  asm volatile("" ::: "memory");
  _tile_loadconfig(&t);
}

void amx_end() { _tile_release(); }

void amx_dots(const std::uint8_t* X, const AmxCentroids& A, int g, std::int64_t* P) {
  const std::int8_t* hi = A.hi.data() + static_cast<std::int64_t>(g) * A.chunks * 1024;
  const std::uint8_t* lo = A.lo.data() + static_cast<std::int64_t>(g) * A.chunks * 1024;
  const std::uint8_t* X1 = X + 16 * A.d;
  // The next 32 rows (contiguous) asked for while these are summed: a tile load gathers
  // 16 lines d bytes apart, which the hardware prefetcher does not foresee.
  const auto* next = reinterpret_cast<const char*>(X + 32 * A.d);
  const std::int64_t lines = (32 * A.d + 63) / 64, per_chunk = (lines + A.chunks - 1) / A.chunks;
  asm volatile("" ::: "memory");  // the tile loads below read memory (see amx_begin())
  _tile_zero(4);
  _tile_zero(5);
  _tile_zero(6);
  _tile_zero(7);
  for (std::int64_t ch = 0; ch < A.chunks; ++ch) {
    for (std::int64_t l = ch * per_chunk; l < std::min(lines, (ch + 1) * per_chunk); ++l) prefetch(next + l * 64);
    // The last chunk reads past the end of each row (into the next one: the caller keeps
    // a row after the 32), times centroid values that are zero there.
    _tile_loadd(0, X + ch * 64, A.d);
    _tile_loadd(1, X1 + ch * 64, A.d);
    _tile_loadd(2, hi + ch * 1024, 64);
    _tile_loadd(3, lo + ch * 1024, 64);
    _tile_dpbusd(4, 0, 2);
    _tile_dpbuud(5, 0, 3);
    _tile_dpbusd(6, 1, 2);
    _tile_dpbuud(7, 1, 3);
  }
  alignas(64) std::int32_t h[2][16 * 16], l[2][16 * 16];
  _tile_stored(4, h[0], 64);
  _tile_stored(5, l[0], 64);
  _tile_stored(6, h[1], 64);
  _tile_stored(7, l[1], 64);
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < 16 * 16; ++i) P[t * 256 + i] = 256 * static_cast<std::int64_t>(h[t][i]) + l[t][i];
}

#else

bool amx_ready() { return false; }
void amx_begin() {}
void amx_end() {}
// Never called: amx_layout() gives nothing usable here.
void amx_dots(const std::uint8_t*, const AmxCentroids&, int, std::int64_t*) {}

#endif

}  // namespace hpcb::kmeans
