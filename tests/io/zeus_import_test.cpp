#include "joulecast/io/zeus_import.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "error_of.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

using joulecast_test::ErrorOf;

const char* kHeader =
    "dataset,network,batch_size,optimizer,power_limit,time_per_epoch,average_power\n";

class ZeusImportTest : public ::testing::Test {
 protected:
  fs::path dir_ = fs::temp_directory_path() / ("jc_zeus_" + std::to_string(::getpid()));
  GpuTable gpus_ = GpuTable::LoadDefault();
  WorkloadTable workloads_ = WorkloadTable::LoadDefault();
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const fs::path p = dir_ / "summary_power_test.csv";
    std::ofstream(p) << text;
    return p.string();
  }
};

TEST_F(ZeusImportTest, RowsBecomeRuns) {
  const std::string p = Write(std::string(kHeader) +
                              "cifar100,shufflenetv2,1024,adadelta,100,11.5,86.5\n"
                              "squad,bert_base_uncased,32,adamw,250,1600,225\n");
  auto runs = ImportZeusFile(p, gpus_.Find("V100"), workloads_, "test source");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].gpu, "V100 PCIe 32GB");
  EXPECT_EQ(runs[0].workload, "shufflenetv2_cifar100");
  EXPECT_EQ(runs[0].batch_size, 1024);
  EXPECT_EQ(runs[0].optimizer, "adadelta");
  EXPECT_DOUBLE_EQ(*runs[0].power_limit_w, 100);
  EXPECT_DOUBLE_EQ(runs[0].epoch_energy_j, 11.5 * 86.5);
  EXPECT_DOUBLE_EQ(runs[0].samples_per_epoch, 50000);
  EXPECT_EQ(runs[0].provenance["line"], 2);
  EXPECT_EQ(runs[0].provenance["source"], "test source");
  EXPECT_EQ(runs[1].workload, "bert_base_squad");
  EXPECT_DOUBLE_EQ(runs[1].epoch_energy_j, 1600.0 * 225);
}

TEST_F(ZeusImportTest, Errors) {
  const GpuSpec& v100 = gpus_.Find("V100");
  std::string p =
      Write(std::string(kHeader) + "cifar100,shufflenetv2,1024,adadelta,90,11.5,86.5\n");
  EXPECT_EQ(ErrorOf([&] { ImportZeusFile(p, v100, workloads_); }),
            p + ":2: power limit 90 W is outside the range of V100 PCIe 32GB (100-250 W)");
  p = Write(std::string(kHeader) + "mnist,lenet,64,sgd,100,1,1\n");
  EXPECT_EQ(
      ErrorOf([&] {
        ImportZeusFile(p, v100, workloads_);
      }).rfind(p + ":2: unknown Zeus workload (dataset 'mnist', network 'lenet'); known: ", 0),
      0u);
  p = Write(std::string(kHeader) + "cifar100,shufflenetv2,1024,adadelta,100,abc,86.5\n");
  EXPECT_EQ(ErrorOf([&] { ImportZeusFile(p, v100, workloads_); }).rfind(p + ":2: ", 0), 0u);
  p = Write(std::string(kHeader) + "cifar100,shufflenetv2,1024,adadelta,100,0,86.5\n");
  EXPECT_EQ(ErrorOf([&] { ImportZeusFile(p, v100, workloads_); }),
            p + ":2: time_per_epoch and average_power must be > 0, got 0 and 86.5");
  p = Write(std::string(kHeader) + "cifar100,shufflenetv2,1024,adadelta,100,1,2\n" +
            "cifar100,shufflenetv2,1024,adadelta,100,1,2\n");
  EXPECT_EQ(
      ErrorOf([&] { ImportZeusFile(p, v100, workloads_); }),
      p + ":3: configuration cifar100/shufflenetv2 batch 1024 adadelta 100 W already on line 2");
  p = Write(kHeader);
  EXPECT_EQ(ErrorOf([&] { ImportZeusFile(p, v100, workloads_); }), p + ": no rows");
  p = Write("dataset,network,batch_size\ncifar100,shufflenetv2,8\n");
  EXPECT_EQ(ErrorOf([&] { ImportZeusFile(p, v100, workloads_); }),
            p + ":1: missing column 'optimizer'");
}

}  // namespace
}  // namespace joulecast
