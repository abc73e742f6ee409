#include "html_cli.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "joulecast/io/atomic_file.h"
#include "joulecast/predict/cpu_run.h"
#include "joulecast/report/svg.h"

namespace joulecast::cli {

void WriteHtmlReport(const std::string& path, const std::string& html) {
  try {
    WriteFileAtomically(path, html);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--html: {}", e.what()));
  }
}

report::TrainingReport TrainEstimateReport(const nlohmann::json& j, const TrainingModel& model,
                                           const std::string& model_path) {
  // Every number comes out of `j` by the pointer that the page then records, so the page and
  // --json cannot disagree.
  auto q = [&](const std::string& pointer) {
    return report::Quantity{j.at(nlohmann::json::json_pointer(pointer)).get<double>(), pointer};
  };
  report::TrainingReport r;
  const std::string target = j.at("target").get<std::string>();
  const std::string gpu = j.at("gpu").get<std::string>();
  r.title = fmt::format("Training {} on {}", target, gpu);
  auto num = [&](const char* key) { return report::FormatNumber(j.at(key).get<double>(), 6); };
  r.context = {{"job", target},
               {"GPU", gpu},
               {"batch size", num("batch_size")},
               {"epochs", num("epochs")},
               {"samples per epoch", num("samples_per_epoch")},
               {"training cost", num("train_gflops_per_sample") + " GFLOP per sample"},
               {"parameters", num("params_m") + " M"},
               {"power limit", num("power_limit_w") + " W"},
               {"PUE", num("pue")}};
  if (j.contains("co2_kg") && j.contains("total_energy_kwh") && j["total_energy_kwh"] > 0) {
    r.context.emplace_back(
        "carbon intensity",
        report::FormatNumber(1000 * j["co2_kg"].get<double>() / j["total_energy_kwh"].get<double>(),
                             4) +
            " g CO\u2082/kWh");
  }
  if (j.contains("region") && j["region"].is_object()) {
    r.context.emplace_back("grid region", fmt::format("{} ({})", j["region"].value("name", ""),
                                                      j["region"].value("code", "")));
  }
  if (j.contains("cost")) r.context.emplace_back("electricity cost", num("cost"));
  report::TrainingSetting s;
  s.name = fmt::format("batch {}, {} epochs", num("batch_size"), num("epochs"));
  s.energy_j = q("/total_energy_j");
  s.time_s = q("/total_time_s");
  s.power_w = q("/average_power_w");
  if (j.contains("co2_kg")) s.co2_kg = q("/co2_kg");
  s.baselines = {{"TDP \u00d7 time", q("/baselines/tdp_time/total_energy_j")},
                 {"Green Algorithms", q("/baselines/green_algorithms/total_energy_j")}};
  s.cheapest = true;
  r.settings.push_back(s);
  r.notes = {
      "Both baselines use our predicted time and need only the GPU's datasheet: TDP \u00d7 time "
      "assumes the GPU draws its TDP throughout; Green Algorithms (Lannelongue et al. 2021) adds "
      "0.3725 W per GB of GPU memory. The PUE multiplies all three."};
  if (j.contains("uncertainty")) {
    const nlohmann::json& u = j["uncertainty"];
    const nlohmann::json& c = u.at("coverage");
    r.notes.push_back(fmt::format(
        "Uncertainty: the profile's {} MAPE is {:.1f} % for power, {:.1f} % for time and {:.1f} % "
        "for energy.",
        u.at("cv").get<std::string>(), u.at("power_mape").get<double>(),
        u.at("time_mape").get<double>(), u.at("energy_mape").get<double>()));
    if (!c.at("gpu_in_training").get<bool>()) {
      r.notes.push_back(fmt::format("{} has no training runs in this profile{}.", gpu,
                                    c.at("extrapolating").get<bool>()
                                        ? ", and lies outside the training GPUs' specifications "
                                          "or batch sizes: an extrapolation"
                                        : ""));
    }
    if (!u.at("workload_matched").get<bool>()) {
      r.notes.push_back(fmt::format("No training runs of this network: the curves of {} stand in.",
                                    u.at("workload_curves").get<std::string>()));
    }
  }
  r.profile = report::SummarizeTrainingModel(model, model_path);
  return r;
}

report::TrainingReport SweepReport(const nlohmann::json& j, const TrainingModel& model,
                                   const std::string& model_path) {
  auto q = [&](const std::string& pointer) {
    return report::Quantity{j.at(nlohmann::json::json_pointer(pointer)).get<double>(), pointer};
  };
  auto num = [](const nlohmann::json& v) { return report::FormatNumber(v.get<double>(), 6); };
  report::TrainingReport r;
  const std::string workload = j.at("workload").get<std::string>();
  const std::string gpu = j.at("gpu").get<std::string>();
  r.title = fmt::format("Training {} on {}: batch sizes and power limits", workload, gpu);
  r.context = {{"workload", workload},
               {"GPU", gpu},
               {"epochs", num(j.at("epochs"))},
               {"PUE", num(j.at("pue"))}};
  const nlohmann::json& region = j.at("region");
  if (region.is_object()) {
    r.context.emplace_back(
        "grid region",
        fmt::format("{} ({}), {} g CO\u2082e/kWh", region.value("name", ""),
                    region.value("code", ""), num(region.at("g_co2e_per_kwh"))));
  }
  const nlohmann::json& target = j.at("target");
  if (!target.is_null()) {
    const nlohmann::json& higher = j.at("target_higher_is_better");
    r.target = fmt::format(
        "validation target {}{} in the Zeus runs ({}); epochs are the mean over the runs that "
        "reached it, with the best optimizer and learning rate at each batch size",
        num(target),
        higher.is_boolean() ? (higher.get<bool>() ? " (higher is better)" : " (lower is better)")
                            : "",
        j.value("epochs_to_target_source", std::string()));
  }
  const nlohmann::json& rows = j.at("settings");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string at = fmt::format("/settings/{}/", i);
    const nlohmann::json& row = rows[i];
    report::TrainingSetting s;
    s.name = fmt::format("batch {}, {} W", num(row.at("batch_size")), num(row.at("power_limit_w")));
    s.energy_j = q(at + "total_energy_j");
    s.time_s = q(at + "total_time_s");
    s.power_w = q(at + "average_power_w");
    if (row.contains("co2e_kg")) s.co2_kg = q(at + "co2e_kg");
    s.baselines = {{"TDP \u00d7 time", q(at + "baselines/tdp_time/total_energy_j")},
                   {"Green Algorithms", q(at + "baselines/green_algorithms/total_energy_j")}};
    s.cheapest = row.at("cheapest").get<bool>();
    if (row.at("to_target").is_object()) {
      s.target_energy_j = q(at + "to_target/energy_j");
      s.target_epochs = q(at + "to_target/epochs");
      s.cheapest_to_target = row["to_target"].at("cheapest").get<bool>();
    }
    r.settings.push_back(s);
  }
  r.notes = {
      "Both baselines use our predicted time and need only the GPU's datasheet: TDP \u00d7 time "
      "assumes the GPU draws its TDP throughout; Green Algorithms (Lannelongue et al. 2021) adds "
      "0.3725 W per GB of GPU memory. The PUE multiplies all three.",
      "Mixed precision: " + j.value("mixed_precision", std::string("not shown")) + "."};
  r.profile = report::SummarizeTrainingModel(model, model_path);
  return r;
}

namespace {

// A number of `j` at `pointer` as a Quantity, or none where the JSON has null.
std::optional<report::Quantity> Maybe(const nlohmann::json& j, const std::string& pointer) {
  const nlohmann::json& v = j.at(nlohmann::json::json_pointer(pointer));
  if (v.is_null()) return std::nullopt;
  return report::Quantity{v.get<double>(), pointer};
}

// "35 W, assumed (--power 35)" from a run's "power" object.
std::string PowerText(const nlohmann::json& power) {
  return fmt::format("{} W, {} ({})", report::FormatNumber(power.at("watts").get<double>(), 4),
                     power.at("source").get<std::string>(), power.at("detail").get<std::string>());
}

// The notes of both CPU pages: what energy is, and what is left out.
std::vector<std::string> CpuNotes(const nlohmann::json& run) {
  std::vector<std::string> notes;
  if (run.at("predicts") == "energy_j") {
    notes.push_back(
        "Energy is the profile's own prediction (an energy profile); it gives no time.");
  } else if (run.at("power").is_object()) {
    notes.push_back("Energy = power \u00d7 time, the power " + PowerText(run["power"]) + ".");
  } else {
    notes.push_back(
        "Time only: the profile measured no power; give --power W (this machine's average power "
        "while training) for energy.");
  }
  notes.push_back(std::string("Not included: data loading, evaluation passes and checkpointing ") +
                  "(the profile measured training steps only).");
  return notes;
}

}  // namespace

report::TrainingReport CpuRunReport(const nlohmann::json& j, const Profile& profile,
                                    const std::string& path) {
  auto num = [&](const char* key) { return report::FormatNumber(j.at(key).get<double>(), 6); };
  report::TrainingReport r;
  const std::string target = j.at("target").get<std::string>();
  const std::string cpu = j.at("cpu").is_string() ? j["cpu"].get<std::string>() : "a CPU";
  r.title = fmt::format("Training {} on {}", target, cpu);
  r.context = {{"job", target},
               {"CPU", cpu},
               {"profile", fmt::format("{} ({}, {})", j.at("profile").get<std::string>(), path,
                                       j.at("dtype").get<std::string>())},
               {"batch size", num("batch_size")},
               {"epochs", num("epochs")},
               {"samples per epoch", num("samples_per_epoch")},
               {"steps per epoch", num("steps_per_epoch")}};
  const char* unit = j.at("predicts") == "energy_j" ? "J" : "s";
  r.context.emplace_back(
      "per training step",
      report::FormatNumber(
          j.at(j.at("predicts") == "energy_j" ? "step_energy_j" : "step_time_s").get<double>(), 6) +
          " " + unit);
  const nlohmann::json& frozen = j.at("frozen");
  if (!frozen.empty()) {
    std::string names;
    for (const auto& f : frozen) names += (names.empty() ? "" : ", ") + f.get<std::string>();
    r.context.emplace_back(
        "frozen",
        fmt::format("{} (saving {} % of the step)", names,
                    report::FormatNumber(100 * j.at("freeze").at("saving").get<double>(), 3)));
  }
  if (j.at("power").is_object()) r.context.emplace_back("power", PowerText(j["power"]));
  report::TrainingSetting s;
  s.name = fmt::format("batch {}, {} epochs", num("batch_size"), num("epochs"));
  s.energy_j = Maybe(j, "/total_energy_j");
  s.time_s = Maybe(j, "/total_time_s");
  if (j.at("power").is_object()) s.power_w = Maybe(j, "/power/watts");
  s.cheapest = true;
  r.settings.push_back(s);
  r.notes = CpuNotes(j);
  r.profile = report::SummarizeProfile(profile, path);
  return r;
}

report::TrainingReport CpuSweepReport(const nlohmann::json& j, const Profile& profile,
                                      const std::string& path) {
  report::TrainingReport r;
  const std::string target = j.at("target").get<std::string>();
  const std::string cpu = j.at("cpu").is_string() ? j["cpu"].get<std::string>() : "a CPU";
  r.title = fmt::format("Training {} on {}: dtypes, batch sizes and frozen layers", target, cpu);
  std::string models;
  for (const auto& m : j.at("models")) {
    models += fmt::format("{}{} ({})", models.empty() ? "" : ", ", m.at("path").get<std::string>(),
                          m.at("dtype").get<std::string>());
  }
  r.context = {{"job", target}, {"CPU", cpu}, {"profiles", models}};
  const bool totals = !j.at("samples_per_epoch").is_null();
  if (totals) {
    r.context.emplace_back("epochs", report::FormatNumber(j.at("epochs").get<double>(), 6));
    r.context.emplace_back("samples per epoch",
                           report::FormatNumber(j["samples_per_epoch"].get<double>(), 6));
  }
  r.context.emplace_back("cheapest by",
                         "the lowest " + CheapestByText(j.at("cheapest_by").get<std::string>()));
  const nlohmann::json& rows = j.at("settings");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string at = fmt::format("/settings/{}/", i);
    const nlohmann::json& row = rows[i];
    std::string frozen;
    for (const auto& f : row.at("frozen"))
      frozen += (frozen.empty() ? "" : ",") + f.get<std::string>();
    report::TrainingSetting s;
    s.name = fmt::format("{}, batch {}, frozen: {}", row.at("dtype").get<std::string>(),
                         row.at("batch_size").get<long long>(), frozen.empty() ? "none" : frozen);
    s.energy_j = Maybe(j, at + (totals ? "total_energy_j" : "energy_per_sample_j"));
    s.time_s = Maybe(j, at + (totals ? "total_time_s" : "time_per_sample_s"));
    if (row.at("power").is_object()) s.power_w = Maybe(j, at + "power/watts");
    s.cheapest = row.at("cheapest").get<bool>();
    r.settings.push_back(s);
  }
  // One energy note per profile (dtype): each has its own measured power or none.
  std::vector<std::string> seen;
  for (const nlohmann::json& row : rows) {
    const std::string dtype = row.at("dtype").get<std::string>();
    if (std::find(seen.begin(), seen.end(), dtype) != seen.end()) continue;
    seen.push_back(dtype);
    std::string note = CpuNotes(row).front();
    if (j.at("models").size() > 1) note = dtype + ": " + note;
    r.notes.push_back(note);
  }
  r.notes.push_back(CpuNotes(rows.at(0)).back());
  if (!totals) {
    r.notes.insert(r.notes.begin(),
                   "Figures per training sample (no --dataset-size): a step's time or energy over "
                   "its batch size.");
  }
  r.notes.push_back("Precision: " + j.at("precision").get<std::string>() + ".");
  r.profile = report::SummarizeProfile(profile, path);
  return r;
}

}  // namespace joulecast::cli
