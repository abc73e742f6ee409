#include "joulecast/arch/architecture.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "error_of.h"

namespace joulecast {
namespace {

using nlohmann::json;

using joulecast_test::RuntimeErrorOf;

// An architecture whose layer list is `layers` (JSON text).
json LayersJson(const std::string& layers) {
  return json::parse(R"({"name": "t", "input": [3, 32, 32], "layers": )" + layers + "}");
}

std::string ParseError(const std::string& layers) {
  return RuntimeErrorOf([&] { ParseArchitecture(LayersJson(layers), "path"); });
}

TEST(ArchitectureTest, ParsesTopLevelFields) {
  const Architecture a = ParseArchitectureText(
      R"({"name": "tiny", "description": "d", "input": [3, 8, 8],
          "layers": [{"type": "ReLU"}]})",
      "tiny.json");
  EXPECT_EQ(a.name, "tiny");
  EXPECT_EQ(a.description, "d");
  EXPECT_EQ(a.input, (Shape{3, 8, 8}));
  ASSERT_EQ(a.layers.size(), 1u);
  EXPECT_EQ(a.layers[0].type, "ReLU");
  EXPECT_EQ(a.layers[0].name, "0");
  EXPECT_FALSE(a.layers[0].IsContainer());
}

TEST(ArchitectureTest, FillsConv2dDefaultsAndPairs) {
  const Architecture a = ParseArchitecture(
      LayersJson(R"([{"type": "Conv2d", "in_channels": 3, "out_channels": 64, "kernel_size": 3}])"),
      "p");
  EXPECT_EQ(a.layers[0].params, json::parse(R"({"in_channels": 3, "out_channels": 64,
      "kernel_size": [3, 3], "stride": [1, 1], "padding": [0, 0], "dilation": [1, 1],
      "groups": 1, "bias": true})"));
}

TEST(ArchitectureTest, KeepsExplicitPairs) {
  const Architecture a = ParseArchitecture(
      LayersJson(R"([{"type": "Conv2d", "in_channels": 4, "out_channels": 8, "kernel_size": [3, 5],
                "stride": [2, 1], "padding": [0, 2], "dilation": 2, "groups": 4,
                "bias": false}])"),
      "p");
  EXPECT_EQ(a.layers[0].params, json::parse(R"({"in_channels": 4, "out_channels": 8,
      "kernel_size": [3, 5], "stride": [2, 1], "padding": [0, 2], "dilation": [2, 2],
      "groups": 4, "bias": false})"));
}

TEST(ArchitectureTest, FillsDefaultsOfEveryType) {
  // Each type with only its required arguments, and what the parser must turn it into.
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type": "BatchNorm2d", "num_features": 16})",
       R"({"num_features": 16, "eps": 1e-5, "momentum": 0.1, "affine": true,
           "track_running_stats": true})"},
      {R"({"type": "ReLU"})", R"({"inplace": false})"},
      {R"({"type": "ReLU6"})", R"({"inplace": false})"},
      {R"({"type": "Sigmoid"})", "{}"},
      {R"({"type": "Tanh"})", "{}"},
      {R"({"type": "Identity"})", "{}"},
      {R"({"type": "Softmax"})", R"({"dim": null})"},
      {R"({"type": "Softmax", "dim": -1})", R"({"dim": -1})"},
      {R"({"type": "Dropout"})", R"({"p": 0.5, "inplace": false})"},
      {R"({"type": "MaxPool2d", "kernel_size": 3})",
       R"({"kernel_size": [3, 3], "stride": [3, 3], "padding": [0, 0], "dilation": [1, 1],
           "ceil_mode": false})"},
      {R"({"type": "MaxPool2d", "kernel_size": [2, 3], "stride": null})",
       R"({"kernel_size": [2, 3], "stride": [2, 3], "padding": [0, 0], "dilation": [1, 1],
           "ceil_mode": false})"},
      {R"({"type": "AvgPool2d", "kernel_size": 2, "stride": 1})",
       R"({"kernel_size": [2, 2], "stride": [1, 1], "padding": [0, 0], "ceil_mode": false,
           "count_include_pad": true})"},
      {R"({"type": "AdaptiveAvgPool2d", "output_size": 7})", R"({"output_size": [7, 7]})"},
      {R"({"type": "Flatten"})", R"({"start_dim": 1, "end_dim": -1})"},
      {R"({"type": "Linear", "in_features": 10, "out_features": 5})",
       R"({"in_features": 10, "out_features": 5, "bias": true})"},
  };
  for (const auto& [layer, expected] : cases) {
    SCOPED_TRACE(layer);
    const Architecture a = ParseArchitecture(LayersJson(std::string("[") + layer + "]"), "p");
    EXPECT_EQ(a.layers[0].params, json::parse(expected));
  }
}

TEST(ArchitectureTest, KnownTypes) {
  EXPECT_EQ(
      KnownLayerTypes(),
      (std::vector<std::string>{"AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "ChannelShuffle",
                                "Conv2d", "Dropout", "Flatten", "Identity", "Linear", "MaxPool2d",
                                "ReLU", "ReLU6", "Sigmoid", "Softmax", "Tanh"}));
  EXPECT_EQ(KnownContainerTypes(), (std::vector<std::string>{"Concat", "Residual", "Sequential"}));
  EXPECT_TRUE(IsContainerType("Residual"));
  EXPECT_TRUE(IsContainerType("Sequential"));
  EXPECT_FALSE(IsContainerType("Conv2d"));
}

TEST(ArchitectureTest, NormalizeLayerParamsIsIdempotent) {
  const json once = NormalizeLayerParams("MaxPool2d", {{"kernel_size", 3}, {"stride", 2}});
  EXPECT_EQ(once, NormalizeLayerParams("MaxPool2d", once));
  EXPECT_EQ(once["stride"], json::array({2, 2}));
}

TEST(ArchitectureTest, NormalizeLayerParamsErrors) {
  EXPECT_EQ(RuntimeErrorOf([] { NormalizeLayerParams("Conv3d", json::object()); }),
            "unknown layer type 'Conv3d'");
  EXPECT_EQ(RuntimeErrorOf([] {
              NormalizeLayerParams("Linear", {{"in_features", 3}});
            }),
            "missing argument 'out_features' for Linear");
  EXPECT_EQ(RuntimeErrorOf([] {
              NormalizeLayerParams("ReLU", {{"inplace", 1}});
            }),
            "inplace: expected true or false, got 1");
  EXPECT_EQ(RuntimeErrorOf([] { NormalizeLayerParams("ReLU", json::array()); }),
            "expected an object of arguments for ReLU, got []");
}

TEST(ArchitectureTest, NamesNestedLayersLikePyTorch) {
  const Architecture a = ParseArchitecture(LayersJson(R"([
      {"type": "Sequential", "name": "features", "layers": [
        {"type": "ReLU"},
        {"type": "Sequential", "layers": [{"type": "ReLU"}, {"type": "Tanh", "name": "act"}]},
        {"type": "Sigmoid", "name": "features.sig"}
      ]},
      {"type": "Sequential", "layers": [{"type": "ReLU"}]},
      {"type": "Identity"}
    ])"),
                                           "p");
  ASSERT_EQ(a.layers.size(), 3u);
  const LayerSpec& features = a.layers[0];
  EXPECT_EQ(features.name, "features");
  EXPECT_TRUE(features.IsContainer());
  EXPECT_EQ(features.params, json::object());
  ASSERT_EQ(features.layers.size(), 3u);
  EXPECT_EQ(features.layers[0].name, "features.0");
  EXPECT_EQ(features.layers[1].name, "features.1");
  EXPECT_EQ(features.layers[1].layers[0].name, "features.1.0");
  EXPECT_EQ(features.layers[1].layers[1].name, "features.1.act");  // local name
  EXPECT_EQ(features.layers[2].name, "features.sig");              // dotted = full name
  EXPECT_EQ(a.layers[1].name, "1");                                // top-level unnamed: index
  EXPECT_EQ(a.layers[1].layers[0].name, "1.0");
  EXPECT_EQ(a.layers[2].name, "2");
}

TEST(ArchitectureTest, FunctionalLayersTakeNoIndex) {
  const Architecture a = ParseArchitecture(LayersJson(R"([
      {"type": "ReLU"},
      {"type": "Flatten", "functional": true},
      {"type": "Sequential", "name": "head", "layers": [
        {"type": "Flatten", "functional": true}, {"type": "ReLU"}]},
      {"type": "ReLU", "functional": false}
    ])"),
                                           "p");
  EXPECT_EQ(a.layers[0].name, "0");
  EXPECT_TRUE(a.layers[1].functional);
  EXPECT_EQ(a.layers[1].name, "flatten");
  EXPECT_EQ(a.layers[2].layers[0].name, "head.flatten");
  EXPECT_EQ(a.layers[2].layers[1].name, "head.0");
  EXPECT_FALSE(a.layers[3].functional);
  EXPECT_EQ(a.layers[3].name, "2");  // 0: ReLU, 1: head, 2: this ReLU; flatten took no index
}

TEST(ArchitectureTest, RoundTripsThroughJson) {
  const Architecture a = ParseArchitecture(LayersJson(R"([
      {"type": "Sequential", "name": "features", "layers": [
        {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3},
        {"type": "Sequential", "layers": [{"type": "ReLU", "inplace": true}]}]},
      {"type": "Flatten", "functional": true},
      {"type": "Linear", "in_features": 7200, "out_features": 10}
    ])"),
                                           "p");
  const json j = ToJson(a);
  EXPECT_EQ(j["layers"][0]["layers"][1]["layers"][0]["name"], "features.1.0");
  EXPECT_EQ(j["layers"][1]["functional"], true);
  EXPECT_EQ(ToJson(ParseArchitecture(j, "again")), j);
}

TEST(ArchitectureTest, UnknownLayerType) {
  EXPECT_EQ(ParseError(R"([{"type": "ReLU"}, {"type": "ReLU"}, {"type": "ReLU"},
                           {"type": "Conv3d", "name": "features.6"}])"),
            "path: layers[3] (features.6): unknown layer type 'Conv3d'");
  EXPECT_EQ(ParseError(R"([{"type": "Sequential", "name": "features", "layers": [
                             {"type": "ReLU"}, {"type": "Conv3d"}]}])"),
            "path: layers[0].layers[1] (features.1): unknown layer type 'Conv3d'");
  EXPECT_EQ(ParseError(R"([{"type": "Residual", "body": [{"type": "Conv3d"}]}])"),
            "path: layers[0].body[0] (0.0): unknown layer type 'Conv3d'");
}

TEST(ArchitectureTest, BadSizes) {
  const char* conv = R"({"type": "Conv2d", "in_channels": 3, "out_channels": 8, )";
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": -1}])"),
            "path: layers[0].kernel_size: expected a positive integer or [h, w], got -1");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": 0}])"),
            "path: layers[0].kernel_size: expected a positive integer or [h, w], got 0");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": 3.5}])"),
            "path: layers[0].kernel_size: expected a positive integer or [h, w], got 3.5");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": 3.0}])"),
            "path: layers[0].kernel_size: expected a positive integer or [h, w], got 3.0");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": "3"}])"),
            "path: layers[0].kernel_size: expected a positive integer or [h, w], got \"3\"");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": [3]}])"),
            "path: layers[0].kernel_size: expected a positive integer or [h, w], got [3]");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": [3, 0]}])"),
            "path: layers[0].kernel_size: expected a positive integer or [h, w], got [3,0]");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": 3, "padding": -1}])"),
            "path: layers[0].padding: expected a non-negative integer or [h, w], got -1");
  EXPECT_EQ(ParseError(std::string("[") + conv + R"("kernel_size": 3, "groups": 0}])"),
            "path: layers[0].groups: expected a positive integer, got 0");
  EXPECT_EQ(ParseError(R"([{"type": "Conv2d", "in_channels": 3, "out_channels": 9007199254740993,
                            "kernel_size": 1}])"),
            "path: layers[0].out_channels: expected a positive integer, got 9007199254740993 "
            "(sizes above 2^53 are not supported)");
  EXPECT_EQ(ParseError(R"([{"type": "Linear", "in_features": 18446744073709551615,
                            "out_features": 1}])"),
            "path: layers[0].in_features: expected a positive integer, got 18446744073709551615 "
            "(sizes above 2^53 are not supported)");
  EXPECT_EQ(ParseError(R"([{"type": "MaxPool2d", "kernel_size": 2, "stride": 0}])"),
            "path: layers[0].stride: expected a positive integer, [h, w] or null, got 0");
  // Padding 0 is fine, as in PyTorch.
  EXPECT_NO_THROW(ParseArchitecture(
      LayersJson(std::string("[") + conv + R"("kernel_size": 3, "padding": [0, 0]}])"), "p"));
}

TEST(ArchitectureTest, BadFlagsAndNumbers) {
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "inplace": 1}])"),
            "path: layers[0].inplace: expected true or false, got 1");
  EXPECT_EQ(ParseError(R"([{"type": "Dropout", "p": 1.5}])"),
            "path: layers[0].p: expected a number between 0 and 1, got 1.5");
  EXPECT_EQ(ParseError(R"([{"type": "Softmax", "dim": 1.5}])"),
            "path: layers[0].dim: expected an integer or null, got 1.5");
  EXPECT_EQ(ParseError(R"([{"type": "BatchNorm2d", "num_features": 8, "eps": 0}])"),
            "path: layers[0].eps: expected a positive number, got 0");
  EXPECT_EQ(ParseError(R"([{"type": "Flatten", "start_dim": "a"}])"),
            "path: layers[0].start_dim: expected an integer, got \"a\"");
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "functional": "yes"}])"),
            "path: layers[0].functional: expected true or false, got \"yes\"");
}

TEST(ArchitectureTest, MissingAndUnknownArguments) {
  EXPECT_EQ(ParseError(R"([{"type": "Conv2d", "in_channels": 3, "out_channels": 8}])"),
            "path: layers[0] (0): missing argument 'kernel_size' for Conv2d");
  EXPECT_EQ(ParseError(R"([{"type": "Conv2d", "name": "c", "in_channels": 3, "out_channels": 8,
                            "kernel_size": 3, "strid": 2}])"),
            "path: layers[0] (c): unknown argument 'strid' for Conv2d");
  EXPECT_EQ(ParseError(R"([{"name": "x"}])"), "path: layers[0]: missing field 'type'");
  EXPECT_EQ(ParseError(R"([{"type": 3}])"), "path: layers[0].type: expected a string, got 3");
  EXPECT_EQ(ParseError(R"([3])"), "path: layers[0]: expected a layer object, got 3");
}

TEST(ArchitectureTest, ContainerErrors) {
  EXPECT_EQ(ParseError(R"([{"type": "Sequential", "name": "s"}])"),
            "path: layers[0] (s): missing field 'layers' for Sequential");
  EXPECT_EQ(ParseError(R"([{"type": "Sequential", "layers": {}}])"),
            "path: layers[0].layers: expected an array of layers, got {}");
  EXPECT_EQ(ParseError(R"([{"type": "Sequential", "layers": [], "body": []}])"),
            "path: layers[0] (0): unknown field 'body' for Sequential");
  EXPECT_EQ(ParseError(R"([{"type": "Residual", "name": "r", "body": []}])"),
            "path: layers[0].body: expected at least one layer");
  EXPECT_EQ(ParseError(R"([{"type": "Residual", "name": "r", "layers": []}])"),
            "path: layers[0] (r): unknown field 'layers' for Residual");
  EXPECT_EQ(ParseError(R"([{"type": "Residual", "name": "r"}])"),
            "path: layers[0] (r): missing field 'body' for Residual");
  EXPECT_EQ(ParseError(R"([{"type": "Concat", "name": "c", "branches": []}])"),
            "path: layers[0].branches: expected a non-empty array of layer lists, got []");
  EXPECT_EQ(ParseError(R"([{"type": "Concat", "name": "c", "branches": [[], [{"type": "Tanh"}]],
                            "split": 2}])"),
            "path: layers[0].split: expected true or false, got 2");
  EXPECT_EQ(ParseError(R"([{"type": "Concat", "functional": true, "name": "c",
                            "branches": [[]]}])"),
            "path: layers[0].name: a functional Concat has no name of its own (its layers are "
            "named in the enclosing container)");
  EXPECT_EQ(ParseError(R"([{"type": "Sequential", "repeat": true, "name": "s", "layers": []}])"),
            "path: layers[0].repeat: only a leaf layer can be a repeat");
}

TEST(ArchitectureTest, RepeatErrors) {
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "repeat": true}])"),
            "path: layers[0].repeat: a repeat needs the name of the module it calls again");
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": "relu", "repeat": true}])"),
            "path: layers[0] (relu): repeat of 'relu', which is not an earlier module leaf");
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": "relu"},
                           {"type": "Tanh", "name": "relu", "repeat": true}])"),
            "path: layers[1] (relu): repeat of 'relu' says Tanh but the module is a ReLU");
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": "relu"},
                           {"type": "ReLU", "name": "relu", "repeat": true, "inplace": true}])"),
            "path: layers[1] (relu): repeat of 'relu' has arguments {\"inplace\":true} that "
            "differ from the module's {\"inplace\":false}");
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": "relu", "functional": true, "repeat": true}])"),
            "path: layers[0].repeat: a layer cannot be both functional and a repeat");
}

TEST(ArchitectureTest, BlocksNameTheirLayersLikePyTorch) {
  // torchvision's BasicBlock as layer1.0: a functional Residual adds no name level, the relu after
  // the add is a repeat, and the downsample Sequential is numbered inside layer1.0.
  Architecture a = ParseArchitecture(json::parse(R"({"name": "n", "input": [4, 8, 8], "layers": [
      {"type": "Sequential", "name": "layer1", "layers": [
        {"type": "Sequential", "layers": [
          {"type": "Residual", "functional": true,
           "body": [{"type": "Conv2d", "name": "conv1", "in_channels": 4, "out_channels": 8,
                     "kernel_size": 3, "stride": 2, "padding": 1},
                    {"type": "ReLU", "name": "relu", "inplace": true}],
           "shortcut": [{"type": "Sequential", "name": "downsample", "layers": [
                          {"type": "Conv2d", "in_channels": 4, "out_channels": 8,
                           "kernel_size": 1, "stride": 2}]}]},
          {"type": "ReLU", "name": "relu", "repeat": true}]}]},
      {"type": "Concat", "name": "fire", "branches": [[{"type": "Identity"}], [], [{"type": "Tanh"}]]},
      {"type": "Tanh"}]})"),
                                     "path");
  const LayerSpec& block = a.layers[0].layers[0];
  EXPECT_EQ(block.name, "layer1.0");
  const LayerSpec& res = block.layers[0];
  EXPECT_EQ(res.name, "layer1.0");  // its scope's name
  EXPECT_TRUE(res.functional);
  EXPECT_EQ(res.layers[0].name, "layer1.0.conv1");
  EXPECT_EQ(res.shortcut[0].name, "layer1.0.downsample");
  EXPECT_EQ(res.shortcut[0].layers[0].name, "layer1.0.downsample.0");
  EXPECT_EQ(block.layers[1].name, "layer1.0.relu");
  EXPECT_TRUE(block.layers[1].repeat);
  EXPECT_EQ(block.layers[1].params, json::parse(R"({"inplace": true})"));  // the module's
  const LayerSpec& fire = a.layers[1];
  EXPECT_EQ(fire.name, "fire");
  ASSERT_EQ(fire.branches.size(), 3u);
  EXPECT_EQ(fire.branches[0][0].name, "fire.0");
  EXPECT_TRUE(fire.branches[1].empty());
  EXPECT_EQ(fire.branches[2][0].name, "fire.1");  // numbering runs on across branches
  EXPECT_EQ(a.layers[2].name, "2");
  // Round trip.
  EXPECT_EQ(ToJson(ParseArchitecture(ToJson(a), "again")), ToJson(a));
}

TEST(ArchitectureTest, NameErrors) {
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": "a"}, {"type": "ReLU", "name": "a"}])"),
            "path: layers[1] (a): duplicate layer name, also used by layers[0] (a)");
  // An unnamed layer at index 1 collides with an explicit "1".
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": "1"}, {"type": "ReLU"}])"),
            "path: layers[1] (1): duplicate layer name, also used by layers[0] (1)");
  EXPECT_EQ(ParseError(R"([{"type": "Sequential", "name": "features", "layers": [
                             {"type": "ReLU", "name": "classifier.0"}]}])"),
            "path: layers[0].layers[0].name: the dotted (full) name 'classifier.0' does not start "
            "with its container's name 'features.'");
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": "a..b"}])"),
            "path: layers[0].name: malformed name 'a..b'");
  EXPECT_EQ(ParseError(R"([{"type": "ReLU", "name": ""}])"),
            "path: layers[0].name: expected a non-empty string, got \"\"");
}

TEST(ArchitectureTest, TopLevelErrors) {
  const auto error = [](const std::string& text) {
    return RuntimeErrorOf([&] { ParseArchitectureText(text, "path"); });
  };
  EXPECT_EQ(error(R"({"input": [3], "layers": [{"type": "ReLU"}]})"), "path: missing field 'name'");
  EXPECT_EQ(error(R"({"name": "n", "layers": [{"type": "ReLU"}]})"), "path: missing field 'input'");
  EXPECT_EQ(error(R"({"name": "n", "input": [3]})"), "path: missing field 'layers'");
  EXPECT_EQ(error(R"({"name": "n", "input": [3], "layers": []})"),
            "path: layers: expected at least one layer");
  EXPECT_EQ(error(R"({"name": "n", "input": [3, 0], "layers": [{"type": "ReLU"}]})"),
            "path: input: expected a non-empty array of positive integers, got [3,0]");
  EXPECT_EQ(error(R"({"name": "n", "input": [], "layers": [{"type": "ReLU"}]})"),
            "path: input: expected a non-empty array of positive integers, got []");
  // 2^27 · 2^27 = 2^54 elements.
  EXPECT_EQ(
      error(R"({"name": "n", "input": [134217728, 134217728], "layers": [{"type": "ReLU"}]})"),
      "path: input: shape 134217728x134217728 has more than 2^53 elements");
  EXPECT_EQ(error(R"({"name": "n", "input": [3], "layers": [{"type": "ReLU"}], "extra": 1})"),
            "path: unknown top-level field 'extra' (expected name, description, input, layers)");
  EXPECT_EQ(error("[1, 2]"), "path: expected a JSON object with name, input and layers, got [1,2]");
}

TEST(ArchitectureTest, InvalidJson) {
  const std::string text = R"({"name": "n", )";
  std::string nlohmann_message;
  try {
    const json ignored = json::parse(text);
  } catch (const json::parse_error& e) {
    nlohmann_message = e.what();
  }
  ASSERT_FALSE(nlohmann_message.empty());
  EXPECT_EQ(RuntimeErrorOf([&] { ParseArchitectureText(text, "path"); }),
            "path: invalid JSON: " + nlohmann_message);
}

TEST(ArchitectureTest, LoadArchitectureFile) {
  EXPECT_EQ(RuntimeErrorOf([] { LoadArchitectureFile("/nonexistent/x.json"); }),
            "/nonexistent/x.json: cannot open file");
  const Architecture a =
      LoadArchitectureFile(std::string(JOULECAST_SOURCE_DIR) + "/data/architectures/vgg16.json");
  EXPECT_EQ(a.name, "vgg16");
  EXPECT_EQ(a.input, (Shape{3, 224, 224}));
}

}  // namespace
}  // namespace joulecast
