// KernelRidge cost: Fit (kernel + Cholesky, O(n²·d + n³/3)) at n = 250..2000, Predict of 1000
// rows (O(1000·n·d)), and alpha grids of 6 and 3 values at n = 1000 by FitPredictAlphaPath versus
// separate Fit + Predict calls. 8 features, fixed-seed random data, RBF with gamma = 1/8.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "joulecast/regress/kernel_ridge.h"

namespace {

using joulecast::regress::KernelRidge;
using joulecast::regress::KernelRidgeOptions;

constexpr Eigen::Index kFeatures = 8;
constexpr Eigen::Index kTestRows = 1000;

// Uniform in [-1, 1) from raw engine output, so the data are the same on every platform.
Eigen::MatrixXd RandomMatrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Eigen::MatrixXd X(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) {
      X(i, j) = static_cast<double>(rng() >> 11) * 0x1.0p-52 - 1.0;
    }
  }
  return X;
}

Eigen::VectorXd Target(const Eigen::MatrixXd& X) {
  return (2.0 * X.col(0).array()).sin() + X.col(1).array().square() + 0.5 * X.col(2).array();
}

// Alpha grids: 6 values (the tridiagonal route) and the 3 of predict/profile_fit.h's default
// kernel_alphas (the Cholesky-per-alpha route).
const std::vector<double> kAlphas6 = {1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0};
const std::vector<double> kAlphas3 = {0.01, 0.1, 1.0};

const std::vector<double>& Alphas(const benchmark::State& state) {
  return state.range(1) == 6 ? kAlphas6 : kAlphas3;
}

void BM_KernelRidgeFit(benchmark::State& state) {
  const Eigen::MatrixXd X = RandomMatrix(state.range(0), kFeatures, 1);
  const Eigen::VectorXd y = Target(X);
  for (auto _ : state) {
    KernelRidge m({0.1, "rbf", 0.0});
    m.Fit(X, y);
    benchmark::DoNotOptimize(m.dual_coef().data());
  }
}
BENCHMARK(BM_KernelRidgeFit)
    ->Arg(250)
    ->Arg(500)
    ->Arg(1000)
    ->Arg(2000)
    ->Unit(benchmark::kMillisecond);

void BM_KernelRidgePredict1000Rows(benchmark::State& state) {
  const Eigen::MatrixXd X = RandomMatrix(state.range(0), kFeatures, 1);
  KernelRidge m({0.1, "rbf", 0.0});
  m.Fit(X, Target(X));
  const Eigen::MatrixXd Xt = RandomMatrix(kTestRows, kFeatures, 2);
  for (auto _ : state) {
    Eigen::VectorXd p = m.Predict(Xt);
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(state.iterations() * kTestRows);
}
BENCHMARK(BM_KernelRidgePredict1000Rows)
    ->Arg(250)
    ->Arg(500)
    ->Arg(1000)
    ->Arg(2000)
    ->Unit(benchmark::kMillisecond);

// Args: n, number of alphas. Predicts 1000 test rows per alpha.
void BM_KernelRidgeAlphaPath(benchmark::State& state) {
  const Eigen::MatrixXd X = RandomMatrix(state.range(0), kFeatures, 1);
  const Eigen::VectorXd y = Target(X);
  const Eigen::MatrixXd Xt = RandomMatrix(kTestRows, kFeatures, 2);
  for (auto _ : state) {
    auto preds = KernelRidge::FitPredictAlphaPath(X, y, Xt, Alphas(state), {1.0, "rbf", 0.0});
    benchmark::DoNotOptimize(preds.data());
  }
}
BENCHMARK(BM_KernelRidgeAlphaPath)->Args({1000, 6})->Args({1000, 3})->Unit(benchmark::kMillisecond);

// The same predictions by separate Fit + Predict calls, for comparison with the path.
void BM_KernelRidgeSeparateFits(benchmark::State& state) {
  const Eigen::MatrixXd X = RandomMatrix(state.range(0), kFeatures, 1);
  const Eigen::VectorXd y = Target(X);
  const Eigen::MatrixXd Xt = RandomMatrix(kTestRows, kFeatures, 2);
  for (auto _ : state) {
    for (double alpha : Alphas(state)) {
      KernelRidge m({alpha, "rbf", 0.0});
      m.Fit(X, y);
      Eigen::VectorXd p = m.Predict(Xt);
      benchmark::DoNotOptimize(p.data());
    }
  }
}
BENCHMARK(BM_KernelRidgeSeparateFits)
    ->Args({1000, 6})
    ->Args({1000, 3})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
