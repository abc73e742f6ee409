// joulecast sweep WORKLOAD --gpu NAME --batch-sizes 32,64,... [--power-limits 150,200,...]
//   [--epochs E] [--target METRIC] [--region CODE] [--pue P] [--model PROFILE] [--json] [--html
//   FILE]
// What-ifs over batch size and power limit for a workload of data/workloads.json on a GPU: per
// setting the training profile's average power, epoch time and energy, the totals for E epochs
// (× PUE) with TDP × time and Green Algorithms beside them, CO2e with --region, and, where Zeus
// measured epochs to a target for that batch size (predict/epochs_to_target.h), the energy and
// time to reach it. The lowest total energy and the lowest energy to target are marked.
// Mixed precision on a GPU: the Zeus power traces have no precision column, so there is no
// measured effect of mixed precision on a GPU to show and this route has no precision axis; it
// says so.
//
// joulecast sweep ARCH --model P1[,P2...] --batch-sizes 1,8,32 [--freeze-options "none;A,B;..."]
//   [--dataset-size N] [--epochs E] [--power W] [--seq-len S] [--json] [--html FILE]
// Without --gpu, with layer-wise profiles (kind "joulecast_profile") of one CPU: any network over
// dtype (one profile per dtype, each profile's "dtype") × batch size × frozen parameters
// (';'-separated choices, each "none" or a comma list of scopes); per combination the training
// step, time per sample, and with --dataset-size the epoch and the total for E epochs
// (predict/cpu_run.h), energy where the power is known. The cheapest is marked: lowest total
// energy when every row has energy, else lowest total time (per sample without --dataset-size).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "commands.h"
#include "common.h"
#include "html_cli.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/io/csv.h"
#include "joulecast/predict/cpu_run.h"
#include "joulecast/predict/energy_baselines.h"
#include "joulecast/predict/epochs_to_target.h"
#include "joulecast/predict/grid_intensity.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/profile.h"
#include "joulecast/predict/training_model.h"
#include "joulecast/predict/workload.h"

namespace joulecast::cli {
namespace {

constexpr const char* kMixedPrecisionNote =
    "not shown: the Zeus traces this profile is fitted on have no precision column, so there is "
    "no measured effect of float16/bfloat16 on a GPU to report (on a CPU, `sweep ARCH --model "
    "F32,BF16` sweeps the dtypes of layer-wise profiles)";

struct SweepArgs {
  std::string workload, gpu, batch_sizes, power_limits, region;
  std::string model = std::string(JOULECAST_SOURCE_DIR) + "/models/gpu-training.json";
  long long epochs = 1;
  std::optional<double> target;
  double pue = 1.0;
  bool json = false;
  std::string html;
  // The layer-wise route (no --gpu).
  std::string freeze_options;
  std::optional<double> dataset_size, power;
  std::int64_t seq_len = 0;
  bool model_given = false, freeze_options_given = false;
  std::vector<std::string> gpu_only, layerwise_only;  // options given that the route refuses
};

std::vector<std::string> SplitList(const std::string& text, const char* option) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  if (out.empty() || text.back() == ',')
    throw std::runtime_error(
        fmt::format("{}: expected a comma-separated list, got '{}'", option, text));
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
  if (!a.layerwise_only.empty()) {
    throw std::runtime_error(fmt::format("{}: only with layer-wise profiles (without --gpu)",
                                         fmt::join(a.layerwise_only, ", ")));
  }
  if (a.epochs < 1)
    throw std::runtime_error(fmt::format("--epochs must be >= 1, got {}", a.epochs));
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
      throw std::runtime_error(fmt::format(
          "--target: no epochs-to-target data for workload {} ({})", w->name, ett.path()));
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
  nlohmann::json j{
      {"workload", w->name},
      {"gpu", gpu.name},
      {"epochs", a.epochs},
      {"pue", a.pue},
      {"target", target ? nlohmann::json(*target) : nullptr},
      {"target_higher_is_better",
       ett.HigherIsBetter(w->name) ? nlohmann::json(*ett.HigherIsBetter(w->name)) : nullptr},
      {"epochs_to_target_source", ett.path()},
      {"region", region ? region->ToJson() : nlohmann::json(nullptr)},
      {"model", a.model},
      {"mixed_precision", kMixedPrecisionNote},
      {"settings", rows}};
  if (!a.html.empty())
    WriteHtmlReport(a.html, report::TrainingReportHtml(SweepReport(j, m, a.model)));
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format(
      "{} on {}: {} epoch{} of {} samples, PUE {}{}\n", w->name, gpu.name, a.epochs,
      a.epochs == 1 ? "" : "s", w->samples_per_epoch, a.pue,
      region ? fmt::format(", grid {} ({}) {} g CO2e/kWh ({}, {})", region->code, region->name,
                           region->g_co2e_per_kwh,
                           region->year ? std::to_string(*region->year) : "year not stated",
                           region->source)
             : "");
  std::cout << fmt::format(
      "{:>6} {:>6} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}{}  {}\n", "batch", "limit", "power W",
      "epoch s", "epoch kJ", "total kWh", "TDPxt kWh", "GA kWh",
      region ? fmt::format(" {:>9}", "kg CO2e") : "",
      target ? fmt::format("to target {} (epochs, kWh)", *target) : "to target");
  for (const auto& r : rows) {
    std::string tt = "-";
    if (!r["to_target"].is_null()) {
      const auto& t = r["to_target"];
      tt = fmt::format("{:.1f} ep ({}/{} runs), {:.3f} kWh{}", t["epochs"].get<double>(),
                       t["runs_reached"].get<int>(), t["runs_total"].get<int>(),
                       t["energy_j"].get<double>() / 3.6e6,
                       t["cheapest"].get<bool>() ? " <- cheapest to target" : "");
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

// `text` split at `sep`, empty items kept ("a;;b" -> a, "", b; "a;" -> a, "").
std::vector<std::string> SplitKeepingEmpty(const std::string& text, char sep) {
  std::vector<std::string> out(1);
  for (char c : text) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

// "none;conv1,bn1;layer1" -> {}, {conv1, bn1}, {layer1}; not given: the one choice "none".
std::vector<std::vector<std::string>> ParseFreezeOptions(const std::string& text, bool given) {
  if (!given) return {{}};
  std::vector<std::vector<std::string>> out;
  for (const std::string& choice : SplitKeepingEmpty(text, ';')) {
    if (choice == "none") {
      out.emplace_back();
      continue;
    }
    const std::vector<std::string> scopes = SplitKeepingEmpty(choice, ',');
    for (const std::string& scope : scopes) {
      if (scope.empty() || scope == "none") {
        throw std::runtime_error(
            fmt::format("--freeze-options: '{}' in '{}' is neither none nor a comma list of scopes",
                        choice, text));
      }
    }
    out.push_back(scopes);
  }
  return out;
}

// An estimate's "--freeze: ..." errors are about this sweep's --freeze-options.
[[noreturn]] void RethrowAsFreezeOptions(const std::runtime_error& e) {
  const std::string m = e.what(), prefix = "--freeze: ";
  if (m.rfind(prefix, 0) == 0)
    throw std::runtime_error("--freeze-options: " + m.substr(prefix.size()));
  throw e;
}

// sweep without --gpu: layer-wise profiles of one CPU over dtype x batch size x frozen parameters.
void RunLayerwiseSweep(const SweepArgs& a) {
  const std::string need_gpu = fmt::format(
      "--gpu: required with a training-run profile ({}); for a sweep on a CPU give layer-wise "
      "profiles with --model P1[,P2...] (e.g. models/amd-epyc-2c-time.json)",
      a.model);
  if (!a.model_given) throw std::runtime_error(need_gpu);
  if (!a.gpu_only.empty()) {
    throw std::runtime_error(fmt::format(
        "{}: only with --gpu; a sweep on a CPU from layer-wise profiles takes --batch-sizes, "
        "--freeze-options, --dataset-size, --epochs and --power",
        fmt::join(a.gpu_only, ", ")));
  }
  if (a.epochs < 1)
    throw std::runtime_error(fmt::format("--epochs must be >= 1, got {}", a.epochs));
  if (a.dataset_size && !(*a.dataset_size >= 1 && std::isfinite(*a.dataset_size))) {
    throw std::runtime_error(
        fmt::format("--dataset-size must be a finite number >= 1, got {}", *a.dataset_size));
  }
  const std::vector<std::int64_t> batches = ParseBatchSizes(a.batch_sizes);
  const std::vector<std::vector<std::string>> choices =
      ParseFreezeOptions(a.freeze_options, a.freeze_options_given);
  const std::vector<std::string> paths = SplitList(a.model, "--model");
  std::vector<Profile> profiles;
  for (const std::string& p : paths) {
    profiles.push_back(LoadLayerwiseProfile(
        p, paths.size() == 1 ? need_gpu
                             : fmt::format("--model: {} is a training-run profile (for --gpu); "
                                           "give layer-wise profiles",
                                           p)));
  }
  CheckSweepProfiles(profiles, paths);
  // One machine (CheckSweepProfiles): one warning when it is not this one.
  if (auto w = HardwareMismatch(profiles.front(), HostFingerprint()))
    std::cerr << "joulecast: warning: " << *w << "\n";
  // The network, once, at the first batch size; re-targeted per batch size below.
  const LayerwiseRunTarget run =
      LoadLayerwiseRunTarget(a.workload, batches.front(), a.seq_len, a.dataset_size);
  const std::optional<double> samples = run.samples_per_epoch;
  const std::string& what = run.what;
  const graph::Graph* g0 = &run.graph;
  for (const std::vector<std::string>& c : choices) {
    if (c.empty()) continue;
    try {
      graph::FrozenParameters(*g0, c);
    } catch (const std::runtime_error& e) {
      RethrowAsFreezeOptions(e);
    }
  }
  std::vector<CpuRunEstimate> runs;
  std::vector<std::size_t> model_of;
  for (std::size_t m = 0; m < profiles.size(); ++m) {
    for (std::int64_t b : batches) {
      graph::Graph g = *g0;
      g.SetBatch(b);
      graph::InferShapes(g);
      for (const std::vector<std::string>& c : choices) {
        CpuRunOptions o;
        o.frozen = c;
        o.samples_per_epoch = samples;
        o.epochs = a.epochs;
        o.power_w = a.power;
        try {
          runs.push_back(EstimateCpuRun(profiles[m], g, o, paths[m]));
        } catch (const std::runtime_error& e) {
          RethrowAsFreezeOptions(e);
        }
        model_of.push_back(m);
      }
    }
  }
  const CheapestRun cheapest = CheapestCpuRun(runs);
  nlohmann::json models = nlohmann::json::array();
  std::vector<std::string> dtypes;
  for (std::size_t m = 0; m < profiles.size(); ++m) {
    models.push_back(
        {{"path", paths[m]}, {"name", profiles[m].name}, {"dtype", profiles[m].dtype}});
    dtypes.push_back(profiles[m].dtype);
  }
  const std::string precision =
      profiles.size() > 1
          ? fmt::format("the dtypes of the profiles given: {}", fmt::join(dtypes, ", "))
          : fmt::format(
                "one dtype ({}): give a profile of another dtype of this machine beside "
                "it (--model F32,BF16; fitted from records of `collect --dtype "
                "bfloat16`) for a dtype axis",
                profiles.front().dtype);
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t i = 0; i < runs.size(); ++i) {
    nlohmann::json r = runs[i].ToJson();
    r["model"] = paths[model_of[i]];
    r["cheapest"] = i == cheapest.index;
    rows.push_back(r);
  }
  const nlohmann::json& hw = profiles.front().hardware;
  nlohmann::json j{
      {"target", what},
      {"route", "layer-wise CPU"},
      {"cpu", hw.is_object() && hw.contains("cpu") ? hw["cpu"] : nlohmann::json(nullptr)},
      {"models", models},
      {"batch_sizes", batches},
      {"freeze_options", choices},
      {"epochs", a.epochs},
      {"samples_per_epoch", samples ? nlohmann::json(*samples) : nullptr},
      {"cheapest_by", cheapest.by},
      {"precision", precision},
      {"caveat", kCpuRunCaveat},
      {"settings", rows}};
  if (!a.html.empty()) {
    Profile first = profiles.front();
    first.SelectMode("train_step", paths.front());
    WriteHtmlReport(a.html, report::TrainingReportHtml(CpuSweepReport(j, first, paths.front())));
  }
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} on {}, layer-wise: {}\n", what,
                           j["cpu"].is_string() ? j["cpu"].get<std::string>() : "(CPU not stated)",
                           samples ? fmt::format("{} epoch{} of {} samples", a.epochs,
                                                 a.epochs == 1 ? "" : "s", *samples)
                                   : std::string("per step and per sample (no --dataset-size)"));
  const char* unit = TargetUnit(profiles.front().target);
  std::cout << fmt::format("{:<9} {:>6}  {:<24} {:>10} {:>11} {:>10} {:>10} {:>10}\n", "dtype",
                           "batch", "frozen", fmt::format("step {}", unit),
                           fmt::format("{}/sample", unit), "epoch s", "total h", "total kWh");
  // A number with `digits` significant digits (fixed: `digits` decimals), "-" for null.
  auto cell = [](const nlohmann::json& v, double scale, int digits, bool fixed = false) {
    if (v.is_null()) return std::string("-");
    return fixed ? fmt::format("{:.{}f}", v.get<double>() * scale, digits)
                 : fmt::format("{:.{}g}", v.get<double>() * scale, digits);
  };
  for (const nlohmann::json& r : rows) {
    std::string frozen;
    for (const auto& f : r["frozen"]) frozen += (frozen.empty() ? "" : ",") + f.get<std::string>();
    const bool energy = r["predicts"] == "energy_j";
    std::cout << fmt::format(
        "{:<9} {:>6}  {:<24} {:>10} {:>11} {:>10} {:>10} {:>10}{}\n", r["dtype"].get<std::string>(),
        r["batch_size"].get<long long>(), frozen.empty() ? "none" : frozen,
        cell(r[energy ? "step_energy_j" : "step_time_s"], 1, 4),
        cell(r[energy ? "energy_per_sample_j" : "time_per_sample_s"], 1, 4),
        cell(r["epoch_time_s"], 1, 1, true), cell(r["total_time_s"], 1 / 3600.0, 3, true),
        cell(r["total_energy_kwh"], 1, 4, true), r["cheapest"].get<bool>() ? "  <- cheapest" : "");
  }
  std::cout << fmt::format("cheapest: the lowest {}\n", CheapestByText(cheapest.by));
  for (std::size_t m = 0; m < profiles.size(); ++m) {
    const CpuRunEstimate& r = runs[m * batches.size() * choices.size()];
    std::string energy;
    if (r.target == "energy_j") {
      energy = "predicted by the profile (energy_j)";
    } else if (r.power) {
      energy =
          fmt::format("{:.4g} W x time, {} ({})", r.power->watts, r.power->Kind(), r.power->detail);
    } else {
      energy = "not known: the profile measured no power; give --power W";
    }
    std::cout << fmt::format("energy ({}, {}): {}\n", paths[m], r.dtype, energy);
  }
  std::cout << "precision: " << precision << "\n";
  std::cout << kCpuRunCaveat << "\n";
}

}  // namespace

void RegisterSweep(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "Energy and time over batch sizes and power limits for a workload on a GPU, or over "
      "dtypes, batch sizes and frozen layers for any network on a CPU (layer-wise profiles)");
  cmd->add_option("workload", a->workload,
                  "Workload of data/workloads.json (with --gpu); without --gpu also an "
                  "architecture (zoo name, graph .json, Hugging Face config)")
      ->required();
  cmd->add_option("--gpu", a->gpu,
                  "GPU (data/hardware/gpus.json); without it, --model names layer-wise CPU "
                  "profiles");
  cmd->add_option("--batch-sizes", a->batch_sizes, "Comma-separated batch sizes, e.g. 32,64,128")
      ->required();
  cmd->add_option("--power-limits", a->power_limits,
                  "Comma-separated power limits, W (default: the GPU's TDP)");
  cmd->add_option("--epochs", a->epochs, "Epochs for the totals")->capture_default_str();
  cmd->add_option("--target", a->target,
                  "Validation target for energy to accuracy (default: the strictest reached at "
                  "every swept batch size with data)");
  cmd->add_option("--region", a->region,
                  "Grid region code for CO2e (data/carbon/grid_intensity.json)");
  cmd->add_option("--pue", a->pue, "Power usage effectiveness of the facility")
      ->capture_default_str();
  cmd->add_option("--model", a->model,
                  "Training profile (with --gpu), or comma-separated layer-wise profiles of one "
                  "CPU, one per dtype")
      ->capture_default_str();
  cmd->add_option("--freeze-options", a->freeze_options,
                  "Layer-wise: ';'-separated choices of frozen parameters, each none or a comma "
                  "list of scopes, e.g. \"none;conv1,layer1\"");
  cmd->add_option("--dataset-size", a->dataset_size,
                  "Layer-wise: samples per epoch, for the epoch and total figures (default: the "
                  "workload's)");
  cmd->add_option("--power", a->power,
                  "Layer-wise: the CPU's average power while training, W (energy = power x time)");
  AddSeqLenOption(cmd, &a->seq_len);
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->add_option("--html", a->html,
                  "Also write a self-contained HTML report (energy, time, CO2, baselines per "
                  "setting, the cheapest marked) to FILE");
  cmd->callback([a, cmd] {
    if (cmd->count("--html") > 0 && a->html.empty()) throw std::runtime_error("--html: empty path");
    a->model_given = cmd->count("--model") > 0;
    a->freeze_options_given = cmd->count("--freeze-options") > 0;
    a->gpu_only.clear();
    a->layerwise_only.clear();
    for (const char* o : {"--power-limits", "--target", "--region", "--pue"})
      if (cmd->count(o) > 0) a->gpu_only.push_back(o);
    for (const char* o : {"--freeze-options", "--dataset-size", "--power", "--seq-len"})
      if (cmd->count(o) > 0) a->layerwise_only.push_back(o);
    if (a->gpu.empty()) return RunLayerwiseSweep(*a);
    RunSweep(*a);
  });
}

}  // namespace joulecast::cli
