#include "joulecast/graph/fuse.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fuse_internal.h"
#include "joulecast/graph/op_schema.h"

namespace joulecast::graph {
namespace fuse {

Uses::Uses(const Graph& g) : readers(g.values().size()), is_output(g.values().size()) {
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n)
    for (ValueId v : g.node(n).inputs)
      if (v != kNoValue && (readers[v].empty() || readers[v].back() != n)) readers[v].push_back(n);
  for (ValueId v : g.outputs()) is_output[v] = true;
}

NodeId Uses::OnlyReader(ValueId v) const {
  if (v < 0 || is_output[v] || readers[v].size() != 1) return -1;
  return readers[v][0];
}

bool Uses::ReadOnlyBy(ValueId v, const std::set<NodeId>& nodes) const {
  if (v < 0 || is_output[v]) return false;
  for (NodeId n : readers[v])
    if (!nodes.count(n)) return false;
  return true;
}

const Node* Producer(const Graph& g, ValueId v) {
  if (v < 0) return nullptr;
  const NodeId p = g.value(v).producer;
  return p < 0 ? nullptr : &g.node(p);
}

std::optional<double> ScalarOf(const Node& n) {
  if (n.inputs.size() != 1 || !n.attrs.Has("scalar")) return std::nullopt;
  return n.attrs.Float("scalar");
}

bool Near(double a, double b, double rel) { return std::abs(a - b) <= rel * std::abs(b); }

bool IsViewLike(const std::string& op) {
  return op == "reshape" || op == "transpose" || op == "permute" || op == "contiguous" ||
         op == "squeeze" || op == "unsqueeze" || op == "flatten";
}

bool IsParameter(const Graph& g, ValueId v, int rank) {
  return v >= 0 && g.value(v).role == ValueRole::kParameter &&
         (rank < 0 || g.value(v).type.rank() == rank);
}

bool Fits(const Graph& g, Rewrite& r) {
  const OpSchema* schema = FindOp(r.op);
  if (schema == nullptr || r.at < 0) return false;
  const Node& at = g.node(r.at);
  const int count = static_cast<int>(r.inputs.size());
  if (count < schema->min_inputs ||
      (!schema->variadic && count > static_cast<int>(schema->inputs.size())))
    return false;
  Node node;
  node.name = at.name;
  node.op = r.op;
  node.schema = schema;
  node.attrs = r.attrs;
  node.inputs = r.inputs;
  node.outputs = at.outputs;
  try {
    ValidateAttributes(*schema, node.attrs);
    OpCall call;
    call.node = &node;
    call.attrs = &node.attrs;
    call.batch = g.batch();
    for (ValueId v : r.inputs) call.inputs.push_back(v == kNoValue ? nullptr : &g.value(v).type);
    const std::vector<TensorType> out = schema->infer(call);
    if (out.size() != at.outputs.size()) return false;
    for (std::size_t i = 0; i < out.size(); ++i)
      if (out[i] != g.value(at.outputs[i]).type) return false;
  } catch (const std::exception&) {
    return false;
  }
  r.attrs = node.attrs;
  return true;
}

int Apply(Graph& g, const std::vector<Rewrite>& rewrites) {
  std::vector<int> role(g.nodes().size(), -1);  // index of the rewrite replacing the node
  std::vector<bool> dropped(g.nodes().size(), false);
  int applied = 0;
  for (std::size_t i = 0; i < rewrites.size(); ++i) {
    const Rewrite& r = rewrites[i];
    bool free = role[r.at] < 0 && !dropped[r.at];
    for (NodeId n : r.drop) free = free && role[n] < 0 && !dropped[n];
    if (!free) continue;
    for (NodeId n : r.drop) dropped[n] = true;
    role[r.at] = static_cast<int>(i);
    ++applied;
  }
  if (applied == 0) return 0;

  Graph out;
  out.name = g.name;
  out.description = g.description;
  std::vector<ValueId> map(g.values().size(), kNoValue);
  for (ValueId v = 0; v < static_cast<ValueId>(g.values().size()); ++v) {
    const Value& val = g.value(v);
    if (val.role == ValueRole::kInput) {
      map[v] = out.AddInput(val.name, val.type, val.batch_dim);
    } else if (val.role != ValueRole::kActivation) {
      map[v] = out.AddParameter(val.name, val.type, val.role == ValueRole::kBuffer);
    }
  }
  out.SetBatch(g.batch());
  auto mapped = [&](const std::vector<ValueId>& in) {
    std::vector<ValueId> m;
    for (ValueId v : in) m.push_back(v == kNoValue ? kNoValue : map[v]);
    return m;
  };
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    if (dropped[n]) continue;
    const Node& node = g.node(n);
    std::vector<std::string> names;
    for (ValueId v : node.outputs) names.push_back(g.value(v).name);
    NodeId added;
    if (role[n] >= 0) {
      const Rewrite& r = rewrites[role[n]];
      added = out.AddNode(r.op, r.attrs, mapped(r.inputs), r.scope ? *r.scope : node.scope,
                          node.name, static_cast<int>(node.outputs.size()), names);
    } else {
      added = out.AddNode(node.op, node.attrs, mapped(node.inputs), node.scope, node.name,
                          static_cast<int>(node.outputs.size()), names);
    }
    const std::vector<ValueId>& outs = out.node(added).outputs;
    for (std::size_t i = 0; i < outs.size(); ++i) {
      map[node.outputs[i]] = outs[i];
      out.value(outs[i]).type = g.value(node.outputs[i]).type;
    }
  }
  for (ValueId v : g.outputs()) out.MarkOutput(map[v]);
  g = std::move(out);
  return applied;
}

}  // namespace fuse

namespace {

using fuse::Rewrite;
using fuse::Uses;

// A dimension argument wrapped into [0, rank), or -1 when out of range.
int Wrapped(std::int64_t d, int rank) {
  if (d < -rank || d >= rank) return -1;
  return static_cast<int>(d < 0 ? d + rank : d);
}

// The channel shuffle starting at reshape node `first` (see fuse.h), if it is one.
bool MatchShuffle(const Graph& g, const Uses& uses, NodeId first, Rewrite& out) {
  const Node& r1 = g.node(first);
  if (r1.op != "reshape" || r1.outputs.size() != 1 || r1.inputs.empty()) return false;
  const ValueId x = r1.inputs[0];
  const Dims& xd = g.value(x).type.dims;
  const Dims& ad = g.value(r1.outputs[0]).type.dims;
  // [B, C, *S] -> [B, g, C/g, *S]
  if (xd.size() < 2 || ad.size() != xd.size() + 1 || ad[0] != xd[0] || ad[1] < 1 ||
      ad[1] * ad[2] != xd[1])
    return false;
  for (std::size_t i = 2; i < xd.size(); ++i)
    if (ad[i + 1] != xd[i]) return false;

  const NodeId t = uses.OnlyReader(r1.outputs[0]);
  if (t < 0 || g.node(t).op != "transpose") return false;
  const Node& tn = g.node(t);
  const int rank = static_cast<int>(ad.size());
  const int d0 = Wrapped(tn.attrs.Int("dim0"), rank), d1 = Wrapped(tn.attrs.Int("dim1"), rank);
  if (!((d0 == 1 && d1 == 2) || (d0 == 2 && d1 == 1))) return false;

  std::vector<NodeId> nodes = {first, t};
  NodeId next = uses.OnlyReader(tn.outputs[0]);
  if (next >= 0 && g.node(next).op == "contiguous") {
    nodes.push_back(next);
    next = uses.OnlyReader(g.node(next).outputs[0]);
  }
  const NodeId r2 = next;
  if (r2 < 0 || g.node(r2).op != "reshape") return false;
  const Value& y = g.value(g.node(r2).outputs[0]);
  if (y.type.dims != xd || y.type.dtype != g.value(x).type.dtype) return false;
  for (NodeId n : nodes)
    if (g.node(n).scope != g.node(r2).scope) return false;
  out = Rewrite{};
  out.drop = nodes;
  out.at = r2;
  out.op = "channel_shuffle";
  out.attrs.Set("groups", ad[1]);
  out.inputs = {x};
  return true;
}

}  // namespace

int FuseChannelShuffle(Graph& g) {
  const Uses uses(g);
  std::vector<Rewrite> found;
  std::set<NodeId> claimed;
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    Rewrite r;
    if (claimed.count(n) || !MatchShuffle(g, uses, n, r) || !fuse::Fits(g, r)) continue;
    claimed.insert(r.drop.begin(), r.drop.end());
    claimed.insert(r.at);
    found.push_back(std::move(r));
  }
  return fuse::Apply(g, found);
}

int FuseGraph(Graph& g) {
  int n = 0;
  n += FuseGelu(g);
  n += FuseSilu(g);
  n += FuseHardswish(g);
  n += FuseLayerNorm(g);
  n += FusePaddedAvgPool(g);
  n += FuseRoll(g);
  n += FuseChannelShuffle(g);
  n += FuseMultiHeadAttention(g);
  n += FuseTransformerEncoderLayer(g);
  return n;
}

}  // namespace joulecast::graph
