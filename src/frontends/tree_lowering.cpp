#include "joulecast/frontends/tree_lowering.h"

#include <fmt/format.h>

#include <map>
#include <stdexcept>

#include "joulecast/arch/shape_inference.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast {
namespace {

using graph::Attributes;
using graph::DType;
using graph::Graph;
using graph::TensorType;
using graph::ValueId;
using nlohmann::json;

std::vector<std::int64_t> Ints(const json& v) {
  if (v.is_number_integer()) return {v.get<std::int64_t>(), v.get<std::int64_t>()};
  return v.get<std::vector<std::int64_t>>();
}

std::string ParentOf(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(0, dot);
}

class Lowering {
 public:
  explicit Lowering(Graph* g) : g_(g) {}

  ValueId Walk(const std::vector<LayerSpec>& layers, ValueId x) {
    for (const LayerSpec& spec : layers) x = Layer(spec, x);
    return x;
  }

 private:
  std::string Unique(const std::string& base) {
    int& n = uses_[base];
    std::string name = n == 0 ? base : fmt::format("{}#{}", base, n);
    ++n;
    while (g_->FindNode(name) >= 0 || g_->FindValue(name) >= 0) name = fmt::format("{}#{}", base, n++);
    return name;
  }

  ValueId Node(const std::string& op, Attributes attrs, const std::vector<ValueId>& inputs,
               const std::string& scope, const std::string& base) {
    const graph::NodeId n = g_->AddNode(op, std::move(attrs), inputs, scope, Unique(base));
    return g_->node(n).outputs[0];
  }

  ValueId Param(const std::string& module, const char* what, graph::Dims dims, bool buffer = false) {
    const std::string name = module.empty() ? what : module + "." + what;
    return g_->AddParameter(name, TensorType{DType::kFloat32, std::move(dims)}, buffer);
  }

  ValueId Layer(const LayerSpec& spec, ValueId x) {
    if (spec.type == "Sequential") return Walk(spec.layers, x);
    if (spec.type == "Residual") {
      const ValueId body = Walk(spec.layers, x);
      const ValueId shortcut = Walk(spec.shortcut, x);
      return Node("add", {}, {body, shortcut}, spec.name,
                  spec.name.empty() ? "add" : spec.name + ".add");
    }
    if (spec.type == "Concat") {
      std::vector<ValueId> pieces(spec.branches.size(), x);
      if (spec.split) {
        Attributes a;
        a.Set("chunks", static_cast<std::int64_t>(spec.branches.size()));
        a.Set("dim", std::int64_t{1});
        const graph::NodeId n =
            g_->AddNode("chunk", std::move(a), {x}, spec.name,
                        Unique(spec.name.empty() ? "chunk" : spec.name + ".chunk"),
                        static_cast<int>(spec.branches.size()));
        for (std::size_t i = 0; i < pieces.size(); ++i) pieces[i] = g_->node(n).outputs[i];
      }
      std::vector<ValueId> outs;
      for (std::size_t i = 0; i < spec.branches.size(); ++i)
        outs.push_back(Walk(spec.branches[i], pieces[i]));
      Attributes a;
      a.Set("dim", std::int64_t{1});
      return Node("cat", std::move(a), outs, spec.name,
                  spec.name.empty() ? "cat" : spec.name + ".cat");
    }
    // Programmatic trees may leave defaults out or give sizes as bare integers.
    const json p = NormalizeLayerParams(spec.type, spec.params);
    const std::string& t = spec.type;
    // A functional leaf runs in its parent's scope; a module (or a further call of one) is its own.
    const std::string scope = spec.functional ? ParentOf(spec.name) : spec.name;
    const std::string module = spec.name;
    const int rank = g_->value(x).type.rank();
    Attributes a;
    if (t == "Conv2d") {
      const std::int64_t ci = p["in_channels"], co = p["out_channels"], groups = p["groups"];
      const auto k = Ints(p["kernel_size"]);
      a.Set("stride", Ints(p["stride"]));
      a.Set("padding", Ints(p["padding"]));
      a.Set("dilation", Ints(p["dilation"]));
      a.Set("groups", groups);
      const ValueId w = Param(module, "weight", {co, ci / groups, k[0], k[1]});
      const ValueId b = p["bias"].get<bool>() ? Param(module, "bias", {co}) : graph::kNoValue;
      return Node("conv2d", std::move(a), {x, w, b}, scope, module);
    }
    if (t == "Linear") {
      const std::int64_t in = p["in_features"], out = p["out_features"];
      const ValueId w = Param(module, "weight", {out, in});
      const ValueId b = p["bias"].get<bool>() ? Param(module, "bias", {out}) : graph::kNoValue;
      return Node("linear", std::move(a), {x, w, b}, scope, module);
    }
    if (t == "BatchNorm2d") {
      const std::int64_t c = p["num_features"];
      a.Set("eps", p["eps"].get<double>());
      if (p["momentum"].is_number()) a.Set("momentum", p["momentum"].get<double>());
      const bool affine = p["affine"], stats = p["track_running_stats"];
      const ValueId w = affine ? Param(module, "weight", {c}) : graph::kNoValue;
      const ValueId b = affine ? Param(module, "bias", {c}) : graph::kNoValue;
      const ValueId m = stats ? Param(module, "running_mean", {c}, true) : graph::kNoValue;
      const ValueId v = stats ? Param(module, "running_var", {c}, true) : graph::kNoValue;
      return Node("batch_norm", std::move(a), {x, w, b, m, v}, scope, module);
    }
    if (t == "MaxPool2d" || t == "AvgPool2d") {
      a.Set("kernel_size", Ints(p["kernel_size"]));
      a.Set("stride", Ints(p["stride"]));
      a.Set("padding", Ints(p["padding"]));
      a.Set("ceil_mode", p["ceil_mode"].get<bool>());
      if (t == "MaxPool2d") {
        a.Set("dilation", Ints(p["dilation"]));
        return Node("max_pool2d", std::move(a), {x}, scope, module);
      }
      a.Set("count_include_pad", p["count_include_pad"].get<bool>());
      return Node("avg_pool2d", std::move(a), {x}, scope, module);
    }
    if (t == "AdaptiveAvgPool2d") {
      a.Set("output_size", Ints(p["output_size"]));
      return Node("adaptive_avg_pool2d", std::move(a), {x}, scope, module);
    }
    if (t == "Softmax") {
      // PyTorch's _get_softmax_dim: dim 0 for ranks 0, 1 and 3, else 1.
      const std::int64_t dim = p["dim"].is_null() ? (rank == 0 || rank == 1 || rank == 3 ? 0 : 1)
                                                  : p["dim"].get<std::int64_t>();
      a.Set("dim", dim);
      return Node("softmax", std::move(a), {x}, scope, module);
    }
    if (t == "Dropout") {
      a.Set("p", p["p"].get<double>());
      return Node("dropout", std::move(a), {x}, scope, module);
    }
    if (t == "Flatten") {
      a.Set("start_dim", p["start_dim"].get<std::int64_t>());
      a.Set("end_dim", p["end_dim"].get<std::int64_t>());
      return Node("flatten", std::move(a), {x}, scope, module);
    }
    if (t == "ChannelShuffle") {
      a.Set("groups", p["groups"].get<std::int64_t>());
      return Node("channel_shuffle", std::move(a), {x}, scope, module);
    }
    static const std::map<std::string, std::string> kUnary = {
        {"ReLU", "relu"}, {"ReLU6", "relu6"}, {"Sigmoid", "sigmoid"},
        {"Tanh", "tanh"}, {"Identity", "identity"}};
    auto it = kUnary.find(t);
    if (it == kUnary.end())
      throw std::runtime_error(fmt::format("{} ({}): no operator for this layer type", spec.name, t));
    return Node(it->second, std::move(a), {x}, scope, module);
  }

  Graph* g_;
  std::map<std::string, int> uses_;
};

}  // namespace

graph::Graph LowerArchitecture(const Architecture& arch, std::int64_t batch, const Shape& input) {
  if (batch < 1) throw std::runtime_error(fmt::format("batch size must be >= 1, got {}", batch));
  const Shape& in = input.empty() ? arch.input : input;
  // The tree's own checks and messages first.
  InferOperations(arch, in);
  Graph g;
  g.name = arch.name;
  g.description = arch.description;
  graph::Dims dims = {batch};
  dims.insert(dims.end(), in.begin(), in.end());
  const ValueId x = g.AddInput("input", TensorType{DType::kFloat32, dims}, 0);
  Lowering lowering(&g);
  g.MarkOutput(lowering.Walk(arch.layers, x));
  try {
    graph::InferShapes(g);
  } catch (const std::exception& e) {
    throw std::runtime_error((arch.name.empty() ? "" : arch.name + ": ") + e.what());
  }
  return g;
}

}  // namespace joulecast
