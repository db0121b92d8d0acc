// Microbenchmarks of the kernel cores at MNIST and course sizes, and larger.
// Counters: items/s (rows or samples), bytes/s (input read), GFLOP/s by the
// flop counts in the kernel headers. Single thread: the kernels are sequential;
// parallel scaling is measured end to end by the executables.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kmeans/kmeans_core.hpp"
#include "nlreg/nlreg_core.hpp"
#include "team/layout.hpp"

namespace {

using namespace hpcb;

template <class T>
std::vector<T> random_rows(std::int64_t n, std::int64_t d) {
  std::mt19937 gen(1);
  std::vector<T> v(static_cast<std::size_t>(n * d));
  if constexpr (std::is_integral_v<T>) {
    std::uniform_int_distribution<int> u(0, 255);
    for (auto& x : v) x = static_cast<T>(u(gen));
  } else {
    std::normal_distribution<T> g(0, 1);
    for (auto& x : v) x = g(gen);
  }
  return v;
}

// E-step over n rows, block by block as the solver does. Args: n, d, k.
template <class T>
void BM_Assign(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  using D = kmeans::dist_t<T>;
  const auto X = random_rows<T>(n, d);
  const auto Cw = random_rows<float>(k, d);
  const std::vector<double> Cd(Cw.begin(), Cw.end());
  const auto C = kmeans::pack_centroids<D>(Cd.data(), k, d);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  std::vector<D> dist(static_cast<std::size_t>(n));
  for (auto _ : state) {
    for (std::int64_t r = 0; r < n; r += kRowsPerBlock) {
      const std::int64_t rows = std::min(kRowsPerBlock, n - r);
      kmeans::assign<T>(X.data() + r * d, rows, d, D(1) / D(255), C, labels.data() + r, dist.data() + r);
    }
    benchmark::DoNotOptimize(labels.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<std::int64_t>(sizeof(T)));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * d * k) * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Assign<std::uint8_t>)->Args({10000, 784, 10})->Args({10000, 784, 100})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Assign<float>)->Args({100000, 64, 10})->Args({1000000, 64, 10})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Assign<double>)->Args({100000, 64, 10})->Unit(benchmark::kMillisecond);

// M-step accumulation. Args: n, d, k.
template <class T>
void BM_Accumulate(benchmark::State& state) {
  const std::int64_t n = state.range(0), d = state.range(1);
  const int k = static_cast<int>(state.range(2));
  const auto X = random_rows<T>(n, d);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % static_cast<std::size_t>(k));
  std::vector<std::int64_t> sums(static_cast<std::size_t>(k * d)), counts(static_cast<std::size_t>(k));
  for (auto _ : state) {
    kmeans::accumulate<T>(X.data(), n, d, k, 20, labels.data(), sums.data(), counts.data());
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<std::int64_t>(sizeof(T)));
}
BENCHMARK(BM_Accumulate<std::uint8_t>)->Args({10000, 784, 10})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Accumulate<float>)->Args({1000000, 64, 10})->Unit(benchmark::kMillisecond);

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
  leaves.resize(static_cast<std::size_t>((n + kRowsPerBlock - 1) / kRowsPerBlock * 4));
  for (auto _ : state) {
    for (std::int64_t r = 0, b = 0; r < n; r += kRowsPerBlock, ++b)
      nlreg::residual_sums(x.data() + r, y.data() + r, std::min(kRowsPerBlock, n - r), {1, 2, 3},
                           &leaves[static_cast<std::size_t>(b * 4)]);
    benchmark::DoNotOptimize(leaves.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 16);
  state.counters["GFLOP/s"] = benchmark::Counter(11.0 * static_cast<double>(n) * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_ResidualSums)->Arg(20000)->Arg(10000000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
