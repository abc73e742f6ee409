// What the graph tests share: a graph of one node on fresh inputs and parameters (OneOpGraph),
// attributes from a braced list (A) and a graph's operators in node order (Ops).
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "joulecast/graph/graph.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast::graph {

inline Attributes A(std::initializer_list<std::pair<std::string, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.Set(k, v);
  return a;
}

inline std::vector<std::string> Ops(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes()) ops.push_back(n.op);
  return ops;
}

class OneOpGraph {
 public:
  // An input named "in<k>" (no batch dimension) of `d` and type `t`.
  ValueId In(Dims d, DType t = DType::kFloat32) {
    return g.AddInput("in" + std::to_string(k_++), TensorType{t, std::move(d)}, -1);
  }
  // A float32 parameter named "p<k>" of `d`.
  ValueId Param(Dims d) {
    return g.AddParameter("p" + std::to_string(k_++), TensorType{DType::kFloat32, std::move(d)});
  }
  // The node calling `op` on `ins`, added at the top level with shapes inferred.
  NodeId Add(const std::string& op, Attributes a, const std::vector<ValueId>& ins,
             int outputs = 1) {
    const NodeId n = g.AddNode(op, std::move(a), ins, "", "", outputs);
    InferShapes(g);
    return n;
  }
  Graph g;

 private:
  int k_ = 0;
};

}  // namespace joulecast::graph
