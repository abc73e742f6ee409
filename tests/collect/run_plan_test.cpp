// The runner's plan of an operator graph (collect/run_plan.h): roles, shapes at the graph's batch,
// absent optional inputs, batch-scaled attributes resolved, and the registry's MACs.
#include "joulecast/collect/run_plan.h"

#include <gtest/gtest.h>

#include "joulecast/graph/shape_pass.h"

namespace joulecast {
namespace {

using graph::DType;
using graph::TensorType;

TEST(RunPlan, ValuesNodesAndAttributesAtTheBatch) {
  graph::Graph g;
  const graph::ValueId x = g.AddInput("x", TensorType{DType::kFloat32, {1, 4, 8}}, 0);
  const graph::ValueId w = g.AddParameter("fc.weight", TensorType{DType::kFloat32, {16, 8}});
  const graph::NodeId fc = g.AddNode("linear", {}, {x, w, graph::kNoValue}, "fc", "fc");
  graph::Attributes shape;
  shape.Set("shape", graph::SymInts{{1, 64}, 0});
  const graph::NodeId r = g.AddNode("reshape", shape, {g.node(fc).outputs[0]}, "", "flat");
  g.MarkOutput(g.node(r).outputs[0]);
  g.SetBatch(3);
  graph::InferShapes(g);

  const nlohmann::json plan = RunPlan(g);
  ASSERT_EQ(plan["values"].size(), 4u);
  EXPECT_EQ(plan["values"][0]["role"], "input");
  EXPECT_EQ(plan["values"][0]["shape"], nlohmann::json::parse("[3, 4, 8]"));
  EXPECT_EQ(plan["values"][1]["role"], "parameter");
  EXPECT_EQ(plan["values"][1]["dtype"], "float32");
  EXPECT_EQ(plan["values"][3]["shape"], nlohmann::json::parse("[3, 64]"));
  ASSERT_EQ(plan["nodes"].size(), 2u);
  EXPECT_EQ(plan["nodes"][0]["op"], "linear");
  EXPECT_EQ(plan["nodes"][0]["inputs"], nlohmann::json::parse("[0, 1, -1]"));
  // The batch-scaled reshape at batch 3: [3, 64], not the stored [1, 64].
  EXPECT_EQ(plan["nodes"][1]["attrs"]["shape"], nlohmann::json::parse("[3, 64]"));
  EXPECT_EQ(plan["outputs"], nlohmann::json::parse("[3]"));
  // linear without bias: 3·4 rows of 8 -> 16 (a reshape is free).
  EXPECT_DOUBLE_EQ(plan["macs"].get<double>(), 3.0 * 4 * 8 * 16);
}

}  // namespace
}  // namespace joulecast
