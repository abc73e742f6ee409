#include "joulecast/io/measurement.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace joulecast {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Measurement Full() {
  Measurement m;
  m.type = "Conv2d";
  m.params = {{"in_channels", 80}, {"out_channels", 29}, {"kernel_size", {7, 7}},
              {"stride", {1, 1}},  {"padding", {2, 2}},  {"dilation", {1, 1}},
              {"groups", 1},       {"bias", true}};
  m.batch_size = 123;
  m.input_shape = {80, 127, 127};
  m.dtype = "float32";
  m.mode = "train_step";
  m.device = "cuda:0";
  m.hardware = {{"cpu", "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz"}, {"cores", 2}};
  m.repetitions = 3;
  m.duration_s = 5.7887165811326771;
  m.energy_j = 436.61945040635999;
  m.energy_j_std = 1.0717436577052946;
  m.duration_s_std = 0.014475421426659718;
  m.macs = 218534484375.0;
  m.meter = "codecarbon:cpu_energy";
  m.idle_power_w = 30.5;
  m.context = {{"architecture", "alexnet"}, {"layer_index", 0}};
  m.provenance = {{"source", "getzner2023"}, {"seed", 7}, {"timestamp", "2022-12-22T03:26:18"}};
  return m;
}

void ExpectSame(const Measurement& a, const Measurement& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_EQ(a.input_shape, b.input_shape);
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.hardware, b.hardware);
  EXPECT_EQ(a.repetitions, b.repetitions);
  EXPECT_EQ(a.duration_s, b.duration_s);  // exact: JSON numbers round-trip doubles
  EXPECT_EQ(a.energy_j, b.energy_j);
  EXPECT_EQ(a.energy_j_std, b.energy_j_std);
  EXPECT_EQ(a.duration_s_std, b.duration_s_std);
  EXPECT_EQ(a.macs, b.macs);
  EXPECT_EQ(a.meter, b.meter);
  EXPECT_EQ(a.idle_power_w, b.idle_power_w);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.provenance, b.provenance);
}

TEST(Measurement, JsonRoundTripOfAFullRecord) {
  const Measurement m = Full();
  json j = ToJson(m);
  EXPECT_EQ(j["format_version"], kMeasurementFormatVersion);
  EXPECT_EQ(j["type"], "Conv2d");
  EXPECT_EQ(j["energy_j"], 436.61945040635999);
  ExpectSame(MeasurementFromJson(j, "x"), m);
  // Through text as well.
  ExpectSame(MeasurementFromJson(json::parse(j.dump()), "x"), m);
}

TEST(Measurement, OptionalFieldsRoundTripAsNull) {
  Measurement m;
  m.type = "ReLU";
  m.batch_size = 4;
  m.input_shape = {10};
  m.duration_s = 0.25;
  json j = ToJson(m);
  EXPECT_TRUE(j["energy_j"].is_null());
  EXPECT_TRUE(j["macs"].is_null());
  Measurement back = MeasurementFromJson(j, "x");
  EXPECT_FALSE(back.energy_j);
  EXPECT_FALSE(back.energy_j_std);
  EXPECT_FALSE(back.macs);
  EXPECT_FALSE(back.idle_power_w);
  EXPECT_EQ(back.mode, "forward");
  EXPECT_EQ(back.duration_s, 0.25);
}

TEST(Measurement, MinimalRecordTakesDefaults) {
  Measurement m = MeasurementFromJson(
      json::parse(R"({"type": "Linear", "batch_size": 2, "duration_s": 1e-3})"), "w");
  EXPECT_EQ(m.type, "Linear");
  EXPECT_EQ(m.batch_size, 2);
  EXPECT_EQ(m.duration_s, 1e-3);
  EXPECT_EQ(m.mode, "forward");
  EXPECT_EQ(m.dtype, "float32");
  EXPECT_EQ(m.repetitions, 1);
  EXPECT_FALSE(m.energy_j);
}

std::string ParseErrorOf(const std::string& text) {
  try {
    MeasurementFromJson(json::parse(text), "f.jsonl:7");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(Measurement, FromJsonErrors) {
  const std::string base = R"("batch_size": 2, "duration_s": 0.1)";
  EXPECT_EQ(ParseErrorOf("{" + base + "}"), "f.jsonl:7: missing field 'type'");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "duration_s": 0.1})"),
            "f.jsonl:7: missing field 'batch_size'");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "batch_size": 2})"),
            "f.jsonl:7: missing field 'duration_s'");
  EXPECT_EQ(ParseErrorOf(R"({"type": 3, )" + base + "}"),
            "f.jsonl:7: field 'type' must be a string");
  EXPECT_EQ(ParseErrorOf(R"({"type": "", )" + base + "}"), "f.jsonl:7: field 'type' is empty");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "batch_size": 0, "duration_s": 0.1})"),
            "f.jsonl:7: field 'batch_size' must be a positive integer, got 0");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "batch_size": 2.5, "duration_s": 0.1})"),
            "f.jsonl:7: field 'batch_size' must be a positive integer, got 2.5");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "batch_size": -3, "duration_s": 0.1})"),
            "f.jsonl:7: field 'batch_size' must be a positive integer, got -3");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "energy_j": "nan", )" + base + "}"),
            "f.jsonl:7: field 'energy_j' must be a number");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "duration_s": "0.1", "batch_size": 2})"),
            "f.jsonl:7: field 'duration_s' must be a number");
  EXPECT_TRUE(StartsWith(ParseErrorOf(R"({"type": "Linear", "energy_j": -1.5, )" + base + "}"),
                         "f.jsonl:7: field 'energy_j' must be finite and >= 0"));
  EXPECT_TRUE(StartsWith(ParseErrorOf(R"({"type": "Linear", "batch_size": 2, "duration_s": -0.1})"),
                         "f.jsonl:7: field 'duration_s' must be finite and >= 0"));
  EXPECT_TRUE(StartsWith(ParseErrorOf(R"({"type": "Linear", "macs": -1, )" + base + "}"),
                         "f.jsonl:7: field 'macs' must be finite and >= 0"));
  EXPECT_EQ(
      ParseErrorOf(R"({"type": "Linear", "mode": "backward", )" + base + "}"),
      "f.jsonl:7: field 'mode' must be 'forward', 'train_step' or 'input_grad', got 'backward'");
  EXPECT_TRUE(StartsWith(ParseErrorOf(R"({"format_version": 2, "type": "Linear", )" + base + "}"),
                         "f.jsonl:7: unsupported format_version 2"));
  EXPECT_TRUE(StartsWith(ParseErrorOf(R"({"format_version": "1", "type": "Linear", )" + base + "}"),
                         "f.jsonl:7: unsupported format_version \"1\""));
  EXPECT_TRUE(StartsWith(ParseErrorOf(R"({"type": "Linear", "input_shape": [3, 0], )" + base + "}"),
                         "f.jsonl:7: field 'input_shape' must hold positive integers"));
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "input_shape": 3, )" + base + "}"),
            "f.jsonl:7: field 'input_shape' must be an array");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "params": [1], )" + base + "}"),
            "f.jsonl:7: field 'params' must be an object");
  EXPECT_EQ(ParseErrorOf(R"({"type": "Linear", "repetitions": 0, )" + base + "}"),
            "f.jsonl:7: field 'repetitions' must be a positive integer, got 0");
  EXPECT_EQ(ParseErrorOf("[1, 2]"), "f.jsonl:7: a measurement must be a JSON object");
  EXPECT_EQ(
      ParseErrorOf(R"({"type": "MatMul", "context": {"output_shape": [4, -1]}, )" + base + "}"),
      "f.jsonl:7: field 'context.output_shape' must hold positive integers, got [4,-1]");
  EXPECT_EQ(ParseErrorOf(R"({"type": "MatMul", "context": {"output_shape": "4x4"}, )" + base + "}"),
            "f.jsonl:7: field 'context.output_shape' must hold positive integers, got \"4x4\"");
}

// The layer a fit sees has the output shape the collector recorded, as the layer a prediction
// from a graph has (a product's features read it); records without one leave it empty.
TEST(Measurement, LayerOfTakesTheRecordedOutputShape) {
  const Measurement m = MeasurementFromJson(
      nlohmann::json::parse(R"({"type": "MatMul", "params": {"m": 197, "k": 64, "n": 197},
          "batch_size": 2, "input_shape": [12, 197, 64], "duration_s": 0.01,
          "context": {"output_shape": [12, 197, 197]}})"),
      "f.jsonl:1");
  const LayerInstance l = LayerOf(m);
  EXPECT_EQ(l.input_shape, (Shape{12, 197, 64}));
  EXPECT_EQ(l.output_shape, (Shape{12, 197, 197}));
  Measurement bare = m;
  bare.context = nlohmann::json::object();
  EXPECT_TRUE(LayerOf(bare).output_shape.empty());
}

TEST(Measurement, HugeIntegerBatchSizeIsRejectedNotWrapped) {
  // 2^64 - 1 parses as an unsigned JSON integer; read as int64 it would wrap to -1.
  std::string e =
      ParseErrorOf(R"({"type": "Linear", "batch_size": 18446744073709551615, "duration_s": 0.1})");
  EXPECT_TRUE(StartsWith(e, "f.jsonl:7: field 'batch_size' must be a positive integer")) << e;
  // 2^63 wraps to INT64_MIN.
  e = ParseErrorOf(R"({"type": "Linear", "batch_size": 9223372036854775808, "duration_s": 0.1})");
  EXPECT_TRUE(StartsWith(e, "f.jsonl:7: field 'batch_size' must be a positive integer")) << e;
}

class MeasurementFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_meas_" + std::to_string(::getpid()) + "_" +
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

TEST_F(MeasurementFileTest, WriteThenReadSkipsBlankLines) {
  std::ostringstream out;
  WriteMeasurement(out, Full());
  Measurement second = Full();
  second.type = "Linear";
  second.energy_j.reset();
  WriteMeasurement(out, second);
  std::string text = out.str();
  // Exactly two newline-terminated lines.
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  std::string p = Write("m.jsonl", "\n" + text.substr(0, text.find('\n') + 1) + "   \r\n" +
                                       text.substr(text.find('\n') + 1));
  auto recs = ReadMeasurements(p);
  ASSERT_EQ(recs.size(), 2u);
  ExpectSame(recs[0], Full());
  EXPECT_EQ(recs[1].type, "Linear");
  EXPECT_FALSE(recs[1].energy_j);
}

TEST_F(MeasurementFileTest, InvalidJsonNamesPathAndLine) {
  std::ostringstream out;
  WriteMeasurement(out, Full());
  std::string p = Write("bad.jsonl", out.str() + "\n{\"type\": \"Linear\", \n");
  try {
    ReadMeasurements(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(StartsWith(e.what(), p + ":3: invalid JSON")) << e.what();
  }
}

TEST_F(MeasurementFileTest, NanLiteralIsInvalidJson) {
  std::string p = Write("nan.jsonl", R"({"type": "Linear", "batch_size": 2, "duration_s": NaN})"
                                     "\n");
  try {
    ReadMeasurements(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(StartsWith(e.what(), p + ":1: invalid JSON")) << e.what();
  }
}

TEST_F(MeasurementFileTest, BadFieldNamesPathAndLine) {
  std::string p =
      Write("neg.jsonl", R"({"type": "Linear", "batch_size": 2, "duration_s": 0.1})"
                         "\n"
                         R"({"type": "Linear", "batch_size": 2, "duration_s": 0.1, "energy_j": -2})"
                         "\n");
  try {
    ReadMeasurements(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(StartsWith(e.what(), p + ":2: field 'energy_j' must be finite and >= 0"))
        << e.what();
  }
}

TEST_F(MeasurementFileTest, MissingFile) {
  std::string p = (dir_ / "none.jsonl").string();
  try {
    ReadMeasurements(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), p + ": cannot open file");
  }
}

TEST_F(MeasurementFileTest, EmptyFileHasNoRecords) {
  EXPECT_TRUE(ReadMeasurements(Write("e.jsonl", "")).empty());
}

TEST(TargetValue, EnergyTimeAndErrors) {
  Measurement m = Full();
  EXPECT_EQ(TargetValue(m, "energy_j"), 436.61945040635999);
  EXPECT_EQ(TargetValue(m, "time_s"), 5.7887165811326771);
  m.energy_j.reset();
  EXPECT_THROW(TargetValue(m, "energy_j"), std::runtime_error);
  EXPECT_EQ(TargetValue(m, "time_s"), 5.7887165811326771);
  EXPECT_THROW(TargetValue(m, "joules"), std::runtime_error);
}

// A record of a kept heap whose runs faulted `faults` fresh pages each, at `page_us` each.
Measurement Faulted(const std::string& heap, double faults, double page_us) {
  Measurement m;
  m.type = "ReLU";
  m.duration_s = 0.01;
  m.duration_s_std = 0.002;
  m.energy_j = 0.4;
  m.energy_j_std = 0.04;
  m.hardware = {{"cpu", "AMD EPYC"}, {"fresh_page_us", page_us}};
  m.context = {{"heap", heap}, {"protocol", {{"faults_per_run", faults}, {"runs", 5}}}};
  return m;
}

TEST(FreshPageTime, TakenOffKeptHeapRecordsInClosedForm) {
  // 1000 pages at 2.5 us: 2.5 ms of the 10 ms run; the rest scales by 0.75.
  const Measurement m = Faulted("keep", 1000, 2.5);
  ASSERT_TRUE(FreshPageSeconds(m).has_value());
  EXPECT_DOUBLE_EQ(*FreshPageSeconds(m), 0.0025);
  const Measurement s = WithoutFreshPageTime(m);
  EXPECT_DOUBLE_EQ(s.duration_s, 0.0075);
  EXPECT_DOUBLE_EQ(*s.duration_s_std, 0.002 * 0.75);
  EXPECT_DOUBLE_EQ(*s.energy_j, 0.4 * 0.75);
  EXPECT_DOUBLE_EQ(*s.energy_j_std, 0.04 * 0.75);
  EXPECT_EQ(s.context["protocol"]["faults_per_run"], 0.0);
  EXPECT_DOUBLE_EQ(s.context["protocol"]["fresh_page_s_removed"].get<double>(), 0.0025);
  EXPECT_EQ(s.context["protocol"]["runs"], 5);
  EXPECT_DOUBLE_EQ(*FreshPageSeconds(Faulted("reserve", 1000, 2.5)), 0.0025);
}

TEST(FreshPageTime, LeftAloneWhereItCannotBeTold) {
  // glibc's default heap: a network's own tensors fault as the operator's did.
  const Measurement dflt = Faulted("default", 1000, 2.5);
  EXPECT_FALSE(FreshPageSeconds(dflt).has_value());
  EXPECT_EQ(WithoutFreshPageTime(dflt).duration_s, 0.01);
  Measurement no_heap = Faulted("keep", 1000, 2.5);
  no_heap.context.erase("heap");
  EXPECT_EQ(RecordHeap(no_heap), "default");
  EXPECT_EQ(RecordHeap(Faulted("reserve", 0, 2.5)), "reserve");
  EXPECT_FALSE(FreshPageSeconds(no_heap).has_value());
  Measurement no_page = Faulted("keep", 1000, 2.5);
  no_page.hardware.erase("fresh_page_us");
  EXPECT_FALSE(FreshPageSeconds(no_page).has_value());
  EXPECT_EQ(WithoutFreshPageTime(no_page).duration_s, 0.01);
  Measurement no_faults = Faulted("keep", 1000, 2.5);
  no_faults.context["protocol"].erase("faults_per_run");
  EXPECT_FALSE(FreshPageSeconds(no_faults).has_value());
  // None faulted: nothing to take off, and the record is not marked.
  const Measurement clean = Faulted("keep", 0, 2.5);
  EXPECT_EQ(FreshPageSeconds(clean), 0.0);
  EXPECT_FALSE(WithoutFreshPageTime(clean).context["protocol"].contains("fresh_page_s_removed"));
  // Pages said to cost the whole run or more: the page cost does not describe these runs.
  const Measurement over = Faulted("keep", 4000, 2.5);
  EXPECT_DOUBLE_EQ(*FreshPageSeconds(over), 0.01);
  EXPECT_EQ(WithoutFreshPageTime(over).duration_s, 0.01);
  EXPECT_EQ(WithoutFreshPageTime(over).context["protocol"]["faults_per_run"], 4000.0);
}

}  // namespace
}  // namespace joulecast
