// The whole torchvision 0.14 classification zoo against PyTorch's own numbers
// (tests/data/zoo_reference.json, tools/zoo_reference.py: parameter counts, and the matrix MACs
// counted at PyTorch's dispatcher at batch 1 and 2):
//
//   - every zoo network (data/architectures/<name>.json: the 14 module-tree files and the graph
//     JSON files of tools/make_zoo_graphs.py) has exactly PyTorch's parameter count and matrix
//     MACs at batch 1, and at batch 2 once its graph is re-targeted (LoadGraph's batch option);
//   - its traced fixture (tests/data/zoo_pt/<name>.pt, tiny: zero-stride parameters), lowered op
//     by op by the TorchScript plugin, has the same counts and predicts the same total as the zoo
//     file with an energy profile (models/xeon-gold-5120.json) and a time profile
//     (models/amd-epyc-2c-time.json), within 0.1%. Needs the plugin (built when CMake finds
//     libtorch, next to the joulecast binary); skipped without it. Every network has a fixture
//     (kNoFixture lists those whose fixture was dropped for size: none).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kData = JOULECAST_TEST_DATA;
const std::string kSource = fs::path(kData).parent_path().parent_path().string();

// Networks whose .pt fixture tools/make_zoo_graphs.py does not keep (its NO_FIXTURE).
const std::set<std::string> kNoFixture = {};

struct Reference {
  std::string name;
  Shape input;  // per sample
  double parameters = 0;
  double matrix_macs_b1 = 0;
  double matrix_macs_b2 = 0;
};

const std::vector<Reference>& References() {
  static const std::vector<Reference> refs = [] {
    std::ifstream in(kData + "/zoo_reference.json");
    if (!in) throw std::runtime_error("missing tests/data/zoo_reference.json");
    const json j = json::parse(in);
    std::vector<Reference> out;
    for (const auto& [name, e] : j.at("networks").items()) {
      if (e.contains("error")) continue;
      Reference r;
      r.name = name;
      r.input = e.at("input").get<Shape>();
      r.parameters = e.at("parameters").get<double>();
      r.matrix_macs_b1 = e.at("matrix_macs_b1").get<double>();
      r.matrix_macs_b2 = e.at("matrix_macs_b2").get<double>();
      out.push_back(std::move(r));
    }
    return out;
  }();
  return refs;
}

double MatrixMacs(const graph::Graph& g) {
  return graph::TotalCounts(g, graph::CountNodes(g)).matrix_macs;
}

double Rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

TEST(ZooGraphTest, TheReferenceCoversTheWholeZoo) {
  ASSERT_EQ(References().size(), 80u) << "torchvision 0.14 has 80 classification networks";
  const std::vector<std::string> zoo = ZooNames();
  for (const Reference& r : References()) {
    EXPECT_NE(std::find(zoo.begin(), zoo.end(), r.name), zoo.end())
        << r.name << ": no data/architectures/" << r.name << ".json (tools/make_zoo_graphs.py)";
  }
}

TEST(ZooGraphTest, ZooFilesHavePyTorchsParametersAndMatrixMacsAtBatchOneAndTwo) {
  const auto start = std::chrono::steady_clock::now();
  for (const Reference& r : References()) {
    SCOPED_TRACE(r.name);
    const graph::Graph one = LoadGraph(r.name, {1, {}});
    EXPECT_EQ(one.ParameterCount(), r.parameters);
    EXPECT_EQ(MatrixMacs(one), r.matrix_macs_b1);
    const graph::Graph two = LoadGraph(r.name, {2, {}});
    EXPECT_EQ(two.ParameterCount(), r.parameters);
    EXPECT_EQ(MatrixMacs(two), r.matrix_macs_b2);
  }
  std::printf("%zu zoo networks at batch 1 and 2 in %.1f s\n", References().size(), Seconds(start));
}

// True when the TorchScript plugin sits next to the joulecast binary (where the build puts it).
bool HavePlugin() {
  return fs::exists(fs::path(JOULECAST_BINARY).parent_path() / TorchScriptPluginFileName());
}

TEST(ZooGraphTest, TracedFixturesPredictWhatTheZooFilesDo) {
  if (!HavePlugin()) {
    GTEST_SKIP() << "no TorchScript plugin next to " << JOULECAST_BINARY
                 << " (built when CMake finds libtorch)";
  }
  setenv("JOULECAST_PLUGIN_DIR", fs::path(JOULECAST_BINARY).parent_path().c_str(), 1);
  const std::vector<std::pair<std::string, Profile>> profiles = {
      {"xeon-gold-5120 (J)", Profile::Load(kSource + "/models/xeon-gold-5120.json")},
      {"amd-epyc-2c-time (s)", Profile::Load(kSource + "/models/amd-epyc-2c-time.json")}};
  std::vector<double> worst(profiles.size(), 0);
  std::vector<std::string> worst_net(profiles.size());
  std::size_t fixtures = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const Reference& r : References()) {
    SCOPED_TRACE(r.name);
    const std::string pt = kData + "/zoo_pt/" + r.name + ".pt";
    if (kNoFixture.count(r.name)) {
      EXPECT_FALSE(fs::exists(pt)) << "listed in kNoFixture but present";
      continue;
    }
    ASSERT_TRUE(fs::exists(pt)) << pt << " is missing (tools/make_zoo_graphs.py)";
    ++fixtures;
    const graph::Graph traced = LoadGraph(pt, {1, r.input});
    const graph::Graph zoo = LoadGraph(r.name, {1, {}});
    EXPECT_EQ(traced.ParameterCount(), r.parameters);
    EXPECT_EQ(MatrixMacs(traced), r.matrix_macs_b1);
    for (std::size_t p = 0; p < profiles.size(); ++p) {
      const double want = EstimateGraph(profiles[p].second, zoo).total;
      const double got = EstimateGraph(profiles[p].second, traced).total;
      ASSERT_GT(want, 0) << profiles[p].first;
      const double rel = Rel(got, want);
      EXPECT_LT(rel, 1e-3) << profiles[p].first << ": fixture " << got << ", zoo file " << want;
      if (rel >= worst[p]) {
        worst[p] = rel;
        worst_net[p] = r.name;
      }
    }
  }
  EXPECT_EQ(fixtures + kNoFixture.size(), References().size());
  std::printf("%zu fixtures lowered and predicted in %.1f s\n", fixtures, Seconds(start));
  for (std::size_t p = 0; p < profiles.size(); ++p) {
    std::printf("worst relative difference, %s: %.3g (%s)\n", profiles[p].first.c_str(), worst[p],
                worst_net[p].c_str());
  }
}

}  // namespace
}  // namespace joulecast
