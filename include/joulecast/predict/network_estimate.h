// Whole-network prediction: walk an architecture (InferOperations gives every operation that
// forward() runs, module calls, repeated calls, functional layers and the residual adds and
// concatenations, with its input and output shapes), predict each with the profile's predictor
// for its type, and sum. Parameters are counted once per module (not per repeated call).
// Units are the profile's target per run of the whole batch (J or s), where a run is what the
// profile's active mode measured: one forward pass, or one training step (mode "train_step").
//
// Operations whose type has no predictor get an explicit fallback, recorded in `method`:
//   "zero"            Dropout (identity in inference), Flatten, Identity: views, no work
//   "per-element:T"   any other type: the predictor of an element-wise type T in the profile (ReLU,
//                     else Sigmoid, Tanh, Softmax) applied to the layer's input elements, since
//                     such layers (pools, normalisation, Add, Cat, ChannelShuffle) are bound by
//                     memory traffic as element-wise layers are
//   "none"            no element-wise predictor exists either: the layer counts 0 and is flagged
// Every fallback layer is counted as unmodelled, with its share of the network's MACs.
// Throws std::runtime_error from shape inference (naming the layer) or when batch_size < 1.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/features/macs.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

struct LayerEstimate {
  LayerInstance layer;
  LayerCounts counts;
  double value = 0;    // target unit per run (forward pass or training step) of the batch
  std::string method;  // "model", "zero", "per-element:ReLU", "none"
  bool modelled() const { return method == "model"; }
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
  double parameters = 0;
  std::size_t unmodelled_layers = 0;
  double unmodelled_macs = 0;
  double unmodelled_value = 0;  // what the fallbacks predict, in the target unit

  // {"name", "target", "mode", "batch_size", "input", "total_j"|"total_s", "per_sample_j"|"per_sample_s"
  //  (per run of the batch / batch size), "macs", "parameters",
  //  "by_type": {type: {"count", "j"|"s", "share", "macs"}}, "unmodelled": {"layers",
  //  "macs_share"}, "layers": [...] (with per_layer)}
  nlohmann::json ToJson(bool per_layer) const;
};

NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch_size);
NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch_size, const Shape& input);

}  // namespace joulecast
