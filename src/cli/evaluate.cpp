// joulecast evaluate --model PROFILE.json MEASUREMENTS... [--json]
// Each record is compared with the profile's predictors of its mode (forward or train_step);
// whole-network records are also broken down by architecture and batch size.
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
#include "joulecast/predict/hardware.h"
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
  if (auto w = HardwareMismatch(profile, HostFingerprint()))
    std::cerr << "joulecast: warning: " << *w << "\n";
  std::vector<Measurement> records = LoadMeasurements(a.files, "evaluate");
  const ProfileEvaluation pe = EvaluateProfile(profile, records);
  if (a.json) {
    nlohmann::json j = pe.ToJson();
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
  bool any_baseline = false;
  // A profile of forward passes alone prints as before modes existed; otherwise each mode has a
  // heading, since a forward pass and a training step are different runs.
  const bool headings = pe.modes.size() > 1 || pe.modes.begin()->first != "forward";
  bool first = true;
  for (const auto& [mode, ev] : pe.modes) {
    if (headings) {
      std::cout << fmt::format("{}mode {}: {} per {} of the batch\n", first ? "" : "\n", mode,
                               profile.target == "time_s" ? "seconds" : "joules", RunName(mode));
    }
    first = false;
    if (!ev.layers.empty()) std::cout << "layer" << header.substr(5);
    for (const auto& [type, e] : ev.layers) {
      std::cout << row(type, e.measured.size(), e.metrics, e.baseline_metrics);
      any_baseline = any_baseline || e.baseline_metrics.has_value();
    }
    if (ev.architectures) {
      const auto& ae = *ev.architectures;
      any_baseline = any_baseline || ae.baseline_metrics.has_value();
      std::cout << (ev.layers.empty() ? "network" : "\nnetwork") << header.substr(7);
      std::cout << row("(all)", ae.measured.size(), ae.metrics, ae.baseline_metrics);
      for (const auto& [name, m] : ae.by_architecture) {
        std::cout << fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8}\n", name, m.n, "", "",
                                 Num(m.mape, "{:.2f}"));
        auto it = ae.by_architecture_batch.find(name);
        if (it == ae.by_architecture_batch.end() || it->second.size() < 2) continue;
        for (const auto& [b, mb] : it->second) {
          std::cout << fmt::format("{:<12} {:>6} {:>8} {:>8} {:>8}\n", fmt::format("  b{}", b),
                                   mb.n, "", "", Num(mb.mape, "{:.2f}"));
        }
      }
    }
  }
  if (any_baseline) {
    std::cout
        << "\nbase: the profile's per-type constant x MACs baseline (total energy / total MACs "
           "of its training records; per element for layers without MACs)\n";
  }
  for (const auto& [why, n] : pe.skipped)
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
