#include "joulecast/predict/gpu_network.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/io/csv.h"
#include "joulecast/io/data_path.h"

namespace joulecast {
namespace {

using nlohmann::json;

// Kernels of one pass, with the predictions cached by call (a transformer repeats its blocks).
class KernelCosts {
 public:
  KernelCosts(const GpuOpModel& model, const GpuSpec& gpu, bool isolated, double floor_s)
      : model_(model), gpu_(gpu), isolated_(isolated), floor_s_(floor_s) {}

  struct Cost {
    double s = 0, alone_s = 0, roofline_s = 0;
  };

  const Cost& Of(const graph::GpuKernel& k) {
    std::string key = k.op;
    for (std::int64_t v : k.sizes) key += fmt::format(",{}", v);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    const GpuOpCall call{k.op, k.sizes};
    Cost c;
    c.alone_s = model_.Predict(call, gpu_);
    c.s = isolated_ ? c.alone_s : std::max(floor_s_, c.alone_s - T0Of(k.op));
    c.roofline_s = RooflineSeconds(WorkOf(call), gpu_);
    return cache_.emplace(std::move(key), c).first->second;
  }

 private:
  double T0Of(const std::string& op) const {
    for (const GpuOpPredictor& p : model_.predictors())
      if (p.op == op) return p.t0_s;
    return 0;
  }
  const GpuOpModel& model_;
  const GpuSpec& gpu_;
  const bool isolated_;
  const double floor_s_;
  std::unordered_map<std::string, Cost> cache_;
};

void Add(GpuPhaseTotal& t, double s) {
  ++t.kernels;
  t.s += s;
}

json PhaseJson(const GpuPhaseTotal& t) { return {{"kernels", t.kernels}, {"s", t.s}}; }

json ByJson(const std::map<std::string, GpuPhaseTotal>& m, double total) {
  json j = json::object();
  for (const auto& [k, t] : m)
    j[k] = {{"kernels", t.kernels}, {"s", t.s}, {"share", total > 0 ? t.s / total : 0.0}};
  return j;
}

}  // namespace

std::vector<bool> NeedsGradient(const graph::Graph& g, const std::vector<std::string>& frozen) {
  std::vector<bool> needs(g.values().size(), false);
  const std::vector<bool> is_frozen = graph::FrozenParameters(g, frozen);
  for (std::size_t v = 0; v < g.values().size(); ++v) {
    const graph::Value& val = g.values()[v];
    if (val.role != graph::ValueRole::kParameter || !graph::IsFloating(val.type.dtype)) continue;
    needs[v] = !is_frozen[v];
  }
  if (!frozen.empty() && std::none_of(needs.begin(), needs.end(), [](bool b) { return b; })) {
    throw std::runtime_error(
        fmt::format("--freeze: every parameter of {} is frozen: a training step would train "
                    "nothing",
                    g.name));
  }
  for (const graph::Node& n : g.nodes()) {
    bool any = false;
    for (graph::ValueId in : n.inputs) any = any || (in != graph::kNoValue && needs[in]);
    if (!any) continue;
    for (graph::ValueId out : n.outputs) needs[out] = graph::IsFloating(g.value(out).type.dtype);
  }
  return needs;
}

GpuNetworkEstimate EstimateOnGpu(const graph::Graph& g, const GpuOpModel& model, const GpuSpec& gpu,
                                 const GpuNetworkOptions& options) {
  const bool train = options.mode == "train_step";
  if (!train && options.mode != "forward") {
    throw std::runtime_error(fmt::format(
        "unknown mode '{}' for a GPU estimate; known: forward, train_step", options.mode));
  }
  if (options.optimizer != "sgd" && options.optimizer != "adam" && options.optimizer != "none") {
    throw std::runtime_error(
        fmt::format("unknown optimizer '{}'; known: sgd, adam, none", options.optimizer));
  }
  if (!(options.glue_s >= 0) || !std::isfinite(options.glue_s))
    throw std::runtime_error(fmt::format("glue per kernel must be >= 0, got {}", options.glue_s));
  if (!(options.launch_floor_s >= 0) || !std::isfinite(options.launch_floor_s)) {
    throw std::runtime_error(
        fmt::format("launch floor must be >= 0, got {}", options.launch_floor_s));
  }
  if (!train && !options.frozen.empty())
    throw std::runtime_error("--freeze needs --mode train_step (a forward pass trains nothing)");
  GpuNetworkEstimate est;
  est.name = g.name;
  est.gpu = gpu.name;
  est.mode = options.mode;
  est.optimizer = train ? options.optimizer : "";
  est.batch_size = g.batch();
  KernelCosts costs(model, gpu, options.isolated, options.launch_floor_s);
  const std::vector<bool> needs =
      train ? NeedsGradient(g, options.frozen) : std::vector<bool>(g.values().size(), false);
  const auto run = [&](const graph::Node& node, const graph::GpuKernel& k, GpuPhaseTotal& phase) {
    const KernelCosts::Cost* c = nullptr;
    try {
      c = &costs.Of(k);
    } catch (const std::exception& e) {
      throw std::runtime_error(
          fmt::format("{}: {} ({}): {}", g.name, node.name, node.op, e.what()));
    }
    Add(phase, c->s);
    Add(est.by_op[node.op], c->s);
    Add(est.by_kernel[k.op], c->s);
    if (k.proxy) {
      est.proxy_s += c->s;
      Add(est.proxies[node.op], c->s);
    }
    est.roofline_s += c->roofline_s;
    est.isolated_s += c->alone_s;
  };
  std::vector<graph::GpuForm> forms(g.nodes().size());
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(g.nodes().size()); ++n) {
    const graph::Node& node = g.node(n);
    try {
      forms[n] = graph::GpuFormOf(*node.schema, graph::MakeCall(g, n));
    } catch (const std::exception& e) {
      throw std::runtime_error(
          fmt::format("{}: {} ({}): {}", g.name, node.name, node.op, e.what()));
    }
    const graph::GpuForm& f = forms[n];
    const std::vector<graph::GpuKernel>& kernels =
        train && f.training_forward ? *f.training_forward : f.forward;
    for (const graph::GpuKernel& k : kernels) run(node, k, est.forward);
  }
  if (train) {
    for (graph::NodeId n = static_cast<graph::NodeId>(g.nodes().size()) - 1; n >= 0; --n) {
      const graph::Node& node = g.node(n);
      for (std::size_t i = 0; i < node.inputs.size() && i < forms[n].grads.size(); ++i) {
        if (node.inputs[i] == graph::kNoValue || !needs[node.inputs[i]]) continue;
        for (const graph::GpuKernel& k : forms[n].grads[i]) run(node, k, est.backward);
      }
    }
  }
  // Every parameter counts; only those that need a gradient (none in a forward pass) are updated.
  const int per_tensor = options.optimizer == "sgd" ? 2 : options.optimizer == "adam" ? 5 : 0;
  static const graph::Node kOptimizerNode{"optimizer", "optimizer", nullptr, {}, {}, {}, ""};
  for (std::size_t v = 0; v < g.values().size(); ++v) {
    const graph::Value& val = g.values()[v];
    if (val.role != graph::ValueRole::kParameter) continue;
    const double p = val.type.elements();
    est.parameters += p;
    if (!needs[v]) continue;
    est.trainable_parameters += p;
    const std::int64_t h = val.type.dims.empty() ? 1 : val.type.dims.back();
    const std::vector<std::int64_t> rows = {
        static_cast<std::int64_t>(p / static_cast<double>(std::max<std::int64_t>(h, 1))), h};
    for (int i = 0; i < per_tensor; ++i)
      run(kOptimizerNode, graph::GpuKernel{i % 2 ? "add" : "mul", rows}, est.optimizer_step);
  }
  est.kernels = est.forward.kernels + est.backward.kernels + est.optimizer_step.kernels;
  est.kernels_s = est.forward.s + est.backward.s + est.optimizer_step.s;
  est.glue_s = options.isolated ? 0.0 : options.glue_s * static_cast<double>(est.kernels);
  est.total_s = est.kernels_s + est.glue_s;
  return est;
}

json GpuNetworkEstimate::PhasesJson() const {
  json j = {{"forward", PhaseJson(forward)}};
  if (mode == "train_step") {
    j["backward"] = PhaseJson(backward);
    j["optimizer"] = PhaseJson(optimizer_step);
  }
  return j;
}

json GpuNetworkEstimate::ToJson() const {
  json j = {{"name", name},           {"gpu", gpu},
            {"mode", mode},           {"batch_size", batch_size},
            {"total_s", total_s},     {"per_sample_s", total_s / static_cast<double>(batch_size)},
            {"kernels_s", kernels_s}, {"isolated_s", isolated_s},
            {"glue_s", glue_s},       {"roofline_s", roofline_s},
            {"kernels", kernels},     {"parameters", parameters}};
  j["phases"] = PhasesJson();
  if (mode == "train_step") {
    j["optimizer"] = optimizer;
    j["trainable_parameters"] = trainable_parameters;
  }
  j["by_op"] = ByJson(by_op, total_s);
  j["by_kernel"] = ByJson(by_kernel, total_s);
  j["proxy"] = {{"s", proxy_s},
                {"share", total_s > 0 ? proxy_s / total_s : 0.0},
                {"by_op", ByJson(proxies, total_s)}};
  return j;
}

GpuPower GpuNetworkPower(const TrainingModel& power_model, const GpuSpec& gpu,
                         const graph::Graph& g, std::optional<double> power_limit_w) {
  const graph::NodeCounts c = graph::TotalCounts(g, graph::CountNodes(g));
  TrainingQuery q;
  q.gpu = gpu;
  q.batch_size = g.batch();
  q.train_gflops_per_sample = 6 * c.macs / static_cast<double>(g.batch()) / 1e9;
  q.params_m = g.ParameterCount() / 1e6;
  q.samples_per_epoch = static_cast<double>(g.batch());
  q.power_limit_w = power_limit_w;
  const TrainingPrediction p = power_model.Predict(q);
  return GpuPower{p.power_w, power_limit_w.value_or(gpu.tdp_w), p.workload, p.workload_matched};
}

GpuEpoch EpochOnGpu(const graph::Graph& g, const GpuOpModel& model, const GpuSpec& gpu,
                    double samples, const GpuNetworkOptions& options) {
  if (!(samples >= 1) || !std::isfinite(samples))
    throw std::runtime_error(fmt::format("samples per epoch must be >= 1, got {}", samples));
  if (options.mode != "train_step")
    throw std::runtime_error("an epoch on a GPU needs the train_step mode");
  GpuEpoch e;
  e.step = EstimateOnGpu(g, model, gpu, options);
  e.steps = std::ceil(samples / static_cast<double>(g.batch()));
  e.epoch_s = e.steps * e.step.total_s;
  return e;
}

std::string GpuOptimizerOf(const std::string& name) {
  std::string n = name;
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "sgd" || n == "none") return n;
  if (n == "adam" || n == "adamw" || n == "adadelta" || n == "adagrad" || n == "rmsprop")
    return "adam";
  throw std::runtime_error(fmt::format(
      "unknown optimizer '{}'; known: sgd, adam, adamw, adadelta, adagrad, rmsprop, none", name));
}

namespace {

// GpuNetworkLabel::hf_architecture of a label of the config at `config` in `mode`, each config
// read once (`bert`: whether it is a BERT, by path). Why BERT's two heads: NeuSight's traces of
// its inference labels end in a `classifier` node, those of its training labels in
// cls.predictions and cls.seq_relationship, and tools/measure_gpu_reference.py builds the same
// two. The causal LMs ran their lm_head both ways.
std::string MeasuredHead(const std::string& config, const std::string& mode,
                         std::map<std::string, bool>* bert) {
  auto it = bert->find(config);
  if (it == bert->end()) {
    std::ifstream in(config);
    const json j = json::parse(in, nullptr, false);
    it = bert->emplace(config,
                       j.is_object() && j.contains("model_type") && j["model_type"] == "bert")
             .first;
  }
  if (!it->second) return "";
  return mode == "forward" ? "BertForSequenceClassification" : "BertForPreTraining";
}

}  // namespace

std::vector<GpuNetworkLabel> LoadGpuNetworkLabels(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::map<std::string, bool> bert;
  std::vector<GpuNetworkLabel> out;
  const bool jsonl = path.size() > 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
  if (jsonl) {
    std::string line;
    std::size_t no = 0;
    while (std::getline(in, line)) {
      ++no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string at = fmt::format("{}:{}", path, no);
      try {
        const json j = json::parse(line);
        GpuNetworkLabel l;
        if (j.contains("device")) {
          if (j.at("device").get<std::string>() != "cuda")
            throw std::runtime_error("not a GPU measurement (device is not cuda)");
          l.gpu = j.at("hardware").at("gpu").get<std::string>();
          l.model = l.arch = j.at("type").get<std::string>();
          l.mode = j.value("mode", std::string("forward"));
          if (l.mode != "forward" && l.mode != "train_step")
            throw std::runtime_error(
                fmt::format("mode must be forward or train_step, got '{}'", l.mode));
          l.optimizer = l.mode == "train_step" ? "sgd" : "none";
          l.tf32 = true;
          l.batch = j.at("batch_size").get<std::int64_t>();
          l.measured_s = j.at("duration_s").get<double>();
          if (j.contains("energy_j") && j["energy_j"].is_number()) {
            l.energy_j = j["energy_j"].get<double>();
            l.mean_power_w = l.measured_s > 0 ? l.energy_j / l.measured_s : 0;
          }
          if (!(l.measured_s > 0) || l.batch < 1)
            throw std::runtime_error("duration_s and batch_size must be > 0");
          l.source = at;
          out.push_back(std::move(l));
          continue;
        }
        l.gpu = j.at("gpu").get<std::string>();
        l.model = j.at("model").get<std::string>();
        l.arch = FindDataFile("neusight2025/model_configs/" + l.model + ".json");
        const std::string kind = j.at("kind").get<std::string>();
        if (kind != "inf" && kind != "train")
          throw std::runtime_error(fmt::format("kind must be inf or train, got '{}'", kind));
        l.mode = kind == "inf" ? "forward" : "train_step";
        l.hf_architecture = MeasuredHead(l.arch, l.mode, &bert);
        l.seq_len = j.at("seq").get<std::int64_t>();
        l.batch = j.at("batch").get<std::int64_t>();
        l.measured_s = j.at("e2e_latency_ms").get<double>() * 1e-3;
        l.energy_j = j.value("energy_j_per_run", 0.0);
        if (l.mode == "train_step") {
          l.forward_s = j.value("fw_latency_ms", 0.0) * 1e-3;
          l.backward_s = j.value("bwall_latency_ms", 0.0) * 1e-3;
        }
        l.mean_power_w = j.value("mean_power_w", 0.0);
        if (!(l.measured_s > 0) || l.seq_len < 1 || l.batch < 1)
          throw std::runtime_error("e2e_latency_ms, seq and batch must be > 0");
        l.source = at;
        out.push_back(std::move(l));
      } catch (const std::exception& e) {
        throw std::runtime_error(at + ": " + e.what());
      }
    }
    return out;
  }
  CsvReader reader(in, path);
  const auto head = reader.Next();
  if (!head) throw std::runtime_error(path + ": empty file");
  const CsvHeader h(head->fields);
  const std::size_t gpu = h.Index("gpu", path), model = h.Index("model", path),
                    mode = h.Index("mode", path), seq = h.Index("seq_len", path),
                    batch = h.Index("batch", path), e2e = h.Index("e2e_ms", path),
                    fw = h.Index("fw_ms", path), bw = h.Index("bw_ms", path);
  while (auto row = reader.Next()) {
    h.RequireWidth(*row, path);
    const std::string at = fmt::format("{}:{}", path, row->line);
    try {
      GpuNetworkLabel l;
      l.gpu = row->fields[gpu];
      l.model = row->fields[model];
      l.arch = FindDataFile("neusight2025/model_configs/" + l.model + ".json");
      const std::string m = row->fields[mode];
      if (m != "forward" && m != "fwd_bwd")
        throw std::runtime_error(fmt::format("mode must be forward or fwd_bwd, got '{}'", m));
      l.mode = m == "forward" ? "forward" : "train_step";
      l.hf_architecture = MeasuredHead(l.arch, l.mode, &bert);
      l.seq_len = ParseInt(row->fields[seq], "seq_len");
      l.batch = ParseInt(row->fields[batch], "batch");
      l.measured_s = ParseDouble(row->fields[e2e], "e2e_ms") * 1e-3;
      if (l.mode == "train_step") {
        l.forward_s = ParseDouble(row->fields[fw], "fw_ms") * 1e-3;
        l.backward_s = ParseDouble(row->fields[bw], "bw_ms") * 1e-3;
      }
      if (!(l.measured_s > 0) || l.seq_len < 1 || l.batch < 1)
        throw std::runtime_error("e2e_ms, seq_len and batch must be > 0");
      l.source = at;
      out.push_back(std::move(l));
    } catch (const std::exception& e) {
      throw std::runtime_error(at + ": " + e.what());
    }
  }
  return out;
}

double FitGlue(const std::vector<GpuNetworkEstimate>& predicted,
               const std::vector<double>& measured_s) {
  if (predicted.size() != measured_s.size() || predicted.empty())
    throw std::invalid_argument(
        "FitGlue: predictions and measurements differ in number or are none");
  // Least squares of (k + g·n − m)/m over g: g = Σ (m − k)·n/m² / Σ n²/m².
  double num = 0, den = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    const double m = measured_s[i], n = static_cast<double>(predicted[i].kernels);
    num += (m - predicted[i].kernels_s) * n / (m * m);
    den += n * n / (m * m);
  }
  return den > 0 ? std::max(0.0, num / den) : 0.0;
}

}  // namespace joulecast
