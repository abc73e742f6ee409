#include "joulecast/regress/scaler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "error_of.h"

namespace joulecast::regress {
namespace {

using joulecast_test::InvalidArgumentMessage;

Eigen::MatrixXd FourByThree() {
  Eigen::MatrixXd X(4, 3);
  X << 1, 10, 5,  //
      2, 20, 5,   //
      4, 30, 5,   //
      7, 40, 5;
  return X;
}

// Reference values, by hand and checked with scikit-learn 1.2.1:
//   column 0: mean = 14/4 = 3.5, deviations -2.5 -1.5 0.5 3.5, Σ² = 21, var = 21/4 = 5.25,
//             std = sqrt(5.25) = 2.29128784747792
//   column 1: mean = 100/4 = 25, deviations ±15 ±5, Σ² = 500, var = 125, std = 11.180339887498949
//   column 2: constant 5 -> std 0 -> scale 1
//   import numpy as np; from sklearn.preprocessing import StandardScaler
//   X = np.array([[1, 10, 5], [2, 20, 5], [4, 30, 5], [7, 40, 5]], dtype=float)
//   s = StandardScaler().fit(X); print(s.mean_.tolist(), s.scale_.tolist())
//   print(s.transform(np.array([[3.0, 0.0, 6.0]])).tolist())
//   -> [3.5, 25.0, 5.0] [2.29128784747792, 11.180339887498949, 1.0]
//   -> [[-0.2182178902359924, -2.23606797749979, 1.0]]
TEST(StandardScalerTest, MatchesSklearnMeanAndPopulationStd) {
  StandardScaler s;
  s.Fit(FourByThree());
  ASSERT_TRUE(s.fitted());
  EXPECT_EQ(s.n_features(), 3);
  EXPECT_DOUBLE_EQ(s.mean()(0), 3.5);
  EXPECT_DOUBLE_EQ(s.mean()(1), 25.0);
  EXPECT_DOUBLE_EQ(s.mean()(2), 5.0);
  EXPECT_NEAR(s.scale()(0), 2.29128784747792, 1e-14);
  EXPECT_NEAR(s.scale()(1), 11.180339887498949, 1e-13);
  EXPECT_EQ(s.scale()(2), 1.0);

  Eigen::MatrixXd row(1, 3);
  row << 3.0, 0.0, 6.0;
  const Eigen::MatrixXd z = s.Transform(row);
  EXPECT_NEAR(z(0, 0), -0.2182178902359924, 1e-15);
  EXPECT_NEAR(z(0, 1), -2.23606797749979, 1e-14);
  EXPECT_EQ(z(0, 2), 1.0);
}

TEST(StandardScalerTest, TransformedTrainingDataHasZeroMeanUnitStd) {
  StandardScaler s;
  const Eigen::MatrixXd z = s.FitTransform(FourByThree());
  for (Eigen::Index j = 0; j < 2; ++j) {
    EXPECT_NEAR(z.col(j).mean(), 0.0, 1e-15);
    EXPECT_NEAR(z.col(j).squaredNorm() / 4.0, 1.0, 1e-15);
  }
  // The constant column is centred only.
  EXPECT_EQ(z.col(2), Eigen::VectorXd::Zero(4));
}

// 1e6 + k·2^-30 (k = 0..3) is exact in double; std = 2^-30·sqrt(1.25) ≈ 1.04e-9 is below
// 1e-12 · |mean| ≈ 1e-6, so the column counts as constant (scale 1) instead of being blown up.
TEST(StandardScalerTest, NearConstantColumnRelativeToMeanGetsScaleOne) {
  Eigen::MatrixXd X(4, 2);
  const double u = std::ldexp(1.0, -30);
  X << 1e6, 1, 1e6 + u, 2, 1e6 + 2 * u, 3, 1e6 + 3 * u, 4;
  StandardScaler s;
  s.Fit(X);
  EXPECT_EQ(s.scale()(0), 1.0);
  EXPECT_NEAR(s.scale()(1), std::sqrt(1.25), 1e-15);  // deviations ±0.5 ±1.5: Σ² = 5, /4
}

// sklearn: Y = np.array([[0.5], [1.25], [-3.0], [8.0], [2.0]]); StandardScaler().fit(Y)
//   -> mean_ [1.75], scale_ [3.5637059362410923]
TEST(StandardScalerTest, ScalesASingleTargetColumnAndInvertsIt) {
  Eigen::MatrixXd Y(5, 1);
  Y << 0.5, 1.25, -3.0, 8.0, 2.0;
  StandardScaler s;
  const Eigen::MatrixXd z = s.FitTransform(Y);
  EXPECT_DOUBLE_EQ(s.mean()(0), 1.75);
  EXPECT_NEAR(s.scale()(0), 3.5637059362410923, 1e-15);
  const Eigen::MatrixXd back = s.InverseTransform(z);
  for (Eigen::Index i = 0; i < 5; ++i) {
    EXPECT_NEAR(back(i, 0), Y(i, 0), 1e-15);
  }
}

TEST(StandardScalerTest, WithMeanAndWithStdOff) {
  StandardScaler no_mean({/*with_mean=*/false, /*with_std=*/true});
  no_mean.Fit(FourByThree());
  EXPECT_EQ(no_mean.mean(), Eigen::VectorXd::Zero(3));
  EXPECT_NEAR(no_mean.scale()(0), 2.29128784747792, 1e-14);  // std is still about the mean

  StandardScaler no_std({/*with_mean=*/true, /*with_std=*/false});
  no_std.Fit(FourByThree());
  EXPECT_EQ(no_std.scale(), Eigen::VectorXd::Ones(3));
  EXPECT_DOUBLE_EQ(no_std.Transform(FourByThree())(3, 0), 7.0 - 3.5);
}

TEST(StandardScalerTest, RejectsBadInput) {
  StandardScaler s;
  EXPECT_EQ(InvalidArgumentMessage([&] { s.Fit(Eigen::MatrixXd(0, 3)); }),
            "StandardScaler::Fit: X is empty (0 rows, 3 columns)");
  EXPECT_EQ(InvalidArgumentMessage([&] { s.Fit(Eigen::MatrixXd(2, 0)); }),
            "StandardScaler::Fit: X is empty (2 rows, 0 columns)");
  Eigen::MatrixXd bad = FourByThree();
  bad(3, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(InvalidArgumentMessage([&] { s.Fit(bad); }),
            "StandardScaler::Fit: X has a non-finite value at row 3, column 2");
  EXPECT_EQ(InvalidArgumentMessage([&] { s.Transform(FourByThree()); }),
            "StandardScaler::Transform: model is not fitted");
  EXPECT_EQ(InvalidArgumentMessage([&] { s.InverseTransform(FourByThree()); }),
            "StandardScaler::InverseTransform: model is not fitted");
  EXPECT_EQ(InvalidArgumentMessage([&] { s.ToJson(); }),
            "StandardScaler::ToJson: model is not fitted");
  s.Fit(FourByThree());
  EXPECT_EQ(InvalidArgumentMessage([&] { s.Transform(Eigen::MatrixXd::Zero(2, 4)); }),
            "StandardScaler::Transform: X has 4 columns but the model was fitted on 3");
  bad(3, 2) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(InvalidArgumentMessage([&] { s.Transform(bad); }),
            "StandardScaler::Transform: X has a non-finite value at row 3, column 2");
}

TEST(StandardScalerTest, JsonRoundTripIsBitIdentical) {
  Eigen::MatrixXd X(3, 2);
  X << 0.1, 1.0 / 3.0, 0.7, 2.0 / 7.0, 1e-9, 123456.789;
  StandardScaler s;
  s.Fit(X);
  const nlohmann::json j = s.ToJson();
  EXPECT_EQ(j.at("kind"), "standard_scaler");
  EXPECT_EQ(j.at("format_version"), 1);
  const StandardScaler r = StandardScaler::FromJson(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(r.mean(), s.mean());
  EXPECT_EQ(r.scale(), s.scale());
  EXPECT_EQ(r.options().with_mean, true);
  const Eigen::MatrixXd a = s.Transform(X);
  const Eigen::MatrixXd b = r.Transform(X);
  EXPECT_EQ(a, b);  // exact equality, not a tolerance
}

TEST(StandardScalerTest, FromJsonRejectsCorruptInput) {
  StandardScaler s;
  s.Fit(FourByThree());
  const nlohmann::json good = s.ToJson();
  auto message = [](const nlohmann::json& j) {
    return InvalidArgumentMessage([&] { StandardScaler::FromJson(j); });
  };
  nlohmann::json j = good;
  j["kind"] = "ridge";
  EXPECT_EQ(message(j),
            "StandardScaler::FromJson: kind is \"ridge\" but expected \"standard_scaler\"");
  j = good;
  j["format_version"] = 2;
  EXPECT_EQ(message(j), "StandardScaler::FromJson: format_version is 2 but only 1 is supported");
  j = good;
  j.erase("scale");
  EXPECT_EQ(message(j), "StandardScaler::FromJson: missing field \"scale\"");
  j = good;
  j["mean"].push_back(1.0);
  EXPECT_EQ(message(j), "StandardScaler::FromJson: mean has 4 entries but scale has 3");
  j = good;
  j["scale"][1] = 0.0;
  EXPECT_EQ(message(j), "StandardScaler::FromJson: scale[1] = 0 is not positive");
  j = good;
  j["scale"][1] = "x";
  EXPECT_EQ(message(j), "StandardScaler::FromJson: scale[1] must be a number, got \"x\"");
  j = good;
  j["with_std"] = 1;
  EXPECT_EQ(message(j),
            "StandardScaler::FromJson: field \"with_std\" must be true or false, got 1");
  j = good;
  j["with_mean"] = false;
  EXPECT_EQ(message(j),
            "StandardScaler::FromJson: mean[0] = 3.5 but with_mean is false (must be 0)");
  j = good;
  j["mean"] = nlohmann::json::array();
  EXPECT_EQ(message(j), "StandardScaler::FromJson: field \"mean\" is empty");
  EXPECT_EQ(message(nlohmann::json::array()),
            "StandardScaler::FromJson: expected a JSON object, got array");
}

}  // namespace
}  // namespace joulecast::regress
