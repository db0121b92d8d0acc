// Work that one worker does for the team (writing a file, appending a record):
// errors are agreed, so every worker learns of a failure and none is left
// waiting in the next collective.
#pragma once

#include <exception>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "team/team.hpp"

namespace hpcb {

// Runs fn on worker 0 only; an exception there makes every worker throw
// AgreedError with its message.
template <class Fn>
void on_first_worker(Team& team, Fn&& fn) {
  std::optional<std::string> error;
  if (team.rank() == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (auto agreed = team.agree(error)) throw AgreedError(*agreed);
}

}  // namespace hpcb
