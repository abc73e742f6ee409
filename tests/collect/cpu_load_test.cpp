#include "joulecast/collect/cpu_load.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace joulecast {
namespace {

namespace fs = std::filesystem;

class CpuLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("joulecast_cpu_load_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  // /proc/stat of a 2-CPU machine: user nice system idle iowait irq softirq steal guest guest_nice
  std::string Stat(const std::string& cpu_line) {
    return Write("stat", "cpu  " + cpu_line +
                             "\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\n"
                             "intr 12345 0 0\nctxt 99\n");
  }
  // /proc/self/stat with a command name holding a space and a ')', utime and stime given.
  std::string Self(int utime, int stime) {
    return Write("self", "4242 (jc (x) y) R 1 4242 4242 0 -1 4194304 100 0 0 0 " +
                             std::to_string(utime) + " " + std::to_string(stime) +
                             " 0 0 20 0 3 0 100 1000 200\n");
  }
  fs::path dir_;
};

TEST_F(CpuLoadTest, ReadsTheFiles) {
  const CpuTimes t = ReadCpuTimes(Stat("100 10 50 800 20 5 5 30 7 0"), Self(40, 2));
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.cpus, 2);
  EXPECT_DOUBLE_EQ(t.busy, 100 + 10 + 50 + 5 + 5);  // guest is inside user already
  EXPECT_DOUBLE_EQ(t.total, 170 + 800 + 20 + 30);   // + idle, iowait, steal
  EXPECT_DOUBLE_EQ(t.steal, 30);
  EXPECT_DOUBLE_EQ(t.self, 42);
}

TEST_F(CpuLoadTest, LoadOfOtherProcessesOverAnInterval) {
  const CpuTimes a = ReadCpuTimes(Stat("100 0 50 800 0 0 0 0 0 0"), Self(40, 0));
  // 200 ticks of wall time on 2 CPUs (400 in all): busy +300 of which this process +180, so
  // others kept 120 / 200 = 0.6 CPUs busy; steal +20 -> 0.1.
  const CpuTimes b = ReadCpuTimes(Stat("350 0 100 880 0 0 0 20 0 0"), Self(200, 20));
  ASSERT_TRUE(a.ok && b.ok);
  const auto l = LoadBetween(a, b);
  ASSERT_TRUE(l.has_value());
  EXPECT_DOUBLE_EQ(l->other_cpus, 0.6);
  EXPECT_DOUBLE_EQ(l->steal_cpus, 0.1);
  // Tick rounding can make this process look busier than the machine: clamped at 0.
  CpuTimes busy_self = b;
  busy_self.self = 1000;
  const auto clamped = LoadBetween(a, busy_self);
  ASSERT_TRUE(clamped.has_value());
  EXPECT_DOUBLE_EQ(clamped->other_cpus, 0.0);
}

TEST_F(CpuLoadTest, MissingOrMalformedGivesNoFigure) {
  const std::string self = Self(1, 1);
  EXPECT_FALSE(ReadCpuTimes((dir_ / "absent").string(), self).ok);
  EXPECT_FALSE(ReadCpuTimes(Stat("100 0 50 800 0 0 0 0 0 0"), (dir_ / "absent").string()).ok);
  EXPECT_FALSE(ReadCpuTimes(Stat("100 0 x 800 0 0 0 0 0 0"), self).ok);
  EXPECT_FALSE(ReadCpuTimes(Stat("100 0 50"), self).ok);
  EXPECT_FALSE(ReadCpuTimes(Write("nocpu", "intr 1\n"), self).ok);
  EXPECT_FALSE(ReadCpuTimes(Stat("1 0 0 1 0 0 0 0 0 0"), Write("noparen", "4242 jc R 1\n")).ok);
  EXPECT_FALSE(ReadCpuTimes(Stat("1 0 0 1 0 0 0 0 0 0"), Write("short", "4242 (jc) R 1 2 3\n")).ok);
  EXPECT_FALSE(ReadCpuTimes(Stat("1 0 0 1 0 0 0 0 0 0"),
                            Write("nan", "4242 (jc) R 1 1 1 0 -1 4 1 0 0 0 1x 2 0\n"))
                   .ok);
  const CpuTimes ok = ReadCpuTimes(Stat("100 0 50 800 0 0 0 0 0 0"), self);
  ASSERT_TRUE(ok.ok);
  EXPECT_FALSE(LoadBetween(CpuTimes{}, ok).has_value());
  EXPECT_FALSE(LoadBetween(ok, CpuTimes{}).has_value());
  // Less than one tick per CPU between the readings: no figure rather than a noisy one.
  EXPECT_FALSE(LoadBetween(ok, ok).has_value());
  CpuTimes three = ok;
  three.cpus = 3;
  three.total += 1000;
  EXPECT_FALSE(LoadBetween(ok, three).has_value());
}

TEST_F(CpuLoadTest, ThisMachine) {
  if (!fs::exists("/proc/stat")) GTEST_SKIP() << "no /proc/stat";
  const CpuTimes t = ReadCpuTimes();
  ASSERT_TRUE(t.ok);
  EXPECT_GE(t.cpus, 1);
  EXPECT_GE(t.total, t.busy);
}

}  // namespace
}  // namespace joulecast
