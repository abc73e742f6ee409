#include "joulecast/arch/repr_parser.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "error_of.h"
#include "joulecast/arch/architecture.h"
#include "joulecast/arch/layer.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"

namespace joulecast {
namespace {

using nlohmann::json;

using joulecast_test::RuntimeErrorOf;

std::string ReprFixture(const std::string& name) {
  return std::string(JOULECAST_TEST_DATA) + "/repr/" + name + ".txt";
}

const char* CallName(CallKind call) {
  switch (call) {
    case CallKind::kModule:
      return "module";
    case CallKind::kRepeat:
      return "repeat";
    case CallKind::kFunctional:
      return "functional";
  }
  return "?";
}

// One operation as a line, so that a mismatch shows both sides in full.
std::string Describe(const LayerInstance& op) {
  return op.name + " " + op.type + " " + op.params.dump() + " " + FormatShape(op.input_shape) +
         " -> " + FormatShape(op.output_shape) + " " + CallName(op.call);
}

// (name, output shape) of every module leaf.
std::vector<std::pair<std::string, std::string>> LeafShapes(const Architecture& arch) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const LayerInstance& leaf : InferShapes(arch)) {
    out.emplace_back(leaf.name, FormatShape(leaf.output_shape));
  }
  return out;
}

std::vector<std::string> OperationNames(const Architecture& arch) {
  std::vector<std::string> names;
  for (const LayerInstance& op : InferOperations(arch)) names.push_back(op.name);
  return names;
}

// The zoo networks that tests/data/repr holds torchvision's print(model) for
// (tools/make_repr_fixtures.py).
const std::vector<std::string> kZooNets = {
    "alexnet",       "vgg11",      "vgg13",     "vgg16",     "vgg19",        "resnet18",
    "resnet34",      "resnet50",   "resnet101", "resnet152", "mobilenet_v2", "shufflenet_v2_x1_0",
    "squeezenet1_0", "densenet121"};

// The issue's "four input forms give the same layer list": the printed torchvision model and the
// zoo JSON give the same operations (names, types, arguments, shapes, call kinds).
TEST(ReprParserTest, TorchvisionPrintoutsGiveTheZooOperations) {
  for (const std::string& net : kZooNets) {
    SCOPED_TRACE(net);
    std::vector<std::string> notes;
    const Architecture printed = LoadModelReprFile(ReprFixture(net), {3, 224, 224}, &notes);
    EXPECT_TRUE(notes.empty()) << notes.front();
    const Architecture zoo = LoadZooArchitecture(net);
    const std::vector<LayerInstance> got = InferOperations(printed);
    const std::vector<LayerInstance> want = InferOperations(zoo);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(Describe(got[i]), Describe(want[i])) << "operation " << i;
    }
    EXPECT_EQ(InferShapes(printed).size(), InferShapes(zoo).size());
  }
}

TEST(ReprParserTest, NamesTheArchitectureAfterTheTopLevelClass) {
  const std::string path = ReprFixture("vgg16");
  const Architecture a = LoadModelReprFile(path, {3, 224, 224});
  EXPECT_EQ(a.name, "vgg");
  EXPECT_EQ(a.input, (Shape{3, 224, 224}));
  EXPECT_EQ(a.description, "printed PyTorch model (VGG) read from " + path);
  EXPECT_EQ(LoadModelReprFile(ReprFixture("resnet18"), {3, 224, 224}).name, "resnet");
  EXPECT_EQ(LoadModelReprFile(ReprFixture("small_sequential"), {3, 32, 32}).name, "sequential");
}

TEST(ReprParserTest, MapsPositionalArgumentsAndDefaults) {
  const Architecture a = LoadModelReprFile(ReprFixture("resnet50"), {3, 224, 224});
  const std::vector<LayerInstance> leaves = InferShapes(a);
  EXPECT_EQ(leaves[0].name, "conv1");
  EXPECT_EQ(leaves[0].params, json::parse(R"({"in_channels": 3, "out_channels": 64,
      "kernel_size": [7, 7], "stride": [2, 2], "padding": [3, 3], "dilation": [1, 1],
      "groups": 1, "bias": false})"));
  EXPECT_EQ(leaves[1].params, json::parse(R"({"num_features": 64, "eps": 1e-05,
      "momentum": 0.1, "affine": true, "track_running_stats": true})"));
  EXPECT_EQ(leaves[3].params, json::parse(R"({"kernel_size": [3, 3], "stride": [2, 2],
      "padding": [1, 1], "dilation": [1, 1], "ceil_mode": false})"));
  EXPECT_EQ(leaves.back().params,
            json::parse(R"({"in_features": 2048, "out_features": 1000, "bias": true})"));
}

// print(torchvision's ResNet-18) has one (relu) per block; forward() calls it twice.
TEST(ReprParserTest, ResNetBlocksAddTheShortcutAndCallReluAgain) {
  const Architecture a = LoadModelReprFile(ReprFixture("resnet18"), {3, 224, 224});
  std::vector<std::string> block;
  for (const LayerInstance& op : InferOperations(a)) {
    if (op.name.rfind("layer2.0.", 0) == 0) {
      block.push_back(op.name + " " + CallName(op.call) + " " + FormatShape(op.output_shape));
    }
  }
  EXPECT_EQ(block, (std::vector<std::string>{
                       "layer2.0.conv1 module 128x28x28", "layer2.0.bn1 module 128x28x28",
                       "layer2.0.relu module 128x28x28", "layer2.0.conv2 module 128x28x28",
                       "layer2.0.bn2 module 128x28x28", "layer2.0.downsample.0 module 128x28x28",
                       "layer2.0.downsample.1 module 128x28x28",
                       "layer2.0.add functional 128x28x28", "layer2.0.relu repeat 128x28x28"}));
}

// The expected shapes are those that tools/make_repr_fixtures.py prints from PyTorch's hooks.
TEST(ReprParserTest, SmallSequentialOfEveryLeafClass) {
  std::vector<std::string> notes;
  const Architecture a = LoadModelReprFile(ReprFixture("small_sequential"), {3, 32, 32}, &notes);
  EXPECT_EQ(LeafShapes(a), (std::vector<std::pair<std::string, std::string>>{{"0", "16x32x32"},
                                                                             {"1", "16x32x32"},
                                                                             {"2", "16x32x32"},
                                                                             {"3", "16x16x16"},
                                                                             {"4", "32x8x8"},
                                                                             {"5", "32x8x8"},
                                                                             {"6", "32x8x8"},
                                                                             {"7", "32x4x4"},
                                                                             {"8", "32x4x4"},
                                                                             {"9", "32x4x4"},
                                                                             {"10", "32x4x4"},
                                                                             {"11", "32x4x4"},
                                                                             {"12", "512"},
                                                                             {"13", "512"},
                                                                             {"14", "10"},
                                                                             {"15", "10"}}));
  const std::vector<LayerInstance> leaves = InferShapes(a);
  EXPECT_EQ(leaves[4].params, json::parse(R"({"in_channels": 16, "out_channels": 32,
      "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "dilation": [1, 1],
      "groups": 2, "bias": false})"));
  EXPECT_EQ(leaves[5].type, "ChannelShuffle");
  EXPECT_EQ(leaves[5].params, json::parse(R"({"groups": 2})"));
  EXPECT_EQ(leaves[6].params, json::parse(R"({"inplace": false})"));
  EXPECT_EQ(leaves[13].params, json::parse(R"({"p": 0.25, "inplace": false})"));
  EXPECT_EQ(leaves[15].params, json::parse(R"({"dim": 1})"));
  EXPECT_EQ(notes, (std::vector<std::string>{
                       ReprFixture("small_sequential") +
                       ": AvgPool2d's printed form does not show ceil_mode or count_include_pad; "
                       "PyTorch's defaults (ceil_mode=False, count_include_pad=True) are assumed "
                       "for 1 layer (first: '7')"}));
}

// A class of its own whose forward() flattens before fc1: the flatten is inferred from the
// shapes, and both guesses are reported.
TEST(ReprParserTest, UnknownClassRunsInOrderAndAFlattenIsInferredBeforeLinear) {
  std::vector<std::string> notes;
  const std::string path = ReprFixture("lenet");
  const Architecture a = LoadModelReprFile(path, {1, 32, 32}, &notes);
  EXPECT_EQ(a.name, "lenet");
  EXPECT_EQ(notes, (std::vector<std::string>{
                       path + ": class 'LeNet' (top level) is not known; its children are "
                              "assumed to run in order",
                       path + ": 'fc1' (Linear, in_features=400) receives a 16x5x5 input; a "
                              "Flatten(start_dim=1) is inserted before it (forward() must "
                              "flatten, which print(model) does not show)"}));
  EXPECT_EQ(LeafShapes(a), (std::vector<std::pair<std::string, std::string>>{{"conv1", "6x28x28"},
                                                                             {"relu1", "6x28x28"},
                                                                             {"pool1", "6x14x14"},
                                                                             {"conv2", "16x10x10"},
                                                                             {"relu2", "16x10x10"},
                                                                             {"pool2", "16x5x5"},
                                                                             {"fc1", "120"},
                                                                             {"relu3", "120"},
                                                                             {"fc2", "84"},
                                                                             {"relu4", "84"},
                                                                             {"fc3", "10"}}));
  const std::vector<LayerInstance> ops = InferOperations(a);
  ASSERT_EQ(ops.size(), 12u);
  EXPECT_EQ(Describe(ops[6]),
            "flatten Flatten {\"end_dim\":-1,\"start_dim\":1} 16x5x5 -> 400 "
            "functional");
}

TEST(ReprParserTest, NestedUnknownBlocksAndAFlattenInsideAHead) {
  std::vector<std::string> notes;
  const std::string path = ReprFixture("custom_blocks");
  const Architecture a = LoadModelReprFile(path, {3, 16, 16}, &notes);
  EXPECT_EQ(notes,
            (std::vector<std::string>{
                path + ": class 'MyBlock' (block1) is not known; its children are assumed to "
                       "run in order",
                path + ": class 'MyBlock' (block2) is not known; its children are assumed to "
                       "run in order",
                path + ": class 'Head' (head) is not known; its children are assumed to run in "
                       "order",
                path + ": 'head.0' (Linear, in_features=16) receives a 16x1x1 input; a "
                       "Flatten(start_dim=1) is inserted before it (forward() must flatten, "
                       "which print(model) does not show)"}));
  EXPECT_EQ(LeafShapes(a),
            (std::vector<std::pair<std::string, std::string>>{{"stem", "8x16x16"},
                                                              {"block1.conv", "16x16x16"},
                                                              {"block1.bn", "16x16x16"},
                                                              {"block1.act", "16x16x16"},
                                                              {"block2.conv", "16x16x16"},
                                                              {"block2.bn", "16x16x16"},
                                                              {"block2.act", "16x16x16"},
                                                              {"pool", "16x1x1"},
                                                              {"head.0", "10"}}));
  EXPECT_EQ(OperationNames(a).at(8), "head.flatten");
}

// Without notes the parse is the same; notes are appended to what the caller already holds.
TEST(ReprParserTest, NotesAreOptionalAndAppended) {
  std::vector<std::string> notes = {"earlier"};
  const Architecture with = LoadModelReprFile(ReprFixture("lenet"), {1, 32, 32}, &notes);
  const Architecture without = LoadModelReprFile(ReprFixture("lenet"), {1, 32, 32});
  EXPECT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0], "earlier");
  EXPECT_EQ(ToJson(with), ToJson(without));
}

TEST(ReprParserTest, LinearOnTheLastDimensionNeedsNoFlatten) {
  std::vector<std::string> notes;
  const Architecture a =
      ParseModelRepr("Sequential(\n  (0): Linear(in_features=8, out_features=3, bias=False)\n)\n",
                     {5, 8}, "t", &notes);
  EXPECT_TRUE(notes.empty());
  const std::vector<LayerInstance> ops = InferOperations(a);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(FormatShape(ops[0].output_shape), "5x3");
  EXPECT_EQ(
      RuntimeErrorOf([] {
        ParseModelRepr("Sequential(\n  (0): Linear(in_features=8, out_features=3)\n)", {5, 7}, "t");
      }),
      "t:2: 0 (Linear): in_features is 8 but the input has 7 features (input 5x7; Linear acts "
      "on the last dimension)");
}

TEST(ReprParserTest, OneLineModel) {
  const Architecture a =
      ParseModelRepr("Linear(in_features=4, out_features=2, bias=True)\n", {4}, "t");
  EXPECT_EQ(a.name, "linear");
  ASSERT_EQ(a.layers.size(), 1u);
  EXPECT_EQ(a.layers[0].name, "0");
  EXPECT_EQ(FormatShape(InferShapes(a)[0].output_shape), "2");
}

// PyTorch 2 prints equal neighbours of a ModuleList once: "(0-2): 3 x Block(".
TEST(ReprParserTest, CompressedRepeatsExpand) {
  std::vector<std::string> notes;
  const Architecture a = ParseModelRepr(
      "Net(\n"
      "  (blocks): ModuleList(\n"
      "    (0-2): 3 x Block(\n"
      "      (conv): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
      "      (act): ReLU()\n"
      "    )\n"
      "    (3): Identity()\n"
      "  )\n"
      ")\n",
      {4, 8, 8}, "t", &notes);
  std::vector<std::string> names;
  for (const LayerInstance& leaf : InferShapes(a)) names.push_back(leaf.name);
  EXPECT_EQ(names, (std::vector<std::string>{"blocks.0.conv", "blocks.0.act", "blocks.1.conv",
                                             "blocks.1.act", "blocks.2.conv", "blocks.2.act",
                                             "blocks.3"}));
  EXPECT_EQ(notes.size(), 5u);  // Net, ModuleList and three Blocks
  EXPECT_EQ(notes[2],
            "t: class 'Block' (blocks.0) is not known; its children are assumed to run "
            "in order");
  EXPECT_EQ(RuntimeErrorOf([] { ParseModelRepr("M(\n  (0-2): 4 x ReLU()\n)", {4}, "t"); }),
            "t:2: repeat '(0-2): 4 x' names 3 modules, not 4");
}

TEST(ReprParserTest, ConvPaddingWordsAndPaddingMode) {
  std::vector<std::string> notes;
  const Architecture a = ParseModelRepr(
      "Sequential(\n"
      "  (0): Conv2d(3, 8, kernel_size=(3, 5), stride=(1, 1), padding=same, dilation=(2, 1))\n"
      "  (1): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=valid, "
      "padding_mode=reflect)\n"
      "  (2): Conv2d(8, 8, kernel_size=(1, 1), stride=(1, 1), padding_mode=zeros)\n"
      ")",
      {3, 10, 10}, "t", &notes);
  const std::vector<LayerInstance> leaves = InferShapes(a);
  EXPECT_EQ(leaves[0].params["padding"], json::parse("[2, 2]"));
  EXPECT_EQ(FormatShape(leaves[0].output_shape), "8x10x10");
  EXPECT_EQ(leaves[1].params["padding"], json::parse("[0, 0]"));
  EXPECT_EQ(FormatShape(leaves[1].output_shape), "8x8x8");
  EXPECT_EQ(notes,
            (std::vector<std::string>{
                "t: '1' (Conv2d) has padding_mode=reflect, which is costed as zero padding"}));
  EXPECT_EQ(RuntimeErrorOf([] {
              ParseModelRepr(
                  "Sequential(\n  (0): Conv2d(3, 8, kernel_size=(2, 2), padding=same)\n)",
                  {3, 8, 8}, "t");
            }),
            "t:2: 0 (Conv2d): padding='same' with kernel 2x2 and dilation 1x1 pads unevenly, which "
            "joulecast cannot represent");
}

TEST(ReprParserTest, AdaptivePoolNoneKeepsTheInputSize) {
  const Architecture a = ParseModelRepr(
      "Sequential(\n  (0): AdaptiveAvgPool2d(output_size=(None, 7))\n  (1): "
      "AdaptiveAvgPool2d(output_size=None)\n)",
      {3, 12, 14}, "t");
  const std::vector<LayerInstance> leaves = InferShapes(a);
  EXPECT_EQ(leaves[0].params["output_size"], json::parse("[12, 7]"));
  EXPECT_EQ(leaves[1].params["output_size"], json::parse("[12, 7]"));
}

// A class named like a torchvision one but holding other children is not given its forward().
TEST(ReprParserTest, KnownClassWithOtherChildrenIsTreatedAsUnknown) {
  std::vector<std::string> notes;
  const Architecture a = ParseModelRepr(
      "ResNet(\n  (conv1): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1))\n  (fc): "
      "Linear(in_features=4, out_features=2, bias=True)\n)",
      {3, 3, 3}, "t", &notes);
  EXPECT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0],
            "t: class 'ResNet' (top level) is not known; its children are assumed to run in order");
  EXPECT_EQ(OperationNames(a), (std::vector<std::string>{"conv1", "flatten", "fc"}));
}

// MobileNetV2's InvertedResidual adds its input only with stride 1 and equal channels.
TEST(ReprParserTest, MobileNetBlockResidualFollowsStrideAndChannels) {
  const std::string block =
      "Sequential(\n"
      "  (0): InvertedResidual(\n"
      "    (conv): Sequential(\n"
      "      (0): Conv2d(8, 8, kernel_size=(3, 3), stride=(S, S), padding=(1, 1), groups=8, "
      "bias=False)\n"
      "      (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "      (2): Conv2d(8, C, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
      "    )\n"
      "  )\n"
      ")\n";
  auto make = [&](const std::string& stride, const std::string& channels) {
    std::string text = block;
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"(S, S)", "(" + stride + ", " + stride + ")"},
          {"8, C,", "8, " + channels + ","}}) {
      text.replace(text.find(from), from.size(), to);
    }
    return OperationNames(ParseModelRepr(text, {8, 8, 8}, "t"));
  };
  EXPECT_EQ(make("1", "8").back(), "0.add");
  EXPECT_EQ(make("2", "8").back(), "0.conv.2");
  EXPECT_EQ(make("1", "16").back(), "0.conv.2");
}

TEST(ReprParserTest, EmptySequentialIsAnEmptyContainer) {
  const Architecture a =
      ParseModelRepr("Sequential(\n  (0): Sequential()\n  (1): ReLU()\n)", {3}, "t");
  EXPECT_EQ(OperationNames(a), (std::vector<std::string>{"1"}));
  EXPECT_EQ(RuntimeErrorOf([] { ParseModelRepr("Sequential()", {3}, "t"); }),
            "t:1: the model 'Sequential' has no layers");
  EXPECT_EQ(RuntimeErrorOf([] { ParseModelRepr("Net(\n)", {3}, "t"); }),
            "t:1: the model 'Net' has no layers");
}

struct ErrorCase {
  const char* text;
  const char* message;
};

TEST(ReprParserTest, MalformedTextNamesTheLine) {
  const std::vector<ErrorCase> cases = {
      {"", "t:1: empty text: expected the output of print(model), e.g. 'VGG('"},
      {" \n\n  \n", "t:1: empty text: expected the output of print(model), e.g. 'VGG('"},
      {"Net(\n  (features): Sequential(\n    (0): ReLU()\n",
       "t:2: unbalanced parentheses: 'features' (Sequential) is never closed (the text ends at "
       "line 3)"},
      {"Net(\n  (0): ReLU()\n)\n)\n", "t:4: unbalanced parentheses: ')' closes no module"},
      {"Net(\n  (0): ReLU()\n))\n", "t:3: unbalanced parentheses: '))'"},
      {"Net(\n  (0): Conv2d(3, 64, kernel_size=(3, 3)\n)",
       "t:2: unbalanced parentheses in 'Conv2d(3, 64, kernel_size=(3, 3)'"},
      {"Net(\n  (0): Conv2d(3, 64, kernel_size=(3, 3)))\n)",
       "t:2: unbalanced parentheses in 'Conv2d(3, 64, kernel_size=(3, 3)))'"},
      {"Net(\n  (0): Conv3d(3, 64, kernel_size=(3, 3, 3), stride=(1, 1, 1))\n)",
       "t:2: unknown layer class 'Conv3d' (known: AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, "
       "ChannelShuffle, Conv2d, Dropout, Flatten, Identity, Linear, MaxPool2d, ReLU, ReLU6, "
       "Sigmoid, Softmax, Tanh)"},
      {"Net(\n  (act): Swish()\n)",
       "t:2: unknown layer class 'Swish' (known: AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, "
       "ChannelShuffle, Conv2d, Dropout, Flatten, Identity, Linear, MaxPool2d, ReLU, ReLU6, "
       "Sigmoid, Softmax, Tanh)"},
      {"Net(\n  (0): Conv2d(3, 64, kernel_size=(3, x), stride=(1, 1))\n)",
       "t:2: bad argument 'kernel_size=(3, x)' for Conv2d"},
      {"Net(\n  (0): Conv2d(3, 64, kernel_size=(3, 0), stride=(1, 1))\n)",
       "t:2: 0 (Conv2d): kernel_size: expected a positive integer or [h, w], got [3,0]"},
      {"Net(\n  (0): Conv2d(3, 64, kernel_size=3, strid=1)\n)",
       "t:2: 0 (Conv2d): unknown argument 'strid' for Conv2d"},
      {"Net(\n  (0): ReLU(True, False)\n)",
       "t:2: bad argument 'False' for ReLU: it takes 1 positional argument"},
      {"Net(\n  (0): Linear(in_features=3, 4)\n)",
       "t:2: bad argument '4' for Linear: a positional argument after keyword arguments"},
      {"Net(\n  (0): Dropout(p=0.5, p=0.1)\n)",
       "t:2: bad argument 'p=0.1' for Dropout: 'p' is given twice"},
      {"Net(\n  (0): Dropout(p=0.5,, inplace=False)\n)", "t:2: bad argument '' for Dropout"},
      {"Net(\n  Conv2d(3, 64, kernel_size=(3, 3))\n)",
       "t:2: missing module name: expected '(name): Class(...)' inside 'Net(', got 'Conv2d(3, 64, "
       "kernel_size=(3, 3))'"},
      {"Net(\n  (features): Sequential(\n    ReLU()\n  )\n)",
       "t:3: missing module name: expected '(name): Class(...)' inside 'features' (Sequential), "
       "got 'ReLU()'"},
      {"Net(\n  (0) ReLU()\n)",
       "t:2: missing module name: expected '(name): Class(...)', got '(0) ReLU()'"},
      {"Net(\n  (0): ReLU()\n  (0): ReLU()\n)",
       "t:3: duplicate module name '0' inside 'Net(' (also on line 2)"},
      {"Net(\n  (a.b): ReLU()\n)",
       "t:2: malformed module name 'a.b': PyTorch's module names contain no dots"},
      {"Net(\n  (0): 42\n)", "t:2: expected 'Class(' such as 'Conv2d(', got '42'"},
      {"Net(\n  (0): ReLU()\n)\nNet(\n",
       "t:4: text after the end of the top-level module 'Net' "
       "(closed on line 3): 'Net('"},
      {"(features): Sequential(\n)",
       "t:1: the top-level module has no name in print(model)'s output, got '(features)'"},
      {"Net(\n  (0): Conv2d(\n  )\n)",
       "t:2: 'Conv2d(' ends its line: a Conv2d has no children; its arguments belong on the same "
       "line"},
      {"Sequential(\n  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))\n)",
       "t:2: 0 (Conv2d): expected 1 input channels, got 3 (input 3x8x8)"},
  };
  for (const ErrorCase& c : cases) {
    const std::string error = RuntimeErrorOf([&] { ParseModelRepr(c.text, {3, 8, 8}, "t"); });
    EXPECT_EQ(error, c.message) << c.text;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

TEST(ReprParserTest, ContainerShapeErrorsNameTheBlock) {
  const char* text =
      "Sequential(\n"
      "  (0): BasicBlock(\n"
      "    (conv1): Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
      "    (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "    (relu): ReLU(inplace=True)\n"
      "    (conv2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
      "    (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "  )\n"
      ")\n";
  EXPECT_EQ(RuntimeErrorOf([&] {
              ParseModelRepr(text, {4, 8, 8}, "t");
            }),
            "t:2: 0 (Residual): body output 8x4x4 does not match shortcut output 4x8x8");
}

// Two parallel branches of a class of its own cannot run in order; the error says what was assumed.
TEST(ReprParserTest, ShapeErrorsInsideUnknownClassesNameTheAssumption) {
  const char* text =
      "Net(\n"
      "  (a): Branches(\n"
      "    (b1): Conv2d(3, 4, kernel_size=(1, 1), stride=(1, 1))\n"
      "    (b2): Conv2d(3, 4, kernel_size=(1, 1), stride=(1, 1))\n"
      "  )\n"
      ")\n";
  EXPECT_EQ(RuntimeErrorOf([&] {
              ParseModelRepr(text, {3, 8, 8}, "t");
            }),
            "t:4: a.b2 (Conv2d): expected 3 input channels, got 4 (input 4x8x8) (inside classes "
            "that are not known and were assumed to run their children in order: Net (top level), "
            "Branches (a))");
}

TEST(ReprParserTest, InputAndFileErrors) {
  EXPECT_EQ(RuntimeErrorOf([] { ParseModelRepr("ReLU()", {}, "t"); }),
            "t: input shape: expected positive sizes such as 3x224x224, got an empty shape");
  EXPECT_EQ(RuntimeErrorOf([] {
              ParseModelRepr("ReLU()", {3, 0, 4}, "t");
            }),
            "t: input shape: expected positive sizes such as 3x224x224, got 3x0x4");
  const std::string missing = ReprFixture("no_such_model");
  EXPECT_EQ(RuntimeErrorOf([&] {
              LoadModelReprFile(missing, {3, 224, 224});
            }),
            missing + ": cannot open file");
}

}  // namespace
}  // namespace joulecast
