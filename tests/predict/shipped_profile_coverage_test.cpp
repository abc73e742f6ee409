// Every zoo network is predicted by its own operators' models under the shipped profiles of this
// project's development machine (models/amd-epyc-2c-time.json, and the reserve-heap profile
// models/amd-epyc-2c-reserve-time.json): the share of a network's
// predicted time that comes from fallbacks (a proxy type's predictor, a per-element stand-in, or
// nothing; network_estimate.h) stays under 2 % at batch 1, forward and as a training step. The
// test prints the worst network of each mode, and every operator behind it, so that a profile
// refit that loses an operator type names it (tools/unmodelled_share.py prints the whole table).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

namespace joulecast {
namespace {

constexpr double kLimit = 0.02;

struct Share {
  std::string network;
  double share = 0;
  std::string behind;
};

// Every zoo network's graph at batch 1, read once for the four tests of this file.
const std::vector<std::pair<std::string, graph::Graph>>& ZooGraphs() {
  static const std::vector<std::pair<std::string, graph::Graph>> graphs = [] {
    std::vector<std::pair<std::string, graph::Graph>> out;
    GraphOptions options;
    options.batch = 1;
    for (const std::string& name : ZooNames())
      out.emplace_back(name, LoadGraph(name, options, nullptr));
    return out;
  }();
  return graphs;
}

Share WorstShare(const std::string& file, const std::string& mode) {
  Profile profile = Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/models/" + file);
  profile.SelectMode(mode, "test");
  Share worst;
  for (const auto& [name, g] : ZooGraphs()) {
    const NetworkEstimate e = EstimateGraph(profile, g);
    EXPECT_GT(e.total, 0.0) << name;
    const double share = e.total > 0 ? e.unmodelled_value / e.total : 1.0;
    if (share >= worst.share) {
      worst = {name, share, ""};
      for (const auto& [op, f] : e.unmodelled_by_op)
        worst.behind += " " + op + " " + std::to_string(100 * f.value / e.total) + "%";
    }
    EXPECT_LT(share, kLimit) << name << " (" << file << ", " << mode << ")";
  }
  return worst;
}

class ShippedProfileCoverage : public ::testing::TestWithParam<const char*> {};

TEST_P(ShippedProfileCoverage, ZooNetworksForward) {
  const Share w = WorstShare(GetParam(), "forward");
  std::cout << GetParam() << ": worst forward: " << w.network << " " << 100 * w.share
            << "% from fallbacks:" << w.behind << "\n";
  EXPECT_FALSE(w.network.empty());
}

TEST_P(ShippedProfileCoverage, ZooNetworksTrainStep) {
  const Share w = WorstShare(GetParam(), "train_step");
  std::cout << GetParam() << ": worst train_step: " << w.network << " " << 100 * w.share
            << "% from fallbacks:" << w.behind << "\n";
  EXPECT_FALSE(w.network.empty());
}

INSTANTIATE_TEST_SUITE_P(Profiles, ShippedProfileCoverage,
                         ::testing::Values("amd-epyc-2c-time.json",
                                           "amd-epyc-2c-reserve-time.json"));

}  // namespace
}  // namespace joulecast
