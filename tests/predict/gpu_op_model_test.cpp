#include "joulecast/predict/gpu_op_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "error_of.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;
using nlohmann::json;

::testing::AssertionResult StartsWith(const std::string& text, const std::string& prefix) {
  if (text.rfind(prefix, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not start with '" << prefix << "'";
}
::testing::AssertionResult HasSubstr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

TEST(GpuOpModelTest, WorkOfMatchesClosedForms) {
  // linear: (B·M)×K by K×N, weight shared by the batch.
  GpuOpWork w = WorkOf({"linear", {3, 100, 200, 50}});
  EXPECT_DOUBLE_EQ(w.flops, 2.0 * 3 * 100 * 200 * 50);
  EXPECT_DOUBLE_EQ(w.bytes, 4.0 * (3 * 100 * 50 + 50 * 200 + 3 * 100 * 200));
  EXPECT_DOUBLE_EQ(w.tiles, std::ceil(300 / 128.0) * std::ceil(200 / 128.0));  // 3 · 2
  EXPECT_DOUBLE_EQ(w.tile_flops, 2.0 * 128 * 128 * 50);
  // bmm: B weights, tiles per batch entry.
  w = WorkOf({"bmm", {3, 100, 200, 50}});
  EXPECT_DOUBLE_EQ(w.flops, 2.0 * 3 * 100 * 200 * 50);
  EXPECT_DOUBLE_EQ(w.bytes, 4.0 * (3 * 100 * 50 + 3 * 50 * 200 + 3 * 100 * 200));
  EXPECT_DOUBLE_EQ(w.tiles, 3.0 * 1 * 2);
  // conv 3→64, 3×3, 32×32, stride 1, padding 1: Ho = 32.
  w = WorkOf({"conv", {2, 3, 64, 3, 32, 1, 1}});
  EXPECT_DOUBLE_EQ(w.flops, 2.0 * 2 * 64 * 32 * 32 * 3 * 9);
  EXPECT_DOUBLE_EQ(w.bytes, 4.0 * (2 * 3 * 32 * 32 + 64 * 3 * 9 + 2 * 64 * 32 * 32));
  EXPECT_DOUBLE_EQ(w.tiles, 16.0);
  // conv stride 2, no padding: Ho = floor((9 - 3) / 2) + 1 = 4.
  w = WorkOf({"conv", {1, 1, 1, 3, 9, 2, 0}});
  EXPECT_DOUBLE_EQ(w.flops, 2.0 * 4 * 4 * 9);
  // Element-wise: one flop an element; two tensor operands read plus the output, or one.
  w = WorkOf({"add", {10, 300}});
  EXPECT_DOUBLE_EQ(w.flops, 3000);
  EXPECT_DOUBLE_EQ(w.bytes, 12.0 * 3000);
  EXPECT_DOUBLE_EQ(w.tiles, 3);
  EXPECT_DOUBLE_EQ(WorkOf({"addu", {10, 300}}).bytes, 8.0 * 3000);
  EXPECT_DOUBLE_EQ(WorkOf({"gelu", {10, 300}}).bytes, 8.0 * 3000);
  // ln and softmax: five flops an element, one tile per row.
  w = WorkOf({"ln", {10, 300}});
  EXPECT_DOUBLE_EQ(w.flops, 5.0 * 3000);
  EXPECT_DOUBLE_EQ(w.bytes, 8.0 * 3000);
  EXPECT_DOUBLE_EQ(w.tiles, 10);
}

TEST(GpuOpModelTest, RooflineMatchesHandComputedV100) {
  const GpuTable t = GpuTable::LoadDefault();
  const GpuSpec& v100 = t.Find("V100 PCIe 32GB");  // 14.0 TFLOP/s, 900 GB/s
  // 1024³ product: 2^31 flops / 14e12 = 153.39 µs (compute-bound; 12 MiB / 900e9 = 13.98 µs).
  EXPECT_NEAR(RooflineSeconds(WorkOf({"linear", {1, 1024, 1024, 1024}}), v100),
              2147483648.0 / 14e12, 1e-12);
  // add of 2^20 elements: 12 MiB / 900e9 = 13.98 µs (memory-bound).
  EXPECT_NEAR(RooflineSeconds(WorkOf({"add", {1024, 1024}}), v100), 12582912.0 / 900e9, 1e-12);
}

TEST(GpuOpModelTest, BadCallsName) {
  EXPECT_TRUE(StartsWith(ErrorOf([] {
                           WorkOf({"lin", {1, 2, 3, 4}});
                         }),
                         "unknown GPU operator 'lin'; known: linear, bmm, conv, ln, softmax, add"));
  EXPECT_EQ(ErrorOf([] {
              WorkOf({"linear", {1, 2, 3}});
            }),
            "linear: expected 4 sizes (B, M, N, K), got 3");
  EXPECT_EQ(ErrorOf([] {
              WorkOf({"conv", {1, 1, 1, 3, 5, 1, -1}});
            }),
            "conv: size padding = -1 must be >= 0 and <= 2^40");
  EXPECT_EQ(ErrorOf([] {
              WorkOf({"conv", {1, 1, 1, 7, 3, 1, 1}});
            }),
            "conv: the kernel (7) is larger than the padded input (5)");
}

// Five made-up GPUs: the power share s = min(1, 0.05 · tdp / peak) is 0.5, 1, 0.5, 1 and 0.75.
GpuTable SyntheticGpus(bool with_l2 = true, const std::vector<std::string>& cc = {}) {
  json gpus = json::array();
  const double peaks[] = {10, 10, 20, 5, 8}, tdps[] = {100, 300, 200, 150, 120},
               bws[] = {300, 600, 900, 200, 400};
  const int sms[] = {40, 60, 80, 20, 50};
  for (int i = 0; i < 5; ++i) {
    json g = {{"name", "G" + std::to_string(i)},
              {"architecture", "A"},
              {"cuda_cores", 1000},
              {"sms", sms[i]},
              {"memory_gb", 16},
              {"memory_bandwidth_gbs", bws[i]},
              {"tdp_w", tdps[i]},
              {"boost_clock_mhz", 1000},
              {"fp32_tflops", peaks[i]},
              {"source", "test sheet"},
              {"aliases", json::array()}};
    if (with_l2) g["l2_cache_mb"] = 4;
    if (!cc.empty()) g["compute_capability"] = cc[i];
    gpus.push_back(g);
  }
  return GpuTable::FromJson(json{{"gpus", gpus}}, "t.json");
}

// latency = 10 µs + whole-wave compute at s · peak (sizes chosen compute-bound).
double Law(const GpuOpCall& c, const GpuSpec& g) {
  const GpuOpWork w = WorkOf(c);
  const double s = std::min(1.0, 0.05 * g.tdp_w / g.fp32_tflops);
  const double waves = std::ceil(w.tiles / g.sms);
  return 1e-5 + std::max(waves * g.sms * w.tile_flops / (s * g.fp32_tflops * 1e12),
                         w.bytes / (g.memory_bandwidth_gbs * 1e9));
}

std::vector<GpuOpCall> SyntheticCalls() {
  std::vector<GpuOpCall> calls;
  for (int i = 0; i < 8; ++i) calls.push_back({"linear", {1, 1, 1, 1}});  // the fixed cost
  for (std::int64_t m : {128, 384, 1024, 2048, 4096})
    for (std::int64_t n : {128, 512, 1536, 4096})
      for (std::int64_t k : {256, 1024, 4096}) calls.push_back({"linear", {1, m, n, k}});
  return calls;
}

TEST(GpuOpModelTest, FitRecoversAKnownLawOnAHeldOutGpu) {
  const GpuTable gpus = SyntheticGpus();
  std::vector<GpuOpRecord> train;
  for (const char* name : {"G0", "G1", "G2", "G3"}) {
    for (const GpuOpCall& c : SyntheticCalls()) train.push_back({c, name, Law(c, gpus.Find(name))});
  }
  GpuOpModelOptions o;
  o.grid.clear();
  for (const char* a : {"none", "tdp_per_tflop"}) {
    GpuOpCandidate c;
    c.power = a;
    c.f.degree = 1;
    c.f.use_kernel = false;
    o.grid.push_back(c);
  }
  const GpuOpModel m = GpuOpModel::Fit(train, gpus, o);
  ASSERT_EQ(m.predictors().size(), 1u);
  const GpuOpPredictor& p = m.predictors()[0];
  EXPECT_EQ(p.power, "tdp_per_tflop");  // leave-one-GPU-out prefers the power term the law has
  EXPECT_NEAR(p.power_c, 0.05, 0.05 * 0.13);  // within one step of the c grid
  EXPECT_DOUBLE_EQ(p.r_lo, 10);
  EXPECT_DOUBLE_EQ(p.r_hi, 30);
  // G4 (s = 0.75) was never seen: its large calls within a few percent.
  const GpuSpec& g4 = gpus.Find("G4");
  for (const GpuOpCall& c : SyntheticCalls()) {
    if (c.sizes[1] < 1024) continue;
    EXPECT_NEAR(m.Predict(c, g4) / Law(c, g4), 1.0, 0.06) << c.sizes[1] << " " << c.sizes[2];
  }
  // A round trip through JSON predicts the same.
  const GpuOpModel back = GpuOpModel::FromJson(json::parse(m.ToJson().dump()), "m.json");
  const GpuOpCall c{"linear", {1, 2048, 1536, 1024}};
  EXPECT_DOUBLE_EQ(back.Predict(c, g4), m.Predict(c, g4));
  EXPECT_EQ(back.ToJson(), m.ToJson());
  EXPECT_EQ(ErrorOf([&] {
              back.Predict({"conv", {1, 1, 1, 1, 1, 1, 0}}, g4);
            }),
            "no model for operator 'conv' in m.json");
  EXPECT_TRUE(StartsWith(ErrorOf([&] {
                           back.Predict({"lin", {1}}, g4);
                         }),
                         "unknown GPU operator 'lin'; known: "));
  EXPECT_EQ(ErrorOf([&] {
              back.Predict({"linear", {1, 2}}, g4);
            }),
            "linear: expected 4 sizes (B, M, N, K), got 2");
  // A GPU without the L2 size the features need.
  const GpuTable no_l2 = SyntheticGpus(false);
  EXPECT_EQ(ErrorOf([&] { back.Predict(c, no_l2.Find("G4")); }),
            "GPU 'G4': field 'l2_cache_mb' is needed by the GPU operator model "
            "(data/hardware/gpus.json)");
  // Broken files name the file and the field.
  json j = m.ToJson();
  j["format_version"] = 1;
  EXPECT_EQ(ErrorOf([&] { GpuOpModel::FromJson(j, "m.json"); }),
            "m.json: field 'format_version' must be 2 or 3");
  j = m.ToJson();
  j["ops"]["linear"]["power_c"] = -1;
  EXPECT_EQ(ErrorOf([&] { GpuOpModel::FromJson(j, "m.json"); }),
            "m.json: ops.linear: field 'power_c' must be a number > 0");
  j = m.ToJson();
  j["ops"]["linear"]["power"] = "watts";
  EXPECT_EQ(ErrorOf([&] { GpuOpModel::FromJson(j, "m.json"); }),
            "m.json: ops.linear: field 'power' must be one of: none, tdp_per_tflop, tdp");
  j = m.ToJson();
  j["ops"]["linear"].erase("power_q_range");
  EXPECT_EQ(ErrorOf([&] { GpuOpModel::FromJson(j, "m.json"); }),
            "m.json: ops.linear: field 'power_q_range' must be [lo, hi], 0 < lo <= hi");
  j = m.ToJson();
  j["ops"]["linear"]["kept_features"] = json::array({"speed"});
  EXPECT_TRUE(StartsWith(ErrorOf([&] { GpuOpModel::FromJson(j, "m.json"); }),
                         "m.json: ops.linear: field 'kept_features': unknown feature \"speed\""));
  j = m.ToJson();
  j["ops"]["lin"] = j["ops"]["linear"];
  EXPECT_TRUE(StartsWith(ErrorOf([&] { GpuOpModel::FromJson(j, "m.json"); }),
                         "m.json: ops.lin: unknown GPU operator 'lin'"));
}

TEST(GpuOpModelTest, ProductsAreFittedOnNewerGpusOnly) {
  // G0 and G1 of compute capability 6.1 (Pascal), G2 and G3 of 8.0; G4 states none.
  const GpuTable t = SyntheticGpus(true, {"6.1", "6.1", "8.0", "8.0", ""});
  std::vector<GpuOpRecord> train;
  for (const char* name : {"G0", "G1", "G2", "G3", "G4"}) {
    for (const GpuOpCall& c : SyntheticCalls()) train.push_back({c, name, Law(c, t.Find(name))});
  }
  GpuOpModelOptions o;
  o.grid.resize(1);
  const auto trained_on = [](const GpuOpModel& m) {
    std::vector<std::string> v;
    for (const json& e : m.predictors().at(0).cv.at("trained_on")) v.push_back(e.at("gpu"));
    return v;
  };
  EXPECT_EQ(trained_on(GpuOpModel::Fit(train, t, o)), (std::vector<std::string>{"G2", "G3", "G4"}));
  // Pascal only: nothing newer to fit on, so all of them.
  const std::vector<GpuOpRecord> pascal(train.begin(), train.begin() + 2 * SyntheticCalls().size());
  EXPECT_EQ(trained_on(GpuOpModel::Fit(pascal, t, o)), (std::vector<std::string>{"G0", "G1"}));
  o.newer_gpus_only.clear();
  EXPECT_EQ(trained_on(GpuOpModel::Fit(train, t, o)).size(), 5u);
}

TEST(GpuOpModelTest, NearConstantFeaturesAreDroppedAndInputsClamped) {
  // Large element-wise calls: the compute share is ~0.003 everywhere, so it is dropped; a
  // degree-2 trend stays bounded on a GPU and sizes the features never reached.
  const GpuTable gpus = SyntheticGpus();
  std::vector<GpuOpRecord> train;
  for (const char* name : {"G0", "G1", "G2"}) {
    for (std::int64_t b : {1024, 2048, 4096, 8192, 16384, 65536})
      for (std::int64_t h : {1024, 4096}) {
        const GpuOpCall c{"add", {b, h}};
        train.push_back({c, name, Law(c, gpus.Find(name))});
      }
  }
  GpuOpModelOptions o;
  o.grid.resize(1);
  o.grid[0].f.degree = 2;
  const GpuOpModel m = GpuOpModel::Fit(train, gpus, o);
  const GpuOpPredictor& p = m.predictors()[0];
  EXPECT_EQ(std::count(p.kept.begin(), p.kept.end(), 0), 0);  // compute_share
  const double huge = m.Predict({"add", {1 << 20, 4096}}, gpus.Find("G3"));
  const double roof = RooflineSeconds(WorkOf({"add", {1 << 20, 4096}}), gpus.Find("G3"));
  EXPECT_GT(huge / roof, 0.5);
  EXPECT_LT(huge / roof, 2.0);
}

TEST(GpuOpModelTest, FsOutputStaysInTheFittedTargetsRange) {
  // f's targets are ln(latency / base) of the fitted rows; whatever f says on another GPU, the
  // factor over the base stays within [min, max] of them. Round trip keeps the range; a file
  // without it (written before it existed) loads and predicts unclamped.
  const GpuTable gpus = SyntheticGpus();
  std::vector<GpuOpRecord> train;
  for (const char* name : {"G0", "G1", "G2"}) {
    for (std::int64_t b : {1024, 4096, 16384})
      for (std::int64_t h : {1024, 4096}) {
        const GpuOpCall c{"add", {b, h}};
        train.push_back({c, name, Law(c, gpus.Find(name))});
      }
  }
  GpuOpModelOptions o;
  o.grid.resize(1);
  const GpuOpModel m = GpuOpModel::Fit(train, gpus, o);
  const GpuOpPredictor& p = m.predictors()[0];
  double lo = 1e9, hi = -1e9;
  for (const GpuOpRecord& r : train) {
    double base = 0;
    GpuOpFeatures(r.call, gpus.Find(r.gpu), p.t0_s, p.PowerShare(gpus.Find(r.gpu)), &base);
    lo = std::min(lo, std::log(r.latency_s / base));
    hi = std::max(hi, std::log(r.latency_s / base));
  }
  EXPECT_NEAR(p.f_lo, lo, 1e-12);
  EXPECT_NEAR(p.f_hi, hi, 1e-12);
  EXPECT_LT(lo, hi);
  const json j = m.ToJson();
  EXPECT_EQ(j["ops"]["add"]["target_range"], json::array({p.f_lo, p.f_hi}));
  const GpuOpModel back = GpuOpModel::FromJson(j, "m.json");
  EXPECT_DOUBLE_EQ(back.predictors()[0].f_hi, p.f_hi);
  json old = j;
  old["ops"]["add"].erase("target_range");
  EXPECT_EQ(GpuOpModel::FromJson(old, "m.json").predictors()[0].f_lo, 0.0);
  json bad = j;
  bad["ops"]["add"]["target_range"] = json::array({1.0, 0.0});
  EXPECT_TRUE(HasSubstr(ErrorOf([&] { GpuOpModel::FromJson(bad, "m.json"); }),
                        "field 'target_range' must be [lo, hi], finite, lo <= hi"));
  // A call far outside every fitted shape on an unseen GPU: at most base · exp(hi).
  const GpuOpCall far{"add", {1, 7}};
  double base = 0;
  GpuOpFeatures(far, gpus.Find("G3"), p.t0_s, p.PowerShare(gpus.Find("G3")), &base);
  const double pred = m.Predict(far, gpus.Find("G3"));
  EXPECT_LE(pred, base * std::exp(hi) * (1 + 1e-12));
  EXPECT_GE(pred, base * std::exp(lo) * (1 - 1e-12));
}

std::string WriteTable(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("joulecast_gpu_op_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(GpuOpModelTest, TablesLoadAndBadRowsName) {
  const GpuTable gpus = GpuTable::LoadDefault();
  const std::string ok = WriteTable("ok.csv",
                                    "op,gpu,B,M,N,K,latency_ms\n"
                                    "linear,Tesla T4,1,2,3,4,0.05\n");
  const auto rows = LoadNeuSightTable(ok, gpus);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].gpu, "T4");
  EXPECT_DOUBLE_EQ(rows[0].latency_s, 5e-5);
  EXPECT_EQ(rows[0].call.sizes, (std::vector<std::int64_t>{1, 2, 3, 4}));

  const std::string fields = WriteTable("fields.csv",
                                        "op,gpu,B,M,N,K,latency_ms\n"
                                        "linear,T4,1,2,3,0.05\n");
  EXPECT_EQ(ErrorOf([&] { LoadNeuSightTable(fields, gpus); }),
            fields + ":2: 6 fields, the header has 7");
  const std::string gpu = WriteTable("gpu.csv",
                                     "op,gpu,B,M,N,K,latency_ms\n"
                                     "linear,V10,1,2,3,4,0.05\n");
  const std::string gpu_error = ErrorOf([&] { LoadNeuSightTable(gpu, gpus); });
  EXPECT_TRUE(StartsWith(gpu_error, gpu + ":2: unknown GPU 'V10'; did you mean: "));
  EXPECT_TRUE(HasSubstr(gpu_error, "V100 PCIe 32GB"));
  const std::string op = WriteTable("op.csv",
                                    "op,gpu,B,M,N,K,latency_ms\n"
                                    "lin,T4,1,2,3,4,0.05\n");
  EXPECT_TRUE(StartsWith(ErrorOf([&] { LoadNeuSightTable(op, gpus); }),
                         op + ":2: unknown GPU operator 'lin'; known: "));
  const std::string lat = WriteTable("lat.csv",
                                     "op,gpu,B,M,N,K,latency_ms\n"
                                     "linear,T4,1,2,3,4,0\n");
  EXPECT_EQ(ErrorOf([&] { LoadNeuSightTable(lat, gpus); }), lat + ":2: latency_ms must be > 0");
  const std::string num = WriteTable("num.csv",
                                     "op,gpu,B,M,N,K,latency_ms\n"
                                     "linear,T4,1,x,3,4,0.1\n");
  EXPECT_TRUE(StartsWith(ErrorOf([&] { LoadNeuSightTable(num, gpus); }), num + ":2: "));
  for (const std::string& f : {ok, fields, gpu, op, lat, num}) std::filesystem::remove(f);
}

}  // namespace
}  // namespace joulecast
