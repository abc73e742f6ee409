#include "joulecast/regress/polynomial_features.h"

#include <fmt/format.h>

#include <cstddef>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "internal.h"

namespace joulecast::regress {

using internal::Fail;

namespace {

// Number of output columns, or kMaxOutputFeatures + 1 as soon as the count exceeds the limit
// (so that absurd degrees neither overflow nor loop for long).
std::size_t CountOutputs(std::size_t d, int degree, bool interaction_only, bool include_bias) {
  constexpr std::size_t kLimit = PolynomialFeatures::kMaxOutputFeatures;
  std::size_t total = include_bias ? 1 : 0;
  // C(d + t - 1, t), or C(d, t) for interaction_only, for the current t. Every intermediate
  // product stays below (kLimit + 1)·(d + degree), far from overflow for any realistic d.
  std::size_t term = 1;
  for (int t = 1; t <= degree; ++t) {
    const auto ut = static_cast<std::size_t>(t);
    if (interaction_only) {
      if (ut > d) {
        break;
      }
      term = term * (d - ut + 1) / ut;
    } else {
      term = term * (d + ut - 1) / ut;
    }
    total += term;
    if (term > kLimit || total > kLimit) {
      return kLimit + 1;
    }
  }
  return total;
}

// Appends every non-decreasing (or, with strict, increasing) index tuple of length t over
// [0, d), in lexicographic order, i.e. itertools.combinations_with_replacement / combinations.
void AppendTuples(Eigen::Index d, int t, bool strict, std::vector<Eigen::Index>& prefix,
                  std::vector<std::vector<Eigen::Index>>& out) {
  if (static_cast<int>(prefix.size()) == t) {
    out.push_back(prefix);
    return;
  }
  Eigen::Index first = 0;
  if (!prefix.empty()) {
    first = prefix.back() + (strict ? 1 : 0);
  }
  for (Eigen::Index i = first; i < d; ++i) {
    prefix.push_back(i);
    AppendTuples(d, t, strict, prefix, out);
    prefix.pop_back();
  }
}

}  // namespace

void PolynomialFeatures::Build(const char* where, Eigen::Index n_features) {
  if (options_.degree < 1) {
    Fail(where, fmt::format("degree must be >= 1, got {}", options_.degree));
  }
  if (n_features < 1) {
    Fail(where, fmt::format("n_features_in must be >= 1, got {}", n_features));
  }
  const std::size_t count = CountOutputs(static_cast<std::size_t>(n_features), options_.degree,
                                         options_.interaction_only, options_.include_bias);
  if (count > kMaxOutputFeatures) {
    Fail(where, fmt::format("degree {} on {} features gives more than {} output features",
                            options_.degree, n_features, kMaxOutputFeatures));
  }
  std::vector<std::vector<Eigen::Index>> terms;
  terms.reserve(count);
  std::vector<Eigen::Index> prefix;
  for (int t = options_.include_bias ? 0 : 1; t <= options_.degree; ++t) {
    AppendTuples(n_features, t, options_.interaction_only, prefix, terms);
  }
  const auto n_out = static_cast<Eigen::Index>(terms.size());
  Eigen::MatrixXi powers = Eigen::MatrixXi::Zero(n_out, n_features);
  // A monomial of degree t is its degree t-1 prefix (an earlier output column, or the implicit
  // constant 1) times one more input column, so Transform needs one multiplication per entry.
  std::vector<Eigen::Index> parent(terms.size(), -1);
  std::vector<Eigen::Index> factor(terms.size(), -1);
  std::map<std::vector<Eigen::Index>, Eigen::Index> column_of;
  for (std::size_t k = 0; k < terms.size(); ++k) {
    const std::vector<Eigen::Index>& term = terms[k];
    for (Eigen::Index i : term) {
      ++powers(static_cast<Eigen::Index>(k), i);
    }
    if (term.size() >= 2) {
      parent[k] = column_of.at(std::vector<Eigen::Index>(term.begin(), term.end() - 1));
    }
    if (!term.empty()) {
      factor[k] = term.back();
    }
    column_of.emplace(term, static_cast<Eigen::Index>(k));
  }
  n_features_in_ = n_features;
  powers_ = std::move(powers);
  parent_ = std::move(parent);
  factor_ = std::move(factor);
}

void PolynomialFeatures::Fit(const Eigen::MatrixXd& X) {
  constexpr const char* kWhere = "PolynomialFeatures::Fit";
  internal::CheckMatrix(kWhere, "X", X);
  Build(kWhere, X.cols());
}

Eigen::Index PolynomialFeatures::NumOutputFeatures() const {
  if (!fitted()) {
    Fail("PolynomialFeatures::NumOutputFeatures", "model is not fitted");
  }
  return static_cast<Eigen::Index>(factor_.size());
}

const Eigen::MatrixXi& PolynomialFeatures::powers() const {
  if (!fitted()) {
    Fail("PolynomialFeatures::powers", "model is not fitted");
  }
  return powers_;
}

Eigen::MatrixXd PolynomialFeatures::Transform(const Eigen::MatrixXd& X) const {
  internal::CheckPredictX("PolynomialFeatures::Transform", fitted(), n_features_in_, X);
  Eigen::MatrixXd out(X.rows(), static_cast<Eigen::Index>(factor_.size()));
  for (std::size_t k = 0; k < factor_.size(); ++k) {
    const auto col = static_cast<Eigen::Index>(k);
    if (factor_[k] < 0) {
      out.col(col).setOnes();
    } else if (parent_[k] < 0) {
      out.col(col) = X.col(factor_[k]);
    } else {
      out.col(col) = out.col(parent_[k]).cwiseProduct(X.col(factor_[k]));
    }
  }
  return out;
}

Eigen::MatrixXd PolynomialFeatures::FitTransform(const Eigen::MatrixXd& X) {
  Fit(X);
  return Transform(X);
}

std::vector<std::string> PolynomialFeatures::FeatureNames(
    const std::vector<std::string>& input_names) const {
  constexpr const char* kWhere = "PolynomialFeatures::FeatureNames";
  if (!fitted()) {
    Fail(kWhere, "model is not fitted");
  }
  if (!input_names.empty() && static_cast<Eigen::Index>(input_names.size()) != n_features_in_) {
    Fail(kWhere, fmt::format("input_names has {} entries but the model was fitted on {} features",
                             input_names.size(), n_features_in_));
  }
  std::vector<std::string> names;
  names.reserve(factor_.size());
  for (Eigen::Index k = 0; k < powers_.rows(); ++k) {
    std::string name;
    for (Eigen::Index j = 0; j < n_features_in_; ++j) {
      const int p = powers_(k, j);
      if (p == 0) {
        continue;
      }
      if (!name.empty()) {
        name += ' ';
      }
      name +=
          input_names.empty() ? fmt::format("x{}", j) : input_names[static_cast<std::size_t>(j)];
      if (p > 1) {
        name += fmt::format("^{}", p);
      }
    }
    names.push_back(name.empty() ? "1" : name);
  }
  return names;
}

nlohmann::json PolynomialFeatures::ToJson() const {
  if (!fitted()) {
    Fail("PolynomialFeatures::ToJson", "model is not fitted");
  }
  return {{"kind", kKind},
          {"format_version", kFormatVersion},
          {"degree", options_.degree},
          {"interaction_only", options_.interaction_only},
          {"include_bias", options_.include_bias},
          {"n_features_in", n_features_in_}};
}

PolynomialFeatures PolynomialFeatures::FromJson(const nlohmann::json& j) {
  constexpr const char* kWhere = "PolynomialFeatures::FromJson";
  internal::CheckHeader(kWhere, j, kKind, kFormatVersion);
  const long long degree = internal::GetInt(kWhere, j, "degree");
  if (degree < 1 || degree > std::numeric_limits<int>::max()) {
    Fail(kWhere, fmt::format("degree must be >= 1, got {}", degree));
  }
  PolynomialFeaturesOptions options;
  options.degree = static_cast<int>(degree);
  options.interaction_only = internal::GetBool(kWhere, j, "interaction_only");
  options.include_bias = internal::GetBool(kWhere, j, "include_bias");
  const long long n_in = internal::GetInt(kWhere, j, "n_features_in");
  if (n_in < 1) {
    Fail(kWhere, fmt::format("n_features_in must be >= 1, got {}", n_in));
  }
  PolynomialFeatures p(options);
  p.Build(kWhere, static_cast<Eigen::Index>(n_in));
  return p;
}

}  // namespace joulecast::regress
