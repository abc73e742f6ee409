// GPU forms of the registry's operators (graph/op_schema.h GpuFormOf): which kernels a node is
// for a GPU operator model, with which sizes, and which kernels compute each input's gradient.
// Reference values are the closed forms of op_schema.h's rules: a product's gradients are the
// products dX = dY·Wᵀ and dW = Xᵀ·dY (sizes worked out by hand in the comments).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graph/one_op.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast::graph {
namespace {

using Ints = std::vector<std::int64_t>;

// A graph of one node, and the node's GPU form.
class OneGpuOp : public OneOpGraph {
 public:
  GpuForm Run(const std::string& op, Attributes a, const std::vector<ValueId>& ins) {
    const NodeId n = Add(op, std::move(a), ins);
    return GpuFormOf(*g.node(n).schema, MakeCall(g, n));
  }
};

::testing::AssertionResult Is(const GpuKernel& k, const std::string& op, const Ints& sizes,
                              bool proxy = false) {
  if (k.op == op && k.sizes == sizes && k.proxy == proxy) return ::testing::AssertionSuccess();
  std::string s;
  for (std::int64_t v : k.sizes) s += std::to_string(v) + ",";
  return ::testing::AssertionFailure() << k.op << " [" << s << "] proxy " << k.proxy;
}

TEST(GpuFormTest, LinearAndItsGradients) {
  OneGpuOp t;
  // x 4×10×32 (40 rows of K = 32), W 64×32 (N = 64), bias 64.
  const GpuForm f = t.Run("linear", {}, {t.In({4, 10, 32}), t.Param({64, 32}), t.Param({64})});
  ASSERT_EQ(f.forward.size(), 1u);
  EXPECT_TRUE(Is(f.forward[0], "linear", {1, 40, 64, 32}));
  ASSERT_EQ(f.grads.size(), 3u);
  // dX (40×32) = dY (40×64) · W (64×32): M 40, N 32, K 64.
  EXPECT_TRUE(Is(f.grads[0].at(0), "linear", {1, 40, 32, 64}));
  // dW (64×32) = dYᵀ (64×40) · X (40×32), as op_schema.h writes a K×N product: M 32, N 64, K 40.
  EXPECT_TRUE(Is(f.grads[1].at(0), "linear", {1, 32, 64, 40}));
  // The bias: a sum over the 40 rows, a stand-in.
  EXPECT_TRUE(Is(f.grads[2].at(0), "addu", {40, 64}, true));
}

TEST(GpuFormTest, MatmulIsBmmOverTheBatchOrALinearOnASharedMatrix) {
  OneGpuOp t;
  // Attention scores: 2×12×128×64 by 2×12×64×128 -> 24 products of 128×64 by 64×128.
  GpuForm f = t.Run("matmul", {}, {t.In({2, 12, 128, 64}), t.In({2, 12, 64, 128})});
  EXPECT_TRUE(Is(f.forward.at(0), "bmm", {24, 128, 128, 64}));
  EXPECT_TRUE(Is(f.grads.at(0).at(0), "bmm", {24, 128, 64, 128}));  // dA = dY·Bᵀ
  EXPECT_TRUE(Is(f.grads.at(1).at(0), "bmm", {24, 64, 128, 128}));  // dB = Aᵀ·dY
  OneGpuOp u;
  f = u.Run("matmul", {}, {u.In({3, 5, 16}), u.In({16, 8})});
  EXPECT_TRUE(Is(f.forward.at(0), "linear", {1, 15, 8, 16}));
}

TEST(GpuFormTest, ConvolutionsSquareUngroupedOrImplicitGemm) {
  OneGpuOp t;
  Attributes a;
  a.Set("stride", Ints{2, 2});
  a.Set("padding", Ints{1, 1});
  GpuForm f = t.Run("conv2d", a, {t.In({8, 3, 32, 32}), t.Param({16, 3, 3, 3})});
  EXPECT_TRUE(Is(f.forward.at(0), "conv", {8, 3, 16, 3, 32, 2, 1}));
  EXPECT_EQ(f.grads.at(0).size(), 1u);
  EXPECT_EQ(f.grads.at(1).size(), 1u);
  // Depthwise 3×3 over 32 channels of 8×8, padding 1: a mul over the 2·32·8 rows of 8.
  OneGpuOp u;
  Attributes d;
  d.Set("padding", Ints{1, 1});
  d.Set("groups", std::int64_t{32});
  f = u.Run("conv2d", d, {u.In({2, 32, 8, 8}), u.Param({32, 1, 3, 3})});
  EXPECT_TRUE(Is(f.forward.at(0), "mul", {512, 8}, true));
  // Grouped, 4 groups of 8 channels: per group, 2·8·8 = 128 rows, 16 columns, 8·9 terms.
  OneGpuOp v;
  Attributes gr;
  gr.Set("padding", Ints{1, 1});
  gr.Set("groups", std::int64_t{4});
  f = v.Run("conv2d", gr, {v.In({2, 32, 8, 8}), v.Param({64, 8, 3, 3})});
  EXPECT_TRUE(Is(f.forward.at(0), "bmm", {4, 128, 16, 72}, true));
  // A 1×7 kernel (not square): one GEMM of 2·8·2 = 32 rows (Wo = 8 - 7 + 1), 16 columns, 4·7
  // terms, as a linear.
  OneGpuOp w;
  f = w.Run("conv2d", {}, {w.In({2, 4, 8, 8}), w.Param({16, 4, 1, 7})});
  EXPECT_TRUE(Is(f.forward.at(0), "linear", {1, 32, 16, 28}, true));
}

TEST(GpuFormTest, ElementwiseReductionsViewsAndCopies) {
  OneGpuOp t;
  const ValueId x = t.In({4, 10, 32});
  GpuForm f = t.Run("gelu", {}, {x});
  EXPECT_TRUE(Is(f.forward.at(0), "gelu", {40, 32}));
  EXPECT_TRUE(Is(f.grads.at(0).at(0), "mul", {40, 32}));  // dy·gelu'(x)
  // A SiLU has no kernel of its own: a relu stand-in (one read, one write an element).
  f = t.Run("silu", {}, {x});
  EXPECT_TRUE(Is(f.forward.at(0), "relu", {40, 32}, true));
  // a + b with b broadcast from 32 elements: b's gradient sums over the broadcast rows.
  f = t.Run("add", {}, {x, t.Param({32})});
  EXPECT_TRUE(Is(f.forward.at(0), "add", {40, 32}));
  EXPECT_TRUE(f.grads.at(0).empty());
  EXPECT_TRUE(Is(f.grads.at(1).at(0), "addu", {40, 32}, true));
  // One tensor and a scalar: the scalar form.
  Attributes s;
  s.Set("scalar", 0.5);
  f = t.Run("mul", s, {x});
  EXPECT_TRUE(Is(f.forward.at(0), "mulu", {40, 32}));
  Attributes ln;
  ln.Set("normalized_shape", Ints{10, 32});
  f = t.Run("layer_norm", ln, {x});
  EXPECT_TRUE(Is(f.forward.at(0), "ln", {4, 320}));
  EXPECT_EQ(f.grads.at(0).size(), 2u);
  f = t.Run("softmax", {}, {x});
  EXPECT_TRUE(Is(f.forward.at(0), "softmax", {40, 32}));
  Attributes shape;
  shape.Set("shape", SymInts{{40, 32}, -1});
  EXPECT_TRUE(t.Run("reshape", shape, {x}).forward.empty());
  const GpuForm copy = t.Run("contiguous", {}, {x});
  EXPECT_TRUE(Is(copy.forward.at(0), "relu", {40, 32}, true));
}

TEST(GpuFormTest, EmbeddingIsAGatherWithAScatterAddGradient) {
  OneGpuOp t;
  const GpuForm f = t.Run("embedding", {}, {t.In({2, 7}, DType::kInt64), t.Param({100, 16})});
  EXPECT_TRUE(Is(f.forward.at(0), "relu", {14, 16}, true));
  EXPECT_TRUE(f.grads.at(0).empty());  // integer indices
  EXPECT_TRUE(Is(f.grads.at(1).at(0), "add", {14, 16}, true));
}

TEST(GpuFormTest, DropoutDrawsItsMaskOnlyInTraining) {
  OneGpuOp t;
  const ValueId x = t.In({4, 10, 32});
  Attributes p;
  p.Set("p", 0.1);
  GpuForm f = t.Run("dropout", p, {x});
  // Inference: the identity, no kernel.
  EXPECT_TRUE(f.forward.empty());
  // Training: the fused mask-and-scale kernel, and the masked scale of the gradient, as a mul
  // each (a stand-in: the mask is one byte an element, not four).
  ASSERT_TRUE(f.training_forward.has_value());
  ASSERT_EQ(f.training_forward->size(), 1u);
  EXPECT_TRUE(Is(f.training_forward->at(0), "mul", {40, 32}, true));
  ASSERT_EQ(f.grads.at(0).size(), 1u);
  EXPECT_TRUE(Is(f.grads.at(0).at(0), "mul", {40, 32}, true));
  // p = 0 returns the input in training too (NeuSight's traces: no kernel, no backward).
  Attributes zero;
  zero.Set("p", 0.0);
  f = t.Run("dropout", zero, {x});
  EXPECT_FALSE(f.training_forward.has_value());
  EXPECT_TRUE(f.grads.at(0).empty());
  // Attention's dropout_p drops the weights between the softmax and p·v: 2×3 products of 5
  // queries by 7 keys, 35 scores each.
  Attributes sd;
  sd.Set("dropout_p", 0.1);
  f = t.Run("scaled_dot_product_attention", sd,
            {t.In({2, 3, 5, 8}), t.In({2, 3, 7, 8}), t.In({2, 3, 7, 8})});
  ASSERT_EQ(f.forward.size(), 4u);
  ASSERT_TRUE(f.training_forward.has_value());
  ASSERT_EQ(f.training_forward->size(), 5u);
  EXPECT_TRUE(Is(f.training_forward->at(2), "softmax", {30, 7}));
  EXPECT_TRUE(Is(f.training_forward->at(3), "mul", {30, 7}, true));
  EXPECT_TRUE(Is(f.training_forward->at(4), "bmm", {6, 5, 8, 7}));
  EXPECT_EQ(f.grads.at(0).size(), 4u);
  EXPECT_FALSE(t.Run("scaled_dot_product_attention", {},
                     {t.In({2, 3, 5, 8}), t.In({2, 3, 7, 8}), t.In({2, 3, 7, 8})})
                   .training_forward.has_value());
}

}  // namespace
}  // namespace joulecast::graph
