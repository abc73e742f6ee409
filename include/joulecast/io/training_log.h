// Reader of partial training logs: one CSV row per finished training epoch, for the online
// estimators (predict/online_estimate.h, `joulecast extrapolate`).
//
// Format (RFC 4180 CSV, io/csv.h), a header row naming the columns, in any order:
//   epoch        required; 1, 2, 3, ... in order, one row per epoch (the first data row is epoch 1)
//   duration_s   required; wall time of the epoch in seconds, finite and > 0. A caller may name
//                another time column instead (`time_column`, `extrapolate --time-column cpu_s`):
//                that column then plays duration_s's part everywhere below, messages included
//   energy_j     optional; energy of the epoch in joules, finite and >= 0
//   power_w      optional; mean power over the epoch in watts, finite and >= 0; the epoch's
//                energy is then power_w × duration_s J (= power_w × duration_s / 3600 Wh), so
//                with another time column power_w must be the mean over what that column times
// When both energy_j and power_w are present, energy_j is used and power_w is only read for its
// validity. With neither, the log has times only (has_energy() false). Other columns (loss,
// accuracy, ...) are ignored. Empty lines are skipped.
//
// Errors (std::runtime_error), one line naming the file and line:
//   "LOG.csv: cannot open", "LOG.csv: empty file (expected a header with epoch, duration_s)",
//   "LOG.csv: no epochs after the header", "LOG.csv:1: missing column 'duration_s'" (the
//   header's line; a log without a header fails here, its first row read as the header),
//   "LOG.csv:4: 2 fields, the header has 3", "LOG.csv:4: epoch 3 expected, got 5",
//   "LOG.csv:4: power_w is not finite: 'nan'", "LOG.csv:4: duration_s must be > 0, got 0",
//   "LOG.csv:4: energy_j must be >= 0, got -1",
//   "LOG.csv:4: power_w 1e300 x duration_s 1e300 overflows a double", and for a time column
//   named epoch, energy_j, power_w or nothing "time column 'epoch' cannot hold epoch times: ..."
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace joulecast {

struct LogEpoch {
  int epoch = 0;
  double duration_s = 0;
  std::optional<double> energy_j;  // set for every epoch when the log has energy or power
  std::size_t line = 0;            // 1-based line in the file
};

struct TrainingLog {
  std::string path;
  std::string energy_column;  // "energy_j", "power_w" or "" (time only)
  std::string time_column = "duration_s";  // the column LogEpoch::duration_s was read from
  std::vector<LogEpoch> epochs;
  bool has_energy() const { return !energy_column.empty(); }
};

TrainingLog ReadTrainingLog(std::istream& in, const std::string& name,
                            const std::string& time_column = "duration_s");
TrainingLog LoadTrainingLog(const std::string& path,
                            const std::string& time_column = "duration_s");

}  // namespace joulecast
