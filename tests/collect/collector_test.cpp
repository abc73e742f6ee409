// The collection loop (collect/collector.h) with a fake runner and fake meters: what a record
// holds, meter "none" stated, energy and idle power with a meter, failures, Ctrl-C after the
// record in flight, the progress bar (only on a terminal) and the timing summary.
#include "joulecast/collect/collector.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "joulecast/collect/config_sampler.h"
#include "joulecast/features/layer_features.h"
#include "joulecast/features/macs.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

// A meter that "uses" a fixed number of joules between Start and Stop.
class FixedMeter : public EnergyMeter {
 public:
  explicit FixedMeter(double joules) : joules_(joules) {}
  std::string name() const override { return "fixed"; }
  bool has_energy() const override { return true; }
  void Start() override { ++starts; }
  double Stop() override {
    ++stops;
    return joules_;
  }
  nlohmann::json Describe() const override { return {{"domains", {"fake"}}}; }
  int starts = 0, stops = 0;

 private:
  double joules_;
};

RunResult FakeResult() {
  RunResult r;
  r.samples_s = {0.004, 0.001, 0.003, 0.002, 0.005};  // median 3 ms
  r.runs = 10;
  r.runs_per_sample = 2;
  r.warmup_runs = 4;
  r.warmup_settled = false;
  r.faults_per_run = 12.5;
  r.elapsed_s = 0.03;
  r.threads = 1;
  return r;
}

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_collector_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "out.jsonl").string();
    StopRequest::Reset();
  }
  void TearDown() override { fs::remove_all(dir_); }

  CollectRun Run(MeasurementStore* store, EnergyMeter* meter) {
    CollectRun run;
    run.configs = &configs_;
    run.store = store;
    run.meter = meter;
    run.hardware = {{"cpu", "Test CPU"}};
    // The machine's own /proc/stat would add a "disturbed" warning whenever ctest -j runs another
    // test beside this one; tests that are about the load set their own readings.
    run.cpu_times = [] { return CpuTimes{}; };
    run.measure = [this](const nlohmann::json& request, const PhaseFn& phase) {
      requests_.push_back(request);
      phase(0);
      phase(1);
      return FakeResult();
    };
    return run;
  }
  std::vector<CollectConfig> configs_ = SampleConfigs("Conv2d", 4, 1);
  std::vector<nlohmann::json> requests_;
  fs::path dir_;
  std::string path_;
};

TEST_F(CollectorTest, RecordsHowBusyTheRestOfTheMachineWas) {
  MeasurementStore store(path_, nullptr);
  NoMeter meter;
  CollectRun run = Run(&store, &meter);
  // Readings alternate before/after: 100 ticks of wall time per configuration on 2 CPUs, the
  // machine 150 ticks busier, this process 50 of them: others kept 1.0 CPU busy; sample 2's
  // interval is quiet (others 0.1 CPU).
  int call = 0;
  run.cpu_times = [&call] {
    const int config = call / 2, after = call % 2;
    ++call;
    CpuTimes t;
    t.ok = true;
    t.cpus = 2;
    t.total = 200.0 * (config * 2 + after);
    t.busy = config * 1000.0 + after * (config == 2 ? 60.0 : 150.0);
    t.self = config * 1000.0 + after * 50.0;
    t.steal = after * 5.0;
    return t;
  };
  std::vector<std::string> warnings;
  run.warn = [&warnings](const std::string& m) { warnings.push_back(m); };
  const CollectStats st = RunCollection(run);
  EXPECT_EQ(st.measured, 4);
  EXPECT_EQ(st.disturbed, 3);
  ASSERT_EQ(warnings.size(), 1u);  // the first disturbed record is named, the rest counted
  EXPECT_NE(warnings[0].find("other processes kept 1.00 CPUs busy while it was measured"),
            std::string::npos)
      << warnings[0];
  std::ifstream in(path_);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const nlohmann::json p = nlohmann::json::parse(line)["context"]["protocol"];
    EXPECT_DOUBLE_EQ(p["other_cpus_busy"].get<double>(), n == 2 ? 0.1 : 1.0) << line;
    EXPECT_DOUBLE_EQ(p["steal_cpus"].get<double>(), 0.05);
    ++n;
  }
  EXPECT_EQ(n, 4);
  // Without readable accounting the records simply lack the fields.
  fs::remove(path_);
  MeasurementStore store2(path_, nullptr);
  CollectRun quiet = Run(&store2, &meter);
  quiet.cpu_times = [] { return CpuTimes{}; };
  EXPECT_EQ(RunCollection(quiet).disturbed, 0);
  std::ifstream in2(path_);
  ASSERT_TRUE(std::getline(in2, line));
  EXPECT_FALSE(nlohmann::json::parse(line)["context"]["protocol"].contains("other_cpus_busy"));
}

TEST_F(CollectorTest, RecordsWithoutAMeterStateNone) {
  MeasurementStore store(path_, nullptr);
  NoMeter meter;
  CollectRun run = Run(&store, &meter);
  run.settings.mode = "train_step";
  run.settings.seed = 9;
  run.settings.min_seconds = 0.5;
  const CollectStats st = RunCollection(run);
  EXPECT_EQ(st.total, 4);
  EXPECT_EQ(st.measured, 4);
  EXPECT_EQ(st.failed, 0);
  double wall = 0;
  {
    std::ifstream records(path_);
    for (std::string l; std::getline(records, l);)
      wall += nlohmann::json::parse(l)["context"]["protocol"]["wall_s"].get<double>();
  }
  EXPECT_DOUBLE_EQ(st.recorded_wall_s, wall);  // what calibrate's budget counts
  // FakeResult's warm-up ended unsettled; counted where the kept heap is in force (SettlesHeap).
  EXPECT_EQ(st.unsettled, KeepPolicyTakesEffect() ? 4 : 0);
  std::ifstream in(path_);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    SCOPED_TRACE(line);
    const nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["meter"], "none");  // stated in every record
    EXPECT_TRUE(j["energy_j"].is_null());
    EXPECT_TRUE(j["idle_power_w"].is_null());
    EXPECT_EQ(j["duration_s"], 0.003);  // the median of the samples
    EXPECT_EQ(j["repetitions"], 5);
    EXPECT_EQ(j["mode"], "train_step");
    EXPECT_EQ(j["hardware"]["cpu"], "Test CPU");
    EXPECT_EQ(j["hardware"]["threads"], 1);
    EXPECT_EQ(j["context"]["threads"], 1);
    EXPECT_EQ(j["context"]["heap"], "keep");  // the default policy (collect/heap.h)
    EXPECT_EQ(j["context"]["sample"], n);
    EXPECT_NEAR(j["context"]["spread"]["iqr_over_median"].get<double>(), 2.0 / 3.0, 1e-9);
    EXPECT_EQ(j["context"]["protocol"]["runs"], 10);
    EXPECT_EQ(j["context"]["protocol"]["runs_per_sample"], 2);
    EXPECT_EQ(j["context"]["protocol"]["warmup_runs"], 4);
    EXPECT_EQ(j["context"]["protocol"]["warmup_settled"], false);
    EXPECT_EQ(j["context"]["protocol"]["faults_per_run"], 12.5);
    EXPECT_EQ(j["context"]["protocol"]["min_seconds"], 0.5);
    EXPECT_EQ(j["provenance"]["source"], "joulecast collect");
    EXPECT_EQ(j["provenance"]["seed"], 9);
    EXPECT_EQ(j["provenance"]["shard"], "0/1");
    EXPECT_EQ(j["macs"].get<double>(),
              CountLayer(configs_[static_cast<std::size_t>(n)].layer,
                         configs_[static_cast<std::size_t>(n)].batch_size)
                  .macs);
    ++n;
  }
  EXPECT_EQ(n, 4);
  ASSERT_EQ(requests_.size(), 4u);
  EXPECT_EQ(requests_[0]["mode"], "train_step");
  EXPECT_EQ(requests_[0]["layer"]["type"], "Conv2d");
  EXPECT_EQ(requests_[0]["min_seconds"], 0.5);
}

// What `fit` sees of a record (the file's JSON read back, LayerOf) has the features the resolver
// gives the same node in a prediction (the configuration's layer): for operators whose output is
// not their input's shape (products, lookups) a fit that derived the output from the input
// learnt other features than predictions asked for.
TEST(RecordSkeleton, ItsLayerHasTheFeaturesAPredictionSees) {
  CollectSettings settings;
  for (const char* type : {"MatMul", "Einsum", "Embedding", "Linear", "Conv2d", "LayerNorm"}) {
    for (std::int64_t i = 0; i < 25; ++i) {
      const CollectConfig c = SampleConfig(type, 7, i, SamplerOptions{});
      const Measurement read = MeasurementFromJson(ToJson(RecordSkeleton(c, settings)), "r");
      const std::string recipe = DefaultRecipe(type);
      const Eigen::RowVectorXd fit = ComputeFeatures(recipe, LayerOf(read), read.batch_size);
      const Eigen::RowVectorXd predict = ComputeFeatures(recipe, c.layer, c.batch_size);
      ASSERT_EQ(fit.size(), predict.size());
      EXPECT_TRUE(fit.isApprox(predict, 1e-12))
          << type << " draw " << i << ": " << fit << " vs " << predict;
    }
  }
}

// glibc's default heap leaves the record as records were before the policy existed, so that a
// store measured then resumes under --heap default; no two policies share a store key.
TEST(RecordSkeleton, HeapPolicyInTheContextOnlyWhenKept) {
  CollectConfig c;
  c.layer.type = "ReLU";
  c.layer.input_shape = {4, 8, 8};
  c.batch_size = 2;
  CollectSettings keep, glibc;
  glibc.heap = HeapPolicy::kDefault;
  EXPECT_EQ(RecordSkeleton(c, keep).context.at("heap"), "keep");
  EXPECT_FALSE(RecordSkeleton(c, glibc).context.contains("heap"));
  EXPECT_NE(ConfigKey(RecordSkeleton(c, keep)), ConfigKey(RecordSkeleton(c, glibc)));
  CollectSettings reserve;
  reserve.heap = HeapPolicy::kReserve;
  EXPECT_EQ(RecordSkeleton(c, reserve).context.at("heap"), "reserve");
  EXPECT_NE(ConfigKey(RecordSkeleton(c, reserve)), ConfigKey(RecordSkeleton(c, keep)));
}

TEST_F(CollectorTest, EnergyPerRunAndIdlePowerWithAMeter) {
  MeasurementStore store(path_, nullptr);
  FixedMeter meter(2.5);
  CollectRun run = Run(&store, &meter);
  run.idle_power_w = 41.5;
  RunCollection(run);
  EXPECT_EQ(meter.starts, 4);
  EXPECT_EQ(meter.stops, 4);
  for (const Measurement& m : ReadMeasurements(path_)) {
    EXPECT_EQ(m.meter, "fixed");
    ASSERT_TRUE(m.energy_j.has_value());
    EXPECT_DOUBLE_EQ(*m.energy_j, 0.25);  // 2.5 J over the 10 timed runs
    ASSERT_TRUE(m.idle_power_w.has_value());
    EXPECT_EQ(*m.idle_power_w, 41.5);
  }
}

TEST_F(CollectorTest, IdlePowerIsJoulesOverSeconds) {
  FixedMeter meter(3.0);
  const auto w = MeasureIdlePower(meter, 0.05);
  ASSERT_TRUE(w.has_value());
  // 3 J over a little more than 0.05 s.
  EXPECT_LE(*w, 60.0);
  EXPECT_GT(*w, 20.0);
  EXPECT_FALSE(MeasureIdlePower(meter, 0).has_value());
}

TEST_F(CollectorTest, FailuresAreReportedAndNotRecorded) {
  MeasurementStore store(path_, nullptr);
  NoMeter meter;
  CollectRun run = Run(&store, &meter);
  int calls = 0;
  run.measure = [&](const nlohmann::json&, const PhaseFn& phase) {
    if (++calls == 2) throw std::runtime_error("out of memory");
    phase(0);
    phase(1);
    return FakeResult();
  };
  std::vector<std::string> warnings;
  run.warn = [&](const std::string& w) { warnings.push_back(w); };
  CollectStats st = RunCollection(run);
  EXPECT_EQ(st.measured, 3);
  EXPECT_EQ(st.failed, 1);
  ASSERT_EQ(warnings.size(), 1u);
  const CollectConfig& c = configs_[1];
  const std::string expected = "Conv2d b" + std::to_string(c.batch_size) + " " +
                               FormatShape(c.layer.input_shape) + ": out of memory";
  EXPECT_EQ(warnings[0], expected);
  EXPECT_EQ(st.first_error, expected);
  EXPECT_EQ(ReadMeasurements(path_).size(), 3u);
  // A re-run retries what failed and skips the rest.
  st = RunCollection(run);
  EXPECT_EQ(st.skipped, 3);
  EXPECT_EQ(st.measured, 1);
  EXPECT_EQ(ReadMeasurements(path_).size(), 4u);
}

TEST_F(CollectorTest, CtrlCStopsAfterTheRecordInFlight) {
  MeasurementStore store(path_, nullptr);
  NoMeter meter;
  CollectRun run = Run(&store, &meter);
  int calls = 0;
  run.measure = [&](const nlohmann::json&, const PhaseFn& phase) {
    phase(0);
    if (++calls == 2) ::raise(SIGINT);  // Ctrl-C while the second configuration runs
    phase(1);
    return FakeResult();
  };
  // The handler prints one line to stderr; keep the test output clean.
  CollectStats st;
  {
    StopRequest stop;
    st = RunCollection(run);
    EXPECT_TRUE(StopRequest::Requested());
  }
  EXPECT_TRUE(st.interrupted);
  EXPECT_EQ(st.measured, 2);  // the one in flight was finished and written
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(ReadMeasurements(path_).size(), 2u);
  // The handlers are gone again, and a re-run resumes.
  StopRequest::Reset();
  st = RunCollection(run);
  EXPECT_FALSE(st.interrupted);
  EXPECT_EQ(st.skipped, 2);
  EXPECT_EQ(st.measured, 2);
}

TEST(TimingSummary, QuartilesLikeNumpy) {
  const TimingSummary t = Summarize({4, 1, 3, 2, 10});
  EXPECT_EQ(t.median_s, 3);
  EXPECT_EQ(t.q1_s, 2);
  EXPECT_EQ(t.q3_s, 4);
  EXPECT_EQ(t.min_s, 1);
  EXPECT_EQ(t.max_s, 10);
  EXPECT_EQ(t.mean_s, 4);
  EXPECT_NEAR(t.std_s, std::sqrt(12.5), 1e-12);
  EXPECT_NEAR(t.iqr_over_median, 2.0 / 3.0, 1e-12);
  const TimingSummary e = Summarize({1, 2, 3, 4});
  EXPECT_EQ(e.median_s, 2.5);
  EXPECT_EQ(e.q1_s, 1.75);
  EXPECT_EQ(e.q3_s, 3.25);
  EXPECT_THROW(Summarize({}), std::invalid_argument);
}

TEST(ProgressBar, RendersCountsAndEta) {
  EXPECT_EQ(ProgressBar::Render(40, 100, 12, 80, "Conv2d b8 64x56x56", 10),
            "[====>     ] 40/100 (12 skipped) 1m20s left  Conv2d b8 64x56x56");
  EXPECT_EQ(ProgressBar::Render(0, 10, 0, NAN, "", 4), "[>   ] 0/10 ? left");
  EXPECT_EQ(ProgressBar::Render(10, 10, 0, 0, "", 4), "[====] 10/10 0s left");
  EXPECT_EQ(ProgressBar::FormatEta(42.4), "42s");
  EXPECT_EQ(ProgressBar::FormatEta(185), "3m05s");
  EXPECT_EQ(ProgressBar::FormatEta(3720), "1h02m");
  EXPECT_EQ(ProgressBar::FormatEta(-1), "?");
}

std::string Drive(bool force_tty) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar(3, f, force_tty);
    EXPECT_EQ(bar.tty(), force_tty);  // a temp file is not a terminal
    bar.Skipped();
    bar.Measured("ReLU b1 16");
    bar.Measured("ReLU b2 16");
    bar.Finish("collected 2 configurations");
  }
  std::rewind(f);
  std::string out;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.append(buffer, n);
  std::fclose(f);
  return out;
}

TEST(ProgressBar, OnlyOnATerminal) {
  // Off a terminal (a log file, a pipe): the summary line alone.
  EXPECT_EQ(Drive(false), "collected 2 configurations\n");
  // On a terminal: redrawn in place with "\r", ending with the full bar, then the summary.
  const std::string tty = Drive(true);
  EXPECT_EQ(tty.rfind("\r[", 0), 0u) << tty;
  EXPECT_NE(tty.find("3/3 (1 skipped) 0s left  ReLU b2 16\033[K\ncollected 2 configurations\n"),
            std::string::npos)
      << tty;
}

TEST(DescribeHost, ReadsCpuinfo) {
  const fs::path p = fs::temp_directory_path() / ("joulecast_cpuinfo_" + std::to_string(::getpid()));
  {
    std::ofstream out(p);
    for (int cpu = 0; cpu < 4; ++cpu) {
      out << "processor\t: " << cpu << "\ncpu family\t: 25\nmodel\t\t: 1\n"
          << "model name\t: AMD EPYC 7B13\nstepping\t: 0\nphysical id\t: 0\n"
          << "core id\t\t: " << cpu / 2
          << "\nflags\t\t: fpu sse avx2 fma avx512f avx512_bf16 ht\n\n";
    }
  }
  const nlohmann::json h = DescribeHost(p.string());
  EXPECT_EQ(h["cpu"], "AMD EPYC 7B13");
  EXPECT_EQ(h["logical_cpus"], 4);
  EXPECT_EQ(h["physical_cores"], 2);
  EXPECT_EQ(h["cpu_id"], "family 25 model 1 stepping 0");  // predict/hardware.h's CpuIdentity
  // Only the ISA extensions of predict/hardware.h's list, sorted.
  EXPECT_EQ(h["isa_flags"], nlohmann::json::parse(R"(["avx2", "avx512_bf16", "avx512f", "fma"])"));
  EXPECT_GT(h["memory_gib"].get<double>(), 0.0);
  EXPECT_EQ(h["kernel"].get<std::string>().rfind("Linux ", 0), 0u);
  fs::remove(p);
  EXPECT_FALSE(DescribeHost("/nonexistent/cpuinfo").contains("cpu"));
}

// A fresh page costs at least the time to write one byte and, even on a virtual machine that
// backs guest memory lazily (this project's measured 17 us), far less than a millisecond.
TEST(FreshPageMicroseconds, IsAPositivePerPageTime) {
  const double us = FreshPageMicroseconds();
  EXPECT_GT(us, 0.0);
  EXPECT_LT(us, 1000.0);
}

}  // namespace
}  // namespace joulecast
