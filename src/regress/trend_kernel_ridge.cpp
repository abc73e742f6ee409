#include "joulecast/regress/trend_kernel_ridge.h"

#include <fmt/format.h>

#include <stdexcept>

namespace joulecast::regress {

nlohmann::json TrendKernelRidgeOptions::ToJson() const {
  return {{"degree", degree},
          {"ridge_alpha", ridge_alpha},
          {"use_kernel", use_kernel},
          {"kernel_alpha", kernel_alpha},
          {"gamma", gamma}};
}

TrendKernelRidgeOptions TrendKernelRidgeOptions::FromJson(const nlohmann::json& j) {
  TrendKernelRidgeOptions o;
  try {
    o.degree = j.at("degree").get<int>();
    o.ridge_alpha = j.at("ridge_alpha").get<double>();
    o.use_kernel = j.at("use_kernel").get<bool>();
    o.kernel_alpha = j.at("kernel_alpha").get<double>();
    o.gamma = j.at("gamma").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("TrendKernelRidge::FromJson: options: {}", e.what()));
  }
  if (o.degree < 1 || !(o.ridge_alpha > 0) || !(o.kernel_alpha > 0) || !(o.gamma > 0)) {
    throw std::invalid_argument(
        fmt::format("TrendKernelRidge::FromJson: invalid options {}", j.dump()));
  }
  return o;
}

TrendKernelRidge::TrendKernelRidge(TrendKernelRidgeOptions options) : options_(options) {
  if (options_.degree < 1) {
    throw std::invalid_argument(
        fmt::format("TrendKernelRidge: degree must be >= 1, got {}", options_.degree));
  }
  if (!(options_.gamma > 0)) {
    throw std::invalid_argument(
        fmt::format("TrendKernelRidge: gamma must be > 0, got {}", options_.gamma));
  }
}

void TrendKernelRidge::Fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
  if (X.rows() != y.size()) {
    throw std::invalid_argument(
        fmt::format("TrendKernelRidge::Fit: X has {} rows but y has {}", X.rows(), y.size()));
  }
  Eigen::MatrixXd z = scaler_.FitTransform(X);
  poly_ = PolynomialFeatures(PolynomialFeaturesOptions{options_.degree, false, false});
  Eigen::MatrixXd p = poly_.FitTransform(z);
  trend_ = Ridge(RidgeOptions{options_.ridge_alpha, true});
  trend_.Fit(p, y);
  if (options_.use_kernel) {
    kernel_ = KernelRidge(KernelRidgeOptions{options_.kernel_alpha, "rbf", options_.gamma});
    kernel_.Fit(z, y - trend_.Predict(p));
  } else {
    kernel_ = KernelRidge();
  }
}

Eigen::VectorXd TrendKernelRidge::PredictTrend(const Eigen::MatrixXd& X) const {
  if (!fitted()) throw std::invalid_argument("TrendKernelRidge::Predict: model is not fitted");
  if (X.cols() != scaler_.n_features()) {
    throw std::invalid_argument(
        fmt::format("TrendKernelRidge::Predict: X has {} columns but the model was fitted on {}",
                    X.cols(), scaler_.n_features()));
  }
  return trend_.Predict(poly_.Transform(scaler_.Transform(X)));
}

Eigen::VectorXd TrendKernelRidge::Predict(const Eigen::MatrixXd& X) const {
  Eigen::VectorXd out = PredictTrend(X);
  if (options_.use_kernel) out += kernel_.Predict(scaler_.Transform(X));
  return out;
}

nlohmann::json TrendKernelRidge::ToJson() const {
  if (!fitted()) throw std::invalid_argument("TrendKernelRidge::ToJson: model is not fitted");
  nlohmann::json j = {{"kind", kKind},
                      {"format_version", kFormatVersion},
                      {"options", options_.ToJson()},
                      {"scaler", scaler_.ToJson()},
                      {"poly", poly_.ToJson()},
                      {"trend", trend_.ToJson()}};
  j["kernel"] = options_.use_kernel ? kernel_.ToJson() : nlohmann::json(nullptr);
  return j;
}

TrendKernelRidge TrendKernelRidge::FromJson(const nlohmann::json& j) {
  if (!j.is_object() || j.value("kind", "") != kKind) {
    throw std::invalid_argument("TrendKernelRidge::FromJson: kind is not 'trend_kernel_ridge'");
  }
  if (j.value("format_version", -1) != kFormatVersion) {
    throw std::invalid_argument(
        fmt::format("TrendKernelRidge::FromJson: unsupported format_version {}",
                    j.contains("format_version") ? j["format_version"].dump() : "(missing)"));
  }
  for (const char* key : {"options", "scaler", "poly", "trend", "kernel"}) {
    if (!j.contains(key))
      throw std::invalid_argument(fmt::format("TrendKernelRidge::FromJson: missing '{}'", key));
  }
  TrendKernelRidge m(TrendKernelRidgeOptions::FromJson(j["options"]));
  m.scaler_ = StandardScaler::FromJson(j["scaler"]);
  m.poly_ = PolynomialFeatures::FromJson(j["poly"]);
  m.trend_ = Ridge::FromJson(j["trend"]);
  if (m.options_.use_kernel) m.kernel_ = KernelRidge::FromJson(j["kernel"]);
  if (m.poly_.n_features_in() != m.scaler_.n_features() ||
      m.trend_.n_features() != m.poly_.NumOutputFeatures() ||
      (m.options_.use_kernel && m.kernel_.n_features() != m.scaler_.n_features())) {
    throw std::invalid_argument(
        "TrendKernelRidge::FromJson: parts disagree on the number of features");
  }
  return m;
}

}  // namespace joulecast::regress
