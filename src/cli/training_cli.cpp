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

// The chosen GPU scaling of one target in words (the maths is in predict/training_model.h).
std::string Describe(const TrainingModel& m, bool power) {
  const PhysicalParams& p = m.physical();
  const std::string scale = (power ? p.power_scale : p.time_scale);
  const std::string ratio =
      scale == "none" ? std::string("no GPU scaling")
                      : fmt::format("{} ratio^{:g}", scale, power ? p.power_exponent : p.time_exponent);
  if (power) {
    return fmt::format("demand = TDP (idle {:g} + (1 - idle) {} u_w(batch)), soft cap {:g} x limit "
                       "(n {:g})",
                       p.idle_fraction, ratio, p.cap_rho, p.cap_softness);
  }
  return fmt::format("t = N F exp(theta_w(batch)) / {}, power-cap slowdown exponent {:.3f}", ratio,
                     p.powerlimit_exponent);
}

// The runs of every file, each with a GPU of `gpus`: an unknown one is reported against its file
// here (the estimator would name only the GPU).
std::vector<TrainingRun> ReadRuns(const std::vector<std::string>& files, const GpuTable& gpus) {
  std::vector<TrainingRun> all;
  for (const auto& f : files) {
    const std::vector<TrainingRun> runs = ReadTrainingRuns(f);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      try {
        gpus.Find(runs[i].gpu);
      } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: record {}: field 'gpu': {}", f, i + 1, e.what()));
      }
    }
    all.insert(all.end(), runs.begin(), runs.end());
  }
  return all;
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
  const GpuTable gpus = GpuTable::LoadDefault();
  const std::vector<TrainingRun> runs = ReadRuns(files, gpus);
  if (runs.empty()) throw std::runtime_error("fit: the files hold no training runs");
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
                           Describe(m, true));
  std::cout << fmt::format("{:<8} {:>9.2f}  {}\n", "time", m.time().cv_mape,
                           Describe(m, false));
  std::cout << fmt::format("{:<8} {:>9.2f}  {}\n", "energy", m.energy_cv_mape(),
                           "power x time");
  std::cout << fmt::format("wrote {} ({:.1f} s)\n", output, secs);
}

void EvaluateTrainingRuns(const std::string& model, const std::vector<std::string>& args,
                          bool json) {
  const TrainingModel m = TrainingModel::Load(model);
  const GpuTable gpus = GpuTable::LoadDefault();
  const std::vector<TrainingRun> runs = ReadRuns(ExpandGlobs(args), gpus);
  if (runs.empty()) throw std::runtime_error("evaluate: the files hold no training runs");
  const RunsEvaluation ev = EvaluateRuns(m, runs, gpus);
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
