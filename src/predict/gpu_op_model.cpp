#include "joulecast/predict/gpu_op_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "joulecast/io/csv.h"
#include "joulecast/io/json_file.h"

namespace joulecast {
namespace {

using nlohmann::json;

struct OpInfo {
  const char* name;
  std::vector<const char*> sizes;
};

const std::vector<OpInfo>& Ops() {
  static const std::vector<OpInfo> ops = [] {
    std::vector<OpInfo> v = {
        {"linear", {"B", "M", "N", "K"}},
        {"bmm", {"B", "M", "N", "K"}},
        {"conv",
         {"B", "in_channels", "out_channels", "kernel_size", "input_size", "stride", "padding"}},
        {"ln", {"B", "H"}},
        {"softmax", {"B", "H"}}};
    for (const char* e :
         {"add", "mul", "div", "pow", "addu", "mulu", "divu", "powu", "gelu", "relu", "tanh"}) {
      v.push_back({e, {"B", "H"}});
    }
    return v;
  }();
  return ops;
}

const OpInfo& InfoOf(const std::string& op) {
  for (const OpInfo& o : Ops()) {
    if (op == o.name) return o;
  }
  throw std::runtime_error(
      fmt::format("unknown GPU operator '{}'; known: {}", op, fmt::join(GpuOps(), ", ")));
}

double Ceil(double a, double b) { return std::ceil(a / b); }

double PeakFlops(const GpuSpec& g) { return g.fp32_tflops * 1e12; }
double Bandwidth(const GpuSpec& g) { return g.memory_bandwidth_gbs * 1e9; }

const char* const kFeatureNames[kGpuOpFeatures] = {"compute_share", "wave_fill", "inv_waves",
                                                   "t0_share", "l2_share"};

double Mape(const std::vector<double>& pred, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += std::fabs(pred[i] - y[i]) / y[i];
  return y.empty() ? std::numeric_limits<double>::quiet_NaN() : 100.0 * s / y.size();
}

// At most `max_rows` of `idx`, evenly spread over it (the tables are ordered by GPU, so a stride
// keeps every GPU's share).
std::vector<std::size_t> Spread(const std::vector<std::size_t>& idx, std::size_t max_rows) {
  if (idx.size() <= max_rows) return idx;
  std::vector<std::size_t> out;
  out.reserve(max_rows);
  for (std::size_t i = 0; i < max_rows; ++i) out.push_back(idx[i * idx.size() / max_rows]);
  return out;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

const char* const kPowerTerms[] = {"none", "tdp_per_tflop", "tdp"};

bool KnownPowerTerm(const std::string& t) {
  return std::find(std::begin(kPowerTerms), std::end(kPowerTerms), t) != std::end(kPowerTerms);
}

// q of the power term: W per peak TFLOP/s, or W.
double PowerQ(const std::string& term, const GpuSpec& g) {
  return term == "tdp" ? g.tdp_w : g.tdp_w / g.fp32_tflops;
}

double Share(const std::string& term, double c, double q) {
  return term == "none" ? 1.0 : std::min(1.0, c * q);
}

// Fits one operator's predictor with candidate `cand` on rows `idx` (all of that operator).
GpuOpPredictor FitWith(const std::string& op, const std::vector<GpuOpRecord>& records,
                       const std::vector<std::size_t>& idx, const GpuTable& gpus,
                       const GpuOpCandidate& cand, double min_std) {
  GpuOpPredictor p;
  p.op = op;
  std::vector<double> lat;
  for (std::size_t i : idx) lat.push_back(records[i].latency_s);
  p.t0_s = Percentile(lat, 0.02);
  p.power = cand.power;
  p.r_lo = std::numeric_limits<double>::infinity();
  p.r_hi = 0;
  // Per row: compute time at the full peak, memory time, r.
  std::vector<double> tc1, tm, r;
  for (std::size_t i : idx) {
    const GpuSpec& g = gpus.Find(records[i].gpu);
    const GpuOpWork w = WorkOf(records[i].call);
    const double waves = std::ceil(w.tiles / g.sms);
    tc1.push_back(waves * g.sms * w.tile_flops / PeakFlops(g));
    tm.push_back(w.bytes / Bandwidth(g));
    r.push_back(PowerQ(p.power, g));
    p.r_lo = std::min(p.r_lo, r.back());
    p.r_hi = std::max(p.r_hi, r.back());
  }
  if (p.power != "none") {
    // c: the grid value (41, log-spaced over 0.005..0.5 TFLOP/s per W) with the least mean
    // |ln(latency / base)|.
    double best = std::numeric_limits<double>::infinity();
    for (int k = 0; k <= 40; ++k) {
      const double c = 0.25 / p.r_hi * std::pow(16.0 * p.r_hi / p.r_lo, k / 40.0);
      double err = 0;
      for (std::size_t i = 0; i < idx.size(); ++i) {
        const double base = p.t0_s + std::max(tc1[i] / Share(p.power, c, r[i]), tm[i]);
        err += std::fabs(std::log(lat[i] / base));
      }
      if (err < best) {
        best = err;
        p.power_c = c;
      }
    }
  }
  const Eigen::Index n = static_cast<Eigen::Index>(idx.size());
  Eigen::MatrixXd X(n, kGpuOpFeatures);
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const GpuOpRecord& rec = records[idx[static_cast<std::size_t>(i)]];
    const GpuSpec& g = gpus.Find(rec.gpu);
    double base = 0;
    const std::vector<double> x = GpuOpFeatures(rec.call, g, p.t0_s, p.PowerShare(g), &base);
    for (int j = 0; j < kGpuOpFeatures; ++j) X(i, j) = x[static_cast<std::size_t>(j)];
    y[i] = std::log(rec.latency_s / base);
  }
  p.x_lo.assign(kGpuOpFeatures, 0);
  p.x_hi.assign(kGpuOpFeatures, 0);
  int widest = 0;
  double widest_sd = -1;
  for (int j = 0; j < kGpuOpFeatures; ++j) {
    p.x_lo[static_cast<std::size_t>(j)] = X.col(j).minCoeff();
    p.x_hi[static_cast<std::size_t>(j)] = X.col(j).maxCoeff();
    const double mean = X.col(j).mean();
    const double sd = std::sqrt((X.col(j).array() - mean).square().mean());
    if (sd >= min_std) p.kept.push_back(j);
    if (sd > widest_sd) {
      widest_sd = sd;
      widest = j;
    }
  }
  if (p.kept.empty()) p.kept.push_back(widest);
  Eigen::MatrixXd Xk(n, static_cast<Eigen::Index>(p.kept.size()));
  for (std::size_t k = 0; k < p.kept.size(); ++k)
    Xk.col(static_cast<Eigen::Index>(k)) = X.col(p.kept[k]);
  p.f = regress::TrendKernelRidge(cand.f);
  p.f.Fit(Xk, y);
  p.f_lo = y.minCoeff();
  p.f_hi = y.maxCoeff();
  return p;
}

double MapeOf(const GpuOpPredictor& p, const std::vector<GpuOpRecord>& records,
              const std::vector<std::size_t>& idx, const GpuTable& gpus) {
  std::vector<double> pred, y;
  for (std::size_t i : idx) {
    pred.push_back(p.Predict(records[i].call, gpus.Find(records[i].gpu)));
    y.push_back(records[i].latency_s);
  }
  return Mape(pred, y);
}

// Rows of `idx` grouped by GPU.
std::map<std::string, std::vector<std::size_t>> ByGpu(const std::vector<GpuOpRecord>& records,
                                                      const std::vector<std::size_t>& idx) {
  std::map<std::string, std::vector<std::size_t>> by;
  for (std::size_t i : idx) by[records[i].gpu].push_back(i);
  return by;
}

// One operator's predictor from rows `idx` (all of that operator): the candidate by
// leave-one-GPU-out among their GPUs (the first candidate when there is one GPU only).
GpuOpPredictor FitOp(const std::string& op, const std::vector<GpuOpRecord>& records,
                     const std::vector<std::size_t>& idx, const GpuTable& gpus,
                     const GpuOpModelOptions& options) {
  const auto by = ByGpu(records, idx);
  std::size_t best = 0;
  double best_score = std::numeric_limits<double>::infinity();
  json scores = json::array();
  for (std::size_t k = 0; k < options.grid.size() && by.size() > 1; ++k) {
    double sum = 0;
    for (const auto& held : by) {
      std::vector<std::size_t> train;
      for (const auto& other : by) {
        if (other.first != held.first)
          train.insert(train.end(), other.second.begin(), other.second.end());
      }
      const GpuOpPredictor p = FitWith(op, records, Spread(train, options.max_rows), gpus,
                                       options.grid[k], options.min_feature_std);
      sum += MapeOf(p, records, Spread(held.second, options.max_rows), gpus);
    }
    const double score = sum / static_cast<double>(by.size());
    scores.push_back({{"candidate", options.grid[k].ToJson()}, {"logo_mape_pct", score}});
    if (score < best_score) {
      best_score = score;
      best = k;
    }
  }
  const std::vector<std::size_t> fit_rows = Spread(idx, options.max_rows);
  GpuOpPredictor p =
      FitWith(op, records, fit_rows, gpus, options.grid.at(best), options.min_feature_std);
  json trained = json::array();
  for (const auto& g : by) trained.push_back({{"gpu", g.first}, {"records", g.second.size()}});
  p.cv = {{"grid", scores},
          {"chosen", best},
          {"trained_on", trained},
          {"rows_fitted", fit_rows.size()}};
  return p;
}

}  // namespace

const std::vector<std::string>& GpuOps() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const OpInfo& o : Ops()) v.emplace_back(o.name);
    return v;
  }();
  return names;
}

GpuOpWork WorkOf(const GpuOpCall& c) {
  const OpInfo& info = InfoOf(c.op);
  if (c.sizes.size() != info.sizes.size()) {
    throw std::runtime_error(fmt::format("{}: expected {} sizes ({}), got {}", c.op,
                                         info.sizes.size(), fmt::join(info.sizes, ", "),
                                         c.sizes.size()));
  }
  const bool conv = c.op == "conv";
  for (std::size_t i = 0; i < c.sizes.size(); ++i) {
    const bool padding = conv && i == 6;
    if (c.sizes[i] < (padding ? 0 : 1) || c.sizes[i] > (std::int64_t{1} << 40)) {
      throw std::runtime_error(fmt::format("{}: size {} = {} must be >= {} and <= 2^40", c.op,
                                           info.sizes[i], c.sizes[i], padding ? 0 : 1));
    }
  }
  std::vector<double> s(c.sizes.begin(), c.sizes.end());
  GpuOpWork w;
  if (c.op == "linear" || c.op == "bmm") {
    const double b = s[0], m = s[1], n = s[2], k = s[3];
    w.flops = 2 * b * m * n * k;
    w.bytes = 4 * (b * m * k + (c.op == "bmm" ? b : 1) * k * n + b * m * n);
    w.tiles = c.op == "bmm" ? b * Ceil(m, 128) * Ceil(n, 128) : Ceil(b * m, 128) * Ceil(n, 128);
    w.tile_flops = 2 * 128 * 128 * k;
  } else if (conv) {
    const double b = s[0], ci = s[1], co = s[2], k = s[3], h = s[4], st = s[5], p = s[6];
    if (k > h + 2 * p) {
      throw std::runtime_error(
          fmt::format("conv: the kernel ({}) is larger than the padded input ({})", c.sizes[3],
                      c.sizes[4] + 2 * c.sizes[6]));
    }
    const double ho = std::floor((h + 2 * p - k) / st) + 1;
    w.flops = 2 * b * co * ho * ho * ci * k * k;
    w.bytes = 4 * (b * ci * h * h + co * ci * k * k + b * co * ho * ho);
    w.tiles = Ceil(b * ho * ho, 128) * Ceil(co, 128);
    w.tile_flops = 2 * 128 * 128 * ci * k * k;
  } else {
    const double rows = s[0], n = s[0] * s[1];
    const bool binary = c.op == "add" || c.op == "mul" || c.op == "div" || c.op == "pow";
    const bool normalising = c.op == "ln" || c.op == "softmax";
    w.flops = (normalising ? 5 : 1) * n;
    w.bytes = 4 * n * (binary ? 3 : 2);
    w.tiles = normalising ? rows : Ceil(n, 1024);
    w.tile_flops = w.flops / w.tiles;
  }
  return w;
}

double RooflineSeconds(const GpuOpWork& w, const GpuSpec& gpu) {
  return std::max(w.flops / PeakFlops(gpu), w.bytes / Bandwidth(gpu));
}

std::vector<double> GpuOpFeatures(const GpuOpCall& c, const GpuSpec& gpu, double t0_s, double s,
                                  double* base_s) {
  if (!gpu.l2_cache_mb) {
    throw std::runtime_error(
        fmt::format("GPU '{}': field 'l2_cache_mb' is needed by the GPU operator model "
                    "(data/hardware/gpus.json)",
                    gpu.name));
  }
  const GpuOpWork w = WorkOf(c);
  const double sms = gpu.sms;
  const double waves = std::ceil(w.tiles / sms);
  const double t_c = waves * sms * w.tile_flops / (s * PeakFlops(gpu));
  const double t_m = w.bytes / Bandwidth(gpu);
  const double base = t0_s + std::max(t_c, t_m);
  const double l2 = *gpu.l2_cache_mb * 1048576.0;
  if (base_s) *base_s = base;
  return {t_c / (t_c + t_m), w.tiles / (waves * sms), 1.0 / waves, t0_s / base,
          w.bytes / (w.bytes + l2)};
}

json GpuOpCandidate::ToJson() const { return {{"power", power}, {"f", f.ToJson()}}; }

std::vector<GpuOpCandidate> GpuOpModelOptions::DefaultGrid() {
  std::vector<GpuOpCandidate> grid;
  for (const char* a : kPowerTerms) {
    for (int degree : {1, 2}) {
      for (bool kernel : {false, true}) {
        GpuOpCandidate c;
        c.power = a;
        c.f.degree = degree;
        c.f.ridge_alpha = 1.0;
        c.f.use_kernel = kernel;
        c.f.kernel_alpha = 0.1;
        c.f.gamma = 0.1;
        grid.push_back(c);
      }
    }
  }
  return grid;
}

double GpuOpPredictor::PowerShare(const GpuSpec& gpu) const {
  return Share(power, power_c, std::clamp(PowerQ(power, gpu), r_lo, r_hi));
}

double GpuOpPredictor::Predict(const GpuOpCall& c, const GpuSpec& gpu) const {
  double base = 0;
  const std::vector<double> x = GpuOpFeatures(c, gpu, t0_s, PowerShare(gpu), &base);
  Eigen::MatrixXd X(1, static_cast<Eigen::Index>(kept.size()));
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const auto j = static_cast<std::size_t>(kept[k]);
    X(0, static_cast<Eigen::Index>(k)) = std::clamp(x[j], x_lo[j], x_hi[j]);
  }
  const double fx = f.Predict(X)[0];
  return base * std::exp(f_lo < f_hi ? std::clamp(fx, f_lo, f_hi) : fx);
}

GpuOpModel GpuOpModel::Fit(const std::vector<GpuOpRecord>& records, const GpuTable& gpus,
                           const GpuOpModelOptions& options) {
  if (options.grid.empty()) throw std::runtime_error("GpuOpModel::Fit: empty options grid");
  if (options.max_rows < 10) throw std::runtime_error("GpuOpModel::Fit: max_rows must be >= 10");
  for (const GpuOpCandidate& c : options.grid) {
    if (!KnownPowerTerm(c.power))
      throw std::runtime_error(fmt::format("GpuOpModel::Fit: unknown power term '{}'; known: {}",
                                           c.power, fmt::join(kPowerTerms, ", ")));
  }
  std::map<std::string, std::vector<std::size_t>> by_op, older;
  std::set<std::string> names;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const GpuSpec& g = gpus.Find(records[i].gpu);
    const std::string& op = records[i].call.op;
    const bool newer_only =
        std::find(options.newer_gpus_only.begin(), options.newer_gpus_only.end(), op) !=
        options.newer_gpus_only.end();
    double cc = options.min_compute_capability;
    if (newer_only && !g.compute_capability.empty()) {
      try {
        cc = ParseDouble(g.compute_capability, "compute_capability");
      } catch (const std::exception&) {
        throw std::runtime_error(fmt::format("GPU '{}': compute_capability '{}' is not a number",
                                             g.name, g.compute_capability));
      }
    }
    if (cc < options.min_compute_capability) {
      older[op].push_back(i);
      continue;
    }
    names.insert(g.name);
    by_op[op].push_back(i);
  }
  for (auto& [op, idx] : older) {
    if (by_op.count(op)) continue;
    for (std::size_t i : idx) names.insert(gpus.Find(records[i].gpu).name);
    by_op[op] = idx;
  }
  GpuOpModel m;
  for (const std::string& op : GpuOps()) {
    auto it = by_op.find(op);
    if (it != by_op.end()) m.predictors_.push_back(FitOp(op, records, it->second, gpus, options));
  }
  if (m.predictors_.empty()) throw std::runtime_error("GpuOpModel::Fit: no records");
  m.hardware = {{"fitted_on", names}};
  return m;
}

bool GpuOpModel::Has(const std::string& op) const {
  return std::any_of(predictors_.begin(), predictors_.end(),
                     [&](const GpuOpPredictor& p) { return p.op == op; });
}

double GpuOpModel::Predict(const GpuOpCall& c, const GpuSpec& gpu) const {
  InfoOf(c.op);
  for (const GpuOpPredictor& p : predictors_) {
    if (p.op == c.op) return p.Predict(c, gpu);
  }
  throw std::runtime_error(
      fmt::format("no model for operator '{}'{}", c.op, where_.empty() ? "" : " in " + where_));
}

json GpuOpModel::ToJson() const {
  json ops = json::object();
  for (const GpuOpPredictor& p : predictors_) {
    json kept = json::array();
    for (int j : p.kept) kept.push_back(kFeatureNames[j]);
    ops[p.op] = {{"t0_s", p.t0_s},        {"power", p.power},
                 {"power_c", p.power_c},  {"power_q_range", {p.r_lo, p.r_hi}},
                 {"feature_lo", p.x_lo},  {"feature_hi", p.x_hi},
                 {"kept_features", kept}, {"target_range", {p.f_lo, p.f_hi}},
                 {"model", p.f.ToJson()}, {"cv", p.cv}};
  }
  json features = json::array();
  for (const char* f : kFeatureNames) features.push_back(f);
  return {{"kind", kKind},
          {"format_version", kFormatVersion},
          {"unit", "s"},
          {"description",
           "GPU operator latency (float32) from a GPU's specs: base = t0 + max(whole-wave compute "
           "at s times the FP32 peak, s = min(1, (c*TDP/peak)^a), bytes at memory bandwidth), "
           "times exp(f(clamped dimensionless features)), f clamped to its targets' range in "
           "fitting; include/joulecast/predict/gpu_op_model.h"},
          {"features", features},
          {"hardware", hardware},
          {"cv", cv},
          {"glue_s", glue_s},
          {"launch_floor_s", launch_floor_s},
          {"network", network},
          {"ops", ops}};
}

namespace {

double NumberField(const json& v, const char* field, const std::string& at, bool positive) {
  if (!v.contains(field) || !v[field].is_number() || !std::isfinite(v[field].get<double>()) ||
      (positive ? !(v[field].get<double>() > 0) : v[field].get<double>() < 0)) {
    throw std::runtime_error(
        fmt::format("{}: field '{}' must be a number {} 0", at, field, positive ? ">" : ">="));
  }
  return v[field].get<double>();
}

std::vector<double> UnitVector(const json& v, const char* field, const std::string& at) {
  if (!v.contains(field) || !v[field].is_array() || v[field].size() != kGpuOpFeatures)
    throw std::runtime_error(fmt::format("{}: field '{}' must be an array of {} numbers in [0, 1]",
                                         at, field, kGpuOpFeatures));
  std::vector<double> out;
  for (const json& e : v[field]) {
    if (!e.is_number() || !(e.get<double>() >= 0) || !(e.get<double>() <= 1))
      throw std::runtime_error(fmt::format(
          "{}: field '{}' must be an array of {} numbers in [0, 1]", at, field, kGpuOpFeatures));
    out.push_back(e.get<double>());
  }
  return out;
}

// Field `field` of `v` as [lo, hi]: two finite numbers, lo <= hi, and lo > 0 with `positive`;
// throws "at: field 'field' must be [lo, hi], <rule>" otherwise (missing included).
std::pair<double, double> RangeField(const json& v, const char* field, const std::string& at,
                                     bool positive, const char* rule) {
  const json& r = v.contains(field) ? v[field] : json();
  if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number() ||
      !std::isfinite(r[0].get<double>()) || !std::isfinite(r[1].get<double>()) ||
      !(r[1].get<double>() >= r[0].get<double>()) || (positive && !(r[0].get<double>() > 0)))
    throw std::runtime_error(fmt::format("{}: field '{}' must be [lo, hi], {}", at, field, rule));
  return {r[0].get<double>(), r[1].get<double>()};
}

}  // namespace

GpuOpModel GpuOpModel::FromJson(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string() ||
      j["kind"].get<std::string>() != kKind) {
    throw std::runtime_error(
        fmt::format("{}: not a GPU operator model (field 'kind' must be '{}')", where, kKind));
  }
  // Version 2 files predate the glue between kernels (read as none).
  if (!j.contains("format_version") || !j["format_version"].is_number_integer() ||
      j["format_version"].get<int>() < 2 || j["format_version"].get<int>() > kFormatVersion) {
    throw std::runtime_error(
        fmt::format("{}: field 'format_version' must be 2 or {}", where, kFormatVersion));
  }
  if (!j.contains("ops") || !j["ops"].is_object() || j["ops"].empty())
    throw std::runtime_error(fmt::format("{}: field 'ops' must be a non-empty object", where));
  GpuOpModel m;
  m.where_ = where;
  m.hardware = j.value("hardware", json::object());
  m.cv = j.value("cv", json::array());
  if (j.contains("glue_s")) m.glue_s = NumberField(j, "glue_s", where, false);
  if (j.contains("launch_floor_s"))
    m.launch_floor_s = NumberField(j, "launch_floor_s", where, false);
  m.network = j.value("network", json::object());
  for (const auto& [op, v] : j["ops"].items()) {
    const std::string at = fmt::format("{}: ops.{}", where, op);
    try {
      InfoOf(op);
    } catch (const std::exception& e) {
      throw std::runtime_error(at + ": " + e.what());
    }
    if (!v.is_object()) throw std::runtime_error(at + ": must be an object");
    GpuOpPredictor p;
    p.op = op;
    p.t0_s = NumberField(v, "t0_s", at, true);
    if (!v.contains("power") || !v["power"].is_string() ||
        !KnownPowerTerm(v["power"].get<std::string>()))
      throw std::runtime_error(
          fmt::format("{}: field 'power' must be one of: {}", at, fmt::join(kPowerTerms, ", ")));
    p.power = v["power"].get<std::string>();
    p.power_c = NumberField(v, "power_c", at, true);
    std::tie(p.r_lo, p.r_hi) = RangeField(v, "power_q_range", at, true, "0 < lo <= hi");
    p.x_lo = UnitVector(v, "feature_lo", at);
    p.x_hi = UnitVector(v, "feature_hi", at);
    if (v.contains("target_range"))
      std::tie(p.f_lo, p.f_hi) = RangeField(v, "target_range", at, false, "finite, lo <= hi");
    if (!v.contains("kept_features") || !v["kept_features"].is_array() ||
        v["kept_features"].empty())
      throw std::runtime_error(at + ": field 'kept_features' must be a non-empty array of names");
    for (const json& name : v["kept_features"]) {
      const auto* it = std::find_if(std::begin(kFeatureNames), std::end(kFeatureNames),
                                    [&](const char* f) { return name.is_string() && name == f; });
      if (it == std::end(kFeatureNames))
        throw std::runtime_error(
            fmt::format("{}: field 'kept_features': unknown feature {}; known: {}", at, name.dump(),
                        fmt::join(kFeatureNames, ", ")));
      p.kept.push_back(static_cast<int>(it - std::begin(kFeatureNames)));
    }
    try {
      p.f = regress::TrendKernelRidge::FromJson(v.at("model"));
    } catch (const std::exception& e) {
      throw std::runtime_error(at + ".model: " + e.what());
    }
    if (p.f.n_features() != static_cast<Eigen::Index>(p.kept.size()))
      throw std::runtime_error(fmt::format("{}.model: expected {} features (kept_features), got {}",
                                           at, p.kept.size(), p.f.n_features()));
    p.cv = v.value("cv", json::object());
    m.predictors_.push_back(std::move(p));
  }
  return m;
}

GpuOpModel GpuOpModel::Load(const std::string& path) { return FromJson(ReadJsonFile(path), path); }

std::vector<GpuOpRecord> LoadNeuSightTable(const std::string& path, const GpuTable& gpus) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  CsvReader reader(in, path);
  const auto head = reader.Next();
  if (!head) throw std::runtime_error(path + ": empty file");
  const CsvHeader header(head->fields);
  const std::size_t op_col = header.Index("op", path), gpu_col = header.Index("gpu", path),
                    lat_col = header.Index("latency_ms", path);
  std::vector<GpuOpRecord> out;
  while (auto row = reader.Next()) {
    header.RequireWidth(*row, path);
    const std::string at = fmt::format("{}:{}", path, row->line);
    GpuOpRecord r;
    r.line = row->line;
    r.call.op = row->fields[op_col];
    r.gpu = row->fields[gpu_col];
    try {
      const OpInfo& info = InfoOf(r.call.op);
      for (const char* s : info.sizes)
        r.call.sizes.push_back(ParseInt(row->fields[header.Index(s, path)], s));
      r.latency_s = ParseDouble(row->fields[lat_col], "latency_ms") * 1e-3;
      if (!(r.latency_s > 0)) throw std::runtime_error("latency_ms must be > 0");
      WorkOf(r.call);
      r.gpu = gpus.Find(r.gpu).name;
    } catch (const std::exception& e) {
      throw std::runtime_error(at + ": " + e.what());
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<GpuOpScore> LeaveOneGpuOut(const std::vector<GpuOpRecord>& records,
                                       const GpuTable& gpus, const GpuOpModelOptions& options) {
  std::map<std::string, std::vector<std::size_t>> by_op;
  for (std::size_t i = 0; i < records.size(); ++i) by_op[records[i].call.op].push_back(i);
  std::vector<GpuOpScore> scores;
  for (const std::string& op : GpuOps()) {
    auto it = by_op.find(op);
    if (it == by_op.end()) continue;
    const auto by = ByGpu(records, it->second);
    if (by.size() < 2) continue;
    for (const auto& held : by) {
      std::vector<GpuOpRecord> train;
      for (const auto& other : by) {
        if (other.first == held.first) continue;
        for (std::size_t i : other.second) train.push_back(records[i]);
      }
      const GpuOpModel m = GpuOpModel::Fit(train, gpus, options);
      std::vector<GpuOpRecord> test;
      for (std::size_t i : held.second) test.push_back(records[i]);
      const std::vector<GpuOpScore> s = ScoreGpuOps(m, test, gpus);
      scores.insert(scores.end(), s.begin(), s.end());
    }
  }
  return scores;
}

json GpuOpScoresJson(const std::vector<GpuOpScore>& scores) {
  json j = json::array();
  for (const GpuOpScore& s : scores) {
    j.push_back({{"op", s.op},
                 {"gpu", s.gpu},
                 {"n", s.n},
                 {"mape_pct", s.mape},
                 {"roofline_mape_pct", s.roofline_mape}});
  }
  return j;
}

std::vector<GpuOpScore> ScoreGpuOps(const GpuOpModel& model,
                                    const std::vector<GpuOpRecord>& records, const GpuTable& gpus) {
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < records.size(); ++i)
    groups[{records[i].call.op, records[i].gpu}].push_back(i);
  std::vector<GpuOpScore> out;
  for (const std::string& op : GpuOps()) {
    for (const auto& [key, idx] : groups) {
      if (key.first != op) continue;
      const GpuSpec& gpu = gpus.Find(key.second);
      std::vector<double> pred, roof, y;
      for (std::size_t i : idx) {
        pred.push_back(model.Predict(records[i].call, gpu));
        roof.push_back(RooflineSeconds(WorkOf(records[i].call), gpu));
        y.push_back(records[i].latency_s);
      }
      out.push_back({op, key.second, idx.size(), Mape(pred, y), Mape(roof, y)});
    }
  }
  return out;
}

}  // namespace joulecast
