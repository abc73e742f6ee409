#include "joulecast/predict/training_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "joulecast/predict/energy_baselines.h"

namespace joulecast {
namespace {

using nlohmann::json;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

json Gpu(const std::string& name, double fp32, double bw, double tdp) {
  return {{"name", name},
          {"architecture", "test"},
          {"cuda_cores", 1000},
          {"sms", 10},
          {"memory_gb", 16},
          {"memory_bandwidth_gbs", bw},
          {"tdp_w", tdp},
          {"power_limit_min_w", 0.4 * tdp},
          {"boost_clock_mhz", 1000},
          {"fp32_tflops", fp32},
          {"source", "synthetic"}};
}

GpuTable Table() {
  return GpuTable::FromJson(
      json{{"gpus", json::array({Gpu("G1", 10, 500, 200), Gpu("G2", 20, 700, 300),
                                 Gpu("G3", 14, 1000, 250)})}},
      "test");
}

// A synthetic law that follows the fp32 scale exactly: time = N·F / (fp32 · 1e3 · eff(batch))
// with eff rising with the batch size, power = cap · (0.55 + 0.05 · log2(batch) / 3) (below 1).
std::vector<TrainingRun> Runs(const GpuTable& t) {
  std::vector<TrainingRun> runs;
  const double F[] = {0.5, 5, 50};
  const double params[] = {1, 20, 100};
  for (const auto& g : t.gpus()) {
    for (int w = 0; w < 3; ++w) {
      for (int bs : {8, 32, 128}) {
        for (double frac : {0.6, 0.8, 1.0}) {
          TrainingRun r;
          r.gpu = g.name;
          r.workload = "w" + std::to_string(w);
          r.batch_size = bs;
          r.power_limit_w = frac * g.tdp_w;
          r.samples_per_epoch = 10000;
          r.train_gflops_per_sample = F[w];
          r.params_m = params[w];
          const double eff = 0.2 * std::pow(bs, 0.15) * std::pow(frac, 0.3);
          r.epoch_time_s = r.samples_per_epoch * F[w] / (g.fp32_tflops * 1e3 * eff);
          r.average_power_w = *r.power_limit_w * (0.55 + 0.05 * std::log2(bs) / 3);
          r.epoch_energy_j = r.epoch_time_s * r.average_power_w;
          runs.push_back(r);
        }
      }
    }
  }
  return runs;
}

TrainingModelOptions Small() {
  TrainingModelOptions o;
  o.ridge_alphas = {0.01, 1};
  o.kernel_alphas = {0.1};
  o.gammas = {0.1};
  return o;
}

TEST(TrainingModelTest, LeaveOneGpuOutRecoversALawThatFollowsTheSpecs) {
  const GpuTable t = Table();
  const auto held = LeaveOneGpuOut(Runs(t), t, Small());
  ASSERT_EQ(held.size(), 3u);
  for (const auto& h : held) {
    EXPECT_EQ(h.evaluation.n, 27u);
    EXPECT_LT(h.evaluation.power_mape, 3.0) << h.gpu;
    EXPECT_LT(h.evaluation.time_mape, 5.0) << h.gpu;
    EXPECT_LT(h.evaluation.energy_mape, 6.0) << h.gpu;
    EXPECT_EQ(h.model.time().time_scale, "fp32") << h.gpu;
    EXPECT_EQ(h.model.trained_gpus().size(), 2u);
  }
}

TEST(TrainingModelTest, JsonRoundTripPredictsIdentically) {
  const GpuTable t = Table();
  TrainingModel m;
  m.Fit(Runs(t), t, Small());
  m.name = "synthetic";
  const json j = m.ToJson();
  EXPECT_EQ(j["kind"], "joulecast_training_profile");
  EXPECT_EQ(j["format_version"], 1);
  const TrainingModel back = TrainingModel::FromJson(json::parse(j.dump()), "x.json");
  TrainingQuery q = QueryOf(Runs(t)[5], t);
  q.batch_size = 64;
  const auto a = m.Predict(q), b = back.Predict(q);
  EXPECT_EQ(a.power_w, b.power_w);
  EXPECT_EQ(a.epoch_time_s, b.epoch_time_s);
  EXPECT_EQ(a.epoch_energy_j, b.epoch_energy_j);
  EXPECT_EQ(back.name, "synthetic");
  EXPECT_EQ(back.trained_gpus(), (std::vector<std::string>{"G1", "G2", "G3"}));
}

TEST(TrainingModelTest, Errors) {
  const GpuTable t = Table();
  TrainingModel unfitted;
  TrainingQuery q = QueryOf(Runs(t)[0], t);
  EXPECT_EQ(ErrorOf([&] { unfitted.Predict(q); }),
            "TrainingModel::Predict: the model is not fitted");
  EXPECT_EQ(ErrorOf([&] { TrainingModel().Fit({}, t); }), "TrainingModel::Fit: no training runs");
  TrainingModel m;
  m.Fit(Runs(t), t, Small());
  q.batch_size = 0;
  EXPECT_EQ(ErrorOf([&] { m.Predict(q); }), "batch_size must be >= 1, got 0");
  q.batch_size = 8;
  q.power_limit_w = 50;
  EXPECT_EQ(ErrorOf([&] { m.Predict(q); }),
            "power limit 50 W is outside the range of G1 (80-200 W)");
  auto runs = Runs(t);
  runs[0].gpu = "G9";
  EXPECT_EQ(ErrorOf([&] { TrainingModel().Fit(runs, t); }).rfind("unknown GPU 'G9'", 0), 0u);
  std::vector<TrainingRun> one;
  for (const auto& r : Runs(t))
    if (r.gpu == "G1") one.push_back(r);
  EXPECT_EQ(ErrorOf([&] { LeaveOneGpuOut(one, t, Small()); }),
            "leave-one-GPU-out needs runs on at least 2 GPUs, got 1");
  // A single GPU still fits, by k-fold.
  TrainingModel single;
  EXPECT_NO_THROW(single.Fit(one, t, Small()));
  json j = m.ToJson();
  j["kind"] = "other";
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }),
            "p.json: not a joulecast_training_profile (kind 'other')");
  j = m.ToJson();
  j["format_version"] = 2;
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }),
            "p.json: unsupported format_version 2 (this build reads 1)");
  j = m.ToJson();
  j["time"]["time_scale"] = "magic";
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }),
            "p.json: corrupt training profile: unknown time scale 'magic' (fp32, fp16, "
            "bandwidth, fp32_bandwidth)");
}

TEST(TrainingModelTest, PredictedPowerNeverExceedsTheLimit) {
  const GpuTable t = Table();
  TrainingModel m;
  m.Fit(Runs(t), t, Small());
  for (double limit : {80.0, 120.0, 200.0}) {
    TrainingQuery q = QueryOf(Runs(t)[0], t);
    q.power_limit_w = limit;
    q.batch_size = 4096;  // far outside the data
    EXPECT_LE(m.Predict(q).power_w, limit);
  }
}

TEST(EnergyBaselinesTest, HandValues) {
  const GpuTable t = Table();
  const GpuSpec& g = t.Find("G1");  // 200 W, 16 GB
  EXPECT_DOUBLE_EQ(TdpTimeEnergyJ(g, 10), 2000);
  // 10 s × (200 W × 1.0 + 16 GB × 0.3725 W/GB) × 1.67 = 10 × 205.96 × 1.67
  EXPECT_NEAR(GreenAlgorithmsEnergyJ(g, 10, 1.67), 3439.532, 1e-9);
  EXPECT_NEAR(GreenAlgorithmsEnergyJ(g, 10, 1.0), 2059.6, 1e-9);
}

TEST(RunsEvaluationTest, MapesAgainstHandComputedValues) {
  const GpuTable t = Table();
  TrainingModel m;
  auto runs = Runs(t);
  m.Fit(runs, t, Small());
  std::vector<TrainingRun> two{runs[0], runs[30]};
  const auto pred = m.PredictRuns(two, t);
  const RunsEvaluation e = EvaluateRuns(m, two, t);
  double pm = 0, em = 0, tdp = 0;
  for (int i = 0; i < 2; ++i) {
    pm += std::abs(two[i].average_power_w - pred[i].power_w) / two[i].average_power_w;
    em += std::abs(two[i].epoch_energy_j - pred[i].epoch_energy_j) / two[i].epoch_energy_j;
    const double b = t.Find(two[i].gpu).tdp_w * two[i].epoch_time_s;
    tdp += std::abs(two[i].epoch_energy_j - b) / two[i].epoch_energy_j;
  }
  EXPECT_NEAR(e.power_mape, 50 * pm, 1e-9);
  EXPECT_NEAR(e.energy_mape, 50 * em, 1e-9);
  EXPECT_NEAR(e.tdp_time_energy_mape, 50 * tdp, 1e-9);
  EXPECT_EQ(e.by_gpu.size(), 2u);
  const json j = e.ToJson();
  EXPECT_TRUE(j["baselines"]["tdp_time"].contains("energy_mape"));
  EXPECT_TRUE(j["baselines"]["green_algorithms"].contains("energy_mape"));
}

}  // namespace
}  // namespace joulecast
