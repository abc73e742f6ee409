// Fusion rules of joulecast/graph/fuse.h for attention: nn.MultiheadAttention's decomposed
// forward (F.multi_head_attention_forward as torch.onnx.export and a traced slow path record it)
// becomes multi_head_attention, and a whole nn.TransformerEncoderLayer around it becomes
// transformer_encoder_layer: the operators PyTorch 1.13's fused inference path runs, which is
// what the TorchScript reader sees in a model traced under torch.no_grad().
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fuse_internal.h"
#include "joulecast/graph/fuse.h"

namespace joulecast::graph {
namespace {

using fuse::Near;
using fuse::Producer;
using fuse::Rewrite;
using fuse::ScalarOf;
using fuse::Uses;

int WrapIn(std::int64_t d, int rank) {
  if (d < -rank || d >= rank) return -1;
  return static_cast<int>(d < 0 ? d + rank : d);
}

// Walks back from `v` through view-like nodes, each the only reader of the value it produces (the
// first, `v`, read only by `reader`): appends them to `nodes` and returns the first value that no
// such view produces (which may have other readers).
ValueId WalkBack(const Graph& g, const Uses& uses, ValueId v, NodeId reader,
                 std::vector<NodeId>& nodes) {
  while (true) {
    const Node* p = Producer(g, v);
    if (p == nullptr || !fuse::IsViewLike(p->op) || p->inputs.size() != 1 ||
        uses.OnlyReader(v) != reader)
      return v;
    reader = g.value(v).producer;
    nodes.push_back(reader);
    v = p->inputs[0];
  }
}

// Walks forward from `v` through view-like nodes, each the only reader of the value before it,
// until `stop(value)` holds: appends them to `nodes`, returns that value, or kNoValue.
ValueId WalkForward(const Graph& g, const Uses& uses, ValueId v, std::vector<NodeId>& nodes,
                    const std::function<bool(ValueId)>& stop) {
  while (!stop(v)) {
    const NodeId r = uses.OnlyReader(v);
    if (r < 0 || !fuse::IsViewLike(g.node(r).op) || g.node(r).inputs.size() != 1) return kNoValue;
    nodes.push_back(r);
    v = g.node(r).outputs[0];
  }
  return v;
}

bool InScope(const std::string& scope, const std::string& outer) {
  return outer.empty() || scope == outer || scope.rfind(outer + ".", 0) == 0;
}

// q, k and v as three slices (or one split / chunk) of the last dimension of one value p, of E
// each, in that order: returns p and appends the slicing nodes, or kNoValue.
ValueId PackedSource(const Graph& g, const Uses& uses, const ValueId src[3],
                     std::vector<NodeId>& nodes) {
  const Node* first = Producer(g, src[0]);
  if (first == nullptr) return kNoValue;
  const ValueId p = first->inputs.empty() ? kNoValue : first->inputs[0];
  if (p == kNoValue) return kNoValue;
  for (int i = 0; i < 3; ++i)
    if (uses.OnlyReader(src[i]) < 0) return kNoValue;
  const Dims& pd = g.value(p).type.dims;
  const int rank = static_cast<int>(pd.size());
  if (rank < 1 || pd.back() % 3 != 0) return kNoValue;
  const std::int64_t e = pd.back() / 3;
  if (first->op == "split" || first->op == "chunk") {
    const NodeId s = g.value(src[0]).producer;
    const Node& sn = g.node(s);
    if (sn.outputs.size() != 3 || WrapIn(sn.attrs.Int("dim"), rank) != rank - 1) return kNoValue;
    for (int i = 0; i < 3; ++i)
      if (sn.outputs[i] != src[i] || g.value(src[i]).type.dims.back() != e) return kNoValue;
    if (uses.OnlyReader(p) != s) return kNoValue;
    nodes.push_back(s);
    return p;
  }
  std::set<NodeId> slices;
  for (int i = 0; i < 3; ++i) {
    const Node* s = Producer(g, src[i]);
    if (s == nullptr || s->op != "slice" || s->inputs[0] != p ||
        WrapIn(s->attrs.Int("dim"), rank) != rank - 1 || s->attrs.Int("step") != 1)
      return kNoValue;
    const std::int64_t n = pd.back();
    auto norm = [n](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + n : v, 0, n); };
    if (norm(s->attrs.Int("start")) != i * e || norm(s->attrs.Int("end")) != (i + 1) * e)
      return kNoValue;
    slices.insert(g.value(src[i]).producer);
  }
  if (slices.size() != 3 || !uses.ReadOnlyBy(p, slices)) return kNoValue;
  nodes.insert(nodes.end(), slices.begin(), slices.end());
  return p;
}

// The multi-head attention pattern around softmax node `sm` (see fuse.h).
bool MatchAttention(const Graph& g, const Uses& uses, NodeId sm, Rewrite& out) {
  const Node& smn = g.node(sm);
  const ValueId scores = smn.inputs[0];
  const int srank = g.value(scores).type.rank();
  if (srank < 3 || WrapIn(smn.attrs.Int("dim"), srank) != srank - 1) return false;
  std::vector<NodeId> nodes = {sm};
  // The scale, after the product or on q before it.
  double scale = 0;
  const Node* sp = Producer(g, scores);
  if (sp == nullptr || uses.OnlyReader(scores) != sm) return false;
  NodeId mm1 = g.value(scores).producer;
  if ((sp->op == "mul" || sp->op == "div") && ScalarOf(*sp)) {
    scale = sp->op == "mul" ? *ScalarOf(*sp) : 1 / *ScalarOf(*sp);
    nodes.push_back(mm1);
    const ValueId raw = sp->inputs[0];
    if (uses.OnlyReader(raw) != mm1) return false;
    mm1 = g.value(raw).producer;
    if (mm1 < 0) return false;
  }
  const Node& m1 = g.node(mm1);
  if (m1.op != "matmul" || m1.inputs.size() != 2) return false;
  nodes.push_back(mm1);
  ValueId q1 = m1.inputs[0];
  NodeId q_reader = mm1;
  if (scale == 0) {
    const Node* qs = Producer(g, q1);
    if (qs == nullptr || !(qs->op == "mul" || qs->op == "div") || !ScalarOf(*qs) ||
        uses.OnlyReader(q1) != mm1)
      return false;
    scale = qs->op == "mul" ? *ScalarOf(*qs) : 1 / *ScalarOf(*qs);
    q_reader = g.value(q1).producer;
    nodes.push_back(q_reader);
    q1 = qs->inputs[0];
  }
  // softmax -> [dropout] -> matmul(probs, v)
  ValueId probs = smn.outputs[0];
  NodeId mm2 = uses.OnlyReader(probs);
  if (mm2 >= 0 && g.node(mm2).op == "dropout") {
    nodes.push_back(mm2);
    probs = g.node(mm2).outputs[0];
    mm2 = uses.OnlyReader(probs);
  }
  if (mm2 < 0 || g.node(mm2).op != "matmul" || g.node(mm2).inputs[0] != probs) return false;
  nodes.push_back(mm2);
  const ValueId v1 = g.node(mm2).inputs[1];

  const Dims& qd = g.value(q1).type.dims;
  if (qd.size() < 3) return false;
  const std::int64_t d = qd.back(), l = qd[qd.size() - 2];
  if (!Near(scale, 1 / std::sqrt(static_cast<double>(d)), 1e-3)) return false;

  // q, k and v back to three slices of the in-projection.
  ValueId src[3];
  if (uses.OnlyReader(q1) != q_reader || uses.OnlyReader(m1.inputs[1]) != mm1 ||
      uses.OnlyReader(v1) != mm2)
    return false;
  src[0] = WalkBack(g, uses, q1, q_reader, nodes);
  src[1] = WalkBack(g, uses, m1.inputs[1], mm1, nodes);
  src[2] = WalkBack(g, uses, v1, mm2, nodes);
  const ValueId p = PackedSource(g, uses, src, nodes);
  if (p == kNoValue) return false;
  const Node* lin_in = Producer(g, p);
  if (lin_in == nullptr || lin_in->op != "linear") return false;
  const NodeId lin_in_id = g.value(p).producer;
  nodes.push_back(lin_in_id);
  const ValueId w_in = lin_in->inputs[1];
  const ValueId b_in = lin_in->inputs.size() > 2 ? lin_in->inputs[2] : kNoValue;
  const Dims& pd = g.value(p).type.dims;
  const std::int64_t e = pd.back() / 3;
  if (!fuse::IsParameter(g, w_in, 2) || g.value(w_in).type.dims != Dims{3 * e, e}) return false;
  if (b_in != kNoValue && (!fuse::IsParameter(g, b_in) || g.value(b_in).type.dims != Dims{3 * e}))
    return false;
  const ValueId x = WalkBack(g, uses, lin_in->inputs[0], lin_in_id, nodes);
  const Dims& xd = g.value(x).type.dims;
  if (xd.size() != 3 || xd[2] != e || xd[1] != l || e % d != 0) return false;
  const std::int64_t heads = e / d;
  double lead = 1;
  for (std::size_t i = 0; i + 2 < qd.size(); ++i) lead *= static_cast<double>(qd[i]);
  if (lead != static_cast<double>(xd[0]) * static_cast<double>(heads)) return false;

  // Output: views, the out-projection, views back to x's shape.
  std::vector<NodeId> tail;
  ValueId o = g.node(mm2).outputs[0];
  o = WalkForward(g, uses, o, tail, [&](ValueId v) {
    const NodeId r = uses.OnlyReader(v);
    return r >= 0 && g.node(r).op == "linear";
  });
  if (o == kNoValue) return false;
  const NodeId lin_out_id = uses.OnlyReader(o);
  const Node& lin_out = g.node(lin_out_id);
  if (lin_out.inputs[0] != o) return false;
  tail.push_back(lin_out_id);
  const ValueId w_out = lin_out.inputs[1];
  const ValueId b_out = lin_out.inputs.size() > 2 ? lin_out.inputs[2] : kNoValue;
  if (!fuse::IsParameter(g, w_out, 2) || g.value(w_out).type.dims != Dims{e, e}) return false;
  if (b_out != kNoValue && (!fuse::IsParameter(g, b_out) || g.value(b_out).type.dims != Dims{e}))
    return false;
  const ValueId y = WalkForward(g, uses, lin_out.outputs[0], tail,
                                [&](ValueId v) { return g.value(v).type.dims == xd; });
  if (y == kNoValue) return false;
  nodes.insert(nodes.end(), tail.begin(), tail.end());
  const NodeId at = g.value(y).producer;
  for (NodeId n : nodes)
    if (g.node(n).scope != g.node(at).scope) return false;
  out = Rewrite{};
  for (NodeId n : nodes)
    if (n != at) out.drop.push_back(n);
  out.at = at;
  out.op = "multi_head_attention";
  out.attrs.Set("num_heads", heads);
  out.inputs = {x, x, x, w_in, b_in, w_out, b_out};
  return true;
}

// add(a, b) in either order: the operand that is not `v`, or kNoValue.
ValueId AddOther(const Node& n, ValueId v) {
  if (n.op != "add" || n.inputs.size() != 2) return kNoValue;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return kNoValue;
}

bool IsNorm(const Graph& g, const Node& n, std::int64_t e) {
  return n.op == "layer_norm" && n.attrs.Ints("normalized_shape") == std::vector<std::int64_t>{e} &&
         n.inputs.size() == 3 && fuse::IsParameter(g, n.inputs[1]) &&
         fuse::IsParameter(g, n.inputs[2]);
}

bool IsLinear(const Graph& g, const Node& n, std::int64_t in, std::int64_t* out) {
  if (n.op != "linear" || n.inputs.size() != 3 || !fuse::IsParameter(g, n.inputs[1], 2) ||
      !fuse::IsParameter(g, n.inputs[2], 1))
    return false;
  const Dims& w = g.value(n.inputs[1]).type.dims;
  if (w[1] != in) return false;
  *out = w[0];
  return true;
}

// A value through an optional dropout: the dropout's output when `v`'s only reader is one.
ValueId SkipDropout(const Graph& g, const Uses& uses, ValueId v, std::vector<NodeId>& nodes) {
  const NodeId r = uses.OnlyReader(v);
  if (r >= 0 && g.node(r).op == "dropout") {
    nodes.push_back(r);
    return g.node(r).outputs[0];
  }
  return v;
}

// The feed-forward block from `in`: linear, relu or gelu, [dropout], linear, [dropout]; returns
// its output and appends the nodes, or kNoValue.
ValueId FeedForward(const Graph& g, const Uses& uses, ValueId in, NodeId l1, std::int64_t e,
                    std::vector<NodeId>& nodes, bool& gelu, std::vector<ValueId>& weights) {
  std::int64_t f = 0, e2 = 0;
  if (l1 < 0 || !IsLinear(g, g.node(l1), e, &f) || g.node(l1).inputs[0] != in) return kNoValue;
  nodes.push_back(l1);
  const NodeId act = uses.OnlyReader(g.node(l1).outputs[0]);
  if (act < 0) return kNoValue;
  const Node& an = g.node(act);
  if (an.op == "relu") {
    gelu = false;
  } else if (an.op == "gelu" && an.attrs.String("approximate") == "none") {
    gelu = true;
  } else {
    return kNoValue;
  }
  nodes.push_back(act);
  const ValueId h = SkipDropout(g, uses, an.outputs[0], nodes);
  const NodeId l2 = uses.OnlyReader(h);
  if (l2 < 0 || !IsLinear(g, g.node(l2), f, &e2) || e2 != e || g.node(l2).inputs[0] != h)
    return kNoValue;
  nodes.push_back(l2);
  weights = {g.node(l1).inputs[1], g.node(l1).inputs[2], g.node(l2).inputs[1],
             g.node(l2).inputs[2]};
  return SkipDropout(g, uses, g.node(l2).outputs[0], nodes);
}

bool MatchEncoderLayer(const Graph& g, const Uses& uses, NodeId a, Rewrite& out) {
  const Node& an = g.node(a);
  if (an.op != "multi_head_attention" || an.outputs.size() != 1 || an.inputs.size() < 7 ||
      an.inputs[0] != an.inputs[1] || an.inputs[1] != an.inputs[2] || an.inputs[4] == kNoValue ||
      an.inputs[6] == kNoValue || (an.inputs.size() > 7 && an.inputs[7] != kNoValue))
    return false;
  const ValueId q = an.inputs[0];
  const std::int64_t e = g.value(q).type.dims.back();
  std::vector<NodeId> nodes = {a};
  const ValueId attn = SkipDropout(g, uses, an.outputs[0], nodes);
  const NodeId r1 = uses.OnlyReader(attn);
  if (r1 < 0) return false;
  bool norm_first = false;
  ValueId src = AddOther(g.node(r1), attn);
  const Node* ln1 = nullptr;
  if (src == kNoValue) return false;
  if (src != q) {
    // Pre-norm: q = norm1(src), read only by the attention; src also read by the residual add.
    ln1 = Producer(g, q);
    if (ln1 == nullptr || !IsNorm(g, *ln1, e) || ln1->inputs[0] != src || uses.OnlyReader(q) != a)
      return false;
    norm_first = true;
    nodes.push_back(g.value(q).producer);
  }
  nodes.push_back(r1);
  const ValueId res1 = g.node(r1).outputs[0];
  std::vector<ValueId> ffn;
  bool gelu = false;
  NodeId last = -1;
  std::vector<ValueId> norms;
  double eps = 0;
  if (!norm_first) {
    // Post-norm: n1 = norm1(x + attn); y = norm2(n1 + ffn(n1)).
    const NodeId n1 = uses.OnlyReader(res1);
    if (n1 < 0 || !IsNorm(g, g.node(n1), e)) return false;
    nodes.push_back(n1);
    const ValueId h = g.node(n1).outputs[0];
    if (uses.is_output[h] || uses.readers[h].size() != 2) return false;
    NodeId l1 = -1, r2 = -1;
    for (NodeId r : uses.readers[h]) (g.node(r).op == "linear" ? l1 : r2) = r;
    const ValueId f = FeedForward(g, uses, h, l1, e, nodes, gelu, ffn);
    if (f == kNoValue || r2 < 0 || AddOther(g.node(r2), h) != f || uses.OnlyReader(f) != r2)
      return false;
    nodes.push_back(r2);
    const NodeId n2 = uses.OnlyReader(g.node(r2).outputs[0]);
    if (n2 < 0 || !IsNorm(g, g.node(n2), e)) return false;
    nodes.push_back(n2);
    last = n2;
    eps = g.node(n1).attrs.Float("eps");
    if (g.node(n2).attrs.Float("eps") != eps) return false;
    norms = {g.node(n1).inputs[1], g.node(n1).inputs[2], g.node(n2).inputs[1],
             g.node(n2).inputs[2]};
  } else {
    // Pre-norm: r = src + attn(norm1(src)); y = r + ffn(norm2(r)).
    if (uses.is_output[res1] || uses.readers[res1].size() != 2) return false;
    NodeId n2 = -1, r2 = -1;
    for (NodeId r : uses.readers[res1]) (g.node(r).op == "layer_norm" ? n2 : r2) = r;
    if (n2 < 0 || r2 < 0 || !IsNorm(g, g.node(n2), e)) return false;
    nodes.push_back(n2);
    const ValueId h = g.node(n2).outputs[0];
    const ValueId f = FeedForward(g, uses, h, uses.OnlyReader(h), e, nodes, gelu, ffn);
    if (f == kNoValue || AddOther(g.node(r2), res1) != f || uses.OnlyReader(f) != r2) return false;
    nodes.push_back(r2);
    last = r2;
    eps = ln1->attrs.Float("eps");
    if (g.node(n2).attrs.Float("eps") != eps) return false;
    norms = {ln1->inputs[1], ln1->inputs[2], g.node(n2).inputs[1], g.node(n2).inputs[2]};
  }
  // The fused kernel is nn.TransformerEncoderLayer's: its modules' names (self_attn, norm1, norm2,
  // linear1, linear2) tell it from another class's block of the same arithmetic (torchvision's
  // ViT EncoderBlock), which PyTorch runs, and the TorchScript reader sees, in pieces.
  const std::string& scope = g.node(r1).scope;
  auto child = [&](const char* c) { return scope.empty() ? std::string(c) : scope + "." + c; };
  std::vector<NodeId> linears, layer_norms;
  for (NodeId n : nodes) {
    if (!InScope(g.node(n).scope, scope)) return false;
    if (g.node(n).op == "linear") linears.push_back(n);
    if (g.node(n).op == "layer_norm") layer_norms.push_back(n);
  }
  if (an.scope != child("self_attn") || linears.size() != 2 || layer_norms.size() != 2 ||
      g.node(linears[0]).scope != child("linear1") ||
      g.node(linears[1]).scope != child("linear2") ||
      g.node(layer_norms[0]).scope != child("norm1") ||
      g.node(layer_norms[1]).scope != child("norm2"))
    return false;
  out = Rewrite{};
  for (NodeId n : nodes)
    if (n != last) out.drop.push_back(n);
  out.at = last;
  out.op = "transformer_encoder_layer";
  out.attrs.Set("num_heads", an.attrs.Int("num_heads"));
  out.attrs.Set("use_gelu", gelu);
  out.attrs.Set("norm_first", norm_first);
  out.attrs.Set("eps", eps);
  out.inputs = {norm_first ? src : q, an.inputs[3], an.inputs[4], an.inputs[5], an.inputs[6]};
  out.inputs.insert(out.inputs.end(), norms.begin(), norms.end());
  out.inputs.insert(out.inputs.end(), ffn.begin(), ffn.end());
  out.scope = scope;
  return true;
}

template <typename Match>
int FuseAll(Graph& g, const char* op, Match match) {
  const Uses uses(g);
  std::vector<Rewrite> found;
  std::set<NodeId> claimed;
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    if (g.node(n).op != op || claimed.count(n)) continue;
    Rewrite r;
    if (!match(g, uses, n, r)) continue;
    bool free = !claimed.count(r.at);
    for (NodeId d : r.drop) free = free && !claimed.count(d);
    if (!free || !fuse::Fits(g, r)) continue;
    claimed.insert(r.drop.begin(), r.drop.end());
    claimed.insert(r.at);
    found.push_back(std::move(r));
  }
  return fuse::Apply(g, found);
}

}  // namespace

int FuseMultiHeadAttention(Graph& g) { return FuseAll(g, "softmax", MatchAttention); }

int FuseTransformerEncoderLayer(Graph& g) {
  return FuseAll(g, "multi_head_attention", MatchEncoderLayer);
}

}  // namespace joulecast::graph
