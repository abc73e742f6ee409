// joulecast evaluate --model PROFILE.json MEASUREMENTS... [--json]
#include "joulecast/predict/evaluate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "common.h"
#include "joulecast/io/measurement.h"
#include "training_cli.h"

namespace joulecast::cli {

namespace {

struct EvalArgs {
  std::string model;
  std::vector<std::string> files;
  bool json = false;
};

std::string Num(double v, const char* f) {
  return std::isnan(v) ? "n/a" : fmt::format(fmt::runtime(f), v);
}

void RunEvaluate(const EvalArgs& a) {
  if (AreTrainingRunFiles(a.files, "evaluate"))
    return EvaluateTrainingRuns(a.model, a.files, a.json);
  Profile profile = Profile::Load(a.model);
  std::vector<Measurement> records = LoadMeasurements(a.files, "evaluate");
  Evaluation ev = EvaluateLayers(profile, records);
  if (a.json) {
    nlohmann::json j = ev.ToJson();
    j["model"] = a.model;
    j["target"] = profile.target;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("profile {} (target {}), {} records\n", a.model, profile.target,
                           records.size());
  const std::string header =
      fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8} {:>9}   {:>8} {:>8}\n", "", "n", "R2", "logR2",
                  "MAPE%", "Spearman", "base R2", "base MAPE%");
  auto row = [](const std::string& label, std::size_t n, const regress::Metrics& m,
                const std::optional<regress::Metrics>& base) {
    std::string line =
        fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8} {:>9}", label, n, Num(m.r2, "{:.4f}"),
                    Num(m.log_r2, "{:.4f}"), Num(m.mape, "{:.2f}"), Num(m.spearman, "{:.4f}"));
    if (base) {
      line += fmt::format("   {:>8} {:>8}", Num(base->r2, "{:.4f}"), Num(base->mape, "{:.2f}"));
    }
    return line + "\n";
  };
  std::cout << "layer" << header.substr(5);
  for (const auto& [type, e] : ev.layers) {
    std::cout << row(type, e.measured.size(), e.metrics, e.baseline_metrics);
  }
  if (ev.architectures) {
    const auto& a = *ev.architectures;
    std::cout << "\nnetwork" << header.substr(7);
    std::cout << row("(all)", a.measured.size(), a.metrics, a.baseline_metrics);
    for (const auto& [name, m] : a.by_architecture) {
      std::cout << fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8}\n", name, m.n, "", "",
                               Num(m.mape, "{:.2f}"));
    }
  }
  const bool any_baseline =
      std::any_of(ev.layers.begin(), ev.layers.end(),
                  [](const auto& kv) { return kv.second.baseline_metrics.has_value(); }) ||
      (ev.architectures && ev.architectures->baseline_metrics);
  if (any_baseline) {
    std::cout
        << "\nbase: the profile's per-type constant x MACs baseline (total energy / total MACs "
           "of its training records; per element for layers without MACs)\n";
  }
  for (const auto& [why, n] : ev.skipped)
    std::cout << fmt::format("not evaluated: {} {}\n", n, why);
}

}  // namespace

void RegisterEvaluate(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd =
      app.add_subcommand("evaluate", "Compare a profile's predictions with measured records");
  cmd->add_option("--model", a->model, "Profile (JSON)")->required();
  cmd->add_option("measurements", a->files, "JSON Lines measurement files or quoted glob patterns")
      ->required();
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->callback([a] { RunEvaluate(*a); });
}

}  // namespace joulecast::cli
