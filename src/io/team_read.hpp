// Reading input where the backend wants it: under MPI every rank reads its own
// rows; with threads (and sequentially) worker 0 reads all rows once and the
// other threads share them. Errors are agreed, so no worker waits forever.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "team/team.hpp"

namespace hpcb {

// read(distributed) returns a T; `distributed` says the caller should read only
// its own rows (MPI) rather than all of them.
template <class T, class Read>
std::shared_ptr<const T> read_on_team(Team& team, Read&& read) {
  std::shared_ptr<const T> data;
  std::optional<std::string> error;
  if (!team.shared_memory() || team.rank() == 0) {
    try {
      data = std::make_shared<const T>(read(!team.shared_memory()));
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (auto agreed = team.agree(error)) throw AgreedError(*agreed);
  if (team.shared_memory()) data = std::static_pointer_cast<const T>(team.share(data));
  return data;
}

}  // namespace hpcb
