// Reading per-epoch training logs: columns in any order, energy from energy_j or power_w, and
// one-line errors that name the file and line.
#include "joulecast/io/training_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "error_of.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

TrainingLog Parse(const std::string& text) {
  std::istringstream in(text);
  return ReadTrainingLog(in, "LOG.csv");
}

std::string ParseError(const std::string& text) {
  return ErrorOf([&] { Parse(text); });
}

TEST(TrainingLogTest, ReadsColumnsInAnyOrderAndIgnoresOthers) {
  const TrainingLog log =
      Parse("loss,duration_s,epoch,energy_j\r\n2.3,4.5,1,90\r\n\r\n2.1,4,2,80\r\n");
  EXPECT_EQ(log.path, "LOG.csv");
  EXPECT_EQ(log.energy_column, "energy_j");
  ASSERT_EQ(log.epochs.size(), 2u);
  EXPECT_EQ(log.epochs[0].epoch, 1);
  EXPECT_DOUBLE_EQ(log.epochs[0].duration_s, 4.5);
  EXPECT_DOUBLE_EQ(*log.epochs[0].energy_j, 90);
  EXPECT_EQ(log.epochs[0].line, 2u);
  EXPECT_EQ(log.epochs[1].line, 4u);  // the empty line 3 is skipped
  EXPECT_DOUBLE_EQ(*log.epochs[1].energy_j, 80);
}

TEST(TrainingLogTest, EnergyFromPowerTimesDuration) {
  // 150 W for 4 s = 600 J; 120.5 W for 2 s = 241 J.
  const TrainingLog log = Parse("epoch,duration_s,power_w\n1,4,150\n2,2,120.5\n");
  EXPECT_EQ(log.energy_column, "power_w");
  EXPECT_TRUE(log.has_energy());
  EXPECT_DOUBLE_EQ(*log.epochs[0].energy_j, 600);
  EXPECT_DOUBLE_EQ(*log.epochs[1].energy_j, 241);
  // With both columns energy_j wins; power_w is still checked.
  const TrainingLog both = Parse("epoch,duration_s,power_w,energy_j\n1,4,150,500\n");
  EXPECT_EQ(both.energy_column, "energy_j");
  EXPECT_DOUBLE_EQ(*both.epochs[0].energy_j, 500);
  EXPECT_EQ(ParseError("epoch,duration_s,power_w,energy_j\n1,4,-1,500\n"),
            "LOG.csv:2: power_w must be >= 0, got -1");
}

TEST(TrainingLogTest, TimeOnly) {
  const TrainingLog log = Parse("epoch,duration_s\n1,3\n2,2.5\n3,2.5\n");
  EXPECT_FALSE(log.has_energy());
  EXPECT_EQ(log.energy_column, "");
  EXPECT_EQ(log.epochs.size(), 3u);
  EXPECT_FALSE(log.epochs[2].energy_j.has_value());
}

TEST(TrainingLogTest, MalformedLogsNameFileAndLine) {
  EXPECT_EQ(ParseError(""), "LOG.csv: empty file (expected a header with epoch, duration_s)");
  EXPECT_EQ(ParseError("\n\n"), "LOG.csv: empty file (expected a header with epoch, duration_s)");
  EXPECT_EQ(ParseError("epoch,duration_s\n"), "LOG.csv: no epochs after the header");
  EXPECT_EQ(ParseError("epoch,time\n1,3\n"), "LOG.csv:1: missing column 'duration_s'");
  // A log without its header: the first row is read as one.
  EXPECT_EQ(ParseError("1,4.7,2.3\n2,4.6,2.2\n"), "LOG.csv:1: missing column 'epoch'");
  EXPECT_EQ(ParseError("epoch,duration_s,loss\n1,3,2\n2,3\n"),
            "LOG.csv:3: 2 fields, the header has 3");
  EXPECT_EQ(ParseError("epoch,duration_s\n1,3\n3,3\n"), "LOG.csv:3: epoch 2 expected, got 3");
  EXPECT_EQ(ParseError("epoch,duration_s\n0,3\n"), "LOG.csv:2: epoch 1 expected, got 0");
  EXPECT_EQ(ParseError("epoch,duration_s\n1,3\n1,3\n"), "LOG.csv:3: epoch 2 expected, got 1");
  EXPECT_EQ(ParseError("epoch,duration_s\none,3\n"), "LOG.csv:2: epoch is not a number: 'one'");
  EXPECT_EQ(ParseError("epoch,duration_s\n1,\n"), "LOG.csv:2: duration_s is empty");
  EXPECT_EQ(ParseError("epoch,duration_s\n1,0\n"), "LOG.csv:2: duration_s must be > 0, got 0");
  EXPECT_EQ(ParseError("epoch,duration_s\n1,-2\n"), "LOG.csv:2: duration_s must be > 0, got -2");
  EXPECT_EQ(ParseError("epoch,duration_s,power_w\n1,3,nan\n"),
            "LOG.csv:2: power_w is not finite: 'nan'");
  EXPECT_EQ(ParseError("epoch,duration_s,energy_j\n1,3,inf\n"),
            "LOG.csv:2: energy_j is not finite: 'inf'");
  EXPECT_EQ(ParseError("epoch,duration_s,energy_j\n1,3,-1\n"),
            "LOG.csv:2: energy_j must be >= 0, got -1");
  EXPECT_EQ(ParseError("epoch,duration_s\n1,\"3\n"), "LOG.csv:2: unterminated quoted field");
  EXPECT_EQ(ParseError("epoch,duration_s,power_w\n1,1e300,1e300\n"),
            "LOG.csv:2: power_w 1e300 x duration_s 1e300 overflows a double");
}

TEST(TrainingLogTest, AnotherTimeColumn) {
  // tools/trainlog's cpu_s read as the epoch times instead of duration_s; power_w then multiplies
  // cpu_s (2 s x 100 W = 200 J).
  std::istringstream in("epoch,duration_s,cpu_s,power_w\n1,20,2,100\n2,18,1.5,100\n");
  const TrainingLog log = ReadTrainingLog(in, "LOG.csv", "cpu_s");
  EXPECT_EQ(log.time_column, "cpu_s");
  ASSERT_EQ(log.epochs.size(), 2u);
  EXPECT_DOUBLE_EQ(log.epochs[0].duration_s, 2);
  EXPECT_DOUBLE_EQ(log.epochs[1].duration_s, 1.5);
  EXPECT_DOUBLE_EQ(*log.epochs[0].energy_j, 200);
  EXPECT_EQ(Parse("epoch,duration_s\n1,3\n").time_column, "duration_s");
  auto error = [](const std::string& text, const std::string& column) {
    return ErrorOf([&] {
      std::istringstream s(text);
      ReadTrainingLog(s, "LOG.csv", column);
    });
  };
  EXPECT_EQ(error("epoch,duration_s\n1,3\n", "cpu_s"), "LOG.csv:1: missing column 'cpu_s'");
  EXPECT_EQ(error("", "cpu_s"), "LOG.csv: empty file (expected a header with epoch, cpu_s)");
  EXPECT_EQ(error("epoch,duration_s,cpu_s\n1,3,0\n", "cpu_s"),
            "LOG.csv:2: cpu_s must be > 0, got 0");
  EXPECT_EQ(error("epoch,cpu_s\n1,x\n", "cpu_s"), "LOG.csv:2: cpu_s is not a number: 'x'");
  EXPECT_EQ(error("epoch,cpu_s,power_w\n1,1e300,1e300\n", "cpu_s"),
            "LOG.csv:2: power_w 1e300 x cpu_s 1e300 overflows a double");
  for (const char* bad : {"epoch", "energy_j", "power_w", ""}) {
    EXPECT_EQ(error("epoch,duration_s\n1,3\n", bad),
              std::string("time column '") + bad +
                  "' cannot hold epoch times: name a column of seconds other than epoch, energy_j "
                  "and power_w");
  }
}

TEST(TrainingLogTest, LoadFromFile) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "joulecast_training_log_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "log.csv").string();
  std::ofstream(path) << "epoch,duration_s\n1,2\n";
  const TrainingLog log = LoadTrainingLog(path);
  EXPECT_EQ(log.path, path);
  EXPECT_EQ(log.epochs.size(), 1u);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(ErrorOf([&] { LoadTrainingLog(path); }), path + ": cannot open");
}

TEST(TrainingLogTest, ShippedLogsRead) {
  // Every log under data/trainlogs is a valid time-only log (no energy meter on this machine).
  const std::filesystem::path dir = std::filesystem::path(JOULECAST_SOURCE_DIR) / "data/trainlogs";
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".csv") continue;
    const TrainingLog log = LoadTrainingLog(entry.path().string());
    EXPECT_GE(log.epochs.size(), 30u) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 1u);
}

}  // namespace
}  // namespace joulecast
