// Cross-validation helpers: deterministic K-fold splits, out-of-fold prediction and a generic
// grid search.
//
// KFoldIndices(n, k, seed) shuffles 0..n-1 with a Fisher–Yates shuffle driven by
// std::mt19937_64(seed) (for i = n-1 down to 1 swap i with j uniform in [0, i], drawn by
// unbiased rejection from the raw 64-bit output), then cuts the permutation into k consecutive
// folds; the first n mod k folds get floor(n/k) + 1 indices, the rest floor(n/k) (as
// sklearn.model_selection.KFold). Each fold is returned sorted ascending. The engine's output is
// fixed by the C++ standard and the shuffle and draw are our own, so the folds are identical on
// every platform and standard library (std::shuffle and uniform_int_distribution are not).
//
// Errors: std::invalid_argument prefixed with the function name:
//   KFoldIndices     k < 2 or k > n
//   SelectRows       an index >= the row count
//   CrossValPredict  X rows != y size, folds not a partition of 0..n-1 (index out of range,
//                    repeated, missing, empty fold), fewer than 2 folds, fit_predict returning
//                    the wrong number of values or a non-finite value
//   GridSearch       empty grid; std::runtime_error when every score is NaN
//   ParameterGrid    spec not an object of non-empty arrays
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

namespace joulecast::regress {

std::vector<std::vector<std::size_t>> KFoldIndices(std::size_t n, std::size_t k,
                                                   std::uint64_t seed);

// The rows idx[0], idx[1], ... of X (or entries of y), in that order.
Eigen::MatrixXd SelectRows(const Eigen::MatrixXd& X, const std::vector<std::size_t>& idx);
Eigen::VectorXd SelectRows(const Eigen::VectorXd& y, const std::vector<std::size_t>& idx);

// Trains on (X_train, y_train) and returns one prediction per row of X_test.
using FitPredictFn = std::function<Eigen::VectorXd(
    const Eigen::MatrixXd& X_train, const Eigen::VectorXd& y_train, const Eigen::MatrixXd& X_test)>;

// Out-of-fold predictions: for each fold f, fit_predict is trained on every row outside f (in
// ascending row order) and predicts the rows of f; entry i of the result is the prediction for
// row i made by the model that did not see it.
Eigen::VectorXd CrossValPredict(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                const std::vector<std::vector<std::size_t>>& folds,
                                const FitPredictFn& fit_predict);

// NOLINTNEXTLINE(bugprone-exception-escape): false positive on nlohmann::json's noexcept move.
struct GridPoint {
  nlohmann::json params;
  double score = 0.0;
};

// NOLINTNEXTLINE(bugprone-exception-escape): as GridPoint.
struct GridSearchResult {
  std::vector<GridPoint> points;  // one per grid entry, in grid order
  std::size_t best_index = 0;     // into points
  GridPoint best;                 // == points[best_index]
};

// Scores every parameter set and picks the best (lowest or highest score; ties go to the first
// in grid order; NaN scores never win).
GridSearchResult GridSearch(const std::vector<nlohmann::json>& grid,
                            const std::function<double(const nlohmann::json& params)>& score_fn,
                            bool lower_is_better);

// Cartesian product of {"name": [values...], ...} as sklearn's ParameterGrid: keys in sorted
// order, the last key varying fastest. {"a": [1, 2], "b": [3]} → [{"a":1,"b":3}, {"a":2,"b":3}].
std::vector<nlohmann::json> ParameterGrid(const nlohmann::json& spec);

}  // namespace joulecast::regress
