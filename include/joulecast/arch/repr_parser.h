// Printed-model reader: builds an Architecture from the text that PyTorch's print(model) shows,
// for a per-sample input shape given separately (the text has no shapes).
//
//   VGG(
//     (features): Sequential(
//       (0): Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
//       (1): ReLU(inplace=True)
//       ...
//     )
//     (avgpool): AdaptiveAvgPool2d(output_size=(7, 7))
//     (classifier): Sequential(...)
//   )
//
// Every "(name): Class(...)" line becomes a module under PyTorch's name ("features.0"); a leaf's
// arguments are read as Python values, positional ones under the constructor's parameter names
// (Conv2d(3, 64, ...) is in_channels=3, out_channels=64), and validated like the architecture JSON
// (the result is built as JSON and run through ParseArchitecture). Leaf classes are those of the
// JSON schema (KnownLayerTypes()); Conv2d's padding='same'/'valid' are turned into numbers,
// padding_mode is dropped (a note says so when it is not 'zeros'), and AdaptiveAvgPool2d's None
// sizes take the input's size. PyTorch 2's compressed repeats, "(0-2): 3 x Block(...)", expand
// into modules 0, 1 and 2.
//
// forward() does not appear in a repr, so the structure that runs is decided as follows:
//  - torchvision 0.14 classes get their forward(): AlexNet, VGG, ResNet, BasicBlock, Bottleneck,
//    MobileNetV2, InvertedResidual (MobileNetV2's, with a residual add when all its convs have
//    stride 1 and its first conv's in_channels equal its last conv's out_channels; ShuffleNetV2's,
//    recognised by its branch1/branch2, split when branch1 is empty), ShuffleNetV2, SqueezeNet,
//    Fire, DenseNet, _DenseLayer, and the in-order Sequential subclasses Conv2dNormActivation,
//    ConvNormActivation, _DenseBlock and _Transition. The result has exactly the structure of the
//    zoo files (data/architectures/<name>.json): residual adds, concatenations, repeated ReLU
//    calls and forward()-only operations (torch.flatten, adaptive_avg_pool2d, F.relu,
//    channel_shuffle) as functional layers. A known class whose children are not torchvision's is
//    treated as unknown.
//  - Sequential runs its children in order; so, by assumption, does any other class with
//    children, and a note says so: "<where>: class 'MyBlock' (block1) is not known; its children
//    are assumed to run in order" ("(top level)" for the model itself).
//  - A Linear that meets a multi-dimensional input with exactly in_features elements gets a
//    functional Flatten(start_dim=1) before it, with a note (forward() must have flattened it).
//    Shapes are propagated from `input` while building to decide this.
//
// The architecture is named after the top-level class in lower case ("VGG(" gives "vgg"); callers
// may rename it. Notes, when `notes` is given, are appended to it.
//
// Errors (std::runtime_error), one line "where:line: message":
//   "where:1: empty text: expected the output of print(model), e.g. 'VGG('"
//   "where:7: unknown layer class 'Conv3d' (known: AdaptiveAvgPool2d, AvgPool2d, ...)"
//   "where:3: bad argument 'kernel_size=(3, x)' for Conv2d"
//   "where:3: features.0 (Conv2d): kernel_size: expected a positive integer or [h, w], got [3,0]"
//   "where:4: missing module name: expected '(name): Class(...)' inside 'features' (Sequential),
//    got 'Conv2d(3, 64, kernel_size=(3, 3))'"
//   "where:2: unbalanced parentheses: 'features' (Sequential) is never closed (the text ends at
//    line 9)", "where:9: unbalanced parentheses: ')' closes no module",
//   "where:5: unbalanced parentheses in 'Conv2d(3, 64, kernel_size=(3, 3)'"
// and shape errors of the layers on their line, e.g.
//   "where:3: features.0 (Conv2d): expected 3 input channels, got 1 (input 1x224x224)",
// followed, inside classes assumed to run in order, by " (inside classes that are not known and
// were assumed to run their children in order: Net (top level), Block (block1))".
#pragma once

#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/layer.h"

namespace joulecast {

// Parses the printed model `text` for the per-sample `input` shape (e.g. {3, 224, 224}); `where`
// (a file name or any label) prefixes error messages and notes. Throws as above.
Architecture ParseModelRepr(const std::string& text, const Shape& input, const std::string& where,
                            std::vector<std::string>* notes = nullptr);

// Reads `path` and parses it with ParseModelRepr(text, input, path, notes); throws
// "path: cannot open file" or any ParseModelRepr error.
Architecture LoadModelReprFile(const std::string& path, const Shape& input,
                               std::vector<std::string>* notes = nullptr);

}  // namespace joulecast
