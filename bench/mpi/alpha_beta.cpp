// alpha-beta probe for bench/COST_MODEL.md: the start-up time alpha and the
// time per byte beta of this machine's MPI, from a ping-pong between ranks 0
// and 1 (t(m) = alpha + m beta: alpha is the one-way time of the smallest
// message, beta the slope between the two largest; a least-squares line over
// all sizes would let the large messages decide alpha too), and the
// two collectives the solvers use per iteration at their real sizes: an
// all-reduce of int64 (the k-means M-step sums) and an all-gather of a few
// doubles per rank (the tree sums). Prints one JSON object.
//
//   mpicxx.mpich -O2 -std=c++20 bench/mpi/alpha_beta.cpp -o build/alpha_beta
//   mpiexec.hydra -n 2 build/alpha_beta > results/bench/alpha_beta.json
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

// Median over `reps` timed repetitions (after warm-up) of fn(), in seconds,
// agreed by all ranks (the maximum of each repetition).
template <class Fn>
double median_time(int reps, Fn&& fn) {
  for (int i = 0; i < 5; ++i) fn();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    fn();
    double local = MPI_Wtime() - start, worst = 0;
    MPI_Allreduce(&local, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    t.push_back(worst);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) {
    if (rank == 0) std::fprintf(stderr, "alpha_beta: run on 2 or more ranks\n");
    MPI_Finalize();
    return 2;
  }
  std::vector<char> buf(1 << 22);
  std::printf(rank == 0 ? "{\"ranks\": %d, \"pingpong\": [" : "", size);
  std::vector<double> sizes, times;
  for (int bytes = 8; bytes <= (1 << 22); bytes *= 4) {
    const int reps = bytes > (1 << 18) ? 50 : 400;
    // One round trip per call; half of it is the one-way time.
    const double rt = median_time(reps, [&] {
      if (rank == 0) {
        MPI_Send(buf.data(), bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(buf.data(), bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(buf.data(), bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buf.data(), bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
      }
    });
    if (rank == 0) std::printf("%s{\"bytes\": %d, \"s\": %.9g}", sizes.empty() ? "" : ", ", bytes, rt / 2);
    sizes.push_back(bytes);
    times.push_back(rt / 2);
  }
  const std::size_t last = sizes.size() - 1;
  const double beta = (times[last] - times[last - 1]) / (sizes[last] - sizes[last - 1]);
  const double alpha = times[0];
  if (rank == 0) std::printf("], \"alpha_s\": %.9g, \"beta_s_per_byte\": %.9g, \"allreduce_int64\": [", alpha, beta);
  int first = 1;
  for (int count : {1, 64, 7850, 78500}) {  // 7850 = MNIST k x (d + 1), k = 10
    std::vector<std::int64_t> in(static_cast<std::size_t>(count), 1), out(in.size());
    const double t = median_time(200, [&] {
      MPI_Allreduce(in.data(), out.data(), count, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    });
    if (rank == 0) std::printf("%s{\"count\": %d, \"s\": %.9g}", first ? "" : ", ", count, t);
    first = 0;
  }
  if (rank == 0) std::printf("], \"allgather_double\": [");
  first = 1;
  for (int per_rank : {4, 16, 64}) {  // tree sums: m values x about 2 log2(blocks) nodes per rank
    std::vector<double> in(static_cast<std::size_t>(per_rank), 1.0), out(in.size() * static_cast<std::size_t>(size));
    const double t = median_time(400, [&] {
      MPI_Allgather(in.data(), per_rank, MPI_DOUBLE, out.data(), per_rank, MPI_DOUBLE, MPI_COMM_WORLD);
    });
    if (rank == 0) std::printf("%s{\"per_rank\": %d, \"s\": %.9g}", first ? "" : ", ", per_rank, t);
    first = 0;
  }
  if (rank == 0) std::printf("]}\n");
  MPI_Finalize();
  return 0;
}
