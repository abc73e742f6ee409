// joulecast evaluate --model PROFILE.json MEASUREMENTS... [--json]
#include "joulecast/predict/evaluate.h"

#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "joulecast/io/measurement.h"

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
  std::cout << fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8} {:>9}\n", "layer", "n", "R2", "logR2",
                           "MAPE%", "Spearman");
  for (const auto& [type, e] : ev.layers) {
    const auto& m = e.metrics;
    std::cout << fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8} {:>9}\n", type, e.measured.size(),
                             Num(m.r2, "{:.4f}"), Num(m.log_r2, "{:.4f}"), Num(m.mape, "{:.2f}"),
                             Num(m.spearman, "{:.4f}"));
  }
  if (ev.architectures) {
    const auto& a = *ev.architectures;
    std::cout << fmt::format("\n{:<12} {:>6} {:>8} {:>8} {:>8} {:>9}\n", "network", "n", "R2",
                             "logR2", "MAPE%", "Spearman");
    std::cout << fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8} {:>9}\n", "(all)", a.measured.size(),
                             Num(a.metrics.r2, "{:.4f}"), Num(a.metrics.log_r2, "{:.4f}"),
                             Num(a.metrics.mape, "{:.2f}"), Num(a.metrics.spearman, "{:.4f}"));
    for (const auto& [name, m] : a.by_architecture) {
      std::cout << fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8}\n", name, m.n, "", "",
                               Num(m.mape, "{:.2f}"));
    }
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
