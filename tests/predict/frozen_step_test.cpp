// A training step with frozen parameters from a CPU profile's forward and train_step predictors
// (predict/frozen_step.h), on resnet18 with the shipped models/amd-epyc-2c-time.json: the rule
// node by node against the per-node predictions, and the errors. The classifier's share k is the
// closed form of linear's gradient kernels (graph/op_schema.h): dX and dW 2·8·512·1000 FLOPs each,
// the bias's sum max(8000 FLOPs, 64,000 bytes).
#include "joulecast/predict/frozen_step.h"

#include <gtest/gtest.h>

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

TEST(FrozenStepTest, OnlyTheClassifierTrains) {
  const Profile p = Profile::Load("models/amd-epyc-2c-time.json");
  const graph::Graph g = Resnet18AtBatch8();
  const FrozenStepEstimate e =
      EstimateFrozenStep(p, g, {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"}, "m.json");
  Profile fp = p, tp = p;
  fp.SelectMode("forward", "m");
  tp.SelectMode("train_step", "m");
  const NetworkEstimate f = EstimateGraph(fp, g), t = EstimateGraph(tp, g);
  double expect = 0;
  for (std::size_t n = 0; n < g.nodes().size(); ++n) {
    if (g.node(static_cast<graph::NodeId>(n)).name != "fc") {
      expect += f.layers[n].value;  // nothing before the classifier needs a gradient
      continue;
    }
    const double k = (8192000.0 + 64000.0) / (2 * 8192000.0 + 64000.0);  // dW and bias of 3
    expect += f.layers[n].value + (t.layers[n].value - f.layers[n].value) * k;
  }
  EXPECT_NEAR(e.step, expect, 1e-12 * expect);
  EXPECT_DOUBLE_EQ(e.trainable_parameters, 512.0 * 1000 + 1000);
  EXPECT_EQ(e.partial_nodes, 1u);
  EXPECT_GT(e.saving(), 0.3);
  EXPECT_LT(e.full, e.plain_sum);  // the first convolution computes no input gradient
  EXPECT_DOUBLE_EQ(EstimateFrozenStep(p, g, {}, "m.json").step,
                   EstimateFrozenStep(p, g, {}, "m.json").full);
}

TEST(FrozenStepTest, Errors) {
  const Profile p = Profile::Load("models/amd-epyc-2c-time.json");
  const graph::Graph g = Resnet18AtBatch8();
  EXPECT_EQ(ErrorOf([&] { EstimateFrozenStep(p, g, {"layer9"}, "m.json"); }),
            "--freeze: 'layer9' matches no parameter or module scope");
  EXPECT_EQ(ErrorOf([&] {
              EstimateFrozenStep(
                  p, g, {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"}, "m.json");
            }),
            "--freeze: every parameter of resnet18 is frozen: a training step would train "
            "nothing");
  Profile forward_only = p;
  forward_only.SelectMode("forward", "m");
  forward_only.other_modes.clear();
  EXPECT_EQ(ErrorOf([&] { EstimateFrozenStep(forward_only, g, {"fc"}, "m.json"); }),
            "m.json has no train_step predictors: a frozen step needs forward and train_step");
}

}  // namespace
}  // namespace joulecast
