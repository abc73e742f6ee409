// What the CLI tests share: running the built joulecast binary through the shell, capturing its
// exit status, stdout and stderr, and a fixture with a fresh temporary directory per test.
// JOULECAST_BINARY is the path of the binary under test (tests/CMakeLists.txt defines it).
#pragma once

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

namespace cli_test {

namespace fs = std::filesystem;

inline const std::string kBinary = JOULECAST_BINARY;
inline const std::string kSource = JOULECAST_SOURCE_DIR;
// The shipped energy profile most CLI tests predict with.
inline const std::string kXeonGold = kSource + "/models/xeon-gold-5120.json";

struct Result {
  int status = -1;  // exit status; -1 when the process did not exit normally
  std::string out, err;
};

// `s` as one single-quoted shell word.
inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The whole file, or "" when it cannot be read.
inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines of `p` whose newline is written: what a test may count while a child process appends
// records (a record straddling a page boundary can be read half written). 0 without the file.
inline std::size_t WholeLines(const fs::path& p) {
  const std::string text = Slurp(p);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The JSON value of each line of `p` (none when it cannot be read).
inline std::vector<nlohmann::json> Records(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::istringstream in(Slurp(p));
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

inline bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}
inline bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Runs `[env] joulecast args` (args already shell-quoted where needed; env as VAR=value ...),
// in `cwd` when given, with stdout and stderr captured through files in `scratch`.
// Unless `env` sets JOULECAST_PROC_ROOT, it points at a missing directory: the host's CPU is then
// unknown and predict/compare/evaluate print no hardware warning (predict/hardware.h), whatever
// machine the tests run on (tests/predict/hardware_test.cpp checks the warning).
inline Result RunJoulecast(const fs::path& scratch, const std::string& args,
                           std::string env = "", const std::string& cwd = "") {
  if (env.find("JOULECAST_PROC_ROOT=") == std::string::npos)
    env = "JOULECAST_PROC_ROOT=/nonexistent" + (env.empty() ? "" : " " + env);
  const fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  std::string cmd = cwd.empty() ? "" : "cd " + Quote(cwd) + " && ";
  cmd += env + (env.empty() ? "" : " ") + Quote(kBinary) + " " + args + " >" + Quote(out.string()) +
         " 2>" + Quote(err.string());
  const int raw = std::system(cmd.c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// A Zeus-format trace for one GPU: 6 workloads x 3 batch sizes x 3 power limits, with time
// falling and power rising with the batch size and the limit (synthetic, smooth).
inline std::string SyntheticTrace(double speed, double tdp) {
  std::string s = "dataset,network,batch_size,optimizer,power_limit,time_per_epoch,average_power\n";
  const char* keys[][2] = {{"cifar100", "shufflenetv2"},   {"imagenet", "resnet50"},
                           {"librispeech", "deepspeech2"}, {"movielens-1m", "ncf"},
                           {"squad", "bert_base_uncased"}, {"sentiment140", "bert_base_uncased"}};
  for (int w = 0; w < 6; ++w) {
    for (int bs : {16, 64, 256}) {
      for (double frac : {0.5, 0.75, 1.0}) {
        const double t = (100.0 + 50 * w) * std::pow(256.0 / bs, 0.3) / speed / std::pow(frac, 0.2);
        const double p = tdp * frac * (0.6 + 0.05 * std::log2(bs) / 8);
        s += std::string(keys[w][0]) + "," + keys[w][1] + "," + std::to_string(bs) + ",adam," +
             std::to_string(frac * tdp) + "," + std::to_string(t) + "," + std::to_string(p) + "\n";
      }
    }
  }
  return s;
}

// A fresh directory per test (joulecast_cli_<pid>_<test name> under the system's temp
// directory), removed afterwards.
class CliFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string P(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(P(name), std::ios::binary) << text;
    return P(name);
  }
  Result Run(const std::string& args, const std::string& env = "") const {
    return RunJoulecast(dir_, args, env);
  }
  fs::path dir_;
};

}  // namespace cli_test
