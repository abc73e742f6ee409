#include "joulecast/arch/zoo.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/frontends/load_graph.h"

namespace joulecast {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using joulecast_test::RuntimeErrorOf;

// Every module-tree zoo file, each built from torchvision 0.14 (tools/make_zoo.py,
// tools/check_zoo.py); the other zoo files are graph JSON (tools/make_zoo_graphs.py).
const std::vector<std::string> kTorchvisionNets = {
    "alexnet",  "densenet121", "mobilenet_v2",       "resnet101",     "resnet152", "resnet18",
    "resnet34", "resnet50",    "shufflenet_v2_x1_0", "squeezenet1_0", "vgg11",     "vgg13",
    "vgg16",    "vgg19"};

json LoadFixture() {
  std::ifstream in(std::string(JOULECAST_SOURCE_DIR) + "/tests/data/zoo_shapes.json");
  if (!in) throw std::runtime_error("missing tests/data/zoo_shapes.json (run tools/check_zoo.py)");
  return json::parse(in);
}

std::size_t CountCalls(const std::vector<LayerInstance>& ops, CallKind call) {
  return static_cast<std::size_t>(std::count_if(
      ops.begin(), ops.end(), [&](const LayerInstance& op) { return op.call == call; }));
}

std::size_t CountType(const std::vector<LayerInstance>& ops, const std::string& type) {
  return static_cast<std::size_t>(std::count_if(
      ops.begin(), ops.end(), [&](const LayerInstance& op) { return op.type == type; }));
}

const LayerInstance& Find(const std::vector<LayerInstance>& ops, const std::string& name) {
  const auto it = std::find_if(ops.begin(), ops.end(),
                               [&](const LayerInstance& op) { return op.name == name; });
  if (it == ops.end()) throw std::runtime_error("no operation named " + name);
  return *it;
}

// Sets or unsets JOULECAST_DATA_DIR for the lifetime of the object.
class ScopedDataDir {
 public:
  explicit ScopedDataDir(const std::string& value) {
    if (const char* old = getenv("JOULECAST_DATA_DIR")) old_ = old;
    setenv("JOULECAST_DATA_DIR", value.c_str(), 1);
  }
  ~ScopedDataDir() {
    if (old_.empty()) {
      unsetenv("JOULECAST_DATA_DIR");
    } else {
      setenv("JOULECAST_DATA_DIR", old_.c_str(), 1);
    }
  }

 private:
  std::string old_;
};

TEST(ZooTest, ListsTheShippedNetworks) {
  const std::vector<std::string> names = ZooNames();
  for (const std::string& net : kTorchvisionNets) {
    EXPECT_NE(std::find(names.begin(), names.end(), net), names.end()) << net;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(ZooTest, FindsNamesCaseInsensitively) {
  const std::string path = FindZooFile("VGG16");
  EXPECT_EQ(fs::path(path).filename(), "vgg16.json");
  EXPECT_EQ(FindZooFile("vgg16"), path);
  EXPECT_EQ(LoadZooArchitecture("AlexNet").name, "alexnet");
}

TEST(ZooTest, UnknownNameListsTheAvailableOnes) {
  std::string available;
  for (const std::string& n : ZooNames()) available += (available.empty() ? "" : ", ") + n;
  EXPECT_EQ(RuntimeErrorOf([] { FindZooFile("resnet7"); }),
            "unknown architecture 'resnet7'; available: " + available);
  // The module-tree files among the graph JSON files of tools/make_zoo_graphs.py.
  for (const std::string& net : kTorchvisionNets) {
    EXPECT_NE((", " + available + ", ").find(", " + net + ", "), std::string::npos) << net;
  }
  // A path is not a name: lookups match directory listings, never open name-derived paths.
  EXPECT_EQ(RuntimeErrorOf([] {
              FindZooFile("../architectures/vgg16");
            }).rfind("unknown architecture", 0),
            0u);
}

TEST(ZooTest, DataDirComesFirst) {
  const fs::path dir =
      fs::temp_directory_path() / ("joulecast_zoo_test_" + std::to_string(getpid()));
  fs::create_directories(dir / "architectures");
  std::ofstream(dir / "architectures" / "Tiny.json")
      << R"({"name": "tiny", "input": [4], "layers": [{"type": "ReLU"}]})";
  std::ofstream(dir / "architectures" / "vgg16.json")
      << R"({"name": "my-vgg16", "input": [4], "layers": [{"type": "ReLU"}]})";
  {
    ScopedDataDir env(dir.string());
    EXPECT_EQ(ZooDirectories().front(), (dir / "architectures").string());
    EXPECT_EQ(LoadZooArchitecture("tiny").name, "tiny");
    EXPECT_EQ(LoadZooArchitecture("VGG16").name, "my-vgg16");  // overrides the shipped one
    const std::vector<std::string> names = ZooNames();
    EXPECT_NE(std::find(names.begin(), names.end(), "tiny"), names.end());
    EXPECT_EQ(std::count(names.begin(), names.end(), "vgg16"), 1);
  }
  EXPECT_EQ(LoadZooArchitecture("vgg16").name, "vgg16");
  fs::remove_all(dir);
}

TEST(ZooTest, LeafCounts) {
  // VGG16: features 13 Conv2d + 13 ReLU + 5 MaxPool2d = 31, avgpool, classifier 7 = 39.
  const std::vector<LayerInstance> vgg16 = InferShapes(LoadZooArchitecture("vgg16"));
  ASSERT_EQ(vgg16.size(), 39u);
  EXPECT_EQ(vgg16[31].name, "avgpool");
  EXPECT_EQ(vgg16[31].output_shape, (Shape{512, 7, 7}));
  EXPECT_EQ(vgg16[32].name, "classifier.0");
  EXPECT_EQ(vgg16[32].input_shape, (Shape{25088}));  // flattened by the functional Flatten
  EXPECT_EQ(vgg16[1].params, json::parse(R"({"inplace": true})"));
  // AlexNet: features 5 Conv2d + 5 ReLU + 3 MaxPool2d = 13, avgpool, classifier 7 = 21.
  EXPECT_EQ(InferShapes(LoadZooArchitecture("alexnet")).size(), 21u);
  EXPECT_EQ(InferShapes(LoadZooArchitecture("vgg11")).size(), 29u);
  EXPECT_EQ(InferShapes(LoadZooArchitecture("vgg13")).size(), 33u);
  EXPECT_EQ(InferShapes(LoadZooArchitecture("vgg19")).size(), 45u);
}

TEST(ZooTest, EveryZooFileParsesAndItsNameIsItsFileName) {
  std::size_t tree_files = 0;
  for (const std::string& name : ZooNames()) {
    SCOPED_TRACE(name);
    if (IsGraphZooFile(FindZooFile(name))) {  // tools/make_zoo_graphs.py: checked by tests/graph/zoo_graph_test
      EXPECT_EQ(LoadGraph(name, {}).name, name);
      continue;
    }
    ++tree_files;
    const Architecture a = LoadZooArchitecture(name);
    EXPECT_EQ(a.name, name);
    EXPECT_NO_THROW(InferShapes(a));
  }
  EXPECT_EQ(tree_files, kTorchvisionNets.size());
}

TEST(ZooTest, LeafCountsOfTheBranchingNetworks) {
  // Stem conv1, bn1, relu, maxpool (4) + avgpool, fc (2) + blocks + 2 per downsample (one per
  // stage but layer1 of BasicBlock nets: 3; all four stages of Bottleneck nets: 4). BasicBlock:
  // conv1, bn1, relu, conv2, bn2 (5); Bottleneck adds conv3, bn3 (7).
  EXPECT_EQ(InferShapes(LoadZooArchitecture("resnet18")).size(), 6u + 8 * 5 + 3 * 2);
  EXPECT_EQ(InferShapes(LoadZooArchitecture("resnet34")).size(), 6u + 16 * 5 + 3 * 2);
  EXPECT_EQ(InferShapes(LoadZooArchitecture("resnet50")).size(), 6u + 16 * 7 + 4 * 2);
  EXPECT_EQ(InferShapes(LoadZooArchitecture("resnet101")).size(), 6u + 33 * 7 + 4 * 2);
  EXPECT_EQ(InferShapes(LoadZooArchitecture("resnet152")).size(), 6u + 50 * 7 + 4 * 2);
  // features.0 and .18 (3 each), features.1 without expansion (dw 3 + conv, bn), 16 more
  // inverted residuals (pw 3 + dw 3 + conv, bn), classifier Dropout, Linear.
  EXPECT_EQ(InferShapes(LoadZooArchitecture("mobilenet_v2")).size(), 6u + 5 + 16 * 8 + 2);
  // conv1 and conv5 (3 each), maxpool, fc; 3 stride-2 blocks (branch1 5 + branch2 8) and 13
  // stride-1 blocks (branch2 8; their empty branch1 Sequentials are no layers).
  EXPECT_EQ(InferShapes(LoadZooArchitecture("shufflenet_v2_x1_0")).size(), 8u + 3 * 13 + 13 * 8);
  // features: conv, relu, 3 maxpools, 8 Fires of 6; classifier: Dropout, conv, relu, avgpool.
  EXPECT_EQ(InferShapes(LoadZooArchitecture("squeezenet1_0")).size(), 5u + 8 * 6 + 4);
  // conv0, norm0, relu0, pool0; 6 + 12 + 24 + 16 dense layers of 6; 3 transitions of 4; norm5;
  // classifier.
  EXPECT_EQ(InferShapes(LoadZooArchitecture("densenet121")).size(), 4u + 58 * 6 + 3 * 4 + 2);
}

TEST(ZooTest, ImplicitOperationsOfTheBranchingNetworks) {
  {
    // One Add and one repeated relu per BasicBlock, relu called again inside each Bottleneck.
    const std::vector<LayerInstance> r18 = InferOperations(LoadZooArchitecture("resnet18"));
    EXPECT_EQ(CountType(r18, "Add"), 8u);
    EXPECT_EQ(CountCalls(r18, CallKind::kRepeat), 8u);
    const LayerInstance& add = Find(r18, "layer2.0.add");
    EXPECT_EQ(add.call, CallKind::kFunctional);
    EXPECT_EQ(add.output_shape, (Shape{128, 28, 28}));
    EXPECT_EQ(Find(r18, "layer2.0.downsample.0").output_shape, (Shape{128, 28, 28}));
    const std::vector<LayerInstance> r50 = InferOperations(LoadZooArchitecture("resnet50"));
    EXPECT_EQ(CountType(r50, "Add"), 16u);
    EXPECT_EQ(CountCalls(r50, CallKind::kRepeat), 32u);
    EXPECT_EQ(Find(r50, "layer4.2.add").output_shape, (Shape{2048, 7, 7}));
  }
  {
    // Inverted residuals with stride 1 and equal channels add their input: 0+1+2+3+2+2+0.
    const std::vector<LayerInstance> ops = InferOperations(LoadZooArchitecture("mobilenet_v2"));
    EXPECT_EQ(CountType(ops, "Add"), 10u);
    EXPECT_EQ(Find(ops, "features.3.add").output_shape, (Shape{24, 56, 56}));
    EXPECT_THROW(Find(ops, "features.2.add"), std::runtime_error);  // stride 2: no shortcut
  }
  {
    // Every block concatenates and shuffles; stride-1 blocks split the input in halves.
    const std::vector<LayerInstance> ops =
        InferOperations(LoadZooArchitecture("shufflenet_v2_x1_0"));
    EXPECT_EQ(CountType(ops, "Cat"), 16u);
    EXPECT_EQ(CountType(ops, "ChannelShuffle"), 16u);
    EXPECT_EQ(Find(ops, "stage2.0.cat").output_shape, (Shape{116, 28, 28}));
    EXPECT_EQ(Find(ops, "stage2.1.branch2.0").input_shape, (Shape{58, 28, 28}));
    const LayerInstance& shuffle = Find(ops, "stage2.1.channelshuffle");
    EXPECT_EQ(shuffle.call, CallKind::kFunctional);
    EXPECT_EQ(shuffle.params, json::parse(R"({"groups": 2})"));
    EXPECT_EQ(shuffle.output_shape, (Shape{116, 28, 28}));
  }
  {
    const std::vector<LayerInstance> ops = InferOperations(LoadZooArchitecture("squeezenet1_0"));
    EXPECT_EQ(CountType(ops, "Cat"), 8u);
    EXPECT_EQ(Find(ops, "features.3.cat").output_shape, (Shape{128, 54, 54}));
  }
  {
    // Each dense layer appends growth rate 32 channels to its input.
    const std::vector<LayerInstance> ops = InferOperations(LoadZooArchitecture("densenet121"));
    EXPECT_EQ(CountType(ops, "Cat"), 58u);
    EXPECT_EQ(Find(ops, "features.denseblock1.denselayer1.cat").output_shape, (Shape{96, 56, 56}));
    EXPECT_EQ(Find(ops, "features.denseblock4.denselayer16.cat").output_shape, (Shape{1024, 7, 7}));
    // forward()'s F.relu after the features, before the functional pooling and flatten.
    const LayerInstance& relu = ops[ops.size() - 4];
    EXPECT_EQ(relu.name, "relu");
    EXPECT_EQ(relu.call, CallKind::kFunctional);
    EXPECT_EQ(relu.output_shape, (Shape{1024, 7, 7}));
  }
}

// tests/data/zoo_shapes.json holds torchvision's leaves in the order of their first call with the
// per-sample output and input shapes of that call, written by tools/check_zoo.py; joulecast's
// names, types and inferred shapes must match them exactly.
TEST(ZooTest, MatchesTorchvisionShapes) {
  const json fixture = LoadFixture();
  const json& networks = fixture.at("networks");
  for (const std::string& net : kTorchvisionNets) EXPECT_TRUE(networks.contains(net)) << net;
  for (const auto& [name, expected] : networks.items()) {
    SCOPED_TRACE(name);
    const Architecture a = LoadZooArchitecture(name);
    EXPECT_EQ(a.input, expected.at("input").get<Shape>());
    const std::vector<LayerInstance> leaves = InferShapes(a, expected.at("input").get<Shape>());
    const json& want = expected.at("leaves");
    ASSERT_EQ(leaves.size(), want.size());
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      SCOPED_TRACE(leaves[i].name);
      EXPECT_EQ(leaves[i].name, want[i][0].get<std::string>());
      EXPECT_EQ(leaves[i].type, want[i][1].get<std::string>());
      EXPECT_EQ(leaves[i].output_shape, want[i][2].get<Shape>());
      EXPECT_EQ(leaves[i].input_shape, want[i][3].get<Shape>());
    }
  }
}

// The fixture's "calls" are torchvision's leaf module calls in order (forward hooks), repeats
// included: InferOperations' module calls and repeats must be exactly these, a name being a repeat
// exactly when it was called before, and the last operation must give the network's output shape.
TEST(ZooTest, MatchesTorchvisionCalls) {
  const json fixture = LoadFixture();
  for (const auto& [name, expected] : fixture.at("networks").items()) {
    SCOPED_TRACE(name);
    const std::vector<LayerInstance> ops =
        InferOperations(LoadZooArchitecture(name), expected.at("input").get<Shape>());
    std::vector<std::string> calls;
    std::vector<std::string> seen;
    for (const LayerInstance& op : ops) {
      if (op.call == CallKind::kFunctional) continue;
      const bool called_before = std::find(seen.begin(), seen.end(), op.name) != seen.end();
      EXPECT_EQ(op.call == CallKind::kRepeat, called_before) << op.name;
      if (!called_before) seen.push_back(op.name);
      calls.push_back(op.name);
    }
    EXPECT_EQ(calls, expected.at("calls").get<std::vector<std::string>>());
    ASSERT_FALSE(ops.empty());
    EXPECT_EQ(ops.back().output_shape, expected.at("output").get<Shape>());
  }
}

}  // namespace
}  // namespace joulecast
