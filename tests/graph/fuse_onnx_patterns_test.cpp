// The fusion rules of joulecast/graph/fuse.h for the patterns torch.onnx.export decomposes (GELU,
// SiLU, Hardswish, LayerNorm, the padded average pool, torch.roll, multi-head attention, the
// transformer encoder layer), on graphs built as the ONNX reader lowers them: each pattern becomes
// the registry's operator with the same output, counts of the products kept; near-misses stay.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "joulecast/graph/fuse.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "one_op.h"

namespace joulecast::graph {
namespace {

using Ints = std::vector<std::int64_t>;

Attributes S(double v) { return A({{"scalar", v}}); }

SymInts Fixed(Ints v) {
  SymInts s;
  s.values = std::move(v);
  return s;
}

// A graph under construction: values by id, nodes in a scope.
struct Builder {
  Graph g;
  ValueId In(const std::string& name, Dims dims) {
    return g.AddInput(name, TensorType{DType::kFloat32, std::move(dims)}, 0);
  }
  ValueId P(const std::string& name, Dims dims) {
    return g.AddParameter(name, TensorType{DType::kFloat32, std::move(dims)});
  }
  ValueId Op(const std::string& op, Attributes a, std::vector<ValueId> in,
             const std::string& scope = "m") {
    const NodeId n = g.AddNode(op, std::move(a), in, scope);
    const Node& node = g.node(n);
    OpCall call = MakeCall(g, n);
    call.outputs.clear();
    const std::vector<TensorType> out = node.schema->infer(call);
    for (std::size_t i = 0; i < out.size(); ++i) g.value(node.outputs[i]).type = out[i];
    return node.outputs[0];
  }
  // Ends the graph with a relu reading `y` (so the pattern's last value has a reader).
  Graph Done(ValueId y) {
    g.MarkOutput(Op("relu", {}, {y}, "out"));
    InferShapes(g);
    return std::move(g);
  }
};

NodeCounts Totals(const Graph& g) { return TotalCounts(g, CountNodes(g)); }

// GELU as torch.onnx writes it: (x · (erf(x / √2) + 1)) · 0.5, or in another order.
Graph Gelu(int form, double half = 0.5, bool reuse = false) {
  Builder b;
  const ValueId x = b.In("x", {2, 8});
  const ValueId u = b.Op("div", S(std::sqrt(2.0)), {x});
  const ValueId e = b.Op("erf", {}, {u});
  const ValueId a = b.Op("add", S(1.0), {e});
  ValueId y;
  if (form == 1) {
    y = b.Op("mul", S(half), {b.Op("mul", {}, {x, a})});
  } else if (form == 2) {
    y = b.Op("mul", {}, {b.Op("mul", S(half), {x}), a});
  } else {
    y = b.Op("mul", {}, {x, b.Op("mul", S(half), {a})});
  }
  if (reuse) b.g.MarkOutput(e);
  return b.Done(y);
}

TEST(FuseGelu, ErfFormsBecomeOneGelu) {
  for (int form : {1, 2, 3}) {
    Graph g = Gelu(form);
    EXPECT_EQ(FuseGelu(g), 1) << form;
    EXPECT_EQ(Ops(g), (std::vector<std::string>{"gelu", "relu"})) << form;
    EXPECT_EQ(g.nodes()[0].attrs.String("approximate"), "none");
    EXPECT_EQ(g.nodes()[0].scope, "m");
    EXPECT_EQ(g.value(g.nodes()[0].outputs[0]).type.dims, (Dims{2, 8}));
  }
}

TEST(FuseGelu, NearMissesStay) {
  Graph other_constant = Gelu(1, 0.4);
  EXPECT_EQ(FuseGraph(other_constant), 0);
  Graph reused = Gelu(1, 0.5, /*reuse=*/true);  // erf(x/√2) is also a graph output
  EXPECT_EQ(FuseGraph(reused), 0);
}

TEST(FuseGelu, TanhFormWithPowOrProducts) {
  for (bool pow : {true, false}) {
    Builder b;
    const ValueId x = b.In("x", {2, 8});
    const ValueId c =
        pow ? b.Op("pow", S(3.0), {x}) : b.Op("mul", {}, {x, b.Op("mul", {}, {x, x})});
    const ValueId s = b.Op("add", {}, {x, b.Op("mul", S(0.044715), {c})});
    const ValueId t = b.Op("tanh", {}, {b.Op("mul", S(std::sqrt(2.0 / M_PI)), {s})});
    const ValueId a = b.Op("add", S(1.0), {t});
    Graph g = b.Done(b.Op("mul", S(0.5), {b.Op("mul", {}, {x, a})}));
    EXPECT_EQ(FuseGraph(g), 1) << pow;
    EXPECT_EQ(Ops(g), (std::vector<std::string>{"gelu", "relu"}));
    EXPECT_EQ(g.nodes()[0].attrs.String("approximate"), "tanh");
  }
}

TEST(FuseSiluAndHardswish, TheGateOfTheSameTensor) {
  for (const char* gate : {"sigmoid", "hardsigmoid"}) {
    Builder b;
    const ValueId x = b.In("x", {2, 8, 4, 4});
    Graph g = b.Done(b.Op("mul", {}, {b.Op(gate, {}, {x}), x}));
    EXPECT_EQ(FuseGraph(g), 1);
    EXPECT_EQ(Ops(g)[0], std::string(gate) == "sigmoid" ? "silu" : "hardswish");
  }
  // A squeeze-and-excitation gate multiplies another tensor: no SiLU.
  Builder b;
  const ValueId x = b.In("x", {2, 8, 4, 4});
  const ValueId s = b.Op("adaptive_avg_pool2d", A({{"output_size", Ints{1, 1}}}), {x});
  Graph g = b.Done(b.Op("mul", {}, {b.Op("sigmoid", {}, {s}), x}));
  EXPECT_EQ(FuseGraph(g), 0);
}

// torch.onnx's layer_norm below opset 17.
Graph LayerNorm(bool affine, Ints dims, int extra_reader = 0) {
  Builder b;
  const ValueId x = b.In("x", {2, 5, 8});
  const ValueId m = b.Op("mean", A({{"dims", dims}, {"keepdim", true}}), {x});
  const ValueId d = b.Op("sub", {}, {x, m});
  const ValueId v =
      b.Op("mean", A({{"dims", dims}, {"keepdim", true}}), {b.Op("pow", S(2.0), {d})});
  ValueId y = b.Op("div", {}, {d, b.Op("sqrt", {}, {b.Op("add", S(1e-5), {v})})});
  if (affine) {
    y = b.Op("mul", {}, {y, b.P("norm.weight", {8})});
    y = b.Op("add", {}, {y, b.P("norm.bias", {8})});
  }
  if (extra_reader) b.g.MarkOutput(d);
  return b.Done(y);
}

TEST(FuseLayerNorm, DecomposedLayerNormWithAndWithoutAffine) {
  for (bool affine : {true, false}) {
    Graph g = LayerNorm(affine, {-1});
    EXPECT_EQ(FuseGraph(g), 1);
    EXPECT_EQ(Ops(g), (std::vector<std::string>{"layer_norm", "relu"}));
    const Node& n = g.nodes()[0];
    EXPECT_EQ(n.attrs.Ints("normalized_shape"), (Ints{8}));
    EXPECT_DOUBLE_EQ(n.attrs.Float("eps"), 1e-5);
    EXPECT_EQ(n.inputs.size(), affine ? 3u : 1u);
    EXPECT_EQ(g.ParameterCount(), affine ? 16 : 0);
  }
  Graph two = LayerNorm(true, {1, 2});
  EXPECT_EQ(FuseGraph(two), 1);
  EXPECT_EQ(two.nodes()[0].attrs.Ints("normalized_shape"), (Ints{5, 8}));
}

TEST(FuseLayerNorm, NearMissesStay) {
  Graph middle = LayerNorm(true, {1});  // not the last dimensions
  EXPECT_EQ(FuseGraph(middle), 0);
  Graph reused = LayerNorm(true, {-1}, 1);  // x - mean is read elsewhere too
  EXPECT_EQ(FuseGraph(reused), 0);
}

TEST(FusePaddedAvgPool, PadThenPoolIsThePoolWithPadding) {
  Builder b;
  const ValueId x = b.In("x", {1, 4, 8, 8});
  const ValueId p = b.Op("pad", A({{"pads", Ints{1, 1, 1, 1}}}), {x});
  Graph g = b.Done(b.Op(
      "avg_pool2d",
      A({{"kernel_size", Ints{3, 3}}, {"stride", Ints{1, 1}}, {"count_include_pad", false}}), {p}));
  EXPECT_EQ(FuseGraph(g), 1);
  ASSERT_EQ(Ops(g), (std::vector<std::string>{"avg_pool2d", "relu"}));
  EXPECT_EQ(g.nodes()[0].attrs.Ints("padding"), (Ints{1, 1}));
  EXPECT_TRUE(g.nodes()[0].attrs.Bool("count_include_pad"));
}

TEST(FuseRoll, SlicesAndCatOnTwoDimensionsBecomeOneRoll) {
  Builder b;
  const ValueId x = b.In("x", {1, 8, 8, 4});
  auto roll = [&](ValueId v, std::int64_t dim, std::int64_t start) {
    const ValueId a =
        b.Op("slice", A({{"dim", dim}, {"start", start}, {"end", std::int64_t{8}}}), {v});
    const ValueId c =
        b.Op("slice", A({{"dim", dim}, {"start", std::int64_t{0}}, {"end", start}}), {v});
    return b.Op("cat", A({{"dim", dim}}), {a, c});
  };
  Graph g = b.Done(roll(roll(x, 1, 3), 2, 3));  // torch.roll(x, (-3, -3), (1, 2))
  EXPECT_EQ(FuseGraph(g), 3);
  ASSERT_EQ(Ops(g), (std::vector<std::string>{"roll", "relu"}));
  EXPECT_EQ(g.nodes()[0].attrs.Ints("shifts"), (Ints{-3, -3}));
  EXPECT_EQ(g.nodes()[0].attrs.Ints("dims"), (Ints{1, 2}));
}

// nn.MultiheadAttention(8, 2, batch_first=True) on x [2, 5, 8], as torch.onnx decomposes it and
// the ONNX reader lowers it.
Graph Attention(double scale_divisor = 2.0, bool bias = true) {
  Builder b;
  const ValueId x = b.In("x", {2, 5, 8});
  const ValueId w = b.P("attn.in_proj_weight", {24, 8});
  const ValueId wo = b.P("attn.out_proj.weight", {8, 8});
  std::vector<ValueId> in_proj = {
      b.Op("transpose", A({{"dim0", std::int64_t{0}}, {"dim1", std::int64_t{1}}}), {x}, "attn"), w};
  if (bias) in_proj.push_back(b.P("attn.in_proj_bias", {24}));
  const ValueId p = b.Op("linear", {}, in_proj, "attn");
  auto part = [&](std::int64_t k) {
    const ValueId s = b.Op(
        "slice", A({{"dim", std::int64_t{-1}}, {"start", 8 * k}, {"end", 8 * k + 8}}), {p}, "attn");
    return b.Op("reshape", A({{"shape", Fixed({5, 4, 4})}}), {s}, "attn");
  };
  const ValueId q = b.Op("transpose", A({{"dim0", std::int64_t{0}}, {"dim1", std::int64_t{1}}}),
                         {part(0)}, "attn");
  const ValueId k = b.Op("permute", A({{"dims", Ints{1, 2, 0}}}), {part(1)}, "attn");
  const ValueId v = b.Op("transpose", A({{"dim0", std::int64_t{0}}, {"dim1", std::int64_t{1}}}),
                         {part(2)}, "attn");
  const ValueId s = b.Op("matmul", {}, {b.Op("div", S(scale_divisor), {q}, "attn"), k}, "attn");
  const ValueId o =
      b.Op("matmul", {}, {b.Op("softmax", A({{"dim", std::int64_t{-1}}}), {s}, "attn"), v}, "attn");
  const ValueId t =
      b.Op("transpose", A({{"dim0", std::int64_t{0}}, {"dim1", std::int64_t{1}}}), {o}, "attn");
  const ValueId r = b.Op("reshape", A({{"shape", Fixed({10, 8})}}), {t}, "attn");
  std::vector<ValueId> out_proj = {r, wo};
  if (bias) out_proj.push_back(b.P("attn.out_proj.bias", {8}));
  const ValueId l = b.Op("linear", {}, out_proj, "attn");
  const ValueId y = b.Op("reshape", A({{"shape", Fixed({5, 2, 8})}}), {l}, "attn");
  return b.Done(
      b.Op("transpose", A({{"dim0", std::int64_t{1}}, {"dim1", std::int64_t{0}}}), {y}, "attn"));
}

TEST(FuseMultiHeadAttention, DecomposedForwardBecomesTheFusedOperator) {
  for (bool bias : {true, false}) {
    Graph g = Attention(2.0, bias);
    const NodeCounts before = Totals(g);
    EXPECT_EQ(FuseGraph(g), 1);
    ASSERT_EQ(Ops(g), (std::vector<std::string>{"multi_head_attention", "relu"}));
    const Node& n = g.nodes()[0];
    EXPECT_EQ(n.attrs.Int("num_heads"), 2);
    EXPECT_EQ(n.scope, "attn");
    EXPECT_EQ(n.inputs[0], g.FindValue("x"));
    EXPECT_EQ(g.value(n.outputs[0]).type.dims, (Dims{2, 5, 8}));
    // The products are the same: in-projection, q·k^T, by v, out-projection.
    EXPECT_EQ(Totals(g).matrix_macs, before.matrix_macs);
    EXPECT_EQ(Totals(g).matrix_macs, 10 * 8 * 24 + 2 * (2 * 2 * 5 * 5 * 4) + 10 * 8 * 8);
    EXPECT_EQ(g.ParameterCount(), bias ? 24 * 8 + 24 + 64 + 8 : 24 * 8 + 64);
  }
}

TEST(FuseMultiHeadAttention, AnotherScaleStays) {
  Graph g = Attention(3.0);  // not 1/sqrt(head_dim)
  const std::size_t nodes = g.nodes().size();
  EXPECT_EQ(FuseGraph(g), 0);
  EXPECT_EQ(g.nodes().size(), nodes);
}

// A post-norm encoder layer around a fused attention, in `scope` with children named `names`
// (self_attn, norm1, linear1, linear2, norm2).
Graph EncoderLayer(const std::string& scope, const std::vector<std::string>& names) {
  Builder b;
  auto at = [&](std::size_t i) { return scope + "." + names[i]; };
  const ValueId x = b.In("x", {2, 5, 8});
  const ValueId a =
      b.Op("multi_head_attention", A({{"num_heads", std::int64_t{2}}}),
           {x, x, x, b.P(at(0) + ".in_proj_weight", {24, 8}), b.P(at(0) + ".in_proj_bias", {24}),
            b.P(at(0) + ".out_proj.weight", {8, 8}), b.P(at(0) + ".out_proj.bias", {8})},
           at(0));
  const ValueId r1 = b.Op("add", {}, {x, a}, scope);
  auto norm = [&](ValueId v, std::size_t i) {
    return b.Op("layer_norm", A({{"normalized_shape", Ints{8}}}),
                {v, b.P(at(i) + ".weight", {8}), b.P(at(i) + ".bias", {8})}, at(i));
  };
  const ValueId n1 = norm(r1, 1);
  const ValueId h =
      b.Op("relu", {},
           {b.Op("linear", {}, {n1, b.P(at(2) + ".weight", {16, 8}), b.P(at(2) + ".bias", {16})},
                 at(2))},
           scope);
  const ValueId f =
      b.Op("linear", {}, {h, b.P(at(3) + ".weight", {8, 16}), b.P(at(3) + ".bias", {8})}, at(3));
  return b.Done(norm(b.Op("add", {}, {n1, f}, scope), 4));
}

TEST(FuseTransformerEncoderLayer, NnTransformerEncoderLayerBecomesTheFusedOperator) {
  Graph g = EncoderLayer("layers.0", {"self_attn", "norm1", "linear1", "linear2", "norm2"});
  const NodeCounts before = Totals(g);
  EXPECT_EQ(FuseTransformerEncoderLayer(g), 1);
  ASSERT_EQ(Ops(g), (std::vector<std::string>{"transformer_encoder_layer", "relu"}));
  const Node& n = g.nodes()[0];
  EXPECT_EQ(n.scope, "layers.0");
  EXPECT_EQ(n.attrs.Int("num_heads"), 2);
  EXPECT_FALSE(n.attrs.Bool("norm_first"));
  EXPECT_FALSE(n.attrs.Bool("use_gelu"));
  EXPECT_EQ(Totals(g).matrix_macs, before.matrix_macs);
  EXPECT_EQ(g.ParameterCount(), before.parameters);
}

TEST(FuseTransformerEncoderLayer, AnotherClassesBlockKeepsItsPieces) {
  // The same arithmetic in modules of other names (as torchvision's ViT names its block's).
  Graph g = EncoderLayer("encoder.layers.0", {"self_attention", "ln_1", "mlp.0", "mlp.3", "ln_2"});
  EXPECT_EQ(FuseTransformerEncoderLayer(g), 0);
  EXPECT_EQ(Ops(g).size(), 9u);
}

}  // namespace
}  // namespace joulecast::graph
