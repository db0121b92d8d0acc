#include "team/group_team.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "common/timer.hpp"

namespace hpcb {
namespace {

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> displs(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) displs[i] = displs[i - 1] + counts[i - 1];
  return displs;
}

// Per-process totals of per-worker counts (workers of process p: p*T .. p*T+T-1).
template <class C>
std::vector<int> process_counts(std::span<const C> counts, int threads) {
  std::vector<int> out(counts.size() / static_cast<std::size_t>(threads), 0);
  for (std::size_t w = 0; w < counts.size(); ++w) {
    const std::int64_t v = out[w / static_cast<std::size_t>(threads)] + static_cast<std::int64_t>(counts[w]);
    if (v > INT_MAX) throw DataError("a gather of more than 2^31 values per process is not supported");
    out[w / static_cast<std::size_t>(threads)] = static_cast<int>(v);
  }
  return out;
}

}  // namespace

GroupTeam::GroupTeam(GroupShared& shared, int thread, int threads, const MPI_Comm* comm)
    : s_(shared), thread_(thread), threads_(threads), comm_(comm) {
  if (comm_) {
    MPI_Comm_rank(*comm_, &process_);
    MPI_Comm_size(*comm_, &processes_);
  }
}

void GroupTeam::publish(const void* p) {
  s_.in[static_cast<std::size_t>(thread_)] = p;
#pragma omp barrier
}

void GroupTeam::sync() {
#pragma omp barrier
}

void GroupTeam::barrier() {
  Stopwatch w(comm_s_);
  sync();
  if (comm_ && thread_ == 0) MPI_Barrier(*comm_);
  sync();
}

void GroupTeam::sum_published(std::size_t n) {
  if (thread_ == 0) {
    s_.ints.assign(n, 0);
    for (int t = 0; t < threads_; ++t) {
      const auto* v = static_cast<const std::int64_t*>(s_.in[static_cast<std::size_t>(t)]);
      for (std::size_t i = 0; i < n; ++i) s_.ints[i] += v[i];
    }
    if (comm_)
      MPI_Allreduce(MPI_IN_PLACE, s_.ints.data(), static_cast<int>(n), MPI_INT64_T, MPI_SUM, *comm_);
  }
  sync();
}

void GroupTeam::sum(std::span<std::int64_t> values) {
  Stopwatch w(comm_s_);
  publish(values.data());
  sum_published(values.size());
  std::copy(s_.ints.begin(), s_.ints.end(), values.begin());
  sync();
}

void GroupTeam::sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts,
                            std::span<std::int64_t> out) {
  // The full sum, then each worker keeps its segment: exact, and simple; the
  // vectors here (k clusters x (d + 1)) are small.
  Stopwatch w(comm_s_);
  publish(in.data());
  sum_published(in.size());
  std::size_t offset = 0;
  for (int wkr = 0; wkr < rank(); ++wkr) offset += static_cast<std::size_t>(counts[static_cast<std::size_t>(wkr)]);
  std::copy_n(s_.ints.begin() + static_cast<std::ptrdiff_t>(offset), counts[static_cast<std::size_t>(rank())], out.begin());
  sync();
}

void GroupTeam::gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) {
  Stopwatch w(comm_s_);
  publish(mine.data());
  if (thread_ == 0) {
    // This process's threads' contributions, in worker order, are one
    // contiguous segment of the result.
    std::vector<double> local;
    for (int t = 0; t < threads_; ++t) {
      const auto* src = static_cast<const double*>(s_.in[static_cast<std::size_t>(t)]);
      local.insert(local.end(), src, src + counts[static_cast<std::size_t>(group_first() + t)]);
    }
    if (comm_) {
      const std::vector<int> pc = process_counts(counts, threads_);
      const std::vector<int> displs = displacements(pc);
      s_.doubles.resize(all.size());
      MPI_Allgatherv(local.data(), static_cast<int>(local.size()), MPI_DOUBLE, s_.doubles.data(), pc.data(),
                     displs.data(), MPI_DOUBLE, *comm_);
    } else {
      s_.doubles = std::move(local);
    }
  }
  sync();
  std::copy(s_.doubles.begin(), s_.doubles.end(), all.begin());
  sync();
}

void GroupTeam::gather_to_first(std::span<const std::int32_t> mine, std::span<const std::int64_t> counts,
                                std::span<std::int32_t> all) {
  Stopwatch w(comm_s_);
  publish(mine.data());
  if (thread_ == 0) {
    std::vector<std::int32_t>& local = s_.labels;
    local.clear();
    for (int t = 0; t < threads_; ++t) {
      const auto* src = static_cast<const std::int32_t*>(s_.in[static_cast<std::size_t>(t)]);
      local.insert(local.end(), src, src + counts[static_cast<std::size_t>(group_first() + t)]);
    }
    if (comm_) {
      const std::vector<int> pc = process_counts(counts, threads_);
      const std::vector<int> displs = displacements(pc);
      MPI_Gatherv(local.data(), static_cast<int>(local.size()), MPI_INT32_T, all.data(), pc.data(), displs.data(),
                  MPI_INT32_T, 0, *comm_);
    } else {
      std::copy(local.begin(), local.end(), all.begin());
    }
  }
  sync();
}

double GroupTeam::max(double value) {
  Stopwatch w(comm_s_);
  publish(&value);
  if (thread_ == 0) {
    double m = value;
    for (int t = 0; t < threads_; ++t) m = std::max(m, *static_cast<const double*>(s_.in[static_cast<std::size_t>(t)]));
    if (comm_) MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MAX, *comm_);
    s_.scalar = m;
  }
  sync();
  const double m = s_.scalar;
  sync();
  return m;
}

std::shared_ptr<const void> GroupTeam::share(std::shared_ptr<const void> from_first) {
  if (thread_ == 0) s_.object = std::move(from_first);
  sync();
  auto result = s_.object;
  sync();
  if (thread_ == 0) s_.object.reset();
  return result;
}

std::optional<std::string> GroupTeam::agree(const std::optional<std::string>& mine) {
  s_.errors[static_cast<std::size_t>(thread_)] = mine;
  sync();
  if (thread_ == 0) {
    std::optional<std::string> first;
    for (const auto& e : s_.errors)
      if (e) {
        first = e;
        break;
      }
    if (comm_) {
      // The lowest process with an error sends its message to all.
      int who = first ? process_ : processes_;
      MPI_Allreduce(MPI_IN_PLACE, &who, 1, MPI_INT, MPI_MIN, *comm_);
      if (who == processes_) {
        first.reset();
      } else {
        int length = who == process_ ? static_cast<int>(first->size()) : 0;
        MPI_Bcast(&length, 1, MPI_INT, who, *comm_);
        std::string message(static_cast<std::size_t>(length), '\0');
        if (who == process_) message = *first;
        MPI_Bcast(message.data(), length, MPI_CHAR, who, *comm_);
        first = message;
      }
    }
    s_.agreed = first;
  }
  sync();
  auto result = s_.agreed;
  sync();
  return result;
}

std::vector<std::string> GroupTeam::hosts() {
  if (thread_ == 0) {
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    gethostname(name, sizeof name - 1);
    // Under Slurm the node's name (several slurmd may share one test host).
    if (const char* node = std::getenv("SLURMD_NODENAME")) std::snprintf(name, sizeof name, "%s", node);
    std::vector<char> all(static_cast<std::size_t>(processes_) * MPI_MAX_PROCESSOR_NAME, '\0');
    if (comm_)
      MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, *comm_);
    else
      std::copy(name, name + MPI_MAX_PROCESSOR_NAME, all.begin());
    s_.hosts.clear();
    for (int p = 0; p < processes_; ++p)
      s_.hosts.insert(s_.hosts.end(), static_cast<std::size_t>(threads_),
                      std::string(all.data() + static_cast<std::size_t>(p) * MPI_MAX_PROCESSOR_NAME));
  }
  sync();
  auto result = s_.hosts;
  sync();
  return result;
}

int resolve_threads(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

int run_group(int threads, const MPI_Comm* comm, const std::function<int(Team&)>& body) {
  GroupShared shared(threads);
  std::vector<int> status(static_cast<std::size_t>(threads), 0);
  // Exactly `threads` threads, or the collectives would wait for threads that never come.
  omp_set_dynamic(0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    auto die = [&](const char* what) {
#pragma omp critical
      std::fprintf(stderr, "error: thread %d: %s\n", t, what);
      if (comm) MPI_Abort(*comm, kDataError);
      std::_Exit(kDataError);
    };
    if (omp_get_num_threads() != threads) die("the OpenMP runtime gave fewer threads than asked for");
    GroupTeam team(shared, t, threads, comm);
    try {
      status[static_cast<std::size_t>(t)] = body(team);
    } catch (const std::exception& e) {
      // Not an agreed error: the other threads may wait at a barrier forever.
      die(e.what());
    }
  }
  return status[0];
}

}  // namespace hpcb
