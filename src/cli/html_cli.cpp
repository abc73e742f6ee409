#include "html_cli.h"

#include <fmt/format.h>

#include <stdexcept>

#include "joulecast/io/atomic_file.h"
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

}  // namespace joulecast::cli
