// Ridge: linear least squares with an L2 penalty on the weights (sklearn.linear_model.Ridge).
//
// Maths: with X (n × d, one row per sample) and y (n), Fit finds
//   (w, b) = argmin ||y - X·w - b·1||² + alpha·||w||²
// The intercept b is not penalised: with fit_intercept, X and y are centred on their column
// means (x̄, ȳ), w solves the centred problem and b = ȳ - x̄·w; without it, b = 0.
// w is computed as the least-squares solution of the augmented system
//   [X_c; sqrt(alpha)·I] w = [y_c; 0]
// with a column-pivoting Householder QR, which avoids forming X_cᵀX_c (that would square the
// condition number) and is well defined for every alpha > 0, also when d > n.
// Prediction: ŷ = X·w + b. Units: w in (y unit)/(x unit), b in y's unit.
//
// Errors (std::invalid_argument, message prefixed with the function name, e.g.
// "Ridge::Fit: X has a non-finite value at row 3, column 2"):
//   Fit       alpha <= 0 or non-finite, X empty, X rows != y size, non-finite X or y
//   Predict   not fitted, X column count differs from the fitted one, non-finite X
//   ToJson    not fitted
//   FromJson  wrong kind/format_version, missing or mistyped field, alpha <= 0, empty coef,
//             intercept != 0 without fit_intercept
// std::runtime_error from Fit when the solution overflows (non-finite coefficients).
#pragma once

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

namespace joulecast::regress {

struct RidgeOptions {
  double alpha = 1.0;         // L2 penalty strength, > 0 (in y unit² / w unit²)
  bool fit_intercept = true;  // false: the model is X·w, data assumed centred
};

class Ridge {
 public:
  static constexpr const char* kKind = "ridge";
  static constexpr int kFormatVersion = 1;

  explicit Ridge(RidgeOptions options = {}) : options_(options) {}

  void Fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y);
  // X·coef() + intercept(), one value per row of X.
  Eigen::VectorXd Predict(const Eigen::MatrixXd& X) const;

  bool fitted() const { return coef_.size() > 0; }
  Eigen::Index n_features() const { return coef_.size(); }
  const RidgeOptions& options() const { return options_; }
  const Eigen::VectorXd& coef() const { return coef_; }  // w, one entry per column of X
  double intercept() const { return intercept_; }        // b (0 without fit_intercept)

  // {"kind": "ridge", "format_version": 1, "alpha", "fit_intercept", "coef": [...],
  //  "intercept"}; doubles round-trip exactly.
  nlohmann::json ToJson() const;
  static Ridge FromJson(const nlohmann::json& j);

 private:
  RidgeOptions options_;
  Eigen::VectorXd coef_;
  double intercept_ = 0.0;
};

}  // namespace joulecast::regress
