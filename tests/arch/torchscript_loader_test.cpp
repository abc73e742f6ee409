#include "joulecast/arch/torchscript_loader.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/arch/architecture.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

// Tests that read TorchScript need the plugin, which CMake builds only when it finds libtorch;
// tests/CMakeLists.txt then defines JOULECAST_TORCHSCRIPT_PLUGIN_DIR. Without it they are skipped
// (GTEST_SKIP, reported as such); the plugin-free checks always run.

namespace joulecast {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using joulecast_test::RuntimeErrorOf;

const std::string kDataDir = std::string(JOULECAST_TEST_DATA) + "/torchscript";

std::string TsFixture(const std::string& file) { return kDataDir + "/" + file; }

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "joulecast_ts_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& bytes) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// Sets or unsets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) {
      had_ = true;
      old_ = old;
    }
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  bool had_ = false;
  std::string old_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// --- without the plugin ------------------------------------------------------------------------

TEST(TorchScriptLoaderTest, MissingFileIsAOneLineError) {
  EXPECT_EQ(RuntimeErrorOf([] {
              LoadTorchScriptFile("/nonexistent/model.pt", {3, 224, 224});
            }),
            "/nonexistent/model.pt: cannot open file");
}

TEST(TorchScriptLoaderTest, MissingPluginNamesWhatIsNeededAndWhereItWasSought) {
  TempDir a;
  TempDir b;
  const std::string model = a.Write("model.pt", "not read");
  EXPECT_EQ(RuntimeErrorOf([&] {
              LoadTorchScriptFile(model, {3, 8, 8}, {a.path(), b.path()});
            }),
            model +
                ": reading TorchScript needs the joulecast_torchscript plugin (built when libtorch "
                "is found); not found in: " +
                a.path() + ", " + b.path());
}

TEST(TorchScriptLoaderTest, PluginThatCannotBeLoadedIsAOneLineError) {
  TempDir dir;
  const std::string model = dir.Write("model.pt", "not read");
  const std::string plugin = dir.Write(TorchScriptPluginFileName(), "not a shared object");
  const std::string error = RuntimeErrorOf([&] {
    LoadTorchScriptFile(model, {3, 8, 8}, {dir.path()});
  });
  EXPECT_EQ(error.rfind(model + ": cannot load the TorchScript plugin " + plugin + ": ", 0), 0u)
      << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(TorchScriptLoaderTest, SearchesTheEnvironmentThenNextToTheExecutable) {
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  {
    const ScopedEnv env("JOULECAST_PLUGIN_DIR", "/opt/plugins");
    const std::vector<std::string> dirs = TorchScriptPluginDirectories();
    ASSERT_GE(dirs.size(), 3u);
    EXPECT_EQ(dirs[0], "/opt/plugins");
    EXPECT_EQ(dirs[1], exe.parent_path().string());
    EXPECT_EQ(dirs[2], (exe.parent_path().parent_path() / "lib" / "joulecast").string());
  }
  const ScopedEnv env("JOULECAST_PLUGIN_DIR", nullptr);
  const std::vector<std::string> dirs = TorchScriptPluginDirectories();
  ASSERT_GE(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], exe.parent_path().string());
  EXPECT_EQ(TorchScriptPluginFileName(), "libjoulecast_torchscript.so");
}

// The shared libraries an ELF64 file names as DT_NEEDED (what the dynamic loader maps at start).
std::vector<std::string> NeededLibraries(const std::string& path) {
  const std::string elf = ReadBytes(path);
  const auto at = [&](std::size_t offset, std::size_t size) {
    if (offset > elf.size() || size > elf.size() - offset) {
      throw std::runtime_error(path + ": truncated ELF file");
    }
    return elf.data() + offset;
  };
  Elf64_Ehdr header;
  std::memcpy(&header, at(0, sizeof header), sizeof header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64) {
    throw std::runtime_error(path + ": not an ELF64 file");
  }
  std::vector<std::string> needed;
  for (std::size_t i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr dynamic;
    std::memcpy(&dynamic, at(header.e_shoff + i * header.e_shentsize, sizeof dynamic),
                sizeof dynamic);
    if (dynamic.sh_type != SHT_DYNAMIC) continue;
    Elf64_Shdr strings;
    std::memcpy(&strings, at(header.e_shoff + dynamic.sh_link * header.e_shentsize, sizeof strings),
                sizeof strings);
    for (std::size_t j = 0; j < dynamic.sh_size / sizeof(Elf64_Dyn); ++j) {
      Elf64_Dyn entry;
      std::memcpy(&entry, at(dynamic.sh_offset + j * sizeof entry, sizeof entry), sizeof entry);
      if (entry.d_tag == DT_NEEDED) {
        needed.emplace_back(at(strings.sh_offset + entry.d_un.d_val, 1));
      }
    }
  }
  return needed;
}

// The point of the plugin: the prediction path must not load libtorch (~0.4 s of start-up).
TEST(TorchScriptLoaderTest, TheExecutableDoesNotLinkLibtorch) {
  const std::vector<std::string> needed = NeededLibraries(JOULECAST_BINARY);
  ASSERT_FALSE(needed.empty());
  EXPECT_NE(std::find_if(needed.begin(), needed.end(),
                         [](const std::string& lib) { return lib.rfind("libc.so", 0) == 0; }),
            needed.end());
  for (const std::string& lib : needed) {
    EXPECT_EQ(lib.find("torch"), std::string::npos) << lib;
    EXPECT_EQ(lib.rfind("libc10", 0), std::string::npos) << lib;
  }
#ifdef JOULECAST_TORCHSCRIPT_PLUGIN_DIR
  // ... while the plugin does (which shows that the check above can see it).
  const std::vector<std::string> plugin = NeededLibraries(
      std::string(JOULECAST_TORCHSCRIPT_PLUGIN_DIR) + "/" + TorchScriptPluginFileName());
  EXPECT_NE(
      std::find_if(plugin.begin(), plugin.end(),
                   [](const std::string& lib) { return lib.find("torch") != std::string::npos; }),
      plugin.end());
#endif
}

// --- with the plugin ---------------------------------------------------------------------------

#ifdef JOULECAST_TORCHSCRIPT_PLUGIN_DIR
const bool kHavePlugin = true;
const std::vector<std::string> kPluginDirs = {JOULECAST_TORCHSCRIPT_PLUGIN_DIR};
#else
const bool kHavePlugin = false;
const std::vector<std::string> kPluginDirs = {};
#endif

#define REQUIRE_PLUGIN()                                                                        \
  if (!kHavePlugin) {                                                                           \
    GTEST_SKIP() << "the joulecast_torchscript plugin was not built (CMake found no libtorch)"; \
  }

Architecture Load(const std::string& file, const Shape& input) {
  return LoadTorchScriptFile(TsFixture(file), input, kPluginDirs);
}

TEST(TorchScriptLoaderTest, DefaultSearchFindsTheBuiltPlugin) {
  REQUIRE_PLUGIN();
  const ScopedEnv env("JOULECAST_PLUGIN_DIR", nullptr);
  const Architecture arch = LoadTorchScriptFile(TsFixture("small_cnn_traced.pt"), {3, 16, 16});
  EXPECT_EQ(arch.name, "small_cnn_traced");
  EXPECT_EQ(arch.input, (Shape{3, 16, 16}));
  EXPECT_EQ(arch.description,
            "TorchScript small_cnn_traced.pt: torch.nn.modules.container.Sequential");
}

// Runs without the plugin too: the directory from the environment is tried before the others.
TEST(TorchScriptLoaderTest, EnvironmentDirectoryComesFirst) {
  TempDir dir;
  dir.Write(TorchScriptPluginFileName(), "not a shared object");
  const ScopedEnv env("JOULECAST_PLUGIN_DIR", dir.path().c_str());
  const std::string error = RuntimeErrorOf([] {
    LoadTorchScriptFile(TsFixture("small_cnn_traced.pt"), {3, 16, 16});
  });
  EXPECT_NE(error.find(": cannot load the TorchScript plugin " + dir.path() + "/"),
            std::string::npos)
      << error;
}

TEST(TorchScriptLoaderTest, CorruptFilesAreOneLineErrors) {
  REQUIRE_PLUGIN();
  TempDir dir;
  const std::string valid = ReadBytes(TsFixture("small_cnn_traced.pt"));
  ASSERT_GT(valid.size(), 1000u);
  const std::vector<std::string> files = {
      dir.Write("garbage.pt", "this is not a zip archive"),
      dir.Write("truncated.pt", valid.substr(0, valid.size() / 2)),
      dir.Write("arch.pt", R"({"name": "x", "input": [3], "layers": [{"type": "ReLU"}]})"),
      dir.Write("empty.pt", ""),
  };
  for (const std::string& file : files) {
    const std::string error = RuntimeErrorOf([&] {
      LoadTorchScriptFile(file, {3, 16, 16}, kPluginDirs);
    });
    EXPECT_EQ(error.rfind(file + ": cannot read TorchScript: ", 0), 0u) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  EXPECT_EQ(RuntimeErrorOf([&] {
              LoadTorchScriptFile(files[0], {3, 16, 16}, kPluginDirs);
            }),
            files[0] +
                ": cannot read TorchScript: PytorchStreamReader failed reading zip archive: "
                "failed finding central directory");
}

// The tree reader (LoadTorchScriptFile) still refuses x * 2; LoadTorchScriptGraph reads it (below).
TEST(TorchScriptLoaderTest, UnsupportedOperationNamesTheModuleAndTheSourceLine) {
  REQUIRE_PLUGIN();
  const std::string error = RuntimeErrorOf([] { Load("unsupported_mul_scripted.pt", {3, 8, 8}); });
  const std::string prefix = TsFixture("unsupported_mul_scripted.pt") +
                             ": UnsupportedMul: unsupported operation aten::mul in forward() (at ";
  EXPECT_EQ(error.rfind(prefix, 0), 0u) << error;
  EXPECT_NE(error.find("make_torchscript_fixtures.py:"), std::string::npos) << error;
}

TEST(TorchScriptLoaderTest, StructuresTheFormatCannotHoldAreRefused) {
  REQUIRE_PLUGIN();
  const auto error = [](const std::string& file) {
    return RuntimeErrorOf([&] { Load(file, {3, 8, 8}); });
  };
  // Dropping a module's result would silently drop its cost.
  EXPECT_EQ(error("unsupported_unused_result_traced.pt"),
            TsFixture("unsupported_unused_result_traced.pt") +
                ": UnusedResult: the result of a (Conv2d) is never used in forward()");
  EXPECT_EQ(error("unsupported_two_outputs_scripted.pt"),
            TsFixture("unsupported_two_outputs_scripted.pt") +
                ": TwoOutputs: forward() returns a tuple or list of 2; only modules that return "
                "one tensor are supported");
  // conv would be listed (and costed) twice.
  const std::string shared = error("unsupported_shared_after_branch_scripted.pt");
  EXPECT_EQ(shared.rfind(TsFixture("unsupported_shared_after_branch_scripted.pt") +
                             ": SharedAfterBranch: aten::add joins values that both contain conv "
                             "(Conv2d) after they branch, which the format cannot express in "
                             "forward() (at ",
                         0),
            0u)
      << shared;
  // Only a leaf can be a "repeat".
  EXPECT_EQ(error("unsupported_container_called_twice_traced.pt"),
            TsFixture("unsupported_container_called_twice_traced.pt") +
                ": ContainerCalledTwice: block (Sequential) is called again; only leaf modules may "
                "be called more than once in forward()");
}

TEST(TorchScriptLoaderTest, InputShapeIsCheckedLikeAnyArchitecture) {
  REQUIRE_PLUGIN();
  const std::string path = TsFixture("small_cnn_scripted.pt");
  EXPECT_EQ(RuntimeErrorOf([] {
              Load("small_cnn_scripted.pt", {1, 16, 16});
            }),
            path + ": 0 (Conv2d): expected 3 input channels, got 1 (input 1x16x16)");
  EXPECT_EQ(RuntimeErrorOf([] {
              Load("small_cnn_scripted.pt", {3, 0, 16});
            }),
            path + ": input: expected a non-empty array of positive integers, got [3,0,16]");
  EXPECT_EQ(RuntimeErrorOf([] { Load("small_cnn_scripted.pt", {}); }),
            path + ": input: expected a non-empty array of positive integers, got []");
}

// --- fixtures against hand-written architectures and PyTorch's own view -------------------------

void ExpectSameOperations(const Architecture& got, const Architecture& want) {
  const std::vector<LayerInstance> a = InferOperations(got);
  const std::vector<LayerInstance> b = InferOperations(want);
  ASSERT_EQ(a.size(), b.size()) << got.name;
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(got.name + " operation " + std::to_string(i) + " (" + b[i].name + ")");
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].type, b[i].type);
    EXPECT_EQ(a[i].params, b[i].params);
    EXPECT_EQ(a[i].input_shape, b[i].input_shape);
    EXPECT_EQ(a[i].output_shape, b[i].output_shape);
    EXPECT_EQ(a[i].call, b[i].call);
  }
}

// Both TorchScript flavours of `net` against `layers`, operation by operation and as a tree.
void ExpectFixture(const std::string& net, const Shape& input, const std::string& layers) {
  const Architecture want = ParseArchitecture(
      json{{"name", net}, {"input", input}, {"layers", json::parse(layers)}}, net);
  for (const std::string mode : {"scripted", "traced"}) {
    SCOPED_TRACE(net + "_" + mode);
    const Architecture got = Load(net + "_" + mode + ".pt", input);
    EXPECT_EQ(got.name, net + "_" + mode);
    ExpectSameOperations(got, want);
    EXPECT_EQ(ToJson(got)["layers"], ToJson(want)["layers"]);
  }
}

TEST(TorchScriptLoaderTest, SequentialCnn) {
  REQUIRE_PLUGIN();
  ExpectFixture("small_cnn", {3, 16, 16}, R"([
    {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"type": "BatchNorm2d", "num_features": 8},
    {"type": "ReLU", "inplace": true},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Conv2d", "in_channels": 8, "out_channels": 16, "kernel_size": 3, "stride": 2,
     "padding": 1, "bias": false},
    {"type": "BatchNorm2d", "num_features": 16},
    {"type": "ReLU", "inplace": true},
    {"type": "AdaptiveAvgPool2d", "output_size": [2, 2]},
    {"type": "Flatten"},
    {"type": "Dropout", "p": 0.25},
    {"type": "Linear", "in_features": 64, "out_features": 10}])");
}

TEST(TorchScriptLoaderTest, ResidualBlocksWithDownsampleAndRepeatedRelu) {
  REQUIRE_PLUGIN();
  const auto block = [](int cin, int cout, int stride, const std::string& shortcut) {
    return json::parse(R"({"type": "Residual", "functional": true, "body": [
        {"type": "Conv2d", "name": "conv1", "in_channels": )" +
                       std::to_string(cin) + R"(, "out_channels": )" + std::to_string(cout) +
                       R"(, "kernel_size": 3, "stride": )" + std::to_string(stride) +
                       R"(, "padding": 1, "bias": false},
        {"type": "BatchNorm2d", "name": "bn1", "num_features": )" +
                       std::to_string(cout) + R"(},
        {"type": "ReLU", "name": "relu", "inplace": true},
        {"type": "Conv2d", "name": "conv2", "in_channels": )" +
                       std::to_string(cout) + R"(, "out_channels": )" + std::to_string(cout) +
                       R"(, "kernel_size": 3, "padding": 1, "bias": false},
        {"type": "BatchNorm2d", "name": "bn2", "num_features": )" +
                       std::to_string(cout) + R"(}],
      "shortcut": )" + shortcut +
                       "}");
  };
  json layers = json::parse(R"([
    {"type": "Conv2d", "name": "conv", "in_channels": 3, "out_channels": 8, "kernel_size": 3,
     "padding": 1, "bias": false},
    {"type": "BatchNorm2d", "name": "bn", "num_features": 8},
    {"type": "ReLU", "functional": true}])");
  const json relu_again = {{"type", "ReLU"}, {"name", "relu"}, {"repeat", true}};
  layers.push_back(
      {{"type", "Sequential"}, {"name", "layer1"}, {"layers", {block(8, 8, 1, "[]"), relu_again}}});
  layers.push_back({{"type", "Sequential"},
                    {"name", "layer2"},
                    {"layers",
                     {block(8, 16, 2, R"([{"type": "Sequential", "name": "downsample", "layers": [
                          {"type": "Conv2d", "in_channels": 8, "out_channels": 16,
                           "kernel_size": 1, "stride": 2, "bias": false},
                          {"type": "BatchNorm2d", "num_features": 16}]}])"),
                      relu_again}}});
  // x.mean([2, 3]) is a global average pool that drops the spatial dimensions.
  layers.push_back(json::parse(R"({"type": "AdaptiveAvgPool2d", "functional": true,
                                   "output_size": 1})"));
  layers.push_back(json::parse(R"({"type": "Flatten", "functional": true})"));
  layers.push_back(
      json::parse(R"({"type": "Linear", "name": "fc", "in_features": 16, "out_features": 10})"));
  ExpectFixture("small_resnet", {3, 16, 16}, layers.dump());

  const std::vector<LayerInstance> ops =
      InferOperations(Load("small_resnet_traced.pt", {3, 16, 16}));
  const auto find = [&](const std::string& name, CallKind call) {
    return std::count_if(ops.begin(), ops.end(), [&](const LayerInstance& op) {
      return op.name == name && op.call == call;
    });
  };
  EXPECT_EQ(find("layer2.relu", CallKind::kModule), 1);
  EXPECT_EQ(find("layer2.relu", CallKind::kRepeat), 1);
  EXPECT_EQ(find("layer2.add", CallKind::kFunctional), 1);
}

TEST(TorchScriptLoaderTest, ConcatOfFireBlocks) {
  REQUIRE_PLUGIN();
  const std::string fire = R"({"type": "Sequential", "name": "NAME", "layers": [
      {"type": "Conv2d", "name": "squeeze", "in_channels": 16, "out_channels": 4,
       "kernel_size": 1},
      {"type": "ReLU", "name": "squeeze_activation", "inplace": true},
      {"type": "Concat", "functional": true, "branches": [
        [{"type": "Conv2d", "name": "expand1x1", "in_channels": 4, "out_channels": 8,
          "kernel_size": 1},
         {"type": "ReLU", "name": "expand1x1_activation", "inplace": true}],
        [{"type": "Conv2d", "name": "expand3x3", "in_channels": 4, "out_channels": 8,
          "kernel_size": 3, "padding": 1},
         {"type": "ReLU", "name": "expand3x3_activation", "inplace": true}]]}]})";
  const auto named = [&](const std::string& name) {
    return std::string(fire).replace(fire.find("NAME"), 4, name);
  };
  ExpectFixture("fire_net", {3, 33, 33}, R"([
    {"type": "Sequential", "name": "features", "layers": [
      {"type": "Conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": 3, "stride": 2},
      {"type": "ReLU", "inplace": true},
      {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "ceil_mode": true},
      )" + named("3") + ",\n" + named("4") + R"(]},
    {"type": "Sequential", "name": "classifier", "layers": [
      {"type": "Dropout", "p": 0.5},
      {"type": "Conv2d", "in_channels": 16, "out_channels": 10, "kernel_size": 1},
      {"type": "ReLU", "inplace": true},
      {"type": "AdaptiveAvgPool2d", "output_size": [1, 1]}]},
    {"type": "Flatten", "functional": true}])");
}

TEST(TorchScriptLoaderTest, ChunkConcatAndChannelShuffle) {
  REQUIRE_PLUGIN();
  const std::string block = R"({"type": "Sequential", "name": "NAME", "layers": [
      {"type": "Concat", "functional": true, "split": true, "branches": [[],
        [{"type": "Sequential", "name": "branch2", "layers": [
          {"type": "Conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 1,
           "bias": false},
          {"type": "BatchNorm2d", "num_features": 4},
          {"type": "ReLU", "inplace": true},
          {"type": "Conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3,
           "padding": 1, "groups": 4, "bias": false},
          {"type": "BatchNorm2d", "num_features": 4}]}]]},
      {"type": "ChannelShuffle", "functional": true, "groups": 2}]})";
  const auto named = [&](const std::string& name) {
    return std::string(block).replace(block.find("NAME"), 4, name);
  };
  ExpectFixture("shuffle_net", {3, 16, 16},
                R"([
    {"type": "Conv2d", "name": "conv", "in_channels": 3, "out_channels": 8, "kernel_size": 3,
     "stride": 2, "padding": 1},
    {"type": "Sequential", "name": "stage", "layers": [)" +
                    named("0") + ",\n" + named("1") +
                    R"(]},
    {"type": "ChannelShuffle", "name": "shuffle", "groups": 4},
    {"type": "AvgPool2d", "name": "pool", "kernel_size": 2},
    {"type": "Flatten", "functional": true},
    {"type": "Linear", "name": "fc", "in_features": 128, "out_features": 10},
    {"type": "Softmax", "name": "softmax", "dim": 1}])");
}

// tools/make_torchscript_fixtures.py records, with forward hooks on the original nn.Module, each
// module leaf in the order of its first call: name, class, normalised arguments, output shape.
class ExpectedLeavesTest : public testing::TestWithParam<std::string> {};

std::int64_t ParameterCount(const std::vector<LayerInstance>& leaves) {
  std::int64_t total = 0;
  for (const LayerInstance& l : leaves) {
    const json& p = l.params;
    if (l.type == "Conv2d") {
      total += p["out_channels"].get<std::int64_t>() *
                   (p["in_channels"].get<std::int64_t>() / p["groups"].get<std::int64_t>()) *
                   p["kernel_size"][0].get<std::int64_t>() *
                   p["kernel_size"][1].get<std::int64_t>() +
               (p["bias"].get<bool>() ? p["out_channels"].get<std::int64_t>() : 0);
    } else if (l.type == "Linear") {
      total += p["in_features"].get<std::int64_t>() * p["out_features"].get<std::int64_t>() +
               (p["bias"].get<bool>() ? p["out_features"].get<std::int64_t>() : 0);
    } else if (l.type == "BatchNorm2d" && p["affine"].get<bool>()) {
      total += 2 * p["num_features"].get<std::int64_t>();
    }
  }
  return total;
}

TEST_P(ExpectedLeavesTest, LeavesMatchPyTorch) {
  REQUIRE_PLUGIN();
  const std::string file = GetParam();
  const std::string net = file.substr(0, file.rfind('_'));
  const json expected = json::parse(ReadBytes(TsFixture("expected.json"))).at(net);
  const Shape input = expected["input"].get<Shape>();
  const std::vector<LayerInstance> leaves = InferShapes(Load(file, input));
  const json& want = expected["leaves"];
  ASSERT_EQ(leaves.size(), want.size());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    SCOPED_TRACE(file + " leaf " + std::to_string(i) + " (" + want[i]["name"].get<std::string>() +
                 ")");
    EXPECT_EQ(leaves[i].name, want[i]["name"]);
    EXPECT_EQ(leaves[i].type, want[i]["type"]);
    EXPECT_EQ(leaves[i].params, want[i]["params"]);
    EXPECT_EQ(leaves[i].output_shape, want[i]["output_shape"].get<Shape>());
  }
  EXPECT_EQ(ParameterCount(leaves), expected["parameters"].get<std::int64_t>());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ExpectedLeavesTest,
                         testing::Values("small_cnn_scripted.pt", "small_cnn_traced.pt",
                                         "small_resnet_scripted.pt", "small_resnet_traced.pt",
                                         "fire_net_scripted.pt", "fire_net_traced.pt",
                                         "shuffle_net_scripted.pt", "shuffle_net_traced.pt",
                                         "resnet18_traced.pt", "squeezenet1_0_traced.pt",
                                         "mobilenet_v2_scripted.pt"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param.substr(0, info.param.size() - 3);
                         });

// The torchvision files against the zoo's hand-written architectures.
class ZooEquivalenceTest : public testing::TestWithParam<std::string> {};

TEST_P(ZooEquivalenceTest, SameOperationsAsTheZoo) {
  REQUIRE_PLUGIN();
  const std::string file = GetParam();
  const std::string net = file.substr(0, file.rfind('_'));
  const std::vector<std::string> zoo = ZooNames();
  if (std::find(zoo.begin(), zoo.end(), net) == zoo.end()) {
    GTEST_SKIP() << "no zoo architecture '" << net << "' to compare with";
  }
  const Architecture want = LoadZooArchitecture(net);
  ExpectSameOperations(Load(file, want.input), want);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ZooEquivalenceTest,
                         testing::Values("resnet18_traced.pt", "squeezenet1_0_traced.pt",
                                         "mobilenet_v2_scripted.pt"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param.substr(0, info.param.size() - 3);
                         });

// --- operator graphs (LoadTorchScriptGraph) ----------------------------------------------------

graph::Graph LoadFixtureGraph(const std::string& file, const graph::Dims& input) {
  return LoadTorchScriptGraph(TsFixture(file), input, kPluginDirs);
}

graph::NodeCounts Totals(const graph::Graph& g) {
  return graph::TotalCounts(g, graph::CountNodes(g));
}

const json& GraphExpected() {
  static const json expected = json::parse(ReadBytes(TsFixture("graph_expected.json")));
  return expected;
}

TEST(TorchScriptGraphTest, MissingFileAndPluginAreOneLineErrors) {
  EXPECT_EQ(RuntimeErrorOf([] {
              LoadTorchScriptGraph("/nonexistent/model.pt", {1, 3, 224, 224});
            }),
            "/nonexistent/model.pt: cannot open file");
  TempDir a;
  const std::string model = a.Write("model.pt", "not read");
  EXPECT_EQ(RuntimeErrorOf([&] {
              LoadTorchScriptGraph(model, {1, 3, 8, 8}, {a.path()});
            }),
            model +
                ": reading TorchScript needs the joulecast_torchscript plugin (built when libtorch "
                "is found); not found in: " +
                a.path());
}

TEST(TorchScriptGraphTest, ResNet18MatchesTorchvisionAndFvcore) {
  REQUIRE_PLUGIN();
  const graph::Graph g = LoadFixtureGraph("resnet18_traced.pt", {1, 3, 224, 224});
  EXPECT_EQ(g.name, "resnet18_traced");
  EXPECT_EQ(g.ParameterCount(), 11689512.0);  // sum(p.numel()) of torchvision's resnet18
  EXPECT_EQ(Totals(g).matrix_macs, 1814073344.0);  // fvcore's count
  EXPECT_EQ(GraphExpected()["resnet18"]["matrix_macs"].get<double>(), 1814073344.0);
  // Parameters by full path, buffers as buffers, nodes in the scope of their module.
  const graph::ValueId w = g.FindValue("layer1.0.conv1.weight");
  ASSERT_GE(w, 0);
  EXPECT_EQ(g.value(w).role, graph::ValueRole::kParameter);
  EXPECT_EQ(g.value(w).type.dims, (graph::Dims{64, 64, 3, 3}));
  const graph::ValueId mean = g.FindValue("layer1.0.bn1.running_mean");
  ASSERT_GE(mean, 0);
  EXPECT_EQ(g.value(mean).role, graph::ValueRole::kBuffer);
  const graph::NodeId conv = g.FindNode("layer1.0.conv1");
  ASSERT_GE(conv, 0);
  EXPECT_EQ(g.node(conv).op, "conv2d");
  EXPECT_EQ(g.node(conv).scope, "layer1.0.conv1");
  EXPECT_EQ(g.node(conv).inputs[1], w);
  std::map<std::string, int> ops;
  for (const graph::Node& n : g.nodes()) ++ops[n.op];
  EXPECT_EQ(ops["conv2d"], 20);
  EXPECT_EQ(ops["batch_norm"], 20);
  EXPECT_EQ(ops["add"], 8);
  EXPECT_EQ(ops["linear"], 1);
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.value(g.outputs()[0]).type.dims, (graph::Dims{1, 1000}));
}

TEST(TorchScriptGraphTest, BatchScalesTheCounts) {
  REQUIRE_PLUGIN();
  const graph::Graph g4 = LoadFixtureGraph("resnet18_traced.pt", {4, 3, 224, 224});
  EXPECT_EQ(g4.batch(), 4);
  EXPECT_EQ(Totals(g4).matrix_macs, 4 * 1814073344.0);
  // A graph read at one batch re-targets to another.
  for (const std::string file : {"graph_transformer_traced.pt", "graph_transformer_scripted.pt",
                                 "graph_se_block_traced.pt"}) {
    SCOPED_TRACE(file);
    const bool transformer = file.find("transformer") != std::string::npos;
    const graph::Dims one = transformer ? graph::Dims{1, 5, 16} : graph::Dims{1, 3, 8, 8};
    graph::Dims three = one;
    three[0] = 3;
    graph::Graph g = LoadFixtureGraph(file, one);
    const double macs1 = Totals(g).matrix_macs;
    g.SetBatch(3);
    graph::InferShapes(g);
    EXPECT_EQ(Totals(g).matrix_macs, 3 * macs1);
    const graph::Graph direct = LoadFixtureGraph(file, three);
    EXPECT_EQ(Totals(direct).matrix_macs, 3 * macs1);
    ASSERT_EQ(direct.nodes().size(), g.nodes().size());
    for (std::size_t n = 0; n < g.nodes().size(); ++n) {
      EXPECT_EQ(direct.nodes()[n].attrs, g.nodes()[n].attrs) << g.nodes()[n].name;
    }
  }
  // ViT's x.reshape(n, hidden_dim, n_h * n_w) stores the batch entry as a multiple of the batch.
  // (The slow path of nn.TransformerEncoderLayer, whose q.view(L, B * heads, d) did so too, is now
  // one fused node: graph/fuse.h.)
  const graph::Graph t = LoadTorchScriptGraph(
      std::string(JOULECAST_TEST_DATA) + "/zoo_pt/vit_b_16.pt", {2, 3, 224, 224}, kPluginDirs);
  int scaled = 0;
  for (const graph::Node& n : t.nodes()) {
    if (n.op != "reshape") continue;
    const graph::SymInts& shape = n.attrs.Sym("shape");
    if (shape.batch_index >= 0) ++scaled;
    if (shape.values == std::vector<std::int64_t>{1, 768, 196}) EXPECT_EQ(shape.batch_index, 0);
  }
  EXPECT_GE(scaled, 1);
}

class GraphFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GraphFixtureTest, ParametersAndMatrixMacsMatchPyTorch) {
  REQUIRE_PLUGIN();
  const std::string file = GetParam();
  const std::string stem = file.substr(0, file.rfind('_'));
  const json& e = GraphExpected().at(stem);
  const graph::Graph g = LoadFixtureGraph(file, e["input"].get<graph::Dims>());
  EXPECT_EQ(g.ParameterCount(), e["parameters"].get<double>());
  EXPECT_EQ(Totals(g).matrix_macs, e["matrix_macs"].get<double>());
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.value(g.outputs()[0]).type.dims, e["output"].get<graph::Dims>());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GraphFixtureTest,
                         ::testing::Values("graph_se_block_traced.pt", "graph_se_block_scripted.pt",
                                           "graph_convnext_block_traced.pt",
                                           "graph_convnext_block_scripted.pt",
                                           "graph_transformer_traced.pt",
                                           "graph_transformer_scripted.pt"));

TEST(TorchScriptGraphTest, ElementwiseProductsAndLayerNormOverPermutedTensors) {
  REQUIRE_PLUGIN();
  // conv(x) * 2: what the tree reader refuses.
  const graph::Graph mul = LoadFixtureGraph("unsupported_mul_scripted.pt", {1, 3, 8, 8});
  ASSERT_EQ(mul.nodes().size(), 2u);
  EXPECT_EQ(mul.nodes()[0].op, "conv2d");
  EXPECT_EQ(mul.nodes()[1].op, "mul");
  EXPECT_EQ(mul.nodes()[1].attrs.Float("scalar"), 2.0);
  EXPECT_EQ(mul.nodes()[1].inputs.size(), 1u);
  // Squeeze-excitation: x * s of two tensors, broadcast.
  const graph::Graph se = LoadFixtureGraph("graph_se_block_traced.pt", {1, 3, 8, 8});
  const graph::Node& product = se.nodes().back();
  EXPECT_EQ(product.op, "mul");
  ASSERT_EQ(product.inputs.size(), 2u);
  EXPECT_EQ(se.value(product.inputs[1]).type.dims, (graph::Dims{1, 8, 1, 1}));
  EXPECT_EQ(se.node(se.FindNode("fc2")).scope, "fc2");
  // ConvNeXt: LayerNorm on the channels-last permutation, GELU, layer scale.
  for (const std::string file :
       {"graph_convnext_block_traced.pt", "graph_convnext_block_scripted.pt"}) {
    SCOPED_TRACE(file);
    const graph::Graph g = LoadFixtureGraph(file, {2, 8, 8, 8});
    std::vector<std::string> ops;
    for (const graph::Node& n : g.nodes()) ops.push_back(n.op);
    EXPECT_EQ(ops, (std::vector<std::string>{"conv2d", "permute", "layer_norm", "linear", "gelu",
                                             "linear", "mul", "permute", "add"}));
    const graph::Node& ln = g.node(g.FindNode("norm"));
    EXPECT_EQ(ln.attrs.Ints("normalized_shape"), (std::vector<std::int64_t>{8}));
    EXPECT_EQ(g.value(ln.inputs[0]).type.dims, (graph::Dims{2, 8, 8, 8}));
    EXPECT_EQ(g.node(g.FindNode("act")).attrs.String("approximate"), "none");
    EXPECT_EQ(g.value(g.FindValue("gamma")).role, graph::ValueRole::kParameter);
  }
}

TEST(TorchScriptGraphTest, TransformerEncoderLayerBothPaths) {
  REQUIRE_PLUGIN();
  // Scripted, in inference: the fused encoder layer.
  const graph::Graph fused = LoadFixtureGraph("graph_transformer_scripted.pt", {1, 5, 16});
  ASSERT_EQ(fused.nodes().size(), 1u);
  EXPECT_EQ(fused.nodes()[0].op, "transformer_encoder_layer");
  EXPECT_EQ(fused.nodes()[0].attrs.Int("num_heads"), 2);
  // Traced on an input that requires grad: F.multi_head_attention_forward op by op (linear,
  // views, matmul, softmax, matmul, linear in scope self_attn; linear1, linear2, norm1, norm2),
  // which the readers' fusion rules (graph/fuse.h: multi-head attention, then the encoder layer)
  // put back into the operator the inference path runs: both paths give the same graph.
  const graph::Graph slow = LoadFixtureGraph("graph_transformer_traced.pt", {1, 5, 16});
  ASSERT_EQ(slow.nodes().size(), 1u);
  const graph::Node& n = slow.nodes()[0];
  EXPECT_EQ(n.op, "transformer_encoder_layer");
  EXPECT_EQ(n.scope, "");
  EXPECT_EQ(n.attrs, fused.nodes()[0].attrs);
  EXPECT_EQ(Totals(slow).matrix_macs, Totals(fused).matrix_macs);
  EXPECT_EQ(Totals(slow).macs, Totals(fused).macs);
  EXPECT_EQ(slow.ParameterCount(), fused.ParameterCount());
}

TEST(TorchScriptGraphTest, UnsupportedOperationsNameTheModuleAndTheSourceLine) {
  REQUIRE_PLUGIN();
  const std::string op = RuntimeErrorOf([] {
    LoadFixtureGraph("graph_unsupported_op_scripted.pt", {1, 3, 8, 8});
  });
  EXPECT_EQ(op.rfind(TsFixture("graph_unsupported_op_scripted.pt") +
                         ": body (Cumsum): unsupported operation aten::cumsum (at "
                         "make_torchscript_fixtures.py:",
                     0),
            0u)
      << op;
  EXPECT_EQ(op.find('\n'), std::string::npos) << op;
  const std::string flow = RuntimeErrorOf([] {
    LoadFixtureGraph("graph_unsupported_data_dependent_scripted.pt", {1, 3, 8, 8});
  });
  EXPECT_NE(flow.find(": DataDependent: "), std::string::npos) << flow;
  EXPECT_NE(flow.find("make_torchscript_fixtures.py:"), std::string::npos) << flow;
}

TEST(TorchScriptGraphTest, BadInputsAndFilesAreOneLineErrors) {
  REQUIRE_PLUGIN();
  const std::string file = TsFixture("small_cnn_traced.pt");
  EXPECT_EQ(RuntimeErrorOf([&] { LoadTorchScriptGraph(file, {}, kPluginDirs); }),
            file + ": input: expected the batch dimension and the sample's sizes");
  EXPECT_EQ(RuntimeErrorOf([&] {
              LoadTorchScriptGraph(file, {1, 3, 0, 16}, kPluginDirs);
            }),
            file + ": input: expected positive sizes up to 2^53, got 1x3x0x16");
  const std::string wrong = RuntimeErrorOf([&] {
    LoadTorchScriptGraph(file, {1, 1, 16, 16}, kPluginDirs);
  });
  EXPECT_NE(wrong.find("expected 3 input channels, got 1"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find('\n'), std::string::npos) << wrong;
  TempDir dir;
  const std::string garbage = dir.Write("garbage.pt", "this is not a zip archive");
  EXPECT_EQ(RuntimeErrorOf([&] {
              LoadTorchScriptGraph(garbage, {1, 3, 8, 8}, kPluginDirs);
            }),
            garbage +
                ": cannot read TorchScript: PytorchStreamReader failed reading zip archive: "
                "failed finding central directory");
}

TEST(TorchScriptGraphTest, TreeFixturesLowerToo) {
  REQUIRE_PLUGIN();
  const json expected = json::parse(ReadBytes(TsFixture("expected.json")));
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    const std::string stem = it.key();
    const json& e = it.value();
    for (const std::string mode : {"scripted", "traced"}) {
      const std::string file = stem + "_" + mode + ".pt";
      if (!fs::exists(TsFixture(file))) continue;
      SCOPED_TRACE(file);
      graph::Dims input = e["input"].get<graph::Dims>();
      input.insert(input.begin(), 2);
      const graph::Graph g = LoadFixtureGraph(file, input);
      EXPECT_EQ(g.ParameterCount(), e["parameters"].get<double>());
    }
  }
}

}  // namespace
}  // namespace joulecast
