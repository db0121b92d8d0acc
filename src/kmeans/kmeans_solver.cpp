#include "kmeans/kmeans_solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "common/timer.hpp"
#include "io/h5_probe.hpp"
#include "io/h5_read.hpp"
#include "io/team_read.hpp"
#include "kmeans/estep.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/metrics.hpp"
#include "team/layout.hpp"
#include "team/tree_sum.hpp"

namespace hpcb::kmeans {
namespace {

// RNG streams: one per purpose, so changing one never shifts another.
constexpr std::uint64_t kStreamRandomInit = 0;
constexpr std::uint64_t kStreamPlusPlus = 1;  // + round number

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

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
  std::vector<Keyed> keys;
  for (std::int64_t i = r0; i < r1; ++i) keys.emplace_back(rng::uniform01(prm.seed, kStreamRandomInit, i), i);
  const auto keep = std::min<std::size_t>(keys.size(), sz(prm.k));
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(keep), keys.end());
  keys.resize(keep);
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

template <class T>
Result run_typed(Team& team, const Points& p, const Params& prm) {
  using D = dist_t<T>;
  const Layout layout = layout_of(team, p);
  const auto [b0, b1] = layout.my_blocks();
  const auto [r0, r1] = layout.my_rows();
  const std::int64_t d = p.d;
  const int k = prm.k;
  Result res;
  team.reset_comm();

  // ---- initial centroids ----
  const double t_init = now_s();
  const CheckpointPlan* plan = prm.checkpoint;
  if (plan && plan->resume) {
    // Everything a Lloyd iteration depends on is the centroids: the labels,
    // sums and pruning bounds are rebuilt from them by the next E-step.
    res.centroids = plan->resume->model;
    res.inertia_trace = plan->resume->trace;
    res.iterations = res.resumed_from = static_cast<int>(plan->resume->iterations);
    // The saved count is global; keep it once, on worker 0, so the final sum is right.
    res.empty_cluster_events = team.rank() == 0 ? plan->resume->counter : 0;
  } else {
    switch (prm.init) {
      case Init::random: res.centroids = init_random<T>(team, layout, p, prm); break;
      case Init::kmeanspp: res.centroids = init_plusplus<T>(team, layout, p, prm); break;
      case Init::file: res.centroids = prm.given_centroids; break;
    }
  }
  // Fixed-point shift for the exact M-step, from the global largest |x|.
  const int shift =
      std::is_integral_v<T> ? 0 : choose_shift(p.n, team.max(max_abs(p.row<T>(r0), (r1 - r0) * d)));
  const double to_scaled = std::ldexp(p.scale, -shift);
  res.init_s = now_s() - t_init;
  team.reset_comm();  // comm_s below counts the iterations' collectives only

  // ---- Lloyd iterations ----
  const double t_iter = now_s();
  const std::int64_t stride = d + 1;  // per cluster: d sums, then the count
  std::vector<std::int32_t> labels(sz(r1 - r0));
  std::vector<D> dist(sz(r1 - r0));
  std::vector<double> leaves(sz(b1 - b0));
  std::vector<std::int64_t> packed(sz(k) * sz(stride));
  std::vector<std::int64_t> sums(sz(k) * sz(d)), counts(sz(k));
  std::vector<int> owner_counts(sz(team.size())), owner_values(sz(team.size()));
  for (int w = 0; w < team.size(); ++w) {
    const auto [c0, c1] = owned_clusters(k, team.size(), w);
    owner_counts[sz(w)] = static_cast<int>((c1 - c0) * stride);
    owner_values[sz(w)] = static_cast<int>((c1 - c0) * d);
  }

  // The E-step over this worker's blocks fills labels, dist and the inertia
  // leaves; with `with_sums` it also brings the M-step sums up to date, in the
  // same pass while the block is still in cache. The sums are exact integers,
  // so after the first E-step they are updated by the rows that changed
  // cluster only (relabel) and still equal a full recount bit for bit.
  EStep<T> estep(prm.algorithm, p.row<T>(r0), r1 - r0, d, static_cast<D>(p.scale), k);
  std::vector<std::int32_t> before(sz(kMaxRowsPerBlock));
  bool counted = false;  // sums and counts hold the current labels
  // The last E-step (with_sums false) sums the inertia in double precision
  // instead, from the final labels and centroids, in the same pass.
  auto e_step = [&](bool with_sums) {
    estep.set_centroids(res.centroids);
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::int64_t lo = layout.block_begin(b), hi = layout.block_end(b);
      std::int32_t* block_labels = &labels[sz(lo - r0)];
      if (with_sums && counted) std::copy_n(block_labels, hi - lo, before.begin());
      estep.run_block(lo - r0, hi - r0, labels.data(), dist.data());
      double block_sum = 0;
      for (std::int64_t i = lo; i < hi; ++i)
        block_sum += with_sums ? static_cast<double>(dist[sz(i - r0)])
                               : sq_distance(p.row<T>(i), &res.centroids[sz(labels[sz(i - r0)]) * sz(d)], d, p.scale);
      leaves[sz(b - b0)] = block_sum;
      if (!with_sums) continue;
      if (counted)
        relabel<T>(p.row<T>(lo), hi - lo, d, shift, before.data(), block_labels, sums.data(), counts.data());
      else
        accumulate<T>(p.row<T>(lo), hi - lo, d, k, shift, block_labels, sums.data(), counts.data());
    }
    if (with_sums) counted = true;
  };

  // Empty-cluster events, counted once per cluster by the worker that finalises it.
  auto global_empty_events = [&] {
    std::vector<std::int64_t> v{res.empty_cluster_events};
    team.sum(v);
    return v[0];
  };
  for (int it = res.iterations; it < prm.max_iter; ++it) {
    e_step(true);
    res.inertia_trace.push_back(tree_sum(team, layout, leaves, 1)[0]);
    for (int c = 0; c < k; ++c) {
      std::copy_n(sums.begin() + static_cast<std::ptrdiff_t>(c * d), d,
                  packed.begin() + static_cast<std::ptrdiff_t>(c * stride));
      packed[sz(c * stride + d)] = counts[sz(c)];
    }

    // Means of clusters [c0, c1) from their global integer sums; an empty
    // cluster keeps its previous centroid (deterministic, and it may gain
    // rows again in a later iteration).
    std::vector<double> next = res.centroids;
    const bool owner_mode = prm.mstep == MStep::owner;
    auto finalize = [&](int c0, int c1, const std::int64_t* global, double* out) {
      for (int c = c0; c < c1; ++c) {
        const std::int64_t* s = global + (c - c0) * stride;
        const std::int64_t count = s[d];
        double* dst = out + static_cast<std::int64_t>(c - c0) * d;
        if (count == 0) {
          // Counted by the cluster's owner (with "reduce" every worker finalises
          // every cluster: worker 0 counts), so the sum over workers is the total.
          if (owner_mode || team.rank() == 0) ++res.empty_cluster_events;
          std::copy_n(res.centroids.begin() + static_cast<std::ptrdiff_t>(c * d), d, dst);
          continue;
        }
        for (std::int64_t j = 0; j < d; ++j)
          dst[j] = static_cast<double>(s[j]) * to_scaled / static_cast<double>(count);
      }
    };
    if (prm.mstep == MStep::owner) {
      const auto [c0, c1] = owned_clusters(k, team.size(), team.rank());
      std::vector<std::int64_t> mine(sz(c1 - c0) * sz(stride));
      team.sum_scatter(packed, owner_counts, mine);
      std::vector<double> means(sz(c1 - c0) * sz(d));
      finalize(c0, c1, mine.data(), means.data());
      team.gather(means, owner_values, next);
    } else {
      team.sum(packed);
      finalize(0, k, packed.data(), next.data());
    }

    double moved = 0;
    for (std::size_t i = 0; i < next.size(); ++i) moved += (next[i] - res.centroids[i]) * (next[i] - res.centroids[i]);
    res.centroids = std::move(next);
    res.iterations = it + 1;
    if (moved <= prm.tol) {
      res.converged = true;
      break;
    }
    if (plan && plan->enabled()) {
      const bool stop = plan->should_stop(team, res.iterations);
      if (stop || (plan->every > 0 && res.iterations % plan->every == 0 && res.iterations < prm.max_iter)) {
        const std::int64_t empties = global_empty_events();
        plan->save(team, {plan->identity, res.iterations, res.centroids, res.inertia_trace, empties});
      }
      if (stop) {
        res.interrupted = true;
        res.iter_s = now_s() - t_iter;
        res.comm_s = team.comm_s();
        return res;
      }
    }
  }
  res.empty_cluster_events = global_empty_events();

  // Final labels against the final centroids, and the inertia in double precision.
  e_step(false);
  res.inertia = tree_sum(team, layout, leaves, 1)[0];
  res.sizes.assign(sz(k), 0);
  for (std::int32_t l : labels) ++res.sizes[sz(l)];
  team.sum(res.sizes);
  std::vector<std::int64_t> evals{estep.evaluations()};
  team.sum(evals);
  res.distance_evals = evals[0];
  res.iter_s = now_s() - t_iter;
  res.comm_s = team.comm_s();

  // Quality against the true labels: a k x L contingency table, summed exactly.
  // A phase of its own (metrics_s, its collectives included), not iteration time.
  const double t_metrics = now_s();
  if (p.has_labels) {
    // p.labels holds the rows p.row0.. (all of them for threads).
    const std::int32_t* truth = p.labels.data() + (r0 - p.row0);
    std::int32_t local_max = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) local_max = std::max(local_max, truth[i]);
    const int L = static_cast<int>(team.max(local_max)) + 1;
    std::vector<std::int64_t> table(sz(k) * sz(L), 0);
    for (std::size_t i = 0; i < labels.size(); ++i) ++table[sz(labels[i]) * sz(L) + sz(truth[i])];
    team.sum(table);
    res.has_quality = true;
    res.accuracy = accuracy(table, k, L);
    res.nmi = nmi(table, k, L);
  }
  res.metrics_s = now_s() - t_metrics;
  res.labels = std::move(labels);
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
