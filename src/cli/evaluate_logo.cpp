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

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common.h"
#include "joulecast/io/training_run.h"
#include "joulecast/predict/training_model.h"

namespace joulecast::cli {
namespace {

struct LogoArgs {
  std::vector<std::string> files;
  bool json = false;
};

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
    std::cout << nlohmann::json{{"leave_one_gpu_out", j}}.dump(2) << "\n";
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
}

}  // namespace

void RegisterEvaluateLogo(CLI::App& app) {
  auto a = std::make_shared<LogoArgs>();
  auto* cmd = app.add_subcommand(
      "evaluate-logo", "Leave-one-GPU-out evaluation of the training-run estimator (nested CV)");
  cmd->add_option("runs", a->files, "Training-run JSON Lines files or quoted glob patterns")
      ->required();
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->callback([a] { RunLogo(*a); });
}

}  // namespace joulecast::cli
