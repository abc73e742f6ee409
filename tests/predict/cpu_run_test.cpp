// A whole training run on a CPU from a layer-wise profile (predict/cpu_run.h), on resnet18 with the
// shipped models/amd-epyc-2c-time.json: the step is the profile's train_step prediction (or the
// frozen step), the epoch ceil(N / B) of them, the total E epochs; energy from --power or the
// profile's measured power; the cheapest of several runs; the checks of a sweep's profiles.
#include "joulecast/predict/cpu_run.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/predict/frozen_step.h"
#include "joulecast/predict/network_estimate.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

class CpuRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    profile_ = new Profile(Profile::Load("models/amd-epyc-2c-time.json"));
    GraphOptions o;
    o.batch = 8;
    graph_ = new graph::Graph(LoadGraph("resnet18", o));
    Profile train = *profile_;
    train.SelectMode("train_step", "m.json");
    step_ = EstimateGraph(train, *graph_).total;
  }
  static void TearDownTestSuite() {
    delete profile_;
    delete graph_;
  }
  static Profile* profile_;
  static graph::Graph* graph_;
  static double step_;  // the profile's train_step prediction of resnet18 at batch 8, s
};

Profile* CpuRunTest::profile_ = nullptr;
graph::Graph* CpuRunTest::graph_ = nullptr;
double CpuRunTest::step_ = 0;

TEST_F(CpuRunTest, StepsEpochsAndTotal) {
  ASSERT_GT(step_, 0);
  CpuRunOptions o;
  o.samples_per_epoch = 50000;
  o.epochs = 3;
  const CpuRunEstimate r = EstimateCpuRun(*profile_, *graph_, o, "m.json");
  EXPECT_EQ(r.batch_size, 8);
  EXPECT_EQ(r.target, "time_s");
  EXPECT_EQ(r.dtype, "float32");
  EXPECT_DOUBLE_EQ(r.step, step_);
  EXPECT_DOUBLE_EQ(*r.step_s, step_);
  EXPECT_DOUBLE_EQ(*r.per_sample_s, step_ / 8);
  EXPECT_DOUBLE_EQ(*r.steps_per_epoch, 6250);  // 50000 / 8
  EXPECT_DOUBLE_EQ(*r.epoch_s, step_ * 6250);
  EXPECT_DOUBLE_EQ(*r.total_s, step_ * 6250 * 3);
  // No power in this profile and none stated: time only.
  EXPECT_FALSE(r.power.has_value());
  EXPECT_FALSE(r.step_j.has_value());
  EXPECT_FALSE(r.total_j.has_value());
  EXPECT_DOUBLE_EQ(r.parameters, r.trainable_parameters);
  const nlohmann::json j = r.ToJson();
  EXPECT_TRUE(j["total_energy_j"].is_null());
  EXPECT_TRUE(j["energy"].is_null());
  EXPECT_TRUE(j["freeze"].is_null());
  EXPECT_DOUBLE_EQ(j["total_time_s"].get<double>(), step_ * 6250 * 3);
  EXPECT_EQ(j["caveat"], kCpuRunCaveat);

  // The last, partial batch is a whole step: 50001 samples take 6251 steps.
  o.samples_per_epoch = 50001;
  EXPECT_DOUBLE_EQ(*EstimateCpuRun(*profile_, *graph_, o, "m.json").steps_per_epoch, 6251);
  // Without a dataset size: the step and per-sample figures only.
  o.samples_per_epoch.reset();
  const CpuRunEstimate s = EstimateCpuRun(*profile_, *graph_, o, "m.json");
  EXPECT_FALSE(s.steps_per_epoch.has_value());
  EXPECT_FALSE(s.total_s.has_value());
  EXPECT_DOUBLE_EQ(*s.per_sample_s, step_ / 8);
}

TEST_F(CpuRunTest, EnergyFromStatedOrMeasuredPower) {
  CpuRunOptions o;
  o.samples_per_epoch = 1000;  // 125 steps
  o.power_w = 35;
  const CpuRunEstimate r = EstimateCpuRun(*profile_, *graph_, o, "m.json");
  ASSERT_TRUE(r.power.has_value());
  EXPECT_EQ(r.power->source, "stated");
  EXPECT_DOUBLE_EQ(*r.total_j, 35 * step_ * 125);
  EXPECT_DOUBLE_EQ(*r.step_j, 35 * step_);
  EXPECT_DOUBLE_EQ(*r.per_sample_j, 35 * step_ / 8);
  const nlohmann::json j = r.ToJson();
  EXPECT_EQ(j["power"]["source"], "assumed");
  EXPECT_EQ(j["energy"], "power x time");
  EXPECT_DOUBLE_EQ(j["total_energy_kwh"].get<double>(), 35 * step_ * 125 / 3.6e6);

  // A profile whose records had a meter: its power, unless --power says otherwise.
  Profile metered = *profile_;
  metered.power = {{"watts", 20.0}, {"source", "measured"}, {"meter", "rapl"}, {"records", 12}};
  o.power_w.reset();
  const CpuRunEstimate m = EstimateCpuRun(metered, *graph_, o, "m.json");
  EXPECT_EQ(m.power->source, "measured");
  EXPECT_DOUBLE_EQ(*m.total_j, 20 * step_ * 125);
  EXPECT_EQ(m.ToJson()["power"]["source"], "measured");
  EXPECT_NE(m.power->detail.find("rapl"), std::string::npos) << m.power->detail;
  o.power_w = 35;
  EXPECT_DOUBLE_EQ(*EstimateCpuRun(metered, *graph_, o, "m.json").total_j, 35 * step_ * 125);
}

TEST_F(CpuRunTest, AnEnergyProfileGivesEnergyAndNoTime) {
  Profile energy = *profile_;
  energy.target = "energy_j";  // the same numbers read as joules
  CpuRunOptions o;
  o.samples_per_epoch = 80;
  o.epochs = 2;
  const CpuRunEstimate r = EstimateCpuRun(energy, *graph_, o, "m.json");
  EXPECT_DOUBLE_EQ(*r.total_j, step_ * 10 * 2);
  EXPECT_FALSE(r.total_s.has_value());
  EXPECT_FALSE(r.step_s.has_value());
  EXPECT_EQ(r.ToJson()["energy"], "predicted");
  o.power_w = 35;
  EXPECT_NE(ErrorOf([&] {
              EstimateCpuRun(energy, *graph_, o, "m.json");
            }).find("--power: profile amd-epyc-2c-time predicts energy already"),
            std::string::npos);
}

TEST_F(CpuRunTest, FrozenParametersShortenTheStep) {
  // The frozen step is predict/frozen_step.h's, whatever modes it reads: where the shipped profile
  // has no input_grad predictors, a copy whose input-gradient part is its forward pass.
  Profile split = *profile_;
  if (!split.HasMode("input_grad")) {
    Profile forward = split;
    forward.SelectMode("forward", "m.json");
    split.other_modes["input_grad"] = forward.layers;
  }
  const std::vector<std::string> frozen{"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"};
  CpuRunOptions o;
  o.frozen = frozen;
  o.samples_per_epoch = 800;  // 100 steps
  const CpuRunEstimate r = EstimateCpuRun(split, *graph_, o, "m.json");
  const FrozenStepEstimate f = EstimateFrozenStep(split, *graph_, frozen, "m.json");
  EXPECT_DOUBLE_EQ(r.step, f.step);
  EXPECT_DOUBLE_EQ(*r.full_step, f.full);
  EXPECT_DOUBLE_EQ(*r.saving, f.saving());
  EXPECT_DOUBLE_EQ(*r.total_s, f.step * 100);
  EXPECT_LT(r.step, step_);
  EXPECT_DOUBLE_EQ(r.trainable_parameters, 512.0 * 1000 + 1000);
  const nlohmann::json j = r.ToJson();
  EXPECT_DOUBLE_EQ(j["freeze"]["full_step_s"].get<double>(), f.full);
  EXPECT_EQ(j["frozen"].size(), 6u);
}

TEST_F(CpuRunTest, Errors) {
  CpuRunOptions o;
  o.epochs = 0;
  EXPECT_EQ(ErrorOf([&] { EstimateCpuRun(*profile_, *graph_, o, "m.json"); }),
            "--epochs must be >= 1, got 0");
  o.epochs = 1;
  o.samples_per_epoch = 0.5;
  EXPECT_EQ(ErrorOf([&] { EstimateCpuRun(*profile_, *graph_, o, "m.json"); }),
            "--dataset-size must be a finite number >= 1, got 0.5");
  o.samples_per_epoch.reset();
  o.frozen = {"layer9"};
  EXPECT_EQ(ErrorOf([&] { EstimateCpuRun(*profile_, *graph_, o, "m.json"); }),
            "--freeze: 'layer9' matches no parameter or module scope");
  // A profile of forward passes only has no training step.
  Profile forward = *profile_;
  forward.SelectMode("forward", "m.json");
  forward.other_modes.clear();
  o.frozen.clear();
  EXPECT_EQ(ErrorOf([&] { EstimateCpuRun(forward, *graph_, o, "f.json"); }),
            "f.json: no train_step predictors in the profile (it has: forward)");
}

CpuRunEstimate RunOf(std::optional<double> total_s, std::optional<double> per_sample_s,
                     std::optional<double> total_j, std::optional<double> per_sample_j) {
  CpuRunEstimate r;
  r.total_s = total_s;
  r.per_sample_s = per_sample_s;
  r.total_j = total_j;
  r.per_sample_j = per_sample_j;
  return r;
}

TEST(CheapestCpuRunTest, EnergyWhenEveryRunHasItElseTime) {
  // Totals of energy: the lowest energy, although another run is faster.
  std::vector<CpuRunEstimate> runs{RunOf(10, 1, 500, 50), RunOf(20, 2, 400, 40),
                                   RunOf(5, 3, 600, 60)};
  CheapestRun c = CheapestCpuRun(runs);
  EXPECT_EQ(c.index, 1u);
  EXPECT_EQ(c.by, "total_energy_j");
  // One run without energy: total time decides.
  runs[1] = RunOf(20, 2, std::nullopt, std::nullopt);
  c = CheapestCpuRun(runs);
  EXPECT_EQ(c.index, 2u);
  EXPECT_EQ(c.by, "total_time_s");
  // No totals (no dataset size): per sample, energy before time.
  runs = {RunOf(std::nullopt, 3, std::nullopt, 30), RunOf(std::nullopt, 2, std::nullopt, 40)};
  c = CheapestCpuRun(runs);
  EXPECT_EQ(c.index, 0u);
  EXPECT_EQ(c.by, "energy_per_sample_j");
  runs[0].per_sample_j.reset();
  c = CheapestCpuRun(runs);
  EXPECT_EQ(c.index, 1u);
  EXPECT_EQ(c.by, "time_per_sample_s");
  // The first of equal runs.
  runs = {RunOf(7, 1, std::nullopt, std::nullopt), RunOf(7, 1, std::nullopt, std::nullopt)};
  EXPECT_EQ(CheapestCpuRun(runs).index, 0u);
  EXPECT_EQ(ErrorOf([] { CheapestCpuRun({}); }), "cheapest run: no runs");
  EXPECT_EQ(CheapestByText("total_energy_j"), "total energy");
  EXPECT_EQ(CheapestByText("time_per_sample_s"), "time per sample");
}

TEST(CheckSweepProfilesTest, OnePerDtypeOfOneMachine) {
  Profile a, b;
  a.hardware = {{"cpu", "AMD EPYC"}};
  b.hardware = {{"cpu", "AMD EPYC"}};
  b.dtype = "bfloat16";
  a.target = b.target = "time_s";
  EXPECT_EQ(ErrorOf([&] { CheckSweepProfiles({a, b}, {"a.json", "b.json"}); }), "");
  EXPECT_EQ(ErrorOf([&] {
              CheckSweepProfiles({a, a}, {"a.json", "c.json"});
            }),
            "--model: a.json and c.json both predict float32 runs: give one profile per dtype");
  Profile x = b;
  x.hardware = {{"cpu", "Intel Xeon"}};
  EXPECT_EQ(ErrorOf([&] {
              CheckSweepProfiles({a, x}, {"a.json", "x.json"});
            }),
            "--model: a.json describes CPU 'AMD EPYC' but x.json 'Intel Xeon': the profiles of "
            "one sweep describe one machine");
  x.hardware = nlohmann::json::object();  // says no CPU: not compared
  EXPECT_EQ(ErrorOf([&] { CheckSweepProfiles({a, x}, {"a.json", "x.json"}); }), "");
  x.target = "energy_j";
  EXPECT_EQ(ErrorOf([&] {
              CheckSweepProfiles({a, x}, {"a.json", "x.json"});
            }),
            "--model: a.json predicts time_s but x.json energy_j: give profiles of one target");
}

}  // namespace
}  // namespace joulecast
