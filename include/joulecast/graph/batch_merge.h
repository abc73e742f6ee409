// Batch scaling for readers that lower a model at concrete sizes (the TorchScript and ONNX
// readers): the model is lowered at batch b and again at b + 1, and MergeBatch turns the sizes
// that follow the batch into sym_ints, so that SetBatch + InferShapes re-target the graph.
//
// The two graphs must have the same nodes (same operator, name, inputs and outputs, in the same
// order). A sym_ints attribute entry that is k·b in the first and k·(b + 1) in the second is
// stored as k with batch_index at that entry (a reshape to [b·heads, L, d]). Any other attribute
// that differs is an error.
#pragma once

#include <cstdint>

#include "joulecast/graph/graph.h"

namespace joulecast::graph {

// `a` lowered at batch b, `c` at batch b + 1: marks the sym_ints entries of `a` that scale with
// the batch. Returns false, leaving `a` as it is, when the structures differ. Throws
// std::runtime_error "layer1.0 (Reshape): attribute 'shape' depends on the batch size other than
// as one multiple of it" (or "... in a way the graph cannot express" for an attribute that is not
// sym_ints); `a` may then be partly merged.
bool MergeBatch(Graph& a, const Graph& c, std::int64_t b);

}  // namespace joulecast::graph
