#include "joulecast/predict/profile_fit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "joulecast/predict/evaluate.h"

namespace joulecast {
namespace {

// Synthetic Linear layers whose energy is 2 nJ per MAC times b^-0.2 (bigger batches are more
// efficient): a power law, i.e. linear in the log features, which the trend recovers almost
// exactly.
Measurement SyntheticLinear(std::int64_t b, std::int64_t in, std::int64_t out) {
  Measurement m;
  m.type = "Linear";
  m.params = {{"in_features", in}, {"out_features", out}, {"bias", true}};
  m.batch_size = b;
  m.input_shape = {in};
  double macs = double(b) * (double(in) * double(out) + double(out));
  m.energy_j = 2e-9 * macs * std::pow(double(b), -0.2);
  m.duration_s = *m.energy_j / 75.0;
  m.provenance = {{"file", "synthetic"}};
  return m;
}

std::vector<Measurement> SyntheticSet() {
  std::vector<Measurement> v;
  for (int i = 0; i < 60; ++i)
    v.push_back(SyntheticLinear(1 + (i * 37) % 250, 64 + (i * 211) % 4000, 32 + (i * 97) % 3000));
  return v;
}

TEST(ProfileFit, RecoversSmoothLawAndPredictsUnseenLayer) {
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  Profile p = FitProfile(SyntheticSet(), o);
  ASSERT_EQ(p.layers.size(), 1u);
  const LayerPredictor& lp = p.layers.at("Linear");
  EXPECT_EQ(lp.training["n"].get<int>(), 60);
  EXPECT_LT(lp.cv["metrics"]["mape"].get<double>(), 2.0);
  // Unseen configuration: b=100, 1000->500.
  // Truth = 2e-9 J · 100·(1000·500 + 500) MACs · 100^-0.2 = 0.1001 · 0.3981072 = 0.03985053 J.
  Measurement u = SyntheticLinear(100, 1000, 500);
  LayerInstance l{"", "Linear", u.params, u.input_shape, {}};
  EXPECT_NEAR(lp.Predict(l, 100), 0.03985053, 0.03985053 * 0.02);
}

// A training step that takes 3.2 times the forward pass at every configuration, with only six
// training records: the forward predictor (60 records) plus a ratio transfer is exact (CV MAPE 0)
// where a fit on six records is not, and predicts an unseen training step from the forward law.
TEST(ProfileFit, TrainStepFromTheForwardPredictorWhenItScoresBetter) {
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  o.target = "time_s";
  std::vector<Measurement> v = SyntheticSet();
  for (int i = 0; i < 6; ++i) {
    Measurement m = SyntheticLinear(1 + (i * 53) % 200, 100 + (i * 331) % 3000, 50 + i * 170);
    m.mode = "train_step";
    m.duration_s = 3.2 * m.duration_s;
    v.push_back(m);
  }
  o.min_records = 6;
  Profile p = FitProfile(v, o);
  p.SelectMode("train_step", "test");
  const LayerPredictor& lp = p.layers.at("Linear");
  EXPECT_EQ(lp.cv["from"], "forward");
  ASSERT_TRUE(lp.transfer.has_value());
  EXPECT_LT(lp.cv["metrics"]["mape"].get<double>(), lp.cv["direct"]["mape"].get<double>());
  // Truth = 3.2 · 0.03985053 J / 75 W (SyntheticLinear's unseen b=100, 1000->500).
  Measurement u = SyntheticLinear(100, 1000, 500);
  LayerInstance l{"", "Linear", u.params, u.input_shape, {}};
  const double truth = 3.2 * 0.03985053 / 75.0;
  EXPECT_NEAR(lp.Predict(l, 100), truth, truth * 0.02);
  // Round trip: the transfer is saved with the predictor.
  const Profile q = Profile::FromJson(p.ToJson(), "test");
  Profile r = q;
  r.SelectMode("train_step", "test");
  EXPECT_DOUBLE_EQ(r.layers.at("Linear").Predict(l, 100), lp.Predict(l, 100));
  // Without the option the training step is fitted on its own records.
  o.from_forward = false;
  Profile d = FitProfile(v, o);
  d.SelectMode("train_step", "test");
  EXPECT_FALSE(d.layers.at("Linear").transfer.has_value());
}

TEST(ProfileFit, BaselineIsTotalEnergyOverTotalMacs) {
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  std::vector<Measurement> v = {SyntheticLinear(1, 100, 10), SyntheticLinear(32, 100, 10)};
  for (int i = 0; i < 10; ++i) v.push_back(SyntheticLinear(1 + i, 100 + i, 10));
  Profile p = FitProfile(v, o);
  double energy = 0, macs = 0;
  for (const Measurement& m : v) {
    energy += *m.energy_j;
    macs += double(m.batch_size) * (double(m.input_shape[0]) * 10 + 10);
  }
  const LayerPredictor& lp = p.layers.at("Linear");
  EXPECT_NEAR(lp.baseline_per_unit, energy / macs, 1e-12 * energy / macs);
  LayerInstance l{"", "Linear", {{"in_features", 1000}, {"out_features", 500}}, {1000}, {}};
  EXPECT_NEAR(lp.PredictBaseline(l, 4), energy / macs * 4 * (1000.0 * 500 + 500), 1e-6);
  // JSON round trip keeps it; a profile without one loads with none and refuses to use it.
  LayerPredictor back = LayerPredictor::FromJson(lp.ToJson(), "p");
  EXPECT_EQ(back.baseline_per_unit, lp.baseline_per_unit);
  nlohmann::json old = lp.ToJson();
  old.erase("baseline");
  LayerPredictor none = LayerPredictor::FromJson(old, "p");
  EXPECT_EQ(none.baseline_per_unit, 0);
  EXPECT_THROW(none.PredictBaseline(l, 4), std::logic_error);
  nlohmann::json bad = lp.ToJson();
  bad["baseline"]["per_unit"] = -1;
  try {
    LayerPredictor::FromJson(bad, "prof.json: layers.Linear");
    FAIL() << "negative baseline accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "prof.json: layers.Linear: baseline.per_unit must be a positive number, got -1");
  }
}

TEST(ProfileFit, GridHasEveryCandidateAndBestIsLowest) {
  FitOptions o;
  o.degrees = {1, 2};
  o.gammas = {0.03, 0.3};
  o.kernel_alphas = {0.01, 1.0};
  Profile p = FitProfile(SyntheticSet(), o);
  const auto& cv = p.layers.at("Linear").cv;
  ASSERT_EQ(cv["grid"].size(), 2u * (1 + 2 * 2));
  double best = 1e300;
  for (const auto& g : cv["grid"]) {
    // The score is the mean of the k-fold and the extrapolation MAPE.
    EXPECT_DOUBLE_EQ(g["score"].get<double>(),
                     0.5 * (g["kfold_mape"].get<double>() + g["extrapolation_mape"].get<double>()));
    best = std::min(best, g["score"].get<double>());
  }
  for (const auto& g : cv["grid"]) {
    if (g["score"].get<double>() == best) EXPECT_EQ(g["params"], cv["best"]);
  }
  EXPECT_EQ(cv["selection"], "lowest mean of k-fold MAPE and extrapolation MAPE");
  o.selection = "kfold";
  Profile q = FitProfile(SyntheticSet(), o);
  for (const auto& g : q.layers.at("Linear").cv["grid"]) {
    EXPECT_EQ(g["score"], g["kfold_mape"]);
  }
  o.selection = "best-guess";
  try {
    FitProfile(SyntheticSet(), o);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "fit: selection must be 'kfold+extrapolation' or 'kfold', got 'best-guess'");
  }
}

// Synthetic Conv2d times: 1 ns per MAC, ten times that on ATen's single-thread 1x1 path
// (1x1, stride 1, batch < 16), the regime switch conv2d_v3's thnn_1x1 flag describes and
// conv2d_v2's features cannot separate from 1x1 convolutions at batch >= 16.
Measurement SyntheticConv(std::int64_t b, std::int64_t c, std::int64_t k, std::int64_t s,
                          std::int64_t side) {
  Measurement m;
  m.type = "Conv2d";
  m.params = {{"in_channels", c},     {"out_channels", 2 * c}, {"kernel_size", {k, k}},
              {"stride", {s, s}},     {"padding", {k / 2, k / 2}}, {"dilation", {1, 1}},
              {"groups", 1},          {"bias", false}};
  m.batch_size = b;
  m.input_shape = {c, side, side};
  const std::int64_t out = (side + 2 * (k / 2) - k) / s + 1;
  const double macs = double(b) * double(2 * c) * double(out * out) * double(c * k * k);
  const bool thnn = k == 1 && s == 1 && b < 16;
  m.duration_s = 1e-9 * macs * (thnn ? 10.0 : 1.0);
  m.energy_j = m.duration_s * 50.0;
  m.provenance = {{"file", "synthetic"}};
  return m;
}

TEST(ProfileFit, ChoosesTheConvRecipeWithTheBetterScore) {
  std::vector<Measurement> v;
  for (int i = 0; i < 80; ++i) {
    const std::int64_t b = std::vector<std::int64_t>{1, 2, 4, 8, 16, 32, 64}[i % 7];
    const std::int64_t k = i % 3 == 0 ? 3 : 1;
    const std::int64_t s = i % 5 == 0 ? 2 : 1;
    v.push_back(SyntheticConv(b, 8 + (i * 13) % 120, k, s, 7 + (i * 5) % 50));
  }
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  Profile p = FitProfile(v, o);
  const LayerPredictor& lp = p.layers.at("Conv2d");
  const auto& tried = lp.cv["recipes"];
  ASSERT_EQ(tried.size(), 5u);
  EXPECT_EQ(tried[0]["recipe"], "conv2d_v2");
  EXPECT_EQ(tried[1]["recipe"], "conv2d_v3");
  EXPECT_EQ(tried[2]["recipe"], "conv2d_v4");
  EXPECT_EQ(tried[3]["recipe"], "conv2d_v5");
  EXPECT_EQ(tried[4]["recipe"], "conv2d_v6");
  // v3 to v6 hold the flag; v2 cannot see the regime switch.
  EXPECT_NE(lp.recipe, "conv2d_v2");
  EXPECT_LT(tried[1]["score"].get<double>(), tried[0]["score"].get<double>());
  double best = tried[0]["score"].get<double>();
  for (const auto& t : tried) best = std::min(best, t["score"].get<double>());
  EXPECT_DOUBLE_EQ(lp.cv["score"].get<double>(), best);
  // The flag makes the law exact up to the ridge penalty: small error on held-out folds.
  EXPECT_LT(lp.cv["metrics"]["mape"].get<double>(), 5.0);
  // Other types have one recipe and no choice to record beyond it.
  Profile q = FitProfile(SyntheticSet(), o);
  EXPECT_EQ(q.layers.at("Linear").cv["recipes"].size(), 1u);
}

TEST(ProfileFit, SkipsWholeNetworksAndNonPositiveTargets) {
  auto v = SyntheticSet();
  Measurement whole;
  whole.type = "vgg16";
  whole.context = {{"architecture", "vgg16"}};
  whole.energy_j = 100;
  whole.input_shape = {3, 224, 224};
  v.push_back(whole);
  Measurement zero = SyntheticLinear(4, 10, 10);
  zero.energy_j = 0.0;
  v.push_back(zero);
  FitReport r;
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.1};
  Profile p = FitProfile(v, o, &r);
  EXPECT_EQ(r.skipped.at("whole-network records (evaluate uses them)"), 1u);
  EXPECT_EQ(r.skipped.at("records with a target <= 0"), 1u);
}

TEST(ProfileFit, MaxOtherCpusSkipsDisturbedRecords) {
  auto v = SyntheticSet();
  v[0].context["protocol"] = {{"other_cpus_busy", 1.0}};
  v[1].context["protocol"] = {{"other_cpus_busy", 0.1}};
  v[2].context["protocol"] = {{"other_cpus_busy", 0.3}};
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.1};
  FitReport kept;
  FitProfile(v, o, &kept);  // default: every record is fitted
  EXPECT_TRUE(kept.skipped.empty());
  o.max_other_cpus = 0.25;
  FitReport r;
  const Profile p = FitProfile(v, o, &r);
  EXPECT_EQ(r.skipped.at("records measured while other processes kept more than 0.25 CPUs busy"),
            2u);
  EXPECT_EQ(p.layers.at("Linear").training["n"], v.size() - 2);
}

TEST(ProfileFit, Errors) {
  auto v = SyntheticSet();
  v.resize(5);
  try {
    FitProfile(v, FitOptions{});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "fit Linear: 5 usable records, need at least 10");
  }
  FitOptions o;
  o.only_types = {"Conv2d"};
  try {
    FitProfile(SyntheticSet(), o);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "fit: no records of layer type 'Conv2d'");
  }
  std::vector<Measurement> none = SyntheticSet();
  for (auto& m : none) m.energy_j.reset();
  EXPECT_THROW(FitProfile(none, FitOptions{}), std::runtime_error);
}

TEST(Profile, SaveLoadRoundTripPredictsIdentically) {
  FitOptions o;
  o.degrees = {2};
  o.gammas = {0.3};
  o.kernel_alphas = {0.1};
  Profile p = FitProfile(SyntheticSet(), o);
  p.name = "synthetic";
  std::string path = ::testing::TempDir() + "/profile_roundtrip.json";
  p.Save(path);
  Profile q = Profile::Load(path);
  EXPECT_EQ(q.name, "synthetic");
  Measurement u = SyntheticLinear(7, 300, 200);
  LayerInstance l{"", "Linear", u.params, u.input_shape, {}};
  EXPECT_EQ(p.layers.at("Linear").Predict(l, 7), q.layers.at("Linear").Predict(l, 7));
  std::remove(path.c_str());
}

TEST(Profile, LoadErrorsNameThePath) {
  std::string path = ::testing::TempDir() + "/bad_profile.json";
  { std::ofstream(path) << "{\"kind\": \"joulecast_profile\", \"format_version\": 9}"; }
  try {
    Profile::Load(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": unsupported profile format_version 9 (this build reads 1 and 2)");
  }
  { std::ofstream(path) << "{not json"; }
  try {
    Profile::Load(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": invalid JSON:", 0), 0u) << e.what();
  }
  std::remove(path.c_str());
  try {
    Profile::Load(path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open profile");
  }
}

TEST(Evaluate, GroupsByTypeAndCountsSkipped) {
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  Profile p = FitProfile(SyntheticSet(), o);
  std::vector<Measurement> test = {SyntheticLinear(10, 100, 100), SyntheticLinear(50, 2000, 1000),
                                   SyntheticLinear(200, 500, 300)};
  Measurement relu;
  relu.type = "ReLU";
  relu.input_shape = {1000};
  relu.energy_j = 1.0;
  test.push_back(relu);
  Evaluation ev = EvaluateLayers(p, test);
  ASSERT_EQ(ev.layers.count("Linear"), 1u);
  EXPECT_EQ(ev.layers.at("Linear").measured.size(), 3u);
  EXPECT_LT(ev.layers.at("Linear").metrics.mape, 3.0);
  EXPECT_EQ(ev.skipped.at("no predictor for ReLU"), 1u);
  nlohmann::json j = ev.ToJson();
  EXPECT_EQ(j["layers"]["Linear"]["n"], 3);
  // The baseline is scored on the same records: predictions are the constant times the MACs.
  const TypeEvaluation& te = ev.layers.at("Linear");
  ASSERT_EQ(te.baseline.size(), 3u);
  EXPECT_DOUBLE_EQ(te.baseline[0],
                   p.layers.at("Linear").baseline_per_unit * 10 * (100.0 * 100 + 100));
  EXPECT_TRUE(j["layers"]["Linear"]["baseline"].contains("mape"));
  EXPECT_THROW(EvaluateLayers(p, {relu}), std::runtime_error);
}

// One record, or records with equal measured values, still get their errors; R² is n/a (NaN).
TEST(Evaluate, SingleOrConstantMeasurementsGiveErrorsWithoutR2) {
  FitOptions o;
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  Profile p = FitProfile(SyntheticSet(), o);
  Measurement a = SyntheticLinear(10, 100, 100), zero = SyntheticLinear(10, 100, 100);
  zero.energy_j = 0.0;
  Evaluation ev = EvaluateLayers(p, {a, a, zero});
  const auto& m = ev.layers.at("Linear").metrics;
  EXPECT_EQ(m.n, 2u);
  EXPECT_TRUE(std::isnan(m.r2));
  EXPECT_FALSE(std::isnan(m.mape));
  EXPECT_EQ(ev.skipped.at("records with a measured target <= 0"), 1u);
}

}  // namespace
}  // namespace joulecast
