#include "joulecast/graph/graph.h"

#include <fmt/format.h>

#include <stdexcept>

#include "joulecast/graph/op_schema.h"

namespace joulecast::graph {

std::string NodeLabel(const Node& node) {
  const std::string type = node.schema ? node.schema->type : node.op;
  return node.name.empty() ? type : node.name + " (" + type + ")";
}

ValueId Graph::NewValue(Value v) {
  if (value_index_.count(v.name))
    throw std::runtime_error(fmt::format("duplicate value name '{}'", v.name));
  const ValueId id = static_cast<ValueId>(values_.size());
  value_index_[v.name] = id;
  values_.push_back(std::move(v));
  return id;
}

ValueId Graph::AddInput(const std::string& name, const TensorType& type, int batch_dim) {
  if (batch_dim >= type.rank())
    throw std::runtime_error(fmt::format("input '{}': batch_dim {} is out of range for shape {}",
                                         name, batch_dim, FormatDims(type.dims)));
  Value v{name, type, ValueRole::kInput, -1, batch_dim};
  const ValueId id = NewValue(std::move(v));
  inputs_.push_back(id);
  if (batch_dim >= 0) batch_ = type.dims[batch_dim];
  return id;
}

ValueId Graph::AddParameter(const std::string& name, const TensorType& type, bool buffer) {
  auto it = value_index_.find(name);
  if (it != value_index_.end()) {
    const Value& old = values_[it->second];
    const ValueRole role = buffer ? ValueRole::kBuffer : ValueRole::kParameter;
    if (old.role != role || old.type != type)
      throw std::runtime_error(
          fmt::format("parameter '{}' is declared twice with different shapes ({}, {})", name,
                      FormatDims(old.type.dims), FormatDims(type.dims)));
    return it->second;
  }
  for (std::int64_t d : type.dims)
    if (d < 0 || d > kMaxSize)
      throw std::runtime_error(fmt::format("parameter '{}': size {} is out of range", name, d));
  return NewValue(Value{name, type, buffer ? ValueRole::kBuffer : ValueRole::kParameter, -1, -1});
}

std::string Graph::UniqueNodeName(const std::string& scope, const std::string& op) {
  const std::string base = scope.empty() ? op : scope;
  int& uses = name_uses_[base];
  std::string name = uses == 0 ? base : fmt::format("{}#{}", base, uses);
  ++uses;
  while (node_index_.count(name) || value_index_.count(name)) {
    name = fmt::format("{}#{}", base, uses);
    ++uses;
  }
  return name;
}

NodeId Graph::AddNode(const std::string& op, Attributes attrs, const std::vector<ValueId>& inputs,
                      const std::string& scope, const std::string& name, int num_outputs,
                      const std::vector<std::string>& output_names) {
  const OpSchema& schema = GetOp(op);
  Node n;
  n.name = name.empty() ? UniqueNodeName(scope, op) : name;
  if (node_index_.count(n.name))
    throw std::runtime_error(fmt::format("duplicate node name '{}'", n.name));
  const std::string label = n.name + " (" + schema.type + ")";
  try {
    ValidateAttributes(schema, attrs);
  } catch (const std::exception& e) {
    throw std::runtime_error(label + ": " + e.what());
  }
  const int max_inputs = schema.variadic ? -1 : static_cast<int>(schema.inputs.size());
  const int count = static_cast<int>(inputs.size());
  if (count < schema.min_inputs || (max_inputs >= 0 && count > max_inputs)) {
    throw std::runtime_error(fmt::format(
        "{}: {} takes {} inputs, got {}", label, op,
        max_inputs < 0                    ? fmt::format("at least {}", schema.min_inputs)
        : max_inputs == schema.min_inputs ? std::to_string(max_inputs)
                                          : fmt::format("{} to {}", schema.min_inputs, max_inputs),
        count));
  }
  for (int i = 0; i < count; ++i) {
    const ValueId v = inputs[i];
    if (v == kNoValue) {
      const bool optional = i < static_cast<int>(schema.inputs.size()) &&
                            !schema.inputs[i].empty() && schema.inputs[i].back() == '?';
      if (!optional)
        throw std::runtime_error(fmt::format(
            "{}: input {} ({}) is required", label, i,
            i < static_cast<int>(schema.inputs.size()) ? schema.inputs[i] : schema.inputs.back()));
      continue;
    }
    if (v < 0 || v >= static_cast<ValueId>(values_.size()))
      throw std::runtime_error(
          fmt::format("node '{}': input {} is not a value of this graph", n.name, i));
  }
  if (schema.num_outputs >= 0) num_outputs = schema.num_outputs;
  if (!output_names.empty() && schema.num_outputs < 0)
    num_outputs = static_cast<int>(output_names.size());
  if (num_outputs < 1)
    throw std::runtime_error(fmt::format("{}: needs at least one output", label));
  if (!output_names.empty() && static_cast<int>(output_names.size()) != num_outputs)
    throw std::runtime_error(fmt::format("{}: {} has {} outputs, {} named", label, op, num_outputs,
                                         output_names.size()));
  n.op = op;
  n.schema = &schema;
  n.attrs = std::move(attrs);
  n.inputs = inputs;
  n.scope = scope;
  const NodeId id = static_cast<NodeId>(nodes_.size());
  for (int i = 0; i < num_outputs; ++i) {
    Value v;
    v.name = !output_names.empty() ? output_names[i]
             : num_outputs == 1    ? n.name
                                   : fmt::format("{}:{}", n.name, i);
    v.role = ValueRole::kActivation;
    v.producer = id;
    n.outputs.push_back(NewValue(std::move(v)));
  }
  node_index_[n.name] = id;
  nodes_.push_back(std::move(n));
  return id;
}

void Graph::MarkOutput(ValueId v) {
  if (v < 0 || v >= static_cast<ValueId>(values_.size()))
    throw std::runtime_error(fmt::format("output {} is not a value of this graph", v));
  outputs_.push_back(v);
}

ValueId Graph::FindValue(const std::string& name) const {
  auto it = value_index_.find(name);
  return it == value_index_.end() ? -1 : it->second;
}

NodeId Graph::FindNode(const std::string& name) const {
  auto it = node_index_.find(name);
  return it == node_index_.end() ? -1 : it->second;
}

void Graph::SetBatch(std::int64_t b) {
  if (b < 1) throw std::runtime_error(fmt::format("batch size must be >= 1, got {}", b));
  if (b > kMaxSize) throw std::runtime_error(fmt::format("batch size {} is above 2^53", b));
  for (ValueId v : inputs_) {
    Value& val = values_[v];
    if (val.batch_dim >= 0) val.type.dims[val.batch_dim] = b;
  }
  batch_ = b;
}

double Graph::ParameterCount() const {
  double n = 0;
  for (const Value& v : values_)
    if (v.role == ValueRole::kParameter) n += v.type.elements();
  return n;
}

namespace {

// Per value: whether it is a parameter under one of `scopes`; throws naming `option` for a scope
// that matches no parameter.
std::vector<bool> ParametersUnder(const Graph& g, const std::vector<std::string>& scopes,
                                  const char* option) {
  const auto under = [](const std::string& name, const std::string& scope) {
    return name == scope ||
           (name.size() > scope.size() && name.compare(0, scope.size(), scope) == 0 &&
            name[scope.size()] == '.');
  };
  std::vector<bool> in(g.values().size(), false);
  std::vector<bool> used(scopes.size(), false);
  for (std::size_t v = 0; v < g.values().size(); ++v) {
    if (g.values()[v].role != ValueRole::kParameter) continue;
    for (std::size_t i = 0; i < scopes.size(); ++i) {
      if (under(g.values()[v].name, scopes[i])) in[v] = used[i] = true;
    }
  }
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (!used[i]) {
      throw std::runtime_error(std::string(option) + ": '" + scopes[i] +
                               "' matches no parameter or module scope");
    }
  }
  return in;
}

}  // namespace

std::vector<bool> FrozenParameters(const Graph& g, const std::vector<std::string>& scopes) {
  return ParametersUnder(g, scopes, "--freeze");
}

std::vector<std::string> FrozenByTrainable(const Graph& g,
                                           const std::vector<std::string>& trainable) {
  const std::vector<bool> keep = ParametersUnder(g, trainable, "--trainable");
  std::vector<std::string> frozen;
  for (std::size_t v = 0; v < g.values().size(); ++v) {
    if (g.values()[v].role == ValueRole::kParameter && !keep[v])
      frozen.push_back(g.values()[v].name);
  }
  return frozen;
}

}  // namespace joulecast::graph
