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
    for (const char* e : {"add", "mul", "div", "pow", "addu", "mulu", "divu", "powu", "gelu",
                          "relu", "tanh"}) {
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

// The rows `idx` of `records` (all of one operator) as features and targets.
struct Rows {
  Eigen::MatrixXd X;
  Eigen::VectorXd y;      // ln(latency / base)
  std::vector<double> base, latency;
};

Rows MakeRows(const std::vector<GpuOpRecord>& records, const std::vector<std::size_t>& idx,
              const GpuTable& gpus, double t0) {
  Rows r;
  r.X.resize(static_cast<Eigen::Index>(idx.size()), 4);
  r.y.resize(static_cast<Eigen::Index>(idx.size()));
  for (std::size_t i = 0; i < idx.size(); ++i) {
    const GpuOpRecord& rec = records[idx[i]];
    double base = 0;
    const std::vector<double> x = GpuOpFeatures(rec.call, gpus.Find(rec.gpu), t0, &base);
    for (int j = 0; j < 4; ++j) r.X(static_cast<Eigen::Index>(i), j) = x[static_cast<std::size_t>(j)];
    r.y[static_cast<Eigen::Index>(i)] = std::log(rec.latency_s / base);
    r.base.push_back(base);
    r.latency.push_back(rec.latency_s);
  }
  return r;
}

double T0Of(const std::vector<GpuOpRecord>& records, const std::vector<std::size_t>& idx) {
  std::vector<double> lat;
  for (std::size_t i : idx) lat.push_back(records[i].latency_s);
  return Percentile(lat, 0.02);
}

// Fits f with `options` on rows `train` and returns the MAPE on rows `test`.
double FitScore(const std::vector<GpuOpRecord>& records, const std::vector<std::size_t>& train,
                const std::vector<std::size_t>& test, const GpuTable& gpus,
                const regress::TrendKernelRidgeOptions& o, std::size_t max_rows) {
  const std::vector<std::size_t> fit_rows = Spread(train, max_rows);
  const double t0 = T0Of(records, fit_rows);
  const Rows tr = MakeRows(records, fit_rows, gpus, t0);
  regress::TrendKernelRidge f(o);
  f.Fit(tr.X, tr.y);
  const Rows te = MakeRows(records, test, gpus, t0);
  const Eigen::VectorXd p = f.Predict(te.X);
  std::vector<double> pred(te.latency.size());
  for (std::size_t i = 0; i < pred.size(); ++i)
    pred[i] = te.base[i] * std::exp(p[static_cast<Eigen::Index>(i)]);
  return Mape(pred, te.latency);
}

// Rows of `idx` grouped by GPU.
std::map<std::string, std::vector<std::size_t>> ByGpu(const std::vector<GpuOpRecord>& records,
                                                      const std::vector<std::size_t>& idx) {
  std::map<std::string, std::vector<std::size_t>> by;
  for (std::size_t i : idx) by[records[i].gpu].push_back(i);
  return by;
}

// One operator's predictor from rows `idx` (all of that operator): options by leave-one-GPU-out
// among their GPUs (the first grid entry when there is one GPU only).
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
      sum += FitScore(records, train, Spread(held.second, options.max_rows), gpus, options.grid[k],
                      options.max_rows);
    }
    const double score = sum / static_cast<double>(by.size());
    scores.push_back({{"options", options.grid[k].ToJson()}, {"logo_mape_pct", score}});
    if (score < best_score) {
      best_score = score;
      best = k;
    }
  }
  GpuOpPredictor p;
  p.op = op;
  const std::vector<std::size_t> fit_rows = Spread(idx, options.max_rows);
  p.t0_s = T0Of(records, fit_rows);
  const Rows rows = MakeRows(records, fit_rows, gpus, p.t0_s);
  p.f = regress::TrendKernelRidge(options.grid.at(best));
  p.f.Fit(rows.X, rows.y);
  json trained = json::array();
  for (const auto& g : by) trained.push_back({{"gpu", g.first}, {"records", g.second.size()}});
  p.cv = {{"grid", scores}, {"chosen", best}, {"trained_on", trained},
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
      throw std::runtime_error(fmt::format("conv: the kernel ({}) is larger than the padded input ({})",
                                           c.sizes[3], c.sizes[4] + 2 * c.sizes[6]));
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

std::vector<double> GpuOpFeatures(const GpuOpCall& c, const GpuSpec& gpu, double t0_s,
                                  double* base_s) {
  const GpuOpWork w = WorkOf(c);
  const double sms = gpu.sms;
  const double waves = std::ceil(w.tiles / sms);
  const double t_c = waves * sms * w.tile_flops / PeakFlops(gpu);
  const double t_m = w.bytes / Bandwidth(gpu);
  const double base = t0_s + std::max(t_c, t_m);
  if (base_s) *base_s = base;
  return {t_c / (t_c + t_m), w.tiles / (waves * sms), 1.0 / waves, t0_s / base};
}

std::vector<regress::TrendKernelRidgeOptions> GpuOpModelOptions::DefaultGrid() {
  std::vector<regress::TrendKernelRidgeOptions> grid;
  for (int degree : {1, 2}) {
    for (bool kernel : {false, true}) {
      regress::TrendKernelRidgeOptions o;
      o.degree = degree;
      o.ridge_alpha = 1.0;
      o.use_kernel = kernel;
      o.kernel_alpha = 0.1;
      o.gamma = 0.1;
      grid.push_back(o);
    }
  }
  return grid;
}

double GpuOpPredictor::Predict(const GpuOpCall& c, const GpuSpec& gpu) const {
  double base = 0;
  const std::vector<double> x = GpuOpFeatures(c, gpu, t0_s, &base);
  Eigen::MatrixXd X(1, 4);
  for (int j = 0; j < 4; ++j) X(0, j) = x[static_cast<std::size_t>(j)];
  return base * std::exp(f.Predict(X)[0]);
}

GpuOpModel GpuOpModel::Fit(const std::vector<GpuOpRecord>& records, const GpuTable& gpus,
                           const GpuOpModelOptions& options) {
  if (options.grid.empty()) throw std::runtime_error("GpuOpModel::Fit: empty options grid");
  if (options.max_rows < 10) throw std::runtime_error("GpuOpModel::Fit: max_rows must be >= 10");
  std::map<std::string, std::vector<std::size_t>> by_op;
  for (std::size_t i = 0; i < records.size(); ++i) {
    gpus.Find(records[i].gpu);
    by_op[records[i].call.op].push_back(i);
  }
  GpuOpModel m;
  for (const std::string& op : GpuOps()) {
    auto it = by_op.find(op);
    if (it != by_op.end()) m.predictors_.push_back(FitOp(op, records, it->second, gpus, options));
  }
  if (m.predictors_.empty()) throw std::runtime_error("GpuOpModel::Fit: no records");
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
  throw std::runtime_error(fmt::format("no model for operator '{}'{}", c.op,
                                       where_.empty() ? "" : " in " + where_));
}

json GpuOpModel::ToJson() const {
  json ops = json::object();
  for (const GpuOpPredictor& p : predictors_) {
    ops[p.op] = {{"t0_s", p.t0_s}, {"model", p.f.ToJson()}, {"cv", p.cv}};
  }
  return {{"kind", kKind},
          {"format_version", kFormatVersion},
          {"unit", "s"},
          {"description",
           "GPU operator latency (float32) from a GPU's specs: base = t0 + max(whole-wave compute "
           "at FP32 peak, bytes at memory bandwidth), times exp(f(dimensionless features)); "
           "include/joulecast/predict/gpu_op_model.h"},
          {"source",
           "data/neusight2025 (Lee et al., NeuSight, ASPLOS 2025; MIT licence): PyTorch 2.1, "
           "CUDA 12.1, TF32 off"},
          {"ops", ops}};
}

GpuOpModel GpuOpModel::FromJson(const json& j, const std::string& where) {
  if (!j.is_object() || j.value("kind", "") != kKind) {
    throw std::runtime_error(fmt::format("{}: not a GPU operator model (kind must be '{}')",
                                         where, kKind));
  }
  if (!j.contains("format_version") || !j["format_version"].is_number_integer() ||
      j["format_version"].get<int>() < 1 || j["format_version"].get<int>() > kFormatVersion) {
    throw std::runtime_error(fmt::format("{}: format_version must be 1..{}", where, kFormatVersion));
  }
  if (!j.contains("ops") || !j["ops"].is_object() || j["ops"].empty())
    throw std::runtime_error(fmt::format("{}: field 'ops' must be a non-empty object", where));
  GpuOpModel m;
  m.where_ = where;
  for (const auto& [op, v] : j["ops"].items()) {
    const std::string at = fmt::format("{}: ops.{}", where, op);
    try {
      InfoOf(op);
    } catch (const std::exception& e) {
      throw std::runtime_error(at + ": " + e.what());
    }
    if (!v.is_object() || !v.contains("t0_s") || !v["t0_s"].is_number() ||
        !(v["t0_s"].get<double>() > 0) || !std::isfinite(v["t0_s"].get<double>()))
      throw std::runtime_error(at + ": field 't0_s' must be a number > 0");
    GpuOpPredictor p;
    p.op = op;
    p.t0_s = v["t0_s"].get<double>();
    try {
      p.f = regress::TrendKernelRidge::FromJson(v.at("model"));
    } catch (const std::exception& e) {
      throw std::runtime_error(at + ".model: " + e.what());
    }
    if (p.f.n_features() != 4)
      throw std::runtime_error(at + ".model: expected 4 features, got " +
                               std::to_string(p.f.n_features()));
    p.cv = v.value("cv", json::object());
    m.predictors_.push_back(std::move(p));
  }
  return m;
}

GpuOpModel GpuOpModel::Load(const std::string& path) {
  return FromJson(ReadJsonFile(path), path);
}

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
    const std::string at = fmt::format("{}:{}", path, row->line);
    if (row->fields.size() != header.size()) {
      throw std::runtime_error(fmt::format("{}: {} fields, the header has {}", at,
                                           row->fields.size(), header.size()));
    }
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
