// Positive control for `make race-check`: a real data race in an OpenMP region
// (every thread adds to one counter without synchronisation), next to the same
// pattern done right (a barrier between the writes and the reads). Under TSan
// with Archer the first must be reported and the second must not; otherwise the
// race check proves nothing. Exit status: 0.
#include <omp.h>

#include <cstdio>
#include <vector>

int main(int argc, char**) {
  long racy = 0;
  std::vector<long> slots(static_cast<std::size_t>(omp_get_max_threads()) + 8, 0);
  long total = 0;
#pragma omp parallel num_threads(2)
  {
    const int t = omp_get_thread_num();
    if (argc > 1) racy += t + 1;  // the race, only when asked for: `race_control racy`
    slots[static_cast<std::size_t>(t)] = t + 1;
#pragma omp barrier
#pragma omp single
    for (int i = 0; i < omp_get_num_threads(); ++i) total += slots[static_cast<std::size_t>(i)];
  }
  std::printf("%ld %ld\n", racy, total);
  return 0;
}
