#include "joulecast/predict/calibration.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>

#include "joulecast/features/layer_features.h"
#include "joulecast/features/macs.h"
#include "joulecast/predict/energy_from_time.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile_fit.h"

namespace joulecast {
namespace {

Profile InMode(const Profile& base, const std::string& mode) {
  if (!base.HasMode(mode)) {
    throw std::runtime_error(
        fmt::format("calibrate: the base profile {} has no {} predictors (it "
                    "has: {})",
                    base.name, mode, fmt::join(base.Modes(), ", ")));
  }
  Profile p = base;
  p.SelectMode(mode, "calibrate");
  return p;
}

// Farthest-point order of the rows of X (standardised first): the row nearest the centre, then
// each time the row whose distance to the chosen ones is largest.
std::vector<std::size_t> FarthestPointOrder(Eigen::MatrixXd X) {
  const Eigen::Index n = X.rows();
  if (n == 0) return {};
  const Eigen::RowVectorXd mean = X.colwise().mean();
  X.rowwise() -= mean;
  for (Eigen::Index j = 0; j < X.cols(); ++j) {
    const double s = std::sqrt(X.col(j).squaredNorm() / static_cast<double>(n));
    if (s > 1e-12) X.col(j) /= s;
  }
  std::vector<std::size_t> order;
  std::vector<double> dist(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  std::vector<bool> taken(static_cast<std::size_t>(n), false);
  Eigen::Index next = 0;
  X.rowwise().squaredNorm().minCoeff(&next);
  for (Eigen::Index k = 0; k < n; ++k) {
    order.push_back(static_cast<std::size_t>(next));
    taken[static_cast<std::size_t>(next)] = true;
    double far = -1;
    Eigen::Index arg = -1;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (taken[static_cast<std::size_t>(i)]) continue;
      double& d = dist[static_cast<std::size_t>(i)];
      d = std::min(d, (X.row(i) - X.row(next)).squaredNorm());
      if (d > far) {
        far = d;
        arg = i;
      }
    }
    if (arg < 0) break;
    next = arg;
  }
  return order;
}

// Out-of-fold log predictions `b` of log targets `t` moved to their MAPE-optimal level: c0 = ln k,
// k the factor minimising the MAPE of k·e^b against e^t, and that MAPE weighted by `weights`
// (null: every record alike).
struct Levelled {
  double c0 = 0, mape = 0;
};
Levelled AtMapeOptimalLevel(const Eigen::VectorXd& b, const Eigen::VectorXd& t,
                            const Eigen::VectorXd* weights) {
  const double c0 = std::log(MapeOptimalFactor(b.array().exp().matrix(), t.array().exp().matrix()));
  return {c0, WeightedMapeOfLogRatios((b - t).array() + c0, weights)};
}

double Target(const Measurement& m, const std::string& target) {
  if (target == "energy_j") return m.energy_j ? *m.energy_j : std::nan("");
  return m.duration_s;
}

}  // namespace

std::map<std::string, double> TypeShares(const Profile& base,
                                         const std::vector<Architecture>& weight_networks) {
  std::map<std::string, double> share;
  int runs = 0;
  for (const Architecture& arch : weight_networks) {
    for (std::int64_t b : {1, 8}) {
      const NetworkEstimate est = EstimateNetwork(base, arch, b);
      if (!(est.total > 0)) continue;
      for (const auto& [type, tt] : est.by_type) share[type] += tt.value / est.total;
      ++runs;
    }
  }
  for (auto& [type, s] : share) s /= runs;
  return share;
}

std::vector<CollectConfig> PlanCalibration(const Profile& base,
                                           const std::vector<Architecture>& for_networks,
                                           const std::vector<Architecture>& weight_networks,
                                           const CalibrationPlanOptions& options) {
  const Profile p = InMode(base, options.mode);
  const std::size_t limit =
      options.max_configs > 0 ? options.max_configs : std::numeric_limits<std::size_t>::max();
  std::vector<CollectConfig> plan;
  // 1. The user's networks, largest predicted cost first.
  std::vector<std::pair<double, CollectConfig>> own;
  for (const Architecture& arch : for_networks) {
    for (CollectConfig& c : ConfigsFromArchitecture(arch, options.batch_sizes)) {
      const LayerPredictor* lp = p.Find(c.layer.type);
      if (!lp) continue;  // nothing to calibrate: the base has no predictor for it
      own.emplace_back(lp->Predict(c.layer, c.batch_size), std::move(c));
    }
  }
  std::stable_sort(own.begin(), own.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [value, c] : own) {
    if (plan.size() >= limit) return plan;
    plan.push_back(std::move(c));
  }
  // 2. Random configurations, spread over each type's feature space, interleaved by share.
  struct Queue {
    const LayerPredictor* lp = nullptr;
    std::vector<CollectConfig> configs;
    std::int64_t rounds_drawn = 0;
    std::size_t used = 0;
    double weight = 0;
  };
  std::map<std::string, Queue> queues;
  for (const std::string& type : SampleableLayerTypes()) {
    if (const LayerPredictor* lp = p.Find(type)) queues[type].lp = lp;
  }
  // Round r orders draws r·pool .. (r+1)·pool - 1: the first rounds are the same whatever the
  // number of rounds, so a longer plan extends a shorter one.
  const auto draw_round = [&](const std::string& type, Queue& q) {
    const std::int64_t round = q.rounds_drawn++;
    std::vector<CollectConfig> draws;
    for (std::int64_t i = round * options.pool; i < (round + 1) * options.pool; ++i) {
      CollectConfig c = SampleConfig(type, options.seed, i, options.sampler);
      double run = 0;
      if (p.target == "time_s") {
        run = q.lp->Predict(c.layer, c.batch_size);
      } else {
        const LayerCounts counts = CountLayer(c.layer, c.batch_size);
        run = counts.macs > 0 ? counts.macs / 2e9 : Normaliser(counts) / 2e8;
      }
      const double cost =
          options.warmup_s +
          std::max(options.min_seconds, static_cast<double>(options.min_repetitions) * run);
      if (cost <= options.max_config_seconds) draws.push_back(std::move(c));
    }
    Eigen::MatrixXd X(static_cast<Eigen::Index>(draws.size()),
                      static_cast<Eigen::Index>(RecipeFeatureNames(q.lp->recipe).size()));
    for (std::size_t i = 0; i < draws.size(); ++i) {
      X.row(static_cast<Eigen::Index>(i)) =
          ComputeFeatures(q.lp->recipe, draws[i].layer, draws[i].batch_size);
    }
    for (std::size_t i : FarthestPointOrder(X)) q.configs.push_back(std::move(draws[i]));
  };
  // Whether `q` has a configuration left, drawing its next rounds when it needs them.
  const auto has_next = [&](const std::string& type, Queue& q) {
    while (q.used >= q.configs.size() && q.rounds_drawn < options.rounds) draw_round(type, q);
    return q.used < q.configs.size();
  };
  std::map<std::string, double> share = TypeShares(p, weight_networks);
  double total_share = 0;
  for (const auto& [type, q] : queues) total_share += share.count(type) ? share[type] : 0.0;
  for (auto& [type, q] : queues) {
    const double s = total_share > 0 && share.count(type) ? share[type] / total_share : 0.0;
    q.weight = std::max(s, options.min_share);
  }
  while (plan.size() < limit) {
    Queue* pick = nullptr;
    double best = std::numeric_limits<double>::infinity();
    for (auto& [type, q] : queues) {
      // The pass of a type depends on its count alone, so a type whose next rounds are not
      // drawn yet is drawn only when it would be picked: the order is the whole plan's.
      const double pass = static_cast<double>(q.used + 1) / q.weight;
      if (pass < best && has_next(type, q)) {
        best = pass;
        pick = &q;
      }
    }
    if (!pick) break;
    CollectConfig c = pick->configs[pick->used++];
    c.context["calibration"] = true;
    plan.push_back(std::move(c));
  }
  return plan;
}

Eigen::VectorXd NetworkRecordWeights(const Eigen::MatrixXd& records, const Eigen::MatrixXd& layers,
                                     const Eigen::VectorXd& shares, std::size_t neighbours,
                                     double network_weight) {
  const Eigen::Index n = records.rows(), m = layers.rows();
  if (m > 0 && layers.cols() != records.cols()) {
    throw std::invalid_argument(
        fmt::format("NetworkRecordWeights: records have {} features, network layers {}",
                    records.cols(), layers.cols()));
  }
  if (shares.size() != m) {
    throw std::invalid_argument(
        fmt::format("NetworkRecordWeights: {} network layers but {} shares", m, shares.size()));
  }
  if (!(network_weight >= 0 && network_weight <= 1)) {
    throw std::invalid_argument(fmt::format(
        "NetworkRecordWeights: network_weight must be in [0, 1], got {}", network_weight));
  }
  Eigen::VectorXd uniform = Eigen::VectorXd::Constant(n, n > 0 ? 1.0 / static_cast<double>(n) : 0);
  if (n == 0 || m == 0 || !(shares.sum() > 0) || neighbours == 0) return uniform;
  const Eigen::RowVectorXd mean = records.colwise().mean();
  Eigen::RowVectorXd scale = ((records.rowwise() - mean).array().square().colwise().mean()).sqrt();
  for (Eigen::Index j = 0; j < scale.size(); ++j)
    if (!(scale[j] > 1e-12)) scale[j] = 1;
  const Eigen::MatrixXd R = (records.rowwise() - mean).array().rowwise() / scale.array();
  const Eigen::MatrixXd L = (layers.rowwise() - mean).array().rowwise() / scale.array();
  const auto k =
      static_cast<Eigen::Index>(std::min<std::size_t>(neighbours, static_cast<std::size_t>(n)));
  Eigen::VectorXd lent = Eigen::VectorXd::Zero(n);
  std::vector<std::pair<double, Eigen::Index>> dist(static_cast<std::size_t>(n));
  for (Eigen::Index j = 0; j < m; ++j) {
    if (!(shares[j] > 0)) continue;
    for (Eigen::Index i = 0; i < n; ++i)
      dist[static_cast<std::size_t>(i)] = {(R.row(i) - L.row(j)).squaredNorm(), i};
    std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
    for (Eigen::Index q = 0; q < k; ++q)
      lent[dist[static_cast<std::size_t>(q)].second] += shares[j] / static_cast<double>(k);
  }
  return (1 - network_weight) * uniform + network_weight * lent / lent.sum();
}

std::optional<BlendChoice> BestBlend(const Eigen::VectorXd& transfer_oof,
                                     const Eigen::VectorXd& refit_oof, const Eigen::VectorXd& t,
                                     const std::vector<double>& weights,
                                     const Eigen::VectorXd& record_weights) {
  if (t.size() == 0 || transfer_oof.size() != t.size() || refit_oof.size() != t.size()) {
    return std::nullopt;
  }
  const Eigen::VectorXd* rw = record_weights.size() == t.size() ? &record_weights : nullptr;
  std::optional<BlendChoice> best;
  nlohmann::json scores = nlohmann::json::object();
  for (double w : weights) {
    const Levelled at = AtMapeOptimalLevel((1 - w) * transfer_oof + w * refit_oof, t, rw);
    scores[fmt::format("{}", w)] = at.mape;
    if (!best || at.mape < best->mape) best = BlendChoice{w, at.c0, at.mape, {}};
  }
  if (best) best->scores = std::move(scores);
  return best;
}

void CheckCalibrationBase(const Profile& base) {
  for (const auto& [type, lp] : base.layers) {
    if (lp.transfer) {
      throw std::runtime_error(fmt::format(
          "calibrate: the base profile {} is itself calibrated (from {}); calibrate from that "
          "base instead",
          base.name,
          base.data.value("calibration", nlohmann::json::object()).value("base", "another")));
    }
  }
}

Profile CalibrateProfile(const Profile& base, const std::vector<Measurement>& records,
                         const CalibrateOptions& options) {
  if (options.target != "time_s" && options.target != "energy_j") {
    throw std::runtime_error(
        fmt::format("calibrate: target must be time_s or energy_j, got '{}'", options.target));
  }
  CheckCalibrationBase(base);
  std::map<std::string, std::vector<const Measurement*>> by_mode;
  std::vector<const Measurement*> used;
  bool any_energy = false;
  std::int64_t disturbed = 0;
  std::vector<Measurement> settled;
  std::int64_t fresh_page_records = 0;
  if (options.remove_fresh_page_time) {
    settled.reserve(records.size());
    for (const Measurement& m : records) {
      settled.push_back(WithoutFreshPageTime(m));
      if (settled.back().duration_s != m.duration_s) ++fresh_page_records;
    }
  }
  for (const Measurement& m : options.remove_fresh_page_time ? settled : records) {
    if (IsWholeNetwork(m)) continue;
    if (const auto busy = OtherCpusBusy(m); busy && *busy > options.max_other_cpus) {
      ++disturbed;
      continue;
    }
    if (m.energy_j) any_energy = true;
    const double y = Target(m, options.target);
    if (!(y > 0) || !std::isfinite(y)) continue;
    by_mode[m.mode].push_back(&m);
  }
  if (options.target == "energy_j" && !any_energy) {
    throw std::runtime_error(
        "calibrate: target energy_j needs records with energy (measured with a meter); these "
        "have none");
  }
  if (by_mode.empty() && disturbed > 0) {
    throw std::runtime_error(fmt::format(
        "calibrate: every record was measured while other processes kept more than {} CPUs busy",
        options.max_other_cpus));
  }
  if (by_mode.empty()) throw std::runtime_error("calibrate: no records to calibrate with");

  Profile out;
  out.name = base.name + "-calibrated";
  out.target = options.target;
  {
    std::vector<const Measurement*> all;
    for (const auto& [mode, recs] : by_mode) all.insert(all.end(), recs.begin(), recs.end());
    // The records' dtype: a float32 base calibrated with bfloat16 records predicts bfloat16.
    out.dtype = RecordsDtype(all, "calibrate");
  }
  nlohmann::json modes = nlohmann::json::object();
  std::size_t n_used = 0;
  for (const auto& [mode, recs] : by_mode) {
    const Profile bm = InMode(base, mode);
    std::map<std::string, std::vector<const Measurement*>> by_type;
    std::size_t no_predictor = 0;
    for (const Measurement* m : recs) {
      if (bm.Find(m->type)) {
        by_type[m->type].push_back(m);
      } else {
        ++no_predictor;
      }
    }
    // Per type: u, X, t of its records (and the base's own prediction).
    struct Data {
      Eigen::VectorXd u, t;
      Eigen::MatrixXd X;
      double base_mape = 0;
      Eigen::VectorXd weights;  // of the selection score
    };
    // The weight networks' layers by type: their features in the base recipe and their share of
    // their network's predicted total, averaged over the runs.
    std::map<std::string, std::vector<std::pair<Eigen::RowVectorXd, double>>> network_layers;
    {
      int runs = 0;
      for (const Architecture& arch : options.weight_networks) {
        for (std::int64_t b : {1, 8}) {
          const NetworkEstimate est = EstimateNetwork(bm, arch, b);
          if (!(est.total > 0)) continue;
          ++runs;
          for (const LayerEstimate& le : est.layers) {
            if (!le.modelled() || !by_type.count(le.layer.type)) continue;
            const LayerPredictor& lp = *bm.Find(le.layer.type);
            network_layers[le.layer.type].emplace_back(ComputeFeatures(lp.recipe, le.layer, b),
                                                       le.value / est.total);
          }
        }
      }
      for (auto& [type, ls] : network_layers)
        for (auto& l : ls) l.second /= runs;
    }
    std::map<std::string, Data> data;
    std::vector<double> pool_u, pool_t;
    for (const auto& [type, ms] : by_type) {
      const LayerPredictor& lp = *bm.Find(type);
      TransferRows rows = TransferRowsOf(lp, ms, options.target);
      Data& d = data[type];
      d.u = std::move(rows.u);
      d.t = std::move(rows.t);
      d.X = std::move(rows.X);
      for (Eigen::Index i = 0; i < d.u.size(); ++i) {
        const auto k = static_cast<std::size_t>(i);
        d.base_mape += std::abs(rows.pred[k] / rows.y[k] - 1);
        pool_u.push_back(d.u[i]);
        pool_t.push_back(d.t[i]);
      }
      d.base_mape *= 100.0 / static_cast<double>(ms.size());
      n_used += ms.size();
      const auto width = static_cast<Eigen::Index>(RecipeFeatureNames(lp.recipe).size());
      const auto& ls = network_layers[type];
      Eigen::MatrixXd L(static_cast<Eigen::Index>(ls.size()), width);
      Eigen::VectorXd shares(static_cast<Eigen::Index>(ls.size()));
      for (std::size_t j = 0; j < ls.size(); ++j) {
        L.row(static_cast<Eigen::Index>(j)) = ls[j].first;
        shares[static_cast<Eigen::Index>(j)] = ls[j].second;
      }
      d.weights = NetworkRecordWeights(d.X.leftCols(width), L, shares, options.neighbours,
                                       options.network_weight);
    }
    if (pool_u.empty()) {
      throw std::runtime_error(
          fmt::format("calibrate: no {} records of a layer type the base profile {} predicts", mode,
                      base.name));
    }
    TransferOptions type_options = options.transfer;
    type_options.identity = base.target == options.target;
    TransferOptions pooled_options = type_options;
    // One factor: a slope across types would fit the types' different efficiency levels.
    pooled_options.min_linear = std::numeric_limits<std::size_t>::max();
    pooled_options.min_features = std::numeric_limits<std::size_t>::max();
    const auto np = static_cast<Eigen::Index>(pool_u.size());
    Transfer pooled =
        FitTransfer(Eigen::Map<Eigen::VectorXd>(pool_u.data(), np), Eigen::MatrixXd(np, 0),
                    Eigen::Map<Eigen::VectorXd>(pool_t.data(), np), pooled_options);
    pooled.cv["pooled"] = true;
    const bool same_target = options.target == base.target;
    nlohmann::json types = nlohmann::json::object();
    std::map<std::string, LayerPredictor> layers;
    for (const auto& [type, lp] : bm.layers) {
      LayerPredictor c = lp;
      auto it = data.find(type);
      const std::size_t n = it == data.end() ? 0 : static_cast<std::size_t>(it->second.u.size());
      nlohmann::json info = {{"records", n}};
      if (!options.weight_networks.empty()) info["network_layers"] = network_layers[type].size();
      Eigen::VectorXd transfer_oof;
      if (n >= options.min_type_records) {
        c.transfer = FitTransfer(it->second.u, it->second.X, it->second.t, type_options,
                                 &it->second.weights, &transfer_oof);
      } else {
        c.transfer = pooled;
      }
      info["transfer"] = c.transfer->cv.value("pooled", false) ? "pooled" : c.transfer->kind;
      if (c.transfer->cv.contains("mape")) info["cv_mape"] = c.transfer->cv["mape"];
      // The base's own prediction came through a transfer (fit's training step from the forward
      // predictor): u included it, so this machine's transfer applies after it.
      if (lp.transfer) c.transfer = ComposeTransfers(*lp.transfer, *c.transfer);
      // Enough records to learn this machine afresh: a predictor fitted on them alone, as `fit`
      // would, replaces the transfer when its k-fold MAPE is lower (the base's shape need not
      // hold here at all).
      if (n >= options.min_refit_records && c.transfer->cv.contains("mape")) {
        FitOptions fo = options.refit;
        fo.target = options.target;
        Eigen::VectorXd refit_oof;
        LayerPredictor refit = FitLayerPredictor(type, by_type.at(type), fo, &refit_oof);
        // Both at their MAPE-optimal level: the transfers' c0 is that factor, and a refit
        // compared at its least-squares level would lose by the level alone. Both scored with
        // the same record weights.
        const nlohmann::json& lv = refit.cv.at("mape_optimal_level");
        const double factor = lv.at("factor").get<double>();
        const double refit_mape = WeightedMapeOfLogRatios(
            (refit_oof - it->second.t).array() + std::log(factor), &it->second.weights);
        const double transfer_mape = c.transfer->cv["mape"].get<double>();
        info["refit_cv_mape"] = refit_mape;
        // The base's shape kept and this machine's departures from it learnt as freely as a
        // refit learns the whole: a predictor of ln(target / base prediction), fitted on the
        // records with their targets divided by the base's predictions.
        const Data& d = it->second;
        Levelled residual_at{0, std::numeric_limits<double>::infinity()};
        double lo = 0, hi = 0;
        std::optional<LayerPredictor> residual;
        if (options.residual) {
          lo = (d.t - d.u).minCoeff();
          hi = (d.t - d.u).maxCoeff();
          std::vector<Measurement> ratio_records;
          ratio_records.reserve(n);
          for (std::size_t i = 0; i < n; ++i) {
            Measurement m = *by_type.at(type)[i];
            const double f = std::exp(-d.u[static_cast<Eigen::Index>(i)]);
            m.duration_s *= f;
            if (m.duration_s_std) *m.duration_s_std *= f;
            if (m.energy_j) *m.energy_j *= f;
            if (m.energy_j_std) *m.energy_j_std *= f;
            ratio_records.push_back(std::move(m));
          }
          std::vector<const Measurement*> ratio_ptrs;
          for (const Measurement& m : ratio_records) ratio_ptrs.push_back(&m);
          Eigen::VectorXd residual_oof;
          residual = FitLayerPredictor(type, ratio_ptrs, fo, &residual_oof);
          residual_at =
              AtMapeOptimalLevel(residual_oof.cwiseMax(lo).cwiseMin(hi) + d.u, d.t, &d.weights);
          info["residual_cv_mape"] = residual_at.mape;
        }
        info["transfer_cv_mape"] = transfer_mape;
        // Blends of the two out-of-fold predictions: where each errs on different layers (the
        // transfer keeps the base's shape, the refit only knows this machine's few records),
        // their mean in logs can beat both.
        const double residual_mape = residual_at.mape;
        const double pure = std::min({refit_mape, transfer_mape, residual_mape});
        const std::optional<BlendChoice> choice = BestBlend(
            transfer_oof, refit_oof, it->second.t, options.blend_weights, it->second.weights);
        // One more number fitted (the weight) than either: it must win by more than 2 %.
        if (choice && choice->mape < 0.98 * pure - 1e-9) {
          PredictorBlend blend;
          blend.weight = choice->weight;
          blend.c0 = choice->c0;
          blend.recipe = refit.recipe;
          blend.model = refit.model;
          blend.cv = {{"mape", choice->mape},
                      {"scores", choice->scores},
                      {"transfer_mape", transfer_mape},
                      {"refit_mape", refit_mape},
                      {"level", "the MAPE-optimal factor of the blend's out-of-fold predictions"}};
          info["transfer"] = "blend";
          info["cv_mape"] = choice->mape;
          info["blend_weight"] = choice->weight;
          c.blend = std::move(blend);
        } else if (residual_mape < std::min(refit_mape, transfer_mape)) {
          PredictorBlend blend;
          blend.kind = "residual";
          blend.lo = lo;
          blend.hi = hi;
          blend.c0 = residual_at.c0;
          blend.recipe = residual->recipe;
          blend.model = residual->model;
          blend.cv = {{"mape", residual_mape},
                      {"transfer_mape", transfer_mape},
                      {"refit_mape", refit_mape},
                      {"level", "the MAPE-optimal factor of its out-of-fold predictions"}};
          // T is the base's own log-efficiency: the transfer fitted above is not applied.
          Transfer identity;
          identity.kind = "identity";
          identity.cv = {{"residual", "the blend's model learns this machine's ratio to the base"}};
          c.transfer = lp.transfer ? ComposeTransfers(*lp.transfer, identity) : identity;
          info["transfer"] = "residual";
          info["cv_mape"] = residual_mape;
          c.blend = std::move(blend);
        } else if (refit_mape < transfer_mape) {
          Transfer level;
          level.c0 = std::log(factor);
          level.cv = {{"level", "the MAPE-optimal factor of the refit's out-of-fold predictions"}};
          refit.transfer = level;  // FitLayerPredictor's predictors have none of their own
          c = std::move(refit);
          info["transfer"] = "refit";
          info["cv_mape"] = refit_mape;
          info["refit_level"] = lv.at("factor");
        }
      }
      if (same_target && n > 0) info["base_mape"] = it->second.base_mape;
      types[type] = info;
      layers[type] = std::move(c);
    }
    modes[mode] = {{"records", recs.size() - no_predictor},
                   {"records_without_base_predictor", no_predictor},
                   {"types", types},
                   {"pooled", pooled.ToJson()}};
    if (mode == "forward" || out.layers.empty()) {
      if (!out.layers.empty()) out.other_modes[out.mode] = std::move(out.layers);
      out.layers = std::move(layers);
      out.mode = mode;
    } else {
      out.other_modes[mode] = std::move(layers);
    }
    for (const Measurement* m : recs) used.push_back(m);
  }
  if (out.target == "time_s") out.power = MeasuredPower(used);
  const HardwareFingerprint fp = FingerprintFromMeasurements(used);
  out.hardware = WithFingerprint(used.front()->hardware, fp);
  out.data = {{"calibration",
               {{"base", base.name},
                {"base_target", base.target},
                {"base_hardware", base.hardware},
                {"records", n_used},
                {"modes", modes}}}};
  if (disturbed > 0) out.data["calibration"]["disturbed_skipped"] = disturbed;
  if (fresh_page_records > 0) out.data["calibration"]["fresh_page_records"] = fresh_page_records;
  return out;
}

}  // namespace joulecast
