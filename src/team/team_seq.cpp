// The sequential backend: a team of one worker, every collective a copy.
#include <algorithm>

#include "common/error.hpp"
#include "team/host_name.hpp"
#include "team/team.hpp"

namespace hpcb {
namespace {

class SeqTeam final : public Team {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int group_first() const override { return 0; }
  int group_size() const override { return 1; }
  void barrier() override {}
  void sum(std::span<std::int64_t>) override {}
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

}  // namespace

BackendInfo Backend::info(int threads_requested) const {
  if (threads_requested > 1)
    throw UsageError("the sequential executable runs one thread; use the _omp executable for --threads " +
                     std::to_string(threads_requested));
  return {"seq", "none", 1, 1, true};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  info(threads_requested);
  SeqTeam team;
  return body(team);
}

}  // namespace hpcb
