// The sequential backend: a team of one worker, every collective a copy.
#include "common/error.hpp"
#include "team/one_worker.hpp"

namespace hpcb {

BackendInfo Backend::info(int threads_requested) const {
  if (threads_requested > 1)
    throw UsageError("the sequential executable runs one thread; use the _omp executable for --threads " +
                     std::to_string(threads_requested));
  return {"seq", "none", 1, 1, true};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  info(threads_requested);
  OneWorkerTeam team;
  return body(team);
}

}  // namespace hpcb
