#include "joulecast/arch/shape_inference.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "error_of.h"
#include "joulecast/arch/architecture.h"
#include "joulecast/arch/layer.h"

namespace joulecast {
namespace {

using nlohmann::json;

using joulecast_test::RuntimeErrorOf;

Architecture Arch(const std::string& layers, const std::string& input = "[3, 32, 32]") {
  return ParseArchitecture(
      json::parse(R"({"name": "t", "input": )" + input + R"(, "layers": )" + layers + "}"), "t");
}

// Output shape of one layer (JSON object text) on `input`.
Shape Out(const std::string& layer, const Shape& input) {
  return InferOutputShape(
      {"", json::parse(layer).at("type").get<std::string>(), json::parse(layer), input, {}});
}

std::string OutError(const std::string& layer, const Shape& input) {
  return RuntimeErrorOf([&] { Out(layer, input); });
}

std::string InferError(const std::string& layers, const std::string& input = "[3, 32, 32]") {
  const Architecture a = Arch(layers, input);
  return RuntimeErrorOf([&] { InferShapes(a); });
}

Architecture Zoo(const std::string& name) {
  return LoadArchitectureFile(std::string(JOULECAST_SOURCE_DIR) + "/data/architectures/" + name +
                              ".json");
}

TEST(FormatShapeTest, JoinsWithX) {
  EXPECT_EQ(FormatShape({3, 224, 224}), "3x224x224");
  EXPECT_EQ(FormatShape({4096}), "4096");
  EXPECT_EQ(FormatShape({}), "");
}

TEST(ShapeInferenceTest, Conv2d) {
  // AlexNet's first layer: floor((224 + 2·2 - 1·(11-1) - 1) / 4) + 1 = floor(217/4) + 1 = 55.
  EXPECT_EQ(Out(R"({"type": "Conv2d", "in_channels": 3, "out_channels": 64, "kernel_size": 11,
                    "stride": 4, "padding": 2})",
                {3, 224, 224}),
            (Shape{64, 55, 55}));
  // Same-padding 3x3: floor((224 + 2 - 2 - 1) / 1) + 1 = 224.
  EXPECT_EQ(Out(R"({"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3,
                    "padding": 1})",
                {3, 224, 224}),
            (Shape{8, 224, 224}));
  // Per-dimension arguments, groups and dilation on 4x9x10:
  //   H: floor((9 + 2·1 - 1·(3-1) - 1) / 2) + 1 = floor(8/2) + 1 = 5
  //   W: floor((10 + 2·2 - 2·(5-1) - 1) / 1) + 1 = 5 + 1 = 6
  EXPECT_EQ(Out(R"({"type": "Conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": [3, 5],
                    "stride": [2, 1], "padding": [1, 2], "dilation": [1, 2], "groups": 2})",
                {4, 9, 10}),
            (Shape{6, 5, 6}));
  // Kernel exactly the padded input: floor((1 + 2 - 3) / 1) + 1 = 1.
  EXPECT_EQ(Out(R"({"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 3,
                    "padding": 1})",
                {2, 1, 1}),
            (Shape{2, 1, 1}));
}

TEST(ShapeInferenceTest, MaxPool2d) {
  // AlexNet: floor((55 - 2) / 2) + 1 = 27.
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 3, "stride": 2})", {64, 55, 55}),
            (Shape{64, 27, 27}));
  // Stride defaults to the kernel: floor((224 - 1) / 2) + 1 = 112.
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 2})", {64, 224, 224}),
            (Shape{64, 112, 112}));
  // Dilation: floor((10 + 2 - 2·2 - 1) / 2) + 1 = floor(7/2) + 1 = 4.
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1,
                    "dilation": 2})",
                {1, 10, 10}),
            (Shape{1, 4, 4}));
  // Padding exactly half the kernel is allowed: floor((4 + 4 - 3 - 1) / 4) + 1 = 2.
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 4, "padding": 2})", {1, 4, 4}),
            (Shape{1, 2, 2}));
}

TEST(ShapeInferenceTest, CeilMode) {
  // GoogLeNet's pool: floor: floor(109/2) + 1 = 55; ceil: ceil(109/2) + 1 = 56, and the last
  // window starts at 55·2 = 110 < 112 + 0, inside the input: kept.
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 3, "stride": 2})", {1, 112, 112}),
            (Shape{1, 55, 55}));
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "ceil_mode": true})",
                {1, 112, 112}),
            (Shape{1, 56, 56}));
  // ceil(3/2) + 1 = 3; last window starts at 4 < 6: kept.
  EXPECT_EQ(
      Out(R"({"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "ceil_mode": true})", {1, 6, 6}),
      (Shape{1, 3, 3}));
  // The correction: H=5, K=2, S=2, P=1: ceil((5 + 2 - 1 - 1) / 2) + 1 = ceil(5/2) + 1 = 4, but the
  // 4th window would start at 3·2 = 6 >= H + P = 6, in the right padding only: dropped, 3.
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 1,
                    "ceil_mode": true})",
                {1, 5, 5}),
            (Shape{1, 3, 3}));
  EXPECT_EQ(Out(R"({"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 1})", {1, 5, 5}),
            (Shape{1, 3, 3}));
  // AvgPool2d: ceil((6 + 2 - 2 - 1) / 2) + 1 = ceil(5/2) + 1 = 4; last starts at 6 < 7: kept.
  EXPECT_EQ(Out(R"({"type": "AvgPool2d", "kernel_size": 3, "stride": 2, "padding": 1,
                    "ceil_mode": true})",
                {1, 6, 6}),
            (Shape{1, 4, 4}));
}

TEST(ShapeInferenceTest, OtherLayers) {
  // AvgPool2d per dimension on 7x9: H: floor((7 - 1 - 1) / 1) + 1 = 6; W: floor((9 - 2 - 1) / 2)
  // + 1 = 4.
  EXPECT_EQ(Out(R"({"type": "AvgPool2d", "kernel_size": [2, 3], "stride": [1, 2]})", {1, 7, 9}),
            (Shape{1, 6, 4}));
  EXPECT_EQ(Out(R"({"type": "AdaptiveAvgPool2d", "output_size": [7, 7]})", {512, 14, 14}),
            (Shape{512, 7, 7}));
  // Adaptive pooling may enlarge (PyTorch repeats input cells).
  EXPECT_EQ(Out(R"({"type": "AdaptiveAvgPool2d", "output_size": [6, 5]})", {256, 2, 2}),
            (Shape{256, 6, 5}));
  EXPECT_EQ(Out(R"({"type": "BatchNorm2d", "num_features": 64})", {64, 56, 56}),
            (Shape{64, 56, 56}));
  for (const char* type : {"ReLU", "ReLU6", "Sigmoid", "Tanh", "Dropout", "Identity", "Softmax"}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(Out(std::string(R"({"type": ")") + type + "\"}", {5, 7}), (Shape{5, 7}));
  }
  EXPECT_EQ(Out(R"({"type": "Softmax", "dim": 1})", {1000}), (Shape{1000}));
  EXPECT_EQ(Out(R"({"type": "Softmax", "dim": -1})", {1000}), (Shape{1000}));
}

TEST(ShapeInferenceTest, Linear) {
  EXPECT_EQ(Out(R"({"type": "Linear", "in_features": 9216, "out_features": 4096})", {9216}),
            (Shape{4096}));
  // PyTorch applies Linear to the last dimension: 4x5x6 -> 4x5x10.
  EXPECT_EQ(Out(R"({"type": "Linear", "in_features": 6, "out_features": 10})", {4, 5, 6}),
            (Shape{4, 5, 10}));
}

TEST(ShapeInferenceTest, Flatten) {
  // Dims index the batched tensor N x 512 x 7 x 7: 1..-1 -> 512·7·7 = 25088.
  EXPECT_EQ(Out(R"({"type": "Flatten"})", {512, 7, 7}), (Shape{25088}));
  EXPECT_EQ(Out(R"({"type": "Flatten", "start_dim": 1, "end_dim": 2})", {8, 4, 5}), (Shape{32, 5}));
  EXPECT_EQ(Out(R"({"type": "Flatten", "start_dim": -2})", {8, 4, 5}), (Shape{8, 20}));
  EXPECT_EQ(Out(R"({"type": "Flatten", "start_dim": 2, "end_dim": 2})", {8, 4, 5}),
            (Shape{8, 4, 5}));
  EXPECT_EQ(Out(R"({"type": "Flatten", "start_dim": 0, "end_dim": 0})", {8, 4, 5}),
            (Shape{8, 4, 5}));
  EXPECT_EQ(Out(R"({"type": "Flatten"})", {4096}), (Shape{4096}));
}

TEST(ShapeInferenceTest, FillsDefaultsOfPartialParams) {
  const std::vector<LayerInstance> leaves = InferShapes(
      Architecture{"t", "", {3, 8, 8}, {LayerSpec{"MaxPool2d", "pool", {{"kernel_size", 2}}}}});
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].params["stride"], json::array({2, 2}));
  EXPECT_EQ(leaves[0].output_shape, (Shape{3, 4, 4}));
}

TEST(ShapeInferenceTest, ListsLeavesWithShapes) {
  const Architecture a = Arch(R"([
      {"type": "Sequential", "name": "features", "layers": [
        {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "Sequential", "name": "block", "layers": [
          {"type": "BatchNorm2d", "num_features": 8}, {"type": "ReLU", "inplace": true}]},
        {"type": "MaxPool2d", "kernel_size": 2}]},
      {"type": "Flatten", "functional": true},
      {"type": "Sequential", "name": "classifier", "layers": [
        {"type": "Linear", "in_features": 2048, "out_features": 10},
        {"type": "Softmax", "dim": 1}]}
    ])");
  const std::vector<LayerInstance> leaves = InferShapes(a);
  // 3x32x32 -conv(3, p1)-> 8x32x32 -bn, relu-> 8x32x32 -pool 2-> 8x16x16 -flatten-> 2048 -> 10.
  const std::vector<std::tuple<std::string, std::string, Shape, Shape>> expected = {
      {"features.0", "Conv2d", {3, 32, 32}, {8, 32, 32}},
      {"features.block.0", "BatchNorm2d", {8, 32, 32}, {8, 32, 32}},
      {"features.block.1", "ReLU", {8, 32, 32}, {8, 32, 32}},
      {"features.2", "MaxPool2d", {8, 32, 32}, {8, 16, 16}},
      {"classifier.0", "Linear", {2048}, {10}},  // input is the functional Flatten's output
      {"classifier.1", "Softmax", {10}, {10}},
  };
  ASSERT_EQ(leaves.size(), expected.size());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(leaves[i].name, std::get<0>(expected[i]));
    EXPECT_EQ(leaves[i].type, std::get<1>(expected[i]));
    EXPECT_EQ(leaves[i].input_shape, std::get<2>(expected[i]));
    EXPECT_EQ(leaves[i].output_shape, std::get<3>(expected[i]));
  }
  EXPECT_EQ(leaves[2].params, json::parse(R"({"inplace": true})"));
}

TEST(ShapeInferenceTest, ExplicitInputOverridesArchitectureInput) {
  const Architecture a = Zoo("alexnet");
  const std::vector<LayerInstance> leaves = InferShapes(a, {3, 256, 256});
  // floor((256 + 4 - 10 - 1) / 4) + 1 = floor(249/4) + 1 = 63.
  EXPECT_EQ(leaves[0].output_shape, (Shape{64, 63, 63}));
  // AdaptiveAvgPool2d(6) makes the classifier independent of the input size.
  EXPECT_EQ(leaves.back().output_shape, (Shape{1000}));
  EXPECT_EQ(InferShapes(a)[0].output_shape, (Shape{64, 55, 55}));
}

TEST(ShapeInferenceTest, ChannelMismatch) {
  const Architecture a = Zoo("vgg16");
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(a, {1, 224, 224});
            }),
            "features.0 (Conv2d): expected 3 input channels, got 1 (input 1x224x224)");
  EXPECT_EQ(
      InferError(R"([{"type": "BatchNorm2d", "name": "bn", "num_features": 64}])", "[32, 56, 56]"),
      "bn (BatchNorm2d): expected 64 input channels, got 32 (input 32x56x56)");
}

TEST(ShapeInferenceTest, KernelLargerThanInput) {
  // AlexNet on 3x47x47: conv 11/4/2 -> floor(40/4)+1 = 11; pool 3/2 -> floor(8/2)+1 = 5;
  // conv 5/1/2 -> 5; pool 3/2 -> floor(2/2)+1 = 2; three 3x3 convs, padding 1 -> 2; features.12
  // pools a 2x2 input with a 3x3 kernel.
  const Architecture a = Zoo("alexnet");
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(a, {3, 47, 47});
            }),
            "features.12 (MaxPool2d): kernel 3x3 is larger than the padded input 2x2");
  EXPECT_EQ(OutError(R"({"type": "Conv2d", "in_channels": 1, "out_channels": 1,
                         "kernel_size": [3, 1], "padding": [0, 1]})",
                     {1, 2, 2}),
            "Conv2d: kernel 3x1 is larger than the padded input 2x4");
  // Dilated extent 2·(3-1) + 1 = 5 > 4.
  EXPECT_EQ(OutError(R"({"type": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 3,
                         "dilation": 2})",
                     {1, 4, 4}),
            "Conv2d: dilated kernel 5x5 (kernel 3x3, dilation 2x2) is larger than the padded "
            "input 4x4");
}

TEST(ShapeInferenceTest, LinearMismatch) {
  EXPECT_EQ(InferError(R"([{"type": "Sequential", "name": "classifier", "layers": [
                            {"type": "Linear", "in_features": 9216, "out_features": 4096}]}])",
                       "[4096]"),
            "classifier.0 (Linear): in_features is 9216 but the input has 4096 features");
  // The classic mistake: no Flatten before the classifier.
  EXPECT_EQ(InferError(R"([{"type": "Linear", "name": "fc", "in_features": 25088,
                            "out_features": 10}])",
                       "[512, 7, 7]"),
            "fc (Linear): in_features is 25088 but the input has 7 features (input 512x7x7; "
            "Linear acts on the last dimension)");
}

TEST(ShapeInferenceTest, GroupsMustDivideChannels) {
  EXPECT_EQ(InferError(R"([{"type": "Conv2d", "name": "conv", "in_channels": 6, "out_channels": 8,
                            "kernel_size": 1, "groups": 4}])",
                       "[6, 8, 8]"),
            "conv (Conv2d): in_channels 6 is not divisible by groups 4");
  EXPECT_EQ(InferError(R"([{"type": "Conv2d", "name": "conv", "in_channels": 8, "out_channels": 6,
                            "kernel_size": 1, "groups": 4}])",
                       "[8, 8, 8]"),
            "conv (Conv2d): out_channels 6 is not divisible by groups 4");
}

TEST(ShapeInferenceTest, PoolPaddingAtMostHalfTheKernel) {
  // PyTorch: "pad should be at most half of kernel size"; 2·2 > 3.
  EXPECT_EQ(InferError(R"([{"type": "MaxPool2d", "name": "pool", "kernel_size": 3,
                            "padding": 2}])"),
            "pool (MaxPool2d): padding 2x2 is more than half of kernel 3x3");
  EXPECT_EQ(InferError(R"([{"type": "AvgPool2d", "name": "pool", "kernel_size": [4, 2],
                            "padding": [2, 2]}])"),
            "pool (AvgPool2d): padding 2x2 is more than half of kernel 4x2");
}

TEST(ShapeInferenceTest, RankErrors) {
  EXPECT_EQ(InferError(R"([{"type": "Conv2d", "in_channels": 3, "out_channels": 8,
                            "kernel_size": 3}])",
                       "[4096]"),
            "0 (Conv2d): expected a CxHxW input, got 4096");
  EXPECT_EQ(OutError(R"({"type": "MaxPool2d", "kernel_size": 2})", {2, 3, 4, 5}),
            "MaxPool2d: expected a CxHxW input, got 2x3x4x5");
  EXPECT_EQ(OutError(R"({"type": "AdaptiveAvgPool2d", "output_size": 1})", {8, 8}),
            "AdaptiveAvgPool2d: expected a CxHxW input, got 8x8");
  EXPECT_EQ(OutError(R"({"type": "BatchNorm2d", "num_features": 8})", {8}),
            "BatchNorm2d: expected a CxHxW input, got 8");
}

TEST(ShapeInferenceTest, DimErrors) {
  EXPECT_EQ(OutError(R"({"type": "Softmax", "dim": 2})", {1000}),
            "Softmax: dim 2 is out of range [-2, 1] for the batched input Nx1000");
  EXPECT_EQ(OutError(R"({"type": "Flatten", "start_dim": 4})", {512, 7, 7}),
            "Flatten: start_dim 4 is out of range [-4, 3] for the batched input Nx512x7x7");
  EXPECT_EQ(OutError(R"({"type": "Flatten", "start_dim": 3, "end_dim": 2})", {512, 7, 7}),
            "Flatten: start_dim 3 comes after end_dim 2 for the batched input Nx512x7x7");
  EXPECT_EQ(OutError(R"({"type": "Flatten", "start_dim": 0})", {512, 7, 7}),
            "Flatten: start_dim 0 would fold the batch dimension into the sample (batched input "
            "Nx512x7x7)");
}

TEST(ShapeInferenceTest, ArgumentErrorsOfProgrammaticLayers) {
  EXPECT_EQ(RuntimeErrorOf([] {
              InferOutputShape({"c", "Conv2d", {{"in_channels", 3}, {"kernel_size", -1}}, {3}, {}});
            }),
            "c (Conv2d): missing argument 'out_channels' for Conv2d");
  EXPECT_EQ(RuntimeErrorOf([] {
              InferOutputShape({"m", "MaxPool2d", {{"kernel_size", -1}}, {3}, {}});
            }),
            "m (MaxPool2d): kernel_size: expected a positive integer or [h, w], got -1");
  EXPECT_EQ(RuntimeErrorOf([] {
              InferOutputShape({"x", "Conv3d", json::object(), {3}, {}});
            }),
            "x (Conv3d): unknown layer type 'Conv3d'");
}

TEST(ShapeInferenceTest, OverflowGuards) {
  // 2 · 2^53 = 2^54 elements.
  EXPECT_EQ(InferError(R"([{"type": "Linear", "name": "fc", "in_features": 1,
                            "out_features": 9007199254740992}])",
                       "[2, 1]"),
            "fc (Linear): output 2x9007199254740992 has more than 2^53 elements");
  // 2^42 channels · 64 · 64 = 2^42 · 2^12 = 2^54 elements.
  EXPECT_EQ(InferError(R"([{"type": "Conv2d", "name": "c", "in_channels": 1,
                            "out_channels": 4398046511104, "kernel_size": 1}])",
                       "[1, 64, 64]"),
            "c (Conv2d): output 4398046511104x64x64 has more than 2^53 elements");
  // A single dimension above 2^53: padding 2^53 on a 1x1 input gives 1 + 2^54 rows and columns,
  // a value that only the 128-bit intermediate arithmetic holds exactly when squared.
  EXPECT_EQ(InferError(R"([{"type": "Conv2d", "name": "c", "in_channels": 1, "out_channels": 1,
                            "kernel_size": 1, "padding": 9007199254740992}])",
                       "[1, 1, 1]"),
            "c (Conv2d): output 1x18014398509481985x18014398509481985 has more than 2^53 "
            "elements");
  // Exactly 2^53 elements is allowed: Linear(1, 2^53) on {1}.
  EXPECT_EQ(Out(R"({"type": "Linear", "in_features": 1, "out_features": 9007199254740992})", {1}),
            (Shape{9007199254740992}));
  // An explicit input shape is checked too: 2^30 · 2^30 = 2^60.
  const Architecture a = Arch(R"([{"type": "ReLU"}])");
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(a, {1073741824, 1073741824});
            }),
            "t: input shape 1073741824x1073741824 has more than 2^53 elements");
  // 2^40 three times would overflow 64 bits; the check stops before.
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(a, {1099511627776, 1099511627776, 1099511627776});
            }),
            "t: input shape 1099511627776x1099511627776x1099511627776 has more than 2^53 elements");
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(a, {3, 0});
            }),
            "t: input shape 3x0 has a non-positive size");
  EXPECT_EQ(RuntimeErrorOf([&] { InferShapes(a, {}); }), "t: input shape is empty");
  EXPECT_EQ(OutError(R"({"type": "ReLU"})", {-1}), "ReLU: input shape -1 has a non-positive size");
}

// (name, type, input, output, call) of every operation.
using Op = std::tuple<std::string, std::string, Shape, Shape, CallKind>;
std::vector<Op> Ops(const Architecture& arch) {
  std::vector<Op> out;
  for (const LayerInstance& l : InferOperations(arch)) {
    out.emplace_back(l.name, l.type, l.input_shape, l.output_shape, l.call);
  }
  return out;
}

TEST(ShapeInferenceTest, ResidualBlockWithRepeatAndDownsample) {
  // torchvision's BasicBlock(4 -> 8, stride 2) by hand: 8x8 input, 3x3 conv stride 2 pad 1 gives
  // floor((8 + 2 - 2 - 1) / 2) + 1 = 4; the 1x1 stride-2 shortcut gives floor((8 - 1) / 2) + 1 = 4.
  Architecture a = Arch(R"([{"type": "Sequential", "name": "b", "layers": [
      {"type": "Residual", "functional": true,
       "body": [{"type": "Conv2d", "name": "conv1", "in_channels": 4, "out_channels": 8,
                 "kernel_size": 3, "stride": 2, "padding": 1},
                {"type": "ReLU", "name": "relu", "inplace": true},
                {"type": "Conv2d", "name": "conv2", "in_channels": 8, "out_channels": 8,
                 "kernel_size": 3, "padding": 1}],
       "shortcut": [{"type": "Conv2d", "name": "down", "in_channels": 4, "out_channels": 8,
                     "kernel_size": 1, "stride": 2}]},
      {"type": "ReLU", "name": "relu", "repeat": true}]},
      {"type": "Flatten", "functional": true}])",
                        "[4, 8, 8]");
  const auto M = CallKind::kModule, R = CallKind::kRepeat, F = CallKind::kFunctional;
  EXPECT_EQ(Ops(a), (std::vector<Op>{{"b.conv1", "Conv2d", {4, 8, 8}, {8, 4, 4}, M},
                                     {"b.relu", "ReLU", {8, 4, 4}, {8, 4, 4}, M},
                                     {"b.conv2", "Conv2d", {8, 4, 4}, {8, 4, 4}, M},
                                     {"b.down", "Conv2d", {4, 8, 8}, {8, 4, 4}, M},
                                     {"b.add", "Add", {8, 4, 4}, {8, 4, 4}, F},
                                     {"b.relu", "ReLU", {8, 4, 4}, {8, 4, 4}, R},
                                     {"flatten", "Flatten", {8, 4, 4}, {128}, F}}));
  std::vector<std::string> leaves;
  for (const LayerInstance& l : InferShapes(a)) leaves.push_back(l.name);
  EXPECT_EQ(leaves, (std::vector<std::string>{"b.conv1", "b.relu", "b.conv2", "b.down"}));
}

TEST(ShapeInferenceTest, IdentityShortcutAndMismatch) {
  Architecture ok = Arch(R"([{"type": "Residual", "name": "r", "body": [{"type": "Tanh"}]}])");
  EXPECT_EQ(Ops(ok),
            (std::vector<Op>{{"r.0", "Tanh", {3, 32, 32}, {3, 32, 32}, CallKind::kModule},
                             {"r.add", "Add", {3, 32, 32}, {3, 32, 32}, CallKind::kFunctional}}));
  Architecture bad = Arch(R"([{"type": "Residual", "name": "r",
      "body": [{"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3,
                "stride": 2, "padding": 1}]}])");
  EXPECT_EQ(RuntimeErrorOf([&] { InferShapes(bad); }),
            "r (Residual): body output 8x16x16 does not match shortcut output 3x32x32");
}

TEST(ShapeInferenceTest, ConcatBranchesAndSplit) {
  // SqueezeNet's Fire(96, 16, 64, 64) on 96x54x54: squeeze to 16, expand to 64 + 64 channels.
  Architecture fire = Arch(R"([{"type": "Sequential", "name": "fire", "layers": [
      {"type": "Conv2d", "name": "squeeze", "in_channels": 96, "out_channels": 16, "kernel_size": 1},
      {"type": "Concat", "functional": true, "branches": [
        [{"type": "Conv2d", "name": "expand1x1", "in_channels": 16, "out_channels": 64,
          "kernel_size": 1}],
        [{"type": "Conv2d", "name": "expand3x3", "in_channels": 16, "out_channels": 64,
          "kernel_size": 3, "padding": 1}]]}]}])",
                           "[96, 54, 54]");
  const auto ops = Ops(fire);
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[3], (Op{"fire.cat", "Cat", {128, 54, 54}, {128, 54, 54}, CallKind::kFunctional}));
  // ShuffleNetV2's stride-1 unit: half the 116 channels pass, half go through the branch.
  Architecture unit = Arch(R"([{"type": "Concat", "name": "u", "split": true, "branches": [[],
      [{"type": "Conv2d", "name": "branch2", "in_channels": 58, "out_channels": 58,
        "kernel_size": 3, "padding": 1, "groups": 58}]]},
      {"type": "ChannelShuffle", "groups": 2, "functional": true}])",
                           "[116, 28, 28]");
  EXPECT_EQ(Ops(unit),
            (std::vector<Op>{{"u.branch2", "Conv2d", {58, 28, 28}, {58, 28, 28}, CallKind::kModule},
                             {"u.cat", "Cat", {116, 28, 28}, {116, 28, 28}, CallKind::kFunctional},
                             {"channelshuffle",
                              "ChannelShuffle",
                              {116, 28, 28},
                              {116, 28, 28},
                              CallKind::kFunctional}}));
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(Arch(R"([{"type": "Concat", "name": "u", "split": true,
                                                 "branches": [[], [], []]}])",
                               "[58, 4, 4]"));
            }),
            "u (Concat): split: 58 input channels do not divide into 3 branches (input 58x4x4)");
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(Arch(R"([{"type": "Concat", "name": "c", "branches": [[],
      [{"type": "MaxPool2d", "kernel_size": 2}]]}])"));
            }),
            "c (Concat): branch 1 output 3x16x16 does not match branch 0 output 3x32x32 outside "
            "the channels");
  EXPECT_EQ(RuntimeErrorOf([&] {
              InferShapes(Arch(R"([{"type": "ChannelShuffle", "name": "s",
                                                 "groups": 2}])"));
            }),
            "s (ChannelShuffle): 3 channels are not divisible by groups 2 (input 3x32x32)");
}

}  // namespace
}  // namespace joulecast
