// Layer configurations to measure: random ones drawn from documented ranges per layer type
// (`collect --layer TYPE --samples N`), or the exact operations of a real network
// (`collect --configs-from ARCH`).
//
// Determinism: sample i of a type depends only on (seed, type, i), through a 64-bit Mersenne
// Twister (std::mt19937_64, whose output the C++ standard fixes) and joulecast's own integer and
// real draws, so every machine of a cluster, every libstdc++ and every shard enumerates the same
// configurations, and `--samples 200` extends the list of `--samples 100` instead of replacing it.
// A draw that breaks a constraint (see below) is redrawn from the next sub-seed.
//
// Ranges (per sample; "real" picks come from the layers of the zoo's networks). H = W = image side;
// channels are multiples of 16 (p 0.5), of 8 (p 0.3) or any value in range (p 0.2):
//   batch_size        {1, 2, 4, 8, 16, 32, 64} uniformly, unless batch sizes are given
//   image side        p 0.6 real {7, 13, 14, 27, 28, 55, 56, 112, 224}, else uniform [4, 224]
//   Conv2d            in_channels [1, 1024] (p 0.05: 3, a first layer), out_channels [8, 1024];
//                     kernel 1 (p 0.35), 3 (0.45), 5 (0.08), 7 (0.07), 11 (0.05); stride 1 (0.7),
//                     2 (0.25), 4 (0.05); padding kernel/2 (p 0.8) else [0, kernel/2]; dilation 1
//                     (p 0.9) or 2; groups 1 (p 0.75), depthwise = in = out channels (p 0.2,
//                     MobileNet), else 2/4/8/32 dividing both (ResNeXt, ShuffleNet); bias p 0.5
//   MaxPool2d         kernel 2 stride 2 (p 0.4), kernel 3 stride 2 padding 1 (p 0.3), kernel 3
//                     stride 2 (p 0.1), else kernel [2, 5], stride [1, kernel], padding
//                     [0, kernel/2]; ceil_mode p 0.15; channels [1, 1024]
//   AvgPool2d         as MaxPool2d, count_include_pad p 0.5
//   AdaptiveAvgPool2d output 1 (p 0.6), 7 (p 0.3), 6 (p 0.1); channels [1, 2048]
//   BatchNorm2d       channels [1, 1024] on CxHxW
//   ReLU, ReLU6, Sigmoid, Tanh
//                     CxHxW with channels [1, 1024] (p 0.8) or a flat vector of [16, 25088]
//                     (p 0.2); inplace p 0.6 for ReLU and ReLU6
//   Dropout           p in {0.1, 0.2, 0.5}, inplace p 0.2; flat [16, 25088] (p 0.7) or CxHxW
//   Softmax           flat [2, 21843] classes, dim 1 (p 0.5) or -1
//   Linear            p 0.3: in_features real {25088, 9216, 4096, 2048, 1280, 1024, 512} and
//                     out_features real {1000, 4096, 10, 100}; else the weight count w log-uniform
//                     [32, 25088·4096], in_features log-uniform [max(16, w/4096), min(25088, w/2)],
//                     out_features = w / in_features in [2, 4096]; bias p 0.85; input {in_features}
//   Flatten           CxHxW, start_dim 1, end_dim -1; Identity: CxHxW
//   ChannelShuffle    groups {2, 3, 4, 8}, channels a multiple of groups in [groups, 1024]
//   Add               CxHxW (the residual add: two tensors of this shape)
//   Cat               CxHxW with even C (two halves concatenated along the channels)
// Operators of the graph (drawn as one-node graphs through the operator registry, so a record
// holds the layer form its predictor sees in a network: graph/op_schema.h). S = tokens, p 0.5
// real {1, 49, 50, 128, 196, 197, 256, 512, 1024}, else log-uniform [1, 4096]; D = hidden size,
// p 0.6 real {64, 96, 128, 192, 256, 384, 512, 768, 1024, 1280, 1536, 2048, 3072, 4096, 5120,
// 8192}, else log-uniform [64, 8192]; heads p 0.7 real {1, 4, 8, 12, 16, 32}, else [1, 64];
// head dimension p 0.8 real {32, 64, 80, 96, 128, 256}, else [32, 256]; "activation" = CxHxW
// (p 0.45, C up to 2048), tokens SxD (p 0.35), channels-last HxWxC (p 0.1, ConvNeXt) or Cx1x1
// (p 0.1, squeeze-and-excitation):
//   LayerNorm         over the last dimension of SxD (p 0.6), HxWxC (p 0.3) or D (p 0.1); eps
//                     1e-5 or 1e-6; weight and bias p 0.95
//   GELU              activation; approximate 'none' (p 0.8) or 'tanh'
//   SiLU, Hardswish, Hardsigmoid, Exp
//                     activation
//   Clamp             activation; an upper bound ln 100 (p 0.4, Swin V2's logit scale), a lower
//                     bound 1e-12 (p 0.3, before a division) or both of [-1, 1] (p 0.3)
//   Div               activation by a scalar sqrt(head dimension) (p 0.4), by a row norm of its
//                     last dimension broadcast (p 0.3), or by an activation of its shape (p 0.3)
//   Mul               squeeze-and-excitation CxHxW * Cx1x1 (p 0.45), a layer scale: activation
//                     times a per-channel parameter (p 0.2), or two activations of one shape
//   MatMul            attention scores HxSxd @ HxdxS (p 0.4), attention-weighted values
//                     HxSxS @ HxSxd (p 0.3), or tokens SxK @ KxN with K, N hidden sizes (p 0.3)
//   Einsum            attention as einsum: 'bhid,bhjd->bhij' (p 0.35), 'bhij,bhjd->bhid' (p 0.3)
//                     on HxSxd / HxSxS with S up to 1024, or MaxViT's windowed
//                     'bghid,bghjd->bghij' over {1, 4, 16, 64, 256} windows (p 0.35)
//   MultiheadAttention self-attention on SxE, E = heads x head dimension with heads {1, 2, 4,
//                     6, 8, 12, 16} and head dimension {32, 64, 96, 128}, S up to 1024; biases
//                     p 0.9; no attention weights returned (PyTorch's fused path, as ViT runs)
//   ScaledDotProductAttention
//                     queries HxLxd against keys and values HxSxd (heads and head dimension as
//                     above): causal self-attention, S = L (p 0.5, decoders), bidirectional
//                     self-attention (p 0.3, encoders), or one query (p 0.1, decoding with a
//                     cache) or L tokens (p 0.1) against S = max(L, tokens) keys; no mask tensor
//                     and no sliding window; the HxLxS score matrix the unfused kernel makes
//                     counts against `max_elements`
//   Embedding         S token ids into a table of log-uniform [100, 250000] rows of width D
//                     (at most 4096)
// Linear adds token inputs: p 0.5 of its draws (an independent choice, so that the draws that
// stay vectors are those of earlier versions) take an input of S x in_features.
// Softmax adds attention scores: p 0.5 (independent as above) HxSxS over the last dim.
// Constraints: the layer is valid (shape inference accepts it), its batch has at most
// `max_elements` elements in its input and output, at most `max_parameters` weights and at most
// `max_macs` MACs (ptflops convention,
// features/macs.h), so that one campaign stays within a machine's memory and time; and at least
// `min_macs` MACs (default 0: no lower limit), so that a campaign can add configurations at the
// large end of the ranges, where real networks' classifier layers at large batch sizes lie, and
// at least `min_parameters` weights (default 0), where their classifiers lie at any batch size
// (a training step's weight gradient and update grow with the weights, not with the batch).
// `kernel_sizes` (default empty: no restriction) keeps only draws whose square kernel is one of
// them, for Conv2d, MaxPool2d and AvgPool2d (other types throw std::invalid_argument naming the
// type), so that a campaign can add configurations of one regime (e.g. 1x1 convolutions) drawn
// from the same ranges; a sample index then names a different configuration than without it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/layer.h"
#include "joulecast/graph/graph.h"

namespace joulecast {

// One thing to measure: a layer (or, with `architecture` set, a whole network) at a batch size.
struct CollectConfig {
  LayerInstance layer;  // type, normalised params, input/output shape; name = its network path
  std::int64_t batch_size = 1;
  nlohmann::json context = nlohmann::json::object();  // where it came from (sample, seed, network)
  // Whole networks (`collect --architecture`): the architecture JSON (ToJson(Architecture)); then
  // layer.type is the network's name and layer.input_shape its input. Null for one layer.
  nlohmann::json architecture;
  // An operator graph to run (collect/run_plan.h): a one-node graph for the operator types the
  // module-tree format lacks, or a whole graph network; null for a module-tree layer or network.
  nlohmann::json plan;
};

// The distinct operators of a graph network (every node that is not a view: graph/op_schema.h's
// cost class), each as a one-node graph with its inputs and parameters at the graph's batch
// size (a parameter read through its transpose, graph::IsTransposedParameter, keeps that
// transpose, so the operator reads the layout it reads in the network), in execution order; layer =
// the node's layer form as the resolver gives it to a predictor, context = {"from_architecture":
// name, "layer": node name, "operator": op}. Nodes of one form and input shapes are measured once
// (collect's record key).
std::vector<CollectConfig> ConfigsFromGraph(const std::string& name, const graph::Graph& g);

// A whole network read as an operator graph (a zoo graph, a Hugging Face config, ONNX, ...)
// at `g`'s batch size (shapes inferred): layer.type = `name` (what evaluate loads it by),
// layer.input_shape = the first input's per-sample shape, context = {"architecture": name}
// plus {"seq_len": n} when `seq_len` > 0.
CollectConfig WholeGraphConfig(const std::string& name, const graph::Graph& g,
                               std::int64_t seq_len = 0);

// A whole network at a batch size (validated by shape inference, which throws naming the layer).
CollectConfig WholeNetworkConfig(const Architecture& arch, std::int64_t batch_size);

struct SamplerOptions {
  std::vector<std::int64_t> batch_sizes;  // empty: the default set above
  double max_macs = 2e10;                 // per run of the batch
  double min_macs = 0;                    // per run of the batch; > 0 excludes types without MACs
  double max_elements = 33554432;         // 2^25 elements (128 MiB in float32) per activation
  double max_parameters = 134217728;      // 2^27 weights (512 MiB in float32): VGG's 25088x4096
  double min_parameters = 0;              // > 0 excludes types without weights
  std::vector<std::int64_t> kernel_sizes;  // empty: any; else Conv2d/pool kernels k x k, k in it
};

// Types `--layer` accepts: every leaf type of the architecture format (KnownLayerTypes), the
// implicit operations of containers, "Add" and "Cat", which predictions also sum over, and the
// operator types above.
std::vector<std::string> SampleableLayerTypes();

// Sample `index` of `type`. Throws std::invalid_argument
//   "--layer: unknown layer type 'Conv3d'; known: AdaptiveAvgPool2d, Add, ..."
// and std::runtime_error if no valid configuration is found in 1000 redraws (limits too tight).
CollectConfig SampleConfig(const std::string& type, std::uint64_t seed, std::int64_t index,
                           const SamplerOptions& options = {});
// Samples 0 .. n-1.
std::vector<CollectConfig> SampleConfigs(const std::string& type, std::int64_t n,
                                         std::uint64_t seed, const SamplerOptions& options = {});

// Validates a hand-made layer configuration, fills in defaults and the output shape. Throws
// std::invalid_argument "impossible configuration: <shape inference message>" and for batch < 1.
CollectConfig MakeConfig(LayerInstance layer, std::int64_t batch_size);

// The distinct operations of `arch` (InferOperations: module calls, functional layers, Add, Cat;
// repeats of a module are measured once), each at every batch size, in execution order, batch
// size outermost. context = {"from_architecture": name, "layer": first operation's name}.
std::vector<CollectConfig> ConfigsFromArchitecture(const Architecture& arch,
                                                   const std::vector<std::int64_t>& batch_sizes);

}  // namespace joulecast
