// Nothing regresses across the operator-graph redesign: prediction over the graph gives the
// totals, MACs and parameters that the module-tree implementation gave (commit 89dcbdb, recorded
// by tools/legacy_predictions.py in tests/data/legacy_predictions.json) for every tree-format zoo
// network, both shipped CPU profiles, both modes and batches 1, 8 and 64, within 0.1 %.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "joulecast/frontends/load_graph.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

namespace joulecast {
namespace {

double RelativeError(double a, double b) {
  return std::fabs(a - b) / std::max(std::fabs(b), 1e-300);
}

TEST(LegacyParity, GraphPredictionsEqualTheTreeImplementations) {
  std::ifstream in(std::string(JOULECAST_TEST_DATA) + "/legacy_predictions.json");
  ASSERT_TRUE(in);
  const nlohmann::json ref = nlohmann::json::parse(in);
  std::map<std::string, Profile> profiles;
  double worst = 0;
  std::size_t n = 0;
  for (const auto& r : ref["predictions"]) {
    const std::string model = r["model"], mode = r["mode"], net = r["network"];
    auto it = profiles.find(model + mode);
    if (it == profiles.end()) {
      Profile p = Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/" + model);
      p.SelectMode(mode, model);
      it = profiles.emplace(model + mode, std::move(p)).first;
    }
    GraphOptions options;
    options.batch = r["batch"];
    const NetworkEstimate e = EstimateGraph(it->second, LoadGraph(net, options));
    const std::string where = net + " " + model + " " + mode + " b" + std::to_string(options.batch);
    EXPECT_LT(RelativeError(e.total, r["total"]), 1e-3) << where;
    EXPECT_LT(RelativeError(e.macs, r["macs"]), 1e-9) << where;
    EXPECT_EQ(e.parameters, r["parameters"].get<double>()) << where;
    worst = std::max(worst, RelativeError(e.total, r["total"]));
    ++n;
  }
  EXPECT_EQ(n, 126u);
  std::printf("worst relative difference of %zu totals: %.3g\n", n, worst);
}

}  // namespace
}  // namespace joulecast
