// scaled_dot_product_attention's sliding window (src/graph/ops/attention.cpp): the attribute
// `window`, its checks, and the counts it limits, against the closed form of the file's comment:
// matrix_macs = B·L·S'·(E + Ev) with S' = S without a window (every key, the causally masked ones
// included) and min(S, W) with one.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast::graph {
namespace {

using joulecast_test::ErrorOf;

struct Sdpa {
  NodeCounts counts;
  LayerForm form;
  LayerForm proxy;
};

// q [b, h, l, e], k [b, h, s, e], v [b, h, s, ev].
Sdpa RunSdpa(std::int64_t b, std::int64_t h, std::int64_t l, std::int64_t s, std::int64_t e,
             std::int64_t ev, bool causal, std::int64_t window) {
  Graph g;
  const ValueId q = g.AddInput("q", TensorType{DType::kFloat32, {b, h, l, e}});
  const ValueId k = g.AddInput("k", TensorType{DType::kFloat32, {b, h, s, e}});
  const ValueId v = g.AddInput("v", TensorType{DType::kFloat32, {b, h, s, ev}});
  Attributes a;
  a.Set("is_causal", causal);
  if (window != 0) a.Set("window", window);
  const NodeId n = g.AddNode("scaled_dot_product_attention", a, {q, k, v}, "attn");
  InferShapes(g);
  const OpCall c = MakeCall(g, n);
  const OpSchema& schema = *g.node(n).schema;
  return {CountNodes(g)[n], schema.layer(c), *schema.proxy(c)};
}

TEST(AttentionWindow, CountsTheKeysOfTheWindow) {
  // Mistral-7B's attention at S = 8192 with its window of 4096: 2·1·32·8192·4096·128 matrix MACs
  // (q k^T and by v), half of the full 2·32·8192²·128.
  const Sdpa w = RunSdpa(1, 32, 8192, 8192, 128, 128, true, 4096);
  EXPECT_EQ(w.counts.matrix_macs, 2.0 * 32 * 8192 * 4096 * 128);
  EXPECT_EQ(w.counts.macs, w.counts.matrix_macs + 32.0 * 8192 * 4096);  // one per score (softmax)
  EXPECT_EQ(w.counts.flops, 2 * w.counts.matrix_macs + 32.0 * 8192 * 4096);
  const Sdpa full = RunSdpa(1, 32, 8192, 8192, 128, 128, true, 0);
  EXPECT_EQ(full.counts.matrix_macs, 2.0 * 32 * 8192 * 8192 * 128);
  EXPECT_EQ(w.counts.matrix_macs * 2, full.counts.matrix_macs);
  // A window at least as long as the sequence limits nothing.
  EXPECT_EQ(RunSdpa(1, 32, 1024, 1024, 128, 128, true, 4096).counts.matrix_macs,
            RunSdpa(1, 32, 1024, 1024, 128, 128, true, 0).counts.matrix_macs);
  // Bytes are the operands' and the output's, window or not.
  EXPECT_EQ(w.counts.bytes_read, full.counts.bytes_read);
}

TEST(AttentionWindow, ProxyAndLayerForm) {
  const Sdpa w = RunSdpa(2, 4, 100, 100, 16, 8, true, 30);
  // Linear on B·L = 2·4·100 rows, in E + Ev = 24, out min(S, W) = 30: the same MACs.
  EXPECT_EQ(w.proxy.input, (Dims{800, 24}));
  EXPECT_EQ(w.proxy.output, (Dims{800, 30}));
  EXPECT_EQ(800.0 * 24 * 30, w.counts.matrix_macs);
  EXPECT_EQ(w.form.params.at("window"), 30);
  // Without a window the layer form is as before (no "window" parameter).
  EXPECT_FALSE(RunSdpa(2, 4, 100, 100, 16, 8, true, 0).form.params.contains("window"));
}

TEST(AttentionWindow, NeedsCausalAndANonNegativeSize) {
  EXPECT_EQ(ErrorOf([] { RunSdpa(1, 1, 4, 4, 2, 2, false, 3); }),
            "attn (ScaledDotProductAttention): window 3 needs is_causal (a sliding window looks "
            "back only) (inputs q, k, v)");
  EXPECT_EQ(ErrorOf([] { RunSdpa(1, 1, 4, 4, 2, 2, true, -1); }),
            "attn (ScaledDotProductAttention): window must be >= 0, got -1 (inputs q, k, v)");
  const OpSchema& s = GetOp("scaled_dot_product_attention");
  bool documented = false;
  for (const AttrSpec& a : s.attrs)
    if (a.name == "window")
      documented = a.default_value && std::get<std::int64_t>(*a.default_value) == 0;
  EXPECT_TRUE(documented);
}

}  // namespace
}  // namespace joulecast::graph
