// The executable form of an operator graph, what the torch runner runs for a whole graph network
// (`collect --architecture vit_b_16`) and for one operator drawn by the sampler (a one-node
// graph): every value with its concrete shape and dtype, every node with its registry name, the
// ids of its inputs (-1 for an absent optional one) and outputs, and its attributes as plain JSON
// at the graph's batch size (sym_ints resolved), so that the runner needs no shape rules:
//
//   {"values": [{"name", "shape", "dtype", "role": "input"|"parameter"|"buffer"|"activation"}],
//    "nodes":  [{"name", "op", "inputs": [ids], "outputs": [ids], "attrs": {...}}],
//    "outputs": [ids], "macs": total MACs of the graph (graph/op_schema.h's counts)}
//
// How each operator runs in libtorch is the runner's (src/collect_torch/), which refuses an
// operator it does not know by naming the node and operator.
#pragma once

#include <nlohmann/json.hpp>

#include "joulecast/graph/graph.h"

namespace joulecast {

// `g` must have its shapes inferred (graph/shape_pass.h); throws std::runtime_error otherwise.
nlohmann::json RunPlan(const graph::Graph& g);

}  // namespace joulecast
