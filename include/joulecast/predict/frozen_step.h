// A training step with frozen parameters, from a profile whose records split an operator's step
// into parts (a CPU time profile: each operator measured alone, its activation inputs requiring
// gradients, SGD with momentum on its parameters):
//   f_n  forward                                  (mode forward)
//   g_n  forward + the gradient of its activation inputs, parameters frozen   (mode input_grad)
//   t_n  forward + every gradient + the update of its parameters              (mode train_step)
// so g_n − f_n is the input-gradient part and t_n − g_n the weight-gradient and update part.
//
// Per node, with a_n and p_n the shares of the input-gradient work that remains for its
// activation inputs and for its parameters (Σ_{i needs a gradient} w_i / Σ_i w_i over the
// floating activation inputs, resp. the parameters, buffers left out; w_i the work of input i's
// gradient kernels from graph/op_schema.h GpuForm, a kernel's work max(FLOPs, bytes) of
// predict/gpu_op_model.h WorkOf; by count where those kernels carry no work, as batch_norm's
// element-wise proxy):
//   output needs no gradient   f_n  (before the first trainable parameter, or fed only by
//                              frozen parameters and the network's input)
//   no parameters              f_n + (t_n − f_n) · a_n
//   parameters                 f_n + (g_n − f_n) · a_n + (t_n − g_n) · p_n
// g_n is clamped to [f_n, t_n] (measured, the parts are ordered; predicted separately they can
// cross). A parameterised operator whose type has no input_grad predictor takes g_n = f_n + (t_n −
// f_n) · W_act / (W_act + W_par) from the same kernel work (counted as derived_nodes). A value
// needs a gradient as predict/gpu_network.h NeedsGradient says. The full step is the same rule with
// nothing frozen, which differs from the plain sum Σ t_n: the network's input needs no gradient,
// so its first layer computes only its weight gradient.
//
// Units: the profile's target per training step of the batch. Throws when the profile lacks one of
// the three modes ("models/x.json has no input_grad predictors: ..."), NeedsGradient's errors (a
// scope that matches nothing, everything frozen) and EstimateGraph's.
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
  std::size_t derived_nodes = 0;  // parameterised nodes without an input_grad predictor
  double trainable_parameters = 0, parameters = 0;
  double saving() const { return full > 0 ? 1 - step / full : 0; }
  // {"name", "target", "frozen", "total_j"|"total_s", "full_step_j"|..., "plain_sum_...",
  //  "saving", "forward_only_nodes", "partial_nodes", "derived_nodes", "trainable_parameters",
  //  "parameters"}
  nlohmann::json ToJson() const;
};

FrozenStepEstimate EstimateFrozenStep(const Profile& profile, const graph::Graph& g,
                                      const std::vector<std::string>& frozen,
                                      const std::string& where);

}  // namespace joulecast
