// joulecast gpu-ops: operator latency on NVIDIA GPUs from their specs (predict/gpu_op_model.h).
//
//   gpu-ops fit [--data DIR] [--also TABLE...] [--ops L] [--no-cv] -o FILE
//                                             fits one model per operator on DIR/train/*.csv and
//                                             each --also table (a .csv or a folder's, the test
//                                             tables' columns), and writes it with its LOGO
//                                             scores ('cv') and provenance ('hardware')
//   gpu-ops evaluate [--data DIR] [--also TABLE...] [--ops L] [--json]
//                                             leave-one-GPU-out on the training GPUs, then the
//                                             model fitted on all of them on DIR/test/*.csv (two
//                                             of its GPUs it never saw); the roofline beside each
//   gpu-ops evaluate --model FILE --test DIR [--ops L] [--json]
//                                             a fitted model, unchanged, on the tables of DIR
//                                             (the test tables' columns; e.g. your own GPU's)
//   gpu-ops predict OP SIZES --gpu NAME --model FILE
//                                             one call, e.g. `linear 8,512,4096,1024 --gpu H100`
//
// DIR defaults to data/neusight2025 (tools/import_neusight.py).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "commands.h"
#include "common.h"
#include "joulecast/io/atomic_file.h"
#include "joulecast/io/csv.h"
#include "joulecast/io/data_path.h"
#include "joulecast/predict/gpu_network.h"
#include "joulecast/predict/gpu_op_model.h"

namespace joulecast::cli {
namespace {

struct GpuOpsArgs {
  std::string data, out, model, gpu, op, sizes, ops, test, power_model;
  std::vector<std::string> labels, also;
  bool json = false, no_cv = false;
};

std::string DataDir(const std::string& given) {
  if (!given.empty()) return given;
  // FindDataFile finds files: the folder is that of a table it holds.
  return std::filesystem::path(FindDataFile("neusight2025/train/linear.csv"))
      .parent_path()
      .parent_path()
      .string();
}

std::set<std::string> OpFilter(const std::string& list) {
  std::set<std::string> ops;
  std::stringstream ss(list);
  for (std::string op; std::getline(ss, op, ',');) {
    if (op.empty()) continue;
    const auto& known = GpuOps();
    if (std::find(known.begin(), known.end(), op) == known.end()) {
      throw std::runtime_error(
          fmt::format("--ops: unknown GPU operator '{}'; known: {}", op, fmt::join(known, ", ")));
    }
    ops.insert(op);
  }
  return ops;
}

// The rows of one table, appended to `out`, keeping the operators of `ops` (empty: all).
void LoadTable(const std::string& path, const std::set<std::string>& ops, const GpuTable& gpus,
               std::vector<GpuOpRecord>* out) {
  for (GpuOpRecord& r : LoadNeuSightTable(path, gpus)) {
    if (ops.empty() || ops.count(r.call.op)) out->push_back(std::move(r));
  }
}

// Every table of `folder` (sorted by file name), keeping the operators of `ops` (empty: all).
std::vector<GpuOpRecord> LoadTables(const std::filesystem::path& folder,
                                    const std::set<std::string>& ops, const GpuTable& gpus) {
  if (!std::filesystem::is_directory(folder))
    throw std::runtime_error(folder.string() + ": not a folder (tools/import_neusight.py)");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    if (e.path().extension() == ".csv") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<GpuOpRecord> out;
  for (const std::string& f : files) LoadTable(f, ops, gpus, &out);
  if (out.empty()) throw std::runtime_error(folder.string() + ": no records");
  return out;
}

std::vector<GpuOpRecord> LoadPart(const std::string& dir, const std::string& part,
                                  const std::set<std::string>& ops, const GpuTable& gpus) {
  return LoadTables(std::filesystem::path(dir) / part, ops, gpus);
}

// The training rows: DIR/train, then every --also table (a .csv, or a folder's).
std::vector<GpuOpRecord> TrainingRows(const GpuOpsArgs& a, const GpuTable& gpus) {
  const std::set<std::string> ops = OpFilter(a.ops);
  std::vector<GpuOpRecord> rows = LoadPart(DataDir(a.data), "train", ops, gpus);
  for (const std::string& path : a.also) {
    if (!std::filesystem::is_directory(path)) {
      LoadTable(path, ops, gpus, &rows);
      continue;
    }
    std::vector<GpuOpRecord> more = LoadTables(path, ops, gpus);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  }
  return rows;
}

void PrintScores(const std::string& title, const std::vector<GpuOpScore>& scores) {
  std::cout << title << "\n"
            << fmt::format("{:<9} {:<16} {:>7} {:>9} {:>12}\n", "operator", "gpu", "n", "MAPE%",
                           "roofline%");
  for (const GpuOpScore& s : scores) {
    std::cout << fmt::format("{:<9} {:<16} {:>7} {:>9.1f} {:>12.1f}\n", s.op, s.gpu, s.n, s.mape,
                             s.roofline_mape);
  }
}

// The provenance block written with a fitted model.
nlohmann::json Provenance(const GpuOpModel& m, const std::string& dir,
                          const std::vector<std::string>& also) {
  nlohmann::json h = m.hardware;
  h["source"] =
      "NeuSight's public operator latency tables (Lee et al., NeuSight, ASPLOS 2025; "
      "sitar-lab/NeuSight commit 6945927, scripts/asplos/op_latency/train)";
  h["licence"] = "MIT (data/neusight2025/LICENSE)";
  h["source_path"] = (std::filesystem::path(dir) / "train").string();
  h["measured"] = "PyTorch 2.1, CUDA 12.1, float32 (TF32 off), latency from CUDA events";
  h["gpu_specs"] = "data/hardware/gpus.json";
  h["note"] =
      "conv was measured on the A100 PCIe 80GB, every other operator on the A100 PCIe 40GB; the "
      "test tables' L4 (and the A100 PCIe 80GB, except for conv) have no training rows";
  if (!also.empty()) h["also"] = also;
  return h;
}

void RunFit(const GpuOpsArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  const std::vector<GpuOpRecord> records = TrainingRows(a, gpus);
  GpuOpModel m = GpuOpModel::Fit(records, gpus);
  m.hardware = Provenance(m, a.data.empty() ? "data/neusight2025" : a.data, a.also);
  m.cv = a.no_cv ? nlohmann::json::array() : GpuOpScoresJson(LeaveOneGpuOut(records, gpus));
  WriteFileAtomically(a.out, m.ToJson().dump(1) + "\n");
  std::cout << fmt::format("{}: {} operators from {} records{}\n", a.out, m.predictors().size(),
                           records.size(), a.no_cv ? "" : ", leave-one-GPU-out scores in 'cv'");
  for (const GpuOpPredictor& p : m.predictors()) {
    const auto& o = p.f.options();
    std::cout << fmt::format("  {:<8} power {:<13} c {:<9.4g} degree {} kernel {:<3} features {}\n",
                             p.op, p.power, p.power_c, o.degree, o.use_kernel ? "on" : "off",
                             p.kept.size());
  }
}

// The records of operators `m` predicts; the other operators go to `lacking` when given.
std::vector<GpuOpRecord> Predicted(const GpuOpModel& m, std::vector<GpuOpRecord> records,
                                   std::set<std::string>* lacking = nullptr) {
  std::vector<GpuOpRecord> kept;
  for (GpuOpRecord& r : records) {
    if (m.Has(r.call.op)) {
      kept.push_back(std::move(r));
    } else if (lacking) {
      lacking->insert(r.call.op);
    }
  }
  return kept;
}

// A shipped model, unchanged, on tables measured elsewhere (`--model FILE --test DIR`): no
// refit, so the figures are those a user of that model file gets.
void RunEvaluateModel(const GpuOpsArgs& a, const GpuTable& gpus) {
  const GpuOpModel m = GpuOpModel::Load(a.model);
  std::set<std::string> lacking;
  const std::vector<GpuOpRecord> scored =
      Predicted(m, LoadTables(a.test, OpFilter(a.ops), gpus), &lacking);
  if (scored.empty()) {
    throw std::runtime_error(a.test + ": no records of an operator that " + a.model + " predicts");
  }
  const std::vector<GpuOpScore> scores = ScoreGpuOps(m, scored, gpus);
  if (a.json) {
    std::cout << nlohmann::json{{"model", a.model},
                                {"test", GpuOpScoresJson(scores)},
                                {"operators_without_predictor", lacking}}
                     .dump(1)
              << "\n";
    return;
  }
  PrintScores(fmt::format("{} on the tables of {}:", a.model, a.test), scores);
  if (!lacking.empty()) {
    std::cout << fmt::format("not scored (no predictor in the model): {}\n",
                             fmt::join(lacking, ", "));
  }
}

void RunEvaluate(const GpuOpsArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  if (a.model.empty() != a.test.empty()) {
    throw std::runtime_error(
        "gpu-ops evaluate: --model and --test go together (a fitted model "
        "scored on the tables of a folder)");
  }
  if (!a.model.empty()) return RunEvaluateModel(a, gpus);
  const std::string dir = DataDir(a.data);
  const std::set<std::string> ops = OpFilter(a.ops);
  const std::vector<GpuOpRecord> train = TrainingRows(a, gpus);
  const std::vector<GpuOpScore> logo = LeaveOneGpuOut(train, gpus);
  std::vector<GpuOpRecord> test;
  for (GpuOpRecord& r : LoadPart(dir, "test", {}, gpus)) {
    if (ops.empty() || ops.count(r.call.op)) test.push_back(std::move(r));
  }
  const GpuOpModel m = GpuOpModel::Fit(train, gpus);
  const std::vector<GpuOpScore> held_out = ScoreGpuOps(m, Predicted(m, std::move(test)), gpus);
  if (a.json) {
    std::cout << nlohmann::json{{"leave_one_gpu_out", GpuOpScoresJson(logo)},
                                {"test", GpuOpScoresJson(held_out)}}
                     .dump(1)
              << "\n";
    return;
  }
  PrintScores(
      "leave-one-GPU-out on the training tables (each GPU predicted by a model fitted on "
      "the others):",
      logo);
  std::cout << "\n";
  PrintScores(
      "test tables, model fitted on all training GPUs (L4 and A100 PCIe 80GB have no "
      "training rows for these operators):",
      held_out);
}

std::vector<std::int64_t> ParseSizes(const std::string& text) {
  std::vector<std::int64_t> sizes;
  std::stringstream ss(text);
  for (std::string s; std::getline(ss, s, ',');) sizes.push_back(ParseInt(s, "SIZES"));
  return sizes;
}

void RunPredict(const GpuOpsArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  const GpuSpec& gpu = gpus.Find(a.gpu);
  const GpuOpModel m = GpuOpModel::Load(a.model);
  const GpuOpCall call{a.op, ParseSizes(a.sizes)};
  const double s = m.Predict(call, gpu);
  const double roof = RooflineSeconds(WorkOf(call), gpu);
  if (a.json) {
    std::cout << nlohmann::json{{"op", a.op},
                                {"sizes", call.sizes},
                                {"gpu", gpu.name},
                                {"latency_s", s},
                                {"roofline_s", roof}}
                     .dump(1)
              << "\n";
    return;
  }
  std::cout << fmt::format("{} {} on {}: {:.4g} ms (roofline {:.4g} ms)\n", a.op, a.sizes, gpu.name,
                           s * 1e3, roof * 1e3);
}

// The GPUs whose tables the model's linear predictor was fitted on (its cv's trained_on): the
// GPUs a whole transformer, which is mostly linear layers, was in effect fitted on.
std::set<std::string> LinearGpus(const GpuOpModel& m) {
  std::set<std::string> out;
  for (const GpuOpPredictor& p : m.predictors()) {
    if (p.op != "linear" || !p.cv.contains("trained_on")) continue;
    for (const auto& t : p.cv["trained_on"]) out.insert(t.at("gpu").get<std::string>());
  }
  return out;
}

// The median of a non-empty `v` (the mean of the middle two for an even count).
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// The launch floor: the median, over `gpus`, of each GPU's median latency of trace nodes that
// launch no kernel (data/neusight2025/trace_floors.csv, tools/import_neusight.py).
double LaunchFloor(const std::string& path, const std::set<std::string>& gpus,
                   std::vector<std::string>* used) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  CsvReader reader(in, path);
  const auto head = reader.Next();
  if (!head) throw std::runtime_error(path + ": empty file");
  const CsvHeader h(head->fields);
  const std::size_t gpu = h.Index("gpu", path), med = h.Index("median_ms", path);
  std::vector<double> v;
  while (auto row = reader.Next()) {
    h.RequireWidth(*row, path);
    if (!gpus.count(row->fields[gpu])) continue;
    const double ms = ParseDouble(row->fields[med], "median_ms");
    if (!(ms >= 0))
      throw std::runtime_error(fmt::format("{}:{}: median_ms must be >= 0", path, row->line));
    v.push_back(ms * 1e-3);
    used->push_back(row->fields[gpu]);
  }
  if (v.empty()) throw std::runtime_error(path + ": no row for the GPUs the model was fitted on");
  return Median(std::move(v));
}

struct LabelRow {
  GpuNetworkLabel label;
  GpuNetworkEstimate est;
  std::optional<GpuPower> power;
  bool seen = false;
  bool amd = false;   // out of vendor: no CUDA compute capability
  double glue_s = 0;  // per kernel, fitted without this GPU's labels
  double predicted_s() const { return est.kernels_s + glue_s * static_cast<double>(est.kernels); }
};

double Ape(double pred, double meas) { return 100 * std::abs(pred - meas) / meas; }

nlohmann::json NullUnlessPositive(double v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(); }

// Whole transformers (Hugging Face configs of data/neusight2025/model_configs) on the GPUs of the
// labels: predicted by `model` with optimizer none (forward and backward, as the labels time), the
// glue per kernel fitted on the labels of the GPUs the linear predictor saw, each of those GPUs'
// own labels with a glue fitted without them.
void RunNetworks(const GpuOpsArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  const std::string& model_path = a.model;
  const GpuOpModel m = GpuOpModel::Load(model_path);
  std::vector<std::string> files = a.labels;
  if (files.empty()) {
    files = {FindDataFile("neusight2025/labels.csv"), FindDataFile("h200/models.jsonl"),
             FindDataFile("collect/h200/networks-forward.jsonl"),
             FindDataFile("collect/h200/networks-train_step.jsonl")};
  }
  const std::set<std::string> seen = LinearGpus(m);
  std::vector<std::string> floor_gpus;
  const double floor_s =
      LaunchFloor(FindDataFile("neusight2025/trace_floors.csv"), seen, &floor_gpus);
  std::optional<TrainingModel> power_model;
  if (!a.power_model.empty()) power_model = TrainingModel::Load(a.power_model);
  std::vector<LabelRow> rows;
  std::map<std::string, graph::Graph> graphs;
  for (const std::string& f : files) {
    for (GpuNetworkLabel& l : LoadGpuNetworkLabels(f)) {
      LabelRow r;
      const GpuSpec& gpu = gpus.Find(l.gpu);
      l.gpu = gpu.name;
      const std::string key =
          fmt::format("{}|{}|{}|{}", l.arch, l.hf_architecture, l.batch, l.seq_len);
      auto it = graphs.find(key);
      if (it == graphs.end()) {
        it = graphs.emplace(key, LoadGraphArg(l.arch, "", l.batch, l.seq_len, l.hf_architecture))
                 .first;
      }
      GpuNetworkOptions o;
      o.launch_floor_s = floor_s;
      o.mode = l.mode;
      o.optimizer = l.optimizer;
      r.est = EstimateOnGpu(it->second, m, gpu, o);
      if (power_model && l.energy_j > 0)
        r.power = GpuNetworkPower(*power_model, gpu, it->second, std::nullopt);
      r.seen = seen.count(l.gpu) > 0;
      r.amd = gpu.compute_capability.empty();
      r.label = std::move(l);
      rows.push_back(std::move(r));
    }
  }
  const auto glue_without = [&](const std::string& gpu) {
    std::vector<GpuNetworkEstimate> p;
    std::vector<double> y;
    for (const LabelRow& r : rows) {
      if (r.seen && r.label.gpu != gpu) {
        p.push_back(r.est);
        y.push_back(r.label.measured_s);
      }
    }
    return p.empty() ? 0.0 : FitGlue(p, y);
  };
  const double glue_all = glue_without("");
  for (LabelRow& r : rows) r.glue_s = r.seen ? glue_without(r.label.gpu) : glue_all;
  struct Agg {
    std::size_t n = 0;
    double ape = 0, ape_kernels = 0, ape_roof = 0;
  };
  std::map<std::pair<std::string, std::string>, Agg> by;
  // Transformers (NeuSight's configurations, TF32 off) apart from collect's zoo networks (whose
  // cuDNN convolutions may run in TF32, which no table measured).
  std::map<std::tuple<std::string, bool, std::string>, Agg> by_seen;
  struct EnergyAgg {
    std::size_t n = 0;
    double power = 0, energy = 0, energy_roof = 0, energy_tdp = 0;
  };
  std::map<std::pair<bool, std::string>, EnergyAgg> energy_by;
  nlohmann::json jrows = nlohmann::json::array();
  for (const LabelRow& r : rows) {
    const double meas = r.label.measured_s;
    if (r.power) {
      EnergyAgg& e = energy_by[{r.label.tf32, r.label.mode}];
      ++e.n;
      e.power += Ape(r.power->watts, r.label.mean_power_w);
      e.energy += Ape(r.power->watts * r.predicted_s(), r.label.energy_j);
      e.energy_tdp +=
          Ape(r.est.total_s > 0 ? r.power->limit_w * r.predicted_s() : 0, r.label.energy_j);
    }
    for (Agg* g : {&by[{r.label.gpu, r.label.mode}], &by_seen[{r.seen  ? "NVIDIA, linear fitted on"
                                                               : r.amd ? "AMD (out of vendor)"
                                                                       : "NVIDIA, never seen",
                                                               r.label.tf32, r.label.mode}]}) {
      ++g->n;
      g->ape += Ape(r.predicted_s(), meas);
      g->ape_kernels += Ape(r.est.isolated_s, meas);
      g->ape_roof += Ape(r.est.roofline_s, meas);
    }
    nlohmann::json energy = nullptr;
    if (r.power) {
      energy = {{"measured_j", r.label.energy_j},
                {"predicted_j", r.power->watts * r.predicted_s()},
                {"measured_power_w", r.label.mean_power_w},
                {"predicted_power_w", r.power->watts},
                {"workload_stand_in", r.power->workload}};
    }
    jrows.push_back({{"gpu", r.label.gpu},
                     {"energy", energy},
                     {"model", r.label.model},
                     {"mode", r.label.mode},
                     {"seq_len", r.label.seq_len},
                     {"batch", r.label.batch},
                     {"measured_s", meas},
                     {"predicted_s", r.predicted_s()},
                     {"kernels_s", r.est.kernels_s},
                     {"isolated_s", r.est.isolated_s},
                     {"kernels", r.est.kernels},
                     // A training step's two parts, as the labels that time them apart and as
                     // predicted (null where the label does not time them).
                     {"measured_forward_s", NullUnlessPositive(r.label.forward_s)},
                     {"measured_backward_s", NullUnlessPositive(r.label.backward_s)},
                     {"phases", r.est.PhasesJson()},
                     {"glue_per_kernel_s", r.glue_s},
                     {"roofline_s", r.est.roofline_s},
                     {"proxy_s", r.est.proxy_s},
                     {"linear_gpu_fitted", r.seen},
                     {"tf32_convolutions", r.label.tf32},
                     {"source", r.label.source}});
  }
  if (a.json) {
    nlohmann::json j = {{"model", model_path}, {"glue_per_kernel_s", glue_all}, {"rows", jrows}};
    for (const auto& [k, g] : by) {
      j["by_gpu"].push_back({{"gpu", k.first},
                             {"mode", k.second},
                             {"n", g.n},
                             {"mape_pct", g.ape / g.n},
                             {"isolated_sum_mape_pct", g.ape_kernels / g.n},
                             {"roofline_mape_pct", g.ape_roof / g.n}});
    }
    std::cout << j.dump(1) << "\n";
    return;
  }
  if (!a.out.empty()) {
    GpuOpModel w = m;
    w.glue_s = glue_all;
    w.launch_floor_s = floor_s;
    nlohmann::json scores = nlohmann::json::array();
    for (const auto& [k, g] : by_seen) {
      scores.push_back(
          {{"gpus", std::get<0>(k)},
           {"networks", std::get<1>(k) ? "zoo CNNs (TF32 convolutions)" : "transformers"},
           {"mode", std::get<2>(k)},
           {"n", g.n},
           {"mape_pct", g.ape / g.n},
           {"roofline_mape_pct", g.ape_roof / g.n}});
    }
    w.network = {
        {"launch_floor",
         {{"s", floor_s},
          {"rule",
           "median over the GPUs linear was fitted on of the median latency of trace nodes "
           "that launch no kernel (size, getitem, view, ...)"},
          {"gpus", floor_gpus},
          {"source", "data/neusight2025/trace_floors.csv (NeuSight labels' torch.fx traces)"}}},
        {"glue",
         {{"s", glue_all},
          {"rule", "least squares of the relative error over the labels of those GPUs, >= 0"},
          {"gpus", seen},
          {"labels",
           a.labels.empty()
               ? std::vector<std::string>{"data/neusight2025/labels.csv", "data/h200/models.jsonl",
                                          "data/collect/h200/networks-forward.jsonl",
                                          "data/collect/h200/networks-train_step.jsonl"}
               : a.labels}}},
        {"scores", scores},
        {"command", "joulecast gpu-ops networks --model FILE -o FILE"}};
    WriteFileAtomically(a.out, w.ToJson().dump(1) + "\n");
  }
  std::cout << fmt::format(
      "{} on whole transformers; launch floor {:.3g} us (traces of {}); glue {:.3g} us per "
      "kernel (fitted on the labels of {}){}\n\n",
      model_path, floor_s * 1e6, fmt::join(floor_gpus, ", "), glue_all * 1e6, fmt::join(seen, ", "),
      a.out.empty() ? "" : "; written with them to " + a.out);
  std::cout << fmt::format("{:<16} {:<11} {:<10} {:>5} {:>3} {:>10} {:>10} {:>7} {:>10} {:>7}\n",
                           "gpu", "model", "mode", "seq", "b", "meas ms", "pred ms", "err%",
                           "roof ms", "err%");
  for (const LabelRow& r : rows) {
    std::cout << fmt::format(
        "{:<16} {:<11} {:<10} {:>5} {:>3} {:>10.2f} {:>10.2f} {:>+7.1f} {:>10.2f} {:>+7.1f}\n",
        r.label.gpu, r.label.model, r.label.mode, r.label.seq_len, r.label.batch,
        r.label.measured_s * 1e3, r.predicted_s() * 1e3,
        100 * (r.predicted_s() / r.label.measured_s - 1), r.est.roofline_s * 1e3,
        100 * (r.est.roofline_s / r.label.measured_s - 1));
  }
  std::cout << fmt::format("\n{:<16} {:<10} {:>3} {:>8} {:>15} {:>10}\n", "gpu", "mode", "n",
                           "MAPE%", "alone-sum MAPE%", "roofline%");
  for (const auto& [k, g] : by) {
    std::cout << fmt::format("{:<16} {:<10} {:>3} {:>8.1f} {:>15.1f} {:>10.1f}{}\n", k.first,
                             k.second, g.n, g.ape / g.n, g.ape_kernels / g.n, g.ape_roof / g.n,
                             seen.count(k.first) ? "  (linear fitted on its tables)" : "");
  }
  std::cout << "\n";
  for (const auto& [k, g] : by_seen) {
    const auto& [group, tf32, mode] = k;
    std::cout << fmt::format("{:<26} {:<24} {:<10} {:>3} {:>8.1f} {:>15.1f} {:>10.1f}\n", group,
                             tf32 ? "zoo CNNs (TF32 convs)" : "transformers", mode, g.n,
                             g.ape / g.n, g.ape_kernels / g.n, g.ape_roof / g.n);
  }
  // The training step's rule against the labels that time forward and backward apart.
  std::map<std::string, std::vector<double>> ratio_meas, ratio_pred;
  for (const LabelRow& r : rows) {
    if (r.label.forward_s <= 0 || r.label.backward_s <= 0 || r.est.forward.s <= 0) continue;
    const std::string key = r.amd ? "AMD" : "NVIDIA";
    ratio_meas[key].push_back(r.label.backward_s / r.label.forward_s);
    ratio_pred[key].push_back(r.est.backward.s / r.est.forward.s);
  }
  for (const auto& [key, m] : ratio_meas) {
    const std::vector<double>& p = ratio_pred[key];
    double ape = 0;
    for (std::size_t i = 0; i < m.size(); ++i) ape += Ape(p[i], m[i]);
    std::cout << fmt::format(
        "\ntraining-step rule, {} labels timing forward and backward apart ({}): backward / "
        "forward measured median {:.2f} (range {:.2f}-{:.2f}), predicted median {:.2f}; MAPE of "
        "the predicted ratio {:.1f} %",
        key, m.size(), Median(m), *std::min_element(m.begin(), m.end()),
        *std::max_element(m.begin(), m.end()), Median(p), ape / m.size());
  }
  if (!ratio_meas.empty()) std::cout << "\n";
  if (!energy_by.empty()) {
    std::cout << fmt::format(
        "\nenergy where measured ({}): MAPE % of the modelled power, of "
        "energy = power x predicted time, and of limit x predicted time\n",
        a.power_model);
    for (const auto& [k, e] : energy_by) {
      std::cout << fmt::format(
          "{:<24} {:<10} {:>3}  power {:>6.1f}  energy {:>6.1f}  "
          "limit x time {:>6.1f}\n",
          k.first ? "zoo CNNs (TF32 convs)" : "transformers", k.second, e.n, e.power / e.n,
          e.energy / e.n, e.energy_tdp / e.n);
    }
  }
}

}  // namespace

void RegisterGpuOps(CLI::App& app) {
  auto args = std::make_shared<GpuOpsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gpu-ops", "Operator latency on NVIDIA GPUs from their specs (NeuSight's public tables)");
  cmd->require_subcommand(1);

  CLI::App* fit = cmd->add_subcommand("fit", "Fit one model per operator on DIR/train");
  fit->add_option("--data", args->data, "Tables folder (default data/neusight2025)");
  fit->add_option("--ops", args->ops, "Comma list of operators (default: all)");
  fit->add_option("-o,--output", args->out, "Model file to write")->required();
  fit->add_option("--also", args->also,
                  "More training tables in the test tables' columns (op,gpu,<shape>,latency_ms): "
                  "a .csv or a folder of them, e.g. data/h200/ops/linear.csv or your own GPU's")
      ->check(CLI::ExistingPath);
  fit->add_flag("--no-cv", args->no_cv, "Skip the leave-one-GPU-out scores (field 'cv')");
  fit->callback([args] { RunFit(*args); });

  CLI::App* ev = cmd->add_subcommand(
      "evaluate", "Leave-one-GPU-out and test-set MAPE per operator and GPU, roofline beside");
  ev->add_option("--data", args->data, "Tables folder (default data/neusight2025)");
  ev->add_option("--ops", args->ops, "Comma list of operators (default: all)");
  ev->add_option("--also", args->also,
                 "More training tables (as fit's --also): in the leave-one-GPU-out folds and the "
                 "refit")
      ->check(CLI::ExistingPath);
  ev->add_option("--model", args->model,
                 "Score this fitted model, unchanged, on --test (no refit, no leave-one-GPU-out)");
  ev->add_option("--test", args->test, "Folder of tables in the test tables' columns");
  ev->add_flag("--json", args->json, "JSON output");
  ev->callback([args] { RunEvaluate(*args); });

  CLI::App* nw = cmd->add_subcommand(
      "networks", "Whole transformers on GPUs: predicted against measured, roofline beside");
  nw->add_option("--model", args->model, "Model file from gpu-ops fit")->required();
  nw->add_option("--labels", args->labels,
                 "Label files (default data/neusight2025/labels.csv data/h200/models.jsonl)");
  nw->add_option("-o,--output", args->out,
                 "Also write the model with the launch floor and glue fitted here (and these "
                 "scores) to FILE");
  nw->add_option("--power-model", args->power_model,
                 "Training-run profile (models/gpu-training.json): score its power and the "
                 "energy (power x predicted time) on the labels that measured energy");
  nw->add_flag("--json", args->json, "JSON output");
  nw->callback([args] { RunNetworks(*args); });

  CLI::App* pr = cmd->add_subcommand("predict", "Latency of one operator call on a GPU");
  pr->add_option("op", args->op, "Operator (linear, bmm, conv, ln, softmax, add, ...)")->required();
  pr->add_option("sizes", args->sizes, "Sizes, comma separated (linear: B,M,N,K)")->required();
  pr->add_option("--gpu", args->gpu, "GPU name (data/hardware/gpus.json)")->required();
  pr->add_option("--model", args->model, "Model file from gpu-ops fit")->required();
  pr->add_flag("--json", args->json, "JSON output");
  pr->callback([args] { RunPredict(*args); });
}

}  // namespace joulecast::cli
