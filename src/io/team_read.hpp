// Reading input where the backend wants it: the first worker of each group of
// workers that share memory (Team::group_first) reads the rows of its whole
// group, and the group shares them: under MPI every rank reads its own rows;
// with threads, thread 0 reads all rows once; hybrid, each rank's thread 0
// reads its rank's rows. Errors are agreed, so no worker waits forever.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "team/team.hpp"

namespace hpcb {

// read(distributed) returns a T for the rows of this worker's group;
// `distributed` says the groups read collectively through MPI-IO
// (team.native_comm()), which only the groups' first workers may call.
template <class T, class Read>
std::shared_ptr<const T> read_on_team(Team& team, Read&& read) {
  std::shared_ptr<const T> data;
  std::optional<std::string> error;
  if (team.rank() == team.group_first()) {
    try {
      data = std::make_shared<const T>(read(team.native_comm() != nullptr));
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (auto agreed = team.agree(error)) throw AgreedError(*agreed);
  if (team.group_size() > 1) data = std::static_pointer_cast<const T>(team.share(data));
  return data;
}

}  // namespace hpcb
