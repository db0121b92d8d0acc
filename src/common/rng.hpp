// Counter-based random numbers: the value for (seed, stream, index) is a pure
// function of those three numbers. Every backend therefore draws the same number
// for the same global row, whichever worker owns the row and however the rows are
// split, and a generator can be restarted at any row (chunked dataset writing).
// The standard library's distributions are avoided on purpose: their output
// differs between implementations.
#pragma once

#include <cmath>
#include <cstdint>

namespace hpcb::rng {

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// 64 random bits for (seed, stream, index).
constexpr std::uint64_t bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return mix64(mix64(mix64(seed) ^ stream) ^ index);
}

// Uniform double in the open interval (0, 1): 53 random bits, offset by half a step
// so that log(u) is always finite.
inline double uniform01(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return (static_cast<double>(bits(seed, stream, index) >> 11) + 0.5) * 0x1.0p-53;
}

// Standard normal by Box-Muller from two uniforms of consecutive indices 2i, 2i+1.
inline double normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  const double u1 = uniform01(seed, stream, 2 * index);
  const double u2 = uniform01(seed, stream, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace hpcb::rng
