// Runs the built joulecast binary: `train-estimate` (grid region, price, PUE, architectures) and
// `sweep` (batch sizes x power limits, cheapest setting, energy to a Zeus target), each with a
// training profile fitted once on synthetic V100 and RTX 6000 traces; known values, the relations
// between the outputs, and the one-line errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli_helpers.h"
#include "html_checks.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

class TrainEstimateCliTest : public ::testing::Test {
 protected:
  // One profile for the whole suite: import the two synthetic traces and fit.
  static void SetUpTestSuite() {
    dir_ =
        fs::temp_directory_path() / ("joulecast_train_estimate_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "v100.csv") << SyntheticTrace(1.3, 250);
    std::ofstream(dir_ / "rtx.csv") << SyntheticTrace(1.0, 260);
    const std::string d = dir_.string() + "/";
    fit_ok_ = RunJoulecast(dir_, "import zeus " + Quote(d + "v100.csv") + " --gpu V100 -q -o " +
                                     Quote(d + "v100.jsonl"))
                      .status == 0 &&
              RunJoulecast(dir_, "import zeus " + Quote(d + "rtx.csv") +
                                     " --gpu 'RTX 6000' -q -o " + Quote(d + "rtx.jsonl"))
                      .status == 0 &&
              RunJoulecast(dir_, "fit " + Quote(d + "v100.jsonl") + " " + Quote(d + "rtx.jsonl") +
                                     " -q -o " + Quote(d + "gt.json"))
                      .status == 0;
    model_ = " --model " + Quote(d + "gt.json");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    ASSERT_TRUE(fit_ok_) << "importing or fitting the synthetic traces failed";
  }

  Result Run(const std::string& args) { return RunJoulecast(dir_, args + model_); }
  json Json(const std::string& args) {
    Result r = Run(args + " --json");
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    return r.status == 0 ? json::parse(r.out) : json();
  }
  std::string Error(const std::string& args) {
    Result r = Run(args);
    EXPECT_EQ(r.status, 1) << args << ": " << r.out;
    EXPECT_EQ(r.out, "") << args;
    return r.err;
  }

  static fs::path dir_;
  static std::string model_;
  static bool fit_ok_;
};

fs::path TrainEstimateCliTest::dir_;
std::string TrainEstimateCliTest::model_;
bool TrainEstimateCliTest::fit_ok_ = false;

TEST_F(TrainEstimateCliTest, RegionPricePue) {
  const json j = Json(
      "train-estimate resnet50_imagenet --gpu V100 -b 64 --epochs 4 --pue 1.5 "
      "--region DE --price 0.25");
  ASSERT_TRUE(j.is_object());
  // data/carbon/grid_intensity.json, from Green Algorithms' CI_aggregated.csv: Germany 338.66
  // g/kWh, AIB 2021 (data from 2020).
  EXPECT_EQ(j["region"]["code"], "DE");
  EXPECT_EQ(j["region"]["name"], "Germany");
  EXPECT_DOUBLE_EQ(j["region"]["g_co2e_per_kwh"].get<double>(), 338.66);
  EXPECT_EQ(j["region"]["year"], 2020);
  EXPECT_TRUE(Contains(j["region"]["source"].get<std::string>(), "Association of Issuing Bodies"));
  const double kwh = j["total_energy_kwh"].get<double>();
  EXPECT_DOUBLE_EQ(j["total_energy_j"].get<double>(), j["epoch_energy_j"].get<double>() * 4 * 1.5);
  EXPECT_NEAR(kwh, j["total_energy_j"].get<double>() / 3.6e6, 1e-12 * kwh);
  EXPECT_NEAR(j["co2_kg"].get<double>(), kwh * 338.66 / 1000, 1e-12 * kwh);
  EXPECT_NEAR(j["cost"].get<double>(), kwh * 0.25, 1e-12 * kwh);
  EXPECT_DOUBLE_EQ(j["total_time_s"].get<double>(), j["epoch_time_s"].get<double>() * 4);
  // Green Algorithms: (TDP 250 W + 0.3725 W/GB x 32 GB) x t x PUE.
  EXPECT_NEAR(j["baselines"]["green_algorithms"]["total_energy_j"].get<double>(),
              (250 + 0.3725 * 32) * j["total_time_s"].get<double>() * 1.5,
              1e-9 * j["total_energy_j"].get<double>());
  EXPECT_EQ(j["samples_per_epoch"], 1281167);

  Result t = Run("train-estimate resnet50_imagenet --gpu V100 -b 64 --region de");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out,
                       "grid: DE (Germany), 338.66 g CO2e/kWh, data year 2020; source: "
                       "carbonfootprint (March 2022) and Association of Issuing Bodies"))
      << t.out;
  // A region whose source states no year.
  Result tw = Run("train-estimate resnet50_imagenet --gpu V100 -b 64 --region TW");
  EXPECT_TRUE(Contains(tw.out, "grid: TW (Taiwan), 509 g CO2e/kWh, data year not stated"))
      << tw.out;
}

TEST_F(TrainEstimateCliTest, ArchitectureWalkMatchesTheWorkloadTable) {
  // data/workloads.json's resnet50_imagenet was walked from the zoo's resnet50: the same
  // training GFLOPs per sample (6 x forward GMACs = 24.698584944) and parameters (25.557032 M).
  const json a = Json("train-estimate resnet50 --gpu V100 -b 64 --dataset-size 1281167");
  const json w = Json("train-estimate resnet50_imagenet --gpu V100 -b 64");
  ASSERT_TRUE(a.is_object() && w.is_object());
  EXPECT_NEAR(a["train_gflops_per_sample"].get<double>(), 24.698584944, 1e-6);
  EXPECT_NEAR(a["params_m"].get<double>(), 25.557032, 1e-6);
  EXPECT_EQ(a["target"], "architecture resnet50");
  EXPECT_EQ(w["target"], "workload resnet50_imagenet");
  EXPECT_NEAR(a["epoch_energy_j"].get<double>(), w["epoch_energy_j"].get<double>(),
              1e-6 * w["epoch_energy_j"].get<double>());
}

TEST_F(TrainEstimateCliTest, UncertaintyAndExtrapolation) {
  // The suite's profile is fitted on V100 and RTX 6000 runs: its CV is leave-one-GPU-out.
  const json v = Json("train-estimate resnet50_imagenet --gpu V100 -b 64");
  ASSERT_TRUE(v.is_object());
  const json& u = v["uncertainty"];
  EXPECT_EQ(u["cv"], "leave-one-GPU-out");
  EXPECT_EQ(u["trained_gpus"], json::array({"Quadro RTX 6000", "V100 PCIe 32GB"}));
  EXPECT_GT(u["energy_mape"].get<double>(), 0.0);
  EXPECT_TRUE(u["coverage"]["gpu_in_training"].get<bool>());
  EXPECT_FALSE(u["coverage"]["extrapolating"].get<bool>());
  EXPECT_TRUE(u["workload_matched"].get<bool>());
  EXPECT_EQ(u["workload_curves"], "resnet50_imagenet");
  // An H100 is beyond both training GPUs in every spec unit (67 TFLOPS, 3.35 TB/s, 96 GFLOPS/W)
  // whenever the chosen scale is not "none".
  const json h = Json("train-estimate resnet50_imagenet --gpu 'H100 SXM' -b 64");
  ASSERT_TRUE(h.is_object());
  const json& c = h["uncertainty"]["coverage"];
  EXPECT_FALSE(c["gpu_in_training"].get<bool>());
  for (const char* k : {"time_scale", "power_scale"}) {
    const bool none = c[k]["scale"] == "none";
    EXPECT_EQ(c[k]["outside"].get<bool>(), !none) << c.dump();
    if (!none) EXPECT_GT(c[k]["value"].get<double>(), c[k]["max"].get<double>()) << c.dump();
  }
  Result t = Run("train-estimate resnet50_imagenet --gpu 'H100 SXM' -b 64");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out,
                       "uncertainty: leave-one-GPU-out MAPE of this profile over Quadro RTX "
                       "6000, V100 PCIe 32GB: power "))
      << t.out;
  EXPECT_TRUE(Contains(t.out, "unseen GPU: H100 SXM 80GB has no training runs in this profile"))
      << t.out;
  // An architecture without runs borrows the nearest workload's curves, and says so; a batch
  // size beyond the runs' is flagged.
  Result r = Run("train-estimate resnet18 --gpu V100 -b 100000 --dataset-size 50000");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(
      Contains(r.out, "stand-in: no training runs of architecture resnet18; the curves of "))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "extrapolating: batch size 100000 is outside the ")) << r.out;
  EXPECT_FALSE(
      Contains(Run("train-estimate resnet50_imagenet --gpu V100 -b 64").out, "extrapolating"));
}

TEST_F(TrainEstimateCliTest, TrainEstimateBadInput) {
  const std::string base = "train-estimate resnet50_imagenet --gpu V100 -b 64";
  EXPECT_EQ(Error(base + " --region DX"),
            "joulecast: error: unknown region 'DX'; did you mean: DK (Denmark), DE (Germany), MX "
            "(Mexico)? (" JOULECAST_SOURCE_DIR "/data/carbon/grid_intensity.json)\n");
  EXPECT_EQ(Error(base + " --price -1"),
            "joulecast: error: --price must be a finite number >= 0, got -1\n");
  EXPECT_EQ(Error(base + " --intensity -5"),
            "joulecast: error: --intensity must be a finite number >= 0 g/kWh, got -5\n");
  EXPECT_EQ(Error(base + " --pue 0.9"),
            "joulecast: error: --pue must be a finite number >= 1, got 0.9\n");
  EXPECT_EQ(Error(base + " --epochs 0"), "joulecast: error: --epochs must be >= 1, got 0\n");
  EXPECT_EQ(Error(base + " --power-limit 90"),
            "joulecast: error: power limit 90 W is outside the range of V100 PCIe 32GB (100-250 "
            "W)\n");
  const std::string gpu = Error("train-estimate resnet50_imagenet --gpu 'A100 90GB' -b 64");
  EXPECT_EQ(gpu.rfind("joulecast: error: unknown GPU 'A100 90GB'; did you mean: A100", 0), 0u)
      << gpu;
  const std::string target = Error("train-estimate resnet7 --gpu V100 -b 64 --dataset-size 10");
  EXPECT_EQ(target.rfind("joulecast: error: unknown workload or architecture 'resnet7'; workloads: "
                         "shufflenetv2_cifar100, resnet50_imagenet, ",
                         0),
            0u)
      << target;
  EXPECT_TRUE(Contains(target, "; zoo: alexnet, ")) << target;
  // --region and --intensity exclude each other (a usage error, exit 2).
  Result both = Run(base + " --region DE --intensity 100");
  EXPECT_EQ(both.status, 2);
  EXPECT_TRUE(Contains(both.err, "--region")) << both.err;
}

TEST_F(TrainEstimateCliTest, SweepMarksTheCheapestAndEnergyToTarget) {
  const json j = Json(
      "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 64,128,256 "
      "--power-limits 150,250 --epochs 10 --pue 1.2 --region FR");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["workload"], "shufflenetv2_cifar100");
  EXPECT_EQ(j["gpu"], "V100 PCIe 32GB");
  // Zeus's summary_train.csv: 0.65 is the strictest validation accuracy reached at each of 64,
  // 128 and 256; the best (optimizer, learning rate) there is adadelta 0.1 with mean epochs
  // 55.4, 77.4 and 190.0 (5 of 5 runs each).
  EXPECT_DOUBLE_EQ(j["target"].get<double>(), 0.65);
  EXPECT_EQ(j["target_higher_is_better"], true);
  EXPECT_TRUE(Contains(j["mixed_precision"].get<std::string>(), "float16/bfloat16"));
  EXPECT_DOUBLE_EQ(j["region"]["g_co2e_per_kwh"].get<double>(), 51.28);
  const json& rows = j["settings"];
  ASSERT_EQ(rows.size(), 6u);
  const double mean_epochs[] = {55.4, 77.4, 190.0};
  int cheapest = 0, cheapest_target = 0;
  double lowest = INFINITY, lowest_target = INFINITY;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json& r = rows[i];
    EXPECT_EQ(r["batch_size"], (i / 2 == 0 ? 64 : i / 2 == 1 ? 128 : 256));
    EXPECT_DOUBLE_EQ(r["power_limit_w"].get<double>(), i % 2 == 0 ? 150 : 250);
    const double e = r["epoch_energy_j"].get<double>();
    EXPECT_DOUBLE_EQ(r["total_energy_j"].get<double>(), e * 10 * 1.2);
    EXPECT_NEAR(r["co2e_kg"].get<double>(),
                r["total_energy_j"].get<double>() / 3.6e6 * 51.28 / 1000, 1e-15);
    const json& t = r["to_target"];
    ASSERT_TRUE(t.is_object()) << i;
    EXPECT_DOUBLE_EQ(t["epochs"].get<double>(), mean_epochs[i / 2]);
    EXPECT_EQ(t["optimizer"], "adadelta");
    EXPECT_EQ(t["runs_reached"], 5);
    EXPECT_DOUBLE_EQ(t["energy_j"].get<double>(), e * mean_epochs[i / 2] * 1.2);
    cheapest += r["cheapest"].get<bool>() ? 1 : 0;
    cheapest_target += t["cheapest"].get<bool>() ? 1 : 0;
    lowest = std::min(lowest, r["total_energy_j"].get<double>());
    lowest_target = std::min(lowest_target, t["energy_j"].get<double>());
  }
  EXPECT_EQ(cheapest, 1);
  EXPECT_EQ(cheapest_target, 1);
  for (const json& r : rows) {
    if (r["cheapest"].get<bool>()) {
      EXPECT_EQ(r["total_energy_j"].get<double>(), lowest);
    }
    if (r["to_target"]["cheapest"].get<bool>()) {
      EXPECT_EQ(r["to_target"]["energy_j"].get<double>(), lowest_target);
    }
  }

  Result text = Run("sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 64,128 --epochs 10");
  ASSERT_EQ(text.status, 0) << text.err;
  // Without --power-limits the GPU's TDP is the one limit.
  EXPECT_TRUE(Contains(text.out, "\n    64    250 ")) << text.out;
  EXPECT_TRUE(Contains(text.out, "<- cheapest\n")) << text.out;
  EXPECT_TRUE(Contains(text.out, "<- cheapest to target")) << text.out;
  EXPECT_TRUE(Contains(text.out,
                       "mixed precision: not shown: the Zeus traces this profile is fitted on "
                       "have no precision column"))
      << text.out;
}

TEST_F(TrainEstimateCliTest, SweepWithoutEpochsToTarget) {
  // Zeus measured no epochs to target for batch 100: no energy to accuracy, said so.
  const json j = Json("sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 100");
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(j["target"].is_null());
  EXPECT_TRUE(j["settings"][0]["to_target"].is_null());
  EXPECT_EQ(j["settings"][0]["cheapest"], true);
  Result t = Run("sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 100");
  EXPECT_TRUE(Contains(t.out,
                       "epochs to target: none known for shufflenetv2_cifar100 at these "
                       "batch sizes"))
      << t.out;
}

TEST_F(TrainEstimateCliTest, SweepBadInput) {
  const std::string base = "sweep shufflenetv2_cifar100 --gpu V100";
  EXPECT_EQ(Error(base + " --batch-sizes 64,x"),
            "joulecast: error: --batch-sizes: 'x' is not an integer >= 1\n");
  EXPECT_EQ(Error(base + " --batch-sizes 64,0"),
            "joulecast: error: --batch-sizes: '0' is not an integer >= 1\n");
  EXPECT_EQ(Error(base + " --batch-sizes 64,"),
            "joulecast: error: --batch-sizes: expected a comma-separated list, got '64,'\n");
  EXPECT_EQ(Error(base + " --batch-sizes 64 --power-limits 150,400"),
            "joulecast: error: power limit 400 W is outside the range of V100 PCIe 32GB (100-250 "
            "W)\n");
  EXPECT_EQ(Error(base + " --batch-sizes 64 --power-limits 150,lots"),
            "joulecast: error: --power-limits: 'lots' is not a number of watts\n");
  EXPECT_EQ(Error(base + " --batch-sizes 64 --epochs 0"),
            "joulecast: error: --epochs must be >= 1, got 0\n");
  EXPECT_EQ(Error(base + " --batch-sizes 64 --target 0.62"),
            "joulecast: error: --target 0.62 is not a target of shufflenetv2_cifar100; known: "
            "0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, "
            "0.8, 0.85, 0.9, 0.95\n");
  const std::string gpu = Error("sweep shufflenetv2_cifar100 --gpu 'RTX 3080' --batch-sizes 64");
  EXPECT_EQ(gpu.rfind("joulecast: error: unknown GPU 'RTX 3080'; did you mean: RTX 3070", 0), 0u)
      << gpu;
  const std::string w = Error("sweep resnet50 --gpu V100 --batch-sizes 64");
  EXPECT_EQ(w.rfind("joulecast: error: unknown workload 'resnet50'; known: ", 0), 0u) << w;
  EXPECT_EQ(Error(base + " --batch-sizes 64 --region XYZZY")
                .rfind("joulecast: error: unknown region 'XYZZY'", 0),
            0u);
}

// ---- the layer-wise route on a CPU (no --gpu; predict/cpu_run.h) ----

const std::string kCpuModel = "models/amd-epyc-2c-time.json";

class CpuTrainEstimateTest : public CliFixture {
 protected:
  json JsonOf(const std::string& args) {
    Result r = Run(args + " --json");
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    return r.status == 0 ? json::parse(r.out) : json();
  }
  std::string ErrorOf(const std::string& args) {
    Result r = Run(args);
    EXPECT_EQ(r.status, 1) << args << ": " << r.out;
    EXPECT_EQ(r.out, "") << args;
    return r.err;
  }
};

TEST_F(CpuTrainEstimateTest, StepsTimesTheProfilesTrainingStep) {
  // The step is what `predict --mode train_step` says of the batch; 1000 samples at batch 8 are
  // 125 steps an epoch, two epochs 250.
  const json p = JsonOf("predict resnet18 --model " + kCpuModel + " -b 8 --mode train_step");
  ASSERT_TRUE(p.is_object());
  const double step = p["total_s"].get<double>();
  const json j = JsonOf("train-estimate resnet18 --model " + kCpuModel +
                        " -b 8 --epochs 2 --dataset-size 1000");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["route"], "layer-wise CPU");
  EXPECT_EQ(j["target"], "architecture resnet18");
  EXPECT_EQ(j["cpu"], "AMD EPYC");
  EXPECT_EQ(j["dtype"], "float32");
  EXPECT_DOUBLE_EQ(j["step_time_s"].get<double>(), step);
  EXPECT_DOUBLE_EQ(j["time_per_sample_s"].get<double>(), step / 8);
  EXPECT_DOUBLE_EQ(j["steps_per_epoch"].get<double>(), 125);
  EXPECT_DOUBLE_EQ(j["epoch_time_s"].get<double>(), step * 125);
  EXPECT_DOUBLE_EQ(j["total_time_s"].get<double>(), step * 125 * 2);
  // The profile measured no power: time only.
  EXPECT_TRUE(j["total_energy_j"].is_null());
  EXPECT_TRUE(j["power"].is_null());
  EXPECT_TRUE(Contains(j["caveat"].get<std::string>(), "data loading")) << j["caveat"];
  // 1001 samples: the last, partial batch is one more step.
  EXPECT_DOUBLE_EQ(JsonOf("train-estimate resnet18 --model " + kCpuModel +
                          " -b 8 --dataset-size 1001")["steps_per_epoch"]
                       .get<double>(),
                   126);

  Result t =
      Run("train-estimate resnet18 --model " + kCpuModel + " -b 8 --epochs 2 --dataset-size 1000");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(StartsWith(t.out,
                         "architecture resnet18 on AMD EPYC, layer-wise profile "
                         "amd-epyc-2c-time (models/amd-epyc-2c-time.json, float32), batch "
                         "8, 1000 samples/epoch\n"))
      << t.out;
  EXPECT_TRUE(Contains(t.out, "per epoch: 125 steps, ")) << t.out;
  EXPECT_TRUE(Contains(t.out, "energy: not known: the profile measured no power; give --power W"))
      << t.out;
  EXPECT_TRUE(Contains(t.out,
                       "not included: data loading, evaluation passes and checkpointing "
                       "(the profile measured training steps only)\n"))
      << t.out;
}

TEST_F(CpuTrainEstimateTest, StatedPowerGivesEnergy) {
  const json j = JsonOf("train-estimate resnet18 --model " + kCpuModel +
                        " -b 8 --epochs 3 --dataset-size 800 --power 35");
  ASSERT_TRUE(j.is_object());
  const double t = j["total_time_s"].get<double>();
  EXPECT_DOUBLE_EQ(t, j["step_time_s"].get<double>() * 100 * 3);
  EXPECT_DOUBLE_EQ(j["total_energy_j"].get<double>(), 35 * t);
  EXPECT_DOUBLE_EQ(j["total_energy_kwh"].get<double>(), 35 * t / 3.6e6);
  EXPECT_EQ(j["power"]["source"], "assumed");
  EXPECT_EQ(j["energy"], "power x time");
  Result r = Run("train-estimate resnet18 --model " + kCpuModel +
                 " -b 8 --epochs 3 --dataset-size 800 --power 35");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "energy: 35 W x time, assumed (--power 35)\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, " kWh (")) << r.out;
}

TEST_F(CpuTrainEstimateTest, FreezingShortensTheStep) {
  // The frozen step is `predict --freeze`'s (predict/frozen_step.h). Where that needs input_grad
  // predictors that the shipped profile lacks, a copy whose input-gradient part is its forward
  // pass stands in.
  const std::string frozen = " --freeze conv1,bn1,layer1,layer2,layer3,layer4";
  std::string model = kCpuModel;
  Result p = Run("predict resnet18 --model " + model + " -b 8 --mode train_step --json" + frozen);
  if (p.status != 0 && Contains(p.err, "input_grad")) {
    json m = json::parse(Slurp(kCpuModel));
    m["modes"]["input_grad"] = m["modes"]["forward"];
    model = Write("split.json", m.dump());
    p = Run("predict resnet18 --model " + model + " -b 8 --mode train_step --json" + frozen);
  }
  ASSERT_EQ(p.status, 0) << p.err;
  const json f = json::parse(p.out);
  const json j =
      JsonOf("train-estimate resnet18 --model " + model + " -b 8 --dataset-size 80" + frozen);
  ASSERT_TRUE(j.is_object());
  EXPECT_DOUBLE_EQ(j["step_time_s"].get<double>(), f["total_s"].get<double>());
  EXPECT_DOUBLE_EQ(j["total_time_s"].get<double>(), f["total_s"].get<double>() * 10);
  EXPECT_DOUBLE_EQ(j["freeze"]["full_step_s"].get<double>(), f["full_step_s"].get<double>());
  EXPECT_DOUBLE_EQ(j["freeze"]["saving"].get<double>(), f["saving"].get<double>());
  EXPECT_DOUBLE_EQ(j["trainable_parameters"].get<double>(), 512.0 * 1000 + 1000);
  // --trainable fc is the same run as freezing everything else.
  const json t_fc =
      JsonOf("train-estimate resnet18 --model " + model + " -b 8 --dataset-size 80 --trainable fc");
  ASSERT_TRUE(t_fc.is_object());
  EXPECT_DOUBLE_EQ(t_fc["step_time_s"].get<double>(), j["step_time_s"].get<double>());
  EXPECT_EQ(ErrorOf("train-estimate resnet18 --model " + model +
                    " -b 8 --dataset-size 80 --trainable fc" + frozen),
            "joulecast: error: --freeze and --trainable: give one (--trainable freezes the "
            "rest)\n");
  const json plain =
      JsonOf("train-estimate resnet18 --model " + kCpuModel + " -b 8 --dataset-size 80");
  EXPECT_LT(j["step_time_s"].get<double>(), plain["step_time_s"].get<double>());
  Result t = Run("train-estimate resnet18 --model " + model + " -b 8 --dataset-size 80" + frozen);
  EXPECT_TRUE(Contains(t.out,
                       "frozen:    conv1, bn1, layer1, layer2, layer3, layer4: 0.513 M of "
                       "11.69 M parameters trained"))
      << t.out;
}

TEST_F(CpuTrainEstimateTest, AWorkloadBringsItsDatasetSize) {
  const json j = JsonOf("train-estimate shufflenetv2_cifar100 --model " + kCpuModel + " -b 64");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["target"], "workload shufflenetv2_cifar100");
  EXPECT_DOUBLE_EQ(j["samples_per_epoch"].get<double>(), 50000);  // CIFAR-100's training set
  EXPECT_DOUBLE_EQ(j["steps_per_epoch"].get<double>(), 782);      // ceil(50000 / 64)
}

TEST_F(CpuTrainEstimateTest, HtmlHoldsTheJsonsNumbers) {
  const std::string args =
      "train-estimate resnet18 --model " + kCpuModel + " -b 8 --dataset-size 1000 --power 35";
  const json j = JsonOf(args);
  ASSERT_TRUE(j.is_object());
  Result r = Run(args + " --html " + Quote(P("run.html")));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string html = Slurp(P("run.html"));
  std::size_t figures = 0;
  for (const auto& f : joulecast_test::HtmlFigures(html)) {
    EXPECT_DOUBLE_EQ(j.at(json::json_pointer(f.pointer)).get<double>(), f.value) << f.pointer;
    ++figures;
  }
  EXPECT_GE(figures, 3u);  // energy, time, power
  EXPECT_TRUE(Contains(html, "data-json=\"/total_energy_j\"")) << html;
  EXPECT_TRUE(Contains(html, "Not included: data loading")) << html;
  EXPECT_TRUE(Contains(html, "35 W, assumed (--power 35)")) << html;
  // Without a power: time only, no energy on the page.
  Result t = Run("train-estimate resnet18 --model " + kCpuModel +
                 " -b 8 --dataset-size 1000 --html " + Quote(P("time.html")));
  ASSERT_EQ(t.status, 0) << t.err;
  const std::string time_only = Slurp(P("time.html"));
  EXPECT_TRUE(Contains(time_only, "data-json=\"/total_time_s\"")) << time_only;
  EXPECT_FALSE(Contains(time_only, "/total_energy_j")) << time_only;
  EXPECT_TRUE(Contains(time_only, "Time only: the profile measured no power")) << time_only;
}

TEST_F(CpuTrainEstimateTest, BadInput) {
  const std::string base = "train-estimate resnet18 --model " + kCpuModel + " -b 8";
  EXPECT_EQ(ErrorOf(base + " --dataset-size 100 --dtype bfloat16"),
            "joulecast: error: --dtype bfloat16: models/amd-epyc-2c-time.json: the profile "
            "amd-epyc-2c-time predicts float32 runs, not bfloat16; fit a bfloat16 profile from "
            "records of `collect --dtype bfloat16`\n");
  EXPECT_EQ(ErrorOf(base),
            "joulecast: error: resnet18 is an architecture, not a workload of "
            "data/workloads.json: give --dataset-size\n");
  EXPECT_EQ(ErrorOf(base + " --dataset-size 100 --power -3"),
            "joulecast: error: --power must be > 0, got -3\n");
  EXPECT_EQ(ErrorOf(base + " --dataset-size 100 --power-limit 100 --region DE"),
            "joulecast: error: --power-limit, --region: only with --gpu; a run on a CPU from a "
            "layer-wise profile takes -b, --epochs, --dataset-size, --freeze, --trainable, "
            "--dtype and --power\n");
  EXPECT_EQ(ErrorOf(base + " --dataset-size 100 --freeze layer9"),
            "joulecast: error: --freeze: 'layer9' matches no parameter or module scope\n");
  EXPECT_EQ(ErrorOf("train-estimate resnet18 -b 8 --dataset-size 100"),
            "joulecast: error: --gpu: required with a training-run profile (" JOULECAST_SOURCE_DIR
            "/models/gpu-training.json); for a run on a CPU give a layer-wise profile with --model "
            "(e.g. models/amd-epyc-2c-time.json)\n");
  EXPECT_EQ(ErrorOf("train-estimate resnet18 -b 8 --dataset-size 100 --model "
                    "models/xeon-gold-5120.json"),
            "joulecast: error: models/xeon-gold-5120.json: no train_step predictors in the "
            "profile (it has: forward)\n");
  EXPECT_EQ(ErrorOf("train-estimate resnet50_imagenet --gpu V100 -b 64 --power 35"),
            "joulecast: error: --power: only for a layer-wise CPU profile (without --gpu); the "
            "GPU route models power\n");
}

}  // namespace
