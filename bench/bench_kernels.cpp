// Microbenchmarks of the kernel cores at MNIST and course sizes, and larger.
// Counters: items/s (rows or samples), bytes/s (input read), GFLOP/s by the
// flop counts in the kernel headers (and bench/COST_MODEL.md). Single thread:
// the kernels are sequential; parallel scaling is measured end to end by the
// executables.
//
//   Assign          Lloyd's E-step kernel, block by block as the solver runs it
//   AssignInt       the same on MNIST by exact integer dot products (AVX-512 VNNI), as
//                   Lloyd runs it there
//   OwnValues       the pruned E-step's own-centroid values (8 rows per tile)
//   FailedRowValues all k values of scattered MNIST rows, as the pruned E-steps take them for
//                   the rows their bounds leave: by the tiles, and from the rows' nonzeros
//   Sgemm           OpenBLAS sgemm on the same shapes: the reference for a GEMM path
//   Accumulate      full M-step (fixed-point integer sums)
//   Relabel         incremental M-step, 5% of the rows changing cluster
//   StreamPass      one streaming read of the rows (column sums): the memory-bandwidth bound
//                   on any iteration that must read every row
//   LloydIteration  one dense Lloyd iteration as the first one runs (E-step, full M-step),
//                   on the scale path's float blobs shape: read against StreamPass
//   KMeansRun       whole solver runs on MNIST (k = 10, first 10 images as centroids,
//                   to convergence), per algorithm: time per iteration, E + M fused, and
//                   its phases (prep, E-step, M-step sums, means, collectives), rows moved
//   ResidualSums    one regression epoch's fused gradient pass
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <filesystem>
#include <map>
#include <utility>
#include <random>
#include <string>
#include <vector>

#include "app/provenance.hpp"
#include "kmeans/byte_sums.hpp"
#include "kmeans/int_assign.hpp"
#include "io/h5_write.hpp"
#include "kmeans/estep.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/kmeans_solver.hpp"
#include "kmeans/lane_rows.hpp"
#include "kmeans/pair_rows.hpp"
#include "kmeans/points.hpp"
#include "nlreg/nlreg_core.hpp"
#include "team/layout.hpp"
#include "team/team.hpp"

namespace {

using namespace hpcb;

// The inputs are made once per shape and kept: make bench repeats every benchmark 9 times,
// and drawing 64 million normals again for each repetition took longer than timing it.
template <class T>
const aligned_vector<T>& random_rows(std::int64_t n, std::int64_t d) {
  static std::map<std::pair<std::int64_t, std::int64_t>, aligned_vector<T>> made;
  const auto [it, fresh] = made.try_emplace({n, d});
  aligned_vector<T>& v = it->second;
  if (!fresh) return v;
  std::mt19937 gen(1);
  v.resize(static_cast<std::size_t>(n * d));
  if constexpr (std::is_integral_v<T>) {
    std::uniform_int_distribution<int> u(0, 255);
    for (auto& x : v) x = static_cast<T>(u(gen));
  } else {
    std::normal_distribution<T> g(0, 1);
    for (auto& x : v) x = g(gen);
  }
  return v;
}

template <class T>
kmeans::dist_t<T> scale_of() {
  return std::is_integral_v<T> ? kmeans::dist_t<T>(1) / kmeans::dist_t<T>(255) : kmeans::dist_t<T>(1);
}

void flops(benchmark::State& state, double per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(per_iteration * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// What the E-step reads and writes for n rows of X against k centroids (given in scaled
// units), with the row norms cached as the solver caches them.
template <class T>
struct EStepCase {
  using D = kmeans::dist_t<T>;
  EStepCase(const aligned_vector<T>& rows, std::int64_t n_, std::int64_t d_, const std::vector<double>& centroids, int k)
      : X(rows), n(n_), d(d_), C(kmeans::pack_centroids<D>(centroids.data(), k, d_)),
        xx(static_cast<std::size_t>(n_)), labels(static_cast<std::size_t>(n_)), dist(static_cast<std::size_t>(n_)) {
    kmeans::row_norms<T>(X.data(), n, d, scale_of<T>(), xx.data());
  }
  // Rows [r, r + rows) assigned, as the solver assigns one block.
  void assign(std::int64_t r, std::int64_t rows) {
    kmeans::assign<T>(X.data() + r * d, rows, d, scale_of<T>(), C, xx.data() + r, labels.data() + r, dist.data() + r);
  }
  const aligned_vector<T>& X;
  std::int64_t n, d;
  kmeans::PackedCentroids<D> C;
  std::vector<D> xx;
  std::vector<std::int32_t> labels;
  std::vector<D> dist;
};

// E-step over n rows, block by block as the solver does, with the row norms
// cached (the solver computes them once). Args: n, d, k.
template <class T>
void BM_Assign(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  const auto& Cw = random_rows<float>(k, d);
  std::vector<double> Cd(Cw.begin(), Cw.end());
  for (auto& v : Cd) v = std::is_integral_v<T> ? (v + 2) / 4 : v;  // near the data
  EStepCase<T> e(random_rows<T>(n, d), n, d, Cd, k);
  for (auto _ : state) {
    for (std::int64_t r = 0; r < n; r += kMaxRowsPerBlock) e.assign(r, std::min(kMaxRowsPerBlock, n - r));
    benchmark::DoNotOptimize(e.labels.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<std::int64_t>(sizeof(T)));
  flops(state, 2.0 * static_cast<double>(n * d) * k);
}
BENCHMARK(BM_Assign<std::uint8_t>)->Args({10000, 784, 10})->Args({10000, 784, 100})->Args({10000, 784, 256})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Assign<float>)->Args({1000000, 64, 16})->Args({100000, 64, 10})->Args({1000000, 64, 10})->Args({100000, 64, 100})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Assign<double>)->Args({100000, 64, 10})->Unit(benchmark::kMillisecond);

// body(team, points) on MNIST in a team of one worker, as the solver loads it; the benchmark
// is skipped (false) when datasets/mnist10k.h5 is missing.
template <class F>
bool on_mnist(benchmark::State& state, F body) {
  const std::string path = "datasets/mnist10k.h5";
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("datasets/mnist10k.h5 missing (make datasets)");
    return false;
  }
  int argc = 0;
  char** argv = nullptr;
  Backend backend(argc, argv);
  backend.run(1, [&](Team& team) {
    const auto points = load_points(team, path);
    body(team, *points);
    return 0;
  });
  return true;
}

// The same E-step on uint8 rows through exact integer dot products (kmeans/int_assign.hpp),
// which Lloyd takes from d = 256 on CPUs with AVX-512 VNNI: on MNIST itself (its margin
// settles rows by how far apart their nearest centroids are, which random rows would not
// show), the first k images as the centroids. Its multiply-adds (integer) count as the flops
// of the float kernel they replace. Args: n, d, k (n and d: MNIST's), and 1 to take the int16
// sums from the rows' nonzero pairs (pair_rows.hpp: the E-step's choice on MNIST where the
// build has the pair kernel), 0 from their chunks.
void BM_AssignInt(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  const bool by_pairs = state.range(3) != 0;
  if (!kmeans::int_assign_built()) {
    state.SkipWithError("no integer E-step in this build (AVX2 or AVX-512 VNNI)");
    return;
  }
  if (by_pairs && !kmeans::pair_rows_built()) {
    state.SkipWithError("no pair kernel in this build (AVX2 without AVX-512 VNNI)");
    return;
  }
  on_mnist(state, [&](Team&, const Points& p) {
    if (p.n != n || p.d != d) {
      state.SkipWithError("datasets/mnist10k.h5 is not 10000 x 784");
      return;
    }
    const auto* X = p.row<std::uint8_t>(0);
    std::vector<double> C(static_cast<std::size_t>(k * d));
    for (std::size_t i = 0; i < C.size(); ++i) C[i] = X[i] * p.scale;
    const auto scale = static_cast<float>(p.scale);
    const auto P = kmeans::pack_centroids<float>(C.data(), k, d);
    const auto Q = kmeans::quantize_centroids(C.data(), k, d, scale, by_pairs ? kmeans::ForPairs::yes : kmeans::ForPairs::no);
    kmeans::PairRows pairs;
    if (by_pairs) pairs.append(X, n, d);
    std::vector<float> xx(static_cast<std::size_t>(n));
    std::vector<std::uint32_t> sums(static_cast<std::size_t>(n));
    std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
    kmeans::row_norms<std::uint8_t>(X, n, d, scale, xx.data());
    kmeans::row_sums(X, n, d, sums.data());
    std::vector<std::uint64_t> live(static_cast<std::size_t>(n));  // the chunks of zeros skipped, as the E-step does
    kmeans::row_chunk_masks(X, n, d, live.data());
    for (auto _ : state) {
      for (std::int64_t r = 0; r < n; r += kMaxRowsPerBlock)
        kmeans::assign_uint8(X + r * d, std::min(kMaxRowsPerBlock, n - r), d, P, Q, xx.data() + r, sums.data() + r, live.data() + r,
                             kmeans::PairBlock{by_pairs ? &pairs : nullptr, r}, labels.data() + r);
      benchmark::DoNotOptimize(labels.data());
    }
  });
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d);
  flops(state, 2.0 * static_cast<double>(n * d) * k);
}
BENCHMARK(BM_AssignInt)
    ->Args({10000, 784, 10, 0})
    ->Args({10000, 784, 10, 1})
    ->Args({10000, 784, 256, 0})
    ->Args({10000, 784, 256, 1})
    ->Unit(benchmark::kMillisecond);

// The pruned E-step's own-centroid values: rows against one centroid each (one centroid
// for all here, as after the grouping by label). Args: n, d, and every: every such row of
// the n is taken, in order (3: as scattered as the rows the pruned E-steps read on MNIST,
// about a third per iteration; each scattered row costs more than a row of a stream).
template <class T>
void BM_OwnValues(benchmark::State& state) {
  std::int64_t n = state.range(0);
  const std::int64_t d = state.range(1);
  using D = kmeans::dist_t<T>;
  const auto& X = random_rows<T>(n, d);
  std::vector<double> Cd(static_cast<std::size_t>(d), 0.5);
  const auto C = kmeans::pack_centroids<D>(Cd.data(), 1, d);
  std::vector<D> xx(static_cast<std::size_t>(n)), out(static_cast<std::size_t>(n));
  kmeans::row_norms<T>(X.data(), n, d, scale_of<T>(), xx.data());
  std::vector<const T*> rows;
  const std::int64_t every = state.range(2);
  for (std::int64_t i = 0; i < n; i += every) rows.push_back(X.data() + i * d);
  n = static_cast<std::int64_t>(rows.size());
  const int c = 0;
  for (auto _ : state) {
    kmeans::values<T>(rows.data(), n, d, scale_of<T>(), xx.data(), C, &c, 1, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<std::int64_t>(sizeof(T)));
  flops(state, 2.0 * static_cast<double>(n * d));
}
BENCHMARK(BM_OwnValues<std::uint8_t>)->Args({10000, 784, 1})->Args({30000, 784, 3})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OwnValues<float>)->Args({100000, 64, 1})->Unit(benchmark::kMicrosecond);

// All k values of scattered MNIST rows (every `every`-th: 5, about the share of rows Hamerly's
// bounds leave per iteration), as the pruned E-steps take them: by values() with the rows'
// chunks of zeros skipped (arg 1 = 0), from the rows' nonzeros (1: LaneRows, lane_rows.hpp;
// the same bits; k <= kLaneRowsMaxK, 16 or with AVX-512 64), or as Hamerly takes them past
// the lane form's centroids, the integer estimates with the int16 margin's labels from the
// rows' nonzero pairs (2: pair_estimates()) or from their int16 chunk sums (3:
// dense_estimates()). The first k images as the centroids. GFLOP/s counts the 2 d k flops of
// every value, zeros included (effective rates: every form skips zeros). Args: every, form, k.
void BM_FailedRowValues(benchmark::State& state) {
  const std::int64_t every = state.range(0);
  const bool by_lanes = state.range(1) == 1, by_pairs = state.range(1) == 2, by_chunks = state.range(1) == 3;
  const int k = static_cast<int>(state.range(2));
  if (by_lanes && (!kmeans::lane_rows_built() || k > kmeans::kLaneRowsMaxK)) {
    state.SkipWithError("no lane form for this k in this build (AVX-512: k <= 64, AVX2: 16)");
    return;
  }
  if (by_chunks && !kmeans::int_assign_built()) {
    state.SkipWithError("no integer kernel in this build (AVX-512 VNNI or AVX2)");
    return;
  }
  if (by_pairs && !kmeans::pair_rows_built()) {
    state.SkipWithError("no pair kernel in this build (AVX2 without AVX-512 VNNI)");
    return;
  }
  on_mnist(state, [&](Team&, const Points& p) {
    const std::int64_t d = p.d;
    const auto* X = p.row<std::uint8_t>(0);
    std::vector<double> C(static_cast<std::size_t>(k * d));
    for (std::size_t i = 0; i < C.size(); ++i) C[i] = X[i] * p.scale;
    const auto P = kmeans::pack_centroids<float>(C.data(), k, d, kmeans::ColumnForm::always);
    const auto scale = static_cast<float>(p.scale);
    std::vector<float> xx(static_cast<std::size_t>(p.n));
    kmeans::row_norms<std::uint8_t>(X, p.n, d, scale, xx.data());
    std::vector<std::uint64_t> live(static_cast<std::size_t>(p.n));
    kmeans::row_chunk_masks(X, p.n, d, live.data());
    kmeans::LaneRows lanes;
    if (by_lanes) lanes.append(X, p.n, d);
    kmeans::PairRows pairs;
    kmeans::IntCentroids Q;
    std::vector<std::uint32_t> sums(static_cast<std::size_t>(p.n));
    kmeans::RowEstimates estimates;
    if (by_pairs || by_chunks) {
      if (by_pairs) pairs.append(X, p.n, d);
      Q = kmeans::quantize_centroids(C.data(), k, d, scale, by_pairs ? kmeans::ForPairs::yes : kmeans::ForPairs::no);
      kmeans::row_sums(X, p.n, d, sums.data());
    }
    std::vector<std::int64_t> rows;
    std::vector<const std::uint8_t*> ptrs;
    std::vector<float> xxs;
    std::vector<std::uint64_t> lives;
    for (std::int64_t i = 0; i < p.n; i += every) {
      rows.push_back(i);
      ptrs.push_back(p.row<std::uint8_t>(i));
      xxs.push_back(xx[static_cast<std::size_t>(i)]);
      lives.push_back(live[static_cast<std::size_t>(i)]);
    }
    const auto n = static_cast<std::int64_t>(rows.size());
    std::vector<float> out(static_cast<std::size_t>(n * k));
    for (auto _ : state) {
      if (by_pairs)
        kmeans::pair_estimates(pairs, rows.data(), n, d, Q, xx.data(), sums.data(), estimates);
      else if (by_chunks)
        kmeans::dense_estimates(X, rows.data(), n, d, Q, xx.data(), sums.data(), live.data(), estimates);
      else if (by_lanes)
        lanes.values(rows.data(), n, scale, xx.data(), P, out.data());
      else
        kmeans::values<std::uint8_t>(ptrs.data(), n, d, scale, xxs.data(), P, nullptr, k, out.data(), lives.data());
      benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * n);
    flops(state, 2.0 * static_cast<double>(n * d) * k);
  });
}
BENCHMARK(BM_FailedRowValues)->ArgsProduct({{5}, {0, 1, 2, 3}, {10, 32, 64}})->Unit(benchmark::kMicrosecond);

// OpenBLAS sgemm of the E-step's dot products, a block of 256 float rows times
// the k x d centroids, block by block: what a GEMM path would cost before
// its norms and argmin (and it would have to be made deterministic per row).
// Args: n, d, k.
void BM_Sgemm(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  const auto& X = random_rows<float>(n, d);
  const auto& C = random_rows<float>(k, d);
  std::vector<float> out(static_cast<std::size_t>(kMaxRowsPerBlock * k));
  for (auto _ : state) {
    for (std::int64_t r = 0; r < n; r += kMaxRowsPerBlock) {
      const auto rows = static_cast<int>(std::min(kMaxRowsPerBlock, n - r));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, static_cast<int>(d), 1.0f, X.data() + r * d,
                  static_cast<int>(d), C.data(), static_cast<int>(d), 0.0f, out.data(), k);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * 4);
  flops(state, 2.0 * static_cast<double>(n * d) * k);
}
BENCHMARK(BM_Sgemm)->Args({10000, 784, 10})->Args({10000, 784, 100})->Args({10000, 784, 256})->Args({100000, 64, 10})->Unit(benchmark::kMillisecond);

// M-step accumulation (uint8 rows: ByteSums, as the solver forms them). Args: n, d, k.
template <class T>
void BM_Accumulate(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  const auto& X = random_rows<T>(n, d);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % static_cast<std::size_t>(k));
  std::vector<std::int64_t> sums(static_cast<std::size_t>(k * d)), counts(static_cast<std::size_t>(k));
  kmeans::ByteSums bytes(k, d);
  for (auto _ : state) {
    for (std::int64_t r = 0; r < n; r += kMaxRowsPerBlock) {
      const std::int64_t rows = std::min(kMaxRowsPerBlock, n - r);
      if constexpr (std::is_same_v<T, std::uint8_t>)
        bytes.add(X.data() + r * d, rows, labels.data() + r, counts.data(), sums.data());
      else
        kmeans::accumulate<T>(X.data() + r * d, rows, d, 20, labels.data() + r, sums.data(), counts.data());
    }
    if constexpr (std::is_same_v<T, std::uint8_t>) bytes.flush(sums.data());
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<std::int64_t>(sizeof(T)));
}
BENCHMARK(BM_Accumulate<std::uint8_t>)->Args({10000, 784, 10})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Accumulate<float>)->Args({1000000, 64, 10})->Unit(benchmark::kMillisecond);

// The incremental M-step, 5% of the rows moving to another cluster (uint8 rows: ByteSums, as
// the solver moves the rows a Lloyd E-step read). Args: n, d, k.
template <class T>
void BM_Relabel(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  const auto& X = random_rows<T>(n, d);
  std::vector<std::int32_t> from(static_cast<std::size_t>(n)), to(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < from.size(); ++i) {
    from[i] = static_cast<std::int32_t>(i % static_cast<std::size_t>(k));
    to[i] = i % 20 == 0 ? (from[i] + 1) % k : from[i];
  }
  std::vector<std::int64_t> sums(static_cast<std::size_t>(k * d)), counts(static_cast<std::size_t>(k));
  kmeans::ByteSums bytes(k, d);
  for (auto _ : state) {
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      bytes.move(X.data(), n, from.data(), to.data(), counts.data(), sums.data());
      bytes.flush(sums.data());
    } else {
      kmeans::relabel<T>(X.data(), n, d, 20, from.data(), to.data(), sums.data(), counts.data());
    }
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n / 20 * d * static_cast<std::int64_t>(sizeof(T)));
}
BENCHMARK(BM_Relabel<std::uint8_t>)->Args({10000, 784, 10})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Relabel<float>)->Args({1000000, 64, 10})->Unit(benchmark::kMillisecond);

// A pruned E-step's preparation (EStep::set_centroids()): its centroids' norms, moves and half
// distances (k (k - 1) / 2 + 2 k distances over d), which every worker of a run computes once
// per E-step, whatever its rows. Arg 2 = 0: the centroids jump between two sets far apart, so
// that every call computes every distance exactly; 1: they move by a little each call (a
// random walk of 10^-4 of their values' scale per value), as they do once a run has settled,
// where most half distances follow from the moves. Args: d, k, small moves.
void BM_CentroidBounds(benchmark::State& state) {
  const std::int64_t d = state.range(0);
  const int k = static_cast<int>(state.range(1));
  const bool small = state.range(2) != 0;
  const auto& X = random_rows<std::uint8_t>(64, d);
  const auto& Cw = random_rows<float>(2 * k, d);
  std::vector<double> C[2];
  for (int s = 0; s < 2; ++s)
    for (std::int64_t i = 0; i < k * d; ++i) C[s].push_back(static_cast<double>(Cw[static_cast<std::size_t>(s * k * d + i)]) * (1 + 10 * s));
  kmeans::EStep<std::uint8_t> estep(kmeans::Algorithm::elkan, X.data(), 64, d, 1.0f, k);
  std::mt19937 gen(3);
  std::normal_distribution<double> step(0, 1e-4);
  int s = 0;
  for (auto _ : state) {
    if (small) {
      state.PauseTiming();
      for (double& v : C[0]) v += step(gen);
      state.ResumeTiming();
    }
    estep.set_centroids(C[s]);
    if (!small) s ^= 1;
  }
  state.SetItemsProcessed(state.iterations() * k * (k - 1) / 2);
}
BENCHMARK(BM_CentroidBounds)
    ->Args({784, 10, 0})
    ->Args({784, 10, 1})
    ->Args({784, 256, 0})
    ->Args({784, 256, 1})
    ->Unit(benchmark::kMicrosecond);

// One streaming pass over n x d rows (column sums, in T's width): what reading every row
// once costs on this machine, the bound for an iteration that must. Args: n, d.
template <class T>
void BM_StreamPass(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const auto& X = random_rows<T>(n, d);
  std::vector<T> col(static_cast<std::size_t>(d));
  for (auto _ : state) {
    std::fill(col.begin(), col.end(), T(0));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < d; ++j) col[static_cast<std::size_t>(j)] += X[static_cast<std::size_t>(i * d + j)];
    benchmark::DoNotOptimize(col.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<std::int64_t>(sizeof(T)));
}
BENCHMARK(BM_StreamPass<float>)->Args({1000000, 64})->Unit(benchmark::kMillisecond);

// One dense Lloyd iteration with the kernel core, block by block as the solver runs its
// first iteration: the E-step (row norms cached) and the full fixed-point M-step. Later
// iterations replace the full M-step by relabel() of the rows that moved (BM_Relabel).
// Args: n, d, k.
template <class T>
void BM_LloydIteration(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  const auto& X = random_rows<T>(n, d);
  const std::vector<double> first(X.begin(), X.begin() + k * d);  // the first k rows, as make compare starts
  EStepCase<T> e(X, n, d, first, k);
  std::vector<std::int64_t> sums(static_cast<std::size_t>(k * d)), counts(static_cast<std::size_t>(k));
  const int shift = std::is_integral_v<T> ? 0 : kmeans::choose_shift(n, kmeans::max_abs(X.data(), n * d));
  for (auto _ : state) {
    std::fill(sums.begin(), sums.end(), 0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::int64_t r = 0; r < n; r += kMaxRowsPerBlock) {
      const std::int64_t rows = std::min(kMaxRowsPerBlock, n - r);
      e.assign(r, rows);
      kmeans::accumulate<T>(X.data() + r * d, rows, d, shift, e.labels.data() + r, sums.data(), counts.data());
    }
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<std::int64_t>(sizeof(T)));
  flops(state, 2.0 * static_cast<double>(n * d) * k);
}
BENCHMARK(BM_LloydIteration<float>)->Args({1000000, 64, 16})->Unit(benchmark::kMillisecond);

// Whole k-means runs on MNIST with the real solver on one worker: the fused
// iteration (E-step, incremental M-step, means) per algorithm. Starts from the
// first 10 images, as `make compare`, and runs to convergence.
void BM_KMeansRun(benchmark::State& state, kmeans::Algorithm algorithm) {
  std::int64_t iterations = 0, evaluations = 0, rows_read = 0, moved = 0, n = 0, d = 0;
  double prep = 0, assign = 0, sums = 0, means = 0, comm = 0;
  const bool ran = on_mnist(state, [&](Team& team, const Points& p) {
    n = p.n;
    d = p.d;
    // The first 10 images as centroids, through a file as --init takes them.
    const std::string init = (std::filesystem::temp_directory_path() / "hpcb-bench-init.h5").string();
    {
      std::vector<double> C(static_cast<std::size_t>(10 * p.d));
      for (std::size_t i = 0; i < C.size(); ++i) C[i] = p.X[i] * p.scale;
      h5::AtomicH5File file(init);
      h5::write_matrix(file, "/centroids", 10, static_cast<std::uint64_t>(p.d), C.data());
      file.commit();
    }
    kmeans::Params prm;
    prm.k = 10;
    prm.max_iter = 100;
    prm.init = kmeans::Init::file;
    prm.given_centroids = kmeans::load_initial_centroids(team, init, prm.k, p.d);
    prm.algorithm = algorithm;
    for (auto _ : state) {
      const kmeans::Result r = kmeans::run(team, p, prm);
      iterations += r.iterations;
      evaluations += r.distance_evals;
      rows_read += r.rows_read;
      moved += r.moved;
      prep += r.prep_s;
      assign += r.assign_s;
      sums += r.sums_s;
      means += r.means_s;
      comm += r.comm_s;
      benchmark::DoNotOptimize(r.inertia);
    }
    std::filesystem::remove(init);
  });
  if (!ran) return;
  state.counters["iterations"] = benchmark::Counter(static_cast<double>(iterations), benchmark::Counter::kAvgIterations);
  // CPU seconds per k-means iteration (the inverse of iterations per second).
  state.counters["time_per_iteration"] =
      benchmark::Counter(static_cast<double>(iterations), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // Per E-step (the iterations' and each run's last): the values computed, and the rows read to
  // compute them. The pruned forms' time follows the rows more than the values (BM_OwnValues).
  const double row_steps = static_cast<double>(n) * static_cast<double>(iterations + state.iterations());
  state.counters["distance_fraction"] = static_cast<double>(evaluations) / (10.0 * row_steps);
  state.counters["rows_read_fraction"] = static_cast<double>(rows_read) / row_steps;
  // Where an iteration's time goes (kmeans::Result: prep, assign, sums, means, comm), seconds per
  // k-means iteration, and the fraction of rows that changed cluster per iteration.
  const double per = iterations > 0 ? 1.0 / static_cast<double>(iterations) : 0.0;
  for (const auto& [name, seconds] : {std::pair{"prep_s", prep}, std::pair{"assign_s", assign},
                                      std::pair{"sums_s", sums}, std::pair{"means_s", means},
                                      std::pair{"comm_s", comm}})
    state.counters[name] = seconds * per;
  state.counters["moved_fraction"] = static_cast<double>(moved) * per / static_cast<double>(n);
  state.SetItemsProcessed(iterations * n);
  state.SetBytesProcessed(iterations * n * d);
}
BENCHMARK_CAPTURE(BM_KMeansRun, lloyd, kmeans::Algorithm::lloyd)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_KMeansRun, hamerly, kmeans::Algorithm::hamerly)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_KMeansRun, elkan, kmeans::Algorithm::elkan)->Unit(benchmark::kMillisecond);

// One regression epoch's gradient pass, block by block. Arg: n.
void BM_ResidualSums(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::vector<double> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n)), leaves;
  std::mt19937 gen(2);
  std::uniform_real_distribution<double> u(0, 10);
  for (std::int64_t i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i)] = u(gen);
    y[static_cast<std::size_t>(i)] = 3 * x[static_cast<std::size_t>(i)] * x[static_cast<std::size_t>(i)] + u(gen);
  }
  leaves.resize(static_cast<std::size_t>((n + kMaxRowsPerBlock - 1) / kMaxRowsPerBlock * 4));
  for (auto _ : state) {
    for (std::int64_t r = 0, b = 0; r < n; r += kMaxRowsPerBlock, ++b)
      nlreg::residual_sums(x.data() + r, y.data() + r, std::min(kMaxRowsPerBlock, n - r), {1, 2, 3},
                           &leaves[static_cast<std::size_t>(b * 4)]);
    benchmark::DoNotOptimize(leaves.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 16);
  flops(state, 11.0 * static_cast<double>(n));
}
BENCHMARK(BM_ResidualSums)->Arg(20000)->Arg(10000000)->Unit(benchmark::kMicrosecond);

}  // namespace

// BENCHMARK_MAIN plus the machine in the JSON "context": what the numbers ran on (the CPU and
// its ISA, the OpenBLAS kernel set actually loaded for the SGEMM reference, the build), from
// the run records' provenance. The Makefile adds the git commit with --benchmark_context.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const nlohmann::json prov = provenance("none");
  for (const char* key : {"cpu", "cpu_vendor", "cpu_family", "cpu_model_number", "cpu_stepping", "cpu_flags",
                          "hypervisor", "hypervisor_vendor", "memory_bytes", "os", "kernel", "compiler", "flags",
                          "blas", "blas_core", "openblas_coretype"}) {
    const nlohmann::json& v = prov[key];
    std::string text;
    if (v.is_string()) {
      text = v.get<std::string>();
    } else if (v.is_array()) {
      for (const auto& item : v) {
        if (!text.empty()) text += ' ';
        text += item.get<std::string>();
      }
    } else {
      text = v.dump();
    }
    benchmark::AddCustomContext(key, text);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
