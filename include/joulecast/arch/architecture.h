// Architecture: a network described as a tree of PyTorch layers, read from the architecture JSON
// format (data/architectures/README.md documents it in full):
//
//   {"name": "vgg16", "input": [3, 224, 224],
//    "layers": [{"type": "Sequential", "name": "features", "layers": [
//                  {"type": "Conv2d", "in_channels": 3, "out_channels": 64, "kernel_size": 3,
//                   "padding": 1}, ...]},
//               {"type": "AdaptiveAvgPool2d", "name": "avgpool", "output_size": 7},
//               {"type": "Flatten", "functional": true},
//               {"type": "Sequential", "name": "classifier", "layers": [...]}]}
//
// A layer is {"type": <PyTorch class name>, "name": <optional>, "functional": <optional bool>,
// <constructor arguments under PyTorch's names>}. Containers ("Sequential", with "layers") nest.
// Parsing validates every argument and fills in PyTorch's defaults, so a parsed leaf's params hold
// every argument of its type, with kernel_size/stride/padding/dilation/output_size as [h, w].
//
// Naming follows PyTorch's named_modules(): a layer without a name is named by its index among its
// parent's (non-functional) layers, "<parent>.<index>", or "<index>" at the top level. A name
// without a dot is local to the parent ("conv1" inside "layer1" is "layer1.conv1"); PyTorch forbids
// dots in module names, so a dotted name is a full path and must extend the parent's path.
//
// A "functional": true leaf stands for an operation that forward() applies as a function (e.g.
// torch.flatten(x, 1) in torchvision's VGG) rather than a registered module: it takes part in shape
// inference but is not a module, so it is not listed among the leaves and does not consume an
// index. Unnamed, it is named "<parent>.<type in lower case>" (only used in error messages).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/arch/layer.h"

namespace joulecast {

// One node of the architecture tree: a leaf layer or a container.
struct LayerSpec {
  std::string type;  // PyTorch class name "Conv2d", ..., or "Sequential" / "Residual" / "Concat"
  std::string name;  // full dotted path, e.g. "features.0" (a functional container: its scope's)
  nlohmann::json params = nlohmann::json::object();  // leaves: normalised arguments; containers: {}
  bool functional = false;  // a construct of forward(), not a module: takes no index, no name level
  bool repeat = false;      // leaves: a further call of the earlier module leaf named `name`
  bool split = false;       // Concat: branch i sees the i-th of x.chunk(branches, dim=channels)
  std::vector<LayerSpec> layers;    // Sequential: its children; Residual: the body
  std::vector<LayerSpec> shortcut;  // Residual: the shortcut path (empty = identity)
  std::vector<std::vector<LayerSpec>>
      branches;  // Concat: one layer list per branch ([] = identity)
  bool IsContainer() const;
};

struct Architecture {
  std::string name;
  std::string description;  // optional free text, e.g. where the definition comes from
  Shape input;              // per-sample input shape, e.g. {3, 224, 224}
  std::vector<LayerSpec> layers;
};

// Leaf layer types the parser and shape inference know, in alphabetical order.
std::vector<std::string> KnownLayerTypes();
// Container types ("Concat", "Residual", "Sequential").
std::vector<std::string> KnownContainerTypes();
bool IsContainerType(const std::string& type);

// Validates `args` (a JSON object of PyTorch constructor arguments for a leaf layer `type`; "type",
// "name" and "functional" are ignored) and returns them with every default filled in and
// kernel_size/stride/padding/dilation/output_size as [h, w]. Idempotent.
// Throws std::runtime_error: "unknown layer type 'Conv3d'", "missing argument 'kernel_size' for
// Conv2d", "unknown argument 'strid' for Conv2d", "kernel_size: expected a positive integer or
// [h, w], got -1" (zero, negative, non-integer or above 2^53 sizes; non-boolean flags; p outside
// [0, 1]).
nlohmann::json NormalizeLayerParams(const std::string& type, const nlohmann::json& args);

// Parses an architecture from JSON. `where` (a file path, or any label) prefixes error messages.
// Throws std::runtime_error "where: location: message", e.g.
//   "where: layers[3] (features.6): unknown layer type 'Conv3d'"
//   "where: layers[0].kernel_size: expected a positive integer or [h, w], got -1"
//   "where: input: expected a non-empty array of positive integers, got [3, 0]"
// for a missing/mistyped field, unknown field, bad argument, duplicate or malformed name, empty
// top-level layer list, or an input shape with more than 2^53 elements.
Architecture ParseArchitecture(const nlohmann::json& j, const std::string& where);
// As ParseArchitecture on text; malformed JSON throws "where: invalid JSON: <nlohmann message>".
Architecture ParseArchitectureText(const std::string& text, const std::string& where);
// Reads and parses a file; throws "path: cannot open file" or any ParseArchitecture error.
Architecture LoadArchitectureFile(const std::string& path);

// The architecture as JSON in the same format, with full names and normalised arguments:
// ParseArchitecture(ToJson(a)) reproduces a.
nlohmann::json ToJson(const Architecture& arch);
nlohmann::json ToJson(const LayerSpec& layer);

}  // namespace joulecast
