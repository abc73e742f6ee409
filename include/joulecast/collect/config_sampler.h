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
// Constraints: the layer is valid (shape inference accepts it), its batch has at most
// `max_elements` elements in its input and output, at most `max_parameters` weights and at most
// `max_macs` MACs (ptflops convention,
// features/macs.h), so that one campaign stays within a machine's memory and time; and at least
// `min_macs` MACs (default 0: no lower limit), so that a campaign can add configurations at the
// large end of the ranges, where real networks' classifier layers at large batch sizes lie.
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

namespace joulecast {

// One thing to measure: a layer (or, with `architecture` set, a whole network) at a batch size.
struct CollectConfig {
  LayerInstance layer;  // type, normalised params, input/output shape; name = its network path
  std::int64_t batch_size = 1;
  nlohmann::json context = nlohmann::json::object();  // where it came from (sample, seed, network)
  // Whole networks (`collect --architecture`): the architecture JSON (ToJson(Architecture)); then
  // layer.type is the network's name and layer.input_shape its input. Null for one layer.
  nlohmann::json architecture;
};

// A whole network at a batch size (validated by shape inference, which throws naming the layer).
CollectConfig WholeNetworkConfig(const Architecture& arch, std::int64_t batch_size);

struct SamplerOptions {
  std::vector<std::int64_t> batch_sizes;  // empty: the default set above
  double max_macs = 2e10;                 // per run of the batch
  double min_macs = 0;                    // per run of the batch; > 0 excludes types without MACs
  double max_elements = 33554432;         // 2^25 elements (128 MiB in float32) per activation
  double max_parameters = 134217728;      // 2^27 weights (512 MiB in float32): VGG's 25088x4096
  std::vector<std::int64_t> kernel_sizes;  // empty: any; else Conv2d/pool kernels k x k, k in it
};

// Types `--layer` accepts: every leaf type of the architecture format (KnownLayerTypes) plus the
// implicit operations of containers, "Add" and "Cat", which predictions also sum over.
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
