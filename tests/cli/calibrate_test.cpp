// `joulecast calibrate` run as a user would: bad input (caught before anything is measured) and,
// when the collector's libtorch runner plugin is built (JOULECAST_HAVE_COLLECTOR), short real
// calibrations: the profile written, a re-run that measures nothing new, resume after kill -9
// and Ctrl-C leaving a usable profile.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

class CalibrateCliTest : public CliFixture {
 protected:
  // Runs see no CPU accounting, as in collect's test, so that stderr does not depend on the load.
  Result Run(const std::string& args) const {
    return CliFixture::Run(args, "JOULECAST_PROC_ROOT=/nonexistent");
  }
};

const std::string kBase = " --base models/intel-xeon-2c-time.json ";

TEST_F(CalibrateCliTest, BadInput) {
  const std::string out = P("cal.json");
  struct Case {
    std::string args, error;
  };
  const std::vector<Case> cases = {
      {"--base " + P("missing.json") + " -o " + out,
       "joulecast: error: " + P("missing.json") + ": cannot open profile\n"},
      {"--base models/gpu-latency.json -o " + out,
       "joulecast: error: models/gpu-latency.json: not a joulecast profile (kind must be "
       "'joulecast_profile')\n"},
      {"--base models/xeon-gold-5120.json --mode train_step -o " + out,
       "joulecast: error: models/xeon-gold-5120.json: the base profile xeon-gold-5120 has no "
       "train_step predictors (it has: forward)\n"},
      // A calibrated base is refused before anything is measured (it once was after ten
      // minutes of measuring).
      {"--base models/amd-epyc-2c-keep-time.json -o " + out,
       "joulecast: error: calibrate: the base profile amd-epyc-2c-keep-time is itself calibrated "
       "(from amd-epyc-2c-time); calibrate from that base instead\n"},
      {kBase + "--minutes 0 -o " + out, "joulecast: error: --minutes must be > 0, got 0\n"},
      {kBase + "--minutes -3 -o " + out, "joulecast: error: --minutes must be > 0, got -3\n"},
      {kBase + "-o " + P("no/such/dir/cal.json"),
       "joulecast: error: " + P("no/such/dir/cal.json") +
           ": cannot write the calibrated profile: No such file or directory\n"},
      {kBase + "--for nosuchnet -o " + out, ""},  // checked below: names the network
  };
  for (const Case& c : cases) {
    const Result r = Run("calibrate " + c.args);
    EXPECT_EQ(r.status, 1) << c.args;
    if (!c.error.empty()) EXPECT_EQ(r.err, c.error) << c.args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.args;
    EXPECT_FALSE(fs::exists(P("cal.calibration.jsonl"))) << "nothing measured: " << c.args;
  }
  EXPECT_NE(Run("calibrate " + kBase + "--for nosuchnet -o " + out).err.find("nosuchnet"),
            std::string::npos);
}

TEST_F(CalibrateCliTest, UnwritableOutputFailsBeforeMeasuring) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes anywhere";
  fs::create_directories(P("ro"));
  ::chmod(P("ro").c_str(), 0500);
  const Result r = Run("calibrate" + kBase + "-o " + P("ro/cal.json"));
  ::chmod(P("ro").c_str(), 0700);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "joulecast: error: " + P("ro/cal.json") +
                       ": cannot write the calibrated profile: Permission denied\n");
}

TEST_F(CalibrateCliTest, DryRunPrintsThePlan) {
  const Result r =
      Run("calibrate" + kBase + "--mode both --minutes 4 --dry-run -o " + P("cal.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.find("forward: ") == 0) << r.out;
  EXPECT_NE(r.out.find(" configurations planned, 0 of them in " + P("cal.calibration.jsonl") +
                       " within the budget (0s of 2m00s spent)\ntrain_step: "),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(P("cal.json")));
  // all: the input-gradient part too, where the base has it (only the parameterised types).
  const Result all =
      Run("calibrate --base models/amd-epyc-2c-time.json --mode all --minutes 6 "
          "--dry-run -o " +
          P("cal.json"));
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_NE(all.out.find("\ninput_grad: "), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("(0s of 2m00s spent)\n"), std::string::npos) << all.out;
  const Result none =
      Run("calibrate" + kBase + "--mode input_grad --minutes 1 --dry-run -o " + P("cal.json"));
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find("has no input_grad predictors"), std::string::npos) << none.err;
}

// The reserve heap is calibrate's default; a store measured under the kept heap (calibrate's
// default before 2026-12-07) is named with its count and the --heap that resumes it.
TEST_F(CalibrateCliTest, AStoreOfAnotherHeapIsNamedNotSilentlyRemeasured) {
  const std::string store = P("kept.jsonl");
  {
    std::ifstream in("data/collect/epyc-milan-2c/keep/calibrate-from-xeon.jsonl");
    std::ofstream out(store);
    std::string line;
    for (int i = 0; i < 3 && std::getline(in, line); ++i) out << line << "\n";
  }
  const std::string args =
      "calibrate" + kBase + "--minutes 10 --dry-run --store " + store + " -o " + P("cal.json");
  const Result r = Run(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "joulecast: warning: " + store +
                       " holds records measured under another heap (3 under --heap keep), which "
                       "this run (--heap reserve) neither resumes nor fits; pass that --heap to "
                       "resume them\n");
  EXPECT_NE(r.out.find(", 0 of them in " + store), std::string::npos) << r.out;
  const Result kept = Run(args + " --heap keep");
  ASSERT_EQ(kept.status, 0) << kept.err;
  EXPECT_EQ(kept.err, "");
  EXPECT_NE(kept.out.find(", 3 of them in " + store), std::string::npos) << kept.out;
}

#ifdef JOULECAST_HAVE_COLLECTOR

// A few seconds of measuring: a profile of this machine, and a re-run that measures nothing.
TEST_F(CalibrateCliTest, WritesAProfileOfThisMachineAndResumes) {
  const std::string out = P("cal.json"), store = P("cal.calibration.jsonl");
  const std::string args = "calibrate" + kBase + "--minutes 0.05 -q -o " + out;
  Result r = Run(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::vector<json> recs = Records(store);
  ASSERT_GE(recs.size(), 2u);
  double cost = 0;
  for (const json& rec : recs) {
    EXPECT_GT(rec["context"]["protocol"]["wall_s"].get<double>(), 0) << rec.dump();
    EXPECT_EQ(rec["mode"], "forward");
    cost += rec["context"]["protocol"]["wall_s"].get<double>();
  }
  // The budget (3 s) is spent, and overrun by at most the configuration in flight.
  EXPECT_GE(cost, 3.0);
  const json p = json::parse(Slurp(out));
  EXPECT_EQ(p["name"], "cal");
  EXPECT_EQ(p["target"], "time_s");
  EXPECT_EQ(p["data"]["calibration"]["base"], "intel-xeon-2c-time");
  EXPECT_EQ(p["data"]["calibration"]["records"], recs.size());
  // No --for: the zoo's module-tree networks weighted the plan and the selection score.
  EXPECT_EQ(p["data"]["calibration"]["weight_networks"].size(), 14u);
  EXPECT_EQ(p["hardware"]["cpu"], recs[0]["hardware"]["cpu"]);
  EXPECT_EQ(p["modes"]["forward"]["layers"]["Conv2d"]["format_version"], 2);
  // Measured here: predicting with it raises no hardware warning.
  r = Run("predict resnet18 --model " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // The same command again: the budget is spent, nothing new is measured, the same profile.
  r = Run(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Records(store).size(), recs.size());
  EXPECT_EQ(json::parse(Slurp(out))["modes"], p["modes"]);
  // A larger budget (3 s more than the records cost: the last one may overrun) measures more,
  // keeping the records it has.
  r = Run("calibrate" + kBase + "--minutes " + std::to_string((cost + 3) / 60) + " -q -o " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<json> more = Records(store);
  ASSERT_GT(more.size(), recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(more[i], recs[i]);
}

// --dtype: a float32 base calibrated with bfloat16 runs is a bfloat16 profile, and predict refuses
// it for float32 (and the float32 base for bfloat16).
TEST_F(CalibrateCliTest, AnotherDtypeGivesAProfileOfThatDtype) {
  const std::string out = P("bf16.json"), store = P("bf16.calibration.jsonl");
  Result r = Run("calibrate" + kBase + "--dtype bfloat16 --minutes 0.05 -q -o " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<json> recs = Records(store);
  ASSERT_GE(recs.size(), 1u);
  for (const json& rec : recs) EXPECT_EQ(rec["dtype"], "bfloat16");
  EXPECT_EQ(json::parse(Slurp(out))["dtype"], "bfloat16");
  r = Run("predict resnet18 --dtype bfloat16 --model " + out);
  EXPECT_EQ(r.status, 0) << r.err;
  r = Run("predict resnet18 --model " + out);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("predicts bfloat16 runs, not float32"), std::string::npos) << r.err;
}

// kill -9 while measuring loses nothing written; the re-run measures only the rest.
TEST_F(CalibrateCliTest, ResumesAfterKill9) {
  const std::string out = P("cal.json"), store = P("cal.calibration.jsonl");
  const std::string args = "calibrate" + kBase + "--minutes 0.1 -q -o " + out;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string cmd =
        "JOULECAST_PROC_ROOT=/nonexistent exec " + Quote(kBinary) + " " + args + " 2>/dev/null";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (WholeLines(store) < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(fs::exists(out));
  const std::vector<json> before = Records(store);  // throws on a torn line
  ASSERT_GE(before.size(), 2u);
  const Result r = Run(args);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<json> after = Records(store);
  ASSERT_GT(after.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i], before[i]);
  double cost = 0;
  for (const json& rec : after) cost += rec["context"]["protocol"]["wall_s"].get<double>();
  EXPECT_GE(cost, 6.0);  // the whole budget, across both runs
  EXPECT_EQ(json::parse(Slurp(out))["data"]["calibration"]["records"], after.size());
}

// Ctrl-C stops measuring and still writes the profile from what was measured.
TEST_F(CalibrateCliTest, InterruptWritesAPartialProfile) {
  const std::string out = P("cal.json"), store = P("cal.calibration.jsonl"), err = P("err");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string cmd = "JOULECAST_PROC_ROOT=/nonexistent exec " + Quote(kBinary) +
                            " calibrate" + kBase + "--minutes 5 -o " + Quote(out) + " 2>" +
                            Quote(err);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (WholeLines(store) < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(child, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of stopping";
  EXPECT_EQ(WEXITSTATUS(status), 0) << Slurp(err);
  const json p = json::parse(Slurp(out));
  EXPECT_EQ(p["data"]["calibration"]["interrupted"], true);
  EXPECT_EQ(p["data"]["calibration"]["records"], Records(store).size());
  EXPECT_NE(Slurp(err).find("joulecast: interrupted: " + out +
                            " was written from the records measured so far; re-run the same "
                            "command to spend the rest of the budget\n"),
            std::string::npos)
      << Slurp(err);
}

#endif  // JOULECAST_HAVE_COLLECTOR

}  // namespace
