// The OpenMP backend: the workers are the threads of one parallel region
// (group_team.cpp without a team of processes). No MPI here or in what it includes.
#include "common/error.hpp"
#include "team/group_team.hpp"

namespace hpcb {

BackendInfo Backend::info(int threads_requested) const {
  return {"omp", "none", 1, resolve_threads(threads_requested), true};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  return run_group(resolve_threads(threads_requested), nullptr, body);
}

}  // namespace hpcb
