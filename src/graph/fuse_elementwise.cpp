// Fusion rules of joulecast/graph/fuse.h for element-wise and small patterns: GELU (erf and tanh
// forms), SiLU, Hardswish, LayerNorm, the padded average pool and torch.roll.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
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

bool IsOp(const Node* n, const char* op) { return n != nullptr && n->op == op; }

// Node `n` reads exactly the values {a, b} in some order (two inputs).
bool ReadsPair(const Node& n, ValueId a, ValueId b) {
  return n.inputs.size() == 2 &&
         ((n.inputs[0] == a && n.inputs[1] == b) || (n.inputs[0] == b && n.inputs[1] == a));
}

// The other input of a two-input node that reads `v`, or kNoValue.
ValueId Other(const Node& n, ValueId v) {
  if (n.inputs.size() != 2) return kNoValue;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return kNoValue;
}

bool SameScope(const Graph& g, const std::vector<NodeId>& nodes) {
  for (NodeId n : nodes)
    if (g.node(n).scope != g.node(nodes.front()).scope) return false;
  return true;
}

// Collects `found` rewrites that fit and do not overlap, then applies them.
struct Collector {
  std::vector<Rewrite> found;
  std::set<NodeId> claimed;
  bool Add(const Graph& g, Rewrite r) {
    if (claimed.count(r.at)) return false;
    for (NodeId n : r.drop)
      if (claimed.count(n)) return false;
    if (!fuse::Fits(g, r)) return false;
    claimed.insert(r.drop.begin(), r.drop.end());
    claimed.insert(r.at);
    found.push_back(std::move(r));
    return true;
  }
};

// The end of both GELU forms: given a = (1 + erf(..)) or (1 + tanh(..)) (a single-reader value)
// and x, finds x·a·0.5 in one of the orders
//   F1 (PyTorch's exporter)  m = x·a, y = m·0.5
//   F2                        h = x·0.5, y = h·a
//   F3                        h = a·0.5, y = x·h
// Appends the nodes after `a`'s producer to `nodes` and returns y's producer, or -1.
NodeId GeluTail(const Graph& g, const Uses& uses, ValueId a, ValueId x,
                std::vector<NodeId>& nodes) {
  const NodeId m = uses.OnlyReader(a);
  if (m < 0 || g.node(m).op != "mul") return -1;
  const Node& mn = g.node(m);
  if (ReadsPair(mn, x, a)) {  // F1
    const NodeId y = uses.OnlyReader(mn.outputs[0]);
    if (y < 0 || g.node(y).op != "mul" || !ScalarOf(g.node(y)) || !Near(*ScalarOf(g.node(y)), 0.5))
      return -1;
    nodes.push_back(m);
    nodes.push_back(y);
    return y;
  }
  if (const auto s = ScalarOf(mn); s && Near(*s, 0.5)) {  // F3: h = a·0.5, y = x·h
    const NodeId y = uses.OnlyReader(mn.outputs[0]);
    if (y < 0 || g.node(y).op != "mul" || !ReadsPair(g.node(y), x, mn.outputs[0])) return -1;
    nodes.push_back(m);
    nodes.push_back(y);
    return y;
  }
  // F2: y = h·a with h = x·0.5 (h read only by y)
  const ValueId h = Other(mn, a);
  const Node* hn = Producer(g, h);
  if (!IsOp(hn, "mul") || hn->inputs.size() != 1 || hn->inputs[0] != x || !ScalarOf(*hn) ||
      !Near(*ScalarOf(*hn), 0.5) || uses.OnlyReader(h) != m)
    return -1;
  nodes.push_back(g.value(h).producer);
  nodes.push_back(m);
  return m;
}

// x³ as pow(x, 3), mul(x, mul(x, x)) or mul(mul(x, x), x): the nodes, or empty.
std::vector<NodeId> Cube(const Graph& g, const Uses& uses, ValueId c, ValueId x) {
  const Node* n = Producer(g, c);
  if (n == nullptr || uses.OnlyReader(c) < 0) return {};
  if (n->op == "pow" && n->inputs.size() == 1 && n->inputs[0] == x && ScalarOf(*n) &&
      Near(*ScalarOf(*n), 3.0))
    return {g.value(c).producer};
  if (n->op != "mul" || n->inputs.size() != 2) return {};
  const ValueId sq = n->inputs[0] == x ? n->inputs[1] : n->inputs[1] == x ? n->inputs[0] : kNoValue;
  const Node* s = Producer(g, sq);
  if (!IsOp(s, "mul") || !ReadsPair(*s, x, x) || uses.OnlyReader(sq) != g.value(c).producer)
    return {};
  return {g.value(sq).producer, g.value(c).producer};
}

}  // namespace

int FuseGelu(Graph& g) {
  const Uses uses(g);
  Collector c;
  for (NodeId e = 0; e < static_cast<NodeId>(g.nodes().size()); ++e) {
    const Node& en = g.node(e);
    if (en.op != "erf" && en.op != "tanh") continue;
    const bool is_erf = en.op == "erf";
    std::vector<NodeId> nodes;
    ValueId x = kNoValue;
    const Node* u = Producer(g, en.inputs[0]);
    if (u == nullptr || uses.OnlyReader(en.inputs[0]) != e || u->inputs.size() != 1) continue;
    const auto s = ScalarOf(*u);
    if (!s) continue;
    if (is_erf) {
      // u = x / √2 or x · (1/√2)
      if (!((u->op == "div" && Near(*s, std::sqrt(2.0))) ||
            (u->op == "mul" && Near(*s, 1 / std::sqrt(2.0)))))
        continue;
      x = u->inputs[0];
      nodes.push_back(g.value(en.inputs[0]).producer);
    } else {
      // u = (x + 0.044715·x³)·√(2/π)
      if (u->op != "mul" || !Near(*s, 0.7978845608028654)) continue;
      const ValueId ad = u->inputs[0];
      const Node* an = Producer(g, ad);
      if (!IsOp(an, "add") || an->inputs.size() != 2 || uses.OnlyReader(ad) < 0) continue;
      bool matched = false;
      for (int k = 0; k < 2 && !matched; ++k) {
        const ValueId cand_x = an->inputs[k], kv = an->inputs[1 - k];
        const Node* kn = Producer(g, kv);
        if (!IsOp(kn, "mul") || !ScalarOf(*kn) || !Near(*ScalarOf(*kn), 0.044715) ||
            uses.OnlyReader(kv) < 0)
          continue;
        const std::vector<NodeId> cube = Cube(g, uses, kn->inputs[0], cand_x);
        if (cube.empty()) continue;
        nodes = cube;
        nodes.push_back(g.value(kv).producer);
        nodes.push_back(g.value(ad).producer);
        nodes.push_back(g.value(en.inputs[0]).producer);
        x = cand_x;
        matched = true;
      }
      if (!matched) continue;
    }
    nodes.push_back(e);
    // a = 1 + erf(u) / 1 + tanh(u)
    const NodeId a = uses.OnlyReader(en.outputs[0]);
    if (a < 0 || g.node(a).op != "add" || !ScalarOf(g.node(a)) || !Near(*ScalarOf(g.node(a)), 1.0))
      continue;
    nodes.push_back(a);
    const NodeId y = GeluTail(g, uses, g.node(a).outputs[0], x, nodes);
    if (y < 0 || !SameScope(g, nodes)) continue;
    Rewrite r;
    r.drop.assign(nodes.begin(), nodes.end() - 1);
    r.at = y;
    r.op = "gelu";
    r.attrs.Set("approximate", std::string(is_erf ? "none" : "tanh"));
    r.inputs = {x};
    c.Add(g, std::move(r));
  }
  return fuse::Apply(g, c.found);
}

// x·sigmoid(x) -> silu(x); x·hardsigmoid(x) -> hardswish(x).
static int FuseGatedSelf(Graph& g, const char* gate, const char* fused) {
  const Uses uses(g);
  Collector c;
  for (NodeId s = 0; s < static_cast<NodeId>(g.nodes().size()); ++s) {
    const Node& sn = g.node(s);
    if (sn.op != gate) continue;
    const ValueId x = sn.inputs[0];
    const NodeId m = uses.OnlyReader(sn.outputs[0]);
    if (m < 0 || g.node(m).op != "mul" || !ReadsPair(g.node(m), x, sn.outputs[0])) continue;
    if (!SameScope(g, {s, m})) continue;
    Rewrite r;
    r.drop = {s};
    r.at = m;
    r.op = fused;
    r.inputs = {x};
    c.Add(g, std::move(r));
  }
  return fuse::Apply(g, c.found);
}

int FuseSilu(Graph& g) { return FuseGatedSelf(g, "sigmoid", "silu"); }

int FuseHardswish(Graph& g) { return FuseGatedSelf(g, "hardsigmoid", "hardswish"); }

int FuseLayerNorm(Graph& g) {
  const Uses uses(g);
  Collector c;
  auto is_keep_mean = [](const Node* n) {
    return n != nullptr && n->op == "mean" && n->attrs.Bool("keepdim");
  };
  for (NodeId m = 0; m < static_cast<NodeId>(g.nodes().size()); ++m) {
    const Node& mn = g.node(m);
    if (!is_keep_mean(&mn)) continue;
    const ValueId x = mn.inputs[0];
    const Dims& xd = g.value(x).type.dims;
    const int rank = static_cast<int>(xd.size());
    // The reduced dimensions must be the last k.
    std::vector<bool> reduced(rank, false);
    bool ok = !mn.attrs.Ints("dims").empty();
    for (std::int64_t d : mn.attrs.Ints("dims")) {
      if (d < -rank || d >= rank) {
        ok = false;
        break;
      }
      reduced[d < 0 ? d + rank : d] = true;
    }
    int k = 0;
    while (k < rank && reduced[rank - 1 - k]) ++k;
    for (int i = 0; i < rank - k; ++i) ok = ok && !reduced[i];
    if (!ok || k == 0) continue;
    const Dims normalized(xd.end() - k, xd.end());
    // d = x - mean, read by the square and the division only.
    const NodeId sub = uses.OnlyReader(mn.outputs[0]);
    if (sub < 0 || g.node(sub).op != "sub" || g.node(sub).inputs.size() != 2 ||
        g.node(sub).inputs[0] != x || g.node(sub).inputs[1] != mn.outputs[0])
      continue;
    const ValueId d = g.node(sub).outputs[0];
    if (uses.is_output[d] || uses.readers[d].size() != 2) continue;
    NodeId sq = -1, div = -1;
    for (NodeId r : uses.readers[d]) {
      const Node& rn = g.node(r);
      if ((rn.op == "pow" && rn.inputs.size() == 1 && ScalarOf(rn) && Near(*ScalarOf(rn), 2.0)) ||
          (rn.op == "mul" && ReadsPair(rn, d, d))) {
        sq = r;
      } else if (rn.op == "div" && rn.inputs.size() == 2 && rn.inputs[0] == d) {
        div = r;
      }
    }
    if (sq < 0 || div < 0) continue;
    const NodeId var = uses.OnlyReader(g.node(sq).outputs[0]);
    if (var < 0 || !is_keep_mean(&g.node(var)) ||
        g.node(var).attrs.Ints("dims") != mn.attrs.Ints("dims"))
      continue;
    const NodeId add = uses.OnlyReader(g.node(var).outputs[0]);
    if (add < 0 || g.node(add).op != "add" || !ScalarOf(g.node(add))) continue;
    const double eps = *ScalarOf(g.node(add));
    const NodeId root = uses.OnlyReader(g.node(add).outputs[0]);
    if (root < 0 || g.node(root).op != "sqrt" || uses.OnlyReader(g.node(root).outputs[0]) != div ||
        g.node(div).inputs[1] != g.node(root).outputs[0])
      continue;
    std::vector<NodeId> nodes = {m, sub, sq, var, add, root, div};
    NodeId last = div;
    ValueId weight = kNoValue, bias = kNoValue;
    // Optional affine part: · weight, + bias, parameters of the normalized shape.
    const NodeId mul = uses.OnlyReader(g.node(div).outputs[0]);
    if (mul >= 0 && g.node(mul).op == "mul") {
      const ValueId w = Other(g.node(mul), g.node(div).outputs[0]);
      if (fuse::IsParameter(g, w) && g.value(w).type.dims == normalized) {
        weight = w;
        nodes.push_back(mul);
        last = mul;
      }
    }
    const NodeId badd = weight == kNoValue ? -1 : uses.OnlyReader(g.node(last).outputs[0]);
    if (badd >= 0 && g.node(badd).op == "add") {
      const ValueId b = Other(g.node(badd), g.node(last).outputs[0]);
      if (fuse::IsParameter(g, b) && g.value(b).type.dims == normalized) {
        bias = b;
        nodes.push_back(badd);
        last = badd;
      }
    }
    if (!SameScope(g, nodes)) continue;
    Rewrite r;
    r.drop.assign(nodes.begin(), nodes.end() - 1);
    r.at = last;
    r.op = "layer_norm";
    r.attrs.Set("normalized_shape", normalized);
    r.attrs.Set("eps", eps);
    r.inputs = {x, weight, bias};
    while (!r.inputs.empty() && r.inputs.back() == kNoValue) r.inputs.pop_back();
    c.Add(g, std::move(r));
  }
  return fuse::Apply(g, c.found);
}

int FusePaddedAvgPool(Graph& g) {
  const Uses uses(g);
  Collector c;
  for (NodeId p = 0; p < static_cast<NodeId>(g.nodes().size()); ++p) {
    const Node& pn = g.node(p);
    if (pn.op != "pad" || pn.attrs.String("mode") != "constant" || pn.attrs.Float("value") != 0.0)
      continue;
    // F.pad order: (left, right, top, bottom) of the last two dimensions, symmetric (pairs left
    // out: zero); any further pair (outer dimensions) zero.
    std::vector<std::int64_t> pads = pn.attrs.Ints("pads");
    if (pads.size() % 2 != 0) continue;
    while (pads.size() < 4) pads.push_back(0);
    if (pads[0] != pads[1] || pads[2] != pads[3] || pads[0] < 0 || pads[2] < 0) continue;
    bool outer_zero = true;
    for (std::size_t i = 4; i < pads.size(); ++i) outer_zero = outer_zero && pads[i] == 0;
    if (!outer_zero) continue;
    const NodeId a = uses.OnlyReader(pn.outputs[0]);
    if (a < 0 || g.node(a).op != "avg_pool2d") continue;
    const Node& an = g.node(a);
    const std::vector<std::int64_t>& padding = an.attrs.Ints("padding");
    bool zero = true;
    for (std::int64_t v : padding) zero = zero && v == 0;
    if (!zero || !SameScope(g, {p, a})) continue;
    Rewrite r;
    r.drop = {p};
    r.at = a;
    r.op = "avg_pool2d";
    r.attrs = an.attrs;
    r.attrs.Set("padding", std::vector<std::int64_t>{pads[2], pads[0]});
    r.attrs.Set("count_include_pad", true);
    r.inputs = {pn.inputs[0]};
    c.Add(g, std::move(r));
  }
  return fuse::Apply(g, c.found);
}

namespace {

// cat([x[s:], x[:s]], dim) on one dimension: the shift n - s, or 0 when `n` is not that.
std::int64_t RollShift(const Graph& g, const Uses& uses, const Node& cat, ValueId& x, int& dim) {
  if (cat.op != "cat" || cat.inputs.size() != 2) return 0;
  const Node* a = Producer(g, cat.inputs[0]);
  const Node* b = Producer(g, cat.inputs[1]);
  if (!IsOp(a, "slice") || !IsOp(b, "slice") || a->inputs[0] != b->inputs[0]) return 0;
  const NodeId self = g.value(cat.outputs[0]).producer;
  if (uses.OnlyReader(cat.inputs[0]) != self || uses.OnlyReader(cat.inputs[1]) != self) return 0;
  x = a->inputs[0];
  const Dims& xd = g.value(x).type.dims;
  const int rank = static_cast<int>(xd.size());
  auto wrap = [rank](std::int64_t d) { return d < 0 ? d + rank : d; };
  const std::int64_t d = wrap(cat.attrs.Int("dim"));
  if (d < 0 || d >= rank || wrap(a->attrs.Int("dim")) != d || wrap(b->attrs.Int("dim")) != d ||
      a->attrs.Int("step") != 1 || b->attrs.Int("step") != 1)
    return 0;
  const std::int64_t n = xd[d];
  auto norm = [n](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + n : v, 0, n); };
  const std::int64_t s = norm(a->attrs.Int("start"));
  if (s <= 0 || s >= n || norm(a->attrs.Int("end")) != n || norm(b->attrs.Int("start")) != 0 ||
      norm(b->attrs.Int("end")) != s)
    return 0;
  dim = static_cast<int>(d);
  // torch.roll's shift: positive when it is at most half the size, as a negative one exports.
  const std::int64_t shift = n - s;
  return shift * 2 > n ? shift - n : shift;
}

}  // namespace

int FuseRoll(Graph& g) {
  int total = 0;
  {
    const Uses uses(g);
    Collector c;
    for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
      const Node& cn = g.node(n);
      ValueId x = kNoValue;
      int dim = 0;
      const std::int64_t shift = RollShift(g, uses, cn, x, dim);
      if (shift == 0) continue;
      const NodeId a = g.value(cn.inputs[0]).producer, b = g.value(cn.inputs[1]).producer;
      if (!SameScope(g, {a, b, n})) continue;
      Rewrite r;
      r.drop = {a, b};
      r.at = n;
      r.op = "roll";
      r.attrs.Set("shifts", std::vector<std::int64_t>{shift});
      r.attrs.Set("dims", std::vector<std::int64_t>{dim});
      r.inputs = {x};
      c.Add(g, std::move(r));
    }
    total += fuse::Apply(g, c.found);
  }
  // roll(roll(x, s1, d1), s2, d2), the first read only by the second: torch.roll over two dims.
  const Uses uses(g);
  Collector c;
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    const Node& outer = g.node(n);
    if (outer.op != "roll" || outer.attrs.Ints("dims").empty()) continue;
    const Node* inner = Producer(g, outer.inputs[0]);
    if (!IsOp(inner, "roll") || inner->attrs.Ints("dims").empty() ||
        uses.OnlyReader(outer.inputs[0]) != n)
      continue;
    const NodeId in = g.value(outer.inputs[0]).producer;
    std::vector<std::int64_t> shifts = inner->attrs.Ints("shifts"),
                              dims = inner->attrs.Ints("dims");
    bool distinct = true;
    for (std::int64_t d : outer.attrs.Ints("dims"))
      for (std::int64_t e : dims) distinct = distinct && d != e;
    if (!distinct || !SameScope(g, {in, n}) || c.claimed.count(in)) continue;
    for (std::int64_t s : outer.attrs.Ints("shifts")) shifts.push_back(s);
    for (std::int64_t d : outer.attrs.Ints("dims")) dims.push_back(d);
    Rewrite r;
    r.drop = {in};
    r.at = n;
    r.op = "roll";
    r.attrs.Set("shifts", shifts);
    r.attrs.Set("dims", dims);
    r.inputs = {inner->inputs[0]};
    c.Add(g, std::move(r));
  }
  return total + fuse::Apply(g, c.found);
}

}  // namespace joulecast::graph
