// Runs the built joulecast binary: `extrapolate` on synthetic per-epoch logs (values worked out by
// hand in the comments) and on the shipped CPU training log, and `breakeven`; exit status,
// stdout and the one-line errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

// Eight epochs: durations 10 6 4 4 5 4 5 3 s, energies 1000 500 400 420 450 400 500 330 J.
const char* kEnergyLog =
    "epoch,duration_s,energy_j\n1,10,1000\n2,6,500\n3,4,400\n4,4,420\n5,5,450\n6,4,400\n7,5,500\n"
    "8,3,330\n";

class ExtrapolateCliTest : public CliFixture {};

TEST_F(ExtrapolateCliTest, BothEstimatorsByHand) {
  // K = 2, w = 3, N = 20: window epochs 6..8, T_w = 12 s, E_w = 1230 J, P_w = 102.5 W;
  // t_u = 41 s, E_u = 4000 J, s = 12; t = 41 + 12 * 12 / 3 = 89 s.
  // Power-based 102.5 * 89 = 9122.5 J; epoch-energy-based 1230 * 12 / 3 + 4000 = 8920 J.
  const std::string log = Write("log.csv", kEnergyLog);
  Result r = Run("extrapolate " + Quote(log) + " --epochs 20 --stable-epoch 2 --window 3 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["log"], log);
  EXPECT_EQ(j["energy_column"], "energy_j");
  EXPECT_EQ(j["window_epochs"], json({6, 8}));
  EXPECT_DOUBLE_EQ(j["predicted_time_s"].get<double>(), 89);
  EXPECT_DOUBLE_EQ(j["window_power_w"].get<double>(), 102.5);
  EXPECT_DOUBLE_EQ(j["power_based_energy_j"].get<double>(), 9122.5);
  EXPECT_DOUBLE_EQ(j["epoch_based_energy_j"].get<double>(), 8920);
  EXPECT_DOUBLE_EQ(j["epoch_based_energy_wh"].get<double>(), 8920.0 / 3600);
  EXPECT_TRUE(j["measured"].is_null());
  EXPECT_TRUE(j["first"].is_null());

  Result t = Run("extrapolate " + Quote(log) + " --epochs 20 --stable-epoch 2 --window 3");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out, log + ": 8 of 20 epochs logged, energy from energy_j\n")) << t.out;
  EXPECT_TRUE(Contains(t.out, "stabilisation epoch 2; window: epochs 6-8 (3 epochs)\n")) << t.out;
  EXPECT_TRUE(Contains(t.out, "predicted total t = 89.00 s")) << t.out;
  EXPECT_TRUE(Contains(t.out, "power-based        E = P_w x t = 102.50 W x 89.00 s = 9122.5 J"))
      << t.out;
  EXPECT_TRUE(Contains(t.out, "E = E_w x s/w + E_u = 1230.0 J x 12/3 + 4000.0 J = 8920.0 J"))
      << t.out;
}

TEST_F(ExtrapolateCliTest, FirstEpochsAgainstTheMeasuredRest) {
  // --first 5 of the same log, K = 2, w = 3, N = 8: window epochs 3..5, T_w = 4+4+5 = 13 s,
  // E_w = 400+420+450 = 1270 J; t_u = 10+6+4+4+5 = 29 s, E_u = 1000+500+400+420+450 = 2770 J,
  // s = 3: t = 29 + 3 * 13 / 3 = 42 s against the measured 41 s: +2.439 %.
  // Power-based 1270 / 13 * 42 = 4103.08 J against 4000 J: +2.577 %; epoch-energy-based
  // 1270 * 3 / 3 + 2770 = 4040 J: +1 %.
  const std::string log = Write("log.csv", kEnergyLog);
  Result r =
      Run("extrapolate " + Quote(log) + " --epochs 8 --first 5 --stable-epoch 2 --window 3 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["first"], 5);
  EXPECT_EQ(j["logged_epochs"], 5);
  const json& m = j["measured"];
  EXPECT_EQ(m["epochs"], 8);
  EXPECT_DOUBLE_EQ(m["time_s"].get<double>(), 41);
  EXPECT_DOUBLE_EQ(m["energy_j"].get<double>(), 4000);
  EXPECT_NEAR(m["time_error_pct"].get<double>(), 100.0 / 41, 1e-9);
  EXPECT_NEAR(m["power_based_error_pct"].get<double>(), 100 * (1270.0 / 13 * 42 - 4000) / 4000,
              1e-9);
  EXPECT_NEAR(m["epoch_based_error_pct"].get<double>(), 1.0, 1e-9);
  Result t = Run("extrapolate " + Quote(log) + " --epochs 8 --first 5 --stable-epoch 2 --window 3");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out,
                       "measured (first 8 epochs of the log): 41.00 s, time error +2.44%; "
                       "4000.0 J, power-based error +2.58%, epoch-based error +1.00%\n"))
      << t.out;
}

TEST_F(ExtrapolateCliTest, TimeOnlyLogAndDetection) {
  // Durations 10 6 4 4.1 3.9 4 4: with w = 3 the first window of CV <= 0.05 is epochs 3..5
  // (K = 2). The window used is the last three epochs (3.9 + 4 + 4 = 11.9 s), t_u = 36 s, N = 10:
  // t = 36 + 3 * 11.9 / 3 = 47.9 s.
  const std::string log = Write(
      "t.csv", "epoch,duration_s,loss\n1,10,2\n2,6,2\n3,4,2\n4,4.1,2\n5,3.9,2\n6,4,2\n7,4,2\n");
  Result r =
      Run("extrapolate " + Quote(log) + " --epochs 10 --stable-epoch auto --window 3 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["stable_epoch"], 2);
  EXPECT_EQ(j["stable_epoch_detected"], true);
  EXPECT_NEAR(j["predicted_time_s"].get<double>(), 47.9, 1e-12);
  EXPECT_TRUE(j["energy_column"].is_null());
  EXPECT_TRUE(j["power_based_energy_j"].is_null());
  Result t = Run("extrapolate " + Quote(log) + " --epochs 10 --stable-epoch auto --window 3");
  EXPECT_TRUE(Contains(t.out, "time only (no energy_j or power_w column)")) << t.out;
  EXPECT_TRUE(Contains(t.out,
                       "stabilisation epoch 2 (detected: first window with duration CV <= "
                       "0.05)"))
      << t.out;
  EXPECT_TRUE(Contains(t.out, "energy: not estimated (the log has no energy_j or power_w column)"))
      << t.out;
}

TEST_F(ExtrapolateCliTest, TimeColumn) {
  // The epoch times from cpu_s: 5 4 2 2 2 s; K = 1, w = 2, N = 8: window epochs 4..5 (4 s),
  // t_u = 15 s, s = 3: t = 15 + 3 * 4 / 2 = 21 s. From duration_s (9 8 4 4 4 s) it would be
  // 29 + 3 * 8 / 2 = 41 s.
  const std::string log =
      Write("cpu.csv", "epoch,duration_s,cpu_s\n1,9,5\n2,8,4\n3,4,2\n4,4,2\n5,4,2\n");
  const std::string args = "extrapolate " + Quote(log) + " --epochs 8 --stable-epoch 1 --window 2";
  Result r = Run(args + " --time-column cpu_s --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["time_column"], "cpu_s");
  EXPECT_DOUBLE_EQ(j["predicted_time_s"].get<double>(), 21);
  Result d = Run(args + " --json");
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(json::parse(d.out)["time_column"], "duration_s");
  EXPECT_DOUBLE_EQ(json::parse(d.out)["predicted_time_s"].get<double>(), 41);
  Result t = Run(args + " --time-column cpu_s");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out, log + ": 5 of 8 epochs logged, epoch times from cpu_s, time only"))
      << t.out;
  Result bad = Run(args + " --time-column wall_s");
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err, "joulecast: error: " + log + ":1: missing column 'wall_s'\n");
}

// The 60-epoch log of tools/trainlog on this machine (data/trainlogs/README.md), extrapolated
// from its first 15 epochs with the defaults K = 10, w = 5 (window epochs 11-15) and compared
// with its 60 measured epochs. The expected values are recomputed here from the CSV itself:
// t = sum(1..15) + 45 x sum(11..15) / 5.
TEST_F(ExtrapolateCliTest, ShippedLogFromItsFirstFifteenEpochs) {
  const std::string path = "data/trainlogs/vgg11_cifar_div4_cpu1_60ep.csv";  // cwd: source dir
  std::ifstream in(std::string(JOULECAST_SOURCE_DIR) + "/" + path);
  ASSERT_TRUE(in) << path;
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line, "epoch,duration_s,cpu_s,loss");
  std::vector<double> wall, cpu;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string epoch, w, c;
    std::getline(ss, epoch, ',');
    std::getline(ss, w, ',');
    std::getline(ss, c, ',');
    wall.push_back(std::stod(w));
    cpu.push_back(std::stod(c));
  }
  ASSERT_EQ(wall.size(), 60u);
  auto expected = [](const std::vector<double>& t) {
    double used = 0, window = 0, total = 0;
    for (int k = 0; k < 60; ++k) {
      total += t[k];
      if (k < 15) used += t[k];
      if (k >= 10 && k < 15) window += t[k];
    }
    const double predicted = used + 45 * window / 5;
    return std::make_pair(predicted, 100 * (predicted - total) / total);
  };
  for (const char* column : {"duration_s", "cpu_s"}) {
    const auto [predicted, error] = expected(std::string(column) == "cpu_s" ? cpu : wall);
    Result r =
        Run("extrapolate " + path + " --epochs 60 --first 15 --time-column " + column + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["window_epochs"], json({11, 15}));
    EXPECT_NEAR(j["predicted_time_s"].get<double>(), predicted, 1e-9 * predicted) << column;
    EXPECT_NEAR(j["measured"]["time_error_pct"].get<double>(), error, 1e-9) << column;
  }
  // The figures data/trainlogs/README.md reports: wall time -9.37 % (other jobs shared the core
  // and their load changed during the run), CPU time -0.14 %.
  Result w = Run("extrapolate " + path + " --epochs 60 --first 15");
  EXPECT_TRUE(Contains(w.out, "time error -9.37%")) << w.out;
  Result c = Run("extrapolate " + path + " --epochs 60 --first 15 --time-column cpu_s");
  EXPECT_TRUE(Contains(c.out, "time error -0.14%")) << c.out;
}

TEST_F(ExtrapolateCliTest, BadInput) {
  const std::string log = Write("log.csv", kEnergyLog);
  auto err = [&](const std::string& args) {
    Result r = Run("extrapolate " + args);
    EXPECT_EQ(r.status, 1) << args << ": " << r.out;
    EXPECT_EQ(r.out, "") << args;
    return r.err;
  };
  EXPECT_EQ(err(Quote(log) + " --epochs 0"), "joulecast: error: --epochs must be >= 1, got 0\n");
  EXPECT_EQ(err(Quote(log) + " --epochs 3000000000"),
            "joulecast: error: --epochs must be at most 2147483647, got 3000000000\n");
  EXPECT_EQ(err(Quote(log) + " --epochs 5 --stable-epoch 2 --window 3"),
            "joulecast: error: --epochs 5 is fewer than the 8 epochs already in " + log + "\n");
  // The defaults K = 10, w = 5 need 15 logged epochs.
  EXPECT_EQ(err(Quote(log) + " --epochs 100"),
            "joulecast: error: " + log +
                ": 8 epochs logged; the window of 5 epochs after stabilisation epoch 10 needs at "
                "least 15\n");
  EXPECT_EQ(err(Quote(log) + " --epochs 100 --stable-epoch ten"),
            "joulecast: error: --stable-epoch: expected an epoch number or 'auto', got 'ten'\n");
  EXPECT_EQ(err(Quote(log) + " --epochs 100 --first 9"),
            "joulecast: error: --first must be between 1 and the 8 epochs of " + log + ", got 9\n");
  EXPECT_EQ(err(Quote(log) + " --epochs 100 --stable-epoch auto --cv-threshold 0"),
            "joulecast: error: --cv-threshold must be > 0, got 0\n");
  // Window CVs of durations 10 6 4 4 5 4 5 3 with w = 3: epochs 2-4 0.2020, 3-5 and 4-6 0.1088,
  // 5-7 (5, 4, 5: sd 0.4714 / mean 4.667) 0.1010, 6-8 0.2041.
  EXPECT_EQ(err(Quote(log) + " --epochs 100 --stable-epoch auto --cv-threshold 0.001 --window 3"),
            "joulecast: error: " + log +
                ": no window of 3 epochs after epoch 1 has a duration coefficient of variation "
                "<= 0.001 (lowest 0.1010, epochs 5-7); give --stable-epoch K\n");
  // Missing, empty and malformed logs.
  const std::string missing = (dir_ / "missing.csv").string();
  EXPECT_EQ(err(Quote(missing) + " --epochs 10"),
            "joulecast: error: " + missing + ": cannot open\n");
  const std::string empty = Write("empty.csv", "");
  EXPECT_EQ(
      err(Quote(empty) + " --epochs 10"),
      "joulecast: error: " + empty + ": empty file (expected a header with epoch, duration_s)\n");
  const std::string header = Write("header.csv", "epoch,duration_s,energy_j\n");
  EXPECT_EQ(err(Quote(header) + " --epochs 10"),
            "joulecast: error: " + header + ": no epochs after the header\n");
  const std::string gap = Write("gap.csv", "epoch,duration_s\n1,4\n2,4\n4,4\n");
  EXPECT_EQ(err(Quote(gap) + " --epochs 10"),
            "joulecast: error: " + gap + ":4: epoch 3 expected, got 4\n");
  const std::string bad = Write("bad.csv", "epoch,duration_s,power_w\n1,4,100\n2,4,lots\n");
  EXPECT_EQ(err(Quote(bad) + " --epochs 10"),
            "joulecast: error: " + bad + ":3: power_w is not a number: 'lots'\n");
  const std::string zero = Write("zero.csv", "epoch,duration_s\n1,0\n");
  EXPECT_EQ(err(Quote(zero) + " --epochs 10"),
            "joulecast: error: " + zero + ":2: duration_s must be > 0, got 0\n");
  // A missing --epochs is a usage error (exit 2).
  Result u = Run("extrapolate " + Quote(log));
  EXPECT_EQ(u.status, 2);
  EXPECT_TRUE(Contains(u.err, "--epochs")) << u.err;
}

TEST_F(ExtrapolateCliTest, Breakeven) {
  // x = 1000 / (300 - 50) = 4 tasks; pretraining is cheaper from task 5 on.
  Result r = Run("breakeven --e-enc 1000 --e-enc-cls 300 --e-cls 50 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["tasks"].get<double>(), 4);
  EXPECT_EQ(j["first_paying_task"], 5);
  Result t = Run("breakeven --e-enc 1000 --e-enc-cls 300 --e-cls 50");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out, "x = E_enc / (E_enc+cls - E_cls) = 1000 / (300 - 50) = 4 tasks\n"))
      << t.out;
  EXPECT_TRUE(Contains(t.out, "from task 5 on.")) << t.out;
  Result bad = Run("breakeven --e-enc 1000 --e-enc-cls 50 --e-cls 50");
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(
      bad.err,
      "joulecast: error: --e-enc-cls 50 J is not above --e-cls 50 J: per task, the pretrained "
      "encoder saves nothing, so pretraining never pays off\n");
  // x = 1e19 tasks: no whole task number to print (it would not fit a 64-bit integer).
  Result huge = Run("breakeven --e-enc 1e19 --e-enc-cls 2 --e-cls 1 --json");
  ASSERT_EQ(huge.status, 0) << huge.err;
  EXPECT_TRUE(json::parse(huge.out)["first_paying_task"].is_null()) << huge.out;
  Result huge_text = Run("breakeven --e-enc 1e19 --e-enc-cls 2 --e-cls 1");
  EXPECT_TRUE(Contains(huge_text.out, "pays off for more than 1e+19 downstream tasks.\n"))
      << huge_text.out;
  Result neg = Run("breakeven --e-enc -1 --e-enc-cls 300 --e-cls 50");
  EXPECT_EQ(neg.status, 1);
  EXPECT_EQ(neg.err, "joulecast: error: --e-enc must be a finite energy > 0 J, got -1\n");
}

}  // namespace
