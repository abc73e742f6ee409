// Whole-network prediction over the operator graph (graph/graph.h): every node is resolved by the
// one fallback policy of predict/resolver.h (the profile's predictor for the node's layer type, a
// view's zero, a compute operator's proxy, the per-element predictor, or none) and the values are
// summed. A tree architecture is lowered first (frontends/tree_lowering.h). Parameters are the
// graph's, each once however often its module is called.
// Units are the profile's target per run of the whole batch (J or s), where a run is what the
// profile's active mode measured: one forward pass, or one training step (mode "train_step").
//
// Nodes without a predictor get the resolver's fallback, recorded in `method` ("zero",
// "proxy:T", "per-element:T", "none"); each counts as unmodelled, with its share of the network's
// MACs and of the total, and the totals by operator are in `unmodelled_by_op`.
// Throws std::runtime_error from shape inference (naming the layer) or when batch_size < 1.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/features/macs.h"
#include "joulecast/graph/graph.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

struct LayerEstimate {
  LayerInstance layer;  // name = node name; type = the layer form's (what a predictor is keyed by)
  LayerCounts counts;
  std::string op;       // the graph operator, e.g. "conv2d"
  std::string scope;    // module path
  double matrix_macs = 0;
  std::vector<Shape> input_shapes;  // batched, as the node sees them (parameters included)
  Shape output_shape;               // batched
  double value = 0;    // target unit per run (forward pass or training step) of the batch
  std::string method;  // "model", "zero", "per-element:ReLU", "none"
  bool modelled() const { return method == "model"; }
};

// Nodes that a fallback predicted, by operator.
struct FallbackTotal {
  std::size_t nodes = 0;
  double value = 0;
  std::string method;  // of the first such node
};

struct TypeTotal {
  std::size_t count = 0;
  double value = 0;
  double macs = 0;
};

struct NetworkEstimate {
  std::string name;
  std::string target;  // energy_j | time_s
  std::string mode = "forward";  // the profile's active mode: a run is a forward pass or a step
  std::int64_t batch_size = 1;
  Shape input;
  std::vector<LayerEstimate> layers;
  std::map<std::string, TypeTotal> by_type;
  double total = 0;  // per run of the batch
  // The same walk with every predictor replaced by its type's constant × MACs baseline
  // (LayerPredictor::baseline_per_unit; fallbacks as above): what the model is compared with in
  // `joulecast evaluate`. NaN when a predictor used has no baseline (profiles that predate it).
  double baseline_total = 0;
  double macs = 0;
  double matrix_macs = 0;  // convolutions, linear layers and matrix products, bias excluded
  double parameters = 0;
  std::size_t unmodelled_layers = 0;
  std::map<std::string, FallbackTotal> unmodelled_by_op;
  double unmodelled_macs = 0;
  double unmodelled_value = 0;  // what the fallbacks predict, in the target unit

  // {"name", "target", "mode", "batch_size", "input", "total_j"|"total_s", "per_sample_j"|"per_sample_s"
  //  (per run of the batch / batch size), "macs", "parameters",
  //  "matrix_macs", "nodes", "by_type": {type: {"count", "j"|"s", "share", "macs"}},
  //  "unmodelled": {"layers", "macs_share", "share", "by_op": {op: {"nodes", "share",
  //  "method"}}}, "layers": [{"name", "scope", "op", "type", "output_shape", "macs", "j"|"s",
  //  "share", "method"}] (with per_layer)}
  nlohmann::json ToJson(bool per_layer) const;
};

// The graph at its batch size, shapes inferred (graph::InferShapes). Throws
// std::runtime_error "<graph name>: <message>" when a predictor refuses a layer.
NetworkEstimate EstimateGraph(const Profile& profile, const graph::Graph& g);

NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch_size);
NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch_size, const Shape& input);

}  // namespace joulecast
