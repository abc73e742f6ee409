// joulecast evaluate-logo RUNS... [--json]: leave-one-GPU-out evaluation of the training-run
// estimator. For each GPU in the records, the estimator (its configuration chosen by
// leave-one-GPU-out CV among the OTHER GPUs only) is fitted without that GPU and scored on it,
// beside the TDP x time and Green Algorithms baselines on the same rows.
//
// Files: a file named outright must hold training runs ("evaluate-logo: F: its records are of
// kind 'epochs_to_target', not training runs"). A file that a quoted glob matched and whose first
// record is of another kind (data/zeus2023/epochs_to_target.jsonl beside the traces) is skipped
// with a note on stderr, so that 'data/zeus2023/*.jsonl' works; a glob that leaves no
// training-run file is an error.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/io/training_run.h"
#include "joulecast/predict/gpu_network.h"
#include "joulecast/predict/training_model.h"
#include "joulecast/predict/workload.h"

namespace joulecast::cli {
namespace {

struct LogoArgs {
  std::vector<std::string> files;
  std::string time_model;
  bool json = false;
};

// Both routes to epoch time on the held-out GPU's runs at its full power limit whose workload has
// an architecture: the regression's epoch time and energy, and the layer-wise epoch (steps x the
// training step of `gm`) with the regression's power. Per held-out GPU: {"n", "regression":
// {"time_mape", "energy_mape"}, "layerwise": {...}}.
nlohmann::json BothRoutes(const std::vector<HeldOutGpu>& held, const std::vector<TrainingRun>& runs,
                          const GpuTable& gpus, const GpuOpModel& gm) {
  const WorkloadTable workloads = WorkloadTable::LoadDefault();
  std::map<std::string, graph::Graph> graphs;
  nlohmann::json out = nlohmann::json::object();
  for (const HeldOutGpu& h : held) {
    const GpuSpec& gpu = gpus.Find(h.gpu);
    std::size_t n = 0;
    double rt = 0, re = 0, lt = 0, le = 0;
    nlohmann::json rows = nlohmann::json::array();
    for (const TrainingRun& r : runs) {
      if (r.gpu != h.gpu || (r.power_limit_w && *r.power_limit_w < gpu.tdp_w - 1e-9)) continue;
      const Workload* w = workloads.TryFind(r.workload);
      if (!w || w->architecture.empty()) continue;
      const std::string key = fmt::format("{}|{}", w->name, r.batch_size);
      auto it = graphs.find(key);
      if (it == graphs.end()) it = graphs.emplace(key, WorkloadGraph(*w, r.batch_size)).first;
      const TrainingPrediction p = h.model.Predict(QueryOf(r, gpus));
      GpuNetworkOptions o = GpuNetworkOptions::Of(gm);
      o.mode = "train_step";
      o.optimizer = GpuOptimizerOf(r.optimizer);
      const GpuEpoch e = EpochOnGpu(it->second, gm, gpu, r.samples_per_epoch, o);
      ++n;
      const auto ape = [](double a, double b) { return 100 * std::abs(a - b) / b; };
      rt += ape(p.epoch_time_s, r.epoch_time_s);
      re += ape(p.epoch_energy_j, r.epoch_energy_j);
      lt += ape(e.epoch_s, r.epoch_time_s);
      le += ape(p.power_w * e.epoch_s, r.epoch_energy_j);
      rows.push_back({{"workload", r.workload},
                      {"batch", r.batch_size},
                      {"optimizer", r.optimizer},
                      {"measured_epoch_s", r.epoch_time_s},
                      {"regression_epoch_s", p.epoch_time_s},
                      {"layerwise_epoch_s", e.epoch_s}});
    }
    if (n == 0) continue;
    const double k = static_cast<double>(n);
    out[h.gpu] = {{"n", n},
                  {"regression", {{"time_mape", rt / k}, {"energy_mape", re / k}}},
                  {"layerwise", {{"time_mape", lt / k}, {"energy_mape", le / k}}},
                  {"rows", rows}};
  }
  return out;
}

// What the first record of a JSON Lines file is, in words for a message, or "" when it is a
// training run. Throws "F: cannot open".
std::string NotTrainingRuns(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return "its first line is not a JSON object";
    const auto k = j.find("kind");
    if (k == j.end() || !k->is_string()) return "its first record has no \"kind\"";
    if (*k == "training_run") return "";
    return fmt::format("its records are of kind '{}'", k->get<std::string>());
  }
  return "it holds no records";
}

// The files of the arguments that hold training runs (see the file comment).
std::vector<std::string> TrainingRunFilesOf(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  for (const auto& a : args) {
    const bool pattern = a.find_first_of("*?[") != std::string::npos;
    for (const auto& f : ExpandGlobs({a})) {
      const std::string why = NotTrainingRuns(f);
      if (why.empty()) {
        files.push_back(f);
      } else if (pattern) {
        std::cerr << fmt::format(
            "evaluate-logo: note: skipped {} (matched by '{}'): {}, not training runs\n", f, a,
            why);
      } else {
        throw std::runtime_error(
            fmt::format("evaluate-logo: {}: {}, not training runs", f, why));
      }
    }
  }
  if (files.empty())
    throw std::runtime_error("evaluate-logo: none of the files holds training runs");
  return files;
}

void RunLogo(const LogoArgs& a) {
  const std::vector<TrainingRun> runs = ReadTrainingRunFiles(TrainingRunFilesOf(a.files));
  if (runs.empty()) throw std::runtime_error("evaluate-logo: the files hold no training runs");
  const GpuTable gpus = GpuTable::LoadDefault();
  const std::vector<HeldOutGpu> held = LeaveOneGpuOut(runs, gpus);
  nlohmann::json routes;
  if (!a.time_model.empty()) routes = BothRoutes(held, runs, gpus, GpuOpModel::Load(a.time_model));
  if (a.json) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& h : held) {
      j[h.gpu] = h.evaluation.ToJson();
      const PhysicalParams& p = h.model.physical();
      j[h.gpu]["chosen"] = {
          {"power", {{"scale", p.power_scale},
                     {"exponent", p.power_exponent},
                     {"idle_fraction", p.idle_fraction},
                     {"cap_rho", p.cap_rho},
                     {"cap_softness", p.cap_softness}}},
          {"time", {{"scale", p.time_scale},
                    {"exponent", p.time_exponent},
                    {"powerlimit_exponent", p.powerlimit_exponent}}},
          {"energy_mode", h.model.energy_mode()}};
      j[h.gpu]["inner_cv"] = {{"power_mape", h.model.power().cv_mape},
                              {"time_mape", h.model.time().cv_mape},
                              {"energy_mape", h.model.energy_cv_mape()}};
    }
    nlohmann::json doc = {{"leave_one_gpu_out", j}};
    if (!routes.is_null()) doc["epoch_time_routes"] = routes;
    std::cout << doc.dump(2) << "\n";
    return;
  }
  std::cout << "leave-one-GPU-out: fitted on the other GPUs (configuration chosen by CV among "
               "them), scored on the held-out one; MAPE %\n";
  std::cout << fmt::format("{:<18} {:>5} {:>8} {:>8} {:>9}   {:>10} {:>10}\n", "held-out GPU", "n",
                           "power", "time", "energy", "TDP x time", "Green Alg.");
  for (const auto& h : held) {
    const auto& e = h.evaluation;
    std::cout << fmt::format("{:<18} {:>5} {:>8.2f} {:>8.2f} {:>9.2f}   {:>10.2f} {:>10.2f}\n",
                             h.gpu, e.n, e.power_mape, e.time_mape, e.energy_mape,
                             e.tdp_time_energy_mape, e.green_algorithms_energy_mape);
  }
  std::cout << "baselines use the MEASURED epoch time: TDP x t, and Green Algorithms t x (TDP x "
               "1.0 + 0.3725 W/GB x GPU memory) x PUE 1 (Lannelongue et al. 2021)\n";
  std::cout << "targets: power MAPE <= 10 %, epoch-energy MAPE <= 15 % on the unseen GPU\n";
  if (routes.is_null()) return;
  std::cout << fmt::format(
      "\nepoch time two ways on the held-out GPU's runs at its full power limit whose workload "
      "has an architecture: the regression above, and layer-wise ({}: steps x training step, "
      "GPU kernels only) with the regression's power; MAPE %\n",
      a.time_model);
  std::cout << fmt::format("{:<18} {:>5} {:>12} {:>12} {:>12} {:>12}\n", "held-out GPU", "n",
                           "regr. time", "regr. energy", "layer time", "layer energy");
  for (const auto& [gpu, r] : routes.items()) {
    std::cout << fmt::format(
        "{:<18} {:>5} {:>12.2f} {:>12.2f} {:>12.2f} {:>12.2f}\n", gpu, r["n"].get<std::size_t>(),
        r["regression"]["time_mape"].get<double>(), r["regression"]["energy_mape"].get<double>(),
        r["layerwise"]["time_mape"].get<double>(), r["layerwise"]["energy_mape"].get<double>());
  }
}

}  // namespace

void RegisterEvaluateLogo(CLI::App& app) {
  auto a = std::make_shared<LogoArgs>();
  auto* cmd = app.add_subcommand(
      "evaluate-logo", "Leave-one-GPU-out evaluation of the training-run estimator (nested CV)");
  cmd->add_option("runs", a->files, "Training-run JSON Lines files or quoted glob patterns")
      ->required();
  cmd->add_option("--time-model", a->time_model,
                  "GPU operator model (models/gpu-latency.json): also score epoch time "
                  "layer-wise on the runs whose workload has an architecture");
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->callback([a] { RunLogo(*a); });
}

}  // namespace joulecast::cli
