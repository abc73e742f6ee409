#include "joulecast/collect/config_sampler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>

#include "joulecast/arch/shape_inference.h"
#include "joulecast/collect/run_plan.h"
#include "joulecast/features/macs.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/resolver.h"

namespace joulecast {
namespace {

using nlohmann::json;

// Portable draws on top of mt19937_64 (std::uniform_*_distribution differ between libraries).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // Uniform integer in [lo, hi].
  std::int64_t Int(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(engine_() % span);
  }
  // Uniform real in [0, 1).
  double Real() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Real() < p; }
  // Log-uniform integer in [lo, hi].
  std::int64_t LogInt(std::int64_t lo, std::int64_t hi) {
    const double v = std::exp(std::log(double(lo)) + Real() * (std::log(double(hi) + 1) -
                                                              std::log(double(lo))));
    return std::clamp(static_cast<std::int64_t>(v), lo, hi);
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(Int(0, static_cast<std::int64_t>(items.size()) - 1))];
  }
  // Index drawn with the given weights (summing to 1).
  std::size_t Weighted(const std::vector<double>& weights) {
    double r = Real();
    for (std::size_t i = 0; i + 1 < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

std::uint64_t SplitMix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t HashString(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Channels in [lo, hi]: multiples of 16 (p 0.5), of 8 (p 0.3), or any value (p 0.2).
std::int64_t Channels(Rng& r, std::int64_t lo, std::int64_t hi) {
  const std::size_t kind = r.Weighted({0.5, 0.3, 0.2});
  if (kind == 2 || hi < 16) return r.LogInt(lo, hi);
  const std::int64_t step = kind == 0 ? 16 : 8;
  const std::int64_t v = r.LogInt(std::max(lo, step), hi);
  return std::max(step, v / step * step);
}

std::int64_t ImageSide(Rng& r) {
  static const std::vector<std::int64_t> real = {7, 13, 14, 27, 28, 55, 56, 112, 224};
  return r.Chance(0.6) ? r.Pick(real) : r.Int(4, 224);
}

std::int64_t BatchSize(Rng& r, const SamplerOptions& o) {
  static const std::vector<std::int64_t> defaults = {1, 2, 4, 8, 16, 32, 64};
  return r.Pick(o.batch_sizes.empty() ? defaults : o.batch_sizes);
}

Shape Chw(Rng& r, std::int64_t max_channels) {
  const std::int64_t side = ImageSide(r);
  return {Channels(r, 1, max_channels), side, side};
}

// Activation-like input: CxHxW (p_chw) or a flat vector of [16, 25088].
Shape ActivationShape(Rng& r, double p_chw) {
  if (r.Chance(p_chw)) return Chw(r, 1024);
  return {r.LogInt(16, 25088)};
}

json SquarePair(std::int64_t a) { return json::array({a, a}); }

void FillPool(Rng& r, json* p, bool max_pool) {
  std::int64_t k = 2, s = 2, pad = 0;
  const std::size_t kind = r.Weighted({0.4, 0.3, 0.1, 0.2});
  if (kind == 1) {
    k = 3, s = 2, pad = 1;
  } else if (kind == 2) {
    k = 3, s = 2;
  } else if (kind == 3) {
    k = r.Int(2, 5);
    s = r.Int(1, k);
    pad = r.Int(0, k / 2);
  }
  (*p)["kernel_size"] = SquarePair(k);
  (*p)["stride"] = SquarePair(s);
  (*p)["padding"] = SquarePair(pad);
  (*p)["ceil_mode"] = r.Chance(0.15);
  if (!max_pool) (*p)["count_include_pad"] = r.Chance(0.5);
}

std::int64_t Tokens(Rng& r) {
  static const std::vector<std::int64_t> real = {1, 49, 50, 128, 196, 197, 256, 512, 1024};
  return r.Chance(0.5) ? r.Pick(real) : r.LogInt(1, 4096);
}

std::int64_t Hidden(Rng& r) {
  static const std::vector<std::int64_t> real = {64,   96,   128,  192,  256,  384,  512,  768,
                                                 1024, 1280, 1536, 2048, 3072, 4096, 5120, 8192};
  return r.Chance(0.6) ? r.Pick(real) : r.LogInt(64, 8192);
}

std::int64_t Heads(Rng& r) {
  static const std::vector<std::int64_t> real = {1, 4, 8, 12, 16, 32};
  return r.Chance(0.7) ? r.Pick(real) : r.Int(1, 64);
}

std::int64_t HeadDim(Rng& r) {
  static const std::vector<std::int64_t> real = {32, 64, 80, 96, 128, 256};
  return r.Chance(0.8) ? r.Pick(real) : r.Int(32, 256);
}

// ConvNeXt-like channels-last activation HxWxC.
Shape ChannelsLast(Rng& r) {
  static const std::vector<std::int64_t> sides = {7, 14, 28, 56};
  static const std::vector<std::int64_t> channels = {96, 192, 384, 768};
  const std::int64_t side = r.Chance(0.6) ? r.Pick(sides) : ImageSide(r);
  return {side, side, r.Chance(0.6) ? r.Pick(channels) : Channels(r, 16, 1024)};
}

// The activation shapes of the operator types (see the header).
Shape OperatorActivation(Rng& r) {
  const std::size_t kind = r.Weighted({0.45, 0.35, 0.1, 0.1});
  if (kind == 0) return Chw(r, 2048);
  if (kind == 1) return {Tokens(r), Hidden(r)};
  if (kind == 2) return ChannelsLast(r);
  return {Channels(r, 8, 2048), 1, 1};
}

const std::vector<std::string>& OperatorTypes() {
  static const std::vector<std::string> types = {"Clamp",
                                                 "Div",
                                                 "Einsum",
                                                 "Embedding",
                                                 "Exp",
                                                 "GELU",
                                                 "Hardsigmoid",
                                                 "Hardswish",
                                                 "LayerNorm",
                                                 "MatMul",
                                                 "Mul",
                                                 "MultiheadAttention",
                                                 "ScaledDotProductAttention",
                                                 "SiLU"};
  return types;
}

bool IsOperatorType(const std::string& type) {
  const auto& t = OperatorTypes();
  return std::find(t.begin(), t.end(), type) != t.end();
}

Shape Batched(std::int64_t batch, const Shape& s) {
  Shape out = {batch};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// One raw operator draw as a one-node graph at batch `batch` (shapes inferred; the shape pass
// throws for an invalid draw).
graph::Graph DrawOperator(const std::string& type, Rng& r, std::int64_t batch) {
  using graph::AttrValue;
  using graph::DType;
  graph::Graph g;
  g.name = type;
  graph::Attributes a;
  std::vector<graph::ValueId> in;
  const auto input = [&](const std::string& name, const Shape& per_sample,
                         DType dtype = DType::kFloat32) {
    in.push_back(g.AddInput(name, graph::TensorType{dtype, Batched(batch, per_sample)}, 0));
  };
  const auto param = [&](const std::string& name, const Shape& shape) {
    in.push_back(g.AddParameter(name, graph::TensorType{DType::kFloat32, shape}));
  };
  std::string op;
  if (type == "LayerNorm") {
    op = "layer_norm";
    const std::size_t kind = r.Weighted({0.6, 0.3, 0.1});
    const Shape x = kind == 0   ? Shape{Tokens(r), Hidden(r)}
                    : kind == 1 ? ChannelsLast(r)
                                : Shape{Hidden(r)};
    input("x", x);
    const std::int64_t d = x.back();
    a.Set("normalized_shape", std::vector<std::int64_t>{d});
    a.Set("eps", r.Chance(0.5) ? 1e-5 : 1e-6);
    if (r.Chance(0.95)) {
      param("weight", {d});
      param("bias", {d});
    }
  } else if (type == "GELU" || type == "SiLU" || type == "Hardswish" || type == "Hardsigmoid") {
    op = type == "GELU"        ? "gelu"
         : type == "SiLU"      ? "silu"
         : type == "Hardswish" ? "hardswish"
                               : "hardsigmoid";
    input("x", OperatorActivation(r));
    if (type == "GELU") a.Set("approximate", std::string(r.Chance(0.8) ? "none" : "tanh"));
  } else if (type == "Exp") {
    op = "exp";
    input("x", OperatorActivation(r));
  } else if (type == "Clamp") {
    op = "clamp";
    input("x", OperatorActivation(r));
    // Swin V2's logit scale (an upper bound), a lower bound as before a division, or both.
    const std::size_t kind = r.Weighted({0.4, 0.3, 0.3});
    if (kind != 0) a.Set("min", std::vector<double>{kind == 1 ? 1e-12 : -1.0});
    if (kind != 1) a.Set("max", std::vector<double>{kind == 0 ? std::log(100.0) : 1.0});
  } else if (type == "Div") {
    op = "div";
    const std::size_t kind = r.Weighted({0.4, 0.3, 0.3});
    const Shape x = OperatorActivation(r);
    input("a", x);
    if (kind == 0) {
      a.Set("scalar", std::sqrt(static_cast<double>(HeadDim(r))));
    } else if (kind == 1) {
      // A row norm: the last dimension broadcast.
      Shape norm = x;
      norm.back() = 1;
      input("norm", norm);
    } else {
      input("b", x);
    }
  } else if (type == "Mul") {
    op = "mul";
    const std::size_t kind = r.Weighted({0.45, 0.2, 0.35});
    if (kind == 0) {
      const Shape x = Chw(r, 2048);
      input("x", x);
      input("scale", {x[0], 1, 1});
    } else if (kind == 1) {
      const bool last = r.Chance(0.5);
      const Shape x = last ? ChannelsLast(r) : Chw(r, 1024);
      input("x", x);
      param("gamma", last ? Shape{x.back()} : Shape{x[0], 1, 1});
    } else {
      const Shape x = OperatorActivation(r);
      input("a", x);
      input("b", x);
    }
  } else if (type == "MatMul") {
    op = "matmul";
    const std::size_t kind = r.Weighted({0.4, 0.3, 0.3});
    if (kind == 2) {
      const std::int64_t s = Tokens(r), k = Hidden(r), n = Hidden(r);
      input("a", {s, k});
      input("b", {k, n});
    } else {
      const std::int64_t h = Heads(r), s = Tokens(r), d = HeadDim(r);
      if (kind == 0) {
        input("q", {h, s, d});
        input("kt", {h, d, s});
      } else {
        input("scores", {h, s, s});
        input("v", {h, s, d});
      }
    }
  } else if (type == "Einsum") {
    op = "einsum";
    const std::int64_t h = Heads(r), s = std::min<std::int64_t>(Tokens(r), 1024), d = HeadDim(r);
    const std::size_t kind = r.Weighted({0.35, 0.3, 0.35});
    if (kind == 0) {
      a.Set("equation", std::string("bhid,bhjd->bhij"));
      input("q", {h, s, d});
      input("k", {h, s, d});
    } else if (kind == 1) {
      a.Set("equation", std::string("bhij,bhjd->bhid"));
      input("p", {h, s, s});
      input("v", {h, s, d});
    } else {
      // MaxViT's windowed attention: G windows of heads.
      const std::int64_t windows =
          std::vector<std::int64_t>{1, 4, 16, 64, 256}[static_cast<std::size_t>(r.Int(0, 4))];
      a.Set("equation", std::string("bghid,bghjd->bghij"));
      input("q", {windows, h, s, d});
      input("k", {windows, h, s, d});
    }
  } else if (type == "MultiheadAttention") {
    op = "multi_head_attention";
    const std::int64_t h =
        std::vector<std::int64_t>{1, 2, 4, 6, 8, 12, 16}[static_cast<std::size_t>(r.Int(0, 6))];
    const std::int64_t e =
        h * std::vector<std::int64_t>{32, 64, 96, 128}[static_cast<std::size_t>(r.Int(0, 3))];
    const std::int64_t s = std::min<std::int64_t>(Tokens(r), 1024);
    input("x", {s, e});
    const bool bias = r.Chance(0.9);
    const graph::ValueId x = in[0];
    in = {x, x, x};
    param("qkv_weight", {3 * e, e});
    if (bias) {
      param("qkv_bias", {3 * e});
    } else {
      in.push_back(graph::kNoValue);
    }
    param("proj_weight", {e, e});
    if (bias) param("proj_bias", {e});
    a.Set("num_heads", h);
    a.Set("need_weights", false);
  } else if (type == "ScaledDotProductAttention") {
    op = "scaled_dot_product_attention";
    const std::int64_t h = Heads(r), d = HeadDim(r);
    const std::size_t kind = r.Weighted({0.5, 0.3, 0.2});
    // Causal self-attention (decoders), bidirectional self-attention (encoders), or queries
    // against a longer key sequence (decoding with a cache: one query, p 0.5, or a chunk).
    const std::int64_t l = kind == 2 && r.Chance(0.5) ? 1 : Tokens(r);
    const std::int64_t s = kind == 2 ? std::max(l, Tokens(r)) : l;
    input("q", {h, l, d});
    input("k", {h, s, d});
    input("v", {h, s, d});
    if (kind == 0) a.Set("is_causal", true);
  } else if (type == "Embedding") {
    op = "embedding";
    const std::int64_t s = Tokens(r);
    input("ids", {s}, DType::kInt64);
    param("weight", {r.LogInt(100, 250000), std::min<std::int64_t>(Hidden(r), 4096)});
  }
  const graph::NodeId n = g.AddNode(op, a, in, "", type);
  g.MarkOutput(g.node(n).outputs[0]);
  g.SetBatch(batch);
  graph::InferShapes(g);
  return g;
}

// One raw draw; validity is checked by the caller. `extra` draws what later versions added (token
// inputs), so that `r`'s sequence, and the draws of earlier versions, stay as they were.
LayerInstance Draw(const std::string& type, Rng& r, Rng& extra) {
  LayerInstance l;
  l.type = type;
  json p = json::object();
  if (type == "Conv2d") {
    const std::int64_t side = ImageSide(r);
    std::int64_t in = r.Chance(0.05) ? 3 : Channels(r, 1, 1024);
    std::int64_t out = Channels(r, 8, 1024);
    const std::int64_t k = std::vector<std::int64_t>{1, 3, 5, 7, 11}[r.Weighted(
        {0.35, 0.45, 0.08, 0.07, 0.05})];
    const std::int64_t s = std::vector<std::int64_t>{1, 2, 4}[r.Weighted({0.7, 0.25, 0.05})];
    const std::int64_t pad = r.Chance(0.8) ? k / 2 : r.Int(0, k / 2);
    const std::int64_t dil = r.Chance(0.9) ? 1 : 2;
    std::int64_t groups = 1;
    const std::size_t g = r.Weighted({0.75, 0.2, 0.05});
    if (g == 1) {
      out = in;  // depthwise
      groups = in;
    } else if (g == 2) {
      groups = r.Pick(std::vector<std::int64_t>{2, 4, 8, 32});
      in = std::max(groups, in / groups * groups);
      out = std::max(groups, out / groups * groups);
    }
    p = {{"in_channels", in},       {"out_channels", out},        {"kernel_size", SquarePair(k)},
         {"stride", SquarePair(s)}, {"padding", SquarePair(pad)}, {"dilation", SquarePair(dil)},
         {"groups", groups},        {"bias", r.Chance(0.5)}};
    l.input_shape = {in, side, side};
  } else if (type == "MaxPool2d" || type == "AvgPool2d") {
    FillPool(r, &p, type == "MaxPool2d");
    l.input_shape = Chw(r, 1024);
  } else if (type == "AdaptiveAvgPool2d") {
    p["output_size"] = SquarePair(std::vector<std::int64_t>{1, 7, 6}[r.Weighted({0.6, 0.3, 0.1})]);
    l.input_shape = Chw(r, 2048);
  } else if (type == "BatchNorm2d") {
    l.input_shape = Chw(r, 1024);
    p["num_features"] = l.input_shape[0];
  } else if (type == "ReLU" || type == "ReLU6") {
    l.input_shape = ActivationShape(r, 0.8);
    p["inplace"] = r.Chance(0.6);
  } else if (type == "Sigmoid" || type == "Tanh") {
    l.input_shape = ActivationShape(r, 0.8);
  } else if (type == "Dropout") {
    p["p"] = r.Pick(std::vector<double>{0.1, 0.2, 0.5});
    p["inplace"] = r.Chance(0.2);
    l.input_shape = ActivationShape(r, 0.3);
  } else if (type == "Softmax") {
    l.input_shape = {r.LogInt(2, 21843)};
    p["dim"] = r.Chance(0.5) ? 1 : -1;
    if (extra.Chance(0.5)) {
      const std::int64_t tokens = Tokens(extra);
      l.input_shape = {Heads(extra), tokens, tokens};
      p["dim"] = -1;
    }
  } else if (type == "Linear") {
    static const std::vector<std::int64_t> real_in = {25088, 9216, 4096, 2048, 1280, 1024, 512};
    static const std::vector<std::int64_t> real_out = {1000, 4096, 10, 100};
    std::int64_t in = 0, out = 0;
    if (r.Chance(0.3)) {
      in = r.Pick(real_in);
      out = r.Pick(real_out);
    } else {
      // The weight count log-uniform up to VGG's first classifier layer (25088 x 4096), then
      // split: drawing in and out independently would make layers of that size (whose weights
      // no longer fit in the caches, a regime of their own) a fraction of a percent of the data.
      const std::int64_t weights = r.LogInt(16 * 2, 25088LL * 4096);
      in = r.LogInt(std::max<std::int64_t>(16, (weights + 4095) / 4096),
                    std::min<std::int64_t>(25088, std::max<std::int64_t>(16, weights / 2)));
      out = std::clamp<std::int64_t>(weights / in, 2, 4096);
    }
    p = {{"in_features", in}, {"out_features", out}, {"bias", r.Chance(0.85)}};
    l.input_shape = {in};
    if (extra.Chance(0.5)) l.input_shape = {Tokens(extra), in};
  } else if (type == "Flatten") {
    l.input_shape = Chw(r, 1024);
    p = {{"start_dim", 1}, {"end_dim", -1}};
  } else if (type == "Identity" || type == "Add") {
    l.input_shape = Chw(r, 1024);
  } else if (type == "ChannelShuffle") {
    const std::int64_t g = r.Pick(std::vector<std::int64_t>{2, 3, 4, 8});
    l.input_shape = Chw(r, 1024);
    l.input_shape[0] = std::max(g, l.input_shape[0] / g * g);
    p["groups"] = g;
  } else if (type == "Cat") {
    l.input_shape = Chw(r, 1024);
    l.input_shape[0] = std::max<std::int64_t>(2, l.input_shape[0] / 2 * 2);
  }
  l.params = std::move(p);
  return l;
}

bool IsImplicit(const std::string& type) { return type == "Add" || type == "Cat"; }

// Output shape (validating) for leaf types and the implicit operations.
void Complete(LayerInstance* l) {
  if (IsImplicit(l->type)) {
    if (l->input_shape.empty()) throw std::runtime_error(l->type + ": empty input shape");
    if (l->type == "Cat" && (l->input_shape[0] % 2 != 0 || l->input_shape.size() < 2)) {
      throw std::runtime_error("Cat: the concatenated channels must be even (two halves), got " +
                               FormatShape(l->input_shape));
    }
    l->params = json::object();
    l->output_shape = l->input_shape;
    return;
  }
  l->params = NormalizeLayerParams(l->type, l->params);
  l->output_shape = InferOutputShape(*l);
}

bool HasKernel(const std::string& type) {
  return type == "Conv2d" || type == "MaxPool2d" || type == "AvgPool2d";
}

// The options' limits on a run's MACs, its largest tensor (elements) and the weights, shared by
// layer and operator draws.
bool WithinCountLimits(double macs, double largest, double parameters, const SamplerOptions& o) {
  return macs <= o.max_macs && macs >= o.min_macs && largest <= o.max_elements &&
         parameters <= o.max_parameters && parameters >= o.min_parameters;
}

bool WithinLimits(const LayerInstance& l, std::int64_t batch, const SamplerOptions& o) {
  if (!o.kernel_sizes.empty()) {
    const json& k = l.params.at("kernel_size");
    if (k[0] != k[1] || std::find(o.kernel_sizes.begin(), o.kernel_sizes.end(),
                                  k[0].get<std::int64_t>()) == o.kernel_sizes.end()) {
      return false;
    }
  }
  const LayerCounts c = CountLayer(l, batch);
  return WithinCountLimits(c.macs, std::max(c.input_elements, c.output_elements), c.parameters, o);
}

// An operator draw at c->batch_size into *c (layer = the node's layer form as predictors see
// it, plan = the graph); false when the draw is invalid or outside the limits.
bool DrawOperatorConfig(const std::string& type, Rng& r, const SamplerOptions& o,
                        CollectConfig* c) {
  graph::Graph g;
  try {
    g = DrawOperator(type, r, c->batch_size);
  } catch (const std::exception&) {
    return false;
  }
  const graph::Node& node = g.node(0);
  const graph::OpCall call = graph::MakeCall(g, 0);
  const graph::NodeCounts counts = graph::CountsOf(*node.schema, call);
  double largest = 0;
  for (const graph::Value& v : g.values()) largest = std::max(largest, v.type.elements());
  if (node.op == "scaled_dot_product_attention") {
    // The score matrix [..., L, S] is materialised by the unfused kernel: a tensor of the run.
    const graph::Dims& k = call.in(1).dims;
    largest = std::max(largest, call.outputs[0].elements() /
                                    static_cast<double>(call.outputs[0].dims.back()) *
                                    static_cast<double>(k[k.size() - 2]));
  }
  if (!WithinCountLimits(counts.macs, largest, g.ParameterCount(), o)) return false;
  std::int64_t batch = 1;
  c->layer = ToLayerInstance(graph::LayerFormOf(*node.schema, call), "", &batch);
  c->plan = RunPlan(g);
  return batch == c->batch_size;
}

std::string JoinTypes() {
  std::string out;
  for (const auto& t : SampleableLayerTypes()) out += (out.empty() ? "" : ", ") + t;
  return out;
}

}  // namespace

std::vector<std::string> SampleableLayerTypes() {
  std::vector<std::string> types = KnownLayerTypes();
  types.push_back("Add");
  types.push_back("Cat");
  for (const std::string& t : OperatorTypes()) types.push_back(t);
  std::sort(types.begin(), types.end());
  return types;
}

CollectConfig SampleConfig(const std::string& type, std::uint64_t seed, std::int64_t index,
                           const SamplerOptions& options) {
  const auto types = SampleableLayerTypes();
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    throw std::invalid_argument("--layer: unknown layer type '" + type + "'; known: " +
                                JoinTypes());
  }
  if (!options.kernel_sizes.empty() && !HasKernel(type)) {
    throw std::invalid_argument("--kernel-size: applies to Conv2d, MaxPool2d and AvgPool2d, not " +
                                type);
  }
  const std::uint64_t base =
      SplitMix(SplitMix(seed) ^ HashString(type) ^ SplitMix(static_cast<std::uint64_t>(index)));
  for (std::uint64_t attempt = 0; attempt < 1000; ++attempt) {
    Rng r(SplitMix(base + attempt));
    Rng extra(SplitMix(base + attempt) ^ 0x746f6b656e73ULL);
    CollectConfig c;
    c.batch_size = BatchSize(r, options);
    if (IsOperatorType(type)) {
      if (!DrawOperatorConfig(type, r, options, &c)) continue;
      c.context = {{"sample", index}, {"seed", seed}, {"operator", c.plan["nodes"][0]["op"]}};
      return c;
    }
    c.layer = Draw(type, r, extra);
    try {
      Complete(&c.layer);
    } catch (const std::exception&) {
      continue;  // e.g. a kernel larger than the padded image: redraw
    }
    if (!WithinLimits(c.layer, c.batch_size, options)) continue;
    c.context = {{"sample", index}, {"seed", seed}};
    return c;
  }
  throw std::runtime_error(fmt::format(
      "--layer {}: no valid configuration within max_macs {}, max_elements {} and max_parameters "
      "{}{}{}{} "
      "after 1000 draws",
      type, options.max_macs, options.max_elements, options.max_parameters,
      options.min_macs > 0 ? fmt::format(" with at least min_macs {}", options.min_macs) : "",
      options.min_parameters > 0
          ? fmt::format(" with at least min_parameters {}", options.min_parameters)
          : "",
      options.kernel_sizes.empty()
          ? ""
          : fmt::format(" with kernel_size in {{{}}}", fmt::join(options.kernel_sizes, ", "))));
}

std::vector<CollectConfig> SampleConfigs(const std::string& type, std::int64_t n,
                                         std::uint64_t seed, const SamplerOptions& options) {
  std::vector<CollectConfig> out;
  out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
  for (std::int64_t i = 0; i < n; ++i) out.push_back(SampleConfig(type, seed, i, options));
  return out;
}

CollectConfig MakeConfig(LayerInstance layer, std::int64_t batch_size) {
  if (batch_size < 1) {
    throw std::invalid_argument("impossible configuration: batch size must be >= 1, got " +
                                std::to_string(batch_size));
  }
  try {
    Complete(&layer);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("impossible configuration: ") + e.what());
  }
  CollectConfig c;
  c.layer = std::move(layer);
  c.batch_size = batch_size;
  return c;
}

std::vector<CollectConfig> ConfigsFromArchitecture(const Architecture& arch,
                                                   const std::vector<std::int64_t>& batch_sizes) {
  const std::vector<LayerInstance> ops = InferOperations(arch);
  std::vector<CollectConfig> out;
  for (std::int64_t b : batch_sizes) {
    std::set<std::string> seen;
    for (const LayerInstance& op : ops) {
      const std::string key =
          json{{"t", op.type}, {"p", op.params}, {"i", op.input_shape}}.dump();
      if (!seen.insert(key).second) continue;
      CollectConfig c = MakeConfig(op, b);
      c.context = {{"from_architecture", arch.name}, {"layer", op.name}};
      out.push_back(std::move(c));
    }
  }
  return out;
}

CollectConfig WholeNetworkConfig(const Architecture& arch, std::int64_t batch_size) {
  if (batch_size < 1) {
    throw std::invalid_argument("impossible configuration: batch size must be >= 1, got " +
                                std::to_string(batch_size));
  }
  const std::vector<LayerInstance> ops = InferOperations(arch);
  CollectConfig c;
  c.layer.type = arch.name;
  c.layer.name = arch.name;
  c.layer.input_shape = arch.input;
  c.layer.params = json::object();
  c.layer.output_shape = ops.empty() ? arch.input : ops.back().output_shape;
  c.batch_size = batch_size;
  c.architecture = ToJson(arch);
  c.context = {{"architecture", arch.name}};
  return c;
}

}  // namespace joulecast

namespace joulecast {

std::vector<CollectConfig> ConfigsFromGraph(const std::string& name, const graph::Graph& g) {
  std::vector<CollectConfig> out;
  for (graph::NodeId id = 0; id < static_cast<graph::NodeId>(g.nodes().size()); ++id) {
    const graph::Node& n = g.node(id);
    if (n.schema->cost == graph::CostClass::kView) continue;
    graph::Graph one;
    one.name = n.name;
    std::vector<graph::ValueId> in;
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] == graph::kNoValue) {
        in.push_back(graph::kNoValue);
        continue;
      }
      const graph::Value& v = g.value(n.inputs[i]);
      const std::string vname = "in" + std::to_string(i);
      if (graph::IsTransposedParameter(g, n.inputs[i])) {
        // The weight as stored and its transpose, so that the operator reads the layout it
        // reads in the network (a copy of the transposed shape would be another kernel).
        const graph::Node& t = g.node(v.producer);
        const graph::Value& w = g.value(t.inputs[0]);
        const graph::ValueId stored = one.AddParameter(vname, w.type, false);
        const graph::NodeId tn = one.AddNode(t.op, t.attrs, {stored}, t.scope, t.name, 1);
        in.push_back(one.node(tn).outputs[0]);
        continue;
      }
      if (v.role == graph::ValueRole::kParameter || v.role == graph::ValueRole::kBuffer) {
        in.push_back(one.AddParameter(vname, v.type, v.role == graph::ValueRole::kBuffer));
      } else {
        in.push_back(one.AddInput(vname, v.type, v.type.rank() > 0 ? 0 : -1));
      }
    }
    const graph::NodeId k =
        one.AddNode(n.op, n.attrs, in, n.scope, n.name, static_cast<int>(n.outputs.size()));
    for (graph::ValueId o : one.node(k).outputs) one.MarkOutput(o);
    graph::InferShapes(one);
    CollectConfig c;
    c.layer = ToLayerInstance(graph::LayerFormOf(*n.schema, graph::MakeCall(one, k)), n.name,
                              &c.batch_size);
    c.plan = RunPlan(one);
    c.context = {{"from_architecture", name}, {"layer", n.name}, {"operator", n.op}};
    out.push_back(std::move(c));
  }
  return out;
}

CollectConfig WholeGraphConfig(const std::string& name, const graph::Graph& g,
                               std::int64_t seq_len) {
  if (g.inputs().empty()) throw std::invalid_argument(name + ": the graph has no inputs");
  const graph::Value& x = g.value(g.inputs()[0]);
  CollectConfig c;
  c.layer.type = name;
  c.layer.name = name;
  c.layer.params = json::object();
  c.layer.input_shape = x.batch_dim == 0 ? Shape(x.type.dims.begin() + 1, x.type.dims.end())
                                         : Shape(x.type.dims.begin(), x.type.dims.end());
  if (!g.outputs().empty()) {
    const graph::Dims& out = g.value(g.outputs()[0]).type.dims;
    c.layer.output_shape = out.size() > 1 ? Shape(out.begin() + 1, out.end()) : Shape(out);
  }
  c.batch_size = g.batch();
  c.plan = RunPlan(g);
  c.context = {{"architecture", name}};
  if (seq_len > 0) c.context["seq_len"] = seq_len;
  return c;
}

}  // namespace joulecast
