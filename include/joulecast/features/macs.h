// Operation and element counts of one layer applied to a whole batch, in double precision (exact to
// 2^53, and never wrapping: an absurd layer yields a huge but finite number).
//
// MACs follow ptflops, which the getzner2023 data set recorded, for the whole batch B:
//   Conv2d     B·Ho·Wo·Co·(Kh·Kw·Ci/groups + bias)
//   Linear     B·(rows)·(I·O + bias·O)            (rows = product of the non-feature input dims)
//   MaxPool2d  ⌊Kh·Kw·Ho·Wo·C·B / 2⌋               (the data set's convention)
//   AvgPool2d, AdaptiveAvgPool2d, BatchNorm2d, activations, Dropout: B·(input elements)
//   Flatten, Identity: 0
// Element counts are the input and output tensors and the parameters.
#pragma once

#include <cstdint>

#include "joulecast/arch/layer.h"

namespace joulecast {

struct LayerCounts {
  double macs = 0;
  double input_elements = 0;   // whole batch
  double output_elements = 0;  // whole batch
  double parameters = 0;       // weights and biases
};

// Throws std::invalid_argument "Conv2d: missing parameter 'kernel_size'" and the like when the
// layer lacks what its type needs, or its shapes are empty; unknown types count elements only.
LayerCounts CountLayer(const LayerInstance& layer, std::int64_t batch_size);

// Product of the dimensions as a double.
double Elements(const Shape& shape);

// [h, w] from a parameter that is an int or a two-element array; throws naming `key`.
std::pair<std::int64_t, std::int64_t> PairParam(const LayerInstance& layer, const char* key);

}  // namespace joulecast
