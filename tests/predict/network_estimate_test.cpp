#include "joulecast/predict/network_estimate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "joulecast/arch/zoo.h"
#include "joulecast/predict/profile_fit.h"

namespace joulecast {
namespace {

// A profile with exact, known predictors: Linear and ReLU records whose energy is 1 nJ per MAC
// (Linear) and 1 nJ per element (ReLU), so that sums can be checked by hand.
Profile KnownProfile() {
  std::vector<Measurement> recs;
  for (int i = 0; i < 40; ++i) {
    Measurement l;
    l.type = "Linear";
    std::int64_t in = 16 + (i * 37) % 500, out = 8 + (i * 53) % 400, b = 1 + (i * 7) % 64;
    l.params = {{"in_features", in}, {"out_features", out}, {"bias", true}};
    l.input_shape = {in};
    l.batch_size = b;
    l.energy_j = 1e-9 * double(b) * double(in * out + out);
    recs.push_back(l);
    Measurement r;
    r.type = "ReLU";
    std::int64_t n = 100 + (i * 997) % 50000;
    r.params = {{"inplace", false}};
    r.input_shape = {n};
    r.batch_size = b;
    r.energy_j = 1e-9 * double(b) * double(n);
    recs.push_back(r);
  }
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  return FitProfile(recs, o);
}

Architecture Mlp() {
  return ParseArchitecture(nlohmann::json::parse(R"({
    "name": "mlp", "input": [100],
    "layers": [{"type": "Linear", "in_features": 100, "out_features": 50},
               {"type": "ReLU"}, {"type": "Dropout"},
               {"type": "Linear", "in_features": 50, "out_features": 10},
               {"type": "Sigmoid"}]})"),
                           "mlp.json");
}

TEST(EstimateNetwork, SumsLayersAndFlagsFallbacks) {
  Profile p = KnownProfile();
  NetworkEstimate e = EstimateNetwork(p, Mlp(), 8);
  ASSERT_EQ(e.layers.size(), 5u);
  // By hand, batch 8: Linear1 8·(100·50+50) = 40400 MACs; ReLU 8·50 = 400; Dropout 400 elements;
  // Linear2 8·(50·10+10) = 4080; Sigmoid 8·10 = 80.
  EXPECT_DOUBLE_EQ(e.layers[0].counts.macs, 40400);
  EXPECT_DOUBLE_EQ(e.layers[3].counts.macs, 4080);
  EXPECT_EQ(e.layers[0].method, "model");
  EXPECT_EQ(e.layers[2].method, "zero");
  EXPECT_EQ(e.layers[2].value, 0.0);
  EXPECT_EQ(e.layers[4].method, "per-element:ReLU");
  EXPECT_EQ(e.unmodelled_layers, 2u);
  // Sigmoid falls back to the ReLU predictor on its 10 elements per sample: ~8·10 nJ.
  EXPECT_NEAR(e.layers[4].value, 80e-9, 80e-9 * 0.05);
  // Total ≈ (40400 + 400 + 4080 + 80) nJ = 44.96 µJ (the fits are within a few percent).
  EXPECT_NEAR(e.total, 44960e-9, 44960e-9 * 0.05);
  double sum = 0;
  for (const auto& l : e.layers) sum += l.value;
  EXPECT_DOUBLE_EQ(e.total, sum);
  nlohmann::json j = e.ToJson(true);
  EXPECT_DOUBLE_EQ(j["total_j"].get<double>(), e.total);
  EXPECT_DOUBLE_EQ(j["per_sample_j"].get<double>(), e.total / 8);
  EXPECT_EQ(j["by_type"]["Linear"]["count"], 2);
  EXPECT_EQ(j["layers"].size(), 5u);
  EXPECT_EQ(j["unmodelled"]["layers"], 2);
}

TEST(EstimateNetwork, ScalesWithBatchAndRejectsBadInput) {
  Profile p = KnownProfile();
  NetworkEstimate e1 = EstimateNetwork(p, Mlp(), 4), e2 = EstimateNetwork(p, Mlp(), 32);
  EXPECT_GT(e2.total, 4 * e1.total);
  EXPECT_THROW(EstimateNetwork(p, Mlp(), 0), std::runtime_error);
  // A Linear whose in_features does not match the input: shape inference names the layer.
  try {
    EstimateNetwork(p, Mlp(), 1, Shape{99});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in_features is 100 but the input has 99 features"),
              std::string::npos)
        << e.what();
  }
}

TEST(EstimateNetwork, ZooNetworkWithShippedProfile) {
  Profile p = Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json");
  NetworkEstimate e = EstimateNetwork(p, LoadZooArchitecture("vgg16"), 16);
  EXPECT_EQ(e.layers.size(), 40u);  // 39 modules and the functional flatten
  // VGG16's MACs at batch 16 (ptflops convention, bias included) as recorded in getzner2023's
  // layerwise files for batch 194 scale linearly: 3007683520976 / 194 · 16.
  EXPECT_NEAR(e.macs, 3007683520976.0 / 194 * 16, 3007683520976.0 / 194 * 16 * 0.01);
  EXPECT_GT(e.by_type.at("Conv2d").value, 0.8 * e.total);
  EXPECT_EQ(e.unmodelled_layers, 4u);  // AdaptiveAvgPool2d, flatten and two Dropouts
}

TEST(EstimateNetwork, ResidualNetworkCountsRepeatsAddsAndFallbacks) {
  Profile p = Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json");
  NetworkEstimate e = EstimateNetwork(p, LoadZooArchitecture("resnet18"), 4);
  // 52 modules, 8 repeated relu calls, 8 residual adds, the functional flatten.
  EXPECT_EQ(e.layers.size(), 69u);
  EXPECT_EQ(e.by_type.at("Add").count, 8u);
  EXPECT_EQ(e.by_type.at("ReLU").count, 17u);  // 9 modules, 8 of them called twice
  // Parameters once per module (torchvision: 11,689,512), although relu modules run twice.
  EXPECT_EQ(e.parameters, 11689512.0);
  double fallback = 0, total = 0;
  std::size_t fallbacks = 0;
  for (const LayerEstimate& le : e.layers) {
    total += le.value;
    if (!le.modelled()) {
      fallback += le.value;
      ++fallbacks;
      EXPECT_TRUE(le.method == "zero" || le.method == "per-element:ReLU") << le.layer.name;
    }
  }
  EXPECT_EQ(e.unmodelled_layers, fallbacks);
  EXPECT_NEAR(e.unmodelled_value, fallback, 1e-12 * total);
  EXPECT_GT(e.unmodelled_value, 0);  // BatchNorm2d and Add are costed per element, not zero
  EXPECT_NEAR(e.ToJson(false)["unmodelled"]["share"].get<double>(), fallback / e.total, 1e-12);
}

}  // namespace
}  // namespace joulecast
