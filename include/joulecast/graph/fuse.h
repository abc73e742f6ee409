// Fusion rules: rewrites of a lowered graph that every reader shares (the TorchScript reader
// today, the ONNX reader next), in the manner of nn-Meter's kernel_detector rules. A reader that
// lowers operation by operation sees a module's functional code as its primitive operations; a
// rule replaces one exact pattern of them by the registry operator it computes, so that a
// profile's predictor for that operator (and not the per-element fallback of its pieces) costs
// it, as it does when the same network comes as a module tree. Each rule matches its documented
// pattern only; anything else (a near-miss) is left as it is.
//
// Rules:
//   channel shuffle  torchvision's shufflenetv2.channel_shuffle(x, g), as torch.jit.trace
//                    records it, on x of shape [B, C, *S] (S: any spatial sizes, [H, W] there):
//                      a = reshape(x)      to [B, g, C/g, *S]
//                      b = transpose(a)    dims 1 and 2 (in either order; negative dims wrapped)
//                      c = contiguous(b)
//                      y = reshape(c)      to [B, C, *S], x's shape
//                    becomes y = channel_shuffle(x, groups = g). The four nodes must share one
//                    scope, and a, b and c have no other use and are no graph output. The new
//                    node keeps that scope and takes the last reshape's name and output name, so
//                    later nodes and the graph's outputs are unchanged.
//
// Shapes must be inferred (InferShapes, or the reader's own inference); the rewritten graph keeps
// every other value's type, and a later SetBatch + InferShapes re-targets it as before.
#pragma once

#include "joulecast/graph/graph.h"

namespace joulecast::graph {

// Applies the channel-shuffle rule everywhere; returns how many patterns it replaced.
int FuseChannelShuffle(Graph& g);

// Every rule above, in order; returns the number of rewrites.
int FuseGraph(Graph& g);

}  // namespace joulecast::graph
