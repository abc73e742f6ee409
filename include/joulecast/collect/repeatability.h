// How repeatable a machine's measurements are, from the collector's own records.
//
//   within a measurement  each record's context.spread.iqr_over_median: (q3 - q1) / median of the
//                         timed runs behind that one median (the collector's protocol, collect.h);
//   between measurements  records of the same configuration (ConfigKey) measured more than once,
//                         in separate processes (for example tools/collect_campaign.sh's repeat
//                         stage, one file per repetition): per configuration the relative range
//                         (max - min) / median and the coefficient of variation std / mean of its
//                         duration_s (and of energy_j where every record of it has one).
//
// Units: dimensionless fractions (0.01 = 1 %). Quantiles are linear interpolations between order
// statistics (numpy's default). Throws std::invalid_argument when there are no records.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "joulecast/io/measurement.h"

namespace joulecast {

struct SpreadSummary {
  std::size_t n = 0;  // values summarised
  double median = 0, p90 = 0, max = 0;
};

struct RepeatedConfig {
  std::string label;  // "Conv2d b8 16x56x56 forward" or "resnet18 b8 train_step"
  std::string mode;
  std::size_t runs = 0;
  double median_s = 0;  // median of the runs' duration_s
  double rel_range = 0;  // (max - min) / median of duration_s
  double cv = 0;         // sample std / mean of duration_s (n - 1 in the denominator)
};

struct RepeatabilityReport {
  std::size_t records = 0;
  SpreadSummary within;                  // iqr_over_median over records that carry it
  std::vector<RepeatedConfig> repeated;  // configurations seen in >= 2 records, by label
  SpreadSummary between_rel_range, between_cv;
  nlohmann::json ToJson() const;
};

// Linear-interpolation quantile q in [0, 1] of values (copied, sorted); throws on an empty vector.
double Quantile(std::vector<double> values, double q);
SpreadSummary Summarise(const std::vector<double>& values);

RepeatabilityReport AnalyseRepeatability(const std::vector<Measurement>& records);

}  // namespace joulecast
