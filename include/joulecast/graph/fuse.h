// Fusion rules: rewrites of a lowered graph that every reader shares (the TorchScript reader and
// the ONNX reader apply FuseGraph after lowering), in the manner of nn-Meter's kernel_detector
// rules. A reader that lowers operation by operation sees a module's functional code, or what an
// exporter decomposed it into, as primitive operations; a rule replaces one exact pattern of them
// by the registry operator it computes, so that a profile's predictor for that operator (and not
// the per-element fallback of its pieces) costs it, as it does when the same network comes as a
// module tree or a TorchScript trace. Each rule matches its documented pattern only; anything else
// (a near-miss) is left as it is. Common to all rules: every intermediate value of a pattern is
// read by the pattern's next node only and is no graph output; the new node takes the last node's
// name, output names and types (the registry's shape rule must give exactly those, or the pattern
// is left alone), so later nodes and the graph's outputs are unchanged. Scalars are the `scalar`
// attribute of one-input add/sub/mul/div/pow nodes (how both readers lower `x * 0.5`); constants
// are compared to 1e-4 relative.
//
// Rules, in the order FuseGraph applies them:
//   GELU (erf)      u = x / √2 (or x · 1/√2), e = erf(u), a = e + 1, then x·a·0.5 as
//                   y = (x · a) · 0.5 (torch.onnx's form), (x · 0.5) · a or x · (a · 0.5)
//                   -> y = gelu(x, approximate 'none'); the nodes share one scope.
//   GELU (tanh)     c = x³ (pow(x, 3), or x · (x · x)), k = c · 0.044715, s = x + k,
//                   u = s · √(2/π), t = tanh(u), a = t + 1, then x·a·0.5 as above
//                   -> gelu(x, approximate 'tanh'); one scope.
//   SiLU            y = x · sigmoid(x) (either order; the sigmoid read by the product only)
//                   -> silu(x): torch.onnx exports nn.SiLU so. One scope.
//   Hardswish       y = x · hardsigmoid(x) -> hardswish(x): below opset 14 torch.onnx exports
//                   nn.Hardswish so. One scope.
//   LayerNorm       m = mean(x, D, keepdim), d = x - m (read by the next two only),
//                   v = mean(d² (pow 2, or d·d), D, keepdim), s = sqrt(v + eps), n = d / s,
//                   optionally n · weight, then + bias (parameters of x's last |D| sizes), D the
//                   last |D| dimensions -> layer_norm(x, weight?, bias?, normalized_shape, eps):
//                   torch.onnx's layer_norm below opset 17. One scope.
//   padded average  p = pad(x) (constant 0, symmetric on the last two dimensions only), then
//   pool            avg_pool2d(p) without padding -> avg_pool2d(x, padding, count_include_pad):
//                   torch.onnx exports an average pool with count_include_pad so. One scope.
//   roll            cat([x[s:], x[:s]], dim) on one dimension of size n (two slices of x read by
//                   the cat only) -> roll(x, shifts [n - s] (as n - s - n when past half), dims
//                   [dim]); then roll(roll(x, a, d1), b, d2), the inner read by the outer only,
//                   -> roll(x, [a, b], [d1, d2]): torch.onnx exports torch.roll so, one
//                   dimension at a time. One scope.
//   channel shuffle torchvision's shufflenetv2.channel_shuffle(x, g) on x of shape [B, C, *S]
//                   (S: any spatial sizes, [H, W] there), as torch.jit.trace and torch.onnx record
//                   it:
//                      a = reshape(x)      to [B, g, C/g, *S]
//                      b = transpose(a)    dims 1 and 2 (in either order; negative dims wrapped)
//                      c = contiguous(b)   (absent in ONNX, which has no contiguous)
//                      y = reshape(c)      to [B, C, *S], x's shape
//                   becomes y = channel_shuffle(x, groups = g). One scope.
//   multi-head      nn.MultiheadAttention's forward, decomposed (torch.onnx; torch.jit.trace
//   attention       outside torch.no_grad()), self-attention with batch-first input x [B, L, E]:
//                      p = linear(views(x), in_proj_weight [3E, E], in_proj_bias [3E]?)
//                      q, k, v = p[..., 0:E], p[..., E:2E], p[..., 2E:3E] (slices, or one
//                                split/chunk of three)
//                      views of each to heads: q1 [.., L, d], k1 [.., d, L] (k transposed),
//                                v1 [.., L, d], the leading sizes B·H, d = E / H
//                      s = matmul(q1 · σ, k1) or matmul(q1, k1) · σ (mul by σ or div by 1/σ),
//                                σ = 1/√d
//                      o = matmul(softmax(s, last dim) [-> dropout], v1)
//                      y = views(linear(views(o), out_proj.weight [E, E], out_proj.bias [E]?)),
//                                the first view of x's shape
//                   -> y = multi_head_attention(x, x, x, in_proj_weight, in_proj_bias,
//                   out_proj.weight, out_proj.bias, num_heads = H): what PyTorch 1.13's fused
//                   inference path (aten::_native_multi_head_attention) computes and a model
//                   traced under torch.no_grad() shows. No mask; one scope.
//   transformer     around such a multi_head_attention a (biases present), of width E:
//   encoder layer     post-norm: r = x + a(x) [dropout], n = layer_norm(r), f = ffn(n),
//                                y = layer_norm(n + f)
//                     pre-norm:  r = x + a(layer_norm(x)), y = r + ffn(layer_norm(r))
//                   with ffn = linear(F) -> relu or gelu('none') [-> dropout] -> linear(E)
//                   [-> dropout], the layer norms over [E] with weight and bias and one eps
//                   -> transformer_encoder_layer(x, ..., num_heads, use_gelu, norm_first, eps):
//                   nn.TransformerEncoderLayer's fused inference path
//                   (aten::_transformer_encoder_layer_fwd), which runs for that class only: the
//                   first residual add's scope S is the layer's module, the attention, norms and
//                   linears are its children S.self_attn, S.norm1, S.norm2, S.linear1 and
//                   S.linear2 (the rest in S or below), and the new node gets S. A block of
//                   another class with the same arithmetic (torchvision's ViT EncoderBlock) keeps
//                   its pieces, as PyTorch runs them.
//
// Shapes must be inferred (InferShapes, or the reader's own inference); the rewritten graph keeps
// every other value's type, and a later SetBatch + InferShapes re-targets it as before.
#pragma once

#include "joulecast/graph/graph.h"

namespace joulecast::graph {

// Each rule above everywhere in `g`; each returns how many patterns it replaced.
int FuseGelu(Graph& g);  // both forms
int FuseSilu(Graph& g);
int FuseHardswish(Graph& g);
int FuseLayerNorm(Graph& g);
int FusePaddedAvgPool(Graph& g);
int FuseRoll(Graph& g);
int FuseChannelShuffle(Graph& g);
int FuseMultiHeadAttention(Graph& g);
int FuseTransformerEncoderLayer(Graph& g);

// Every rule above, in order; returns the number of rewrites.
int FuseGraph(Graph& g);

}  // namespace joulecast::graph
