#include "joulecast/predict/profile_fit.h"

#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>

#include "joulecast/features/layer_features.h"
#include "joulecast/features/macs.h"
#include "joulecast/predict/energy_from_time.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/transfer.h"
#include "joulecast/regress/cross_validation.h"
#include "joulecast/regress/kernel_ridge.h"
#include "joulecast/regress/metrics.h"
#include "joulecast/regress/polynomial_features.h"
#include "joulecast/regress/ridge.h"
#include "joulecast/regress/scaler.h"

namespace joulecast {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// Mean |exp(a) - exp(b)| / exp(b) in percent, for log-space predictions a of log targets b.
double LogSpaceMape(const VectorXd& pred_log, const VectorXd& true_log) {
  return 100.0 * ((pred_log - true_log).array().exp() - 1.0).abs().mean();
}

struct Candidate {
  int degree;
  bool use_kernel;
  double kernel_alpha, gamma;
  nlohmann::json ToJson() const {
    return {{"degree", degree},
            {"use_kernel", use_kernel},
            {"kernel_alpha", kernel_alpha},
            {"gamma", gamma}};
  }
};

}  // namespace

bool IsWholeNetwork(const Measurement& m) {
  auto it = m.context.find("architecture");
  return it != m.context.end() && it->is_string() && it->get<std::string>() == m.type;
}

namespace {

// One recipe's fit: the CV grid, the chosen candidate refitted on all records; cv["score"] is the
// selection score of that candidate.
LayerPredictor FitWithRecipe(const std::string& type, const std::string& recipe,
                             const std::vector<const Measurement*>& records,
                             const FitOptions& options, VectorXd* oof_log) {
  LayerPredictor p;
  p.layer_type = type;
  p.recipe = recipe;
  const auto n = static_cast<Eigen::Index>(records.size());
  const auto width = static_cast<Eigen::Index>(RecipeFeatureNames(p.recipe).size());
  MatrixXd X(n, width);
  VectorXd y(n), norm(n);
  std::set<std::string> sources;
  double bmin = 1e300, bmax = 0, tmin = 1e300, tmax = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const Measurement& m = *records[static_cast<std::size_t>(i)];
    LayerInstance l = LayerOf(m);
    try {
      const LayerCounts counts = CountLayer(l, m.batch_size);
      X.row(i) = ComputeFeatures(p.recipe, l, m.batch_size, counts);
      norm[i] = Normaliser(counts);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("fit {}: record {} ({}): {}", type, i,
                                           m.provenance.value("file", "?"), e.what()));
    }
    double t = TargetValue(m, options.target);
    y[i] = std::log(t / norm[i]);
    bmin = std::min(bmin, double(m.batch_size));
    bmax = std::max(bmax, double(m.batch_size));
    tmin = std::min(tmin, t);
    tmax = std::max(tmax, t);
    if (m.provenance.contains("file") && m.provenance["file"].is_string())
      sources.insert(m.provenance["file"].get<std::string>());
  }
  const std::size_t k = std::min<std::size_t>(options.folds, records.size());
  auto folds = regress::KFoldIndices(records.size(), k, options.seed);

  std::vector<Candidate> cands;
  for (int d : options.degrees) {
    cands.push_back({d, false, 0.0, 0.0});
    for (double g : options.gammas) {
      for (double a : options.kernel_alphas) cands.push_back({d, true, a, g});
    }
  }
  // Predicts the test rows of one split for every candidate, writing into out[candidate].
  auto run_split = [&](const std::vector<std::size_t>& train_idx,
                       const std::vector<std::size_t>& test_idx, std::vector<VectorXd>& out) {
    MatrixXd Xtr = regress::SelectRows(X, train_idx), Xte = regress::SelectRows(X, test_idx);
    VectorXd ytr = regress::SelectRows(y, train_idx);
    regress::StandardScaler scaler;
    MatrixXd Ztr = scaler.FitTransform(Xtr), Zte = scaler.Transform(Xte);
    // Trends first: one per degree, their residuals side by side as right-hand sides.
    const auto nd = static_cast<Eigen::Index>(options.degrees.size());
    MatrixXd resid(Ztr.rows(), nd), trend_te(Zte.rows(), nd);
    for (Eigen::Index di = 0; di < nd; ++di) {
      regress::PolynomialFeatures poly(regress::PolynomialFeaturesOptions{
          options.degrees[static_cast<std::size_t>(di)], false, false});
      MatrixXd Ptr = poly.FitTransform(Ztr);
      regress::Ridge trend(regress::RidgeOptions{options.ridge_alpha, true});
      trend.Fit(Ptr, ytr);
      trend_te.col(di) = trend.Predict(poly.Transform(Zte));
      resid.col(di) = ytr - trend.Predict(Ptr);
    }
    // The kernel matrix depends on gamma only, so one Cholesky per (gamma, alpha) serves every
    // degree: ~n³/3 flops each, far cheaper than an eigendecomposition for a handful of alphas.
    std::vector<MatrixXd> kernel_te;  // per (gamma, alpha): test predictions, one column per degree
    for (double g : options.gammas) {
      MatrixXd K = regress::RbfKernel(Ztr, Ztr, g);
      MatrixXd Kte = regress::RbfKernel(Zte, Ztr, g);
      for (double a : options.kernel_alphas) {
        MatrixXd Ka = K;
        Ka.diagonal().array() += a;
        Eigen::LLT<MatrixXd> llt(Ka);
        if (llt.info() != Eigen::Success) {
          throw std::runtime_error(fmt::format(
              "fit {}: kernel matrix not positive definite (gamma {}, alpha {})", type, g, a));
        }
        kernel_te.push_back(Kte * llt.solve(resid));
      }
    }
    // Candidate order: per degree, the trend alone, then every (gamma, alpha).
    std::size_t c = 0;
    for (Eigen::Index di = 0; di < nd; ++di) {
      for (std::size_t j = 0; j < test_idx.size(); ++j)
        out[c][static_cast<Eigen::Index>(test_idx[j])] = trend_te(static_cast<Eigen::Index>(j), di);
      ++c;
      for (const MatrixXd& kp : kernel_te) {
        for (std::size_t j = 0; j < test_idx.size(); ++j) {
          const auto jj = static_cast<Eigen::Index>(j);
          out[c][static_cast<Eigen::Index>(test_idx[j])] = trend_te(jj, di) + kp(jj, di);
        }
        ++c;
      }
    }
  };
  auto complement = [&](const std::vector<std::size_t>& test_idx) {
    std::vector<bool> is_test(records.size(), false);
    for (auto t : test_idx) is_test[t] = true;
    std::vector<std::size_t> train_idx;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (!is_test[i]) train_idx.push_back(i);
    }
    return train_idx;
  };
  std::vector<VectorXd> oof(cands.size(), VectorXd::Zero(n));
  for (const auto& test_idx : folds) run_split(complement(test_idx), test_idx, oof);

  // Extrapolation split: train on the smallest layers, test on the largest. Real networks' layers
  // lie at the large end of random sampling ranges, so a model must hold up beyond its data.
  std::vector<std::size_t> by_size(records.size());
  std::iota(by_size.begin(), by_size.end(), std::size_t{0});
  std::stable_sort(by_size.begin(), by_size.end(), [&](std::size_t a, std::size_t b) {
    return norm[static_cast<Eigen::Index>(a)] < norm[static_cast<Eigen::Index>(b)];
  });
  const auto n_large =
      static_cast<std::size_t>(std::ceil(options.extrapolation_fraction * double(records.size())));
  std::vector<std::size_t> large(by_size.end() - static_cast<std::ptrdiff_t>(n_large),
                                 by_size.end());
  std::vector<VectorXd> extra(cands.size(), VectorXd::Zero(n));
  const bool use_extrapolation = options.selection == "kfold+extrapolation" && n_large >= 2;
  if (use_extrapolation) run_split(complement(large), large, extra);
  VectorXd y_large = regress::SelectRows(y, large);

  std::size_t best = 0;
  nlohmann::json grid = nlohmann::json::array();
  std::vector<double> scores(cands.size());
  for (std::size_t c = 0; c < cands.size(); ++c) {
    double kfold = LogSpaceMape(oof[c], y);
    double extrap =
        use_extrapolation ? LogSpaceMape(regress::SelectRows(extra[c], large), y_large) : kfold;
    scores[c] = 0.5 * (kfold + extrap);
    if (!std::isfinite(scores[c])) scores[c] = 1e300;
    grid.push_back({{"params", cands[c].ToJson()},
                    {"kfold_mape", kfold},
                    {"extrapolation_mape", extrap},
                    {"score", scores[c]}});
    if (scores[c] < scores[best]) best = c;
  }
  const Candidate& b = cands[best];
  regress::TrendKernelRidgeOptions o;
  o.degree = b.degree;
  o.ridge_alpha = options.ridge_alpha;
  o.use_kernel = b.use_kernel;
  if (b.use_kernel) {
    o.kernel_alpha = b.kernel_alpha;
    o.gamma = b.gamma;
  }
  p.model = regress::TrendKernelRidge(o);
  p.model.Fit(X, y);

  if (oof_log) *oof_log = oof[best];
  VectorXd t_true = y.array().exp(), t_pred = oof[best].array().exp();
  // Back to the target unit: the normaliser multiplies both sides.
  t_true.array() *= norm.array();
  t_pred.array() *= norm.array();
  regress::Metrics cvm = regress::ComputeMetrics(t_true, t_pred);
  // Fitted by least squares in logs, the predictor sits near the median ratio; the factor that
  // minimises its out-of-fold MAPE puts it on the footing of calibrate's transfers, whose level
  // is that factor (calibrate compares the two and applies the factor to a refit it keeps).
  const double level = MapeOptimalFactor(t_pred, t_true);
  const double level_mape = regress::MAPE(t_true, level * t_pred);
  p.cv = {{"folds", k},
          {"mape_optimal_level", {{"factor", level}, {"mape", level_mape}}},
          {"seed", options.seed},
          {"selection", use_extrapolation ? "lowest mean of k-fold MAPE and extrapolation MAPE"
                                          : "lowest k-fold MAPE"},
          {"extrapolation_fraction", options.extrapolation_fraction},
          {"best", b.ToJson()},
          {"metrics", cvm.ToJson()},
          {"extrapolation_mape", grid[best]["extrapolation_mape"]},
          {"score", scores[best]},
          {"grid", grid}};
  // Total target over total MACs: the J-per-MAC figure a user would compute by hand, dominated
  // by the large configurations that dominate real networks' cost.
  p.baseline_per_unit = (y.array().exp() * norm.array()).sum() / norm.sum();
  p.training = {{"n", records.size()},
                {"target", options.target},
                {"batch_size_range", {bmin, bmax}},
                {"target_range", {tmin, tmax}},
                {"sources", std::vector<std::string>(sources.begin(), sources.end())}};
  return p;
}

}  // namespace

TransferRows TransferRowsOf(const LayerPredictor& base,
                            const std::vector<const Measurement*>& records,
                            const std::string& target) {
  std::vector<LayerInstance> layers;
  std::vector<std::int64_t> batches;
  layers.reserve(records.size());
  for (const Measurement* m : records) {
    layers.push_back(LayerOf(*m));
    batches.push_back(m->batch_size);
  }
  std::vector<const LayerInstance*> ptrs;
  for (const LayerInstance& l : layers) ptrs.push_back(&l);
  TransferRows r;
  r.pred = base.PredictMany(ptrs, batches);
  const auto n = static_cast<Eigen::Index>(records.size());
  const auto width = static_cast<Eigen::Index>(RecipeFeatureNames(base.recipe).size());
  r.u.resize(n);
  r.t.resize(n);
  r.X.resize(n, width + kTransferExtras);
  r.y.resize(records.size());
  r.norm.resize(records.size());
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const LayerCounts counts = CountLayer(layers[k], batches[k]);
    const double norm = r.norm[k] = Normaliser(counts);
    r.y[k] = TargetValue(*records[k], target);
    r.X.row(i).head(width) = ComputeFeatures(base.recipe, layers[k], batches[k], counts);
    const auto extras = TransferExtras(counts.input_elements, counts.output_elements);
    for (int j = 0; j < kTransferExtras; ++j)
      r.X(i, width + j) = extras[static_cast<std::size_t>(j)];
    r.u[i] = std::log(r.pred[k] / norm);
    r.t[i] = std::log(r.y[k] / norm);
  }
  return r;
}

std::string RecordsDtype(const std::vector<const Measurement*>& records, const std::string& who) {
  std::map<std::string, std::size_t> counts;
  for (const Measurement* m : records) ++counts[m->dtype.empty() ? "float32" : m->dtype];
  if (counts.size() > 1) {
    std::string list;
    for (const auto& [d, n] : counts)
      list += fmt::format("{}{} {}", list.empty() ? "" : ", ", d, n);
    throw std::runtime_error(fmt::format(
        "{}: records of more than one dtype ({}); a profile predicts one: give each dtype's "
        "records to a fit of its own",
        who, list));
  }
  return counts.empty() ? "float32" : counts.begin()->first;
}

namespace {

// `forward` (a forward-pass predictor of the type) followed by a transfer fitted on `records` of
// another mode; its cv holds the transfer's k-fold MAPE as metrics.mape.
LayerPredictor FromForward(const LayerPredictor& forward,
                           const std::vector<const Measurement*>& records,
                           const FitOptions& options) {
  const TransferRows rows = TransferRowsOf(forward, records, options.target);
  double total_y = 0, total_norm = 0;
  for (std::size_t k = 0; k < records.size(); ++k) {
    total_y += rows.y[k];
    total_norm += rows.norm[k];
  }
  TransferOptions to;
  to.folds = options.folds;
  to.seed = options.seed;
  LayerPredictor p = forward;
  p.transfer = FitTransfer(rows.u, rows.X, rows.t, to);
  p.baseline_per_unit = total_y / total_norm;
  p.cv = {{"from", "forward"},
          {"best", forward.cv.value("best", nlohmann::json::object())},
          {"transfer", p.transfer->cv},
          {"metrics",
           {{"mape", p.transfer->cv.value("mape", std::numeric_limits<double>::quiet_NaN())},
            {"n", records.size()}}}};
  return p;
}

}  // namespace

LayerPredictor FitLayerPredictor(const std::string& type,
                                 const std::vector<const Measurement*>& records,
                                 const FitOptions& options, Eigen::VectorXd* oof_log) {
  if (records.size() < options.min_records) {
    throw std::runtime_error(fmt::format("fit {}: {} usable records, need at least {}", type,
                                         records.size(), options.min_records));
  }
  // The recipe is one more hyperparameter, chosen by the same score as the rest: which features
  // describe a layer best depends on the machine (PyTorch's single-thread algorithm flags of
  // conv2d_v3 help on one core and cost a little on two).
  const std::vector<std::string> recipes = CandidateRecipes(type);
  std::optional<LayerPredictor> best;
  VectorXd best_oof;
  nlohmann::json tried = nlohmann::json::array();
  for (const std::string& recipe : recipes) {
    VectorXd oof;
    LayerPredictor p = FitWithRecipe(type, recipe, records, options, &oof);
    const double score = p.cv["score"].get<double>();
    tried.push_back({{"recipe", recipe}, {"score", score}});
    if (!best || score < best->cv["score"].get<double>()) {
      best = std::move(p);
      best_oof = std::move(oof);
    }
  }
  if (oof_log) *oof_log = std::move(best_oof);
  best->cv["recipes"] = tried;
  return std::move(*best);
}

Profile FitProfile(const std::vector<Measurement>& records, const FitOptions& options,
                   FitReport* report) {
  if (options.selection != "kfold+extrapolation" && options.selection != "kfold") {
    throw std::invalid_argument(fmt::format(
        "fit: selection must be 'kfold+extrapolation' or 'kfold', got '{}'", options.selection));
  }
  if (!(options.extrapolation_fraction > 0 && options.extrapolation_fraction < 1)) {
    throw std::invalid_argument(fmt::format("fit: extrapolation_fraction must be in (0, 1), got {}",
                                            options.extrapolation_fraction));
  }
  // mode -> layer type -> records
  std::map<std::string, std::map<std::string, std::vector<const Measurement*>>> by_mode;
  FitReport local;
  FitReport& r = report ? *report : local;
  for (const auto& m : records) {
    if (IsWholeNetwork(m)) {
      ++r.skipped["whole-network records (evaluate uses them)"];
      continue;
    }
    if (!options.only_types.empty() &&
        std::find(options.only_types.begin(), options.only_types.end(), m.type) ==
            options.only_types.end()) {
      ++r.skipped["types not selected"];
      continue;
    }
    if (const auto busy = OtherCpusBusy(m); busy && *busy > options.max_other_cpus) {
      ++r.skipped[fmt::format("records measured while other processes kept more than {} CPUs busy",
                              options.max_other_cpus)];
      continue;
    }
    if (options.target == "energy_j" && !m.energy_j) {
      ++r.skipped["records without energy (no meter)"];
      continue;
    }
    if (TargetValue(m, options.target) <= 0) {
      ++r.skipped["records with a target <= 0"];
      continue;
    }
    by_mode[m.mode][m.type].push_back(&m);
  }
  for (const auto& t : options.only_types) {
    bool found = false;
    for (const auto& [mode, by_type] : by_mode) found = found || by_type.count(t) > 0;
    if (!found) throw std::runtime_error(fmt::format("fit: no records of layer type '{}'", t));
  }
  if (by_mode.empty())
    throw std::runtime_error(fmt::format("fit: no record with a usable {} target", options.target));
  // Measurements of different CPU models never go into one fit: refuse before fitting anything.
  std::vector<const Measurement*> used;
  for (const auto& [mode, by_type] : by_mode)
    for (const auto& [type, recs] : by_type) used.insert(used.end(), recs.begin(), recs.end());
  const HardwareFingerprint fingerprint = FingerprintFromMeasurements(used);
  Profile p;
  p.target = options.target;
  p.dtype = RecordsDtype(used, "fit");
  const Measurement* first = nullptr;
  std::size_t n = 0;
  nlohmann::json per_mode = nlohmann::json::object();
  for (const auto& [mode, by_type] : by_mode) {
    std::map<std::string, LayerPredictor> predictors;
    std::size_t n_mode = 0;
    // Modes sort "forward" first, so its predictors are in p.layers when another mode is fitted.
    const std::map<std::string, LayerPredictor>* forward =
        mode != "forward" && p.mode == "forward" && !p.layers.empty() ? &p.layers : nullptr;
    for (const auto& [type, recs] : by_type) {
      try {
        LayerPredictor direct = FitLayerPredictor(type, recs, options);
        const auto f =
            forward ? forward->find(type) : std::map<std::string, LayerPredictor>::const_iterator{};
        if (options.from_forward && forward && f != forward->end() && recs.size() >= 2) {
          LayerPredictor from = FromForward(f->second, recs, options);
          const double direct_mape = direct.cv["metrics"]["mape"].get<double>();
          const double from_mape = from.cv["metrics"]["mape"].get<double>();
          if (std::isfinite(from_mape) && from_mape < direct_mape) {
            from.cv["direct"] = {
                {"mape", direct_mape}, {"best", direct.cv["best"]}, {"recipe", direct.recipe}};
            from.training = direct.training;
            direct = std::move(from);
          } else {
            direct.cv["from_forward_mape"] = from_mape;
          }
        }
        predictors.emplace(type, std::move(direct));
      } catch (const std::runtime_error& e) {
        // Single-mode fits keep their old messages; with several modes say which one failed.
        if (by_mode.size() == 1) throw;
        throw std::runtime_error(fmt::format("mode {}: {}", mode, e.what()));
      }
      for (const auto* m : recs) {
        if (!first) first = m;
      }
      n_mode += recs.size();
    }
    per_mode[mode] = {{"records", n_mode}, {"layer_types", predictors.size()}};
    n += n_mode;
    if (p.layers.empty()) {
      p.mode = mode;
      p.layers = std::move(predictors);
    } else {
      p.other_modes.emplace(mode, std::move(predictors));
    }
  }
  // forward is the active mode when present (it sorts first; "train_step" alone stays active).
  if (p.HasMode("forward")) p.SelectMode("forward", "fit");
  // The first record's description with the normalised keys (hardware.h) of all of them.
  if (first) p.hardware = WithFingerprint(first->hardware, fingerprint);
  p.data = {{"records", n}, {"skipped", r.skipped}, {"modes", per_mode}};
  if (p.target == "time_s") p.power = MeasuredPower(used);
  return p;
}

}  // namespace joulecast
