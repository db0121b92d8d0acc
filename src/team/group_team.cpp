#include "team/group_team.hpp"

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <limits>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "team/host_name.hpp"

namespace hpcb {
namespace {

// Per-process totals of per-worker counts (workers of process p: p*T .. p*T+T-1),
// in the count type the process team takes (int for gather, int64 for gather_to_first).
template <class C>
std::vector<C> process_counts(std::span<const C> counts, int threads) {
  std::vector<C> out(counts.size() / static_cast<std::size_t>(threads), 0);
  for (std::size_t w = 0; w < counts.size(); ++w) {
    C& total = out[w / static_cast<std::size_t>(threads)];
    if (counts[w] > std::numeric_limits<C>::max() - total)
      throw DataError("a gather of more than " + std::to_string(std::numeric_limits<C>::max()) +
                      " values per process is not supported");
    total += counts[w];
  }
  return out;
}

// Returns once the stamp reads `target`: spinning first (the other thread is usually
// well under a microsecond away), then asleep in the kernel (a futex), so that more
// threads than cores do not spin away each other's time.
void wait_for(std::uint32_t& word, std::uint32_t target, int spins) {
  if (spin_until([&] { return stamped(word, target); }, spins)) return;
  const std::atomic_ref<std::uint32_t> s(word);
  for (std::uint32_t now; (now = s.load(std::memory_order_acquire)) != target;) s.wait(now, std::memory_order_acquire);
}

}  // namespace

GroupTeam::GroupTeam(GroupShared& shared, int thread, int threads, Team* processes)
    : s_(shared), thread_(thread), threads_(threads), between_(processes),
      spins_(spins_before_rest(threads, omp_get_num_procs())) {
  if (between_) {
    process_ = between_->rank();
    processes_ = between_->size();
  }
}

void GroupTeam::publish(const void* p) {
  s_.in[static_cast<std::size_t>(thread_)] = p;
#pragma omp barrier
}

void GroupTeam::sync() {
#pragma omp barrier
}

template <class T, class C>
std::vector<T> GroupTeam::concat_published(std::span<const C> counts) const {
  std::vector<T> local;
  for (int t = 0; t < threads_; ++t) {
    const auto* src = static_cast<const T*>(s_.in[static_cast<std::size_t>(t)]);
    local.insert(local.end(), src, src + counts[static_cast<std::size_t>(group_first() + t)]);
  }
  return local;
}

void GroupTeam::barrier() {
  Stopwatch w(comm_s_);
  sync();
  if (between_ && thread_ == 0) between_->barrier();
  sync();
}

template <>
std::vector<std::int64_t>& GroupTeam::combined<std::int64_t>() {
  return s_.ints;
}
template <>
std::vector<std::int32_t>& GroupTeam::combined<std::int32_t>() {
  return s_.ints32;
}

template <class I>
void GroupTeam::sum_published(std::size_t n) {
  if (thread_ == 0) {
    std::vector<I>& total = combined<I>();
    total.assign(n, 0);
    for (int t = 0; t < threads_; ++t) {
      const auto* v = static_cast<const I*>(s_.in[static_cast<std::size_t>(t)]);
      for (std::size_t i = 0; i < n; ++i) total[i] += v[i];
    }
    if (between_) between_->sum(std::span<I>(total));
  }
  sync();
}

template <class I>
void GroupTeam::sum_of(std::span<I> values) {
  Stopwatch w(comm_s_);
  publish(values.data());
  if (!between_) {
    // Threads only: each thread adds up its slice of the elements over all threads' arrays
    // and writes the totals into every array, in place (no other thread touches that slice):
    // two barriers instead of three, and the adding shared instead of done by thread 0
    // while the others wait (the k-means M-step's k (d + 1) sums every iteration).
    // Integer sums: exact in any order.
    const std::size_t n = values.size(), T = static_cast<std::size_t>(threads_), t = static_cast<std::size_t>(thread_);
    const std::size_t lo = n * t / T, hi = n * (t + 1) / T;
    // (Every thread published its own `values`, which are not const.)
    auto array = [&](std::size_t u) { return static_cast<I*>(const_cast<void*>(s_.in[u])); };
    if (T == 2) {  // the common pair, vectorised (the general loop below runs an element at a time)
      I* __restrict a = array(0);
      I* __restrict b = array(1);
      for (std::size_t i = lo; i < hi; ++i) a[i] = b[i] = a[i] + b[i];
    } else {
      for (std::size_t i = lo; i < hi; ++i) {
        I total = 0;
        for (std::size_t u = 0; u < T; ++u) total += array(u)[i];
        for (std::size_t u = 0; u < T; ++u) array(u)[i] = total;
      }
    }
    sync();
    return;
  }
  sum_published<I>(values.size());
  std::copy(combined<I>().begin(), combined<I>().end(), values.begin());
  sync();
}

void GroupTeam::sum_scatter(std::span<const std::int64_t> in, std::span<const int> counts,
                            std::span<std::int64_t> out) {
  // The full sum, then each worker keeps its segment: exact, and simple; the
  // vectors here (k clusters x (d + 1)) are small.
  Stopwatch w(comm_s_);
  publish(in.data());
  sum_published<std::int64_t>(in.size());
  std::size_t offset = 0;
  for (int wkr = 0; wkr < rank(); ++wkr) offset += static_cast<std::size_t>(counts[static_cast<std::size_t>(wkr)]);
  std::copy_n(s_.ints.begin() + static_cast<std::ptrdiff_t>(offset), counts[static_cast<std::size_t>(rank())], out.begin());
  sync();
}

void GroupTeam::gather(std::span<const double> mine, std::span<const int> counts, std::span<double> all) {
  Stopwatch w(comm_s_);
  if (!between_) {
    // Threads only: no barrier, stamped slots (team/stamped_slot.hpp, which says why the
    // two halves make it safe for a thread to run one gather ahead).
    const std::uint32_t g = ++gathers_;
    auto& half = s_.slots[g & 1];
    GroupShared::Slot& own = half[static_cast<std::size_t>(thread_)];
    own.stamped.count = static_cast<std::uint32_t>(mine.size());
    if (mine.size() <= StampedSlot::kSmall)
      std::copy(mine.begin(), mine.end(), own.stamped.small);
    else
      own.values.assign(mine.begin(), mine.end());
    stamp(own.stamped, g);
    std::atomic_ref<std::uint32_t>(own.stamped.gather).notify_all();
    auto at = all.begin();
    for (int t = 0; t < threads_; ++t) {
      GroupShared::Slot& slot = half[static_cast<std::size_t>(t)];
      if (t != thread_) wait_for(slot.stamped.gather, g, spins_);
      const double* from = slot.stamped.count <= StampedSlot::kSmall ? slot.stamped.small : slot.values.data();
      at = std::copy_n(from, slot.stamped.count, at);
    }
    return;
  }
  publish(mine.data());
  if (thread_ == 0) {
    std::vector<double> local = concat_published<double>(counts);
    if (between_) {
      s_.doubles.resize(all.size());
      between_->gather(local, process_counts(counts, threads_), s_.doubles);
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
    s_.labels = concat_published<std::int32_t>(counts);
    if (between_)
      between_->gather_to_first(s_.labels, process_counts(counts, threads_), all);
    else
      std::copy(s_.labels.begin(), s_.labels.end(), all.begin());
  }
  sync();
}

double GroupTeam::max(double value) {
  Stopwatch w(comm_s_);
  publish(&value);
  if (thread_ == 0) {
    double m = value;
    for (int t = 0; t < threads_; ++t) m = std::max(m, *static_cast<const double*>(s_.in[static_cast<std::size_t>(t)]));
    s_.scalar = between_ ? between_->max(m) : m;
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
    s_.agreed = between_ ? between_->agree(first) : first;
  }
  sync();
  auto result = s_.agreed;
  sync();
  return result;
}

std::vector<std::string> GroupTeam::hosts() {
  if (thread_ == 0) {
    const std::vector<std::string> per_process = between_ ? between_->hosts() : std::vector{this_host()};
    s_.hosts.clear();
    for (const std::string& host : per_process) s_.hosts.insert(s_.hosts.end(), static_cast<std::size_t>(threads_), host);
  }
  sync();
  auto result = s_.hosts;
  sync();
  return result;
}

void GroupTeam::abort(int exit_code) {
  if (between_) between_->abort(exit_code);
  Team::abort(exit_code);
}

int resolve_threads(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

int run_group(int threads, Team* processes, const std::function<int(Team&)>& body) {
  GroupShared shared(threads);
  std::vector<int> status(static_cast<std::size_t>(threads), 0);
  // Exactly `threads` threads, or the collectives would wait for threads that never come.
  omp_set_dynamic(0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    GroupTeam team(shared, t, threads, processes);
    auto die = [&](const char* what) {
#pragma omp critical
      std::fprintf(stderr, "error: thread %d: %s\n", t, what);
      team.abort(kDataError);
    };
    if (omp_get_num_threads() != threads) die("the OpenMP runtime gave fewer threads than asked for");
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
