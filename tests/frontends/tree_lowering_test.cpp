// The tree format lowered into the operator graph: node for node the operations InferOperations
// lists (same order, names and shapes), parameters as torchvision counts them
// (tests/data/zoo_reference.json, written by tools/zoo_reference.py from
// sum(p.numel() for p in model.parameters())), and the tree's own error messages.
#include "joulecast/frontends/tree_lowering.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "error_of.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/features/macs.h"
#include "joulecast/graph/shape_pass.h"

using joulecast_test::ErrorOf;

namespace joulecast {
namespace {

// The node counts of the registry (graph/ops) and the layer counts of the measurement records
// (features/macs.h, ptflops' convention, which the predictors' features use) are two codes for
// the 15 tree layer types: they must agree on every operation of the zoo.
TEST(TreeLowering, NodeForNodeTheTreeOperations) {
  ASSERT_EQ(ZooTreeNames().size(), 14u);
  for (const std::string& name : ZooTreeNames()) {
    SCOPED_TRACE(name);
    const Architecture arch = LoadZooArchitecture(name);
    const std::vector<LayerInstance> ops = InferOperations(arch);
    const graph::Graph g = LowerArchitecture(arch, 3);
    const std::vector<graph::NodeCounts> counts = graph::CountNodes(g);
    std::size_t i = 0;
    for (const graph::Node& node : g.nodes()) {
      if (node.op == "chunk") continue;  // the split of a Concat: a view the tree leaves implicit
      ASSERT_LT(i, ops.size());
      const LayerInstance& op = ops[i++];
      const auto n = static_cast<std::size_t>(&node - g.nodes().data());
      EXPECT_EQ(counts[n].macs, CountLayer(op, 3).macs) << node.name;
      // A further call of a module is "<module>#1" in the graph, its module's name in the tree.
      EXPECT_EQ(node.name.substr(0, node.name.find('#')), op.name);
      EXPECT_EQ(node.schema->type, op.type);
      graph::Dims out = g.value(node.outputs[0]).type.dims;
      ASSERT_EQ(out[0], 3);
      out.erase(out.begin());
      EXPECT_EQ(out, op.output_shape) << node.name;
    }
    EXPECT_EQ(i, ops.size());
  }
}

TEST(TreeLowering, ParametersAsTorchvisionCountsThem) {
  std::ifstream in(std::string(JOULECAST_TEST_DATA) + "/zoo_reference.json");
  ASSERT_TRUE(in) << "tests/data/zoo_reference.json";
  const nlohmann::json ref = nlohmann::json::parse(in)["networks"];
  for (const std::string& name : ZooTreeNames()) {
    SCOPED_TRACE(name);
    const graph::Graph g = LowerArchitecture(LoadZooArchitecture(name), 1);
    ASSERT_TRUE(ref.contains(name));
    EXPECT_EQ(g.ParameterCount(), ref[name]["parameters"].get<double>());
    const auto total = graph::TotalCounts(g, graph::CountNodes(g));
    EXPECT_EQ(total.matrix_macs, ref[name]["matrix_macs_b1"].get<double>());
  }
}

TEST(TreeLowering, RepeatedModuleSharesItsParameters) {
  const Architecture arch = ParseArchitectureText(R"({"name": "r", "input": [4, 8, 8], "layers": [
      {"type": "Conv2d", "name": "c", "in_channels": 4, "out_channels": 4, "kernel_size": 3,
       "padding": 1},
      {"type": "Conv2d", "name": "c", "repeat": true}]})",
                                                  "r.json");
  const graph::Graph g = LowerArchitecture(arch, 2);
  ASSERT_EQ(g.nodes().size(), 2u);
  EXPECT_EQ(g.node(0).name, "c");
  EXPECT_EQ(g.node(1).name, "c#1");
  EXPECT_EQ(g.node(1).scope, "c");
  EXPECT_EQ(g.node(0).inputs[1], g.node(1).inputs[1]);  // one weight value
  EXPECT_EQ(g.ParameterCount(), 4 * 4 * 9 + 4);
}

TEST(TreeLowering, ErrorsAreTheTreeFormats) {
  const Architecture arch = ParseArchitectureText(R"({"name": "bad", "input": [1, 32, 32],
      "layers": [{"type": "Conv2d", "name": "c", "in_channels": 3, "out_channels": 4,
                  "kernel_size": 3}]})",
                                                  "bad.json");
  EXPECT_EQ(ErrorOf([&] { LowerArchitecture(arch, 1); }),
            "c (Conv2d): expected 3 input channels, got 1 (input 1x32x32)");
  EXPECT_EQ(ErrorOf([&] { LowerArchitecture(arch, 0); }), "batch size must be >= 1, got 0");
}

}  // namespace
}  // namespace joulecast
