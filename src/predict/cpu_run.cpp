#include "joulecast/predict/cpu_run.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "joulecast/predict/frozen_step.h"
#include "joulecast/predict/network_estimate.h"

namespace joulecast {

const char* const kCpuRunCaveat =
    "not included: data loading, evaluation passes and checkpointing (the profile measured "
    "training steps only)";

CpuRunEstimate EstimateCpuRun(const Profile& profile, const graph::Graph& g, const CpuRunOptions& o,
                              const std::string& where) {
  if (o.epochs < 1)
    throw std::runtime_error(fmt::format("--epochs must be >= 1, got {}", o.epochs));
  if (o.samples_per_epoch && !(*o.samples_per_epoch >= 1 && std::isfinite(*o.samples_per_epoch))) {
    throw std::runtime_error(
        fmt::format("--dataset-size must be a finite number >= 1, got {}", *o.samples_per_epoch));
  }
  Profile train = profile;
  train.SelectMode("train_step", where);
  CpuRunEstimate r;
  r.network = g.name;
  r.profile = profile.name;
  r.target = profile.target;
  r.dtype = profile.dtype;
  r.batch_size = g.batch();
  r.epochs = o.epochs;
  r.frozen = o.frozen;
  r.power = PowerFor(profile, o.power_w);
  if (o.frozen.empty()) {
    const NetworkEstimate est = EstimateGraph(train, g);
    r.step = est.total;
    r.parameters = r.trainable_parameters = est.parameters;
  } else {
    graph::FrozenParameters(g, o.frozen);  // a scope that matches nothing, before the modes
    const FrozenStepEstimate f = EstimateFrozenStep(profile, g, o.frozen, where);
    r.step = f.step;
    r.full_step = f.full;
    r.saving = f.saving();
    r.parameters = f.parameters;
    r.trainable_parameters = f.trainable_parameters;
  }
  const double b = static_cast<double>(r.batch_size);
  if (o.samples_per_epoch) {
    r.samples_per_epoch = *o.samples_per_epoch;
    r.steps_per_epoch = std::ceil(*o.samples_per_epoch / b);
  }
  // One unit at a time: the profile's own (s or J), then energy from time where a power is known.
  auto fill = [&](double step, std::optional<double>& s, std::optional<double>& per_sample,
                  std::optional<double>& epoch, std::optional<double>& total) {
    s = step;
    per_sample = step / b;
    if (r.steps_per_epoch) {
      epoch = step * *r.steps_per_epoch;
      total = *epoch * static_cast<double>(r.epochs);
    }
  };
  if (r.target == "energy_j") {
    fill(r.step, r.step_j, r.per_sample_j, r.epoch_j, r.total_j);
  } else {
    fill(r.step, r.step_s, r.per_sample_s, r.epoch_s, r.total_s);
    if (r.power) fill(r.step * r.power->watts, r.step_j, r.per_sample_j, r.epoch_j, r.total_j);
  }
  return r;
}

nlohmann::json CpuRunEstimate::ToJson() const {
  auto opt = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json j{{"network", network},
                   {"profile", profile},
                   {"predicts", target},
                   {"dtype", dtype},
                   {"batch_size", batch_size},
                   {"epochs", epochs},
                   {"frozen", frozen},
                   {"samples_per_epoch", opt(samples_per_epoch)},
                   {"steps_per_epoch", opt(steps_per_epoch)},
                   {"step_time_s", opt(step_s)},
                   {"time_per_sample_s", opt(per_sample_s)},
                   {"epoch_time_s", opt(epoch_s)},
                   {"total_time_s", opt(total_s)},
                   {"step_energy_j", opt(step_j)},
                   {"energy_per_sample_j", opt(per_sample_j)},
                   {"epoch_energy_j", opt(epoch_j)},
                   {"total_energy_j", opt(total_j)},
                   {"total_energy_kwh", total_j ? nlohmann::json(*total_j / 3.6e6) : nullptr},
                   {"energy", target == "energy_j" ? nlohmann::json("predicted")
                              : power              ? nlohmann::json("power x time")
                                                   : nlohmann::json(nullptr)},
                   {"power", nullptr},
                   {"freeze", nullptr},
                   {"parameters", parameters},
                   {"trainable_parameters", trainable_parameters},
                   {"caveat", kCpuRunCaveat}};
  if (power) {
    j["power"] = {{"watts", power->watts}, {"source", power->Kind()}, {"detail", power->detail}};
  }
  if (full_step) {
    j["freeze"] = {{target == "energy_j" ? "full_step_j" : "full_step_s", *full_step},
                   {"saving", saving.value_or(0)}};
  }
  return j;
}

CheapestRun CheapestCpuRun(const std::vector<CpuRunEstimate>& runs) {
  if (runs.empty()) throw std::invalid_argument("cheapest run: no runs");
  struct Criterion {
    const char* key;
    std::optional<double> CpuRunEstimate::*field;
  };
  const Criterion order[] = {{"total_energy_j", &CpuRunEstimate::total_j},
                             {"energy_per_sample_j", &CpuRunEstimate::per_sample_j},
                             {"total_time_s", &CpuRunEstimate::total_s},
                             {"time_per_sample_s", &CpuRunEstimate::per_sample_s}};
  for (const Criterion& c : order) {
    bool all = true;
    for (const CpuRunEstimate& r : runs) all = all && (r.*c.field).has_value();
    if (!all) continue;
    CheapestRun best{0, c.key};
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (*(runs[i].*c.field) < *(runs[best.index].*c.field)) best.index = i;
    }
    return best;
  }
  // Every run has time per sample or energy per sample, so one criterion above applies.
  throw std::invalid_argument("cheapest run: runs with neither time nor energy");
}

std::string CheapestByText(const std::string& by) {
  if (by == "total_energy_j") return "total energy";
  if (by == "energy_per_sample_j") return "energy per sample";
  if (by == "total_time_s") return "total time";
  if (by == "time_per_sample_s") return "time per sample";
  return by;
}

namespace {

// hardware.cpu, or "" when the profile does not say.
std::string CpuOf(const Profile& p) {
  if (!p.hardware.is_object()) return "";
  const auto it = p.hardware.find("cpu");
  return it != p.hardware.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

void CheckSweepProfiles(const std::vector<Profile>& profiles,
                        const std::vector<std::string>& paths) {
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    for (std::size_t k = 0; k < i; ++k) {
      const Profile &a = profiles[k], &b = profiles[i];
      const std::string ca = CpuOf(a), cb = CpuOf(b);
      if (!ca.empty() && !cb.empty() && ca != cb) {
        throw std::runtime_error(fmt::format(
            "--model: {} describes CPU '{}' but {} '{}': the profiles of one sweep describe one "
            "machine",
            paths[k], ca, paths[i], cb));
      }
      if (a.dtype == b.dtype) {
        throw std::runtime_error(
            fmt::format("--model: {} and {} both predict {} runs: give one profile per dtype",
                        paths[k], paths[i], a.dtype));
      }
      if (a.target != b.target) {
        throw std::runtime_error(
            fmt::format("--model: {} predicts {} but {} {}: give profiles of one target", paths[k],
                        a.target, paths[i], b.target));
      }
    }
  }
}

}  // namespace joulecast
