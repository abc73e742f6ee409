#include "joulecast/predict/transfer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

namespace joulecast {
namespace {

// Row r of X as a vector: a matrix without columns has no storage to take a row of.
Eigen::RowVectorXd RowOf(const Eigen::MatrixXd& X, Eigen::Index r) {
  return X.cols() > 0 ? Eigen::RowVectorXd(X.row(r)) : Eigen::RowVectorXd();
}

struct TransferCandidate {
  std::string kind;
  double alpha = 0;
  std::string Label() const {
    return kind == "features" ? fmt::format("features@{}", alpha) : kind;
  }
};

// The k > 0 that minimises Σ |k·p_i / y_i - 1| = Σ r_i·|k - 1/r_i| for the ratios r_i = p_i / y_i:
// the median of 1/r_i weighted by r_i.
double FactorOfRatios(const std::vector<double>& ratios) {
  std::vector<std::pair<double, double>> v;  // (1/r, r)
  double total = 0;
  for (double r : ratios) {
    v.emplace_back(1 / r, r);
    total += r;
  }
  std::sort(v.begin(), v.end());
  double acc = 0;
  for (const auto& [k, w] : v) {
    acc += w;
    if (acc >= total / 2) return k;
  }
  return v.back().first;
}

// The same on log values u (predicted) and t (measured) of the rows `rows`.
double MapeOptimalFactor(const Eigen::VectorXd& u, const Eigen::VectorXd& t,
                         const std::vector<Eigen::Index>& rows) {
  std::vector<double> ratios;
  for (Eigen::Index r : rows) ratios.push_back(std::exp(u[r] - t[r]));
  return FactorOfRatios(ratios);
}

// Least squares on the rows `rows` of [1, u, z] with penalty alpha on the z weights.
Transfer FitOne(const TransferCandidate& c, const Eigen::VectorXd& u, const Eigen::MatrixXd& X,
                const Eigen::VectorXd& t, const std::vector<Eigen::Index>& rows) {
  Transfer tr;
  tr.kind = c.kind;
  const auto n = static_cast<Eigen::Index>(rows.size());
  double mean_u = 0;
  for (Eigen::Index r : rows) mean_u += u[r];
  mean_u /= static_cast<double>(n);
  if (c.kind == "identity") return tr;
  if (c.kind == "ratio") {
    tr.c0 = std::log(MapeOptimalFactor(u, t, rows));
    return tr;
  }
  double var_u = 0;
  for (Eigen::Index r : rows) var_u += (u[r] - mean_u) * (u[r] - mean_u);
  // The base sees every record alike: no slope can be told apart from the offset.
  if (var_u <= 1e-12 * static_cast<double>(n)) {
    tr.kind = "ratio";
    tr.c0 = std::log(MapeOptimalFactor(u, t, rows));
    return tr;
  }
  const Eigen::Index d = c.kind == "features" ? X.cols() : 0;
  if (d > 0) {
    tr.alpha = c.alpha;
    tr.mean = Eigen::VectorXd::Zero(d);
    tr.scale = Eigen::VectorXd::Ones(d);
    for (Eigen::Index r : rows) tr.mean += X.row(r).transpose();
    tr.mean /= static_cast<double>(n);
    Eigen::VectorXd var = Eigen::VectorXd::Zero(d);
    for (Eigen::Index r : rows) var += (X.row(r).transpose() - tr.mean).cwiseAbs2();
    for (Eigen::Index j = 0; j < d; ++j) {
      const double s = std::sqrt(var[j] / static_cast<double>(n));
      tr.scale[j] = s > 1e-12 ? s : 1.0;  // a constant column: its weight stays at 0
    }
  }
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n + d, 2 + d);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n + d);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index r = rows[static_cast<std::size_t>(i)];
    A(i, 0) = 1;
    A(i, 1) = u[r];
    for (Eigen::Index j = 0; j < d; ++j) A(i, 2 + j) = (X(r, j) - tr.mean[j]) / tr.scale[j];
    b[i] = t[r];
  }
  for (Eigen::Index j = 0; j < d; ++j) A(n + j, 2 + j) = std::sqrt(c.alpha);
  // Least absolute deviations in logs, the median counterpart of the MAPE that chooses among
  // the kinds: the rows reweighted by 1 / |residual| (iteratively reweighted least squares),
  // so that a heavy tail of configurations this machine runs far slower does not shift the fit
  // of the rest.
  Eigen::VectorXd beta = A.colPivHouseholderQr().solve(b);
  for (int iter = 0; iter < 20; ++iter) {
    Eigen::MatrixXd Aw = A;
    Eigen::VectorXd bw = b;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double r = std::abs(A.row(i).dot(beta) - b[i]);
      const double s = 1 / std::sqrt(std::max(r, 1e-3));
      Aw.row(i) *= s;
      bw[i] *= s;
    }
    beta = Aw.colPivHouseholderQr().solve(bw);
  }
  tr.c0 = beta[0];
  tr.c1 = beta[1];
  if (d > 0) tr.w = beta.tail(d);
  // The residuals' centre for MAPE: the factor that minimises it, as for "ratio" (a log-space
  // fit is symmetric in logs, MAPE is not).
  Eigen::VectorXd fitted(t.size());
  for (Eigen::Index r : rows) fitted[r] = tr.Apply(u[r], RowOf(X, r));
  tr.c0 += std::log(MapeOptimalFactor(fitted, t, rows));
  return tr;
}

double Mape(const Transfer& tr, const Eigen::VectorXd& u, const Eigen::MatrixXd& X,
            const Eigen::VectorXd& t, const std::vector<Eigen::Index>& rows) {
  double sum = 0;
  for (Eigen::Index r : rows) sum += std::abs(std::exp(tr.Apply(u[r], RowOf(X, r)) - t[r]) - 1);
  return 100.0 * sum / static_cast<double>(rows.size());
}

}  // namespace

double MapeOptimalFactor(const Eigen::VectorXd& predicted, const Eigen::VectorXd& measured) {
  std::vector<double> ratios;
  for (Eigen::Index i = 0; i < predicted.size(); ++i) ratios.push_back(predicted[i] / measured[i]);
  return FactorOfRatios(ratios);
}

std::array<double, kTransferExtras> TransferExtras(double input_elements, double output_elements) {
  std::array<double, kTransferExtras> e{};
  const double o = std::log(4 * std::max(1.0, output_elements));
  const double i = std::log(4 * std::max(1.0, input_elements));
  const int ks[] = {20, 23, 25, 27};
  for (int j = 0; j < 4; ++j) {
    const double edge = ks[j] * std::log(2.0);
    e[static_cast<std::size_t>(j)] = std::max(0.0, o - edge);
    e[static_cast<std::size_t>(4 + j)] = std::max(0.0, i - edge);
  }
  return e;
}

Transfer ComposeTransfers(const Transfer& inner, const Transfer& outer) {
  const bool fin = inner.kind == "features", fout = outer.kind == "features";
  if (fin && fout && inner.w.size() != outer.w.size()) {
    throw std::invalid_argument(
        fmt::format("ComposeTransfers: the inner transfer has {} features, the outer {}",
                    inner.w.size(), outer.w.size()));
  }
  Transfer t;
  t.kind = fin || fout ? "features" : "linear";
  t.c1 = outer.c1 * inner.c1;
  t.c0 = outer.c0 + outer.c1 * inner.c0;
  t.alpha = fout ? outer.alpha : inner.alpha;
  if (fout) {
    t.mean = outer.mean;
    t.scale = outer.scale;
    t.w = outer.w;
    if (fin) {
      // inner's c1'·w_j·(x_j - m_j)/s_j on the outer's (x_j - m'_j)/s'_j.
      for (Eigen::Index j = 0; j < t.w.size(); ++j) {
        const double a = outer.c1 * inner.w[j] / inner.scale[j];
        t.w[j] += a * outer.scale[j];
        t.c0 += a * (outer.mean[j] - inner.mean[j]);
      }
    }
  } else if (fin) {
    t.mean = inner.mean;
    t.scale = inner.scale;
    t.w = outer.c1 * inner.w;
  }
  t.cv = outer.cv;
  t.cv["inner"] = inner.cv;
  return t;
}

double Transfer::Apply(double u, const Eigen::Ref<const Eigen::RowVectorXd>& x) const {
  double v = c0 + c1 * u;
  if (kind == "features") {
    if (x.size() != w.size()) {
      throw std::invalid_argument(fmt::format(
          "Transfer::Apply: the transfer was fitted on {} features, got {}", w.size(), x.size()));
    }
    for (Eigen::Index j = 0; j < w.size(); ++j) v += w[j] * (x[j] - mean[j]) / scale[j];
  }
  return v;
}

nlohmann::json Transfer::ToJson() const {
  nlohmann::json j = {{"format_version", kFormatVersion},
                      {"kind", kind},
                      {"formula", "ln(y/n) = c0 + c1*ln(p_base/n) + w.((x-mean)/scale)"},
                      {"c0", c0},
                      {"c1", c1},
                      {"cv", cv}};
  if (kind == "features") {
    j["alpha"] = alpha;
    j["w"] = std::vector<double>(w.data(), w.data() + w.size());
    j["mean"] = std::vector<double>(mean.data(), mean.data() + mean.size());
    j["scale"] = std::vector<double>(scale.data(), scale.data() + scale.size());
  }
  return j;
}

double WeightedMapeOfLogRatios(const Eigen::VectorXd& r, const Eigen::VectorXd* weights) {
  const Eigen::ArrayXd e = (r.array().exp() - 1).abs();
  if (!weights || weights->size() == 0) return 100.0 * e.mean();
  return 100.0 * (weights->array() * e).sum() / weights->sum();
}

double FiniteNumberField(const nlohmann::json& j, const char* key, const std::string& prefix) {
  if (!j.contains(key) || !j[key].is_number()) {
    throw std::invalid_argument(fmt::format("{}{}: expected a number", prefix, key));
  }
  const double v = j[key].get<double>();
  if (!std::isfinite(v)) {
    throw std::invalid_argument(fmt::format("{}{}: expected a finite number", prefix, key));
  }
  return v;
}

Transfer Transfer::FromJson(const nlohmann::json& j) {
  auto fail = [](const std::string& m) { throw std::invalid_argument("transfer: " + m); };
  if (!j.is_object()) fail("expected an object");
  if (!j.contains("format_version") || j["format_version"] != kFormatVersion) {
    fail(fmt::format("unsupported format_version {}",
                     j.value("format_version", nlohmann::json()).dump()));
  }
  Transfer tr;
  auto number = [&](const char* key) { return FiniteNumberField(j, key, "transfer: "); };
  if (!j.contains("kind") || !j["kind"].is_string()) fail("kind: expected a string");
  tr.kind = j["kind"].get<std::string>();
  if (tr.kind != "identity" && tr.kind != "ratio" && tr.kind != "linear" && tr.kind != "features") {
    fail(fmt::format("kind: expected identity, ratio, linear or features, got '{}'", tr.kind));
  }
  tr.c0 = number("c0");
  tr.c1 = number("c1");
  tr.cv = j.value("cv", nlohmann::json::object());
  if (tr.kind == "features") {
    tr.alpha = number("alpha");
    auto vec = [&](const char* key) {
      if (!j.contains(key) || !j[key].is_array()) fail(fmt::format("{}: expected an array", key));
      std::vector<double> v;
      for (const auto& e : j[key]) {
        if (!e.is_number() || !std::isfinite(e.get<double>())) {
          fail(fmt::format("{}: expected finite numbers", key));
        }
        v.push_back(e.get<double>());
      }
      return Eigen::VectorXd(
          Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())));
    };
    tr.w = vec("w");
    tr.mean = vec("mean");
    tr.scale = vec("scale");
    if (tr.mean.size() != tr.w.size() || tr.scale.size() != tr.w.size()) {
      fail(fmt::format("w, mean and scale must have one length, got {}, {}, {}", tr.w.size(),
                       tr.mean.size(), tr.scale.size()));
    }
    if ((tr.scale.array() <= 0).any()) fail("scale: expected positive numbers");
  }
  return tr;
}

Transfer FitTransfer(const Eigen::VectorXd& u, const Eigen::MatrixXd& X, const Eigen::VectorXd& t,
                     const TransferOptions& options, const Eigen::VectorXd* weights,
                     Eigen::VectorXd* oof) {
  const Eigen::Index n = u.size();
  if (n == 0) throw std::invalid_argument("FitTransfer: no records");
  if (t.size() != n || X.rows() != n) {
    throw std::invalid_argument(fmt::format(
        "FitTransfer: {} base values, {} feature rows and {} targets; expected one each per "
        "record",
        n, X.rows(), t.size()));
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    if (!std::isfinite(u[i]) || !std::isfinite(t[i]) || (X.cols() > 0 && !X.row(i).allFinite())) {
      throw std::invalid_argument(fmt::format("FitTransfer: record {} has a non-finite value", i));
    }
  }
  std::vector<TransferCandidate> candidates;
  if (options.identity) candidates.push_back({"identity", 0});
  candidates.push_back({"ratio", 0});
  const auto count = static_cast<std::size_t>(n);
  if (count >= options.min_linear) candidates.push_back({"linear", 0});
  if (count >= options.min_features && X.cols() > 0) {
    for (double a : options.alphas) {
      if (!(a > 0) || !std::isfinite(a)) {
        throw std::invalid_argument(fmt::format("FitTransfer: alpha must be > 0, got {}", a));
      }
      candidates.push_back({"features", a});
    }
  }
  std::vector<Eigen::Index> all(count);
  std::iota(all.begin(), all.end(), Eigen::Index{0});
  Transfer best;
  best.cv = {{"n", n}};
  if (count < 2) {
    best = FitOne({"ratio", 0}, u, X, t, all);
    best.cv = {{"n", n}, {"folds", 0}, {"chosen", "ratio"}, {"scores", nlohmann::json::object()}};
    // One record: no fold to hold it out of, so its "out-of-fold" value is the fit itself.
    if (oof) *oof = Eigen::VectorXd::Constant(1, best.Apply(u[0], RowOf(X, 0)));
    return best;
  }
  const std::size_t k = std::min(std::max<std::size_t>(2, options.folds), count);
  std::vector<Eigen::Index> order = all;
  std::mt19937_64 rng(options.seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::size_t> fold(count);
  for (std::size_t p = 0; p < count; ++p) fold[static_cast<std::size_t>(order[p])] = p % k;
  nlohmann::json scores = nlohmann::json::object();
  double best_score = 0;
  const TransferCandidate* chosen = nullptr;
  const bool weighted = weights && weights->size() > 0;
  if (weighted &&
      (weights->size() != n || !((weights->array() >= 0).all()) || !(weights->sum() > 0))) {
    throw std::invalid_argument(fmt::format(
        "FitTransfer: {} score weights for {} records; expected one each, >= 0, not all 0",
        weights->size(), n));
  }
  Eigen::VectorXd chosen_oof;
  for (const TransferCandidate& c : candidates) {
    Eigen::VectorXd cand_oof(n);
    for (std::size_t f = 0; f < k; ++f) {
      std::vector<Eigen::Index> train, test;
      for (Eigen::Index i = 0; i < n; ++i)
        (fold[static_cast<std::size_t>(i)] == f ? test : train).push_back(i);
      const Transfer fitted = FitOne(c, u, X, t, train);
      for (Eigen::Index r : test) cand_oof[r] = fitted.Apply(u[r], RowOf(X, r));
    }
    const double score = WeightedMapeOfLogRatios(cand_oof - t, weights);
    scores[c.Label()] = score;
    // Simpler kinds come first: a richer one must lower the score by more than 2 % of it, so
    // that fitting noise with more coefficients does not win by a hair.
    if (!chosen || score < 0.98 * best_score - 1e-9) {
      chosen = &c;
      best_score = score;
      chosen_oof = std::move(cand_oof);
    }
  }
  if (oof) *oof = std::move(chosen_oof);
  best = FitOne(*chosen, u, X, t, all);
  best.cv = {{"n", n},
             {"folds", k},
             {"chosen", chosen->Label()},
             {"mape", best_score},
             {"scores", scores},
             {"fitted_mape", Mape(best, u, X, t, all)}};
  if (weighted) best.cv["score"] = "MAPE weighted per record";
  return best;
}

}  // namespace joulecast
