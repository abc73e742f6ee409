#include "joulecast/predict/training_model.h"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>
#include <tuple>

#include "joulecast/io/atomic_file.h"
#include "joulecast/io/json_file.h"
#include "joulecast/predict/energy_baselines.h"
#include "joulecast/regress/cross_validation.h"
#include "joulecast/regress/metrics.h"

namespace joulecast {
namespace {

using nlohmann::json;

constexpr double kFirstDifferencePenalty = 1e-3;
constexpr double kRidge = 1e-8;

double ScaleValue(const GpuSpec& g, const std::string& scale, const char* what) {
  if (scale == "none") return 1.0;
  if (scale == "fp32") return g.fp32_tflops;
  if (scale == "fp16") return g.Fp16OrFp32();
  if (scale == "bandwidth") return g.memory_bandwidth_gbs / 1000.0;
  if (scale == "fp32_bandwidth") return std::sqrt(g.fp32_tflops * g.memory_bandwidth_gbs / 1000.0);
  // Per watt of board power: intensive quantities, unchanged when a GPU is scaled up as a whole.
  if (scale == "fp32_per_watt") return 1000.0 * g.fp32_tflops / g.tdp_w;
  if (scale == "bandwidth_per_watt") return g.memory_bandwidth_gbs / g.tdp_w;
  throw std::runtime_error(
      fmt::format("unknown {} scale '{}' (none, fp32, fp16, bandwidth, fp32_bandwidth, "
                  "fp32_per_watt, bandwidth_per_watt)",
                  what, scale));
}

// One training record, prepared.
struct Row {
  std::size_t w = 0;  // workload index
  double L = 0;       // log2 batch size
  std::int64_t batch = 1;
  const GpuSpec* gpu = nullptr;
  double pl = 0;    // power limit, W (TDP when unset)
  double work = 0;  // N · F, GFLOPs per epoch
  double P = 0, T = 0, E = 0;
  std::string optimizer;
};

std::size_t KnotCount(double step, double lmax) {
  return static_cast<std::size_t>(std::lround(lmax / step)) + 1;
}

// Integer fields of a profile. nlohmann's get<int64_t>() converts a JSON float by a plain cast,
// undefined behaviour beyond int64's range (fuzz finding, issue 7): require a JSON integer.
std::int64_t IntegerField(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_number_integer() ||
      (v.is_number_unsigned() &&
       v.get<std::uint64_t>() >
           static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
    throw std::runtime_error(fmt::format("field '{}' must be an integer, got {}", key, v.dump()));
  }
  return v.get<std::int64_t>();
}

std::size_t CountField(const json& j, const char* key) {
  const std::int64_t v = IntegerField(j, key);
  if (v < 0) throw std::runtime_error(fmt::format("field '{}' must be >= 0, got {}", key, v));
  return static_cast<std::size_t>(v);
}

// Piecewise-linear interpolation on the knots, extended linearly beyond both ends: the knot
// pair (i, i+1) and the weight t of knot i+1.
std::pair<std::size_t, double> Hat(double L, double step, std::size_t k) {
  const double f = std::floor(L / step);
  const auto i = static_cast<std::size_t>(std::clamp(f, 0.0, static_cast<double>(k) - 2.0));
  return {i, (L - static_cast<double>(i) * step) / step};
}

double Curve(const std::vector<double>& v, double L, double step) {
  const auto [i, t] = Hat(L, step, v.size());
  return (1 - t) * v[i] + t * v[i + 1];
}

// Geometric mean of a scale over the distinct GPUs of the rows.
double ScaleRef(const std::vector<Row>& rows, const std::vector<std::size_t>& idx,
                const std::string& scale) {
  std::set<std::string> seen;
  double s = 0;
  int n = 0;
  for (std::size_t i : idx) {
    if (!seen.insert(rows[i].gpu->name).second) continue;
    s += std::log(ScaleValue(*rows[i].gpu, scale, "power"));
    ++n;
  }
  return n ? std::exp(s / n) : 1.0;
}

// Penalised weighted least squares: the first nw·k coefficients are per-workload curves on the
// knots (smoothness penalty on each), the rest free. Minimises Σ a_i² (A_i·β − y_i)² + penalty.
Eigen::VectorXd SolveCurves(const Eigen::MatrixXd& A, const Eigen::VectorXd& y,
                            const Eigen::VectorXd& a, std::size_t nw, std::size_t k,
                            double smoothness) {
  const Eigen::MatrixXd Aw = a.asDiagonal() * A;
  Eigen::MatrixXd N = Aw.transpose() * Aw;
  Eigen::VectorXd r = Aw.transpose() * (a.asDiagonal() * y);
  for (std::size_t w = 0; w < nw; ++w) {
    const auto o = static_cast<Eigen::Index>(w * k);
    for (std::size_t j = 0; j + 2 < k; ++j) {  // second differences v[j] − 2 v[j+1] + v[j+2]
      const Eigen::Index c[3] = {o + static_cast<Eigen::Index>(j),
                                 o + static_cast<Eigen::Index>(j + 1),
                                 o + static_cast<Eigen::Index>(j + 2)};
      const double d[3] = {1, -2, 1};
      for (int p = 0; p < 3; ++p)
        for (int q = 0; q < 3; ++q) N(c[p], c[q]) += smoothness * d[p] * d[q];
    }
    for (std::size_t j = 0; j + 1 < k; ++j) {  // first differences
      const Eigen::Index c0 = o + static_cast<Eigen::Index>(j), c1 = c0 + 1;
      N(c0, c0) += kFirstDifferencePenalty;
      N(c1, c1) += kFirstDifferencePenalty;
      N(c0, c1) -= kFirstDifferencePenalty;
      N(c1, c0) -= kFirstDifferencePenalty;
    }
  }
  N.diagonal().array() += kRidge;
  return N.ldlt().solve(r);
}

struct PowerHyp {
  std::string scale;
  double exponent = 0, idle = 0.1;
};
struct TimeHyp {
  std::string scale;
  double exponent = 0;
};

double PowerFactor(const PhysicalParams& p, const GpuSpec& g) {
  return std::pow(ScaleValue(g, p.power_scale, "power") / p.power_scale_ref, p.power_exponent);
}

// Demand D, capped power P and idle I of one query, W.
struct PowerParts {
  double demand = 0, power = 0, idle = 0;
};

PowerParts PowerOf(const PhysicalParams& p, const WorkloadCurves& w, const GpuSpec& g, double L,
                   double pl) {
  const double c = p.idle_fraction;
  const double u = std::max(0.0, Curve(w.utilisation, L, p.knot_step));
  PowerParts r;
  r.idle = c * g.tdp_w;
  r.demand = g.tdp_w * (c + (1 - c) * PowerFactor(p, g) * u);
  const double cap = p.cap_rho * pl, n = p.cap_softness;
  r.power = std::pow(std::pow(r.demand, -n) + std::pow(cap, -n), -1.0 / n);
  return r;
}

double SlowdownLog(const PowerParts& pp, const GpuSpec& g) {
  const double above = std::max(pp.power - pp.idle, 1e-3 * g.tdp_w);
  return std::log(std::max(1.0, (pp.demand - pp.idle) / above));
}

double TimeOf(const PhysicalParams& p, const WorkloadCurves& w, const GpuSpec& g, double L,
              double work, const PowerParts& pp) {
  const double speed =
      std::pow(ScaleValue(g, p.time_scale, "time") / p.time_scale_ref, p.time_exponent);
  return std::exp(std::log(work) + Curve(w.log_time, L, p.knot_step) - std::log(speed) +
                  p.powerlimit_exponent * SlowdownLog(pp, g));
}

// Fits the power part (u_w, ρ, n) of `p` on rows[idx] for the hypothesis h.
void FitPower(PhysicalParams& p, const std::vector<Row>& rows, const std::vector<std::size_t>& idx,
              const PowerHyp& h, const TrainingModelOptions& o) {
  const std::size_t nw = p.workloads.size(), k = KnotCount(p.knot_step, p.log2_batch_max);
  p.idle_fraction = h.idle;
  p.power_scale = h.scale;
  p.power_exponent = h.scale == "none" ? 0.0 : h.exponent;
  p.power_scale_ref = ScaleRef(rows, idx, h.scale);
  // Demand of each (GPU, workload, batch, optimizer) group: the power at its highest limit.
  std::map<std::tuple<std::string, std::size_t, std::int64_t, std::string>, std::size_t> top;
  for (std::size_t i : idx) {
    const Row& r = rows[i];
    auto key = std::make_tuple(r.gpu->name, r.w, r.batch, r.optimizer);
    auto it = top.find(key);
    if (it == top.end() || r.pl > rows[it->second].pl) top[key] = i;
  }
  const auto n = static_cast<Eigen::Index>(top.size());
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(nw * k));
  Eigen::VectorXd y(n), a(n);
  Eigen::Index j = 0;
  const double c = h.idle;
  for (const auto& [key, i] : top) {
    const Row& r = rows[i];
    const double f = PowerFactor(p, *r.gpu);
    const auto [kk, t] = Hat(r.L, p.knot_step, k);
    A(j, static_cast<Eigen::Index>(r.w * k + kk)) = 1 - t;
    A(j, static_cast<Eigen::Index>(r.w * k + kk + 1)) = t;
    y(j) = (r.P / r.gpu->tdp_w - c) / ((1 - c) * f);
    a(j) = r.gpu->tdp_w * (1 - c) * f / r.P;  // residual in u × a = relative error of D
    ++j;
  }
  const Eigen::VectorXd beta = SolveCurves(A, y, a, nw, k, o.smoothness);
  for (std::size_t w = 0; w < nw; ++w)
    for (std::size_t q = 0; q < k; ++q)
      p.workloads[w].utilisation[q] = beta(static_cast<Eigen::Index>(w * k + q));
  double best = std::numeric_limits<double>::infinity();
  double best_rho = 1, best_soft = 8;
  for (double rho : o.cap_rhos) {
    for (double soft : o.cap_softness) {
      p.cap_rho = rho;
      p.cap_softness = soft;
      double err = 0;
      for (std::size_t i : idx) {
        const Row& r = rows[i];
        err += std::abs(PowerOf(p, p.workloads[r.w], *r.gpu, r.L, r.pl).power - r.P) / r.P;
      }
      if (err < best) {
        best = err;
        best_rho = rho;
        best_soft = soft;
      }
    }
  }
  p.cap_rho = best_rho;
  p.cap_softness = best_soft;
}

// Fits the time part (θ_w, κ) of `p`, whose power part is fitted, on rows[idx].
void FitTime(PhysicalParams& p, const std::vector<Row>& rows, const std::vector<std::size_t>& idx,
             const TimeHyp& h, const TrainingModelOptions& o) {
  const std::size_t nw = p.workloads.size(), k = KnotCount(p.knot_step, p.log2_batch_max);
  p.time_scale = h.scale;
  p.time_exponent = h.scale == "none" ? 0.0 : h.exponent;
  p.time_scale_ref = ScaleRef(rows, idx, h.scale);
  const auto n = static_cast<Eigen::Index>(idx.size());
  const auto m = static_cast<Eigen::Index>(nw * k);
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n, m + 1);
  Eigen::VectorXd y(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    const Row& r = rows[idx[static_cast<std::size_t>(j)]];
    const auto [kk, t] = Hat(r.L, p.knot_step, k);
    A(j, static_cast<Eigen::Index>(r.w * k + kk)) = 1 - t;
    A(j, static_cast<Eigen::Index>(r.w * k + kk + 1)) = t;
    A(j, m) = SlowdownLog(PowerOf(p, p.workloads[r.w], *r.gpu, r.L, r.pl), *r.gpu);
    const double speed =
        std::pow(ScaleValue(*r.gpu, p.time_scale, "time") / p.time_scale_ref, p.time_exponent);
    y(j) = std::log(r.T) - std::log(r.work) + std::log(speed);
  }
  const Eigen::VectorXd beta = SolveCurves(A, y, Eigen::VectorXd::Ones(n), nw, k, o.smoothness);
  for (std::size_t w = 0; w < nw; ++w)
    for (std::size_t q = 0; q < k; ++q)
      p.workloads[w].log_time[q] = beta(static_cast<Eigen::Index>(w * k + q));
  p.powerlimit_exponent = beta(m);
}

std::pair<double, double> PredictRow(const PhysicalParams& p, const Row& r) {
  const PowerParts pp = PowerOf(p, p.workloads[r.w], *r.gpu, r.L, r.pl);
  return {pp.power, TimeOf(p, p.workloads[r.w], *r.gpu, r.L, r.work, pp)};
}

double Mape(const std::vector<double>& truth, const std::vector<double>& pred) {
  Eigen::VectorXd a(static_cast<Eigen::Index>(truth.size())), b(a.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    a(static_cast<Eigen::Index>(i)) = truth[i];
    b(static_cast<Eigen::Index>(i)) = pred[i];
  }
  if (!b.allFinite()) return std::numeric_limits<double>::infinity();
  return regress::MAPE(a, b);
}

std::vector<std::size_t> Complement(std::size_t n, const std::vector<std::size_t>& fold) {
  std::vector<bool> in(n, false);
  for (std::size_t i : fold) in[i] = true;
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < n; ++i)
    if (!in[i]) out.push_back(i);
  return out;
}

std::vector<PowerHyp> PowerCandidates(const TrainingModelOptions& o) {
  std::vector<PowerHyp> c;
  for (const auto& s : o.power_scales) {
    const std::vector<double> none{0.0};
    for (double e : s == "none" ? none : o.power_exponents)
      for (double idle : o.idle_fractions) c.push_back({s, e, idle});
  }
  return c;
}

std::vector<TimeHyp> TimeCandidates(const TrainingModelOptions& o) {
  std::vector<TimeHyp> c;
  for (const auto& s : o.time_scales) {
    const std::vector<double> none{0.0};
    for (double e : s == "none" ? none : o.time_exponents) c.push_back({s, e});
  }
  return c;
}

json CurvesToJson(const WorkloadCurves& w) {
  return json{{"name", w.name},           {"train_gflops_per_sample", w.train_gflops_per_sample},
              {"params_m", w.params_m},   {"batch_min", w.batch_min},
              {"batch_max", w.batch_max}, {"utilisation", w.utilisation},
              {"log_time", w.log_time}};
}

}  // namespace

json TrainingModelOptions::ToJson() const {
  return json{{"time_scales", time_scales},
              {"time_exponents", time_exponents},
              {"power_scales", power_scales},
              {"power_exponents", power_exponents},
              {"idle_fractions", idle_fractions},
              {"cap_rhos", cap_rhos},
              {"cap_softness", cap_softness},
              {"smoothness", smoothness},
              {"knot_step", knot_step},
              {"log2_batch_max", log2_batch_max},
              {"folds", folds},
              {"seed", seed}};
}

json TargetModel::ToJson() const {
  return json{
      {"scale", scale}, {"exponent", exponent}, {"cv_mape", cv_mape}, {"candidates", candidates}};
}

TargetModel TargetModel::FromJson(const json& j) {
  TargetModel m;
  m.scale = j.at("scale").get<std::string>();
  m.exponent = j.at("exponent").get<double>();
  m.cv_mape = j.at("cv_mape").get<double>();
  m.candidates = CountField(j, "candidates");
  return m;
}

TrainingQuery QueryOf(const TrainingRun& r, const GpuTable& gpus) {
  TrainingQuery q;
  q.gpu = gpus.Find(r.gpu);
  q.train_gflops_per_sample = r.train_gflops_per_sample;
  q.params_m = r.params_m;
  q.samples_per_epoch = r.samples_per_epoch;
  q.batch_size = r.batch_size;
  q.power_limit_w = r.power_limit_w;
  q.workload = r.workload;
  return q;
}

void TrainingModel::Fit(const std::vector<TrainingRun>& runs, const GpuTable& gpus,
                        const TrainingModelOptions& o) {
  if (runs.empty()) throw std::runtime_error("TrainingModel::Fit: no training runs");
  if (!(o.knot_step > 0) || !(o.log2_batch_max >= 2 * o.knot_step)) {
    throw std::runtime_error(
        fmt::format("TrainingModel::Fit: knot_step {} and log2_batch_max {} give fewer than 3 "
                    "knots",
                    o.knot_step, o.log2_batch_max));
  }
  for (const auto& s : o.time_scales) ScaleValue(GpuSpec{}, s, "time");
  for (const auto& s : o.power_scales) ScaleValue(GpuSpec{}, s, "power");
  const auto pcands = PowerCandidates(o);
  const auto tcands = TimeCandidates(o);
  if (pcands.empty() || tcands.empty() || o.cap_rhos.empty() || o.cap_softness.empty())
    throw std::runtime_error("TrainingModel::Fit: an empty candidate list in the options");

  PhysicalParams base;
  base.knot_step = o.knot_step;
  base.log2_batch_max = o.log2_batch_max;
  const std::size_t k = KnotCount(o.knot_step, o.log2_batch_max);
  std::map<std::string, std::size_t> windex;
  std::vector<Row> rows;
  std::vector<GpuSpec> specs;
  specs.reserve(runs.size());
  for (const auto& r : runs) specs.push_back(gpus.Find(r.gpu));
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const TrainingRun& r = runs[i];
    if (r.power_limit_w) CheckPowerLimit(specs[i], *r.power_limit_w);
    if (r.batch_size < 1 || !(r.samples_per_epoch > 0) || !(r.train_gflops_per_sample > 0) ||
        !(r.average_power_w > 0) || !(r.epoch_time_s > 0)) {
      throw std::runtime_error(fmt::format(
          "TrainingModel::Fit: run {} ({} on {}) needs batch_size >= 1 and positive samples, "
          "GFLOPs, power and time",
          i, r.workload, r.gpu));
    }
    auto it = windex.find(r.workload);
    if (it == windex.end()) {
      it = windex.emplace(r.workload, base.workloads.size()).first;
      WorkloadCurves w;
      w.name = r.workload;
      w.train_gflops_per_sample = r.train_gflops_per_sample;
      w.params_m = r.params_m;
      w.batch_min = w.batch_max = r.batch_size;
      w.utilisation.assign(k, 0.0);
      w.log_time.assign(k, 0.0);
      base.workloads.push_back(w);
    }
    WorkloadCurves& w = base.workloads[it->second];
    w.batch_min = std::min(w.batch_min, r.batch_size);
    w.batch_max = std::max(w.batch_max, r.batch_size);
    Row row;
    row.w = it->second;
    row.batch = r.batch_size;
    row.L = std::log2(static_cast<double>(r.batch_size));
    row.gpu = &specs[i];
    row.pl = r.power_limit_w.value_or(specs[i].tdp_w);
    row.work = r.samples_per_epoch * r.train_gflops_per_sample;
    row.P = r.average_power_w;
    row.T = r.epoch_time_s;
    row.E = r.epoch_energy_j > 0 ? r.epoch_energy_j : r.average_power_w * r.epoch_time_s;
    row.optimizer = r.optimizer;
    rows.push_back(row);
  }

  std::set<std::string> distinct;
  for (const auto& s : specs) distinct.insert(s.name);
  std::vector<std::vector<std::size_t>> folds;
  if (distinct.size() >= 2) {
    for (const auto& g : distinct) {
      std::vector<std::size_t> f;
      for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].gpu->name == g) f.push_back(i);
      folds.push_back(f);
    }
  } else if (rows.size() >= 2) {
    folds = regress::KFoldIndices(rows.size(), std::min(o.folds, rows.size()), o.seed);
  }
  std::vector<double> P(rows.size()), T(rows.size()), E(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    P[i] = rows[i].P;
    T[i] = rows[i].T;
    E[i] = rows[i].E;
  }
  std::vector<std::vector<std::size_t>> train_of;
  for (const auto& f : folds) train_of.push_back(Complement(rows.size(), f));

  // Power hypothesis: out-of-fold power MAPE.
  std::size_t best_p = 0;
  double best_p_mape = std::numeric_limits<double>::infinity();
  std::vector<json> power_scores;
  for (std::size_t c = 0; c < pcands.size() && !folds.empty(); ++c) {
    std::vector<double> oof(rows.size(), 0.0);
    for (std::size_t f = 0; f < folds.size(); ++f) {
      PhysicalParams p = base;
      FitPower(p, rows, train_of[f], pcands[c], o);
      for (std::size_t i : folds[f])
        oof[i] = PowerOf(p, p.workloads[rows[i].w], *rows[i].gpu, rows[i].L, rows[i].pl).power;
    }
    const double score = Mape(P, oof);
    power_scores.push_back(json{{"scale", pcands[c].scale},
                                {"exponent", pcands[c].exponent},
                                {"idle_fraction", pcands[c].idle},
                                {"cv_mape", score}});
    if (score < best_p_mape) {
      best_p_mape = score;
      best_p = c;
    }
  }
  // Time hypothesis: out-of-fold time MAPE, with the chosen power hypothesis.
  std::vector<PhysicalParams> fold_power;
  for (std::size_t f = 0; f < folds.size(); ++f) {
    PhysicalParams p = base;
    FitPower(p, rows, train_of[f], pcands[best_p], o);
    fold_power.push_back(p);
  }
  std::size_t best_t = 0;
  double best_t_mape = std::numeric_limits<double>::infinity(), energy_cv = 0;
  std::vector<json> time_scores;
  for (std::size_t c = 0; c < tcands.size() && !folds.empty(); ++c) {
    std::vector<double> oof_p(rows.size(), 0.0), oof_t(rows.size(), 0.0), oof_e(rows.size());
    for (std::size_t f = 0; f < folds.size(); ++f) {
      PhysicalParams p = fold_power[f];
      FitTime(p, rows, train_of[f], tcands[c], o);
      for (std::size_t i : folds[f]) std::tie(oof_p[i], oof_t[i]) = PredictRow(p, rows[i]);
    }
    for (std::size_t i = 0; i < rows.size(); ++i) oof_e[i] = oof_p[i] * oof_t[i];
    const double score = Mape(T, oof_t);
    time_scores.push_back(json{{"scale", tcands[c].scale},
                               {"exponent", tcands[c].exponent},
                               {"cv_mape", score},
                               {"energy_cv_mape", Mape(E, oof_e)}});
    if (score < best_t_mape) {
      best_t_mape = score;
      best_t = c;
      energy_cv = Mape(E, oof_e);
    }
  }
  if (folds.empty()) best_p_mape = best_t_mape = energy_cv = 0;  // a single record

  params_ = base;
  FitPower(params_, rows, std::vector<std::size_t>(Complement(rows.size(), {})), pcands[best_p], o);
  FitTime(params_, rows, Complement(rows.size(), {}), tcands[best_t], o);
  power_ = TargetModel{};
  power_.scale = params_.power_scale;
  power_.exponent = params_.power_exponent;
  power_.cv_mape = best_p_mape;
  power_.candidates = pcands.size();
  time_ = TargetModel{};
  time_.scale = params_.time_scale;
  time_.exponent = params_.time_exponent;
  time_.cv_mape = best_t_mape;
  time_.candidates = tcands.size();
  energy_mode_ = "product";
  energy_cv_mape_ = energy_cv;
  gpus_.assign(distinct.begin(), distinct.end());
  n_runs_ = runs.size();
  training_ = json{{"n", runs.size()},
                   {"gpus", gpus_},
                   {"cv", distinct.size() >= 2 ? "leave-one-gpu-out" : "kfold"},
                   {"power_candidates", power_scores},
                   {"time_candidates", time_scores},
                   {"options", o.ToJson()}};
}

TrainingModel TrainingModel::FromParams(const PhysicalParams& p,
                                        const std::vector<std::string>& gpus) {
  const std::size_t k = KnotCount(p.knot_step, p.log2_batch_max);
  for (const auto& w : p.workloads) {
    if (w.utilisation.size() != k || w.log_time.size() != k) {
      throw std::runtime_error(
          fmt::format("workload '{}' has {} utilisation and {} log_time values, the knots are {}",
                      w.name, w.utilisation.size(), w.log_time.size(), k));
    }
  }
  ScaleValue(GpuSpec{}, p.power_scale, "power");
  ScaleValue(GpuSpec{}, p.time_scale, "time");
  if (!(p.idle_fraction >= 0 && p.idle_fraction < 1) || !(p.cap_rho > 0) || !(p.cap_softness > 0) ||
      !(p.power_scale_ref > 0) || !(p.time_scale_ref > 0)) {
    throw std::runtime_error(fmt::format(
        "idle_fraction {} must be in [0, 1), cap_rho {}, cap_softness {} and the scale "
        "references {}, {} must be > 0",
        p.idle_fraction, p.cap_rho, p.cap_softness, p.power_scale_ref, p.time_scale_ref));
  }
  TrainingModel m;
  m.params_ = p;
  m.gpus_ = gpus;
  m.power_.scale = p.power_scale;
  m.power_.exponent = p.power_exponent;
  m.time_.scale = p.time_scale;
  m.time_.exponent = p.time_exponent;
  return m;
}

TrainingPrediction TrainingModel::Predict(const TrainingQuery& q) const {
  if (!fitted()) throw std::runtime_error("TrainingModel::Predict: the model is not fitted");
  if (q.batch_size < 1)
    throw std::runtime_error(fmt::format("batch_size must be >= 1, got {}", q.batch_size));
  if (!(q.train_gflops_per_sample > 0) || !(q.params_m > 0) || !(q.samples_per_epoch > 0)) {
    throw std::runtime_error(fmt::format(
        "train_gflops_per_sample, params_m and samples_per_epoch must be > 0, got {}, {}, {}",
        q.train_gflops_per_sample, q.params_m, q.samples_per_epoch));
  }
  if (q.power_limit_w) CheckPowerLimit(q.gpu, *q.power_limit_w);
  TrainingPrediction out;
  const WorkloadCurves* w = nullptr;
  for (const auto& c : params_.workloads)
    if (!q.workload.empty() && c.name == q.workload) w = &c;
  auto close = [](double a, double b) { return std::abs(a - b) <= 1e-6 * std::abs(b); };
  if (!w) {
    for (const auto& c : params_.workloads) {
      if (close(q.train_gflops_per_sample, c.train_gflops_per_sample) &&
          close(q.params_m, c.params_m)) {
        w = &c;
        break;
      }
    }
  }
  if (!w) {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& c : params_.workloads) {
      const double d = std::hypot(std::log(q.train_gflops_per_sample / c.train_gflops_per_sample),
                                  std::log(q.params_m / c.params_m));
      if (d < best) {
        best = d;
        w = &c;
      }
    }
    out.workload_matched = false;
  }
  const double L = std::log2(static_cast<double>(q.batch_size));
  const double pl = q.power_limit_w.value_or(q.gpu.tdp_w);
  const PowerParts pp = PowerOf(params_, *w, q.gpu, L, pl);
  out.workload = w->name;
  out.power_w = std::min(pp.power, pl);
  out.epoch_time_s =
      TimeOf(params_, *w, q.gpu, L, q.samples_per_epoch * q.train_gflops_per_sample, pp);
  out.epoch_energy_j = out.power_w * out.epoch_time_s;
  // Far outside the fitted batch range the curves are extrapolated linearly; a corrupt or
  // hand-edited profile can make that overflow. Refuse rather than print inf (fuzz finding).
  if (!std::isfinite(out.epoch_energy_j) || !(out.power_w >= 0) || !(out.epoch_time_s >= 0)) {
    throw std::runtime_error(fmt::format(
        "TrainingModel::Predict: workload '{}' at batch size {}: the profile's curves give no "
        "finite prediction (power {} W, epoch time {} s)",
        w->name, q.batch_size, out.power_w, out.epoch_time_s));
  }
  return out;
}

bool ScaleCoverage::Outside() const {
  const double tol = 1e-9 * std::max(std::abs(min), std::abs(max));
  return value < min - tol || value > max + tol;
}

json ScaleCoverage::ToJson() const {
  return {{"scale", scale}, {"value", value}, {"min", min}, {"max", max}, {"outside", Outside()}};
}

json TrainingCoverage::ToJson() const {
  return {{"gpu_in_training", gpu_in_training}, {"time_scale", time.ToJson()},
          {"power_scale", power.ToJson()},      {"batch_range", {batch_min, batch_max}},
          {"batch_outside", batch_outside},     {"extrapolating", Extrapolating()}};
}

TrainingCoverage CoverageOf(const TrainingModel& m, const TrainingQuery& q,
                            const TrainingPrediction& p, const GpuTable& gpus) {
  if (!m.fitted()) throw std::runtime_error("CoverageOf: the model is not fitted");
  TrainingCoverage c;
  const auto& trained = m.trained_gpus();
  c.gpu_in_training = std::find(trained.begin(), trained.end(), q.gpu.name) != trained.end();
  auto cover = [&](const std::string& scale, const char* what) {
    ScaleCoverage s;
    s.scale = scale;
    s.value = s.min = s.max = ScaleValue(q.gpu, scale, what);
    bool first = true;
    for (const std::string& name : trained) {
      const GpuSpec* g = gpus.TryFind(name);
      if (!g) continue;
      const double v = ScaleValue(*g, scale, what);
      s.min = first ? v : std::min(s.min, v);
      s.max = first ? v : std::max(s.max, v);
      first = false;
    }
    return s;
  };
  c.time = cover(m.physical().time_scale, "time");
  c.power = cover(m.physical().power_scale, "power");
  const WorkloadCurves* w = nullptr;
  for (const auto& curves : m.physical().workloads)
    if (curves.name == p.workload) w = &curves;
  if (!w) {
    throw std::runtime_error(
        fmt::format("CoverageOf: workload '{}' is not in the model", p.workload));
  }
  c.batch_min = w->batch_min;
  c.batch_max = w->batch_max;
  c.batch_outside = q.batch_size < w->batch_min || q.batch_size > w->batch_max;
  return c;
}

std::vector<TrainingPrediction> TrainingModel::PredictRuns(const std::vector<TrainingRun>& runs,
                                                           const GpuTable& gpus) const {
  std::vector<TrainingPrediction> out;
  for (const auto& r : runs) out.push_back(Predict(QueryOf(r, gpus)));
  return out;
}

json TrainingModel::ToJson() const {
  if (!fitted()) throw std::runtime_error("TrainingModel::ToJson: the model is not fitted");
  const PhysicalParams& p = params_;
  json workloads = json::array();
  for (const auto& w : p.workloads) workloads.push_back(CurvesToJson(w));
  return json{
      {"kind", kKind},
      {"format_version", kFormatVersion},
      {"model", "physical"},
      {"name", name},
      {"trained_gpus", gpus_},
      {"n_runs", n_runs_},
      {"knots", {{"log2_first", 0.0}, {"step", p.knot_step}, {"log2_last", p.log2_batch_max}}},
      {"power",
       {{"idle_fraction", p.idle_fraction},
        {"scale", p.power_scale},
        {"exponent", p.power_exponent},
        {"scale_ref", p.power_scale_ref},
        {"cap_rho", p.cap_rho},
        {"cap_softness", p.cap_softness},
        {"cv_mape", power_.cv_mape},
        {"candidates", power_.candidates}}},
      {"time",
       {{"scale", p.time_scale},
        {"exponent", p.time_exponent},
        {"scale_ref", p.time_scale_ref},
        {"powerlimit_exponent", p.powerlimit_exponent},
        {"cv_mape", time_.cv_mape},
        {"candidates", time_.candidates}}},
      {"energy", {{"mode", "product"}, {"cv_mape", energy_cv_mape_}}},
      {"workloads", workloads},
      {"training", training_}};
}

TrainingModel TrainingModel::FromJson(const json& j, const std::string& where) {
  if (!j.is_object() || j.value("kind", std::string()) != kKind) {
    throw std::runtime_error(fmt::format("{}: not a {} (kind '{}')", where, kKind,
                                         j.is_object() ? j.value("kind", std::string()) : ""));
  }
  if (j.contains("format_version") && j["format_version"].is_number_integer() &&
      j["format_version"].get<int>() == 1) {
    throw std::runtime_error(fmt::format(
        "{}: format_version 1 is the kernel-ridge training profile of an older build: refit it "
        "with `joulecast fit RUNS... -o {}` (this build reads {})",
        where, where, kFormatVersion));
  }
  if (!j.contains("format_version") || !j["format_version"].is_number_integer() ||
      j["format_version"].get<int>() != kFormatVersion) {
    throw std::runtime_error(fmt::format("{}: unsupported format_version {} (this build reads {})",
                                         where, j.value("format_version", json()).dump(),
                                         kFormatVersion));
  }
  try {
    PhysicalParams p;
    const json& kn = j.at("knots");
    p.knot_step = kn.at("step").get<double>();
    p.log2_batch_max = kn.at("log2_last").get<double>();
    if (!(p.knot_step > 0) || !(p.log2_batch_max >= 2 * p.knot_step))
      throw std::runtime_error("knots: fewer than 3");
    // Checked here, not trusted: Predict indexes the curves by knot (fuzz finding, issue 7).
    if (!(p.log2_batch_max / p.knot_step <= 1000))
      throw std::runtime_error("knots: more than 1001");
    const std::size_t knots = KnotCount(p.knot_step, p.log2_batch_max);
    const json& pw = j.at("power");
    p.idle_fraction = pw.at("idle_fraction").get<double>();
    p.power_scale = pw.at("scale").get<std::string>();
    p.power_exponent = pw.at("exponent").get<double>();
    p.power_scale_ref = pw.at("scale_ref").get<double>();
    p.cap_rho = pw.at("cap_rho").get<double>();
    p.cap_softness = pw.at("cap_softness").get<double>();
    const json& tm = j.at("time");
    p.time_scale = tm.at("scale").get<std::string>();
    p.time_exponent = tm.at("exponent").get<double>();
    p.time_scale_ref = tm.at("scale_ref").get<double>();
    p.powerlimit_exponent = tm.at("powerlimit_exponent").get<double>();
    if (!(p.idle_fraction >= 0 && p.idle_fraction < 1))
      throw std::runtime_error(
          fmt::format("power.idle_fraction {} is not in [0, 1)", p.idle_fraction));
    if (!(p.cap_rho > 0) || !(p.cap_softness > 0) || !(p.power_scale_ref > 0) ||
        !(p.time_scale_ref > 0)) {
      throw std::runtime_error(
          "power.cap_rho, power.cap_softness, power.scale_ref and time.scale_ref must be > 0");
    }
    for (const auto& w : j.at("workloads")) {
      WorkloadCurves c;
      c.name = w.at("name").get<std::string>();
      c.train_gflops_per_sample = w.at("train_gflops_per_sample").get<double>();
      c.params_m = w.at("params_m").get<double>();
      c.batch_min = IntegerField(w, "batch_min");
      c.batch_max = IntegerField(w, "batch_max");
      c.utilisation = w.at("utilisation").get<std::vector<double>>();
      c.log_time = w.at("log_time").get<std::vector<double>>();
      if (!(c.train_gflops_per_sample > 0) || !(c.params_m > 0))
        throw std::runtime_error(
            fmt::format("workload '{}': non-positive GFLOPs or params", c.name));
      if (c.utilisation.size() != knots || c.log_time.size() != knots) {
        throw std::runtime_error(
            fmt::format("workload '{}': {} knots, but utilisation has {} values and log_time {}",
                        c.name, knots, c.utilisation.size(), c.log_time.size()));
      }
      p.workloads.push_back(c);
    }
    if (p.workloads.empty()) throw std::runtime_error("no workloads");
    TrainingModel m = FromParams(p, j.at("trained_gpus").get<std::vector<std::string>>());
    m.name = j.value("name", std::string());
    m.n_runs_ = CountField(j, "n_runs");
    m.power_.cv_mape = pw.at("cv_mape").get<double>();
    m.power_.candidates = CountField(pw, "candidates");
    m.time_.cv_mape = tm.at("cv_mape").get<double>();
    m.time_.candidates = CountField(tm, "candidates");
    const json& e = j.at("energy");
    if (e.at("mode").get<std::string>() != "product")
      throw std::runtime_error(fmt::format("energy mode '{}' (product)", e.at("mode").dump()));
    m.energy_cv_mape_ = e.at("cv_mape").get<double>();
    m.training_ = j.value("training", json::object());
    return m;
  } catch (const std::exception& ex) {
    throw std::runtime_error(fmt::format("{}: corrupt training profile: {}", where, ex.what()));
  }
}

TrainingModel TrainingModel::Load(const std::string& path) {
  return FromJson(ReadJsonFile(path), path);
}

void TrainingModel::Save(const std::string& path) const {
  // replace: a non-UTF-8 name or path must not fail the write
  WriteFileAtomically(
      path, ToJson().dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

bool TrainingModel::IsTrainingProfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.value("kind", std::string()) == kKind;
}

json RunsEvaluation::ToJson() const {
  json j{{"n", n},
         {"power_mape", power_mape},
         {"time_mape", time_mape},
         {"energy_mape", energy_mape},
         {"baselines",
          {{"tdp_time", {{"energy_mape", tdp_time_energy_mape}}},
           {"green_algorithms", {{"energy_mape", green_algorithms_energy_mape}}}}}};
  if (!by_gpu.empty()) {
    j["by_gpu"] = json::object();
    for (const auto& [g, e] : by_gpu) j["by_gpu"][g] = e.ToJson();
  }
  return j;
}

namespace {

RunsEvaluation Score(const std::vector<TrainingRun>& runs,
                     const std::vector<TrainingPrediction>& pred,
                     const std::vector<GpuSpec>& specs) {
  const auto n = static_cast<Eigen::Index>(runs.size());
  Eigen::VectorXd P(n), T(n), E(n), Pp(n), Tp(n), Ep(n), Btdp(n), Bga(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    P(i) = runs[k].average_power_w;
    T(i) = runs[k].epoch_time_s;
    E(i) = runs[k].epoch_energy_j;
    Pp(i) = pred[k].power_w;
    Tp(i) = pred[k].epoch_time_s;
    Ep(i) = pred[k].epoch_energy_j;
    Btdp(i) = TdpTimeEnergyJ(specs[k], T(i));
    Bga(i) = GreenAlgorithmsEnergyJ(specs[k], T(i), 1.0);
  }
  RunsEvaluation e;
  e.n = runs.size();
  e.power_mape = regress::MAPE(P, Pp);
  e.time_mape = regress::MAPE(T, Tp);
  e.energy_mape = regress::MAPE(E, Ep);
  e.tdp_time_energy_mape = regress::MAPE(E, Btdp);
  e.green_algorithms_energy_mape = regress::MAPE(E, Bga);
  return e;
}

}  // namespace

RunsEvaluation EvaluateRuns(const TrainingModel& model, const std::vector<TrainingRun>& runs,
                            const GpuTable& gpus) {
  if (runs.empty()) throw std::runtime_error("EvaluateRuns: no training runs");
  std::vector<TrainingPrediction> pred = model.PredictRuns(runs, gpus);
  std::vector<GpuSpec> specs;
  for (const auto& r : runs) specs.push_back(gpus.Find(r.gpu));
  RunsEvaluation all = Score(runs, pred, specs);
  std::set<std::string> names;
  for (const auto& s : specs) names.insert(s.name);
  if (names.size() > 1) {
    for (const auto& g : names) {
      std::vector<TrainingRun> rr;
      std::vector<TrainingPrediction> pp;
      std::vector<GpuSpec> ss;
      for (std::size_t i = 0; i < runs.size(); ++i) {
        if (specs[i].name != g) continue;
        rr.push_back(runs[i]);
        pp.push_back(pred[i]);
        ss.push_back(specs[i]);
      }
      all.by_gpu[g] = Score(rr, pp, ss);
    }
  }
  return all;
}

std::vector<HeldOutGpu> LeaveOneGpuOut(const std::vector<TrainingRun>& runs, const GpuTable& gpus,
                                       const TrainingModelOptions& options) {
  std::set<std::string> names;
  for (const auto& r : runs) names.insert(gpus.Find(r.gpu).name);
  if (names.size() < 2) {
    throw std::runtime_error(
        fmt::format("leave-one-GPU-out needs runs on at least 2 GPUs, got {}", names.size()));
  }
  std::vector<HeldOutGpu> out;
  for (const auto& g : names) {
    std::vector<TrainingRun> train, test;
    for (const auto& r : runs) (gpus.Find(r.gpu).name == g ? test : train).push_back(r);
    HeldOutGpu h;
    h.gpu = g;
    h.model.Fit(train, gpus, options);
    h.model.name = "without " + g;
    h.evaluation = EvaluateRuns(h.model, test, gpus);
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace joulecast
