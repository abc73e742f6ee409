#include "joulecast/arch/shape_inference.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace joulecast {
namespace {

using nlohmann::json;

// Sizes are at most 2^53 (the parser's limit), so products such as dilation·(kernel-1) reach at
// most 2^106: 128-bit arithmetic holds every intermediate value exactly.
using Wide = __int128;

constexpr std::int64_t kMaxElements = std::int64_t{1} << 53;

std::string ToString(Wide v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string digits;
  while (v != 0) {
    const int digit = static_cast<int>(v % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (negative ? -digit : digit)));
    v /= 10;
  }
  return negative ? "-" + digits : digits;
}

std::string FormatWide(const std::vector<Wide>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += 'x';
    out += ToString(dims[i]);
  }
  return out;
}

std::string Label(const LayerInstance& layer) {
  return layer.name.empty() ? layer.type : layer.name + " (" + layer.type + ")";
}

[[noreturn]] void Fail(const LayerInstance& layer, const std::string& message) {
  throw std::runtime_error(Label(layer) + ": " + message);
}

std::int64_t Int(const LayerInstance& layer, const char* key) {
  return layer.params.at(key).get<std::int64_t>();
}

bool Bool(const LayerInstance& layer, const char* key) { return layer.params.at(key).get<bool>(); }

using Pair = std::array<Wide, 2>;

Pair PairOf(const LayerInstance& layer, const char* key) {
  const json& v = layer.params.at(key);
  return {v[0].get<std::int64_t>(), v[1].get<std::int64_t>()};
}

std::string PairString(const Pair& p) { return ToString(p[0]) + "x" + ToString(p[1]); }

// The per-sample output shape, refusing any dimension or element count above 2^53 (the limit
// that keeps element counts and MACs exact in double arithmetic downstream).
Shape CheckedShape(const LayerInstance& layer, const std::vector<Wide>& dims) {
  Wide count = 1;
  bool too_many = false;
  for (const Wide d : dims) {
    if (d > kMaxElements) too_many = true;
    if (!too_many) count *= d;  // both factors <= 2^53: the product fits in 128 bits
    if (count > kMaxElements) too_many = true;
  }
  if (too_many) Fail(layer, "output " + FormatWide(dims) + " has more than 2^53 elements");
  Shape shape;
  for (const Wide d : dims) shape.push_back(static_cast<std::int64_t>(d));
  return shape;
}

void RequireChw(const LayerInstance& layer) {
  if (layer.input_shape.size() != 3) {
    Fail(layer, "expected a CxHxW input, got " + FormatShape(layer.input_shape));
  }
}

// "Nx3x224x224": the batched shape, which dim arguments (Softmax, Flatten) index.
std::string BatchedShape(const Shape& shape) {
  return shape.empty() ? "N" : "Nx" + FormatShape(shape);
}

// Resolves a dim argument of the batched tensor (rank = per-sample rank + 1) to [0, rank).
std::int64_t ResolveDim(const LayerInstance& layer, const char* key, std::int64_t dim) {
  const auto rank = static_cast<std::int64_t>(layer.input_shape.size()) + 1;
  if (dim < -rank || dim >= rank) {
    Fail(layer, std::string(key) + " " + std::to_string(dim) + " is out of range [" +
                    std::to_string(-rank) + ", " + std::to_string(rank - 1) +
                    "] for the batched input " + BatchedShape(layer.input_shape));
  }
  return dim < 0 ? dim + rank : dim;
}

// Spatial output of Conv2d and the 2-d pools: PyTorch's pooling_output_shape / conv formula.
// Requires the dilated kernel to fit in the padded input, so the numerator is non-negative and
// floor division is plain integer division.
std::vector<Wide> WindowedOutput(const LayerInstance& layer, Wide channels, const Pair& kernel,
                                 const Pair& stride, const Pair& padding, const Pair& dilation,
                                 bool ceil_mode) {
  const Pair in = {layer.input_shape[1], layer.input_shape[2]};
  const Pair padded = {in[0] + 2 * padding[0], in[1] + 2 * padding[1]};
  const Pair extent = {dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1};
  if (extent[0] > padded[0] || extent[1] > padded[1]) {
    const bool dilated = dilation[0] != 1 || dilation[1] != 1;
    Fail(layer, (dilated ? "dilated kernel " + PairString(extent) + " (kernel " +
                               PairString(kernel) + ", dilation " + PairString(dilation) + ")"
                         : "kernel " + PairString(kernel)) +
                    " is larger than the padded input " + PairString(padded));
  }
  std::vector<Wide> out = {channels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    const Wide span = padded[i] - extent[i];
    Wide size = (span + (ceil_mode ? stride[i] - 1 : 0)) / stride[i] + 1;
    // With ceil_mode the last window may start beyond the input and its right padding; PyTorch
    // drops a window that does not start inside the input or the left padding.
    if (ceil_mode && (size - 1) * stride[i] >= in[i] + padding[i]) --size;
    out[i + 1] = size;
  }
  return out;
}

// PyTorch's pools require padding <= kernel / 2 (integer division), i.e. 2·padding <= kernel.
void CheckPoolPadding(const LayerInstance& layer, const Pair& kernel, const Pair& padding) {
  if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1]) {
    Fail(layer,
         "padding " + PairString(padding) + " is more than half of kernel " + PairString(kernel));
  }
}

Shape Conv2dShape(const LayerInstance& layer) {
  RequireChw(layer);
  const std::int64_t in_channels = Int(layer, "in_channels");
  const std::int64_t out_channels = Int(layer, "out_channels");
  const std::int64_t groups = Int(layer, "groups");
  // Checked here rather than by the parser so that programmatic layers get the same checks;
  // PyTorch's constructor rejects these.
  if (in_channels % groups != 0) {
    Fail(layer, "in_channels " + std::to_string(in_channels) + " is not divisible by groups " +
                    std::to_string(groups));
  }
  if (out_channels % groups != 0) {
    Fail(layer, "out_channels " + std::to_string(out_channels) + " is not divisible by groups " +
                    std::to_string(groups));
  }
  if (layer.input_shape[0] != in_channels) {
    Fail(layer, "expected " + std::to_string(in_channels) + " input channels, got " +
                    std::to_string(layer.input_shape[0]) + " (input " +
                    FormatShape(layer.input_shape) + ")");
  }
  return CheckedShape(layer, WindowedOutput(layer, out_channels, PairOf(layer, "kernel_size"),
                                            PairOf(layer, "stride"), PairOf(layer, "padding"),
                                            PairOf(layer, "dilation"), false));
}

Shape MaxPool2dShape(const LayerInstance& layer) {
  RequireChw(layer);
  const Pair kernel = PairOf(layer, "kernel_size");
  const Pair padding = PairOf(layer, "padding");
  CheckPoolPadding(layer, kernel, padding);
  return CheckedShape(
      layer, WindowedOutput(layer, layer.input_shape[0], kernel, PairOf(layer, "stride"), padding,
                            PairOf(layer, "dilation"), Bool(layer, "ceil_mode")));
}

Shape AvgPool2dShape(const LayerInstance& layer) {
  RequireChw(layer);
  const Pair kernel = PairOf(layer, "kernel_size");
  const Pair padding = PairOf(layer, "padding");
  CheckPoolPadding(layer, kernel, padding);
  return CheckedShape(
      layer, WindowedOutput(layer, layer.input_shape[0], kernel, PairOf(layer, "stride"), padding,
                            {1, 1}, Bool(layer, "ceil_mode")));
}

Shape AdaptiveAvgPool2dShape(const LayerInstance& layer) {
  RequireChw(layer);
  const Pair size = PairOf(layer, "output_size");
  return CheckedShape(layer, {layer.input_shape[0], size[0], size[1]});
}

Shape BatchNorm2dShape(const LayerInstance& layer) {
  RequireChw(layer);
  const std::int64_t features = Int(layer, "num_features");
  if (layer.input_shape[0] != features) {
    Fail(layer, "expected " + std::to_string(features) + " input channels, got " +
                    std::to_string(layer.input_shape[0]) + " (input " +
                    FormatShape(layer.input_shape) + ")");
  }
  return layer.input_shape;
}

Shape LinearShape(const LayerInstance& layer) {
  // PyTorch applies Linear to the last dimension of an input of any rank.
  const std::int64_t in_features = Int(layer, "in_features");
  const std::int64_t last = layer.input_shape.back();
  if (last != in_features) {
    std::string message = "in_features is " + std::to_string(in_features) + " but the input has " +
                          std::to_string(last) + " features";
    if (layer.input_shape.size() > 1) {
      message +=
          " (input " + FormatShape(layer.input_shape) + "; Linear acts on the last dimension)";
    }
    Fail(layer, message);
  }
  std::vector<Wide> dims(layer.input_shape.begin(), layer.input_shape.end());
  dims.back() = Int(layer, "out_features");
  return CheckedShape(layer, dims);
}

Shape FlattenShape(const LayerInstance& layer) {
  // start_dim/end_dim index the batched tensor; batched dim k is per-sample dim k - 1.
  const std::int64_t start = ResolveDim(layer, "start_dim", Int(layer, "start_dim"));
  const std::int64_t end = ResolveDim(layer, "end_dim", Int(layer, "end_dim"));
  if (start > end) {
    Fail(layer, "start_dim " + std::to_string(Int(layer, "start_dim")) + " comes after end_dim " +
                    std::to_string(Int(layer, "end_dim")) + " for the batched input " +
                    BatchedShape(layer.input_shape));
  }
  if (start == end) return layer.input_shape;  // flattening a single dim changes nothing
  if (start == 0) {
    Fail(layer, "start_dim " + std::to_string(Int(layer, "start_dim")) +
                    " would fold the batch dimension into the sample (batched input " +
                    BatchedShape(layer.input_shape) + ")");
  }
  std::vector<Wide> dims;
  Wide merged = 1;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(layer.input_shape.size()); ++i) {
    if (i + 1 < start || i + 1 > end) {
      dims.push_back(layer.input_shape[i]);
    } else {
      merged *= layer.input_shape[i];  // the input has <= 2^53 elements: no overflow
      if (i + 1 == end) dims.push_back(merged);
    }
  }
  return CheckedShape(layer, dims);
}

Shape ChannelShuffleShape(const LayerInstance& layer) {
  // PyTorch shuffles dimension 1 of the batched tensor: the per-sample channels.
  const std::int64_t groups = Int(layer, "groups");
  if (layer.input_shape[0] % groups != 0) {
    Fail(layer, std::to_string(layer.input_shape[0]) + " channels are not divisible by groups " +
                    std::to_string(groups) + " (input " + FormatShape(layer.input_shape) + ")");
  }
  return layer.input_shape;
}

Shape SoftmaxShape(const LayerInstance& layer) {
  const json& dim = layer.params.at("dim");
  if (!dim.is_null()) ResolveDim(layer, "dim", dim.get<std::int64_t>());
  return layer.input_shape;
}

// Throws "<prefix>is empty" / "<prefix>3x0 has a non-positive size" / "... has more than 2^53
// elements".
void CheckInputShape(const std::string& prefix, const Shape& input) {
  if (input.empty()) throw std::runtime_error(prefix + "is empty");
  Wide count = 1;
  for (const std::int64_t d : input) {
    if (d <= 0) throw std::runtime_error(prefix + FormatShape(input) + " has a non-positive size");
    count *= d;  // count <= 2^53 and d < 2^63 before the check below stops the loop: fits
    if (count > kMaxElements) {
      throw std::runtime_error(prefix + FormatShape(input) + " has more than 2^53 elements");
    }
  }
}

// Normalises layer->params and sets layer->output_shape from layer->input_shape.
void InferLeaf(LayerInstance* layer) {
  try {
    layer->params = NormalizeLayerParams(layer->type, layer->params);
  } catch (const std::runtime_error& e) {
    Fail(*layer, e.what());
  }
  const LayerInstance& l = *layer;
  // Already true inside InferShapes; guards single-layer calls, whose arithmetic relies on it.
  CheckInputShape(Label(l) + ": input shape ", l.input_shape);
  const std::string& t = l.type;
  Shape out;
  if (t == "Conv2d") {
    out = Conv2dShape(l);
  } else if (t == "MaxPool2d") {
    out = MaxPool2dShape(l);
  } else if (t == "AvgPool2d") {
    out = AvgPool2dShape(l);
  } else if (t == "AdaptiveAvgPool2d") {
    out = AdaptiveAvgPool2dShape(l);
  } else if (t == "BatchNorm2d") {
    out = BatchNorm2dShape(l);
  } else if (t == "Linear") {
    out = LinearShape(l);
  } else if (t == "Flatten") {
    out = FlattenShape(l);
  } else if (t == "Softmax") {
    out = SoftmaxShape(l);
  } else if (t == "ChannelShuffle") {
    out = ChannelShuffleShape(l);
  } else if (t == "ReLU" || t == "ReLU6" || t == "Sigmoid" || t == "Tanh" || t == "Dropout" ||
             t == "Identity") {
    out = l.input_shape;  // element-wise
  } else {
    // NormalizeLayerParams accepted a type that has no shape rule: a bug in this file.
    Fail(l, "no shape rule for layer type '" + t + "'");
  }
  layer->output_shape = std::move(out);
}

std::string JoinName(const std::string& scope, const char* op) {
  return scope.empty() ? op : scope + "." + op;
}

// Walks the tree in execution order, appending every operation to `ops`.
void Walk(const std::vector<LayerSpec>& layers, Shape* current, std::vector<LayerInstance>* ops);

[[noreturn]] void FailContainer(const LayerSpec& spec, const std::string& message) {
  throw std::runtime_error((spec.name.empty() ? spec.type : spec.name + " (" + spec.type + ")") +
                           ": " + message);
}

void WalkResidual(const LayerSpec& spec, Shape* current, std::vector<LayerInstance>* ops) {
  Shape body = *current;
  Walk(spec.layers, &body, ops);
  Shape shortcut = *current;
  Walk(spec.shortcut, &shortcut, ops);
  if (body != shortcut) {
    FailContainer(spec, "body output " + FormatShape(body) + " does not match shortcut output " +
                            FormatShape(shortcut));
  }
  ops->push_back(LayerInstance{JoinName(spec.name, "add"), "Add", nlohmann::json::object(), body,
                               body, CallKind::kFunctional});
  *current = std::move(body);
}

void WalkConcat(const LayerSpec& spec, Shape* current, std::vector<LayerInstance>* ops) {
  const auto n = static_cast<std::int64_t>(spec.branches.size());
  Shape input = *current;
  if (spec.split) {
    if (input[0] % n != 0) {
      FailContainer(spec, "split: " + std::to_string(input[0]) +
                              " input channels do not divide into " + std::to_string(n) +
                              " branches (input " + FormatShape(input) + ")");
    }
    input[0] /= n;
  }
  std::vector<Shape> outputs;
  for (const auto& branch : spec.branches) {
    Shape out = input;
    Walk(branch, &out, ops);
    outputs.push_back(std::move(out));
  }
  Wide channels = 0;
  for (std::size_t b = 0; b < outputs.size(); ++b) {
    const bool same_rest =
        outputs[b].size() == outputs[0].size() &&
        std::equal(outputs[b].begin() + 1, outputs[b].end(), outputs[0].begin() + 1);
    if (!same_rest) {
      FailContainer(spec, "branch " + std::to_string(b) + " output " + FormatShape(outputs[b]) +
                              " does not match branch 0 output " + FormatShape(outputs[0]) +
                              " outside the channels");
    }
    channels += outputs[b][0];
  }
  std::vector<Wide> dims(outputs[0].begin(), outputs[0].end());
  dims[0] = channels;
  LayerInstance cat{JoinName(spec.name, "cat"), "Cat", nlohmann::json::object(), {}, {},
                    CallKind::kFunctional};
  cat.output_shape = CheckedShape(cat, dims);
  cat.input_shape = cat.output_shape;
  ops->push_back(cat);
  *current = cat.output_shape;
}

void Walk(const std::vector<LayerSpec>& layers, Shape* current, std::vector<LayerInstance>* ops) {
  for (const LayerSpec& spec : layers) {
    if (spec.type == "Sequential") {
      Walk(spec.layers, current, ops);
    } else if (spec.type == "Residual") {
      WalkResidual(spec, current, ops);
    } else if (spec.type == "Concat") {
      WalkConcat(spec, current, ops);
    } else {
      LayerInstance layer{spec.name, spec.type, spec.params, *current, {}};
      layer.call = spec.repeat       ? CallKind::kRepeat
                   : spec.functional ? CallKind::kFunctional
                                     : CallKind::kModule;
      InferLeaf(&layer);
      *current = layer.output_shape;
      ops->push_back(std::move(layer));
    }
  }
}

}  // namespace

Shape InferOutputShape(const LayerInstance& layer) {
  LayerInstance copy = layer;
  InferLeaf(&copy);
  return copy.output_shape;
}

std::vector<LayerInstance> InferOperations(const Architecture& arch) {
  return InferOperations(arch, arch.input);
}

std::vector<LayerInstance> InferOperations(const Architecture& arch, const Shape& input) {
  CheckInputShape((arch.name.empty() ? "" : arch.name + ": ") + "input shape ", input);
  std::vector<LayerInstance> ops;
  Shape current = input;
  Walk(arch.layers, &current, &ops);
  return ops;
}

std::vector<LayerInstance> InferShapes(const Architecture& arch) {
  return InferShapes(arch, arch.input);
}

std::vector<LayerInstance> InferShapes(const Architecture& arch, const Shape& input) {
  std::vector<LayerInstance> leaves;
  for (LayerInstance& op : InferOperations(arch, input)) {
    if (op.call == CallKind::kModule) leaves.push_back(std::move(op));
  }
  return leaves;
}

}  // namespace joulecast
