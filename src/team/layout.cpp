#include "team/layout.hpp"

#include "common/error.hpp"

namespace hpcb {

std::pair<std::int64_t, std::int64_t> group_rows(const Team& team, std::int64_t n_rows, bool distributed,
                                                 const std::string& path) {
  const int processes = team.size() / team.group_size();
  if (distributed && processes > n_rows)
    throw DataError(path + ": more MPI ranks (" + std::to_string(processes) + ") than rows (" +
                    std::to_string(n_rows) + ")");
  const Layout layout{n_rows, team.size(), team.group_first()};
  const std::int64_t first = layout.rows_of(team.group_first()).first;
  const std::int64_t last = layout.rows_of(team.group_first() + team.group_size() - 1).second;
  return {first, last};
}

}  // namespace hpcb
