// joulecast fit MEASUREMENTS... -o PROFILE.json [--target energy_j|time_s] [--name NAME]
// Records of both modes (forward, train_step) give one profile with predictors per mode.
// (training-run records fit the training-run estimator instead: training_cli.h)
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile_fit.h"
#include "training_cli.h"

namespace joulecast::cli {

namespace {

struct FitArgs {
  std::vector<std::string> files;
  std::string output, name;
  FitOptions options;
  bool quiet = false;
};

void RunFit(FitArgs& a) {
  if (AreTrainingRunFiles(a.files, "fit"))
    return FitTrainingRuns(a.files, a.output, a.name, a.quiet);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> files;
  std::vector<Measurement> records = LoadMeasurements(a.files, "fit", &files);
  FitReport report;
  Profile p = FitProfile(records, a.options, &report);
  p.name = a.name.empty() ? a.output : a.name;
  p.data["files"] = files;
  p.Save(a.output);
  if (a.quiet) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // One table per mode; a profile of forward passes alone prints as before modes existed.
  const std::vector<std::string> modes = p.Modes();
  const bool headings = modes.size() > 1 || p.mode != "forward";
  std::size_t types = 0;
  for (const std::string& mode : modes) {
    p.SelectMode(mode, "fit");
    types += p.layers.size();
    if (headings) {
      std::cout << fmt::format("mode {} ({} per {} of the batch)\n", mode, a.options.target,
                               RunName(mode));
    }
    std::cout << fmt::format("{:<12} {:>6} {:>9} {:>8} {:>8}  {}\n", "layer", "n", "CV MAPE%",
                             "CV R2", "CV logR2", "model");
    for (const auto& [type, lp] : p.layers) {
      const auto& m = lp.cv["metrics"];
      const auto& b = lp.cv["best"];
      std::string model =
          b["use_kernel"].get<bool>()
              ? fmt::format("trend deg {} + rbf(alpha {}, gamma {})", b["degree"].get<int>(),
                            b["kernel_alpha"].get<double>(), b["gamma"].get<double>())
              : fmt::format("trend deg {}", b["degree"].get<int>());
      // R² are not scored for a transfer's folds (predict/transfer.h): shown as "-".
      const auto number = [&](const char* k) {
        return m.contains(k) && m[k].is_number() ? fmt::format("{:>8.4f}", m[k].get<double>())
                                                 : fmt::format("{:>8}", "-");
      };
      if (lp.cv.value("from", "") == "forward") {
        model = fmt::format("forward predictor + {} transfer (direct fit: CV MAPE {:.2f}%)",
                            lp.transfer->kind, lp.cv["direct"]["mape"].get<double>());
      }
      std::cout << fmt::format("{:<12} {:>6} {:>9.2f} {} {}  {}\n", type,
                               lp.training["n"].get<std::size_t>(), m["mape"].get<double>(),
                               number("r2"), number("log_r2"), model);
    }
  }
  for (const auto& [why, n] : report.skipped) std::cout << fmt::format("skipped {} {}\n", n, why);
  std::cout << fmt::format("wrote {} ({} layer types{}, {:.1f} s)\n", a.output, types,
                           headings ? fmt::format(" in {} modes", modes.size()) : "", secs);
}

}  // namespace

void RegisterFit(CLI::App& app) {
  auto a = std::make_shared<FitArgs>();
  auto* cmd = app.add_subcommand(
      "fit", "Fit a hardware profile (one predictor per layer type) from measurements");
  cmd->add_option("measurements", a->files, "JSON Lines measurement files or quoted glob patterns")
      ->required();
  cmd->add_option("-o,--output", a->output, "Profile to write (JSON)")->required();
  cmd->add_option("--target", a->options.target, "What to predict")
      ->capture_default_str()
      ->check(CLI::IsMember({"energy_j", "time_s"}));
  cmd->add_option("--name", a->name, "Profile name (default: the output path)");
  cmd->add_option("--folds", a->options.folds, "Cross-validation folds")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  cmd->add_option("--seed", a->options.seed, "Seed of the fold assignment")->capture_default_str();
  cmd->add_option("--selection", a->options.selection,
                  "Model selection: mean of k-fold and extrapolation MAPE (largest layers held "
                  "out), or k-fold alone")
      ->capture_default_str()
      ->check(CLI::IsMember({"kfold+extrapolation", "kfold"}));
  cmd->add_option("--types", a->options.only_types, "Fit only these layer types")->delimiter(',');
  cmd->add_option("--max-other-cpus", a->options.max_other_cpus,
                  "Skip records measured while other processes kept more CPUs than this busy "
                  "(context.protocol.other_cpus_busy; records without it are kept)")
      ->check(NonNegativeCheck());
  cmd->add_flag("!--no-from-forward", a->options.from_forward,
                "Fit every training-step predictor on its own records only (default: also try the "
                "forward predictor plus a transfer and keep the lower CV MAPE)");
  cmd->add_flag("-q,--quiet", a->quiet, "No table");
  cmd->callback([a] { RunFit(*a); });
}

}  // namespace joulecast::cli
