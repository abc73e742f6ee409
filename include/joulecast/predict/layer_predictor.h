// The fitted predictor of one layer type:
//   prediction = exp( TrendKernelRidge(features(layer, batch)) ) · Normaliser(layer, batch)
// in the profile's target unit: joules per forward pass of the whole batch (target energy_j) or
// seconds per forward pass of the batch (target time_s). Features: see features/layer_features.h.
// A calibrated predictor (joulecast calibrate) keeps the base machine's model and adds a transfer
// (predict/transfer.h): prediction = exp( transfer(TrendKernelRidge(x), x) ) · Normaliser.
// JSON: format_version 1 without a transfer, 2 with one ("transfer"); both load.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/arch/layer.h"
#include "joulecast/predict/transfer.h"
#include "joulecast/regress/trend_kernel_ridge.h"

namespace joulecast {

struct LayerPredictor {
  static constexpr int kFormatVersion = 1;          // written without a transfer
  static constexpr int kTransferFormatVersion = 2;  // written with one
  std::string layer_type;  // "Conv2d"
  std::string recipe;      // "conv2d_v1"
  regress::TrendKernelRidge model;
  nlohmann::json training = nlohmann::json::object();  // data summary: n, ranges, sources
  nlohmann::json cv = nlohmann::json::object();        // cross-validation metrics and grid
  // The baseline beside the model: target = baseline_per_unit · Normaliser(layer, batch), one
  // constant per type (J per MAC, or per element for layers without MACs): the total target over
  // the total normaliser of the training records. 0 when the profile predates it.
  double baseline_per_unit = 0;
  // Calibrated on this machine from `model`, which describes the base machine.
  std::optional<Transfer> transfer;

  // Target-unit prediction for one layer; throws std::invalid_argument when the layer does not
  // fit the recipe (naming both).
  double Predict(const LayerInstance& layer, std::int64_t batch_size) const;
  // Many at once (rows of features stacked): faster than one by one.
  std::vector<double> PredictMany(const std::vector<const LayerInstance*>& layers,
                                  const std::vector<std::int64_t>& batch_sizes) const;

  // baseline_per_unit · Normaliser(layer, batch); throws std::logic_error when there is no
  // baseline.
  double PredictBaseline(const LayerInstance& layer, std::int64_t batch_size) const;

  nlohmann::json ToJson() const;
  static LayerPredictor FromJson(const nlohmann::json& j, const std::string& where);
};

}  // namespace joulecast
