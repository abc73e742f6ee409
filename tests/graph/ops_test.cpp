// The operators of the registry (src/graph/ops/): shapes, errors, counts, layer forms and proxies.
//
// Reference shapes marked "torch" were computed with PyTorch 1.13 (Debian's python3-torch,
// /usr/bin/python3 -c "import torch; ..."), the expression given next to each; MAC counts are the
// closed forms of the files' top comments, worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "error_of.h"
#include "graph/one_op.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "one_op.h"

namespace joulecast::graph {
namespace {

using joulecast_test::ErrorOf;
using Ints = std::vector<std::int64_t>;

struct Result {
  std::vector<TensorType> out;
  NodeCounts counts;
  LayerForm form;
  std::optional<LayerForm> proxy;
  double parameters = 0;  // of the whole graph
  Dims dims() const { return out.at(0).dims; }
};

// A graph of one node on fresh inputs and parameters, and what the registry says of the node.
class OneOp : public OneOpGraph {
 public:
  Result Run(const std::string& op, Attributes a, const std::vector<ValueId>& ins,
             int outputs = 1) {
    const NodeId n = Add(op, std::move(a), ins, outputs);
    Result r;
    for (ValueId v : g.node(n).outputs) r.out.push_back(g.value(v).type);
    const OpCall c = MakeCall(g, n);
    const OpSchema& s = *g.node(n).schema;
    r.counts = CountNodes(g)[n];
    r.form = s.layer ? s.layer(c) : DefaultLayerForm(c);
    if (s.proxy) r.proxy = s.proxy(c);
    r.parameters = g.ParameterCount();
    return r;
  }
};

AttrValue I(std::int64_t v) { return v; }

// Output dims of `op` on float inputs of the given shapes.
Dims Shape(const std::string& op, Attributes a, const std::vector<Dims>& ins, int outputs = 1) {
  OneOp o;
  std::vector<ValueId> ids;
  for (const Dims& d : ins) ids.push_back(o.In(d));
  return o.Run(op, std::move(a), ids, outputs).dims();
}

std::vector<Dims> Shapes(const std::string& op, Attributes a, const Dims& in, int outputs) {
  OneOp o;
  std::vector<Dims> out;
  for (const TensorType& t : o.Run(op, std::move(a), {o.In(in)}, outputs).out)
    out.push_back(t.dims);
  return out;
}

std::string Error(const std::string& op, Attributes a, const std::vector<Dims>& ins,
                  int outputs = 1) {
  return ErrorOf([&] { Shape(op, a, ins, outputs); });
}

// ---- the registry ----

TEST(Registry, NewOperatorsHaveTheirTypesAndCostClasses) {
  struct Want {
    const char* name;
    const char* type;
    CostClass cost;
  };
  const Want want[] = {
      {"embedding", "Embedding", CostClass::kDataMovement},
      {"layer_norm", "LayerNorm", CostClass::kReduction},
      {"group_norm", "GroupNorm", CostClass::kReduction},
      {"rms_norm", "RMSNorm", CostClass::kReduction},
      {"gelu", "GELU", CostClass::kElementwise},
      {"silu", "SiLU", CostClass::kElementwise},
      {"hardswish", "Hardswish", CostClass::kElementwise},
      {"hardsigmoid", "Hardsigmoid", CostClass::kElementwise},
      {"hardtanh", "Hardtanh", CostClass::kElementwise},
      {"leaky_relu", "LeakyReLU", CostClass::kElementwise},
      {"elu", "ELU", CostClass::kElementwise},
      {"mish", "Mish", CostClass::kElementwise},
      {"softplus", "Softplus", CostClass::kElementwise},
      {"log_softmax", "LogSoftmax", CostClass::kReduction},
      {"exp", "Exp", CostClass::kElementwise},
      {"log", "Log", CostClass::kElementwise},
      {"sqrt", "Sqrt", CostClass::kElementwise},
      {"rsqrt", "Rsqrt", CostClass::kElementwise},
      {"neg", "Neg", CostClass::kElementwise},
      {"abs", "Abs", CostClass::kElementwise},
      {"erf", "Erf", CostClass::kElementwise},
      {"sin", "Sin", CostClass::kElementwise},
      {"cos", "Cos", CostClass::kElementwise},
      {"reciprocal", "Reciprocal", CostClass::kElementwise},
      {"square", "Square", CostClass::kElementwise},
      {"interpolate", "Upsample", CostClass::kElementwise},
      {"sub", "Sub", CostClass::kElementwise},
      {"mul", "Mul", CostClass::kElementwise},
      {"div", "Div", CostClass::kElementwise},
      {"pow", "Pow", CostClass::kElementwise},
      {"maximum", "Maximum", CostClass::kElementwise},
      {"minimum", "Minimum", CostClass::kElementwise},
      {"where", "Where", CostClass::kElementwise},
      {"masked_fill", "MaskedFill", CostClass::kElementwise},
      {"clamp", "Clamp", CostClass::kElementwise},
      {"mean", "Mean", CostClass::kReduction},
      {"sum", "Sum", CostClass::kReduction},
      {"amax", "AMax", CostClass::kReduction},
      {"amin", "AMin", CostClass::kReduction},
      {"var", "Var", CostClass::kReduction},
      {"std", "Std", CostClass::kReduction},
      {"norm", "Norm", CostClass::kReduction},
      {"einsum", "Einsum", CostClass::kCompute},
      {"reshape", "Reshape", CostClass::kView},
      {"permute", "Permute", CostClass::kView},
      {"transpose", "Transpose", CostClass::kView},
      {"expand", "Expand", CostClass::kView},
      {"unsqueeze", "Unsqueeze", CostClass::kView},
      {"squeeze", "Squeeze", CostClass::kView},
      {"split", "Split", CostClass::kView},
      {"chunk", "Chunk", CostClass::kView},
      {"slice", "Slice", CostClass::kView},
      {"select", "Select", CostClass::kView},
      {"contiguous", "Contiguous", CostClass::kDataMovement},
      {"stack", "Stack", CostClass::kDataMovement},
      {"pad", "Pad", CostClass::kDataMovement},
      {"roll", "Roll", CostClass::kDataMovement},
      {"cast", "Cast", CostClass::kDataMovement},
      {"scaled_dot_product_attention", "ScaledDotProductAttention", CostClass::kCompute},
      {"multi_head_attention", "MultiheadAttention", CostClass::kCompute},
      {"transformer_encoder_layer", "TransformerEncoderLayer", CostClass::kCompute},
  };
  for (const Want& w : want) {
    const OpSchema* s = FindOp(w.name);
    ASSERT_NE(s, nullptr) << w.name;
    EXPECT_EQ(s->type, w.type) << w.name;
    EXPECT_EQ(s->cost, w.cost) << w.name;
    EXPECT_FALSE(s->doc.empty()) << w.name;
    EXPECT_EQ(FindOpByType(w.type), s) << w.type;
    if (s->cost == CostClass::kCompute) EXPECT_TRUE(s->proxy) << w.name;
  }
  // bmm is matmul's: no operator of its own.
  EXPECT_EQ(FindOp("bmm"), nullptr);
}

// ---- linear.cpp ----

TEST(MatMul, BroadcastsAsTorch) {
  // torch: torch.matmul(torch.zeros(10,1,3,4), torch.zeros(5,4,6)).shape == (10, 5, 3, 6)
  EXPECT_EQ(Shape("matmul", {}, {{10, 1, 3, 4}, {5, 4, 6}}), (Dims{10, 5, 3, 6}));
  // torch: torch.matmul(torch.zeros(3), torch.zeros(7,3,5)).shape == (7, 5)
  EXPECT_EQ(Shape("matmul", {}, {{3}, {7, 3, 5}}), (Dims{7, 5}));
  // bmm: [8, 5, 16] @ [8, 16, 7] -> [8, 5, 7], 8·5·7·16 MACs.
  OneOp o;
  const Result r = o.Run("matmul", {}, {o.In({8, 5, 16}), o.In({8, 16, 7})});
  EXPECT_EQ(r.dims(), (Dims{8, 5, 7}));
  EXPECT_EQ(r.counts.matrix_macs, 8.0 * 5 * 7 * 16);
}

// HF's Conv1D (GPT-2): linear(x, W.t(), b) with W stored [K, N], which addmm reads as stored, so
// the kernel is x·W: a MatMul to the predictors, the Linear it computes as its proxy. nn.Linear's
// weight [N, K] and a transposed activation keep the Linear form.
TEST(Linear, AWeightReadAsStoredHasTheMatMulForm) {
  OneOp o;
  const ValueId x = o.In({256, 768});
  const ValueId w = o.Param({768, 2304});
  const ValueId b = o.Param({2304});
  const NodeId t = o.Add("transpose", A({{"dim0", I(0)}, {"dim1", I(1)}}), {w});
  const ValueId wt = o.g.node(t).outputs[0];
  EXPECT_TRUE(IsTransposedParameter(o.g, wt));
  EXPECT_FALSE(IsTransposedParameter(o.g, w));
  const Result r = o.Run("linear", {}, {x, wt, b});
  EXPECT_EQ(r.dims(), (Dims{256, 2304}));
  EXPECT_EQ(r.counts.matrix_macs, 256.0 * 768 * 2304);
  EXPECT_EQ(r.form.type, "MatMul");
  EXPECT_EQ(r.form.params, (nlohmann::json{{"m", 256}, {"k", 768}, {"n", 2304}}));
  EXPECT_EQ(r.form.input, (Dims{256, 768}));
  EXPECT_EQ(r.form.output, (Dims{256, 2304}));
  ASSERT_TRUE(r.proxy.has_value());
  EXPECT_EQ(r.proxy->type, "Linear");
  EXPECT_EQ(r.proxy->params,
            (nlohmann::json{{"in_features", 768}, {"out_features", 2304}, {"bias", true}}));

  OneOp plain;
  const Result l = plain.Run("linear", {}, {plain.In({256, 768}), plain.Param({2304, 768})});
  EXPECT_EQ(l.form.type, "Linear");
  EXPECT_FALSE(l.proxy.has_value());

  // The transpose of an input (not a stored parameter) is a strided operand, not a weight.
  OneOp act;
  const ValueId y = act.In({768, 2304});
  const NodeId ty = act.Add("transpose", A({{"dim0", I(0)}, {"dim1", I(1)}}), {y});
  EXPECT_FALSE(IsTransposedParameter(act.g, act.g.node(ty).outputs[0]));
  EXPECT_EQ(act.Run("linear", {}, {act.In({4, 768}), act.g.node(ty).outputs[0]}).form.type,
            "Linear");
}

Attributes Eq(const std::string& equation) { return A({{"equation", equation}}); }

TEST(Einsum, ShapesAsTorch) {
  // torchvision's maxvit_t (RelativePositionalMultiHeadAttention), spaces and capitals included.
  // torch: torch.einsum("B G H I D, B G H J D -> B G H I J", torch.zeros(2,3,4,5,6),
  //                     torch.zeros(2,3,4,7,6)).shape == (2, 3, 4, 5, 7)
  EXPECT_EQ(
      Shape("einsum", Eq("B G H I D, B G H J D -> B G H I J"), {{2, 3, 4, 5, 6}, {2, 3, 4, 7, 6}}),
      (Dims{2, 3, 4, 5, 7}));
  // torch: torch.einsum("bij,bjk", torch.zeros(2,3,4), torch.zeros(2,4,5)).shape == (3, 5):
  // the implicit output is the indices that appear once, in alphabetical order.
  EXPECT_EQ(Shape("einsum", Eq("bij,bjk"), {{2, 3, 4}, {2, 4, 5}}), (Dims{3, 5}));
  // torch: torch.einsum("...ij,...jk", torch.zeros(2,3,4), torch.zeros(2,4,5)).shape == (2, 3, 5)
  EXPECT_EQ(Shape("einsum", Eq("...ij,...jk"), {{2, 3, 4}, {2, 4, 5}}), (Dims{2, 3, 5}));
  // torch: torch.einsum("...ij,...jk->...ik", torch.zeros(1,3,4), torch.zeros(2,2,4,5)).shape
  //        == (2, 2, 3, 5): "..." broadcasts as in matmul.
  EXPECT_EQ(Shape("einsum", Eq("...ij,...jk->...ik"), {{1, 3, 4}, {2, 2, 4, 5}}),
            (Dims{2, 2, 3, 5}));
  // torch: torch.einsum("...ij,...jk->ik", torch.zeros(2,3,4), torch.zeros(2,4,5)).shape == (3, 5)
  EXPECT_EQ(Shape("einsum", Eq("...ij,...jk->ik"), {{2, 3, 4}, {2, 4, 5}}), (Dims{3, 5}));
  // torch: torch.einsum("bij,bjk->bik", torch.zeros(1,3,4), torch.zeros(2,4,5)).shape == (2, 3, 5)
  EXPECT_EQ(Shape("einsum", Eq("bij,bjk->bik"), {{1, 3, 4}, {2, 4, 5}}), (Dims{2, 3, 5}));
  // torch: torch.einsum("ij,kl->ijkl", torch.zeros(2,3), torch.zeros(4,5)).shape == (2, 3, 4, 5)
  EXPECT_EQ(Shape("einsum", Eq("ij,kl->ijkl"), {{2, 3}, {4, 5}}), (Dims{2, 3, 4, 5}));
  // torch: torch.einsum("ij,jk->", torch.zeros(2,3), torch.zeros(3,5)).shape == ()
  EXPECT_EQ(Shape("einsum", Eq("ij,jk->"), {{2, 3}, {3, 5}}), Dims{});
}

TEST(Einsum, CountsEveryIndexOnceAndProxiesAsMatMul) {
  // q·k^T of maxvit_t: B G H I D, B G H J D -> B G H I J; MACs = B·G·H·I·J·D = 2·3·4·5·7·6.
  OneOp o;
  const Result r = o.Run("einsum", Eq("B G H I D, B G H J D -> B G H I J"),
                         {o.In({2, 3, 4, 5, 6}), o.In({2, 3, 4, 7, 6})});
  EXPECT_EQ(r.counts.matrix_macs, 5040);
  EXPECT_EQ(r.counts.macs, 5040);
  EXPECT_EQ(r.counts.flops, 2 * 5040);
  EXPECT_EQ(r.form.type, "Einsum");
  EXPECT_EQ(r.form.params["m"], 5);
  EXPECT_EQ(r.form.params["k"], 6);
  EXPECT_EQ(r.form.params["n"], 7);
  EXPECT_EQ(r.form.params["batch"], 24);
  // The proxy is matmul's: batch (B, G, H) · M (I) rows, K (D) in, N (J) out.
  ASSERT_TRUE(r.proxy);
  EXPECT_EQ(r.proxy->type, "Linear");
  EXPECT_EQ(r.proxy->params["in_features"], 6);
  EXPECT_EQ(r.proxy->params["out_features"], 7);
  EXPECT_EQ(r.proxy->params["bias"], false);
  EXPECT_EQ(r.proxy->input, (Dims{120, 6}));
  EXPECT_EQ(r.proxy->output, (Dims{120, 7}));
  // The same product through matmul has the same proxy.
  OneOp m;
  const Result mm = m.Run("matmul", {}, {m.In({2, 3, 4, 5, 6}), m.In({2, 3, 4, 6, 7})});
  EXPECT_EQ(mm.counts.matrix_macs, r.counts.matrix_macs);
  EXPECT_EQ(mm.proxy->params, r.proxy->params);
  EXPECT_EQ(mm.proxy->input, r.proxy->input);

  // An outer product (nothing summed) and a full contraction (everything summed).
  OneOp outer;
  const Result op = outer.Run("einsum", Eq("ij,kl->ijkl"), {outer.In({2, 3}), outer.In({4, 5})});
  EXPECT_EQ(op.counts.matrix_macs, 120);
  EXPECT_EQ(op.proxy->input, (Dims{6, 1}));
  EXPECT_EQ(op.proxy->output, (Dims{6, 20}));
  OneOp full;
  const Result fc = full.Run("einsum", Eq("ij,jk->"), {full.In({2, 3}), full.In({3, 5})});
  EXPECT_EQ(fc.counts.matrix_macs, 30);
  EXPECT_EQ(fc.proxy->input, (Dims{1, 30}));
  EXPECT_EQ(fc.proxy->output, (Dims{1, 1}));
}

TEST(Einsum, ErrorsNameTheEquation) {
  EXPECT_EQ(Error("einsum", Eq("bij,bjk->bik"), {{2, 3, 4}, {2, 5, 6}}),
            "einsum (Einsum): einsum 'bij,bjk->bik': index 'j' has size 4 in operand 0 (2x3x4) "
            "and 5 in operand 1 (2x5x6) (inputs in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("...ij,...jk->...ik"), {{3, 2, 4}, {2, 4, 5}}),
            "einsum (Einsum): einsum '...ij,...jk->...ik': dimension 0 of '...' has size 3 in "
            "operand 0 (3x2x4) and 2 in operand 1 (2x4x5) (inputs in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("ij->ji"), {{2, 3}}),
            "einsum (Einsum): einsum 'ij->ji': 1 operand; only contractions of two operands are "
            "supported");
  EXPECT_EQ(Error("einsum", Eq("ij,jk,kl->il"), {{2, 3}, {3, 4}, {4, 5}}),
            "einsum (Einsum): einsum 'ij,jk,kl->il': 3 operands; only contractions of two "
            "operands are supported (inputs in0, in1, in2)");
  EXPECT_EQ(Error("einsum", Eq("ii,ij->j"), {{3, 3}, {3, 4}}),
            "einsum (Einsum): einsum 'ii,ij->j': index 'i' appears twice in operand 0 (diagonals "
            "and traces are not supported) (inputs in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("ij,jk->ikk"), {{2, 3}, {3, 4}}),
            "einsum (Einsum): einsum 'ij,jk->ikk': index 'k' appears twice in the output "
            "(diagonals and traces are not supported) (inputs in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("ij,jk->iz"), {{2, 3}, {3, 4}}),
            "einsum (Einsum): einsum 'ij,jk->iz': output index 'z' is in neither operand (inputs "
            "in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("ijk,jk->i"), {{2, 3}, {3, 4}}),
            "einsum (Einsum): einsum 'ijk,jk->i': operand 0 (2x3) has 2 dimensions but 'ijk' "
            "names 3 (inputs in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("...ijk,jk->i"), {{2, 3}, {3, 4}}),
            "einsum (Einsum): einsum '...ijk,jk->i': operand 0 (2x3) has 2 dimensions but "
            "'...ijk' names 3 besides '...' (inputs in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("i1,1k->ik"), {{2, 3}, {3, 4}}),
            "einsum (Einsum): einsum 'i1,1k->ik': unexpected character '1' in operand 0 (inputs "
            "in0, in1)");
  EXPECT_EQ(Error("einsum", Eq("ij,jk"), {{2, 3}}),
            "einsum (Einsum): einsum 'ij,jk' names 2 operands, got 1 inputs");
}

TEST(Embedding, LooksUpRows) {
  // torch: torch.nn.Embedding(10, 5)(torch.zeros(2, 7, dtype=torch.long)).shape == (2, 7, 5)
  OneOp o;
  const Result r = o.Run("embedding", {}, {o.In({2, 7}, DType::kInt64), o.Param({10, 5})});
  EXPECT_EQ(r.dims(), (Dims{2, 7, 5}));
  EXPECT_EQ(r.out[0].dtype, DType::kFloat32);
  EXPECT_EQ(r.counts.macs, 0);
  EXPECT_EQ(r.counts.flops, 0);
  // Indices (14 · 8 bytes) and the 70 gathered floats read, 70 floats written.
  EXPECT_EQ(r.counts.bytes_read, 14 * 8 + 70 * 4);
  EXPECT_EQ(r.counts.bytes_written, 70 * 4);
  EXPECT_EQ(r.counts.parameters, 50);
  EXPECT_EQ(r.form.type, "Embedding");
  EXPECT_EQ(r.form.params["num_embeddings"], 10);
  EXPECT_EQ(r.form.params["embedding_dim"], 5);
  EXPECT_EQ(r.form.input, (Dims{2, 7}));

  OneOp bad;
  const ValueId x = bad.In({2, 7});
  const ValueId w = bad.Param({10, 5});
  EXPECT_EQ(ErrorOf([&] {
              bad.Run("embedding", {}, {x, w});
            }),
            "embedding (Embedding): indices must be int64 or int32, got float32 (indices 2x7)");
}

// ---- norm.cpp ----

TEST(LayerNorm, NormalizesTheLastDimensions) {
  // torch: torch.nn.LayerNorm([7, 5])(torch.zeros(2, 3, 7, 5)).shape == (2, 3, 7, 5)
  OneOp o;
  const Result r = o.Run("layer_norm", A({{"normalized_shape", Ints{7, 5}}}),
                         {o.In({2, 3, 7, 5}), o.Param({7, 5}), o.Param({7, 5})});
  EXPECT_EQ(r.dims(), (Dims{2, 3, 7, 5}));
  EXPECT_EQ(r.counts.macs, 210);
  EXPECT_EQ(r.counts.matrix_macs, 0);
  EXPECT_EQ(r.counts.parameters, 70);
  EXPECT_EQ(r.form.type, "LayerNorm");
  EXPECT_EQ(r.form.params["normalized_shape"], nlohmann::json({7, 5}));
  EXPECT_EQ(r.form.params["eps"], 1e-5);
  EXPECT_EQ(r.form.params["elementwise_affine"], true);
  // Channels-last (ConvNeXt) and transformer activations.
  EXPECT_EQ(Shape("layer_norm", A({{"normalized_shape", Ints{96}}}), {{2, 56, 56, 96}}),
            (Dims{2, 56, 56, 96}));
  EXPECT_EQ(Shape("layer_norm", A({{"normalized_shape", Ints{768}}}), {{8, 128, 768}}),
            (Dims{8, 128, 768}));
  EXPECT_EQ(Error("layer_norm", A({{"normalized_shape", Ints{768}}}), {{8, 128, 512}}),
            "layer_norm (LayerNorm): normalized_shape [768] expects an input of shape *x768, "
            "got 8x128x512");
  OneOp w;
  const ValueId x = w.In({8, 16});
  const ValueId p = w.Param({15});
  EXPECT_EQ(ErrorOf([&] {
              w.Run("layer_norm", A({{"normalized_shape", Ints{16}}}), {x, p});
            }),
            "layer_norm (LayerNorm): weight 15 does not match normalized_shape [16]");
  EXPECT_EQ(ErrorOf([&] {
              Shape("layer_norm", {}, {{2, 3}});
            }),
            "layer_norm (LayerNorm): missing attribute 'normalized_shape' for layer_norm");
}

TEST(GroupNorm, NeedsChannelsDivisibleByGroups) {
  // torch: torch.nn.GroupNorm(4, 8)(torch.zeros(2, 8, 3, 3)).shape == (2, 8, 3, 3)
  OneOp o;
  const Result r = o.Run("group_norm", A({{"num_groups", I(4)}}),
                         {o.In({2, 8, 3, 3}), o.Param({8}), o.Param({8})});
  EXPECT_EQ(r.dims(), (Dims{2, 8, 3, 3}));
  EXPECT_EQ(r.form.params["num_groups"], 4);
  EXPECT_EQ(r.form.params["num_channels"], 8);
  EXPECT_EQ(r.form.params["affine"], true);
  EXPECT_EQ(Error("group_norm", A({{"num_groups", I(3)}}), {{2, 8, 3, 3}}),
            "group_norm (GroupNorm): 8 channels are not divisible by num_groups 3 (input "
            "2x8x3x3)");
}

TEST(RmsNorm, IsLayerNormWithoutBias) {
  OneOp o;
  const Result r = o.Run("rms_norm", A({{"normalized_shape", Ints{4096}}}),
                         {o.In({1, 32, 4096}), o.Param({4096})});
  EXPECT_EQ(r.dims(), (Dims{1, 32, 4096}));
  EXPECT_EQ(r.form.type, "RMSNorm");
  EXPECT_EQ(r.form.params["eps"], 1e-6);
  EXPECT_EQ(FindOp("rms_norm")->inputs.size(), 2u);
}

// ---- activation.cpp ----

TEST(Activations, KeepTheShapeAndCountOnePerElement) {
  for (const char* op :
       {"gelu", "silu",     "hardswish",   "hardsigmoid", "hardtanh", "leaky_relu", "elu",
        "mish", "softplus", "log_softmax", "exp",         "log",      "sqrt",       "rsqrt",
        "neg",  "abs",      "erf",         "sin",         "cos",      "reciprocal", "square"}) {
    OneOp o;
    const Result r = o.Run(op, {}, {o.In({2, 3, 5})});
    EXPECT_EQ(r.dims(), (Dims{2, 3, 5})) << op;
    EXPECT_EQ(r.counts.macs, 30) << op;
    EXPECT_EQ(r.counts.flops, 30) << op;
    EXPECT_EQ(r.counts.bytes_read, 120) << op;
    EXPECT_EQ(r.counts.bytes_written, 120) << op;
    EXPECT_EQ(r.form.type, FindOp(op)->type) << op;
  }
}

TEST(Activations, ConstructorArgumentsAndChecks) {
  OneOp o;
  Result r = o.Run("gelu", A({{"approximate", std::string("tanh")}}), {o.In({4})});
  EXPECT_EQ(r.form.params["approximate"], "tanh");
  // torch: F.gelu(x, approximate='foo') raises "approximate argument must be either none or tanh."
  EXPECT_EQ(Error("gelu", A({{"approximate", std::string("foo")}}), {{4}}),
            "gelu (GELU): approximate must be 'none' or 'tanh', got 'foo'");
  OneOp h;
  r = h.Run("hardtanh", {}, {h.In({4})});
  EXPECT_EQ(r.form.params["min_val"], -1.0);
  EXPECT_EQ(r.form.params["max_val"], 1.0);
  EXPECT_EQ(Error("hardtanh", A({{"min_val", 2.0}, {"max_val", 1.0}}), {{4}}),
            "hardtanh (Hardtanh): max_val 1 must be greater than min_val 2");
  OneOp l;
  EXPECT_EQ(l.Run("leaky_relu", {}, {l.In({4})}).form.params["negative_slope"], 0.01);
  EXPECT_EQ(Error("log_softmax", A({{"dim", I(3)}}), {{2, 3}}),
            "log_softmax (LogSoftmax): dim 3 is out of range for a rank-2 tensor");
  // torch: torch.exp(torch.zeros(3, dtype=torch.long)).dtype == torch.float32; neg keeps int64.
  OneOp e;
  EXPECT_EQ(e.Run("exp", {}, {e.In({3}, DType::kInt64)}).out[0].dtype, DType::kFloat32);
  OneOp n;
  EXPECT_EQ(n.Run("neg", {}, {n.In({3}, DType::kInt64)}).out[0].dtype, DType::kInt64);
}

// ---- arithmetic.cpp ----

TEST(Arithmetic, BinaryOperatorsBroadcast) {
  for (const char* op : {"sub", "mul", "div", "pow", "maximum", "minimum"}) {
    OneOp o;
    const Result r = o.Run(op, {}, {o.In({2, 1, 4}), o.In({3, 1})});
    EXPECT_EQ(r.dims(), (Dims{2, 3, 4})) << op;
    EXPECT_EQ(r.counts.macs, 24) << op;
  }
  // A scalar operand: pow's defaults to 2 (x ** 2).
  EXPECT_EQ(FindOp("pow")->attrs.at(0).default_value, AttrValue(2.0));
  EXPECT_EQ(Shape("mul", A({{"scalar", 0.5}}), {{2, 3}}), (Dims{2, 3}));
  // maximum and minimum take two tensors.
  EXPECT_EQ(ErrorOf([] {
              Shape("maximum", {}, {{2, 3}});
            }),
            "maximum (Maximum): maximum takes 2 inputs, got 1");
  // torch: (torch.ones(3, dtype=torch.long) / torch.ones(3, dtype=torch.long)).dtype == float32
  OneOp d;
  EXPECT_EQ(d.Run("div", {}, {d.In({3}, DType::kInt64), d.In({3}, DType::kInt64)}).out[0].dtype,
            DType::kFloat32);
  OneOp m;
  EXPECT_EQ(m.Run("mul", {}, {m.In({3}, DType::kFloat16), m.In({3}, DType::kFloat32)}).out[0].dtype,
            DType::kFloat32);
  EXPECT_EQ(Error("sub", {}, {{2, 3}, {4}}), "sub (Sub): cannot broadcast 2x3 with 4 (inputs in0, in1)");
}

TEST(Arithmetic, WhereAndMaskedFill) {
  // torch: torch.where(torch.zeros(3,1,dtype=torch.bool), torch.zeros(1,4),
  //                    torch.zeros(2,1,1)).shape == (2, 3, 4)
  OneOp o;
  const Result r = o.Run("where", {}, {o.In({3, 1}, DType::kBool), o.In({1, 4}), o.In({2, 1, 1})});
  EXPECT_EQ(r.dims(), (Dims{2, 3, 4}));
  EXPECT_EQ(r.counts.macs, 24);
  // torch: torch.zeros(2,1,4).masked_fill(torch.zeros(3,1,dtype=torch.bool), 1.0).shape
  //        == (2, 3, 4)
  OneOp f;
  EXPECT_EQ(
      f.Run("masked_fill", A({{"value", -1e9}}), {f.In({2, 1, 4}), f.In({3, 1}, DType::kBool)})
          .dims(),
      (Dims{2, 3, 4}));
  EXPECT_EQ(Error("masked_fill", {}, {{2, 4}, {2, 4}}),
            "masked_fill (MaskedFill): mask must be bool, got float32 (2x4) (inputs in0, in1)");
}

TEST(Arithmetic, Clamp) {
  OneOp o;
  const Result r = o.Run("clamp", A({{"min", std::vector<double>{0.0}}}), {o.In({2, 3})});
  EXPECT_EQ(r.dims(), (Dims{2, 3}));
  EXPECT_EQ(r.form.params["min"], 0.0);
  EXPECT_TRUE(r.form.params["max"].is_null());
  EXPECT_EQ(Error("clamp", {}, {{2}}), "clamp (Clamp): at least one of min and max must be given");
  EXPECT_EQ(Error("clamp", A({{"max", std::vector<double>{1, 2}}}), {{2}}),
            "clamp (Clamp): min and max take at most one value each, got 0 and 2");
}

TEST(Arithmetic, Reductions) {
  // torch: torch.zeros(2,3,4).mean(dim=(1,)).shape == (2, 4);
  //        .mean(dim=(-1,1), keepdim=True).shape == (2, 1, 1); .mean().shape == ()
  EXPECT_EQ(Shape("mean", A({{"dims", Ints{1}}}), {{2, 3, 4}}), (Dims{2, 4}));
  EXPECT_EQ(Shape("mean", A({{"dims", Ints{-1, 1}}, {"keepdim", true}}), {{2, 3, 4}}),
            (Dims{2, 1, 1}));
  EXPECT_EQ(Shape("mean", {}, {{2, 3, 4}}), Dims{});
  for (const char* op : {"sum", "amax", "amin", "var", "std", "norm"}) {
    OneOp o;
    const Result r = o.Run(op, A({{"dims", Ints{0, 2}}}), {o.In({2, 3, 4})});
    EXPECT_EQ(r.dims(), (Dims{3})) << op;
    EXPECT_EQ(r.counts.macs, 24) << op;  // one per input element
    EXPECT_EQ(r.form.params["dims"], nlohmann::json({0, 2})) << op;
  }
  EXPECT_EQ(Error("sum", A({{"dims", Ints{1, -2}}}), {{2, 3, 4}}),
            "sum (Sum): dim 1 appears twice in [1, -2]");
  OneOp s;
  EXPECT_EQ(s.Run("sum", {}, {s.In({3}, DType::kBool)}).out[0].dtype, DType::kInt64);
  OneOp m;
  const ValueId ints = m.In({3}, DType::kInt64);
  EXPECT_EQ(ErrorOf([&] { m.Run("mean", {}, {ints}); }),
            "mean (Mean): mean needs a floating input, got int64 (3)");
}

TEST(Arithmetic, Norm) {
  // torch: F.normalize's torch.zeros(2,3,4).norm(2.0, [-1], True).shape == (2, 3, 1);
  //        torch.zeros(2,3,4).norm(1).shape == ()
  OneOp o;
  const Result r =
      o.Run("norm", A({{"dims", Ints{-1}}, {"keepdim", true}, {"p", 2.0}}), {o.In({2, 3, 4})});
  EXPECT_EQ(r.dims(), (Dims{2, 3, 1}));
  EXPECT_EQ(r.counts.macs, 24);  // one per input element, as the other reductions
  EXPECT_EQ(r.counts.matrix_macs, 0);
  EXPECT_EQ(r.form.type, "Norm");
  EXPECT_EQ(r.form.params["p"], 2.0);
  EXPECT_EQ(Shape("norm", A({{"p", 1.0}}), {{2, 3, 4}}), Dims{});
  EXPECT_EQ(FindOp("norm")->attrs.back().name, "p");
  EXPECT_EQ(Error("norm", A({{"p", std::numeric_limits<double>::infinity()}}), {{2, 3}}),
            "norm (Norm): p must be finite, got inf");
  OneOp m;
  const ValueId ints = m.In({3}, DType::kInt64);
  EXPECT_EQ(ErrorOf([&] { m.Run("norm", {}, {ints}); }),
            "norm (Norm): norm needs a floating input, got int64 (3)");
}

// ---- shape.cpp ----

TEST(Reshape, InfersOneSizeAndNamesBothShapes) {
  auto shape = [](Ints v, int batch_index = -1) {
    return A({{"shape", SymInts{std::move(v), batch_index}}});
  };
  // torch: torch.zeros(2,3,4).reshape(-1, 6).shape == (4, 6)
  OneOp o;
  const Result r = o.Run("reshape", shape({-1, 6}), {o.In({2, 3, 4})});
  EXPECT_EQ(r.dims(), (Dims{4, 6}));
  EXPECT_EQ(r.counts.macs, 0);
  EXPECT_EQ(r.counts.bytes_read, 0);
  EXPECT_EQ(r.form.params["shape"], nlohmann::json({4, 6}));
  // torch: torch.zeros(2,3,4).reshape(5, -1) raises "shape '[5, -1]' is invalid for input of
  // size 24"
  EXPECT_EQ(Error("reshape", shape({5, -1}), {{2, 3, 4}}),
            "reshape (Reshape): shape [5, -1] is invalid for an input of 24 elements (2x3x4)");
  EXPECT_EQ(Error("reshape", shape({5, 5}), {{2, 3, 4}}),
            "reshape (Reshape): shape [5, 5] is invalid for an input of 24 elements (2x3x4)");
  EXPECT_EQ(Error("reshape", shape({-1, -1}), {{2, 3, 4}}),
            "reshape (Reshape): shape [-1, -1] has more than one -1");
  // The batch entry scales with the graph's batch: a [B, 3, 4] input at batch 5.
  Graph g;
  const ValueId x = g.AddInput("x", {DType::kFloat32, {5, 3, 4}}, 0);
  g.AddNode("reshape", shape({1, 2, -1}, 0), {x}, "");
  InferShapes(g);
  EXPECT_EQ(g.value(1).type.dims, (Dims{5, 2, 6}));
  // A -1 at the batch entry stays -1.
  Graph h;
  const ValueId y = h.AddInput("y", {DType::kFloat32, {5, 3, 4}}, 0);
  h.AddNode("reshape", shape({-1, 12}, 0), {y}, "");
  InferShapes(h);
  EXPECT_EQ(h.value(1).type.dims, (Dims{5, 12}));
}

TEST(Views, PermuteTransposeExpandSqueeze) {
  OneOp o;
  const Result p = o.Run("permute", A({{"dims", Ints{0, 2, 3, 1}}}), {o.In({2, 3, 5, 7})});
  EXPECT_EQ(p.dims(), (Dims{2, 5, 7, 3}));
  EXPECT_EQ(p.counts.bytes_read + p.counts.bytes_written + p.counts.macs, 0);
  EXPECT_EQ(Error("permute", A({{"dims", Ints{0, 1}}}), {{2, 3, 5}}),
            "permute (Permute): dims [0, 1] has 2 entries for the rank-3 input 2x3x5");
  EXPECT_EQ(Error("permute", A({{"dims", Ints{0, 1, 1}}}), {{2, 3, 5}}),
            "permute (Permute): dim 1 appears twice in [0, 1, 1]");
  EXPECT_EQ(Shape("transpose", A({{"dim0", I(1)}, {"dim1", I(-1)}}), {{2, 3, 5}}), (Dims{2, 5, 3}));
  // torch: torch.zeros(3,1).expand(2,-1,4).shape == (2, 3, 4)
  EXPECT_EQ(Shape("expand", A({{"sizes", SymInts{{2, -1, 4}, -1}}}), {{3, 1}}), (Dims{2, 3, 4}));
  EXPECT_EQ(Error("expand", A({{"sizes", SymInts{{2, 4}, -1}}}), {{3, 1}}),
            "expand (Expand): cannot expand 3x1 to [2, 4]: size 3 at dim 0 is not 1 and differs "
            "from 2");
  // torch: torch.zeros(1,3,1).squeeze(0).shape == (3, 1); .squeeze(1).shape == (1, 3, 1);
  //        torch.zeros(2,3).unsqueeze(-1).shape == (2, 3, 1)
  EXPECT_EQ(Shape("squeeze", A({{"dim", Ints{0}}}), {{1, 3, 1}}), (Dims{3, 1}));
  EXPECT_EQ(Shape("squeeze", A({{"dim", Ints{1}}}), {{1, 3, 1}}), (Dims{1, 3, 1}));
  EXPECT_EQ(Shape("squeeze", {}, {{1, 3, 1}}), (Dims{3}));
  EXPECT_EQ(Shape("unsqueeze", A({{"dim", I(-1)}}), {{2, 3}}), (Dims{2, 3, 1}));
  EXPECT_EQ(Shape("unsqueeze", A({{"dim", I(0)}}), {{2, 3}}), (Dims{1, 2, 3}));
}

TEST(Views, SplitAndChunk) {
  // torch: [t.shape[0] for t in torch.zeros(10).split(4)] == [4, 4, 2]
  EXPECT_EQ(Shapes("split", A({{"split_size", I(4)}}), {10}, 3),
            (std::vector<Dims>{{4}, {4}, {2}}));
  // torch: [t.shape[1] for t in torch.zeros(2,10).split([3,7], dim=1)] == [3, 7]
  EXPECT_EQ(Shapes("split", A({{"sections", Ints{3, 7}}, {"dim", I(1)}}), {2, 10}, 2),
            (std::vector<Dims>{{2, 3}, {2, 7}}));
  EXPECT_EQ(Error("split", A({{"split_size", I(4)}}), {{10}}, 2),
            "split (Split): split_size 4 gives 3 pieces [4, 4, 2] of dim 0 (input 10), the node "
            "has 2 outputs");
  EXPECT_EQ(Error("split", A({{"sections", Ints{3, 6}}, {"dim", I(1)}}), {{2, 10}}, 2),
            "split (Split): sections [3, 6] add up to 9, not to size 10 of dim 1 (input 2x10)");
  EXPECT_EQ(Error("split", {}, {{10}}, 2),
            "split (Split): give either split_size > 0 or sections, got split_size 0 and "
            "sections []");
  // torch: [tuple(t.shape) for t in torch.zeros(10,2).chunk(4)] == [(3,2), (3,2), (3,2), (1,2)]
  EXPECT_EQ(Shapes("chunk", A({{"chunks", I(4)}}), {10, 2}, 4),
            (std::vector<Dims>{{3, 2}, {3, 2}, {3, 2}, {1, 2}}));
  // torch: [t.shape[0] for t in torch.zeros(13).chunk(6)] == [3, 3, 3, 3, 1]: 5 pieces, not 6.
  EXPECT_EQ(Shapes("chunk", A({{"chunks", I(6)}}), {13}, 5),
            (std::vector<Dims>{{3}, {3}, {3}, {3}, {1}}));
  EXPECT_EQ(Error("chunk", A({{"chunks", I(6)}}), {{13}}, 6),
            "chunk (Chunk): chunks 6 gives 5 pieces [3, 3, 3, 3, 1] of dim 0 (input 13), the node "
            "has 6 outputs");
  OneOp o;
  const Result r = o.Run("chunk", A({{"chunks", I(2)}, {"dim", I(-1)}}), {o.In({2, 8})}, 2);
  EXPECT_EQ(r.counts.macs + r.counts.bytes_read, 0);
  EXPECT_EQ(r.form.params["num_outputs"], 2);
}

TEST(Views, SliceAndSelect) {
  auto slice = [](std::int64_t start, std::int64_t end, std::int64_t step) {
    return A({{"dim", I(1)}, {"start", I(start)}, {"end", I(end)}, {"step", I(step)}});
  };
  // torch: torch.zeros(10,20)[:, -5:100:2].shape == (10, 3); [:, 3:-2:3] == (10, 5);
  //        [:, 15:3] == (10, 0)
  EXPECT_EQ(Shape("slice", slice(-5, 100, 2), {{10, 20}}), (Dims{10, 3}));
  EXPECT_EQ(Shape("slice", slice(3, -2, 3), {{10, 20}}), (Dims{10, 5}));
  EXPECT_EQ(Shape("slice", slice(15, 3, 1), {{10, 20}}), (Dims{10, 0}));
  // end = INT64_MAX: to the end (x[:, 4:]).
  EXPECT_EQ(Shape("slice", A({{"dim", I(1)}, {"start", I(4)}}), {{10, 20}}), (Dims{10, 16}));
  EXPECT_EQ(Error("slice", slice(0, 5, 0), {{10, 20}}),
            "slice (Slice): step must be positive, got 0");
  // torch: torch.zeros(2,3,4).select(1,-1).shape == (2, 4)
  EXPECT_EQ(Shape("select", A({{"dim", I(1)}, {"index", I(-1)}}), {{2, 3, 4}}), (Dims{2, 4}));
  EXPECT_EQ(Error("select", A({{"dim", I(1)}, {"index", I(3)}}), {{2, 3, 4}}),
            "select (Select): index 3 is out of range for size 3 of dim 1 (input 2x3x4)");
}

TEST(Copies, Pad) {
  // torch: F.pad(torch.zeros(1,3,5,7), (1,2,3,4)).shape == (1, 3, 12, 10), in every mode
  for (const char* mode : {"constant", "reflect", "replicate", "circular"}) {
    OneOp o;
    const Result r = o.Run("pad", A({{"pads", Ints{1, 2, 3, 4}}, {"mode", std::string(mode)}}),
                           {o.In({1, 3, 5, 7})});
    EXPECT_EQ(r.dims(), (Dims{1, 3, 12, 10})) << mode;
    EXPECT_EQ(r.counts.macs, 0);
    EXPECT_EQ(r.counts.bytes_read, 105 * 4);
    EXPECT_EQ(r.counts.bytes_written, 360 * 4);
  }
  // torch: F.pad(torch.zeros(1,3,5,7), (-3,-4)).shape == (1, 3, 5, 0)
  EXPECT_EQ(Shape("pad", A({{"pads", Ints{-3, -4}}}), {{1, 3, 5, 7}}), (Dims{1, 3, 5, 0}));
  // torch: F.pad(torch.zeros(1,3,5,7), (1,1,1,1,1,1), mode='replicate').shape == (1, 5, 7, 9)
  EXPECT_EQ(Shape("pad", A({{"pads", Ints{1, 1, 1, 1, 1, 1}}, {"mode", std::string("replicate")}}),
                  {{1, 3, 5, 7}}),
            (Dims{1, 5, 7, 9}));
  // torch: F.pad(torch.zeros(1,3,5,7), (1,1), mode='reflect') raises NotImplementedError
  EXPECT_EQ(
      Error("pad", A({{"pads", Ints{1, 1}}, {"mode", std::string("reflect")}}), {{1, 3, 5, 7}}),
      "pad (Pad): reflect padding of 1 dimensions needs a 2-d or 3-d input, got 1x3x5x7");
  EXPECT_EQ(Error("pad", A({{"pads", Ints{5, 0, 0, 0}}, {"mode", std::string("reflect")}}),
                  {{1, 3, 5, 5}}),
            "pad (Pad): reflect padding (5, 0) of dim 3 must be in [0, 5) for its size 5 (input "
            "1x3x5x5)");
  EXPECT_EQ(Error("pad", A({{"pads", Ints{1, 2, 3}}}), {{1, 3, 5, 7}}),
            "pad (Pad): pads [1, 2, 3] must have an even, non-zero length");
  EXPECT_EQ(Error("pad", A({{"pads", Ints{1, 1}}, {"mode", std::string("wrap")}}), {{1, 3}}),
            "pad (Pad): mode must be constant, reflect, replicate or circular, got 'wrap'");
}

TEST(Copies, StackRollCastContiguous) {
  // torch: torch.stack([torch.zeros(2,3)]*4, dim=1).shape == (2, 4, 3)
  EXPECT_EQ(Shape("stack", A({{"dim", I(1)}}), {{2, 3}, {2, 3}, {2, 3}, {2, 3}}), (Dims{2, 4, 3}));
  EXPECT_EQ(Error("stack", {}, {{2, 3}, {3, 2}}),
            "stack (Stack): input 1 (3x2) has another shape than input 0 (2x3) (inputs in0, in1)");
  // torch: torch.roll(torch.zeros(2,3), (1,2), (0,1)).shape == (2, 3)
  OneOp o;
  const Result roll =
      o.Run("roll", A({{"shifts", Ints{1, 2}}, {"dims", Ints{0, 1}}}), {o.In({2, 3})});
  EXPECT_EQ(roll.dims(), (Dims{2, 3}));
  EXPECT_EQ(roll.counts.bytes_read, 24);
  EXPECT_EQ(roll.counts.macs, 0);
  EXPECT_EQ(Error("roll", A({{"shifts", Ints{1, 2}}, {"dims", Ints{0}}}), {{2, 3}}),
            "roll (Roll): shifts [1, 2] and dims [0] must have the same length (or dims [] and "
            "one shift)");
  OneOp c;
  const Result cast = c.Run("cast", A({{"dtype", std::string("half")}}), {c.In({2, 3})});
  EXPECT_EQ(cast.out[0].dtype, DType::kFloat16);
  EXPECT_EQ(cast.counts.bytes_read, 24);
  EXPECT_EQ(cast.counts.bytes_written, 12);
  EXPECT_EQ(Error("cast", A({{"dtype", std::string("f8")}}), {{2}}),
            "cast (Cast): unknown dtype 'f8' (known: float32, float16, bfloat16, float64, int64, "
            "int32, bool, uint8)");
  OneOp k;
  const Result cont = k.Run("contiguous", {}, {k.In({2, 3})});
  EXPECT_EQ(cont.counts.macs, 0);
  EXPECT_EQ(cont.counts.bytes_read + cont.counts.bytes_written, 48);
}

// ---- attention.cpp ----

TEST(Attention, ScaledDotProduct) {
  // q [2, 8, 5, 16], k [2, 8, 7, 16], v [2, 8, 7, 32] -> [2, 8, 5, 32] (as F.scaled_dot_product
  // _attention of PyTorch 2.x gives; 1.13 has only aten::_scaled_dot_product_attention).
  OneOp o;
  const Result r = o.Run("scaled_dot_product_attention", {},
                         {o.In({2, 8, 5, 16}), o.In({2, 8, 7, 16}), o.In({2, 8, 7, 32})});
  EXPECT_EQ(r.dims(), (Dims{2, 8, 5, 32}));
  // Batch 16 of products: 16·5·7·16 + 16·5·7·32 = 8960 + 17920; softmax 16·5·7 = 560.
  EXPECT_EQ(r.counts.matrix_macs, 26880);
  EXPECT_EQ(r.counts.macs, 26880 + 560);
  EXPECT_EQ(r.counts.flops, 2 * 26880 + 560);
  ASSERT_TRUE(r.proxy);
  EXPECT_EQ(r.proxy->type, "Linear");
  EXPECT_EQ(r.proxy->input, (Dims{80, 48}));
  EXPECT_EQ(r.proxy->output, (Dims{80, 7}));
  EXPECT_EQ(80.0 * 48 * 7, r.counts.matrix_macs);  // the proxy's MACs are the products'
  EXPECT_EQ(r.form.params["key_length"], 7);

  EXPECT_EQ(Error("scaled_dot_product_attention", {}, {{2, 5, 16}, {2, 7, 8}, {2, 7, 8}}),
            "scaled_dot_product_attention (ScaledDotProductAttention): key 2x7x8 has 8 features, "
            "query 2x5x16 has 16 (inputs in0, in1, in2)");
  EXPECT_EQ(Error("scaled_dot_product_attention", {}, {{2, 5, 16}, {2, 7, 16}, {2, 6, 8}}),
            "scaled_dot_product_attention (ScaledDotProductAttention): value 2x6x8 has 6 "
            "positions, key 2x7x16 has 7 (inputs in0, in1, in2)");
  EXPECT_EQ(Error("scaled_dot_product_attention", {}, {{2, 5, 16}, {2, 7, 16}, {2, 7, 8}, {5, 5}}),
            "scaled_dot_product_attention (ScaledDotProductAttention): attn_mask 5x5 does not "
            "broadcast to the scores 2x5x7 (inputs in0, in1, in2, in3)");
  EXPECT_EQ(Shape("scaled_dot_product_attention", {}, {{2, 5, 16}, {2, 7, 16}, {2, 7, 8}, {5, 7}}),
            (Dims{2, 5, 8}));
}

// nn.MultiheadAttention(E, heads) in the fused form, on [B, L, E] self-attention.
Result Mha(std::int64_t b, std::int64_t l, std::int64_t s, std::int64_t e, std::int64_t heads,
           int outputs = 1, Attributes extra = {}) {
  OneOp o;
  const ValueId q = o.In({b, l, e});
  const ValueId kv = s == l ? q : o.In({b, s, e});
  const ValueId qkv_w = o.Param({3 * e, e}), qkv_b = o.Param({3 * e});
  const ValueId proj_w = o.Param({e, e}), proj_b = o.Param({e});
  extra.Set("num_heads", heads);
  return o.Run("multi_head_attention", extra, {q, kv, kv, qkv_w, qkv_b, proj_w, proj_b}, outputs);
}

TEST(Attention, MultiHead) {
  // torch: sum(p.numel() for p in torch.nn.MultiheadAttention(768, 12).parameters()) == 2362368
  const Result r = Mha(8, 128, 128, 768, 12);
  EXPECT_EQ(r.parameters, 2362368);
  EXPECT_EQ(r.counts.parameters, 2362368);
  EXPECT_EQ(r.dims(), (Dims{8, 128, 768}));
  // B·(L·E² + 2·S·E²) + 2·B·L·S·E + B·L·E² at B 8, L = S = 128, E 768:
  //   8·128·768² · 4 + 2·8·128²·768 = 2415919104 + 201326592 = 2617245696
  EXPECT_EQ(r.counts.matrix_macs, 2617245696.0);
  // + biases 8·(3·128)·768 + 8·128·768 = 3145728, + softmax 8·12·128² = 1572864
  EXPECT_EQ(r.counts.macs, 2617245696.0 + 3145728 + 1572864);
  EXPECT_EQ(r.form.type, "MultiheadAttention");
  EXPECT_EQ(r.form.params["embed_dim"], 768);
  EXPECT_EQ(r.form.params["num_heads"], 12);
  EXPECT_EQ(r.form.params["bias"], true);
  // Proxy: Linear on 8·128 rows, 768 -> 4·768 + 2·128 = 3328: exactly the matrix MACs.
  ASSERT_TRUE(r.proxy);
  EXPECT_EQ(r.proxy->input, (Dims{1024, 768}));
  EXPECT_EQ(r.proxy->output, (Dims{1024, 3328}));
  EXPECT_EQ(1024.0 * 768 * 3328, r.counts.matrix_macs);

  // Cross-attention: S = 64 keys. B·(L + 2S)·E² + 2·B·L·S·E + B·L·E² at B 2, L 10, E 16:
  //   2·(10 + 128)·256 + 2·2·10·64·16 + 2·10·256 = 70656 + 40960 + 5120 = 116736
  const Result x = Mha(2, 10, 64, 16, 4, 2, A({{"need_weights", true}}));
  EXPECT_EQ(x.counts.matrix_macs, 116736);
  EXPECT_EQ(x.out[1].dims, (Dims{2, 10, 64}));
  const Result per_head =
      Mha(2, 10, 64, 16, 4, 2, A({{"need_weights", true}, {"average_attn_weights", false}}));
  EXPECT_EQ(per_head.out[1].dims, (Dims{2, 4, 10, 64}));
  EXPECT_EQ(Mha(2, 10, 64, 16, 4, 2).out[1].dims, (Dims{0}));

  EXPECT_EQ(ErrorOf([] { Mha(2, 10, 10, 16, 3); }),
            "multi_head_attention (MultiheadAttention): embed_dim 16 is not divisible by "
            "num_heads 3");
  OneOp o;
  const ValueId q = o.In({2, 10, 16});
  const ValueId w = o.Param({48, 8});
  const ValueId p = o.Param({16, 16});
  EXPECT_EQ(ErrorOf([&] {
              o.Run("multi_head_attention", A({{"num_heads", I(4)}}), {q, q, q, w, kNoValue, p});
            }),
            "multi_head_attention (MultiheadAttention): qkv_weight 48x8 is not 48x16");
}

TEST(Attention, TransformerEncoderLayer) {
  // nn.TransformerEncoderLayer(768, 12, 3072)'s tensors in the fused operator's order.
  const std::int64_t b = 2, l = 128, e = 768, f = 3072;
  OneOp o;
  std::vector<ValueId> ins = {
      o.In({b, l, e}), o.Param({3 * e, e}), o.Param({3 * e}), o.Param({e, e}), o.Param({e}),
      o.Param({e}),    o.Param({e}),        o.Param({e}),     o.Param({e}),    o.Param({f, e}),
      o.Param({f}),    o.Param({e, f}),     o.Param({e})};
  const Result r = o.Run("transformer_encoder_layer", A({{"num_heads", I(12)}}), ins);
  // torch: sum(p.numel() for p in nn.TransformerEncoderLayer(768, 12, 3072).parameters())
  //        == 7087872
  EXPECT_EQ(r.parameters, 7087872);
  EXPECT_EQ(r.dims(), (Dims{b, l, e}));
  // Attention at S = L: B·L·E·(4E + 2L), plus the feed-forward 2·B·L·E·F.
  const double attention = double(b) * l * e * (4 * e + 2 * l);
  const double ffn = 2.0 * b * l * e * f;
  EXPECT_EQ(r.counts.matrix_macs, attention + ffn);
  // Biases 4·B·L·E, softmax B·H·L², FFN biases B·L·(F + E), activation B·L·F, norms and adds
  // 4·B·L·E.
  const double rest = 4.0 * b * l * e + double(b) * 12 * l * l + double(b) * l * (f + e) +
                      double(b) * l * f + 4.0 * b * l * e;
  EXPECT_EQ(r.counts.macs, attention + ffn + rest);
  ASSERT_TRUE(r.proxy);
  EXPECT_EQ(r.proxy->output, (Dims{b * l, 4 * e + 2 * l + 2 * f}));
  EXPECT_EQ(double(b * l) * e * (4 * e + 2 * l + 2 * f), r.counts.matrix_macs);
  EXPECT_EQ(r.form.params["dim_feedforward"], 3072);
  EXPECT_EQ(r.form.params["activation"], "relu");
}

// ---- misc.cpp ----

TEST(Interpolate, ToSizeOrByScale) {
  // torch: F.interpolate(torch.zeros(1,3,5,7), size=(10,14)).shape == (1, 3, 10, 14);
  //        F.interpolate(torch.zeros(1,3,5,7), scale_factor=1.5, mode='bilinear').shape
  //        == (1, 3, 7, 10)
  OneOp o;
  const Result r = o.Run("interpolate", A({{"size", Ints{10, 14}}}), {o.In({1, 3, 5, 7})});
  EXPECT_EQ(r.dims(), (Dims{1, 3, 10, 14}));
  EXPECT_EQ(r.counts.macs, 420);  // one per output element
  EXPECT_EQ(r.form.params["size"], nlohmann::json({10, 14}));
  EXPECT_EQ(
      Shape("interpolate",
            A({{"scale_factor", std::vector<double>{1.5}}, {"mode", std::string("bilinear")}}),
            {{1, 3, 5, 7}}),
      (Dims{1, 3, 7, 10}));
  EXPECT_EQ(Error("interpolate", A({{"size", Ints{10, 14, 3}}}), {{1, 3, 5, 7}}),
            "interpolate (Upsample): size [10, 14, 3] has 3 entries for 2 spatial dimensions "
            "(input 1x3x5x7)");
  EXPECT_EQ(Error("interpolate", {}, {{1, 3, 5, 7}}),
            "interpolate (Upsample): give either size or scale_factor");
}

// ---- legacy operators keep their counts ----

TEST(Legacy, AddAndLinearUnchanged) {
  OneOp o;
  const Result add = o.Run("add", {}, {o.In({2, 3}), o.In({3})});
  EXPECT_EQ(add.counts.macs, 6);
  EXPECT_EQ(add.form.input, (Dims{2, 3}));
  OneOp l;
  const Result lin = l.Run("linear", {}, {l.In({4, 10}), l.Param({5, 10}), l.Param({5})});
  EXPECT_EQ(lin.counts.matrix_macs, 200);
  EXPECT_EQ(lin.counts.macs, 220);
}

}  // namespace
}  // namespace joulecast::graph
