// The operator graph: a network as a dataflow graph of tensor operations, in the manner of
// PyTorch's JIT IR (torch/csrc/jit/ir/ir.h) and ONNX's GraphProto.
//
//   Value  a tensor: a graph input (the batch of images or token ids), a parameter or buffer of a
//          module (named by its full path, "features.0.weight", as named_parameters() names it),
//          or the output of a node. Its type holds the full shape, batch dimension included.
//   Node   one call of an operator of the registry (op_schema.h): its inputs and outputs, typed
//          attributes, and the module scope it ran in (the named_modules() path, "layer1.0.conv1";
//          "" at the top level), so that a module called twice gives two nodes of one scope and
//          its parameters, being values, count once.
//
// Nodes are kept in a topological order (every input is a graph input, a parameter or the output
// of an earlier node); AddNode enforces it. Shapes are filled in by InferShapes (shape_pass.h), at
// the graph's batch size: graph inputs carry which dimension is the batch, so SetBatch re-targets
// them and a new shape pass follows.
//
// Errors (std::runtime_error): "duplicate value name 'x'", "node 'fc': input 3 is not a value of
// this graph", "parameter 'fc.weight' is declared twice with different shapes (10x20, 10x21)".
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "joulecast/graph/attributes.h"
#include "joulecast/graph/tensor_type.h"

namespace joulecast::graph {

using ValueId = int;
using NodeId = int;
constexpr ValueId kNoValue = -1;  // an optional input left out (a convolution without bias)

enum class ValueRole { kInput, kParameter, kBuffer, kActivation };

struct Value {
  std::string name;
  TensorType type;
  ValueRole role = ValueRole::kActivation;
  NodeId producer = -1;  // activations: the node that computes it
  int batch_dim = -1;    // inputs: the dimension that is the batch (-1: none)
};

struct OpSchema;

struct Node {
  std::string name;  // unique in the graph; e.g. "layer1.0.conv1", "layer1.0.relu#1", "add_3"
  std::string op;    // registry name, e.g. "conv2d"
  const OpSchema* schema = nullptr;  // set by AddNode
  Attributes attrs;                  // complete: defaults filled in by AddNode
  std::vector<ValueId> inputs;       // kNoValue for an absent optional input
  std::vector<ValueId> outputs;
  std::string scope;  // module path
};

class Graph {
 public:
  std::string name;
  std::string description;

  // A graph input of type `type`; `batch_dim` is the dimension that holds the batch (-1: none).
  ValueId AddInput(const std::string& name, const TensorType& type, int batch_dim = 0);
  // A parameter (or, with buffer, a buffer such as BatchNorm's running mean) of fixed shape. The
  // same name declared again with the same type returns the first value (a shared module).
  ValueId AddParameter(const std::string& name, const TensorType& type, bool buffer = false);
  // A node calling `op` (looked up in the registry; attributes validated and completed by
  // ValidateAttributes). Its `num_outputs` outputs are new activation values named
  // "<node name>" (one output) or "<node name>:<i>", with types left empty until InferShapes.
  // An empty `name` is made unique from the scope and the op ("layer1.0.relu", then
  // "layer1.0.relu#1", ...; at the top level "<op>", "<op>#1"); `output_names`, when given, names
  // the outputs instead (graph JSON keeps its names). Throws on an unknown op (naming
  // it and, when given, `where`), on attribute errors, a bad input id or a wrong input count.
  NodeId AddNode(const std::string& op, Attributes attrs, const std::vector<ValueId>& inputs,
                 const std::string& scope, const std::string& name = "", int num_outputs = 1,
                 const std::vector<std::string>& output_names = {});
  void MarkOutput(ValueId v);

  const std::vector<Value>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  Value& value(ValueId v) { return values_.at(v); }
  const Value& value(ValueId v) const { return values_.at(v); }
  const Node& node(NodeId n) const { return nodes_.at(n); }
  Node& node(NodeId n) { return nodes_.at(n); }
  // -1 when absent.
  ValueId FindValue(const std::string& name) const;
  NodeId FindNode(const std::string& name) const;

  // The batch size the shapes are at (set by SetBatch; 1 until then).
  std::int64_t batch() const { return batch_; }
  // Sets every batched input's batch dimension to `b` (>= 1, else throws "batch size must be
  // >= 1, got 0"); call InferShapes afterwards.
  void SetBatch(std::int64_t b);

  // Elements of all parameters (buffers excluded): each parameter once, however often it is used.
  double ParameterCount() const;

 private:
  std::string UniqueNodeName(const std::string& scope, const std::string& op);
  ValueId NewValue(Value v);

  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::unordered_map<std::string, ValueId> value_index_;
  std::unordered_map<std::string, NodeId> node_index_;
  std::unordered_map<std::string, int> name_uses_;
  std::int64_t batch_ = 1;
};

// "layer1.0.conv1 (conv2d)" or "conv2d" for an unnamed node: how errors name a node.
std::string NodeLabel(const Node& node);

// The parameters (index = value id) that `scopes` freeze: a parameter whose name is a scope or
// lies under one, at a '.' ("layer1" freezes "layer1.0.conv1.weight", not "layer10.weight").
// Throws "--freeze: 'layer9' matches no parameter or module scope" for a scope that freezes
// nothing.
std::vector<bool> FrozenParameters(const Graph& g, const std::vector<std::string>& scopes);

// --trainable as the complement of --freeze: the names of the parameters that lie under none of
// `trainable` (same matching), in graph order, to be frozen. Throws "--trainable: 'x' matches no
// parameter or module scope".
std::vector<std::string> FrozenByTrainable(const Graph& g,
                                           const std::vector<std::string>& trainable);

}  // namespace joulecast::graph
