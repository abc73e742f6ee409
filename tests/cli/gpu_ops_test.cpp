// Runs the built joulecast binary: `gpu-ops fit` on small synthetic NeuSight-format tables (three
// GPUs), the model file it writes (provenance, leave-one-GPU-out scores), `gpu-ops predict` on a
// GPU without training rows, `gpu-ops evaluate`, and the one-line errors for bad input.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

class GpuOpsCliTest : public CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    fs::create_directories(dir_ / "data" / "train");
    fs::create_directories(dir_ / "data" / "test");
    // latency = 10 µs + 2·B·M·N·K at 60 % of the FP32 peak (T4 8.1, V100 14.0, A100 19.5 TFLOP/s).
    std::string table = "op,gpu,B,M,N,K,latency_ms\n";
    const std::pair<const char*, double> gpus[] = {
        {"T4", 8.1}, {"V100 PCIe 32GB", 14.0}, {"A100 PCIe 40GB", 19.5}};
    for (const auto& [gpu, tflops] : gpus) {
      for (int m : {64, 256, 1024, 2048})
        for (int n : {128, 512, 2048})
          for (int k : {64, 512, 4096}) {
            const double ms = 0.01 + 2.0 * m * n * k / (0.6 * tflops * 1e12) * 1e3;
            table += fmt::format("linear,{},1,{},{},{},{:.6g}\n", gpu, m, n, k, ms);
          }
    }
    Write("data/train/linear.csv", table);
    Write("data/test/linear.csv",
          "op,gpu,B,M,N,K,latency_ms\n"
          "linear,L4,1,1024,1024,1024,0.5\n");
  }
  std::string Error(const std::string& args) {
    const Result r = Run(args);
    EXPECT_EQ(r.status, 1) << args << ": " << r.out;
    return r.err;
  }
};

TEST_F(GpuOpsCliTest, FitWritesScoresAndProvenanceThenPredicts) {
  const Result fit = Run("gpu-ops fit --data " + Quote(P("data")) + " -o " + Quote(P("m.json")));
  ASSERT_EQ(fit.status, 0) << fit.err;
  EXPECT_TRUE(Contains(fit.out, "1 operators from 108 records")) << fit.out;
  const json m = json::parse(Slurp(P("m.json")));
  EXPECT_EQ(m["kind"], "joulecast_gpu_op_model");
  EXPECT_EQ(m["hardware"]["fitted_on"], json::array({"A100 PCIe 40GB", "T4", "V100 PCIe 32GB"}));
  EXPECT_TRUE(Contains(m["hardware"]["licence"].get<std::string>(), "MIT"));
  ASSERT_EQ(m["cv"].size(), 3u);  // linear on each of the three GPUs, held out
  for (const json& s : m["cv"]) {
    EXPECT_EQ(s["op"], "linear");
    EXPECT_TRUE(std::isfinite(s["mape_pct"].get<double>())) << s.dump();
    EXPECT_TRUE(std::isfinite(s["roofline_mape_pct"].get<double>())) << s.dump();
    EXPECT_EQ(s["n"], 36) << s.dump();
  }

  const Result pr =
      Run("gpu-ops predict linear 1,1024,1024,1024 --gpu L4 --json --model " + Quote(P("m.json")));
  ASSERT_EQ(pr.status, 0) << pr.err;
  const json p = json::parse(pr.out);
  EXPECT_EQ(p["gpu"], "L4");
  EXPECT_GT(p["latency_s"].get<double>(), p["roofline_s"].get<double>() * 0.5);
  EXPECT_LT(p["latency_s"].get<double>(), 1.0);

  const Result ev = Run("gpu-ops evaluate --json --data " + Quote(P("data")));
  ASSERT_EQ(ev.status, 0) << ev.err;
  const json e = json::parse(ev.out);
  EXPECT_EQ(e["leave_one_gpu_out"].size(), 3u);
  ASSERT_EQ(e["test"].size(), 1u);
  EXPECT_EQ(e["test"][0]["gpu"], "L4");

  // The fitted file, unchanged, on a folder of tables measured elsewhere: the same score as
  // evaluate's refit gives for that row (the fit is deterministic), and no leave-one-GPU-out.
  fs::create_directories(P("mine"));
  Write("mine/linear.csv",
        "op,gpu,B,M,N,K,latency_ms\n"
        "linear,L4,1,1024,1024,1024,0.5\n");
  Write("mine/ln.csv", "op,gpu,B,H,latency_ms\nln,L4,8,1024,0.01\n");
  const Result mine =
      Run("gpu-ops evaluate --json --model " + Quote(P("m.json")) + " --test " + Quote(P("mine")));
  ASSERT_EQ(mine.status, 0) << mine.err;
  const json me = json::parse(mine.out);
  EXPECT_FALSE(me.contains("leave_one_gpu_out")) << mine.out;
  ASSERT_EQ(me["test"].size(), 1u);
  EXPECT_EQ(me["test"][0]["gpu"], "L4");
  EXPECT_EQ(me["test"][0]["n"], 1);
  EXPECT_NEAR(me["test"][0]["mape_pct"].get<double>(), e["test"][0]["mape_pct"].get<double>(),
              1e-9);
  EXPECT_EQ(me["operators_without_predictor"], json::array({"ln"}));
  EXPECT_EQ(Error("gpu-ops evaluate --model " + Quote(P("m.json"))),
            "joulecast: error: gpu-ops evaluate: --model and --test go together (a fitted model "
            "scored on the tables of a folder)\n");
  fs::remove(P("mine/linear.csv"));
  EXPECT_EQ(Error("gpu-ops evaluate --model " + Quote(P("m.json")) + " --test " + Quote(P("mine"))),
            "joulecast: error: " + P("mine") + ": no records of an operator that " + P("m.json") +
                " predicts\n");

  const std::string model = " --model " + Quote(P("m.json"));
  const std::string gpu = Error("gpu-ops predict linear 1,2,3,4 --gpu V10" + model);
  EXPECT_TRUE(StartsWith(gpu, "joulecast: error: unknown GPU 'V10'; did you mean: ")) << gpu;
  EXPECT_TRUE(Contains(gpu, "V100 PCIe 32GB")) << gpu;
  EXPECT_TRUE(StartsWith(Error("gpu-ops predict lin 1,2,3,4 --gpu T4" + model),
                         "joulecast: error: unknown GPU operator 'lin'; known: linear, bmm"));
  EXPECT_EQ(Error("gpu-ops predict linear 1,2,3 --gpu T4" + model),
            "joulecast: error: linear: expected 4 sizes (B, M, N, K), got 3\n");
  EXPECT_EQ(Error("gpu-ops predict conv 1,1,1,1,1,1,0 --gpu T4" + model),
            "joulecast: error: no model for operator 'conv' in " + P("m.json") + "\n");
}

// --also: a folder of another GPU's tables (the test tables' columns) joins the training rows,
// the leave-one-GPU-out folds and the provenance.
TEST_F(GpuOpsCliTest, AlsoAddsAnotherGpusTables) {
  std::string table = "op,gpu,B,M,N,K,latency_ms\n";
  for (int m : {64, 1024})
    for (int n : {128, 2048})
      for (int k : {64, 4096}) {
        const double ms = 0.01 + 2.0 * m * n * k / (0.6 * 66.9e12) * 1e3;
        table += fmt::format("linear,H100 SXM 80GB,1,{},{},{},{:.6g}\n", m, n, k, ms);
      }
  fs::create_directories(P("h100"));
  Write("h100/linear.csv", table);
  const Result fit = Run("gpu-ops fit --data " + Quote(P("data")) + " --also " + Quote(P("h100")) +
                         " -o " + Quote(P("m.json")));
  ASSERT_EQ(fit.status, 0) << fit.err;
  EXPECT_TRUE(Contains(fit.out, "1 operators from 116 records")) << fit.out;
  const json m = json::parse(Slurp(P("m.json")));
  EXPECT_EQ(m["hardware"]["fitted_on"],
            json::array({"A100 PCIe 40GB", "H100 SXM 80GB", "T4", "V100 PCIe 32GB"}));
  EXPECT_EQ(m["hardware"]["also"], json::array({P("h100")}));
  EXPECT_EQ(m["cv"].size(), 4u);
  const Result ev =
      Run("gpu-ops evaluate --json --data " + Quote(P("data")) + " --also " + Quote(P("h100")));
  ASSERT_EQ(ev.status, 0) << ev.err;
  EXPECT_EQ(json::parse(ev.out)["leave_one_gpu_out"].size(), 4u);
  const Result none = Run("gpu-ops fit --also " + Quote(P("none")) + " -o x.json");
  EXPECT_EQ(none.status, 2);  // a usage error, as CLI11's checks give
  EXPECT_TRUE(Contains(none.err, "--also: Path does not exist")) << none.err;
  // One table rather than a folder.
  ASSERT_EQ(Run("gpu-ops fit --no-cv --data " + Quote(P("data")) + " --also " +
                Quote(P("h100/linear.csv")) + " -o " + Quote(P("one.json")))
                .status,
            0);
  EXPECT_EQ(json::parse(Slurp(P("one.json")))["hardware"]["fitted_on"].size(), 4u);
}

TEST_F(GpuOpsCliTest, BadTablesNameTheFileAndLine) {
  Write("data/train/linear.csv", "op,gpu,B,M,N,K,latency_ms\nlinear,T4,1,2,3,4\n");
  EXPECT_EQ(Error("gpu-ops fit --no-cv --data " + Quote(P("data")) + " -o " + Quote(P("m.json"))),
            "joulecast: error: " + P("data/train/linear.csv") + ":2: 6 fields, the header has 7\n");
  EXPECT_FALSE(fs::exists(P("m.json")));
  EXPECT_TRUE(StartsWith(Error("gpu-ops fit --ops lin --data " + Quote(P("data")) + " -o x.json"),
                         "joulecast: error: --ops: unknown GPU operator 'lin'; known: "));
}

// `predict --gpu` with the shipped GPU model: a whole network's JSON (phases, operators, energy
// as modelled power × time) and the errors of bad input.
TEST_F(GpuOpsCliTest, PredictWholeNetworkOnAGpu) {
  const fs::path root = fs::path(JOULECAST_TEST_DATA).parent_path().parent_path();
  const std::string gm = " --model " + Quote((root / "models/gpu-latency.json").string());
  const std::string pm = " --power-model " + Quote((root / "models/gpu-training.json").string());
  const Result fwd = Run("predict gpt2 --seq-len 128 -b 2 --gpu H100 --json" + gm);
  ASSERT_EQ(fwd.status, 0) << fwd.err;
  const json f = json::parse(fwd.out);
  EXPECT_EQ(f["gpu"], "H100 SXM 80GB");
  EXPECT_GT(f["total_s"].get<double>(), 0);
  EXPECT_NEAR(f["total_s"].get<double>(), f["kernels_s"].get<double>() + f["glue_s"].get<double>(),
              1e-12);
  // GPT-2's projections and MLP take the largest share of any operator.
  for (const auto& [op, v] : f["by_op"].items())
    EXPECT_LE(v["share"].get<double>(), f["by_op"]["linear"]["share"].get<double>()) << op;
  const Result tr = Run("predict gpt2 --seq-len 128 -b 2 --gpu H100 --mode train_step --json" + gm +
                        pm + " --power-limit 500");
  ASSERT_EQ(tr.status, 0) << tr.err;
  const json t = json::parse(tr.out);
  const double phases = t["phases"]["forward"]["s"].get<double>() +
                        t["phases"]["backward"]["s"].get<double>() +
                        t["phases"]["optimizer"]["s"].get<double>();
  EXPECT_NEAR(phases, t["kernels_s"].get<double>(), 1e-12);
  // The training step's forward pass is inference's plus the masks of GPT-2's 37 dropouts (the
  // embeddings', and per block the attention weights', the attention output's and the MLP's:
  // 1 + 12·3), each a kernel in training only.
  EXPECT_EQ(
      t["phases"]["forward"]["kernels"].get<int>() - f["phases"]["forward"]["kernels"].get<int>(),
      37);
  EXPECT_EQ(t["proxy"]["by_op"]["dropout"]["kernels"].get<int>(), 2 * 37);
  EXPECT_EQ(t["energy"]["power"], "modelled");
  EXPECT_LE(t["energy"]["power_w"].get<double>(), 500.0);
  EXPECT_NEAR(t["energy"]["total_j"].get<double>(),
              t["energy"]["power_w"].get<double>() * t["total_s"].get<double>(), 1e-9);

  EXPECT_TRUE(StartsWith(Error("predict gpt2" + gm),
                         "joulecast: error: " + (root / "models/gpu-latency.json").string() +
                             " is a GPU operator model: name the GPU with --gpu"));
  const std::string unknown = Error("predict gpt2 --gpu H10" + gm);
  EXPECT_TRUE(StartsWith(unknown, "joulecast: error: unknown GPU 'H10'; did you mean: "))
      << unknown;
  EXPECT_TRUE(Contains(unknown, "H100 SXM 80GB")) << unknown;
  EXPECT_EQ(Error("predict resnet18 --gpu H100 --mode train_step --freeze layer9" + gm),
            "joulecast: error: --freeze: 'layer9' matches no parameter or module scope\n");
  EXPECT_EQ(Error("predict resnet18 --gpu H100 --power-limit 300" + gm),
            "joulecast: error: --power-limit needs --power-model (the power law it bounds)\n");
  EXPECT_TRUE(StartsWith(Error("predict resnet18 --gpu H100 --dtype bfloat16" + gm),
                         "joulecast: error: --dtype bfloat16: "));
  // A GPU table whose only GPU lacks the L2 size the operator model needs.
  json gpus = json::parse(Slurp((root / "data/hardware/gpus.json").string()));
  json h100;
  for (const json& g : gpus["gpus"])
    if (g["name"] == "H100 SXM 80GB") h100 = g;
  h100.erase("l2_cache_mb");
  gpus["gpus"] = json::array({h100});
  fs::create_directories(P("d/hardware"));
  Write("d/hardware/gpus.json", gpus.dump());
  const Result no_l2 = Run("predict resnet18 --gpu H100" + gm, "JOULECAST_DATA_DIR=" + P("d"));
  EXPECT_EQ(no_l2.status, 1);
  EXPECT_TRUE(Contains(no_l2.err, "field 'l2_cache_mb' is needed by the GPU operator model"))
      << no_l2.err;
}

// `gpu-ops networks --json` gives a training label's two parts as measured and as predicted: the
// phases sum to the kernels (optimizer none, as the labels ran), the label's forward and backward
// are its row's fw_ms and bw_ms, and an inference label has no backward.
TEST_F(GpuOpsCliTest, NetworksJsonHasTheTrainingStepsParts) {
  const fs::path root = fs::path(JOULECAST_TEST_DATA).parent_path().parent_path();
  Write("labels.csv",
        "gpu,model,mode,seq_len,batch,num_layer,e2e_ms,fw_ms,bw_ms\n"
        "V100 PCIe 32GB,bert_large,fwd_bwd,512,2,24,234.26,83.0,151.26\n"
        "V100 PCIe 32GB,bert_large,forward,512,8,24,240.5,240.5,0\n");
  const Result r =
      Run("gpu-ops networks --json --model " + Quote((root / "models/gpu-latency.json").string()) +
          " --labels " + Quote(P("labels.csv")));
  ASSERT_EQ(r.status, 0) << r.err;
  const json rows = json::parse(r.out)["rows"];
  ASSERT_EQ(rows.size(), 2u);
  const json& t = rows[0]["mode"] == "train_step" ? rows[0] : rows[1];
  const json& f = rows[0]["mode"] == "train_step" ? rows[1] : rows[0];
  EXPECT_DOUBLE_EQ(t["measured_forward_s"].get<double>(), 0.083);
  EXPECT_DOUBLE_EQ(t["measured_backward_s"].get<double>(), 0.15126);
  EXPECT_GT(t["phases"]["backward"]["s"].get<double>(), t["phases"]["forward"]["s"].get<double>());
  EXPECT_EQ(t["phases"]["optimizer"]["kernels"], 0);
  EXPECT_NEAR(
      t["phases"]["forward"]["s"].get<double>() + t["phases"]["backward"]["s"].get<double>(),
      t["kernels_s"].get<double>(), 1e-12);
  EXPECT_EQ(
      t["phases"]["forward"]["kernels"].get<int>() + t["phases"]["backward"]["kernels"].get<int>(),
      t["kernels"].get<int>());
  EXPECT_TRUE(f["measured_backward_s"].is_null()) << f.dump();
  EXPECT_FALSE(f["phases"].contains("backward"));
}

}  // namespace
