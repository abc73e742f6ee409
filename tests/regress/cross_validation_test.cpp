#include "joulecast/regress/cross_validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/regress/ridge.h"

namespace joulecast::regress {
namespace {

using Folds = std::vector<std::vector<std::size_t>>;

using joulecast_test::InvalidArgumentMessage;

// Reference folds: an independent Python implementation of MT19937-64 (checked against the C++
// standard's [rand.predef] value: the 10000th output of a default-seeded std::mt19937_64 is
// 9981545732273789042) driving the documented Fisher–Yates shuffle and rejection draw:
//   M64 = (1 << 64) - 1
//   class MT64:
//       def __init__(self, seed):
//           self.mt = [0] * 312; self.i = 312; self.mt[0] = seed & M64
//           for k in range(1, 312):
//               self.mt[k] = (6364136223846793005 * (self.mt[k-1] ^ (self.mt[k-1] >> 62)) + k) &
//               M64
//       def __call__(self):
//           if self.i >= 312:
//               for k in range(312):
//                   x = (self.mt[k] & 0xFFFFFFFF80000000) | (self.mt[(k+1) % 312] & 0x7FFFFFFF)
//                   xa = (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
//                   self.mt[k] = self.mt[(k+156) % 312] ^ xa
//               self.i = 0
//           y = self.mt[self.i]; self.i += 1
//           y ^= (y >> 29) & 0x5555555555555555; y ^= (y << 17) & 0x71D67FFFEDA60000
//           y ^= (y << 37) & 0xFFF7EEE000000000; y ^= y >> 43
//           return y & M64
//   g = MT64(5489); [g() for _ in range(9999)]; assert g() == 9981545732273789042
//   def below(rng, bound):
//       threshold = (2**64 - bound) % bound
//       while True:
//           r = rng()
//           if r >= threshold: return r % bound
//   def kfold(n, k, seed):
//       rng = MT64(seed); perm = list(range(n))
//       for i in range(n - 1, 0, -1):
//           j = below(rng, i + 1); perm[i], perm[j] = perm[j], perm[i]
//       folds, start = [], 0
//       for f in range(k):
//           size = n // k + (1 if f < n % k else 0)
//           folds.append(sorted(perm[start:start + size])); start += size
//       return folds
//   print(kfold(10, 3, 42)); print(kfold(7, 7, 0)); print(kfold(12, 5, 2024))
//   -> [[0, 1, 7, 9], [3, 4, 8], [2, 5, 6]]
//   -> [[4], [0], [1], [2], [6], [5], [3]]
//   -> [[3, 5, 9], [2, 6, 8], [0, 4], [1, 11], [7, 10]]
TEST(KFoldIndicesTest, MatchesReferenceShuffle) {
  EXPECT_EQ(KFoldIndices(10, 3, 42), (Folds{{0, 1, 7, 9}, {3, 4, 8}, {2, 5, 6}}));
  EXPECT_EQ(KFoldIndices(7, 7, 0), (Folds{{4}, {0}, {1}, {2}, {6}, {5}, {3}}));
  EXPECT_EQ(KFoldIndices(12, 5, 2024), (Folds{{3, 5, 9}, {2, 6, 8}, {0, 4}, {1, 11}, {7, 10}}));
}

TEST(KFoldIndicesTest, PartitionsWithBalancedSizes) {
  for (std::size_t n : {2u, 5u, 17u, 100u}) {
    for (std::size_t k : {2u, 3u, 5u}) {
      if (k > n) {
        continue;
      }
      const Folds folds = KFoldIndices(n, k, 99);
      ASSERT_EQ(folds.size(), k);
      std::vector<int> seen(n, 0);
      std::size_t min_size = n, max_size = 0;
      for (const auto& f : folds) {
        min_size = std::min(min_size, f.size());
        max_size = std::max(max_size, f.size());
        for (std::size_t i : f) {
          ++seen.at(i);
        }
      }
      EXPECT_LE(max_size - min_size, 1u) << n << " " << k;
      EXPECT_EQ(seen, std::vector<int>(n, 1)) << n << " " << k;
    }
  }
  EXPECT_EQ(KFoldIndices(50, 5, 1), KFoldIndices(50, 5, 1));
  EXPECT_NE(KFoldIndices(50, 5, 1), KFoldIndices(50, 5, 2));
}

TEST(KFoldIndicesTest, RejectsBadK) {
  EXPECT_EQ(InvalidArgumentMessage([] { KFoldIndices(10, 1, 0); }),
            "KFoldIndices: k must be >= 2, got 1");
  EXPECT_EQ(InvalidArgumentMessage([] { KFoldIndices(3, 4, 0); }),
            "KFoldIndices: k = 4 is larger than n = 3");
}

TEST(SelectRowsTest, SelectsInGivenOrder) {
  Eigen::MatrixXd X(3, 2);
  X << 1, 2, 3, 4, 5, 6;
  const Eigen::MatrixXd S = SelectRows(X, {2, 0, 2});
  EXPECT_EQ(S, (Eigen::MatrixXd(3, 2) << 5, 6, 1, 2, 5, 6).finished());
  const Eigen::Vector3d y(7, 8, 9);
  EXPECT_EQ(SelectRows(Eigen::VectorXd(y), {1}), Eigen::VectorXd::Constant(1, 8.0));
  EXPECT_EQ(SelectRows(X, {}).rows(), 0);
  EXPECT_EQ(InvalidArgumentMessage([&] {
              SelectRows(X, {0, 3});
            }),
            "SelectRows: idx[1] = 3 is out of range for 3 rows");
}

// Hand-computed: a "model" predicting the training mean. y = 1..6, folds {0,1} {2,3} {4,5}:
// fold 0 is predicted by mean(3,4,5,6) = 4.5, fold 1 by mean(1,2,5,6) = 3.5, fold 2 by
// mean(1,2,3,4) = 2.5.
TEST(CrossValPredictTest, PredictsEachRowFromTheOtherFolds) {
  Eigen::MatrixXd X(6, 1);
  X << 10, 20, 30, 40, 50, 60;
  const Eigen::VectorXd y = Eigen::VectorXd::LinSpaced(6, 1.0, 6.0);
  int calls = 0;
  const Eigen::VectorXd p = CrossValPredict(
      X, y, {{0, 1}, {2, 3}, {4, 5}},
      [&](const Eigen::MatrixXd& Xtr, const Eigen::VectorXd& ytr, const Eigen::MatrixXd& Xte) {
        ++calls;
        EXPECT_EQ(Xtr.rows(), 4);
        EXPECT_EQ(Xte.rows(), 2);
        EXPECT_EQ(Xtr.col(0), 10.0 * ytr);  // rows stay paired with their targets
        return Eigen::VectorXd::Constant(Xte.rows(), ytr.mean());
      });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(p, (Eigen::VectorXd(6) << 4.5, 4.5, 3.5, 3.5, 2.5, 2.5).finished());
}

// scikit-learn 1.2.1 with the folds KFoldIndices(8, 3, 7) = [[2, 3, 5], [0, 1, 6], [4, 7]]
// (from the Python kfold() above):
//   from sklearn.linear_model import Ridge; from sklearn.model_selection import cross_val_predict
//   X = np.array([[0.5, 1.0, -2.0], [1.5, -0.5, 0.0], [2.0, 2.5, 1.0], [-1.0, 0.0, 3.0],
//                 [3.0, 1.5, -1.0], [0.0, -2.0, 2.0], [2.5, 0.5, 0.5], [-0.5, 3.0, -1.5]])
//   y = np.array([1.2, 3.4, 5.1, -0.7, 7.9, -2.2, 6.0, 1.1])
//   folds = kfold(8, 3, 7)
//   cv = [(np.setdiff1d(np.arange(8), f), np.array(f)) for f in folds]
//   print(cross_val_predict(Ridge(alpha=1.0), X, y, cv=cv).tolist())
TEST(CrossValPredictTest, RidgeMatchesSklearnCrossValPredict) {
  Eigen::MatrixXd X(8, 3);
  X << 0.5, 1.0, -2.0, 1.5, -0.5, 0.0, 2.0, 2.5, 1.0, -1.0, 0.0, 3.0, 3.0, 1.5, -1.0, 0.0, -2.0,
      2.0, 2.5, 0.5, 0.5, -0.5, 3.0, -1.5;
  Eigen::VectorXd y(8);
  y << 1.2, 3.4, 5.1, -0.7, 7.9, -2.2, 6.0, 1.1;
  const Folds folds = KFoldIndices(8, 3, 7);
  ASSERT_EQ(folds, (Folds{{2, 3, 5}, {0, 1, 6}, {4, 7}}));
  const Eigen::VectorXd p = CrossValPredict(
      X, y, folds,
      [](const Eigen::MatrixXd& Xtr, const Eigen::VectorXd& ytr, const Eigen::MatrixXd& Xte) {
        Ridge m({1.0, true});
        m.Fit(Xtr, ytr);
        return m.Predict(Xte);
      });
  const double expected[] = {2.0178552673038572,  2.6143644875238206, 6.408490877842413,
                             0.15027763088313106, 6.524041690394308,  0.5985953199365418,
                             5.081834891292932,   1.4145024693634791};
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(p(i), expected[i], 1e-12) << i;
  }
}

TEST(CrossValPredictTest, RejectsBadFoldsAndBadPredictions) {
  const Eigen::MatrixXd X = Eigen::MatrixXd::Zero(4, 1);
  const Eigen::VectorXd y = Eigen::VectorXd::Zero(4);
  const FitPredictFn mean = [](const Eigen::MatrixXd&, const Eigen::VectorXd& ytr,
                               const Eigen::MatrixXd& Xte) {
    return Eigen::VectorXd::Constant(Xte.rows(), ytr.mean());
  };
  auto message = [&](const Eigen::MatrixXd& Xa, const Eigen::VectorXd& ya, const Folds& folds,
                     const FitPredictFn& fn) {
    return InvalidArgumentMessage([&] { CrossValPredict(Xa, ya, folds, fn); });
  };
  EXPECT_EQ(message(X, Eigen::VectorXd::Zero(3), {{0, 1}, {2, 3}}, mean),
            "CrossValPredict: X has 4 rows but y has 3");
  EXPECT_EQ(message(X, y, {{0, 1, 2, 3}}, mean), "CrossValPredict: need at least 2 folds, got 1");
  EXPECT_EQ(message(X, y, {{0, 1}, {}, {2, 3}}, mean), "CrossValPredict: fold 1 is empty");
  EXPECT_EQ(message(X, y, {{0, 1}, {2, 4}}, mean),
            "CrossValPredict: fold 1 holds row 4 but X has 4 rows");
  EXPECT_EQ(message(X, y, {{0, 1}, {1, 2, 3}}, mean),
            "CrossValPredict: row 1 is in fold 0 and in fold 1");
  EXPECT_EQ(message(X, y, {{0, 1}, {3}}, mean), "CrossValPredict: row 2 is in no fold");
  const FitPredictFn short_fn = [](const Eigen::MatrixXd&, const Eigen::VectorXd&,
                                   const Eigen::MatrixXd&) { return Eigen::VectorXd::Zero(1); };
  EXPECT_EQ(message(X, y, {{0, 1}, {2, 3}}, short_fn),
            "CrossValPredict: fit_predict returned 1 predictions for fold 0 of 2 rows");
  const FitPredictFn nan_fn = [](const Eigen::MatrixXd&, const Eigen::VectorXd&,
                                 const Eigen::MatrixXd& Xte) {
    return Eigen::VectorXd::Constant(Xte.rows(), std::numeric_limits<double>::quiet_NaN());
  };
  EXPECT_EQ(message(X, y, {{0, 1}, {2, 3}}, nan_fn),
            "CrossValPredict: fit_predict returned nan for row 0 (fold 0)");
}

TEST(GridSearchTest, PicksBestAndFirstOnTies) {
  const std::vector<nlohmann::json> grid = {{{"a", 1}}, {{"a", 2}}, {{"a", 3}}, {{"a", 4}}};
  // Scores 5, 2, 2, 9 for a = 1..4.
  auto score = [](const nlohmann::json& p) {
    const int a = p.at("a").get<int>();
    return a == 1 ? 5.0 : a == 4 ? 9.0 : 2.0;
  };
  const GridSearchResult low = GridSearch(grid, score, /*lower_is_better=*/true);
  ASSERT_EQ(low.points.size(), 4u);
  EXPECT_EQ(low.best_index, 1u);  // a = 2 and a = 3 tie; the first wins
  EXPECT_EQ(low.best.params, grid[1]);
  EXPECT_EQ(low.best.score, 2.0);
  EXPECT_EQ(low.points[3].score, 9.0);
  const GridSearchResult high = GridSearch(grid, score, /*lower_is_better=*/false);
  EXPECT_EQ(high.best_index, 3u);
  EXPECT_EQ(high.best.params.at("a"), 4);
}

TEST(GridSearchTest, NanScoresNeverWin) {
  const std::vector<nlohmann::json> grid = {{{"a", 1}}, {{"a", 2}}};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const GridSearchResult r = GridSearch(
      grid, [&](const nlohmann::json& p) { return p.at("a") == 1 ? nan : 3.0; }, true);
  EXPECT_EQ(r.best_index, 1u);
  EXPECT_TRUE(std::isnan(r.points[0].score));
  try {
    GridSearch(
        grid, [&](const nlohmann::json&) { return nan; }, true);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "GridSearch: every grid point scored NaN");
  }
  EXPECT_EQ(InvalidArgumentMessage([] {
              GridSearch(
                  {}, [](const nlohmann::json&) { return 0.0; }, true);
            }),
            "GridSearch: grid is empty");
}

// scikit-learn 1.2.1:
//   from sklearn.model_selection import ParameterGrid
//   list(ParameterGrid({"gamma": [0.1, 1.0], "alpha": [1, 2, 3], "kernel": ["rbf"]}))
//   -> [{'alpha': 1, 'gamma': 0.1, 'kernel': 'rbf'}, {'alpha': 1, 'gamma': 1.0, 'kernel': 'rbf'},
//       {'alpha': 2, 'gamma': 0.1, ...}, {'alpha': 2, 'gamma': 1.0, ...}, {'alpha': 3, ...0.1},
//       {'alpha': 3, 'gamma': 1.0, 'kernel': 'rbf'}]
TEST(ParameterGridTest, MatchesSklearnOrder) {
  const std::vector<nlohmann::json> grid =
      ParameterGrid({{"gamma", {0.1, 1.0}}, {"alpha", {1, 2, 3}}, {"kernel", {"rbf"}}});
  ASSERT_EQ(grid.size(), 6u);
  const double alphas[] = {1, 1, 2, 2, 3, 3};
  const double gammas[] = {0.1, 1.0, 0.1, 1.0, 0.1, 1.0};
  for (std::size_t k = 0; k < 6; ++k) {
    EXPECT_EQ(grid[k].at("alpha").get<double>(), alphas[k]) << k;
    EXPECT_EQ(grid[k].at("gamma").get<double>(), gammas[k]) << k;
    EXPECT_EQ(grid[k].at("kernel"), "rbf");
  }
  EXPECT_EQ(InvalidArgumentMessage([] {
              ParameterGrid({{"alpha", nlohmann::json::array()}});
            }),
            "ParameterGrid: \"alpha\" must be a non-empty array of values, got []");
  EXPECT_EQ(InvalidArgumentMessage([] {
              ParameterGrid(nlohmann::json::array({1, 2}));
            }),
            "ParameterGrid: spec must be a JSON object, got array");
}

}  // namespace
}  // namespace joulecast::regress
