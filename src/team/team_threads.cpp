// The OpenMP backend: the workers are the threads of one parallel region, and
// the collectives go through buffers shared by the team, separated by barriers.
// Every thread publishes a pointer to its contribution, and after a barrier each
// reads what it needs; a second barrier keeps the contributions alive until all
// readers are done. Integer sums are exact, so the reading order is free.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "team/team.hpp"

namespace hpcb {
namespace {

struct Shared {
  explicit Shared(int n) : in(n), out(n), errors(n) {}
  std::vector<const void*> in;        // each thread's contribution
  std::vector<const void*> out;       // each thread's result buffer (sum)
  std::vector<std::optional<std::string>> errors;
  std::vector<double> values;         // scalar results (max)
  std::shared_ptr<const void> object; // share()
};

class ThreadTeam final : public Team {
 public:
  ThreadTeam(Shared& s, int rank, int size) : s_(s), rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool shared_memory() const override { return true; }

  void barrier() override {
    Stopwatch w(comm_s_);
#pragma omp barrier
  }

  void sum(std::span<std::int64_t> values) override {
    // Each thread reduces a slice of the elements over all contributions into a
    // private copy, then every thread reads the finished slices.
    Stopwatch w(comm_s_);
    std::vector<std::int64_t> copy(values.begin(), values.end());
    s_.in[rank_] = copy.data();
#pragma omp barrier
    const std::size_t n = values.size();
    const std::size_t lo = n * rank_ / size_, hi = n * (rank_ + 1) / size_;
    for (std::size_t i = lo; i < hi; ++i) {
      std::int64_t acc = 0;
      for (int t = 0; t < size_; ++t) acc += static_cast<const std::int64_t*>(s_.in[t])[i];
      values[i] = acc;
    }
    s_.out[rank_] = values.data();
#pragma omp barrier
    for (int t = 0; t < size_; ++t) {
      const std::size_t tlo = n * t / size_, thi = n * (t + 1) / size_;
      if (t == rank_) continue;
      const auto* other = static_cast<const std::int64_t*>(s_.out[t]);
      std::copy(other + tlo, other + thi, values.begin() + static_cast<std::ptrdiff_t>(tlo));
    }
#pragma omp barrier
  }

  void sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts,
                   std::span<std::int64_t> out) override {
    Stopwatch w(comm_s_);
    s_.in[rank_] = in.data();
#pragma omp barrier
    std::size_t offset = 0;
    for (int t = 0; t < rank_; ++t) offset += static_cast<std::size_t>(counts[t]);
    for (std::size_t i = 0; i < static_cast<std::size_t>(counts[rank_]); ++i) {
      std::int64_t acc = 0;
      for (int t = 0; t < size_; ++t) acc += static_cast<const std::int64_t*>(s_.in[t])[offset + i];
      out[i] = acc;
    }
#pragma omp barrier
  }

  void gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) override {
    Stopwatch w(comm_s_);
    s_.in[rank_] = mine.data();
#pragma omp barrier
    std::size_t offset = 0;
    for (int t = 0; t < size_; ++t) {
      const auto* src = static_cast<const double*>(s_.in[t]);
      std::copy(src, src + counts[t], all.begin() + static_cast<std::ptrdiff_t>(offset));
      offset += static_cast<std::size_t>(counts[t]);
    }
#pragma omp barrier
  }

  void gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t> counts,
                       std::span<std::int32_t> all) override {
    Stopwatch w(comm_s_);
    s_.in[rank_] = mine.data();
#pragma omp barrier
    if (rank_ == 0) {
      std::size_t offset = 0;
      for (int t = 0; t < size_; ++t) {
        const auto* src = static_cast<const std::int32_t*>(s_.in[t]);
        std::copy(src, src + counts[t], all.begin() + static_cast<std::ptrdiff_t>(offset));
        offset += static_cast<std::size_t>(counts[t]);
      }
    }
#pragma omp barrier
  }

  double max(double value) override {
    Stopwatch w(comm_s_);
#pragma omp single
    s_.values.assign(size_, 0.0);
    s_.values[rank_] = value;
#pragma omp barrier
    const double m = *std::max_element(s_.values.begin(), s_.values.end());
#pragma omp barrier
    return m;
  }

  std::shared_ptr<const void> share(std::shared_ptr<const void> from_first) override {
    if (rank_ == 0) s_.object = std::move(from_first);
#pragma omp barrier
    auto result = s_.object;
#pragma omp barrier
    if (rank_ == 0) s_.object.reset();
    return result;
  }

  std::optional<std::string> agree(const std::optional<std::string>& mine) override {
    s_.errors[rank_] = mine;
#pragma omp barrier
    std::optional<std::string> first;
    for (const auto& e : s_.errors)
      if (e) {
        first = e;
        break;
      }
#pragma omp barrier
    return first;
  }

  std::vector<std::string> hosts() override {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    return std::vector<std::string>(static_cast<std::size_t>(size_), name);
  }

 private:
  Shared& s_;
  int rank_, size_;
};

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return omp_get_max_threads();  // OMP_NUM_THREADS, or the core count
}

}  // namespace

Backend::Backend(int&, char**&) {}
Backend::~Backend() = default;

BackendInfo Backend::info(int threads_requested) const {
  return {"omp", "none", 1, resolve_threads(threads_requested), true};
}

int Backend::run(int threads_requested, const std::function<int(Team&)>& body) {
  const int n = resolve_threads(threads_requested);
  Shared shared(n);
  std::vector<int> status(static_cast<std::size_t>(n), 0);
  // Exactly n threads, or the collectives would wait for threads that never come.
  omp_set_dynamic(0);
#pragma omp parallel num_threads(n)
  {
    const int t = omp_get_thread_num();
    if (omp_get_num_threads() != n) {
#pragma omp critical
      std::fprintf(stderr, "error: asked for %d OpenMP threads, got %d\n", n, omp_get_num_threads());
      std::_Exit(kDataError);
    }
    ThreadTeam team(shared, t, n);
    try {
      status[static_cast<std::size_t>(t)] = body(team);
    } catch (const std::exception& e) {
      // An exception outside an agreed error would leave the other threads at a
      // barrier forever: end the whole process instead of hanging.
#pragma omp critical
      std::fprintf(stderr, "error: thread %d: %s\n", t, e.what());
      std::_Exit(kDataError);
    }
  }
  return status[0];
}

}  // namespace hpcb
