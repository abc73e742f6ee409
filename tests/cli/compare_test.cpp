// `joulecast compare`: runs the built binary as a user would (helper copied from cli_test.cpp).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

class CompareTest : public CliFixture {
 protected:
  json RunJson(const std::string& args) {
    Result r = Run(args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    return r.status == 0 ? json::parse(r.out) : json();
  }
};

const std::vector<std::string> kNets = {"vgg16", "resnet18", "alexnet", "squeezenet1_0",
                                        "mobilenet_v2"};

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + " ";
  return s;
}

TEST_F(CompareTest, JsonIsSortedWithFactorsToTheCheapest) {
  json j = RunJson("compare " + Join(kNets) + "--model " + Quote(kXeonGold) + " --json");
  EXPECT_EQ(j["model"], kXeonGold);
  EXPECT_EQ(j["batch_size"], 1);
  EXPECT_EQ(j["target"], "energy_j");
  const json& list = j["architectures"];
  ASSERT_EQ(list.size(), kNets.size());
  std::vector<std::string> names;
  const double cheapest = list[0]["total_j"].get<double>();
  for (std::size_t i = 0; i < list.size(); ++i) {
    names.push_back(list[i]["name"]);
    if (i > 0) EXPECT_LE(list[i - 1]["total_j"].get<double>(), list[i]["total_j"].get<double>());
    EXPECT_DOUBLE_EQ(list[i]["factor"].get<double>(), list[i]["total_j"].get<double>() / cheapest);
  }
  EXPECT_EQ(list[0]["factor"].get<double>(), 1.0);
  // The shipped profile's order (energies 1.6, 2.6, 3.7, 4.2 and 33.6 J).
  EXPECT_EQ(names, (std::vector<std::string>{"mobilenet_v2", "alexnet", "squeezenet1_0", "resnet18",
                                             "vgg16"}));
}

// Each entry is what `predict --json` gives for that architecture with the same options.
TEST_F(CompareTest, EntriesEqualPredict) {
  for (const std::string opts : {" -b 1", " -b 8 --input 3x160x160"}) {
    json j = RunJson("compare " + Join(kNets) + "--model " + Quote(kXeonGold) + opts + " --json");
    ASSERT_EQ(j["architectures"].size(), kNets.size());
    for (const json& e : j["architectures"]) {
      const std::string name = e["name"];
      json p = RunJson("predict " + name + " --model " + Quote(kXeonGold) + opts + " --json");
      for (const char* key :
           {"name", "input", "total_j", "per_sample_j", "macs", "parameters", "unmodelled"}) {
        EXPECT_EQ(e[key], p[key]) << name << opts << " " << key;
      }
    }
  }
}

TEST_F(CompareTest, TableListsTheSameOrder) {
  Result r = Run("compare vgg16 alexnet resnet18 --model " + Quote(kXeonGold) + " -b 2");
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string title, header, a, b, c;
  std::getline(lines, title);
  std::getline(lines, header);
  std::getline(lines, a);
  std::getline(lines, b);
  std::getline(lines, c);
  EXPECT_EQ(title, "energy per forward pass at batch 2, profile " + kXeonGold + "; cheapest first");
  EXPECT_EQ(header.rfind("architecture", 0), 0u) << header;
  EXPECT_NE(header.find("J per pass"), std::string::npos) << header;
  EXPECT_EQ(a.rfind("alexnet ", 0), 0u) << a;
  EXPECT_NE(a.find(" 1.00x "), std::string::npos) << a;
  EXPECT_EQ(b.rfind("resnet18 ", 0), 0u) << b;
  EXPECT_EQ(c.rfind("vgg16 ", 0), 0u) << c;
  // vgg16 / alexnet at batch 2, as `predict` gives them.
  const double vgg =
      RunJson("predict vgg16 --model " + Quote(kXeonGold) + " -b 2 --json")["total_j"];
  const double alex =
      RunJson("predict alexnet --model " + Quote(kXeonGold) + " -b 2 --json")["total_j"];
  std::ostringstream factor;
  factor.precision(2);
  factor << std::fixed << vgg / alex << "x";
  EXPECT_NE(c.find(" " + factor.str() + " "), std::string::npos) << c << " vs " << factor.str();
}

TEST_F(CompareTest, TimeProfileSortsByTime) {
  json profile = json::parse(Slurp(kXeonGold));
  profile["target"] = "time_s";  // same predictors, read as seconds
  const std::string path = (dir_ / "time.json").string();
  std::ofstream(path) << profile.dump();
  json j = RunJson("compare vgg16 alexnet --model " + Quote(path) + " --json");
  EXPECT_EQ(j["target"], "time_s");
  ASSERT_EQ(j["architectures"].size(), 2u);
  EXPECT_EQ(j["architectures"][0]["name"], "alexnet");
  EXPECT_TRUE(j["architectures"][0].contains("total_s"));
  EXPECT_TRUE(j["architectures"][0].contains("per_sample_s"));
  EXPECT_FALSE(j["architectures"][0].contains("total_j"));
  Result r = Run("compare vgg16 alexnet --model " + Quote(path));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("time per forward pass at batch 1", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("s per pass"), std::string::npos) << r.out;
}

TEST_F(CompareTest, ArchitectureFilesAndZooNamesMix) {
  const std::string file = std::string(JOULECAST_SOURCE_DIR) + "/data/architectures/resnet18.json";
  json j = RunJson("compare vgg16 " + Quote(file) + " --model " + Quote(kXeonGold) + " --json");
  ASSERT_EQ(j["architectures"].size(), 2u);
  EXPECT_EQ(j["architectures"][0]["name"], "resnet18");
}

TEST_F(CompareTest, Errors) {
  Result r = Run("compare --model " + Quote(kXeonGold));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "joulecast: error: architectures is required\n");

  r = Run("compare vgg16 alexnet VGG16 --model " + Quote(kXeonGold));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "joulecast: error: compare: arguments 1 ('vgg16') and 3 ('VGG16') name the same "
            "architecture; give each once\n");

  const std::string file = std::string(JOULECAST_SOURCE_DIR) + "/data/architectures/vgg16.json";
  const std::string alias =
      std::string(JOULECAST_SOURCE_DIR) + "/data/architectures/../architectures/vgg16.json";
  r = Run("compare " + Quote(file) + " " + Quote(alias) + " --model " + Quote(kXeonGold));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("name the same architecture"), std::string::npos) << r.err;

  r = Run("compare vgg16 resnet7 --model " + Quote(kXeonGold));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(
      r.err.rfind("joulecast: error: unknown architecture 'resnet7'; available: alexnet, ", 0), 0u)
      << r.err;
  EXPECT_EQ(r.out, "");

  r = Run("compare vgg16 --model " + Quote(kXeonGold) + " -b 0");
  EXPECT_EQ(r.status, 2);
  r = Run("compare vgg16 --model " + Quote((dir_ / "missing.json").string()));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "joulecast: error: " + (dir_ / "missing.json").string() + ": cannot open profile\n");
}

// Activations of 32 MiB and more (predict/fresh_mappings.h), by hand from torchvision's models at
// batch 32: vgg11 14 of them, 2,003,828,736 B (tests/predict/fresh_mappings_test.cpp); resnet18
// its first convolution, BatchNorm and ReLU, 3 x 32x64x112x112 floats (308,281,344 B); alexnet
// none (its largest, 32x64x55x55 floats, is 24.8 MB). One note names the two, in argument order.
TEST_F(CompareTest, NotesActivationsGlibcMapsAfresh) {
  Result r = Run("compare vgg11 alexnet resnet18 -b 32 --json --model " + Quote(kXeonGold));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err,
            "joulecast: note: vgg11 (1.87 GiB a run), resnet18 (0.287 GiB a run) have activations "
            "of 32 MiB or more, which glibc's default malloc maps afresh on every run; the "
            "predictions hold none of it (joulecast predict NAME says more)\n");
  const json j = json::parse(r.out);
  for (const json& e : j["architectures"]) {
    const json& f = e["fresh_mappings"];
    if (e["name"] == "vgg11") EXPECT_DOUBLE_EQ(f["bytes"].get<double>(), 2003828736.0);
    if (e["name"] == "resnet18") EXPECT_DOUBLE_EQ(f["bytes"].get<double>(), 308281344.0);
    if (e["name"] == "alexnet") EXPECT_EQ(f["tensors"], 0);
  }
  r = Run("compare vgg11 alexnet --model " + Quote(kXeonGold));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");  // batch 1: nothing reaches 32 MiB
}

}  // namespace
