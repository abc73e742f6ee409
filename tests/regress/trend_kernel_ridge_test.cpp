#include "joulecast/regress/trend_kernel_ridge.h"

#include <gtest/gtest.h>

#include <cmath>

namespace joulecast::regress {
namespace {

// y = 2 + 3·x0 - x1 exactly: a degree-1 trend recovers it; the RBF residual fit has nothing left.
TEST(TrendKernelRidge, RecoversLinearTrendAndExtrapolates) {
  Eigen::MatrixXd X(40, 2);
  Eigen::VectorXd y(40);
  for (int i = 0; i < 40; ++i) {
    X(i, 0) = 0.1 * i;
    X(i, 1) = std::sin(0.7 * i);
    y[i] = 2 + 3 * X(i, 0) - X(i, 1);
  }
  TrendKernelRidge m(TrendKernelRidgeOptions{1, 1e-8, true, 0.1, 0.5});
  m.Fit(X, y);
  // Far outside the training range (x0 = 40 vs at most 3.9): the kernel term is ~0, the trend
  // holds.
  Eigen::MatrixXd far(1, 2);
  far << 40.0, 0.5;
  EXPECT_NEAR(m.Predict(far)[0], 2 + 3 * 40.0 - 0.5, 1e-4);
  EXPECT_NEAR(m.PredictTrend(far)[0], m.Predict(far)[0], 1e-6);
}

// The kernel corrects a smooth deviation the linear trend cannot express.
TEST(TrendKernelRidge, KernelCorrectsResidual) {
  Eigen::MatrixXd X(60, 1);
  Eigen::VectorXd y(60);
  for (int i = 0; i < 60; ++i) {
    X(i, 0) = -3 + 0.1 * i;
    y[i] = X(i, 0) + std::sin(2 * X(i, 0));
  }
  TrendKernelRidge trend_only(TrendKernelRidgeOptions{1, 1e-6, false, 0.1, 1.0});
  TrendKernelRidge both(TrendKernelRidgeOptions{1, 1e-6, true, 1e-3, 1.0});
  trend_only.Fit(X, y);
  both.Fit(X, y);
  double e1 = (trend_only.Predict(X) - y).norm(), e2 = (both.Predict(X) - y).norm();
  EXPECT_LT(e2, 0.1 * e1);
}

TEST(TrendKernelRidge, JsonRoundTripIsBitIdentical) {
  Eigen::MatrixXd X = Eigen::MatrixXd::Random(30, 3);
  Eigen::VectorXd y = X.col(0) * 2 + X.col(1).array().square().matrix();
  TrendKernelRidge m(TrendKernelRidgeOptions{2, 0.5, true, 0.05, 0.3});
  m.Fit(X, y);
  TrendKernelRidge r = TrendKernelRidge::FromJson(nlohmann::json::parse(m.ToJson().dump()));
  Eigen::MatrixXd Q = Eigen::MatrixXd::Random(5, 3);
  Eigen::VectorXd a = m.Predict(Q), b = r.Predict(Q);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a[i], b[i]);
}

TEST(TrendKernelRidge, Errors) {
  TrendKernelRidge m;
  Eigen::MatrixXd X(3, 2);
  X.setOnes();
  try {
    m.Fit(X, Eigen::VectorXd::Ones(2));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "TrendKernelRidge::Fit: X has 3 rows but y has 2");
  }
  try {
    m.Predict(X);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "TrendKernelRidge::Predict: model is not fitted");
  }
  EXPECT_THROW(TrendKernelRidge(TrendKernelRidgeOptions{0, 1, true, 1, 1}), std::invalid_argument);
  EXPECT_THROW(TrendKernelRidge::FromJson(nlohmann::json{{"kind", "ridge"}}),
               std::invalid_argument);
  nlohmann::json bad = {{"kind", "trend_kernel_ridge"}, {"format_version", 2}};
  try {
    TrendKernelRidge::FromJson(bad);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "TrendKernelRidge::FromJson: unsupported format_version 2");
  }
}

}  // namespace
}  // namespace joulecast::regress
