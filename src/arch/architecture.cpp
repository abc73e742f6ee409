#include "joulecast/arch/architecture.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "joulecast/io/text.h"

namespace joulecast {
namespace {

using nlohmann::json;

// Sizes above 2^53 cannot be represented exactly as doubles (JSON readers in Python/JS, feature
// code computing MACs in double), so the parser refuses them everywhere.
constexpr std::int64_t kMaxSize = std::int64_t{1} << 53;

enum class ArgKind {
  kPositiveInt,      // integer in [1, 2^53]
  kInt,              // any integer (Flatten's dims, may be negative)
  kOptionalInt,      // integer or null (Softmax's dim)
  kPositivePair,     // positive integer or [h, w] of them; stored as [h, w]
  kNonNegativePair,  // non-negative integer or [h, w] of them; stored as [h, w]
  kStride,           // as kPositivePair, or null: defaults to kernel_size (pools)
  kBool,
  kProbability,     // number in [0, 1]
  kPositiveNumber,  // finite number > 0
  kOptionalNumber,  // finite number or null
};

struct ArgSpec {
  const char* name;
  ArgKind kind;
  bool required;
  json default_value;  // used when not required and absent
};

struct TypeSpec {
  const char* type;
  std::vector<ArgSpec> args;
};

const std::vector<TypeSpec>& TypeSpecs() {
  // Leaked on purpose: no destructor runs at exit (Google style for non-trivial statics).
  static const auto* specs = new std::vector<TypeSpec>{
      {"AdaptiveAvgPool2d", {{"output_size", ArgKind::kPositivePair, true, nullptr}}},
      {"AvgPool2d",
       {{"kernel_size", ArgKind::kPositivePair, true, nullptr},
        {"stride", ArgKind::kStride, false, nullptr},
        {"padding", ArgKind::kNonNegativePair, false, 0},
        {"ceil_mode", ArgKind::kBool, false, false},
        {"count_include_pad", ArgKind::kBool, false, true}}},
      {"BatchNorm2d",
       {{"num_features", ArgKind::kPositiveInt, true, nullptr},
        {"eps", ArgKind::kPositiveNumber, false, 1e-5},
        {"momentum", ArgKind::kOptionalNumber, false, 0.1},
        {"affine", ArgKind::kBool, false, true},
        {"track_running_stats", ArgKind::kBool, false, true}}},
      {"ChannelShuffle", {{"groups", ArgKind::kPositiveInt, true, nullptr}}},
      {"Conv2d",
       {{"in_channels", ArgKind::kPositiveInt, true, nullptr},
        {"out_channels", ArgKind::kPositiveInt, true, nullptr},
        {"kernel_size", ArgKind::kPositivePair, true, nullptr},
        {"stride", ArgKind::kPositivePair, false, 1},
        {"padding", ArgKind::kNonNegativePair, false, 0},
        {"dilation", ArgKind::kPositivePair, false, 1},
        {"groups", ArgKind::kPositiveInt, false, 1},
        {"bias", ArgKind::kBool, false, true}}},
      {"Dropout",
       {{"p", ArgKind::kProbability, false, 0.5}, {"inplace", ArgKind::kBool, false, false}}},
      {"Flatten", {{"start_dim", ArgKind::kInt, false, 1}, {"end_dim", ArgKind::kInt, false, -1}}},
      {"Identity", {}},
      {"Linear",
       {{"in_features", ArgKind::kPositiveInt, true, nullptr},
        {"out_features", ArgKind::kPositiveInt, true, nullptr},
        {"bias", ArgKind::kBool, false, true}}},
      {"MaxPool2d",
       {{"kernel_size", ArgKind::kPositivePair, true, nullptr},
        {"stride", ArgKind::kStride, false, nullptr},
        {"padding", ArgKind::kNonNegativePair, false, 0},
        {"dilation", ArgKind::kPositivePair, false, 1},
        {"ceil_mode", ArgKind::kBool, false, false}}},
      {"ReLU", {{"inplace", ArgKind::kBool, false, false}}},
      {"ReLU6", {{"inplace", ArgKind::kBool, false, false}}},
      {"Sigmoid", {}},
      {"Softmax", {{"dim", ArgKind::kOptionalInt, false, nullptr}}},
      {"Tanh", {}},
  };
  return *specs;
}

const TypeSpec* FindTypeSpec(const std::string& type) {
  for (const TypeSpec& spec : TypeSpecs()) {
    if (type == spec.type) return &spec;
  }
  return nullptr;
}

// Keys of a layer object that are not constructor arguments.
bool IsMetaKey(const std::string& key) {
  return key == "type" || key == "name" || key == "functional" || key == "repeat";
}

// An argument error; `field` is the argument's name, or empty for an error about the whole layer.
// what() reads "field: message" so that NormalizeLayerParams can let it escape as is, while the
// parser re-prefixes it with the layer's location.
class ArgError : public std::runtime_error {
 public:
  ArgError(std::string field, const std::string& message)
      : std::runtime_error(field.empty() ? message : field + ": " + message),
        field_(std::move(field)),
        message_(message) {}
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  std::string field_;
  std::string message_;
};

const char* Describe(ArgKind kind) {
  switch (kind) {
    case ArgKind::kPositiveInt:
      return "a positive integer";
    case ArgKind::kInt:
      return "an integer";
    case ArgKind::kOptionalInt:
      return "an integer or null";
    case ArgKind::kPositivePair:
      return "a positive integer or [h, w]";
    case ArgKind::kNonNegativePair:
      return "a non-negative integer or [h, w]";
    case ArgKind::kStride:
      return "a positive integer, [h, w] or null";
    case ArgKind::kBool:
      return "true or false";
    case ArgKind::kProbability:
      return "a number between 0 and 1";
    case ArgKind::kPositiveNumber:
      return "a positive number";
    case ArgKind::kOptionalNumber:
      return "a number or null";
  }
  return "a valid value";
}

// The value as an int64 when it is a JSON integer that fits; floats such as 3.0 are refused
// because PyTorch refuses them for sizes too.
std::optional<std::int64_t> AsInt(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

// True when `v` is an integer in [min, 2^53].
bool IsSize(const json& v, std::int64_t min) {
  const auto i = AsInt(v);
  return i && *i >= min && *i <= kMaxSize;
}

// True when `v` is an integer above 2^53 (to say why an otherwise fine size is refused).
bool IsTooLarge(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxSize);
  return v.is_number_integer() && v.get<std::int64_t>() > kMaxSize;
}

[[noreturn]] void BadValue(const std::string& field, ArgKind kind, const json& v) {
  std::string message = std::string("expected ") + Describe(kind) + ", got " + v.dump();
  bool too_large = IsTooLarge(v);
  if (v.is_array()) {
    too_large = std::any_of(v.begin(), v.end(), [](const json& e) { return IsTooLarge(e); });
  }
  if (too_large) message += " (sizes above 2^53 are not supported)";
  throw ArgError(field, message);
}

json NormalizePair(const std::string& field, ArgKind kind, const json& v, std::int64_t min) {
  if (IsSize(v, min)) return json::array({AsInt(v).value(), AsInt(v).value()});
  if (v.is_array() && v.size() == 2 && IsSize(v[0], min) && IsSize(v[1], min)) {
    return json::array({AsInt(v[0]).value(), AsInt(v[1]).value()});
  }
  BadValue(field, kind, v);
}

json NormalizeValue(const ArgSpec& spec, const json& v) {
  const std::string field = spec.name;
  switch (spec.kind) {
    case ArgKind::kPositiveInt:
      if (IsSize(v, 1)) return AsInt(v).value();
      break;
    case ArgKind::kInt:
      if (AsInt(v)) return AsInt(v).value();
      break;
    case ArgKind::kOptionalInt:
      if (v.is_null()) return nullptr;
      if (AsInt(v)) return AsInt(v).value();
      break;
    case ArgKind::kPositivePair:
      return NormalizePair(field, spec.kind, v, 1);
    case ArgKind::kNonNegativePair:
      return NormalizePair(field, spec.kind, v, 0);
    case ArgKind::kStride:
      if (v.is_null()) return nullptr;  // resolved to kernel_size by the caller
      return NormalizePair(field, spec.kind, v, 1);
    case ArgKind::kBool:
      if (v.is_boolean()) return v;
      break;
    case ArgKind::kProbability:
      if (v.is_number() && v.get<double>() >= 0.0 && v.get<double>() <= 1.0) return v;
      break;
    case ArgKind::kPositiveNumber:
      if (v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() > 0.0) return v;
      break;
    case ArgKind::kOptionalNumber:
      if (v.is_null() || (v.is_number() && std::isfinite(v.get<double>()))) return v;
      break;
  }
  BadValue(field, spec.kind, v);
}

// Throws ArgError.
json NormalizeParamsImpl(const std::string& type, const json& args) {
  const TypeSpec* spec = FindTypeSpec(type);
  if (spec == nullptr) throw ArgError("", "unknown layer type '" + type + "'");
  if (!args.is_object()) {
    throw ArgError("", "expected an object of arguments for " + type + ", got " + args.dump());
  }
  for (const auto& item : args.items()) {
    if (IsMetaKey(item.key())) continue;
    const bool known = std::any_of(spec->args.begin(), spec->args.end(),
                                   [&](const ArgSpec& a) { return item.key() == a.name; });
    if (!known) throw ArgError("", "unknown argument '" + item.key() + "' for " + type);
  }
  json out = json::object();
  for (const ArgSpec& arg : spec->args) {
    const auto it = args.find(arg.name);
    if (it == args.end()) {
      if (arg.required) {
        throw ArgError("", std::string("missing argument '") + arg.name + "' for " + type);
      }
      out[arg.name] = NormalizeValue(arg, arg.default_value);
    } else {
      out[arg.name] = NormalizeValue(arg, *it);
    }
  }
  // PyTorch's pools take stride=None to mean "as large as the kernel" (non-overlapping windows).
  if (out.contains("stride") && out["stride"].is_null()) out["stride"] = out["kernel_size"];
  return out;
}

std::string JoinName(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string Describe(const json& v) {
  std::string s = v.dump();
  constexpr std::size_t kMaxLength = 80;  // keeps messages readable for a whole object by mistake
  if (s.size() > kMaxLength) s = s.substr(0, kMaxLength) + "...";
  return s;
}

class Parser {
 public:
  explicit Parser(std::string where) : where_(std::move(where)) {}

  Architecture Parse(const json& j) {
    if (!j.is_object()) {
      Fail("", "expected a JSON object with name, input and layers, got " + Describe(j));
    }
    for (const auto& item : j.items()) {
      const std::string& k = item.key();
      if (k != "name" && k != "description" && k != "input" && k != "layers") {
        Fail("", "unknown top-level field '" + k + "' (expected name, description, input, layers)");
      }
    }
    Architecture arch;
    arch.name = RequireString(j, "name", "");
    if (j.contains("description")) {
      if (!j["description"].is_string()) {
        Fail("description", "expected a string, got " + Describe(j["description"]));
      }
      arch.description = j["description"].get<std::string>();
    }
    arch.input = ParseInput(j);
    if (!j.contains("layers")) Fail("", "missing field 'layers'");
    arch.layers = ParseList(j["layers"], "layers", "");
    if (arch.layers.empty()) Fail("layers", "expected at least one layer");
    return arch;
  }

 private:
  [[noreturn]] void Fail(const std::string& location, const std::string& message) const {
    throw std::runtime_error(where_ + ": " + (location.empty() ? "" : location + ": ") + message);
  }

  std::string RequireString(const json& j, const char* key, const std::string& location) const {
    if (!j.contains(key)) Fail(location, std::string("missing field '") + key + "'");
    const json& v = j[key];
    if (!v.is_string() || v.get<std::string>().empty()) {
      Fail(JoinName(location, key), "expected a non-empty string, got " + Describe(v));
    }
    return v.get<std::string>();
  }

  Shape ParseInput(const json& j) const {
    if (!j.contains("input")) Fail("", "missing field 'input'");
    const json& v = j["input"];
    const bool ok = v.is_array() && !v.empty() &&
                    std::all_of(v.begin(), v.end(), [](const json& e) { return IsSize(e, 1); });
    if (!ok) Fail("input", "expected a non-empty array of positive integers, got " + Describe(v));
    Shape shape;
    std::int64_t count = 1;
    bool too_many = false;
    for (const json& e : v) {
      shape.push_back(AsInt(e).value());
      // count and shape.back() are both <= 2^53 here, so the check cannot overflow.
      if (count > kMaxSize / shape.back()) too_many = true;
      if (!too_many) count *= shape.back();
    }
    if (too_many) Fail("input", "shape " + FormatShape(shape) + " has more than 2^53 elements");
    return shape;
  }

  // `index` counts the modules of the enclosing module container; a functional container shares
  // its parent's counter because it adds no level to PyTorch's names.
  std::vector<LayerSpec> ParseList(const json& list, const std::string& location,
                                   const std::string& parent, std::int64_t* index) {
    if (!list.is_array()) Fail(location, "expected an array of layers, got " + Describe(list));
    std::vector<LayerSpec> layers;
    for (std::size_t i = 0; i < list.size(); ++i) {
      layers.push_back(
          ParseLayer(list[i], location + "[" + std::to_string(i) + "]", parent, index));
    }
    return layers;
  }

  std::vector<LayerSpec> ParseList(const json& list, const std::string& location,
                                   const std::string& parent) {
    std::int64_t index = 0;
    return ParseList(list, location, parent, &index);
  }

  std::string FullName(const json& j, const std::string& location, const std::string& parent,
                       const std::string& type, bool functional, std::int64_t index) const {
    if (!j.contains("name")) {
      return JoinName(parent, functional ? ToLowerAscii(type) : std::to_string(index));
    }
    const json& v = j["name"];
    if (!v.is_string() || v.get<std::string>().empty()) {
      Fail(location + ".name", "expected a non-empty string, got " + Describe(v));
    }
    std::string name = v.get<std::string>();
    const bool malformed =
        name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos;
    if (malformed) Fail(location + ".name", "malformed name '" + name + "'");
    if (name.find('.') == std::string::npos) return JoinName(parent, name);
    // PyTorch forbids dots in a module's own name, so a dotted name is a full path.
    if (!parent.empty() && name.rfind(parent + ".", 0) != 0) {
      Fail(location + ".name", "the dotted (full) name '" + name +
                                   "' does not start with its container's name '" + parent + ".'");
    }
    return name;
  }

  bool Flag(const json& j, const char* key, const std::string& location) const {
    if (!j.contains(key)) return false;
    if (!j[key].is_boolean()) {
      Fail(location + "." + key, "expected true or false, got " + Describe(j[key]));
    }
    return j[key].get<bool>();
  }

  LayerSpec ParseLayer(const json& j, const std::string& location, const std::string& parent,
                       std::int64_t* index) {
    if (!j.is_object()) Fail(location, "expected a layer object, got " + Describe(j));
    if (!j.contains("type")) Fail(location, "missing field 'type'");
    if (!j["type"].is_string()) {
      Fail(location + ".type", "expected a string, got " + Describe(j["type"]));
    }
    LayerSpec layer;
    layer.type = j["type"].get<std::string>();
    layer.functional = Flag(j, "functional", location);
    layer.repeat = Flag(j, "repeat", location);
    if (layer.repeat && layer.functional) {
      Fail(location + ".repeat", "a layer cannot be both functional and a repeat");
    }
    if (layer.repeat && !j.contains("name")) {
      Fail(location + ".repeat", "a repeat needs the name of the module it calls again");
    }
    if (IsContainerType(layer.type)) {
      if (layer.repeat) Fail(location + ".repeat", "only a leaf layer can be a repeat");
      // A functional container is no module: its children live in the enclosing scope, so a
      // name of its own would mean nothing.
      if (layer.functional && j.contains("name")) {
        Fail(location + ".name", "a functional " + layer.type +
                                     " has no name of its own (its layers are named in the "
                                     "enclosing container)");
      }
      layer.name =
          layer.functional ? parent : FullName(j, location, parent, layer.type, false, *index);
      if (!layer.functional) ++*index;
      const std::string label =
          location + " (" + (layer.name.empty() ? layer.type : layer.name) + ")";
      ParseContainer(j, location, label, parent, index, &layer);
      return layer;
    }
    const bool takes_index = !layer.functional && !layer.repeat;
    layer.name = FullName(j, location, parent, layer.type, layer.functional, *index);
    if (takes_index) ++*index;
    const std::string label = location + " (" + layer.name + ")";
    if (FindTypeSpec(layer.type) == nullptr) Fail(label, "unknown layer type '" + layer.type + "'");
    if (layer.repeat) {
      const auto it = leaves_.find(layer.name);
      if (it == leaves_.end()) {
        Fail(label, "repeat of '" + layer.name + "', which is not an earlier module leaf");
      }
      if (it->second.type != layer.type) {
        Fail(label, "repeat of '" + layer.name + "' says " + layer.type + " but the module is a " +
                        it->second.type);
      }
      json args = it->second.params;
      for (const auto& item : j.items()) {
        if (!IsMetaKey(item.key())) args[item.key()] = item.value();
      }
      try {
        layer.params = NormalizeParamsImpl(layer.type, args);
      } catch (const ArgError& e) {
        if (e.field().empty()) Fail(label, e.message());
        Fail(location + "." + e.field(), e.message());
      }
      if (layer.params != it->second.params) {
        Fail(label, "repeat of '" + layer.name + "' has arguments " + Describe(layer.params) +
                        " that differ from the module's " + Describe(it->second.params));
      }
      return layer;
    }
    try {
      layer.params = NormalizeParamsImpl(layer.type, j);
    } catch (const ArgError& e) {
      if (e.field().empty()) Fail(label, e.message());
      Fail(location + "." + e.field(), e.message());
    }
    if (!layer.functional) {
      RegisterName(layer, label);
      leaves_.emplace(layer.name, layer);
    }
    return layer;
  }

  void ParseContainer(const json& j, const std::string& location, const std::string& label,
                      const std::string& parent, std::int64_t* parent_index, LayerSpec* layer) {
    std::vector<std::string> keys;
    if (layer->type == "Sequential") keys = {"layers"};
    if (layer->type == "Residual") keys = {"body", "shortcut"};
    if (layer->type == "Concat") keys = {"branches", "split"};
    for (const auto& item : j.items()) {
      if (!IsMetaKey(item.key()) && std::find(keys.begin(), keys.end(), item.key()) == keys.end()) {
        Fail(label, "unknown field '" + item.key() + "' for " + layer->type);
      }
    }
    if (!layer->functional) RegisterName(*layer, label);
    std::int64_t own_index = 0;
    // Children of a module container are named and numbered inside it; those of a functional
    // one continue the enclosing container's names and numbering.
    std::int64_t* index = layer->functional ? parent_index : &own_index;
    const std::string& scope = layer->functional ? parent : layer->name;
    if (layer->type == "Sequential") {
      if (!j.contains("layers")) Fail(label, "missing field 'layers' for Sequential");
      layer->layers = ParseList(j["layers"], location + ".layers", scope, index);
    } else if (layer->type == "Residual") {
      if (!j.contains("body")) Fail(label, "missing field 'body' for Residual");
      layer->layers = ParseList(j["body"], location + ".body", scope, index);
      if (layer->layers.empty()) Fail(location + ".body", "expected at least one layer");
      if (j.contains("shortcut")) {
        layer->shortcut = ParseList(j["shortcut"], location + ".shortcut", scope, index);
      }
    } else {
      if (!j.contains("branches")) Fail(label, "missing field 'branches' for Concat");
      const json& branches = j["branches"];
      if (!branches.is_array() || branches.empty()) {
        Fail(location + ".branches",
             "expected a non-empty array of layer lists, got " + Describe(branches));
      }
      for (std::size_t b = 0; b < branches.size(); ++b) {
        layer->branches.push_back(ParseList(
            branches[b], location + ".branches[" + std::to_string(b) + "]", scope, index));
      }
      layer->split = Flag(j, "split", location);
    }
  }

  void RegisterName(const LayerSpec& layer, const std::string& label) {
    const auto [it, inserted] = names_.emplace(layer.name, label);
    if (!inserted) Fail(label, "duplicate layer name, also used by " + it->second);
  }

  std::string where_;
  std::map<std::string, std::string> names_;  // module name -> "layers[i] (name)" that took it
  std::map<std::string, LayerSpec> leaves_;   // module leaves by name, for repeats
};

}  // namespace

bool LayerSpec::IsContainer() const { return IsContainerType(type); }

std::vector<std::string> KnownLayerTypes() {
  std::vector<std::string> types;
  for (const TypeSpec& spec : TypeSpecs()) types.emplace_back(spec.type);
  std::sort(types.begin(), types.end());
  return types;
}

std::vector<std::string> KnownContainerTypes() { return {"Concat", "Residual", "Sequential"}; }

bool IsContainerType(const std::string& type) {
  return type == "Sequential" || type == "Residual" || type == "Concat";
}

json NormalizeLayerParams(const std::string& type, const json& args) {
  return NormalizeParamsImpl(type, args);  // ArgError is a std::runtime_error
}

Architecture ParseArchitecture(const json& j, const std::string& where) {
  return Parser(where).Parse(j);
}

Architecture ParseArchitectureText(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(where + ": invalid JSON: " + e.what());
  }
  return ParseArchitecture(j, where);
}

Architecture LoadArchitectureFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": cannot read file");
  return ParseArchitectureText(text.str(), path);
}

namespace {

json ListToJson(const std::vector<LayerSpec>& layers) {
  json list = json::array();
  for (const LayerSpec& child : layers) list.push_back(ToJson(child));
  return list;
}

}  // namespace

json ToJson(const LayerSpec& layer) {
  json j = json::object();
  j["type"] = layer.type;
  // A functional container's name is its scope's; writing it would make it look like a module.
  if (!(layer.IsContainer() && layer.functional)) j["name"] = layer.name;
  if (layer.functional) j["functional"] = true;
  if (layer.repeat) j["repeat"] = true;
  if (layer.type == "Sequential") {
    j["layers"] = ListToJson(layer.layers);
  } else if (layer.type == "Residual") {
    j["body"] = ListToJson(layer.layers);
    j["shortcut"] = ListToJson(layer.shortcut);
  } else if (layer.type == "Concat") {
    j["branches"] = json::array();
    for (const auto& branch : layer.branches) j["branches"].push_back(ListToJson(branch));
    if (layer.split) j["split"] = true;
  } else {
    for (const auto& item : layer.params.items()) j[item.key()] = item.value();
  }
  return j;
}

json ToJson(const Architecture& arch) {
  json j = json::object();
  j["name"] = arch.name;
  if (!arch.description.empty()) j["description"] = arch.description;
  j["input"] = arch.input;
  j["layers"] = json::array();
  for (const LayerSpec& layer : arch.layers) j["layers"].push_back(ToJson(layer));
  return j;
}

}  // namespace joulecast
