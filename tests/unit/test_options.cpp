// The option table (app/options.hpp): one declaration gives the CLI11 option,
// the check after parsing and the --describe entry, which must agree.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <algorithm>

#include "app/options.hpp"
#include "common/error.hpp"
#include "kmeans/kmeans_solver.hpp"
#include "nlreg/nlreg_solver.hpp"

namespace hpcb {
namespace {

struct Parsed {
  CLI::App cli{"test"};
  OptionTable opts{cli};
  kmeans::Params km;
  nlreg::Params nl;
  Parsed() {
    opts.integer({"--k", "clusters", Role::param, true}, km.k, 1);
    opts.choice_or_path<kmeans::Init>({"--init", "init", Role::param, true}, km.init, km.init_path, kmeans::kInitNames,
                                      kmeans::Init::file);
    opts.choice<kmeans::MStep>({"--mstep", "m-step", Role::param, true}, km.mstep, kmeans::kMStepNames);
    opts.real_or_word({"--lr", "rate", Role::param, true}, nl.lr.value, nl.lr.automatic, 0.0, true, "auto");
    opts.optional_real({"--target-mse", "target", Role::param, true}, nl.target_mse, 0.0);
  }
  void parse(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    cli.parse(args);
    opts.check();
  }
};

TEST(Options, TypedValuesAfterParsing) {
  Parsed p;
  p.parse({"--k", "7", "--init", "kmeans++", "--mstep", "owner", "--lr", "auto", "--target-mse", "0.5"});
  EXPECT_EQ(p.km.k, 7);
  EXPECT_EQ(p.km.init, kmeans::Init::kmeanspp);
  EXPECT_EQ(p.km.mstep, kmeans::MStep::owner);
  EXPECT_TRUE(p.nl.lr.automatic);
  ASSERT_TRUE(p.nl.target_mse.has_value());
  EXPECT_EQ(*p.nl.target_mse, 0.5);
}

TEST(Options, DefaultsKeptAndPathsRecognised) {
  Parsed p;
  p.parse({"--init", "c.h5", "--lr", "0.25"});
  EXPECT_EQ(p.km.k, 10);
  EXPECT_EQ(p.km.mstep, kmeans::MStep::reduce);
  EXPECT_EQ(p.km.init, kmeans::Init::file);
  EXPECT_EQ(p.km.init_path, "c.h5");
  EXPECT_FALSE(p.nl.lr.automatic);
  EXPECT_EQ(p.nl.lr.value, 0.25);
  EXPECT_FALSE(p.nl.target_mse.has_value());
}

TEST(Options, RulesOfTheSchemaAreEnforced) {
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--k", "0"}, {"--mstep", "sideways"}, {"--init", ""}, {"--lr", "0"}, {"--lr", "nan"}, {"--lr", "1x"},
           {"--target-mse", "-1"}}) {
    Parsed p;
    EXPECT_THROW(p.parse(bad), UsageError) << bad[0] << " " << bad[1];
  }
}

TEST(Options, DescribeSaysWhatWasDeclared) {
  Parsed p;
  const nlohmann::ordered_json d = p.opts.describe();
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0]["flag"], "--k");
  EXPECT_EQ(d[0]["type"], "int");
  EXPECT_EQ(d[0]["default"], 10);
  EXPECT_EQ(d[0]["min"], 1);
  EXPECT_EQ(d[1]["words"], nlohmann::ordered_json({"random", "kmeans++"}));
  EXPECT_EQ(d[1]["path_allowed"], true);
  EXPECT_EQ(d[2]["choices"], nlohmann::ordered_json({"reduce", "owner"}));
  EXPECT_EQ(d[2]["default"], "reduce");
  EXPECT_EQ(d[3]["default"], 1e-4);
  EXPECT_EQ(d[3]["min_exclusive"], true);
  EXPECT_EQ(d[4]["key"], "target_mse");
  EXPECT_TRUE(d[4]["default"].is_null());
}

}  // namespace
}  // namespace hpcb
