#include "kmeans/kmeans_workload.hpp"

#include <cmath>
#include <cstdio>
#include <memory>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/timer.hpp"
#include "io/h5_write.hpp"
#include "team/layout.hpp"

namespace hpcb::kmeans {
namespace {

std::string sha_of(const void* data, std::size_t bytes) {
  Sha256 h;
  h.update(data, bytes);
  return h.hex();
}

// What the record, --out and the summary need after the run, on each worker.
struct Finished {
  std::shared_ptr<const Points> points;
  Result r;
  std::vector<std::int32_t> all_labels;  // worker 0: every row's label, in row order
};

void write_output(const std::string& path, const Finished& f, int k, const nlohmann::json& record) {
  h5::AtomicH5File file(path);
  h5::write_vector(file, "/labels", f.all_labels);
  h5::write_matrix(file, "/centroids", static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(f.points->d),
                   f.r.centroids.data());
  h5::write_vector(file, "/inertia", f.r.inertia_trace);
  h5::write_attribute(file, "/", "record", record.dump());
  file.commit();
}

}  // namespace

void KMeansWorkload::add_options(OptionTable& opts) {
  opts.integer({"--k", "number of clusters (at most the rows n)", Role::param, true}, prm_.k, 1);
  opts.integer({"--iters", "maximum Lloyd iterations", Role::param, true}, prm_.max_iter, 1);
  opts.real({"--tol", "stop when the sum of squared centroid moves is <= tol (0: only at a fixed point)", Role::param,
             true},
            prm_.tol, 0.0);
  opts.uint64({"--seed", "seed for --init random and kmeans++", Role::param, true}, prm_.seed);
  opts.choice_or_path<Init>(
      {"--init", "random | kmeans++ | PATH to an HDF5 file with /centroids (k x d, scaled units)", Role::param, true},
      prm_.init, prm_.init_path, kInitNames, Init::file);
  opts.choice<MStep>(
      {"--mstep", "reduce: every worker reduces all cluster sums | owner: each worker finalises the clusters it owns",
       Role::param, true},
      prm_.mstep, kMStepNames);
  opts.choice<Algorithm>({"--algorithm",
                          "lloyd: every distance | hamerly, elkan: exact triangle-inequality pruning (same result bit "
                          "for bit)",
                          Role::param, true},
                         prm_.algorithm, kAlgorithmNames);
}

std::vector<NamedPath> KMeansWorkload::extra_inputs() const {
  if (prm_.init == Init::file) return {{"--init", prm_.init_path}};
  return {};
}

Outcome KMeansWorkload::run(Team& team, const RunContext& ctx) {
  Outcome o;
  auto f = std::make_shared<Finished>();
  f->points = timed_input(o, [&] { return load_points(team, ctx.common.data, ctx.common.verify); });
  const Points& p = *f->points;
  if (prm_.k > p.n)
    throw DataError(p.path + ": k = " + std::to_string(prm_.k) + " is larger than the number of rows n = " +
                    std::to_string(p.n));

  const std::string mstep = name_of<MStep>(kMStepNames, prm_.mstep);
  const std::string algorithm = name_of<Algorithm>(kAlgorithmNames, prm_.algorithm);
  o.params = {{"k", prm_.k}, {"iters", prm_.max_iter}, {"tol", prm_.tol}, {"seed", prm_.seed},
              {"init", init_text(prm_)}, {"mstep", mstep}, {"algorithm", algorithm}};
  const nlohmann::json identity = {{"app", "kmeans"}, {"data", p.identity}, {"n", p.n}, {"d", p.d}, {"params", o.params}};
  const CheckpointPlan plan =
      checkpoint_plan(team, ctx, identity.dump(), {prm_.k * p.d, prm_.max_iter, std::int64_t{prm_.max_iter} * prm_.k});
  Params run_prm = prm_;
  run_prm.checkpoint = &plan;
  // An --init file is read here, at the boundary; a resumed run starts from its checkpoint instead.
  if (prm_.init == Init::file && !plan.resume)
    run_prm.given_centroids = load_initial_centroids(team, prm_.init_path, prm_.k, p.d);
  f->r = kmeans::run(team, p, run_prm);
  const Result& r = f->r;
  if (r.interrupted) return o.stopped_after("iterations", r.iterations);
  o.seconds.init = r.init_s;
  o.seconds.iterations = r.iter_s;
  o.seconds.comm = r.comm_s;
  o.seconds.metrics = r.metrics_s;
  o.ran = r.iterations - r.resumed_from;

  o.dataset = {{"path", p.path}, {"n", p.n}, {"d", p.d}, {"dtype", h5::dtype_name(p.dtype)},
               {"sha256", p.content_sha256}, {"verified", p.verified}, {"has_labels", p.has_labels}};
  // Validation, as in the Parallel Research Kernels: every run checks what
  // must hold whatever the data (sizes add up to n, Lloyd never raises the
  // inertia beyond round-off).
  std::int64_t size_total = 0;
  for (auto s : r.sizes) size_total += s;
  o.valid = size_total == p.n && std::isfinite(r.inertia) && r.inertia <= r.inertia_trace.front() * (1 + 1e-6) + 1e-12;
  o.result = {{"iterations", r.iterations}, {"resumed_from", r.resumed_from}, {"converged", r.converged},
              {"inertia", r.inertia},
              {"accuracy", r.has_quality ? nlohmann::json(r.accuracy) : nlohmann::json(nullptr)},
              {"nmi", r.has_quality ? nlohmann::json(r.nmi) : nlohmann::json(nullptr)},
              {"sizes", r.sizes}, {"empty_cluster_events", r.empty_cluster_events},
              {"distance_evals", r.distance_evals},
              {"centroids_sha256", sha_of(r.centroids.data(), r.centroids.size() * sizeof(double))},
              {"labels_sha256", nullptr}, {"inertia_trace", r.inertia_trace}};

  // All labels on the first worker, in row order, for the digest and --out.
  o.conclude = [f](Team& t, Outcome& out) {
    const Layout layout{f->points->n, t.size(), t.rank()};
    std::vector<std::int64_t> counts;
    for (int w = 0; w < t.size(); ++w) counts.push_back(layout.rows_of(w).second - layout.rows_of(w).first);
    f->all_labels.assign(t.rank() == 0 ? static_cast<std::size_t>(f->points->n) : 0, 0);
    t.gather_to_first(f->r.labels, counts, f->all_labels);
    if (t.rank() == 0)
      out.result["labels_sha256"] = sha_of(f->all_labels.data(), f->all_labels.size() * sizeof(std::int32_t));
  };
  const int k = prm_.k;
  o.write_out = [f, k](const std::string& path, const nlohmann::json& record) { write_output(path, *f, k, record); };
  o.summary = [f, &ctx, k, mstep, algorithm, init = init_text(prm_)](const Outcome& done, const TeamPhases& phases) {
    const Points& pts = *f->points;
    const Result& res = f->r;
    const Phases& t = phases.slowest;
    const int ran = res.iterations - res.resumed_from;
    std::printf("%s: %s (n=%lld, d=%lld, %s), k=%d, init %s, mstep %s, %s, %d rank(s) x %d thread(s)\n",
                ctx.prog.c_str(), pts.path.c_str(), static_cast<long long>(pts.n), static_cast<long long>(pts.d),
                h5::dtype_name(pts.dtype), k, init.c_str(), mstep.c_str(), algorithm.c_str(), ctx.info.ranks,
                ctx.info.threads);
    std::printf("  iterations  %d (%s); %.1f%% of the distances computed\n", res.iterations,
                res.converged ? "converged" : "iteration limit",
                100.0 * static_cast<double>(res.distance_evals) /
                    (static_cast<double>(pts.n) * k * (res.iterations + 1)));
    std::printf("  inertia     %.6f\n", res.inertia);
    if (res.has_quality) std::printf("  accuracy    %.4f   NMI %.4f\n", res.accuracy, res.nmi);
    std::printf("  time        %.4f s total: io %.4f, init %.4f, iterations %.4f (compute %.4f, comm %.4f), "
                "metrics %.4f; %.3f ms/iteration\n",
                t.total, t.io, t.init, t.iterations, phases.compute(), t.comm, t.metrics,
                ran > 0 ? 1e3 * t.iterations / ran : 0.0);
    std::printf("  digests     labels %.16s  centroids %.16s\n", done.result["labels_sha256"].get<std::string>().c_str(),
                done.result["centroids_sha256"].get<std::string>().c_str());
  };
  return o;
}

}  // namespace hpcb::kmeans
