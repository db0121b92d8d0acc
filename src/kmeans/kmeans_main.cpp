// kmeans_seq, kmeans_omp, kmeans_mpi: this one main, linked with one of the
// three team backends (src/team/team_*.cpp).
#include <cmath>
#include <cstdio>

#include "app/app.hpp"
#include "app/phases.hpp"
#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/timer.hpp"
#include "io/h5_write.hpp"
#include "kmeans/estep.hpp"
#include "kmeans/kmeans_solver.hpp"
#include "team/layout.hpp"

namespace {

using hpcb::DataError;
using hpcb::Team;
using hpcb::UsageError;

std::string sha_of(const void* data, std::size_t bytes) {
  hpcb::Sha256 h;
  h.update(data, bytes);
  return h.hex();
}

void write_output(const std::string& path, const std::vector<std::int32_t>& labels,
                  const hpcb::kmeans::Result& r, std::int64_t k, std::int64_t d, const nlohmann::json& record) {
  hpcb::h5::AtomicH5File file(path);
  hpcb::h5::write_vector(file, "/labels", labels);
  hpcb::h5::write_matrix(file, "/centroids", static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(d),
                         r.centroids.data());
  hpcb::h5::write_vector(file, "/inertia", r.inertia_trace);
  hpcb::h5::write_attribute(file, "/", "record", record.dump());
  file.commit();
}

}  // namespace

int main(int argc, char** argv) {
  hpcb::Backend backend(argc, argv);
  hpcb::kmeans::Params prm;
  auto add_options = [&](hpcb::OptionTable& opts) {
    using hpcb::kmeans::Algorithm;
    using hpcb::kmeans::Init;
    using hpcb::kmeans::MStep;
    opts.integer({"--k", "number of clusters (at most the rows n)", hpcb::Role::param, true}, prm.k, 1);
    opts.integer({"--iters", "maximum Lloyd iterations", hpcb::Role::param, true}, prm.max_iter, 1);
    opts.real({"--tol", "stop when the sum of squared centroid moves is <= tol (0: only at a fixed point)",
               hpcb::Role::param, true},
              prm.tol, 0.0);
    opts.uint64({"--seed", "seed for --init random and kmeans++", hpcb::Role::param, true}, prm.seed);
    opts.choice_or_path<Init>({"--init", "random | kmeans++ | PATH to an HDF5 file with /centroids (k x d, scaled units)",
                               hpcb::Role::param, true},
                              prm.init, prm.init_path, hpcb::kmeans::kInitNames, Init::file);
    opts.choice<MStep>({"--mstep",
                        "reduce: every worker reduces all cluster sums | owner: each worker finalises the clusters it owns",
                        hpcb::Role::param, true},
                       prm.mstep, hpcb::kmeans::kMStepNames);
    opts.choice<Algorithm>({"--algorithm",
                            "lloyd: every distance | hamerly, elkan: exact triangle-inequality pruning (same result bit "
                            "for bit)",
                            hpcb::Role::param, true},
                           prm.algorithm, hpcb::kmeans::kAlgorithmNames);
  };
  auto validate = [] {};

  return hpcb::run_app(argc, argv, "kmeans", backend, add_options, validate, [&](Team& team, const hpcb::RunContext& ctx) {
    team.barrier();
    const double t_start = hpcb::now_s();
    const auto points = hpcb::load_points(team, ctx.common.data, ctx.common.verify);
    const double io_s = hpcb::now_s() - t_start;
    const auto& p = *points;
    if (prm.k > p.n)
      throw DataError(p.path + ": k = " + std::to_string(prm.k) + " is larger than the number of rows n = " +
                      std::to_string(p.n));

    const std::string mstep = hpcb::name_of<hpcb::kmeans::MStep>(hpcb::kmeans::kMStepNames, prm.mstep);
    const std::string algorithm = hpcb::name_of<hpcb::kmeans::Algorithm>(hpcb::kmeans::kAlgorithmNames, prm.algorithm);
    const nlohmann::json params = {{"k", prm.k}, {"iters", prm.max_iter}, {"tol", prm.tol}, {"seed", prm.seed},
                                   {"init", hpcb::kmeans::init_text(prm)}, {"mstep", mstep}, {"algorithm", algorithm}};
    const nlohmann::json identity = {{"app", "kmeans"}, {"data", p.identity},
                                     {"n", p.n}, {"d", p.d}, {"params", params}};
    const hpcb::CheckpointPlan plan = hpcb::checkpoint_plan(team, ctx, identity.dump(), {prm.k * p.d, prm.max_iter, std::int64_t{prm.max_iter} * prm.k});
    hpcb::kmeans::Params run_prm = prm;
    run_prm.checkpoint = &plan;
    if (prm.init == hpcb::kmeans::Init::file && !plan.resume)
      run_prm.given_centroids = hpcb::kmeans::load_initial_centroids(team, prm.init_path, prm.k, p.d);
    const hpcb::kmeans::Result r = hpcb::kmeans::run(team, p, run_prm);
    if (r.interrupted) return hpcb::interrupted(team, ctx, "iterations", r.iterations);
    team.barrier();
    const double total_s = hpcb::now_s() - t_start;

    // All labels on the first worker, in row order, for the digest and --out.
    const hpcb::Layout layout{p.n, team.size(), team.rank()};
    std::vector<std::int64_t> counts;
    for (int w = 0; w < team.size(); ++w) counts.push_back(layout.rows_of(w).second - layout.rows_of(w).first);
    std::vector<std::int32_t> all_labels(team.rank() == 0 ? static_cast<std::size_t>(p.n) : 0);
    team.gather_to_first(r.labels, counts, all_labels);

    const hpcb::TeamPhases phases =
        hpcb::gather_phases(team, {total_s, io_s, r.init_s, r.iter_s, r.comm_s, r.metrics_s});
    const hpcb::Phases& t = phases.slowest;

    nlohmann::json rec = hpcb::record_base(team, ctx);
    rec["dataset"] = {{"path", p.path}, {"n", p.n}, {"d", p.d}, {"dtype", hpcb::h5::dtype_name(p.dtype)},
                      {"sha256", p.content_sha256}, {"verified", p.verified}, {"has_labels", p.has_labels}};
    rec["params"] = params;
    // Validation, as in the Parallel Research Kernels: every run checks what
    // must hold whatever the data (sizes add up to n, Lloyd never raises the
    // inertia beyond round-off).
    std::int64_t size_total = 0;
    for (auto s : r.sizes) size_total += s;
    const bool valid = size_total == p.n && std::isfinite(r.inertia) &&
                       r.inertia <= r.inertia_trace.front() * (1 + 1e-6) + 1e-12;
    nlohmann::json result = {{"iterations", r.iterations}, {"resumed_from", r.resumed_from}, {"converged", r.converged}, {"inertia", r.inertia},
                             {"accuracy", r.has_quality ? nlohmann::json(r.accuracy) : nlohmann::json(nullptr)},
                             {"nmi", r.has_quality ? nlohmann::json(r.nmi) : nlohmann::json(nullptr)},
                             {"sizes", r.sizes}, {"empty_cluster_events", r.empty_cluster_events},
                             {"distance_evals", r.distance_evals},
                             {"centroids_sha256", sha_of(r.centroids.data(), r.centroids.size() * sizeof(double))},
                             {"labels_sha256", nullptr}, {"inertia_trace", r.inertia_trace}, {"validated", valid}};
    if (team.rank() == 0) result["labels_sha256"] = sha_of(all_labels.data(), all_labels.size() * sizeof(std::int32_t));
    rec["result"] = result;
    // A resumed run times only the iterations it ran itself.
    const int ran = r.iterations - r.resumed_from;
    rec["time_s"] = hpcb::time_record(phases, ran);
    if (!valid) rec["status"] = "failed-validation";

    hpcb::finish_run(team, ctx, rec, [&](const std::string& path) { write_output(path, all_labels, r, prm.k, p.d, rec); });

    if (ctx.root(team) && !ctx.common.quiet) {
      std::printf("%s: %s (n=%lld, d=%lld, %s), k=%d, init %s, mstep %s, %s, %d rank(s) x %d thread(s)\n",
                  ctx.prog.c_str(), p.path.c_str(), static_cast<long long>(p.n), static_cast<long long>(p.d),
                  hpcb::h5::dtype_name(p.dtype), prm.k, hpcb::kmeans::init_text(prm).c_str(), mstep.c_str(), algorithm.c_str(),
                  ctx.info.ranks, ctx.info.threads);
      std::printf("  iterations  %d (%s); %.1f%% of the distances computed\n", r.iterations,
                  r.converged ? "converged" : "iteration limit",
                  100.0 * static_cast<double>(r.distance_evals) /
                      (static_cast<double>(p.n) * prm.k * (r.iterations + 1)));
      std::printf("  inertia     %.6f\n", r.inertia);
      if (r.has_quality) std::printf("  accuracy    %.4f   NMI %.4f\n", r.accuracy, r.nmi);
      std::printf("  time        %.4f s total: io %.4f, init %.4f, iterations %.4f (compute %.4f, comm %.4f), "
                  "metrics %.4f; %.3f ms/iteration\n",
                  t.total, t.io, t.init, t.iterations, phases.compute(), t.comm, t.metrics,
                  ran > 0 ? 1e3 * t.iterations / ran : 0.0);
      std::printf("  digests     labels %.16s  centroids %.16s\n", result["labels_sha256"].get<std::string>().c_str(),
                  result["centroids_sha256"].get<std::string>().c_str());
      std::printf("  %s\n", valid ? "Solution validates" : "Solution FAILED validation");
    }
    return valid ? int(hpcb::kOk) : int(hpcb::kValidationError);
  }, [&] {
    // --init names a file unless it is one of the built-in methods (kmeans_solver.cpp).
    std::vector<hpcb::NamedPath> files;
    if (prm.init == hpcb::kmeans::Init::file) files.push_back({"--init", prm.init_path});
    return files;
  });
}
