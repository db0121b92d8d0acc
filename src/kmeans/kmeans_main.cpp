// kmeans_seq, kmeans_omp, kmeans_mpi, kmeans_hybrid: this one main, linked with
// one of the team backends (src/team/team_*.cpp).
#include "kmeans/kmeans_workload.hpp"

int main(int argc, char** argv) {
  hpcb::Backend backend(argc, argv);
  hpcb::kmeans::KMeansWorkload workload;
  return hpcb::run_workload(argc, argv, backend, workload);
}
