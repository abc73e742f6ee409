// The ONNX reader (frontends/onnx_loader.h and the joulecast_onnx plugin, src/onnx/):
//
//   - every torchvision 0.14 classification network that PyTorch 1.13 exports has a fixture
//     (tests/data/zoo_onnx/<name>.onnx, tools/make_onnx_fixtures.py, no weights); the ones that do
//     not export are the report's, for its reason (swin_v2_*: aten::zero);
//   - each fixture, read by the ONNX reader, predicts within 1% of the TorchScript fixture of the
//     same network (tests/data/zoo_pt/<name>.pt, the TorchScript reader) with an energy profile
//     (models/xeon-gold-5120.json) and a time profile (models/intel-xeon-2c-time.json); its matrix
//     MACs are within 0.5% of the TorchScript graph's and of PyTorch's dispatcher count
//     (tests/data/zoo_reference.json) at batch 1 and 2; its parameters equal those of the
//     TorchScript graph that some node reads (torch.onnx keeps no unused weight: googlenet's and
//     inception_v3's auxiliary classifiers, which run only in training); the same for a small
//     nn.TransformerEncoder at opsets 17 and 14 (transformer_encoder*.onnx against
//     transformer_encoder.pt, traced on PyTorch's fused inference path);
//   - graphs re-target to another batch as graph JSON (sym_ints found by lowering at two batches);
//   - dynamic dimensions come from -b, --input and --seq-len, or the error names input, dimension
//     and flag; scopes come from the node names; the prediction path links no libonnx.
// Needs the plugins (built when CMake finds libonnx-dev, and libtorch for the comparison) next to
// the joulecast binary; without them the tests say so and skip.
#include "joulecast/frontends/onnx_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;
using joulecast_test::ErrorOf;
using nlohmann::json;

const std::string kData = JOULECAST_TEST_DATA;
const std::string kSource = JOULECAST_SOURCE_DIR;
const fs::path kBinDir = fs::path(JOULECAST_BINARY).parent_path();

constexpr double kPredictionTolerance = 0.01;   // the 1%
constexpr double kMatrixMacsTolerance = 0.005;  // and 0.5%

bool HaveOnnxPlugin() { return fs::exists(kBinDir / OnnxPluginFileName()); }
bool HaveTorchScriptPlugin() { return fs::exists(kBinDir / TorchScriptPluginFileName()); }

#define REQUIRE_ONNX_PLUGIN()                                       \
  do {                                                              \
    if (!HaveOnnxPlugin())                                          \
      GTEST_SKIP() << "no ONNX plugin next to " << JOULECAST_BINARY \
                   << " (built when CMake finds libonnx-dev)";      \
    setenv("JOULECAST_PLUGIN_DIR", kBinDir.c_str(), 1);             \
  } while (0)

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing " + path);
  return json::parse(in);
}

const json& Report() {
  static const json j = ReadJson(kData + "/zoo_onnx/export_report.json");
  return j;
}

const json& Reference() {
  static const json j = ReadJson(kData + "/zoo_reference.json").at("networks");
  return j;
}

graph::NodeCounts Totals(const graph::Graph& g) {
  return graph::TotalCounts(g, graph::CountNodes(g));
}

double Rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

// Parameters some node of `g` reads.
double ReadParameters(const graph::Graph& g) {
  std::set<graph::ValueId> read;
  for (const graph::Node& n : g.nodes())
    for (graph::ValueId v : n.inputs)
      if (v != graph::kNoValue && g.value(v).role == graph::ValueRole::kParameter) read.insert(v);
  double total = 0;
  for (graph::ValueId v : read) total += g.value(v).type.elements();
  return total;
}

std::string OnnxPath(const std::string& name) { return kData + "/zoo_onnx/" + name + ".onnx"; }

// The networks with a fixture and the per-sample input their TorchScript fixture needs.
struct Fixture {
  std::string name;
  std::string pt;
  Shape input;       // of the TorchScript fixture
  Shape onnx_input;  // --input for the ONNX file (empty: none needed)
};

std::vector<Fixture> Fixtures() {
  std::vector<Fixture> out;
  for (const auto& [name, e] : Report().at("networks").items()) {
    Fixture f;
    f.name = name;
    if (name.rfind("transformer_encoder", 0) == 0) {
      f.pt = kData + "/zoo_onnx/transformer_encoder.pt";
      f.input = {10, 64};
      f.onnx_input = {10, 64};
    } else {
      f.pt = kData + "/zoo_pt/" + name + ".pt";
      f.input = Reference().at(name).at("input").get<Shape>();
    }
    out.push_back(f);
  }
  return out;
}

TEST(OnnxLoader, MissingFileAndMissingPluginAreOneLineErrors) {
  EXPECT_EQ(ErrorOf([] { LoadOnnxGraph(kData + "/onnx/missing.onnx", 1, {}, 0); }),
            kData + "/onnx/missing.onnx: cannot open file");
  const std::string e =
      ErrorOf([] { LoadOnnxGraph(kData + "/onnx/tokens.onnx", 1, {}, 32, {"/nonexistent"}); });
  EXPECT_NE(e.find(kData + "/onnx/tokens.onnx: reading ONNX needs the joulecast_onnx plugin "
                           "(built when CMake finds libonnx-dev); not found in: /nonexistent"),
            std::string::npos)
      << e;
}

TEST(OnnxZoo, EveryNetworkThatExportsHasAFixtureAndTheOthersTheirReason) {
  std::set<std::string> exported, failed;
  for (const auto& [name, e] : Report().at("networks").items()) {
    exported.insert(name);
    EXPECT_TRUE(fs::exists(OnnxPath(name))) << name;
    EXPECT_EQ(fs::file_size(OnnxPath(name)), e.at("bytes").get<std::uintmax_t>()) << name;
  }
  for (const auto& [name, reason] : Report().at("failed").items()) {
    failed.insert(name);
    EXPECT_FALSE(fs::exists(OnnxPath(name))) << name;
    // torchvision 0.14's swin_v2 zeroes part of a cloned bias in place (aten::zero_).
    EXPECT_NE(reason.get<std::string>().find("aten::zero"), std::string::npos)
        << name << ": " << reason;
  }
  EXPECT_EQ(failed, (std::set<std::string>{"swin_v2_b", "swin_v2_s", "swin_v2_t"}));
  std::size_t torchvision = 0;
  for (const auto& [name, e] : Reference().items()) {
    ++torchvision;
    EXPECT_TRUE(exported.count(name) + failed.count(name) == 1) << name;
  }
  EXPECT_EQ(torchvision, 80u);
  EXPECT_EQ(exported.size(), 77u + 2u);  // and the two transformer encoders
  std::uintmax_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(kData + "/zoo_onnx")) bytes += entry.file_size();
  EXPECT_LT(bytes, 15u * 1000 * 1000) << "tests/data/zoo_onnx should stay under 15 MB";
}

TEST(OnnxZoo, FixturesCoverEveryOpsetTheReaderReads) {
  std::set<int> opsets;
  for (const auto& [name, e] : Report().at("networks").items())
    opsets.insert(e.at("opset").get<int>());
  EXPECT_EQ(opsets, (std::set<int>{11, 12, 13, 14, 15, 16, 17}));
}

TEST(OnnxZoo, FixturesPredictWhatTheTorchScriptFixturesDo) {
  REQUIRE_ONNX_PLUGIN();
  if (!HaveTorchScriptPlugin())
    GTEST_SKIP() << "no TorchScript plugin next to " << JOULECAST_BINARY;
  const std::vector<std::pair<std::string, Profile>> profiles = {
      {"xeon-gold-5120 (J)", Profile::Load(kSource + "/models/xeon-gold-5120.json")},
      {"intel-xeon-2c-time (s)", Profile::Load(kSource + "/models/intel-xeon-2c-time.json")}};
  std::vector<double> worst(profiles.size(), 0);
  std::vector<std::string> worst_net(profiles.size(), "-");
  double worst_mm = 0;
  std::string worst_mm_net = "-";
  const auto start = std::chrono::steady_clock::now();
  std::size_t n = 0;
  for (const Fixture& f : Fixtures()) {
    SCOPED_TRACE(f.name);
    GraphOptions options;
    options.input = f.onnx_input;
    const graph::Graph onnx = LoadGraph(OnnxPath(f.name), options);
    graph::Dims dims = f.input;
    dims.insert(dims.begin(), 1);
    const graph::Graph ts = LoadTorchScriptGraph(f.pt, dims);
    ++n;
    EXPECT_EQ(onnx.ParameterCount(), ReadParameters(ts));
    const double mm = Rel(Totals(onnx).matrix_macs, Totals(ts).matrix_macs);
    EXPECT_LE(mm, kMatrixMacsTolerance);
    if (mm > worst_mm) {
      worst_mm = mm;
      worst_mm_net = f.name;
    }
    if (Reference().contains(f.name)) {
      EXPECT_LE(
          Rel(Totals(onnx).matrix_macs, Reference().at(f.name).at("matrix_macs_b1").get<double>()),
          kMatrixMacsTolerance);
    }
    for (std::size_t p = 0; p < profiles.size(); ++p) {
      const double want = EstimateGraph(profiles[p].second, ts).total;
      const double got = EstimateGraph(profiles[p].second, onnx).total;
      ASSERT_GT(want, 0);
      const double rel = Rel(got, want);
      EXPECT_LT(rel, kPredictionTolerance)
          << profiles[p].first << ": ONNX " << got << ", TorchScript " << want;
      if (rel > worst[p]) {
        worst[p] = rel;
        worst_net[p] = f.name;
      }
    }
  }
  EXPECT_EQ(n, 79u);
  std::printf("%zu ONNX fixtures against their TorchScript fixtures in %.1f s\n", n,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  for (std::size_t p = 0; p < profiles.size(); ++p)
    std::printf("worst relative difference of the prediction, %s: %.3g (%s)\n",
                profiles[p].first.c_str(), worst[p], worst_net[p].c_str());
  std::printf("worst relative difference of matrix MACs: %.3g (%s)\n", worst_mm,
              worst_mm_net.c_str());
}

// At batch 2: PyTorch's matrix MACs; and the batch-1 graph, written as graph JSON and read back at
// batch 2, counts what the reader lowers at batch 2 (the batch-scaled reshape/expand sizes).
TEST(OnnxZoo, BatchTwoDirectlyAndThroughGraphJson) {
  REQUIRE_ONNX_PLUGIN();
  for (const Fixture& f : Fixtures()) {
    SCOPED_TRACE(f.name);
    GraphOptions one, two;
    one.input = two.input = f.onnx_input;
    two.batch = 2;
    const graph::Graph g1 = LoadGraph(OnnxPath(f.name), one);
    const graph::Graph g2 = LoadGraph(OnnxPath(f.name), two);
    EXPECT_EQ(g1.description.find("sizes fixed"), std::string::npos) << g1.description;
    const graph::Graph back = GraphFromAnyJson(graph::GraphToJson(g1), "g1", two);
    const graph::NodeCounts t2 = Totals(g2), tb = Totals(back);
    EXPECT_EQ(tb.matrix_macs, t2.matrix_macs);
    EXPECT_EQ(tb.macs, t2.macs);
    EXPECT_EQ(back.ParameterCount(), g2.ParameterCount());
    if (Reference().contains(f.name)) {
      EXPECT_LE(Rel(t2.matrix_macs, Reference().at(f.name).at("matrix_macs_b2").get<double>()),
                kMatrixMacsTolerance);
    }
  }
}

TEST(OnnxReader, ScopesAndParameterNamesComeFromTheExport) {
  REQUIRE_ONNX_PLUGIN();
  const graph::Graph g = LoadGraph(OnnxPath("resnet18"), {});
  std::set<std::string> scopes;
  for (const graph::Node& n : g.nodes()) scopes.insert(n.scope);
  for (const char* s : {"conv1", "layer1.0.conv1", "layer1.0.bn1", "layer4.1.conv2", "fc"})
    EXPECT_TRUE(scopes.count(s)) << s;
  EXPECT_GE(g.FindValue("layer1.0.conv1.weight"), 0);
  const graph::ValueId mean = g.FindValue("bn1.running_mean");
  ASSERT_GE(mean, 0);
  EXPECT_EQ(g.value(mean).role, graph::ValueRole::kBuffer);
  EXPECT_NE(g.description.find("ONNX resnet18.onnx (pytorch 1.13.0, opset 12)"), std::string::npos)
      << g.description;
  // The transformer encoder's two layers are the fused operator, in the layers' scopes.
  const graph::Graph t = LoadGraph(OnnxPath("transformer_encoder_opset14"), {1, {10, 64}});
  ASSERT_EQ(t.nodes().size(), 2u);
  EXPECT_EQ(t.nodes()[0].op, "transformer_encoder_layer");
  EXPECT_EQ(t.nodes()[0].scope, "layers.0");
  EXPECT_EQ(t.nodes()[1].scope, "layers.1");
  // ViT's blocks are not nn.TransformerEncoderLayer: attention fused, the rest in pieces.
  const graph::Graph v = LoadGraph(OnnxPath("vit_b_32"), {});
  std::map<std::string, int> ops;
  for (const graph::Node& n : v.nodes()) ++ops[n.op];
  EXPECT_EQ(ops["multi_head_attention"], 12);
  EXPECT_EQ(ops["gelu"], 12);
  EXPECT_EQ(ops["layer_norm"], 25);
  EXPECT_EQ(ops["transformer_encoder_layer"], 0);
  EXPECT_EQ(ops["softmax"], 0);
}

TEST(OnnxReader, DynamicDimensionsComeFromTheFlagsOrTheErrorNamesThem) {
  REQUIRE_ONNX_PLUGIN();
  const std::string enc = OnnxPath("transformer_encoder");
  EXPECT_EQ(ErrorOf([&] { LoadGraph(enc, {}); }),
            enc +
                ": input 'src' dimension 1 ('sequence') is dynamic: give the per-sample shape "
                "with --input");
  EXPECT_EQ(ErrorOf([&] {
              LoadGraph(enc, {1, {10, 65}});
            }),
            enc + ": input 'src' dimension 2 is 64 in the model, but --input gives 65");
  EXPECT_EQ(ErrorOf([&] {
              LoadGraph(enc, {1, {10}});
            }),
            enc + ": --input gives 1 sizes, but input 'src' has 2 after the batch dimension");
  const graph::Graph g = LoadGraph(enc, {3, {20, 64}});
  EXPECT_EQ(g.value(g.inputs()[0]).type.dims, (graph::Dims{3, 20, 64}));

  const std::string tokens = kData + "/onnx/tokens.onnx";
  EXPECT_EQ(ErrorOf([&] { LoadGraph(tokens, {}); }),
            tokens +
                ": input 'input_ids' dimension 1 ('sequence') is dynamic: give the sequence "
                "length with --seq-len");
  GraphOptions o;
  o.batch = 3;
  o.seq_len = 32;
  const graph::Graph t = LoadGraph(tokens, o);
  EXPECT_EQ(t.value(t.inputs()[0]).type.dims, (graph::Dims{3, 32}));
  EXPECT_EQ(t.value(t.inputs()[0]).type.dtype, graph::DType::kInt64);
  EXPECT_EQ(t.ParameterCount(), 100 * 16 + 4 * 16 + 4);
  EXPECT_EQ(Totals(t).matrix_macs, 3 * 16 * 4);
  EXPECT_EQ(t.nodes()[0].op, "embedding");
}

TEST(OnnxReader, BrokenFilesAreOneLineErrors) {
  REQUIRE_ONNX_PLUGIN();
  const std::string bad = kData + "/bad/";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"onnx_truncated.onnx",
       "not an ONNX model (protobuf parsing failed: a truncated or corrupt file)"},
      {"onnx_corrupt.onnx",
       "not an ONNX model (protobuf parsing failed: a truncated or corrupt file)"},
      {"onnx_unsupported_op.onnx",
       "unsupported ONNX operator CumSum at node '/features/features.1/CumSum'"},
      {"onnx_dynamic_dim.onnx",
       "input 'x' dimension 2 ('height') is dynamic: give the per-sample shape with --input"},
      {"onnx_opset9.onnx", "ONNX opset 9 is not supported (this reader reads opsets 11 to 17)"}};
  for (const auto& entry : cases) {
    const std::string path = bad + entry.first;
    const std::string e = ErrorOf([&] { LoadGraph(path, {}); });
    EXPECT_EQ(e, path + ": " + entry.second);
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
  // A fixed size --input contradicts, and a batch the model fixes.
  EXPECT_EQ(
      ErrorOf([&] {
        LoadGraph(OnnxPath("resnet18"), {1, {3, 256, 256}});
      }),
      OnnxPath("resnet18") + ": input 'x' dimension 2 is 224 in the model, but --input gives 256");
}

// The joulecast executable (the prediction path) loads libonnx and protobuf only through the
// plugin: they are not among its dynamic dependencies.
TEST(OnnxReader, TheExecutableDoesNotLinkOnnx) {
  const std::string cmd = "ldd '" + std::string(JOULECAST_BINARY) + "' 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) GTEST_SKIP() << "cannot run ldd";
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe.get())) out += buf;
  if (out.empty()) GTEST_SKIP() << "ldd printed nothing";
  EXPECT_EQ(out.find("libonnx"), std::string::npos) << out;
  EXPECT_EQ(out.find("libprotobuf"), std::string::npos) << out;
  EXPECT_EQ(out.find("libtorch"), std::string::npos) << out;
}

}  // namespace
}  // namespace joulecast
