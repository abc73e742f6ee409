#include "joulecast/predict/energy_from_time.h"

#include <gtest/gtest.h>

#include "error_of.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

Measurement Record(double seconds, std::optional<double> joules, const std::string& meter) {
  Measurement m;
  m.type = "ReLU";
  m.duration_s = seconds;
  m.energy_j = joules;
  m.meter = meter;
  return m;
}

TEST(EnergyFromTime, MeasuredPowerIsTotalEnergyOverTotalTime) {
  const Measurement a = Record(1.0, 30.0, "rapl"), b = Record(3.0, 150.0, "rapl"),
                    none = Record(2.0, std::nullopt, "none");
  const nlohmann::json p = MeasuredPower({&a, &b, &none});
  EXPECT_DOUBLE_EQ(p["watts"].get<double>(), 180.0 / 4.0);  // not the mean of 30 and 50
  EXPECT_EQ(p["records"], 2);
  EXPECT_EQ(p["meter"], "rapl");
  EXPECT_EQ(p["source"], "measured");
  EXPECT_TRUE(MeasuredPower({&none}).is_null());
  EXPECT_TRUE(MeasuredPower({}).is_null());
}

TEST(EnergyFromTime, StatedPowerWinsThenMeasuredThenNone) {
  Profile p;
  p.name = "t";
  p.target = "time_s";
  EXPECT_FALSE(PowerFor(p, std::nullopt).has_value());
  const auto stated = PowerFor(p, 65.0);
  ASSERT_TRUE(stated.has_value());
  EXPECT_EQ(stated->watts, 65.0);
  EXPECT_EQ(stated->source, "stated");
  EXPECT_EQ(stated->detail, "--power 65");
  p.power = {{"watts", 42.5}, {"source", "measured"}, {"meter", "rapl"}, {"records", 300}};
  const auto measured = PowerFor(p, std::nullopt);
  ASSERT_TRUE(measured.has_value());
  EXPECT_EQ(measured->watts, 42.5);
  EXPECT_EQ(measured->source, "measured");
  EXPECT_EQ(measured->detail, "mean of 300 records with meter rapl");
  EXPECT_EQ(PowerFor(p, 65.0)->source, "stated");
  // Round trip through the profile file, and what a file may not say.
  Profile shipped = Profile::Load("models/intel-xeon-2c-time.json");
  EXPECT_TRUE(shipped.power.is_null());  // measured without a meter
  EXPECT_FALSE(shipped.ToJson().contains("power"));
  shipped.power = p.power;
  nlohmann::json j = shipped.ToJson();
  EXPECT_EQ(Profile::FromJson(j, "f").power, p.power);
  j["power"] = {{"watts", -1}};
  EXPECT_EQ(ErrorOf([&] { Profile::FromJson(j, "f"); }),
            "f: power: expected {\"watts\": a positive number, ...}, got {\"watts\":-1}");
  j["power"] = {{"watts", 10}};
  j["target"] = "energy_j";
  EXPECT_EQ(ErrorOf([&] { Profile::FromJson(j, "f"); }),
            "f: power: only a time profile (target time_s) turns time into energy");
}

TEST(EnergyFromTime, Errors) {
  Profile e;
  e.name = "xeon";
  e.target = "energy_j";
  EXPECT_EQ(ErrorOf([&] { PowerFor(e, 50.0); }),
            "--power: profile xeon predicts energy already (target energy_j); --power turns a "
            "time profile's seconds into joules");
  EXPECT_FALSE(PowerFor(e, std::nullopt).has_value());
  Profile t;
  t.target = "time_s";
  EXPECT_EQ(ErrorOf([&] { PowerFor(t, -3.0); }), "--power must be > 0, got -3");
  EXPECT_EQ(ErrorOf([&] { PowerFor(t, 0.0); }), "--power must be > 0, got 0");
}

}  // namespace
}  // namespace joulecast
