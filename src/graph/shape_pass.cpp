#include "joulecast/graph/shape_pass.h"

#include <fmt/format.h>

#include <stdexcept>

namespace joulecast::graph {

bool IsTransposedParameter(const Graph& g, ValueId v) {
  if (v == kNoValue) return false;
  const Value& out = g.value(v);
  if (out.role != ValueRole::kActivation || out.producer < 0) return false;
  const Node& t = g.node(out.producer);
  if (t.op != "transpose" || t.inputs.empty() || t.inputs[0] == kNoValue) return false;
  const Value& w = g.value(t.inputs[0]);
  if (w.role != ValueRole::kParameter || w.type.rank() != 2) return false;
  return WrapDim(t.attrs.Int("dim0"), 2) != WrapDim(t.attrs.Int("dim1"), 2);
}

OpCall MakeCall(const Graph& g, NodeId n) {
  const Node& node = g.node(n);
  OpCall call;
  call.node = &node;
  call.attrs = &node.attrs;
  call.batch = g.batch();
  call.inputs.reserve(node.inputs.size());
  for (ValueId v : node.inputs)
    call.inputs.push_back(v == kNoValue ? nullptr : &g.value(v).type);
  call.transposed_parameter.reserve(node.inputs.size());
  for (ValueId v : node.inputs) call.transposed_parameter.push_back(IsTransposedParameter(g, v));
  for (ValueId v : node.outputs) call.outputs.push_back(g.value(v).type);
  return call;
}

void InferShapes(Graph& g) {
  for (ValueId v : g.inputs()) {
    const Value& in = g.value(v);
    for (std::int64_t d : in.type.dims)
      if (d < 1 || d > kMaxSize)
        throw std::runtime_error(fmt::format("input '{}': expected positive sizes up to 2^53, got {}",
                                             in.name, FormatDims(in.type.dims)));
    if (in.type.elements() > static_cast<double>(kMaxSize))
      throw std::runtime_error(fmt::format("input '{}': shape {} has more than 2^53 elements",
                                           in.name, FormatDims(in.type.dims)));
  }
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    const Node& node = g.node(n);
    OpCall call = MakeCall(g, n);
    call.outputs.clear();
    std::vector<TensorType> out;
    try {
      out = node.schema->infer(call);
    } catch (const std::exception& e) {
      // Name the operands when there are several, so a mismatch points at both producers.
      std::string operands;
      int activations = 0;
      for (ValueId v : node.inputs) {
        if (v == kNoValue) continue;
        const Value& val = g.value(v);
        if (val.role == ValueRole::kParameter || val.role == ValueRole::kBuffer) continue;
        if ((", " + operands + ", ").find(", " + val.name + ", ") != std::string::npos) continue;
        operands += (activations++ ? ", " : "") + val.name;
      }
      throw std::runtime_error(NodeLabel(node) + ": " + e.what() +
                               (activations > 1 ? " (inputs " + operands + ")" : ""));
    }
    if (out.size() != node.outputs.size())
      throw std::runtime_error(fmt::format("{}: the shape rule gave {} outputs for {} values",
                                           NodeLabel(node), out.size(), node.outputs.size()));
    for (std::size_t i = 0; i < out.size(); ++i) g.value(node.outputs[i]).type = out[i];
  }
}

std::vector<NodeCounts> CountNodes(const Graph& g) {
  std::vector<NodeCounts> counts(g.nodes().size());
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    const Node& node = g.node(n);
    const OpCall call = MakeCall(g, n);
    try {
      counts[n] = CountsOf(*node.schema, call);
    } catch (const std::exception& e) {
      throw std::runtime_error(NodeLabel(node) + ": " + e.what());
    }
    counts[n].parameters = 0;
    for (ValueId v : node.inputs)
      if (v != kNoValue && g.value(v).role == ValueRole::kParameter)
        counts[n].parameters += g.value(v).type.elements();
  }
  return counts;
}

NodeCounts TotalCounts(const Graph& g, const std::vector<NodeCounts>& per_node) {
  NodeCounts t;
  for (const NodeCounts& c : per_node) {
    t.macs += c.macs;
    t.matrix_macs += c.matrix_macs;
    t.flops += c.flops;
    t.bytes_read += c.bytes_read;
    t.bytes_written += c.bytes_written;
  }
  t.parameters = g.ParameterCount();
  return t;
}

}  // namespace joulecast::graph
