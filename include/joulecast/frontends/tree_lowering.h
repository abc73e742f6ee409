// The module-tree architecture format (arch/architecture.h, data/architectures/README.md) lowered
// into the operator graph (graph/graph.h).
//
// Every leaf becomes one node in execution order, named as InferOperations names it (module
// calls by their path; a further call of a module "<path>#1", sharing the module's parameters;
// functional leaves by their name) with its module path as scope; a Residual becomes its two
// paths and an "add" node "<scope>.add"; a Concat its branches (after a "chunk" view of the input
// along the channels when split) and a "cat" node "<scope>.cat". Parameters are named as PyTorch
// names them ("features.0.weight", "bn1.running_mean" as a buffer).
//
// Leaf types map to operators: Conv2d→conv2d, Linear→linear, BatchNorm2d→batch_norm,
// MaxPool2d→max_pool2d, AvgPool2d→avg_pool2d, AdaptiveAvgPool2d→adaptive_avg_pool2d,
// ReLU→relu, ReLU6→relu6, Sigmoid→sigmoid, Tanh→tanh, Softmax→softmax (an implicit dim as
// PyTorch's legacy rule chooses it), Dropout→dropout, Flatten→flatten, Identity→identity,
// ChannelShuffle→channel_shuffle.
//
// The tree is checked by InferOperations first, so its errors are exactly the tree format's
// (e.g. "features.0 (Conv2d): expected 3 input channels, got 1 (input 1x224x224)").
#pragma once

#include <cstdint>

#include "joulecast/arch/architecture.h"
#include "joulecast/graph/graph.h"

namespace joulecast {

// The graph of `arch` for a batch of `batch` samples of the per-sample `input` shape (empty: the
// architecture's), shapes inferred. Throws std::runtime_error as InferOperations, and "batch size
// must be >= 1, got 0".
graph::Graph LowerArchitecture(const Architecture& arch, std::int64_t batch,
                               const Shape& input = {});

}  // namespace joulecast
