#include "joulecast/predict/transfer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "error_of.h"
#include "joulecast/features/layer_features.h"
#include "joulecast/predict/layer_predictor.h"
#include "joulecast/predict/profile.h"

namespace joulecast {
namespace {
using joulecast_test::ErrorOf;

// n records with base log-efficiencies u in [-3, 3], features x in [0, 1]^3 and a known
// distortion t = f(u, x) plus noise of standard deviation `noise` (log units).
struct SyntheticData {
  Eigen::VectorXd u, t;
  Eigen::MatrixXd X;
};
template <class F>
SyntheticData Make(int n, double noise, F f, std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(-3, 3), X01(0, 1);
  std::normal_distribution<double> N(0, noise > 0 ? noise : 1);
  SyntheticData s;
  s.u.resize(n);
  s.t.resize(n);
  s.X.resize(n, 3);
  for (int i = 0; i < n; ++i) {
    s.u[i] = U(rng);
    for (int j = 0; j < 3; ++j) s.X(i, j) = X01(rng);
    s.t[i] = f(s.u[i], s.X.row(i)) + (noise > 0 ? N(rng) : 0.0);
  }
  return s;
}

TEST(Transfer, RecoversAConstantFactorAsARatio) {
  // This machine is 1.8x slower everywhere: t = u + ln 1.8 exactly.
  const SyntheticData s =
      Make(30, 0, [](double u, const Eigen::RowVectorXd&) { return u + std::log(1.8); });
  const Transfer tr = FitTransfer(s.u, s.X, s.t);
  EXPECT_EQ(tr.kind, "ratio");  // ties go to the simpler kind
  EXPECT_NEAR(tr.c0, std::log(1.8), 1e-12);
  EXPECT_EQ(tr.c1, 1.0);
  EXPECT_NEAR(tr.cv["mape"].get<double>(), 0.0, 1e-9);
}

TEST(Transfer, RecoversASlope) {
  const SyntheticData s =
      Make(40, 0.01, [](double u, const Eigen::RowVectorXd&) { return 0.4 + 0.7 * u; });
  const Transfer tr = FitTransfer(s.u, s.X, s.t);
  EXPECT_EQ(tr.kind, "linear");
  EXPECT_NEAR(tr.c0, 0.4, 0.01);
  EXPECT_NEAR(tr.c1, 0.7, 0.01);
  EXPECT_LT(tr.cv["mape"].get<double>(), 2.0);
  EXPECT_GT(tr.cv["scores"]["ratio"].get<double>(), 30.0);
}

TEST(Transfer, RecoversACorrectionAlongAFeature) {
  // Slower on large activations (feature 0), as a smaller cache would make it.
  const SyntheticData s =
      Make(80, 0.01, [](double u, const Eigen::RowVectorXd& x) { return 0.2 + u + 1.5 * x[0]; });
  const Transfer tr = FitTransfer(s.u, s.X, s.t);
  EXPECT_EQ(tr.kind, "features");
  EXPECT_NEAR(tr.c1, 1.0, 0.05);
  // w is per standardised feature: back on the raw scale, the slopes are 1.5, 0, 0.
  EXPECT_NEAR(tr.w[0] / tr.scale[0], 1.5, 0.1);
  EXPECT_NEAR(tr.w[1] / tr.scale[1], 0.0, 0.1);
  EXPECT_NEAR(tr.w[2] / tr.scale[2], 0.0, 0.1);
  EXPECT_LT(tr.cv["mape"].get<double>(), 3.0);
  // Apply agrees with the formula on a new point.
  Eigen::RowVectorXd x(3);
  x << 0.5, 0.2, 0.9;
  EXPECT_NEAR(tr.Apply(1.0, x), 0.2 + 1.0 + 0.75, 0.05);
}

TEST(Transfer, FewRecordsKeepTheSimpleKinds) {
  const SyntheticData s =
      Make(5, 0.01, [](double u, const Eigen::RowVectorXd& x) { return u + x[0]; });
  const Transfer tr = FitTransfer(s.u, s.X, s.t);
  EXPECT_NE(tr.kind, "features");
  EXPECT_FALSE(tr.cv["scores"].contains("features@1"));
  // One record: the ratio that reproduces it, no CV.
  const Transfer one = FitTransfer(s.u.head(1), s.X.topRows(1), s.t.head(1));
  EXPECT_EQ(one.kind, "ratio");
  EXPECT_NEAR(one.c0, s.t[0] - s.u[0], 1e-12);
  EXPECT_EQ(one.cv["folds"], 0);
}

TEST(Transfer, TheRatioMinimisesMapeNotTheMeanLogError) {
  // Eight configurations run as the base says, two run 20x slower (a heavy tail): the factor
  // that minimises MAPE leaves the eight alone; the mean log ratio would shift them by 1.82x.
  Eigen::VectorXd u(10), t(10);
  for (int i = 0; i < 10; ++i) {
    u[i] = 0.1 * i;
    t[i] = u[i] + (i >= 8 ? std::log(20.0) : 0.0);
  }
  TransferOptions only_ratio;
  only_ratio.min_linear = 100;
  const Transfer tr = FitTransfer(u, Eigen::MatrixXd(10, 0), t, only_ratio);
  EXPECT_EQ(tr.kind, "ratio");
  EXPECT_NEAR(tr.c0, 0.0, 1e-12);
  // Identity is tried only when asked (the base predicts the target's unit), and then wins here.
  EXPECT_FALSE(tr.cv["scores"].contains("identity"));
  only_ratio.identity = true;
  const Transfer id = FitTransfer(u, Eigen::MatrixXd(10, 0), t, only_ratio);
  EXPECT_EQ(id.kind, "identity");
  EXPECT_EQ(id.Apply(0.7, Eigen::RowVectorXd(0)), 0.7);
}

TEST(Transfer, MapeOptimalFactorIsTheWeightedMedian) {
  // k·1 against 1, 2, 4: Σ |k·p/y - 1| = |k - 1| + |k/2 - 1| + |k/4 - 1| falls until k = 1 and
  // rises after it (slope 1 - 1/2 - 1/4 > 0): k = 1, below the median ratio 2.
  Eigen::VectorXd p(3), y(3);
  p << 1, 1, 1;
  y << 1, 2, 4;
  EXPECT_DOUBLE_EQ(MapeOptimalFactor(p, y), 1.0);
  // Scale-free: predictions 10 times too small need a factor of 10.
  EXPECT_DOUBLE_EQ(MapeOptimalFactor(p / 10, y), 10.0);
}

TEST(Transfer, ExtrasAreHingesOnTheBytesMoved) {
  // 2^23 float32 outputs are 32 MiB: past 1 MiB by 5 ln 2, past 8 MiB by 2 ln 2, at 32 MiB.
  const auto e = TransferExtras(1000, double(1 << 23));
  const double ln2 = std::log(2.0);
  EXPECT_NEAR(e[0], 5 * ln2, 1e-12);
  EXPECT_NEAR(e[1], 2 * ln2, 1e-12);
  EXPECT_EQ(e[2], 0.0);
  EXPECT_EQ(e[3], 0.0);
  for (int j = 4; j < 8; ++j) EXPECT_EQ(e[static_cast<std::size_t>(j)], 0.0);  // 4 kB in
}

// Composition is exact: for every pair of kinds, the composed transfer gives what applying the
// inner and then the outer gives (both affine in u and the features; closed form, no fit).
TEST(Transfer, ComposeIsApplyingOneThenTheOther) {
  const auto make = [](const std::string& kind, double c0, double c1, double shift) {
    Transfer t;
    t.kind = kind;
    t.c0 = c0;
    t.c1 = c1;
    if (kind == "features") {
      t.w = Eigen::Vector3d(0.3, -0.2, 0.5 + shift);
      t.mean = Eigen::Vector3d(0.5 + shift, 0.4, 0.6);
      t.scale = Eigen::Vector3d(0.3, 0.25 + shift, 0.2);
    }
    return t;
  };
  const SyntheticData s = Make(20, 0, [](double u, const Eigen::RowVectorXd&) { return u; });
  for (const char* a : {"ratio", "linear", "features"}) {
    for (const char* b : {"ratio", "linear", "features"}) {
      const Transfer inner = make(a, 0.4, std::string(a) == "ratio" ? 1.0 : 0.8, 0.0);
      const Transfer outer = make(b, -0.3, std::string(b) == "ratio" ? 1.0 : 1.3, 0.1);
      const Transfer both = ComposeTransfers(inner, outer);
      for (Eigen::Index i = 0; i < s.u.size(); ++i) {
        const Eigen::RowVectorXd x = s.X.row(i);
        EXPECT_NEAR(both.Apply(s.u[i], x), outer.Apply(inner.Apply(s.u[i], x), x), 1e-12)
            << a << " then " << b;
      }
    }
  }
  Transfer narrow = make("features", 0, 1, 0);
  narrow.w = Eigen::Vector2d(1, 1);
  narrow.mean = narrow.scale = Eigen::Vector2d(1, 1);
  EXPECT_EQ(ErrorOf([&] { ComposeTransfers(narrow, make("features", 0, 1, 0)); }),
            "ComposeTransfers: the inner transfer has 2 features, the outer 3");
}

TEST(Transfer, JsonRoundTrip) {
  const SyntheticData s =
      Make(60, 0.01, [](double u, const Eigen::RowVectorXd& x) { return 0.2 + 0.9 * u + x[1]; });
  const Transfer tr = FitTransfer(s.u, s.X, s.t);
  const Transfer back = Transfer::FromJson(tr.ToJson());
  EXPECT_EQ(back.kind, tr.kind);
  for (int i = 0; i < 10; ++i)
    EXPECT_DOUBLE_EQ(back.Apply(s.u[i], s.X.row(i)), tr.Apply(s.u[i], s.X.row(i)));
}

TEST(Transfer, Errors) {
  const Eigen::VectorXd none(0);
  EXPECT_EQ(ErrorOf([&] { FitTransfer(none, Eigen::MatrixXd(0, 2), none); }),
            "FitTransfer: no records");
  Eigen::VectorXd u(2), t(3);
  u << 1, 2;
  t << 1, 2, 3;
  EXPECT_EQ(ErrorOf([&] { FitTransfer(u, Eigen::MatrixXd::Zero(2, 1), t); }),
            "FitTransfer: 2 base values, 2 feature rows and 3 targets; expected one each per "
            "record");
  Eigen::VectorXd bad(2);
  bad << 1, std::nan("");
  EXPECT_EQ(ErrorOf([&] { FitTransfer(u, Eigen::MatrixXd::Zero(2, 1), bad); }),
            "FitTransfer: record 1 has a non-finite value");
  nlohmann::json j = {{"format_version", 1}, {"kind", "cubic"}, {"c0", 0}, {"c1", 1}};
  EXPECT_EQ(ErrorOf([&] { Transfer::FromJson(j); }),
            "transfer: kind: expected identity, ratio, linear or features, got 'cubic'");
  j["kind"] = "features";
  j["alpha"] = 1;
  j["w"] = {1, 2};
  j["mean"] = {0};
  j["scale"] = {1, 1};
  EXPECT_EQ(ErrorOf([&] { Transfer::FromJson(j); }),
            "transfer: w, mean and scale must have one length, got 2, 1, 2");
  j["format_version"] = 7;
  EXPECT_EQ(ErrorOf([&] { Transfer::FromJson(j); }), "transfer: unsupported format_version 7");
}

// A 3×3 convolution of 64 channels on 56×56 (ResNet's first stage).
LayerInstance Conv64() {
  LayerInstance conv;
  conv.type = "Conv2d";
  conv.params = {{"in_channels", 64}, {"out_channels", 64}, {"kernel_size", {3, 3}},
                 {"stride", {1, 1}},  {"padding", {1, 1}},  {"dilation", {1, 1}},
                 {"groups", 1},       {"bias", false},      {"padding_mode", "zeros"}};
  conv.input_shape = {64, 56, 56};
  conv.output_shape = {64, 56, 56};
  return conv;
}

TEST(Transfer, ACalibratedPredictorAppliesItAndRoundTrips) {
  const Profile p = Profile::Load("models/intel-xeon-2c-time.json");
  LayerPredictor lp = p.layers.at("Conv2d");
  const LayerInstance conv = Conv64();
  const double base = lp.Predict(conv, 8);
  lp.transfer = Transfer();
  lp.transfer->c0 = std::log(2.0);
  EXPECT_NEAR(lp.Predict(conv, 8), 2.0 * base, 1e-12 * base);
  const nlohmann::json j = lp.ToJson();
  EXPECT_EQ(j["format_version"], 2);
  const LayerPredictor back = LayerPredictor::FromJson(j, "p");
  ASSERT_TRUE(back.transfer.has_value());
  EXPECT_DOUBLE_EQ(back.Predict(conv, 8), lp.Predict(conv, 8));
  // Version 1 files (every shipped profile) have none; a transfer in one is refused.
  EXPECT_EQ(p.layers.at("Conv2d").ToJson()["format_version"], 1);
  nlohmann::json v1 = j;
  v1["format_version"] = 1;
  EXPECT_EQ(ErrorOf([&] { LayerPredictor::FromJson(v1, "p"); }),
            "p: a transfer needs format_version 2");
}

// A blend (calibrate's transfer mixed with a predictor of this machine's records): the formula
// of layer_predictor.h, format_version 3, and its fields checked on load.
// What a blend test combines: the Xeon's Conv2d with a transfer of `kind` (c0 = ln 2), and a
// blend of `kind` whose model is the EPYC's Conv2d, standing in for a predictor of this
// machine's records (its recipe need not be the base's), at level c0 = ln 1.5.
struct BlendParts {
  LayerPredictor lp;     // transferred, without the blend
  LayerPredictor other;  // the blend's model as a predictor
  PredictorBlend blend;
};
BlendParts ConvBlendParts(const char* transfer_kind, const char* blend_kind) {
  BlendParts parts{Profile::Load("models/intel-xeon-2c-time.json").layers.at("Conv2d"),
                   Profile::Load("models/amd-epyc-2c-time.json").layers.at("Conv2d"),
                   PredictorBlend()};
  parts.lp.transfer = Transfer();
  parts.lp.transfer->kind = transfer_kind;
  if (parts.lp.transfer->kind != "identity") parts.lp.transfer->c0 = std::log(2.0);
  parts.blend.kind = blend_kind;
  parts.blend.c0 = std::log(1.5);
  parts.blend.recipe = parts.other.recipe;
  parts.blend.model = parts.other.model;
  return parts;
}

TEST(Transfer, ABlendedPredictorAppliesItAndRoundTrips) {
  BlendParts parts = ConvBlendParts("ratio", "mix");
  LayerPredictor& lp = parts.lp;
  const LayerPredictor& other = parts.other;
  const LayerInstance conv = Conv64();
  const double transferred = lp.Predict(conv, 8);
  const double refit = other.Predict(conv, 8);
  PredictorBlend b = parts.blend;
  b.weight = 0.25;
  lp.blend = b;
  const double want = std::pow(transferred, 0.75) * std::pow(refit, 0.25) * 1.5;
  EXPECT_NEAR(lp.Predict(conv, 8), want, 1e-12 * want);
  const nlohmann::json j = lp.ToJson();
  EXPECT_EQ(j["format_version"], 3);
  const LayerPredictor back = LayerPredictor::FromJson(j, "p");
  ASSERT_TRUE(back.blend.has_value());
  EXPECT_DOUBLE_EQ(back.Predict(conv, 8), lp.Predict(conv, 8));
  nlohmann::json bad = j;
  bad["blend"]["weight"] = 1.2;
  EXPECT_EQ(ErrorOf([&] { LayerPredictor::FromJson(bad, "p"); }),
            "p: blend: weight: expected (0, 1), got 1.2");
  bad = j;
  bad["blend"]["recipe"] = lp.recipe == other.recipe ? "linear_v1" : lp.recipe;
  EXPECT_NE(ErrorOf([&] { LayerPredictor::FromJson(bad, "p"); }).find("p: blend: recipe '"),
            std::string::npos);
  bad = j;
  bad["format_version"] = 2;
  EXPECT_EQ(ErrorOf([&] { LayerPredictor::FromJson(bad, "p"); }),
            "p: a blend needs format_version 3");
  bad = j;
  bad.erase("blend");
  EXPECT_EQ(ErrorOf([&] { LayerPredictor::FromJson(bad, "p"); }),
            "p: format_version 3 needs a blend");
  // Blends written before residuals existed have no kind: they are mixes.
  EXPECT_EQ(j["blend"]["kind"], "mix");
  nlohmann::json old = j;
  old["blend"].erase("kind");
  EXPECT_DOUBLE_EQ(LayerPredictor::FromJson(old, "p").Predict(conv, 8), lp.Predict(conv, 8));
}

// A residual blend: R learns this machine's log ratio to the transferred base and is held within
// [lo, hi], ln(y/n) = T + clamp(R, lo, hi) + c0.
TEST(Transfer, AResidualPredictorAppliesItClampedAndRoundTrips) {
  BlendParts parts = ConvBlendParts("identity", "residual");
  LayerPredictor& lp = parts.lp;
  const LayerInstance conv = Conv64();
  const double transferred = lp.Predict(conv, 8);
  const double r = std::log(parts.other.Predict(conv, 8) / Normaliser(conv, 8));
  PredictorBlend b = parts.blend;
  b.lo = r - 1;
  b.hi = r + 1;
  lp.blend = b;
  double want = transferred * std::exp(r) * 1.5;
  EXPECT_NEAR(lp.Predict(conv, 8), want, 1e-12 * want);
  lp.blend->lo = r - 2;
  lp.blend->hi = r - 0.5;  // R above the range: held at its top
  want = transferred * std::exp(r - 0.5) * 1.5;
  EXPECT_NEAR(lp.Predict(conv, 8), want, 1e-12 * want);
  const nlohmann::json j = lp.ToJson();
  EXPECT_EQ(j["format_version"], 3);
  EXPECT_EQ(j["blend"]["kind"], "residual");
  EXPECT_FALSE(j["blend"].contains("weight"));
  EXPECT_EQ(j["blend"]["range"], nlohmann::json({r - 2, r - 0.5}));
  const LayerPredictor back = LayerPredictor::FromJson(j, "p");
  ASSERT_TRUE(back.blend.has_value());
  EXPECT_DOUBLE_EQ(back.Predict(conv, 8), lp.Predict(conv, 8));
  nlohmann::json bad = j;
  bad["blend"]["range"] = {1.0, 0.0};
  EXPECT_EQ(ErrorOf([&] { LayerPredictor::FromJson(bad, "p"); }),
            "p: blend: range: expected [lo, hi], two finite numbers with lo <= hi");
  bad["blend"].erase("range");
  EXPECT_EQ(ErrorOf([&] { LayerPredictor::FromJson(bad, "p"); }),
            "p: blend: range: expected [lo, hi], two finite numbers with lo <= hi");
  bad = j;
  bad["blend"]["kind"] = "average";
  EXPECT_EQ(ErrorOf([&] { LayerPredictor::FromJson(bad, "p"); }),
            "p: blend: kind: expected mix or residual, got 'average'");
}

}  // namespace
}  // namespace joulecast
