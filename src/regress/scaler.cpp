#include "joulecast/regress/scaler.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>

#include "internal.h"

namespace joulecast::regress {

using internal::Fail;

void StandardScaler::Fit(const Eigen::MatrixXd& X) {
  constexpr const char* kWhere = "StandardScaler::Fit";
  internal::CheckMatrix(kWhere, "X", X);
  const Eigen::Index d = X.cols();
  const double n = static_cast<double>(X.rows());
  Eigen::VectorXd mean = X.colwise().sum().transpose() / n;
  Eigen::VectorXd scale = Eigen::VectorXd::Ones(d);
  if (options_.with_std) {
    for (Eigen::Index j = 0; j < d; ++j) {
      // Two passes (deviations from the mean) rather than E[x²] - E[x]², which cancels
      // catastrophically for columns with a large mean and a small spread.
      const double sd = std::sqrt((X.col(j).array() - mean(j)).square().sum() / n);
      // A constant column (or one constant up to round-off of its mean) would otherwise be
      // divided by ~0 and turn noise into values of order 1.
      if (sd > 0.0 && sd >= 1e-12 * std::abs(mean(j))) {
        scale(j) = sd;
      }
    }
  }
  if (!options_.with_mean) {
    mean.setZero();
  }
  mean_ = std::move(mean);
  scale_ = std::move(scale);
}

Eigen::MatrixXd StandardScaler::Transform(const Eigen::MatrixXd& X) const {
  internal::CheckPredictX("StandardScaler::Transform", fitted(), n_features(), X);
  return (X.rowwise() - mean_.transpose()).array().rowwise() / scale_.transpose().array();
}

Eigen::MatrixXd StandardScaler::FitTransform(const Eigen::MatrixXd& X) {
  Fit(X);
  return Transform(X);
}

Eigen::MatrixXd StandardScaler::InverseTransform(const Eigen::MatrixXd& Z) const {
  internal::CheckPredictX("StandardScaler::InverseTransform", fitted(), n_features(), Z);
  return (Z.array().rowwise() * scale_.transpose().array()).matrix().rowwise() + mean_.transpose();
}

nlohmann::json StandardScaler::ToJson() const {
  if (!fitted()) {
    Fail("StandardScaler::ToJson", "model is not fitted");
  }
  return {{"kind", kKind},
          {"format_version", kFormatVersion},
          {"with_mean", options_.with_mean},
          {"with_std", options_.with_std},
          {"mean", internal::VectorToJson(mean_)},
          {"scale", internal::VectorToJson(scale_)}};
}

StandardScaler StandardScaler::FromJson(const nlohmann::json& j) {
  constexpr const char* kWhere = "StandardScaler::FromJson";
  internal::CheckHeader(kWhere, j, kKind, kFormatVersion);
  StandardScalerOptions options;
  options.with_mean = internal::GetBool(kWhere, j, "with_mean");
  options.with_std = internal::GetBool(kWhere, j, "with_std");
  Eigen::VectorXd mean = internal::GetVector(kWhere, j, "mean");
  Eigen::VectorXd scale = internal::GetVector(kWhere, j, "scale");
  if (mean.size() != scale.size()) {
    Fail(kWhere, fmt::format("mean has {} entries but scale has {}", mean.size(), scale.size()));
  }
  for (Eigen::Index i = 0; i < scale.size(); ++i) {
    if (!(scale(i) > 0.0)) {
      Fail(kWhere, fmt::format("scale[{}] = {} is not positive", i, scale(i)));
    }
    if (!options.with_std && scale(i) != 1.0) {
      Fail(kWhere, fmt::format("scale[{}] = {} but with_std is false (must be 1)", i, scale(i)));
    }
    if (!options.with_mean && mean(i) != 0.0) {
      Fail(kWhere, fmt::format("mean[{}] = {} but with_mean is false (must be 0)", i, mean(i)));
    }
  }
  StandardScaler s(options);
  s.mean_ = std::move(mean);
  s.scale_ = std::move(scale);
  return s;
}

}  // namespace joulecast::regress
