// Energy meters (collect/meter.h) against fakes: a powercap tree written into a temp directory for
// RAPL, and fake NVML libraries built in the test tree (fake_nvml.cpp) for NVML.
#include "joulecast/collect/meter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace joulecast {
namespace {

namespace fs = std::filesystem;

class RaplTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("joulecast_rapl_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A zone directory with name, energy_uj and max_energy_range_uj.
  fs::path Zone(const fs::path& dir, const std::string& name, double energy_uj, double max_uj) {
    fs::create_directories(dir);
    std::ofstream(dir / "name") << name << "\n";
    std::ofstream(dir / "max_energy_range_uj") << static_cast<long long>(max_uj) << "\n";
    SetEnergy(dir, energy_uj);
    return dir;
  }
  static void SetEnergy(const fs::path& zone, double uj) {
    std::ofstream(zone / "energy_uj") << static_cast<long long>(uj) << "\n";
  }
  fs::path root_;
};

TEST_F(RaplTree, PackageAndDramSummedAndOverlappingZonesSkipped) {
  const fs::path pkg = Zone(root_ / "intel-rapl:0", "package-0", 1000000, 262143328850);
  const fs::path core = Zone(pkg / "intel-rapl:0:0", "core", 5000, 262143328850);
  const fs::path dram = Zone(pkg / "intel-rapl:0:1", "dram", 2000000, 65712999613);
  const fs::path psys = Zone(root_ / "intel-rapl:1", "psys", 7000000, 262143328850);
  RaplMeter m(root_.string());
  ASSERT_EQ(m.domains().size(), 2u);
  EXPECT_EQ(m.domains()[0].name, "package-0");
  EXPECT_EQ(m.domains()[1].name, "dram");
  EXPECT_EQ(m.Describe().dump(), R"({"domains":["package-0","dram"]})");
  EXPECT_EQ(m.name(), "rapl");
  EXPECT_TRUE(m.has_energy());

  m.Start();
  SetEnergy(pkg, 1000000 + 12500000);   // +12.5 J
  SetEnergy(dram, 2000000 + 1500000);   // +1.5 J
  SetEnergy(core, 5000 + 99000000);     // inside the package: not added again
  SetEnergy(psys, 7000000 + 99000000);  // the platform: overlaps, skipped
  EXPECT_NEAR(m.Stop(), 14.0, 1e-9);
}

TEST_F(RaplTree, OneWrapAroundOfTheCounterIsUndone) {
  const double range = 262143328850;  // a real package's max_energy_range_uj
  const fs::path pkg = Zone(root_ / "intel-rapl:0", "package-0", range - 2000000, range);
  RaplMeter m(root_.string());
  m.Start();
  SetEnergy(pkg, 3000000);  // wrapped: 2 J up to the top, 3 J after it
  EXPECT_NEAR(m.Stop(), 5.0, 1e-6);
}

TEST_F(RaplTree, SeveralPackagesEachWithDram) {
  const fs::path p0 = Zone(root_ / "intel-rapl:0", "package-0", 0, 1e12);
  const fs::path d0 = Zone(p0 / "intel-rapl:0:0", "dram", 0, 1e12);
  const fs::path p1 = Zone(root_ / "intel-rapl:1", "package-1", 0, 1e12);
  const fs::path d1 = Zone(p1 / "intel-rapl:1:0", "dram", 0, 1e12);
  RaplMeter m(root_.string());
  EXPECT_EQ(m.Describe().dump(), R"({"domains":["package-0","dram","package-1","dram"]})");
  m.Start();
  SetEnergy(p0, 1e6);
  SetEnergy(d0, 2e6);
  SetEnergy(p1, 3e6);
  SetEnergy(d1, 4e6);
  EXPECT_NEAR(m.Stop(), 10.0, 1e-9);
}

TEST_F(RaplTree, MissingOrUnreadableCountersAreNamed) {
  try {
    RaplMeter m(root_.string());
    FAIL() << "an empty tree has no counter";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--meter rapl: no readable RAPL counter under " + root_.string() +
                  " (no intel-rapl:N zone)");
  }
  // A zone whose energy_uj is not a number (as an unprivileged read fails on Linux >= 5.10).
  const fs::path pkg = Zone(root_ / "intel-rapl:0", "package-0", 0, 1e12);
  std::ofstream(pkg / "energy_uj", std::ios::trunc) << "";
  try {
    RaplMeter m(root_.string());
    FAIL() << "no readable counter";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "--meter rapl: no readable RAPL counter under " +
                                         root_.string() + " (" + (pkg / "energy_uj").string() +
                                         " is not readable; Linux >= 5.10 needs root)");
  }
  // A counter that disappears between Start and Stop.
  SetEnergy(pkg, 10);
  RaplMeter m(root_.string());
  m.Start();
  fs::remove(pkg / "energy_uj");
  try {
    m.Stop();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "rapl: cannot read " + (pkg / "energy_uj").string());
  }
}

TEST_F(RaplTree, AutoFallsBackToNoneWithANoteAndExplicitThrows) {
  MeterPaths paths;
  paths.rapl_root = root_.string();
  std::string note;
  auto m = MakeMeter("auto", "cpu", paths, &note);
  EXPECT_EQ(m->name(), "none");
  EXPECT_FALSE(m->has_energy());
  EXPECT_EQ(note, "--meter rapl: no readable RAPL counter under " + root_.string() +
                      " (no intel-rapl:N zone); measuring time only");
  EXPECT_THROW(MakeMeter("rapl", "cpu", paths), std::runtime_error);
  try {
    MakeMeter("perf", "cpu", paths);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "--meter: expected auto, rapl, nvml or none, got 'perf'");
  }
  Zone(root_ / "intel-rapl:0", "package-0", 0, 1e12);
  note.clear();
  EXPECT_EQ(MakeMeter("auto", "cpu", paths, &note)->name(), "rapl");
  EXPECT_EQ(note, "");
}

TEST(NoMeter, StatesNoneAndMeasuresNoIdlePower) {
  NoMeter m;
  EXPECT_EQ(m.name(), "none");
  EXPECT_FALSE(m.has_energy());
  m.Start();
  EXPECT_EQ(m.Stop(), 0.0);
  EXPECT_FALSE(MeasureIdlePower(m, 0.01).has_value());
}

// ---- NVML through the fake libraries (constant 50 W unless FAKE_NVML_POWER_W says otherwise)

double Metered(EnergyMeter& m, double seconds) {
  m.Start();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return m.Stop();
}

TEST(Nvml, TotalEnergyCounter) {
  NvmlMeter m(FAKE_NVML);
  EXPECT_EQ(m.name(), "nvml");
  EXPECT_TRUE(m.has_energy());
  EXPECT_EQ(m.gpu_name(), "Fake GPU");
  EXPECT_EQ(m.driver(), "999.99");
  EXPECT_EQ(m.Describe().dump(),
            R"({"driver":"999.99","gpu":"Fake GPU","method":"nvmlDeviceGetTotalEnergyConsumption"})");
  // 50 W for 0.2 s (sleeps overrun, never underrun; the counter has 1 mJ resolution).
  const double j = Metered(m, 0.2);
  EXPECT_GE(j, 9.99);
  EXPECT_LT(j, 15.0);
  // Idle power: the average over the sleep.
  const auto w = MeasureIdlePower(m, 0.1);
  ASSERT_TRUE(w.has_value());
  EXPECT_NEAR(*w, 50.0, 2.0);
}

TEST(Nvml, PowerSamplingWithoutTheCounter) {
  NvmlMeter m(FAKE_NVML_POWER, 0, /*sample_interval_s=*/0.01);
  EXPECT_EQ(m.name(), "nvml-power");
  EXPECT_EQ(m.Describe()["method"], "nvmlDeviceGetPowerUsage sampling");
  // Trapezoids over the sampled interval: 50 W x the time between the first and last sample,
  // which starts when the sampling thread does (late on a loaded machine: wide bounds, but a
  // milliwatt/watt mix-up would be off by 1000x).
  const double j = Metered(m, 0.2);
  EXPECT_GE(j, 8.5);
  EXPECT_LT(j, 15.0);
  // Start/Stop again: the integral restarts from zero.
  const double j2 = Metered(m, 0.05);
  EXPECT_GE(j2, 1.5);
  EXPECT_LT(j2, 5.0);
}

TEST(Nvml, ForcedPowerSamplingWithTheCounterPresent) {
  NvmlMeter m(FAKE_NVML, 0, 0.01, /*force_power_sampling=*/true);
  EXPECT_EQ(m.name(), "nvml-power");
  const double j = Metered(m, 0.1);
  EXPECT_GE(j, 4.0);
  EXPECT_LT(j, 8.0);
}

TEST(Nvml, PowerFromTheEnvironment) {
  ASSERT_EQ(::setenv("FAKE_NVML_POWER_W", "200", 1), 0);
  {
    NvmlMeter m(FAKE_NVML);
    const auto w = MeasureIdlePower(m, 0.1);
    ASSERT_TRUE(w.has_value());
    EXPECT_NEAR(*w, 200.0, 8.0);
  }
  ::unsetenv("FAKE_NVML_POWER_W");
}

TEST(Nvml, ErrorsNameWhatIsMissing) {
  try {
    NvmlMeter m("/nonexistent/libnvidia-ml.so.1");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(
                  "--meter nvml: cannot load /nonexistent/libnvidia-ml.so.1: ", 0),
              0u)
        << e.what();
  }
  try {
    NvmlMeter m(FAKE_NVML, /*index=*/3);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "--meter nvml: no GPU 3 (error 2)");
  }
  // A library without NVML's symbols at all (the power-only fake lacks just the counter, so use
  // the C library).
  try {
    NvmlMeter m("libc.so.6");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "--meter nvml: libc.so.6 lacks nvmlInit_v2");
  }
}

TEST(Nvml, FactoryAndDescribe) {
  MeterPaths paths;
  paths.nvml_library = FAKE_NVML;
  std::string note;
  auto m = MakeMeter("auto", "cuda", paths, &note);
  EXPECT_EQ(m->name(), "nvml");
  EXPECT_EQ(note, "");
  m.reset();
  paths.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  EXPECT_EQ(MakeMeter("auto", "cuda", paths, &note)->name(), "none");
  EXPECT_EQ(note.rfind("--meter nvml: cannot load /nonexistent/libnvidia-ml.so.1: ", 0), 0u)
      << note;
  EXPECT_NE(note.find("; measuring time only"), std::string::npos) << note;
  EXPECT_EQ(DescribeNvmlGpu(FAKE_NVML).dump(), R"({"driver":"999.99","gpu":"Fake GPU"})");
  EXPECT_EQ(DescribeNvmlGpu("/nonexistent/libnvidia-ml.so.1").dump(), "{}");
}

}  // namespace
}  // namespace joulecast
