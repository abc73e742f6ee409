// Regression metrics of predictions y_pred against true values y_true.
//
//   R2       1 - Σ(y - p)² / Σ(y - ȳ)²                        (sklearn.metrics.r2_score)
//   LogR2    R2(log y_true, log y_pred): R² on a log scale, for targets spanning decades
//   MAPE     100 · mean(|y - p| / |y|), in PERCENT            (sklearn's value × 100)
//   RMSE     sqrt(mean((y - p)²)), in y's unit
//   MAE      mean(|y - p|), in y's unit
//   Spearman Pearson correlation of the ranks, ties sharing their average rank
//            (scipy.stats.spearmanr); NaN when either input is constant (as scipy), since the
//            rank correlation is then undefined but a constant prediction is a legitimate result
//
// Every function throws std::invalid_argument, prefixed with its name, when the inputs have
// different lengths ("R2: y_true has 5 entries but y_pred has 4"), are empty, or hold a NaN/±inf
// ("RMSE: y_pred has a non-finite value at index 3"), and additionally:
//   R2       y_true constant: "R2: y_true is constant (every entry is 2.5), R2 is undefined"
//   LogR2    any entry <= 0: "LogR2: y_pred[3] = -1 is not positive" (y_true is checked first),
//            or log(y_true) constant: "LogR2: log(y_true) is constant (every entry is 0), ..."
//   MAPE     any y_true == 0: "MAPE: y_true[2] is 0, the relative error is undefined"
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <nlohmann/json.hpp>

namespace joulecast::regress {

double R2(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);
double LogR2(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);
double MAPE(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);
double RMSE(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);
double MAE(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);
double Spearman(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);

struct Metrics {
  double r2 = 0.0;
  double log_r2 = 0.0;    // NaN when any y_true or y_pred is <= 0
  double mape = 0.0;      // percent
  double rmse = 0.0;      // y's unit
  double mae = 0.0;       // y's unit
  double spearman = 0.0;  // NaN when either input is constant
  std::size_t n = 0;      // number of samples

  // {"r2", "log_r2", "mape", "rmse", "mae", "spearman", "n"}; NaN is written as null.
  nlohmann::json ToJson() const;
};

// All metrics at once. Throws as the functions above (prefix "ComputeMetrics"), except that a
// non-positive value makes log_r2 NaN instead of throwing.
Metrics ComputeMetrics(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred);

}  // namespace joulecast::regress
