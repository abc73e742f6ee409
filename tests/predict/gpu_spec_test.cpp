#include "joulecast/predict/gpu_spec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "error_of.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

TEST(GpuSpecTest, IssueListResolvesAndEveryEntryHasASource) {
  const GpuTable t = GpuTable::LoadDefault();
  for (const char* name :
       {"GTX 750 Ti",  "GTX 1050",  "GTX 1660",  "P100",      "V100",     "T4",
        "RTX 2080 Ti", "RTX 3070",  "RTX 3090",  "RTX 4090",  "RTX 6000", "RTX 6000 Ada",
        "A10",         "A40",       "A100 40GB", "A100 80GB", "L4",       "L40S",
        "H100 SXM",    "H100 PCIe", "H200",      "Tesla P4"}) {
    EXPECT_NE(t.TryFind(name), nullptr) << name;
  }
  EXPECT_EQ(t.Find("RTX 6000").name, "Quadro RTX 6000");
  EXPECT_EQ(t.Find("rtx6000 ada").name, "RTX 6000 Ada");
  EXPECT_EQ(t.Find("Tesla-V100").name, "V100 PCIe 32GB");
  EXPECT_EQ(t.Find("NVIDIA A40").name, "A40");
  for (const auto& g : t.gpus()) {
    EXPECT_FALSE(g.source.empty()) << g.name;
    // The vendors' FP32 peaks are 2 FLOPs x cores x boost clock; a typo in any of the three
    // shows here.
    const double peak = 2.0 * g.cuda_cores * g.boost_clock_mhz / 1e6;
    EXPECT_NEAR(g.fp32_tflops, peak, 0.02 * peak) << g.name;
    EXPECT_GT(g.tdp_w, 0) << g.name;
    if (g.fp16_tflops) EXPECT_GT(*g.fp16_tflops, 0) << g.name;
    // Every GPU states its L2 (the GPU operator model's cache feature needs it).
    ASSERT_TRUE(g.l2_cache_mb.has_value()) << g.name;
    EXPECT_GT(*g.l2_cache_mb, 0) << g.name;
  }
  // The NeuSight measurements' GPUs (data/neusight2025) by the names its tables use.
  for (const char* name : {"A100 PCIe 40GB", "A100 PCIe 80GB", "L4", "P100 PCIe 16GB", "P4", "T4",
                           "V100 PCIe 32GB"}) {
    EXPECT_EQ(t.Find(name).name, name);
  }
  EXPECT_DOUBLE_EQ(*t.Find("A100 PCIe 40GB").l2_cache_mb, 40);
  EXPECT_EQ(t.Find("P4").sms, 20);  // GP104: 20 SMs of 128 cores
  const GpuSpec& v100 = t.Find("V100");
  EXPECT_EQ(v100.cuda_cores, 5120);
  EXPECT_DOUBLE_EQ(v100.memory_bandwidth_gbs, 900);
  EXPECT_DOUBLE_EQ(v100.tdp_w, 250);
  EXPECT_DOUBLE_EQ(*v100.fp16_tflops, 112);
  EXPECT_FALSE(t.Find("GTX 750 Ti").fp16_tflops.has_value());
  EXPECT_DOUBLE_EQ(t.Find("GTX 750 Ti").Fp16OrFp32(), t.Find("GTX 750 Ti").fp32_tflops);
}

TEST(GpuSpecTest, UnknownNameListsCloseMatches) {
  const GpuTable t = GpuTable::LoadDefault();
  const std::string e = ErrorOf([&] { t.Find("V10"); });
  EXPECT_EQ(e.rfind("unknown GPU 'V10'; did you mean: ", 0), 0u) << e;
  EXPECT_NE(e.find("V100 PCIe 32GB"), std::string::npos) << e;
  const std::string e2 = ErrorOf([&] { t.Find("RTX 4080"); });
  EXPECT_NE(e2.find("RTX 4090"), std::string::npos) << e2;
  const std::string far = ErrorOf([&] { t.Find("Intel Data Center GPU Max 1550"); });
  EXPECT_EQ(far.rfind("unknown GPU 'Intel Data Center GPU Max 1550'; known GPUs: GTX 750 Ti, ", 0),
            0u)
      << far;
}

TEST(GpuSpecTest, NormalisationAndEditDistance) {
  EXPECT_EQ(NormalizeGpuName("NVIDIA GeForce RTX-3090"), "geforcertx3090");
  EXPECT_EQ(NormalizeGpuName("nvidia"), "nvidia");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("v100", "v100"), 0u);
}

TEST(GpuSpecTest, PowerLimitRange) {
  const GpuTable t = GpuTable::LoadDefault();
  EXPECT_NO_THROW(CheckPowerLimit(t.Find("V100"), 100));
  EXPECT_NO_THROW(CheckPowerLimit(t.Find("V100"), 250));
  EXPECT_EQ(ErrorOf([&] { CheckPowerLimit(t.Find("V100"), 90); }),
            "power limit 90 W is outside the range of V100 PCIe 32GB (100-250 W)");
  EXPECT_EQ(ErrorOf([&] { CheckPowerLimit(t.Find("V100"), 300); }),
            "power limit 300 W is outside the range of V100 PCIe 32GB (100-250 W)");
  EXPECT_EQ(ErrorOf([&] { CheckPowerLimit(t.Find("T4"), 0); }),
            "power limit 0 W is outside the range of T4 (0-70 W; its lowest NVML limit is not in "
            "gpus.json)");
  EXPECT_NO_THROW(CheckPowerLimit(t.Find("T4"), 35));
  EXPECT_THROW(CheckPowerLimit(t.Find("T4"), std::nan("")), std::runtime_error);
}

TEST(GpuSpecTest, MalformedTables) {
  using nlohmann::json;
  json g = {{"name", "X1"},
            {"architecture", "A"},
            {"cuda_cores", 10},
            {"sms", 1},
            {"memory_gb", 1},
            {"memory_bandwidth_gbs", 10},
            {"tdp_w", 50},
            {"boost_clock_mhz", 1000},
            {"fp32_tflops", 0.02},
            {"source", "test sheet"},
            {"aliases", json::array({"x-1"})}};
  EXPECT_NO_THROW(GpuTable::FromJson(json{{"gpus", json::array({g})}}, "t.json"));
  json dup = g;
  dup["name"] = "X 1";
  dup["aliases"] = json::array();
  EXPECT_EQ(ErrorOf([&] {
              GpuTable::FromJson(json{{"gpus", json::array({g, dup})}}, "t.json");
            }),
            "t.json: 'x1' names both X1 and X 1");
  json bad = g;
  bad["tdp_w"] = -5;
  EXPECT_EQ(ErrorOf([&] {
              GpuTable::FromJson(json{{"gpus", json::array({bad})}}, "t.json");
            }),
            "t.json: gpus[0] (X1): field 'tdp_w' must be a number > 0");
  json l2 = g;
  l2["l2_cache_mb"] = 0;
  EXPECT_EQ(ErrorOf([&] {
              GpuTable::FromJson(json{{"gpus", json::array({l2})}}, "t.json");
            }),
            "t.json: gpus[0] (X1): field 'l2_cache_mb' must be a number > 0");
  json nosrc = g;
  nosrc.erase("source");
  EXPECT_EQ(ErrorOf([&] {
              GpuTable::FromJson(json{{"gpus", json::array({nosrc})}}, "t.json");
            }),
            "t.json: gpus[0] (X1): missing field 'source'");
  EXPECT_EQ(ErrorOf([] { GpuTable::Load("/nonexistent/gpus.json"); }),
            "/nonexistent/gpus.json: cannot open");
}

}  // namespace
}  // namespace joulecast
