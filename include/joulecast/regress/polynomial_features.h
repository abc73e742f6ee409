// PolynomialFeatures: all monomials of the input columns up to a total degree.
//
// Maths: for input x ∈ R^d the output holds, for every total degree t = (include_bias ? 0 : 1) ..
// degree, every monomial x_{i1}·x_{i2}·…·x_{it} with i1 <= i2 <= … <= it (interaction_only:
// i1 < i2 < … < it, i.e. no column appears twice). Degree t = 0 is the constant 1 (the bias).
// Column order is exactly sklearn.preprocessing.PolynomialFeatures': degrees ascending, and within
// one degree the index tuples in lexicographic order (itertools.combinations_with_replacement,
// or itertools.combinations for interaction_only). For d = 2, degree = 2:
//   [x0, x1, x0², x0·x1, x1²]   (include_bias prepends 1)
// Output count: Σ_t C(d + t - 1, t), or Σ_t C(d, t) for interaction_only (t over the degrees
// above). Units: products of the input units; scale the inputs first when they differ by orders of
// magnitude.
//
// Errors (std::invalid_argument, message prefixed with the function name):
//   Fit        degree < 1, X empty or non-finite, more than kMaxOutputFeatures output columns
//   Transform  not fitted, column count differs from the fitted one, non-finite X
//   FeatureNames / NumOutputFeatures / powers / ToJson   not fitted
//   FromJson   wrong kind/format_version, missing or mistyped field, degree < 1,
//              n_features_in < 1, too many output columns
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace joulecast::regress {

struct PolynomialFeaturesOptions {
  int degree = 2;                 // maximum total degree, >= 1
  bool interaction_only = false;  // true: only products of distinct columns (no x0², x0²·x1, ...)
  bool include_bias = false;      // true: a leading column of ones
};

class PolynomialFeatures {
 public:
  static constexpr const char* kKind = "polynomial_features";
  static constexpr int kFormatVersion = 1;
  // Guards against combinatorial blow-up (e.g. degree 6 on 100 columns is 1.6e9 columns).
  static constexpr std::size_t kMaxOutputFeatures = 1000000;

  explicit PolynomialFeatures(PolynomialFeaturesOptions options = {}) : options_(options) {}

  // Records the number of input columns; the values of X are only validated.
  void Fit(const Eigen::MatrixXd& X);
  // n × NumOutputFeatures() matrix of monomials, in sklearn's column order.
  Eigen::MatrixXd Transform(const Eigen::MatrixXd& X) const;
  Eigen::MatrixXd FitTransform(const Eigen::MatrixXd& X);

  bool fitted() const { return n_features_in_ > 0; }
  Eigen::Index n_features_in() const { return n_features_in_; }
  Eigen::Index NumOutputFeatures() const;
  // Exponent of input column j in output column k at (k, j), like sklearn's powers_.
  const Eigen::MatrixXi& powers() const;
  // Names like sklearn's get_feature_names_out: "1", "x0", "x0^2", "x0 x1". input_names, if
  // non-empty, replaces "x<j>" and must have n_features_in() entries.
  std::vector<std::string> FeatureNames(const std::vector<std::string>& input_names = {}) const;
  const PolynomialFeaturesOptions& options() const { return options_; }

  // {"kind": "polynomial_features", "format_version": 1, "degree", "interaction_only",
  //  "include_bias", "n_features_in"}
  nlohmann::json ToJson() const;
  static PolynomialFeatures FromJson(const nlohmann::json& j);

 private:
  // Builds powers_ for n_features input columns; `where` prefixes error messages.
  void Build(const char* where, Eigen::Index n_features);

  PolynomialFeaturesOptions options_;
  Eigen::Index n_features_in_ = 0;
  Eigen::MatrixXi powers_;
  // Output column k = output column parent_[k] (or 1 when -1) · X column factor_[k] (or 1 when
  // -1, the bias).
  std::vector<Eigen::Index> parent_;
  std::vector<Eigen::Index> factor_;
};

}  // namespace joulecast::regress
