// Wall-clock timing of phases.
#pragma once

#include <time.h>

namespace hpcb {

// The monotonic clock, called by name: SimGrid's smpicxx (the simulated build,
// jobs/smpi.mk) replaces clock_gettime with the simulated clock, so every time the
// toolkit measures is simulated there without a line of different code.
inline double now_s() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Adds the seconds between construction and destruction to `total`.
class Stopwatch {
 public:
  explicit Stopwatch(double& total) : total_(total), start_(now_s()) {}
  ~Stopwatch() { total_ += now_s() - start_; }
  Stopwatch(const Stopwatch&) = delete;
  Stopwatch& operator=(const Stopwatch&) = delete;

 private:
  double& total_;
  double start_;
};

}  // namespace hpcb
