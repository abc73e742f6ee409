#include "joulecast/io/codecarbon_import.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "joulecast/io/slurm_log.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kCodecarbonData = std::string(JOULECAST_TEST_DATA) + "/codecarbon";
const std::string kConv =
    kCodecarbonData + "/conv2d_2configs.csv";  // raw/conv2d/00_conv2d-raw.csv lines 1-7
const std::string kLinear =
    kCodecarbonData + "/linear_2configs.csv";  // raw/linear/00_linear-raw.csv lines 1-7
const std::string kLayerwise =
    kCodecarbonData +
    "/layerwise_vgg16.csv";  // raw/architectures/00_...-layerwise-raw.csv lines 1-7
const std::string kMalformed = kCodecarbonData + "/malformed.csv";
const std::string kAllMalformed = kCodecarbonData + "/all_malformed.csv";
const std::string kMissingColumn = kCodecarbonData + "/missing_column.csv";
const std::string kRowLog =
    kCodecarbonData + "/conv2d_2configs-slurm-log.out";  // error after 1/2 -> row 4
const std::string kBarLog =
    kCodecarbonData + "/conv2d_2configs-bar-slurm-log.out";  // error on bar 1/2 -> config 1

// Reference values computed independently from the fixture CSVs with Python:
//
//   import csv, statistics
//   rows = list(csv.DictReader(open(path)))
//   groups = {}  # project_name without rep_no/forward_passes -> [(energy_j, duration_s)]
//   for r in rows:
//       pn = dict(kv.split(":", 1) for kv in r["project_name"].split(","))
//       key = tuple((k, v) for k, v in pn.items() if k not in ("rep_no", "forward_passes"))
//       fp = int(pn["forward_passes"])
//       groups.setdefault(key, []).append((float(r["cpu_energy"]) / fp * 3.6e6,
//       float(r["duration"]) / fp))
//   for key, g in groups.items():
//       e = [x[0] for x in g]; t = [x[1] for x in g]
//       print("%.17g %.17g %.17g %.17g" % (statistics.mean(e), statistics.stdev(e),
//                                          statistics.mean(t), statistics.stdev(t)))
//       # and without rep 2: statistics.mean([e[0], e[2]]), statistics.mean([t[0], t[2]])
//
// conv2d_2configs.csv
constexpr double kConv0E = 436.61945040635999, kConv0EStd = 1.0717436577052946;
constexpr double kConv0T = 5.7887165811326771, kConv0TStd = 0.014475421426659718;
constexpr double kConv1E = 2182.5204405148802, kConv1T = 28.575616876284283;
constexpr double kConv1ENoRep2 = 2181.0462253354799, kConv1TNoRep2 = 28.553890764713287;
// linear_2configs.csv
constexpr double kLin0E = 7.6383170644431688, kLin0T = 0.099169805104976444;
constexpr double kLin1E = 6.4411700856233569, kLin1T = 0.1004413905489696;
// layerwise_vgg16.csv
constexpr double kVggE = 6489.2267987104797, kVggT = 86.188562711079911;
constexpr double kVggConvE = 255.23052807311998, kVggConvT = 3.4023500725075051;

void ExpectRel(double actual, double expected, double rel = 1e-12) {
  EXPECT_NEAR(actual, expected, std::abs(expected) * rel) << "expected " << expected;
}

CodeCarbonImportResult Import(const std::string& path, const SlurmLog* log = nullptr,
                              CodeCarbonImportOptions opt = {}) {
  CodeCarbonImportResult r;
  ImportCodeCarbonFile(path, log, opt, r);
  return r;
}

TEST(CodeCarbonImport, Conv2dRealRows) {
  CodeCarbonImportOptions opt;
  opt.source = "getzner2023";
  auto r = Import(kConv, nullptr, opt);
  EXPECT_EQ(r.rows, 6u);
  EXPECT_EQ(r.rows_malformed, 0u);
  EXPECT_EQ(r.rows_dropped_by_log, 0u);
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(r.records.size(), 2u);

  const Measurement& a = r.records[0];
  EXPECT_EQ(a.type, "Conv2d");
  EXPECT_EQ(a.batch_size, 123);
  EXPECT_EQ(a.input_shape, (Shape{80, 127, 127}));
  EXPECT_EQ(a.params["in_channels"], 80);
  EXPECT_EQ(a.params["out_channels"], 29);
  EXPECT_EQ(a.params["kernel_size"], json::array({7, 7}));
  EXPECT_EQ(a.params["stride"], json::array({1, 1}));
  EXPECT_EQ(a.params["padding"], json::array({2, 2}));
  EXPECT_EQ(a.params.value("groups", 1), 1);
  EXPECT_EQ(a.params.value("bias", true), true);
  EXPECT_EQ(a.repetitions, 3);
  ASSERT_TRUE(a.energy_j);
  ExpectRel(*a.energy_j, kConv0E);
  ExpectRel(a.duration_s, kConv0T);
  ASSERT_TRUE(a.energy_j_std);
  ExpectRel(*a.energy_j_std, kConv0EStd, 1e-9);
  ASSERT_TRUE(a.duration_s_std);
  ExpectRel(*a.duration_s_std, kConv0TStd, 1e-9);
  ASSERT_TRUE(a.macs);
  EXPECT_EQ(*a.macs, 218534484375.0);
  EXPECT_EQ(a.mode, "forward");
  EXPECT_EQ(a.device, "cpu");
  EXPECT_EQ(a.provenance["source"], "getzner2023");
  EXPECT_EQ(a.provenance["line"], 2);
  EXPECT_EQ(a.hardware["cpu"], "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz");

  const Measurement& b = r.records[1];
  EXPECT_EQ(b.batch_size, 73);
  EXPECT_EQ(b.input_shape, (Shape{344, 158, 158}));
  EXPECT_EQ(b.params["kernel_size"], json::array({4, 4}));
  EXPECT_EQ(b.params["stride"], json::array({2, 2}));
  EXPECT_EQ(b.params["padding"], json::array({3, 3}));
  EXPECT_EQ(b.repetitions, 3);
  ExpectRel(*b.energy_j, kConv1E);
  ExpectRel(b.duration_s, kConv1T);
  EXPECT_EQ(*b.macs, 1086294141180.0);
  EXPECT_EQ(b.provenance["line"], 5);
}

TEST(CodeCarbonImport, LinearRealRows) {
  auto r = Import(kLinear);
  ASSERT_EQ(r.records.size(), 2u);
  const Measurement& a = r.records[0];
  EXPECT_EQ(a.type, "Linear");
  EXPECT_EQ(a.params["in_features"], 4645);
  EXPECT_EQ(a.params["out_features"], 1920);
  EXPECT_EQ(a.params.value("bias", true), true);
  EXPECT_FALSE(a.params.contains("input_size"));
  EXPECT_EQ(a.input_shape, (Shape{4645}));
  EXPECT_EQ(a.batch_size, 472);
  EXPECT_EQ(a.repetitions, 3);
  ExpectRel(*a.energy_j, kLin0E);
  ExpectRel(a.duration_s, kLin0T);
  const Measurement& b = r.records[1];
  EXPECT_EQ(b.params["in_features"], 2960);
  EXPECT_EQ(b.params["out_features"], 3587);
  EXPECT_EQ(b.batch_size, 385);
  ExpectRel(*b.energy_j, kLin1E);
  ExpectRel(b.duration_s, kLin1T);
}

TEST(CodeCarbonImport, EnergyColumnOption) {
  // energy_consumed of the first conv2d row (line 2): 0.0037006141684178 kWh over 6 passes;
  // rows 3-4: 0.0037103485400098, 0.0037020519370546.
  // mean = (0.0037006141684178 + 0.0037103485400098 + 0.0037020519370546) / 3 / 6 * 3.6e6
  const double expected =
      (0.0037006141684178 + 0.0037103485400098 + 0.0037020519370546) / 3.0 / 6.0 * 3.6e6;
  CodeCarbonImportOptions opt;
  opt.energy_column = "energy_consumed";
  auto r = Import(kConv, nullptr, opt);
  ASSERT_EQ(r.records.size(), 2u);
  ExpectRel(*r.records[0].energy_j, expected);
}

TEST(CodeCarbonImport, PerRowLogDropsOneRepetition) {
  SlurmLog log = ReadSlurmLog(kRowLog);
  auto r = Import(kConv, &log);
  EXPECT_EQ(r.rows, 6u);
  EXPECT_EQ(r.rows_dropped_by_log, 1u);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].repetitions, 3);
  ExpectRel(*r.records[0].energy_j, kConv0E);
  EXPECT_EQ(r.records[1].repetitions, 2);
  ExpectRel(*r.records[1].energy_j, kConv1ENoRep2);
  ExpectRel(r.records[1].duration_s, kConv1TNoRep2);
}

TEST(CodeCarbonImport, ProgressBarLogDropsTheWholeConfiguration) {
  SlurmLog log = ReadSlurmLog(kBarLog);
  auto r = Import(kConv, &log);
  EXPECT_EQ(r.rows_dropped_by_log, 3u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].batch_size, 123);
  ExpectRel(*r.records[0].energy_j, kConv0E);
}

TEST(CodeCarbonImport, LogWithoutSectionForTheModuleThrows) {
  SlurmLog log;
  log.path = "x.out";
  log.sections = {SlurmSection{"relu", {}, {}, 0}, SlurmSection{"sigmoid", {}, {}, 0}};
  EXPECT_THROW(Import(kConv, &log), std::runtime_error);
}

TEST(CodeCarbonImport, MalformedRowsAreSkippedWithWarnings) {
  // malformed.csv: line 1 header, lines 2-4 a valid Linear configuration (the real rows of
  // linear_2configs.csv), then one broken copy of the real line 5 each:
  //   5 cpu_energy "abc", 6 no forward_passes, 7 forward_passes:0, 8 a field short, 9 module
  //   Conv3d.
  auto r = Import(kMalformed);
  EXPECT_EQ(r.rows, 8u);
  EXPECT_EQ(r.rows_malformed, 5u);
  ASSERT_EQ(r.records.size(), 1u);
  ExpectRel(*r.records[0].energy_j, kLin0E);
  EXPECT_EQ(r.records[0].repetitions, 3);
  ASSERT_EQ(r.warnings.size(), 5u);
  const std::string p = kMalformed + ":";
  EXPECT_EQ(r.warnings[0].rfind(p + "5: ", 0), 0u) << r.warnings[0];
  EXPECT_NE(r.warnings[0].find("cpu_energy"), std::string::npos) << r.warnings[0];
  EXPECT_NE(r.warnings[0].find("'abc'"), std::string::npos) << r.warnings[0];
  EXPECT_EQ(r.warnings[1].rfind(p + "6: ", 0), 0u) << r.warnings[1];
  EXPECT_NE(r.warnings[1].find("forward_passes"), std::string::npos) << r.warnings[1];
  EXPECT_EQ(r.warnings[2], p + "7: forward_passes must be >= 1, got 0");
  EXPECT_EQ(r.warnings[3], p + "8: row has 21 fields, header has 22");
  EXPECT_EQ(r.warnings[4], p + "9: unknown module 'Conv3d' with layer parameters");
}

TEST(CodeCarbonImport, StrictModeThrowsTheFirstWarning) {
  CodeCarbonImportOptions opt;
  opt.strict = true;
  try {
    Import(kMalformed, nullptr, opt);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(kMalformed + ":5: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("cpu_energy"), std::string::npos) << msg;
  }
}

TEST(CodeCarbonImport, AllMalformedGivesNoRecords) {
  auto r = Import(kAllMalformed);
  EXPECT_EQ(r.rows, 3u);
  EXPECT_EQ(r.rows_malformed, 3u);
  EXPECT_TRUE(r.records.empty());
}

TEST(CodeCarbonImport, MissingColumnThrows) {
  try {
    Import(kMissingColumn);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), kMissingColumn + ": missing column 'project_name'");
  }
  CodeCarbonImportOptions opt;
  opt.energy_column = "no_such_column";
  try {
    Import(kConv, nullptr, opt);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), kConv + ": missing column 'no_such_column'");
  }
}

TEST(CodeCarbonImport, MissingFileThrows) {
  const std::string p = kCodecarbonData + "/does_not_exist.csv";
  try {
    Import(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), p + ": cannot open file");
  }
}

TEST(CodeCarbonImport, ResultsAppendAcrossFiles) {
  CodeCarbonImportResult r;
  ImportCodeCarbonFile(kConv, nullptr, {}, r);
  ImportCodeCarbonFile(kLinear, nullptr, {}, r);
  EXPECT_EQ(r.rows, 12u);
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records[2].type, "Linear");
}

LayerInstance FakeConv(const std::string& name) {
  LayerInstance l;
  l.name = name;
  l.type = "Conv2d";
  l.params = {{"in_channels", 3}, {"out_channels", 64}, {"kernel_size", {3, 3}},
              {"stride", {1, 1}}, {"padding", {1, 1}},  {"dilation", {1, 1}},
              {"groups", 1},      {"bias", true}};
  l.input_shape = {3, 224, 224};
  l.output_shape = {64, 224, 224};
  return l;
}

TEST(CodeCarbonImport, LayerwiseRows) {
  std::vector<std::pair<std::string, std::size_t>> calls;
  CodeCarbonImportOptions opt;
  opt.resolve_layer = [&](const std::string& arch, std::size_t leaf) {
    calls.emplace_back(arch, leaf);
    return FakeConv("features.0");
  };
  auto r = Import(kLayerwise, nullptr, opt);
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(r.records.size(), 2u);

  // layer_idx 0: the whole network, typed by its architecture name.
  const Measurement& net = r.records[0];
  EXPECT_EQ(net.type, "vgg16");
  EXPECT_EQ(net.batch_size, 194);
  EXPECT_EQ(net.input_shape, (Shape{3, 224, 224}));
  EXPECT_EQ(net.context["architecture"], "vgg16");
  EXPECT_EQ(*net.macs, 3007683520976.0);
  ExpectRel(*net.energy_j, kVggE);
  ExpectRel(net.duration_s, kVggT);

  // layer_idx 1 (1-based) -> leaf 0 of the zoo network.
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (std::pair<std::string, std::size_t>{"vgg16", 0}));
  const Measurement& conv = r.records[1];
  EXPECT_EQ(conv.type, "Conv2d");
  EXPECT_EQ(conv.params["out_channels"], 64);
  EXPECT_EQ(conv.input_shape, (Shape{3, 224, 224}));
  EXPECT_EQ(conv.batch_size, 194);
  EXPECT_EQ(conv.context["architecture"], "vgg16");
  EXPECT_EQ(conv.context["layer_name"], "features.0");
  ExpectRel(*conv.energy_j, kVggConvE);
  ExpectRel(conv.duration_s, kVggConvT);
}

TEST(CodeCarbonImport, LayerwiseTypeMismatchIsAWarning) {
  CodeCarbonImportOptions opt;
  opt.resolve_layer = [](const std::string&, std::size_t) {
    LayerInstance l;
    l.name = "features.1";
    l.type = "ReLU";
    l.params = {{"inplace", true}};
    l.input_shape = {64, 224, 224};
    return l;
  };
  auto r = Import(kLayerwise, nullptr, opt);
  ASSERT_EQ(r.records.size(), 1u);  // only the whole network
  EXPECT_EQ(r.records[0].type, "vgg16");
  EXPECT_EQ(r.rows_malformed, 1u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            kLayerwise +
                ":5: layer_idx 1 of vgg16 is ReLU (features.1) in the zoo but the row says Conv2d");
}

TEST(CodeCarbonImport, LayerwiseWithoutResolverIsAWarning) {
  auto r = Import(kLayerwise);
  ASSERT_EQ(r.records.size(), 1u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].rfind(kLayerwise + ":5: ", 0), 0u) << r.warnings[0];
}

// ---- rows built in the test (hand-broken variants of real rows) ---------------------------------

class CodeCarbonTempTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_cc_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  fs::path dir_;
};

const std::string kMiniHeader = "timestamp,project_name,duration,cpu_energy\n";
std::string MiniRow(int rep, double cpu_kwh, int batch = 10, const std::string& extra = "") {
  return "2022-12-22T03:26:18,\"module:Linear,rep_no:" + std::to_string(rep) +
         ",macs:10,batch_size:" + std::to_string(batch) + ",input_size:3,output_size:2" + extra +
         ",freeText:,forward_passes:2\",1.0," + std::to_string(cpu_kwh) + "\n";
}

TEST_F(CodeCarbonTempTest, CrlfFileImports) {
  // One configuration, 3 reps with cpu_energy 1e-6, 2e-6, 3e-6 kWh over 2 passes:
  // mean = 2e-6 / 2 * 3.6e6 = 3.6 J; duration 1.0 / 2 = 0.5 s.
  std::string text = kMiniHeader + MiniRow(1, 1e-6) + MiniRow(2, 2e-6) + MiniRow(3, 3e-6);
  std::string crlf;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  CodeCarbonImportResult r;
  ImportCodeCarbonFile(Write("crlf.csv", crlf), nullptr, {}, r);
  ASSERT_EQ(r.records.size(), 1u);
  ExpectRel(*r.records[0].energy_j, 3.6);
  EXPECT_DOUBLE_EQ(r.records[0].duration_s, 0.5);
  EXPECT_EQ(r.records[0].repetitions, 3);
}

TEST_F(CodeCarbonTempTest, ConsecutiveConfigsAreSplitOnRepNo1) {
  // Two configurations with identical parameters measured back to back: rep_no restarting at 1
  // starts a new configuration (6 rows -> 2 records).
  std::string text = kMiniHeader;
  for (int c = 0; c < 2; ++c) {
    for (int rep = 1; rep <= 3; ++rep) text += MiniRow(rep, 1e-6 * (c + 1));
  }
  CodeCarbonImportResult r;
  ImportCodeCarbonFile(Write("twin.csv", text), nullptr, {}, r);
  ASSERT_EQ(r.records.size(), 2u);
  ExpectRel(*r.records[0].energy_j, 1.8);  // 1e-6 / 2 * 3.6e6
  ExpectRel(*r.records[1].energy_j, 3.6);  // 2e-6 / 2 * 3.6e6
}

TEST_F(CodeCarbonTempTest, MalformedRepetitionDoesNotSplitItsConfiguration) {
  // Config 0: reps 1 and 3 valid (1e-6, 3e-6 kWh), rep 2 broken (cpu_energy "x").
  // Config 1: three valid reps of 4e-6 kWh.
  // Expected: 2 records; config 0 averaged over its 2 valid reps: (1e-6 + 3e-6) / 2 / 2 * 3.6e6
  // = 3.6 J.
  std::string bad = MiniRow(2, 0);
  bad.replace(bad.rfind(",0.000000"), 9, ",x");
  std::string text = kMiniHeader + MiniRow(1, 1e-6) + bad + MiniRow(3, 3e-6) +
                     MiniRow(1, 4e-6, 20) + MiniRow(2, 4e-6, 20) + MiniRow(3, 4e-6, 20);
  CodeCarbonImportResult r;
  ImportCodeCarbonFile(Write("gap.csv", text), nullptr, {}, r);
  EXPECT_EQ(r.rows_malformed, 1u);
  ASSERT_EQ(r.records.size(), 2u)
      << "a broken repetition split its configuration into several records";
  EXPECT_EQ(r.records[0].repetitions, 2);
  ExpectRel(*r.records[0].energy_j, 3.6);
  EXPECT_EQ(r.records[1].batch_size, 20);
}

TEST_F(CodeCarbonTempTest, MalformedRepetitionKeepsProgressBarNumbering) {
  // Same file as above; the progress-bar log marks configuration 1 (0-based) bad. Only the
  // batch-20 configuration may be dropped, whatever happened to a row of configuration 0.
  std::string bad = MiniRow(2, 0);
  bad.replace(bad.rfind(",0.000000"), 9, ",x");
  std::string text = kMiniHeader + MiniRow(1, 1e-6) + bad + MiniRow(3, 3e-6) +
                     MiniRow(1, 4e-6, 20) + MiniRow(2, 4e-6, 20) + MiniRow(3, 4e-6, 20);
  SlurmLog log;
  log.path = "bar.out";
  log.sections = {SlurmSection{"linear", {}, {1}, 1}};
  CodeCarbonImportResult r;
  ImportCodeCarbonFile(Write("gap.csv", text), &log, {}, r);
  EXPECT_EQ(r.rows_dropped_by_log, 3u);
  for (const auto& m : r.records)
    EXPECT_EQ(m.batch_size, 10) << "configuration 1 (batch 20) should be dropped";
}

TEST_F(CodeCarbonTempTest, NegativeEnergyAndZeroDurationAreMalformed) {
  std::string neg = MiniRow(1, -1e-6);
  std::string zero_dur = MiniRow(1, 1e-6, 11);
  zero_dur.replace(zero_dur.find("\",1.0,"), 6, "\",0,");
  CodeCarbonImportResult r;
  std::string p = Write("neg.csv", kMiniHeader + neg + zero_dur);
  ImportCodeCarbonFile(p, nullptr, {}, r);
  EXPECT_TRUE(r.records.empty());
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0].rfind(p + ":2: ", 0), 0u) << r.warnings[0];
  EXPECT_EQ(r.warnings[1].rfind(p + ":3: ", 0), 0u) << r.warnings[1];
}

TEST_F(CodeCarbonTempTest, EmptyFileThrows) {
  std::string p = Write("empty.csv", "");
  CodeCarbonImportResult r;
  EXPECT_THROW(ImportCodeCarbonFile(p, nullptr, {}, r), std::runtime_error);
}

// ---- LayerFromGetznerFields
// ----------------------------------------------------------------------

TEST(LayerFromGetznerFields, MaxPoolAndActivations) {
  std::int64_t b = 0;
  // raw/maxpool2d/00_maxpool2d-raw.csv line 2
  LayerInstance mp = LayerFromGetznerFields("MaxPool2d",
                                            {{"macs", "938070540"},
                                             {"batch_size", "110"},
                                             {"image_size", "152"},
                                             {"kernel_size", "6"},
                                             {"in_channels", "493"},
                                             {"stride", "5"},
                                             {"padding", "3"},
                                             {"freeText", ""}},
                                            &b);
  EXPECT_EQ(b, 110);
  EXPECT_EQ(mp.type, "MaxPool2d");
  EXPECT_EQ(mp.input_shape, (Shape{493, 152, 152}));
  EXPECT_EQ(mp.params["kernel_size"], json::array({6, 6}));
  EXPECT_EQ(mp.params["stride"], json::array({5, 5}));
  EXPECT_EQ(mp.params["padding"], json::array({3, 3}));
  // Ho = (152 + 2*3 - 6) / 5 + 1 = 152 / 5 + 1 = 30 + 1 = 31
  EXPECT_EQ(mp.output_shape, (Shape{493, 31, 31}));

  // raw/activations/00_relu-raw.csv line 2
  LayerInstance relu = LayerFromGetznerFields(
      "ReLU",
      {{"macs", "795076168"}, {"batch_size", "173"}, {"input_size", "4595816"}, {"freeText", ""}},
      &b);
  EXPECT_EQ(b, 173);
  EXPECT_EQ(relu.type, "ReLU");
  EXPECT_EQ(relu.input_shape, (Shape{4595816}));
  EXPECT_EQ(relu.params.value("inplace", true), false);
}

TEST(LayerFromGetznerFields, Errors) {
  std::int64_t b = 0;
  EXPECT_THROW(LayerFromGetznerFields("Linear", {{"batch_size", "3"}, {"input_size", "5"}}, &b),
               std::invalid_argument);  // no output_size
  EXPECT_THROW(LayerFromGetznerFields(
                   "Linear", {{"batch_size", "0"}, {"input_size", "5"}, {"output_size", "2"}}, &b),
               std::invalid_argument);
  EXPECT_THROW(
      LayerFromGetznerFields(
          "Linear", {{"batch_size", "2.5"}, {"input_size", "5"}, {"output_size", "2"}}, &b),
      std::invalid_argument);
  try {
    LayerFromGetznerFields("Conv2d",
                           {{"batch_size", "3"},
                            {"image_size", "5"},
                            {"kernel_size", "7"},
                            {"in_channels", "1"},
                            {"out_channels", "1"},
                            {"stride", "1"},
                            {"padding", "0"}},
                           &b);
    FAIL() << "kernel 7 on a 5x5 image without padding";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("kernel_size"), std::string::npos) << e.what();
  }
  try {
    LayerFromGetznerFields("Linear", {{"batch_size", "3"}, {"input_size", "5"}}, &b);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("output_size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace joulecast
