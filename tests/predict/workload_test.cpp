#include "joulecast/predict/workload.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include "joulecast/arch/architecture.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

TEST(WorkloadTest, ZeusWorkloadsAreAllThere) {
  const WorkloadTable t = WorkloadTable::LoadDefault();
  EXPECT_EQ(t.FindZeus("cifar100", "shufflenetv2").name, "shufflenetv2_cifar100");
  EXPECT_EQ(t.FindZeus("imagenet", "resnet50").name, "resnet50_imagenet");
  EXPECT_EQ(t.FindZeus("librispeech", "deepspeech2").name, "deepspeech2_librispeech");
  EXPECT_EQ(t.FindZeus("movielens-1m", "ncf").name, "ncf_movielens1m");
  EXPECT_EQ(t.FindZeus("squad", "bert_base_uncased").name, "bert_base_squad");
  EXPECT_EQ(t.FindZeus("sentiment140", "bert_base_uncased").name, "bert_base_sentiment140");
  EXPECT_EQ(t.Find("ResNet50_ImageNet").samples_per_epoch, 1281167);
  const std::string e = ErrorOf([&] { t.FindZeus("mnist", "lenet"); });
  EXPECT_EQ(e.rfind("unknown Zeus workload (dataset 'mnist', network 'lenet'); known: "
                    "cifar100/shufflenetv2, imagenet/resnet50",
                    0),
            0u)
      << e;
  EXPECT_EQ(ErrorOf([&] { t.Find("gpt5"); }).rfind("unknown workload 'gpt5'; known: ", 0), 0u);
}

// The walked entries must equal what the walk says today (ptflops-convention MACs per sample).
TEST(WorkloadTest, WalkedMacsMatchTheArchitectures) {
  const WorkloadTable t = WorkloadTable::LoadDefault();
  const Profile p =
      Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json");
  const auto resnet = EstimateNetwork(p, LoadZooArchitecture("resnet50"), 1);
  EXPECT_NEAR(t.Find("resnet50_imagenet").forward_gmacs, resnet.macs / 1e9, 1e-9);
  const auto shuffle =
      EstimateNetwork(p,
                      LoadArchitectureFile(std::string(JOULECAST_SOURCE_DIR) +
                                           "/data/workloads/shufflenetv2_cifar100.json"),
                      1);
  EXPECT_NEAR(t.Find("shufflenetv2_cifar100").forward_gmacs, shuffle.macs / 1e9, 1e-9);
  for (const auto& w : t.workloads()) {
    EXPECT_NEAR(w.train_gflops_per_sample, 6 * w.forward_gmacs, 1e-9 * w.train_gflops_per_sample);
  }
}

TEST(WorkloadTest, MalformedTable) {
  using nlohmann::json;
  json w = {{"name", "a"},
            {"network", "n"},
            {"dataset", "d"},
            {"forward_gmacs", 1.0},
            {"params_m", 1.0},
            {"samples_per_epoch", 10},
            {"train_gflops_per_sample", 6.0}};
  EXPECT_NO_THROW(WorkloadTable::FromJson(json{{"workloads", json::array({w})}}, "w.json"));
  json bad = w;
  bad["train_gflops_per_sample"] = 5.0;
  EXPECT_EQ(ErrorOf([&] {
              WorkloadTable::FromJson(json{{"workloads", json::array({bad})}}, "w.json");
            }),
            "w.json: workloads[0] (a): train_gflops_per_sample 5 is not 6 x forward_gmacs (6)");
  bad = w;
  bad["samples_per_epoch"] = 0;
  EXPECT_EQ(ErrorOf([&] {
              WorkloadTable::FromJson(json{{"workloads", json::array({bad})}}, "w.json");
            }),
            "w.json: workloads[0] (a): field 'samples_per_epoch' must be a number > 0");
}

}  // namespace
}  // namespace joulecast
