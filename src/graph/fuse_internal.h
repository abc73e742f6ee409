// The machinery the fusion rules of joulecast/graph/fuse.h share (src/graph/fuse*.cpp): who reads
// a value, a rewrite (nodes out, one registry operator in), its check against the shape rules, and
// the rebuild of the graph. Private to the graph library.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "joulecast/graph/graph.h"

namespace joulecast::graph::fuse {

// For each value, the distinct nodes that read it (in node order); `is_output` marks the graph's
// outputs.
struct Uses {
  std::vector<std::vector<NodeId>> readers;
  std::vector<bool> is_output;

  explicit Uses(const Graph& g);
  // The one node that reads `v` (once or several times), when no other node reads it and it is
  // no graph output; else -1.
  NodeId OnlyReader(ValueId v) const;
  // True when every reader of `v` is in `nodes` and `v` is no graph output.
  bool ReadOnlyBy(ValueId v, const std::set<NodeId>& nodes) const;
};

// One rewrite: the nodes `drop` go, and node `at` (the last node of the pattern, in graph order)
// is replaced by a node of operator `op` with `attrs` reading `inputs` (values of the graph, all
// computed before `at`), which keeps `at`'s name, output names and output types, and `at`'s scope
// unless `scope` is given.
struct Rewrite {
  std::vector<NodeId> drop;
  NodeId at = -1;
  std::string op;
  Attributes attrs;
  std::vector<ValueId> inputs;
  std::optional<std::string> scope;
};

// True when the registry's `op` accepts the rewrite's attributes (completed with their defaults)
// and inputs, and its shape rule gives exactly the output types of `at`.
bool Fits(const Graph& g, Rewrite& r);

// Applies the rewrites in order, skipping one that shares a node with one applied before; returns
// how many it applied. The graph is rebuilt: inputs and initializers first, then the nodes in
// their order; every value keeps its name and type.
int Apply(Graph& g, const std::vector<Rewrite>& rewrites);

// The node computing `v`, or null for an input or initializer.
const Node* Producer(const Graph& g, ValueId v);
// The `scalar` attribute of a binary element-wise node (add, sub, mul, div, pow) with one input.
std::optional<double> ScalarOf(const Node& n);
// |a - b| <= rel·|b|.
bool Near(double a, double b, double rel = 1e-4);
// True for views that only rename or reshape the same elements, and for contiguous: reshape,
// transpose, permute, contiguous, squeeze, unsqueeze, flatten.
bool IsViewLike(const std::string& op);
// True when `v` is a parameter (not a buffer) of rank `rank` (any rank when -1).
bool IsParameter(const Graph& g, ValueId v, int rank = -1);

}  // namespace joulecast::graph::fuse
