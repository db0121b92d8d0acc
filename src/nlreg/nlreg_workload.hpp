// The regression as a workload (app/workload.hpp): its options, its run, its
// record and summary. nlreg_main.cpp runs it on one of the four backends.
#pragma once

#include "app/workload.hpp"
#include "nlreg/nlreg_solver.hpp"

namespace hpcb::nlreg {

class RegressionWorkload : public Workload {
 public:
  const char* app() const override { return "nlreg"; }
  const char* title() const override { return "quadratic regression by gradient descent"; }
  void add_options(OptionTable& options) override;
  Outcome run(Team& team, const RunContext& ctx) override;

 private:
  Params prm_;  // as parsed; each worker's run copies it
};

}  // namespace hpcb::nlreg
