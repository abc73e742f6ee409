// The online estimators on small synthetic logs whose results are worked out by hand in the
// comments, the stabilisation detection, the epoch energy formula and the break-even.
#include "joulecast/predict/online_estimate.h"

#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>

#include "error_of.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

TrainingLog Parse(const std::string& text, const std::string& name = "log.csv") {
  std::istringstream in(text);
  return ReadTrainingLog(in, name);
}

// Eight epochs with energy in J. Durations 10 6 4 4 5 4 5 3 s, energies
// 1000 500 400 420 450 400 500 330 J.
const char* kEnergyLog =
    "epoch,duration_s,energy_j\n"
    "1,10,1000\n"
    "2,6,500\n"
    "3,4,400\n"
    "4,4,420\n"
    "5,5,450\n"
    "6,4,400\n"
    "7,5,500\n"
    "8,3,330\n";

TEST(OnlineEstimateTest, BothEstimatorsByHand) {
  // N = 20 epochs in all, K = 2, w = 3; n = 8 logged, so s = 20 - 8 = 12 remain.
  // Window = the last w logged epochs, 6..8: T_w = 4 + 5 + 3 = 12 s, E_w = 400 + 500 + 330 =
  // 1230 J, P_w = 1230 / 12 = 102.5 W.
  // Used: t_u = 10+6+4+4+5+4+5+3 = 41 s, E_u = 1000+500+400+420+450+400+500+330 = 4000 J.
  // t = t_u + s * T_w / w = 41 + 12 * 12 / 3 = 89 s.
  // Power-based E = P_w * t = 102.5 * 89 = 9122.5 J.
  // Epoch-energy-based E = E_w * s / w + E_u = 1230 * 12 / 3 + 4000 = 8920 J.
  OnlineOptions o;
  o.stable_epoch = 2;
  o.window = 3;
  const Extrapolation x = Extrapolate(Parse(kEnergyLog), 20, o);
  EXPECT_EQ(x.total_epochs, 20);
  EXPECT_EQ(x.logged_epochs, 8);
  EXPECT_EQ(x.remaining_epochs, 12);
  EXPECT_EQ(x.stable_epoch, 2);
  EXPECT_FALSE(x.stable_epoch_detected);
  EXPECT_EQ(x.window_first, 6);
  EXPECT_EQ(x.window_last, 8);
  EXPECT_DOUBLE_EQ(x.used_time_s, 41);
  EXPECT_DOUBLE_EQ(x.window_time_s, 12);
  EXPECT_DOUBLE_EQ(x.predicted_time_s, 89);
  EXPECT_DOUBLE_EQ(*x.used_energy_j, 4000);
  EXPECT_DOUBLE_EQ(*x.window_energy_j, 1230);
  EXPECT_DOUBLE_EQ(*x.window_power_w, 102.5);
  EXPECT_DOUBLE_EQ(*x.power_based_j, 9122.5);
  EXPECT_DOUBLE_EQ(*x.epoch_based_j, 8920);
  const nlohmann::json j = x.ToJson();
  EXPECT_EQ(j["window_epochs"], nlohmann::json({6, 8}));
  EXPECT_DOUBLE_EQ(j["power_based_energy_wh"].get<double>(), 9122.5 / 3600);
  EXPECT_DOUBLE_EQ(j["epoch_based_energy_j"].get<double>(), 8920);
}

TEST(OnlineEstimateTest, WholeRunLoggedPredictsWhatWasMeasured) {
  // N = n = 8: s = 0, so t = t_u = 41 s and the epoch-energy-based E = E_u = 4000 J; the
  // power-based E = P_w * t_u = 102.5 * 41 = 4202.5 J (the warm-up ran at a lower power than the
  // window: 1000 J / 10 s = 100 W in epoch 1).
  OnlineOptions o;
  o.stable_epoch = 2;
  o.window = 3;
  const Extrapolation x = Extrapolate(Parse(kEnergyLog), 8, o);
  EXPECT_EQ(x.remaining_epochs, 0);
  EXPECT_DOUBLE_EQ(x.predicted_time_s, 41);
  EXPECT_DOUBLE_EQ(*x.epoch_based_j, 4000);
  EXPECT_DOUBLE_EQ(*x.power_based_j, 4202.5);
}

TEST(OnlineEstimateTest, PowerColumnGivesEpochEnergies) {
  // power_w x duration_s: epoch energies 100*10 = 1000, 50*4 = 200, 60*5 = 300, 40*5 = 200 J.
  // K = 1, w = 2, N = 10: window = epochs 3..4, T_w = 10 s, E_w = 500 J, P_w = 50 W;
  // t_u = 24 s, E_u = 1700 J, s = 6: t = 24 + 6 * 10 / 2 = 54 s.
  // Power-based 50 * 54 = 2700 J; epoch-energy-based 500 * 6 / 2 + 1700 = 3200 J.
  const TrainingLog log = Parse("epoch,power_w,duration_s\n1,100,10\n2,50,4\n3,60,5\n4,40,5\n");
  EXPECT_EQ(log.energy_column, "power_w");
  OnlineOptions o;
  o.stable_epoch = 1;
  o.window = 2;
  const Extrapolation x = Extrapolate(log, 10, o);
  EXPECT_DOUBLE_EQ(x.predicted_time_s, 54);
  EXPECT_DOUBLE_EQ(*x.window_power_w, 50);
  EXPECT_DOUBLE_EQ(*x.power_based_j, 2700);
  EXPECT_DOUBLE_EQ(*x.epoch_based_j, 3200);
}

TEST(OnlineEstimateTest, TimeOnlyLogPredictsTimeAndNoEnergy) {
  // Durations 9 5 5 5 5 5 5 (7 epochs), defaults K = 10 would need 15 epochs, so K = 1, w = 5:
  // window epochs 3..7, T_w = 25 s; t_u = 39 s; N = 100: t = 39 + 93 * 25 / 5 = 504 s.
  const TrainingLog log =
      Parse("epoch,duration_s,loss\n1,9,2.3\n2,5,2.2\n3,5,2.1\n4,5,2\n5,5,1.9\n6,5,1.8\n7,5,1.7\n");
  EXPECT_FALSE(log.has_energy());
  OnlineOptions o;
  o.stable_epoch = 1;
  const Extrapolation x = Extrapolate(log, 100, o);
  EXPECT_DOUBLE_EQ(x.predicted_time_s, 504);
  EXPECT_FALSE(x.power_based_j.has_value());
  EXPECT_FALSE(x.epoch_based_j.has_value());
  EXPECT_TRUE(x.ToJson()["power_based_energy_j"].is_null());
  // The defaults (K = 10, w = 5) need 15 logged epochs.
  EXPECT_EQ(ErrorOf([&] { Extrapolate(log, 100); }),
            "log.csv: 7 epochs logged; the window of 5 epochs after stabilisation epoch 10 needs "
            "at least 15");
}

TEST(OnlineEstimateTest, DetectsTheStabilisationEpoch) {
  // w = 3, threshold 0.05. K = 1: epochs 2..4 = 6, 4, 4.1 s, mean 4.7, CV about 0.19: rejected.
  // K = 2: epochs 3..5 = 4, 4.1, 3.9 s, mean 4, population variance (0 + 0.01 + 0.01) / 3,
  // sd 0.0816, CV 0.0204 <= 0.05: K = 2.
  const TrainingLog log =
      Parse("epoch,duration_s\n1,10\n2,6\n3,4\n4,4.1\n5,3.9\n6,4\n7,4\n");
  EXPECT_EQ(DetectStableEpoch(log, 3, 0.05), 2);
  // A stricter threshold rejects K = 2 (0.0204) and K = 3 (epochs 4..6 = 4.1, 3.9, 4: the same
  // 0.0204) and takes K = 4 (epochs 5..7 = 3.9, 4, 4: sd 0.0471, CV 0.0119).
  EXPECT_EQ(DetectStableEpoch(log, 3, 0.015), 4);
  OnlineOptions o;
  o.stable_epoch.reset();
  o.window = 3;
  const Extrapolation x = Extrapolate(log, 10, o);
  EXPECT_TRUE(x.stable_epoch_detected);
  EXPECT_EQ(x.stable_epoch, 2);
  // Window = epochs 5..7 (3.9 + 4 + 4 = 11.9 s); t_u = 10+6+4+4.1+3.9+4+4 = 36 s;
  // t = 36 + 3 * 11.9 / 3 = 47.9 s.
  EXPECT_NEAR(x.predicted_time_s, 47.9, 1e-12);
}

TEST(OnlineEstimateTest, DetectionErrors) {
  const TrainingLog jumpy = Parse("epoch,duration_s\n1,10\n2,1\n3,10\n4,1\n5,10\n");
  // K = 1: epochs 2..3 = 1, 10: CV 4.5 / 5.5 = 0.818; K = 2: 10, 1: the same; K = 3: 1, 10: same.
  EXPECT_EQ(ErrorOf([&] { DetectStableEpoch(jumpy, 2, 0.05); }),
            "log.csv: no window of 2 epochs after epoch 1 has a duration coefficient of variation "
            "<= 0.05 (lowest 0.8182, epochs 2-3); give --stable-epoch K");
  EXPECT_EQ(ErrorOf([&] { DetectStableEpoch(jumpy, 5, 0.05); }),
            "log.csv: 5 epochs logged; detecting the stabilisation epoch needs at least 6 (epoch 1 "
            "and a window of 5)");
  EXPECT_EQ(ErrorOf([&] { DetectStableEpoch(jumpy, 0, 0.05); }), "--window must be >= 1, got 0");
}

TEST(OnlineEstimateTest, ArgumentErrors) {
  const TrainingLog log = Parse(kEnergyLog);
  OnlineOptions o;
  o.stable_epoch = 2;
  o.window = 3;
  EXPECT_EQ(ErrorOf([&] { Extrapolate(log, 0, o); }), "--epochs must be >= 1, got 0");
  EXPECT_EQ(ErrorOf([&] { Extrapolate(log, 7, o); }),
            "--epochs 7 is fewer than the 8 epochs already in log.csv");
  o.window = 0;
  EXPECT_EQ(ErrorOf([&] { Extrapolate(log, 20, o); }), "--window must be >= 1, got 0");
  o.window = 3;
  o.stable_epoch = -1;
  EXPECT_EQ(ErrorOf([&] { Extrapolate(log, 20, o); }), "--stable-epoch must be >= 0, got -1");
  o.stable_epoch = 6;
  EXPECT_EQ(ErrorOf([&] { Extrapolate(log, 20, o); }),
            "log.csv: 8 epochs logged; the window of 3 epochs after stabilisation epoch 6 needs at "
            "least 9");
  TrainingLog empty;
  empty.path = "e.csv";
  EXPECT_EQ(ErrorOf([&] { Extrapolate(empty, 20); }), "e.csv: no epochs");
}

TEST(OnlineEstimateTest, EpochEnergyFromPowerSamples) {
  // mean(100, 200, 300) = 200 W over 36 s: E_k = 200 * 36 / 3600 = 2 Wh = 7200 J.
  const EpochEnergy e = EpochEnergyFromPower({100, 200, 300}, 36);
  EXPECT_DOUBLE_EQ(e.wh, 2);
  EXPECT_DOUBLE_EQ(e.j, 7200);
  EXPECT_EQ(ErrorOf([] { EpochEnergyFromPower({}, 1); }), "epoch energy: no power samples");
  EXPECT_EQ(ErrorOf([] { EpochEnergyFromPower({1}, 0); }),
            "epoch energy: duration must be > 0 s, got 0");
  EXPECT_EQ(ErrorOf([] { EpochEnergyFromPower({1, -2}, 1); }),
            "epoch energy: power sample 1 must be finite and >= 0, got -2");
}

TEST(OnlineEstimateTest, PretrainingBreakeven) {
  // x = E_enc / (E_enc+cls - E_cls) = 1000 / (300 - 50) = 4: equal cost at 4 tasks
  // (4 * 300 = 1200 = 1000 + 4 * 50), pretraining cheaper from task 5 on.
  Breakeven b = PretrainingBreakeven(1000, 300, 50);
  EXPECT_DOUBLE_EQ(b.tasks, 4);
  EXPECT_EQ(b.first_paying_task, 5);
  // 1000 / (300 - 30) = 3.7037...: at 4 tasks, 1200 > 1000 + 120.
  b = PretrainingBreakeven(1000, 300, 30);
  EXPECT_DOUBLE_EQ(b.tasks, 1000.0 / 270.0);
  EXPECT_EQ(b.first_paying_task, 4);
  // x = 4 / (300 - 50) = 0.016: pretraining pays off from the first task.
  EXPECT_EQ(PretrainingBreakeven(4, 300, 50).first_paying_task, 1);
  // x = 1e19 / 1 is a finite double, but floor(x) + 1 does not fit a long long.
  b = PretrainingBreakeven(1e19, 2, 1);
  EXPECT_DOUBLE_EQ(b.tasks, 1e19);
  EXPECT_FALSE(b.first_paying_task.has_value());
  // x = 1e300 / 1e-300 overflows.
  EXPECT_EQ(ErrorOf([] { PretrainingBreakeven(1e300, 2e-300, 1e-300); }),
            "x = 1e+300 J / 1e-300 J overflows a double");
  EXPECT_EQ(ErrorOf([] { PretrainingBreakeven(1000, 50, 80); }),
            "--e-enc-cls 50 J is not above --e-cls 80 J: per task, the pretrained encoder saves "
            "nothing, so pretraining never pays off");
  EXPECT_EQ(ErrorOf([] { PretrainingBreakeven(0, 50, 80); }),
            "--e-enc must be a finite energy > 0 J, got 0");
  EXPECT_EQ(ErrorOf([] { PretrainingBreakeven(1, 50, -1); }),
            "--e-cls must be a finite energy > 0 J, got -1");
}

}  // namespace
}  // namespace joulecast
