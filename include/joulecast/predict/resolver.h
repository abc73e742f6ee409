// The one place that decides how a node of the operator graph is predicted with a profile
// (the fallback policy), used by the network estimate and the batch predictor alike:
//
//   1. "model"            the profile has a predictor for the node's layer form type (the
//                         operator's `layer` in graph/op_schema.h: Conv2d, Linear, GELU, ...)
//   2. "zero"             a view or an operator that is free at inference (cost class view:
//                         reshape, permute, flatten, dropout, identity)
//   3. "proxy:T"          a compute-bound operator without a predictor whose schema names a proxy
//                         layer that the profile can predict (matmul as a Linear of the same
//                         M, K, N; conv1d as a Conv2d of height 1)
//   4. "per-element:T"    element-wise, reduction and data-movement operators (and the legacy
//                         layers BatchNorm2d, pools, Add, Cat, ChannelShuffle when a profile lacks
//                         them): the predictor of an element-wise type T of the profile (ReLU,
//                         else Sigmoid, Tanh, Softmax) on the layer's input elements, since such
//                         operators are bound by memory traffic as activations are
//   5. "none"             nothing applies (a compute-bound operator without a proxy the profile
//                         can predict): the node counts 0 and is flagged
// Everything but "model" is reported as unmodelled, with its share of the total by operator.
#pragma once

#include <cstdint>
#include <string>

#include "joulecast/arch/layer.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

struct Resolution {
  std::string method;                         // "model", "zero", "proxy:Linear", ...
  const LayerPredictor* predictor = nullptr;  // null for zero and none
  LayerInstance layer;                        // what the predictor sees (per-sample shapes)
  std::int64_t batch = 1;                     // the batch the predictor sees
  bool modelled() const { return method == "model"; }
};

class Resolver {
 public:
  // Keeps a pointer to `profile` (which must outlive the resolver).
  explicit Resolver(const Profile& profile);
  // `call` = graph::MakeCall(g, n) for an inferred graph; `name` names the layer.
  Resolution Resolve(const graph::Node& node, const graph::OpCall& call) const;

 private:
  const Profile* profile_;
  const LayerPredictor* elementwise_ = nullptr;
  std::string elementwise_type_;
};

// A layer form (batched dims) as the LayerInstance predictors see (per-sample shapes) and its
// batch; a rank-0 or rank-1 input is one sample of its elements.
LayerInstance ToLayerInstance(const graph::LayerForm& form, const std::string& name,
                              std::int64_t* batch);

}  // namespace joulecast
