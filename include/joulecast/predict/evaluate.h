// Evaluation of a profile against measured records: every layer record whose type has a predictor
// is predicted and compared with its measured target (the profile's target), grouped by layer type.
// Metrics per type: n, R², R² on logs, MAPE (%), RMSE, MAE, Spearman (regress/metrics.h).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile.h"
#include "joulecast/regress/metrics.h"

namespace joulecast {

struct TypeEvaluation {
  std::vector<double> measured, predicted;
  regress::Metrics metrics;  // filled when measured.size() >= 2
};

struct Evaluation {
  std::map<std::string, TypeEvaluation> layers;
  std::map<std::string, std::size_t> skipped;  // reason -> count
  nlohmann::json ToJson()
      const;  // {"layers": {type: {n, r2, log_r2, mape, ...}}, "skipped": {...}}
};

// Throws std::runtime_error when no record could be evaluated.
Evaluation EvaluateLayers(const Profile& profile, const std::vector<Measurement>& records);

}  // namespace joulecast
