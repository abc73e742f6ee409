#include "joulecast/regress/kernel_ridge.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "internal.h"

namespace joulecast::regress {

using internal::Fail;

namespace {

// Prediction and path kernels are built in row blocks so that predicting many rows never holds
// an m × n kernel matrix (m = 1e5 test rows against 2000 training rows would be 1.6 GB).
constexpr Eigen::Index kRowBlock = 1024;

void CheckOptions(const char* where, const KernelRidgeOptions& o) {
  if (!std::isfinite(o.alpha) || o.alpha <= 0.0) {
    Fail(where, fmt::format("alpha must be a finite number > 0, got {}", o.alpha));
  }
  if (o.kernel != "rbf" && o.kernel != "linear") {
    Fail(where, fmt::format("kernel must be \"rbf\" or \"linear\", got \"{}\"", o.kernel));
  }
  if (!std::isfinite(o.gamma) || o.gamma < 0.0) {
    Fail(where, fmt::format("gamma must be a finite number >= 0, got {}", o.gamma));
  }
}

double EffectiveGamma(const KernelRidgeOptions& o, Eigen::Index n_features) {
  return o.gamma > 0.0 ? o.gamma : 1.0 / static_cast<double>(n_features);
}

Eigen::MatrixXd CrossKernel(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Z,
                            const std::string& kernel, double gamma) {
  return kernel == "rbf" ? RbfKernel(X, Z, gamma) : LinearKernel(X, Z);
}

// K(X, X). Only the lower triangle is filled: LLT, LDLT and Tridiagonalization read nothing
// else, and it halves the exp() calls that dominate the cost for small d.
Eigen::MatrixXd TrainingKernel(const Eigen::MatrixXd& X, const std::string& kernel, double gamma) {
  const Eigen::Index n = X.rows();
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n, n);
  K.selfadjointView<Eigen::Lower>().rankUpdate(X);
  if (kernel == "linear") {
    return K;
  }
  const Eigen::VectorXd sq = K.diagonal();
  for (Eigen::Index j = 0; j < n; ++j) {
    const Eigen::Index len = n - j;
    auto col = K.col(j).tail(len).array();
    col = (-gamma * (sq.tail(len).array() + sq(j) - 2.0 * col).max(0.0)).exp();
    // As sklearn's euclidean_distances: a point's distance to itself is exactly 0, not the
    // round-off left by the norm expansion.
    K(j, j) = 1.0;
  }
  return K;
}

// Solves (K + alpha·I) a = y; K holds the kernel in its lower triangle and is overwritten.
Eigen::VectorXd SolveDual(const char* where, Eigen::MatrixXd& K, double alpha,
                          const Eigen::VectorXd& y) {
  K.diagonal().array() += alpha;
  {
    Eigen::LLT<Eigen::MatrixXd> llt(K);
    if (llt.info() == Eigen::Success) {
      Eigen::VectorXd a = llt.solve(y);
      if (a.allFinite()) {
        return a;
      }
    }
  }
  // K + alpha·I is positive definite in exact arithmetic, but when alpha is below the round-off
  // in K the Cholesky meets a non-positive pivot. LDLT's pivoting copes with that, and it skips
  // exactly-zero pivots like a pseudo-inverse would (sklearn falls back to lstsq there), so its
  // result is accepted whenever it is finite, whatever info() says.
  Eigen::LDLT<Eigen::MatrixXd> ldlt(K);
  Eigen::VectorXd a = ldlt.solve(y);
  if (!a.allFinite()) {
    throw std::runtime_error(fmt::format(
        "{}: K + alpha*I is numerically singular (alpha = {}); increase alpha", where, alpha));
  }
  return a;
}

// From this many alphas on, FitPredictAlphaPath decomposes K once (tridiagonalisation, about 3
// to 6 Choleskys' worth of work for n = 250..2000) instead of running one Cholesky per alpha.
constexpr std::size_t kTridiagonalMinAlphas = 5;

// Dual coefficients for every alpha from one decomposition of K (lower triangle filled):
// K = Q·T·Qᵀ with T tridiagonal, so (K + alpha·I)⁻¹y = Q·(T + alpha·I)⁻¹·Qᵀy and each alpha costs
// an O(n) tridiagonal solve. The Householder tridiagonalisation is the first stage of a symmetric
// eigendecomposition; stopping there skips the eigenvector accumulation, which costs ~4x more (a
// full SelfAdjointEigenSolver is ~20 Choleskys at n = 1000, slower than separate fits for any
// realistic alpha grid). Writes column k of A and sets entry k of the result for each alpha whose
// T + alpha·I is numerically positive definite; the caller solves the others directly.
std::vector<bool> TridiagonalDualPath(const Eigen::MatrixXd& K, const Eigen::VectorXd& y,
                                      const std::vector<double>& alphas, Eigen::MatrixXd& A) {
  const Eigen::Tridiagonalization<Eigen::MatrixXd> tri(K);
  const Eigen::VectorXd diag = tri.diagonal();
  const Eigen::VectorXd sub = tri.subDiagonal();
  const Eigen::VectorXd qty = tri.matrixQ().adjoint() * y;
  const Eigen::Index n = K.rows();
  const auto n_alphas = static_cast<Eigen::Index>(alphas.size());
  std::vector<bool> ok(alphas.size(), true);
  Eigen::MatrixXd W = Eigen::MatrixXd::Zero(n, n_alphas);  // (T + alpha·I)⁻¹·Qᵀy
  Eigen::VectorXd pivot(n);
  Eigen::VectorXd ratio(n);
  for (Eigen::Index k = 0; k < n_alphas; ++k) {
    const double alpha = alphas[static_cast<std::size_t>(k)];
    auto w = W.col(k);
    // LDLᵀ of the symmetric tridiagonal T + alpha·I without pivoting, stable because it is
    // positive definite. By Sylvester's law of inertia a non-positive pivot means it is not
    // (alpha below the round-off eigenvalues of K): leave that alpha to the caller's LDLT.
    for (Eigen::Index i = 0; i < n && ok[static_cast<std::size_t>(k)]; ++i) {
      double d = diag(i) + alpha;
      double u = qty(i);
      if (i > 0) {
        ratio(i) = sub(i - 1) / pivot(i - 1);
        d -= ratio(i) * sub(i - 1);
        u -= ratio(i) * w(i - 1);
      }
      pivot(i) = d;
      w(i) = u;
      if (!(d > 0.0)) {
        ok[static_cast<std::size_t>(k)] = false;
      }
    }
    if (!ok[static_cast<std::size_t>(k)]) {
      w.setZero();
      continue;
    }
    w(n - 1) /= pivot(n - 1);
    for (Eigen::Index i = n - 2; i >= 0; --i) {
      w(i) = w(i) / pivot(i) - ratio(i + 1) * w(i + 1);
    }
  }
  A = tri.matrixQ() * W;
  return ok;
}

}  // namespace

Eigen::MatrixXd RbfKernel(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Z, double gamma) {
  Eigen::MatrixXd K(X.rows(), Z.rows());
  K.noalias() = X * Z.transpose();
  const Eigen::VectorXd xn = X.rowwise().squaredNorm();
  const Eigen::VectorXd zn = Z.rowwise().squaredNorm();
  for (Eigen::Index j = 0; j < K.cols(); ++j) {
    auto col = K.col(j).array();
    // ||x||² + ||z||² - 2x·z can come out slightly negative for near-identical rows.
    col = (-gamma * (xn.array() + zn(j) - 2.0 * col).max(0.0)).exp();
  }
  return K;
}

Eigen::MatrixXd LinearKernel(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Z) {
  Eigen::MatrixXd K(X.rows(), Z.rows());
  K.noalias() = X * Z.transpose();
  return K;
}

void KernelRidge::Fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
  constexpr const char* kWhere = "KernelRidge::Fit";
  CheckOptions(kWhere, options_);
  internal::CheckXy(kWhere, X, y);
  Eigen::MatrixXd K = TrainingKernel(X, options_.kernel, EffectiveGamma(options_, X.cols()));
  Eigen::VectorXd a = SolveDual(kWhere, K, options_.alpha, y);
  X_fit_ = X;
  dual_coef_ = std::move(a);
}

Eigen::VectorXd KernelRidge::Predict(const Eigen::MatrixXd& X) const {
  internal::CheckPredictX("KernelRidge::Predict", fitted(), n_features(), X);
  const double gamma = EffectiveGamma(options_, n_features());
  Eigen::VectorXd out(X.rows());
  for (Eigen::Index r = 0; r < X.rows(); r += kRowBlock) {
    const Eigen::Index len = std::min(kRowBlock, X.rows() - r);
    out.segment(r, len).noalias() =
        CrossKernel(X.middleRows(r, len), X_fit_, options_.kernel, gamma) * dual_coef_;
  }
  return out;
}

std::vector<Eigen::VectorXd> KernelRidge::FitPredictAlphaPath(const Eigen::MatrixXd& X_train,
                                                              const Eigen::VectorXd& y_train,
                                                              const Eigen::MatrixXd& X_test,
                                                              const std::vector<double>& alphas,
                                                              const KernelRidgeOptions& base) {
  constexpr const char* kWhere = "KernelRidge::FitPredictAlphaPath";
  if (alphas.empty()) {
    Fail(kWhere, "alphas is empty");
  }
  for (std::size_t k = 0; k < alphas.size(); ++k) {
    if (!std::isfinite(alphas[k]) || alphas[k] <= 0.0) {
      Fail(kWhere, fmt::format("alphas[{}] must be a finite number > 0, got {}", k, alphas[k]));
    }
  }
  KernelRidgeOptions options = base;
  options.alpha = alphas[0];  // base.alpha is ignored; validate the rest of the options
  CheckOptions(kWhere, options);
  internal::CheckXy(kWhere, X_train, y_train, "X_train", "y_train");
  if (X_test.cols() != X_train.cols()) {
    Fail(kWhere,
         fmt::format("X_test has {} columns but X_train has {}", X_test.cols(), X_train.cols()));
  }
  internal::CheckMatrix(kWhere, "X_test", X_test);

  const double gamma = EffectiveGamma(options, X_train.cols());
  const Eigen::MatrixXd K = TrainingKernel(X_train, options.kernel, gamma);
  const auto n_alphas = static_cast<Eigen::Index>(alphas.size());
  Eigen::MatrixXd A(X_train.rows(), n_alphas);  // dual coefficients, one column per alpha
  std::vector<bool> solved(alphas.size(), false);
  if (alphas.size() >= kTridiagonalMinAlphas) {
    solved = TridiagonalDualPath(K, y_train, alphas, A);
  }
  for (std::size_t k = 0; k < alphas.size(); ++k) {
    if (solved[k]) {
      continue;
    }
    Eigen::MatrixXd K_alpha = K;
    A.col(static_cast<Eigen::Index>(k)) = SolveDual(kWhere, K_alpha, alphas[k], y_train);
  }

  Eigen::MatrixXd pred(X_test.rows(), n_alphas);
  for (Eigen::Index r = 0; r < X_test.rows(); r += kRowBlock) {
    const Eigen::Index len = std::min(kRowBlock, X_test.rows() - r);
    pred.middleRows(r, len).noalias() =
        CrossKernel(X_test.middleRows(r, len), X_train, options.kernel, gamma) * A;
  }
  std::vector<Eigen::VectorXd> out;
  out.reserve(alphas.size());
  for (Eigen::Index k = 0; k < n_alphas; ++k) {
    out.emplace_back(pred.col(k));
  }
  return out;
}

double KernelRidge::effective_gamma() const {
  if (!fitted()) {
    Fail("KernelRidge::effective_gamma", "model is not fitted");
  }
  return EffectiveGamma(options_, n_features());
}

nlohmann::json KernelRidge::ToJson() const {
  if (!fitted()) {
    Fail("KernelRidge::ToJson", "model is not fitted");
  }
  return {{"kind", kKind},
          {"format_version", kFormatVersion},
          {"alpha", options_.alpha},
          {"kernel", options_.kernel},
          {"gamma", options_.gamma},
          {"X_fit", internal::MatrixToJson(X_fit_)},
          {"dual_coef", internal::VectorToJson(dual_coef_)}};
}

KernelRidge KernelRidge::FromJson(const nlohmann::json& j) {
  constexpr const char* kWhere = "KernelRidge::FromJson";
  internal::CheckHeader(kWhere, j, kKind, kFormatVersion);
  KernelRidgeOptions options;
  options.alpha = internal::GetDouble(kWhere, j, "alpha");
  options.kernel = internal::GetString(kWhere, j, "kernel");
  options.gamma = internal::GetDouble(kWhere, j, "gamma");
  CheckOptions(kWhere, options);
  Eigen::MatrixXd X_fit = internal::GetMatrix(kWhere, j, "X_fit");
  Eigen::VectorXd dual_coef = internal::GetVector(kWhere, j, "dual_coef");
  if (dual_coef.size() != X_fit.rows()) {
    Fail(kWhere, fmt::format("dual_coef has {} entries but X_fit has {} rows", dual_coef.size(),
                             X_fit.rows()));
  }
  KernelRidge m(std::move(options));
  m.X_fit_ = std::move(X_fit);
  m.dual_coef_ = std::move(dual_coef);
  return m;
}

}  // namespace joulecast::regress
