// StandardScaler: per-column standardisation z = (x - mean) / scale, fitted on a training matrix.
//
// Maths (identical to sklearn.preprocessing.StandardScaler):
//   mean_j  = (1/n) Σ_i X_ij
//   std_j   = sqrt((1/n) Σ_i (X_ij - mean_j)²)        population std, ddof = 0
//   scale_j = std_j, except 1 where std_j == 0 or std_j < 1e-12·|mean_j| (a constant column is
//             only centred, never divided by ~0)
// With with_mean = false the mean is 0 (stored as 0); with with_std = false the scale is 1.
// Units: Transform's output is dimensionless; mean has the column's unit, scale too.
// A single target column (an n×1 matrix) can be scaled with the same class.
//
// Errors: every entry point throws std::invalid_argument with a message that starts with the
// function name, e.g. "StandardScaler::Transform: X has 4 columns but the model was fitted on 5":
//   Fit               X empty (no rows or no columns) or containing NaN/±inf
//   Transform/Inverse not fitted, column count differs from the fitted one, non-finite X
//   ToJson            not fitted
//   FromJson          wrong kind/format_version, missing or mistyped field, mean and scale of
//                     different lengths, empty, non-finite or non-positive scale
#pragma once

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

namespace joulecast::regress {

struct StandardScalerOptions {
  bool with_mean = true;  // subtract the column mean (false: mean is taken as 0)
  bool with_std = true;   // divide by the population std (false: scale is taken as 1)
};

class StandardScaler {
 public:
  static constexpr const char* kKind = "standard_scaler";
  static constexpr int kFormatVersion = 1;

  explicit StandardScaler(StandardScalerOptions options = {}) : options_(options) {}

  // Learns mean and scale of every column of X (rows are samples).
  void Fit(const Eigen::MatrixXd& X);
  // (X - mean) / scale, column by column.
  Eigen::MatrixXd Transform(const Eigen::MatrixXd& X) const;
  // Fit(X) followed by Transform(X).
  Eigen::MatrixXd FitTransform(const Eigen::MatrixXd& X);
  // Z · scale + mean, the inverse of Transform (used to map scaled targets back to their unit).
  Eigen::MatrixXd InverseTransform(const Eigen::MatrixXd& Z) const;

  bool fitted() const { return mean_.size() > 0; }
  Eigen::Index n_features() const { return mean_.size(); }
  const StandardScalerOptions& options() const { return options_; }
  const Eigen::VectorXd& mean() const { return mean_; }    // per column, X's unit
  const Eigen::VectorXd& scale() const { return scale_; }  // per column, X's unit, > 0

  // {"kind": "standard_scaler", "format_version": 1, "with_mean", "with_std", "mean": [...],
  //  "scale": [...]}; doubles round-trip exactly.
  nlohmann::json ToJson() const;
  static StandardScaler FromJson(const nlohmann::json& j);

 private:
  StandardScalerOptions options_;
  Eigen::VectorXd mean_;
  Eigen::VectorXd scale_;
};

}  // namespace joulecast::regress
