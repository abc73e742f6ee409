#include "training_cli.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "common.h"
#include "joulecast/io/training_run.h"
#include "joulecast/predict/training_model.h"

namespace joulecast::cli {
namespace {

std::string Describe(const TargetModel& m, bool power) {
  const auto& o = m.model.options();
  std::string reg = o.use_kernel ? fmt::format("trend(ridge {}) + rbf(alpha {}, gamma {})",
                                               o.ridge_alpha, o.kernel_alpha, o.gamma)
                                 : fmt::format("trend(ridge {})", o.ridge_alpha);
  return fmt::format("{}{}, {}", power ? "" : "scale " + m.time_scale + ", ",
                     m.gpu_features ? "GPU features" : "no GPU features", reg);
}

}  // namespace

bool AreTrainingRunFiles(const std::vector<std::string>& args, const char* command) {
  const std::vector<std::string> files = ExpandGlobs(args);
  std::size_t runs = 0;
  for (const auto& f : files) runs += IsTrainingRunFile(f) ? 1 : 0;
  if (runs == 0) return false;
  if (runs == files.size()) return true;
  std::string with, without;
  for (const auto& f : files) (IsTrainingRunFile(f) ? with : without) = f;
  throw std::runtime_error(
      fmt::format("{}: {} holds training runs but {} does not: give one kind of record", command,
                  with, without));
}

void FitTrainingRuns(const std::vector<std::string>& args, const std::string& output,
                     const std::string& name, bool quiet) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> files = ExpandGlobs(args);
  const std::vector<TrainingRun> runs = ReadTrainingRunFiles(files);
  if (runs.empty()) throw std::runtime_error("fit: the files hold no training runs");
  const GpuTable gpus = GpuTable::LoadDefault();
  TrainingModel m;
  m.Fit(runs, gpus);
  m.name = name.empty() ? output : name;
  m.Save(output);
  if (quiet) return;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("{} training runs on {} GPU(s); selection by {}\n", runs.size(),
                           m.trained_gpus().size(),
                           m.trained_gpus().size() >= 2 ? "leave-one-GPU-out CV" : "k-fold CV");
  std::cout << fmt::format("{:<8} {:>9}  {}\n", "target", "CV MAPE%", "model");
  std::cout << fmt::format("{:<8} {:>9.2f}  {}\n", "power", m.power().cv_mape,
                           Describe(m.power(), true));
  std::cout << fmt::format("{:<8} {:>9.2f}  {}\n", "time", m.time().cv_mape,
                           Describe(m.time(), false));
  std::cout << fmt::format("{:<8} {:>9.2f}  {}\n", "energy", m.energy_cv_mape(),
                           m.energy_direct() ? "direct, " + Describe(*m.energy_direct(), false)
                                             : std::string("power x time"));
  std::cout << fmt::format("wrote {} ({:.1f} s)\n", output, secs);
}

void EvaluateTrainingRuns(const std::string& model, const std::vector<std::string>& args,
                          bool json) {
  const TrainingModel m = TrainingModel::Load(model);
  const std::vector<TrainingRun> runs = ReadTrainingRunFiles(ExpandGlobs(args));
  if (runs.empty()) throw std::runtime_error("evaluate: the files hold no training runs");
  const RunsEvaluation ev = EvaluateRuns(m, runs, GpuTable::LoadDefault());
  if (json) {
    std::cout << nlohmann::json{{"model", model}, {"runs", ev.ToJson()}}.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("training profile {} (fitted on {}), {} runs\n", model,
                           fmt::join(m.trained_gpus(), ", "), runs.size());
  std::cout << fmt::format("{:<18} {:>5} {:>8} {:>8} {:>9}   {:>10} {:>10}\n", "MAPE %", "n",
                           "power", "time", "energy", "TDP x time", "Green Alg.");
  auto row = [](const std::string& label, const RunsEvaluation& e) {
    return fmt::format("{:<18} {:>5} {:>8.2f} {:>8.2f} {:>9.2f}   {:>10.2f} {:>10.2f}\n", label,
                       e.n, e.power_mape, e.time_mape, e.energy_mape, e.tdp_time_energy_mape,
                       e.green_algorithms_energy_mape);
  };
  std::cout << row("(all)", ev);
  for (const auto& [g, e] : ev.by_gpu) std::cout << row(g, e);
  std::cout << "baselines: energy from the measured epoch time x TDP, and Green Algorithms "
               "(TDP x 1.0 + 0.3725 W/GB x GPU memory, PUE 1)\n";
}

}  // namespace joulecast::cli
