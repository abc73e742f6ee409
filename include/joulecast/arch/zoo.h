// Architecture zoo: the networks shipped as data/architectures/<name>.json ("alexnet", "vgg16",
// ...) and the Hugging Face configs under data/architectures/hf/ ("gpt2", "llama-2-7b", ...; any
// depth below hf/; a name directly in the directory wins over the same name under hf/).
//
// Zoo directories are searched in this order; the first one holding <name>.json wins:
//   1. $JOULECAST_DATA_DIR/architectures            (when the variable is set and non-empty)
//   2. <directory of the running executable>/../share/joulecast/architectures   (installed tree)
//   3. JOULECAST_SOURCE_DIR/data/architectures      (the source tree this library was built from)
// Names are matched case-insensitively against the file names without ".json".
#pragma once

#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"

namespace joulecast {

// The zoo directories above that exist, in search order.
std::vector<std::string> ZooDirectories();

// Zoo names (file names without ".json", lower case) over all zoo directories, sorted, unique.
std::vector<std::string> ZooNames();

// Path of the zoo file for `name` ("VGG16" or "vgg16"). Throws std::runtime_error
// "unknown architecture 'resnet7'; available: alexnet, vgg11, vgg13, vgg16, vgg19" (or, without any
// zoo directory, "unknown architecture 'x': no architecture zoo found (searched: ...)").
std::string FindZooFile(const std::string& name);

// Zoo files come in three forms: the module tree (hand-written or tools/make_zoo.py), operator
// graph JSON (tools/make_zoo_graphs.py: traced from torchvision and lowered) and Hugging Face
// config.json files (frontends/hf_config.h). True for the last two, which are read only as graphs.
bool IsGraphZooFile(const std::string& path);
// ZooNames() whose file is a module tree.
std::vector<std::string> ZooTreeNames();

// LoadArchitectureFile(FindZooFile(name)); throws as both, and for a graph-form file
// "<path>: 'vit_b_16' is an operator graph or a Hugging Face config, not a module tree; ...".
Architecture LoadZooArchitecture(const std::string& name);

}  // namespace joulecast
