// Profiles with several modes (predict/profile.h): one file holds forward and train_step
// predictors, format_version 1 files still load (as the forward mode), SelectMode swaps the active
// mode and names what is missing; fit groups records by mode and evaluate scores each mode
// against its own predictors, with known values.
#include "joulecast/predict/profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/predict/evaluate.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile_fit.h"

namespace joulecast {
namespace {

// Time of an element-wise layer: `ns_per_element` ns per element of the batch, exactly (a
// constant per element, which the fitted trend reproduces to rounding).
Measurement Eltwise(const std::string& type, const std::string& mode, std::int64_t batch,
                    std::int64_t elements, double ns_per_element) {
  Measurement m;
  m.type = type;
  m.mode = mode;
  m.batch_size = batch;
  m.input_shape = {elements};
  m.duration_s = ns_per_element * 1e-9 * double(batch) * double(elements);
  m.provenance = {{"file", "synthetic"}};
  return m;
}

std::vector<Measurement> TwoModes() {
  std::vector<Measurement> v;
  for (int i = 0; i < 24; ++i) {
    const std::int64_t b = 1 + (i * 7) % 32, n = 100 + (i * 977) % 20000;
    v.push_back(Eltwise("ReLU", "forward", b, n, 0.5));
    v.push_back(Eltwise("ReLU", "train_step", b, n, 2.0));
    v.push_back(Eltwise("Sigmoid", "forward", b, n, 1.5));
  }
  return v;
}

FitOptions TimeOptions() {
  FitOptions o;
  o.target = "time_s";
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.1};
  return o;
}

LayerInstance Flat(const std::string& type, std::int64_t elements) {
  return LayerInstance{"", type, nlohmann::json::object(), Shape{elements}, Shape{elements}};
}

TEST(ProfileModes, FitHoldsEveryModeAndForwardIsActive) {
  Profile p = FitProfile(TwoModes(), TimeOptions());
  EXPECT_EQ(p.target, "time_s");
  EXPECT_EQ(p.mode, "forward");
  EXPECT_EQ(p.Modes(), (std::vector<std::string>{"forward", "train_step"}));
  EXPECT_EQ(p.layers.size(), 2u);  // ReLU, Sigmoid
  EXPECT_EQ(p.data["records"], 72);
  EXPECT_EQ(p.data["modes"]["forward"]["records"], 48);
  EXPECT_EQ(p.data["modes"]["train_step"]["records"], 24);
  EXPECT_EQ(p.data["modes"]["train_step"]["layer_types"], 1);
  // Known values: 0.5 ns per element forward, 2 ns per training step; batch 4 x 1000 elements.
  EXPECT_NEAR(p.Find("ReLU")->Predict(Flat("ReLU", 1000), 4), 2e-6, 2e-6 * 1e-6);
  EXPECT_NEAR(p.Find("Sigmoid")->Predict(Flat("Sigmoid", 1000), 4), 6e-6, 6e-6 * 1e-6);
  p.SelectMode("train_step", "test");
  EXPECT_EQ(p.mode, "train_step");
  EXPECT_EQ(p.layers.size(), 1u);
  EXPECT_EQ(p.Find("Sigmoid"), nullptr);
  EXPECT_NEAR(p.Find("ReLU")->Predict(Flat("ReLU", 1000), 4), 8e-6, 8e-6 * 1e-6);
  EXPECT_EQ(p.Modes(), (std::vector<std::string>{"forward", "train_step"}));
  p.SelectMode("forward", "test");
  EXPECT_NEAR(p.Find("ReLU")->Predict(Flat("ReLU", 1000), 4), 2e-6, 2e-6 * 1e-6);
}

TEST(ProfileModes, SaveLoadRoundTripAsVersion2) {
  const Profile p = FitProfile(TwoModes(), TimeOptions());
  const std::string path = ::testing::TempDir() + "/two_modes.json";
  p.Save(path);
  nlohmann::json j;
  std::ifstream(path) >> j;
  EXPECT_EQ(j["format_version"], 2);
  EXPECT_FALSE(j.contains("layers"));
  EXPECT_TRUE(j["modes"]["forward"]["layers"].contains("Sigmoid"));
  EXPECT_TRUE(j["modes"]["train_step"]["layers"].contains("ReLU"));
  Profile q = Profile::Load(path);
  EXPECT_EQ(q.mode, "forward");
  EXPECT_EQ(q.Modes(), p.Modes());
  q.SelectMode("train_step", "test");
  EXPECT_EQ(q.Find("ReLU")->Predict(Flat("ReLU", 777), 3), FitProfile(TwoModes(), TimeOptions())
                                                               .other_modes.at("train_step")
                                                               .at("ReLU")
                                                               .Predict(Flat("ReLU", 777), 3));
  std::remove(path.c_str());
}

TEST(ProfileModes, TrainStepOnlyProfileIsActiveInThatMode) {
  std::vector<Measurement> v;
  for (const Measurement& m : TwoModes()) {
    if (m.mode == "train_step") v.push_back(m);
  }
  Profile p = FitProfile(v, TimeOptions());
  EXPECT_EQ(p.mode, "train_step");
  EXPECT_EQ(p.Modes(), (std::vector<std::string>{"train_step"}));
  try {
    p.SelectMode("forward", "--mode forward: p.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--mode forward: p.json: no forward predictors in the profile (it has: train_step)");
  }
  const Profile q = Profile::FromJson(p.ToJson(), "p.json");
  EXPECT_EQ(q.mode, "train_step");
}

TEST(ProfileModes, Version1FilesAreTheForwardMode) {
  // The shipped energy profile predates modes.
  Profile p = Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json");
  EXPECT_EQ(p.mode, "forward");
  EXPECT_EQ(p.Modes(), std::vector<std::string>{"forward"});
  EXPECT_NE(p.Find("Conv2d"), nullptr);
  EXPECT_TRUE(p.other_modes.empty());
  // ... and it is written back as version 2 with the same predictions.
  const Profile q = Profile::FromJson(p.ToJson(), "round trip");
  EXPECT_EQ(p.ToJson()["format_version"], 2);
  const Architecture vgg = LoadZooArchitecture("vgg11");
  EXPECT_EQ(EstimateNetwork(p, vgg, 8).total, EstimateNetwork(q, vgg, 8).total);
  try {
    p.SelectMode("train_step", "--mode train_step: xeon.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--mode train_step: xeon.json: no train_step predictors in the profile (it has: "
              "forward)");
  }
}

TEST(ProfileModes, FormatErrorsNameTheField) {
  nlohmann::json good = FitProfile(TwoModes(), TimeOptions()).ToJson();
  auto message = [](const nlohmann::json& j) {
    try {
      Profile::FromJson(j, "p.json");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  nlohmann::json bad = good;
  bad["modes"]["inference"] = bad["modes"]["forward"];
  EXPECT_EQ(message(bad),
            "p.json: modes.inference: unknown mode (expected forward, input_grad or train_step)");
  bad = good;
  bad["modes"] = nlohmann::json::object();
  EXPECT_EQ(message(bad),
            "p.json: profile has no modes (expected \"modes\": {\"forward\": {\"layers\": ...}})");
  bad = good;
  bad["modes"]["train_step"]["layers"] = nlohmann::json::object();
  EXPECT_EQ(message(bad), "p.json: modes.train_step.layers: no layer predictors");
  bad = good;
  bad["modes"]["train_step"]["layers"]["ReLU"]["recipe"] = "nope_v1";
  EXPECT_EQ(message(bad).rfind("p.json: modes.train_step.layers.ReLU: ", 0), 0u) << message(bad);
  bad = good;
  bad["format_version"] = 3;
  EXPECT_EQ(message(bad),
            "p.json: unsupported profile format_version 3 (this build reads 1 and 2)");
}

// A profile predicts runs of one element type: fit takes it from the records (and refuses to mix
// them), the file keeps it (files without it are float32), and asking for another is an error
// naming both, never a float32 answer given for a bfloat16 question.
TEST(ProfileDtype, FromTheRecordsKeptInTheFileAndRequired) {
  Profile p = FitProfile(TwoModes(), TimeOptions());
  EXPECT_EQ(p.dtype, "float32");
  std::vector<Measurement> bf = TwoModes();
  for (Measurement& m : bf) m.dtype = "bfloat16";
  Profile b = FitProfile(bf, TimeOptions());
  b.name = "bf";
  EXPECT_EQ(b.dtype, "bfloat16");
  EXPECT_EQ(Profile::FromJson(b.ToJson(), "b.json").dtype, "bfloat16");
  nlohmann::json old = p.ToJson();
  old.erase("dtype");
  EXPECT_EQ(Profile::FromJson(old, "old.json").dtype, "float32");
  old["dtype"] = "int8";
  try {
    Profile::FromJson(old, "old.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "old.json: dtype must be one of float32, float64, float16, bfloat16, got \"int8\"");
  }
  b.RequireDtype("bfloat16", "x");
  try {
    b.RequireDtype("float32", "--dtype float32: bf.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--dtype float32: bf.json: the profile bf predicts bfloat16 runs, not float32; fit a "
              "float32 profile from records of `collect --dtype float32`");
  }
  std::vector<Measurement> mixed = TwoModes();
  for (int i = 0; i < 5; ++i) mixed[static_cast<std::size_t>(i)].dtype = "bfloat16";
  try {
    FitProfile(mixed, TimeOptions());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "fit: records of more than one dtype (bfloat16 5, float32 67); a profile predicts "
              "one: give each dtype's records to a fit of its own");
  }
  // evaluate scores only the records of the profile's dtype.
  std::vector<Measurement> both = TwoModes();
  both.insert(both.end(), bf.begin(), bf.end());
  const ProfileEvaluation ev = EvaluateProfile(p, both);
  EXPECT_EQ(ev.skipped.at("records of dtype bfloat16 (the profile predicts float32)"), 72u);
}

TEST(ProfileModes, FitErrorNamesTheModeWhenThereAreSeveral) {
  std::vector<Measurement> v = TwoModes();
  v.push_back(Eltwise("Tanh", "train_step", 2, 500, 1.0));  // one record: too few
  try {
    FitProfile(v, TimeOptions());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "mode train_step: fit Tanh: 1 usable records, need at least 10");
  }
}

// Whole-network records of both modes, "measured" at known ratios to the walk's prediction:
// forward 10 % slower than predicted (MAPE 1/11 = 9.0909 %), train_step 20 % faster (25 %).
TEST(EvaluateProfile, EachModeAgainstItsOwnPredictorsWithKnownMape) {
  const Profile p = FitProfile(TwoModes(), TimeOptions());
  Profile train = p;
  train.SelectMode("train_step", "test");
  const Architecture net = LoadZooArchitecture("squeezenet1_0");
  std::vector<Measurement> records;
  for (std::int64_t b : {1, 8}) {
    Measurement m;
    m.type = "squeezenet1_0";
    m.context = {{"architecture", "squeezenet1_0"}};
    m.batch_size = b;
    m.input_shape = net.input;
    m.mode = "forward";
    m.duration_s = 1.1 * EstimateNetwork(p, net, b).total;
    records.push_back(m);
    m.mode = "train_step";
    m.duration_s = 0.8 * EstimateNetwork(train, net, b).total;
    records.push_back(m);
  }
  records.push_back(Eltwise("ReLU", "train_step", 3, 1000, 2.0 * 1.25));  // layer: 20 % off
  records.push_back(Eltwise("Tanh", "train_step", 3, 1000, 1.0));         // no predictor
  const ProfileEvaluation pe = EvaluateProfile(p, records);
  ASSERT_EQ(pe.modes.size(), 2u);
  const Evaluation& fwd = pe.modes.at("forward");
  const Evaluation& ts = pe.modes.at("train_step");
  EXPECT_EQ(fwd.mode, "forward");
  ASSERT_TRUE(fwd.architectures.has_value());
  EXPECT_NEAR(fwd.architectures->metrics.mape, 100.0 / 11.0, 1e-9);
  EXPECT_EQ(fwd.architectures->metrics.n, 2u);
  ASSERT_TRUE(ts.architectures.has_value());
  EXPECT_NEAR(ts.architectures->metrics.mape, 25.0, 1e-9);
  EXPECT_NEAR(ts.architectures->by_architecture_batch.at("squeezenet1_0").at(8).mape, 25.0, 1e-9);
  EXPECT_EQ(ts.architectures->by_architecture_batch.at("squeezenet1_0").at(1).n, 1u);
  EXPECT_NEAR(ts.layers.at("ReLU").metrics.mape, 20.0, 1e-6);
  EXPECT_EQ(pe.skipped.at("no predictor for Tanh"), 1u);
  const nlohmann::json j = pe.ToJson();
  EXPECT_NEAR(j["modes"]["train_step"]["architectures"]["by_architecture"]["squeezenet1_0"]
               ["by_batch"]["1"]["mape"]
                   .get<double>(),
              25.0, 1e-9);
  // The forward mode also sits at the top level, as before modes.
  EXPECT_EQ(j["architectures"], j["modes"]["forward"]["architectures"]);
  EXPECT_FALSE(j["modes"]["forward"].contains("skipped"));

  // A forward-only profile skips the train_step records and says why.
  std::vector<Measurement> fwd_only;
  for (const Measurement& m : TwoModes()) {
    if (m.mode == "forward") fwd_only.push_back(m);
  }
  const ProfileEvaluation pf = EvaluateProfile(FitProfile(fwd_only, TimeOptions()), records);
  EXPECT_EQ(pf.modes.size(), 1u);
  EXPECT_EQ(pf.skipped.at("records of mode train_step (the profile has no train_step predictors)"),
            4u);
  // EvaluateLayers sticks to the active mode.
  const Evaluation one = EvaluateLayers(p, records);
  EXPECT_EQ(one.skipped.at("records of mode train_step (evaluated: forward)"), 4u);
}

}  // namespace
}  // namespace joulecast
