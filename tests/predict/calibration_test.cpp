#include "joulecast/predict/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "error_of.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/features/layer_features.h"
#include "joulecast/features/macs.h"
#include "joulecast/predict/network_estimate.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

const Profile& TimeBase() {
  static const Profile p = Profile::Load("models/intel-xeon-2c-time.json");
  return p;
}

// Records of `n` sampled configurations per type, with the duration a machine that runs
// `factor(type, batch)` times slower than the base would measure, on a CPU named `cpu`.
std::vector<Measurement> FakeRecords(const std::vector<std::string>& types, int n,
                                     double (*factor)(const std::string&, std::int64_t),
                                     const std::string& mode = "forward",
                                     const std::string& cpu = "Fake CPU 9000") {
  Profile base = TimeBase();
  base.SelectMode(mode, "test");
  std::vector<Measurement> out;
  for (const std::string& type : types) {
    for (const CollectConfig& c : SampleConfigs(type, n, 7)) {
      Measurement m;
      m.type = c.layer.type;
      m.params = c.layer.params;
      m.batch_size = c.batch_size;
      m.input_shape = c.layer.input_shape;
      m.mode = mode;
      m.hardware = {{"cpu", cpu}, {"logical_cpus", 4}, {"threads", 1}};
      m.duration_s = base.Find(type)->Predict(c.layer, c.batch_size) * factor(type, c.batch_size);
      out.push_back(m);
    }
  }
  return out;
}

double Slower(const std::string& type, std::int64_t) { return type == "Conv2d" ? 1.7 : 0.8; }

TEST(Calibration, RecoversAKnownDistortionPerType) {
  const std::vector<Measurement> recs = FakeRecords({"Conv2d", "ReLU"}, 20, Slower);
  const Profile cal = CalibrateProfile(TimeBase(), recs);
  EXPECT_EQ(cal.target, "time_s");
  EXPECT_EQ(cal.hardware["cpu"], "Fake CPU 9000");
  EXPECT_EQ(cal.data["calibration"]["base"], "intel-xeon-2c-time");
  EXPECT_EQ(cal.data["calibration"]["records"], 40);
  // Calibrated types predict the distorted base exactly (the factor is a ratio).
  for (const CollectConfig& c : SampleConfigs("Conv2d", 5, 99)) {
    const double base = TimeBase().Find("Conv2d")->Predict(c.layer, c.batch_size);
    EXPECT_NEAR(cal.Find("Conv2d")->Predict(c.layer, c.batch_size), 1.7 * base, 1e-9 * base);
  }
  const nlohmann::json& types = cal.data["calibration"]["modes"]["forward"]["types"];
  EXPECT_EQ(types["Conv2d"]["records"], 20);
  EXPECT_EQ(types["Conv2d"]["transfer"], "ratio");
  EXPECT_NEAR(types["Conv2d"]["base_mape"].get<double>(), 100.0 * (1 - 1 / 1.7), 1e-9);
  // A type without records takes the pooled transfer: between the two factors.
  EXPECT_EQ(types["MaxPool2d"]["records"], 0);
  EXPECT_EQ(types["MaxPool2d"]["transfer"], "pooled");
  const double c0 = cal.Find("MaxPool2d")->transfer->c0;
  EXPECT_GT(std::exp(c0), 0.8);
  EXPECT_LT(std::exp(c0), 1.7);
  // Only the modes measured are described; the whole profile round-trips.
  EXPECT_EQ(cal.Modes(), std::vector<std::string>{"forward"});
  const Profile back = Profile::FromJson(cal.ToJson(), "cal");
  const CollectConfig c = SampleConfig("Conv2d", 3, 1);
  EXPECT_DOUBLE_EQ(back.Find("Conv2d")->Predict(c.layer, c.batch_size),
                   cal.Find("Conv2d")->Predict(c.layer, c.batch_size));
}

double GrowsWithBatch(const std::string&, std::int64_t b) { return 0.5 * std::pow(b, 0.3); }

TEST(Calibration, LearnsADistortionAlongAFeature) {
  // Slower per MAC as the batch grows: no ratio describes it; the batch is a recipe feature.
  const std::vector<Measurement> recs = FakeRecords({"Conv2d"}, 60, GrowsWithBatch);
  const Profile cal = CalibrateProfile(TimeBase(), recs);
  const nlohmann::json& t = cal.data["calibration"]["modes"]["forward"]["types"]["Conv2d"];
  EXPECT_EQ(t["transfer"], "features");
  EXPECT_LT(t["cv_mape"].get<double>(), 5.0);
  for (const CollectConfig& c : SampleConfigs("Conv2d", 10, 1234)) {
    const double truth = TimeBase().Find("Conv2d")->Predict(c.layer, c.batch_size) *
                         GrowsWithBatch("Conv2d", c.batch_size);
    EXPECT_NEAR(cal.Find("Conv2d")->Predict(c.layer, c.batch_size) / truth, 1.0, 0.1);
  }
}

// A machine whose time per MAC waves with the batch (0.6·sin(2·ln b) in logs) and scatters
// around it (a deterministic ±35 % pattern): no affine map of the base's prediction follows the
// wave, a predictor fitted on the records alone does.
double Waves(const std::string&, std::int64_t b) {
  return std::exp(0.6 * std::sin(2 * std::log(static_cast<double>(b))));
}

TEST(Calibration, ARefitIsComparedAndKeptAtItsMapeOptimalLevel) {
  std::vector<Measurement> recs = FakeRecords({"ReLU"}, 120, Waves);
  for (std::size_t i = 0; i < recs.size(); ++i)
    recs[i].duration_s *= std::exp(0.3 * std::sin(7.0 * static_cast<double>(i)));
  const Profile cal = CalibrateProfile(TimeBase(), recs);
  const nlohmann::json& t = cal.data["calibration"]["modes"]["forward"]["types"]["ReLU"];
  ASSERT_EQ(t["transfer"], "refit") << t.dump();
  const LayerPredictor& lp = *cal.Find("ReLU");
  // Its level: the factor that minimises the out-of-fold MAPE, below 1 since the records
  // scatter, and the MAPE compared with the transfer's is the one at that factor.
  const nlohmann::json& level = lp.cv.at("mape_optimal_level");
  EXPECT_EQ(t["refit_level"], level["factor"]);
  EXPECT_LT(level["factor"].get<double>(), 1.0);
  // (scored with every record weighing the same: no weight networks)
  EXPECT_NEAR(t["cv_mape"].get<double>(), level["mape"].get<double>(), 1e-9);
  EXPECT_LT(level["mape"].get<double>(), lp.cv["metrics"]["mape"].get<double>());
  // The profile predicts the refit's model times that factor.
  ASSERT_TRUE(lp.transfer.has_value());
  EXPECT_EQ(lp.transfer->kind, "ratio");
  LayerPredictor bare = lp;
  bare.transfer.reset();
  const CollectConfig c = SampleConfig("ReLU", 3, 1);
  EXPECT_NEAR(lp.Predict(c.layer, c.batch_size),
              level["factor"].get<double>() * bare.Predict(c.layer, c.batch_size),
              1e-9 * bare.Predict(c.layer, c.batch_size));
  const Profile back = Profile::FromJson(cal.ToJson(), "cal");
  EXPECT_DOUBLE_EQ(back.Find("ReLU")->Predict(c.layer, c.batch_size),
                   lp.Predict(c.layer, c.batch_size));
}

TEST(Calibration, Errors) {
  const std::vector<Measurement> recs = FakeRecords({"ReLU"}, 5, Slower);
  CalibrateOptions energy;
  energy.target = "energy_j";
  EXPECT_EQ(ErrorOf([&] { CalibrateProfile(TimeBase(), recs, energy); }),
            "calibrate: target energy_j needs records with energy (measured with a meter); these "
            "have none");
  const Profile xeon = Profile::Load("models/xeon-gold-5120.json");
  const std::vector<Measurement> steps = FakeRecords({"ReLU"}, 5, Slower, "train_step");
  EXPECT_EQ(ErrorOf([&] { CalibrateProfile(xeon, steps); }),
            "calibrate: the base profile xeon-gold-5120 has no train_step predictors (it has: "
            "forward)");
  EXPECT_EQ(ErrorOf([&] { CalibrateProfile(TimeBase(), {}); }),
            "calibrate: no records to calibrate with");
  // A calibrated profile is not a base: its models describe the machine it came from.
  const Profile cal = CalibrateProfile(TimeBase(), recs);
  EXPECT_EQ(ErrorOf([&] { CalibrateProfile(cal, recs); }),
            "calibrate: the base profile intel-xeon-2c-time-calibrated is itself calibrated (from "
            "intel-xeon-2c-time); calibrate from that base instead");
  // Records of two CPU models never go into one profile.
  std::vector<Measurement> mixed = recs;
  for (const Measurement& m : FakeRecords({"ReLU"}, 2, Slower, "forward", "Other CPU"))
    mixed.push_back(m);
  EXPECT_NE(ErrorOf([&] {
              CalibrateProfile(TimeBase(), mixed);
            }).find("measured on different CPU models"),
            std::string::npos);
}

// Records measured while other processes were busy are left out of the fit when asked (as
// `fit --max-other-cpus`), counted, and never all of them silently.
TEST(Calibration, SkipsDisturbedRecords) {
  std::vector<Measurement> recs = FakeRecords({"Conv2d"}, 20, Slower);
  // Seventeen records four times too slow, measured beside a busy core (most of them: the ratio
  // that minimises MAPE follows the faster records, which a few slow ones would not move).
  for (std::size_t i = 0; i < 17; ++i) {
    recs[i].duration_s *= 4;
    recs[i].context["protocol"]["other_cpus_busy"] = 0.9;
  }
  recs[17].context["protocol"]["other_cpus_busy"] = 0.1;
  CalibrateOptions o;
  o.max_other_cpus = 0.25;
  const Profile cal = CalibrateProfile(TimeBase(), recs, o);
  EXPECT_EQ(cal.data["calibration"]["disturbed_skipped"], 17);
  EXPECT_EQ(cal.data["calibration"]["records"], 3);
  const CollectConfig c = SampleConfig("Conv2d", 3, 1);
  const double base = TimeBase().Find("Conv2d")->Predict(c.layer, c.batch_size);
  EXPECT_NEAR(cal.Find("Conv2d")->Predict(c.layer, c.batch_size), 1.7 * base, 1e-9 * base);
  // Without the option every record counts, and the slow seventeen pull the factor up.
  const Profile all = CalibrateProfile(TimeBase(), recs);
  EXPECT_FALSE(all.data["calibration"].contains("disturbed_skipped"));
  EXPECT_GT(all.Find("Conv2d")->Predict(c.layer, c.batch_size), 1.7 * base * (1 + 1e-6));
  for (Measurement& m : recs) m.context["protocol"]["other_cpus_busy"] = 1.0;
  EXPECT_EQ(ErrorOf([&] { CalibrateProfile(TimeBase(), recs, o); }),
            "calibrate: every record was measured while other processes kept more than 0.25 CPUs "
            "busy");
}

TEST(Calibration, TakesFreshPageTimeOffKeptHeapRecords) {
  // The same machine's records, seventeen of twenty with the time of faulting fresh pages added
  // (as an operator measured alone under the kept heap pays for blocks of 32 MiB and more).
  const std::vector<Measurement> clean = FakeRecords({"Conv2d"}, 20, Slower);
  std::vector<Measurement> faulted = clean;
  for (std::size_t i = 3; i < faulted.size(); ++i) {
    Measurement& m = faulted[i];
    const double pages = 2.0 * m.duration_s / 3e-6;  // at 3 us each: twice the run's own time
    m.duration_s *= 3;
    m.hardware["fresh_page_us"] = 3.0;
    m.context = {{"heap", "keep"}, {"protocol", {{"faults_per_run", pages}}}};
  }
  const Profile want = CalibrateProfile(TimeBase(), clean);
  const Profile got = CalibrateProfile(TimeBase(), faulted);
  EXPECT_EQ(got.data["calibration"]["fresh_page_records"], 17);
  EXPECT_FALSE(want.data["calibration"].contains("fresh_page_records"));
  for (const CollectConfig& c : SampleConfigs("Conv2d", 5, 99)) {
    const double base = TimeBase().Find("Conv2d")->Predict(c.layer, c.batch_size);
    EXPECT_NEAR(got.Find("Conv2d")->Predict(c.layer, c.batch_size), 1.7 * base, 1e-9 * base);
  }
  // As measured, the faulted seventeen pull the factor up.
  CalibrateOptions o;
  o.remove_fresh_page_time = false;
  const Profile as_measured = CalibrateProfile(TimeBase(), faulted, o);
  EXPECT_FALSE(as_measured.data["calibration"].contains("fresh_page_records"));
  const CollectConfig c = SampleConfig("Conv2d", 3, 1);
  const double base = TimeBase().Find("Conv2d")->Predict(c.layer, c.batch_size);
  EXPECT_GT(as_measured.Find("Conv2d")->Predict(c.layer, c.batch_size), 1.7 * base * 1.1);
}

TEST(CalibrationPlan, TheUsersNetworksComeFirstLargestFirst) {
  const Architecture net = LoadZooArchitecture("resnet18");
  CalibrationPlanOptions o;
  o.pool = 20;
  const std::vector<CollectConfig> plan = PlanCalibration(TimeBase(), {net}, {net}, o);
  const std::vector<CollectConfig> own = ConfigsFromArchitecture(net, o.batch_sizes);
  std::size_t predicted = 0;
  for (const CollectConfig& c : own) predicted += TimeBase().Find(c.layer.type) != nullptr;
  ASSERT_GT(plan.size(), predicted);
  double last = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < predicted; ++i) {
    EXPECT_EQ(plan[i].context["from_architecture"], "resnet18") << i;
    const double v =
        TimeBase().Find(plan[i].layer.type)->Predict(plan[i].layer, plan[i].batch_size);
    EXPECT_LE(v, last) << i;
    last = v;
  }
  EXPECT_EQ(plan[predicted].context["calibration"], true);
  // Deterministic.
  const std::vector<CollectConfig> again = PlanCalibration(TimeBase(), {net}, {net}, o);
  ASSERT_EQ(again.size(), plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i)
    EXPECT_EQ(again[i].layer.params, plan[i].layer.params);
}

// A plan cut at n configurations (its later rounds never drawn) is the first n of the whole plan,
// the user's networks included, and never longer.
TEST(CalibrationPlan, AShortPlanIsThePrefixOfTheWholeOne) {
  const Architecture net = LoadZooArchitecture("resnet18");
  CalibrationPlanOptions o;
  o.pool = 20;
  o.rounds = 4;
  const std::vector<CollectConfig> whole = PlanCalibration(TimeBase(), {net}, {net}, o);
  ASSERT_GT(whole.size(), 200u);
  for (std::size_t n :
       {std::size_t{5}, std::size_t{60}, std::size_t{200}, whole.size(), whole.size() + 10}) {
    o.max_configs = n;
    const std::vector<CollectConfig> cut = PlanCalibration(TimeBase(), {net}, {net}, o);
    ASSERT_EQ(cut.size(), std::min(n, whole.size())) << n;
    for (std::size_t i = 0; i < cut.size(); ++i) {
      EXPECT_EQ(cut[i].layer.type, whole[i].layer.type) << n << " " << i;
      EXPECT_EQ(cut[i].layer.params, whole[i].layer.params) << n << " " << i;
      EXPECT_EQ(cut[i].batch_size, whole[i].batch_size) << n << " " << i;
      EXPECT_EQ(cut[i].context, whole[i].context) << n << " " << i;
    }
  }
}

TEST(CalibrationPlan, TypesInterleavedByShareAndEveryTypeEarly) {
  const std::vector<Architecture> zoo = {LoadZooArchitecture("resnet18"),
                                         LoadZooArchitecture("vgg11")};
  CalibrationPlanOptions o;
  o.pool = 50;
  const std::vector<CollectConfig> plan = PlanCalibration(TimeBase(), {}, zoo, o);
  const std::map<std::string, double> share = TypeShares(TimeBase(), zoo);
  ASSERT_GT(share.at("Conv2d"), 0.5);
  std::map<std::string, int> first100;
  for (std::size_t i = 0; i < 100 && i < plan.size(); ++i) ++first100[plan[i].layer.type];
  // Conv2d carries most of the time: it gets most of the first measurements.
  for (const auto& [type, n] : first100) {
    if (type != "Conv2d") EXPECT_LT(n, first100["Conv2d"]) << type;
  }
  // Every sampleable type the base predicts is met within the first 2 / min_share picks (the
  // floors lift the shares' sum above 1).
  std::set<std::string> early;
  for (std::size_t i = 0; i < static_cast<std::size_t>(2 / o.min_share) && i < plan.size(); ++i)
    early.insert(plan[i].layer.type);
  for (const std::string& type : SampleableLayerTypes()) {
    if (TimeBase().Find(type)) EXPECT_TRUE(early.count(type)) << type;
  }
  // No random configuration is estimated to cost more than the limit to measure.
  for (const CollectConfig& c : plan) {
    const double run = TimeBase().Find(c.layer.type)->Predict(c.layer, c.batch_size);
    EXPECT_LE(o.warmup_s + std::max(o.min_seconds, o.min_repetitions * run),
              o.max_config_seconds + 1e-12);
  }
}

TEST(CalibrationPlan, FarthestPointOrderSpreadsTheFirstPicks) {
  // The first picks of a type lie farther apart than the same number of draws in sampler order.
  CalibrationPlanOptions o;
  o.pool = 100;
  const std::vector<CollectConfig> plan = PlanCalibration(TimeBase(), {}, {}, o);
  std::vector<CollectConfig> relu;
  for (const CollectConfig& c : plan) {
    if (c.layer.type == "ReLU") relu.push_back(c);
  }
  ASSERT_GE(relu.size(), 10u);
  const std::string recipe = TimeBase().Find("ReLU")->recipe;
  auto min_gap = [&](const std::vector<CollectConfig>& cs) {
    double gap = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < 10; ++i) {
      for (std::size_t j = i + 1; j < 10; ++j) {
        const double d = (ComputeFeatures(recipe, cs[i].layer, cs[i].batch_size) -
                          ComputeFeatures(recipe, cs[j].layer, cs[j].batch_size))
                             .norm();
        gap = std::min(gap, d);
      }
    }
    return gap;
  };
  EXPECT_GT(min_gap(relu), min_gap(SampleConfigs("ReLU", 10, 0, o.sampler)));
}

// Closed form on one feature: records at 0, 1, 2, 3; a network layer at 0.1 lends its share to
// its nearest record, one at 2.6 (share 3) to its two nearest (2 and 3) half each.
TEST(Calibration, NetworkRecordWeightsLendEachLayersShareToItsNearestRecords) {
  Eigen::MatrixXd records(4, 1), layers(1, 1), two(2, 1);
  records << 0, 1, 2, 3;
  layers << 0.1;
  Eigen::VectorXd share(1), shares(2);
  share << 1;
  const Eigen::VectorXd w = NetworkRecordWeights(records, layers, share, 1, 0.5);
  EXPECT_NEAR(w[0], 0.125 + 0.5, 1e-12);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(w[i], 0.125, 1e-12);
  two << 0.1, 2.6;
  shares << 1, 3;
  const Eigen::VectorXd v = NetworkRecordWeights(records, two, shares, 2, 1.0);
  // Layer 1 gives 0.5 to records 0 and 1; layer 2 gives 1.5 to records 2 and 3; total 4.
  EXPECT_NEAR(v[0], 0.125, 1e-12);
  EXPECT_NEAR(v[1], 0.125, 1e-12);
  EXPECT_NEAR(v[2], 0.375, 1e-12);
  EXPECT_NEAR(v[3], 0.375, 1e-12);
  EXPECT_NEAR(v.sum(), 1.0, 1e-12);
  // No network layers: uniform.
  const Eigen::VectorXd u =
      NetworkRecordWeights(records, Eigen::MatrixXd(0, 1), Eigen::VectorXd(0), 3, 0.5);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(u[i], 0.25, 1e-12);
  EXPECT_EQ(ErrorOf([&] { NetworkRecordWeights(records, Eigen::MatrixXd(1, 2), share, 1, 0.5); }),
            "NetworkRecordWeights: records have 1 features, network layers 2");
  EXPECT_EQ(ErrorOf([&] { NetworkRecordWeights(records, layers, share, 1, 1.5); }),
            "NetworkRecordWeights: network_weight must be in [0, 1], got 1.5");
}

// Two out-of-fold predictions that err in opposite directions by the same amounts: their mean
// in logs is exact (closed form: weight 0.5, level 1, MAPE 0), any other weight is not.
TEST(Calibration, BestBlendOfTwoOppositeErrorsIsTheirMean) {
  Eigen::VectorXd t(4), transfer(4);
  t << -20.0, -21.5, -19.0, -22.0;
  transfer << 0.2, -0.1, 0.3, -0.4;
  const Eigen::VectorXd refit = t - transfer;
  transfer += t;
  const std::optional<BlendChoice> b = BestBlend(transfer, refit, t, {0.25, 0.5, 0.75});
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->weight, 0.5);
  EXPECT_NEAR(b->c0, 0.0, 1e-12);
  EXPECT_NEAR(b->mape, 0.0, 1e-9);
  ASSERT_EQ(b->scores.size(), 3u);
  EXPECT_GT(b->scores["0.25"].get<double>(), 1.0);
  EXPECT_GT(b->scores["0.75"].get<double>(), 1.0);
  // Nothing to choose from.
  EXPECT_FALSE(BestBlend(transfer, refit, t, {}).has_value());
  EXPECT_FALSE(BestBlend(transfer, refit.head(3), t, {0.5}).has_value());
}

// A wave along the batch (amplitude 1 in logs) that no affine map of the base follows, on 80
// records: the transfer keeps the base's shape and misses the wave, the refit follows the wave
// and knows little of the shape, and their blend beats both.
double LargeWaves(const std::string&, std::int64_t b) {
  return std::exp(std::sin(2 * std::log(static_cast<double>(b))));
}

TEST(Calibration, ABlendOfTransferAndRefitIsKeptWhenItBeatsBoth) {
  const std::vector<Measurement> recs = FakeRecords({"AvgPool2d"}, 80, LargeWaves);
  const Profile cal = CalibrateProfile(TimeBase(), recs);
  const nlohmann::json& t = cal.data["calibration"]["modes"]["forward"]["types"]["AvgPool2d"];
  ASSERT_EQ(t["transfer"], "blend") << t.dump();
  const LayerPredictor& lp = *cal.Find("AvgPool2d");
  ASSERT_TRUE(lp.blend.has_value() && lp.transfer.has_value());
  const PredictorBlend& b = *lp.blend;
  EXPECT_EQ(t["blend_weight"], b.weight);
  EXPECT_EQ(t["cv_mape"], b.cv["mape"]);
  EXPECT_LT(b.cv["mape"].get<double>(), 0.98 * b.cv["transfer_mape"].get<double>());
  EXPECT_LT(b.cv["mape"].get<double>(), 0.98 * b.cv["refit_mape"].get<double>());
  EXPECT_EQ(b.cv["refit_mape"], t["refit_cv_mape"]);
  // The prediction is the weighted geometric mean of its two parts times the level.
  LayerPredictor transferred = lp;
  transferred.blend.reset();
  LayerPredictor refit;
  refit.layer_type = "AvgPool2d";
  refit.recipe = b.recipe;
  refit.model = b.model;
  for (const CollectConfig& c : SampleConfigs("AvgPool2d", 5, 99)) {
    const double want = std::pow(transferred.Predict(c.layer, c.batch_size), 1 - b.weight) *
                        std::pow(refit.Predict(c.layer, c.batch_size), b.weight) * std::exp(b.c0);
    EXPECT_NEAR(lp.Predict(c.layer, c.batch_size), want, 1e-9 * want);
  }
  const Profile back = Profile::FromJson(cal.ToJson(), "cal");
  const CollectConfig c = SampleConfig("AvgPool2d", 3, 1);
  EXPECT_DOUBLE_EQ(back.Find("AvgPool2d")->Predict(c.layer, c.batch_size),
                   lp.Predict(c.layer, c.batch_size));
  // Without blends the better of the two is kept, as before blends existed.
  CalibrateOptions none;
  none.blend_weights.clear();
  const Profile plain = CalibrateProfile(TimeBase(), recs, none);
  const nlohmann::json& p = plain.data["calibration"]["modes"]["forward"]["types"]["AvgPool2d"];
  EXPECT_NE(p["transfer"], "blend");
  EXPECT_FALSE(plain.Find("AvgPool2d")->blend.has_value());
}

// The same wave on ReLU, whose time the base predicts from a few features: a predictor of the
// log ratio to the base (a residual) follows the wave on top of the base's shape and beats the
// transfer, the refit and their blends; it is held within the ratios the records showed.
TEST(Calibration, AResidualOnTheBaseIsKeptWhenItBeatsTransferAndRefit) {
  const std::vector<Measurement> recs = FakeRecords({"ReLU"}, 80, LargeWaves);
  const Profile cal = CalibrateProfile(TimeBase(), recs);
  const nlohmann::json& t = cal.data["calibration"]["modes"]["forward"]["types"]["ReLU"];
  ASSERT_EQ(t["transfer"], "residual") << t.dump();
  EXPECT_EQ(t["cv_mape"], t["residual_cv_mape"]);
  EXPECT_LT(t["cv_mape"].get<double>(), 0.5 * t["transfer_cv_mape"].get<double>());
  EXPECT_LT(t["cv_mape"].get<double>(), 0.9 * t["refit_cv_mape"].get<double>());
  const LayerPredictor& lp = *cal.Find("ReLU");
  ASSERT_TRUE(lp.blend.has_value() && lp.transfer.has_value());
  EXPECT_EQ(lp.blend->kind, "residual");
  EXPECT_EQ(lp.transfer->kind, "identity");
  // The range: the records' log ratios, sin(2 ln b) over the sampled batches.
  double lo = 1e9, hi = -1e9;
  for (const Measurement& m : recs) {
    const double r =
        std::log(m.duration_s / TimeBase().Find("ReLU")->Predict(LayerOf(m), m.batch_size));
    lo = std::min(lo, r);
    hi = std::max(hi, r);
  }
  EXPECT_NEAR(lp.blend->lo, lo, 1e-9);
  EXPECT_NEAR(lp.blend->hi, hi, 1e-9);
  const Profile back = Profile::FromJson(cal.ToJson(), "cal");
  const CollectConfig c = SampleConfig("ReLU", 3, 1);
  EXPECT_DOUBLE_EQ(back.Find("ReLU")->Predict(c.layer, c.batch_size),
                   lp.Predict(c.layer, c.batch_size));
  CalibrateOptions none;
  none.residual = false;
  const nlohmann::json p = CalibrateProfile(TimeBase(), recs, none)
                               .data["calibration"]["modes"]["forward"]["types"]["ReLU"];
  EXPECT_NE(p["transfer"], "residual");
  EXPECT_FALSE(p.contains("residual_cv_mape"));
}

// The weight networks' layers decide which records the selection score counts most: resnet18
// has 20 Conv2d modules (torchvision), each predicted at batch 1 and 8. With network_weight 0
// every record weighs the same again and the profile is the unweighted one.
TEST(Calibration, TheSelectionScoreFollowsTheWeightNetworks) {
  // 25 records: below min_refit_records, so only transfers are fitted (a refit's kernel grid
  // would cost minutes under the sanitizers, and the weights reach transfers the same way).
  std::vector<Measurement> recs = FakeRecords({"Conv2d"}, 25, Waves);
  CalibrateOptions o;
  o.weight_networks = {LoadZooArchitecture("resnet18")};
  const Profile weighted = CalibrateProfile(TimeBase(), recs, o);
  const nlohmann::json& t = weighted.data["calibration"]["modes"]["forward"]["types"]["Conv2d"];
  EXPECT_EQ(t["network_layers"], 40);
  const Profile plain = CalibrateProfile(TimeBase(), recs);
  const nlohmann::json& p = plain.data["calibration"]["modes"]["forward"]["types"]["Conv2d"];
  EXPECT_FALSE(p.contains("network_layers"));
  EXPECT_GT(std::abs(t["cv_mape"].get<double>() - p["cv_mape"].get<double>()), 1e-6);
  o.network_weight = 0;
  const Profile even = CalibrateProfile(TimeBase(), recs, o);
  const nlohmann::json& e = even.data["calibration"]["modes"]["forward"]["types"]["Conv2d"];
  EXPECT_NEAR(e["cv_mape"].get<double>(), p["cv_mape"].get<double>(), 1e-9);
  EXPECT_EQ(e["transfer"], p["transfer"]);
}

}  // namespace
}  // namespace joulecast
