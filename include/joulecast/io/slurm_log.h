// The cluster logs of the getzner2023 collection runs, read for the published cleaning rule: a
// "[codecarbon ERROR" line (an RAPL counter wrap-around) spoils the measurement that was running.
//
// Two log formats occur:
//  - per-row progress lines "C/R (config_no/rep_no) [...]": the error spoils that one row, whose
//    0-based index in the section's CSV is C*3 + R - 1;
//  - tqdm progress bars "current config:[...]: ... K/500 [...]": the error spoils configuration K
//    (all of its repetitions), K being the count shown on the last bar drawn before the error.
// A log may hold several sections, each starting "Starting data-collection for NAME...".
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace joulecast {

struct SlurmSection {
  std::string name;                   // "conv2d", "relu", "architectures", ...
  std::set<std::size_t> bad_rows;     // 0-based CSV data-row indices (per-row format)
  std::set<std::size_t> bad_configs;  // 0-based configuration indices (progress-bar format)
  std::size_t error_lines = 0;
};

struct SlurmLog {
  std::string path;
  std::vector<SlurmSection> sections;
  // The section for a CSV whose module is `module` (case-insensitive); with a single section that
  // one. Throws std::runtime_error naming the log and the sections it has when none matches.
  const SlurmSection& SectionFor(const std::string& module) const;
};

// Throws std::runtime_error "path: cannot open file", or "path:line: error before any progress
// line" when an error cannot be attributed to a measurement.
SlurmLog ReadSlurmLog(const std::string& path);

}  // namespace joulecast
