// Runs the built joulecast binary on training-run data: import zeus, fit and evaluate on
// training runs, evaluate-logo, train-estimate; exit status, stdout, stderr and files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

class TrainingCliTest : public CliFixture {
 protected:
  // Imports synthetic V100 and RTX 6000 traces; returns the two run files.
  std::pair<std::string, std::string> Import() {
    Write("v100.csv", SyntheticTrace(1.3, 250));
    Write("rtx.csv", SyntheticTrace(1.0, 260));
    Result a =
        Run("import zeus " + Quote(P("v100.csv")) + " --gpu V100 -o " + Quote(P("v100.jsonl")));
    Result b = Run("import zeus " + Quote(P("rtx.csv")) + " --gpu 'RTX 6000' -q -o " +
                   Quote(P("rtx.jsonl")));
    EXPECT_EQ(a.status, 0) << a.err;
    EXPECT_EQ(b.status, 0) << b.err;
    EXPECT_EQ(a.err, "imported 54 training runs on V100 PCIe 32GB -> " + P("v100.jsonl") + "\n");
    EXPECT_EQ(b.err, "");
    return {P("v100.jsonl"), P("rtx.jsonl")};
  }
};

TEST_F(TrainingCliTest, ImportZeusWritesOneRecordPerRow) {
  auto [v100, rtx] = Import();
  std::ifstream in(v100);
  std::string line;
  std::size_t n = 0;
  json first;
  while (std::getline(in, line)) {
    if (n++ == 0) first = json::parse(line);
  }
  EXPECT_EQ(n, 54u);
  EXPECT_EQ(first["kind"], "training_run");
  EXPECT_EQ(first["gpu"], "V100 PCIe 32GB");
  EXPECT_EQ(first["workload"], "shufflenetv2_cifar100");
  EXPECT_DOUBLE_EQ(first["epoch_energy_j"].get<double>(),
                   first["epoch_time_s"].get<double>() * first["average_power_w"].get<double>());
}

TEST_F(TrainingCliTest, ImportZeusErrors) {
  Write("v100.csv", SyntheticTrace(1.3, 250));
  Result r = Run("import zeus " + Quote(P("v100.csv")) + " --gpu V10 -o " + Quote(P("x.jsonl")));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("joulecast: error: unknown GPU 'V10'; did you mean: V100 PCIe 32GB", 0), 0u)
      << r.err;
  // The trace goes down to 125 W; the T4's range ends at 70 W.
  r = Run("import zeus " + Quote(P("v100.csv")) + " --gpu T4 -o " + Quote(P("x.jsonl")));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(Contains(r.err, P("v100.csv") + ":2: power limit 125 W is outside the range of T4"))
      << r.err;
  EXPECT_FALSE(fs::exists(P("x.jsonl")));
  r = Run("import zeus " + Quote(P("v100.csv")) + " -o " + Quote(P("x.jsonl")));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(Contains(r.err, "--gpu")) << r.err;
}

TEST_F(TrainingCliTest, FitAndEvaluateTrainingRuns) {
  auto [v100, rtx] = Import();
  Result f = Run("fit " + Quote(v100) + " " + Quote(rtx) + " -o " + Quote(P("gt.json")));
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_TRUE(Contains(f.out, "108 training runs on 2 GPU(s); selection by leave-one-GPU-out CV"))
      << f.out;
  EXPECT_EQ(json::parse(Slurp(P("gt.json")))["kind"], "joulecast_training_profile");
  Result e = Run("evaluate --model " + Quote(P("gt.json")) + " " + Quote(v100) + " --json");
  ASSERT_EQ(e.status, 0) << e.err;
  const json j = json::parse(e.out);
  EXPECT_EQ(j["runs"]["n"], 54);
  for (const char* k : {"power_mape", "time_mape", "energy_mape"}) {
    EXPECT_TRUE(j["runs"][k].is_number()) << k;
  }
  EXPECT_TRUE(j["runs"]["baselines"]["tdp_time"]["energy_mape"].is_number());
  EXPECT_TRUE(j["runs"]["baselines"]["green_algorithms"]["energy_mape"].is_number());
  Result t = Run("evaluate --model " + Quote(P("gt.json")) + " " + Quote(v100) + " " + Quote(rtx));
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out, "Quadro RTX 6000")) << t.out;
  // Mixing record kinds is refused.
  Write("layer.jsonl", "{\"type\": \"Linear\", \"batch_size\": 1, \"duration_s\": 1}\n");
  Result mix =
      Run("fit " + Quote(v100) + " " + Quote(P("layer.jsonl")) + " -o " + Quote(P("m.json")));
  EXPECT_EQ(mix.status, 1);
  EXPECT_EQ(mix.err, "joulecast: error: fit: " + v100 + " holds training runs but " +
                         P("layer.jsonl") + " does not: give one kind of record\n");
}

TEST_F(TrainingCliTest, LeaveOneGpuOut) {
  auto [v100, rtx] = Import();
  Result r = Run("evaluate-logo " + Quote(v100) + " " + Quote(rtx));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "V100 PCIe 32GB")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Quadro RTX 6000")) << r.out;
  Result j = Run("evaluate-logo " + Quote(v100) + " " + Quote(rtx) + " --json");
  ASSERT_EQ(j.status, 0) << j.err;
  const json out = json::parse(j.out);
  EXPECT_EQ(out["leave_one_gpu_out"]["V100 PCIe 32GB"]["n"], 54);
  Result one = Run("evaluate-logo " + Quote(v100));
  EXPECT_EQ(one.status, 1);
  EXPECT_EQ(one.err, "joulecast: error: leave-one-GPU-out needs runs on at least 2 GPUs, got 1\n");
}

// A quoted glob over a directory that also holds other records (data/zeus2023/*.jsonl holds
// epochs_to_target.jsonl) skips those files with a note; a file named outright must hold runs.
TEST_F(TrainingCliTest, LeaveOneGpuOutGlobSkipsOtherRecords) {
  auto [v100, rtx] = Import();
  const std::string targets = Write(
      "targets.jsonl",
      "{\"kind\": \"epochs_to_target\", \"workload\": \"resnet50_imagenet\", \"batch_size\": 8}\n");
  Write("empty.jsonl", "\n");
  // In the glob's (sorted) order, so that the fits see the runs in the same order.
  Result named = Run("evaluate-logo " + Quote(rtx) + " " + Quote(v100) + " --json");
  ASSERT_EQ(named.status, 0) << named.err;
  Result r = Run("evaluate-logo " + Quote(P("*.jsonl")) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "evaluate-logo: note: skipped " + P("empty.jsonl") + " (matched by '" +
                       P("*.jsonl") + "'): it holds no records, not training runs\n" +
                       "evaluate-logo: note: skipped " + targets + " (matched by '" + P("*.jsonl") +
                       "'): its records are of kind 'epochs_to_target', not " + "training runs\n");
  EXPECT_EQ(r.out, named.out);  // the same runs, the same result
  Result e = Run("evaluate-logo " + Quote(v100) + " " + Quote(targets));
  EXPECT_EQ(e.status, 1);
  EXPECT_EQ(e.err, "joulecast: error: evaluate-logo: " + targets +
                       ": its records are of kind 'epochs_to_target', not training runs\n");
  Result none = Run("evaluate-logo " + Quote(P("t*.jsonl")));
  EXPECT_EQ(none.status, 1);
  EXPECT_EQ(none.err, "evaluate-logo: note: skipped " + targets + " (matched by '" + P("t*.jsonl") +
                          "'): its records are of kind 'epochs_to_target', not " +
                          "training runs\njoulecast: error: evaluate-logo: none of the files "
                          "holds training runs\n");
  Result missing = Run("evaluate-logo " + Quote(P("nope.jsonl")) + " " + Quote(v100));
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err, "joulecast: error: " + P("nope.jsonl") + ": cannot open\n");
}

TEST_F(TrainingCliTest, TrainEstimate) {
  auto [v100, rtx] = Import();
  ASSERT_EQ(Run("fit " + Quote(v100) + " " + Quote(rtx) + " -q -o " + Quote(P("gt.json"))).status,
            0);
  const std::string m = " --model " + Quote(P("gt.json"));
  Result r =
      Run("train-estimate resnet50_imagenet --gpu V100 -b 64 --epochs 3 --price 0.5 "
          "--intensity 400 --pue 1.2 --json" +
          m);
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["epochs"], 3);
  EXPECT_DOUBLE_EQ(j["total_energy_j"].get<double>(), j["epoch_energy_j"].get<double>() * 3 * 1.2);
  EXPECT_NEAR(j["total_energy_kwh"].get<double>(), j["total_energy_j"].get<double>() / 3.6e6,
              1e-12);
  EXPECT_NEAR(j["co2_kg"].get<double>(), j["total_energy_kwh"].get<double>() * 0.4, 1e-12);
  EXPECT_NEAR(j["cost"].get<double>(), j["total_energy_kwh"].get<double>() * 0.5, 1e-12);
  EXPECT_NEAR(j["baselines"]["tdp_time"]["total_energy_j"].get<double>(),
              250 * j["total_time_s"].get<double>() * 1.2, 1e-6);
  // An architecture needs the data-set size; a zoo name walks the network.
  Result arch = Run("train-estimate resnet18 --gpu A100 -b 64" + m);
  EXPECT_EQ(arch.status, 1);
  EXPECT_EQ(arch.err,
            "joulecast: error: resnet18 is an architecture, not a workload of "
            "data/workloads.json: give --dataset-size\n");
  EXPECT_EQ(Run("train-estimate resnet18 --gpu A100 -b 64 --dataset-size 50000" + m).status, 0);
  Result ep = Run("train-estimate resnet50_imagenet --gpu V100 -b 64 --epochs 0" + m);
  EXPECT_EQ(ep.err, "joulecast: error: --epochs must be >= 1, got 0\n");
  Result pl = Run("train-estimate resnet50_imagenet --gpu V100 -b 64 --power-limit 400" + m);
  EXPECT_EQ(
      pl.err,
      "joulecast: error: power limit 400 W is outside the range of V100 PCIe 32GB (100-250 W)\n");
  Result g = Run("train-estimate resnet50_imagenet --gpu 'RTX 4080' -b 64" + m);
  EXPECT_EQ(g.status, 1);
  EXPECT_TRUE(Contains(g.err, "unknown GPU 'RTX 4080'; did you mean: RTX 4090")) << g.err;
}

}  // namespace
