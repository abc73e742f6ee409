// One concrete layer of a network (or one measured layer configuration): its PyTorch type name,
// its constructor arguments under PyTorch's argument names, and the per-sample shape it sees.
//
// This is the unit that features, predictors and measurements share. Shapes exclude the batch
// dimension: a Conv2d on a 3x224x224 image has input_shape {3, 224, 224}; an activation or Linear
// on a flat vector of N values has input_shape {N}. The batch size travels beside it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace joulecast {

using Shape = std::vector<std::int64_t>;

// How a layer takes part in a network's forward(): the first call of a registered module, a
// further call of one (torchvision's BasicBlock calls self.relu twice), or an operation that is no
// module (torch.flatten, the add after a residual block, torch.cat).
enum class CallKind { kModule, kRepeat, kFunctional };

struct LayerInstance {
  std::string name;  // dotted path in the network, e.g. "features.0"; empty for a lone layer
  std::string type;  // PyTorch class name: "Conv2d", "ReLU", "Linear", ...
  nlohmann::json
      params;          // PyTorch constructor arguments, e.g. {"in_channels": 3, "kernel_size": 11}
  Shape input_shape;   // per sample, without the batch dimension
  Shape output_shape;  // per sample, without the batch dimension
  CallKind call = CallKind::kModule;
};

// "3x224x224" for {3, 224, 224}.
std::string FormatShape(const Shape& shape);

}  // namespace joulecast
