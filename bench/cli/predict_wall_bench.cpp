// Wall time of one `joulecast predict` run as a user sees it: process start, profile and
// architecture loading, prediction, output, exit. Target: under 100 ms for each of (all with
// --model models/xeon-gold-5120.json)
//   build/joulecast predict resnet152                     (a tree-format zoo file)
//   build/joulecast predict vit_l_16                      (a graph-format zoo file)
//   build/joulecast predict llama-2-7b --seq-len 2048     (a Hugging Face config)
// Each iteration spawns the binary (posix_spawn, stdout and stderr to /dev/null) and waits for it;
// BM_SpawnTrue spawns /bin/true, the floor that process creation alone costs.
// Run: build/bench/cli_predict_wall_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

extern char** environ;

namespace {

const std::string kBinary = JOULECAST_BINARY;
const std::string kProfile = std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json";

// Runs argv[0] with the arguments; returns its exit status, or -1 when it could not run.
int RunQuietly(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

void TimeRuns(benchmark::State& state, const std::vector<std::string>& args) {
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const int status = RunQuietly(args);
    const auto end = std::chrono::steady_clock::now();
    if (status != 0) {
      state.SkipWithError(("exit status " + std::to_string(status) + " from " + args[0]).c_str());
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
  }
}

void BM_PredictResnet152(benchmark::State& state) {
  TimeRuns(state, {kBinary, "predict", "resnet152", "--model", kProfile});
}
BENCHMARK(BM_PredictResnet152)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2);

void BM_PredictResnet152PerLayerJson(benchmark::State& state) {
  TimeRuns(state, {kBinary, "predict", "resnet152", "--model", kProfile, "--per-layer", "--json"});
}
BENCHMARK(BM_PredictResnet152PerLayerJson)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2);

void BM_PredictVitL16(benchmark::State& state) {
  TimeRuns(state, {kBinary, "predict", "vit_l_16", "--model", kProfile});
}
BENCHMARK(BM_PredictVitL16)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2);

void BM_PredictLlama2_7bSeq2048(benchmark::State& state) {
  TimeRuns(state, {kBinary, "predict", "llama-2-7b", "--seq-len", "2048", "--model", kProfile});
}
BENCHMARK(BM_PredictLlama2_7bSeq2048)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2);

void BM_SpawnTrue(benchmark::State& state) { TimeRuns(state, {"/bin/true"}); }
BENCHMARK(BM_SpawnTrue)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1);

}  // namespace

BENCHMARK_MAIN();
