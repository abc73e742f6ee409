// Evaluation of a profile against measured records: every layer record whose type has a predictor
// is predicted and compared with its measured target (the profile's target), grouped by layer type.
// Metrics per type: n, R², R² on logs, MAPE (%), RMSE, MAE, Spearman (regress/metrics.h).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile.h"
#include "joulecast/regress/metrics.h"

namespace joulecast {

struct TypeEvaluation {
  std::vector<double> measured, predicted;
  // R² and Spearman are NaN when the measured values do not vary (e.g. a single record).
  regress::Metrics metrics;
  // The type's constant × MACs baseline (LayerPredictor::baseline_per_unit) on the same records;
  // empty when the profile has none.
  std::vector<double> baseline;
  std::optional<regress::Metrics> baseline_metrics;
};

struct ArchitectureEvaluation {
  std::vector<std::string> names;  // per record
  std::vector<std::int64_t> batch_sizes;  // per record
  std::vector<double> measured, predicted;
  regress::Metrics metrics;                                 // over all records
  std::map<std::string, regress::Metrics> by_architecture;  // per network name
  // per network name and batch size
  std::map<std::string, std::map<std::int64_t, regress::Metrics>> by_architecture_batch;
  std::vector<double> baseline;  // constant × MACs per type, summed over the walk (see above)
  std::optional<regress::Metrics> baseline_metrics;
};

struct Evaluation {
  std::string mode = "forward";  // the mode of the records and predictors compared
  std::map<std::string, TypeEvaluation> layers;
  std::optional<ArchitectureEvaluation> architectures;  // when whole-network records were given
  std::map<std::string, std::size_t> skipped;           // reason -> count
  // {"layers": {type: {n, r2, log_r2, mape, ..., "baseline": {r2, log_r2, mape, ...}}},
  //  "architectures": {n, r2, log_r2, mape, spearman, "by_architecture": {name: {n, mape,
  //  "by_batch": {"B": {n, mape}}}}, "baseline": {...}}, "skipped": {...}}; "baseline" only when
  //  the profile has baselines.
  nlohmann::json ToJson() const;
  bool empty() const { return layers.empty() && !architectures; }
};

// The records of the profile's active mode (profile.mode) against its predictors; records of other
// modes are counted in `skipped`. Layer records are predicted by their type's predictor;
// whole-network records (type = the network's name, see IsWholeNetwork) by walking that zoo
// architecture at the record's batch size and input shape (network_estimate.h). Throws
// std::runtime_error when no record could be evaluated, or when a whole-network record names a
// network the zoo lacks.
Evaluation EvaluateLayers(const Profile& profile, const std::vector<Measurement>& records);

// Every mode at once: the records of each mode against the profile's predictors of that mode.
struct ProfileEvaluation {
  std::map<std::string, Evaluation> modes;     // modes that had records the profile predicts
  std::map<std::string, std::size_t> skipped;  // over all modes, reason -> count
  // {"modes": {mode: Evaluation::ToJson()}, "skipped": {...}} and, when the forward mode was
  // evaluated, its "layers" and "architectures" at the top level as well (the format before modes).
  nlohmann::json ToJson() const;
};

// Records whose mode the profile lacks are skipped ("mode train_step: the profile has no
// predictors"). Throws std::runtime_error when no record of any mode could be evaluated.
ProfileEvaluation EvaluateProfile(const Profile& profile, const std::vector<Measurement>& records);

}  // namespace joulecast
