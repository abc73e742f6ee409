#include "joulecast/io/training_run.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "error_of.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

using joulecast_test::ErrorOf;

TrainingRun Sample() {
  TrainingRun r;
  r.gpu = "V100 PCIe 32GB";
  r.workload = "resnet50_imagenet";
  r.batch_size = 128;
  r.optimizer = "adadelta";
  r.power_limit_w = 200;
  r.epoch_time_s = 3600.5;
  r.average_power_w = 200.25;
  r.epoch_energy_j = 3600.5 * 200.25;
  r.samples_per_epoch = 1281167;
  r.train_gflops_per_sample = 24.7;
  r.params_m = 25.6;
  return r;
}

class TrainingRunFileTest : public ::testing::Test {
 protected:
  fs::path dir_ = fs::temp_directory_path() / ("jc_runs_" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
};

TEST_F(TrainingRunFileTest, RoundTrip) {
  std::ofstream out(dir_ / "r.jsonl");
  WriteTrainingRun(out, Sample());
  TrainingRun noLimit = Sample();
  noLimit.power_limit_w.reset();
  WriteTrainingRun(out, noLimit);
  out.close();
  const std::string path = (dir_ / "r.jsonl").string();
  EXPECT_TRUE(IsTrainingRunFile(path));
  auto runs = ReadTrainingRuns(path);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].gpu, "V100 PCIe 32GB");
  EXPECT_EQ(runs[0].batch_size, 128);
  EXPECT_DOUBLE_EQ(*runs[0].power_limit_w, 200);
  EXPECT_DOUBLE_EQ(runs[0].epoch_energy_j, 3600.5 * 200.25);
  EXPECT_FALSE(runs[1].power_limit_w.has_value());
}

TEST_F(TrainingRunFileTest, Errors) {
  nlohmann::json j = ToJson(Sample());
  j.erase("epoch_time_s");
  const std::string missing = Write("a.jsonl", "\n" + j.dump() + "\n");
  EXPECT_EQ(ErrorOf([&] { ReadTrainingRuns(missing); }),
            missing + ":2: missing field 'epoch_time_s'");
  j = ToJson(Sample());
  j["average_power_w"] = -3;
  const std::string neg = Write("b.jsonl", j.dump() + "\n");
  EXPECT_EQ(ErrorOf([&] { ReadTrainingRuns(neg); }),
            neg + ":1: field 'average_power_w' must be a finite number > 0, got -3");
  j = ToJson(Sample());
  j["kind"] = "measurement";
  const std::string kind = Write("c.jsonl", j.dump() + "\n");
  EXPECT_FALSE(IsTrainingRunFile(kind));
  EXPECT_EQ(ErrorOf([&] { ReadTrainingRuns(kind); }),
            kind + ":1: field 'kind' must be \"training_run\"");
  j = ToJson(Sample());
  j["format_version"] = 2;
  const std::string ver = Write("d.jsonl", j.dump() + "\n");
  EXPECT_EQ(ErrorOf([&] { ReadTrainingRuns(ver); }),
            ver + ":1: unsupported format_version 2 (this build reads 1)");
  const std::string bad = Write("e.jsonl", "{not json\n");
  EXPECT_FALSE(IsTrainingRunFile(bad));
  EXPECT_EQ(ErrorOf([&] { ReadTrainingRuns(bad); }).rfind(bad + ":1: invalid JSON", 0), 0u);
  EXPECT_FALSE(IsTrainingRunFile((dir_ / "absent.jsonl").string()));
}

}  // namespace
}  // namespace joulecast
