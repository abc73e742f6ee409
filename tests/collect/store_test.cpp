// The collector's append-only store (collect/store.h): resume, torn tails, the lock, and kill -9
// of a collecting child process at arbitrary instants.
#include "joulecast/collect/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "joulecast/collect/collector.h"
#include "joulecast/collect/config_sampler.h"
#include "joulecast/collect/meter.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "out.jsonl").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Slurp() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    std::istringstream in(Slurp());
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
  }
  fs::path dir_;
  std::string path_;
};

Measurement Record(const std::string& type, std::int64_t batch, double seconds) {
  Measurement m;
  m.type = type;
  m.params = {{"inplace", false}};
  m.batch_size = batch;
  m.input_shape = {16, 8, 8};
  m.duration_s = seconds;
  m.context = {{"threads", 1}};
  return m;
}

TEST_F(StoreTest, AppendsWholeLinesAndResumes) {
  std::vector<std::string> warnings;
  const auto warn = [&](const std::string& w) { warnings.push_back(w); };
  {
    MeasurementStore s(path_, warn);
    EXPECT_EQ(s.records(), 0u);
    s.Append(Record("ReLU", 1, 0.5));
    s.Append(Record("ReLU", 2, 0.25));
    EXPECT_EQ(s.records(), 2u);
    EXPECT_TRUE(s.Done(ConfigKey(Record("ReLU", 2, 99))));  // measured values are not the key
  }
  EXPECT_EQ(Lines().size(), 2u);
  EXPECT_EQ(Slurp().back(), '\n');
  MeasurementStore s(path_, warn);
  EXPECT_EQ(s.records(), 2u);
  EXPECT_TRUE(s.Done(ConfigKey(Record("ReLU", 1, 0))));
  EXPECT_FALSE(s.Done(ConfigKey(Record("ReLU", 4, 0))));
  EXPECT_TRUE(warnings.empty());
}

TEST(ConfigKey, WhatRanAndHowNotWhatWasMeasured) {
  Measurement a = Record("Conv2d", 8, 0.1), b = a;
  b.duration_s = 0.2;
  b.energy_j = 3.0;
  b.provenance = {{"timestamp", "x"}};
  b.context["spread"] = {{"iqr_over_median", 0.01}};
  b.hardware = {{"cpu", "other"}};
  EXPECT_EQ(ConfigKey(a), ConfigKey(b));
  for (auto change : std::vector<void (*)(Measurement&)>{
           [](Measurement& m) { m.mode = "train_step"; },
           [](Measurement& m) { m.dtype = "bfloat16"; },
           [](Measurement& m) { m.device = "cuda"; },
           [](Measurement& m) { m.batch_size = 9; },
           [](Measurement& m) { m.input_shape = {16, 9, 9}; },
           [](Measurement& m) { m.params["inplace"] = true; },
           [](Measurement& m) { m.context["threads"] = 2; },
           [](Measurement& m) { m.context["heap"] = "keep"; }}) {
    Measurement c = a;
    change(c);
    EXPECT_NE(ConfigKey(a), ConfigKey(c));
  }
}

TEST_F(StoreTest, TornLastLineIsCutWithAWarning) {
  {
    MeasurementStore s(path_, nullptr);
    s.Append(Record("ReLU", 1, 0.5));
    s.Append(Record("ReLU", 2, 0.5));
  }
  const std::string whole = Slurp();
  const std::string third = ToJson(Record("ReLU", 4, 0.5)).dump();
  { std::ofstream(path_, std::ios::app) << third.substr(0, 40); }  // a write cut short
  std::vector<std::string> warnings;
  MeasurementStore s(path_, [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(s.records(), 2u);
  EXPECT_EQ(s.torn_bytes_removed(), 40u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], path_ +
                             ":3: removed a torn last line (40 bytes, an interrupted write); 2 "
                             "complete records kept");
  EXPECT_EQ(Slurp(), whole);
  EXPECT_FALSE(s.Done(ConfigKey(Record("ReLU", 4, 0))));
  s.Append(Record("ReLU", 4, 0.5));
  EXPECT_EQ(Lines().size(), 3u);
}

TEST_F(StoreTest, WholeRecordWithoutNewlineIsKept) {
  { std::ofstream(path_) << ToJson(Record("ReLU", 1, 0.5)).dump(); }
  MeasurementStore s(path_, nullptr);
  EXPECT_EQ(s.records(), 1u);
  EXPECT_EQ(s.torn_bytes_removed(), 0u);
  s.Append(Record("ReLU", 2, 0.5));
  ASSERT_EQ(Lines().size(), 2u);
  EXPECT_TRUE(nlohmann::json::accept(Lines()[0]));
  EXPECT_TRUE(nlohmann::json::accept(Lines()[1]));
}

TEST_F(StoreTest, BrokenLineBeforeTheLastIsAnError) {
  {
    std::ofstream out(path_);
    out << ToJson(Record("ReLU", 1, 0.5)).dump() << "\n{broken\n"
        << ToJson(Record("ReLU", 2, 0.5)).dump() << "\n";
  }
  const std::string before = Slurp();
  try {
    MeasurementStore s(path_, nullptr);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path_ + ":2: invalid JSON (not the last line: fix it)");
  }
  EXPECT_EQ(Slurp(), before);  // nothing cut
}

TEST_F(StoreTest, InvalidRecordNamesTheLine) {
  { std::ofstream(path_) << "{\"type\": \"ReLU\"}\n"; }
  try {
    MeasurementStore s(path_, nullptr);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path_ + ":1: ", 0), 0u) << e.what();
  }
}

TEST_F(StoreTest, SecondWriterIsRefused) {
  MeasurementStore first(path_, nullptr);
  try {
    MeasurementStore second(path_, nullptr);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path_ + ": another process is appending to it (locked)");
  }
  // ... and also from another process.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      MeasurementStore second(path_, nullptr);
    } catch (const std::runtime_error&) {
      _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
}

TEST_F(StoreTest, UnwritablePathIsNamed) {
  const std::string missing = (dir_ / "no" / "such" / "dir.jsonl").string();
  try {
    MeasurementStore s(missing, nullptr);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              missing + ": cannot open for appending: No such file or directory");
  }
  try {
    MeasurementStore s(dir_.string(), nullptr);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": cannot open for appending: Is a directory");
  }
}

// A child process collects many quick fake measurements into the store; it is killed with SIGKILL
// at several arbitrary instants and restarted each time. Every line on disk must be a whole
// record, and the final file must hold every configuration exactly once.
TEST_F(StoreTest, KillNineMidRunLosesNothingAndResumesWithoutDuplicates) {
  SamplerOptions o;
  o.batch_sizes = {1, 2};
  CollectSettings settings;
  // Distinct configurations only (random draws may repeat one), so that lines = configurations.
  std::vector<CollectConfig> configs;
  std::set<std::string> expected;
  for (const CollectConfig& c : SampleConfigs("ReLU", 300, 7, o)) {
    if (expected.insert(ConfigKey(RecordSkeleton(c, settings))).second) configs.push_back(c);
  }
  ASSERT_GT(configs.size(), 250u);
  auto collect = [&] {
    MeasurementStore store(path_, nullptr);
    NoMeter meter;
    CollectRun run;
    run.configs = &configs;
    run.settings = settings;
    run.store = &store;
    run.meter = &meter;
    run.measure = [](const nlohmann::json&, const PhaseFn& phase) {
      phase(0);
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      phase(1);
      RunResult r;
      r.samples_s = {1e-3, 2e-3, 3e-3};
      r.runs = 3;
      return r;
    };
    return RunCollection(run);
  };
  std::size_t previous = 0;
  for (int round = 0; round < 4; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        collect();
      } catch (...) {
        _exit(2);
      }
      _exit(0);
    }
    // Wait until the child has written some more records, then kill it mid-stream.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Lines().size() < previous + 20 + 7 * static_cast<std::size_t>(round) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200 + 150 * round));
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it was killed";
    const std::vector<std::string> lines = Lines();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      ASSERT_TRUE(nlohmann::json::accept(lines[i])) << "round " << round << " line " << i + 1;
    }
    // At most a whole record can be in flight; a torn line would have been caught above, except
    // for the last line, which must also end in a newline.
    const std::string text = Slurp();
    ASSERT_TRUE(text.empty() || text.back() == '\n') << "round " << round;
    EXPECT_GT(lines.size(), previous) << "round " << round;
    previous = lines.size();
  }
  ASSERT_LT(previous, configs.size());
  // The final, uninterrupted run resumes: it skips exactly what is on disk.
  const CollectStats st = collect();
  EXPECT_EQ(st.skipped, static_cast<std::int64_t>(previous));
  EXPECT_EQ(st.measured, static_cast<std::int64_t>(configs.size() - previous));
  EXPECT_FALSE(st.interrupted);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), configs.size());
  std::set<std::string> keys;
  for (const auto& l : lines) {
    keys.insert(ConfigKey(MeasurementFromJson(nlohmann::json::parse(l), path_)));
  }
  EXPECT_EQ(keys.size(), configs.size());  // no duplicate
  EXPECT_EQ(keys, expected);               // none lost
}

}  // namespace
}  // namespace joulecast
