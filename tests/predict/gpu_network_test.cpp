// Whole networks on a GPU (predict/gpu_network.h): which values need gradients (frozen prefixes),
// the training step's kernels, the totals as the sum of the shipped model's kernel predictions,
// the glue's closed-form fit, the label readers and the errors.
#include "joulecast/predict/gpu_network.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "error_of.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast {
namespace {

using graph::DType;
using graph::TensorType;
using joulecast_test::ErrorOf;

// x (input) -> fc1 (linear, scope "enc") -> `middle` (gelu) -> fc2 (linear, scope "head"),
// batch 4.
graph::Graph TwoLayers(const std::string& middle = "gelu", graph::Attributes attrs = {}) {
  graph::Graph g;
  g.name = "two";
  const auto x = g.AddInput("x", TensorType{DType::kFloat32, {4, 32}}, 0);
  const auto w1 = g.AddParameter("enc.fc1.weight", TensorType{DType::kFloat32, {64, 32}});
  const auto w2 = g.AddParameter("head.fc2.weight", TensorType{DType::kFloat32, {10, 64}});
  const auto h = g.node(g.AddNode("linear", {}, {x, w1}, "enc.fc1")).outputs[0];
  const auto a = g.node(g.AddNode(middle, std::move(attrs), {h}, "enc")).outputs[0];
  const auto y = g.node(g.AddNode("linear", {}, {a, w2}, "head.fc2")).outputs[0];
  g.MarkOutput(y);
  graph::InferShapes(g);
  return g;
}

const GpuOpModel& ShippedGpuModel() {
  static const GpuOpModel m = GpuOpModel::Load("models/gpu-latency.json");
  return m;
}
const GpuSpec& A100() {
  static const GpuTable t = GpuTable::LoadDefault();
  return t.Find("A100 PCIe 40GB");
}

TEST(GpuNetworkTest, FrozenPrefixNeedsNoGradient) {
  const graph::Graph g = TwoLayers();
  std::vector<bool> all = NeedsGradient(g, {});
  EXPECT_FALSE(all[g.FindValue("x")]);
  EXPECT_TRUE(all[g.FindValue("enc.fc1.weight")]);
  EXPECT_TRUE(all[g.node(0).outputs[0]]);  // fc1's output: computed from a trainable weight
  // Freezing the encoder: fc1 and gelu compute nothing that needs a gradient.
  std::vector<bool> head = NeedsGradient(g, {"enc"});
  EXPECT_FALSE(head[g.FindValue("enc.fc1.weight")]);
  EXPECT_FALSE(head[g.node(0).outputs[0]]);
  EXPECT_FALSE(head[g.node(1).outputs[0]]);
  EXPECT_TRUE(head[g.FindValue("head.fc2.weight")]);
  // A scope matches whole names only: "en" is not "enc".
  EXPECT_EQ(ErrorOf([&] { NeedsGradient(g, {"en"}); }),
            "--freeze: 'en' matches no parameter or module scope");
  EXPECT_EQ(ErrorOf([&] {
              NeedsGradient(g, {"enc", "head"});
            }),
            "--freeze: every parameter of two is frozen: a training step would train nothing");
}

TEST(GpuNetworkTest, TrainingStepKernelsAndTotals) {
  const graph::Graph g = TwoLayers();
  GpuNetworkOptions o;
  const GpuNetworkEstimate fwd = EstimateOnGpu(g, ShippedGpuModel(), A100(), o);
  EXPECT_EQ(fwd.kernels, 3u);
  const auto t0 = [](const std::string& op) {
    for (const GpuOpPredictor& p : ShippedGpuModel().predictors())
      if (p.op == op) return p.t0_s;
    return -1.0;
  };
  const double l1 = ShippedGpuModel().Predict({"linear", {1, 4, 64, 32}}, A100()),
               ge = ShippedGpuModel().Predict({"gelu", {4, 64}}, A100()),
               l2 = ShippedGpuModel().Predict({"linear", {1, 4, 10, 64}}, A100());
  // Alone: the three latencies; in a stream, each without its operator's fixed cost t0.
  EXPECT_NEAR(fwd.isolated_s, l1 + ge + l2, 1e-12);
  const double stream = std::max(0.0, l1 - t0("linear")) + std::max(0.0, ge - t0("gelu")) +
                        std::max(0.0, l2 - t0("linear"));
  EXPECT_NEAR(fwd.total_s, stream, 1e-12);
  o.isolated = true;
  o.glue_s = 1e-3;  // ignored when isolated
  EXPECT_NEAR(EstimateOnGpu(g, ShippedGpuModel(), A100(), o).total_s, l1 + ge + l2, 1e-12);
  o.isolated = false;
  o.glue_s = 0;
  o.mode = "train_step";
  o.optimizer = "none";
  // Backward: fc2's dX and dW, gelu's mul, fc1's dW (its input x needs no gradient).
  const GpuNetworkEstimate full = EstimateOnGpu(g, ShippedGpuModel(), A100(), o);
  EXPECT_EQ(full.backward.kernels, 4u);
  EXPECT_EQ(full.optimizer_step.kernels, 0u);
  o.optimizer = "sgd";  // two kernels per parameter tensor
  EXPECT_EQ(EstimateOnGpu(g, ShippedGpuModel(), A100(), o).optimizer_step.kernels, 4u);
  o.optimizer = "adam";
  EXPECT_EQ(EstimateOnGpu(g, ShippedGpuModel(), A100(), o).optimizer_step.kernels, 10u);
  // The encoder frozen: only fc2's dW (nothing before it needs a gradient) and its update.
  o.optimizer = "sgd";
  o.frozen = {"enc"};
  const GpuNetworkEstimate head = EstimateOnGpu(g, ShippedGpuModel(), A100(), o);
  EXPECT_EQ(head.backward.kernels, 1u);
  EXPECT_NEAR(
      head.backward.s,
      std::max(0.0, ShippedGpuModel().Predict({"linear", {1, 64, 10, 4}}, A100()) - t0("linear")),
      1e-15);
  EXPECT_EQ(head.optimizer_step.kernels, 2u);
  EXPECT_DOUBLE_EQ(head.trainable_parameters, 640);
  EXPECT_DOUBLE_EQ(head.parameters, 64 * 32 + 640);
  // Glue: per kernel launched.
  o.glue_s = 1e-5;
  const GpuNetworkEstimate glued = EstimateOnGpu(g, ShippedGpuModel(), A100(), o);
  EXPECT_NEAR(glued.total_s - head.total_s, 1e-5 * double(head.kernels), 1e-15);
}

TEST(GpuNetworkTest, DropoutRunsInTrainingOnly) {
  graph::Attributes p;
  p.Set("p", 0.1);
  const graph::Graph g = TwoLayers("dropout", p);
  GpuNetworkOptions o;
  EXPECT_EQ(EstimateOnGpu(g, ShippedGpuModel(), A100(), o).forward.kernels, 2u);
  o.mode = "train_step";
  o.optimizer = "none";
  const GpuNetworkEstimate t = EstimateOnGpu(g, ShippedGpuModel(), A100(), o);
  // The mask-and-scale kernel in the forward pass; fc2's dX and dW, the masked scale, fc1's dW.
  EXPECT_EQ(t.forward.kernels, 3u);
  EXPECT_EQ(t.backward.kernels, 4u);
  EXPECT_EQ(t.proxies.at("dropout").kernels, 2u);
}

TEST(GpuNetworkTest, Errors) {
  const graph::Graph g = TwoLayers();
  GpuNetworkOptions o;
  o.mode = "inference";
  EXPECT_EQ(ErrorOf([&] { EstimateOnGpu(g, ShippedGpuModel(), A100(), o); }),
            "unknown mode 'inference' for a GPU estimate; known: forward, train_step");
  o.mode = "train_step";
  o.optimizer = "lamb";
  EXPECT_EQ(ErrorOf([&] { EstimateOnGpu(g, ShippedGpuModel(), A100(), o); }),
            "unknown optimizer 'lamb'; known: sgd, adam, none");
  o = {};
  o.frozen = {"enc"};
  EXPECT_EQ(ErrorOf([&] { EstimateOnGpu(g, ShippedGpuModel(), A100(), o); }),
            "--freeze needs --mode train_step (a forward pass trains nothing)");
  // A GPU without the field the operator model needs: the node and the field named.
  GpuSpec no_l2 = A100();
  no_l2.l2_cache_mb.reset();
  EXPECT_EQ(ErrorOf([&] { EstimateOnGpu(g, ShippedGpuModel(), no_l2, {}); }),
            "two: enc.fc1 (linear): GPU 'A100 PCIe 40GB': field 'l2_cache_mb' is needed by the GPU "
            "operator model (data/hardware/gpus.json)");
}

TEST(GpuNetworkTest, FitGlueIsTheClosedFormLeastSquares) {
  // Two networks: kernels 1 s and 2 s with 100 and 400 kernels, measured 1.1 s and 2.2 s.
  std::vector<GpuNetworkEstimate> p(2);
  p[0].kernels_s = 1;
  p[0].kernels = 100;
  p[1].kernels_s = 2;
  p[1].kernels = 400;
  // g = Σ (m − k)·n/m² / Σ n²/m² = (0.1·100/1.21 + 0.2·400/4.84) / (1e4/1.21 + 1.6e5/4.84).
  const double num = 0.1 * 100 / 1.21 + 0.2 * 400 / 4.84, den = 1e4 / 1.21 + 1.6e5 / 4.84;
  EXPECT_NEAR(FitGlue(p, {1.1, 2.2}), num / den, 1e-15);
  // Kernels alone too slow: no negative glue.
  EXPECT_EQ(FitGlue(p, {0.5, 1.0}), 0.0);
}

TEST(GpuNetworkTest, LabelFiles) {
  const std::vector<GpuNetworkLabel> ns = LoadGpuNetworkLabels("data/neusight2025/labels.csv");
  ASSERT_FALSE(ns.empty());
  EXPECT_EQ(ns[0].mode == "forward" || ns[0].mode == "train_step", true);
  // BERT's labels name the heads they ran (a classifier at inference, both pretraining heads in
  // training); the causal LMs build their config's.
  for (const GpuNetworkLabel& l : ns) {
    SCOPED_TRACE(l.source);
    if (l.model == "bert_large")
      EXPECT_EQ(l.hf_architecture,
                l.mode == "forward" ? "BertForSequenceClassification" : "BertForPreTraining");
    else
      EXPECT_EQ(l.hf_architecture, "");
  }
  const std::vector<GpuNetworkLabel> h = LoadGpuNetworkLabels("data/h200/models.jsonl");
  ASSERT_EQ(h.size(), 15u);
  EXPECT_EQ(h[0].model, "bert_large");
  EXPECT_EQ(h[0].hf_architecture, "BertForSequenceClassification");
  EXPECT_EQ(h[2].hf_architecture, "BertForPreTraining");
  EXPECT_GT(h[0].energy_j, 0);
  const std::vector<GpuNetworkLabel> c =
      LoadGpuNetworkLabels("data/collect/h200/networks-train_step.jsonl");
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].optimizer, "sgd");
  EXPECT_TRUE(c[0].tf32);
  const std::string dir = ::testing::TempDir() + "gpu_network_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/bad.csv") << "gpu,model,mode,seq_len,batch,num_layer,e2e_ms,fw_ms,bw_ms\n"
                                       "T4,bert_large,backward,512,8,24,1,1,0\n";
  }
  EXPECT_EQ(ErrorOf([&] { LoadGpuNetworkLabels(dir + "/bad.csv"); }),
            dir + "/bad.csv:2: mode must be forward or fwd_bwd, got 'backward'");
  {
    std::ofstream(dir + "/bad.jsonl") << "{\"gpu\": \"T4\", \"model\": \"bert_large\", \"kind\": "
                                         "\"inf\", \"seq\": 512, \"batch\": 0, "
                                         "\"e2e_latency_ms\": 3}\n";
  }
  EXPECT_EQ(ErrorOf([&] { LoadGpuNetworkLabels(dir + "/bad.jsonl"); }),
            dir + "/bad.jsonl:1: e2e_latency_ms, seq and batch must be > 0");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace joulecast
