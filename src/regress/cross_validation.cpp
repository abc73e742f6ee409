#include "joulecast/regress/cross_validation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "internal.h"

namespace joulecast::regress {

using internal::Fail;

namespace {

// Uniform integer in [0, bound) from the raw engine output. Rejecting the lowest 2^64 mod bound
// values leaves a range that is a multiple of bound, so `r % bound` is exactly uniform.
std::uint64_t UniformBelow(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t threshold = (0 - bound) % bound;  // == 2^64 mod bound
  for (;;) {
    const std::uint64_t r = rng();
    if (r >= threshold) {
      return r % bound;
    }
  }
}

template <typename Dense>
Dense SelectRowsImpl(const char* where, const Dense& X, const std::vector<std::size_t>& idx) {
  Dense out(static_cast<Eigen::Index>(idx.size()), X.cols());
  for (std::size_t k = 0; k < idx.size(); ++k) {
    if (idx[k] >= static_cast<std::size_t>(X.rows())) {
      Fail(where, fmt::format("idx[{}] = {} is out of range for {} rows", k, idx[k], X.rows()));
    }
    out.row(static_cast<Eigen::Index>(k)) = X.row(static_cast<Eigen::Index>(idx[k]));
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::size_t>> KFoldIndices(std::size_t n, std::size_t k,
                                                   std::uint64_t seed) {
  if (k < 2) {
    Fail("KFoldIndices", fmt::format("k must be >= 2, got {}", k));
  }
  if (k > n) {
    Fail("KFoldIndices", fmt::format("k = {} is larger than n = {}", k, n));
  }
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  for (std::size_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(UniformBelow(rng, i + 1));
    std::swap(perm[i], perm[j]);
  }
  std::vector<std::vector<std::size_t>> folds(k);
  std::size_t start = 0;
  for (std::size_t f = 0; f < k; ++f) {
    const std::size_t size = n / k + (f < n % k ? 1 : 0);
    folds[f].assign(perm.begin() + static_cast<std::ptrdiff_t>(start),
                    perm.begin() + static_cast<std::ptrdiff_t>(start + size));
    std::sort(folds[f].begin(), folds[f].end());
    start += size;
  }
  return folds;
}

Eigen::MatrixXd SelectRows(const Eigen::MatrixXd& X, const std::vector<std::size_t>& idx) {
  return SelectRowsImpl("SelectRows", X, idx);
}

Eigen::VectorXd SelectRows(const Eigen::VectorXd& y, const std::vector<std::size_t>& idx) {
  return SelectRowsImpl("SelectRows", y, idx);
}

Eigen::VectorXd CrossValPredict(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                const std::vector<std::vector<std::size_t>>& folds,
                                const FitPredictFn& fit_predict) {
  constexpr const char* kWhere = "CrossValPredict";
  if (X.rows() != y.size()) {
    Fail(kWhere, fmt::format("X has {} rows but y has {}", X.rows(), y.size()));
  }
  if (folds.size() < 2) {
    Fail(kWhere, fmt::format("need at least 2 folds, got {}", folds.size()));
  }
  const auto n = static_cast<std::size_t>(X.rows());
  // fold_of[i] = the fold that holds row i; every row must be in exactly one fold, otherwise a
  // prediction would be missing or a row would be predicted by a model trained on it.
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> fold_of(n, kNone);
  for (std::size_t f = 0; f < folds.size(); ++f) {
    if (folds[f].empty()) {
      Fail(kWhere, fmt::format("fold {} is empty", f));
    }
    for (std::size_t i : folds[f]) {
      if (i >= n) {
        Fail(kWhere, fmt::format("fold {} holds row {} but X has {} rows", f, i, n));
      }
      if (fold_of[i] != kNone) {
        Fail(kWhere, fmt::format("row {} is in fold {} and in fold {}", i, fold_of[i], f));
      }
      fold_of[i] = f;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (fold_of[i] == kNone) {
      Fail(kWhere, fmt::format("row {} is in no fold", i));
    }
  }

  Eigen::VectorXd out(X.rows());
  std::vector<std::size_t> train;
  for (std::size_t f = 0; f < folds.size(); ++f) {
    train.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (fold_of[i] != f) {
        train.push_back(i);
      }
    }
    const Eigen::VectorXd pred =
        fit_predict(SelectRows(X, train), SelectRows(y, train), SelectRows(X, folds[f]));
    if (pred.size() != static_cast<Eigen::Index>(folds[f].size())) {
      Fail(kWhere, fmt::format("fit_predict returned {} predictions for fold {} of {} rows",
                               pred.size(), f, folds[f].size()));
    }
    for (std::size_t k = 0; k < folds[f].size(); ++k) {
      const double p = pred(static_cast<Eigen::Index>(k));
      if (!std::isfinite(p)) {
        Fail(kWhere,
             fmt::format("fit_predict returned {} for row {} (fold {})", p, folds[f][k], f));
      }
      out(static_cast<Eigen::Index>(folds[f][k])) = p;
    }
  }
  return out;
}

GridSearchResult GridSearch(const std::vector<nlohmann::json>& grid,
                            const std::function<double(const nlohmann::json& params)>& score_fn,
                            bool lower_is_better) {
  if (grid.empty()) {
    Fail("GridSearch", "grid is empty");
  }
  GridSearchResult result;
  result.points.reserve(grid.size());
  bool found = false;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    const double score = score_fn(grid[k]);
    result.points.push_back({grid[k], score});
    if (std::isnan(score)) {
      continue;
    }
    const double best = result.points[result.best_index].score;
    // Strict comparison keeps the first of equal scores.
    if (!found || (lower_is_better ? score < best : score > best)) {
      result.best_index = k;
      found = true;
    }
  }
  if (!found) {
    throw std::runtime_error("GridSearch: every grid point scored NaN");
  }
  result.best = result.points[result.best_index];
  return result;
}

std::vector<nlohmann::json> ParameterGrid(const nlohmann::json& spec) {
  constexpr const char* kWhere = "ParameterGrid";
  if (!spec.is_object()) {
    Fail(kWhere, fmt::format("spec must be a JSON object, got {}", spec.type_name()));
  }
  // nlohmann::json objects iterate in sorted key order, which is sklearn's order.
  std::vector<nlohmann::json> out{nlohmann::json::object()};
  for (const auto& [key, values] : spec.items()) {
    if (!values.is_array() || values.empty()) {
      Fail(kWhere,
           fmt::format("\"{}\" must be a non-empty array of values, got {}", key, values.dump()));
    }
    std::vector<nlohmann::json> next;
    next.reserve(out.size() * values.size());
    for (const nlohmann::json& partial : out) {
      for (const nlohmann::json& v : values) {
        nlohmann::json p = partial;
        p[key] = v;
        next.push_back(std::move(p));
      }
    }
    out = std::move(next);
  }
  return out;
}

}  // namespace joulecast::regress
