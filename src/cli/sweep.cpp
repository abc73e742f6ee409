// joulecast sweep WORKLOAD --gpu NAME --batch-sizes 32,64,... [--power-limits 150,200,...]
//   [--epochs E] [--target METRIC] [--region CODE] [--pue P] [--model PROFILE] [--json] [--html FILE]
// What-ifs over batch size and power limit for a workload of data/workloads.json on a GPU: per
// setting the training profile's average power, epoch time and energy, the totals for E epochs
// (× PUE) with TDP × time and Green Algorithms beside them, CO2e with --region, and, where Zeus
// measured epochs to a target for that batch size (predict/epochs_to_target.h), the energy and
// time to reach it. The lowest total energy and the lowest energy to target are marked.
// Mixed precision: no measurement in this repository is a float16/bfloat16 run (every layer
// record says dtype float32, and the Zeus power traces have no precision column), so there is no
// measured effect of mixed precision to show and the sweep has no precision axis; it says so.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "commands.h"
#include "html_cli.h"
#include "joulecast/io/csv.h"
#include "joulecast/predict/energy_baselines.h"
#include "joulecast/predict/epochs_to_target.h"
#include "joulecast/predict/grid_intensity.h"
#include "joulecast/predict/training_model.h"
#include "joulecast/predict/workload.h"

namespace joulecast::cli {
namespace {

constexpr const char* kMixedPrecisionNote =
    "not shown: no measurement in this repository is a float16/bfloat16 run (the layer records "
    "are float32 and the Zeus traces have no precision column), so there is no measured effect "
    "to report";

struct SweepArgs {
  std::string workload, gpu, batch_sizes, power_limits, region;
  std::string model = std::string(JOULECAST_SOURCE_DIR) + "/models/gpu-training.json";
  long long epochs = 1;
  std::optional<double> target;
  double pue = 1.0;
  bool json = false;
  std::string html;
};

std::vector<std::string> SplitList(const std::string& text, const char* option) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  if (out.empty() || text.back() == ',')
    throw std::runtime_error(fmt::format("{}: expected a comma-separated list, got '{}'", option, text));
  return out;
}

std::vector<std::int64_t> ParseBatchSizes(const std::string& text) {
  std::vector<std::int64_t> out;
  for (const std::string& s : SplitList(text, "--batch-sizes")) {
    long long v = 0;
    try {
      v = ParseInt(s, "--batch-sizes");
    } catch (const std::invalid_argument&) {
      v = 0;
    }
    if (v < 1)
      throw std::runtime_error(fmt::format("--batch-sizes: '{}' is not an integer >= 1", s));
    out.push_back(v);
  }
  return out;
}

std::vector<double> ParsePowerLimits(const std::string& text, const GpuSpec& gpu) {
  if (text.empty()) return {gpu.tdp_w};  // --power-limits not given
  std::vector<double> out;
  for (const std::string& s : SplitList(text, "--power-limits")) {
    double v = 0;
    try {
      v = ParseDouble(s, "--power-limits");
    } catch (const std::invalid_argument&) {
      throw std::runtime_error(fmt::format("--power-limits: '{}' is not a number of watts", s));
    }
    CheckPowerLimit(gpu, v);
    out.push_back(v);
  }
  return out;
}

void RunSweep(const SweepArgs& a) {
  if (a.epochs < 1) throw std::runtime_error(fmt::format("--epochs must be >= 1, got {}", a.epochs));
  if (!(a.pue >= 1.0) || !std::isfinite(a.pue))
    throw std::runtime_error(fmt::format("--pue must be a finite number >= 1, got {}", a.pue));
  const GpuTable gpus = GpuTable::LoadDefault();
  const GpuSpec& gpu = gpus.Find(a.gpu);
  const WorkloadTable workloads = WorkloadTable::LoadDefault();
  const Workload* w = workloads.TryFind(a.workload);
  if (!w) workloads.Find(a.workload);  // throws "unknown workload ...; known: ..."
  const std::vector<std::int64_t> batches = ParseBatchSizes(a.batch_sizes);
  const std::vector<double> limits = ParsePowerLimits(a.power_limits, gpu);
  std::optional<GridRegion> region;
  if (!a.region.empty()) region = GridIntensityTable::LoadDefault().Find(a.region);
  const EpochsToTargetTable ett = EpochsToTargetTable::LoadDefault();
  std::optional<double> target = a.target;
  if (target) {
    const std::vector<double> known = ett.Targets(w->name);
    if (known.empty())
      throw std::runtime_error(
          fmt::format("--target: no epochs-to-target data for workload {} ({})", w->name, ett.path()));
    if (std::none_of(known.begin(), known.end(),
                     [&](double t) { return std::fabs(t - *target) <= 1e-9 * std::fabs(t); })) {
      std::vector<std::string> ks;
      for (double t : known) ks.push_back(fmt::format("{}", t));
      throw std::runtime_error(fmt::format("--target {} is not a target of {}; known: {}", *target,
                                           w->name, fmt::join(ks, ", ")));
    }
  } else {
    target = ett.DefaultTarget(w->name, batches);
  }
  const TrainingModel m = TrainingModel::Load(a.model);
  const double epochs = static_cast<double>(a.epochs);

  nlohmann::json rows = nlohmann::json::array();
  std::optional<std::size_t> cheapest, cheapest_target;
  double best = 0, best_target = 0;
  for (std::int64_t b : batches) {
    const std::optional<EpochsToTarget> to =
        target ? ett.Find(w->name, b, *target) : std::optional<EpochsToTarget>();
    for (double pl : limits) {
      TrainingQuery q;
      q.gpu = gpu;
      q.train_gflops_per_sample = w->train_gflops_per_sample;
      q.params_m = w->params_m;
      q.samples_per_epoch = w->samples_per_epoch;
      q.batch_size = b;
      q.power_limit_w = pl;
      const TrainingPrediction p = m.Predict(q);
      const double total_s = p.epoch_time_s * epochs, total_j = p.epoch_energy_j * epochs * a.pue;
      nlohmann::json r{{"batch_size", b},
                       {"power_limit_w", pl},
                       {"average_power_w", p.power_w},
                       {"epoch_time_s", p.epoch_time_s},
                       {"epoch_energy_j", p.epoch_energy_j},
                       {"total_time_s", total_s},
                       {"total_energy_j", total_j},
                       {"baselines",
                        {{"tdp_time", {{"total_energy_j", TdpTimeEnergyJ(gpu, total_s) * a.pue}}},
                         {"green_algorithms",
                          {{"total_energy_j", GreenAlgorithmsEnergyJ(gpu, total_s, a.pue)}}}}},
                       {"cheapest", false},
                       {"to_target", nullptr}};
      if (region) r["co2e_kg"] = Co2eKg(total_j, region->g_co2e_per_kwh);
      if (to) {
        const double e = p.epoch_energy_j * to->mean_epochs * a.pue;
        nlohmann::json t{{"target", to->target},
                         {"epochs", to->mean_epochs},
                         {"runs_reached", to->runs_reached},
                         {"runs_total", to->runs_total},
                         {"optimizer", to->optimizer},
                         {"learning_rate", to->learning_rate},
                         {"energy_j", e},
                         {"time_s", p.epoch_time_s * to->mean_epochs},
                         {"cheapest", false}};
        if (region) t["co2e_kg"] = Co2eKg(e, region->g_co2e_per_kwh);
        r["to_target"] = t;
        if (!cheapest_target || e < best_target) {
          cheapest_target = rows.size();
          best_target = e;
        }
      }
      if (!cheapest || total_j < best) {
        cheapest = rows.size();
        best = total_j;
      }
      rows.push_back(r);
    }
  }
  rows[*cheapest]["cheapest"] = true;
  if (cheapest_target) rows[*cheapest_target]["to_target"]["cheapest"] = true;
  nlohmann::json j{{"workload", w->name},
                   {"gpu", gpu.name},
                   {"epochs", a.epochs},
                   {"pue", a.pue},
                   {"target", target ? nlohmann::json(*target) : nullptr},
                   {"target_higher_is_better",
                    ett.HigherIsBetter(w->name) ? nlohmann::json(*ett.HigherIsBetter(w->name))
                                                : nullptr},
                   {"epochs_to_target_source", ett.path()},
                   {"region", region ? region->ToJson() : nlohmann::json(nullptr)},
                   {"model", a.model},
                   {"mixed_precision", kMixedPrecisionNote},
                   {"settings", rows}};
  if (!a.html.empty()) WriteHtmlReport(a.html, report::TrainingReportHtml(SweepReport(j, m, a.model)));
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} on {}: {} epoch{} of {} samples, PUE {}{}\n", w->name, gpu.name,
                           a.epochs, a.epochs == 1 ? "" : "s", w->samples_per_epoch, a.pue,
                           region ? fmt::format(", grid {} ({}) {} g CO2e/kWh ({}, {})",
                                                region->code, region->name,
                                                region->g_co2e_per_kwh,
                                                region->year ? std::to_string(*region->year)
                                                             : "year not stated",
                                                region->source)
                                  : "");
  std::cout << fmt::format("{:>6} {:>6} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}{}  {}\n", "batch",
                           "limit", "power W", "epoch s", "epoch kJ", "total kWh", "TDPxt kWh",
                           "GA kWh", region ? fmt::format(" {:>9}", "kg CO2e") : "",
                           target ? fmt::format("to target {} (epochs, kWh)", *target)
                                  : "to target");
  for (const auto& r : rows) {
    std::string tt = "-";
    if (!r["to_target"].is_null()) {
      const auto& t = r["to_target"];
      tt = fmt::format("{:.1f} ep ({}/{} runs), {:.3f} kWh{}", t["epochs"].get<double>(),
                       t["runs_reached"].get<int>(), t["runs_total"].get<int>(),
                       t["energy_j"].get<double>() / 3.6e6, t["cheapest"].get<bool>() ? " <- cheapest to target" : "");
    }
    std::cout << fmt::format(
        "{:>6} {:>6} {:>8.1f} {:>10.1f} {:>10.2f} {:>10.4f} {:>10.4f} {:>10.4f}{}  {}{}\n",
        r["batch_size"].get<long long>(), r["power_limit_w"].get<double>(),
        r["average_power_w"].get<double>(), r["epoch_time_s"].get<double>(),
        r["epoch_energy_j"].get<double>() / 1e3, r["total_energy_j"].get<double>() / 3.6e6,
        r["baselines"]["tdp_time"]["total_energy_j"].get<double>() / 3.6e6,
        r["baselines"]["green_algorithms"]["total_energy_j"].get<double>() / 3.6e6,
        region ? fmt::format(" {:>9.4f}", r["co2e_kg"].get<double>()) : "", tt,
        r["cheapest"].get<bool>() ? "  <- cheapest" : "");
  }
  if (!target) {
    std::cout << fmt::format("epochs to target: none known for {} at these batch sizes ({})\n",
                             w->name, ett.path());
  } else {
    std::cout << fmt::format(
        "epochs to target: mean over the Zeus runs that reached {} ({}), best optimizer and "
        "learning rate per batch size; '-' = no run at that batch size reached it\n",
        *target, ett.path());
  }
  std::cout << "mixed precision: " << kMixedPrecisionNote << "\n";
}

}  // namespace

void RegisterSweep(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = app.add_subcommand(
      "sweep", "Energy and time over batch sizes and power limits for a workload on a GPU");
  cmd->add_option("workload", a->workload, "Workload of data/workloads.json")->required();
  cmd->add_option("--gpu", a->gpu, "GPU (data/hardware/gpus.json)")->required();
  cmd->add_option("--batch-sizes", a->batch_sizes, "Comma-separated batch sizes, e.g. 32,64,128")
      ->required();
  cmd->add_option("--power-limits", a->power_limits,
                  "Comma-separated power limits, W (default: the GPU's TDP)");
  cmd->add_option("--epochs", a->epochs, "Epochs for the totals")->capture_default_str();
  cmd->add_option("--target", a->target,
                  "Validation target for energy to accuracy (default: the strictest reached at "
                  "every swept batch size with data)");
  cmd->add_option("--region", a->region, "Grid region code for CO2e (data/carbon/grid_intensity.json)");
  cmd->add_option("--pue", a->pue, "Power usage effectiveness of the facility")
      ->capture_default_str();
  cmd->add_option("--model", a->model, "Training profile")->capture_default_str();
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->add_option("--html", a->html,
                  "Also write a self-contained HTML report (energy, time, CO2, baselines per "
                  "setting, the cheapest marked) to FILE");
  cmd->callback([a, cmd] {
    if (cmd->count("--html") > 0 && a->html.empty()) throw std::runtime_error("--html: empty path");
    RunSweep(*a);
  });
}

}  // namespace joulecast::cli
