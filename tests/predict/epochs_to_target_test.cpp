// Epochs to a validation target: summaries on a small hand-made table, the shipped table against
// Zeus's summary_train.csv, and malformed records.
#include "joulecast/predict/epochs_to_target.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "error_of.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

using joulecast_test::ErrorOf;

std::string Rec(const std::string& workload, int batch, const std::string& opt, double lr,
                int run, double target, const std::string& epoch, bool higher = true) {
  return "{\"kind\": \"epochs_to_target\", \"workload\": \"" + workload +
         "\", \"batch_size\": " + std::to_string(batch) + ", \"optimizer\": \"" + opt +
         "\", \"learning_rate\": " + std::to_string(lr) + ", \"run\": " + std::to_string(run) +
         ", \"target_metric\": " + std::to_string(target) +
         ", \"higher_is_better\": " + (higher ? "true" : "false") +
         ", \"target_epoch\": " + epoch + "}\n";
}

class EpochsToTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_ett_" + std::string(::testing::UnitTest::GetInstance()
                                                ->current_test_info()
                                                ->name()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const std::string p = (dir_ / "ett.jsonl").string();
    std::ofstream(p) << text;
    return p;
  }
  std::string LoadError(const std::string& text) {
    const std::string p = Write(text);
    return ErrorOf([&] { EpochsToTargetTable::Load(p); });
  }
  fs::path dir_;
};

TEST_F(EpochsToTargetTest, SummariesByHand) {
  // Workload w, batch 32:
  //   target 0.5: sgd/0.1 runs 4, 6, never -> mean 5 (2 of 3 reached); adam/0.01 runs 7, 5 ->
  //               mean 6. Best: sgd, 5 epochs.
  //   target 0.7: sgd/0.1 never (3 runs); adam/0.01 run 1 at 9, run 2 never -> 9 (1 of 2).
  // Batch 64: target 0.5 adam/0.01 run 1 at 3; target 0.7 never.
  // Workload l (lower is better), batch 8: targets 40 (epoch 2) and 30 (epoch 5).
  const std::string text =
      Rec("w", 32, "sgd", 0.1, 1, 0.5, "4") + Rec("w", 32, "sgd", 0.1, 2, 0.5, "6") +
      Rec("w", 32, "sgd", 0.1, 3, 0.5, "null") + Rec("w", 32, "adam", 0.01, 1, 0.5, "7") +
      Rec("w", 32, "adam", 0.01, 2, 0.5, "5") + Rec("w", 32, "sgd", 0.1, 1, 0.7, "null") +
      Rec("w", 32, "sgd", 0.1, 2, 0.7, "null") + Rec("w", 32, "sgd", 0.1, 3, 0.7, "null") +
      "\n" + Rec("w", 32, "adam", 0.01, 1, 0.7, "9") + Rec("w", 32, "adam", 0.01, 2, 0.7, "null") +
      Rec("w", 64, "adam", 0.01, 1, 0.5, "3") + Rec("w", 64, "adam", 0.01, 1, 0.7, "null") +
      Rec("l", 8, "adam", 0.01, 1, 40, "2", false) + Rec("l", 8, "adam", 0.01, 1, 30, "5", false);
  const EpochsToTargetTable t = EpochsToTargetTable::Load(Write(text));
  EXPECT_EQ(t.records().size(), 14u);
  EXPECT_EQ(t.records()[8].line, 10u);  // line 9 is empty and skipped
  EXPECT_TRUE(t.Has("w"));
  EXPECT_FALSE(t.Has("x"));
  EXPECT_EQ(t.HigherIsBetter("l"), false);
  EXPECT_EQ(t.Targets("w"), (std::vector<double>{0.5, 0.7}));
  EXPECT_EQ(t.Targets("l"), (std::vector<double>{40, 30}));  // loosest first

  std::optional<EpochsToTarget> e = t.Find("w", 32, 0.5);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->optimizer, "sgd");
  EXPECT_DOUBLE_EQ(e->learning_rate, 0.1);
  EXPECT_DOUBLE_EQ(e->mean_epochs, 5);
  EXPECT_EQ(e->runs_reached, 2);
  EXPECT_EQ(e->runs_total, 3);
  e = t.Find("w", 32, 0.7);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->optimizer, "adam");
  EXPECT_DOUBLE_EQ(e->mean_epochs, 9);
  EXPECT_EQ(e->runs_reached, 1);
  EXPECT_EQ(e->runs_total, 2);
  EXPECT_FALSE(t.Find("w", 64, 0.7).has_value());
  EXPECT_FALSE(t.Find("w", 128, 0.5).has_value());

  // Strictest target reached at every requested batch size that has records.
  EXPECT_EQ(t.DefaultTarget("w", {32}), 0.7);
  EXPECT_EQ(t.DefaultTarget("w", {32, 64}), 0.5);
  EXPECT_EQ(t.DefaultTarget("w", {32, 64, 128}), 0.5);  // 128 has no records: not required
  EXPECT_FALSE(t.DefaultTarget("w", {128}).has_value());
  EXPECT_EQ(t.DefaultTarget("l", {8}), 30);  // lower is better: 30 is stricter than 40
}

TEST_F(EpochsToTargetTest, ShippedTableAgreesWithZeusSummary) {
  // Expected values computed from ../shared/datasets/zeus2023/summary_train.csv: for cifar100 /
  // shufflenetv2 at target 0.6 the best (optimizer, learning rate) is adadelta 0.1 with mean
  // target epochs 19.6 (batch 128, 5 of 5 runs), 43.0 (512, 5 of 5) and 78.7 (1024, 10 of 10).
  const EpochsToTargetTable t = EpochsToTargetTable::LoadDefault();
  EXPECT_EQ(t.records().size(), 3759u);  // the CSV's data rows
  const std::optional<EpochsToTarget> a = t.Find("shufflenetv2_cifar100", 128, 0.6);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->optimizer, "adadelta");
  EXPECT_DOUBLE_EQ(a->learning_rate, 0.1);
  EXPECT_DOUBLE_EQ(a->mean_epochs, 19.6);
  EXPECT_EQ(a->runs_reached, 5);
  EXPECT_DOUBLE_EQ(t.Find("shufflenetv2_cifar100", 512, 0.6)->mean_epochs, 43.0);
  const std::optional<EpochsToTarget> c = t.Find("shufflenetv2_cifar100", 1024, 0.6);
  EXPECT_DOUBLE_EQ(c->mean_epochs, 78.7);
  EXPECT_EQ(c->runs_total, 10);
  // 0.6 is the strictest target every one of batches 128..1024 reached.
  EXPECT_EQ(t.DefaultTarget("shufflenetv2_cifar100", {128, 256, 512, 1024}), 0.6);
  // librispeech's metric is a word error rate (lower is better): 35 is reached at all four.
  EXPECT_EQ(t.HigherIsBetter("deepspeech2_librispeech"), false);
  EXPECT_EQ(t.DefaultTarget("deepspeech2_librispeech", {16, 32, 48, 64}), 35.0);
  EXPECT_DOUBLE_EQ(t.Find("deepspeech2_librispeech", 16, 40)->mean_epochs, 6.75);
}

TEST_F(EpochsToTargetTest, MalformedRecordsNameTheLine) {
  const std::string p = (dir_ / "ett.jsonl").string();
  const std::string good = Rec("w", 32, "sgd", 0.1, 1, 0.5, "4");
  EXPECT_EQ(LoadError(""), p + ": no records");
  EXPECT_EQ(LoadError(good + "{not json\n").rfind(p + ":2: invalid JSON: ", 0), 0u);
  EXPECT_EQ(LoadError(good + "{\"kind\": \"training_run\"}\n"),
            p + ":2: not an epochs_to_target record");
  EXPECT_EQ(LoadError(Rec("w", 0, "sgd", 0.1, 1, 0.5, "4")),
            p + ":1: field 'batch_size' must be an integer >= 1");
  EXPECT_EQ(LoadError(Rec("w", 32, "sgd", 0.1, 1, 0.5, "0")),
            p + ":1: field 'target_epoch' must be an integer >= 1 or null");
  EXPECT_EQ(LoadError(Rec("", 32, "sgd", 0.1, 1, 0.5, "4")),
            p + ":1: field 'workload' must be a non-empty string");
  EXPECT_EQ(LoadError("{\"kind\": \"epochs_to_target\", \"workload\": \"w\"}\n"),
            p + ":1: missing field 'optimizer'");
  EXPECT_EQ(ErrorOf([] { EpochsToTargetTable::Load("/nonexistent/ett.jsonl"); }),
            "/nonexistent/ett.jsonl: cannot open");
}

}  // namespace
}  // namespace joulecast
