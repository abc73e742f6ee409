#include "joulecast/regress/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "internal.h"

namespace joulecast::regress {

using internal::Fail;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void CheckPair(const char* where, const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  if (y_true.size() != y_pred.size()) {
    Fail(where,
         fmt::format("y_true has {} entries but y_pred has {}", y_true.size(), y_pred.size()));
  }
  internal::CheckVector(where, "y_true", y_true);
  internal::CheckVector(where, "y_pred", y_pred);
}

bool IsConstant(const Eigen::VectorXd& v) { return v.minCoeff() == v.maxCoeff(); }

// Exact constancy test rather than Σ(y - ȳ)² == 0: the mean of equal values can differ from
// them by round-off and leave a tiny positive denominator that would make R² meaningless.
double R2Unchecked(const char* where, const char* name, const Eigen::VectorXd& y_true,
                   const Eigen::VectorXd& y_pred) {
  if (IsConstant(y_true)) {
    Fail(where,
         fmt::format("{} is constant (every entry is {}), R2 is undefined", name, y_true(0)));
  }
  const double ss_res = (y_true - y_pred).squaredNorm();
  const double ss_tot = (y_true.array() - y_true.mean()).square().sum();
  return 1.0 - ss_res / ss_tot;
}

// Index of the first entry <= 0, or -1.
Eigen::Index FirstNonPositive(const Eigen::VectorXd& v) {
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    if (!(v(i) > 0.0)) {
      return i;
    }
  }
  return -1;
}

double MapeUnchecked(const char* where, const Eigen::VectorXd& y_true,
                     const Eigen::VectorXd& y_pred) {
  for (Eigen::Index i = 0; i < y_true.size(); ++i) {
    if (y_true(i) == 0.0) {
      Fail(where, fmt::format("y_true[{}] is 0, the relative error is undefined", i));
    }
  }
  return 100.0 * ((y_true - y_pred).array().abs() / y_true.array().abs()).mean();
}

// 1-based ranks, tied values sharing the mean of the ranks they span (scipy's "average").
Eigen::VectorXd AverageRanks(const Eigen::VectorXd& v) {
  const auto n = static_cast<std::size_t>(v.size());
  std::vector<Eigen::Index> order(n);
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::sort(order.begin(), order.end(),
            [&v](Eigen::Index a, Eigen::Index b) { return v(a) < v(b); });
  Eigen::VectorXd ranks(v.size());
  std::size_t i = 0;
  while (i < n) {
    std::size_t j = i + 1;
    while (j < n && v(order[j]) == v(order[i])) {
      ++j;
    }
    // Positions i..j-1 (0-based) hold ranks i+1..j; their mean is (i + 1 + j) / 2.
    const double rank = 0.5 * static_cast<double>(i + 1 + j);
    for (std::size_t k = i; k < j; ++k) {
      ranks(order[k]) = rank;
    }
    i = j;
  }
  return ranks;
}

double SpearmanUnchecked(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  // Undefined (0/0) for a constant input; scipy returns NaN there too.
  if (IsConstant(y_true) || IsConstant(y_pred)) {
    return kNaN;
  }
  const Eigen::ArrayXd a =
      AverageRanks(y_true).array() - 0.5 * static_cast<double>(y_true.size() + 1);
  const Eigen::ArrayXd b =
      AverageRanks(y_pred).array() - 0.5 * static_cast<double>(y_pred.size() + 1);
  return (a * b).sum() / std::sqrt(a.square().sum() * b.square().sum());
}

}  // namespace

double R2(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  CheckPair("R2", y_true, y_pred);
  return R2Unchecked("R2", "y_true", y_true, y_pred);
}

double LogR2(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  constexpr const char* kWhere = "LogR2";
  CheckPair(kWhere, y_true, y_pred);
  for (const auto& [name, v] :
       {std::pair<const char*, const Eigen::VectorXd*>{"y_true", &y_true}, {"y_pred", &y_pred}}) {
    const Eigen::Index i = FirstNonPositive(*v);
    if (i >= 0) {
      Fail(kWhere, fmt::format("{}[{}] = {} is not positive", name, i, (*v)(i)));
    }
  }
  return R2Unchecked(kWhere, "log(y_true)", y_true.array().log().matrix(),
                     y_pred.array().log().matrix());
}

double MAPE(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  CheckPair("MAPE", y_true, y_pred);
  return MapeUnchecked("MAPE", y_true, y_pred);
}

double RMSE(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  CheckPair("RMSE", y_true, y_pred);
  return std::sqrt((y_true - y_pred).squaredNorm() / static_cast<double>(y_true.size()));
}

double MAE(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  CheckPair("MAE", y_true, y_pred);
  return (y_true - y_pred).array().abs().mean();
}

double Spearman(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  CheckPair("Spearman", y_true, y_pred);
  return SpearmanUnchecked(y_true, y_pred);
}

Metrics ComputeMetrics(const Eigen::VectorXd& y_true, const Eigen::VectorXd& y_pred) {
  constexpr const char* kWhere = "ComputeMetrics";
  CheckPair(kWhere, y_true, y_pred);
  Metrics m;
  m.n = static_cast<std::size_t>(y_true.size());
  m.r2 = R2Unchecked(kWhere, "y_true", y_true, y_pred);
  m.log_r2 = kNaN;
  if (FirstNonPositive(y_true) < 0 && FirstNonPositive(y_pred) < 0) {
    const Eigen::VectorXd log_true = y_true.array().log();
    // Distinct huge values can share a logarithm after rounding; R² is then undefined.
    if (!IsConstant(log_true)) {
      m.log_r2 = R2Unchecked(kWhere, "log(y_true)", log_true, y_pred.array().log().matrix());
    }
  }
  m.mape = MapeUnchecked(kWhere, y_true, y_pred);
  m.rmse = std::sqrt((y_true - y_pred).squaredNorm() / static_cast<double>(m.n));
  m.mae = (y_true - y_pred).array().abs().mean();
  m.spearman = SpearmanUnchecked(y_true, y_pred);
  return m;
}

nlohmann::json Metrics::ToJson() const {
  // nlohmann would also write NaN as null; being explicit documents the contract.
  auto num = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  return {{"r2", num(r2)},
          {"log_r2", num(log_r2)},
          {"mape", num(mape)},
          {"rmse", num(rmse)},
          {"mae", num(mae)},
          {"spearman", num(spearman)},
          {"n", n}};
}

}  // namespace joulecast::regress
