// A training step with frozen parameters from a CPU profile's forward, input_grad and train_step
// predictors (predict/frozen_step.h), on resnet18 with the shipped models/amd-epyc-2c-time.json:
// the rule against the per-node predictions of each mode, and the errors. Closed forms: with only
// the classifier trainable, fc's input needs no gradient, so fc costs f + (t − g) and every other
// node its forward; freezing only conv1 removes conv1's weight part (t − g) from the full step
// (its input, the image, never needs a gradient) and bn1's input-gradient part (g − f), since
// conv1's output no longer needs a gradient (batch_norm's gradient kernels carry no work in its
// element-wise form, so its inputs share by count); nothing else changes. The derived split of a
// Linear without an input_grad predictor is linear's gradient kernels (graph/op_schema.h): dX and
// dW 2·8·512·1000 FLOPs each, the bias's sum max(8000 FLOPs, 64,000 bytes).
#include "joulecast/predict/frozen_step.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/frontends/load_graph.h"

namespace joulecast {
namespace {

using joulecast_test::ErrorOf;

graph::Graph Resnet18AtBatch8() {
  GraphOptions o;
  o.batch = 8;
  return LoadGraph("resnet18", o);
}

struct ModeEstimates {
  NetworkEstimate f, g, t;
};

ModeEstimates EstimatesOf(const Profile& p, const graph::Graph& graph) {
  Profile fp = p, ip = p, tp = p;
  fp.SelectMode("forward", "m");
  ip.SelectMode("input_grad", "m");
  tp.SelectMode("train_step", "m");
  return {EstimateGraph(fp, graph), EstimateGraph(ip, graph), EstimateGraph(tp, graph)};
}

std::size_t NodeNamed(const graph::Graph& g, const std::string& name) {
  for (std::size_t n = 0; n < g.nodes().size(); ++n)
    if (g.node(static_cast<graph::NodeId>(n)).name == name) return n;
  ADD_FAILURE() << "no node " << name;
  return 0;
}

const std::vector<std::string> kBackbone = {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"};

TEST(FrozenStepTest, OnlyTheClassifierTrains) {
  const Profile p = Profile::Load("models/amd-epyc-2c-time.json");
  const graph::Graph g = Resnet18AtBatch8();
  const FrozenStepEstimate e = EstimateFrozenStep(p, g, kBackbone, "m.json");
  const ModeEstimates m = EstimatesOf(p, g);
  const std::size_t fc = NodeNamed(g, "fc");
  ASSERT_TRUE(m.g.layers[fc].modelled());  // the shipped profile measured Linear's input_grad
  double expect = 0;
  for (std::size_t n = 0; n < g.nodes().size(); ++n) expect += m.f.layers[n].value;
  expect += m.t.layers[fc].value -
            std::clamp(m.g.layers[fc].value, m.f.layers[fc].value, m.t.layers[fc].value);
  EXPECT_NEAR(e.step, expect, 1e-12 * expect);
  EXPECT_DOUBLE_EQ(e.trainable_parameters, 512.0 * 1000 + 1000);
  EXPECT_EQ(e.partial_nodes, 1u);
  EXPECT_EQ(e.derived_nodes, 0u);
  EXPECT_GT(e.saving(), 0.3);
  EXPECT_LT(e.full, e.plain_sum);  // the first convolution computes no input gradient
  EXPECT_DOUBLE_EQ(EstimateFrozenStep(p, g, {}, "m.json").step,
                   EstimateFrozenStep(p, g, {}, "m.json").full);
}

TEST(FrozenStepTest, FreezingTheFirstLayerDropsItsWeightPartAndTheNextInputGradient) {
  const Profile p = Profile::Load("models/amd-epyc-2c-time.json");
  const graph::Graph g = Resnet18AtBatch8();
  const ModeEstimates m = EstimatesOf(p, g);
  const std::size_t conv1 = NodeNamed(g, "conv1"), bn1 = NodeNamed(g, "bn1");
  const FrozenStepEstimate e = EstimateFrozenStep(p, g, {"conv1"}, "m.json");
  const auto gi = [&](std::size_t n) {  // the input-gradient part, clamped as the rule does
    return std::clamp(m.g.layers[n].value, m.f.layers[n].value, m.t.layers[n].value);
  };
  const double dropped = m.t.layers[conv1].value - gi(conv1) + gi(bn1) - m.f.layers[bn1].value;
  EXPECT_GT(dropped, 0);
  EXPECT_NEAR(e.full - e.step, dropped, 1e-9 * e.full);
  EXPECT_EQ(e.forward_only_nodes, 1u);
}

TEST(FrozenStepTest, ALinearWithoutInputGradPredictorIsSplitByItsKernels) {
  Profile p = Profile::Load("models/amd-epyc-2c-time.json");
  p.other_modes.at("input_grad").erase("Linear");
  const graph::Graph g = Resnet18AtBatch8();
  const ModeEstimates m = EstimatesOf(p, g);
  const std::size_t fc = NodeNamed(g, "fc");
  const FrozenStepEstimate e = EstimateFrozenStep(p, g, kBackbone, "m.json");
  const double f = m.f.layers[fc].value, t = m.t.layers[fc].value;
  const double gi = f + (t - f) * 8192000.0 / (2 * 8192000.0 + 64000.0);
  double expect = 0;
  for (std::size_t n = 0; n < g.nodes().size(); ++n) expect += m.f.layers[n].value;
  expect += t - gi;
  EXPECT_NEAR(e.step, expect, 1e-12 * expect);
  EXPECT_EQ(e.derived_nodes, 1u);
}

TEST(FrozenStepTest, Errors) {
  const Profile p = Profile::Load("models/amd-epyc-2c-time.json");
  const graph::Graph g = Resnet18AtBatch8();
  EXPECT_EQ(ErrorOf([&] { EstimateFrozenStep(p, g, {"layer9"}, "m.json"); }),
            "--freeze: 'layer9' matches no parameter or module scope");
  std::vector<std::string> all = kBackbone;
  all.push_back("fc");
  EXPECT_EQ(ErrorOf([&] { EstimateFrozenStep(p, g, all, "m.json"); }),
            "--freeze: every parameter of resnet18 is frozen: a training step would train "
            "nothing");
  Profile unsplit = p;
  unsplit.other_modes.erase("input_grad");
  EXPECT_EQ(ErrorOf([&] { EstimateFrozenStep(unsplit, g, {"fc"}, "m.json"); }),
            "m.json has no input_grad predictors: a frozen step needs an operator's step split "
            "into forward (collect --mode forward), input gradient (--mode input_grad) and "
            "weight gradient (--mode train_step) parts");
}

}  // namespace
}  // namespace joulecast
