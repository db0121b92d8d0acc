// A team of one worker, every collective a copy: the sequential backend's (team_seq.cpp),
// and a stand-in for the team between processes in the unit tests.
#pragma once

#include <algorithm>

#include "team/host_name.hpp"
#include "team/team.hpp"

namespace hpcb {

class OneWorkerTeam : public Team {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int group_first() const override { return 0; }
  int group_size() const override { return 1; }
  void barrier() override {}
  void sum(std::span<std::int64_t>) override {}
  void sum(std::span<std::int32_t>) override {}
  void sum_scatter(std::span<const std::int64_t> in, std::span<const int>,
                   std::span<std::int64_t> out) override {
    std::copy(in.begin(), in.end(), out.begin());
  }
  void gather(std::span<const double> mine, std::span<const int>, std::span<double> all) override {
    std::copy(mine.begin(), mine.end(), all.begin());
  }
  void gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t>,
                       std::span<std::int32_t> all) override {
    std::copy(mine.begin(), mine.end(), all.begin());
  }
  double max(double value) override { return value; }
  std::shared_ptr<const void> share(std::shared_ptr<const void> from_first) override { return from_first; }
  std::optional<std::string> agree(const std::optional<std::string>& mine) override { return mine; }
  std::vector<std::string> hosts() override { return {this_host()}; }
};

}  // namespace hpcb
