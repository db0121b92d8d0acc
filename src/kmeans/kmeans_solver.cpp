#include "kmeans/kmeans_solver.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "common/timer.hpp"
#include "io/h5_probe.hpp"
#include "io/h5_read.hpp"
#include "io/team_read.hpp"
#include "kmeans/byte_sums.hpp"
#include "kmeans/estep.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/metrics.hpp"
#include "team/layout.hpp"
#include "team/shared_blocks.hpp"
#include "team/tree_sum.hpp"

namespace hpcb::kmeans {
namespace {

// RNG streams: one per purpose, so changing one never shifts another.
constexpr std::uint64_t kStreamRandomInit = 0;
constexpr std::uint64_t kStreamPlusPlus = 1;  // + round number

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

using HostClock = std::chrono::steady_clock;

Layout layout_of(const Team& team, const Points& p) { return Layout{p.n, team.size(), team.rank()}; }

int owner_of_row(const Layout& layout, std::int64_t row) {
  for (int w = 0; w < layout.workers; ++w) {
    const auto [r0, r1] = layout.rows_of(w);
    if (row >= r0 && row < r1) return w;
  }
  return layout.workers - 1;
}

// The rows with the given global indices, in scaled units, on every worker:
// each worker contributes the rows it owns, in the order of `indices`.
template <class T>
std::vector<double> fetch_rows(Team& team, const Layout& layout, const Points& p,
                               const std::vector<std::int64_t>& indices) {
  std::vector<int> counts(sz(layout.workers), 0);
  std::vector<double> mine;
  for (std::int64_t idx : indices) {
    const int w = owner_of_row(layout, idx);
    counts[sz(w)] += static_cast<int>(p.d);
    if (w == layout.worker) {
      const T* x = p.row<T>(idx);
      for (std::int64_t j = 0; j < p.d; ++j) mine.push_back(static_cast<double>(x[j]) * p.scale);
    }
  }
  std::vector<double> gathered(indices.size() * sz(p.d));
  team.gather(mine, counts, gathered);
  std::vector<std::size_t> offset(sz(layout.workers), 0), cursor(sz(layout.workers), 0);
  for (std::size_t w = 1; w < offset.size(); ++w) offset[w] = offset[w - 1] + sz(counts[w - 1]);
  std::vector<double> out(indices.size() * sz(p.d));
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const auto w = sz(owner_of_row(layout, indices[i]));
    std::copy_n(gathered.begin() + static_cast<std::ptrdiff_t>(offset[w] + cursor[w]), p.d,
                out.begin() + static_cast<std::ptrdiff_t>(i * sz(p.d)));
    cursor[w] += sz(p.d);
  }
  return out;
}

// (key, global row) pairs travel as doubles: row indices below 2^53 are exact.
using Keyed = std::pair<double, std::int64_t>;

std::vector<Keyed> gather_keyed(Team& team, const std::vector<Keyed>& local, int per_worker_max) {
  // Every worker sends exactly per_worker_max pairs (padded with +inf keys) so
  // the counts are known without an extra exchange.
  std::vector<double> mine;
  for (int i = 0; i < per_worker_max; ++i) {
    const bool real = i < static_cast<int>(local.size());
    mine.push_back(real ? local[sz(i)].first : std::numeric_limits<double>::infinity());
    mine.push_back(real ? static_cast<double>(local[sz(i)].second) : -1.0);
  }
  std::vector<int> counts(sz(team.size()), 2 * per_worker_max);
  std::vector<double> all(sz(team.size()) * sz(2 * per_worker_max));
  team.gather(mine, counts, all);
  std::vector<Keyed> out;
  for (std::size_t i = 0; i < all.size(); i += 2)
    if (all[i + 1] >= 0) out.emplace_back(all[i], static_cast<std::int64_t>(all[i + 1]));
  std::sort(out.begin(), out.end());
  return out;
}

// Uniform sample of k distinct rows: the k rows with the smallest random keys.
// A row's key depends only on (seed, row), so the sample is the same for any
// split of the rows.
template <class T>
std::vector<double> init_random(Team& team, const Layout& layout, const Points& p, const Params& prm) {
  const auto [r0, r1] = layout.my_rows();
  // This worker's k smallest (key, row) pairs, kept in a max-heap while the keys stream by
  // (no n-long array of keys: 160 MB and a sort at 10^7 rows).
  std::vector<Keyed> keys;
  keys.reserve(sz(prm.k));
  for (std::int64_t i = r0; i < r1; ++i) {
    const Keyed key{rng::uniform01(prm.seed, kStreamRandomInit, i), i};
    if (keys.size() < sz(prm.k)) {
      keys.push_back(key);
      std::push_heap(keys.begin(), keys.end());
    } else if (key < keys.front()) {
      std::pop_heap(keys.begin(), keys.end());
      keys.back() = key;
      std::push_heap(keys.begin(), keys.end());
    }
  }
  std::sort_heap(keys.begin(), keys.end());
  std::vector<Keyed> all = gather_keyed(team, keys, prm.k);
  std::vector<std::int64_t> chosen;
  for (int c = 0; c < prm.k; ++c) chosen.push_back(all[sz(c)].second);
  return fetch_rows<T>(team, layout, p, chosen);
}

// k-means++ (Arthur and Vassilvitskii 2007): each next centre is row i with
// probability proportional to D(i)^2, its squared distance to the nearest centre
// so far. Drawn as an exponential race (the row with the smallest
// -log(u_i) / D(i)^2 wins), which needs only a global minimum, not a prefix sum,
// and so gives the same centres for any split of the rows.
template <class T>
std::vector<double> init_plusplus(Team& team, const Layout& layout, const Points& p, const Params& prm) {
  const auto [r0, r1] = layout.my_rows();
  std::vector<double> d2(sz(r1 - r0), std::numeric_limits<double>::infinity());
  std::vector<double> centroids;
  for (int round = 0; round < prm.k; ++round) {
    Keyed best{std::numeric_limits<double>::infinity(), -1};
    for (std::int64_t i = r0; i < r1; ++i) {
      const double u = rng::uniform01(prm.seed, kStreamPlusPlus + static_cast<std::uint64_t>(round), i);
      const double w = round == 0 ? 1.0 : d2[sz(i - r0)];
      // Rows already at distance 0 (chosen, or duplicates) can never win.
      const double key = w > 0 ? -std::log(u) / w : std::numeric_limits<double>::infinity();
      if (key < best.first) best = {key, i};
    }
    std::vector<Keyed> local;
    if (best.second >= 0) local.push_back(best);
    std::vector<Keyed> all = gather_keyed(team, local, 1);
    // With fewer distinct rows than k every key is infinite: then take the
    // lowest row not chosen yet, a duplicate centre that will stay empty.
    std::int64_t chosen = all.empty() ? 0 : all.front().second;
    const std::vector<double> row = fetch_rows<T>(team, layout, p, {chosen});
    centroids.insert(centroids.end(), row.begin(), row.end());
    for (std::int64_t i = r0; i < r1; ++i)
      d2[sz(i - r0)] = std::min(d2[sz(i - r0)], sq_distance(p.row<T>(i), row.data(), p.d, p.scale));
  }
  return centroids;
}

// Clusters [first, last) owned by worker w in the "owner" M-step.
std::pair<int, int> owned_clusters(int k, int workers, int w) { return {k * w / workers, k * (w + 1) / workers}; }

// The initial centroids: from a checkpoint (with the iterations it had done),
// drawn (random, kmeans++), or given (an --init file read by the caller).
template <class T>
void initial_centroids(Team& team, const Layout& layout, const Points& p, const Params& prm, Result& res) {
  const CheckpointPlan* plan = prm.checkpoint;
  if (plan && plan->resume) {
    // Everything a Lloyd iteration depends on is the centroids: the labels,
    // sums and pruning bounds are rebuilt from them by the next E-step.
    res.centroids = plan->resume->model;
    res.inertia_trace = plan->resume->trace;
    res.iterations = res.resumed_from = static_cast<int>(plan->resume->iterations);
    // The saved count is global; keep it once, on worker 0, so the final sum is right.
    res.empty_cluster_events = team.rank() == 0 ? plan->resume->counter : 0;
    return;
  }
  switch (prm.init) {
    case Init::random: res.centroids = init_random<T>(team, layout, p, prm); break;
    case Init::kmeanspp: res.centroids = init_plusplus<T>(team, layout, p, prm); break;
    case Init::file: res.centroids = prm.given_centroids; break;
  }
}

// A pruned algorithm's E-steps keep bounds from the first iteration after one that lowered the
// inertia by less than this fraction. Before, the centroids still move far each iteration, most
// rows would fail their bounds, and Lloyd's E-step (no bounds to keep; on uint8 rows the integer
// kernel) is the cheaper one. MNIST, k = 10, the first 10 images as centroids: Lloyd's E-step
// and sums took 1.84 ms at iteration 0 against Hamerly's 2.05, 1.40 against 1.71 at iteration 1,
// 0.92 against 0.97 at iteration 6; the inertia fell by 38%, 2.8%, 1.7%, 1.3%, then 0.58% at
// iteration 5, so the bounds start at iteration 6: Hamerly 0.331 -> 0.321 ms an iteration,
// Elkan 0.340 -> 0.324 (medians of 9, interleaved). Any fraction from 1/32 to 1/512 gave the
// same within 1.5%.
constexpr double kSettledDrop = 1.0 / 128;

// One worker's Lloyd iterations: its rows' labels and distances, the exact
// integer cluster sums of the M-step and the buffers the collectives use.
template <class T>
class Lloyd {
 public:
  using D = dist_t<T>;

  Lloyd(Team& team, const Points& p, const Params& prm)
      : team_(team), p_(p), prm_(prm), layout_(layout_of(team, p)), inertia_sum_(layout_), k_(prm.k), d_(p.d), stride_(p.d + 1),
        estep_(prm.algorithm, p.row<T>(layout_.my_rows().first), layout_.my_rows().second - layout_.my_rows().first,
               p.d, static_cast<D>(p.scale), prm.k, EStep<T>::RowPass::by_caller) {
    std::tie(b0_, b1_) = layout_.my_blocks();
    std::tie(r0_, r1_) = layout_.my_rows();
    // Fixed-point shift for the exact M-step, from the global largest |x|.
    // (p.max_abs covers at least this worker's rows; the maximum over the team is the global one.)
    shift_ = std::is_integral_v<T> ? 0 : choose_shift(p.n, team.max(p.max_abs));
    // uint8 rows (up to 8.4 million): sums of at most n 255 travel as int32 (packed32_).
    if constexpr (std::is_unsigned_v<T>) sums_int32_ = sums_fit_int32(p.n, std::numeric_limits<T>::max());
    to_scaled_ = std::ldexp(p.scale, -shift_);
    if constexpr (std::is_same_v<T, std::uint8_t>) moments_ = p.n <= kMaxExactSquares / std::max<std::int64_t>(p.d, 1);
    sum_sq_ = sum_of_squares();
    blocks_ = SharedBlocks<Lloyd>::for_group(team);
  }

  // Buffers for the iterations (after the initial centroids: not init time).
  void allocate() {
    labels_.resize(sz(r1_ - r0_));
    leaves_.resize(sz(b1_ - b0_));
    terms_.resize(2 * sz(k_));
    next_.resize(sz(k_) * sz(d_));
    packed_.resize(sz(k_) * sz(stride_));
    if (sums_int32_) packed32_.resize(sz(k_) * sz(stride_));
    sums_.resize(sz(k_) * sz(d_));
    counts_.resize(sz(k_));
    owner_counts_.resize(sz(team_.size()));
    owner_values_.resize(sz(team_.size()));
    owner_terms_.resize(sz(team_.size()));
    for (int w = 0; w < team_.size(); ++w) {
      const auto [c0, c1] = owned_clusters(k_, team_.size(), w);
      owner_counts_[sz(w)] = static_cast<int>((c1 - c0) * stride_);
      owner_values_[sz(w)] = static_cast<int>((c1 - c0) * d_);
      owner_terms_[sz(w)] = 2 * (c1 - c0);
    }
    before_.resize(sz(kMaxRowsPerBlock));
    if constexpr (std::is_same_v<T, std::uint8_t>) byte_sums_ = ByteSums(k_, d_);
  }

  // The E-step over this worker's blocks fills the labels; with `with_sums` it
  // also brings the M-step sums up to date, in the same pass while the block
  // is still in cache. The sums are exact integers, so after the first E-step
  // they are updated by the rows that changed cluster only (relabel) and still
  // equal a full recount bit for bit. Without sums (the last E-step, where
  // final_step() does not take the inertia from moments) it sums the inertia
  // leaves in double precision instead, from the final labels and centroids,
  // in the same pass. A thread that is done with its own blocks helps the other threads of
  // its process with theirs (SharedBlocks).
  void e_step(const std::vector<double>& centroids, bool with_sums, Result& res) {
    {
      Stopwatch prep(res.prep_s);
      estep_.set_centroids(centroids, bounds_for(res.inertia_trace));
    }
    // The sums' share of the pass, by the host's clock (not now_s(): under SMPI that is the
    // simulated clock, and each reading would end a simulated compute burst).
    const double t_pass = now_s();
    const auto host_pass = HostClock::now();
    HostClock::duration host_sums{};
    blocks_->round(member_, *this, b0_, b1_, [&](Lloyd& owner, std::int64_t b) {
      run_block(owner, b, centroids, with_sums, res, host_sums);
    });
    if (with_sums) {
      counted_ = true;
      if constexpr (std::is_same_v<T, std::uint8_t>) {
        // This worker's int32 partial sums into its sums (its thread alone adds to both: a
        // helper adds another's rows to its own).
        const auto host_flush = HostClock::now();
        byte_sums_.flush(sums_.data());
        host_sums += HostClock::now() - host_flush;
      }
    }
    const double pass = now_s() - t_pass;
    const double host_all = std::chrono::duration<double>(HostClock::now() - host_pass).count();
    const double share = host_all > 0 ? std::chrono::duration<double>(host_sums).count() / host_all : 0;
    res.sums_s += share * pass;
    res.assign_s += (1 - share) * pass;
  }

  // Block b of `owner`'s rows (this worker's own, or another thread's it helps): the E-step
  // into the owner's labels with this worker's scratch; the M-step's sums into this worker's
  // (exact: their total over the workers is the same whoever adds which rows), or the
  // block's inertia leaf into the owner's leaves.
  void run_block(Lloyd& owner, std::int64_t b, const std::vector<double>& centroids, bool with_sums, Result& res,
                 HostClock::duration& host_sums) {
    const std::int64_t lo = layout_.block_begin(b), hi = layout_.block_end(b), r0 = owner.r0_;
    std::int32_t* block_labels = &owner.labels_[sz(lo - r0)];
    if (with_sums && counted_) std::copy_n(block_labels, hi - lo, before_.begin());
    owner.estep_.run_block(lo - r0, hi - r0, owner.labels_.data(), estep_.scratch());
    if (!with_sums) {
      double block_sum = 0;
      for (std::int64_t i = lo; i < hi; ++i)
        block_sum += sq_distance(p_.row<T>(i), &centroids[sz(owner.labels_[sz(i - r0)]) * sz(d_)], d_, p_.scale);
      owner.leaves_[sz(b - owner.b0_)] = block_sum;
      return;
    }
    const auto host_block = HostClock::now();
    if (counted_)
      res.moved += move_rows(lo, hi, block_labels, owner.estep_.lane_rows(), lo - r0);
    else
      add_rows(lo, hi, block_labels);
    host_sums += HostClock::now() - host_block;
  }

  // Rows [lo, hi) into this worker's sums by their labels; uint8 rows, which the first E-step
  // has just read whole, in int32 (byte_sums.hpp).
  void add_rows(std::int64_t lo, std::int64_t hi, const std::int32_t* labels) {
    if constexpr (std::is_same_v<T, std::uint8_t>)
      byte_sums_.add(p_.row<T>(lo), hi - lo, labels, counts_.data(), sums_.data());
    else
      accumulate<T>(p_.row<T>(lo), hi - lo, d_, shift_, labels, sums_.data(), counts_.data());
  }

  // The rows of [lo, hi) whose label changed (before_ -> labels) moved between this worker's
  // sums: uint8 rows from the form the E-step read, their nonzeros (lane row lanes_row0 on) or
  // the whole rows (in int32); returns how many moved.
  std::int64_t move_rows(std::int64_t lo, std::int64_t hi, const std::int32_t* labels, const LaneRows* nonzeros,
                         std::int64_t lanes_row0) {
    if constexpr (std::is_same_v<T, std::uint8_t>)
      if (!nonzeros) return byte_sums_.move(p_.row<T>(lo), hi - lo, before_.data(), labels, counts_.data(), sums_.data());
    return relabel<T>(p_.row<T>(lo), hi - lo, d_, shift_, before_.data(), labels, sums_.data(), counts_.data(), nonzeros,
                      lanes_row0);
  }

  // Whether this E-step keeps bounds (kSettledDrop): from the inertia trace so far, the same
  // on every worker, and after a resume (the trace comes with the checkpoint).
  typename EStep<T>::Bounds bounds_for(const std::vector<double>& trace) {
    for (; !settled_ && trace_seen_ < trace.size(); ++trace_seen_)
      settled_ = trace[trace_seen_] >= trace[trace_seen_ - 1] * (1 - kSettledDrop);
    return settled_ ? EStep<T>::Bounds::keep : EStep<T>::Bounds::skip;
  }

  // The final labels against the final centroids, and their inertia in double precision: from
  // the clusters' exact moments on uint8 rows (moment_inertia()), else from every row's distance
  // (the E-step without sums), summed in the fixed tree order.
  double final_step(Result& res) {
    e_step(res.centroids, moments_, res);
    return moments_ ? moment_inertia(res.centroids) : inertia_sum_(team_, leaves_, 1)[0];
  }

  // The next centroids from the sums, by the M-step strategy, into res.centroids; an empty
  // cluster keeps its centroid and counts one event in res. Appends the inertia of the
  // E-step's assignment to res.inertia_trace (finalize()), and returns the sum of the
  // centroids' squared moves (the same on every worker: for --tol).
  double m_step(Result& res) {
    switch (prm_.mstep) {
      case MStep::owner: {
        pack_sums(packed_, stride_);
        const auto [c0, c1] = owned_clusters(k_, team_.size(), team_.rank());
        std::vector<std::int64_t> mine(sz(c1 - c0) * sz(stride_));
        team_.sum_scatter(packed_, owner_counts_, mine);
        std::vector<double> means(sz(c1 - c0) * sz(d_)), terms(2 * sz(c1 - c0));
        finalize(res, c0, c1, packed_view(mine.data()), means.data(), terms.data());
        team_.gather(means, owner_values_, next_);
        team_.gather(terms, owner_terms_, terms_);
        break;
      }
      case MStep::reduce:
        if (team_.size() == 1)  // the local sums are the global ones (no copy for a collective)
          finalize(res, 0, k_, GlobalSums<std::int64_t>{sums_.data(), d_, counts_.data(), 1}, next_.data(), terms_.data());
        else
          sums_int32_ ? reduce_all(packed32_, res) : reduce_all(packed_, res);
        break;
    }
    double inertia = sum_sq_, moved = 0;
    for (int c = 0; c < k_; ++c) {
      inertia += terms_[2 * sz(c)];
      moved += terms_[2 * sz(c) + 1];
    }
    res.inertia_trace.push_back(inertia);
    res.centroids.swap(next_);
    return moved;
  }

  // The final labels' cluster sizes and the distances the E-steps computed, over all workers.
  void totals(Result& res) {
    res.sizes.assign(sz(k_), 0);
    for (std::int32_t l : labels_) ++res.sizes[sz(l)];
    team_.sum(res.sizes);
    std::vector<std::int64_t> evals{estep_.evaluations(), estep_.rows_read()};
    team_.sum(evals);
    res.distance_evals = evals[0];
    res.rows_read = evals[1];
  }

  // Quality against the true labels: a k x L contingency table, summed exactly.
  void quality(Result& res) {
    if (!p_.has_labels) return;
    // p.labels holds the rows p.row0.. (all of them for threads).
    const std::int32_t* truth = p_.labels.data() + (r0_ - p_.row0);
    std::int32_t local_max = 0;
    for (std::size_t i = 0; i < labels_.size(); ++i) local_max = std::max(local_max, truth[i]);
    const int L = static_cast<int>(team_.max(local_max)) + 1;
    std::vector<std::int64_t> table(sz(k_) * sz(L), 0);
    for (std::size_t i = 0; i < labels_.size(); ++i) ++table[sz(labels_[i]) * sz(L) + sz(truth[i])];
    team_.sum(table);
    res.has_quality = true;
    res.accuracy = accuracy(table, k_, L);
    res.nmi = nmi(table, k_, L);
  }

  std::vector<std::int32_t> take_labels() { return std::move(labels_); }

 private:
  // Sum of |x|^2 (scaled units) over all rows: in the fixed tree order, or (moments_) from the
  // rows' exact integer row_sq_, kept for moment_inertia(). Collective. The E-step's own pass
  // over the rows goes block by block with it, each block read from memory once (10^7 x 64
  // floats: the two passes took 0.45 s of the 0.49 s of init).
  double sum_of_squares() {
    std::vector<double> leaves(sz(b1_ - b0_));
    if (moments_) row_sq_.resize(sz(r1_ - r0_));
    for (std::int64_t b = b0_; b < b1_; ++b) {
      const std::int64_t lo = layout_.block_begin(b), hi = layout_.block_end(b);
      estep_.prepare_rows(lo - r0_, hi - r0_);
      if constexpr (std::is_same_v<T, std::uint8_t>)
        if (moments_) {
          row_square_sums(p_.row<T>(lo), hi - lo, d_, &row_sq_[sz(lo - r0_)]);
          continue;
        }
      for (std::int64_t i = lo; i < hi; ++i) leaves[sz(b - b0_)] += sq_distance<T, double>(p_.row<T>(i), nullptr, d_, p_.scale);
    }
    if (!moments_) return inertia_sum_(team_, leaves, 1)[0];
    std::vector<std::int64_t> total{0};
    for (std::int64_t q : row_sq_) total[0] += q;
    team_.sum(total);
    return static_cast<double>(total[0]) * (p_.scale * p_.scale);
  }

  // Where the collectives left the global sums (S: int64, or int32 as uint8 rows' sums
  // travel): cluster c's d sums at sums + c * stride, its count at counts[c * count_stride]
  // (c from the first cluster passed).
  template <class S>
  struct GlobalSums {
    const S* sums;
    std::int64_t stride;
    const S* counts;
    std::int64_t count_stride;
  };

  // Means of clusters [c0, c1) from their global integer sums into out, and per cluster into
  // terms its trace term and its squared move; an empty cluster keeps its previous centroid
  // (deterministic, and it may gain rows again in a later iteration) and moves 0.
  //
  // The trace's inertia comes from the M-step's exact sums, not from the E-step's distances,
  // so no E-step has to compute the value of every row's own centroid (the pruned ones skip
  // rows whose bounds settle them). For a cluster of n rows with mean m, held by centroid c
  // during the E-step:
  //   sum |x - c|^2 = sum |x|^2 + n (|m - c|^2 - |m|^2),
  // so the inertia is sum_sq_ (every row's |x|^2, once) plus one term per cluster, each formed
  // by one worker, summed in cluster order by all; |m - c|^2 is also the cluster's move.
  template <class S>
  void finalize(Result& res, int c0, int c1, GlobalSums<S> global, double* out, double* terms) {
    for (int c = c0; c < c1; ++c) {
      const std::int64_t count = global.counts[(c - c0) * global.count_stride];
      double* dst = out + static_cast<std::int64_t>(c - c0) * d_;
      double* term = terms + 2 * (c - c0);
      const double* old = &res.centroids[sz(c) * sz(d_)];
      if (count == 0) {
        // Counted by the cluster's owner (with "reduce" every worker finalises every
        // cluster: worker 0 counts), so the sum over workers is the total.
        if (prm_.mstep == MStep::owner || team_.rank() == 0) ++res.empty_cluster_events;
        std::copy_n(old, d_, dst);
        term[0] = term[1] = 0;
        continue;
      }
      const MeanSquares m = cluster_mean(global.sums + (c - c0) * global.stride, count, to_scaled_, old, d_, dst);
      term[0] = static_cast<double>(count) * (m.move - m.norm);
      term[1] = m.move;
    }
  }

  // The global sums as the collectives leave them packed (pack_sums() with width stride_).
  template <class S>
  GlobalSums<S> packed_view(const S* packed) const {
    return {packed, stride_, packed + d_, stride_};
  }

  // The "reduce" M-step among several workers: the sums packed as I, added over the team,
  // then every cluster finalised by every worker.
  template <class I>
  void reduce_all(std::vector<I>& packed, Result& res) {
    pack_sums(packed, stride_);
    team_.sum(std::span<I>(packed));
    finalize(res, 0, k_, packed_view(packed.data()), next_.data(), terms_.data());
  }

  // Each cluster's local sums and count at out[c * width], as the collectives carry them
  // (I: int32 where sums_int32_).
  template <class I>
  void pack_sums(std::vector<I>& out, std::int64_t width) const {
    for (int c = 0; c < k_; ++c) {
      std::transform(sums_.begin() + static_cast<std::ptrdiff_t>(c * d_), sums_.begin() + static_cast<std::ptrdiff_t>((c + 1) * d_),
                     out.begin() + static_cast<std::ptrdiff_t>(c * width), [](std::int64_t v) { return static_cast<I>(v); });
      out[sz(c * width + d_)] = static_cast<I>(counts_[sz(c)]);
    }
  }

  // The inertia of the current labels against `centroids` from each cluster's exact moments
  // (uint8 rows): for a cluster of n rows x, used as s x, with integer sums S = sum x and
  // Q = sum |x|^2 (row_sq_),
  //   sum |s x - c|^2 = s^2 (n Q - |S|^2) / n + n |m - c|^2,   m = s S / n (cluster_mean()),
  // the spread about the mean from an exact integer numerator, and the mean's distance to the
  // centroid, 0 where the centroid is that mean (at convergence). Unlike a sum over the rows'
  // distances, nothing cancels and no row is read again (that pass, 1.4 ms, was 4% of a
  // 100-iteration Hamerly run on MNIST). Collective.
  double moment_inertia(const std::vector<double>& centroids) {
    __extension__ using Wide = __int128;
    const std::int64_t width = d_ + 2;  // per cluster: the d sums, the count, Q
    std::vector<std::int64_t> moments(sz(k_) * sz(width));
    pack_sums(moments, width);
    for (std::size_t i = 0; i < labels_.size(); ++i) moments[sz(labels_[i] * width + d_ + 1)] += row_sq_[i];
    team_.sum(moments);
    const double s2 = p_.scale * p_.scale;
    std::vector<double> mean(sz(d_));
    double inertia = 0;
    for (int c = 0; c < k_; ++c) {
      const std::int64_t* m = &moments[sz(c * width)];
      const std::int64_t n = m[d_];
      if (n == 0) continue;
      Wide spread = static_cast<Wide>(n) * m[d_ + 1];  // n Q - |S|^2 >= 0 (Cauchy-Schwarz)
      for (std::int64_t j = 0; j < d_; ++j) spread -= static_cast<Wide>(m[j]) * m[j];
      const double to_centroid = cluster_mean(m, n, to_scaled_, &centroids[sz(c) * sz(d_)], d_, mean.data()).move;
      inertia += static_cast<double>(spread) / static_cast<double>(n) * s2 + static_cast<double>(n) * to_centroid;
    }
    return inertia;
  }

  Team& team_;
  const Points& p_;
  const Params& prm_;
  const Layout layout_;
  const TreeSum inertia_sum_;
  const int k_;
  const std::int64_t d_, stride_;  // per cluster: d sums, then the count
  std::int64_t b0_ = 0, b1_ = 0, r0_ = 0, r1_ = 0;
  int shift_ = 0;
  bool sums_int32_ = false;
  double to_scaled_ = 1;
  EStep<T> estep_;
  double sum_sq_ = 0;
  // uint8 rows (and n d 255^2 within int64): the inertia from exact moments, each row's sum of
  // squared values (row_square_sums()) kept for them.
  bool moments_ = false;
  std::vector<std::int64_t> row_sq_;
  std::vector<std::int32_t> labels_;
  std::vector<double> leaves_;
  std::vector<double> terms_;  // per cluster: its trace term and its move (finalize())
  std::vector<double> next_;   // the M-step's new centroids, swapped into the result
  std::vector<std::int64_t> packed_, sums_, counts_;
  std::vector<std::int32_t> packed32_;  // packed_ where sums_int32_
  std::vector<int> owner_counts_, owner_values_, owner_terms_;
  std::vector<std::int32_t> before_;
  ByteSums byte_sums_;  // uint8 rows: the M-step's sums of the rows an E-step read whole
  bool counted_ = false;  // sums and counts hold the current labels
  // This process's threads' blocks, handed out as they come free (member_: this worker's place).
  const int member_ = team_.rank() - team_.group_first();
  std::shared_ptr<SharedBlocks<Lloyd>> blocks_;
  bool settled_ = false;  // an iteration has lowered the inertia by less than kSettledDrop
  std::size_t trace_seen_ = 1;  // the trace's entries bounds_for() has looked at
};

// Empty-cluster events, counted once per cluster by the worker that finalises it.
std::int64_t global_empty_events(Team& team, const Result& res) {
  std::vector<std::int64_t> v{res.empty_cluster_events};
  team.sum(v);
  return v[0];
}

// After iteration res.iterations: saves the state when asked to (every N, or
// on a stop signal) and says whether to stop now.
bool checkpoint(Team& team, const Params& prm, const Result& res) {
  const CheckpointPlan* plan = prm.checkpoint;
  if (!plan || !plan->enabled()) return false;
  const bool stop = plan->should_stop(team, res.iterations);
  if (stop || (plan->every > 0 && res.iterations % plan->every == 0 && res.iterations < prm.max_iter))
    plan->save(team, {plan->identity, res.iterations, res.centroids, res.inertia_trace, global_empty_events(team, res)});
  return stop;
}

template <class T>
Result run_typed(Team& team, const Points& p, const Params& prm) {
  Result res;
  team.reset_comm();
  const double t_init = now_s();
  initial_centroids<T>(team, layout_of(team, p), p, prm, res);
  Lloyd<T> lloyd(team, p, prm);
  res.init_s = now_s() - t_init;
  team.reset_comm();  // comm_s below counts the iterations' collectives only

  const double t_iter = now_s();
  lloyd.allocate();
  for (int it = res.iterations; it < prm.max_iter; ++it) {
    lloyd.e_step(res.centroids, true, res);
    const double t_means = now_s(), comm_before = team.comm_s();
    const double moved = lloyd.m_step(res);
    res.means_s += now_s() - t_means - (team.comm_s() - comm_before);
    res.iterations = it + 1;
    if (moved <= prm.tol) {
      res.converged = true;
      break;
    }
    if (checkpoint(team, prm, res)) {
      res.interrupted = true;
      res.iter_s = now_s() - t_iter;
      res.comm_s = team.comm_s();
      return res;
    }
  }
  res.empty_cluster_events = global_empty_events(team, res);

  res.inertia = lloyd.final_step(res);
  lloyd.totals(res);
  res.iter_s = now_s() - t_iter;
  res.comm_s = team.comm_s();

  // A phase of its own (metrics_s, its collectives included), not iteration time.
  const double t_metrics = now_s();
  lloyd.quality(res);
  res.metrics_s = now_s() - t_metrics;
  res.labels = lloyd.take_labels();
  return res;
}

}  // namespace

std::string init_text(const Params& prm) {
  return prm.init == Init::file ? prm.init_path : name_of<Init>(kInitNames, prm.init);
}

std::vector<double> load_initial_centroids(Team& team, const std::string& path, int k, std::int64_t d) {
  // What the reader below reads, walked first in a child process (io/h5_probe.hpp).
  check_h5_walk_on_team(team, path, {{{"/centroids", 2, DType::f64}}, {}, {}});
  auto data = read_on_team<std::vector<double>>(team, [&](bool) {
    H5Reader file(path);
    const ArrayInfo info = file.info("/centroids", 2);
    if (info.dims[0] != k || info.dims[1] != d)
      throw DataError(path + ": dataset /centroids is " + std::to_string(info.dims[0]) + " x " +
                      std::to_string(info.dims[1]) + ", expected k x d = " + std::to_string(k) + " x " +
                      std::to_string(d));
    std::vector<double> c(sz(k) * sz(d));
    file.read_rows("/centroids", 0, k, DType::f64, c.data());
    for (double v : c)
      if (!std::isfinite(v)) throw DataError(path + ": dataset /centroids has a NaN or infinite value");
    return c;
  });
  return *data;
}

Result run(Team& team, const Points& points, const Params& params) {
  switch (points.dtype) {
    case DType::u8: return run_typed<std::uint8_t>(team, points, params);
    case DType::f32: return run_typed<float>(team, points, params);
    case DType::f64: return run_typed<double>(team, points, params);
    default: throw DataError(points.path + ": /X has an element type k-means does not read");
  }
}

}  // namespace hpcb::kmeans
