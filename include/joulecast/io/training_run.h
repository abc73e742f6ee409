// Training-run records: one JSON object per line (JSON Lines), one record per measured training
// configuration (GPU, workload, batch size, optimizer, power limit), told apart from layer
// measurements (io/measurement.h) by "kind": "training_run". Documented in data/README.md.
//
//   epoch_time_s      wall time of one training epoch, s
//   average_power_w   mean GPU power while training, W (NVML for the Zeus traces)
//   epoch_energy_j    energy of one epoch, J (= epoch_time_s × average_power_w when imported from
//                     Zeus, whose traces give time and power only)
//   power_limit_w     the GPU power limit set while measuring, W; null = the default (TDP)
//   samples_per_epoch, train_gflops_per_sample, params_m: the workload's size and cost copied
//                     from data/workloads.json at import, so that a record is self-contained
//
// ReadTrainingRuns throws std::runtime_error "path:line: message" on bad JSON, a wrong kind or
// format_version, a missing or mistyped field, non-finite or non-positive numbers.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace joulecast {

inline constexpr int kTrainingRunFormatVersion = 1;
inline constexpr const char* kTrainingRunKind = "training_run";

struct TrainingRun {
  std::string gpu;       // name in data/hardware/gpus.json
  std::string workload;  // name in data/workloads.json
  std::int64_t batch_size = 1;
  std::string optimizer;
  std::optional<double> power_limit_w;
  double epoch_time_s = 0, average_power_w = 0, epoch_energy_j = 0;
  double samples_per_epoch = 0, train_gflops_per_sample = 0, params_m = 0;
  std::string meter = "nvml";
  nlohmann::json provenance = nlohmann::json::object();
};

nlohmann::json ToJson(const TrainingRun& r);
TrainingRun TrainingRunFromJson(const nlohmann::json& j, const std::string& where);
void WriteTrainingRun(std::ostream& out, const TrainingRun& r);
std::vector<TrainingRun> ReadTrainingRuns(const std::string& path);
// The same for text from a stream; `name` stands for the path in error messages.
std::vector<TrainingRun> ReadTrainingRuns(std::istream& in, const std::string& name);
std::vector<TrainingRun> ReadTrainingRunFiles(const std::vector<std::string>& paths);

// True when the first non-blank line of the file is a JSON object with "kind": "training_run"
// (false for layer measurements, unreadable files or invalid JSON: the caller's own reader then
// reports those).
bool IsTrainingRunFile(const std::string& path);

}  // namespace joulecast
