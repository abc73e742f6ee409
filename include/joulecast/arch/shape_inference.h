// Shape inference: propagates a per-sample input shape through an architecture and lists its leaf
// layers with the shapes each one sees.
//
// Shapes exclude the batch dimension (see layer.h). Output sizes follow PyTorch 1.13 exactly:
// Conv2d and MaxPool2d/AvgPool2d give floor((H + 2P - D·(K-1) - 1) / S) + 1 per spatial dimension
// (D = 1 for AvgPool2d); with ceil_mode the division rounds up, and the last window is dropped when
// it would start at or beyond H + P (PyTorch's rule: every window must start inside the input or
// the left padding). Linear acts on the last dimension; Flatten's start_dim/end_dim index the
// batched tensor (start_dim 0 would fold the batch in and is rejected).
//
// Errors (std::runtime_error) name the layer as "<name> (<type>): " and give the numbers, e.g.
//   "features.0 (Conv2d): expected 3 input channels, got 1 (input 1x224x224)"
//   "features.12 (MaxPool2d): kernel 3x3 is larger than the padded input 2x2"
//   "classifier.0 (Linear): in_features is 9216 but the input has 4096 features"
//   "conv (Conv2d): in_channels 6 is not divisible by groups 4"
//   "pool (MaxPool2d): padding 2x2 is more than half of kernel 3x3"
//   "bn (BatchNorm2d): expected 64 input channels, got 32 (input 32x56x56)"
//   "features.0 (Conv2d): expected a CxHxW input, got 4096"
//   "fc (Linear): output 4194304x4194304 has more than 2^53 elements"
// and for an input shape that is empty, non-positive or has more than 2^53 elements.
#pragma once

#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/layer.h"

namespace joulecast {

// Output shape of one leaf layer for layer.input_shape (layer.output_shape is ignored); params are
// normalised first (NormalizeLayerParams), so partial params get PyTorch's defaults. Throws as
// above; argument errors read "<name> (<type>): kernel_size: expected ...".
Shape InferOutputShape(const LayerInstance& layer);

// The module leaves of `arch`, each once, in the order of its first call (for networks without
// repeats this is PyTorch's [m for m in model.modules() if not list(m.children())]), with
// normalised params and per-sample input and output shapes, for arch.input or the explicit
// `input`. Containers, functional layers, repeats and implicit operations are omitted. Throws as
// above, and for containers:
//   "layer1.0 (Residual): body output 128x28x28 does not match shortcut output 64x56x56"
//   "features.3 (Concat): branch 1 output 64x27x27 does not match branch 0 output 64x55x55
//    outside the channels"
//   "stage2.1 (Concat): split: 58 input channels do not divide into 4 branches"
std::vector<LayerInstance> InferShapes(const Architecture& arch);
std::vector<LayerInstance> InferShapes(const Architecture& arch, const Shape& input);

// Every operation that forward() runs, in execution order: module calls (CallKind::kModule),
// repeated calls (kRepeat), functional leaves (kFunctional) and the containers' implicit
// operations (kFunctional): "Add" named "<scope>.add" after a Residual's two paths (input_shape =
// output_shape = one operand's shape) and "Cat" named "<scope>.cat" after a Concat's branches
// (input_shape = the concatenated shape, since it copies every input element once). Predictions
// sum over this list.
std::vector<LayerInstance> InferOperations(const Architecture& arch);
std::vector<LayerInstance> InferOperations(const Architecture& arch, const Shape& input);

}  // namespace joulecast
