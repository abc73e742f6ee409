#include "joulecast/graph/fuse.h"

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace joulecast::graph {
namespace {

// For each value, the nodes that read it; `is_output` marks the graph's outputs.
struct Uses {
  std::vector<std::vector<NodeId>> readers;
  std::vector<bool> is_output;

  explicit Uses(const Graph& g) : readers(g.values().size()), is_output(g.values().size()) {
    for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n)
      for (ValueId v : g.node(n).inputs)
        if (v != kNoValue) readers[v].push_back(n);
    for (ValueId v : g.outputs()) is_output[v] = true;
  }

  // The one node that reads `v`, when it is read once and is no graph output; else -1.
  NodeId OnlyReader(ValueId v) const {
    if (is_output[v] || readers[v].size() != 1) return -1;
    return readers[v][0];
  }
};

// A dimension argument wrapped into [0, rank), or -1 when out of range.
int Wrapped(std::int64_t d, int rank) {
  if (d < -rank || d >= rank) return -1;
  return static_cast<int>(d < 0 ? d + rank : d);
}

// A matched channel shuffle: the four nodes, the shuffled input and the groups.
struct Shuffle {
  NodeId nodes[4];
  ValueId input;
  std::int64_t groups;
};

// The pattern starting at reshape node `first` (see fuse.h), if it is one.
bool MatchShuffle(const Graph& g, const Uses& uses, NodeId first, Shuffle& out) {
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

  const NodeId c = uses.OnlyReader(tn.outputs[0]);
  if (c < 0 || g.node(c).op != "contiguous") return false;
  const NodeId r2 = uses.OnlyReader(g.node(c).outputs[0]);
  if (r2 < 0 || g.node(r2).op != "reshape") return false;
  const Value& y = g.value(g.node(r2).outputs[0]);
  if (y.type.dims != xd || y.type.dtype != g.value(x).type.dtype) return false;

  for (NodeId n : {t, c, r2})
    if (g.node(n).scope != r1.scope) return false;
  out = Shuffle{{first, t, c, r2}, x, ad[1]};
  return true;
}

}  // namespace

int FuseChannelShuffle(Graph& g) {
  const Uses uses(g);
  std::vector<Shuffle> found;
  std::set<NodeId> claimed;
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    Shuffle s;
    if (claimed.count(n) || !MatchShuffle(g, uses, n, s)) continue;
    claimed.insert(s.nodes, s.nodes + 4);
    found.push_back(s);
  }
  if (found.empty()) return 0;

  // The last reshape of each pattern becomes the shuffle; its first three nodes go.
  std::vector<int> role(g.nodes().size(), -1);  // index into `found` at the last node, else -1
  std::vector<bool> dropped(g.nodes().size(), false);
  for (std::size_t i = 0; i < found.size(); ++i) {
    for (int k = 0; k < 3; ++k) dropped[found[i].nodes[k]] = true;
    role[found[i].nodes[3]] = static_cast<int>(i);
  }

  // Rebuilt in the same order: inputs and initializers, then the nodes.
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
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    if (dropped[n]) continue;
    const Node& node = g.node(n);
    std::vector<std::string> names;
    for (ValueId v : node.outputs) names.push_back(g.value(v).name);
    NodeId added;
    if (role[n] >= 0) {
      const Shuffle& s = found[role[n]];
      Attributes a;
      a.Set("groups", s.groups);
      added = out.AddNode("channel_shuffle", std::move(a), {map[s.input]}, node.scope, node.name, 1,
                          names);
    } else {
      std::vector<ValueId> inputs;
      for (ValueId v : node.inputs) inputs.push_back(v == kNoValue ? kNoValue : map[v]);
      added = out.AddNode(node.op, node.attrs, inputs, node.scope, node.name,
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
  return static_cast<int>(found.size());
}

int FuseGraph(Graph& g) { return FuseChannelShuffle(g); }

}  // namespace joulecast::graph
