#include "joulecast/predict/online_estimate.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace joulecast {
namespace {

using nlohmann::json;

json Opt(const std::optional<double>& v, double scale = 1.0) {
  return v ? json(*v / scale) : json(nullptr);
}

double DurationCv(const TrainingLog& log, int first, int last) {  // 1-based, inclusive
  double sum = 0, sq = 0;
  const int n = last - first + 1;
  for (int k = first; k <= last; ++k) sum += log.epochs[k - 1].duration_s;
  const double mean = sum / n;
  for (int k = first; k <= last; ++k) {
    const double d = log.epochs[k - 1].duration_s - mean;
    sq += d * d;
  }
  return std::sqrt(sq / n) / mean;
}

}  // namespace

EpochEnergy EpochEnergyFromPower(const std::vector<double>& power_w, double duration_s) {
  if (power_w.empty()) throw std::runtime_error("epoch energy: no power samples");
  if (!(duration_s > 0) || !std::isfinite(duration_s))
    throw std::runtime_error(fmt::format("epoch energy: duration must be > 0 s, got {}", duration_s));
  double sum = 0;
  for (std::size_t i = 0; i < power_w.size(); ++i) {
    if (!std::isfinite(power_w[i]) || power_w[i] < 0)
      throw std::runtime_error(
          fmt::format("epoch energy: power sample {} must be finite and >= 0, got {}", i,
                      power_w[i]));
    sum += power_w[i];
  }
  const double mean = sum / static_cast<double>(power_w.size());
  EpochEnergy e;
  e.wh = mean * duration_s / 3600.0;
  e.j = mean * duration_s;
  return e;
}

int DetectStableEpoch(const TrainingLog& log, int window, double cv_threshold) {
  if (window < 1) throw std::runtime_error(fmt::format("--window must be >= 1, got {}", window));
  const int n = static_cast<int>(log.epochs.size());
  double best = std::numeric_limits<double>::infinity();
  int best_k = 0;
  for (int k = 1; window <= n - k; ++k) {  // not k + window: --window may be near INT_MAX
    const double cv = DurationCv(log, k + 1, k + window);
    if (cv <= cv_threshold) return k;
    if (cv < best) {
      best = cv;
      best_k = k;
    }
  }
  if (best_k == 0) {
    throw std::runtime_error(fmt::format(
        "{}: {} epochs logged; detecting the stabilisation epoch needs at least {} (epoch 1 and "
        "a window of {})",
        log.path, n, static_cast<long long>(window) + 1, window));
  }
  throw std::runtime_error(fmt::format(
      "{}: no window of {} epochs after epoch 1 has a duration coefficient of variation <= {} "
      "(lowest {:.4f}, epochs {}-{}); give --stable-epoch K",
      log.path, window, cv_threshold, best, best_k + 1, best_k + window));
}

Extrapolation Extrapolate(const TrainingLog& log, int total_epochs, const OnlineOptions& options) {
  if (total_epochs < 1)
    throw std::runtime_error(fmt::format("--epochs must be >= 1, got {}", total_epochs));
  if (options.window < 1)
    throw std::runtime_error(fmt::format("--window must be >= 1, got {}", options.window));
  const int n = static_cast<int>(log.epochs.size());
  if (n == 0) throw std::runtime_error(fmt::format("{}: no epochs", log.path));
  if (total_epochs < n) {
    throw std::runtime_error(fmt::format("--epochs {} is fewer than the {} epochs already in {}",
                                         total_epochs, n, log.path));
  }
  Extrapolation x;
  x.total_epochs = total_epochs;
  x.logged_epochs = n;
  x.remaining_epochs = total_epochs - n;
  x.window = options.window;
  if (options.stable_epoch) {
    if (*options.stable_epoch < 0) {
      throw std::runtime_error(
          fmt::format("--stable-epoch must be >= 0, got {}", *options.stable_epoch));
    }
    x.stable_epoch = *options.stable_epoch;
  } else {
    x.stable_epoch = DetectStableEpoch(log, options.window, options.cv_threshold);
    x.stable_epoch_detected = true;
  }
  // In long long: --stable-epoch and --window may each be near INT_MAX.
  const long long needed = static_cast<long long>(x.stable_epoch) + x.window;
  if (n < needed) {
    throw std::runtime_error(fmt::format(
        "{}: {} epochs logged; the window of {} epochs after stabilisation epoch {} needs at "
        "least {}",
        log.path, n, x.window, x.stable_epoch, needed));
  }
  x.window_first = n - x.window + 1;
  x.window_last = n;
  double e_u = 0, e_w = 0;
  for (const LogEpoch& e : log.epochs) {
    x.used_time_s += e.duration_s;
    if (e.energy_j) e_u += *e.energy_j;
    if (e.epoch >= x.window_first) {
      x.window_time_s += e.duration_s;
      if (e.energy_j) e_w += *e.energy_j;
    }
  }
  const double s = x.remaining_epochs, w = x.window;
  x.predicted_time_s = x.used_time_s + s * x.window_time_s / w;
  if (log.has_energy()) {
    x.used_energy_j = e_u;
    x.window_energy_j = e_w;
    x.window_power_w = e_w / x.window_time_s;
    x.power_based_j = *x.window_power_w * x.predicted_time_s;
    x.epoch_based_j = e_w * s / w + e_u;
  }
  // Finite durations and energies can still add or multiply up to infinity (1e300 s epochs):
  // an "inf J" estimate would be printed as if it were one.
  for (const double v : {x.used_time_s, x.window_time_s, x.predicted_time_s,
                         x.window_power_w.value_or(0), x.power_based_j.value_or(0),
                         x.epoch_based_j.value_or(0)}) {
    if (!std::isfinite(v)) {
      throw std::runtime_error(fmt::format(
          "{}: the durations or energies are too large: the extrapolated totals over {} epochs "
          "overflow a double",
          log.path, total_epochs));
    }
  }
  return x;
}

nlohmann::json Extrapolation::ToJson() const {
  return json{{"total_epochs", total_epochs},
              {"logged_epochs", logged_epochs},
              {"remaining_epochs", remaining_epochs},
              {"stable_epoch", stable_epoch},
              {"stable_epoch_detected", stable_epoch_detected},
              {"window", window},
              {"window_epochs", {window_first, window_last}},
              {"used_time_s", used_time_s},
              {"window_time_s", window_time_s},
              {"predicted_time_s", predicted_time_s},
              {"used_energy_j", Opt(used_energy_j)},
              {"window_energy_j", Opt(window_energy_j)},
              {"window_power_w", Opt(window_power_w)},
              {"power_based_energy_j", Opt(power_based_j)},
              {"power_based_energy_wh", Opt(power_based_j, 3600.0)},
              {"epoch_based_energy_j", Opt(epoch_based_j)},
              {"epoch_based_energy_wh", Opt(epoch_based_j, 3600.0)}};
}

Breakeven PretrainingBreakeven(double e_enc_j, double e_enc_cls_j, double e_cls_j) {
  const std::pair<const char*, double> args[] = {
      {"--e-enc", e_enc_j}, {"--e-enc-cls", e_enc_cls_j}, {"--e-cls", e_cls_j}};
  for (const auto& [name, v] : args) {
    if (!std::isfinite(v) || v <= 0)
      throw std::runtime_error(fmt::format("{} must be a finite energy > 0 J, got {}", name, v));
  }
  if (e_enc_cls_j - e_cls_j <= 0) {
    throw std::runtime_error(fmt::format(
        "--e-enc-cls {} J is not above --e-cls {} J: per task, the pretrained encoder saves "
        "nothing, so pretraining never pays off",
        e_enc_cls_j, e_cls_j));
  }
  Breakeven b;
  b.tasks = e_enc_j / (e_enc_cls_j - e_cls_j);
  if (!std::isfinite(b.tasks)) {
    throw std::runtime_error(fmt::format("x = {} J / {} J overflows a double", e_enc_j,
                                         e_enc_cls_j - e_cls_j));
  }
  // floor(x) + 1 must fit a long long: converting a larger double is undefined behaviour.
  // 2^63 is exact as a double; every double below it converts safely.
  const double floor_x = std::floor(b.tasks);
  if (floor_x + 1 < 9223372036854775808.0) {
    b.first_paying_task = static_cast<long long>(floor_x) + 1;
  }
  return b;
}

}  // namespace joulecast
