#include "team/layout.hpp"

#include "common/error.hpp"

namespace hpcb {

std::int64_t Layout::block_start(std::int64_t rows, std::int64_t b) {
  const std::int64_t nb = count_blocks(rows);
  if (b >= nb) return rows;
  const std::int64_t units = (rows + kRowsPerUnit - 1) / kRowsPerUnit;
  // b * units overflows 64 bits beyond ~10^12 rows (a damaged header may claim that many).
  __extension__ using Wide = __int128;
  return static_cast<std::int64_t>(static_cast<Wide>(b) * units / nb) * kRowsPerUnit;
}

Layout::Layout(std::int64_t rows, int n_workers, int this_worker)
    : n_rows(rows), workers(n_workers), worker(this_worker) {
  const std::int64_t nb = count_blocks(rows);
  starts_.resize(static_cast<std::size_t>(nb) + 1);
  for (std::int64_t b = 0; b <= nb; ++b) starts_[static_cast<std::size_t>(b)] = block_start(rows, b);
}

std::pair<std::int64_t, std::int64_t> group_rows(const Team& team, std::int64_t n_rows, bool distributed,
                                                 const std::string& path) {
  const int processes = team.size() / team.group_size();
  if (distributed && processes > n_rows)
    throw DataError(path + ": more MPI ranks (" + std::to_string(processes) + ") than rows (" +
                    std::to_string(n_rows) + ")");
  // No Layout here: its block table would be allocated before the size checks of the caller.
  const std::int64_t nb = Layout::count_blocks(n_rows);
  const int end_worker = team.group_first() + team.group_size();
  const std::int64_t first = Layout::block_start(n_rows, Layout::first_block(nb, team.group_first(), team.size()));
  const std::int64_t last = Layout::block_start(n_rows, Layout::first_block(nb, end_worker, team.size()));
  return {first, last};
}

}  // namespace hpcb
