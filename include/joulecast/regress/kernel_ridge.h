// KernelRidge: kernel ridge regression, as sklearn.kernel_ridge.KernelRidge (no intercept).
//
// Maths: with training rows x_1..x_n (X_fit, n × d), targets y and a kernel k,
//   K_ij = k(x_i, x_j),   a = (K + alpha·I)⁻¹ y            (the dual coefficients)
//   ŷ(x) = Σ_i k(x, x_i)·a_i,  i.e. Predict(X) = K(X, X_fit)·a
// Kernels:
//   "rbf"     k(x, z) = exp(-gamma·||x - z||²); gamma = 0 means 1/d (sklearn's default)
//   "linear"  k(x, z) = x·z (gamma is ignored)
// There is no intercept: centre or standardise y first when its mean is far from 0.
// K + alpha·I is factorised with a Cholesky (LLT) decomposition, falling back to LDLT (whose
// result is accepted whenever finite, like sklearn's lstsq fallback) when LLT meets a
// non-positive pivot, which happens only when alpha is below the round-off in K.
// Units: gamma in 1/(x unit)², alpha and K dimensionless for rbf, a and ŷ in y's unit.
// Cost: Fit O(n²·d + n³/3), Predict O(m·n·d) for m rows; X_fit is stored (n·d doubles).
//
// Errors: std::invalid_argument, message prefixed with the function name, e.g.
// "KernelRidge::Fit: X has 120 rows but y has 118":
//   Fit       alpha <= 0 or non-finite, gamma < 0 or non-finite, unknown kernel, X empty,
//             X rows != y size, non-finite X or y
//   Predict   not fitted, X column count differs from the fitted one, non-finite X
//   ToJson    not fitted
//   FromJson  wrong kind/format_version, missing or mistyped field, invalid option values,
//             ragged or empty X_fit, dual_coef size != X_fit rows
// std::runtime_error from Fit / FitPredictAlphaPath when K + alpha·I is numerically singular.
#pragma once

#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace joulecast::regress {

struct KernelRidgeOptions {
  double alpha = 1.0;          // ridge penalty added to the kernel diagonal, > 0
  std::string kernel = "rbf";  // "rbf" or "linear"
  double gamma = 0.0;          // rbf width in 1/(x unit)², >= 0; 0 means 1/n_features
};

// exp(-gamma·||X_i - Z_j||²) for every row pair, an X.rows() × Z.rows() matrix. Computed as
// ||X_i||² + ||Z_j||² - 2·X_i·Z_j with negatives (round-off) clamped to 0. No validation.
Eigen::MatrixXd RbfKernel(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Z, double gamma);
// X·Zᵀ. No validation.
Eigen::MatrixXd LinearKernel(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Z);

class KernelRidge {
 public:
  static constexpr const char* kKind = "kernel_ridge";
  static constexpr int kFormatVersion = 1;

  explicit KernelRidge(KernelRidgeOptions options = {}) : options_(std::move(options)) {}

  void Fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y);
  // K(X, X_fit)·dual_coef(), one value per row of X.
  Eigen::VectorXd Predict(const Eigen::MatrixXd& X) const;

  // Grid search over alpha at fixed kernel and gamma: returns, for each alphas[k], what
  // KernelRidge({alphas[k], base.kernel, base.gamma}) fitted on (X_train, y_train) predicts for
  // X_test (equal to separate fits up to round-off, of order 1e-16·cond(K + alpha·I)); base.alpha
  // is ignored. The kernels K(X_train, X_train) and K(X_test, X_train) are built once, and all
  // predictions come from one product K(X_test, X_train)·[a(alpha_1) … a(alpha_k)].
  // From 5 alphas on, K is decomposed once, K = Q·T·Qᵀ (Householder tridiagonalisation, the
  // first stage of the symmetric eigendecomposition K = V·diag(λ)·Vᵀ, same eigenvalues), and
  //   a(alpha) = Q · (T + alpha·I)⁻¹ · Qᵀy
  // costs an O(n) tridiagonal solve plus O(n²) to apply Q per alpha, after one (4/3)·n³
  // decomposition (3 to 6 Choleskys' worth for n = 250..2000). For fewer alphas one Cholesky per
  // alpha is cheaper and is used instead; so is Fit's LLT/LDLT solve for any alpha whose
  // T + alpha·I is not numerically positive definite (alpha below the round-off in K).
  // Timings: bench/regress/kernel_ridge_bench.cpp.
  // Throws std::invalid_argument (prefix "KernelRidge::FitPredictAlphaPath") as Fit does, plus
  // for an empty alphas list, a non-positive alpha ("alphas[1] must be a finite number > 0, got
  // 0"), X_test with the wrong column count ("X_test has 2 columns but X_train has 3") or
  // non-finite values; std::runtime_error as Fit does.
  static std::vector<Eigen::VectorXd> FitPredictAlphaPath(const Eigen::MatrixXd& X_train,
                                                          const Eigen::VectorXd& y_train,
                                                          const Eigen::MatrixXd& X_test,
                                                          const std::vector<double>& alphas,
                                                          const KernelRidgeOptions& base);

  bool fitted() const { return dual_coef_.size() > 0; }
  Eigen::Index n_features() const { return X_fit_.cols(); }
  const KernelRidgeOptions& options() const { return options_; }
  // The gamma actually used: options().gamma, or 1/n_features() when that is 0. Requires a fit.
  double effective_gamma() const;
  const Eigen::MatrixXd& X_fit() const { return X_fit_; }
  const Eigen::VectorXd& dual_coef() const { return dual_coef_; }

  // {"kind": "kernel_ridge", "format_version": 1, "alpha", "kernel", "gamma" (the option, 0 kept
  //  as 0), "X_fit": [[...], ...] (one array per row), "dual_coef": [...]}; doubles round-trip
  // exactly, so a round-tripped model predicts bit-identical values.
  nlohmann::json ToJson() const;
  static KernelRidge FromJson(const nlohmann::json& j);

 private:
  KernelRidgeOptions options_;
  Eigen::MatrixXd X_fit_;
  Eigen::VectorXd dual_coef_;
};

}  // namespace joulecast::regress
