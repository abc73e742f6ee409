// `joulecast collect` run as a user would: bad input (caught before libtorch is loaded), and, when
// the collector's libtorch runner plugin is built (JOULECAST_HAVE_COLLECTOR), small real
// collections: resume and extension, the NVML meter through a fake library, a whole network in
// train_step mode, and Ctrl-C.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.h"
#include "joulecast/collect/heap.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

// Runs see no CPU accounting (JOULECAST_PROC_ROOT at a missing directory) unless a test sets
// it, so that their stderr does not depend on what else the machine runs meanwhile.
class CollectCliTest : public CliFixture {
 protected:
  Result Run(const std::string& args, const std::string& env = "") const {
    if (env.find("JOULECAST_PROC_ROOT=") != std::string::npos) return CliFixture::Run(args, env);
    return CliFixture::Run(args,
                           "JOULECAST_PROC_ROOT=/nonexistent" + (env.empty() ? "" : " " + env));
  }
};

TEST_F(CollectCliTest, UnknownLayer) {
  const std::string out = P("out.jsonl");
  Result r = Run("collect --layer ReLU,Conv3d --samples 3 -o " + Quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(
      StartsWith(r.err,
                 "joulecast: error: --layer: unknown layer type 'Conv3d'; known: "
                 "AdaptiveAvgPool2d, Add, AvgPool2d, BatchNorm2d, Cat, ChannelShuffle, Clamp, "
                 "Conv2d, "))
      << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_FALSE(fs::exists(out));  // nothing created for a command that cannot run
}

TEST_F(CollectCliTest, ImpossibleConfigurations) {
  // A network whose convolution is larger than its padded input.
  const std::string arch = P("bad.json");
  std::ofstream(arch) << R"({"name": "bad", "input": [3, 4, 4], "layers": [
      {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 11}]})";
  const std::string out = P("out.jsonl");
  for (const char* option : {"--configs-from", "--architecture"}) {
    Result r = Run(std::string("collect ") + option + " " + Quote(arch) + " -o " + Quote(out));
    EXPECT_EQ(r.status, 1) << option;
    EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
    EXPECT_NE(r.err.find("kernel"), std::string::npos) << option << ": " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
  // Sampler limits no configuration can meet.
  Result r = Run("collect --layer Conv2d --samples 2 --max-macs 1 -o " + Quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "joulecast: error: --layer Conv2d: no valid configuration within max_macs 1, "
            "max_elements 33554432 and max_parameters 134217728 after 1000 draws\n");
  r = Run("collect --layer ReLU -o " + Quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: --samples: required with --layer, >= 1\n");
  r = Run("collect --architecture alexnet --samples 3 -o " + Quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: --samples: only with --layer\n");
  r = Run("collect --architecture no_such_net -o " + Quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(StartsWith(r.err, "joulecast: error: ")) << r.err;
  EXPECT_NE(r.err.find("no_such_net"), std::string::npos) << r.err;
}

TEST_F(CollectCliTest, UnwritableOutput) {
  const std::string out = P("no/such/dir/out.jsonl");
  Result r = Run("collect --layer ReLU --samples 2 -o " + Quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: " + out +
                       ": cannot open for appending: No such file or directory\n");
  r = Run("collect --layer ReLU --samples 2 -o " + Quote(dir_.string()));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "joulecast: error: " + dir_.string() + ": cannot open for appending: Is a directory\n");
}

TEST_F(CollectCliTest, BadShard) {
  const std::string out = P("out.jsonl");
  for (const std::string shard : {"3/3", "1", "-1/3", "1/0", "a/b"}) {
    Result r =
        Run("collect --layer ReLU --samples 2 --shard " + Quote(shard) + " -o " + Quote(out));
    EXPECT_EQ(r.status, 1) << shard;
    EXPECT_EQ(r.err,
              "joulecast: error: --shard: expected K/N with 0 <= K < N, got '" + shard + "'\n");
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CollectCliTest, DryRunCountsTheShard) {
  const std::string out = P("out.jsonl");
  Result r = Run("collect --layer ReLU,Conv2d --samples 10 --shard 1/3 --dry-run -o " + Quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "20 configurations, 7 in shard 1/3, 0 already in " + out + ", 7 to measure\n");
  r = Run("collect --architecture alexnet,vgg11 -b 1,8,32 --dry-run -o " + Quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "6 configurations, 6 in shard 0/1, 0 already in " + out + ", 6 to measure\n");
}

#ifdef JOULECAST_HAVE_COLLECTOR

// Small and quick: tiny tensors, 10 ms per configuration.
const std::string kQuick =
    " -b 1 --max-elements 65536 --min-seconds 0.01 --min-repetitions 2 --warmup-seconds 0 ";

TEST_F(CollectCliTest, RecordsTheLoadOfOtherProcesses) {
  if (!fs::exists("/proc/stat")) GTEST_SKIP() << "no /proc/stat";
  const std::string out = P("out.jsonl");
  // 0.1 s a configuration: the load is only reported over at least one clock tick (10 ms) per CPU
  // (collect/cpu_load.h), which kQuick's 0.01 s did not always reach.
  Result r =
      Run("collect --layer ReLU --samples 2 -b 1 --max-elements 65536 --min-seconds 0.1 "
          "--min-repetitions 2 --warmup-seconds 0 --meter none -q -o " +
              Quote(out),
          "JOULECAST_PROC_ROOT=/proc");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<json> recs = Records(out);
  ASSERT_EQ(recs.size(), 2u);
  int disturbed = 0;
  for (const json& j : recs) {
    const json& p = j["context"]["protocol"];
    ASSERT_TRUE(p.contains("other_cpus_busy")) << j.dump();
    EXPECT_GE(p["other_cpus_busy"].get<double>(), 0.0);
    EXPECT_GE(p["steal_cpus"].get<double>(), 0.0);
    disturbed += p["other_cpus_busy"].get<double>() > 0.25;
  }
  // Whatever else runs meanwhile, stderr says exactly what the records say.
  EXPECT_EQ(r.err.find("2 of the 2 records") != std::string::npos, disturbed == 2) << r.err;
  EXPECT_EQ(r.err.empty(), disturbed == 0) << r.err;
}

TEST_F(CollectCliTest, CollectsResumesAndExtends) {
  const std::string out = P("out.jsonl");
  const std::string base = "collect --layer ReLU,Linear" + kQuick + "--meter none -o " + Quote(out);
  Result r = Run(base + " --samples 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "collected 4 configurations into " + out +
                       " (0 skipped as done, 0 failed; meter none)\n");  // no bar off a terminal
  std::vector<json> recs = Records(out);
  ASSERT_EQ(recs.size(), 4u);
  for (const json& j : recs) {
    EXPECT_EQ(j["meter"], "none");
    EXPECT_TRUE(j["energy_j"].is_null());
    EXPECT_TRUE(j["idle_power_w"].is_null());  // no meter, no idle power
    EXPECT_GT(j["duration_s"].get<double>(), 0.0);
    EXPECT_GE(j["repetitions"].get<int>(), 2);
    EXPECT_EQ(j["hardware"]["meter"]["name"], "none");
    EXPECT_EQ(j["hardware"]["libtorch"].get<std::string>().empty(), false);
  }
  const std::string before = Slurp(out);
  // The same command again: everything is done.
  r = Run(base + " --samples 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "joulecast: all 4 configurations of shard 0/1 are in " + out + "\n");
  EXPECT_EQ(Slurp(out), before);
  // More samples: the first two of each type are kept, the third measured.
  r = Run(base + " --samples 3");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "collected 2 configurations into " + out +
                       " (4 skipped as done, 0 failed; meter none)\n");
  EXPECT_EQ(Slurp(out).rfind(before, 0), 0u);
  EXPECT_EQ(Records(out).size(), 6u);
  // A second collector on the same file at once is refused: hold the lock a running collector
  // holds.
  const int fd = ::open(out.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  r = Run(base + " --samples 4");
  ::close(fd);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: " + out + ": another process is appending to it (locked)\n");
  EXPECT_EQ(Records(out).size(), 6u);
}

TEST_F(CollectCliTest, NvmlMeterThroughAFakeLibrary) {
  const std::string out = P("nvml.jsonl");
  Result r = Run("collect --layer ReLU --samples 2" + kQuick +
                     "--meter nvml --idle-seconds 0.2 -o " + Quote(out),
                 "JOULECAST_NVML_LIBRARY=" + Quote(FAKE_NVML) + " FAKE_NVML_POWER_W=80");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<json> recs = Records(out);
  ASSERT_EQ(recs.size(), 2u);
  for (const json& j : recs) {
    EXPECT_EQ(j["meter"], "nvml");
    EXPECT_EQ(j["hardware"]["meter"]["gpu"], "Fake GPU");
    EXPECT_EQ(j["hardware"]["meter"]["method"], "nvmlDeviceGetTotalEnergyConsumption");
    // Idle power measured before collecting: the fake's constant 80 W.
    ASSERT_TRUE(j["idle_power_w"].is_number()) << j.dump();
    EXPECT_NEAR(j["idle_power_w"].get<double>(), 80.0, 4.0);
    // Energy per run: 80 W over the timed phase, divided by its runs.
    ASSERT_TRUE(j["energy_j"].is_number());
    const double per_run_s = j["context"]["protocol"]["elapsed_s"].get<double>() /
                             j["context"]["protocol"]["runs"].get<double>();
    EXPECT_NEAR(j["energy_j"].get<double>() / per_run_s, 80.0, 8.0);
  }
  // Without the counter: power sampling.
  const std::string out2 = P("nvml_power.jsonl");
  r = Run("collect --layer ReLU --samples 1" + kQuick + "--meter nvml --idle-seconds 0.1 -o " +
              Quote(out2),
          "JOULECAST_NVML_LIBRARY=" + Quote(FAKE_NVML_POWER));
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(Records(out2).size(), 1u);
  EXPECT_EQ(Records(out2)[0]["meter"], "nvml-power");
  EXPECT_NEAR(Records(out2)[0]["idle_power_w"].get<double>(), 50.0, 10.0);
  // An explicit meter that cannot load is an error before anything is measured.
  const std::string out3 = P("none.jsonl");
  r = Run("collect --layer ReLU --samples 1" + kQuick + "--meter nvml -o " + Quote(out3),
          "JOULECAST_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(StartsWith(
      r.err, "joulecast: error: --meter nvml: cannot load /nonexistent/libnvidia-ml.so.1: "))
      << r.err;
  EXPECT_EQ(Slurp(out3), "");
}

TEST_F(CollectCliTest, WholeNetworkTrainStep) {
  const std::string arch = P("tiny.json");
  std::ofstream(arch) << R"({"name": "tiny", "input": [3, 16, 16], "layers": [
      {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1},
      {"type": "BatchNorm2d", "num_features": 8},
      {"type": "ReLU", "inplace": true},
      {"type": "AdaptiveAvgPool2d", "output_size": 1},
      {"type": "Flatten"},
      {"type": "Dropout", "p": 0.5},
      {"type": "Linear", "in_features": 8, "out_features": 10}]})";
  const std::string out = P("net.jsonl");
  Result r = Run("collect --architecture " + Quote(arch) +
                 " -b 2 --mode train_step --min-seconds 0.01 --min-repetitions 2 "
                 "--warmup-seconds 0 -q -o " +
                 Quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");  // -q
  const std::vector<json> recs = Records(out);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0]["type"], "tiny");
  EXPECT_EQ(recs[0]["context"]["architecture"], "tiny");
  EXPECT_EQ(recs[0]["mode"], "train_step");
  EXPECT_EQ(recs[0]["batch_size"], 2);
  // Conv 3x3x3x8 on 16x16 plus BatchNorm (ptflops counts its elements) and the Linear, batch 2.
  EXPECT_GT(recs[0]["macs"].get<double>(), 2 * (16 * 16 * 8 * 27 + 8 * 10));
  EXPECT_GT(recs[0]["duration_s"].get<double>(), 0.0);
}

// A ReLU whose 36 MiB output is allocated anew every run: glibc maps a block that large on its own
// under the kept heap (32 MiB is its largest threshold), so every run faults its 9,216 pages in
// and the warm-up stops at its cap, unsettled; under the reserve heap the block comes from pages
// touched before, and the warm-up settles at once (collect/heap.h). Under the default heap the
// warm-up does not wait (its large blocks fault on every run by design), nor is it said.
TEST_F(CollectCliTest, WarmUpRunsUntilTheHeapStopsFaulting) {
  if (!joulecast::KeepPolicyTakesEffect())
    GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's";
  std::string thp;
  std::getline(std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled"), thp);
  if (thp.find("[always]") != std::string::npos) {
    GTEST_SKIP() << "transparent huge pages always on: a 36 MiB block faults in 2 MiB at a time";
  }
  const std::string arch = P("big_relu.json");
  std::ofstream(arch) << R"({"name": "big_relu", "input": [9437184], "layers": [
      {"type": "ReLU"}]})";
  auto protocol = [&](const std::string& heap) {
    const std::string out = P(heap + ".jsonl");
    Result r =
        Run("collect --architecture " + Quote(arch) + " -b 1 --heap " + heap +
            " --min-seconds 0.01 --min-repetitions 2 --warmup-seconds 0 -q -o " + Quote(out));
    EXPECT_EQ(r.status, 0) << r.err;
    // The collector says so when a record's warm-up ended unsettled, and only then.
    EXPECT_EQ(r.err.find("1 of the 1 records measured now were timed while their runs still "
                         "faulted fresh pages in") != std::string::npos,
              heap == "keep")
        << r.err;
    const std::vector<json> recs = Records(out);
    return recs.size() == 1 ? recs[0]["context"]["protocol"] : json();
  };
  const json fresh = protocol("keep");
  ASSERT_TRUE(fresh.is_object());
  EXPECT_EQ(fresh["warmup_settled"], false) << fresh.dump();
  EXPECT_EQ(fresh["warmup_runs"], 32) << fresh.dump();
  EXPECT_GT(fresh["faults_per_run"].get<double>(), 9216 * 0.9) << fresh.dump();
  const json reserve = protocol("reserve");
  ASSERT_TRUE(reserve.is_object());
  EXPECT_EQ(reserve["warmup_settled"], true) << reserve.dump();
  EXPECT_LT(reserve["warmup_runs"].get<int>(), 32) << reserve.dump();
  EXPECT_LT(reserve["faults_per_run"].get<double>(), 64) << reserve.dump();
  const json plain = protocol("default");
  ASSERT_TRUE(plain.is_object());
  EXPECT_EQ(plain["warmup_runs"], 2) << plain.dump();
  EXPECT_EQ(plain["warmup_settled"], false) << plain.dump();
  EXPECT_GT(plain["faults_per_run"].get<double>(), 9216 * 0.9) << plain.dump();
}

// The operator types run as one-node graphs through the plugin's graph executor, forward and as
// a training step (their float inputs require grad, as inside a network).
TEST_F(CollectCliTest, OperatorTypesForwardAndTrainStep) {
  for (const char* mode : {"forward", "train_step"}) {
    const std::string out = P(std::string("ops-") + mode + ".jsonl");
    Result r = Run(
        "collect --layer LayerNorm,GELU,SiLU,Hardswish,Hardsigmoid,Mul,MatMul,MultiheadAttention,"
        "Embedding,Clamp,Exp,Div --samples 2 -b 1 --max-elements 65536 --max-macs 2e7 "
        "--min-seconds 0.005 "
        "--min-repetitions 2 --warmup-seconds 0 -q --mode " +
        std::string(mode) + " -o " + Quote(out));
    ASSERT_EQ(r.status, 0) << mode << ": " << r.err;
    const std::vector<json> recs = Records(out);
    ASSERT_EQ(recs.size(), 24u) << mode;
    std::set<std::string> types;
    for (const json& rec : recs) {
      types.insert(rec["type"].get<std::string>());
      EXPECT_GT(rec["duration_s"].get<double>(), 0.0) << rec.dump();
      EXPECT_TRUE(rec["context"].contains("operator")) << rec.dump();
      EXPECT_EQ(rec["mode"], mode);
    }
    EXPECT_EQ(types.size(), 12u);
  }
}

// input_grad runs the parameterised types, module layers and graph operators alike, with frozen
// parameters: an embedding's integer input has nothing to differentiate (forward only), a
// batch-norm layer keeps its input gradient; whole networks are refused.
TEST_F(CollectCliTest, InputGradientOfParameterisedTypes) {
  const std::string out = P("input_grad.jsonl");
  Result r =
      Run("collect --layer Conv2d,Linear,BatchNorm2d,LayerNorm,Embedding,MultiheadAttention "
          "--samples 1 -b 1 --max-elements 65536 --max-macs 2e7 --min-seconds 0.005 "
          "--min-repetitions 2 --warmup-seconds 0 -q --mode input_grad -o " +
          Quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<json> recs = Records(out);
  ASSERT_EQ(recs.size(), 6u);
  for (const json& rec : recs) {
    EXPECT_EQ(rec["mode"], "input_grad");
    EXPECT_GT(rec["duration_s"].get<double>(), 0.0) << rec.dump();
  }
  r = Run("collect --architecture resnet18 --mode input_grad --dry-run -o " + Quote(P("n.jsonl")));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--mode input_grad: measures one operator at a time"), std::string::npos)
      << r.err;
}

// A network given as an operator graph (graph JSON here; zoo graphs and Hugging Face configs
// alike) is run by the graph executor; evaluate loads it back by the record's name.
TEST_F(CollectCliTest, WholeGraphNetwork) {
  const std::string g = P("tinyg.json");
  std::ofstream(g) << R"({"kind": "joulecast_graph", "format_version": 1, "name": "tinyg",
    "inputs": [{"name": "x", "shape": [1, 5, 16], "batch_dim": 0}],
    "initializers": [{"name": "ln.weight", "shape": [16]}, {"name": "fc.weight", "shape": [32, 16]},
                     {"name": "fc.bias", "shape": [32]}],
    "nodes": [
      {"name": "ln", "op": "layer_norm", "inputs": ["x", "ln.weight"], "attrs": {"normalized_shape": [16]}},
      {"name": "fc", "op": "linear", "inputs": ["ln", "fc.weight", "fc.bias"]},
      {"name": "act", "op": "gelu", "inputs": ["fc"]},
      {"name": "r", "op": "reshape", "inputs": ["act"],
       "attrs": {"shape": {"values": [1, 160], "batch_index": 0}}},
      {"name": "sm", "op": "softmax", "inputs": ["r"], "attrs": {"dim": -1}}],
    "outputs": ["sm"]})";
  for (const char* mode : {"forward", "train_step"}) {
    const std::string out = P(std::string("g-") + mode + ".jsonl");
    Result r = Run("collect --architecture " + Quote(g) +
                   " -b 3 --min-seconds 0.005 --min-repetitions 2 --warmup-seconds 0 -q --mode " +
                   mode + " -o " + Quote(out));
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<json> recs = Records(out);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0]["type"], g);
    EXPECT_EQ(recs[0]["batch_size"], 3);
    EXPECT_EQ(recs[0]["input_shape"], json::parse("[5, 16]"));
    EXPECT_EQ(recs[0]["context"]["architecture"], g);
    // linear 3·5·(16·32 + 32) + layer_norm, gelu and softmax one per element: 3·5·16 + 2·3·160.
    EXPECT_DOUBLE_EQ(recs[0]["macs"].get<double>(), 3 * 5 * (16 * 32 + 32) + 3 * 5 * 16 + 2 * 480);
  }
  // Its distinct operators: layer_norm, linear, gelu and softmax (the reshape is a free view),
  // measured as one-node graphs.
  const std::string ops = P("g-ops.jsonl");
  Result r =
      Run("collect --configs-from " + Quote(g) +
          " -b 2 --min-seconds 0.005 --min-repetitions 2 --warmup-seconds 0 -q -o " + Quote(ops));
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> types;
  for (const json& rec : Records(ops)) {
    types.push_back(rec["type"].get<std::string>());
    EXPECT_EQ(rec["context"]["from_architecture"], g);
    EXPECT_EQ(rec["batch_size"], 2);
  }
  EXPECT_EQ(types, (std::vector<std::string>{"LayerNorm", "Linear", "GELU", "Softmax"}));
  // A Hugging Face config's operators at --seq-len: the records say the length they were taken at.
  const std::string hf = P("gpt2-tiny.json");
  std::ofstream(hf) << R"({"model_type": "gpt2", "architectures": ["GPT2Model"], "vocab_size": 50,
      "n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 32})";
  const std::string hf_ops = P("hf-ops.jsonl");
  r = Run("collect --configs-from " + Quote(hf) + " --seq-len 8 -b 1 --min-seconds 0.005 " +
          "--min-repetitions 2 --warmup-seconds 0 -q -o " + Quote(hf_ops));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<json> hf_recs = Records(hf_ops);
  ASSERT_FALSE(hf_recs.empty());
  for (const json& rec : hf_recs) EXPECT_EQ(rec["context"]["seq_len"], 8) << rec.dump();
  // A module tree has no sequence length.
  r = Run("collect --architecture alexnet --seq-len 128 --dry-run -o " + Quote(P("x.jsonl")));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(
      r.err,
      "joulecast: error: --seq-len: alexnet is a module tree, which has no sequence length\n");
}

// Every operator of the registry that costs time runs in the collector's graph executor (swin_t's
// pad and roll, LLaMA's rms_norm, cos and sin, the reductions, ...): one small graph chaining
// those the other tests do not run, forward and as a training step, with its float input
// requiring no gradient as a network's does.
TEST_F(CollectCliTest, GraphExecutorRunsTheRegistrysOperators) {
  const std::string g = P("allops.json");
  std::ofstream(g) << R"({"kind": "joulecast_graph", "format_version": 1, "name": "allops",
    "inputs": [{"name": "x", "shape": [1, 4, 8, 8]},
               {"name": "mask", "dtype": "bool", "shape": [1, 4, 4, 4]}],
    "initializers": [{"name": "gn.w", "shape": [4]}, {"name": "gn.b", "shape": [4]},
      {"name": "rms.w", "shape": [4]}, {"name": "c1.w", "shape": [8, 6, 3]},
      {"name": "qkv.w", "shape": [24, 8]}, {"name": "qkv.b", "shape": [24]},
      {"name": "proj.w", "shape": [8, 8]}, {"name": "proj.b", "shape": [8]},
      {"name": "n1.w", "shape": [8]}, {"name": "n1.b", "shape": [8]},
      {"name": "n2.w", "shape": [8]}, {"name": "n2.b", "shape": [8]},
      {"name": "f1.w", "shape": [16, 8]}, {"name": "f1.b", "shape": [16]},
      {"name": "f2.w", "shape": [8, 16]}, {"name": "f2.b", "shape": [8]}],
    "nodes": [
      {"name": "pad", "op": "pad", "inputs": ["x"], "attrs": {"pads": [1, 1, 1, 1]}},
      {"name": "rpad", "op": "pad", "inputs": ["pad"], "attrs": {"pads": [1, 1, 1, 1], "mode": "reflect"}},
      {"name": "roll", "op": "roll", "inputs": ["rpad"], "attrs": {"shifts": [2], "dims": [2]}},
      {"name": "gn", "op": "group_norm", "inputs": ["roll", "gn.w", "gn.b"], "attrs": {"num_groups": 2}},
      {"name": "elu", "op": "elu", "inputs": ["gn"]},
      {"name": "lrelu", "op": "leaky_relu", "inputs": ["elu"]},
      {"name": "htanh", "op": "hardtanh", "inputs": ["lrelu"]},
      {"name": "sp", "op": "softplus", "inputs": ["htanh"]},
      {"name": "mish", "op": "mish", "inputs": ["sp"]},
      {"name": "up", "op": "interpolate", "inputs": ["mish"], "attrs": {"size": [8, 8], "mode": "bilinear"}},
      {"name": "amp", "op": "adaptive_max_pool2d", "inputs": ["up"], "attrs": {"output_size": [4, 4]}},
      {"name": "shuf", "op": "channel_shuffle", "inputs": ["amp"], "attrs": {"groups": 2}},
      {"name": "cos", "op": "cos", "inputs": ["shuf"]},
      {"name": "sin", "op": "sin", "inputs": ["shuf"]},
      {"name": "max", "op": "maximum", "inputs": ["cos", "sin"]},
      {"name": "min", "op": "minimum", "inputs": ["cos", "sin"]},
      {"name": "pow", "op": "pow", "inputs": ["max"]},
      {"name": "pow2", "op": "pow", "inputs": ["pow", "min"]},
      {"name": "fill", "op": "masked_fill", "inputs": ["pow2", "mask"], "attrs": {"value": 0.5}},
      {"name": "rms", "op": "rms_norm", "inputs": ["fill", "rms.w"], "attrs": {"normalized_shape": [4]}},
      {"name": "cast", "op": "cast", "inputs": ["rms"], "attrs": {"dtype": "float32"}},
      {"name": "sum", "op": "sum", "inputs": ["cast"], "attrs": {"dims": [3], "keepdim": true}},
      {"name": "amax", "op": "amax", "inputs": ["cast"], "attrs": {"dims": [3], "keepdim": true}},
      {"name": "amin", "op": "amin", "inputs": ["cast"], "attrs": {"dims": [3], "keepdim": true}},
      {"name": "std", "op": "std", "inputs": ["cast"], "attrs": {"dims": [3], "keepdim": true}},
      {"name": "var", "op": "var", "inputs": ["cast"], "attrs": {"dims": [3], "keepdim": true}},
      {"name": "norm", "op": "norm", "inputs": ["cast"], "attrs": {"dims": [3], "keepdim": true}},
      {"name": "stack", "op": "stack", "inputs": ["sum", "amax", "amin", "std", "var", "norm"], "attrs": {"dim": 1}},
      {"name": "flat", "op": "reshape", "inputs": ["stack"], "attrs": {"shape": {"values": [1, 6, 16], "batch_index": 0}}},
      {"name": "c1", "op": "conv1d", "inputs": ["flat", "c1.w", null], "attrs": {"padding": [1]}},
      {"name": "t", "op": "transpose", "inputs": ["c1"], "attrs": {"dim0": 1, "dim1": 2}},
      {"name": "enc", "op": "transformer_encoder_layer",
       "inputs": ["t", "qkv.w", "qkv.b", "proj.w", "proj.b", "n1.w", "n1.b", "n2.w", "n2.b",
                  "f1.w", "f1.b", "f2.w", "f2.b"], "attrs": {"num_heads": 2}},
      {"name": "lsm", "op": "log_softmax", "inputs": ["enc"]}],
    "outputs": ["lsm"]})";
  for (const char* mode : {"forward", "train_step"}) {
    const std::string out = P(std::string("allops-") + mode + ".jsonl");
    Result r = Run("collect --architecture " + Quote(g) +
                   " -b 2 --min-seconds 0.005 --min-repetitions 2 --warmup-seconds 0 -q --mode " +
                   mode + " -o " + Quote(out));
    ASSERT_EQ(r.status, 0) << mode << ": " << r.err;
    const std::vector<json> recs = Records(out);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_GT(recs[0]["duration_s"].get<double>(), 0.0);
  }
  // Its operators one by one, each as a one-node graph (the input of each requires grad).
  const std::string ops = P("allops-ops.jsonl");
  Result r = Run("collect --configs-from " + Quote(g) +
                 " -b 2 --min-seconds 0.005 --min-repetitions 2 --warmup-seconds 0 -q --mode "
                 "train_step -o " +
                 Quote(ops));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GE(Records(ops).size(), 30u);
}

// Ctrl-C (SIGINT) mid-campaign: the record in flight is finished, the process says how to resume
// and exits 1, and every line on disk is whole.
TEST_F(CollectCliTest, InterruptStopsCleanly) {
  const std::string out = P("int.jsonl"), err = P("int.err");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string cmd = "exec " + Quote(kBinary) + " collect --layer ReLU --samples 300" +
                            kQuick + "-o " + Quote(out) + " 2>" + Quote(err);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (WholeLines(out) < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(child, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of stopping";
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string text = Slurp(out);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const std::size_t n = Records(out).size();  // throws on a torn line
  EXPECT_GE(n, 3u);
  EXPECT_LT(n, 259u);
  const std::string e = Slurp(err);
  // 300 ReLU draws (seed 0) hold 259 distinct configurations; repeats are measured once.
  EXPECT_NE(e.find("joulecast: stopping after the current configuration (Ctrl-C again to kill)\n"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("joulecast: error: interrupted: " + std::to_string(n) +
                   " of 259 configurations of shard 0/1 are in " + out +
                   "; re-run the same command to resume\n"),
            std::string::npos)
      << e;
}

#endif  // JOULECAST_HAVE_COLLECTOR

}  // namespace
