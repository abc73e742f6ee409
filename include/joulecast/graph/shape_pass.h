// Shape inference: one pass over the nodes in their (topological) order, each output type from the
// operator's shape rule in the registry; then the counts of every node.
//
// Errors (std::runtime_error) name the node and its operator type, with the numbers:
//   "features.0 (Conv2d): expected 3 input channels, got 1 (input 1x1x224x224)"
//   "add_3 (Add): cannot broadcast 1x64x56x56 with 1x128x28x28 (inputs layer1.0.bn2, layer1.0.downsample.1)"
//   "fc (Linear): output 4194304x4194304 has more than 2^53 elements"
#pragma once

#include <vector>

#include "joulecast/graph/graph.h"
#include "joulecast/graph/op_schema.h"

namespace joulecast::graph {

// Fills in the type of every node output at the graph's batch size. Throws as above.
void InferShapes(Graph& g);

// The counts of every node (index = node id) of a graph whose shapes are inferred.
std::vector<NodeCounts> CountNodes(const Graph& g);

// The call a schema's functions see for node `n` (types as currently inferred), with
// OpCall::transposed_parameter from IsTransposedParameter.
OpCall MakeCall(const Graph& g, NodeId n);

// True when `v` is the output of a transpose that swaps the two dimensions of a rank-2 parameter
// (role parameter): a view whose consumer reads the parameter's storage as it is laid out.
bool IsTransposedParameter(const Graph& g, ValueId v);

// Totals: macs, matrix_macs, flops and bytes summed over nodes; parameters = Graph::ParameterCount.
NodeCounts TotalCounts(const Graph& g, const std::vector<NodeCounts>& per_node);

}  // namespace joulecast::graph
