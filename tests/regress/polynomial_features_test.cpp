#include "joulecast/regress/polynomial_features.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"

namespace joulecast::regress {
namespace {

using joulecast_test::InvalidArgumentMessage;

// Reference: scikit-learn 1.2.1. Inputs are dyadic, so every product is exact and the
// comparison below is exact.
//   import numpy as np; from sklearn.preprocessing import PolynomialFeatures
//   X = np.array([[2.0, 3.0, 5.0], [-1.0, 0.5, 4.0]])
//   for deg, io, bias in [(2, False, False), (2, True, False), (3, False, True), (3, True, False)]:
//       p = PolynomialFeatures(degree=deg, interaction_only=io, include_bias=bias).fit(X)
//       print(deg, io, bias, p.n_output_features_)
//       print(",".join(p.get_feature_names_out()))
//       print(p.transform(X).tolist())
Eigen::MatrixXd Input() {
  Eigen::MatrixXd X(2, 3);
  X << 2.0, 3.0, 5.0,  //
      -1.0, 0.5, 4.0;
  return X;
}

struct Case {
  PolynomialFeaturesOptions options;
  std::vector<std::string> names;
  std::vector<std::vector<double>> rows;
};

void ExpectMatchesSklearn(const Case& c) {
  PolynomialFeatures p(c.options);
  const Eigen::MatrixXd out = p.FitTransform(Input());
  ASSERT_EQ(p.NumOutputFeatures(), static_cast<Eigen::Index>(c.names.size()));
  EXPECT_EQ(p.FeatureNames(), c.names);
  ASSERT_EQ(out.rows(), 2);
  ASSERT_EQ(out.cols(), static_cast<Eigen::Index>(c.names.size()));
  for (Eigen::Index i = 0; i < 2; ++i) {
    for (Eigen::Index k = 0; k < out.cols(); ++k) {
      EXPECT_EQ(out(i, k), c.rows[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)])
          << "row " << i << " column " << c.names[static_cast<std::size_t>(k)];
    }
  }
}

TEST(PolynomialFeaturesTest, Degree2MatchesSklearn) {
  ExpectMatchesSklearn({{2, false, false},
                        {"x0", "x1", "x2", "x0^2", "x0 x1", "x0 x2", "x1^2", "x1 x2", "x2^2"},
                        {{2.0, 3.0, 5.0, 4.0, 6.0, 10.0, 9.0, 15.0, 25.0},
                         {-1.0, 0.5, 4.0, 1.0, -0.5, -4.0, 0.25, 2.0, 16.0}}});
}

TEST(PolynomialFeaturesTest, Degree2InteractionOnlyMatchesSklearn) {
  ExpectMatchesSklearn({{2, true, false},
                        {"x0", "x1", "x2", "x0 x1", "x0 x2", "x1 x2"},
                        {{2.0, 3.0, 5.0, 6.0, 10.0, 15.0}, {-1.0, 0.5, 4.0, -0.5, -4.0, 2.0}}});
}

TEST(PolynomialFeaturesTest, Degree3WithBiasMatchesSklearn) {
  ExpectMatchesSklearn({{3, false, true},
                        {"1",        "x0",      "x1",   "x2",      "x0^2",    "x0 x1",   "x0 x2",
                         "x1^2",     "x1 x2",   "x2^2", "x0^3",    "x0^2 x1", "x0^2 x2", "x0 x1^2",
                         "x0 x1 x2", "x0 x2^2", "x1^3", "x1^2 x2", "x1 x2^2", "x2^3"},
                        {{1.0, 2.0,  3.0,  5.0,  4.0,  6.0,  10.0, 9.0,  15.0, 25.0,
                          8.0, 12.0, 20.0, 18.0, 30.0, 50.0, 27.0, 45.0, 75.0, 125.0},
                         {1.0,  -1.0, 0.5, 4.0,   1.0,  -0.5,  -4.0,  0.25, 2.0, 16.0,
                          -1.0, 0.5,  4.0, -0.25, -2.0, -16.0, 0.125, 1.0,  8.0, 64.0}}});
}

TEST(PolynomialFeaturesTest, Degree3InteractionOnlyMatchesSklearn) {
  ExpectMatchesSklearn(
      {{3, true, false},
       {"x0", "x1", "x2", "x0 x1", "x0 x2", "x1 x2", "x0 x1 x2"},
       {{2.0, 3.0, 5.0, 6.0, 10.0, 15.0, 30.0}, {-1.0, 0.5, 4.0, -0.5, -4.0, 2.0, -2.0}}});
}

// sklearn: PolynomialFeatures(degree=3, interaction_only=True, include_bias=True)
//   .fit(np.ones((1, 2))).powers_ -> [[0, 0], [1, 0], [0, 1], [1, 1]]: no degree-3 term exists
// for two distinct columns. PolynomialFeatures(degree=4).fit(np.ones((1, 1))).powers_ ->
// [[0], [1], [2], [3], [4]].
TEST(PolynomialFeaturesTest, PowersMatchSklearnEdgeCases) {
  PolynomialFeatures io({3, true, true});
  io.Fit(Eigen::MatrixXd::Ones(1, 2));
  Eigen::MatrixXi expected(4, 2);
  expected << 0, 0, 1, 0, 0, 1, 1, 1;
  EXPECT_EQ(io.powers(), expected);

  PolynomialFeatures one({4, false, true});
  one.Fit(Eigen::MatrixXd::Ones(1, 1));
  Eigen::MatrixXi expected1(5, 1);
  expected1 << 0, 1, 2, 3, 4;
  EXPECT_EQ(one.powers(), expected1);
  Eigen::MatrixXd x(1, 1);
  x << 3.0;
  const Eigen::MatrixXd out = one.Transform(x);
  EXPECT_EQ(out, (Eigen::MatrixXd(1, 5) << 1.0, 3.0, 9.0, 27.0, 81.0).finished());
}

TEST(PolynomialFeaturesTest, FeatureNamesWithInputNames) {
  PolynomialFeatures p;
  p.Fit(Eigen::MatrixXd::Ones(1, 2));
  EXPECT_EQ(p.FeatureNames({"flops", "bytes"}),
            (std::vector<std::string>{"flops", "bytes", "flops^2", "flops bytes", "bytes^2"}));
  EXPECT_EQ(InvalidArgumentMessage([&] { p.FeatureNames({"a"}); }),
            "PolynomialFeatures::FeatureNames: input_names has 1 entries but the model was fitted "
            "on 2 features");
}

TEST(PolynomialFeaturesTest, RejectsBadInput) {
  PolynomialFeatures zero({0, false, false});
  EXPECT_EQ(InvalidArgumentMessage([&] { zero.Fit(Input()); }),
            "PolynomialFeatures::Fit: degree must be >= 1, got 0");
  PolynomialFeatures p;
  EXPECT_EQ(InvalidArgumentMessage([&] { p.Transform(Input()); }),
            "PolynomialFeatures::Transform: model is not fitted");
  EXPECT_EQ(InvalidArgumentMessage([&] { p.NumOutputFeatures(); }),
            "PolynomialFeatures::NumOutputFeatures: model is not fitted");
  EXPECT_EQ(InvalidArgumentMessage([&] { p.Fit(Eigen::MatrixXd(0, 3)); }),
            "PolynomialFeatures::Fit: X is empty (0 rows, 3 columns)");
  Eigen::MatrixXd bad = Input();
  bad(1, 0) = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(InvalidArgumentMessage([&] { p.Fit(bad); }),
            "PolynomialFeatures::Fit: X has a non-finite value at row 1, column 0");
  p.Fit(Input());
  EXPECT_EQ(InvalidArgumentMessage([&] { p.Transform(Eigen::MatrixXd::Ones(1, 2)); }),
            "PolynomialFeatures::Transform: X has 2 columns but the model was fitted on 3");
  // C(100 + 6, 6) - 1 = 1.6e9 columns.
  PolynomialFeatures huge({6, false, false});
  EXPECT_EQ(InvalidArgumentMessage([&] { huge.Fit(Eigen::MatrixXd::Ones(1, 100)); }),
            "PolynomialFeatures::Fit: degree 6 on 100 features gives more than 1000000 output "
            "features");
}

TEST(PolynomialFeaturesTest, JsonRoundTrip) {
  PolynomialFeatures p({3, true, true});
  p.Fit(Input());
  const nlohmann::json j = p.ToJson();
  EXPECT_EQ(j.at("kind"), "polynomial_features");
  EXPECT_EQ(j.at("format_version"), 1);
  const PolynomialFeatures r = PolynomialFeatures::FromJson(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(r.options().degree, 3);
  EXPECT_TRUE(r.options().interaction_only);
  EXPECT_TRUE(r.options().include_bias);
  EXPECT_EQ(r.n_features_in(), 3);
  EXPECT_EQ(r.powers(), p.powers());
  EXPECT_EQ(r.Transform(Input()), p.Transform(Input()));
}

TEST(PolynomialFeaturesTest, FromJsonRejectsCorruptInput) {
  PolynomialFeatures p;
  p.Fit(Input());
  const nlohmann::json good = p.ToJson();
  auto message = [](const nlohmann::json& j) {
    return InvalidArgumentMessage([&] { PolynomialFeatures::FromJson(j); });
  };
  nlohmann::json j = good;
  j["kind"] = "standard_scaler";
  EXPECT_EQ(message(j),
            "PolynomialFeatures::FromJson: kind is \"standard_scaler\" but expected "
            "\"polynomial_features\"");
  j = good;
  j["format_version"] = 0;
  EXPECT_EQ(message(j),
            "PolynomialFeatures::FromJson: format_version is 0 but only 1 is supported");
  j = good;
  j.erase("kind");
  EXPECT_EQ(message(j), "PolynomialFeatures::FromJson: missing field \"kind\"");
  j = good;
  j["degree"] = 0;
  EXPECT_EQ(message(j), "PolynomialFeatures::FromJson: degree must be >= 1, got 0");
  j = good;
  j["degree"] = 2.5;
  EXPECT_EQ(message(j),
            "PolynomialFeatures::FromJson: field \"degree\" must be an integer, got 2.5");
  j = good;
  j["n_features_in"] = 0;
  EXPECT_EQ(message(j), "PolynomialFeatures::FromJson: n_features_in must be >= 1, got 0");
  j = good;
  j.erase("include_bias");
  EXPECT_EQ(message(j), "PolynomialFeatures::FromJson: missing field \"include_bias\"");
}

}  // namespace
}  // namespace joulecast::regress
