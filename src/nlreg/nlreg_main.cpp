// nlreg_seq, nlreg_omp, nlreg_mpi, nlreg_hybrid: this one main, linked with
// one of the team backends (src/team/team_*.cpp).
#include "nlreg/nlreg_workload.hpp"

int main(int argc, char** argv) {
  hpcb::Backend backend(argc, argv);
  hpcb::nlreg::RegressionWorkload workload;
  return hpcb::run_workload(argc, argv, backend, workload);
}
