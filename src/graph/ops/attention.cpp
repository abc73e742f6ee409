// Attention: scaled dot-product attention, multi-head attention and the fused transformer encoder
// layer (registered in this file).
//
//   scaled_dot_product_attention  softmax(q k^T / sqrt(E) + mask) v: q [..., L, E], k [..., S, E],
//       v [..., S, Ev] (leading dimensions broadcast, as matmul's) -> [..., L, Ev]; attn_mask
//       broadcastable to [..., L, S]; is_causal excludes a mask (F.scaled_dot_product_attention);
//       window W > 0 (with is_causal only) is a sliding window: each query sees at most the W
//       last keys up to itself (Mistral's sliding_window, FlashAttention-2's window_size (W-1, 0))
//   multi_head_attention  PyTorch 1.13's fused aten::_native_multi_head_attention (the fast path
//       of nn.MultiheadAttention, batch_first): query [B, L, E], key and value [B, S, E],
//       qkv_weight [3E, E], qkv_bias [3E]?, proj_weight [E, E], proj_bias [E]?, mask? (its shape
//       depends on mask_type and is not checked) -> [B, L, E], and, when the node has a second
//       output, the attention weights: [B, L, S] averaged over heads, [B, num_heads, L, S]
//       otherwise, an empty [0] without need_weights (as aten returns)
//   transformer_encoder_layer  1.13's fused aten::_transformer_encoder_layer_fwd (the fast path of
//       nn.TransformerEncoderLayer, batch_first): src [B, L, E] -> [B, L, E], self-attention as
//       above, two layer norms, a feed-forward of width F (ffn_weight_1 [F, E], ffn_weight_2
//       [E, F]) with ReLU or GELU, two residual adds
//
// Counts (B: the batch of products, all leading dimensions; H: heads):
//   matrix_macs  sdpa: B·L·S'·E (q k^T) + B·L·S'·Ev (by v), S' = S, or min(S, W) with a window:
//                every query against every key, as PyTorch's math kernel computes it, also when
//                is_causal masks half of them (the masked products are counted, not skipped);
//                with a window, against the W keys a banded kernel visits (the first W - 1
//                queries, which have fewer keys before them, are counted at W too)
//                MHA: B·(L·E² + 2·S·E²) in-projections + 2·B·L·S·E products + B·L·E² out-projection
//                encoder layer: MHA at S = L + 2·B·L·E·F feed-forward
//   macs         matrix_macs plus what the decomposed operators count under this registry's
//                conventions: one per bias element added (B·(L + 2S)·E and B·L·E for MHA's
//                biases, as linear counts them), one per attention score for the softmax
//                (B·H·L·S; B·L·S' for sdpa), and for the encoder layer the feed-forward biases
//                (B·L·(F + E)), the activation (B·L·F), two layer norms and two adds (4·B·L·E);
//                the 1/sqrt(E) scale and the mask are not counted
//   flops        2 per matrix MAC, plus the other macs above once each
//   bytes        every input (weights included) read once, outputs written once (DefaultCounts);
//                the score matrix is taken to stay on chip, as fused kernels keep it
//
// Proxies (cost class compute: used when a profile has no predictor for the type): one Linear
// without bias whose MACs equal the operator's matrix_macs, on rows = B·L query rows:
//   sdpa           in_features = E + Ev, out_features = S': exactly B·L·S'·(E + Ev)
//   MHA            in_features = E, out_features = matrix_macs / (B·L·E) = 2E + 2S·E/L + 2S,
//                  which is 4E + 2L for self-attention (S = L), exact; rounded to the nearest
//                  integer otherwise (cross-attention with L not dividing 2S·E)
//   encoder layer  in_features = E, out_features = 4E + 2L + 2F: exact
// A single Linear stands for several products of other shapes (and reads a "weight" of in x out
// where attention reads per-sample keys and values), so it is a stand-in of the right arithmetic
// size, not a model of the kernel; the softmax and the element-wise parts are not in it.
#include <algorithm>
#include <cmath>

#include "ops.h"

namespace joulecast::graph::ops {
namespace {

double D(std::int64_t v) { return static_cast<double>(v); }

// The shared checks of the fused operators: a [B, L, E] input and E divisible by the heads.
void RequireBatchFirst(const TensorType& t, const char* what) {
  if (t.rank() != 3)
    Fail(fmt::format("expected a batch-first B x L x E {}, got {}", what, F(t.dims)));
}

void RequireDims(const OpCall& c, std::size_t i, const Dims& want, const char* what) {
  if (c.has(i) && c.in(i).dims != want)
    Fail(fmt::format("{} {} is not {}", what, F(c.in(i).dims), F(want)));
}

// Checks the attention weights and biases (inputs at qkv_w, qkv_w + 1, ... + 3) against E and
// the heads.
void CheckAttentionWeights(const OpCall& c, std::size_t qkv_w, std::int64_t e, std::int64_t heads) {
  if (heads < 1 || e % heads != 0)
    Fail(fmt::format("embed_dim {} is not divisible by num_heads {}", e, heads));
  RequireDims(c, qkv_w, {3 * e, e}, "qkv_weight");
  RequireDims(c, qkv_w + 1, {3 * e}, "qkv_bias");
  RequireDims(c, qkv_w + 2, {e, e}, "proj_weight");
  RequireDims(c, qkv_w + 3, {e}, "proj_bias");
}

// Multi-head attention counts for B, L, S, E, H with or without the two biases.
NodeCounts AttentionCounts(double b, double l, double s, double e, double h, bool qkv_bias,
                           bool proj_bias) {
  NodeCounts n;
  n.matrix_macs = b * (l * e * e + 2 * s * e * e) + 2 * b * l * s * e + b * l * e * e;
  const double extra =
      (qkv_bias ? b * (l + 2 * s) * e : 0.0) + (proj_bias ? b * l * e : 0.0) + b * h * l * s;
  n.macs = n.matrix_macs + extra;
  n.flops = 2 * n.matrix_macs + extra;
  return n;
}

// The keys each query of a scaled_dot_product_attention is counted against: S, or min(S, W)
// with a sliding window W.
std::int64_t WindowedKeys(const OpCall& c) {
  const std::int64_t s = c.in(1).dims[c.in(1).rank() - 2];
  const std::int64_t w = c.a().Int("window");
  return w > 0 ? std::min(s, w) : s;
}

}  // namespace

void RegisterAttentionOps(Registrar& r) {
  OpSchema sdpa =
      MakeOp("scaled_dot_product_attention", "ScaledDotProductAttention", CostClass::kCompute,
             "softmax(q k^T / sqrt(E) + mask) v (F.scaled_dot_product_attention, "
             "aten::_scaled_dot_product_attention)");
  sdpa.attrs = {Opt("is_causal", false), Opt("dropout_p", 0.0),
                Opt("window", std::int64_t{0},
                    "sliding window: each query sees the W last keys up to itself (needs "
                    "is_causal); 0: all keys")};
  sdpa.inputs = {"query", "key", "value", "attn_mask?"};
  sdpa.min_inputs = 3;
  sdpa.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& q = c.in(0);
    const TensorType& k = c.in(1);
    const TensorType& v = c.in(2);
    if (q.rank() < 2 || k.rank() < 2 || v.rank() < 2)
      Fail(fmt::format("query, key and value need rank >= 2, got {}, {} and {}", F(q.dims),
                       F(k.dims), F(v.dims)));
    const std::int64_t l = q.dims[q.rank() - 2], e = q.dims.back();
    const std::int64_t s = k.dims[k.rank() - 2];
    if (k.dims.back() != e)
      Fail(fmt::format("key {} has {} features, query {} has {}", F(k.dims), k.dims.back(),
                       F(q.dims), e));
    if (v.dims[v.rank() - 2] != s)
      Fail(fmt::format("value {} has {} positions, key {} has {}", F(v.dims), v.dims[v.rank() - 2],
                       F(k.dims), s));
    const double p = c.a().Float("dropout_p");
    if (p < 0 || p > 1) Fail(fmt::format("dropout_p must be in [0, 1], got {}", p));
    const std::int64_t w = c.a().Int("window");
    if (w < 0) Fail(fmt::format("window must be >= 0, got {}", w));
    if (w > 0 && !c.a().Bool("is_causal"))
      Fail(fmt::format("window {} needs is_causal (a sliding window looks back only)", w));
    Dims batch = Broadcast(
        Dims(q.dims.begin(), q.dims.end() - 2),
        Broadcast(Dims(k.dims.begin(), k.dims.end() - 2), Dims(v.dims.begin(), v.dims.end() - 2)));
    if (c.has(3)) {
      if (c.a().Bool("is_causal")) Fail("is_causal and attn_mask cannot both be given");
      Dims scores = batch;
      scores.push_back(l);
      scores.push_back(s);
      const Dims& m = c.in(3).dims;
      // Broadcastable to the scores without changing them: right-aligned sizes 1 or equal.
      bool ok = m.size() <= scores.size();
      for (std::size_t i = 0; ok && i < m.size(); ++i) {
        const std::int64_t want = scores[scores.size() - m.size() + i];
        ok = m[i] == 1 || m[i] == want;
      }
      if (!ok)
        Fail(fmt::format("attn_mask {} does not broadcast to the scores {}", F(m), F(scores)));
    }
    Dims out = batch;
    out.push_back(l);
    out.push_back(v.dims.back());
    return {Checked(Like(q, out))};
  };
  sdpa.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    const Dims& out = c.outputs[0].dims;
    const double l = D(out[out.size() - 2]), ev = D(out.back());
    const double b = c.outputs[0].elements() / (l * ev);
    const double e = D(c.in(0).dims.back()), s = D(WindowedKeys(c));
    n.matrix_macs = b * l * s * (e + ev);
    n.macs = n.matrix_macs + b * l * s;
    n.flops = 2 * n.matrix_macs + b * l * s;
    return n;
  };
  sdpa.layer = [](const OpCall& c) {
    const Dims& q = c.in(0).dims;
    const Dims& k = c.in(1).dims;
    LayerForm f;
    f.type = "ScaledDotProductAttention";
    f.params = {{"query_length", q[q.size() - 2]},
                {"key_length", k[k.size() - 2]},
                {"embed_dim", q.back()},
                {"value_dim", c.in(2).dims.back()},
                {"is_causal", c.a().Bool("is_causal")},
                {"dropout_p", c.a().Float("dropout_p")},
                {"attn_mask", c.has(3)}};
    if (c.a().Int("window") > 0) f.params["window"] = c.a().Int("window");
    f.input = q;
    f.output = c.outputs[0].dims;
    return f;
  };
  sdpa.proxy_doc =
      "a Linear without bias on batch·L rows, in_features = E + Ev, out_features = "
      "S (min(S, window) with a sliding window): the MACs of both products";
  sdpa.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    const std::int64_t ev = c.outputs[0].dims.back();
    const auto rows = static_cast<std::int64_t>(c.outputs[0].elements() / D(ev));  // batch·L
    const std::int64_t e = c.in(0).dims.back();
    return LinearProxy(rows, e + ev, WindowedKeys(c));
  };
  sdpa.form_macs = [](const LayerForm& f) {
    double lead = 1;
    for (std::size_t i = 0; i + 2 < f.input.size(); ++i) lead *= D(f.input[i]);
    const double l = D(f.params.at("query_length").get<std::int64_t>());
    double s = D(f.params.at("key_length").get<std::int64_t>());
    if (f.params.contains("window")) s = std::min(s, D(f.params.at("window").get<std::int64_t>()));
    const double e = D(f.params.at("embed_dim").get<std::int64_t>());
    const double ev = D(f.params.at("value_dim").get<std::int64_t>());
    return lead * l * s * (e + ev) + lead * l * s;
  };
  // Unfused, as eager attention runs it: q·kᵀ (bmm), the scale (mulu), softmax over S, p·v
  // (bmm), over batch = the leading dimensions' product. Gradients: query: dP = dO·vᵀ, softmax's
  // backward and dQ = dS·k; key: dK = dSᵀ·q; value: dV = pᵀ·dO (bmm each).
  sdpa.gpu = [](const OpCall& c) {
    const Dims& q = c.in(0).dims;
    const std::int64_t l = q[q.size() - 2], e = q.back(), ev = c.in(2).dims.back();
    const std::int64_t s = WindowedKeys(c);
    const auto b =
        static_cast<std::int64_t>(c.outputs[0].elements() / (static_cast<double>(l) * ev));
    const std::vector<std::int64_t> scores = {b * l, s};
    GpuForm f;
    f.forward = {
        {"bmm", {b, l, s, e}}, {"mulu", scores}, {"softmax", scores}, {"bmm", {b, l, ev, s}}};
    f.grads.resize(c.inputs.size());
    f.grads[0] = {{"bmm", {b, l, s, ev}}, {"softmax", scores}, {"bmm", {b, l, e, s}}};
    f.grads[1] = {{"bmm", {b, s, e, l}}};
    f.grads[2] = {{"bmm", {b, s, ev, l}}};
    // In training, dropout_p > 0 drops attention weights between the softmax and p·v, as the
    // dropout operator does (its mul proxy each way).
    if (c.a().Float("dropout_p") > 0) {
      const GpuKernel drop{"mul", scores, true};
      f.training_forward = f.forward;
      f.training_forward->insert(f.training_forward->begin() + 3, drop);
      f.grads[0].insert(f.grads[0].begin() + 1, drop);
    }
    return f;
  };
  r.push_back(std::move(sdpa));

  OpSchema mha = MakeOp("multi_head_attention", "MultiheadAttention", CostClass::kCompute,
                        "multi-head attention with its projections (torch.nn.MultiheadAttention, "
                        "aten::_native_multi_head_attention), batch first");
  mha.attrs = {Req("num_heads", AttrKind::kInt), Opt("need_weights", false),
               Opt("average_attn_weights", true)};
  mha.inputs = {"query",     "key",         "value",      "qkv_weight",
                "qkv_bias?", "proj_weight", "proj_bias?", "mask?"};
  mha.min_inputs = 6;
  mha.num_outputs = -1;  // the output, and optionally the attention weights
  mha.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& q = c.in(0);
    const TensorType& k = c.in(1);
    const TensorType& v = c.in(2);
    RequireBatchFirst(q, "query");
    RequireBatchFirst(k, "key");
    RequireBatchFirst(v, "value");
    const std::int64_t b = q.dims[0], l = q.dims[1], e = q.dims[2], s = k.dims[1];
    if (k.dims != Dims{b, s, e} || v.dims != k.dims)
      Fail(fmt::format("key {} and value {} must both be {}x{}x{} (S x E as the query {})",
                       F(k.dims), F(v.dims), b, s, e, F(q.dims)));
    const std::int64_t h = c.a().Int("num_heads");
    CheckAttentionWeights(c, 3, e, h);
    const std::size_t outputs = OutputCount(c);
    if (outputs > 2)
      Fail(fmt::format("has {} outputs; it gives the output and the attention weights", outputs));
    std::vector<TensorType> out = {q};
    if (outputs == 2) {
      Dims w = !c.a().Bool("need_weights")          ? Dims{0}
               : c.a().Bool("average_attn_weights") ? Dims{b, l, s}
                                                    : Dims{b, h, l, s};
      out.push_back(Checked(Like(q, w)));
    }
    return out;
  };
  mha.count = [](const OpCall& c) {
    const Dims& q = c.in(0).dims;
    NodeCounts n = AttentionCounts(D(q[0]), D(q[1]), D(c.in(1).dims[1]), D(q[2]),
                                   D(c.a().Int("num_heads")), c.has(4), c.has(6));
    const NodeCounts bytes = DefaultCounts(c);
    n.bytes_read = bytes.bytes_read;
    n.bytes_written = bytes.bytes_written;
    return n;
  };
  mha.layer = [](const OpCall& c) {
    const std::int64_t e = c.in(0).dims[2];
    LayerForm f;
    f.type = "MultiheadAttention";
    f.params = {{"embed_dim", e},      {"num_heads", c.a().Int("num_heads")},
                {"dropout", 0.0},      {"bias", c.has(4)},
                {"batch_first", true}, {"kdim", e},
                {"vdim", e},           {"key_length", c.in(1).dims[1]}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  mha.proxy_doc =
      "a Linear without bias on B·L rows, in_features = E, out_features = 4E + 2L "
      "for self-attention (the MACs of the projections and products; rounded for "
      "cross-attention)";
  mha.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    const Dims& q = c.in(0).dims;
    const std::int64_t l = q[1], e = q[2], s = c.in(1).dims[1];
    const NodeCounts n = AttentionCounts(1, D(l), D(s), D(e), 1, false, false);
    const auto out = static_cast<std::int64_t>(std::llround(n.matrix_macs / (D(l) * D(e))));
    return LinearProxy(q[0] * l, e, out);
  };
  // The form has one bias flag (nn.MultiheadAttention's `bias` sets both).
  mha.form_macs = [](const LayerForm& f) {
    const bool bias = f.params.value("bias", true);
    const double l = D(f.input.at(1));
    return AttentionCounts(D(f.input.at(0)), l, D(f.params.value("key_length", f.input.at(1))),
                           D(f.params.at("embed_dim").get<std::int64_t>()),
                           D(f.params.at("num_heads").get<std::int64_t>()), bias, bias)
        .macs;
  };
  r.push_back(std::move(mha));

  OpSchema enc = MakeOp("transformer_encoder_layer", "TransformerEncoderLayer", CostClass::kCompute,
                        "a transformer encoder layer, self-attention and feed-forward "
                        "(torch.nn.TransformerEncoderLayer, aten::_transformer_encoder_layer_fwd), "
                        "batch first");
  enc.attrs = {Req("num_heads", AttrKind::kInt), Opt("use_gelu", false), Opt("norm_first", false),
               Opt("eps", 1e-5)};
  enc.inputs = {"src",           "qkv_weight",   "qkv_bias",      "proj_weight", "proj_bias",
                "norm_weight_1", "norm_bias_1",  "norm_weight_2", "norm_bias_2", "ffn_weight_1",
                "ffn_bias_1",    "ffn_weight_2", "ffn_bias_2",    "mask?"};
  enc.min_inputs = 13;
  enc.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    RequireBatchFirst(x, "src");
    const std::int64_t e = x.dims[2];
    CheckAttentionWeights(c, 1, e, c.a().Int("num_heads"));
    for (std::size_t i = 5; i < 9; ++i)
      RequireDims(c, i, {e}, i % 2 == 1 ? "norm weight" : "norm bias");
    const TensorType& w1 = c.in(9);
    if (w1.rank() != 2 || w1.dims[1] != e)
      Fail(fmt::format("ffn_weight_1 {} is not F x {}", F(w1.dims), e));
    const std::int64_t f = w1.dims[0];
    RequireDims(c, 10, {f}, "ffn_bias_1");
    RequireDims(c, 11, {e, f}, "ffn_weight_2");
    RequireDims(c, 12, {e}, "ffn_bias_2");
    return {x};
  };
  enc.count = [](const OpCall& c) {
    const Dims& x = c.in(0).dims;
    const double b = D(x[0]), l = D(x[1]), e = D(x[2]), f = D(c.in(9).dims[0]);
    NodeCounts n = AttentionCounts(b, l, l, e, D(c.a().Int("num_heads")), true, true);
    const double ffn = 2 * b * l * e * f;
    // Feed-forward biases, activation, two layer norms and two residual adds.
    const double extra = b * l * (f + e) + b * l * f + 4 * b * l * e;
    n.matrix_macs += ffn;
    n.macs += ffn + extra;
    n.flops += 2 * ffn + extra;
    const NodeCounts bytes = DefaultCounts(c);
    n.bytes_read = bytes.bytes_read;
    n.bytes_written = bytes.bytes_written;
    return n;
  };
  enc.layer = [](const OpCall& c) {
    LayerForm f;
    f.type = "TransformerEncoderLayer";
    f.params = {{"d_model", c.in(0).dims[2]},
                {"nhead", c.a().Int("num_heads")},
                {"dim_feedforward", c.in(9).dims[0]},
                {"dropout", 0.0},
                {"activation", c.a().Bool("use_gelu") ? "gelu" : "relu"},
                {"layer_norm_eps", c.a().Float("eps")},
                {"batch_first", true},
                {"norm_first", c.a().Bool("norm_first")}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  enc.proxy_doc =
      "a Linear without bias on B·L rows, in_features = E, out_features = 4E + 2L + "
      "2F: the MACs of attention and feed-forward";
  enc.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    const Dims& x = c.in(0).dims;
    return LinearProxy(x[0] * x[1], x[2], 4 * x[2] + 2 * x[1] + 2 * c.in(9).dims[0]);
  };
  r.push_back(std::move(enc));
}

}  // namespace joulecast::graph::ops
