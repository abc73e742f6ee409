// A hardware profile (models/<name>.json): one LayerPredictor per layer type, all for one target
// ("energy_j": joules per forward pass of the batch, or "time_s": seconds per pass), plus the
// hardware it describes and where its training data came from.
//
// Load throws std::runtime_error "path: ..." for a missing file, invalid JSON, a wrong
// format_version or a corrupt predictor; Save writes atomically.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "joulecast/predict/layer_predictor.h"

namespace joulecast {

struct Profile {
  static constexpr int kFormatVersion = 1;
  std::string name;
  std::string target = "energy_j";
  nlohmann::json hardware = nlohmann::json::object();
  nlohmann::json data = nlohmann::json::object();  // sources, record counts
  std::map<std::string, LayerPredictor> layers;

  const LayerPredictor* Find(const std::string& layer_type) const;

  nlohmann::json ToJson() const;
  static Profile FromJson(const nlohmann::json& j, const std::string& where);
  static Profile Load(const std::string& path);
  void Save(const std::string& path) const;
};

// "J" or "s".
const char* TargetUnit(const std::string& target);

}  // namespace joulecast
