#include "joulecast/regress/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "error_of.h"

namespace joulecast::regress {
namespace {

using joulecast_test::InvalidArgumentMessage;

Eigen::VectorXd Vec(std::initializer_list<double> v) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (double x : v) {
    out(i++) = x;
  }
  return out;
}

// Reference values: scikit-learn 1.2.1 / scipy 1.10.1.
//   import numpy as np
//   from sklearn.metrics import (r2_score, mean_absolute_percentage_error, mean_squared_error,
//                                mean_absolute_error)
//   from scipy.stats import spearmanr
//   t = np.array([3.0, 0.5, 2.0, 7.0, 4.0, 2.0, 10.0])
//   p = np.array([2.5, 0.75, 2.0, 8.0, 3.0, 2.5, 9.0])
//   print(r2_score(t, p), r2_score(np.log(t), np.log(p)),
//         100 * mean_absolute_percentage_error(t, p))
//   print(np.sqrt(mean_squared_error(t, p)), mean_absolute_error(t, p), spearmanr(t,
//   p).correlation)
//   -> 0.9461974110032363 0.9378615888011143 20.13605442176871
//   -> 0.7133922984085064 0.6071428571428571 0.9727272727272728
// By hand: t - p = 0.5 -0.25 0 -1 1 -0.5 1, so MAE = 4.25/7 = 0.607142857...,
// RMSE = sqrt(3.5625/7) = 0.713392..., MAPE = 100/7 · (0.5/3 + 0.25/0.5 + 0 + 1/7 + 1/4 + 0.5/2
// + 1/10) = 100/7 · 1.409524 = 20.136...
Eigen::VectorXd TrueValues() { return Vec({3.0, 0.5, 2.0, 7.0, 4.0, 2.0, 10.0}); }
Eigen::VectorXd PredValues() { return Vec({2.5, 0.75, 2.0, 8.0, 3.0, 2.5, 9.0}); }

TEST(MetricsTest, MatchSklearnAndScipy) {
  const Eigen::VectorXd y_true = TrueValues();
  const Eigen::VectorXd y_pred = PredValues();
  EXPECT_NEAR(R2(y_true, y_pred), 0.9461974110032363, 1e-14);
  EXPECT_NEAR(LogR2(y_true, y_pred), 0.9378615888011143, 1e-14);
  EXPECT_NEAR(MAPE(y_true, y_pred), 20.13605442176871, 1e-12);
  EXPECT_NEAR(RMSE(y_true, y_pred), 0.7133922984085064, 1e-15);
  EXPECT_NEAR(MAE(y_true, y_pred), 0.6071428571428571, 1e-15);
  EXPECT_NEAR(Spearman(y_true, y_pred), 0.9727272727272728, 1e-15);
}

// scipy: spearmanr([1, 2, 2, 3, 3, 3, 0.5], [5, 5, 4, 1, 2, 2, 6]).correlation
//   -> -0.9432422182837987  (average ranks: a = 2, 3.5, 3.5, 6, 6, 6, 1; b = 5.5, 5.5, 4, 1,
//      2.5, 2.5, 7)
TEST(MetricsTest, SpearmanAveragesTiedRanks) {
  EXPECT_NEAR(
      Spearman(Vec({1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 0.5}), Vec({5.0, 5.0, 4.0, 1.0, 2.0, 2.0, 6.0})),
      -0.9432422182837987, 1e-15);
  EXPECT_DOUBLE_EQ(Spearman(Vec({1, 2, 3}), Vec({10, 20, 30})), 1.0);
  EXPECT_DOUBLE_EQ(Spearman(Vec({1, 2, 3}), Vec({30, 20, 10})), -1.0);
  // scipy returns nan (with a warning) when an input is constant.
  EXPECT_TRUE(std::isnan(Spearman(Vec({1, 2, 3}), Vec({4, 4, 4}))));
}

// Negative targets: R² and MAPE are defined, LogR2 is not.
//   tn = np.array([-1.0, 2.0, 0.5]); pn = np.array([-0.5, 1.5, 1.0])
//   r2_score(tn, pn), 100 * mean_absolute_percentage_error(tn, pn) -> 0.8333333333333334 58.3333
TEST(MetricsTest, ComputeMetricsWithNonPositiveValuesHasNanLogR2) {
  const Metrics m = ComputeMetrics(Vec({-1.0, 2.0, 0.5}), Vec({-0.5, 1.5, 1.0}));
  EXPECT_NEAR(m.r2, 0.8333333333333334, 1e-15);
  EXPECT_TRUE(std::isnan(m.log_r2));
  EXPECT_NEAR(m.mape, 58.333333333333336, 1e-13);
  EXPECT_DOUBLE_EQ(m.spearman, 1.0);
  EXPECT_EQ(m.n, 3u);
  const nlohmann::json j = m.ToJson();
  EXPECT_TRUE(j.at("log_r2").is_null());
  EXPECT_EQ(j.at("n"), 3);
}

TEST(MetricsTest, ComputeMetricsEqualsTheSingleFunctions) {
  const Eigen::VectorXd y_true = TrueValues();
  const Eigen::VectorXd y_pred = PredValues();
  const Metrics m = ComputeMetrics(y_true, y_pred);
  EXPECT_EQ(m.r2, R2(y_true, y_pred));
  EXPECT_EQ(m.log_r2, LogR2(y_true, y_pred));
  EXPECT_EQ(m.mape, MAPE(y_true, y_pred));
  EXPECT_EQ(m.rmse, RMSE(y_true, y_pred));
  EXPECT_EQ(m.mae, MAE(y_true, y_pred));
  EXPECT_EQ(m.spearman, Spearman(y_true, y_pred));
  EXPECT_EQ(m.n, 7u);
  const nlohmann::json j = m.ToJson();
  for (const char* key : {"r2", "log_r2", "mape", "rmse", "mae", "spearman", "n"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.at("r2").get<double>(), m.r2);
}

TEST(MetricsTest, PerfectPrediction) {
  const Eigen::VectorXd y_true = TrueValues();
  EXPECT_EQ(R2(y_true, y_true), 1.0);
  EXPECT_EQ(RMSE(y_true, y_true), 0.0);
  EXPECT_EQ(MAPE(y_true, y_true), 0.0);
}

TEST(MetricsTest, RejectMismatchedEmptyAndNonFiniteInput) {
  EXPECT_EQ(InvalidArgumentMessage([] {
              R2(Vec({1, 2, 3, 4, 5}), Vec({1, 2, 3, 4}));
            }),
            "R2: y_true has 5 entries but y_pred has 4");
  EXPECT_EQ(InvalidArgumentMessage([] { RMSE(Eigen::VectorXd(0), Eigen::VectorXd(0)); }),
            "RMSE: y_true is empty");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(InvalidArgumentMessage([&] {
              MAE(Vec({1, 2, 3, 4}), Vec({1, 2, 3, nan}));
            }),
            "MAE: y_pred has a non-finite value at index 3");
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(InvalidArgumentMessage([&] {
              Spearman(Vec({1, inf}), Vec({1, 2}));
            }),
            "Spearman: y_true has a non-finite value at index 1");
  EXPECT_EQ(InvalidArgumentMessage([] {
              ComputeMetrics(Vec({1, 2}), Vec({1}));
            }),
            "ComputeMetrics: y_true has 2 entries but y_pred has 1");
}

TEST(MetricsTest, RejectUndefinedValues) {
  EXPECT_EQ(InvalidArgumentMessage([] {
              R2(Vec({2.5, 2.5, 2.5}), Vec({1, 2, 3}));
            }),
            "R2: y_true is constant (every entry is 2.5), R2 is undefined");
  EXPECT_EQ(InvalidArgumentMessage([] {
              LogR2(Vec({1, 0, 3}), Vec({1, 2, 3}));
            }),
            "LogR2: y_true[1] = 0 is not positive");
  EXPECT_EQ(InvalidArgumentMessage([] {
              LogR2(Vec({1, 2, 3, 4}), Vec({1, 2, 3, -1}));
            }),
            "LogR2: y_pred[3] = -1 is not positive");
  EXPECT_EQ(InvalidArgumentMessage([] {
              LogR2(Vec({1, 1}), Vec({1, 2}));
            }),
            "LogR2: log(y_true) is constant (every entry is 0), R2 is undefined");
  EXPECT_EQ(InvalidArgumentMessage([] {
              MAPE(Vec({1, 2, 0}), Vec({1, 2, 3}));
            }),
            "MAPE: y_true[2] is 0, the relative error is undefined");
  EXPECT_EQ(InvalidArgumentMessage([] {
              ComputeMetrics(Vec({4, 4}), Vec({1, 2}));
            }),
            "ComputeMetrics: y_true is constant (every entry is 4), R2 is undefined");
  EXPECT_EQ(InvalidArgumentMessage([] {
              ComputeMetrics(Vec({1, 0}), Vec({1, 2}));
            }),
            "ComputeMetrics: y_true[1] is 0, the relative error is undefined");
}

}  // namespace
}  // namespace joulecast::regress
