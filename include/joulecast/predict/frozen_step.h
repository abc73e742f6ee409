// A training step with frozen parameters, from a profile that has forward and train_step
// predictors (a CPU time profile: each operator measured alone, its activation inputs requiring
// gradients, SGD with momentum on its parameters).
//
// Per node n, f_n its forward prediction and t_n its train_step prediction (forward, the
// gradient of every floating input, the update of its parameters):
//   output needs no gradient   f_n: forward only (the node lies before the first trainable
//                              parameter, or only frozen parameters and the network's input
//                              feed it)
//   otherwise                  f_n + (t_n − f_n) · k_n,  k_n = Σ_{i needs a gradient} w_i /
//                              Σ_{i floating} w_i: the share of the backward work that remains,
//                              w_i the work of input i's gradient kernels (graph/op_schema.h
//                              GpuForm; a kernel's work is max(FLOPs, bytes) of
//                              predict/gpu_op_model.h WorkOf). A parameter's update is counted
//                              with its gradient.
// A value needs a gradient as predict/gpu_network.h NeedsGradient says. The full step is the same
// rule with nothing frozen, which differs from the plain sum Σ t_n: the network's input needs no
// gradient, so its first layers compute none for it.
//
// Units: the profile's target per training step of the batch. Throws when the profile lacks
// either mode ("models/x.json has no forward predictors: a frozen step needs forward and
// train_step"), NeedsGradient's errors (a scope that matches nothing, everything frozen) and
// EstimateGraph's.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/graph/graph.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

struct FrozenStepEstimate {
  std::string name, target;
  std::vector<std::string> frozen;
  double plain_sum = 0;  // Σ t_n (what predict --mode train_step reports)
  double full = 0;       // the rule with nothing frozen
  double step = 0;       // the rule with `frozen`
  std::size_t forward_only_nodes = 0, partial_nodes = 0;
  double trainable_parameters = 0, parameters = 0;
  double saving() const { return full > 0 ? 1 - step / full : 0; }
  // {"name", "target", "frozen", "total_j"|"total_s", "full_step_j"|..., "plain_sum_...",
  //  "saving", "forward_only_nodes", "partial_nodes", "trainable_parameters", "parameters"}
  nlohmann::json ToJson() const;
};

FrozenStepEstimate EstimateFrozenStep(const Profile& profile, const graph::Graph& g,
                                      const std::vector<std::string>& frozen,
                                      const std::string& where);

}  // namespace joulecast
