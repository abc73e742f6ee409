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

#include "joulecast/arch/shape_inference.h"

namespace joulecast {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

const std::vector<std::string> kTorchvisionNets = {"alexnet", "vgg11", "vgg13", "vgg16", "vgg19"};

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
  EXPECT_EQ(ErrorOf([] { FindZooFile("resnet7"); }),
            "unknown architecture 'resnet7'; available: " + available);
  EXPECT_NE(available.find("alexnet, vgg11, vgg13, vgg16, vgg19"), std::string::npos);
  // A path is not a name: lookups match directory listings, never open name-derived paths.
  EXPECT_EQ(ErrorOf([] { FindZooFile("../architectures/vgg16"); }).rfind("unknown architecture", 0),
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
  for (const std::string& name : ZooNames()) {
    SCOPED_TRACE(name);
    const Architecture a = LoadZooArchitecture(name);
    EXPECT_EQ(a.name, name);
    EXPECT_NO_THROW(InferShapes(a));
  }
}

// tests/data/zoo_shapes.json holds torchvision's per-leaf output shapes, written by
// tools/check_zoo.py; joulecast's names, types and inferred shapes must match them exactly.
TEST(ZooTest, MatchesTorchvisionShapes) {
  std::ifstream in(std::string(JOULECAST_SOURCE_DIR) + "/tests/data/zoo_shapes.json");
  ASSERT_TRUE(in) << "missing tests/data/zoo_shapes.json (run tools/check_zoo.py)";
  const json fixture = json::parse(in);
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
    }
  }
}

}  // namespace
}  // namespace joulecast
