// The measurement protocol's result and the libtorch runner behind it.
//
// Protocol (implemented by the plugin, summarised here): build the layer (or whole network) as a
// torch::nn module and a random input batch on the device in the dtype; "forward" runs the module
// in eval mode under NoGradGuard; "train_step" runs forward in train mode, backward (a gradient of
// ones for a lone layer, whose input requires grad as inside a network; cross-entropy against
// random labels for a whole classifier) and an SGD step (momentum 0.9) when there are parameters.
// Warm-up (collect/warm_up.h): at least 2 runs and `warmup_seconds`, and under the kept heap
// (collector.h SettlesHeap) on until two runs in a row fault at most 64 fresh pages in each (a heap
// still growing; at most 32 runs, or 60 s once 4 runs are done). Then k runs per timed
// sample, k chosen so that a sample lasts >= 1 ms, samples repeated until `min_seconds` have passed
// and at least `min_repetitions` samples exist; steady clock; torch::cuda::synchronize() before
// each clock read on CUDA. The energy meter spans all timed runs; energy per run = joules / runs.
//
// Units: seconds per run, where a run is one forward pass of the whole batch or one training step.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace joulecast {

struct RunResult {
  std::vector<double> samples_s;  // seconds per run, one value per timed sample
  std::int64_t runs_per_sample = 1;
  std::int64_t runs = 0;  // timed runs in all
  double elapsed_s = 0;   // wall time of the timed phase
  std::int64_t warmup_runs = 0;
  bool warmup_settled = true;  // false: the last warm-up runs still faulted (collector.h)
  double faults_per_run = 0;   // minor page faults over the timed runs / runs
  std::int64_t threads = 1;
  nlohmann::json energy_j = nullptr;  // joules over the timed phase (filled by the collector)
};

// Median, quartiles and spread of the samples.
struct TimingSummary {
  double median_s = 0, mean_s = 0, std_s = 0, q1_s = 0, q3_s = 0, min_s = 0, max_s = 0;
  double iqr_over_median = 0;  // (q3 - q1) / median: the spread reported per record
};
// Quartiles by linear interpolation (numpy's default). Throws std::invalid_argument when empty.
TimingSummary Summarize(std::vector<double> samples);

// Phase callback as seen by C++ code: phase 0 = timed runs begin, 1 = they ended.
using PhaseFn = std::function<void(int phase)>;
// What measures one request (the plugin, or a fake in tests). Throws std::runtime_error.
using MeasureFn = std::function<RunResult(const nlohmann::json& request, const PhaseFn& phase)>;

// The loaded joulecast_collect_torch plugin.
class TorchRunner {
 public:
  // Finds the plugin file (libjoulecast_collect_torch.so) in `dirs` (default: the directories
  // of TorchScriptPluginDirectories(): $JOULECAST_PLUGIN_DIR, next to the executable, ../lib/
  // joulecast, the build tree) and loads it once per process. Throws std::runtime_error
  // "collect needs the joulecast_collect_torch plugin (built when libtorch is found); not found
  // in: ..." or an interface-version mismatch.
  static TorchRunner Load();
  static TorchRunner Load(const std::vector<std::string>& dirs);

  nlohmann::json Info() const;  // the plugin's description of libtorch
  RunResult Measure(const nlohmann::json& request, const PhaseFn& phase) const;
  MeasureFn AsMeasureFn() const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  void* info_ = nullptr;
  void* measure_ = nullptr;
  void* free_ = nullptr;
};

std::string TorchRunnerPluginFileName();

}  // namespace joulecast
