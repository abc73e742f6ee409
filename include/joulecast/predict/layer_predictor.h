// The fitted predictor of one layer type:
//   prediction = exp( TrendKernelRidge(features(layer, batch)) ) · Normaliser(layer, batch)
// in the profile's target unit: joules per forward pass of the whole batch (target energy_j) or
// seconds per forward pass of the batch (target time_s). Features: see features/layer_features.h.
// A calibrated predictor (joulecast calibrate) keeps the base machine's model and adds a transfer
// (predict/transfer.h): prediction = exp( transfer(TrendKernelRidge(x), x) ) · Normaliser.
// A calibrated predictor may also blend in a predictor fitted on this machine's records alone
// (PredictorBlend): with T the transferred log-efficiency above and R = the refit's
// TrendKernelRidge on its own recipe's features,
//   ln(prediction / Normaliser) = (1 - weight)·T + weight·R + c0       (kind "mix"), or
//   ln(prediction / Normaliser) = T + clamp(R, lo, hi) + c0             (kind "residual": R
// fitted on this machine's log ratio to T, ln(target / base prediction), and held within the
// range [lo, hi] of the ratios it was fitted on: beyond the records a correction is not known).
// JSON: format_version 1 without a transfer, 2 with one ("transfer"), 3 with a transfer and a
// blend ("blend"); all load.
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

// This machine's own predictor of a type, blended with the transfer of the base's (above).
struct PredictorBlend {
  std::string kind = "mix";  // "mix" | "residual" (above); a blend without a kind is a mix
  double weight = 0.5;       // of the refit R, in (0, 1); "mix" only
  double lo = 0, hi = 0;     // log units: the clamp of R; "residual" only, lo <= hi
  double c0 = 0;        // log units: the blend's level (its out-of-fold MAPE-optimal factor)
  std::string recipe;   // R's features (features/layer_features.h); may differ from the base's
  regress::TrendKernelRidge model;               // R: ln(target / Normaliser) on this machine
  nlohmann::json cv = nlohmann::json::object();  // how weight and c0 were chosen

  // {"kind", "formula", "weight" (a mix's), "range" ([lo, hi], a residual's), "c0", "recipe",
  // "features", "model", "cv"}; FromJson throws std::invalid_argument naming the field (unknown
  // kind, a mix's weight outside (0, 1), a residual's range not two finite numbers lo <= hi,
  // unknown recipe, a model whose width is not the recipe's).
  nlohmann::json ToJson() const;
  static PredictorBlend FromJson(const nlohmann::json& j);
};

struct LayerPredictor {
  static constexpr int kFormatVersion = 1;          // written without a transfer
  static constexpr int kTransferFormatVersion = 2;  // written with one
  static constexpr int kBlendFormatVersion = 3;     // written with a transfer and a blend
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
  // Blended with a predictor of this machine's records (only with a transfer).
  std::optional<PredictorBlend> blend;

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
