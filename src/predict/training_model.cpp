#include "joulecast/predict/training_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>

#include "joulecast/io/atomic_file.h"
#include "joulecast/predict/energy_baselines.h"
#include "joulecast/regress/cross_validation.h"
#include "joulecast/regress/metrics.h"

namespace joulecast {
namespace {

using nlohmann::json;
using regress::TrendKernelRidge;
using regress::TrendKernelRidgeOptions;

double Cap(const TrainingQuery& q) {
  return std::min(q.power_limit_w.value_or(q.gpu.tdp_w), q.gpu.tdp_w);
}

double Work(const TrainingQuery& q) { return q.samples_per_epoch * q.train_gflops_per_sample; }

double TimeScale(const GpuSpec& g, const std::string& scale) {
  if (scale == "fp32") return g.fp32_tflops;
  if (scale == "fp16") return g.Fp16OrFp32();
  if (scale == "bandwidth") return g.memory_bandwidth_gbs / 1000.0;
  if (scale == "fp32_bandwidth") return std::sqrt(g.fp32_tflops * g.memory_bandwidth_gbs / 1000.0);
  throw std::runtime_error(
      fmt::format("unknown time scale '{}' (fp32, fp16, bandwidth, "
                  "fp32_bandwidth)",
                  scale));
}

Eigen::RowVectorXd Features(const TrainingQuery& q, bool gpu_features) {
  Eigen::RowVectorXd x(gpu_features ? 9 : 4);
  x(0) = std::log(q.train_gflops_per_sample);
  x(1) = std::log(q.params_m);
  x(2) = std::log(static_cast<double>(q.batch_size));
  x(3) = q.power_limit_w.value_or(q.gpu.tdp_w) / q.gpu.tdp_w;
  if (gpu_features) {
    x(4) = std::log(q.gpu.fp32_tflops);
    x(5) = std::log(q.gpu.Fp16OrFp32());
    x(6) = std::log(q.gpu.memory_bandwidth_gbs);
    x(7) = std::log(q.gpu.tdp_w);
    x(8) = std::log(q.gpu.memory_gb);
  }
  return x;
}

Eigen::MatrixXd FeatureMatrix(const std::vector<TrainingQuery>& qs, bool gpu_features) {
  Eigen::MatrixXd X(static_cast<Eigen::Index>(qs.size()), gpu_features ? 9 : 4);
  for (std::size_t i = 0; i < qs.size(); ++i)
    X.row(static_cast<Eigen::Index>(i)) = Features(qs[i], gpu_features);
  return X;
}

enum class Target { kPower, kTime, kEnergy };

// log of the dimensionless ratio the regressor learns, and back.
double ToLogRatio(Target t, const TrainingQuery& q, const std::string& scale, double value) {
  switch (t) {
    case Target::kPower:
      return std::log(value / Cap(q));
    case Target::kTime:
      return std::log(value * TimeScale(q.gpu, scale) / Work(q));
    case Target::kEnergy:
      return std::log(value * TimeScale(q.gpu, scale) / (Cap(q) * Work(q)));
  }
  return 0;
}

double FromLogRatio(Target t, const TrainingQuery& q, const std::string& scale, double y) {
  switch (t) {
    case Target::kPower:
      return std::min(std::exp(y) * Cap(q), q.power_limit_w.value_or(q.gpu.tdp_w));
    case Target::kTime:
      return std::exp(y) * Work(q) / TimeScale(q.gpu, scale);
    case Target::kEnergy:
      return std::exp(y) * Cap(q) * Work(q) / TimeScale(q.gpu, scale);
  }
  return 0;
}

std::vector<TrendKernelRidgeOptions> Candidates(const TrainingModelOptions& o) {
  std::vector<TrendKernelRidgeOptions> c;
  for (double ra : o.ridge_alphas) {
    TrendKernelRidgeOptions t;
    t.degree = 1;
    t.ridge_alpha = ra;
    t.use_kernel = false;
    c.push_back(t);
    for (double ka : o.kernel_alphas) {
      for (double g : o.gammas) {
        t.use_kernel = true;
        t.kernel_alpha = ka;
        t.gamma = g;
        c.push_back(t);
      }
    }
  }
  return c;
}

struct Searched {
  TargetModel best;
  Eigen::VectorXd oof;  // out-of-fold predictions of the best, in W / s / J
};

Searched Search(Target target, const std::vector<TrainingQuery>& qs,
                const Eigen::VectorXd& measured, const std::vector<std::vector<std::size_t>>& folds,
                const TrainingModelOptions& o) {
  const std::vector<std::string> power_scale{"fp32"};  // power ignores the time scale
  const auto& scales = target == Target::kPower ? power_scale : o.time_scales;
  const auto cands = Candidates(o);
  Searched s;
  double best = std::numeric_limits<double>::infinity();
  std::size_t count = 0;
  for (bool gf : o.gpu_features) {
    const Eigen::MatrixXd X = FeatureMatrix(qs, gf);
    for (const auto& scale : scales) {
      Eigen::VectorXd y(measured.size());
      for (Eigen::Index i = 0; i < y.size(); ++i)
        y(i) = ToLogRatio(target, qs[static_cast<std::size_t>(i)], scale, measured(i));
      for (const auto& c : cands) {
        ++count;
        Eigen::VectorXd pred;
        try {
          pred =
              regress::CrossValPredict(X, y, folds,
                                       [&c](const Eigen::MatrixXd& Xtr, const Eigen::VectorXd& ytr,
                                            const Eigen::MatrixXd& Xte) {
                                         TrendKernelRidge m(c);
                                         m.Fit(Xtr, ytr);
                                         return m.Predict(Xte);
                                       });
        } catch (const std::exception&) {
          continue;  // a singular or non-finite candidate simply loses
        }
        Eigen::VectorXd back(pred.size());
        for (Eigen::Index i = 0; i < pred.size(); ++i)
          back(i) = FromLogRatio(target, qs[static_cast<std::size_t>(i)], scale, pred(i));
        if (!back.allFinite()) continue;
        const double score = regress::MAPE(measured, back);
        if (score < best) {
          best = score;
          s.best.time_scale = target == Target::kPower ? "" : scale;
          s.best.gpu_features = gf;
          s.best.model = TrendKernelRidge(c);
          s.best.cv_mape = score;
          s.oof = back;
        }
      }
    }
  }
  if (!std::isfinite(best)) throw std::runtime_error("TrainingModel::Fit: every candidate failed");
  s.best.candidates = count;
  // Refit the winner on every record.
  const Eigen::MatrixXd X = FeatureMatrix(qs, s.best.gpu_features);
  Eigen::VectorXd y(measured.size());
  const std::string scale = target == Target::kPower ? "fp32" : s.best.time_scale;
  for (Eigen::Index i = 0; i < y.size(); ++i)
    y(i) = ToLogRatio(target, qs[static_cast<std::size_t>(i)], scale, measured(i));
  s.best.model.Fit(X, y);
  return s;
}

double PredictTarget(Target t, const TargetModel& m, const TrainingQuery& q) {
  const std::string scale = t == Target::kPower ? "fp32" : m.time_scale;
  Eigen::MatrixXd X = Features(q, m.gpu_features);
  return FromLogRatio(t, q, scale, m.model.Predict(X)(0));
}

}  // namespace

json TrainingModelOptions::ToJson() const {
  return json{{"time_scales", time_scales},
              {"gpu_features", gpu_features},
              {"ridge_alphas", ridge_alphas},
              {"kernel_alphas", kernel_alphas},
              {"gammas", gammas},
              {"folds", folds},
              {"seed", seed}};
}

json TargetModel::ToJson() const {
  return json{{"time_scale", time_scale},
              {"gpu_features", gpu_features},
              {"cv_mape", cv_mape},
              {"candidates", candidates},
              {"model", model.ToJson()}};
}

TargetModel TargetModel::FromJson(const json& j) {
  TargetModel m;
  m.time_scale = j.at("time_scale").get<std::string>();
  m.gpu_features = j.at("gpu_features").get<bool>();
  m.cv_mape = j.at("cv_mape").get<double>();
  m.candidates = j.at("candidates").get<std::size_t>();
  m.model = TrendKernelRidge::FromJson(j.at("model"));
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
  return q;
}

void TrainingModel::Fit(const std::vector<TrainingRun>& runs, const GpuTable& gpus,
                        const TrainingModelOptions& o) {
  if (runs.empty()) throw std::runtime_error("TrainingModel::Fit: no training runs");
  std::vector<TrainingQuery> qs;
  const auto n = static_cast<Eigen::Index>(runs.size());
  Eigen::VectorXd P(n), T(n), E(n);
  std::vector<std::string> gpu_of;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    qs.push_back(QueryOf(runs[i], gpus));
    if (runs[i].power_limit_w) CheckPowerLimit(qs.back().gpu, *runs[i].power_limit_w);
    const auto k = static_cast<Eigen::Index>(i);
    P(k) = runs[i].average_power_w;
    T(k) = runs[i].epoch_time_s;
    E(k) = runs[i].epoch_energy_j;
    gpu_of.push_back(qs.back().gpu.name);
  }
  std::set<std::string> distinct(gpu_of.begin(), gpu_of.end());
  std::vector<std::vector<std::size_t>> folds;
  if (distinct.size() >= 2) {
    for (const auto& g : distinct) {
      std::vector<std::size_t> f;
      for (std::size_t i = 0; i < gpu_of.size(); ++i)
        if (gpu_of[i] == g) f.push_back(i);
      folds.push_back(f);
    }
  } else {
    folds = regress::KFoldIndices(runs.size(), std::min(o.folds, runs.size()), o.seed);
  }
  Searched sp = Search(Target::kPower, qs, P, folds, o);
  Searched st = Search(Target::kTime, qs, T, folds, o);
  Searched se = Search(Target::kEnergy, qs, E, folds, o);
  const double product_mape = regress::MAPE(E, sp.oof.cwiseProduct(st.oof));
  power_ = sp.best;
  time_ = st.best;
  if (se.best.cv_mape < product_mape) {
    energy_mode_ = "direct";
    energy_ = se.best;
    energy_cv_mape_ = se.best.cv_mape;
  } else {
    energy_mode_ = "product";
    energy_.reset();
    energy_cv_mape_ = product_mape;
  }
  gpus_.assign(distinct.begin(), distinct.end());
  n_runs_ = runs.size();
  training_ = json{{"n", runs.size()},
                   {"gpus", gpus_},
                   {"cv", distinct.size() >= 2 ? "leave-one-gpu-out" : "kfold"},
                   {"energy_cv_mape_product", product_mape},
                   {"energy_cv_mape_direct", se.best.cv_mape},
                   {"options", o.ToJson()}};
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
  TrainingPrediction p;
  p.power_w = PredictTarget(Target::kPower, power_, q);
  p.epoch_time_s = PredictTarget(Target::kTime, time_, q);
  p.epoch_energy_j =
      energy_ ? PredictTarget(Target::kEnergy, *energy_, q) : p.power_w * p.epoch_time_s;
  return p;
}

std::vector<TrainingPrediction> TrainingModel::PredictRuns(const std::vector<TrainingRun>& runs,
                                                           const GpuTable& gpus) const {
  std::vector<TrainingPrediction> out;
  for (const auto& r : runs) out.push_back(Predict(QueryOf(r, gpus)));
  return out;
}

json TrainingModel::ToJson() const {
  if (!fitted()) throw std::runtime_error("TrainingModel::ToJson: the model is not fitted");
  return json{{"kind", kKind},
              {"format_version", kFormatVersion},
              {"name", name},
              {"trained_gpus", gpus_},
              {"n_runs", n_runs_},
              {"power", power_.ToJson()},
              {"time", time_.ToJson()},
              {"energy",
               {{"mode", energy_mode_},
                {"cv_mape", energy_cv_mape_},
                {"model", energy_ ? energy_->ToJson() : json(nullptr)}}},
              {"training", training_}};
}

TrainingModel TrainingModel::FromJson(const json& j, const std::string& where) {
  if (!j.is_object() || j.value("kind", std::string()) != kKind) {
    throw std::runtime_error(fmt::format("{}: not a {} (kind '{}')", where, kKind,
                                         j.is_object() ? j.value("kind", std::string()) : ""));
  }
  if (!j.contains("format_version") || !j["format_version"].is_number_integer() ||
      j["format_version"].get<int>() != kFormatVersion) {
    throw std::runtime_error(fmt::format("{}: unsupported format_version {} (this build reads {})",
                                         where, j.value("format_version", json()).dump(),
                                         kFormatVersion));
  }
  TrainingModel m;
  try {
    m.name = j.value("name", std::string());
    m.gpus_ = j.at("trained_gpus").get<std::vector<std::string>>();
    m.n_runs_ = j.at("n_runs").get<std::size_t>();
    m.power_ = TargetModel::FromJson(j.at("power"));
    m.time_ = TargetModel::FromJson(j.at("time"));
    const json& e = j.at("energy");
    m.energy_mode_ = e.at("mode").get<std::string>();
    m.energy_cv_mape_ = e.at("cv_mape").get<double>();
    if (m.energy_mode_ == "direct") {
      m.energy_ = TargetModel::FromJson(e.at("model"));
    } else if (m.energy_mode_ != "product") {
      throw std::runtime_error(fmt::format("energy mode '{}' (product or direct)", m.energy_mode_));
    }
    m.training_ = j.value("training", json::object());
    TimeScale(GpuSpec{}, m.time_.time_scale);
    if (m.energy_) TimeScale(GpuSpec{}, m.energy_->time_scale);
  } catch (const std::exception& ex) {
    throw std::runtime_error(fmt::format("{}: corrupt training profile: {}", where, ex.what()));
  }
  return m;
}

TrainingModel TrainingModel::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(fmt::format("{}: invalid JSON ({})", path, e.what()));
  }
  return FromJson(j, path);
}

void TrainingModel::Save(const std::string& path) const {
  WriteFileAtomically(path, ToJson().dump(1) + "\n");
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
