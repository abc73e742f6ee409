// A hardware profile (models/<name>.json): one LayerPredictor per layer type and mode, all for one
// target ("energy_j": joules per run of the batch, or "time_s": seconds per run), plus the hardware
// it describes and where its training data came from. A run is one forward pass of the whole batch
// (mode "forward") or one training step of it (mode "train_step": forward, backward, optimizer
// step), as in the measurement records (io/measurement.h). Mode "input_grad" is one operator's
// forward and the gradient of its activation inputs with its parameters frozen (no weight
// gradient, no update): with the other two it splits a step into the parts a frozen layer keeps
// (predict/frozen_step.h).
//
// One file holds the predictors of every mode its records had. In memory one mode is active:
// `layers` holds its predictors (what Find, the network walk, evaluate and the batch predictor
// use) and `other_modes` the rest; SelectMode swaps another in.
//
// File format (format_version 2):
//   {"kind": "joulecast_profile", "format_version": 2, "name", "target", ["dtype",] "hardware",
//    "data", ["power",] "modes": {"forward": {"layers": {type: predictor}}, "train_step": {...}}}
// "dtype" is the element type its records ran in (float32, float64, float16 or bfloat16); files
// without it are float32, as every record was before the collector had --dtype.
// format_version 1 (models/xeon-gold-5120.json) had a single "layers" object; it is read as the
// forward mode. Save always writes version 2.
//
// Load throws std::runtime_error "path: ..." for a missing file, invalid JSON, a wrong
// format_version, an unknown mode or a corrupt predictor (naming "layers.T" in version 1 files and
// "modes.M.layers.T" in version 2); Save writes atomically.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/predict/layer_predictor.h"

namespace joulecast {

struct Profile {
  static constexpr int kFormatVersion = 2;
  std::string name;
  std::string target = "energy_j";
  std::string dtype = "float32";  // of its records: fit refuses to mix them
  // The machine it describes: the normalised keys of predict/hardware.h ("cpu", "isa_flags",
  // "logical_cpus", "threads", "libtorch", "blas", "gpu", "driver"; fit writes them from the
  // records and refuses records of different CPU models) beside the records' own description.
  nlohmann::json hardware = nlohmann::json::object();
  nlohmann::json data = nlohmann::json::object();  // sources, record counts
  // A time profile's measured average power, when its records had a meter (fit, calibrate):
  // {"watts", "source": "measured", "meter", "records"} (predict/energy_from_time.h). Null
  // otherwise; written as "power" only when set.
  nlohmann::json power;
  // The active mode and its predictors by layer type.
  std::string mode = "forward";
  std::map<std::string, LayerPredictor> layers;
  // The predictors of the other modes in the same file: mode -> layer type -> predictor.
  std::map<std::string, std::map<std::string, LayerPredictor>> other_modes;

  const LayerPredictor* Find(const std::string& layer_type) const;

  // Every mode with predictors, sorted ("forward", "train_step").
  std::vector<std::string> Modes() const;
  bool HasMode(const std::string& m) const;
  // Makes `m` the active mode. Throws std::runtime_error
  //   "<where>: no train_step predictors in the profile (it has: forward)".
  void SelectMode(const std::string& m, const std::string& where);
  // Throws std::runtime_error "<where>: the profile NAME predicts float32 runs, not bfloat16; fit
  // a bfloat16 profile from records of `collect --dtype bfloat16`" unless `d` is its dtype: a
  // profile of another element type would give a silently wrong answer.
  void RequireDtype(const std::string& d, const std::string& where) const;

  nlohmann::json ToJson() const;
  // The active mode is "forward" when the file has it, else the first of Modes().
  static Profile FromJson(const nlohmann::json& j, const std::string& where);
  static Profile Load(const std::string& path);
  void Save(const std::string& path) const;
};

// "J" or "s".
const char* TargetUnit(const std::string& target);
// "forward pass" or "training step": what one run of `mode` is, for output text.
const char* RunName(const std::string& mode);

}  // namespace joulecast
