#include "joulecast/arch/repr_parser.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/io/text.h"

namespace joulecast {
namespace {

using nlohmann::json;

// One module of the printed tree.
struct Node {
  std::string cls;     // PyTorch class name as printed: "Conv2d", "Sequential", "BasicBlock"
  std::string name;    // own (local) name, e.g. "features" or "0"; empty for the top level
  std::string args;    // text between the parentheses of a one-line module
  bool block = false;  // printed over several lines: "Class(" ... ")" with its children
  int line = 0;
  std::vector<Node> children;
};

// Leaf classes and the names of their constructor's positional parameters, in order.
struct LeafClass {
  const char* cls;
  std::vector<const char*> positional;
};

const std::vector<LeafClass>& LeafClasses() {
  // Leaked on purpose: no destructor runs at exit (Google style for non-trivial statics).
  static const auto* classes = new std::vector<LeafClass>{
      {"AdaptiveAvgPool2d", {"output_size"}},
      {"AvgPool2d", {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"}},
      {"BatchNorm2d", {"num_features", "eps", "momentum", "affine", "track_running_stats"}},
      {"ChannelShuffle", {"groups"}},
      {"Conv2d",
       {"in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
        "bias", "padding_mode"}},
      {"Dropout", {"p", "inplace"}},
      {"Flatten", {"start_dim", "end_dim"}},
      {"Identity", {}},
      {"Linear", {"in_features", "out_features", "bias"}},
      {"MaxPool2d", {"kernel_size", "stride", "padding", "dilation"}},
      {"ReLU", {"inplace"}},
      {"ReLU6", {"inplace"}},
      {"Sigmoid", {}},
      {"Softmax", {"dim"}},
      {"Tanh", {}},
  };
  return *classes;
}

// The leaf types of the JSON schema; a type that the table above lacks takes keyword arguments
// only.
const LeafClass* FindLeafClass(const std::string& cls) {
  for (const LeafClass& c : LeafClasses()) {
    if (cls == c.cls) return &c;
  }
  static const LeafClass* keywords_only = new LeafClass{"", {}};
  const std::vector<std::string> types = KnownLayerTypes();
  if (std::find(types.begin(), types.end(), cls) != types.end()) return keywords_only;
  return nullptr;
}

// Classes that may print as "Class()" when they hold no module: an empty container.
bool IsEmptyContainerClass(const std::string& cls) {
  return cls == "Sequential" || cls == "ModuleList" || cls == "ModuleDict";
}

std::string Trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// Long lines are cut so that a message stays one readable line.
std::string Excerpt(const std::string& s) {
  constexpr std::size_t kMax = 80;
  return s.size() <= kMax ? s : s.substr(0, kMax) + "...";
}

Shape AsShape(const json& pair) {
  return {pair[0].get<std::int64_t>(), pair[1].get<std::int64_t>()};
}

std::string Join(const std::string& scope, const std::string& name) {
  if (scope.empty()) return name;
  if (name.empty()) return scope;
  return scope + "." + name;
}

// ---------------------------------------------------------------------------------------------
// Python literals as printed by extra_repr(): integers, floats, True/False/None, quoted strings,
// tuples and lists of them, and (only as a whole value) bare words such as padding=same.

class ValueReader {
 public:
  explicit ValueReader(const std::string& s) : s_(s) {}

  // The whole text as one value, or nullopt when it is no Python literal.
  std::optional<json> ReadAll() {
    SkipSpace();
    json v;
    if (!Read(/*top=*/true, &v)) return std::nullopt;
    SkipSpace();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }

  bool Read(bool top, json* out) {
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '(' || c == '[') return ReadSequence(c == '(' ? ')' : ']', out);
    if (c == '\'' || c == '"') {
      const auto end = s_.find(c, i_ + 1);
      if (end == std::string::npos) return false;
      *out = s_.substr(i_ + 1, end - i_ - 1);
      i_ = end + 1;
      return true;
    }
    const std::size_t start = i_;
    while (i_ < s_.size() && std::string(",()[] \t").find(s_[i_]) == std::string::npos) ++i_;
    const std::string token = s_.substr(start, i_ - start);
    if (token.empty()) return false;
    if (token == "True" || token == "False") {
      *out = token == "True";
      return true;
    }
    if (token == "None") {
      *out = nullptr;
      return true;
    }
    if (ReadNumber(token, out)) return true;
    if (top && IsIdentifier(token)) {
      *out = token;
      return true;
    }
    return false;
  }

  bool ReadSequence(char close, json* out) {
    ++i_;
    json items = json::array();
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == close) {
      ++i_;
      *out = items;
      return true;
    }
    while (true) {
      json v;
      if (!Read(/*top=*/false, &v)) return false;
      items.push_back(v);
      SkipSpace();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == close) {
        ++i_;
        break;
      }
      if (s_[i_] != ',') return false;
      ++i_;
      SkipSpace();
      if (i_ < s_.size() && s_[i_] == close) {  // Python's one-element tuple "(3,)"
        ++i_;
        break;
      }
    }
    *out = items;
    return true;
  }

  static bool ReadNumber(const std::string& token, json* out) {
    const std::size_t digits_from = (token[0] == '-' || token[0] == '+') ? 1 : 0;
    if (IsDigits(token.substr(digits_from))) {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(token.c_str(), &end, 10);
      if (errno == ERANGE || *end != '\0') return false;
      *out = static_cast<std::int64_t>(v);
      return true;
    }
    // A float needs a digit; strtod alone would also take "inf", "nan" and hex.
    const bool plausible =
        std::any_of(token.begin(), token.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
        std::all_of(token.begin(), token.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
                 c == '-' || c == '+';
        });
    if (!plausible) return false;
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    if (errno == ERANGE || *end != '\0') return false;
    *out = v;
    return true;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

// Splits "3, 64, kernel_size=(3, 3)" at the commas outside brackets and quotes.
std::vector<std::string> SplitArguments(const std::string& s) {
  std::vector<std::string> pieces;
  if (Trim(s).empty()) return pieces;
  int depth = 0;
  char quote = 0;
  std::string current;
  for (const char c : s) {
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(' || c == '[') {
      ++depth;
    } else if (c == ')' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      pieces.push_back(Trim(current));
      current.clear();
      continue;
    }
    current += c;
  }
  pieces.push_back(Trim(current));
  return pieces;
}

// ---------------------------------------------------------------------------------------------
// The text: one module per line, "(name): Class(args)" or "(name): Class(" ... ")".

class TextParser {
 public:
  explicit TextParser(const std::string& where) : where_(where) {}

  Node Parse(const std::string& text) {
    std::istringstream in(text);
    std::string raw;
    int number = 0;
    int last = 0;
    while (std::getline(in, raw)) {
      ++number;
      const std::string line = Trim(raw);
      if (line.empty()) continue;
      last = number;
      ParseLine(line, number);
    }
    if (!stack_.empty()) {
      const Open& open = stack_.back();
      Fail(open.node.line, "unbalanced parentheses: " + Label(open.node) +
                               " is never closed (the text ends at line " + std::to_string(last) +
                               ")");
    }
    if (!root_) Fail(1, "empty text: expected the output of print(model), e.g. 'VGG('");
    return std::move(*root_);
  }

 private:
  // A module printed over several lines that is still open, and how many copies it stands for
  // (PyTorch 2 prints "(0-2): 3 x Block(" for three equal modules).
  struct Open {
    Node node;
    std::int64_t first = 0;
    std::int64_t copies = 0;  // 0: a single module named node.name
  };

  [[noreturn]] void Fail(int line, const std::string& message) const {
    throw std::runtime_error(where_ + ":" + std::to_string(line) + ": " + message);
  }

  static std::string Label(const Node& n) {
    return n.name.empty() ? "'" + n.cls + "('" : "'" + n.name + "' (" + n.cls + ")";
  }

  void ParseLine(const std::string& line, int number) {
    if (root_) {
      if (line[0] == ')') Fail(number, "unbalanced parentheses: ')' closes no module");
      Fail(number, "text after the end of the top-level module '" + root_->cls +
                       "' (closed on line " + std::to_string(root_closed_) + "): '" +
                       Excerpt(line) + "'");
    }
    if (line[0] == ')') {
      if (line != ")") Fail(number, "unbalanced parentheses: '" + Excerpt(line) + "'");
      if (stack_.empty()) Fail(number, "unbalanced parentheses: ')' closes no module");
      Open open = std::move(stack_.back());
      stack_.pop_back();
      Finish(std::move(open), number);
      return;
    }
    Open open;
    open.node.line = number;
    std::string rest = line;
    if (line[0] == '(') {
      const auto end = line.find("): ");
      if (end == std::string::npos) {
        Fail(number,
             "missing module name: expected '(name): Class(...)', got '" + Excerpt(line) + "'");
      }
      open.node.name = line.substr(1, end - 1);
      rest = Trim(line.substr(end + 3));
      if (open.node.name.empty())
        Fail(number, "missing module name: '()' in '" + Excerpt(line) + "'");
      if (open.node.name.find('.') != std::string::npos) {
        Fail(number, "malformed module name '" + open.node.name +
                         "': PyTorch's module names contain no dots");
      }
      if (stack_.empty()) {
        Fail(number, "the top-level module has no name in print(model)'s output, got '(" +
                         open.node.name + ")'");
      }
      ReadCopies(&open, &rest, number);
    } else if (!stack_.empty()) {
      const Node& parent = stack_.back().node;
      Fail(number, "missing module name: expected '(name): Class(...)' inside " + Label(parent) +
                       ", got '" + Excerpt(line) + "'");
    }
    const auto paren = rest.find('(');
    const std::string cls = paren == std::string::npos ? rest : rest.substr(0, paren);
    if (paren == std::string::npos || !IsIdentifier(cls)) {
      Fail(number, "expected 'Class(' such as 'Conv2d(', got '" + Excerpt(rest) + "'");
    }
    open.node.cls = cls;
    const std::string tail = rest.substr(paren + 1);
    if (tail.empty()) {
      open.node.block = true;
      stack_.push_back(std::move(open));
      return;
    }
    // A one-line module: its arguments end at the parenthesis that closes "Class(".
    int depth = 1;
    char quote = 0;
    std::size_t close = std::string::npos;
    for (std::size_t i = 0; i < tail.size() && close == std::string::npos; ++i) {
      const char c = tail[i];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(' || c == '[') {
        ++depth;
      } else if (c == ')' || c == ']') {
        if (--depth == 0) close = i;
      }
    }
    if (close != tail.size() - 1) {
      Fail(number, "unbalanced parentheses in '" + Excerpt(rest) + "'");
    }
    open.node.args = tail.substr(0, close);
    Finish(std::move(open), number);
  }

  // "(0-2): 3 x Linear(...)": the name holds a range and the class is preceded by the count.
  void ReadCopies(Open* open, std::string* rest, int number) const {
    const std::string& name = open->node.name;
    const auto dash = name.find('-');
    const auto x = rest->find(" x ");
    if (dash == std::string::npos || x == std::string::npos) return;
    const std::string first = name.substr(0, dash);
    const std::string last = name.substr(dash + 1);
    const std::string count = rest->substr(0, x);
    if (!IsDigits(first) || !IsDigits(last) || !IsDigits(count)) return;
    if (first.size() > 9 || last.size() > 9 || count.size() > 9) {
      Fail(number, "repeat '(" + name + "): " + count + " x' is too large");
    }
    const std::int64_t a = std::stoll(first);
    const std::int64_t b = std::stoll(last);
    const std::int64_t n = std::stoll(count);
    if (b < a || b - a + 1 != n) {
      Fail(number, "repeat '(" + name + "): " + count + " x' names " +
                       std::to_string(b < a ? 0 : b - a + 1) + " modules, not " + count);
    }
    open->first = a;
    open->copies = n;
    *rest = Trim(rest->substr(x + 3));
  }

  void Finish(Open open, int number) {
    if (stack_.empty()) {
      root_ = std::move(open.node);
      root_closed_ = number;
      return;
    }
    Node& parent = stack_.back().node;
    std::vector<Node> made;
    if (open.copies == 0) {
      made.push_back(std::move(open.node));
    } else {
      for (std::int64_t k = 0; k < open.copies; ++k) {
        Node copy = open.node;
        copy.name = std::to_string(open.first + k);
        made.push_back(std::move(copy));
      }
    }
    for (Node& n : made) {
      for (const Node& sibling : parent.children) {
        if (sibling.name == n.name) {
          Fail(n.line, "duplicate module name '" + n.name + "' inside " + Label(parent) +
                           " (also on line " + std::to_string(sibling.line) + ")");
        }
      }
      parent.children.push_back(std::move(n));
    }
  }

  std::string where_;
  std::vector<Open> stack_;
  std::optional<Node> root_;
  int root_closed_ = 0;
};

// ---------------------------------------------------------------------------------------------
// From the module tree to architecture JSON, following forward() where it is known and tracking
// the shape to decide where a flatten is missing.

using Emitter = std::function<void(json*)>;

class Builder {
 public:
  Builder(std::string where, Shape input, std::vector<std::string>* notes)
      : where_(std::move(where)), shape_(std::move(input)), notes_(notes) {}

  // The top-level layer list.
  json Build(const Node& root) {
    json layers = json::array();
    if (!root.block) {
      if (!(IsEmptyContainerClass(root.cls) && Trim(root.args).empty())) {
        EmitLeaf(root, "", &layers);
      }
    } else {
      json module = Module(root, "");
      if (module["type"] == "Sequential") {
        layers = module["layers"];
      } else {
        // At the top level a Residual or Concat module adds no name level, as a functional one.
        module["functional"] = true;
        layers.push_back(module);
      }
    }
    if (layers.empty()) Fail(root.line, "the model '" + root.cls + "' has no layers");
    if (avgpools_ > 0) {
      Note(
          "AvgPool2d's printed form does not show ceil_mode or count_include_pad; PyTorch's "
          "defaults (ceil_mode=False, count_include_pad=True) are assumed for " +
          std::to_string(avgpools_) + " layer" + (avgpools_ == 1 ? "" : "s") + " (first: '" +
          first_avgpool_ + "')");
    }
    return layers;
  }

 private:
  [[noreturn]] void Fail(int line, const std::string& message) const {
    throw std::runtime_error(where_ + ":" + std::to_string(line) + ": " + message);
  }

  void Note(const std::string& message) {
    if (notes_ != nullptr) notes_->push_back(where_ + ": " + message);
  }

  static json Sequential(json layers) {
    return json{{"type", "Sequential"}, {"layers", std::move(layers)}};
  }

  static const Node* FindChild(const Node& n, const std::string& name) {
    for (const Node& c : n.children) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  static const Node& Child(const Node& n, const std::string& name) { return *FindChild(n, name); }

  // True when the children are exactly `names`, in this order, optionally followed by
  // `optional_last`.
  static bool HasChildren(const Node& n, const std::vector<std::string>& names,
                          const std::string& optional_last = "") {
    std::vector<std::string> got;
    for (const Node& c : n.children) got.push_back(c.name);
    if (got == names) return true;
    if (optional_last.empty()) return false;
    std::vector<std::string> with = names;
    with.push_back(optional_last);
    return got == with;
  }

  static bool IsLeafNamed(const Node& n, const std::string& name) {
    const Node* c = FindChild(n, name);
    return c != nullptr && !c->block && FindLeafClass(c->cls) != nullptr;
  }

  // Appends module `n` of scope `scope` to `out` as one layer named n.name.
  void EmitModule(const Node& n, const std::string& scope, json* out) {
    if (!n.block) {
      if (IsEmptyContainerClass(n.cls) && Trim(n.args).empty()) {
        out->push_back(json{{"type", "Sequential"}, {"name", n.name}, {"layers", json::array()}});
        return;
      }
      EmitLeaf(n, scope, out);
      return;
    }
    json module = Module(n, Join(scope, n.name));
    module["name"] = n.name;
    out->push_back(std::move(module));
  }

  void EmitModule(const Node& parent, const char* child, const std::string& scope, json* out) {
    EmitModule(Child(parent, child), scope, out);
  }

  json InOrder(const Node& n, const std::string& path) {
    json layers = json::array();
    for (const Node& c : n.children) EmitModule(c, path, &layers);
    return layers;
  }

  // The JSON container of a module with children (without its name), by its class's forward().
  json Module(const Node& n, const std::string& path) {
    const std::string& c = n.cls;
    if (FindLeafClass(c) != nullptr) {
      Fail(n.line, "'" + c + "(' ends its line: a " + c +
                       " has no children; its arguments belong on the same line");
    }
    if (c == "_Transition") {
      // torchvision builds its pool as AvgPool2d(kernel_size=2, stride=2): the hidden arguments
      // are known to be the defaults.
      for (const Node& child : n.children) {
        if (child.cls == "AvgPool2d") known_avgpools_.insert(&child);
      }
    }
    if (c == "Sequential" || c == "Conv2dNormActivation" || c == "ConvNormActivation" ||
        c == "_DenseBlock" || c == "_Transition") {
      return Sequential(InOrder(n, path));
    }
    if ((c == "VGG" || c == "AlexNet") && HasChildren(n, {"features", "avgpool", "classifier"})) {
      json layers = json::array();
      EmitModule(n, "features", path, &layers);
      EmitModule(n, "avgpool", path, &layers);
      Functional("Flatten", {{"start_dim", 1}}, path, n.line, &layers);
      EmitModule(n, "classifier", path, &layers);
      return Sequential(layers);
    }
    if (c == "ResNet" && HasChildren(n, {"conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                         "layer3", "layer4", "avgpool", "fc"})) {
      json layers = json::array();
      for (const Node& child : n.children) {
        EmitModule(child, path, &layers);
        if (child.name == "avgpool") {
          Functional("Flatten", {{"start_dim", 1}}, path, n.line, &layers);
        }
      }
      return Sequential(layers);
    }
    if (c == "BasicBlock" &&
        HasChildren(n, {"conv1", "bn1", "relu", "conv2", "bn2"}, "downsample") &&
        IsLeafNamed(n, "relu")) {
      return ResNetBlock(n, path, {"conv1", "bn1", "relu", "conv2", "bn2"});
    }
    if (c == "Bottleneck" &&
        HasChildren(n, {"conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu"}, "downsample") &&
        IsLeafNamed(n, "relu")) {
      return ResNetBlock(n, path, {"conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"});
    }
    if (c == "MobileNetV2" && HasChildren(n, {"features", "classifier"})) {
      json layers = json::array();
      EmitModule(n, "features", path, &layers);
      GlobalPool(path, n.line, &layers);
      EmitModule(n, "classifier", path, &layers);
      return Sequential(layers);
    }
    if (c == "InvertedResidual" && HasChildren(n, {"conv"})) return MobileNetBlock(n, path);
    if (c == "InvertedResidual" && HasChildren(n, {"branch1", "branch2"})) {
      return ShuffleNetBlock(n, path);
    }
    if (c == "ShuffleNetV2" &&
        HasChildren(n, {"conv1", "maxpool", "stage2", "stage3", "stage4", "conv5", "fc"})) {
      json layers = json::array();
      for (const Node& child : n.children) {
        // forward() takes x.mean([2, 3]) between conv5 and fc.
        if (child.name == "fc") GlobalPool(path, n.line, &layers);
        EmitModule(child, path, &layers);
      }
      return Sequential(layers);
    }
    if (c == "SqueezeNet" && HasChildren(n, {"features", "classifier"})) {
      json layers = InOrder(n, path);
      Functional("Flatten", {{"start_dim", 1}}, path, n.line, &layers);
      return Sequential(layers);
    }
    if (c == "Fire" &&
        HasChildren(n, {"squeeze", "squeeze_activation", "expand1x1", "expand1x1_activation",
                        "expand3x3", "expand3x3_activation"})) {
      json layers = json::array();
      EmitModule(n, "squeeze", path, &layers);
      EmitModule(n, "squeeze_activation", path, &layers);
      json cat = Concat({[&](json* out) {
                           EmitModule(n, "expand1x1", path, out);
                           EmitModule(n, "expand1x1_activation", path, out);
                         },
                         [&](json* out) {
                           EmitModule(n, "expand3x3", path, out);
                           EmitModule(n, "expand3x3_activation", path, out);
                         }},
                        /*split=*/false, path, n.line);
      cat["functional"] = true;
      layers.push_back(cat);
      return Sequential(layers);
    }
    if (c == "DenseNet" && HasChildren(n, {"features", "classifier"})) {
      json layers = json::array();
      EmitModule(n, "features", path, &layers);
      Functional("ReLU", {{"inplace", true}}, path, n.line, &layers);  // F.relu(inplace=True)
      GlobalPool(path, n.line, &layers);
      EmitModule(n, "classifier", path, &layers);
      return Sequential(layers);
    }
    if (c == "_DenseLayer" &&
        HasChildren(n, {"norm1", "relu1", "conv1", "norm2", "relu2", "conv2"})) {
      // _DenseBlock concatenates each layer's new features to its input.
      return Concat({[](json*) {},
                     [&](json* out) {
                       for (const Node& child : n.children) EmitModule(child, path, out);
                     }},
                    /*split=*/false, path, n.line);
    }
    const std::string where = path.empty() ? "top level" : path;
    Note("class '" + c + "' (" + where +
         ") is not known; its children are assumed to run in order");
    assumed_.push_back(c + " (" + where + ")");
    json layers = InOrder(n, path);
    assumed_.pop_back();
    return Sequential(layers);
  }

  // torchvision's BasicBlock / Bottleneck: body(x) + downsample(x), then relu again. `body`
  // lists the calls of forward(); the second and later calls of relu are repeats.
  json ResNetBlock(const Node& n, const std::string& path, const std::vector<const char*>& body) {
    json residual = Residual(
        [&](json* out) {
          bool relu_called = false;
          for (const char* name : body) {
            if (std::string(name) == "relu" && relu_called) {
              Repeat(Child(n, "relu"), path, out);
              continue;
            }
            relu_called = relu_called || std::string(name) == "relu";
            EmitModule(n, name, path, out);
          }
        },
        [&](json* out) {
          if (FindChild(n, "downsample") != nullptr) EmitModule(n, "downsample", path, out);
        },
        path, n.line);
    residual["functional"] = true;
    json layers = json::array({residual});
    Repeat(Child(n, "relu"), path, &layers);
    return Sequential(layers);
  }

  // Conv2d leaves under `n`, in order, with their full names.
  void CollectConvs(const Node& n, const std::string& path,
                    std::vector<std::pair<const Node*, std::string>>* convs) {
    for (const Node& c : n.children) {
      const std::string child_path = Join(path, c.name);
      if (!c.block && c.cls == "Conv2d") convs->emplace_back(&c, child_path);
      CollectConvs(c, child_path, convs);
    }
  }

  // MobileNetV2's InvertedResidual: x + conv(x) when use_res_connect (stride 1 and as many
  // output as input channels), else conv(x).
  json MobileNetBlock(const Node& n, const std::string& path) {
    std::vector<std::pair<const Node*, std::string>> convs;
    CollectConvs(n, path, &convs);
    bool residual = !convs.empty();
    for (const auto& [conv, conv_path] : convs) {
      if (Params(*conv, conv_path)["stride"] != json::array({1, 1})) residual = false;
    }
    if (residual) {
      residual = Params(*convs.front().first, convs.front().second)["in_channels"] ==
                 Params(*convs.back().first, convs.back().second)["out_channels"];
    }
    if (!residual) return Sequential(InOrder(n, path));
    return Residual([&](json* out) { EmitModule(n, "conv", path, out); }, [](json*) {}, path,
                    n.line);
  }

  // ShuffleNetV2's InvertedResidual: stride 1 (empty branch1) concatenates the first half of the
  // channels with branch2 of the second half; stride 2 concatenates branch1(x) and branch2(x);
  // then channel_shuffle(out, 2).
  json ShuffleNetBlock(const Node& n, const std::string& path) {
    const Node& branch1 = Child(n, "branch1");
    const bool stride_one =
        !branch1.block && IsEmptyContainerClass(branch1.cls) && Trim(branch1.args).empty();
    json cat;
    if (stride_one) {
      cat = Concat({[](json*) {}, [&](json* out) { EmitModule(n, "branch2", path, out); }},
                   /*split=*/true, path, n.line);
    } else {
      cat = Concat({[&](json* out) { EmitModule(n, "branch1", path, out); },
                    [&](json* out) { EmitModule(n, "branch2", path, out); }},
                   /*split=*/false, path, n.line);
    }
    cat["functional"] = true;
    json layers = json::array({cat});
    Functional("ChannelShuffle", {{"groups", 2}}, path, n.line, &layers);
    return Sequential(layers);
  }

  // adaptive_avg_pool2d(x, 1) (or x.mean([2, 3])) and torch.flatten(x, 1) of forward().
  void GlobalPool(const std::string& path, int line, json* out) {
    Functional("AdaptiveAvgPool2d", {{"output_size", 1}}, path, line, out);
    Functional("Flatten", {{"start_dim", 1}}, path, line, out);
  }

  // A shape error; inside classes assumed to run in order, the assumption is the likely cause.
  [[noreturn]] void FailShape(int line, const std::string& message) const {
    if (assumed_.empty()) Fail(line, message);
    std::string classes;
    for (const std::string& a : assumed_) classes += (classes.empty() ? "" : ", ") + a;
    Fail(line, message +
                   " (inside classes that are not known and were assumed to run their "
                   "children in order: " +
                   classes + ")");
  }

  [[noreturn]] void FailContainer(int line, const std::string& path, const char* type,
                                  const std::string& message) const {
    FailShape(line, (path.empty() ? std::string(type) : path + " (" + type + ")") + ": " + message);
  }

  json Residual(const Emitter& body, const Emitter& shortcut, const std::string& path, int line) {
    const Shape input = shape_;
    json body_layers = json::array();
    body(&body_layers);
    const Shape body_out = shape_;
    shape_ = input;
    json shortcut_layers = json::array();
    shortcut(&shortcut_layers);
    if (body_out != shape_) {
      FailContainer(line, path, "Residual",
                    "body output " + FormatShape(body_out) + " does not match shortcut output " +
                        FormatShape(shape_));
    }
    return json{{"type", "Residual"}, {"body", body_layers}, {"shortcut", shortcut_layers}};
  }

  json Concat(const std::vector<Emitter>& branches, bool split, const std::string& path, int line) {
    Shape input = shape_;
    const auto n = static_cast<std::int64_t>(branches.size());
    if (split) {
      if (input[0] % n != 0) {
        FailContainer(line, path, "Concat",
                      "split: " + std::to_string(input[0]) + " input channels do not divide into " +
                          std::to_string(n) + " branches (input " + FormatShape(input) + ")");
      }
      input[0] /= n;
    }
    json lists = json::array();
    Shape out;
    Shape branch0;
    for (std::size_t b = 0; b < branches.size(); ++b) {
      shape_ = input;
      json layers = json::array();
      branches[b](&layers);
      lists.push_back(layers);
      if (b == 0) {
        out = shape_;
        branch0 = shape_;
        continue;
      }
      const bool same_rest = shape_.size() == branch0.size() &&
                             std::equal(shape_.begin() + 1, shape_.end(), branch0.begin() + 1);
      if (!same_rest) {
        FailContainer(line, path, "Concat",
                      "branch " + std::to_string(b) + " output " + FormatShape(shape_) +
                          " does not match branch 0 output " + FormatShape(branch0) +
                          " outside the channels");
      }
      out[0] += shape_[0];
    }
    shape_ = out;
    json cat = {{"type", "Concat"}, {"branches", lists}};
    if (split) cat["split"] = true;
    return cat;
  }

  // A functional leaf of forward() (torch.flatten, F.relu, ...), unnamed: "<scope>.<type>".
  void Functional(const std::string& type, json params, const std::string& scope, int line,
                  json* out) {
    Advance(LayerInstance{Join(scope, ToLowerAscii(type)), type, params, shape_, {}}, line);
    params["type"] = type;
    params["functional"] = true;
    out->push_back(std::move(params));
  }

  // A further call of the module leaf `n` (torchvision's ResNet blocks call self.relu again).
  void Repeat(const Node& n, const std::string& scope, json* out) {
    const std::string path = Join(scope, n.name);
    Advance(LayerInstance{path, n.cls, Params(n, path), shape_, {}}, n.line);
    out->push_back(json{{"type", n.cls}, {"name", n.name}, {"repeat", true}});
  }

  void Advance(const LayerInstance& layer, int line) {
    try {
      shape_ = InferOutputShape(layer);
    } catch (const std::runtime_error& e) {
      FailShape(line, e.what());
    }
  }

  void EmitLeaf(const Node& n, const std::string& scope, json* out) {
    const std::string path = Join(scope, n.name);
    json params = RawArgs(n, path);
    if (n.cls == "AdaptiveAvgPool2d") ResolveNoneSizes(n, path, &params);
    params = Normalized(n, path, params);
    if (n.cls == "AvgPool2d" && known_avgpools_.count(&n) == 0 && avgpools_++ == 0) {
      first_avgpool_ = path;
    }
    if (n.cls == "Linear" && shape_.size() > 1) {
      std::int64_t count = 1;
      for (const std::int64_t d : shape_) count *= d;  // at most 2^53: shapes are checked
      if (count == params["in_features"].get<std::int64_t>()) {
        Note("'" + path + "' (Linear, in_features=" + std::to_string(count) + ") receives a " +
             FormatShape(shape_) +
             " input; a Flatten(start_dim=1) is inserted before it "
             "(forward() must flatten, which print(model) does not show)");
        Functional("Flatten", {{"start_dim", 1}}, scope, n.line, out);
      }
    }
    Advance(LayerInstance{path, n.cls, params, shape_, {}}, n.line);
    params["type"] = n.cls;
    if (!n.name.empty()) params["name"] = n.name;
    out->push_back(std::move(params));
  }

  // The normalised parameters of leaf `n` (for decisions that look at a module's arguments).
  json Params(const Node& n, const std::string& path) {
    json raw = RawArgs(n, path);
    if (n.cls == "AdaptiveAvgPool2d") ResolveNoneSizes(n, path, &raw);
    return Normalized(n, path, raw);
  }

  json Normalized(const Node& n, const std::string& path, const json& raw) const {
    try {
      return NormalizeLayerParams(n.cls, raw);
    } catch (const std::runtime_error& e) {
      Fail(n.line, (path.empty() ? n.cls : path + " (" + n.cls + ")") + ": " + e.what());
    }
  }

  // output_size=(None, 7) keeps the input's height.
  void ResolveNoneSizes(const Node& n, const std::string& path, json* params) const {
    if (!params->contains("output_size")) return;
    json& size = (*params)["output_size"];
    const bool has_none =
        size.is_null() ||
        (size.is_array() &&
         std::any_of(size.begin(), size.end(), [](const json& v) { return v.is_null(); }));
    if (!has_none) return;
    if (shape_.size() < 2) {
      FailShape(n.line, path +
                            " (AdaptiveAvgPool2d): output_size None needs an input of at least two "
                            "dimensions, got " +
                            FormatShape(shape_));
    }
    const std::int64_t h = shape_[shape_.size() - 2];
    const std::int64_t w = shape_.back();
    if (size.is_null()) {
      size = json::array({h, w});
    } else if (size.size() == 2) {
      if (size[0].is_null()) size[0] = h;
      if (size[1].is_null()) size[1] = w;
    }
  }

  // The printed arguments of leaf `n` as a JSON object under PyTorch's parameter names.
  json RawArgs(const Node& n, const std::string& path) {
    const LeafClass* spec = FindLeafClass(n.cls);
    if (spec == nullptr) {
      std::string known;
      for (const std::string& type : KnownLayerTypes()) known += (known.empty() ? "" : ", ") + type;
      Fail(n.line, "unknown layer class '" + n.cls + "' (known: " + known + ")");
    }
    json args = json::object();
    std::size_t positional = 0;
    bool keywords = false;
    for (const std::string& piece : SplitArguments(n.args)) {
      const auto eq = piece.find('=');
      const bool keyword = eq != std::string::npos && IsIdentifier(Trim(piece.substr(0, eq)));
      const std::string value_text = keyword ? piece.substr(eq + 1) : piece;
      const std::optional<json> value = ValueReader(value_text).ReadAll();
      if (piece.empty() || !value) {
        Fail(n.line, "bad argument '" + Excerpt(piece) + "' for " + n.cls);
      }
      std::string key;
      if (keyword) {
        key = Trim(piece.substr(0, eq));
        keywords = true;
      } else {
        if (keywords) {
          Fail(n.line, "bad argument '" + Excerpt(piece) + "' for " + n.cls +
                           ": a positional argument after keyword arguments");
        }
        if (positional >= spec->positional.size()) {
          Fail(n.line, "bad argument '" + Excerpt(piece) + "' for " + n.cls + ": it takes " +
                           std::to_string(spec->positional.size()) + " positional argument" +
                           (spec->positional.size() == 1 ? "" : "s"));
        }
        key = spec->positional[positional++];
      }
      if (args.contains(key)) {
        Fail(n.line, "bad argument '" + Excerpt(piece) + "' for " + n.cls + ": '" + key +
                         "' is given twice");
      }
      args[key] = *value;
    }
    if (n.cls == "Conv2d") ConvSpecials(n, path, &args);
    return args;
  }

  // padding='same'/'valid' and padding_mode, which the JSON schema does not take.
  void ConvSpecials(const Node& n, const std::string& path, json* args) {
    if (args->contains("padding_mode")) {
      const json mode = (*args)["padding_mode"];
      args->erase("padding_mode");
      if (mode != "zeros") {
        Note("'" + path + "' (Conv2d) has padding_mode=" +
             (mode.is_string() ? mode.get<std::string>() : mode.dump()) +
             ", which is costed as zero padding");
      }
    }
    if (!args->contains("padding") || !(*args)["padding"].is_string()) return;
    const std::string padding = (*args)["padding"].get<std::string>();
    if (padding == "valid") {
      (*args)["padding"] = 0;
      return;
    }
    if (padding != "same") {
      Fail(n.line, "bad argument 'padding=" + padding +
                       "' for Conv2d (expected a size, 'same' or "
                       "'valid')");
    }
    // 'same' pads dilation·(kernel−1) in all, split evenly; an odd total is padded asymmetrically,
    // which the schema's symmetric padding cannot describe.
    json probe = *args;
    probe.erase("padding");
    const json p = Normalized(n, path, probe);
    json pads = json::array();
    for (int d = 0; d < 2; ++d) {
      const std::int64_t total =
          p["dilation"][d].get<std::int64_t>() * (p["kernel_size"][d].get<std::int64_t>() - 1);
      if (total % 2 != 0) {
        Fail(n.line, (path.empty() ? std::string("Conv2d") : path + " (Conv2d)") +
                         ": padding='same' with kernel " + FormatShape(AsShape(p["kernel_size"])) +
                         " and dilation " + FormatShape(AsShape(p["dilation"])) +
                         " pads unevenly, which joulecast cannot represent");
      }
      pads.push_back(total / 2);
    }
    (*args)["padding"] = pads;
  }

  std::string where_;
  Shape shape_;
  std::vector<std::string>* notes_;
  int avgpools_ = 0;  // AvgPool2d leaves whose hidden arguments are assumed
  std::string first_avgpool_;
  std::set<const Node*> known_avgpools_;
  std::vector<std::string> assumed_;  // "Class (path)" of the unknown classes being emitted
};

}  // namespace

Architecture ParseModelRepr(const std::string& text, const Shape& input, const std::string& where,
                            std::vector<std::string>* notes) {
  const bool positive = !input.empty() && std::all_of(input.begin(), input.end(),
                                                      [](std::int64_t d) { return d > 0; });
  if (!positive) {
    throw std::runtime_error(where +
                             ": input shape: expected positive sizes such as 3x224x224, got " +
                             (input.empty() ? std::string("an empty shape") : FormatShape(input)));
  }
  const Node root = TextParser(where).Parse(text);
  std::vector<std::string> found;
  json layers = Builder(where, input, &found).Build(root);
  json j = {{"name", ToLowerAscii(root.cls)},
            {"description", "printed PyTorch model (" + root.cls + ") read from " + where},
            {"input", input},
            {"layers", std::move(layers)}};
  Architecture arch = ParseArchitecture(j, where);
  if (notes != nullptr) notes->insert(notes->end(), found.begin(), found.end());
  return arch;
}

Architecture LoadModelReprFile(const std::string& path, const Shape& input,
                               std::vector<std::string>* notes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": cannot read file");
  return ParseModelRepr(text.str(), input, path, notes);
}

}  // namespace joulecast
