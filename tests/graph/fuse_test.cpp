// The readers' fusion rules (joulecast/graph/fuse.h): torchvision's traced channel_shuffle
// becomes one channel_shuffle node; near-misses stay as they are. (The rules for what torch.onnx
// decomposes: fuse_onnx_patterns_test.cpp.)
#include "joulecast/graph/fuse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "one_op.h"

namespace joulecast::graph {
namespace {

using Ints = std::vector<std::int64_t>;

SymInts Batched(Ints v) {
  SymInts s;
  s.values = std::move(v);
  s.batch_index = 0;
  return s;
}

// What the TorchScript reader lowers torchvision's channel_shuffle(x, 2) to, on x = conv(input)
// of 8x4x4 per sample, at batch 2, followed by a relu that reads the shuffled tensor:
//   x.view(B, 2, 4, 4, 4).transpose(dim0, dim1).contiguous().view(B, 8, 4, 4)
// `tweak` changes one piece to make a near-miss.
struct ShuffleGraph {
  std::int64_t dim0 = 1, dim1 = 2;
  Ints last_shape = {1, 8, 4, 4};
  bool contiguous = true;
  bool reuse_transposed = false;  // the transposed view also feeds a second node
  bool other_scope = false;       // the last reshape in another module

  Graph Build() const {
    Graph g;
    const ValueId in = g.AddInput("input", TensorType{DType::kFloat32, {2, 3, 4, 4}}, 0);
    const ValueId w = g.AddParameter("conv.weight", TensorType{DType::kFloat32, {8, 3, 1, 1}});
    const ValueId x = g.node(g.AddNode("conv2d", {}, {in, w}, "conv")).outputs[0];
    const ValueId a =
        g.node(g.AddNode("reshape", A({{"shape", Batched({1, 2, 4, 4, 4})}}), {x}, "block"))
            .outputs[0];
    const ValueId b =
        g.node(g.AddNode("transpose", A({{"dim0", dim0}, {"dim1", dim1}}), {a}, "block"))
            .outputs[0];
    const ValueId c = contiguous ? g.node(g.AddNode("contiguous", {}, {b}, "block")).outputs[0] : b;
    const ValueId y = g.node(g.AddNode("reshape", A({{"shape", Batched(last_shape)}}), {c},
                                       other_scope ? "other" : "block"))
                          .outputs[0];
    g.MarkOutput(g.node(g.AddNode("relu", {}, {y}, "relu")).outputs[0]);
    if (reuse_transposed) g.MarkOutput(g.node(g.AddNode("relu", {}, {b}, "relu2")).outputs[0]);
    g.SetBatch(2);
    InferShapes(g);
    return g;
  }
};

TEST(FuseChannelShuffle, TorchvisionsTracedShuffleBecomesOneNode) {
  Graph g = ShuffleGraph{}.Build();
  const std::string last = g.nodes()[4].name;
  const NodeCounts before = TotalCounts(g, CountNodes(g));
  EXPECT_EQ(FuseChannelShuffle(g), 1);
  EXPECT_EQ(Ops(g), (std::vector<std::string>{"conv2d", "channel_shuffle", "relu"}));
  const Node& s = g.nodes()[1];
  EXPECT_EQ(s.attrs.Int("groups"), 2);
  EXPECT_EQ(s.scope, "block");
  EXPECT_EQ(s.name, last);
  EXPECT_EQ(s.inputs, g.nodes()[0].outputs);
  EXPECT_EQ(g.value(s.outputs[0]).name, last);
  EXPECT_EQ(g.value(s.outputs[0]).type.dims, (Dims{2, 8, 4, 4}));
  EXPECT_EQ(g.nodes()[2].inputs, s.outputs);
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.value(g.outputs()[0]).type.dims, (Dims{2, 8, 4, 4}));
  // Parameters and inputs kept; the copy is the shuffle's: counts unchanged but for the views.
  EXPECT_EQ(g.ParameterCount(), 24);
  EXPECT_EQ(g.FindValue("conv.weight"), 1);
  const NodeCounts after = TotalCounts(g, CountNodes(g));
  EXPECT_EQ(after.matrix_macs, before.matrix_macs);
  EXPECT_EQ(after.bytes_written, before.bytes_written);
  // The graph re-targets to another batch as before.
  g.SetBatch(5);
  InferShapes(g);
  EXPECT_EQ(g.value(g.outputs()[0]).type.dims, (Dims{5, 8, 4, 4}));
  // Nothing left to fuse.
  EXPECT_EQ(FuseGraph(g), 0);
}

TEST(FuseChannelShuffle, TransposeDimsInEitherOrderOrNegative) {
  for (auto [d0, d1] : {std::pair<std::int64_t, std::int64_t>{2, 1}, {-4, -3}, {1, -3}}) {
    ShuffleGraph s;
    s.dim0 = d0;
    s.dim1 = d1;
    Graph g = s.Build();
    EXPECT_EQ(FuseGraph(g), 1) << d0 << ", " << d1;
    EXPECT_EQ(Ops(g), (std::vector<std::string>{"conv2d", "channel_shuffle", "relu"}));
  }
}

// ONNX has no contiguous: torch.onnx's channel shuffle is reshape, transpose, reshape (and a
// PyTorch .reshape after the transpose copies by itself).
TEST(FuseChannelShuffle, WithoutContiguousAsOnnxWritesIt) {
  ShuffleGraph s;
  s.contiguous = false;
  Graph g = s.Build();
  EXPECT_EQ(FuseGraph(g), 1);
  EXPECT_EQ(Ops(g), (std::vector<std::string>{"conv2d", "channel_shuffle", "relu"}));
  EXPECT_EQ(g.nodes()[1].attrs.Int("groups"), 2);
}

TEST(FuseChannelShuffle, NearMissesStayAsTheyAre) {
  std::vector<std::pair<std::string, ShuffleGraph>> cases;
  ShuffleGraph other_dims;  // transpose of other dimensions: not a channel shuffle
  other_dims.dim0 = 2;
  other_dims.dim1 = 3;
  cases.push_back({"transpose(2, 3)", other_dims});
  ShuffleGraph flat;  // the last view does not restore x's shape
  flat.last_shape = {1, 8, 16};
  cases.push_back({"view to Bx8x16", flat});
  ShuffleGraph reused;  // the transposed view is read elsewhere too
  reused.reuse_transposed = true;
  cases.push_back({"transposed view reused", reused});
  ShuffleGraph scopes;  // the pieces come from two modules
  scopes.other_scope = true;
  cases.push_back({"two scopes", scopes});
  for (const auto& [what, s] : cases) {
    Graph g = s.Build();
    const std::vector<std::string> ops = Ops(g);
    EXPECT_EQ(FuseGraph(g), 0) << what;
    EXPECT_EQ(Ops(g), ops) << what;
  }
}

}  // namespace
}  // namespace joulecast::graph
