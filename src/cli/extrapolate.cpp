// joulecast extrapolate LOG.csv --epochs N [--stable-epoch K|auto] [--window W]
//   [--cv-threshold X] [--first K] [--time-column NAME] [--json]
// Total time and energy of a training run from its partial per-epoch log (io/training_log.h) by
// the power-based and epoch-energy-based online estimators (predict/online_estimate.h). --first K
// uses only the log's first K epochs; when the log holds at least N epochs, the measured totals of
// its first N epochs are printed beside the prediction with the relative errors. --time-column
// reads the epoch times from another column than duration_s (e.g. cpu_s of tools/trainlog: the
// CPU time of the training process, which other jobs sharing its core do not inflate).
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>

#include "commands.h"
#include "joulecast/io/csv.h"
#include "joulecast/io/training_log.h"
#include "joulecast/predict/online_estimate.h"

namespace joulecast::cli {
namespace {

struct ExtrapolateArgs {
  std::string log, stable_epoch = "10", time_column = "duration_s";
  long long epochs = 0;
  int window = 5;
  double cv_threshold = 0.05;
  std::optional<long long> first;
  bool json = false;
};

double ErrorPct(double predicted, double measured) {
  return 100.0 * (predicted - measured) / measured;
}

void RunExtrapolate(const ExtrapolateArgs& a) {
  if (a.epochs < 1) throw std::runtime_error(fmt::format("--epochs must be >= 1, got {}", a.epochs));
  if (a.epochs > std::numeric_limits<int>::max()) {
    throw std::runtime_error(fmt::format("--epochs must be at most {}, got {}",
                                         std::numeric_limits<int>::max(), a.epochs));
  }
  OnlineOptions o;
  o.window = a.window;
  o.cv_threshold = a.cv_threshold;
  if (!(a.cv_threshold > 0) || !std::isfinite(a.cv_threshold))
    throw std::runtime_error(fmt::format("--cv-threshold must be > 0, got {}", a.cv_threshold));
  if (a.stable_epoch == "auto") {
    o.stable_epoch.reset();
  } else {
    try {
      o.stable_epoch = static_cast<int>(ParseInt(a.stable_epoch, "--stable-epoch"));
    } catch (const std::invalid_argument&) {
      throw std::runtime_error(fmt::format(
          "--stable-epoch: expected an epoch number or 'auto', got '{}'", a.stable_epoch));
    }
  }
  const TrainingLog full = LoadTrainingLog(a.log, a.time_column);
  TrainingLog log = full;
  if (a.first) {
    if (*a.first < 1 || *a.first > static_cast<long long>(full.epochs.size())) {
      throw std::runtime_error(fmt::format("--first must be between 1 and the {} epochs of {}, got {}",
                                           full.epochs.size(), a.log, *a.first));
    }
    log.epochs.resize(static_cast<std::size_t>(*a.first));
  }
  const Extrapolation x = Extrapolate(log, static_cast<int>(a.epochs), o);
  // Measured totals of the first N epochs, when the full log has them and some were held back.
  std::optional<double> time_s, energy_j;
  if (full.epochs.size() >= static_cast<std::size_t>(a.epochs) &&
      static_cast<long long>(log.epochs.size()) < a.epochs) {
    double t = 0, e = 0;
    for (long long k = 0; k < a.epochs; ++k) {
      t += full.epochs[k].duration_s;
      if (full.epochs[k].energy_j) e += *full.epochs[k].energy_j;
    }
    time_s = t;
    if (full.has_energy()) energy_j = e;
  }
  nlohmann::json j = x.ToJson();
  j["log"] = a.log;
  j["energy_column"] = log.has_energy() ? nlohmann::json(log.energy_column) : nullptr;
  j["time_column"] = log.time_column;
  j["first"] = a.first ? nlohmann::json(*a.first) : nullptr;
  j["measured"] = nullptr;
  if (time_s) {
    nlohmann::json m{{"epochs", a.epochs},
                     {"time_s", *time_s},
                     {"time_error_pct", ErrorPct(x.predicted_time_s, *time_s)},
                     {"energy_j", nullptr},
                     {"power_based_error_pct", nullptr},
                     {"epoch_based_error_pct", nullptr}};
    if (energy_j && x.power_based_j) {
      m["energy_j"] = *energy_j;
      m["power_based_error_pct"] = ErrorPct(*x.power_based_j, *energy_j);
      m["epoch_based_error_pct"] = ErrorPct(*x.epoch_based_j, *energy_j);
    }
    j["measured"] = m;
  }
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{}: {} of {} epochs logged{}{}{}\n", a.log, x.logged_epochs,
                           x.total_epochs, a.first ? fmt::format(" (first {} used)", *a.first) : "",
                           a.time_column == "duration_s"
                               ? ""
                               : fmt::format(", epoch times from {}", a.time_column),
                           log.has_energy() ? fmt::format(", energy from {}", log.energy_column)
                                            : ", time only (no energy_j or power_w column)");
  std::cout << fmt::format("stabilisation epoch {}{}; window: epochs {}-{} ({} epochs)\n",
                           x.stable_epoch,
                           x.stable_epoch_detected
                               ? fmt::format(" (detected: first window with duration CV <= {})",
                                             a.cv_threshold)
                               : "",
                           x.window_first, x.window_last, x.window);
  std::cout << fmt::format(
      "time: used t_u = {:.2f} s, window {:.2f} s ({:.3f} s/epoch), predicted total t = {:.2f} s "
      "({:.3f} h)\n",
      x.used_time_s, x.window_time_s, x.window_time_s / x.window, x.predicted_time_s,
      x.predicted_time_s / 3600);
  if (x.power_based_j) {
    std::cout << fmt::format(
        "power-based        E = P_w x t = {:.2f} W x {:.2f} s = {:.1f} J ({:.4f} Wh)\n",
        *x.window_power_w, x.predicted_time_s, *x.power_based_j, *x.power_based_j / 3600);
    std::cout << fmt::format(
        "epoch-energy-based E = E_w x s/w + E_u = {:.1f} J x {}/{} + {:.1f} J = {:.1f} J ({:.4f} "
        "Wh)\n",
        *x.window_energy_j, x.remaining_epochs, x.window, *x.used_energy_j, *x.epoch_based_j,
        *x.epoch_based_j / 3600);
  } else {
    std::cout << "energy: not estimated (the log has no energy_j or power_w column)\n";
  }
  if (time_s) {
    std::cout << fmt::format("measured (first {} epochs of the log): {:.2f} s, time error {:+.2f}%",
                             a.epochs, *time_s, ErrorPct(x.predicted_time_s, *time_s));
    if (energy_j && x.power_based_j) {
      std::cout << fmt::format("; {:.1f} J, power-based error {:+.2f}%, epoch-based error {:+.2f}%",
                               *energy_j, ErrorPct(*x.power_based_j, *energy_j),
                               ErrorPct(*x.epoch_based_j, *energy_j));
    }
    std::cout << "\n";
  }
}

}  // namespace

void RegisterExtrapolate(CLI::App& app) {
  auto a = std::make_shared<ExtrapolateArgs>();
  auto* cmd = app.add_subcommand(
      "extrapolate", "Total time and energy of a training run from its first epochs' log");
  cmd->add_option("log", a->log,
                  "Per-epoch CSV: epoch, duration_s and optionally energy_j or power_w")
      ->required();
  cmd->add_option("--epochs", a->epochs, "Total epochs of the run")->required();
  cmd->add_option("--stable-epoch", a->stable_epoch,
                  "Stabilisation epoch K (warm-up = epochs 1..K), or 'auto' to detect it")
      ->capture_default_str();
  cmd->add_option("--window", a->window, "Window w: the last w logged epochs, after K")
      ->capture_default_str();
  cmd->add_option("--cv-threshold", a->cv_threshold,
                  "auto: largest coefficient of variation of the window's epoch durations")
      ->capture_default_str();
  cmd->add_option("--first", a->first,
                  "Use only the log's first K epochs (and compare with its first N when it has "
                  "them)");
  cmd->add_option("--time-column", a->time_column,
                  "Column holding the epoch times in seconds (e.g. cpu_s)")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->callback([a] { RunExtrapolate(*a); });
}

}  // namespace joulecast::cli
