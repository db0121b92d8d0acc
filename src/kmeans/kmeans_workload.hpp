// k-means as a workload (app/workload.hpp): its options, its run, its record
// and summary. kmeans_main.cpp runs it on one of the four backends.
#pragma once

#include "app/workload.hpp"
#include "kmeans/kmeans_solver.hpp"

namespace hpcb::kmeans {

class KMeansWorkload : public Workload {
 public:
  const char* app() const override { return "kmeans"; }
  const char* title() const override { return "Lloyd's k-means"; }
  void add_options(OptionTable& options) override;
  std::vector<NamedPath> extra_inputs() const override;
  Outcome run(Team& team, const RunContext& ctx) override;

 private:
  Params prm_;  // as parsed; each worker's run copies it
};

}  // namespace hpcb::kmeans
