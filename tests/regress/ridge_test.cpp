#include "joulecast/regress/ridge.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "error_of.h"

namespace joulecast::regress {
namespace {

using joulecast_test::InvalidArgumentMessage;

// Reference values: scikit-learn 1.2.1.
//   import numpy as np; from sklearn.linear_model import Ridge
//   X = np.array([[0.5, 1.0, -2.0], [1.5, -0.5, 0.0], [2.0, 2.5, 1.0], [-1.0, 0.0, 3.0],
//                 [3.0, 1.5, -1.0], [0.0, -2.0, 2.0], [2.5, 0.5, 0.5], [-0.5, 3.0, -1.5]])
//   y = np.array([1.2, 3.4, 5.1, -0.7, 7.9, -2.2, 6.0, 1.1])
//   for alpha, fi in [(0.5, True), (2.0, False)]:
//       m = Ridge(alpha=alpha, fit_intercept=fi, solver="cholesky").fit(X, y)
//       print(alpha, fi, m.coef_.tolist(), float(m.intercept_))
//       print(m.predict(np.array([[1.0, 1.0, 1.0], [-2.0, 0.5, 4.0]])).tolist())
//   -> 0.5 True [2.017508660830695, 0.7002749115291492, 0.08444179549264313] 0.16117470664928257
//      [2.96340007450177, -3.1859379772769603]
//   -> 2.0 False [1.9389245668561224, 0.7287463296529697, 0.09394371275992913] 0.0
//      [2.7616146092690212, -3.137701117846043]
Eigen::MatrixXd RidgeTrainX() {
  Eigen::MatrixXd X(8, 3);
  X << 0.5, 1.0, -2.0,  //
      1.5, -0.5, 0.0,   //
      2.0, 2.5, 1.0,    //
      -1.0, 0.0, 3.0,   //
      3.0, 1.5, -1.0,   //
      0.0, -2.0, 2.0,   //
      2.5, 0.5, 0.5,    //
      -0.5, 3.0, -1.5;
  return X;
}

Eigen::VectorXd RidgeTrainY() {
  Eigen::VectorXd y(8);
  y << 1.2, 3.4, 5.1, -0.7, 7.9, -2.2, 6.0, 1.1;
  return y;
}

Eigen::MatrixXd RidgeTestX() {
  Eigen::MatrixXd X(2, 3);
  X << 1.0, 1.0, 1.0, -2.0, 0.5, 4.0;
  return X;
}

TEST(RidgeTest, MatchesSklearnWithIntercept) {
  Ridge m({0.5, true});
  m.Fit(RidgeTrainX(), RidgeTrainY());
  ASSERT_TRUE(m.fitted());
  EXPECT_NEAR(m.coef()(0), 2.017508660830695, 1e-12);
  EXPECT_NEAR(m.coef()(1), 0.7002749115291492, 1e-12);
  EXPECT_NEAR(m.coef()(2), 0.08444179549264313, 1e-12);
  EXPECT_NEAR(m.intercept(), 0.16117470664928257, 1e-12);
  const Eigen::VectorXd p = m.Predict(RidgeTestX());
  EXPECT_NEAR(p(0), 2.96340007450177, 1e-12);
  EXPECT_NEAR(p(1), -3.1859379772769603, 1e-12);
}

TEST(RidgeTest, MatchesSklearnWithoutIntercept) {
  Ridge m({2.0, false});
  m.Fit(RidgeTrainX(), RidgeTrainY());
  EXPECT_NEAR(m.coef()(0), 1.9389245668561224, 1e-12);
  EXPECT_NEAR(m.coef()(1), 0.7287463296529697, 1e-12);
  EXPECT_NEAR(m.coef()(2), 0.09394371275992913, 1e-12);
  EXPECT_EQ(m.intercept(), 0.0);
  const Eigen::VectorXd p = m.Predict(RidgeTestX());
  EXPECT_NEAR(p(0), 2.7616146092690212, 1e-12);
  EXPECT_NEAR(p(1), -3.137701117846043, 1e-12);
}

// More features than samples: XᵀX is singular, the penalised problem is not.
//   Xw = np.array([[1.0, 2.0, 0.0, -1.0, 0.5], [0.0, 1.0, 1.0, 2.0, -0.5],
//                  [2.0, -1.0, 0.5, 0.0, 1.0]]); yw = np.array([1.0, -1.0, 2.0])
//   m = Ridge(alpha=0.1, solver="svd").fit(Xw, yw); print(m.coef_.tolist(), m.intercept_)
//   -> [0.40411118897453885, -0.32469049287549623, -0.13081055828077548, -0.4835318850735812,
//       0.3130109787432839] 0.6012613875262788
TEST(RidgeTest, MatchesSklearnWithMoreFeaturesThanSamples) {
  Eigen::MatrixXd X(3, 5);
  X << 1.0, 2.0, 0.0, -1.0, 0.5,  //
      0.0, 1.0, 1.0, 2.0, -0.5,   //
      2.0, -1.0, 0.5, 0.0, 1.0;
  const Eigen::Vector3d y(1.0, -1.0, 2.0);
  Ridge m({0.1, true});
  m.Fit(X, y);
  const double expected[] = {0.40411118897453885, -0.32469049287549623, -0.13081055828077548,
                             -0.4835318850735812, 0.3130109787432839};
  for (int j = 0; j < 5; ++j) {
    EXPECT_NEAR(m.coef()(j), expected[j], 1e-12) << j;
  }
  EXPECT_NEAR(m.intercept(), 0.6012613875262788, 1e-12);
}

// First-order optimality of the centred problem: X_cᵀ(y_c - X_c·w) = alpha·w.
TEST(RidgeTest, SatisfiesNormalEquations) {
  Ridge m({0.5, true});
  m.Fit(RidgeTrainX(), RidgeTrainY());
  const Eigen::MatrixXd Xc = RidgeTrainX().rowwise() - RidgeTrainX().colwise().mean();
  const Eigen::VectorXd yc = RidgeTrainY().array() - RidgeTrainY().mean();
  const Eigen::VectorXd residual = Xc.transpose() * (yc - Xc * m.coef()) - 0.5 * m.coef();
  EXPECT_LT(residual.norm(), 1e-12);
}

TEST(RidgeTest, RejectsBadInput) {
  Ridge m;
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Fit(RidgeTrainX(), Eigen::VectorXd::Zero(7)); }),
            "Ridge::Fit: X has 8 rows but y has 7");
  Eigen::MatrixXd bad = RidgeTrainX();
  bad(3, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Fit(bad, RidgeTrainY()); }),
            "Ridge::Fit: X has a non-finite value at row 3, column 2");
  Eigen::VectorXd bad_y = RidgeTrainY();
  bad_y(5) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Fit(RidgeTrainX(), bad_y); }),
            "Ridge::Fit: y has a non-finite value at index 5");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Fit(Eigen::MatrixXd(0, 3), Eigen::VectorXd(0)); }),
            "Ridge::Fit: X is empty (0 rows, 3 columns)");
  Ridge zero({0.0, true});
  EXPECT_EQ(InvalidArgumentMessage([&] { zero.Fit(RidgeTrainX(), RidgeTrainY()); }),
            "Ridge::Fit: alpha must be a finite number > 0, got 0");
  Ridge negative({-1.5, true});
  EXPECT_EQ(InvalidArgumentMessage([&] { negative.Fit(RidgeTrainX(), RidgeTrainY()); }),
            "Ridge::Fit: alpha must be a finite number > 0, got -1.5");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Predict(RidgeTestX()); }),
            "Ridge::Predict: model is not fitted");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.ToJson(); }), "Ridge::ToJson: model is not fitted");
  m.Fit(RidgeTrainX(), RidgeTrainY());
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Predict(Eigen::MatrixXd::Zero(2, 4)); }),
            "Ridge::Predict: X has 4 columns but the model was fitted on 3");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Predict(Eigen::MatrixXd(0, 3)); }),
            "Ridge::Predict: X is empty (0 rows, 3 columns)");
}

TEST(RidgeTest, JsonRoundTripPredictsBitIdentically) {
  Ridge m({0.3, true});
  m.Fit(RidgeTrainX(), RidgeTrainY());
  const nlohmann::json j = m.ToJson();
  EXPECT_EQ(j.at("kind"), "ridge");
  EXPECT_EQ(j.at("format_version"), 1);
  const Ridge r = Ridge::FromJson(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(r.options().alpha, 0.3);
  EXPECT_TRUE(r.options().fit_intercept);
  EXPECT_EQ(r.coef(), m.coef());
  EXPECT_EQ(r.intercept(), m.intercept());
  EXPECT_EQ(r.Predict(RidgeTestX()), m.Predict(RidgeTestX()));
  EXPECT_EQ(r.Predict(RidgeTrainX()), m.Predict(RidgeTrainX()));
}

TEST(RidgeTest, FromJsonRejectsCorruptInput) {
  Ridge m;
  m.Fit(RidgeTrainX(), RidgeTrainY());
  const nlohmann::json good = m.ToJson();
  auto message = [](const nlohmann::json& j) {
    return InvalidArgumentMessage([&] { Ridge::FromJson(j); });
  };
  nlohmann::json j = good;
  j["kind"] = "kernel_ridge";
  EXPECT_EQ(message(j), "Ridge::FromJson: kind is \"kernel_ridge\" but expected \"ridge\"");
  j = good;
  j["format_version"] = "1";
  EXPECT_EQ(message(j), "Ridge::FromJson: field \"format_version\" must be an integer, got \"1\"");
  j = good;
  j.erase("coef");
  EXPECT_EQ(message(j), "Ridge::FromJson: missing field \"coef\"");
  j = good;
  j["alpha"] = -1.0;
  EXPECT_EQ(message(j), "Ridge::FromJson: alpha must be a finite number > 0, got -1");
  j = good;
  j["intercept"] = nullptr;
  EXPECT_EQ(message(j), "Ridge::FromJson: field \"intercept\" must be a number, got null");
  j = good;
  j["coef"] = nlohmann::json::array();
  EXPECT_EQ(message(j), "Ridge::FromJson: field \"coef\" is empty");
  j = good;
  j["fit_intercept"] = false;
  j["intercept"] = 0.25;
  EXPECT_EQ(message(j),
            "Ridge::FromJson: intercept is 0.25 but fit_intercept is false (must be 0)");
  EXPECT_EQ(message("ridge"), "Ridge::FromJson: expected a JSON object, got string");
}

}  // namespace
}  // namespace joulecast::regress
