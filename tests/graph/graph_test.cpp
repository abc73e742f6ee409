// The operator graph's core: building, naming, the shape pass at another batch, graph JSON, and
// the errors of each (graph.h, shape_pass.h, graph_json.h, op_schema.h).
#include "joulecast/graph/graph.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "one_op.h"

namespace joulecast::graph {
namespace {

using joulecast_test::ErrorOf;
using nlohmann::json;
using Ints = std::vector<std::int64_t>;

TensorType F32(Dims d) { return TensorType{DType::kFloat32, std::move(d)}; }

// x [B, 3, 8, 8] -> conv 3->4 (3x3, pad 1) -> relu -> flatten -> reshape [B, 256] -> fc 256->10.
Graph SmallNet(std::int64_t batch) {
  Graph g;
  g.name = "small";
  const ValueId x = g.AddInput("x", F32({batch, 3, 8, 8}));
  const ValueId w = g.AddParameter("conv.weight", F32({4, 3, 3, 3}));
  const NodeId conv = g.AddNode("conv2d", A({{"padding", Ints{1, 1}}}), {x, w, kNoValue}, "conv");
  const NodeId relu = g.AddNode("relu", {}, {g.node(conv).outputs[0]}, "act");
  const NodeId flat = g.AddNode("flatten", {}, {g.node(relu).outputs[0]}, "");
  const NodeId re =
      g.AddNode("reshape", A({{"shape", SymInts{{1, 256}, 0}}}), {g.node(flat).outputs[0]}, "");
  const ValueId fw = g.AddParameter("fc.weight", F32({10, 256}));
  const ValueId fb = g.AddParameter("fc.bias", F32({10}));
  const NodeId fc = g.AddNode("linear", {}, {g.node(re).outputs[0], fw, fb}, "fc");
  g.MarkOutput(g.node(fc).outputs[0]);
  InferShapes(g);
  return g;
}

TEST(Graph, BuildsNamesAndInfersShapes) {
  const Graph g = SmallNet(2);
  ASSERT_EQ(g.nodes().size(), 5u);
  EXPECT_EQ(g.node(0).name, "conv");
  EXPECT_EQ(g.node(1).name, "act");
  EXPECT_EQ(g.node(2).name, "flatten");  // top level: named after the op
  EXPECT_EQ(g.node(3).name, "reshape");
  EXPECT_EQ(g.node(4).name, "fc");
  EXPECT_EQ(g.value(g.node(0).outputs[0]).type.dims, (Dims{2, 4, 8, 8}));
  EXPECT_EQ(g.value(g.node(2).outputs[0]).type.dims, (Dims{2, 256}));
  EXPECT_EQ(g.value(g.outputs()[0]).type.dims, (Dims{2, 10}));
  EXPECT_EQ(g.batch(), 2);
  // Defaults filled in.
  EXPECT_EQ(g.node(0).attrs.Int("groups"), 1);
  EXPECT_EQ(g.node(0).attrs.Ints("stride"), (Ints{1, 1}));
  EXPECT_EQ(NodeLabel(g.node(4)), "fc (Linear)");
  // conv 4·3·3·3 + fc 2560 + 10.
  EXPECT_EQ(g.ParameterCount(), 108 + 2570);
}

TEST(Graph, FrozenScopesAndTheirComplement) {
  const Graph g = SmallNet(2);
  const std::vector<bool> frozen = FrozenParameters(g, {"conv"});
  std::vector<std::string> names;
  for (std::size_t v = 0; v < frozen.size(); ++v)
    if (frozen[v]) names.push_back(g.values()[v].name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv.weight"}));
  // --trainable fc freezes exactly what --freeze conv does; a parameter name is a scope too.
  EXPECT_EQ(FrozenByTrainable(g, {"fc"}), names);
  EXPECT_EQ(FrozenByTrainable(g, {"fc.weight"}),
            (std::vector<std::string>{"conv.weight", "fc.bias"}));
  EXPECT_TRUE(FrozenByTrainable(g, {"conv", "fc"}).empty());
  EXPECT_EQ(ErrorOf([&] { FrozenByTrainable(g, {"f"}); }),
            "--trainable: 'f' matches no parameter or module scope");
  EXPECT_EQ(ErrorOf([&] { FrozenParameters(g, {"fc.w"}); }),
            "--freeze: 'fc.w' matches no parameter or module scope");
}

TEST(Graph, RepeatedScopesGetNumberedNames) {
  Graph g;
  const ValueId x = g.AddInput("x", F32({1, 4}));
  const NodeId a = g.AddNode("relu", {}, {x}, "block.act");
  const NodeId b = g.AddNode("relu", {}, {g.node(a).outputs[0]}, "block.act");
  const NodeId c = g.AddNode("relu", {}, {g.node(b).outputs[0]}, "");
  const NodeId d = g.AddNode("relu", {}, {g.node(c).outputs[0]}, "");
  EXPECT_EQ(g.node(a).name, "block.act");
  EXPECT_EQ(g.node(b).name, "block.act#1");
  EXPECT_EQ(g.node(c).name, "relu");
  EXPECT_EQ(g.node(d).name, "relu#1");
  EXPECT_EQ(g.node(b).scope, "block.act");
  EXPECT_EQ(g.FindNode("block.act#1"), b);
  EXPECT_EQ(g.FindValue("relu#1"), g.node(d).outputs[0]);
}

TEST(Graph, BuildErrors) {
  Graph g;
  const ValueId x = g.AddInput("x", F32({1, 4}));
  EXPECT_EQ(ErrorOf([&] { g.AddInput("x", F32({1})); }), "duplicate value name 'x'");
  EXPECT_EQ(ErrorOf([&] { g.AddNode("relu", {}, {7}, "", "bad"); }),
            "node 'bad': input 0 is not a value of this graph");
  EXPECT_EQ(ErrorOf([&] {
              g.AddNode("relu", {}, {x, x}, "", "two");
            }),
            "two (ReLU): relu takes 1 inputs, got 2");
  EXPECT_EQ(ErrorOf([&] {
              g.AddNode("linear", {}, {x, kNoValue}, "", "fc");
            }),
            "fc (Linear): input 1 (weight) is required");
  EXPECT_EQ(ErrorOf([&] { g.AddNode("conv3d", {}, {x}, "", "c"); }),
            "unknown operator 'conv3d' (did you mean: conv1d, conv2d?)");
  // Attributes: an unknown name lists the known ones; a wrong kind names both kinds.
  EXPECT_EQ(ErrorOf([&] {
              g.AddNode("softmax", A({{"dimm", std::int64_t{1}}}), {x}, "", "s");
            }),
            "s (Softmax): unknown attribute 'dimm' for softmax (known: dim)");
  EXPECT_EQ(ErrorOf([&] {
              g.AddNode("softmax", A({{"dim", 1.5}}), {x}, "", "s");
            }),
            "s (Softmax): attribute 'dim' of softmax: expected an int, got a float");
  EXPECT_EQ(ErrorOf([&] { g.AddNode("max_pool2d", {}, {x}, "", "p"); }),
            "p (MaxPool2d): missing attribute 'kernel_size' for max_pool2d");
  EXPECT_EQ(ErrorOf([&] { g.SetBatch(0); }), "batch size must be >= 1, got 0");
  // A shape error names the node and its type.
  const ValueId w = g.AddParameter("fc.weight", F32({3, 5}));
  g.AddNode("linear", {}, {x, w}, "fc");
  EXPECT_EQ(ErrorOf([&] { InferShapes(g); }),
            "fc (Linear): in_features is 5 but the input has 4 features");
}

TEST(Graph, SymIntsResolveAtAnotherBatch) {
  Graph g = SmallNet(2);
  const std::vector<NodeCounts> at2 = CountNodes(g);
  g.SetBatch(7);
  InferShapes(g);
  EXPECT_EQ(g.batch(), 7);
  EXPECT_EQ(g.value(g.node(3).outputs[0]).type.dims, (Dims{7, 256}));  // reshape [B·1, 256]
  EXPECT_EQ(g.value(g.outputs()[0]).type.dims, (Dims{7, 10}));
  const std::vector<NodeCounts> at7 = CountNodes(g);
  for (std::size_t n = 0; n < at2.size(); ++n) {
    EXPECT_DOUBLE_EQ(at7[n].macs, at2[n].macs * 3.5) << n;
    EXPECT_EQ(at7[n].parameters, at2[n].parameters) << n;
  }
  // fc: 7 rows · (2560 + 10).
  EXPECT_EQ(at7[4].macs, 7 * 2570);
}

TEST(Graph, ParameterSharedByTwoNodesCountsOnce) {
  Graph g;
  const ValueId x = g.AddInput("x", F32({2, 16}));
  const ValueId w = g.AddParameter("shared.weight", F32({16, 16}));
  // Declared again with the same type (a module called twice): the same value.
  EXPECT_EQ(g.AddParameter("shared.weight", F32({16, 16})), w);
  EXPECT_EQ(ErrorOf([&] {
              g.AddParameter("shared.weight", F32({16, 17}));
            }),
            "parameter 'shared.weight' is declared twice with different shapes (16x16, 16x17)");
  const NodeId a = g.AddNode("linear", {}, {x, w}, "shared");
  const NodeId b = g.AddNode("linear", {}, {g.node(a).outputs[0], w}, "shared");
  EXPECT_EQ(g.node(b).name, "shared#1");
  InferShapes(g);
  const std::vector<NodeCounts> counts = CountNodes(g);
  EXPECT_EQ(counts[0].parameters, 256);  // each call reports the weight it uses
  EXPECT_EQ(counts[1].parameters, 256);
  EXPECT_EQ(g.ParameterCount(), 256);  // the graph once
  EXPECT_EQ(TotalCounts(g, counts).parameters, 256);
  EXPECT_EQ(TotalCounts(g, counts).macs, 2 * 2 * 256);
}

TEST(GraphJson, RoundTrips) {
  Graph g = SmallNet(3);
  // A multi-output node and a buffer too.
  const ValueId y = g.outputs()[0];
  const NodeId split = g.AddNode(
      "split", A({{"split_size", std::int64_t{4}}, {"dim", std::int64_t{1}}}), {y}, "head", "", 3);
  const ValueId mean = g.AddParameter("bn.running_mean", F32({10}), true);
  (void)mean;
  g.MarkOutput(g.node(split).outputs[2]);
  InferShapes(g);
  const json j = GraphToJson(g);
  const std::string text = j.dump();
  const Graph back = GraphFromJson(json::parse(text), "g.json");
  ASSERT_EQ(back.nodes().size(), g.nodes().size());
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    EXPECT_EQ(back.node(n).name, g.node(n).name);
    EXPECT_EQ(back.node(n).op, g.node(n).op);
    EXPECT_EQ(back.node(n).scope, g.node(n).scope);
    EXPECT_TRUE(back.node(n).attrs == g.node(n).attrs) << g.node(n).name;
    ASSERT_EQ(back.node(n).outputs.size(), g.node(n).outputs.size());
    for (std::size_t i = 0; i < g.node(n).outputs.size(); ++i)
      EXPECT_EQ(back.value(back.node(n).outputs[i]).type, g.value(g.node(n).outputs[i]).type);
  }
  EXPECT_EQ(back.value(back.FindValue("head:2")).type.dims, (Dims{3, 2}));
  EXPECT_EQ(back.value(back.FindValue("bn.running_mean")).role, ValueRole::kBuffer);
  EXPECT_EQ(back.ParameterCount(), g.ParameterCount());
  EXPECT_EQ(GraphToJson(back), j);
  // The sym_ints attribute as written, and the conv's absent bias as null.
  EXPECT_EQ(j["nodes"][3]["attrs"]["shape"], json({{"values", {1, 256}}, {"batch_index", 0}}));
  EXPECT_TRUE(j["nodes"][0]["inputs"][2].is_null());

  // The same file at batch 5: every shape follows, the reshape's batch entry included.
  json at5 = j;
  at5["batch"] = 5;
  at5["inputs"][0]["shape"][0] = 5;
  const Graph five = GraphFromJson(at5, "g.json");
  EXPECT_EQ(five.value(five.FindValue("reshape")).type.dims, (Dims{5, 256}));
  EXPECT_EQ(five.value(five.FindValue("fc")).type.dims, (Dims{5, 10}));

  // Annotated output carries counts and types, and reads back.
  const json annotated = GraphToJson(g, true);
  EXPECT_EQ(annotated["nodes"][4]["type"], "Linear");
  EXPECT_EQ(annotated["nodes"][4]["macs"], 3 * 2570);
  EXPECT_EQ(annotated["nodes"][5]["output_shapes"], json({{3, 4}, {3, 4}, {3, 2}}));
  EXPECT_NO_THROW(GraphFromJson(annotated, "g.json"));
}

json Doc(json nodes) {
  return {{"kind", "joulecast_graph"},
          {"format_version", 1},
          {"inputs", {{{"name", "x"}, {"shape", {1, 4}}}}},
          {"nodes", std::move(nodes)},
          {"outputs", json::array()}};
}

TEST(GraphJson, Errors) {
  // Nodes in any order are sorted; a cycle is named.
  EXPECT_NO_THROW(GraphFromJson(Doc({{{"name", "b"}, {"op", "relu"}, {"inputs", {"a"}}},
                                     {{"name", "a"}, {"op", "relu"}, {"inputs", {"x"}}}}),
                                "g.json"));
  EXPECT_EQ(ErrorOf([] {
              GraphFromJson(Doc({{{"name", "a"}, {"op", "relu"}, {"inputs", {"b"}}},
                                 {{"name", "b"}, {"op", "relu"}, {"inputs", {"a"}}}}),
                            "g.json");
            }),
            "g.json: cycle through nodes a, b");
  EXPECT_EQ(ErrorOf([] {
              GraphFromJson(Doc({{{"name", "c"}, {"op", "conv3d"}, {"inputs", {"x"}}}}), "g.json");
            }),
            "g.json: nodes[0] (c): unknown operator 'conv3d' (did you mean: conv1d, conv2d?)");
  EXPECT_EQ(ErrorOf([] {
              GraphFromJson(Doc({{{"name", "r"}, {"op", "relu"}, {"inputs", {"nope"}}}}), "g.json");
            }),
            "g.json: nodes[0] (r): input 'nope' is not an input, parameter or node output");
  EXPECT_EQ(
      ErrorOf([] {
        GraphFromJson(
            Doc({{{"name", "s"}, {"op", "softmax"}, {"inputs", {"x"}}, {"attrs", {{"dimm", 1}}}}}),
            "g.json");
      }),
      "g.json: nodes[0] (s): unknown attribute 'dimm' for softmax (known: dim)");
  EXPECT_EQ(
      ErrorOf([] {
        GraphFromJson(
            Doc({{{"name", "s"}, {"op", "softmax"}, {"inputs", {"x"}}, {"attrs", {{"dim", 1.5}}}}}),
            "g.json");
      }),
      "g.json: nodes[0] (s): attribute 'dim' of softmax: expected an int, got 1.5");
  EXPECT_EQ(ErrorOf([] {
              GraphFromJson(
                  Doc({{{"name", "v"},
                        {"op", "reshape"},
                        {"inputs", {"x"}},
                        {"attrs", {{"shape", {{"values", {1, 4}}, {"batch_index", 2}}}}}}}),
                  "g.json");
            }),
            "g.json: nodes[0] (v): attribute 'shape' of reshape: expected sym_ints, got "
            "{\"batch_index\":2,\"values\":[1,4]}");
  // A shape error of the new operators, through the file.
  EXPECT_EQ(ErrorOf([] {
              GraphFromJson(Doc({{{"name", "v"},
                                  {"op", "reshape"},
                                  {"inputs", {"x"}},
                                  {"attrs", {{"shape", {3, -1}}}}}}),
                            "g.json");
            }),
            "g.json: v (Reshape): shape [3, -1] is invalid for an input of 4 elements (1x4)");
}

}  // namespace
}  // namespace joulecast::graph
