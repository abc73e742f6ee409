#include "joulecast/predict/batch_predictor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/features/layer_features.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/frontends/tree_lowering.h"
#include "joulecast/predict/network_estimate.h"

namespace joulecast {
namespace {

const Profile& Shipped() {
  static const Profile p =
      Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json");
  return p;
}

double Rel(double a, double b) { return std::abs(a - b) / std::abs(b); }

using joulecast_test::ErrorOf;

// Every leaf of the tree, containers' children included.
template <typename F>
void ForEachLeaf(std::vector<LayerSpec>& layers, const F& f) {
  for (LayerSpec& s : layers) {
    ForEachLeaf(s.layers, f);
    ForEachLeaf(s.shortcut, f);
    for (auto& b : s.branches) ForEachLeaf(b, f);
    if (!s.IsContainer()) f(s);
  }
}

// Scales every channel count by `factor` (not the image's 3 channels or a 1000-way classifier),
// keeping depthwise convolutions depthwise. Some results are invalid (e.g. an odd channel count
// before ShuffleNet's split), which tests the errors.
void ScaleChannels(Architecture* arch, double factor) {
  auto scale = [&](nlohmann::json& v) {
    v = std::max<std::int64_t>(1, std::lround(static_cast<double>(v.get<std::int64_t>()) * factor));
  };
  ForEachLeaf(arch->layers, [&](LayerSpec& s) {
    nlohmann::json& p = s.params;
    if (s.type == "Conv2d") {
      const bool depthwise = p["groups"].get<std::int64_t>() > 1 && p["groups"] == p["in_channels"];
      if (p["in_channels"] != 3) scale(p["in_channels"]);
      scale(p["out_channels"]);
      if (depthwise) p["groups"] = p["in_channels"];
    } else if (s.type == "BatchNorm2d") {
      scale(p["num_features"]);
    } else if (s.type == "Linear") {
      scale(p["in_features"]);
      if (p["out_features"] != 1000) scale(p["out_features"]);
    }
  });
}

TEST(BatchPredictor, ZooNetworksMatchEstimateNetwork) {
  {
    BatchPredictor bp(Shipped());
    std::vector<Architecture> zoo;
    for (const std::string& name : ZooTreeNames()) zoo.push_back(LoadZooArchitecture(name));
    ASSERT_GE(zoo.size(), 13u);
    for (std::int64_t batch : {1, 3, 64}) {
      BatchPredictor::Stats stats;
      const std::vector<double> totals = bp.Totals(zoo, batch, 1, &stats);
      // Nodes of equal signature (a ResNet's repeated blocks) are resolved once.
      EXPECT_LT(stats.signatures, stats.operations / 2) << batch;
      for (std::size_t i = 0; i < zoo.size(); ++i) {
        const double ref = EstimateNetwork(Shipped(), zoo[i], batch).total;
        EXPECT_LT(Rel(totals[i], ref), 1e-9) << zoo[i].name << " batch " << batch;
        EXPECT_LT(Rel(bp.Total(zoo[i], batch), ref), 1e-9) << zoo[i].name << " batch " << batch;
      }
      const std::vector<double> two = bp.Totals(zoo, batch, 2);
      for (std::size_t i = 0; i < zoo.size(); ++i) EXPECT_LT(Rel(two[i], totals[i]), 1e-12);
    }
  }
}

TEST(BatchPredictor, RandomVariantsMatchEstimateNetworkOrFailAlike) {
  std::mt19937 rng(7);
  const std::vector<std::string> names = ZooTreeNames();
  const double factors[] = {0.5, 0.75, 1.0, 1.25, 1.5};
  const std::int64_t resolutions[] = {96, 160, 224, 256, 320};
  const std::int64_t batches[] = {1, 2, 5, 16};
  BatchPredictor bp(Shipped());
  std::vector<Architecture> valid;
  std::vector<double> expected;
  std::size_t invalid = 0;
  for (int v = 0; v < 60; ++v) {
    Architecture a = LoadZooArchitecture(names[rng() % names.size()]);
    a.name += "-variant" + std::to_string(v);
    ScaleChannels(&a, factors[rng() % 5]);
    a.input = {3, resolutions[rng() % 5], resolutions[rng() % 5]};
    // ResNets: drop the last block of a stage now and then (the others are identical).
    for (LayerSpec& s : a.layers) {
      if (s.type == "Sequential" && s.name.rfind("layer", 0) == 0 && s.layers.size() > 1 &&
          rng() % 2 == 0) {
        s.layers.pop_back();
      }
    }
    const std::int64_t batch = batches[rng() % 4];
    std::string ref_error;
    double ref = 0;
    try {
      ref = EstimateNetwork(Shipped(), a, batch).total;
    } catch (const std::exception& e) {
      ref_error = e.what();
    }
    if (!ref_error.empty()) {
      ++invalid;
      EXPECT_EQ(ErrorOf([&] { bp.Total(a, batch); }), ref_error) << a.name;
      continue;
    }
    BatchPredictor::Stats stats;
    const double got = bp.Totals({a}, batch, 1, &stats).front();
    EXPECT_LT(Rel(got, ref), 1e-9) << a.name << " batch " << batch;
    if (batch == 1) {
      valid.push_back(a);
      expected.push_back(ref);
    }
  }
  EXPECT_GE(valid.size(), 10u);
  EXPECT_GE(invalid, 1u) << "some variants should be invalid, to compare the errors";
  // All at once: rows shared between variants give the same totals.
  const std::vector<double> together = bp.Totals(valid, 1, 2);
  for (std::size_t i = 0; i < valid.size(); ++i) {
    EXPECT_LT(Rel(together[i], expected[i]), 1e-9) << valid[i].name;
  }
}

// Every leaf type and container, and the shape rules' corners: dilation, groups, asymmetric
// kernels, ceil_mode dropping a last window (MaxPool2d on 5 rows: 3, not 4), split Concat, Linear
// and Softmax on a rank-2 input, Flatten of inner dims.
Architecture Every() {
  return ParseArchitecture(nlohmann::json::parse(R"({
    "name": "every", "input": [4, 11, 17],
    "layers": [
      {"type": "Conv2d", "in_channels": 4, "out_channels": 12, "kernel_size": [3, 2],
       "stride": [2, 1], "padding": [1, 0], "dilation": [2, 1], "groups": 2},
      {"type": "BatchNorm2d", "num_features": 12},
      {"type": "ReLU6"},
      {"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": true},
      {"type": "AvgPool2d", "kernel_size": 3, "stride": 1, "padding": 1, "ceil_mode": true,
       "count_include_pad": false},
      {"type": "ChannelShuffle", "groups": 3},
      {"type": "Concat", "split": true, "branches": [
        [{"type": "Conv2d", "in_channels": 6, "out_channels": 6, "kernel_size": 1}], []]},
      {"type": "Residual", "body": [
        {"type": "Conv2d", "in_channels": 12, "out_channels": 12, "kernel_size": 3, "padding": 1,
         "groups": 12, "bias": false},
        {"type": "Sigmoid"}]},
      {"type": "AdaptiveAvgPool2d", "output_size": [2, 3]},
      {"type": "Flatten", "start_dim": 2},
      {"type": "Linear", "in_features": 6, "out_features": 5},
      {"type": "Tanh"},
      {"type": "Softmax", "dim": -1},
      {"type": "Flatten"},
      {"type": "Dropout", "p": 0.2},
      {"type": "Identity"},
      {"type": "Linear", "in_features": 60, "out_features": 7, "bias": false}]})"),
                           "every.json");
}

TEST(BatchPredictor, EveryLayerTypeAndShapeRule) {
  const Architecture a = Every();
  const std::vector<LayerInstance> ops = InferOperations(a);
  ASSERT_EQ(ops[3].type, "MaxPool2d");
  ASSERT_EQ(ops[3].output_shape, (Shape{12, 3, 9}));
  {
    BatchPredictor bp(Shipped());
    for (std::int64_t batch : {1, 3}) {
      BatchPredictor::Stats stats;
      const double got = bp.Totals({a}, batch, 1, &stats).front();
      EXPECT_EQ(stats.operations, LowerArchitecture(a, batch).nodes().size());
      EXPECT_LT(Rel(got, EstimateNetwork(Shipped(), a, batch).total), 1e-9) << batch;
    }
  }
}

// A predictor of `type` with `recipe`, fitted to smooth made-up targets on the feature rows that
// the recipe gives for the operations of `nets` (so its scaler sees realistic features).
LayerPredictor Synthetic(const std::string& type, const std::string& recipe, int degree,
                         const std::vector<Architecture>& nets) {
  std::vector<Eigen::RowVectorXd> rows;
  for (const Architecture& a : nets) {
    for (const LayerInstance& op : InferOperations(a)) {
      for (std::int64_t b : {1, 8}) {
        try {
          rows.push_back(ComputeFeatures(recipe, op, b));
        } catch (const std::invalid_argument&) {
          // the recipe does not apply to this operation
        }
      }
    }
  }
  Eigen::MatrixXd X(static_cast<Eigen::Index>(rows.size()), rows.front().size());
  Eigen::VectorXd y(X.rows());
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    X.row(i) = rows[static_cast<std::size_t>(i)];
    y[i] = -20 + 0.3 * std::sin(X.row(i).sum());
  }
  LayerPredictor p;
  p.layer_type = type;
  p.recipe = recipe;
  p.model = regress::TrendKernelRidge({degree, 1.0, true, 0.1, 0.1});
  p.model.Fit(X, y);
  return p;
}

// Each recipe, as the predictor of each kind of operation it may meet (including recipes that do
// not apply, where both must fail alike): totals equal EstimateNetwork's, also for recipes the
// shipped profile does not use.
TEST(BatchPredictor, EveryRecipeOnEveryKindOfOperation) {
  std::vector<Architecture> nets = {
      Every(), LoadZooArchitecture("resnet18"), LoadZooArchitecture("squeezenet1_0"),
      LoadZooArchitecture("alexnet"), LoadZooArchitecture("mobilenet_v2")};
  std::size_t compared = 0, failed_alike = 0;
  for (const std::string recipe : {"conv2d_v1", "conv2d_v2", "conv2d_v3", "conv2d_v4", "conv2d_v5",
                                   "pool2d_v1", "linear_v1", "eltwise_v1", "generic_v1"}) {
    try {
      RecipeFeatureNames(recipe);
    } catch (const std::invalid_argument&) {
      continue;  // a recipe this build's feature code does not have (yet)
    }
    for (const std::string type : {"Conv2d", "MaxPool2d", "Linear", "ReLU", "BatchNorm2d", "Add"}) {
      Profile profile = Shipped();
      profile.layers[type] = Synthetic(type, recipe, type == "Linear" ? 2 : 1, nets);
      BatchPredictor bp(profile);
      for (const Architecture& a : nets) {
        std::string ref_error;
        double ref = 0;
        try {
          ref = EstimateNetwork(profile, a, 3).total;
        } catch (const std::exception& e) {
          ref_error = e.what();
        }
        const std::string where = recipe + " for " + type + " on " + a.name;
        if (!ref_error.empty()) {
          EXPECT_EQ(ErrorOf([&] { bp.Total(a, 3); }), ref_error) << where;
          ++failed_alike;
          continue;
        }
        BatchPredictor::Stats stats;
        const double got = bp.Totals({a}, 3, 1, &stats).front();
        EXPECT_LT(Rel(got, ref), 1e-9) << where;
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 60u);
  EXPECT_GE(failed_alike, 10u);
}

TEST(BatchPredictor, ProfilesWithoutSomePredictorsUseTheSameFallbacks) {
  const std::vector<std::string> nets = {"resnet18", "squeezenet1_0", "shufflenet_v2_x1_0",
                                         "alexnet"};
  Profile no_conv = Shipped();
  no_conv.layers.erase("Conv2d");  // compute-bound without a proxy: "none"
  no_conv.layers.erase("MaxPool2d");
  Profile sigmoid_only = Shipped();  // the per-element fallback is Sigmoid's predictor
  sigmoid_only.layers.erase("ReLU");
  Profile none = Shipped();  // no element-wise predictor: fallbacks count 0
  for (const char* t : {"ReLU", "Sigmoid", "Tanh", "Softmax"}) none.layers.erase(t);
  for (const Profile* p : {&no_conv, &sigmoid_only, &none}) {
    BatchPredictor bp(*p);
    for (const std::string& n : nets) {
      const Architecture a = LoadZooArchitecture(n);
      BatchPredictor::Stats stats;
      const double got = bp.Totals({a}, 4, 1, &stats).front();
      EXPECT_LT(Rel(got, EstimateNetwork(*p, a, 4).total), 1e-9) << n;
    }
  }
}

TEST(BatchPredictor, ArgumentsNotInNormalisedFormAreNormalisedAlike) {
  // Built by hand: sizes as bare integers, defaults left out. EstimateNetwork normalises them.
  Architecture a;
  a.name = "hand";
  a.input = {3, 32, 32};
  LayerSpec conv;
  conv.type = "Conv2d";
  conv.name = "conv";
  conv.params = {{"in_channels", 3}, {"out_channels", 16}, {"kernel_size", 3}};
  LayerSpec relu;
  relu.type = "ReLU";
  relu.name = "relu";
  a.layers = {conv, relu};
  BatchPredictor bp(Shipped());
  const double got = bp.Totals({a}, 2, 1).front();
  EXPECT_LT(Rel(got, EstimateNetwork(Shipped(), a, 2).total), 1e-9);
  // Normalised, the same network: the same signatures, the same total.
  const Architecture normalised = ParseArchitecture(ToJson(a), "hand");
  BatchPredictor fresh(Shipped());  // bp kept what its call resolved
  BatchPredictor::Stats stats;
  EXPECT_DOUBLE_EQ(fresh.Totals({a, normalised}, 2, 1, &stats)[1], got);
  EXPECT_EQ(stats.signatures, stats.operations / 2);
}

TEST(BatchPredictor, LaterCallsFindWhatEarlierCallsResolved) {
  const std::vector<Architecture> archs = {LoadZooArchitecture("resnet18"),
                                           LoadZooArchitecture("vgg11")};
  BatchPredictor bp(Shipped());
  BatchPredictor::Stats first, second, one;
  const std::vector<double> a = bp.Totals(archs, 4, 1, &first);
  EXPECT_GT(first.units, 0u);
  EXPECT_GT(first.distinct_rows, 0u);
  // Stats are the call's own: walked again, nothing new to lower, resolve or predict.
  const std::vector<double> b = bp.Totals(archs, 4, 1, &second);
  EXPECT_EQ(second.operations, first.operations);
  EXPECT_EQ(second.units, 0u);
  EXPECT_EQ(second.signatures, 0u);
  EXPECT_EQ(second.distinct_rows, 0u);
  EXPECT_EQ(a, b);
  // Total() and GraphTotals() share them too.
  EXPECT_EQ(bp.Total(archs[1], 4), a[1]);
  const std::vector<graph::Graph> graphs = {LowerArchitecture(archs[0], 4)};
  EXPECT_LT(Rel(bp.GraphTotals(graphs, 1, &one)[0], a[0]), 1e-12);
  EXPECT_EQ(one.signatures, 0u);
  // A failing call drops what it kept; the next call starts afresh and is still right.
  Architecture bad = archs[0];
  bad.layers[0].params["out_channels"] = 32;
  EXPECT_THROW(bp.Totals({bad}, 4, 1), std::runtime_error);
  BatchPredictor::Stats after;
  EXPECT_EQ(bp.Totals(archs, 4, 1, &after), a);
  EXPECT_EQ(after.units, first.units);
}

TEST(BatchPredictor, ErrorsAreEstimateNetworks) {
  BatchPredictor bp(Shipped());
  Architecture bad = LoadZooArchitecture("resnet18");
  bad.name = "broken";
  bad.layers[0].params["out_channels"] = 32;  // bn1 expects 64
  const std::string expected = ErrorOf([&] { EstimateNetwork(Shipped(), bad, 1); });
  EXPECT_EQ(expected, "bn1 (BatchNorm2d): expected 64 input channels, got 32 (input 32x112x112)");
  EXPECT_EQ(ErrorOf([&] { bp.Total(bad, 1); }), expected);
  const Architecture good = LoadZooArchitecture("alexnet");
  EXPECT_EQ(ErrorOf([&] {
              bp.Totals({good, bad}, 1, 1);
            }),
            "architectures[1] (broken): " + expected);
  EXPECT_EQ(ErrorOf([&] {
              bp.Totals({good, good, good, bad}, 1, 2);
            }),
            "architectures[3] (broken): " + expected);
  Architecture small = good;
  small.input = {3, 16, 16};
  EXPECT_EQ(ErrorOf([&] { bp.Total(small, 1); }),
            ErrorOf([&] { EstimateNetwork(Shipped(), small, 1); }));
  EXPECT_EQ(ErrorOf([&] { bp.Total(good, 0); }), "batch size must be >= 1, got 0");
  EXPECT_EQ(ErrorOf([&] { bp.Totals({good}, -2); }), "batch size must be >= 1, got -2");
  EXPECT_EQ(ErrorOf([&] { bp.Totals({good}, 1, -1); }), "threads must be >= 0, got -1");
  EXPECT_TRUE(bp.Totals({}, 1, 2).empty());
  EXPECT_EQ(bp.Totals({good, good}, 1, 0).size(), 2u);
  // Total() keeps what it resolved between calls; a failed call does not spoil later ones.
  const double ref = EstimateNetwork(Shipped(), good, 2).total;
  EXPECT_LT(Rel(bp.Total(good, 2), ref), 1e-9);
  EXPECT_LT(Rel(bp.Total(good, 2), ref), 1e-9);
  Profile unfit = Shipped();
  unfit.layers["Linear"] = unfit.layers.at("Conv2d");  // convolution features of a linear
  BatchPredictor bad_profile(unfit);
  const std::string unfit_error = ErrorOf([&] { EstimateNetwork(unfit, good, 1); });
  ASSERT_NE(unfit_error, "");
  const Architecture squeezenet = LoadZooArchitecture("squeezenet1_0");  // no linear layer
  const double squeezenet_ref = EstimateNetwork(unfit, squeezenet, 1).total;
  EXPECT_LT(Rel(bad_profile.Total(squeezenet, 1), squeezenet_ref), 1e-9);
  EXPECT_EQ(ErrorOf([&] { bad_profile.Total(good, 1); }), unfit_error);
  EXPECT_LT(Rel(bad_profile.Total(squeezenet, 1), squeezenet_ref), 1e-9);
}

}  // namespace
}  // namespace joulecast

namespace joulecast {
namespace {

// Graphs from any reader through the resolver: every zoo network (tree or graph form) at batch 3,
// as EstimateGraph predicts it, with both shipped CPU profiles.
TEST(BatchPredictor, GraphTotalsEqualEstimateGraph) {
  std::vector<graph::Graph> graphs;
  GraphOptions options;
  options.batch = 3;
  for (const std::string& name : ZooNames()) graphs.push_back(LoadGraph(name, options));
  // The same network twice: its rows are shared, its total the same.
  graphs.push_back(LoadGraph("resnet18", options));
  for (const char* file : {"models/xeon-gold-5120.json", "models/intel-xeon-2c-time.json"}) {
    const Profile profile = Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/" + file);
    BatchPredictor bp(profile);
    const std::vector<double> totals = bp.GraphTotals(graphs);
    ASSERT_EQ(totals.size(), graphs.size());
    for (std::size_t i = 0; i < graphs.size(); ++i) {
      const double ref = EstimateGraph(profile, graphs[i]).total;
      EXPECT_LT(std::fabs(totals[i] - ref), 1e-9 * ref) << file << " " << graphs[i].name;
    }
    BatchPredictor::Stats stats;
    const std::vector<double> two = bp.GraphTotals(graphs, 2, &stats);
    for (std::size_t i = 0; i < graphs.size(); ++i) EXPECT_LT(Rel(two[i], totals[i]), 1e-12);
    std::size_t nodes = 0;
    for (const graph::Graph& g : graphs) nodes += g.nodes().size();
    EXPECT_EQ(stats.operations, nodes);
    EXPECT_LT(stats.signatures, nodes / 2);
  }
}

// A predictor whose recipe does not fit the layers it is given: the error is EstimateGraph's for
// the first graph that fails, with its position.
TEST(BatchPredictor, GraphTotalsErrorsAreEstimateGraphs) {
  Profile profile = Shipped();
  profile.layers["Linear"] = profile.layers.at("Conv2d");  // convolution features of a linear
  BatchPredictor bp(profile);
  GraphOptions options;
  std::vector<graph::Graph> graphs = {LoadGraph("squeezenet1_0", options),  // no linear layer
                                      LoadGraph("resnet18", options)};
  graphs[0].name = "fine";
  const std::string expected = ErrorOf([&] { EstimateGraph(profile, graphs[1]); });
  ASSERT_NE(expected, "");
  EXPECT_EQ(ErrorOf([&] { bp.GraphTotals(graphs); }), "graphs[1] (resnet18): " + expected);
  EXPECT_EQ(ErrorOf([&] { bp.GraphTotals(graphs, -1); }), "threads must be >= 0, got -1");
  EXPECT_TRUE(bp.GraphTotals({}, 2).empty());
}

}  // namespace
}  // namespace joulecast
