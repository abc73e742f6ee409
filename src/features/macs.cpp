#include "joulecast/features/macs.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "joulecast/arch/shape_inference.h"
#include "joulecast/graph/op_schema.h"

namespace joulecast {

double Elements(const Shape& shape) {
  double n = 1;
  for (auto d : shape) n *= static_cast<double>(d);
  return n;
}

std::pair<std::int64_t, std::int64_t> PairParam(const LayerInstance& layer, const char* key) {
  auto it = layer.params.find(key);
  if (it == layer.params.end()) {
    throw std::invalid_argument(fmt::format("{}: missing parameter '{}'", layer.type, key));
  }
  if (it->is_number_integer()) return {it->get<std::int64_t>(), it->get<std::int64_t>()};
  if (it->is_array() && it->size() == 2 && (*it)[0].is_number_integer() &&
      (*it)[1].is_number_integer()) {
    return {(*it)[0].get<std::int64_t>(), (*it)[1].get<std::int64_t>()};
  }
  throw std::invalid_argument(fmt::format("{}: parameter '{}' must be an integer or [h, w], got {}",
                                          layer.type, key, it->dump()));
}

namespace {

double D(std::int64_t v) { return static_cast<double>(v); }

std::int64_t IntParam(const LayerInstance& layer, const char* key, std::int64_t fallback,
                      bool required) {
  auto it = layer.params.find(key);
  if (it == layer.params.end()) {
    if (required)
      throw std::invalid_argument(fmt::format("{}: missing parameter '{}'", layer.type, key));
    return fallback;
  }
  if (!it->is_number_integer()) {
    throw std::invalid_argument(
        fmt::format("{}: parameter '{}' must be an integer, got {}", layer.type, key, it->dump()));
  }
  return it->get<std::int64_t>();
}

bool BoolParam(const LayerInstance& layer, const char* key, bool fallback) {
  auto it = layer.params.find(key);
  return it != layer.params.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace

LayerCounts CountLayer(const LayerInstance& layer, std::int64_t batch_size) {
  if (batch_size < 1)
    throw std::invalid_argument(
        fmt::format("{}: batch size must be >= 1, got {}", layer.type, batch_size));
  if (layer.input_shape.empty())
    throw std::invalid_argument(fmt::format("{}: empty input shape", layer.type));
  const double b = static_cast<double>(batch_size);
  LayerCounts c;
  c.input_elements = b * Elements(layer.input_shape);
  // A lone layer record (a measurement) carries no output shape: derive it exactly as the
  // architecture walk does, so that fitting and prediction see the same counts.
  // Conv2d, Linear and MaxPool2d compute theirs below; element-wise layers keep the input's.
  Shape out = layer.output_shape;
  if (out.empty()) {
    if (layer.type == "AvgPool2d" || layer.type == "AdaptiveAvgPool2d" || layer.type == "Flatten") {
      LayerInstance copy = layer;
      if (copy.params.is_null()) copy.params = nlohmann::json::object();
      try {
        out = InferOutputShape(copy);
      } catch (const std::exception& e) {
        throw std::invalid_argument(e.what());
      }
    } else {
      out = layer.input_shape;
    }
  }
  c.output_elements = b * Elements(out);
  const std::string& t = layer.type;
  if (t == "Conv2d") {
    if (layer.input_shape.size() != 3)
      throw std::invalid_argument("Conv2d: input shape must be CxHxW");
    auto [kh, kw] = PairParam(layer, "kernel_size");
    auto [sh, sw] = PairParam(layer, "stride");
    auto [ph, pw] = PairParam(layer, "padding");
    std::int64_t dh = 1, dw = 1;
    if (layer.params.contains("dilation")) std::tie(dh, dw) = PairParam(layer, "dilation");
    std::int64_t ci = IntParam(layer, "in_channels", 0, true),
                 co = IntParam(layer, "out_channels", 0, true);
    std::int64_t g = IntParam(layer, "groups", 1, false);
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0 || dh < 1 || dw < 1 || ci < 1 ||
        co < 1 || g < 1) {
      throw std::invalid_argument("Conv2d: sizes must be positive (padding >= 0)");
    }
    // In double: a record's unvalidated sizes (up to 2^63) would overflow these sums in int64.
    double ho =
        std::floor((D(layer.input_shape[1]) + 2 * D(ph) - D(dh) * (D(kh) - 1) - 1) / D(sh)) + 1;
    double wo =
        std::floor((D(layer.input_shape[2]) + 2 * D(pw) - D(dw) * (D(kw) - 1) - 1) / D(sw)) + 1;
    if (ho < 1 || wo < 1)
      throw std::invalid_argument("Conv2d: kernel larger than the padded input");
    double bias = BoolParam(layer, "bias", true) ? 1.0 : 0.0;
    double kernel = static_cast<double>(kh) * static_cast<double>(kw) * static_cast<double>(ci) /
                    static_cast<double>(g);
    c.macs = b * ho * wo * static_cast<double>(co) * (kernel + bias);
    c.output_elements = b * ho * wo * static_cast<double>(co);
    c.parameters = static_cast<double>(co) * kernel + bias * static_cast<double>(co);
  } else if (t == "Linear") {
    std::int64_t in = IntParam(layer, "in_features", 0, true),
                 out = IntParam(layer, "out_features", 0, true);
    double bias = BoolParam(layer, "bias", true) ? 1.0 : 0.0;
    double rows = Elements(layer.input_shape) / static_cast<double>(layer.input_shape.back());
    c.macs = b * rows *
             (static_cast<double>(in) * static_cast<double>(out) + bias * static_cast<double>(out));
    c.output_elements = b * rows * static_cast<double>(out);
    c.parameters =
        static_cast<double>(in) * static_cast<double>(out) + bias * static_cast<double>(out);
  } else if (t == "MaxPool2d") {
    if (layer.input_shape.size() != 3)
      throw std::invalid_argument("MaxPool2d: input shape must be CxHxW");
    auto [kh, kw] = PairParam(layer, "kernel_size");
    auto [sh, sw] = PairParam(layer, "stride");
    auto [ph, pw] = PairParam(layer, "padding");
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0)
      throw std::invalid_argument("MaxPool2d: sizes must be positive");
    double ho = std::floor((D(layer.input_shape[1]) + 2 * D(ph) - D(kh)) / D(sh)) + 1;
    double wo = std::floor((D(layer.input_shape[2]) + 2 * D(pw) - D(kw)) / D(sw)) + 1;
    if (!layer.output_shape.empty()) {
      ho = static_cast<double>(layer.output_shape[1]);
      wo = static_cast<double>(layer.output_shape[2]);
    }
    if (ho < 1 || wo < 1)
      throw std::invalid_argument("MaxPool2d: kernel larger than the padded input");
    double ch = static_cast<double>(layer.input_shape[0]);
    c.macs = std::floor(static_cast<double>(kh) * static_cast<double>(kw) * ho * wo * ch * b / 2.0);
    c.output_elements = b * ch * ho * wo;
  } else if (t == "BatchNorm2d") {
    c.macs = c.input_elements;
    c.parameters = 2.0 * static_cast<double>(layer.input_shape[0]);
  } else if (t == "Flatten" || t == "Identity" || t == "Cat" || t == "ChannelShuffle") {
    // Views and copies: no arithmetic (their cost is memory traffic, see network_estimate.h).
    c.macs = 0;
  } else if (const graph::OpSchema* s = graph::FindOpByType(t); s && s->form_macs) {
    // Operators of the graph whose MACs are not per element (matmul, attention): the registry's
    // rule on the same batched form the predictors see.
    graph::LayerForm form;
    form.type = t;
    form.params = layer.params;
    form.input = layer.input_shape;
    form.input.insert(form.input.begin(), batch_size);
    form.output = out;
    form.output.insert(form.output.begin(), batch_size);
    try {
      c.macs = s->form_macs(form);
    } catch (const std::exception& e) {
      throw std::invalid_argument(fmt::format("{}: {}", t, e.what()));
    }
  } else {
    // Element-wise layers and pools whose cost scales with what they read.
    c.macs = c.input_elements;
  }
  return c;
}

}  // namespace joulecast
