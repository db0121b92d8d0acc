#include "app/phases.hpp"

#include <algorithm>
#include <vector>

namespace hpcb {

TeamPhases gather_phases(Team& team, const Phases& mine) {
  constexpr int kFields = 6;
  const std::vector<double> own = {mine.total, mine.io, mine.init, mine.iterations, mine.comm, mine.metrics};
  const std::vector<int> counts(static_cast<std::size_t>(team.size()), kFields);
  std::vector<double> all(static_cast<std::size_t>(team.size()) * kFields);
  team.gather(own, counts, all);
  auto of = [&](int w) {
    const double* f = &all[static_cast<std::size_t>(w) * kFields];
    return Phases{f[0], f[1], f[2], f[3], f[4], f[5]};
  };
  TeamPhases t;
  t.slowest = of(0);
  t.compute_min = t.compute_max = t.slowest.iterations - t.slowest.comm;
  t.comm_min = t.comm_max = t.slowest.comm;
  for (int w = 1; w < team.size(); ++w) {
    const Phases p = of(w);
    if (p.total > t.slowest.total) t.slowest = p;
    const double compute = p.iterations - p.comm;
    t.compute_min = std::min(t.compute_min, compute);
    t.compute_max = std::max(t.compute_max, compute);
    t.comm_min = std::min(t.comm_min, p.comm);
    t.comm_max = std::max(t.comm_max, p.comm);
  }
  return t;
}

nlohmann::json time_record(const TeamPhases& t, int ran) {
  const Phases& s = t.slowest;
  return {{"total", s.total},
          {"io", s.io},
          {"init", s.init},
          {"iterations", s.iterations},
          {"compute", t.compute()},
          {"comm", s.comm},
          {"metrics", s.metrics},
          {"per_iter", ran > 0 ? nlohmann::json(s.iterations / ran) : nlohmann::json(nullptr)},
          {"compute_min", t.compute_min},
          {"compute_max", t.compute_max},
          {"comm_min", t.comm_min},
          {"comm_max", t.comm_max}};
}

}  // namespace hpcb
