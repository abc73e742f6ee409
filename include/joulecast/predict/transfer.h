// A transfer: how one layer type's cost on this machine relates to a base profile's prediction for
// another machine (joulecast calibrate, predict/calibration.h).
//
// With u = ln(p_base / n) the base predictor's log-efficiency for a configuration (p_base its
// prediction, n its normaliser: MACs, or elements for layers without MACs; layer_predictor.h), x
// the recipe's feature row and t = ln(y / n) the measured log-efficiency here, a transfer predicts
//   t̂ = c0 + c1·u + w·z,    z_j = (x_j - mean_j) / scale_j,
// so that prediction = exp(t̂)·n in the calibrated profile's unit. Kinds, from simple to rich:
//   "ratio"     c1 = 1, w = 0: this machine is a constant factor exp(c0) off the base (for a base
//               of another target, e.g. joules → seconds, exp(c0) is 1 / mean power);
//   "linear"    w = 0, c0 and c1 by least squares: the factor drifts with the base's efficiency;
//   "features"  c0, c1 unpenalised and w by ridge (penalty alpha·||w||² on standardised
//               features): corrections along the recipe's own axes (e.g. this machine's cache
//               sizes bend the time per MAC elsewhere).
//   "identity"  c0 = 0, c1 = 1: the base as it is (tried only when the targets agree:
//               TransferOptions::identity).
// The ratio's c0 is the factor that minimises the records' MAPE (a weighted median of y/p_base),
// not the mean log ratio: a machine whose differences lie in a few configurations (a heavy tail)
// otherwise shifts every other prediction. For the same reason "linear" and "features" are
// fitted by least absolute deviations in logs (20 rounds of iteratively reweighted least
// squares, weights 1 / max(|residual|, 0.001); the ridge penalty as it is), their c0 then moved
// by the MAPE-minimising factor of the residuals.
// The features a transfer sees are the recipe's row followed by TransferExtras: where the time
// per element of two machines parts is often where a tensor stops fitting a cache or, on a
// virtual machine, where a fresh allocation is mapped page by page (glibc maps blocks of 32 MiB
// and more anew on every call), which the recipes of the base need not have seen.
// FitTransfer scores every kind (and alpha) by k-fold cross-validation on the calibration
// records, MAPE (%) of exp(t̂ - t) - 1, and keeps the lowest; a richer kind is tried only with
// enough records (options) and taken only when it lowers the score by more than 2 % of it. Units:
// c0 and w in log units, c1 none.
//
// Errors: FitTransfer throws std::invalid_argument "FitTransfer: ..." for no records, sizes that
// differ, or non-finite values (naming the row); FromJson throws std::invalid_argument naming
// the field.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace joulecast {

struct TransferOptions {
  std::size_t folds = 5;                            // k of k-fold CV (fewer records: leave one out)
  std::uint64_t seed = 42;                          // fold assignment
  std::size_t min_linear = 4;                       // records needed to try "linear"
  std::size_t min_features = 12;                    // records needed to try "features"
  std::vector<double> alphas = {1.0, 10.0, 100.0};  // ridge penalties tried for "features"
  bool identity = false;  // also try "identity" (the base already predicts the target's unit)
};

// With i, o = ln of the batch's input and output bytes (float32: 4 bytes an element), the hinges
// max(0, v - ln 2^k) for v = o, i and k = 20, 23, 25, 27 (1, 8, 32 and 128 MiB).
constexpr int kTransferExtras = 8;
std::array<double, kTransferExtras> TransferExtras(double input_elements, double output_elements);

struct Transfer {
  static constexpr int kFormatVersion = 1;
  std::string kind = "ratio";  // "identity" | "ratio" | "linear" | "features"
  double c0 = 0;
  double c1 = 1;
  double alpha = 0;      // "features" only
  Eigen::VectorXd w;     // "features" only: one weight per recipe feature
  Eigen::VectorXd mean;  // "features" only
  Eigen::VectorXd scale;
  // {"n", "folds", "chosen", "scores": {"ratio": mape, "linear": ..., "features@alpha": ...}}
  nlohmann::json cv = nlohmann::json::object();

  // t̂ for one configuration: `u` the base log-efficiency, `x` the recipe's feature row followed
  // by TransferExtras (read only by "features", whose width it must have).
  double Apply(double u, const Eigen::Ref<const Eigen::RowVectorXd>& x) const;

  nlohmann::json ToJson() const;
  static Transfer FromJson(const nlohmann::json& j);
};

// The transfer that applies `inner`, then `outer` to its result: every kind is affine in u and in
// the features, so the composition is one transfer, exact: c1 = c1'·c1, w = c1'·w·s'/s + w' on the
// outer's standardisation (or the inner's when the outer has none), c0 absorbing the rest. Kind
// "features" when either has features, else "linear". Its cv is the outer's, with the inner's
// under "inner". Throws std::invalid_argument when both have features of different widths.
Transfer ComposeTransfers(const Transfer& inner, const Transfer& outer);

// The number j[key] for FromJson of a transfer or a blend: throws std::invalid_argument
// "<prefix><key>: expected a number" when it is missing or not a number, "...: expected a finite
// number" when it is not finite.
double FiniteNumberField(const nlohmann::json& j, const char* key, const std::string& prefix);

// The MAPE (%) of predictions whose log ratios to the measured values are r (ln p_i - ln y_i):
// 100 · Σ w_i·|e^(r_i) - 1| / Σ w_i, with w_i = 1 when `weights` is null or empty (else one per
// entry, >= 0, not all 0: not checked, callers pass checked or derived weights).
double WeightedMapeOfLogRatios(const Eigen::VectorXd& r, const Eigen::VectorXd* weights = nullptr);

// The factor k > 0 that minimises the MAPE of k·predicted against measured, Σ |k·p_i/y_i - 1|:
// the median of y_i/p_i weighted by p_i/y_i (below the plain median when the ratios spread).
// Both vectors of one length, positive and finite (not checked: callers pass fitted values).
double MapeOptimalFactor(const Eigen::VectorXd& predicted, const Eigen::VectorXd& measured);

// Fits a transfer from n records: u (n), X (n × d; may have 0 columns, then only "ratio" and
// "linear" are tried) and t (n), as in the header comment. With `weights` (n, >= 0, not all 0)
// the CV score is the weighted mean of the records' out-of-fold absolute percentage errors
// (cv.mape is that score); throws std::invalid_argument for weights of another length. With
// `oof`, also the chosen kind's k-fold out-of-fold t̂, one per record (for one record: its
// fitted t̂).
Transfer FitTransfer(const Eigen::VectorXd& u, const Eigen::MatrixXd& X, const Eigen::VectorXd& t,
                     const TransferOptions& options = {}, const Eigen::VectorXd* weights = nullptr,
                     Eigen::VectorXd* oof = nullptr);

}  // namespace joulecast
