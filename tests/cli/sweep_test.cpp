// Runs the built joulecast binary: `sweep ARCH --model P1[,P2]` without --gpu, the layer-wise route
// on a CPU (predict/cpu_run.h) over dtype x batch size x frozen parameters. The dtype axis needs a
// profile of another dtype: the tests write copies of models/amd-epyc-2c-time.json with "dtype"
// (and a measured "power") changed, so both rows of a batch size predict the same step and the
// cheapest row is decided by what the test sets. The Zeus route with --gpu is tested in
// train_estimate_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_helpers.h"
#include "html_checks.h"

namespace {

using nlohmann::json;
using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

const std::string kModel = "models/amd-epyc-2c-time.json";

class LayerwiseSweepTest : public CliFixture {
 protected:
  // A copy of the shipped profile as `dtype`, with a measured power when `watts` > 0. Where a
  // frozen step needs input_grad predictors (predict/frozen_step.h) that the shipped profile
  // lacks, the copy's input-gradient part is its forward pass.
  std::string Copy(const std::string& name, const std::string& dtype, double watts = 0) {
    json p = json::parse(Slurp(kModel));
    p["dtype"] = dtype;
    if (!p["modes"].contains("input_grad") &&
        Contains(Run("predict resnet18 --model " + kModel + " --mode train_step --freeze fc").err,
                 "input_grad")) {
      p["modes"]["input_grad"] = p["modes"]["forward"];
    }
    if (watts > 0)
      p["power"] = {{"watts", watts}, {"source", "measured"}, {"meter", "rapl"}, {"records", 4}};
    return Write(name, p.dump());
  }
  json JsonOf(const std::string& args) {
    Result r = Run(args + " --json");
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    return r.status == 0 ? json::parse(r.out) : json();
  }
  std::string ErrorOf(const std::string& args) {
    Result r = Run(args);
    EXPECT_EQ(r.status, 1) << args << ": " << r.out;
    EXPECT_EQ(r.out, "") << args;
    return r.err;
  }
  // Exactly one row is marked, and it has the lowest value of the key the sweep compared by.
  static void ExpectOneCheapest(const json& j) {
    const std::string by = j["cheapest_by"].get<std::string>();
    double lowest = INFINITY;
    for (const json& r : j["settings"]) lowest = std::min(lowest, r[by].get<double>());
    int marked = 0;
    for (const json& r : j["settings"]) {
      if (!r["cheapest"].get<bool>()) continue;
      ++marked;
      EXPECT_EQ(r[by].get<double>(), lowest) << by;
    }
    EXPECT_EQ(marked, 1);
  }
};

TEST_F(LayerwiseSweepTest, DtypeBatchAndFreezingAxes) {
  const std::string f32 = Copy("f32.json", "float32"), bf16 = Copy("bf16.json", "bfloat16");
  const json j = JsonOf("sweep resnet18 --model " + Quote(f32) + "," + Quote(bf16) +
                        " --batch-sizes 1,8 --freeze-options 'none;conv1,bn1,layer1' "
                        "--dataset-size 1000 --epochs 2");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["route"], "layer-wise CPU");
  EXPECT_EQ(j["cpu"], "AMD EPYC");
  EXPECT_EQ(j["cheapest_by"], "total_time_s");  // no power known: time decides
  EXPECT_EQ(j["precision"], "the dtypes of the profiles given: float32, bfloat16");
  const json& rows = j["settings"];
  ASSERT_EQ(rows.size(), 8u);  // 2 dtypes x 2 batch sizes x 2 choices
  const char* dtypes[] = {"float32", "bfloat16"};
  const int batches[] = {1, 8};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json& r = rows[i];
    EXPECT_EQ(r["dtype"], dtypes[i / 4]) << i;
    EXPECT_EQ(r["batch_size"], batches[i / 2 % 2]) << i;
    EXPECT_EQ(r["frozen"].size(), i % 2 == 0 ? 0u : 3u) << i;
    const double steps = std::ceil(1000.0 / batches[i / 2 % 2]);
    EXPECT_DOUBLE_EQ(r["steps_per_epoch"].get<double>(), steps);
    EXPECT_DOUBLE_EQ(r["total_time_s"].get<double>(), r["step_time_s"].get<double>() * steps * 2);
    EXPECT_TRUE(r["total_energy_j"].is_null());
  }
  // Nothing frozen is what `predict --mode train_step` says at that batch size.
  const json p = JsonOf("predict resnet18 --model " + kModel + " -b 8 --mode train_step");
  EXPECT_DOUBLE_EQ(rows[2]["step_time_s"].get<double>(), p["total_s"].get<double>());
  // Freezing shortens the step; the copy predicts what the original does.
  EXPECT_LT(rows[3]["step_time_s"].get<double>(), rows[2]["step_time_s"].get<double>());
  EXPECT_DOUBLE_EQ(rows[6]["step_time_s"].get<double>(), rows[2]["step_time_s"].get<double>());
  ExpectOneCheapest(j);

  Result t = Run("sweep resnet18 --model " + Quote(f32) + "," + Quote(bf16) +
                 " --batch-sizes 1,8 --freeze-options 'none;conv1,bn1,layer1' "
                 "--dataset-size 1000 --epochs 2");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(Contains(t.out, "\nfloat32        1  none ")) << t.out;
  EXPECT_TRUE(Contains(t.out, "\nbfloat16       8  conv1,bn1,layer1 ")) << t.out;
  EXPECT_TRUE(Contains(t.out, "  <- cheapest\n")) << t.out;
  EXPECT_TRUE(Contains(t.out, "cheapest: the lowest total time\n")) << t.out;
  EXPECT_TRUE(Contains(t.out, "precision: the dtypes of the profiles given: float32, bfloat16\n"))
      << t.out;
  EXPECT_TRUE(Contains(t.out, "not included: data loading")) << t.out;
  EXPECT_FALSE(Contains(t.out, "mixed precision: not shown")) << t.out;
}

TEST_F(LayerwiseSweepTest, EnergyDecidesWhenEveryRowHasIt) {
  // The same steps at 30 W (float32) and 10 W (bfloat16): a bfloat16 row is the cheapest in
  // energy, by the measured powers of the profiles.
  const std::string f32 = Copy("f32.json", "float32", 30), bf16 = Copy("bf16.json", "bfloat16", 10);
  const json j = JsonOf("sweep resnet18 --model " + Quote(f32) + "," + Quote(bf16) +
                        " --batch-sizes 8,32 --dataset-size 640");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["cheapest_by"], "total_energy_j");
  ExpectOneCheapest(j);
  for (const json& r : j["settings"]) {
    const double watts = r["dtype"] == "float32" ? 30 : 10;
    EXPECT_DOUBLE_EQ(r["total_energy_j"].get<double>(), watts * r["total_time_s"].get<double>());
    EXPECT_EQ(r["power"]["source"], "measured");
    if (r["cheapest"].get<bool>()) {
      EXPECT_EQ(r["dtype"], "bfloat16");
    }
  }
  // --power overrides both: every row at 35 W, and time decides again among equals.
  const json s = JsonOf("sweep resnet18 --model " + Quote(f32) + "," + Quote(bf16) +
                        " --batch-sizes 8 --dataset-size 640 --power 35");
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s["settings"][0]["power"]["source"], "assumed");
  EXPECT_DOUBLE_EQ(s["settings"][0]["total_energy_j"].get<double>(),
                   35 * s["settings"][0]["total_time_s"].get<double>());
  EXPECT_EQ(s["settings"][0]["cheapest"], true);  // the first of two equal rows
}

TEST_F(LayerwiseSweepTest, PerSampleWithoutADatasetSize) {
  const json j = JsonOf("sweep resnet18 --model " + kModel + " --batch-sizes 1,8,32");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["cheapest_by"], "time_per_sample_s");
  EXPECT_TRUE(j["samples_per_epoch"].is_null());
  for (const json& r : j["settings"]) EXPECT_TRUE(r["total_time_s"].is_null());
  ExpectOneCheapest(j);
  EXPECT_TRUE(Contains(j["precision"].get<std::string>(), "one dtype (float32)")) << j["precision"];
}

TEST_F(LayerwiseSweepTest, HtmlMarksTheCheapest) {
  const std::string bf16 = Copy("bf16.json", "bfloat16");
  const std::string args = "sweep resnet18 --model " + kModel + "," + Quote(bf16) +
                           " --batch-sizes 8,32 --dataset-size 640 --power 35";
  const json j = JsonOf(args);
  ASSERT_TRUE(j.is_object());
  Result r = Run(args + " --html " + Quote(P("sweep.html")));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string html = Slurp(P("sweep.html"));
  for (const auto& f : joulecast_test::HtmlFigures(html)) {
    EXPECT_DOUBLE_EQ(j.at(json::json_pointer(f.pointer)).get<double>(), f.value) << f.pointer;
  }
  std::size_t marked = 0;
  for (std::size_t p = html.find("\u2605 cheapest</td>"); p != std::string::npos;
       p = html.find("\u2605 cheapest</td>", p + 1)) {
    ++marked;
  }
  EXPECT_EQ(marked, 1u);
  EXPECT_TRUE(Contains(html, "float32, batch 8, frozen: none")) << html;
  EXPECT_TRUE(Contains(html, "bfloat16, batch 32, frozen: none")) << html;
}

TEST_F(LayerwiseSweepTest, BadInput) {
  const std::string f32 = Copy("f32.json", "float32");
  EXPECT_EQ(ErrorOf("sweep resnet18 --model " + kModel + "," + Quote(f32) + " --batch-sizes 8"),
            "joulecast: error: --model: models/amd-epyc-2c-time.json and " + f32 +
                " both predict float32 runs: give one profile per dtype\n");
  const std::string base = "sweep resnet18 --model " + kModel;
  EXPECT_EQ(ErrorOf(base + " --batch-sizes 8 --freeze-options 'none;layer9'"),
            "joulecast: error: --freeze-options: 'layer9' matches no parameter or module scope\n");
  EXPECT_EQ(ErrorOf(base + " --batch-sizes 8 --freeze-options 'none;;fc'"),
            "joulecast: error: --freeze-options: '' in 'none;;fc' is neither none nor a comma "
            "list of scopes\n");
  EXPECT_EQ(ErrorOf(base + " --batch-sizes 8 --freeze-options 'conv1,,fc'"),
            "joulecast: error: --freeze-options: 'conv1,,fc' in 'conv1,,fc' is neither none nor a "
            "comma list of scopes\n");
  EXPECT_EQ(ErrorOf(base + " --batch-sizes 0"),
            "joulecast: error: --batch-sizes: '0' is not an integer >= 1\n");
  EXPECT_EQ(ErrorOf(base + " --batch-sizes 8 --power-limits 100"),
            "joulecast: error: --power-limits: only with --gpu; a sweep on a CPU from layer-wise "
            "profiles takes --batch-sizes, --freeze-options, --dataset-size, --epochs and "
            "--power\n");
  EXPECT_EQ(ErrorOf(base + "," + Quote(P("missing.json")) + " --batch-sizes 8"),
            "joulecast: error: " + P("missing.json") + ": cannot open profile\n");
  EXPECT_EQ(ErrorOf("sweep resnet18 --batch-sizes 8"),
            "joulecast: error: --gpu: required with a training-run profile (" JOULECAST_SOURCE_DIR
            "/models/gpu-training.json); for a sweep on a CPU give layer-wise profiles with "
            "--model P1[,P2...] (e.g. models/amd-epyc-2c-time.json)\n");
  // The GPU route refuses the layer-wise options.
  EXPECT_EQ(ErrorOf("sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 64 --freeze-options "
                    "none"),
            "joulecast: error: --freeze-options: only with layer-wise profiles (without --gpu)\n");
}

}  // namespace
