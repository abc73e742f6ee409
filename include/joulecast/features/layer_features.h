// Feature recipes: how a layer configuration (layer + batch size) becomes the input row of its
// predictor, and the normaliser that turns a prediction into the target's unit.
//
// Predictors model  log(target / normaliser)  where the normaliser is the layer's MAC count (or its
// element count for layers without MACs): energy per MAC varies over a few x while energy varies
// over eight orders of magnitude, so the model learns efficiency, not size.
//
// Recipes (all sizes as natural logs; b = batch, m = MACs, the rest PyTorch's names):
//   conv2d_v1   b, H, k, Ci, Co, s, Ho, m, in elems, out elems, weights, [Ci%16==0], [Co%16==0],
//               pad
//   conv2d_v2   conv2d_v1 without the two flags, plus
//               intensity = m / (in elems + out elems + weights)   (MACs per element moved),
//               Ci' / Ci and Co' / Co, with c' = 16·ceil(c / 16)    (SIMD lanes per real channel),
//               [k == 1x1], [s == 1x1]                           (oneDNN's separate kernels)
//   conv2d_v3   conv2d_v2 plus the algorithm PyTorch's CPU convolution picks and the grouping:
//               [1x1, stride 1, undilated, b < 16]     (single-threaded ATen runs these through
//                                                       im2col + BLAS instead of oneDNN),
//               [groups 1, k <= 3, b = 1, b·Ci·H·W <= 20480]  (small inputs: ATen's native path),
//               [depthwise: groups = Ci > 1], groups, Ci / groups, Co / groups
//               (the path flags separate regimes whose time per MAC differs by 20x on one
//               thread).
//   conv2d_v4   conv2d_v3 plus, with a = ln(in elems + out elems of the batch), the hinges
//               max(0, a - 18 ln 2), max(0, a - 20 ln 2), max(0, a - 22 ln 2) (activations past
//               1, 4 and 16 MiB of float32: the time per MAC may bend where they stop fitting in
//               a cache) and [depthwise]·a (depthwise convolutions are memory-bound).
//   conv2d_v5   conv2d_v4 plus [thnn 1x1 path] times each of b, H, Ci, Co, m, in elems, out elems,
//               weights (all logs): a trend of its own for the convolutions that ATen runs as one
//               BLAS matrix product per sample, whose time per MAC is nearly flat (2-3 GMAC/s on
//               one ci-2c core) while oneDNN's varies with the channel counts; without these the
//               shared trend carries oneDNN's channel dependence into them.
//   conv2d_v6   conv2d_v5 plus the fresh-pages pair of eltwise_v2 on the output.
//               `fit` tries conv2d_v2 .. v6 for Conv2d and keeps the best selection score:
//               on the one-thread ci-2c time data v3 (forward) and v5 (train_step), on
//               getzner2023's two-core energy data v2.
//   pool2d_v1   b, H, k, C, s, Ho, m, in elems, out elems
//   linear_v1   b, in, out, m, b·in, b·out, in·out
//   eltwise_v1  b, n (per-sample elements), b·n
//   eltwise_v2  eltwise_v1 plus [out elems >= 2^23] and that flag times ln(out elems): an output
//               of 32 MiB of float32 or more is past glibc's largest mmap threshold, so every
//               call takes it from fresh pages and pays their faults (on the 2-vCPU AMD EPYC
//               development machine, 12 ns per element against 0.5 below it). `fit` tries
//               eltwise_v1 and v2 for every type whose default is eltwise_v1.
//   generic_v1  in elems, out elems, m + 1, parameters + 1
//   rows_v1     b, rows = in elems / r, r, in elems; r = the row a LayerNorm normalises (the
//               product of normalized_shape) or a Softmax reduces (the size of its dim)
//   matmul_v1   P, m, k, n, m·k·n·P (= MACs), P·m·k, P·k·n, P·m·n: P = the products of the
//               batch, its output elements / (m·n) (the batch times every leading dimension);
//               MatMul and Einsum (whose form factors its contraction into batch, m, k, n)
//   attention_v1 b, L (queries), S (keys), E, heads, E / heads, MACs, b·heads·L·S (attention
//               scores), b·L·E (multi-head attention, graph/ops/attention.cpp's counts)
//   sdpa_v1     P, L (queries), S' (keys: S, or min(S, window)), E, Ev, MACs, P·L·S' (the
//               scores), causal flag (0/1, not logged): scaled dot-product attention, P = the
//               batch times the query's leading dimensions (heads)
//   gather_v1   indices, out elems, row width (the last output dimension): embedding lookups
// k, s and Ho are geometric means over height and width; pad is (pad_h + pad_w) / 2, not logged.
// Throws std::invalid_argument naming the recipe and layer when the layer does not fit the recipe.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "joulecast/arch/layer.h"
#include "joulecast/features/macs.h"

namespace joulecast {

// The two algorithm flags of conv2d_v3 (1.0 or 0.0), from PyTorch's ConvParams::use_mkldnn rule
// for float32 on CPU with one thread; sample_elements = Ci·H·W.
struct ConvPathFlags {
  double thnn_1x1 = 0, native_small = 0;
};
ConvPathFlags ConvPath(std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw,
                       std::int64_t dh, std::int64_t dw, double batch, double groups,
                       double sample_elements);

// The four values conv2d_v4 adds to conv2d_v3's row, from the batch's input and output element
// counts and conv2d_v3's depthwise flag (1.0 or 0.0): the three activation-size hinges and
// depthwise · ln(input + output elements). Shared with BatchPredictor's fast walk.
std::array<double, 4> Conv2dV4Extras(double input_elements, double output_elements,
                                     double depthwise);

// The eight values conv2d_v5 adds to conv2d_v4's row `v4` (27 values): v4[17] (thnn_1x1) times
// v4[0], v4[1], v4[3], v4[4], v4[7], v4[8], v4[9], v4[10]. Shared with BatchPredictor's fast walk.
std::array<double, 8> Conv2dV5Extras(const double* v4);

// The recipe joulecast uses by default for a PyTorch layer type.
std::string DefaultRecipe(const std::string& layer_type);
// The recipes `fit` tries for a layer type (it keeps the one with the best selection score);
// DefaultRecipe(type) is always among them.
std::vector<std::string> CandidateRecipes(const std::string& layer_type);
// Column names of a recipe; throws std::invalid_argument on an unknown recipe.
std::vector<std::string> RecipeFeatureNames(const std::string& recipe);
// One row of features.
Eigen::RowVectorXd ComputeFeatures(const std::string& recipe, const LayerInstance& layer,
                                   std::int64_t batch_size);
// MACs of the batch, or its input element count where the layer has no MACs; always >= 1.
double Normaliser(const LayerInstance& layer, std::int64_t batch_size);

// The same two from counts already taken with CountLayer(layer, batch_size), for callers that
// need both: counting walks the layer's parameters and shapes, so it is done once per layer.
Eigen::RowVectorXd ComputeFeatures(const std::string& recipe, const LayerInstance& layer,
                                   std::int64_t batch_size, const LayerCounts& counts);
double Normaliser(const LayerCounts& counts);

}  // namespace joulecast
