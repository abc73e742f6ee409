// A trend plus kernel correction, for targets that follow a power law with local deviations:
//
//   z      = (x - mean) / scale                         (standard scaler on the inputs)
//   trend  = Ridge(poly_d(z))                           (degree-d polynomial ridge, with intercept)
//   f(x)   = trend(z) + KRR_rbf(z)                      (RBF kernel ridge fitted to the residuals)
//
// Far from the training data the RBF term decays to zero and f follows the polynomial trend, which
// in log-log features is a power law: this is why it extrapolates to real networks' layers better
// than kernel ridge alone (whose prediction decays to the target mean, i.e. 0 without an
// intercept). With use_kernel = false the model is the trend alone.
//
// Throws std::invalid_argument (prefix "TrendKernelRidge::Fit"/"::Predict"/"::FromJson") on shape
// mismatches, non-finite values, unfitted use and corrupt JSON, as its parts do.
#pragma once

#include <nlohmann/json.hpp>

#include "joulecast/regress/kernel_ridge.h"
#include "joulecast/regress/polynomial_features.h"
#include "joulecast/regress/ridge.h"
#include "joulecast/regress/scaler.h"

namespace joulecast::regress {

struct TrendKernelRidgeOptions {
  int degree = 1;             // polynomial degree of the trend, >= 1
  double ridge_alpha = 1.0;   // trend's L2 penalty on standardised features, > 0
  bool use_kernel = true;     // add the RBF residual correction
  double kernel_alpha = 0.1;  // kernel ridge penalty, > 0
  double gamma = 0.03;        // RBF width on standardised features, > 0
  nlohmann::json ToJson() const;
  static TrendKernelRidgeOptions FromJson(const nlohmann::json& j);
};

class TrendKernelRidge {
 public:
  static constexpr const char* kKind = "trend_kernel_ridge";
  static constexpr int kFormatVersion = 1;

  explicit TrendKernelRidge(TrendKernelRidgeOptions options = {});
  void Fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y);
  Eigen::VectorXd Predict(const Eigen::MatrixXd& X) const;
  // The trend alone (diagnostics: how much the kernel corrects).
  Eigen::VectorXd PredictTrend(const Eigen::MatrixXd& X) const;
  bool fitted() const { return scaler_.fitted(); }
  Eigen::Index n_features() const { return scaler_.n_features(); }
  const TrendKernelRidgeOptions& options() const { return options_; }

  nlohmann::json ToJson() const;
  static TrendKernelRidge FromJson(const nlohmann::json& j);

 private:
  TrendKernelRidgeOptions options_;
  StandardScaler scaler_;
  PolynomialFeatures poly_;
  Ridge trend_;
  KernelRidge kernel_;
};

}  // namespace joulecast::regress
