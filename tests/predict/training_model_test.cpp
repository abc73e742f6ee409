#include "joulecast/predict/training_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "error_of.h"
#include "joulecast/predict/energy_baselines.h"

namespace joulecast {
namespace {

using nlohmann::json;

using joulecast_test::ErrorOf;

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

// fp32 and bandwidth are not in the same order, so the two scales give different predictions.
GpuTable Table() {
  return GpuTable::FromJson(
      json{{"gpus", json::array({Gpu("G1", 10, 500, 200), Gpu("G2", 20, 700, 300),
                                 Gpu("G3", 14, 1000, 250)})}},
      "test");
}

// Hand-made parameters: knots L = 0..4 (step 1), u_w(L) = 0.2 + 0.1 L, θ_w(L) = ln(1e-3) − 0.1 L,
// idle fraction 0.1, power and time both scaled by fp32 / 10 TFLOPS (exponent 1), a hard-ish cap
// (ρ 1, n 8) and κ = 0.5.
PhysicalParams HandParams() {
  PhysicalParams p;
  p.idle_fraction = 0.1;
  p.power_scale = "fp32";
  p.power_exponent = 1;
  p.power_scale_ref = 10;
  p.cap_rho = 1;
  p.cap_softness = 8;
  p.time_scale = "fp32";
  p.time_exponent = 1;
  p.time_scale_ref = 10;
  p.powerlimit_exponent = 0.5;
  p.knot_step = 1;
  p.log2_batch_max = 4;
  WorkloadCurves w;
  w.name = "w0";
  w.train_gflops_per_sample = 1;
  w.params_m = 5;
  w.batch_min = 1;
  w.batch_max = 16;
  for (int k = 0; k <= 4; ++k) {
    w.utilisation.push_back(0.2 + 0.1 * k);
    w.log_time.push_back(std::log(1e-3) - 0.1 * k);
  }
  p.workloads.push_back(w);
  return p;
}

TrainingQuery Query(const GpuTable& t, const std::string& gpu, std::int64_t batch,
                    std::optional<double> limit = std::nullopt) {
  TrainingQuery q;
  q.gpu = t.Find(gpu);
  q.train_gflops_per_sample = 1;
  q.params_m = 5;
  q.samples_per_epoch = 1e4;  // N·F = 1e4 GFLOPs per epoch
  q.batch_size = batch;
  q.power_limit_w = limit;
  q.workload = "w0";
  return q;
}

TEST(TrainingModelTest, PredictFollowsTheHeaderFormulas) {
  const GpuTable t = Table();
  const TrainingModel m = TrainingModel::FromParams(HandParams(), {"G1"});
  ASSERT_TRUE(m.fitted());
  // G1, batch 4 (L = 2, u = 0.4), no limit (TDP 200 W): D = 200 (0.1 + 0.9·0.4) = 92 W,
  // P = (92^-8 + 200^-8)^(-1/8) = 91.97697 W, I = 20 W,
  // t = 1e4 · e^(ln 1e-3 − 0.2) · ((92 − 20) / (P − 20))^0.5 = 8.188617 s.
  auto a = m.Predict(Query(t, "G1", 4));
  EXPECT_NEAR(a.power_w, 91.97697120741564, 1e-9);
  EXPECT_NEAR(a.epoch_time_s, 8.188617176943094, 1e-9);
  EXPECT_NEAR(a.epoch_energy_j, 753.1642063122441, 1e-7);
  EXPECT_EQ(a.workload, "w0");
  EXPECT_TRUE(a.workload_matched);
  // G2 (fp32 20: R = 2), batch 16 (u = 0.6), limit 150 W: D = 300 (0.1 + 0.9·2·0.6) = 354 W, the
  // cap holds P at 149.98 W and the time grows by ((354 − 30) / (P − 30))^0.5.
  auto b = m.Predict(Query(t, "G2", 16, 150.0));
  EXPECT_NEAR(b.power_w, 149.9805261647628, 1e-9);
  EXPECT_NEAR(b.epoch_time_s, 5.507688066764833, 1e-9);
  EXPECT_NEAR(b.epoch_energy_j, 826.0459542047748, 1e-7);
  // Batch 64 (L = 6) lies beyond the last knot: the curves extend linearly (u = 0.8,
  // θ = ln 1e-3 − 0.6), D = 164 W.
  auto c = m.Predict(Query(t, "G1", 64));
  EXPECT_NEAR(c.power_w, 160.23112052315, 1e-9);
  EXPECT_NEAR(c.epoch_time_s, 5.561377234435376, 1e-9);
}

// The per-watt power scales: G1 10 TFLOPS, 500 GB/s, 200 W (50 GFLOPS/W, 2.5 GB/s/W); G2 20
// TFLOPS, 700 GB/s, 300 W (66.67 GFLOPS/W, 2.333 GB/s/W). A GPU scaled up as a whole (all specs
// and the TDP times k) keeps its ratio, so only the TDP factor in D changes.
TEST(TrainingModelTest, PerWattPowerScales) {
  const GpuTable t = Table();
  PhysicalParams p = HandParams();
  p.power_scale = "fp32_per_watt";
  p.power_scale_ref = 50;
  p.cap_softness = 64;  // nearly a hard cap, so that P = D below the limit
  const TrainingModel m = TrainingModel::FromParams(p, {"G1"});
  // G2, batch 4 (u = 0.4): R = 66.667 / 50 = 4/3, D = 300 (0.1 + 0.9 · 4/3 · 0.4) = 174 W.
  const double d = 300 * (0.1 + 0.9 * (4.0 / 3.0) * 0.4);
  EXPECT_NEAR(d, 174.0, 1e-12);
  const double expected = std::pow(std::pow(d, -64.0) + std::pow(300.0, -64.0), -1 / 64.0);
  EXPECT_NEAR(m.Predict(Query(t, "G2", 4)).power_w, expected, 1e-9);
  EXPECT_NEAR(expected, 174.0, 1e-6);
  p.power_scale = "bandwidth_per_watt";
  p.power_scale_ref = 2.5;
  // R = (700 / 300) / 2.5 = 0.9333, D = 300 (0.1 + 0.9 · 0.9333 · 0.4) = 130.8 W.
  EXPECT_NEAR(TrainingModel::FromParams(p, {"G1"}).Predict(Query(t, "G2", 4)).power_w, 130.8,
              1e-6);
}

TEST(TrainingModelTest, CoverageAgainstTheTrainingGpus) {
  // Trained on G1 (fp32 10) and G2 (fp32 20), time and power scaled by fp32: G3 (14) lies inside,
  // a G4 of 40 TFLOPS outside; G4 is not in the table the model was given names for.
  const GpuTable t = GpuTable::FromJson(
      json{{"gpus", json::array({Gpu("G1", 10, 500, 200), Gpu("G2", 20, 700, 300),
                                 Gpu("G3", 14, 1000, 250), Gpu("G4", 40, 2000, 400)})}},
      "test");
  const TrainingModel m = TrainingModel::FromParams(HandParams(), {"G1", "G2"});
  auto coverage = [&](const std::string& gpu, std::int64_t batch) {
    const TrainingQuery q = Query(t, gpu, batch);
    return CoverageOf(m, q, m.Predict(q), t);
  };
  const TrainingCoverage in = coverage("G1", 4);
  EXPECT_TRUE(in.gpu_in_training);
  EXPECT_EQ(in.time.scale, "fp32");
  EXPECT_DOUBLE_EQ(in.time.min, 10);
  EXPECT_DOUBLE_EQ(in.time.max, 20);
  EXPECT_FALSE(in.Extrapolating());
  const TrainingCoverage g3 = coverage("G3", 4);
  EXPECT_FALSE(g3.gpu_in_training);
  EXPECT_DOUBLE_EQ(g3.time.value, 14);
  EXPECT_FALSE(g3.Extrapolating());
  const TrainingCoverage g4 = coverage("G4", 4);
  EXPECT_TRUE(g4.time.Outside());
  EXPECT_TRUE(g4.power.Outside());
  EXPECT_TRUE(g4.Extrapolating());
  // The curves of w0 saw batch sizes 1 to 16.
  const TrainingCoverage big = coverage("G1", 64);
  EXPECT_EQ(big.batch_min, 1);
  EXPECT_EQ(big.batch_max, 16);
  EXPECT_TRUE(big.batch_outside);
  EXPECT_TRUE(big.Extrapolating());
  const json j = big.ToJson();
  EXPECT_EQ(j["batch_range"], json::array({1, 16}));
  EXPECT_EQ(j["time_scale"]["outside"], false);
  EXPECT_EQ(j["extrapolating"], true);
  // A "none" scale is 1 for every GPU: never outside.
  PhysicalParams p = HandParams();
  p.time_scale = "none";
  const TrainingModel flat = TrainingModel::FromParams(p, {"G1", "G2"});
  const TrainingQuery q4 = Query(t, "G4", 4);
  EXPECT_FALSE(CoverageOf(flat, q4, flat.Predict(q4), t).time.Outside());
}

TEST(TrainingModelTest, UnknownWorkloadsUseTheSameSpecsOrTheNearest) {
  const GpuTable t = Table();
  PhysicalParams p = HandParams();
  WorkloadCurves big = p.workloads[0];
  big.name = "big";
  big.train_gflops_per_sample = 100;
  big.params_m = 200;
  for (auto& v : big.log_time) v += 1;
  p.workloads.push_back(big);
  const TrainingModel m = TrainingModel::FromParams(p, {"G1"});
  TrainingQuery q = Query(t, "G1", 4);
  q.workload = "renamed";  // same GFLOPs and parameters as w0
  auto a = m.Predict(q);
  EXPECT_EQ(a.workload, "w0");
  EXPECT_TRUE(a.workload_matched);
  EXPECT_NEAR(a.epoch_time_s, 8.188617176943094, 1e-9);
  q.workload = "";
  q.train_gflops_per_sample = 50;  // ln-distance to big (ln 2, ln 5) beats w0's (ln 50, ln 40)
  q.params_m = 40;
  auto b = m.Predict(q);
  EXPECT_EQ(b.workload, "big");
  EXPECT_FALSE(b.workload_matched);
  // big's θ is 1 higher and the work is 50 times w0's: e · 50 · 8.1886 s.
  EXPECT_NEAR(b.epoch_time_s, std::exp(1.0) * 50 * 8.188617176943094, 1e-6);
}

// Records generated by the model's own law (HandParams-like, with three workloads whose curves
// differ and a softer cap), on three GPUs and power limits from 50 % to 100 % of the TDP.
std::vector<TrainingRun> LawRuns(const GpuTable& t) {
  PhysicalParams p = HandParams();
  p.idle_fraction = 0.12;
  p.cap_rho = 0.95;
  p.cap_softness = 16;
  p.powerlimit_exponent = 0.4;
  p.workloads.clear();
  const double F[] = {0.5, 5, 50}, params[] = {1, 20, 100};
  for (int w = 0; w < 3; ++w) {
    WorkloadCurves c;
    c.name = "w" + std::to_string(w);
    c.train_gflops_per_sample = F[w];
    c.params_m = params[w];
    c.batch_min = 8;
    c.batch_max = 128;
    for (int k = 0; k <= 4; ++k) {
      c.utilisation.push_back(0.15 + 0.12 * w + 0.04 * k);  // 0.15 .. 0.55 at 10 TFLOPS
      c.log_time.push_back(std::log(2e-3) - 0.2 * k);
    }
    p.workloads.push_back(c);
  }
  p.knot_step = 1;
  p.log2_batch_max = 4;
  const TrainingModel truth = TrainingModel::FromParams(p, {});
  std::vector<TrainingRun> runs;
  for (const auto& g : t.gpus()) {
    for (int w = 0; w < 3; ++w) {
      for (int bs : {2, 4, 8, 16}) {
        for (double frac : {0.5, 0.75, 1.0}) {
          TrainingRun r;
          r.gpu = g.name;
          r.workload = "w" + std::to_string(w);
          r.optimizer = "sgd";
          r.batch_size = bs;
          r.power_limit_w = frac * g.tdp_w;
          r.samples_per_epoch = 1e4;
          r.train_gflops_per_sample = F[w];
          r.params_m = params[w];
          TrainingQuery q = QueryOf(r, t);
          const TrainingPrediction y = truth.Predict(q);
          r.average_power_w = y.power_w;
          r.epoch_time_s = y.epoch_time_s;
          r.epoch_energy_j = y.epoch_energy_j;
          runs.push_back(r);
        }
      }
    }
  }
  return runs;
}

TrainingModelOptions Small() {
  TrainingModelOptions o;
  o.time_scales = {"none", "fp32", "bandwidth"};
  o.time_exponents = {0.5, 1.0};
  o.power_scales = {"none", "fp32", "bandwidth"};
  o.power_exponents = {0.5, 1.0};
  o.idle_fractions = {0.08, 0.12};
  o.cap_rhos = {0.9, 0.95, 1.0};
  o.cap_softness = {8, 16};
  o.knot_step = 1;
  o.log2_batch_max = 4;
  return o;
}

TEST(TrainingModelTest, LeaveOneGpuOutRecoversTheLawThatMadeTheData) {
  const GpuTable t = Table();
  const auto held = LeaveOneGpuOut(LawRuns(t), t, Small());
  ASSERT_EQ(held.size(), 3u);
  for (const auto& h : held) {
    EXPECT_EQ(h.evaluation.n, 36u);
    EXPECT_EQ(h.model.trained_gpus().size(), 2u);
    // The true hypothesis is among the candidates and is found from the two training GPUs alone.
    EXPECT_EQ(h.model.physical().power_scale, "fp32") << h.gpu;
    EXPECT_EQ(h.model.physical().power_exponent, 1.0) << h.gpu;
    EXPECT_EQ(h.model.physical().idle_fraction, 0.12) << h.gpu;
    EXPECT_EQ(h.model.physical().time_scale, "fp32") << h.gpu;
    EXPECT_EQ(h.model.physical().time_exponent, 1.0) << h.gpu;
    EXPECT_NEAR(h.model.physical().powerlimit_exponent, 0.4, 0.05) << h.gpu;
    // The demand is read off the power at the TDP, which the soft cap lowers slightly: small,
    // not zero, errors.
    EXPECT_LT(h.evaluation.power_mape, 1.0) << h.gpu;
    EXPECT_LT(h.evaluation.time_mape, 1.0) << h.gpu;
    EXPECT_LT(h.evaluation.energy_mape, 1.5) << h.gpu;
  }
}

TEST(TrainingModelTest, JsonRoundTripPredictsIdentically) {
  const GpuTable t = Table();
  TrainingModel m;
  const auto runs = LawRuns(t);
  m.Fit(runs, t, Small());
  m.name = "synthetic";
  const json j = m.ToJson();
  EXPECT_EQ(j["kind"], "joulecast_training_profile");
  EXPECT_EQ(j["format_version"], 2);
  EXPECT_EQ(j["model"], "physical");
  EXPECT_EQ(j["training"]["cv"], "leave-one-gpu-out");
  const TrainingModel back = TrainingModel::FromJson(json::parse(j.dump()), "x.json");
  for (std::int64_t batch : {1, 3, 64, 100000}) {
    TrainingQuery q = QueryOf(runs[5], t);
    q.batch_size = batch;
    const auto a = m.Predict(q), b = back.Predict(q);
    EXPECT_EQ(a.power_w, b.power_w);
    EXPECT_EQ(a.epoch_time_s, b.epoch_time_s);
    EXPECT_EQ(a.epoch_energy_j, b.epoch_energy_j);
  }
  EXPECT_EQ(back.name, "synthetic");
  EXPECT_EQ(back.trained_gpus(), (std::vector<std::string>{"G1", "G2", "G3"}));
  EXPECT_EQ(back.power().cv_mape, m.power().cv_mape);
  EXPECT_EQ(back.time().cv_mape, m.time().cv_mape);
  EXPECT_EQ(back.energy_cv_mape(), m.energy_cv_mape());
  EXPECT_EQ(back.ToJson().dump(), j.dump());
}

TEST(TrainingModelTest, Errors) {
  const GpuTable t = Table();
  TrainingModel unfitted;
  TrainingQuery q = Query(t, "G1", 4);
  EXPECT_EQ(ErrorOf([&] { unfitted.Predict(q); }),
            "TrainingModel::Predict: the model is not fitted");
  EXPECT_EQ(ErrorOf([&] { TrainingModel().Fit({}, t); }), "TrainingModel::Fit: no training runs");
  const TrainingModel m = TrainingModel::FromParams(HandParams(), {"G1"});
  q.batch_size = 0;
  EXPECT_EQ(ErrorOf([&] { m.Predict(q); }), "batch_size must be >= 1, got 0");
  q.batch_size = 8;
  q.power_limit_w = 50;
  EXPECT_EQ(ErrorOf([&] { m.Predict(q); }),
            "power limit 50 W is outside the range of G1 (80-200 W)");
  q.power_limit_w.reset();
  q.samples_per_epoch = 0;
  EXPECT_EQ(ErrorOf([&] { m.Predict(q); }),
            "train_gflops_per_sample, params_m and samples_per_epoch must be > 0, got 1, 5, 0");
  auto runs = LawRuns(t);
  runs[0].gpu = "G9";
  EXPECT_EQ(ErrorOf([&] { TrainingModel().Fit(runs, t); }).rfind("unknown GPU 'G9'", 0), 0u);
  runs = LawRuns(t);
  runs[3].epoch_time_s = 0;
  EXPECT_EQ(ErrorOf([&] { TrainingModel().Fit(runs, t, Small()); }),
            "TrainingModel::Fit: run 3 (w0 on G1) needs batch_size >= 1 and positive samples, "
            "GFLOPs, power and time");
  std::vector<TrainingRun> one;
  for (const auto& r : LawRuns(t))
    if (r.gpu == "G1") one.push_back(r);
  EXPECT_EQ(ErrorOf([&] { LeaveOneGpuOut(one, t, Small()); }),
            "leave-one-GPU-out needs runs on at least 2 GPUs, got 1");
  // A single GPU still fits, by k-fold.
  TrainingModel single;
  EXPECT_NO_THROW(single.Fit(one, t, Small()));
  EXPECT_EQ(single.ToJson()["training"]["cv"], "kfold");
  TrainingModelOptions bad = Small();
  bad.time_scales = {"fp32", "magic"};
  EXPECT_EQ(ErrorOf([&] { TrainingModel().Fit(one, t, bad); }),
            "unknown time scale 'magic' (none, fp32, fp16, bandwidth, fp32_bandwidth, "
            "fp32_per_watt, bandwidth_per_watt)");
  PhysicalParams p = HandParams();
  p.workloads[0].log_time.pop_back();
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromParams(p, {}); }),
            "workload 'w0' has 5 utilisation and 4 log_time values, the knots are 5");

  json j = m.ToJson();
  j["kind"] = "other";
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }),
            "p.json: not a joulecast_training_profile (kind 'other')");
  j = m.ToJson();
  j["format_version"] = 1;
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }),
            "p.json: format_version 1 is the kernel-ridge training profile of an older build: "
            "refit it with `joulecast fit RUNS... -o p.json` (this build reads 2)");
  j["format_version"] = 3;
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }),
            "p.json: unsupported format_version 3 (this build reads 2)");
  j = m.ToJson();
  j["time"]["scale"] = "magic";
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }),
            "p.json: corrupt training profile: unknown time scale 'magic' (none, fp32, fp16, "
            "bandwidth, fp32_bandwidth, fp32_per_watt, bandwidth_per_watt)");
  j = m.ToJson();
  j["power"].erase("cap_rho");
  EXPECT_EQ(ErrorOf([&] { TrainingModel::FromJson(j, "p.json"); }).rfind(
                "p.json: corrupt training profile: ", 0),
            0u);
}

TEST(TrainingModelTest, PredictedPowerNeverExceedsTheLimit) {
  const GpuTable t = Table();
  TrainingModel m;
  m.Fit(LawRuns(t), t, Small());
  for (double limit : {80.0, 120.0, 200.0}) {
    for (std::int64_t batch : {1, 16, 4096}) {  // 4096: far outside the data
      TrainingQuery q = QueryOf(LawRuns(t)[30], t);
      q.power_limit_w = limit;
      q.batch_size = batch;
      EXPECT_LE(m.Predict(q).power_w, limit) << limit << " W, batch " << batch;
    }
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
  const TrainingModel m = TrainingModel::FromParams(HandParams(), {"G1"});
  // Two runs whose measured values are 10 % and 20 % off the model's prediction.
  std::vector<TrainingRun> two;
  for (auto [gpu, batch, off] : {std::tuple{"G1", 4, 1.1}, std::tuple{"G3", 8, 0.8}}) {
    TrainingRun r;
    r.gpu = gpu;
    r.workload = "w0";
    r.batch_size = batch;
    r.samples_per_epoch = 1e4;
    r.train_gflops_per_sample = 1;
    r.params_m = 5;
    const auto y = m.Predict(QueryOf(r, t));
    r.average_power_w = y.power_w * off;
    r.epoch_time_s = y.epoch_time_s * off;
    r.epoch_energy_j = r.average_power_w * r.epoch_time_s;
    two.push_back(r);
  }
  const RunsEvaluation e = EvaluateRuns(m, two, t);
  EXPECT_EQ(e.n, 2u);
  // |1.1 − 1| / 1.1 and |0.8 − 1| / 0.8; energy |1.21 − 1| / 1.21 and |0.64 − 1| / 0.64.
  EXPECT_NEAR(e.power_mape, 50 * (0.1 / 1.1 + 0.2 / 0.8), 1e-9);
  EXPECT_NEAR(e.time_mape, 50 * (0.1 / 1.1 + 0.2 / 0.8), 1e-9);
  EXPECT_NEAR(e.energy_mape, 50 * (0.21 / 1.21 + 0.36 / 0.64), 1e-9);
  double tdp = 0;
  for (const auto& r : two) {
    const double b = t.Find(r.gpu).tdp_w * r.epoch_time_s;
    tdp += std::abs(r.epoch_energy_j - b) / r.epoch_energy_j;
  }
  EXPECT_NEAR(e.tdp_time_energy_mape, 50 * tdp, 1e-9);
  ASSERT_EQ(e.by_gpu.size(), 2u);
  EXPECT_NEAR(e.by_gpu.at("G1").power_mape, 100 * 0.1 / 1.1, 1e-9);
  const json j = e.ToJson();
  EXPECT_TRUE(j["baselines"]["tdp_time"].contains("energy_mape"));
  EXPECT_TRUE(j["baselines"]["green_algorithms"].contains("energy_mape"));
  EXPECT_EQ(j["by_gpu"]["G3"]["n"], 1);
}

}  // namespace
}  // namespace joulecast
