// Fitting a profile from measurement records: one LayerPredictor per layer type, its
// hyperparameters chosen by k-fold cross-validation on the records of that type.
//
// Grid: trend degree × (trend alone | trend + RBF kernel ridge with kernel_alpha × gamma).
// Score (lower is better), selection "kfold+extrapolation" (default): the mean of
//   - the k-fold MAPE (%) of out-of-fold predictions in the target unit, and
//   - the extrapolation MAPE: fitted on the smallest (1 - extrapolation_fraction) of the records by
//     MAC count, scored on the largest extrapolation_fraction,
// because the layers of real networks lie at the large end of random sampling ranges and a model
// must hold up beyond its data. Selection "kfold" uses the k-fold MAPE alone. The best point is
// refitted on all records. The profile stores, per type, the CV metrics of the best point
// (R², R² on logs, MAPE, Spearman), the factor k that minimises the out-of-fold MAPE of k times
// the predictions with that MAPE (cv.mape_optimal_level: a fit by least squares in logs sits near
// the median ratio, and calibrate compares its transfers, whose level is that factor, with a
// refit on this footing), the whole grid's scores and a summary of the training data.
//
// Records are grouped by mode ("forward", "train_step") and layer type: one predictor per pair, all
// in one profile (profile.h), with "forward" active when present; data.modes gives the record and
// type counts per mode. With several modes, an error of one names it ("mode train_step: fit ...").
// A type of another mode whose forward predictor exists has a second candidate (with
// `from_forward`, default on): the forward predictor followed by a transfer (predict/transfer.h:
// u = the forward prediction's log-efficiency, t = the record's, FitTransfer's kinds and k-fold CV)
// fitted on this mode's records. A training step does a forward pass and two more products of the
// same shapes, so its time tracks the forward time that thousands of forward records pin down far
// better than a few hundred training records alone. The candidate with the lower k-fold MAPE (%)
// in the target unit is kept; the predictor's cv says which ("from": "forward", with both scores).
// Records that describe whole networks (type equal to their context.architecture) are skipped, as
// are records whose target is not > 0 (counted in `skipped`). A time profile whose records had a
// meter keeps their mean power (Profile::power, predict/energy_from_time.h). Throws
// std::runtime_error when a type has fewer than `min_records` records or when no record can be
// fitted at all, and (RecordsDtype) when the records ran in more than one dtype.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

struct FitOptions {
  std::string target = "energy_j";    // "energy_j" | "time_s"
  std::size_t folds = 5;              // k of k-fold CV
  std::uint64_t seed = 42;            // fold assignment
  std::vector<int> degrees = {1, 2};  // trend degrees tried
  double ridge_alpha = 1.0;           // trend penalty (standardised features)
  std::vector<double> kernel_alphas = {0.01, 0.1, 1.0};
  std::vector<double> gammas = {0.01, 0.03, 0.1, 0.3};
  std::string selection = "kfold+extrapolation";  // or "kfold"
  double extrapolation_fraction = 0.2;            // share of largest records held out
  std::size_t min_records = 10;                   // per layer type
  std::vector<std::string> only_types;            // empty: every type present
  // Records whose context.protocol.other_cpus_busy (collect/cpu_load.h) exceeds this are
  // skipped and counted: measured beside other work, their time may be inflated. Records without
  // the field are kept. Default: keep all.
  double max_other_cpus = std::numeric_limits<double>::infinity();
  bool from_forward = true;  // the forward-plus-transfer candidate for other modes (above)
};

struct FitReport {
  std::map<std::string, std::size_t> skipped;  // reason -> count
};

// The one dtype of `records` (an empty dtype counts as float32; none at all: float32). Throws
// std::runtime_error "<who>: records of more than one dtype (bfloat16 12, float32 300); ..."
std::string RecordsDtype(const std::vector<const Measurement*>& records, const std::string& who);

// What a transfer (predict/transfer.h) is fitted on, for `records` of one type against `base`:
// u = ln(base prediction / n), t = ln(target / n), X = base's recipe row then TransferExtras,
// and the base's predictions, the targets and the normalisers n themselves. fit (training steps
// from the forward predictor) and calibrate (this machine from another's profile) both build it
// here.
struct TransferRows {
  Eigen::VectorXd u, t;
  Eigen::MatrixXd X;
  std::vector<double> pred, y, norm;
};
TransferRows TransferRowsOf(const LayerPredictor& base,
                            const std::vector<const Measurement*>& records,
                            const std::string& target);

// One type's predictor, as `fit` makes it. With `oof_log`, also the chosen candidate's k-fold
// out-of-fold predictions of ln(target / normaliser), one per record in order (calibrate blends
// them with a transfer's).
LayerPredictor FitLayerPredictor(const std::string& layer_type,
                                 const std::vector<const Measurement*>& records,
                                 const FitOptions& options, Eigen::VectorXd* oof_log = nullptr);

Profile FitProfile(const std::vector<Measurement>& records, const FitOptions& options,
                   FitReport* report = nullptr);

// True for records of a whole network rather than one layer.
bool IsWholeNetwork(const Measurement& m);

}  // namespace joulecast
