// joulecast_torchscript: reads a TorchScript file with libtorch and describes it as a joulecast
// architecture (data/architectures/README.md). Built as a module library that the core dlopen()s
// (src/arch/torchscript_loader.cpp), so that only reading a .pt file pays for libtorch.
//
// The model is never run. Its module tree is walked and each forward() graph is interpreted
// symbolically: every tensor value is the list of layers ("path") that leads to it from the
// block's input, so that
//   - a call of a known torch.nn leaf module appends that leaf (its arguments come from the class
//     constants of a scripted module, or from the one operation of a traced module's forward());
//     a further call of the same module appends a "repeat";
//   - a call of any other module interprets that module's forward() and appends it as a
//     Sequential named after the module;
//   - layer-like aten operations (relu, flatten, adaptive_avg_pool2d, ...) append functional
//     leaves;
//   - aten::add of two paths with a common prefix becomes a functional Residual{body, shortcut}
//     after that prefix, aten::cat a functional Concat (split when its inputs are the pieces of
//     one aten::chunk, in order);
//   - scalars, lists, attributes and branches on constants (self.training, "is not None") are
//     evaluated; everything else is an error naming the module, the operation and its source line.
// This and torchscript_graph.cpp (the operator-graph lowering) are the only translation units that
// include libtorch: each costs ~17 s and ~1 GB to compile.

#include "joulecast/torchscript/torchscript_plugin.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/script.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "joulecast/io/first_line.h"

namespace {

using joulecast::FirstLineNoTabs;

using json = nlohmann::json;
namespace tj = torch::jit;

class ExtractError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Leaf types of the architecture format; torch.nn classes of these names are leaves.
const std::set<std::string>& LeafTypes() {
  static const std::set<std::string> types = {
      "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "ChannelShuffle", "Conv2d", "Dropout",
      "Flatten",           "Identity",  "Linear",      "MaxPool2d",      "ReLU",   "ReLU6",
      "Sigmoid",           "Softmax",   "Tanh"};
  return types;
}

// torch.nn classes that only hold other modules; their forward() is interpreted.
bool IsTorchContainer(const std::string& type) {
  return type == "Sequential" || type == "ModuleList" || type == "ModuleDict";
}

// "__torch__.torch.nn.modules.conv.___torch_mangle_14.Conv2d" -> "torch.nn.modules.conv.Conv2d".
std::string CleanClassName(const std::string& qualified) {
  std::string out;
  std::size_t start = 0;
  while (start <= qualified.size()) {
    std::size_t end = qualified.find('.', start);
    if (end == std::string::npos) end = qualified.size();
    const std::string part = qualified.substr(start, end - start);
    if (part != "__torch__" && part.rfind("___torch_mangle_", 0) != 0) {
      if (!out.empty()) out += '.';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

std::string ShortName(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

std::string ClassOf(const tj::Module& module) {
  const auto& name = module.type()->name();
  return name ? CleanClassName(name->qualifiedName()) : std::string("?");
}

std::string JoinName(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

// One layer (or one piece of an aten::chunk) in a path. Steps are shared between the paths that
// pass through them; `id` identifies them when paths are compared.
struct Step {
  std::int64_t id = 0;
  json layer;                        // the architecture JSON of this layer (null for a chunk piece)
  std::vector<std::int64_t> covers;  // this id and the ids of the steps inside a Residual/Concat
  std::string label;                 // for "not used" messages
  std::int64_t chunk_of = -1;        // chunk pieces: the id of their aten::chunk, else -1
  std::int64_t chunk_index = 0;
  std::int64_t chunk_count = 0;
};
using StepPtr = std::shared_ptr<const Step>;
using Path = std::vector<StepPtr>;

// The symbolic value of a graph value.
struct Sym {
  enum class Kind { kTensor, kModule, kConst, kList, kDim, kFunction, kShuffle };
  Kind kind = Kind::kConst;
  Path path;                 // kTensor: layers from the block input; kDim, kShuffle: the tensor
  std::int64_t dim = 0;      // kDim: x.size(dim) / divisor; kShuffle: 1 after the 5-d view,
  std::int64_t divisor = 1;  //   2 after its transpose(1, 2); divisor: the groups
  c10::IValue value;         // kConst (also parameter tensors and None)
  tj::Module module;         // kModule
  std::string module_path;   // kModule: dotted name from the root ("" for the root)
  std::vector<Sym> items;    // kList: list or tuple elements
  tj::Function* function = nullptr;  // kFunction
};

Sym Const(c10::IValue v) {
  Sym s;
  s.kind = Sym::Kind::kConst;
  s.value = std::move(v);
  return s;
}

std::string Describe(const Sym& s) {
  switch (s.kind) {
    case Sym::Kind::kTensor:
      return "a tensor";
    case Sym::Kind::kModule:
      return "module " + (s.module_path.empty() ? std::string("<root>") : s.module_path);
    case Sym::Kind::kList:
      return "a tuple or list of " + std::to_string(s.items.size());
    case Sym::Kind::kDim:
      return "a size of a tensor";
    case Sym::Kind::kShuffle:
      return "a channel shuffle in progress";
    case Sym::Kind::kFunction:
      return "a function";
    case Sym::Kind::kConst:
      if (s.value.isTensor()) return "a parameter or buffer tensor";
      return "a constant " + s.value.tagKind();
  }
  return "?";
}

// The module whose forward() is being interpreted; inlined methods of the same module and
// TorchScript functions share its frame.
struct Frame {
  std::string path;                         // module path, "" for the root
  std::string type;                         // short class name, e.g. "BasicBlock"
  std::string method;                       // method or function being interpreted
  std::vector<StepPtr>* created = nullptr;  // steps made in this module's forward()

  std::string Label() const { return path.empty() ? type : path + " (" + type + ")"; }
};

struct Env {
  std::unordered_map<const tj::Value*, Sym> values;
  std::unordered_map<const tj::Value*, std::string> stale;  // value -> in-place op that changed it
};

std::string SourceLocation(const tj::Node* node) {
  tj::SourceRange range = node->sourceRange();
  if (auto original = range.findSourceRangeThatGenerated()) range = *original;
  const auto flc = range.file_line_col();
  if (!flc || std::get<0>(*flc).empty()) return "";
  return " (at " + std::get<0>(*flc) + ":" + std::to_string(std::get<1>(*flc)) + ")";
}

[[noreturn]] void Fail(const Frame& f, const tj::Node* node, const std::string& message) {
  throw ExtractError(f.Label() + ": " + message + " in " + f.method + "()" +
                     (node ? SourceLocation(node) : std::string()));
}

json IValueToJson(const c10::IValue& v) {
  if (v.isNone()) return nullptr;
  if (v.isBool()) return v.toBool();
  if (v.isInt()) return v.toInt();
  if (v.isDouble()) return v.toDouble();
  if (v.isString()) return v.toStringRef();
  if (v.isTuple()) {
    json a = json::array();
    for (const c10::IValue& e : v.toTupleRef().elements()) a.push_back(IValueToJson(e));
    return a;
  }
  if (v.isList()) {
    json a = json::array();
    for (const c10::IValue& e : v.toListRef()) a.push_back(IValueToJson(e));
    return a;
  }
  throw ExtractError("unsupported constant of type " + v.tagKind());
}

// [k] and k mean the same for sizes; PyTorch's BroadcastingList2 keeps one-element lists.
json Pair(json v) {
  if (v.is_array() && v.size() == 1) return v[0];
  return v;
}

std::vector<std::int64_t> PairValues(const json& v) {
  if (v.is_number_integer()) return {v.get<std::int64_t>(), v.get<std::int64_t>()};
  if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer()) {
    return {v[0].get<std::int64_t>(), v[1].get<std::int64_t>()};
  }
  throw ExtractError("expected an integer or [h, w], got " + v.dump());
}

// Conv2d's padding="same"/"valid" as numbers (PyTorch pads "same" symmetrically when it can and
// otherwise adds the odd pixel on one side, which the architecture format cannot express).
json ConvPadding(const json& padding, const json& kernel, const json& dilation,
                 const json& stride) {
  if (!padding.is_string()) return Pair(padding);
  const std::string mode = padding.get<std::string>();
  if (mode == "valid") return 0;
  if (mode != "same") throw ExtractError("unsupported Conv2d padding '" + mode + "'");
  const auto k = PairValues(kernel);
  const auto d = PairValues(dilation);
  const auto s = PairValues(stride);
  if (s[0] != 1 || s[1] != 1) throw ExtractError("Conv2d padding='same' needs stride 1");
  json out = json::array();
  for (int i = 0; i < 2; ++i) {
    const std::int64_t total = d[i] * (k[i] - 1);
    if (total % 2 != 0) {
      throw ExtractError("Conv2d padding='same' with kernel " + std::to_string(k[0]) + "x" +
                         std::to_string(k[1]) + " and dilation " + std::to_string(d[0]) + "x" +
                         std::to_string(d[1]) +
                         " pads unevenly, which the architecture format cannot express");
    }
    out.push_back(total / 2);
  }
  return out;
}

class Extractor {
 public:
  json Extract(const tj::Module& root) {
    const std::string cls = ClassOf(root);
    const std::string type = ShortName(cls);
    json layers = json::array();
    if (IsTorchNn(cls) && LeafTypes().count(type)) {
      layers.push_back(LeafLayer(root, "", type, "forward"));
    } else {
      std::vector<StepPtr> created;
      Frame frame{"", type, "forward", &created};
      const Path out = RunModule(root, "", "forward", frame);
      for (const StepPtr& step : out) layers.push_back(StepLayer(step, frame, nullptr));
    }
    if (layers.empty()) {
      throw ExtractError(type + ": forward() returns its input unchanged; there is no layer");
    }
    return layers;
  }

 private:
  static bool IsTorchNn(const std::string& cls) { return cls.rfind("torch.nn.modules.", 0) == 0; }

  // --- modules -----------------------------------------------------------------------------

  // Interprets `method` of a module with a fresh input and returns the output's path.
  Path RunModule(const tj::Module& module, const std::string& path, const std::string& method,
                 Frame& frame) {
    const auto m = module.find_method(method);
    if (!m) throw ExtractError(frame.Label() + ": has no method " + method + "()");
    const std::shared_ptr<tj::Graph> graph = m->graph();
    if (graph->inputs().size() != 2) {
      throw ExtractError(frame.Label() + ": " + method + "() takes " +
                         std::to_string(graph->inputs().size() - 1) +
                         " arguments; only modules called with one tensor are supported");
    }
    Sym self;
    self.kind = Sym::Kind::kModule;
    self.module = module;
    self.module_path = path;
    Sym input;
    input.kind = Sym::Kind::kTensor;
    const std::vector<Sym> outs = RunGraph(*graph, {self, input}, frame);
    if (outs.size() != 1 || outs[0].kind != Sym::Kind::kTensor) {
      throw ExtractError(
          frame.Label() + ": " + method + "() returns " +
          (outs.size() == 1 ? Describe(outs[0]) : std::to_string(outs.size()) + " values") +
          "; only modules that return one tensor are supported");
    }
    CheckAllUsed(frame, outs[0].path);
    return outs[0].path;
  }

  // A call of a submodule (not of a method of the module itself) on tensor `x`.
  Sym CallModule(const Sym& callee, const std::string& method, const Sym& x, const tj::Node* node,
                 Frame& caller) {
    const std::string cls = ClassOf(callee.module);
    const std::string type = ShortName(cls);
    const std::string& path = callee.module_path;
    if (IsTorchNn(cls) && LeafTypes().count(type)) {
      json layer;
      if (!called_.insert(path).second) {
        layer = {{"type", type}, {"name", path}, {"repeat", true}};
      } else {
        layer = LeafLayer(callee.module, path, type, method);
        layer["name"] = path;
      }
      return Append(x, std::move(layer), path + " (" + type + ")", caller);
    }
    if (IsTorchNn(cls) && !IsTorchContainer(type)) {
      throw ExtractError(path + " (" + type + "): unsupported layer type " + cls);
    }
    if (!called_.insert(path).second) {
      Fail(
          caller, node,
          path + " (" + type + ") is called again; only leaf modules may be called more than once");
    }
    std::vector<StepPtr> created;
    Frame frame{path, type, method, &created};
    const Path out = RunModule(callee.module, path, method, frame);
    json layers = json::array();
    for (const StepPtr& step : out) layers.push_back(StepLayer(step, frame, nullptr));
    return Append(x, {{"type", "Sequential"}, {"name", path}, {"layers", std::move(layers)}},
                  path + " (" + type + ")", caller);
  }

  // A torch.nn leaf module's layer JSON (without name): from the class constants of a scripted
  // module, or from the single operation that a traced module's forward() recorded.
  json LeafLayer(const tj::Module& module, const std::string& path, const std::string& type,
                 const std::string& method) {
    const std::string label = (path.empty() ? type : path + " (" + type + ")");
    if (type == "Identity" || type == "Sigmoid" || type == "Tanh") return {{"type", type}};
    try {
      if (auto layer = LeafFromConstants(module, type)) return *layer;
    } catch (const ExtractError& e) {
      throw ExtractError(label + ": " + e.what());
    }
    std::vector<StepPtr> created;
    Frame frame{path, type, method, &created};
    const Path out = RunModule(module, path, method, frame);
    if (out.size() != 1 || out[0]->chunk_of >= 0 || out[0]->layer.value("type", "") != type) {
      std::string found;
      for (const StepPtr& step : out) {
        found += (found.empty() ? "" : ", ") +
                 (step->chunk_of >= 0 ? std::string("aten::chunk") : step->layer.value("type", ""));
      }
      throw ExtractError(label + ": cannot read its arguments: " + method + "() computes [" +
                         found + "] instead of one " + type);
    }
    json layer = out[0]->layer;
    layer.erase("functional");
    return layer;
  }

  // Scripted torch.nn modules keep their __constants__ (in_channels, kernel_size, ...); traced
  // ones do not, and give std::nullopt.
  static std::optional<json> LeafFromConstants(const tj::Module& module, const std::string& type) {
    static const std::map<std::string, std::vector<std::string>> kConstants = {
        {"AdaptiveAvgPool2d", {"output_size"}},
        {"AvgPool2d", {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"}},
        {"BatchNorm2d", {"num_features", "eps", "momentum", "affine", "track_running_stats"}},
        {"ChannelShuffle", {"groups"}},
        {"Conv2d",
         {"in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"}},
        {"Dropout", {"p", "inplace"}},
        {"Flatten", {"start_dim", "end_dim"}},
        {"Linear", {"in_features", "out_features"}},
        {"MaxPool2d", {"kernel_size", "stride", "padding", "dilation", "ceil_mode"}},
        {"ReLU", {"inplace"}},
        {"ReLU6", {"inplace"}},
        {"Softmax", {"dim"}},
    };
    const auto it = kConstants.find(type);
    if (it == kConstants.end()) return std::nullopt;
    json layer = {{"type", type}};
    for (const std::string& name : it->second) {
      if (!module.hasattr(name)) return std::nullopt;
      layer[name] = IValueToJson(module.attr(name));
    }
    for (const char* key : {"kernel_size", "stride", "padding", "dilation", "output_size"}) {
      if (layer.contains(key)) layer[key] = Pair(layer[key]);
    }
    if (type == "Conv2d") {
      const std::string mode =
          module.hasattr("padding_mode") ? module.attr("padding_mode").toStringRef() : "zeros";
      if (mode != "zeros") {
        throw ExtractError("padding_mode '" + mode + "' is not supported (only 'zeros')");
      }
      layer["padding"] =
          ConvPadding(layer["padding"], layer["kernel_size"], layer["dilation"], layer["stride"]);
      layer["bias"] = module.hasattr("bias") && module.attr("bias").isTensor();
    } else if (type == "Linear") {
      layer["bias"] = module.hasattr("bias") && module.attr("bias").isTensor();
    } else if (type == "MaxPool2d") {
      if (module.hasattr("return_indices") && module.attr("return_indices").toBool()) {
        throw ExtractError("return_indices=True is not supported");
      }
    } else if (type == "AvgPool2d") {
      if (module.hasattr("divisor_override") && !module.attr("divisor_override").isNone()) {
        throw ExtractError("divisor_override is not supported");
      }
    } else if (type == "AdaptiveAvgPool2d") {
      const json& size = layer["output_size"];
      if (size.is_null() ||
          (size.is_array() &&
           std::any_of(size.begin(), size.end(), [](const json& v) { return v.is_null(); }))) {
        throw ExtractError("output_size " + size.dump() +
                           " (None: keep the input size) is not supported");
      }
    }
    return layer;
  }

  // --- paths -------------------------------------------------------------------------------

  Sym Append(const Sym& x, json layer, const std::string& label, Frame& f) {
    auto step = std::make_shared<Step>();
    step->id = next_id_++;
    step->layer = std::move(layer);
    step->covers = {step->id};
    step->label = label;
    labels_[step->id] = label;
    f.created->push_back(step);
    Sym out = x;
    out.path.push_back(step);
    return out;
  }

  Sym AppendFunctional(const Sym& x, json layer, const std::string& op, Frame& f) {
    layer["functional"] = true;
    return Append(x, std::move(layer), op, f);
  }

  // The architecture JSON of one step; chunk pieces may only start a Concat's branches.
  static json StepLayer(const StepPtr& step, const Frame& f, const tj::Node* node) {
    if (step->chunk_of >= 0) {
      Fail(f, node,
           "the pieces of aten::chunk are supported only when aten::cat joins all of them, in "
           "order, along the channels");
    }
    return step->layer;
  }

  static json Layers(const Path& path, std::size_t from, const Frame& f, const tj::Node* node) {
    json layers = json::array();
    for (std::size_t i = from; i < path.size(); ++i) layers.push_back(StepLayer(path[i], f, node));
    return layers;
  }

  static std::size_t CommonPrefix(const Path& a, const Path& b) {
    std::size_t k = 0;
    while (k < a.size() && k < b.size() && a[k]->id == b[k]->id) ++k;
    return k;
  }

  // Every step made in a module's forward() must reach its output: an operation whose result
  // is dropped would be left out of the architecture (and its cost) silently.
  static void CheckAllUsed(const Frame& f, const Path& out) {
    std::set<std::int64_t> used;
    for (const StepPtr& step : out) used.insert(step->covers.begin(), step->covers.end());
    for (const StepPtr& step : *f.created) {
      if (!used.count(step->id)) {
        throw ExtractError(f.Label() + ": the result of " + step->label + " is never used in " +
                           f.method + "()");
      }
    }
  }

  // After the common prefix, the joined paths must not share a step (y = f(x); z = y + x;
  // w = z + y): the format would then list, and cost, that step twice.
  void CheckDisjoint(const std::vector<const Path*>& paths, std::size_t from, const tj::Node* node,
                     const Frame& f) const {
    std::map<std::int64_t, std::size_t> owner;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      for (std::size_t j = from; j < paths[i]->size(); ++j) {
        for (const std::int64_t id : (*paths[i])[j]->covers) {
          const auto [it, inserted] = owner.emplace(id, i);
          if (!inserted && it->second != i) {
            Fail(f, node,
                 node->kind().toQualString() + std::string(" joins values that both contain ") +
                     labels_.at(id) + " after they branch, which the format cannot express");
          }
        }
      }
    }
  }

  Sym Residual(const Sym& a, const Sym& b, const tj::Node* node, Frame& f) {
    const std::size_t k = CommonPrefix(a.path, b.path);
    CheckDisjoint({&a.path, &b.path}, k, node, f);
    Path body(a.path.begin() + static_cast<std::ptrdiff_t>(k), a.path.end());
    Path shortcut(b.path.begin() + static_cast<std::ptrdiff_t>(k), b.path.end());
    if (body.empty() && shortcut.empty()) Fail(f, node, "aten::add adds a tensor to itself");
    // The format needs a non-empty body; x + f(x) (MobileNetV2) has the identity first.
    if (body.empty()) std::swap(body, shortcut);
    auto step = std::make_shared<Step>();
    step->id = next_id_++;
    step->label = "aten::add";
    labels_[step->id] = step->label;
    step->covers = {step->id};
    for (const Path* p : {&body, &shortcut}) {
      for (const StepPtr& s : *p)
        step->covers.insert(step->covers.end(), s->covers.begin(), s->covers.end());
    }
    step->layer = {{"type", "Residual"},
                   {"functional", true},
                   {"body", Layers(body, 0, f, node)},
                   {"shortcut", Layers(shortcut, 0, f, node)}};
    f.created->push_back(step);
    Sym out;
    out.kind = Sym::Kind::kTensor;
    out.path.assign(a.path.begin(), a.path.begin() + static_cast<std::ptrdiff_t>(k));
    out.path.push_back(step);
    return out;
  }

  Sym Concat(const std::vector<Sym>& parts, const tj::Node* node, Frame& f) {
    std::size_t k = parts[0].path.size();
    for (const Sym& p : parts) k = std::min(k, CommonPrefix(parts[0].path, p.path));
    std::vector<const Path*> paths;
    for (const Sym& p : parts) paths.push_back(&p.path);
    CheckDisjoint(paths, k, node, f);
    const std::int64_t n = static_cast<std::int64_t>(parts.size());
    // Split: branch i starts with piece i of one aten::chunk into n.
    const std::int64_t chunk = parts[0].path.size() > k ? parts[0].path[k]->chunk_of : -1;
    bool split = chunk >= 0;
    for (std::int64_t i = 0; i < n && split; ++i) {
      const Path& p = parts[static_cast<std::size_t>(i)].path;
      split = p.size() > k && p[k]->chunk_of == chunk && p[k]->chunk_index == i &&
              p[k]->chunk_count == n;
    }
    auto step = std::make_shared<Step>();
    step->id = next_id_++;
    step->label = "aten::cat";
    labels_[step->id] = step->label;
    step->covers = {step->id};
    json branches = json::array();
    for (const Sym& p : parts) {
      for (std::size_t i = k; i < p.path.size(); ++i) {
        step->covers.insert(step->covers.end(), p.path[i]->covers.begin(), p.path[i]->covers.end());
      }
      branches.push_back(Layers(p.path, k + (split ? 1 : 0), f, node));
    }
    step->layer = {{"type", "Concat"}, {"functional", true}, {"branches", std::move(branches)}};
    if (split) step->layer["split"] = true;
    f.created->push_back(step);
    Sym out;
    out.kind = Sym::Kind::kTensor;
    out.path.assign(parts[0].path.begin(), parts[0].path.begin() + static_cast<std::ptrdiff_t>(k));
    out.path.push_back(step);
    return out;
  }

  Sym Chunk(const Sym& x, std::int64_t n, Frame& f) {
    const std::int64_t group = next_id_++;
    Sym list;
    list.kind = Sym::Kind::kList;
    for (std::int64_t i = 0; i < n; ++i) {
      auto step = std::make_shared<Step>();
      step->id = next_id_++;
      step->covers = {step->id};
      step->label = "aten::chunk piece " + std::to_string(i);
      labels_[step->id] = step->label;
      step->chunk_of = group;
      step->chunk_index = i;
      step->chunk_count = n;
      f.created->push_back(step);
      Sym piece = x;
      piece.path.push_back(step);
      list.items.push_back(std::move(piece));
    }
    return list;
  }

  // --- graphs ------------------------------------------------------------------------------

  std::vector<Sym> RunGraph(tj::Graph& graph, const std::vector<Sym>& inputs, Frame& f) {
    if (graph.inputs().size() != inputs.size()) {
      throw ExtractError(f.Label() + ": " + f.method + "() takes " +
                         std::to_string(graph.inputs().size()) + " inputs, called with " +
                         std::to_string(inputs.size()));
    }
    Env env;
    for (std::size_t i = 0; i < inputs.size(); ++i) env.values[graph.inputs()[i]] = inputs[i];
    RunBlock(graph.block(), env, f);
    std::vector<Sym> outs;
    for (const tj::Value* v : graph.outputs()) outs.push_back(Get(env, v, graph.return_node(), f));
    return outs;
  }

  void RunBlock(tj::Block* block, Env& env, Frame& f) {
    for (tj::Node* node : block->nodes()) RunNode(node, env, f);
  }

  static const Sym& Get(const Env& env, const tj::Value* v, const tj::Node* node, const Frame& f) {
    const auto stale = env.stale.find(v);
    if (stale != env.stale.end()) {
      Fail(f, node,
           "reads %" + v->debugName() + " after " + stale->second + " changed it in place");
    }
    const auto it = env.values.find(v);
    if (it == env.values.end()) Fail(f, node, "uses %" + v->debugName() + " before it is defined");
    return it->second;
  }

  // Argument accessors; `what` names the operation in messages.
  struct Args {
    const Env& env;
    const tj::Node* node;
    const Frame& f;
    std::string what;

    const Sym& operator[](std::size_t i) const {
      if (i >= node->inputs().size()) {
        Fail(f, node, what + ": expected at least " + std::to_string(i + 1) + " arguments");
      }
      return Get(env, node->inputs()[i], node, f);
    }
    std::size_t size() const { return node->inputs().size(); }
    const Sym& Tensor(std::size_t i) const {
      const Sym& s = (*this)[i];
      if (s.kind != Sym::Kind::kTensor) {
        Fail(f, node, what + " on " + Describe(s) + " (only on values computed from the input)");
      }
      return s;
    }
    json Json(std::size_t i) const { return ToJson((*this)[i]); }
    json ToJson(const Sym& s) const {
      if (s.kind == Sym::Kind::kConst && !s.value.isTensor()) return IValueToJson(s.value);
      if (s.kind == Sym::Kind::kList) {
        json a = json::array();
        for (const Sym& item : s.items) a.push_back(ToJson(item));
        return a;
      }
      Fail(f, node, what + ": expected a constant argument, got " + Describe(s));
    }
    std::int64_t Int(std::size_t i) const {
      const json v = Json(i);
      if (!v.is_number_integer()) Fail(f, node, what + ": expected an integer, got " + v.dump());
      return v.get<std::int64_t>();
    }
    bool Bool(std::size_t i) const {
      const json v = Json(i);
      if (!v.is_boolean()) Fail(f, node, what + ": expected true or false, got " + v.dump());
      return v.get<bool>();
    }
    bool IsNone(std::size_t i) const {
      const Sym& s = (*this)[i];
      return s.kind == Sym::Kind::kConst && s.value.isNone();
    }
    // The sizes of a parameter argument (weight); std::nullopt for None.
    std::optional<std::vector<std::int64_t>> Sizes(std::size_t i) const {
      const Sym& s = (*this)[i];
      if (s.kind == Sym::Kind::kConst && s.value.isNone()) return std::nullopt;
      if (s.kind != Sym::Kind::kConst || !s.value.isTensor()) {
        Fail(f, node, what + ": expected a parameter tensor, got " + Describe(s));
      }
      const auto sizes = s.value.toTensor().sizes();
      return std::vector<std::int64_t>(sizes.begin(), sizes.end());
    }
    std::vector<Sym> List(std::size_t i) const {
      const Sym& s = (*this)[i];
      if (s.kind == Sym::Kind::kList) return s.items;
      if (s.kind == Sym::Kind::kConst && (s.value.isList() || s.value.isTuple())) {
        std::vector<Sym> items;
        const auto elems =
            s.value.isList() ? s.value.toListRef().vec() : s.value.toTupleRef().elements().vec();
        for (const c10::IValue& e : elems) items.push_back(Const(e));
        return items;
      }
      Fail(f, node, what + ": expected a list, got " + Describe(s));
    }
  };

  void RunNode(tj::Node* node, Env& env, Frame& f) {
    const std::string kind = node->kind().toQualString();
    const Args in{env, node, f, kind};
    auto set = [&](std::size_t i, Sym s) { env.values[node->outputs()[i]] = std::move(s); };

    if (kind == "prim::Constant") {
      const tj::Value* out = node->output();
      if (const auto fn = out->type()->cast<c10::FunctionType>()) {
        Sym s;
        s.kind = Sym::Kind::kFunction;
        s.function = fn->function();
        set(0, s);
        return;
      }
      const auto value = tj::toIValue(out);
      if (!value) Fail(f, node, "unsupported constant of type " + out->type()->str());
      set(0, Const(*value));
      return;
    }
    if (kind == "prim::GetAttr") {
      const Sym& obj = in[0];
      const std::string name = node->s(c10::attr::name);
      if (obj.kind != Sym::Kind::kModule) {
        Fail(f, node, "reads attribute '" + name + "' of " + Describe(obj));
      }
      const c10::IValue value = obj.module.attr(name);
      if (value.isObject() && value.toObject()->type()->is_module()) {
        Sym s;
        s.kind = Sym::Kind::kModule;
        s.module = tj::Module(value.toObject());
        s.module_path = JoinName(obj.module_path, name);
        set(0, s);
      } else {
        set(0, Const(value));
      }
      return;
    }
    if (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct") {
      Sym s;
      s.kind = Sym::Kind::kList;
      for (std::size_t i = 0; i < in.size(); ++i) s.items.push_back(in[i]);
      set(0, s);
      return;
    }
    if (kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") {
      const std::vector<Sym> items = in.List(0);
      if (items.size() != node->outputs().size()) {
        Fail(f, node,
             kind + " of " + std::to_string(items.size()) + " values into " +
                 std::to_string(node->outputs().size()));
      }
      for (std::size_t i = 0; i < items.size(); ++i) set(i, items[i]);
      return;
    }
    if (kind == "prim::TupleIndex" || kind == "aten::__getitem__") {
      const std::vector<Sym> items = in.List(0);
      std::int64_t i = in.Int(1);
      const std::int64_t n = static_cast<std::int64_t>(items.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) Fail(f, node, kind + ": index out of range");
      set(0, items[static_cast<std::size_t>(i)]);
      return;
    }
    if (kind == "prim::NumToTensor" || kind == "aten::Int" || kind == "aten::Float" ||
        kind == "aten::ScalarImplicit" || kind == "prim::unchecked_cast") {
      set(0, in[0]);
      return;
    }
    if (kind == "prim::Uninitialized") {
      set(0, Const(c10::IValue()));
      return;
    }
    if (kind == "aten::warn") return;
    if (kind == "prim::RaiseException") Fail(f, node, "forward() raises an exception");
    if (kind == "aten::__is__" || kind == "aten::__isnot__") {
      const bool a_none = in.IsNone(0);
      const bool b_none = in.IsNone(1);
      const auto known = [](const Sym& s) {
        return s.kind != Sym::Kind::kDim && s.kind != Sym::Kind::kFunction;
      };
      if (!a_none && !b_none) Fail(f, node, kind + " is supported only against None");
      if (!known(in[0]) || !known(in[1])) Fail(f, node, kind + " of an unknown value");
      const bool same = a_none && b_none;
      set(0, Const(c10::IValue(kind == "aten::__is__" ? same : !same)));
      return;
    }
    if (kind == "aten::__not__") {
      set(0, Const(c10::IValue(!in.Bool(0))));
      return;
    }
    if (kind == "aten::__and__" || kind == "aten::__or__") {
      const bool a = in.Bool(0);
      const bool b = in.Bool(1);
      set(0, Const(c10::IValue(kind == "aten::__and__" ? (a && b) : (a || b))));
      return;
    }
    if (kind == "aten::eq" || kind == "aten::ne" || kind == "aten::lt" || kind == "aten::le" ||
        kind == "aten::gt" || kind == "aten::ge") {
      set(0, Const(c10::IValue(Compare(kind, in.Json(0), in.Json(1), in))));
      return;
    }
    if (kind == "aten::len") {
      set(0, Const(c10::IValue(static_cast<std::int64_t>(in.List(0).size()))));
      return;
    }
    if (kind == "prim::If") {
      const json cond = in.Json(0);
      if (!cond.is_boolean()) {
        Fail(f, node, "data-dependent control flow (prim::If on " + Describe(in[0]) + ")");
      }
      tj::Block* block = node->blocks()[cond.get<bool>() ? 0 : 1];
      RunBlock(block, env, f);
      for (std::size_t i = 0; i < node->outputs().size(); ++i) {
        set(i, Get(env, block->outputs()[i], node, f));
      }
      return;
    }
    if (kind == "prim::CallMethod") {
      const Sym& callee = in[0];
      const std::string method = node->s(c10::attr::name);
      if (callee.kind != Sym::Kind::kModule) {
        Fail(f, node, "calls " + method + "() of " + Describe(callee));
      }
      std::vector<Sym> args;
      for (std::size_t i = 1; i < in.size(); ++i) args.push_back(in[i]);
      if (callee.module_path == f.path) {
        // A method of the module itself (ResNet.forward calls self._forward_impl): part of this
        // module's forward().
        const auto m = callee.module.find_method(method);
        if (!m) Fail(f, node, "calls missing method " + method + "()");
        Frame inner = f;
        inner.method = method;
        args.insert(args.begin(), callee);
        const std::vector<Sym> outs = RunGraph(*m->graph(), args, inner);
        for (std::size_t i = 0; i < outs.size() && i < node->outputs().size(); ++i) {
          set(i, outs[i]);
        }
        return;
      }
      if (args.size() != 1 || args[0].kind != Sym::Kind::kTensor) {
        Fail(f, node,
             "calls " + callee.module_path + "." + method + "() with " +
                 (args.size() == 1 ? Describe(args[0])
                                   : std::to_string(args.size()) + " arguments") +
                 " (only modules called with one tensor are supported)");
      }
      // The tracer drops the output of a call whose result is unused (and the operation inside).
      if (node->outputs().size() == 1 &&
          node->output()->type()->kind() == c10::TypeKind::NoneType) {
        Fail(f, node,
             "the result of " + callee.module_path + " (" + ShortName(ClassOf(callee.module)) +
                 ") is never used");
      }
      set(0, CallModule(callee, method, args[0], node, f));
      return;
    }
    if (kind == "prim::CallFunction") {
      CallFunction(node, in, env, f);
      return;
    }
    if (kind == "aten::size") {
      if (in.size() != 2) Fail(f, node, "aten::size of all dimensions (only x.size(d))");
      Sym s;
      s.kind = Sym::Kind::kDim;
      s.path = in.Tensor(0).path;
      s.dim = in.Int(1);
      set(0, s);
      return;
    }
    if (kind == "aten::floor_divide" || kind == "aten::floordiv") {
      Sym s = in[0];
      const std::int64_t d = ScalarInt(in[1]);
      if (s.kind != Sym::Kind::kDim || d <= 0) {
        Fail(f, node, kind + " of " + Describe(in[0]) + " (only a tensor size by a constant)");
      }
      s.divisor *= d;
      set(0, s);
      return;
    }
    if (kind == "aten::contiguous") {
      if (in[0].kind == Sym::Kind::kShuffle) {
        set(0, in[0]);
        return;
      }
      set(0, in.Tensor(0));
      return;
    }
    if (kind == "aten::transpose" && in[0].kind == Sym::Kind::kShuffle && in[0].dim == 1 &&
        std::set<std::int64_t>{in.Int(1), in.Int(2)} == std::set<std::int64_t>{1, 2}) {
      Sym s = in[0];
      s.dim = 2;
      set(0, s);
      return;
    }
    if (kind == "aten::view" || kind == "aten::reshape") {
      set(0, View(in, f));
      return;
    }
    if (kind == "aten::add" || kind == "aten::add_") {
      const Sym& a = in.Tensor(0);
      const Sym& b = in[1];
      if (b.kind != Sym::Kind::kTensor) {
        Fail(f, node, kind + " of a tensor and " + Describe(b) + " (only tensor + tensor)");
      }
      if (in.size() > 2 && in.Json(2) != json(1)) {
        Fail(f, node, kind + " with alpha " + in.Json(2).dump() + " (only alpha 1)");
      }
      set(0, Residual(a, b, node, f));
      MarkInPlace(kind, node, env);
      return;
    }
    if (kind == "aten::cat") {
      const std::vector<Sym> parts = in.List(0);
      if (parts.empty()) Fail(f, node, "aten::cat of no tensors");
      for (const Sym& p : parts) {
        if (p.kind != Sym::Kind::kTensor) Fail(f, node, "aten::cat of " + Describe(p));
      }
      const std::int64_t dim = in.size() > 1 ? in.Int(1) : 0;
      if (dim != 1) {
        Fail(f, node,
             "aten::cat along dimension " + std::to_string(dim) +
                 " (only along the channels, dimension 1)");
      }
      set(0, Concat(parts, node, f));
      return;
    }
    if (kind == "aten::chunk") {
      const Sym& x = in.Tensor(0);
      const std::int64_t n = in.Int(1);
      const std::int64_t dim = in.Int(2);
      if (dim != 1 || n < 1) {
        Fail(f, node,
             "aten::chunk into " + std::to_string(n) + " along dimension " + std::to_string(dim) +
                 " (only along the channels, dimension 1)");
      }
      set(0, Chunk(x, n, f));
      return;
    }
    if (kind == "aten::mean") {
      const Sym& x = in.Tensor(0);
      const json dims = in.Json(1);
      std::set<std::int64_t> d;
      if (dims.is_array()) {
        for (const json& v : dims) d.insert(v.is_number_integer() ? v.get<std::int64_t>() : 99);
      }
      const bool spatial = d == std::set<std::int64_t>{2, 3} || d == std::set<std::int64_t>{-2, -1};
      const bool no_dtype = in.size() < 4 || in.IsNone(3);
      if (!spatial || !no_dtype) {
        Fail(f, node,
             "aten::mean over " + dims.dump() +
                 " (only the global average over the spatial dimensions [2, 3])");
      }
      Sym out = AppendFunctional(x, {{"type", "AdaptiveAvgPool2d"}, {"output_size", 1}}, kind, f);
      if (!in.Bool(2)) {
        out = AppendFunctional(out, {{"type", "Flatten"}, {"start_dim", 1}, {"end_dim", -1}}, kind,
                               f);
      }
      set(0, out);
      return;
    }
    if (auto layer = AtenLayer(kind, in)) {
      set(0, AppendFunctional(in.Tensor(0), std::move(*layer), kind, f));
      MarkInPlace(kind, node, env);
      return;
    }
    Fail(f, node, "unsupported operation " + kind);
  }

  // An integer constant, also as a 0-d tensor (traced code divides sizes by tensor({2})).
  static std::int64_t ScalarInt(const Sym& s) {
    if (s.kind != Sym::Kind::kConst) return 0;
    if (s.value.isInt()) return s.value.toInt();
    if (s.value.isTensor()) {
      const at::Tensor& t = s.value.toTensor();
      if (t.numel() == 1 && !t.is_floating_point()) return t.item<std::int64_t>();
    }
    return 0;
  }

  // x.view(x.size(0), -1) is a Flatten; torchvision's channel_shuffle, as traced,
  //   x.view(b, g, c // g, h, w).transpose(1, 2).contiguous().view(b, -1, h, w),
  // is a ChannelShuffle(g). Other reshapes change what the layers after them see in ways the
  // architecture format cannot express.
  Sym View(const Args& in, Frame& f) {
    const std::string& kind = in.what;
    const std::vector<Sym> shape = in.List(1);
    const Sym& x = in[0];
    const auto is_dim = [&](const Sym& s, std::int64_t d, std::int64_t divisor) {
      return s.kind == Sym::Kind::kDim && s.dim == d && s.divisor == divisor &&
             s.path.size() == x.path.size() && CommonPrefix(s.path, x.path) == x.path.size();
    };
    const auto is_int = [](const Sym& s, std::int64_t v) {
      return s.kind == Sym::Kind::kConst && s.value.isInt() && s.value.toInt() == v;
    };
    if (x.kind == Sym::Kind::kShuffle) {
      if (x.dim == 2 && shape.size() == 4 && is_dim(shape[0], 0, 1) && is_int(shape[1], -1) &&
          is_dim(shape[2], 2, 1) && is_dim(shape[3], 3, 1)) {
        Sym t = x;
        t.kind = Sym::Kind::kTensor;
        return AppendFunctional(t, {{"type", "ChannelShuffle"}, {"groups", x.divisor}},
                                "channel shuffle", f);
      }
      Fail(f, in.node, kind + " in a channel shuffle other than torchvision's channel_shuffle()");
    }
    in.Tensor(0);
    if (shape.size() == 2 && shape[0].kind == Sym::Kind::kDim && shape[0].dim == 0 &&
        shape[0].divisor == 1 && is_int(shape[1], -1)) {
      return AppendFunctional(x, {{"type", "Flatten"}, {"start_dim", 1}, {"end_dim", -1}}, kind, f);
    }
    if (shape.size() == 5 && is_dim(shape[0], 0, 1) && shape[1].kind == Sym::Kind::kConst &&
        shape[1].value.isInt() && is_dim(shape[2], 1, shape[1].value.toInt()) &&
        is_dim(shape[3], 2, 1) && is_dim(shape[4], 3, 1)) {
      Sym s = x;
      s.kind = Sym::Kind::kShuffle;
      s.dim = 1;
      s.divisor = shape[1].value.toInt();
      return s;
    }
    Fail(f, in.node, kind + ": only x." + kind.substr(6) + "(x.size(0), -1) is supported");
  }

  // x.relu_() and friends change their input: a later read of the old value would see the
  // result, which the path of that value does not include.
  static void MarkInPlace(const std::string& kind, const tj::Node* node, Env& env) {
    const std::string op = kind.substr(kind.find("::") + 2);
    if (!op.empty() && op.back() == '_' && op.front() != '_') env.stale[node->inputs()[0]] = kind;
  }

  static bool Compare(const std::string& kind, const json& a, const json& b, const Args& in) {
    if (a.is_string() && b.is_string()) {
      if (kind == "aten::eq") return a == b;
      if (kind == "aten::ne") return a != b;
    } else if ((a.is_number() || a.is_boolean()) && (b.is_number() || b.is_boolean())) {
      const auto num = [](const json& v) {
        return v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>();
      };
      const double x = num(a);
      const double y = num(b);
      if (kind == "aten::eq") return x == y;
      if (kind == "aten::ne") return x != y;
      if (kind == "aten::lt") return x < y;
      if (kind == "aten::le") return x <= y;
      if (kind == "aten::gt") return x > y;
      if (kind == "aten::ge") return x >= y;
    } else if (a.is_null() || b.is_null()) {
      if (kind == "aten::eq") return a == b;
      if (kind == "aten::ne") return a != b;
    }
    Fail(in.f, in.node, kind + " of " + a.dump() + " and " + b.dump());
  }

  // Functional layers of aten operations whose first argument is the tensor; std::nullopt for
  // operations that are not layers.
  static std::optional<json> AtenLayer(const std::string& kind, const Args& in) {
    if (kind == "aten::relu" || kind == "aten::relu_") {
      return json{{"type", "ReLU"}, {"inplace", kind == "aten::relu_"}};
    }
    if (kind == "aten::relu6" || kind == "aten::relu6_") {
      return json{{"type", "ReLU6"}, {"inplace", kind == "aten::relu6_"}};
    }
    if (kind == "aten::hardtanh" || kind == "aten::hardtanh_") {
      return Hardtanh(in.Json(1), in.Json(2), kind == "aten::hardtanh_", in);
    }
    if (kind == "aten::sigmoid" || kind == "aten::sigmoid_") return json{{"type", "Sigmoid"}};
    if (kind == "aten::tanh" || kind == "aten::tanh_") return json{{"type", "Tanh"}};
    if (kind == "aten::softmax") {
      if (in.size() > 2 && !in.IsNone(2)) Fail(in.f, in.node, "aten::softmax with a dtype");
      return json{{"type", "Softmax"}, {"dim", in.Json(1)}};
    }
    if (kind == "aten::flatten") {
      return json{{"type", "Flatten"}, {"start_dim", in.Int(1)}, {"end_dim", in.Int(2)}};
    }
    if (kind == "aten::adaptive_avg_pool2d") {
      return json{{"type", "AdaptiveAvgPool2d"}, {"output_size", Pair(in.Json(1))}};
    }
    if (kind == "aten::max_pool2d") {
      return MaxPool(in.Json(1), in.Json(2), in.Json(3), in.Json(4), in.Json(5), in);
    }
    if (kind == "aten::avg_pool2d") {
      if (in.size() > 6 && !in.IsNone(6)) {
        Fail(in.f, in.node, "aten::avg_pool2d with divisor_override is not supported");
      }
      json stride = Pair(in.Json(2));
      if (stride.is_array() && stride.empty()) stride = Pair(in.Json(1));
      return json{{"type", "AvgPool2d"},     {"kernel_size", Pair(in.Json(1))},
                  {"stride", stride},        {"padding", Pair(in.Json(3))},
                  {"ceil_mode", in.Bool(4)}, {"count_include_pad", in.Bool(5)}};
    }
    if (kind == "aten::dropout" || kind == "aten::dropout_") {
      return json{{"type", "Dropout"}, {"p", in.Json(1)}, {"inplace", kind == "aten::dropout_"}};
    }
    if (kind == "aten::channel_shuffle") {
      return json{{"type", "ChannelShuffle"}, {"groups", in.Int(1)}};
    }
    if (kind == "aten::linear") {
      const auto w = in.Sizes(1);
      if (!w || w->size() != 2) Fail(in.f, in.node, "aten::linear without a 2-d weight");
      return json{{"type", "Linear"},
                  {"in_features", (*w)[1]},
                  {"out_features", (*w)[0]},
                  {"bias", !in.IsNone(2)}};
    }
    if (kind == "aten::_convolution" || kind == "aten::conv2d" ||
        kind == "aten::_convolution_mode") {
      const bool full = kind == "aten::_convolution";
      if (full && in.Bool(6)) Fail(in.f, in.node, "transposed convolutions are not supported");
      const std::int64_t groups = in.Int(full ? 8 : 6);
      const auto w = in.Sizes(1);
      if (!w || w->size() != 4) {
        Fail(in.f, in.node,
             kind + " with a weight of " + (w ? std::to_string(w->size()) : std::string("no")) +
                 " dimensions (only 2-d convolutions are supported)");
      }
      const json kernel = json::array({(*w)[2], (*w)[3]});
      const json stride = Pair(in.Json(3));
      const json dilation = Pair(in.Json(5));
      json padding;
      try {
        padding = ConvPadding(in.Json(4), kernel, dilation, stride);
      } catch (const ExtractError& e) {
        Fail(in.f, in.node, e.what());
      }
      return json{{"type", "Conv2d"},        {"in_channels", (*w)[1] * groups},
                  {"out_channels", (*w)[0]}, {"kernel_size", kernel},
                  {"stride", stride},        {"padding", padding},
                  {"dilation", dilation},    {"groups", groups},
                  {"bias", !in.IsNone(2)}};
    }
    if (kind == "aten::batch_norm") {
      const auto weight = in.Sizes(1);
      const auto mean = in.Sizes(3);
      const auto& sizes = weight ? weight : mean;
      if (!sizes || sizes->size() != 1) {
        Fail(in.f, in.node, "aten::batch_norm without weight or running statistics");
      }
      return json{{"type", "BatchNorm2d"},
                  {"num_features", (*sizes)[0]},
                  {"eps", in.Json(7)},
                  {"momentum", in.Json(6)},
                  {"affine", weight.has_value()},
                  {"track_running_stats", mean.has_value()}};
    }
    return std::nullopt;
  }

  static json Hardtanh(const json& lo, const json& hi, bool inplace, const Args& in) {
    if (!lo.is_number() || !hi.is_number() || lo.get<double>() != 0.0 || hi.get<double>() != 6.0) {
      Fail(in.f, in.node,
           "hardtanh between " + lo.dump() + " and " + hi.dump() +
               " (only ReLU6, between 0 and 6, is supported)");
    }
    return json{{"type", "ReLU6"}, {"inplace", inplace}};
  }

  static json MaxPool(const json& kernel, const json& stride, const json& padding,
                      const json& dilation, const json& ceil_mode, const Args& in) {
    json s = Pair(stride);
    if (s.is_null() || (s.is_array() && s.empty())) s = Pair(kernel);  // stride=[]: kernel_size
    if (!ceil_mode.is_boolean()) Fail(in.f, in.node, "max_pool2d: ceil_mode is not a constant");
    return json{
        {"type", "MaxPool2d"},      {"kernel_size", Pair(kernel)}, {"stride", s},
        {"padding", Pair(padding)}, {"dilation", Pair(dilation)},  {"ceil_mode", ceil_mode}};
  }

  // Scripted code calls torch.nn.functional through compiled functions; the layer-like ones are
  // recognised by name (their bodies use input.size() and the like), any other function is
  // interpreted inline as part of the caller's forward().
  void CallFunction(tj::Node* node, const Args& in, Env& env, Frame& f) {
    const Sym& fn = in[0];
    if (fn.kind != Sym::Kind::kFunction || fn.function == nullptr) {
      Fail(f, node, "prim::CallFunction of " + Describe(fn));
    }
    const std::string name = CleanClassName(fn.function->qualname().qualifiedName());
    const std::string what = name + "()";
    const Args args{env, node, f, what};
    std::optional<json> layer;
    if (name == "torch.nn.functional.relu") {
      layer = json{{"type", "ReLU"}, {"inplace", args.Bool(2)}};
    } else if (name == "torch.nn.functional.relu6") {
      layer = json{{"type", "ReLU6"}, {"inplace", args.Bool(2)}};
    } else if (name == "torch.nn.functional.hardtanh") {
      layer = Hardtanh(args.Json(2), args.Json(3), args.Bool(4), args);
    } else if (name == "torch.nn.functional.adaptive_avg_pool2d") {
      layer = json{{"type", "AdaptiveAvgPool2d"}, {"output_size", Pair(args.Json(2))}};
    } else if (name == "torch.nn.functional._max_pool2d" ||
               name == "torch.nn.functional.max_pool2d" ||
               name == "torch.nn.functional._max_pool2d_with_indices") {
      if (args.size() > 7 && args.Bool(7)) Fail(f, node, what + " with return_indices=True");
      layer = MaxPool(args.Json(2), args.Json(3), args.Json(4), args.Json(5), args.Json(6), args);
    } else if (name == "torch.nn.functional.dropout") {
      layer = json{{"type", "Dropout"}, {"p", args.Json(2)}, {"inplace", args.Bool(4)}};
    } else if (name == "torch.nn.functional.softmax") {
      if (args.size() > 4 && !args.IsNone(4)) Fail(f, node, what + " with a dtype");
      layer = json{{"type", "Softmax"}, {"dim", args.Json(2)}};
    } else if (name == "torchvision.models.shufflenetv2.channel_shuffle") {
      layer = json{{"type", "ChannelShuffle"}, {"groups", args.Int(2)}};
    }
    if (layer) {
      env.values[node->output()] = AppendFunctional(args.Tensor(1), std::move(*layer), name, f);
      return;
    }
    std::vector<Sym> inputs;
    for (std::size_t i = 1; i < in.size(); ++i) inputs.push_back(in[i]);
    Frame inner = f;
    inner.method = name;
    const std::vector<Sym> outs =
        RunGraph(*tj::toGraphFunction(*fn.function).graph(), inputs, inner);
    for (std::size_t i = 0; i < outs.size() && i < node->outputs().size(); ++i) {
      env.values[node->outputs()[i]] = outs[i];
    }
  }

  std::int64_t next_id_ = 0;
  std::set<std::string> called_;                // module paths already called once
  std::map<std::int64_t, std::string> labels_;  // step id -> label, for messages
};

char* Duplicate(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

json ToArchitecture(const std::string& path, const std::int64_t* input, int rank) {
  tj::Module module;
  try {
    module = tj::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw ExtractError("cannot read TorchScript: " + FirstLineNoTabs(e.what_without_backtrace()));
  }
  module.eval();
  json arch;
  arch["name"] = std::filesystem::path(path).stem().string();
  arch["description"] =
      "TorchScript " + std::filesystem::path(path).filename().string() + ": " + ClassOf(module);
  arch["input"] = json::array();
  for (int i = 0; i < rank; ++i) arch["input"].push_back(input[i]);
  arch["layers"] = Extractor().Extract(module);
  return arch;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int joulecast_torchscript_abi_version(void) {
  return JOULECAST_TORCHSCRIPT_ABI_VERSION;
}

__attribute__((visibility("default"))) int joulecast_torchscript_to_json(const char* path,
                                                                         const std::int64_t* input,
                                                                         int rank, char** json_out,
                                                                         char** error_out) {
  *json_out = nullptr;
  *error_out = nullptr;
  try {
    if (path == nullptr || rank < 0 || (rank > 0 && input == nullptr)) {
      throw ExtractError("invalid arguments");
    }
    *json_out = Duplicate(ToArchitecture(path, input, rank).dump());
    return *json_out == nullptr ? (*error_out = Duplicate("out of memory"), 1) : 0;
  } catch (const c10::Error& e) {
    *error_out = Duplicate(FirstLineNoTabs(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    *error_out = Duplicate(FirstLineNoTabs(e.what()));
  } catch (...) {
    *error_out = Duplicate("unknown error");
  }
  return 1;
}

__attribute__((visibility("default"))) void joulecast_torchscript_free(char* text) {
  std::free(text);
}

}  // extern "C"
