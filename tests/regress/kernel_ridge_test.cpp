#include "joulecast/regress/kernel_ridge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"

namespace joulecast::regress {
namespace {

using joulecast_test::InvalidArgumentMessage;

// Reference values: scikit-learn 1.2.1.
//   import numpy as np
//   from sklearn.kernel_ridge import KernelRidge
//   from sklearn.metrics.pairwise import rbf_kernel
//   X = np.array([[0.5, 1.0, -2.0], [1.5, -0.5, 0.0], [2.0, 2.5, 1.0], [-1.0, 0.0, 3.0],
//                 [3.0, 1.5, -1.0], [0.0, -2.0, 2.0], [2.5, 0.5, 0.5], [-0.5, 3.0, -1.5],
//                 [1.0, 1.0, 1.0], [0.25, -1.0, -0.5]])
//   y = np.array([1.2, 3.4, 5.1, -0.7, 7.9, -2.2, 6.0, 1.1, 2.5, 0.3])
//   Xt = np.array([[1.0, 0.0, 0.5], [-2.0, 0.5, 4.0]])
//   print(rbf_kernel(X[:2], Xt, gamma=0.5).tolist())
//   for kw in [dict(alpha=0.1, kernel="rbf", gamma=0.5), dict(alpha=1.0, kernel="rbf"),
//              dict(alpha=2.0, kernel="linear")]:
//       m = KernelRidge(**kw).fit(X, y)
//       print(kw); print(m.dual_coef_.tolist()); print(m.predict(Xt).tolist())
Eigen::MatrixXd TrainX() {
  Eigen::MatrixXd X(10, 3);
  X << 0.5, 1.0, -2.0,  //
      1.5, -0.5, 0.0,   //
      2.0, 2.5, 1.0,    //
      -1.0, 0.0, 3.0,   //
      3.0, 1.5, -1.0,   //
      0.0, -2.0, 2.0,   //
      2.5, 0.5, 0.5,    //
      -0.5, 3.0, -1.5,  //
      1.0, 1.0, 1.0,    //
      0.25, -1.0, -0.5;
  return X;
}

Eigen::VectorXd TrainY() {
  Eigen::VectorXd y(10);
  y << 1.2, 3.4, 5.1, -0.7, 7.9, -2.2, 6.0, 1.1, 2.5, 0.3;
  return y;
}

Eigen::MatrixXd TestX() {
  Eigen::MatrixXd X(2, 3);
  X << 1.0, 0.0, 0.5, -2.0, 0.5, 4.0;
  return X;
}

void ExpectVectorNear(const Eigen::VectorXd& actual, const std::vector<double>& expected,
                      double rel_tol) {
  ASSERT_EQ(actual.size(), static_cast<Eigen::Index>(expected.size()));
  for (Eigen::Index i = 0; i < actual.size(); ++i) {
    const double e = expected[static_cast<std::size_t>(i)];
    EXPECT_NEAR(actual(i), e, rel_tol * std::max(1.0, std::abs(e))) << "index " << i;
  }
}

// By hand for the first entry: X[0] - Xt[0] = (-0.5, 1, -2.5), ||·||² = 0.25 + 1 + 6.25 = 7.5,
// exp(-0.5 · 7.5) = exp(-3.75) = 0.0235177458560091. sklearn rbf_kernel(X[:2], Xt, gamma=0.5):
// [[0.02351774585600911, 5.905303998944039e-10], [0.6872892787909721, 4.450852500419419e-07]]
TEST(KernelRidgeTest, RbfKernelMatchesSklearn) {
  const Eigen::MatrixXd K = RbfKernel(TrainX().topRows(2), TestX(), 0.5);
  EXPECT_NEAR(K(0, 0), 0.02351774585600911, 1e-16);
  EXPECT_NEAR(K(0, 1), 5.905303998944039e-10, 1e-20);
  EXPECT_NEAR(K(1, 0), 0.6872892787909721, 1e-15);
  EXPECT_NEAR(K(1, 1), 4.450852500419419e-07, 1e-20);
  // Identical rows: the norm expansion may round below 0; the clamp keeps k(x, x) = 1.
  const Eigen::MatrixXd self = RbfKernel(TrainX(), TrainX(), 0.5);
  EXPECT_LE(self.maxCoeff(), 1.0);
  for (Eigen::Index i = 0; i < 10; ++i) {
    EXPECT_NEAR(self(i, i), 1.0, 1e-14);
  }
}

TEST(KernelRidgeTest, RbfMatchesSklearn) {
  KernelRidge m({0.1, "rbf", 0.5});
  m.Fit(TrainX(), TrainY());
  ExpectVectorNear(m.dual_coef(),
                   {0.8368942966645394, 1.9951238801336721, 3.938127038203788, -0.5511422731938886,
                    6.395776446026723, -1.9943590203869714, 3.3901357047926215, 0.9341303466191138,
                    0.39606165114772063, -0.4252929383006867},
                   1e-12);
  ExpectVectorNear(m.Predict(TestX()), {2.583973790233735, -0.1804887554741388}, 1e-12);
}

TEST(KernelRidgeTest, DefaultGammaIsOneOverFeaturesAsSklearn) {
  KernelRidge m({1.0, "rbf", 0.0});
  m.Fit(TrainX(), TrainY());
  EXPECT_EQ(m.effective_gamma(), 1.0 / 3.0);
  ExpectVectorNear(
      m.dual_coef(),
      {0.33306388876087606, 1.080582469597965, 2.0348845224000693, -0.28701896888327333,
       3.4399366440612185, -1.1149876153443095, 1.9348921584240213, 0.48949669095493614,
       0.2601527722974714, -0.18570014116581635},
      1e-12);
  ExpectVectorNear(m.Predict(TestX()), {2.065755918762229, -0.14441871822978544}, 1e-12);
}

TEST(KernelRidgeTest, LinearKernelMatchesSklearn) {
  KernelRidge m({2.0, "linear", 0.0});
  m.Fit(TrainX(), TrainY());
  ExpectVectorNear(
      m.dual_coef(),
      {-0.17077984355389178, 0.40939014593138306, -0.2818481961128885, 0.5372159248894416,
       0.5435934180728369, -0.47468492184966765, 0.37888760366073276, 0.05563534521922227,
       -0.09501688430465498, 0.26262507090381293},
      1e-12);
  ExpectVectorNear(m.Predict(TestX()), {1.9776326382549496, -3.323292212686628}, 1e-12);
}

Eigen::MatrixXd RandomMatrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Eigen::MatrixXd X(rows, cols);
  // Only the values matter, not their distribution: map raw 64-bit draws to [-1, 1).
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) {
      X(i, j) = static_cast<double>(rng() >> 11) * 0x1.0p-52 - 1.0;
    }
  }
  return X;
}

// 30 points with gamma = 0.01 give a kernel of nearly all ones whose smallest eigenvalues are
// round-off (~1e-16, some negative); alpha = 1e-300 cannot lift them, the Cholesky meets a
// non-positive pivot (in this build) and the LDLT fallback must still produce a usable fit.
TEST(KernelRidgeTest, NumericallySingularKernelFallsBackAndStillFits) {
  const Eigen::MatrixXd X = RandomMatrix(30, 2, 7);
  const Eigen::VectorXd y = X.col(0);
  KernelRidge m({1e-300, "rbf", 0.01});
  ASSERT_NO_THROW(m.Fit(X, y));
  EXPECT_TRUE(m.dual_coef().allFinite());
  EXPECT_LT((m.Predict(X) - y).cwiseAbs().maxCoeff(), 1e-3);
}

TEST(KernelRidgeTest, AlphaPathEqualsSeparateFits) {
  const Eigen::MatrixXd X = RandomMatrix(80, 4, 1);
  const Eigen::VectorXd y = (X.col(0).array() * 3.0).sin() + X.col(1).array().square();
  const Eigen::MatrixXd Xt = RandomMatrix(30, 4, 2);
  // 3 alphas take the Cholesky-per-alpha route, 5 and 7 the tridiagonal one.
  const std::vector<std::vector<double>> grids = {
      {0.1, 1e-3, 10.0}, {1e-3, 1e-2, 0.1, 1.0, 10.0}, {5.0, 1e-3, 0.3, 1e-2, 0.1, 1.0, 10.0}};
  for (const std::vector<double>& alphas : grids) {
    for (const char* kernel : {"rbf", "linear"}) {
      const KernelRidgeOptions base{123.0, kernel, 0.7};  // base.alpha must be ignored
      const std::vector<Eigen::VectorXd> path =
          KernelRidge::FitPredictAlphaPath(X, y, Xt, alphas, base);
      ASSERT_EQ(path.size(), alphas.size());
      for (std::size_t k = 0; k < alphas.size(); ++k) {
        KernelRidge m({alphas[k], kernel, 0.7});
        m.Fit(X, y);
        const Eigen::VectorXd separate = m.Predict(Xt);
        EXPECT_LT((path[k] - separate).norm(), 1e-8 * separate.norm())
            << kernel << " alpha " << alphas[k] << " of " << alphas.size();
      }
    }
  }
}

// As NumericallySingularKernelFallsBackAndStillFits, through the tridiagonal path: an alpha
// below the round-off in K must neither throw nor spoil the other alphas.
TEST(KernelRidgeTest, AlphaPathWithAlphaBelowRoundOff) {
  const Eigen::MatrixXd X = RandomMatrix(30, 2, 7);
  const Eigen::VectorXd y = X.col(0);
  const std::vector<double> alphas = {1e-300, 1e-2, 0.1, 1.0, 10.0};
  const std::vector<Eigen::VectorXd> path =
      KernelRidge::FitPredictAlphaPath(X, y, X, alphas, {1.0, "rbf", 0.01});
  ASSERT_EQ(path.size(), 5u);
  EXPECT_TRUE(path[0].allFinite());
  EXPECT_LT((path[0] - y).cwiseAbs().maxCoeff(), 1e-3);
  for (std::size_t k = 1; k < alphas.size(); ++k) {
    KernelRidge m({alphas[k], "rbf", 0.01});
    m.Fit(X, y);
    const Eigen::VectorXd separate = m.Predict(X);
    EXPECT_LT((path[k] - separate).norm(), 1e-8 * separate.norm()) << alphas[k];
  }
}

// By hand, one training row x0 = 0 with y = 3: K = [1], a = 3 / (1 + alpha), and for
// x = (1, 0, 0) with the default gamma 1/3, ŷ = exp(-1/3) · 3 / (1 + alpha), e.g. alpha 0.5 ->
// 2·exp(-1/3), alpha 2 -> exp(-1/3). 2 alphas take the Cholesky route, 5 the tridiagonal one.
TEST(KernelRidgeTest, AlphaPathWithOneTrainingRowByHand) {
  for (const std::vector<double>& alphas :
       {std::vector<double>{0.5, 2.0}, std::vector<double>{0.5, 2.0, 1.0, 3.0, 7.0}}) {
    const std::vector<Eigen::VectorXd> path = KernelRidge::FitPredictAlphaPath(
        Eigen::MatrixXd::Zero(1, 3), Eigen::VectorXd::Constant(1, 3.0),
        (Eigen::MatrixXd(1, 3) << 1.0, 0.0, 0.0).finished(), alphas, KernelRidgeOptions{});
    ASSERT_EQ(path.size(), alphas.size());
    EXPECT_NEAR(path[0](0), 2.0 * std::exp(-1.0 / 3.0), 1e-15);
    EXPECT_NEAR(path[1](0), std::exp(-1.0 / 3.0), 1e-15);
    for (std::size_t k = 2; k < alphas.size(); ++k) {
      EXPECT_NEAR(path[k](0), std::exp(-1.0 / 3.0) * 3.0 / (1.0 + alphas[k]), 1e-15);
    }
  }
}

TEST(KernelRidgeTest, AlphaPathRejectsBadInput) {
  const KernelRidgeOptions base;
  const Eigen::MatrixXd X = TrainX();
  const Eigen::VectorXd y = TrainY();
  auto message = [&](const Eigen::MatrixXd& Xtr, const Eigen::VectorXd& ytr,
                     const Eigen::MatrixXd& Xte, const std::vector<double>& alphas,
                     const KernelRidgeOptions& o) {
    return InvalidArgumentMessage(
        [&] { KernelRidge::FitPredictAlphaPath(Xtr, ytr, Xte, alphas, o); });
  };
  EXPECT_EQ(message(X, y, TestX(), {}, base), "KernelRidge::FitPredictAlphaPath: alphas is empty");
  EXPECT_EQ(message(X, y, TestX(), {1.0, 0.0}, base),
            "KernelRidge::FitPredictAlphaPath: alphas[1] must be a finite number > 0, got 0");
  EXPECT_EQ(message(X, y.head(9), TestX(), {1.0}, base),
            "KernelRidge::FitPredictAlphaPath: X_train has 10 rows but y_train has 9");
  EXPECT_EQ(message(X, y, Eigen::MatrixXd::Zero(2, 2), {1.0}, base),
            "KernelRidge::FitPredictAlphaPath: X_test has 2 columns but X_train has 3");
  EXPECT_EQ(message(X, y, TestX(), {1.0}, {1.0, "rbf", -1.0}),
            "KernelRidge::FitPredictAlphaPath: gamma must be a finite number >= 0, got -1");
}

TEST(KernelRidgeTest, RejectsBadInput) {
  KernelRidge m;
  Eigen::MatrixXd X120 = Eigen::MatrixXd::Zero(120, 5);
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Fit(X120, Eigen::VectorXd::Zero(118)); }),
            "KernelRidge::Fit: X has 120 rows but y has 118");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Fit(Eigen::MatrixXd(0, 5), Eigen::VectorXd(0)); }),
            "KernelRidge::Fit: X is empty (0 rows, 5 columns)");
  Eigen::MatrixXd bad = TrainX();
  bad(3, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Fit(bad, TrainY()); }),
            "KernelRidge::Fit: X has a non-finite value at row 3, column 2");
  KernelRidge zero_alpha({0.0, "rbf", 0.0});
  EXPECT_EQ(InvalidArgumentMessage([&] { zero_alpha.Fit(TrainX(), TrainY()); }),
            "KernelRidge::Fit: alpha must be a finite number > 0, got 0");
  KernelRidge negative_gamma({1.0, "rbf", -0.5});
  EXPECT_EQ(InvalidArgumentMessage([&] { negative_gamma.Fit(TrainX(), TrainY()); }),
            "KernelRidge::Fit: gamma must be a finite number >= 0, got -0.5");
  KernelRidge poly({1.0, "poly", 0.0});
  EXPECT_EQ(InvalidArgumentMessage([&] { poly.Fit(TrainX(), TrainY()); }),
            "KernelRidge::Fit: kernel must be \"rbf\" or \"linear\", got \"poly\"");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Predict(TestX()); }),
            "KernelRidge::Predict: model is not fitted");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.ToJson(); }),
            "KernelRidge::ToJson: model is not fitted");
  EXPECT_EQ(InvalidArgumentMessage([&] { m.effective_gamma(); }),
            "KernelRidge::effective_gamma: model is not fitted");
  Eigen::MatrixXd X5 = RandomMatrix(6, 5, 3);
  m.Fit(X5, Eigen::VectorXd::LinSpaced(6, 0.0, 1.0));
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Predict(Eigen::MatrixXd::Zero(1, 4)); }),
            "KernelRidge::Predict: X has 4 columns but the model was fitted on 5");
  Eigen::MatrixXd bad5 = X5;
  bad5(1, 4) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(InvalidArgumentMessage([&] { m.Predict(bad5); }),
            "KernelRidge::Predict: X has a non-finite value at row 1, column 4");
}

// Predict builds the kernel in blocks of 1024 rows; 2500 rows cross two block boundaries.
TEST(KernelRidgeTest, BlockedPredictEqualsRowByRow) {
  KernelRidge m({0.1, "rbf", 0.5});
  m.Fit(TrainX(), TrainY());
  const Eigen::MatrixXd Xt = RandomMatrix(2500, 3, 4) * 3.0;
  const Eigen::VectorXd p = m.Predict(Xt);
  for (Eigen::Index i : {Eigen::Index{0}, Eigen::Index{1023}, Eigen::Index{1024},
                         Eigen::Index{2047}, Eigen::Index{2048}, Eigen::Index{2499}}) {
    EXPECT_NEAR(p(i), m.Predict(Xt.row(i))(0), 1e-14) << i;
  }
}

TEST(KernelRidgeTest, JsonRoundTripPredictsBitIdentically) {
  const Eigen::MatrixXd X = RandomMatrix(40, 5, 5);
  const Eigen::VectorXd y = X.rowwise().sum().array().exp();
  KernelRidge m({0.037, "rbf", 0.0});
  m.Fit(X, y);
  const nlohmann::json j = m.ToJson();
  EXPECT_EQ(j.at("kind"), "kernel_ridge");
  EXPECT_EQ(j.at("format_version"), 1);
  EXPECT_EQ(j.at("gamma"), 0.0);  // the option, not the resolved 1/n_features
  const KernelRidge r = KernelRidge::FromJson(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(r.options().alpha, 0.037);
  EXPECT_EQ(r.options().kernel, "rbf");
  EXPECT_EQ(r.X_fit(), m.X_fit());
  EXPECT_EQ(r.dual_coef(), m.dual_coef());
  const Eigen::MatrixXd Xt = RandomMatrix(25, 5, 6);
  EXPECT_EQ(r.Predict(Xt), m.Predict(Xt));  // bit-identical, no tolerance
}

TEST(KernelRidgeTest, FromJsonRejectsCorruptInput) {
  KernelRidge m({0.5, "rbf", 0.0});
  m.Fit(TrainX(), TrainY());
  const nlohmann::json good = m.ToJson();
  auto message = [](const nlohmann::json& j) {
    return InvalidArgumentMessage([&] { KernelRidge::FromJson(j); });
  };
  nlohmann::json j = good;
  j["kind"] = "ridge";
  EXPECT_EQ(message(j), "KernelRidge::FromJson: kind is \"ridge\" but expected \"kernel_ridge\"");
  j = good;
  j["format_version"] = 2;
  EXPECT_EQ(message(j), "KernelRidge::FromJson: format_version is 2 but only 1 is supported");
  j = good;
  j.erase("format_version");
  EXPECT_EQ(message(j), "KernelRidge::FromJson: missing field \"format_version\"");
  j = good;
  j["X_fit"].push_back({1.0, 2.0, 3.0});
  j["X_fit"].push_back({4.0, 5.0, 6.0});
  EXPECT_EQ(message(j), "KernelRidge::FromJson: dual_coef has 10 entries but X_fit has 12 rows");
  j = good;
  j["X_fit"][4] = {1.0, 2.0};
  EXPECT_EQ(message(j), "KernelRidge::FromJson: X_fit row 4 has 2 entries but row 0 has 3");
  j = good;
  j["X_fit"][2][1] = "nan";
  EXPECT_EQ(message(j), "KernelRidge::FromJson: X_fit[2][1] must be a number, got \"nan\"");
  j = good;
  j["X_fit"][2][1] = std::numeric_limits<double>::quiet_NaN();  // only possible when built in code
  EXPECT_EQ(message(j), "KernelRidge::FromJson: X_fit has a non-finite value at row 2, column 1");
  j = good;
  j.erase("dual_coef");
  EXPECT_EQ(message(j), "KernelRidge::FromJson: missing field \"dual_coef\"");
  j = good;
  j["kernel"] = "sigmoid";
  EXPECT_EQ(message(j),
            "KernelRidge::FromJson: kernel must be \"rbf\" or \"linear\", got \"sigmoid\"");
  j = good;
  j["gamma"] = -2;
  EXPECT_EQ(message(j), "KernelRidge::FromJson: gamma must be a finite number >= 0, got -2");
  j = good;
  j["alpha"] = 0;
  EXPECT_EQ(message(j), "KernelRidge::FromJson: alpha must be a finite number > 0, got 0");
  j = good;
  j["X_fit"] = nlohmann::json::array();
  EXPECT_EQ(message(j), "KernelRidge::FromJson: field \"X_fit\" is empty");
  EXPECT_EQ(message(nullptr), "KernelRidge::FromJson: expected a JSON object, got null");
}

}  // namespace
}  // namespace joulecast::regress
