// Time profiles from the collector's records through the CLI: fit --target time_s on records of
// both modes gives one profile; predict/compare --mode pick the mode and say seconds; evaluate
// scores whole-network records per mode and per architecture x batch. Known values throughout:
// the synthetic records follow exact per-element laws that the fitted trend reproduces.
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

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

// A collector-style record (energy null, meter none) of an element-wise layer whose time is
// `ns` nanoseconds per element of the batch.
json Record(const std::string& type, const std::string& mode, std::int64_t batch,
            std::int64_t elements, double ns) {
  return {{"format_version", 1},
          {"type", type},
          {"params", json::object()},
          {"batch_size", batch},
          {"input_shape", {elements}},
          {"dtype", "float32"},
          {"mode", mode},
          {"device", "cpu"},
          {"hardware", {{"cpu", "Test CPU"}}},
          {"repetitions", 5},
          {"duration_s", ns * 1e-9 * double(batch) * double(elements)},
          {"energy_j", nullptr},
          {"meter", "none"},
          {"context", {{"threads", 1}}},
          {"provenance", {{"source", "joulecast collect"}}}};
}

class TimeProfileTest : public CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    // Two files per mode, as a sharded campaign leaves them; fit reads them through a glob.
    for (const std::string mode : {"forward", "train_step"}) {
      for (int shard = 0; shard < 2; ++shard) {
        std::ofstream out(dir_ / ("layers-" + mode + "-" + std::to_string(shard) + ".jsonl"));
        for (int i = shard; i < 40; i += 2) {
          const std::int64_t b = 1 + (i * 7) % 32, n = 100 + (i * 977) % 20000;
          const double f = mode == "forward" ? 1.0 : 3.0;
          out << Record("ReLU", mode, b, n, 0.5 * f).dump() << "\n";
          out << Record("Dropout", mode, b, n, 0.25 * f).dump() << "\n";
        }
      }
    }
    profile_ = (dir_ / "time.json").string();
  }
  Result Fit() {
    return Run("fit " + Quote((dir_ / "layers-*.jsonl").string()) + " --target time_s -o " +
               Quote(profile_) + " --name test-time");
  }
  json Json(const std::string& args) {
    Result r = Run(args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    return r.status == 0 ? json::parse(r.out) : json();
  }
  std::string profile_;
};

TEST_F(TimeProfileTest, FitHoldsBothModes) {
  Result r = Fit();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("mode forward (time_s per forward pass of the batch)\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("mode train_step (time_s per training step of the batch)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(4 layer types in 2 modes, "), std::string::npos) << r.out;
  const json p = json::parse(Slurp(profile_));
  EXPECT_EQ(p["format_version"], 2);
  EXPECT_EQ(p["target"], "time_s");
  EXPECT_EQ(p["data"]["files"].size(), 4u);
  EXPECT_EQ(p["data"]["modes"]["forward"]["records"], 80);
  EXPECT_EQ(p["data"]["modes"]["train_step"]["records"], 80);
  for (const std::string mode : {"forward", "train_step"}) {
    for (const std::string type : {"ReLU", "Dropout"}) {
      ASSERT_TRUE(p["modes"][mode]["layers"].contains(type)) << mode << " " << type;
      EXPECT_EQ(p["modes"][mode]["layers"][type]["training"]["target"], "time_s");
      EXPECT_LT(p["modes"][mode]["layers"][type]["cv"]["metrics"]["mape"].get<double>(), 1e-6);
    }
  }
}

// Every training-step type with a forward predictor gets the forward-plus-transfer candidate:
// kept (with its transfer and cv.from) or not (cv.from_forward_mape says what it scored; here the
// direct fits are exact already); --no-from-forward does not try it.
TEST_F(TimeProfileTest, TrainStepFromForwardUnlessToldNot) {
  ASSERT_EQ(Fit().status, 0);
  // Parsed into a local: a range-for over a temporary's member would read freed memory.
  const json fitted = json::parse(Slurp(profile_));
  for (const auto& [type, lp] : fitted["modes"]["train_step"]["layers"].items()) {
    if (lp.contains("transfer")) {
      EXPECT_EQ(lp["cv"]["from"], "forward") << type;
    } else {
      EXPECT_TRUE(lp["cv"].contains("from_forward_mape")) << type;
    }
  }
  Result r = Run("fit " + Quote((dir_ / "layers-*.jsonl").string()) + " --target time_s -o " +
                 Quote(profile_) + " --no-from-forward");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("forward predictor"), std::string::npos) << r.out;
  const json direct = json::parse(Slurp(profile_));
  for (const auto& [type, lp] : direct["modes"]["train_step"]["layers"].items()) {
    EXPECT_FALSE(lp.contains("transfer")) << type;
    EXPECT_FALSE(lp["cv"].contains("from_forward_mape")) << type;
  }
}

// A time profile gives energy as time x power: the power its records measured (here 40 W, a
// RAPL meter), or the power the user states with --power; the output says which.
TEST_F(TimeProfileTest, EnergyFromTimeMeasuredOrStated) {
  const std::string arch = (dir_ / "eltwise.json").string();
  std::ofstream(arch) << R"({"name": "eltwise", "input": [1000],
      "layers": [{"type": "ReLU"}, {"type": "Dropout", "p": 0.5}]})";
  // Without a meter: no energy unless stated.
  ASSERT_EQ(Fit().status, 0);
  json e = Json("predict " + Quote(arch) + " --model " + Quote(profile_) + " -b 4 --json");
  EXPECT_FALSE(e.contains("energy_from_time"));
  e = Json("predict " + Quote(arch) + " --model " + Quote(profile_) + " -b 4 --json --power 65");
  EXPECT_NEAR(e["energy_from_time"]["total_j"].get<double>(), 3e-6 * 65, 1e-10);
  EXPECT_EQ(e["energy_from_time"]["power"], "stated");
  // The same records with a meter that read 40 W throughout.
  const std::string metered = (dir_ / "metered.jsonl").string();
  {
    std::ofstream out(metered);
    std::istringstream in(Slurp(dir_ / "layers-forward-0.jsonl") +
                          Slurp(dir_ / "layers-forward-1.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      json r = json::parse(line);
      r["energy_j"] = 40.0 * r["duration_s"].get<double>();
      r["meter"] = "rapl";
      out << r.dump() << "\n";
    }
  }
  const std::string prof = (dir_ / "metered.json").string();
  Result r = Run("fit " + Quote(metered) + " --target time_s -o " + Quote(prof));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NEAR(json::parse(Slurp(prof))["power"]["watts"].get<double>(), 40.0, 1e-9);
  e = Json("predict " + Quote(arch) + " --model " + Quote(prof) + " -b 4 --json");
  EXPECT_NEAR(e["energy_from_time"]["total_j"].get<double>(), 3e-6 * 40, 1e-10);
  EXPECT_NEAR(e["energy_from_time"]["per_sample_j"].get<double>(), 3e-6 * 40 / 4, 1e-10);
  EXPECT_EQ(e["energy_from_time"]["power"], "measured");
  EXPECT_EQ(e["energy_from_time"]["power_detail"], "mean of 80 records with meter rapl");
  r = Run("predict " + Quote(arch) + " --model " + Quote(prof) + " -b 4");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("  energy per run:                0.00012 J (time x 40 W, measured: mean "
                       "of 80 records with meter rapl)\n"),
            std::string::npos)
      << r.out;
  r = Run("predict " + Quote(arch) + " --model " + Quote(prof) + " -b 4 --power 65");
  EXPECT_NE(r.out.find("J (time x 65 W, assumed: --power 65)\n"), std::string::npos) << r.out;
  // An energy profile needs no power; a power that is no power.
  r = Run("predict resnet18 --model models/xeon-gold-5120.json --power 50");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "joulecast: error: --power: profile xeon-gold-5120 predicts energy already "
            "(target energy_j); --power turns a time profile's seconds into joules\n");
  r = Run("predict " + Quote(arch) + " --model " + Quote(prof) + " --power -3");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: --power must be > 0, got -3\n");
}

TEST_F(TimeProfileTest, PredictReportsSecondsPerRunOfTheMode) {
  ASSERT_EQ(Fit().status, 0);
  // vgg11 at batch 2: element-wise predictions only (ReLU's 0.5 ns per element stands in for
  // convolutions, pools and linears, Dropout has its own 0.25 ns, Flatten is free).
  const json f = Json("predict vgg11 --model " + Quote(profile_) + " -b 2 --json --per-layer");
  ASSERT_TRUE(f.contains("total_s")) << f.dump();
  EXPECT_FALSE(f.contains("total_j"));
  EXPECT_EQ(f["mode"], "forward");
  EXPECT_EQ(f["target"], "time_s");
  for (const json& l : f["layers"]) {
    EXPECT_TRUE(l.contains("s"));
    if (l["type"] == "Dropout") EXPECT_EQ(l["method"], "model");
  }
  const json g =
      Json("predict vgg11 --model " + Quote(profile_) + " -b 2 --json --mode train_step");
  EXPECT_EQ(g["mode"], "train_step");
  EXPECT_NEAR(g["total_s"].get<double>() / f["total_s"].get<double>(), 3.0, 3e-6);
  EXPECT_NEAR(g["per_sample_s"].get<double>(), g["total_s"].get<double>() / 2, 1e-15);
  // Known values: 1000 elements through ReLU and Dropout at batch 4 take 4 x 1000 x (0.5 + 0.25)
  // ns forward and three times that per training step.
  const std::string arch = (dir_ / "eltwise.json").string();
  std::ofstream(arch) << R"({"name": "eltwise", "input": [1000],
      "layers": [{"type": "ReLU"}, {"type": "Dropout", "p": 0.5}]})";
  const json e = Json("predict " + Quote(arch) + " --model " + Quote(profile_) + " -b 4 --json");
  EXPECT_NEAR(e["total_s"].get<double>(), 3e-6, 3e-12);
  EXPECT_NEAR(e["per_sample_s"].get<double>(), 0.75e-6, 1e-12);
  const json et = Json("predict " + Quote(arch) + " --model " + Quote(profile_) +
                       " -b 4 --json --mode train_step");
  EXPECT_NEAR(et["total_s"].get<double>(), 9e-6, 9e-12);

  Result r = Run("predict vgg11 --model " + Quote(profile_) + " -b 2 --mode train_step");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("  per training step of the batch: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" s\n  per sample:                     "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("predicted s"), std::string::npos) << r.out;
  r = Run("predict vgg11 --model " + Quote(profile_) + " --csv");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("type,count,s,share,macs\n", 0), 0u) << r.out;

  // A profile without the mode asked for.
  const std::string xeon = std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json";
  r = Run("predict vgg11 --model " + Quote(xeon) + " --mode train_step");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: --mode train_step: " + xeon +
                       ": no train_step predictors in the profile (it has: forward)\n");
  EXPECT_EQ(r.out, "");
  r = Run("predict vgg11 --model " + Quote(xeon) + " --mode backward");
  EXPECT_NE(r.status, 0);
}

TEST_F(TimeProfileTest, CompareSaysSecondsAndTheMode) {
  ASSERT_EQ(Fit().status, 0);
  Result r = Run("compare vgg11 alexnet --model " + Quote(profile_) + " --mode train_step");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind(
                "time per training step at batch 1, profile " + profile_ + "; cheapest first\n", 0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("s per pass"), std::string::npos) << r.out;
  const json j =
      Json("compare vgg11 alexnet --model " + Quote(profile_) + " --mode train_step --json");
  EXPECT_EQ(j["mode"], "train_step");
  EXPECT_TRUE(j["architectures"][0].contains("total_s"));
  const json one = Json("predict alexnet --model " + Quote(profile_) + " --mode train_step --json");
  EXPECT_EQ(j["architectures"][0]["name"], "alexnet");
  EXPECT_EQ(j["architectures"][0]["total_s"], one["total_s"]);
}

TEST_F(TimeProfileTest, EvaluateScoresWholeNetworksPerModeAndBatch) {
  ASSERT_EQ(Fit().status, 0);
  // Whole-network records as the collector writes them, at known ratios to the prediction:
  // forward +10 % (MAPE 100/11), train_step -20 % at batch 1 and +25 % at batch 4 (MAPE 25 / 20).
  const std::string nets = (dir_ / "networks.jsonl").string();
  {
    std::ofstream out(nets);
    for (const std::string mode : {"forward", "train_step"}) {
      for (std::int64_t b : {1, 4}) {
        const json pred = Json("predict alexnet --model " + Quote(profile_) + " --json -b " +
                               std::to_string(b) + " --mode " + mode);
        json rec = Record("alexnet", mode, b, 1, 1);
        rec["input_shape"] = {3, 224, 224};
        rec["context"]["architecture"] = "alexnet";
        const double ratio = mode == "forward" ? 1.1 : (b == 1 ? 0.8 : 1.25);
        rec["duration_s"] = ratio * pred["total_s"].get<double>();
        out << rec.dump() << "\n";
      }
    }
  }
  const json ev = Json("evaluate --model " + Quote(profile_) + " " + Quote(nets) + " --json");
  EXPECT_EQ(ev["target"], "time_s");
  const json& f = ev["modes"]["forward"]["architectures"];
  EXPECT_EQ(f["n"], 2);
  EXPECT_NEAR(f["mape"].get<double>(), 100.0 / 11.0, 1e-6);
  const json& t = ev["modes"]["train_step"]["architectures"];
  EXPECT_EQ(t["n"], 2);
  EXPECT_NEAR(t["mape"].get<double>(), 22.5, 1e-6);
  EXPECT_NEAR(t["by_architecture"]["alexnet"]["by_batch"]["1"]["mape"].get<double>(), 25.0, 1e-6);
  EXPECT_NEAR(t["by_architecture"]["alexnet"]["by_batch"]["4"]["mape"].get<double>(), 20.0, 1e-6);
  EXPECT_EQ(ev["architectures"], f);  // forward at the top level too

  Result r = Run("evaluate --model " + Quote(profile_) + " " + Quote(nets));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("mode forward: seconds per forward pass of the batch\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nmode train_step: seconds per training step of the batch\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("alexnet           2                      22.50\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  b4              1                      20.00\n"), std::string::npos)
      << r.out;

  // Against the forward-only energy profile: the train_step records are named as skipped, and
  // time records have no energy to compare.
  const std::string xeon = std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json";
  r = Run("evaluate --model " + Quote(xeon) + " " + Quote(nets));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: evaluate: no record has a layer type the profile predicts\n");
}

}  // namespace
