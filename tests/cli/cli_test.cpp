// Runs the built joulecast binary as a user would: exit status, stdout, stderr and the files it
// leaves behind.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
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

class CliTest : public CliFixture {};

const std::string kData = std::string(JOULECAST_TEST_DATA) + "/codecarbon";

std::size_t Lines(const fs::path& p) {
  std::string s = Slurp(p);
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// 30 synthetic Linear records: energy = 1e-9 J per MAC * (1 + 0.02*sin(i)), MACs = B*(I*O + O).
std::string SyntheticLinear(std::size_t n = 30) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t b = 1 + static_cast<std::int64_t>((i * 7) % 61);
    const std::int64_t in = 16 * (1 + static_cast<std::int64_t>((i * 5) % 23));
    const std::int64_t out = 8 * (1 + static_cast<std::int64_t>((i * 11) % 29));
    const double macs =
        static_cast<double>(b) * (static_cast<double>(in * out) + static_cast<double>(out));
    const double energy = 1e-9 * macs * (1.0 + 0.02 * std::sin(static_cast<double>(i)));
    json j = {{"format_version", 1},
              {"type", "Linear"},
              {"params", {{"in_features", in}, {"out_features", out}, {"bias", true}}},
              {"batch_size", b},
              {"input_shape", {in}},
              {"duration_s", energy / 75.0},
              {"energy_j", energy},
              {"macs", macs},
              {"meter", "synthetic"},
              {"provenance", {{"source", "cli_test"}}}};
    text += j.dump() + "\n";
  }
  return text;
}

// ---- help, usage errors
// ---------------------------------------------------------------------------

TEST_F(CliTest, HelpExitsZeroForEveryCommand) {
  for (const std::string args :
       {"--help", "import --help", "import codecarbon --help", "fit --help", "evaluate --help"}) {
    Result r = Run(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    EXPECT_TRUE(Contains(r.out, "Usage") || Contains(r.out, "usage")) << args << "\n" << r.out;
    EXPECT_EQ(r.err, "") << args;
  }
  Result r = Run("import codecarbon --help");
  EXPECT_TRUE(Contains(r.out, "--slurm-log")) << r.out;
  EXPECT_TRUE(Contains(r.out, "--strict")) << r.out;
  r = Run("fit --help");
  EXPECT_TRUE(Contains(r.out, "--target")) << r.out;
  EXPECT_TRUE(Contains(r.out, "--types")) << r.out;
  r = Run("evaluate --help");
  EXPECT_TRUE(Contains(r.out, "--model")) << r.out;
  EXPECT_TRUE(Contains(r.out, "--json")) << r.out;
}

TEST_F(CliTest, UnknownSubcommand) {
  Result r = Run("frobnicate");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
  EXPECT_EQ(r.out, "");
  // Note: CLI11 answers "A subcommand is required" here without naming 'frobnicate' (reported).
}

TEST_F(CliTest, NoSubcommand) {
  Result r = Run("");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
}

TEST_F(CliTest, MissingInputFiles) {
  const std::string missing = P("no_such.csv");
  Result r = Run("import codecarbon " + Quote(missing) + " -o " + Quote(P("o.jsonl")));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
  EXPECT_TRUE(Contains(r.err, missing)) << r.err;
  EXPECT_FALSE(fs::exists(P("o.jsonl")));

  const std::string missing_jsonl = P("no_such.jsonl");
  r = Run("fit " + Quote(missing_jsonl) + " -o " + Quote(P("p.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: " + missing_jsonl + ": cannot open file\n");
  EXPECT_FALSE(fs::exists(P("p.json")));

  r = Run("fit " + Quote(P("nothing*.jsonl")) + " -o " + Quote(P("p.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: " + P("nothing*.jsonl") + ": no file matches\n");
}

TEST_F(CliTest, MissingRequiredOption) {
  Result r = Run("import codecarbon " + Quote(kData + "/conv2d_2configs.csv"));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
  EXPECT_TRUE(Contains(r.err, "--output")) << r.err;
}

// ---- import
// ---------------------------------------------------------------------------------------

TEST_F(CliTest, ImportFixture) {
  const std::string out = P("conv.jsonl");
  Result r =
      Run("import codecarbon " + Quote(kData + "/conv2d_2configs.csv") + " " +
          Quote(kData + "/linear_2configs.csv") + " -o " + Quote(out) + " --source getzner2023");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err,
            "imported 4 configurations from 12 rows (0 dropped by the Slurm log, 0 malformed) -> " +
                out + "\n");
  ASSERT_EQ(Lines(out), 4u);
  std::ifstream in(out);
  std::string line;
  std::vector<json> recs;
  while (std::getline(in, line)) recs.push_back(json::parse(line));
  EXPECT_EQ(recs[0]["type"], "Conv2d");
  EXPECT_EQ(recs[0]["batch_size"], 123);
  // 436.61945040635999 J: see tests/io/codecarbon_import_test.cpp for the Python reference.
  EXPECT_NEAR(recs[0]["energy_j"].get<double>(), 436.61945040635999, 1e-9);
  EXPECT_EQ(recs[0]["provenance"]["source"], "getzner2023");
  EXPECT_EQ(recs[2]["type"], "Linear");
  EXPECT_EQ(recs[2]["params"]["in_features"], 4645);
  EXPECT_EQ(fs::directory_entry(dir_).exists(), true);
  // nothing but the output in the directory (no temporaries left)
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
  EXPECT_EQ(n, 1u);
}

TEST_F(CliTest, ImportWithSlurmLogs) {
  const std::string out = P("conv.jsonl");
  Result r = Run("import codecarbon " + Quote(kData + "/conv2d_2configs.csv") + " --slurm-log " +
                 Quote(kData + "/conv2d_2configs-bar-slurm-log.out") + " -o " + Quote(out) + " -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");  // -q
  EXPECT_EQ(Lines(out), 1u);

  r = Run("import codecarbon " + Quote(kData + "/conv2d_2configs.csv") + " --slurm-log " +
          Quote(kData + "/conv2d_2configs-slurm-log.out") + " -o " + Quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(
      r.err, "imported 2 configurations from 6 rows (1 dropped by the Slurm log, 0 malformed)"))
      << r.err;
  EXPECT_EQ(Lines(out), 2u);

  // one log for two files is fine; two logs for three files is not.
  r = Run("import codecarbon " + Quote(kData + "/conv2d_2configs.csv") + " " +
          Quote(kData + "/linear_2configs.csv") + " " + Quote(kData + "/malformed.csv") +
          " --slurm-log " + Quote(kData + "/conv2d_2configs-slurm-log.out") + " --slurm-log " +
          Quote(kData + "/conv2d_2configs-slurm-log.out") + " -o " + Quote(P("x.jsonl")));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: --slurm-log")) << r.err;
  EXPECT_FALSE(fs::exists(P("x.jsonl")));
}

TEST_F(CliTest, ImportMalformedRowsWarnsAndSkips) {
  const std::string in = kData + "/malformed.csv", out = P("m.jsonl");
  Result r = Run("import codecarbon " + Quote(in) + " -o " + Quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Lines(out), 1u);
  EXPECT_TRUE(Contains(r.err, "joulecast: warning: " + in +
                                  ":7: forward_passes must be >= 1, got 0 (row skipped)\n"))
      << r.err;
  EXPECT_TRUE(Contains(
      r.err, "imported 1 configurations from 8 rows (0 dropped by the Slurm log, 5 malformed)"))
      << r.err;
}

TEST_F(CliTest, ImportStrictFailsWithoutOutput) {
  const std::string in = kData + "/malformed.csv", out = P("m.jsonl");
  Result r = Run("import codecarbon " + Quote(in) + " -o " + Quote(out) + " --strict");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: " + in + ":5: ")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliTest, ImportAllMalformedCreatesNoOutput) {
  const std::string out = P("none.jsonl");
  Result r = Run("import codecarbon " + Quote(kData + "/all_malformed.csv") + " -o " + Quote(out));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(Contains(r.err, "joulecast: error: " + kData + "/all_malformed.csv: no valid rows"))
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  // An existing output survives a failed import untouched.
  Write("none.jsonl", "keep me\n");
  r = Run("import codecarbon " + Quote(kData + "/all_malformed.csv") + " -o " + Quote(out));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(Slurp(out), "keep me\n");
}

TEST_F(CliTest, ImportMissingColumn) {
  const std::string in = kData + "/missing_column.csv";
  Result r = Run("import codecarbon " + Quote(in) + " -o " + Quote(P("o.jsonl")));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: " + in + ": missing column 'project_name'\n");
  EXPECT_FALSE(fs::exists(P("o.jsonl")));
}

TEST_F(CliTest, ImportLayerwiseThroughTheZoo) {
  // vgg16 layer_idx 1 (1-based) is features.0: Conv2d(3, 64, 3, padding=1) on 3x224x224.
  const std::string out = P("lw.jsonl");
  Result r =
      Run("import codecarbon " + Quote(kData + "/layerwise_vgg16.csv") + " -o " + Quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(Lines(out), 2u) << r.err;
  std::ifstream in(out);
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  json net = json::parse(l1), conv = json::parse(l2);
  EXPECT_EQ(net["type"], "vgg16");
  EXPECT_EQ(conv["type"], "Conv2d");
  EXPECT_EQ(conv["params"]["in_channels"], 3);
  EXPECT_EQ(conv["params"]["out_channels"], 64);
  EXPECT_EQ(conv["input_shape"], json::array({3, 224, 224}));
  EXPECT_EQ(conv["context"]["layer_name"], "features.0");
}

// ---- fit
// ------------------------------------------------------------------------------------------

TEST_F(CliTest, FitEmptyFile) {
  const std::string in = Write("empty.jsonl", "");
  Result r = Run("fit " + Quote(in) + " -o " + Quote(P("p.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
  EXPECT_TRUE(Contains(r.err, "no records")) << r.err;
  EXPECT_FALSE(fs::exists(P("p.json")));
}

TEST_F(CliTest, FitBadValueNamesPathAndLine) {
  std::string text = SyntheticLinear(3);
  // line 2: energy_j as a string "nan"
  std::string bad = text;
  std::size_t l2 = bad.find('\n') + 1;
  std::size_t pos = bad.find("\"energy_j\":", l2);
  std::size_t end = bad.find(',', pos);
  bad.replace(pos, end - pos, "\"energy_j\":\"nan\"");
  const std::string in = Write("bad.jsonl", bad);
  Result r = Run("fit " + Quote(in) + " -o " + Quote(P("p.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: " + in + ":2: field 'energy_j' must be a number\n");
  EXPECT_FALSE(fs::exists(P("p.json")));

  // line 3: negative energy
  std::string neg = text;
  std::size_t l3 = neg.find('\n', l2) + 1;
  pos = neg.find("\"energy_j\":", l3);
  end = neg.find(',', pos);
  neg.replace(pos, end - pos, "\"energy_j\":-1.0");
  const std::string in2 = Write("neg.jsonl", neg);
  r = Run("fit " + Quote(in2) + " -o " + Quote(P("p.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(
      r.err, "joulecast: error: " + in2 + ":3: field 'energy_j' must be finite and >= 0"))
      << r.err;

  // line 1: not JSON at all
  const std::string in3 = Write("garbage.jsonl", "energy_j,nan\n");
  r = Run("fit " + Quote(in3) + " -o " + Quote(P("p.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: " + in3 + ":1: invalid JSON")) << r.err;
  EXPECT_FALSE(fs::exists(P("p.json")));
}

TEST_F(CliTest, FitUnknownType) {
  const std::string in = Write("lin.jsonl", SyntheticLinear());
  Result r = Run("fit " + Quote(in) + " -o " + Quote(P("p.json")) + " --types UnknownLayer");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: fit: no records of layer type 'UnknownLayer'\n");
  EXPECT_FALSE(fs::exists(P("p.json")));
  r = Run("fit " + Quote(in) + " -o " + Quote(P("p.json")) + " --types Linear,UnknownLayer");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: fit: no records of layer type 'UnknownLayer'\n");
  EXPECT_FALSE(fs::exists(P("p.json")));
}

TEST_F(CliTest, FitBadTarget) {
  const std::string in = Write("lin.jsonl", SyntheticLinear());
  Result r = Run("fit " + Quote(in) + " -o " + Quote(P("p.json")) + " --target joules");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
  EXPECT_FALSE(fs::exists(P("p.json")));
}

TEST_F(CliTest, FitTooFewRecords) {
  const std::string in = Write("few.jsonl", SyntheticLinear(4));
  Result r = Run("fit " + Quote(in) + " -o " + Quote(P("p.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: fit Linear: 4 usable records")) << r.err;
  EXPECT_FALSE(fs::exists(P("p.json")));
}

// ---- evaluate
// -------------------------------------------------------------------------------------

TEST_F(CliTest, EvaluateBadProfiles) {
  const std::string data = Write("lin.jsonl", SyntheticLinear());
  struct Case {
    std::string name, text, message;
  };
  const std::vector<Case> cases = {
      {"invalid.json", "{\"kind\": \"joulecast_profile\", ", ": invalid JSON"},
      {"kind.json", R"({"kind": "something_else", "format_version": 1})",
       ": not a joulecast profile"},
      {"version.json",
       R"({"kind": "joulecast_profile", "format_version": 99, "target": "energy_j", "layers": {}})",
       ": unsupported profile format_version 99"},
      {"layers.json",
       R"({"kind": "joulecast_profile", "format_version": 1, "target": "energy_j", "layers": {}})",
       ": profile has no layer predictors"},
      {"predictor.json",
       R"({"kind": "joulecast_profile", "format_version": 1, "target": "energy_j", "layers": {"Linear": {}}})",
       ": layers.Linear: "},
      {"target.json",
       R"({"kind": "joulecast_profile", "format_version": 1, "target": "watts", "layers": {"Linear": {}}})",
       ": target must be energy_j or time_s"},
  };
  for (const auto& c : cases) {
    const std::string profile = Write(c.name, c.text);
    Result r = Run("evaluate --model " + Quote(profile) + " " + Quote(data));
    EXPECT_NE(r.status, 0) << c.name;
    EXPECT_TRUE(StartsWith(r.err, "joulecast: error: " + profile + c.message))
        << c.name << ": " << r.err;
    EXPECT_EQ(r.out, "") << c.name;
  }
  const std::string missing = P("missing.json");
  Result r = Run("evaluate --model " + Quote(missing) + " " + Quote(data));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: " + missing + ": cannot open profile\n");
}

// A fitted profile, then hand-corrupted: every error must name the profile.
TEST_F(CliTest, EvaluateCorruptedFittedProfile) {
  const std::string data = Write("lin.jsonl", SyntheticLinear());
  const std::string good = P("good.json");
  Result r = Run("fit " + Quote(data) + " -o " + Quote(good) + " -q");
  ASSERT_EQ(r.status, 0) << r.err;
  const json p = json::parse(Slurp(good));

  // The scaler's statistics lose a feature: the parts of the model disagree.
  json bad = p;
  json& scaler = bad["modes"]["forward"]["layers"]["Linear"]["model"]["scaler"];
  for (auto& [key, value] : scaler.items()) {
    if (value.is_array() && !value.empty()) value.erase(value.size() - 1);
  }
  std::string path = Write("scaler.json", bad.dump());
  r = Run("evaluate --model " + Quote(path) + " " + Quote(data));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: " + path + ": modes.forward.layers.Linear"))
      << r.err;

  // A valid recipe of another width (eltwise_v1: 3 features; the model has 7).
  bad = p;
  bad["modes"]["forward"]["layers"]["Linear"]["recipe"] = "eltwise_v1";
  path = Write("recipe.json", bad.dump());
  r = Run("evaluate --model " + Quote(path) + " " + Quote(data));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: " + path + ": modes.forward.layers.Linear"))
      << r.err;

  // An unknown recipe.
  bad = p;
  bad["modes"]["forward"]["layers"]["Linear"]["recipe"] = "linear_v99";
  path = Write("unknown_recipe.json", bad.dump());
  r = Run("evaluate --model " + Quote(path) + " " + Quote(data));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: " + path + ": modes.forward.layers.Linear"))
      << r.err;
  EXPECT_TRUE(Contains(r.err, "linear_v99")) << r.err;
}

// import -> fit -> evaluate, end to end.
TEST_F(CliTest, EndToEnd) {
  const std::string imported = P("imported.jsonl");
  Result r = Run("import codecarbon " + Quote(kData + "/linear_2configs.csv") + " -o " +
                 Quote(imported) + " -q");
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(Lines(imported), 2u);

  const std::string synthetic = Write("synthetic.jsonl", SyntheticLinear());
  const std::string profile = P("profile.json");
  r = Run("fit " + Quote(synthetic) + " -o " + Quote(profile) + " --name test-profile");
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(fs::exists(profile));
  EXPECT_TRUE(Contains(r.out, "Linear")) << r.out;
  json p = json::parse(Slurp(profile));
  EXPECT_EQ(p["kind"], "joulecast_profile");
  EXPECT_EQ(p["format_version"], 2);
  EXPECT_EQ(p["name"], "test-profile");
  EXPECT_EQ(p["target"], "energy_j");
  EXPECT_TRUE(p["modes"]["forward"]["layers"].contains("Linear"));

  r = Run("evaluate --model " + Quote(profile) + " " + Quote(synthetic) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  json ev = json::parse(r.out);
  ASSERT_TRUE(ev["layers"].contains("Linear")) << r.out;
  EXPECT_EQ(ev["layers"]["Linear"]["n"], 30);
  ASSERT_TRUE(ev["layers"]["Linear"]["mape"].is_number()) << r.out;
  EXPECT_LT(ev["layers"]["Linear"]["mape"].get<double>(), 5.0);
  EXPECT_GE(ev["layers"]["Linear"]["mape"].get<double>(), 0.0);
  EXPECT_EQ(ev["target"], "energy_j");
  EXPECT_EQ(ev["model"], profile);

  // The imported real records evaluate too (2 Linear configurations).
  r = Run("evaluate --model " + Quote(profile) + " " + Quote(imported) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  ev = json::parse(r.out);
  EXPECT_EQ(ev["layers"]["Linear"]["n"], 2);

  // Human-readable table.
  r = Run("evaluate --model " + Quote(profile) + " " + Quote(synthetic));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "Linear")) << r.out;

  // Evaluating with no matching layer type is an error.
  const std::string conv = P("conv.jsonl");
  ASSERT_EQ(Run("import codecarbon " + Quote(kData + "/conv2d_2configs.csv") + " -o " +
                Quote(conv) + " -q")
                .status,
            0);
  r = Run("evaluate --model " + Quote(profile) + " " + Quote(conv));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
}

}  // namespace

// ---- predict ------------------------------------------------------------------------------------

TEST_F(CliTest, PredictJsonHasTotalsAndBreakdown) {
  Result r = Run("predict vgg16 --model " + Quote(kXeonGold) + " -b 8 --per-layer --json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  double total = j["total_j"].get<double>();
  EXPECT_GT(total, 0);
  EXPECT_DOUBLE_EQ(j["per_sample_j"].get<double>(), total / 8);
  EXPECT_EQ(j["layers"].size(), 40u);  // 39 modules and the functional flatten
  double sum = 0;
  for (const auto& [type, v] : j["by_type"].items()) sum += v["j"].get<double>();
  EXPECT_NEAR(sum, total, total * 1e-12);
  EXPECT_EQ(j["unmodelled"]["layers"], 4);
}

// The four ways in (zoo name, architecture JSON, TorchScript, printed repr) describe the same
// network, so they must give the same total: within 0.1 %, and in fact identically.
TEST_F(CliTest, PredictFourInputFormsAgree) {
  const std::string src = JOULECAST_SOURCE_DIR;
  const std::string tail = " --model " + Quote(kXeonGold) + " -b 8 --input 3x224x224 --json";
  std::vector<std::string> archs = {"resnet18", Quote(src + "/data/architectures/resnet18.json"),
                                    Quote(src + "/tests/data/repr/resnet18.txt")};
#ifdef JOULECAST_HAVE_TORCHSCRIPT
  archs.push_back(Quote(src + "/tests/data/torchscript/resnet18_traced.pt"));
#endif
  std::vector<double> totals;
  for (const std::string& arch : archs) {
    Result r = Run("predict " + arch + tail);
    ASSERT_EQ(r.status, 0) << arch << ": " << r.err;
    json j = json::parse(r.out);
    totals.push_back(j["total_j"].get<double>());
    EXPECT_EQ(j["macs"], json::parse(Run("predict resnet18" + tail).out)["macs"]) << arch;
  }
  for (std::size_t i = 1; i < totals.size(); ++i) {
    EXPECT_NEAR(totals[i], totals[0], totals[0] * 1e-3) << archs[i];
  }
}

TEST_F(CliTest, PredictCsvHasTheJsonNumbers) {
  json j =
      json::parse(Run("predict squeezenet1_0 --model " + Quote(kXeonGold) + " -b 2 --json").out);
  Result r = Run("predict squeezenet1_0 --model " + Quote(kXeonGold) + " -b 2 --csv");
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "type,count,j,share,macs");
  std::size_t types = 0;
  while (std::getline(in, line)) {
    const std::string type = line.substr(0, line.find(','));
    const double j_value = std::stod(line.substr(line.find(',', line.find(',') + 1) + 1));
    if (type == "total") {
      EXPECT_NEAR(j_value, j["total_j"].get<double>(), 1e-12 * j_value);
    } else if (type.rfind("unmodelled:", 0) == 0) {
      // unmodelled:<op>:<fallback>, the fallbacks' part of the total by operator
      const std::string op = type.substr(11, type.find(':', 11) - 11);
      ASSERT_TRUE(j["unmodelled"]["by_op"].contains(op)) << type;
      const std::size_t share_at = line.find(',', line.find(',', line.find(',') + 1) + 1) + 1;
      const double share = std::stod(line.substr(share_at));
      EXPECT_NEAR(share, j["unmodelled"]["by_op"][op]["share"].get<double>(), 1e-12);
      EXPECT_NEAR(j_value, share * j["total_j"].get<double>(), 1e-12 * j_value + 1e-300);
    } else {
      ++types;
      EXPECT_NEAR(j_value, j["by_type"][type]["j"].get<double>(), 1e-12 * j_value + 1e-300) << type;
    }
  }
  EXPECT_EQ(types, j["by_type"].size());
  r = Run("predict squeezenet1_0 --model " + Quote(kXeonGold) + " -b 2 --csv --per-layer");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 66);  // header + 66 operations
  EXPECT_EQ(
      r.out.rfind("name,type,output_shape,macs,j,share,method\nfeatures.0,Conv2d,96x109x109,", 0),
      0u)
      << r.out.substr(0, 200);
  r = Run("predict squeezenet1_0 --model " + Quote(kXeonGold) + " --csv --json");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(Contains(r.err, "--json excludes --csv")) << r.err;
}

TEST_F(CliTest, PredictReprAndTorchScriptNeedTheInputShape) {
  const std::string src = JOULECAST_SOURCE_DIR;
  Result r =
      Run("predict " + Quote(src + "/tests/data/repr/lenet.txt") + " --model " + Quote(kXeonGold));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: " + src +
                       "/tests/data/repr/lenet.txt: a printed model does not record its input "
                       "shape; give it with --input, e.g. --input 3x224x224\n");
  // An unknown class is assumed to run its children in order, and the output says so.
  r = Run("predict " + Quote(src + "/tests/data/repr/lenet.txt") + " --model " + Quote(kXeonGold) +
          " --input 1x32x32");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("joulecast: note: "), std::string::npos);
  EXPECT_NE(r.err.find("is not known; its children are assumed to run in order"), std::string::npos)
      << r.err;
  r = Run("predict " + Quote(P("missing.pt")) + " --model " + Quote(kXeonGold) +
          " --input 3x224x224");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("joulecast: error: " + P("missing.pt") + ": ", 0), 0u) << r.err;
}

TEST_F(CliTest, PredictZooNameAndJsonFileAgree) {
  Result a = Run("predict vgg11 --model " + Quote(kXeonGold) + " -b 4 --json");
  std::string copy = P("my_vgg11.json");
  fs::copy_file(std::string(JOULECAST_SOURCE_DIR) + "/data/architectures/vgg11.json", copy);
  Result b = Run("predict " + Quote(copy) + " --model " + Quote(kXeonGold) + " -b 4 --json");
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_DOUBLE_EQ(json::parse(a.out)["total_j"].get<double>(),
                   json::parse(b.out)["total_j"].get<double>());
}

TEST_F(CliTest, PredictBadInputs) {
  Result r = Run("predict nosuchnet --model " + Quote(kXeonGold));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
  EXPECT_TRUE(Contains(r.err, "nosuchnet")) << r.err;
  r = Run("predict " + Quote(P("net.pt")) + " --model " + Quote(kXeonGold));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(Contains(r.err, "does not record its input shape; give it with --input")) << r.err;
  {
    std::ofstream corrupt(P("corrupt.pt"));
    corrupt << "not a zip archive";
  }
  r = Run("predict " + Quote(P("corrupt.pt")) + " --model " + Quote(kXeonGold) +
          " --input 3x224x224");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: " + P("corrupt.pt") + ": ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = Run("predict vgg16 --model " + Quote(kXeonGold) + " --input 3x0x224");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(Contains(r.err, "--input: dimension 0 out of range in '3x0x224'")) << r.err;
  r = Run("predict vgg16 --model " + Quote(kXeonGold) + " --input three");
  EXPECT_TRUE(Contains(r.err, "--input: expected dimensions like 3x224x224, got 'three'")) << r.err;
  r = Run("predict vgg16 --model " + Quote(kXeonGold) + " --input 1x224x224");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(Contains(r.err, "features.0 (Conv2d): expected 3 input channels, got 1")) << r.err;
  r = Run("predict vgg16 --model " + Quote(kXeonGold) + " -b 0");
  EXPECT_NE(r.status, 0);
  r = Run("predict vgg16 --model " + Quote(kXeonGold) + " --passes -3");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "joulecast: error: --passes: must be > 0, got -3\n");
  r = Run("predict vgg16 --model " + Quote(kXeonGold) + " --passes abc");
  EXPECT_EQ(r.err, "joulecast: error: --passes: value is not a number: 'abc'\n");
  std::string bad = Write("bad.json", "{\"name\": \"x\", \"input\": [3, 8, 8], \"layers\": [");
  r = Run("predict " + Quote(bad) + " --model " + Quote(kXeonGold));
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(Contains(r.err, bad + ": invalid JSON")) << r.err;
}

namespace {

// inspect --json writes graph JSON that every command reads back: the same prediction at any batch
// (batch-scaled sizes kept), and the table's totals are the JSON's.
TEST_F(CliTest, InspectJsonReadsBackToTheSamePrediction) {
  for (const char* net : {"resnet18", "shufflenet_v2_x1_0"}) {
    Result r = Run(std::string("inspect ") + net + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    const json g = json::parse(r.out);
    EXPECT_EQ(g["kind"], "joulecast_graph");
    EXPECT_EQ(g["nodes"][0]["scope"], std::string(net) == "resnet18" ? "conv1" : "conv1.0");
    EXPECT_TRUE(g["nodes"][0].contains("input_shapes"));
    const std::string file = Write(std::string(net) + ".graph.json", r.out);
    for (const char* b : {"1", "7"}) {
      const json a = json::parse(
          Run(std::string("predict ") + net + " -b " + b + " --json --model " + Quote(kXeonGold))
              .out);
      const json c = json::parse(
          Run("predict " + Quote(file) + " -b " + b + " --json --model " + Quote(kXeonGold)).out);
      EXPECT_DOUBLE_EQ(a["total_j"].get<double>(), c["total_j"].get<double>()) << net << " b" << b;
      EXPECT_EQ(a["matrix_macs"], c["matrix_macs"]);
      EXPECT_EQ(a["parameters"], c["parameters"]);
    }
  }
  Result r = Run("inspect resnet18");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "layer1.0.conv1")) << r.out;
  EXPECT_TRUE(Contains(r.out, "matrix MACs 1.81407e+09")) << r.out;
  EXPECT_TRUE(Contains(r.out, "parameters 11689512")) << r.out;  // torchvision's count
}

// Activations of 32 MiB and more (predict/fresh_mappings.h): vgg11 at batch 32 has 14 of them
// (the byte count by hand from torchvision's VGG in tests/predict/fresh_mappings_test.cpp), in
// the JSON and, with an energy profile (no seconds to weigh them against), always as a note on
// stderr; resnet18 at batch 1 has none and no note.
TEST_F(CliTest, PredictNotesActivationsGlibcMapsAfresh) {
  Result r = Run("predict vgg11 -b 32 --json --model " + Quote(kXeonGold));
  ASSERT_EQ(r.status, 0) << r.err;
  const json f = json::parse(r.out)["fresh_mappings"];
  EXPECT_EQ(f["tensors"], 14);
  EXPECT_DOUBLE_EQ(f["bytes"].get<double>(), 2003828736.0);
  EXPECT_DOUBLE_EQ(f["pages"].get<double>(), 2003828736.0 / 4096);
  EXPECT_EQ(f["largest"], "features.0 (Conv2d)");
  if (f.contains("page_us")) {  // absent only where the probe cannot map 16 MiB
    EXPECT_NEAR(f["at_least_s"].get<double>(),
                f["pages"].get<double>() * f["page_us"].get<double>() * 1e-6, 1e-9);
  }
  EXPECT_EQ(r.err.rfind("joulecast: note: vgg11 at batch 32 has 14 activations of 32 MiB or more "
                        "(1.87 GiB a run, the largest 392 MiB at features.0 (Conv2d)), which "
                        "glibc's default malloc maps afresh on every run",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = Run("predict resnet18 --json --model " + Quote(kXeonGold));
  ASSERT_EQ(r.status, 0) << r.err;
  const json none = json::parse(r.out)["fresh_mappings"];
  EXPECT_EQ(none["tensors"], 0);
  EXPECT_FALSE(none.contains("page_us"));
  EXPECT_EQ(r.err, "");
}

}  // namespace
