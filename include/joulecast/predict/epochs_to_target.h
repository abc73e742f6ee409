// Epochs to a validation target (data/zeus2023/epochs_to_target.jsonl, converted from Zeus's
// summary_train.csv by tools/import_zeus2023_train.py): for each training run of a workload at a
// batch size, optimizer and learning rate, the epoch at which it first reached each target of
// the metric (or null when it never did). With a per-epoch energy this gives energy to accuracy:
// E_target = epochs to target × epoch energy.
//
// Summary at one (workload, batch size, target), EpochsToTargetTable::Find: per (optimizer,
// learning rate) configuration, the runs that reached the target and the mean of their epochs;
// the configuration with the lowest mean wins (its runs_reached of runs_total say how often the
// target was reached at all). Targets are compared exactly (1e-9 relative).
//
// Default target (DefaultTarget): the strictest target (highest, or lowest when the metric is
// lower-is-better, e.g. librispeech's word error rate) that at least one run reached at EVERY
// requested batch size that has records; nullopt when none of them has records.
//
// Errors (std::runtime_error): "path:12: field 'batch_size' must be an integer >= 1" and the like
// for a malformed record, "path:12: invalid JSON: ...", "path: cannot open", "path: no records".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace joulecast {

struct EpochsToTargetRecord {
  std::string workload, optimizer;
  std::int64_t batch_size = 0;
  double learning_rate = 0, target_metric = 0;
  int run = 0;
  bool higher_is_better = true;
  std::optional<int> target_epoch;  // nullopt: never reached
  std::size_t line = 0;
};

struct EpochsToTarget {
  double target = 0;
  double mean_epochs = 0;  // over the runs that reached the target
  int runs_reached = 0, runs_total = 0;
  std::string optimizer;
  double learning_rate = 0;
};

class EpochsToTargetTable {
 public:
  static EpochsToTargetTable Load(const std::string& path);
  // data/zeus2023/epochs_to_target.jsonl, found by FindDataFile (io/data_path.h).
  static EpochsToTargetTable LoadDefault();

  bool Has(const std::string& workload) const;
  std::optional<bool> HigherIsBetter(const std::string& workload) const;
  // Distinct targets of the workload, loosest first.
  std::vector<double> Targets(const std::string& workload) const;
  std::optional<EpochsToTarget> Find(const std::string& workload, std::int64_t batch_size,
                                     double target) const;
  std::optional<double> DefaultTarget(const std::string& workload,
                                      const std::vector<std::int64_t>& batch_sizes) const;
  const std::vector<EpochsToTargetRecord>& records() const { return records_; }
  const std::string& path() const { return path_; }

 private:
  std::vector<EpochsToTargetRecord> records_;
  std::string path_;
};

}  // namespace joulecast
