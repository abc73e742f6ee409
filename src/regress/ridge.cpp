#include "joulecast/regress/ridge.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <utility>

#include "internal.h"

namespace joulecast::regress {

using internal::Fail;

namespace {

void CheckAlpha(const char* where, double alpha) {
  if (!std::isfinite(alpha) || alpha <= 0.0) {
    Fail(where, fmt::format("alpha must be a finite number > 0, got {}", alpha));
  }
}

}  // namespace

void Ridge::Fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
  constexpr const char* kWhere = "Ridge::Fit";
  CheckAlpha(kWhere, options_.alpha);
  internal::CheckXy(kWhere, X, y);
  const Eigen::Index n = X.rows();
  const Eigen::Index d = X.cols();

  Eigen::RowVectorXd x_mean = Eigen::RowVectorXd::Zero(d);
  double y_mean = 0.0;
  if (options_.fit_intercept) {
    x_mean = X.colwise().mean();
    y_mean = y.mean();
  }
  Eigen::MatrixXd A(n + d, d);
  A.topRows(n) = X.rowwise() - x_mean;
  A.bottomRows(d) = std::sqrt(options_.alpha) * Eigen::MatrixXd::Identity(d, d);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n + d);
  b.head(n) = y.array() - y_mean;
  Eigen::VectorXd w = A.colPivHouseholderQr().solve(b);
  // The augmented matrix has full column rank for alpha > 0, so a non-finite solution can only
  // come from overflow in extreme inputs; report it rather than store a useless model.
  if (!w.allFinite()) {
    throw std::runtime_error("Ridge::Fit: the solution is not finite (inputs too large?)");
  }
  intercept_ = options_.fit_intercept ? y_mean - x_mean.dot(w) : 0.0;
  coef_ = std::move(w);
}

Eigen::VectorXd Ridge::Predict(const Eigen::MatrixXd& X) const {
  internal::CheckPredictX("Ridge::Predict", fitted(), n_features(), X);
  return (X * coef_).array() + intercept_;
}

nlohmann::json Ridge::ToJson() const {
  if (!fitted()) {
    Fail("Ridge::ToJson", "model is not fitted");
  }
  return {{"kind", kKind},
          {"format_version", kFormatVersion},
          {"alpha", options_.alpha},
          {"fit_intercept", options_.fit_intercept},
          {"coef", internal::VectorToJson(coef_)},
          {"intercept", intercept_}};
}

Ridge Ridge::FromJson(const nlohmann::json& j) {
  constexpr const char* kWhere = "Ridge::FromJson";
  internal::CheckHeader(kWhere, j, kKind, kFormatVersion);
  RidgeOptions options;
  options.alpha = internal::GetDouble(kWhere, j, "alpha");
  CheckAlpha(kWhere, options.alpha);
  options.fit_intercept = internal::GetBool(kWhere, j, "fit_intercept");
  Eigen::VectorXd coef = internal::GetVector(kWhere, j, "coef");
  const double intercept = internal::GetDouble(kWhere, j, "intercept");
  if (!options.fit_intercept && intercept != 0.0) {
    Fail(kWhere, fmt::format("intercept is {} but fit_intercept is false (must be 0)", intercept));
  }
  Ridge r(options);
  r.coef_ = std::move(coef);
  r.intercept_ = intercept;
  return r;
}

}  // namespace joulecast::regress
