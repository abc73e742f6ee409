// joulecast train-estimate WORKLOAD|ARCH --gpu NAME --batch-size B [--epochs E]
//   [--dataset-size N] [--power-limit W] [--pue P] [--price PER_KWH]
//   [--intensity G_PER_KWH | --region CODE]
//   [--model PROFILE] [--json] [--html FILE]
// Energy, time and power of training WORKLOAD (data/workloads.json) or an architecture (zoo name
// or .json file, walked for its MACs and parameters) on a GPU, from the training-run profile,
// with TDP x time and Green Algorithms (on the predicted time) beside it.
//   totals     E = E_epoch × epochs × PUE (J), t = t_epoch × epochs (s), kWh = E / 3.6e6
//   CO2e       kg = kWh × intensity [g/kWh] / 1000, the intensity from --intensity or the
//              --region entry of data/carbon/grid_intensity.json (printed with its source and year)
//   cost       kWh × --price (in whatever currency the price is given)
//   baselines  TDP × t × PUE and Green Algorithms (TDP + 0.3725 W/GB × memory) × t × PUE
// An architecture's training cost per sample is 6 × its forward MACs per sample (2 FLOPs per
// MAC, backward = 2 × forward), the convention of data/workloads.json.
//
// Without --gpu, with --model naming a layer-wise profile (kind "joulecast_profile", e.g.
// models/amd-epyc-2c-time.json): the run on that profile's CPU, steps × the profile's training
// step of the network (predict/cpu_run.h has the arithmetic), with [--freeze SCOPE,... |
// --trainable SCOPE,...],
// [--dtype D] (must be the profile's) and [--power W]; the GPU-only options are refused.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "common.h"
#include "html_cli.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/features/macs.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/cpu_run.h"
#include "joulecast/predict/energy_baselines.h"
#include "joulecast/predict/gpu_network.h"
#include "joulecast/predict/grid_intensity.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/profile.h"
#include "joulecast/predict/training_model.h"
#include "joulecast/predict/workload.h"

namespace joulecast::cli {
namespace {

struct EstimateArgs {
  std::string target, gpu, model = std::string(JOULECAST_SOURCE_DIR) + "/models/gpu-training.json";
  long long batch = 0, epochs = 1;
  std::int64_t seq_len = 0;  // of a Hugging Face config
  std::optional<double> dataset_size, power_limit, price, intensity;
  std::string region;  // code of data/carbon/grid_intensity.json; excludes intensity
  double pue = 1.0;
  std::string time_model, optimizer;  // the layer-wise route (a GPU operator model)
  std::vector<std::string> freeze, trainable;
  bool json = false;
  std::string html;
  // The layer-wise CPU route (no --gpu): --power W and --dtype D.
  std::optional<double> power;
  std::string dtype = "float32";
  bool model_given = false;
  std::vector<std::string> gpu_only;  // GPU-route options given, refused without --gpu
};

// The checks both routes share, before anything is read.
void CheckRunArgs(const EstimateArgs& a) {
  if (a.epochs < 1)
    throw std::runtime_error(fmt::format("--epochs must be >= 1, got {}", a.epochs));
  if (a.batch < 1)
    throw std::runtime_error(fmt::format("--batch-size must be >= 1, got {}", a.batch));
  if (a.dataset_size && !(*a.dataset_size >= 1))
    throw std::runtime_error(fmt::format("--dataset-size must be >= 1, got {}", *a.dataset_size));
  if (a.dataset_size && !std::isfinite(*a.dataset_size))
    throw std::runtime_error(fmt::format("--dataset-size must be finite, got {}", *a.dataset_size));
}

void RunEstimate(const EstimateArgs& a) {
  if (a.power) {
    throw std::runtime_error(
        "--power: only for a layer-wise CPU profile (without --gpu); the GPU route models power");
  }
  if (a.dtype != "float32") {
    throw std::runtime_error(fmt::format(
        "--dtype {}: the GPU route models float32 training runs only (the Zeus traces)", a.dtype));
  }
  if (!(a.pue >= 1.0) || !std::isfinite(a.pue))
    throw std::runtime_error(fmt::format("--pue must be a finite number >= 1, got {}", a.pue));
  if (a.price && !(*a.price >= 0 && std::isfinite(*a.price)))
    throw std::runtime_error(fmt::format("--price must be a finite number >= 0, got {}", *a.price));
  if (a.intensity && !(*a.intensity >= 0 && std::isfinite(*a.intensity))) {
    throw std::runtime_error(
        fmt::format("--intensity must be a finite number >= 0 g/kWh, got {}", *a.intensity));
  }
  const GpuTable gpus = GpuTable::LoadDefault();
  TrainingQuery q;
  q.gpu = gpus.Find(a.gpu);
  q.batch_size = a.batch;
  q.power_limit_w = a.power_limit;
  if (a.power_limit) CheckPowerLimit(q.gpu, *a.power_limit);
  if (a.time_model.empty() && (!a.freeze.empty() || !a.trainable.empty() || !a.optimizer.empty())) {
    throw std::runtime_error(
        "--freeze, --trainable and --optimizer need --time-model (the layer-wise route)");
  }
  std::string what;
  std::optional<graph::Graph> graph;  // the network at the batch size, for the layer-wise route
  const WorkloadTable workloads = WorkloadTable::LoadDefault();
  if (const Workload* w = workloads.TryFind(a.target)) {
    if (a.seq_len != 0)
      throw std::runtime_error(fmt::format(
          "--seq-len applies to a Hugging Face config; workload {} has its own per-sample cost",
          w->name));
    q.train_gflops_per_sample = w->train_gflops_per_sample;
    q.params_m = w->params_m;
    q.samples_per_epoch = a.dataset_size.value_or(w->samples_per_epoch);
    what = "workload " + w->name;
    if (!a.time_model.empty()) {
      if (w->architecture.empty()) {
        throw std::runtime_error(
            fmt::format("--time-model: workload {} has no architecture in data/workloads.json (the "
                        "layer-wise route needs the network)",
                        w->name));
      }
      graph = WorkloadGraph(*w, a.batch);
    }
  } else {
    const bool file = a.target.size() > 5 && a.target.substr(a.target.size() - 5) == ".json";
    if (!file) {
      const std::vector<std::string> zoo = ZooNames();
      std::string lower = a.target;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (std::find(zoo.begin(), zoo.end(), lower) == zoo.end()) {
        std::vector<std::string> names;
        for (const Workload& w : workloads.workloads()) names.push_back(w.name);
        throw std::runtime_error(fmt::format(
            "unknown workload or architecture '{}'; workloads: {}; zoo: {}; or an architecture "
            ".json",
            a.target, fmt::join(names, ", "), fmt::join(zoo, ", ")));
      }
    }
    if (!a.dataset_size) {
      throw std::runtime_error(fmt::format(
          "{} is an architecture, not a workload of data/workloads.json: give --dataset-size",
          a.target));
    }
    GraphOptions options;
    options.seq_len = a.seq_len;
    options.batch = a.batch;
    std::vector<std::string> notes;
    const graph::Graph g = LoadGraph(a.target, options, &notes);
    if (!a.time_model.empty()) graph = g;
    for (const std::string& note : notes) std::cerr << "joulecast: note: " << note << "\n";
    const graph::NodeCounts c = graph::TotalCounts(g, graph::CountNodes(g));
    q.train_gflops_per_sample = 6 * c.macs / static_cast<double>(a.batch) / 1e9;
    q.params_m = c.parameters / 1e6;
    q.samples_per_epoch = *a.dataset_size;
    what = "architecture " + g.name;
  }
  const TrainingModel m = TrainingModel::Load(a.model);
  TrainingPrediction p = m.Predict(q);
  std::optional<GpuEpoch> layerwise;
  const double regression_epoch_s = p.epoch_time_s;
  if (graph) {
    const GpuOpModel gm = GpuOpModel::Load(a.time_model);
    GpuNetworkOptions o = GpuNetworkOptions::Of(gm);
    o.mode = "train_step";
    o.optimizer = GpuOptimizerOf(a.optimizer.empty() ? "sgd" : a.optimizer);
    o.frozen = FrozenScopes(*graph, a.freeze, a.trainable);
    layerwise = EpochOnGpu(*graph, gm, q.gpu, q.samples_per_epoch, o);
    // The power law stays the training profile's; the time is the layer-wise one.
    p.epoch_time_s = layerwise->epoch_s;
    p.epoch_energy_j = p.power_w * layerwise->epoch_s;
  }
  const double epochs = static_cast<double>(a.epochs);
  const double total_j = p.epoch_energy_j * epochs * a.pue, total_s = p.epoch_time_s * epochs;
  const double kwh = total_j / 3.6e6;
  const double tdp_j = TdpTimeEnergyJ(q.gpu, total_s) * a.pue;
  const double ga_j = GreenAlgorithmsEnergyJ(q.gpu, total_s, a.pue);
  nlohmann::json j{{"target", what},
                   {"gpu", q.gpu.name},
                   {"batch_size", a.batch},
                   {"epochs", a.epochs},
                   {"samples_per_epoch", q.samples_per_epoch},
                   {"train_gflops_per_sample", q.train_gflops_per_sample},
                   {"params_m", q.params_m},
                   {"power_limit_w", q.power_limit_w.value_or(q.gpu.tdp_w)},
                   {"pue", a.pue},
                   {"average_power_w", p.power_w},
                   {"epoch_time_s", p.epoch_time_s},
                   {"epoch_energy_j", p.epoch_energy_j},
                   {"total_time_s", total_s},
                   {"total_energy_j", total_j},
                   {"total_energy_kwh", kwh},
                   {"baselines",
                    {{"tdp_time", {{"total_energy_j", tdp_j}}},
                     {"green_algorithms", {{"total_energy_j", ga_j}}}}},
                   {"model", a.model}};
  if (layerwise) {
    j["time_route"] = {{"route", "layer-wise"},
                       {"time_model", a.time_model},
                       {"step_time_s", layerwise->step.total_s},
                       {"steps_per_epoch", layerwise->steps},
                       {"optimizer", layerwise->step.optimizer},
                       {"trainable_parameters", layerwise->step.trainable_parameters},
                       {"regression_epoch_time_s", regression_epoch_s},
                       {"caveat",
                        "GPU kernels only: no data loading, evaluation passes or host-side work "
                        "between steps; power from the training profile (modelled)"}};
  } else {
    j["time_route"] = {{"route", "regression"}, {"model", a.model}};
  }
  const TrainingCoverage cover = CoverageOf(m, q, p, gpus);
  const bool logo = m.trained_gpus().size() >= 2;
  j["uncertainty"] = {{"cv", logo ? "leave-one-GPU-out" : "k-fold"},
                      {"power_mape", m.power().cv_mape},
                      {"time_mape", m.time().cv_mape},
                      {"energy_mape", m.energy_cv_mape()},
                      {"trained_gpus", m.trained_gpus()},
                      {"coverage", cover.ToJson()},
                      {"workload_curves", p.workload},
                      {"workload_matched", p.workload_matched}};
  std::optional<double> intensity = a.intensity;
  if (!a.region.empty()) {
    const GridRegion r = GridIntensityTable::LoadDefault().Find(a.region);
    intensity = r.g_co2e_per_kwh;
    j["region"] = r.ToJson();
  }
  if (intensity) j["co2_kg"] = kwh * *intensity / 1000.0;
  if (a.price) j["cost"] = kwh * *a.price;
  if (!a.html.empty())
    WriteHtmlReport(a.html, report::TrainingReportHtml(TrainEstimateReport(j, m, a.model)));
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} on {} (batch {}, {} samples/epoch, power limit {} W, PUE {})\n",
                           what, q.gpu.name, a.batch, q.samples_per_epoch,
                           q.power_limit_w.value_or(q.gpu.tdp_w), a.pue);
  std::cout << fmt::format("per epoch: {:.1f} s, {:.1f} W average, {:.1f} kJ\n", p.epoch_time_s,
                           p.power_w, p.epoch_energy_j / 1e3);
  if (layerwise) {
    std::cout << fmt::format(
        "time layer-wise ({}): {:.0f} steps of {:.4g} s ({} update, {:.4g} M of {:.4g} M "
        "parameters trained), GPU kernels only: no data loading or host work; the training "
        "profile's regression says {:.1f} s per epoch\n",
        a.time_model, layerwise->steps, layerwise->step.total_s, layerwise->step.optimizer,
        layerwise->step.trainable_parameters / 1e6, layerwise->step.parameters / 1e6,
        regression_epoch_s);
  }
  std::cout << fmt::format("{} epochs: {:.2f} h, {:.3f} kWh", a.epochs, total_s / 3600, kwh);
  if (intensity) std::cout << fmt::format(", {:.3f} kg CO2", kwh * *intensity / 1000.0);
  if (a.price) std::cout << fmt::format(", cost {:.2f}", kwh * *a.price);
  std::cout << fmt::format(
      "\nbaselines on the same time: TDP x time {:.3f} kWh, Green Algorithms "
      "{:.3f} kWh\n",
      tdp_j / 3.6e6, ga_j / 3.6e6);
  std::cout << fmt::format(
      "uncertainty: {} MAPE of this profile over {}: power {:.1f} %, time {:.1f} %, energy "
      "{:.1f} %\n",
      logo ? "leave-one-GPU-out" : "cross-validated", fmt::join(m.trained_gpus(), ", "),
      m.power().cv_mape, m.time().cv_mape, m.energy_cv_mape());
  if (!cover.gpu_in_training) {
    std::cout << fmt::format("unseen GPU: {} has no training runs in this profile\n", q.gpu.name);
  }
  for (const ScaleCoverage* sc : {&cover.time, &cover.power}) {
    if (!sc->Outside()) continue;
    std::cout << fmt::format(
        "extrapolating: {} has {} {:.3g}, outside the training GPUs' {:.3g} to {:.3g}\n",
        q.gpu.name, sc->scale, sc->value, sc->min, sc->max);
  }
  if (cover.batch_outside) {
    std::cout << fmt::format(
        "extrapolating: batch size {} is outside the {} to {} that the runs of {} had\n", a.batch,
        cover.batch_min, cover.batch_max, p.workload);
  }
  if (!p.workload_matched) {
    std::cout << fmt::format(
        "stand-in: no training runs of {}; the curves of {} (nearest in GFLOPs per sample and "
        "parameters) are used\n",
        what, p.workload);
  }
  if (j.contains("region")) {
    const auto& r = j["region"];
    std::cout << fmt::format(
        "grid: {} ({}), {} g CO2e/kWh, data year {}; source: {}\n", r["code"].get<std::string>(),
        r["name"].get<std::string>(), r["g_co2e_per_kwh"].get<double>(),
        r["year"].is_null() ? "not stated" : r["year"].dump(), r["source"].get<std::string>());
  }
}

// "1.259 h (4531 s)" / "45.31 s" / "12.5 ms": a duration for the text output.
std::string Duration(double s) {
  if (s >= 3600) return fmt::format("{:.4g} h ({:.0f} s)", s / 3600, s);
  if (s >= 1) return fmt::format("{:.4g} s", s);
  return fmt::format("{:.4g} ms", s * 1e3);
}

// train-estimate without --gpu: a layer-wise profile's training step, times the steps of the run.
void RunCpuEstimate(const EstimateArgs& a) {
  const std::string need_gpu = fmt::format(
      "--gpu: required with a training-run profile ({}); for a run on a CPU give a layer-wise "
      "profile with --model (e.g. models/amd-epyc-2c-time.json)",
      a.model);
  if (!a.model_given) throw std::runtime_error(need_gpu);
  if (!a.gpu_only.empty()) {
    throw std::runtime_error(fmt::format(
        "{}: only with --gpu; a run on a CPU from a layer-wise profile takes -b, --epochs, "
        "--dataset-size, --freeze, --trainable, --dtype and --power",
        fmt::join(a.gpu_only, ", ")));
  }
  Profile profile = LoadLayerwiseProfile(a.model, need_gpu);
  profile.RequireDtype(a.dtype, "--dtype " + a.dtype + ": " + a.model);
  const LayerwiseRunTarget run =
      LoadLayerwiseRunTarget(a.target, a.batch, a.seq_len, a.dataset_size);
  if (!run.samples_per_epoch) {
    throw std::runtime_error(fmt::format(
        "{} is an architecture, not a workload of data/workloads.json: give --dataset-size",
        a.target));
  }
  const std::optional<double> samples = run.samples_per_epoch;
  const std::string& what = run.what;
  const graph::Graph* g = &run.graph;
  if (auto w = HardwareMismatch(profile, HostFingerprint()))
    std::cerr << "joulecast: warning: " << *w << "\n";
  CpuRunOptions o;
  o.frozen = FrozenScopes(*g, a.freeze, a.trainable);
  o.samples_per_epoch = samples;
  o.epochs = a.epochs;
  o.power_w = a.power;
  const CpuRunEstimate r = EstimateCpuRun(profile, *g, o, a.model);
  nlohmann::json j = r.ToJson();
  j["target"] = what;
  j["route"] = "layer-wise CPU";
  j["model"] = a.model;
  j["cpu"] = profile.hardware.is_object() && profile.hardware.contains("cpu")
                 ? profile.hardware["cpu"]
                 : nlohmann::json(nullptr);
  if (!a.html.empty()) {
    profile.SelectMode("train_step", a.model);
    WriteHtmlReport(a.html, report::TrainingReportHtml(CpuRunReport(j, profile, a.model)));
  }
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  const std::string cpu = j["cpu"].is_string() ? j["cpu"].get<std::string>() : "(CPU not stated)";
  std::cout << fmt::format("{} on {}, layer-wise profile {} ({}, {}), batch {}, {} samples/epoch\n",
                           what, cpu, r.profile, a.model, r.dtype, r.batch_size,
                           *r.samples_per_epoch);
  const bool energy_profile = r.target == "energy_j";
  const char* unit = TargetUnit(r.target);
  std::cout << fmt::format(
      "per step:  {:.6g} {} (the profile's training step of the batch), {:.6g} {} per sample\n",
      r.step, unit, r.step / static_cast<double>(r.batch_size), unit);
  if (r.full_step) {
    std::cout << fmt::format(
        "frozen:    {}: {:.4g} M of {:.4g} M parameters trained; with nothing frozen the same "
        "rule gives {:.6g} {}, a saving of {:.1f} %\n",
        fmt::join(r.frozen, ", "), r.trainable_parameters / 1e6, r.parameters / 1e6, *r.full_step,
        unit, 100 * *r.saving);
  }
  if (r.epoch_s) {
    std::cout << fmt::format("per epoch: {:.0f} steps, {}\n", *r.steps_per_epoch,
                             Duration(*r.epoch_s));
  } else {
    std::cout << fmt::format("per epoch: {:.0f} steps, {:.4g} kJ\n", *r.steps_per_epoch,
                             *r.epoch_j / 1e3);
  }
  std::string total = fmt::format("{} epoch{}:", r.epochs, r.epochs == 1 ? "" : "s");
  if (r.total_s) total += fmt::format(" {}", Duration(*r.total_s));
  if (r.total_j) {
    total += fmt::format("{} {:.4g} kWh ({:.4g} kJ)", r.total_s ? "," : "", *r.total_j / 3.6e6,
                         *r.total_j / 1e3);
  }
  std::cout << total << "\n";
  if (energy_profile) {
    std::cout << "energy: predicted by the profile (target energy_j); time: not known (an "
                 "energy profile)\n";
  } else if (r.power) {
    std::cout << fmt::format("energy: {:.4g} W x time, {} ({})\n", r.power->watts, r.power->Kind(),
                             r.power->detail);
  } else {
    std::cout << "energy: not known: the profile measured no power; give --power W (this "
                 "machine's average power while training)\n";
  }
  std::cout << kCpuRunCaveat << "\n";
}

}  // namespace

void RegisterTrainEstimate(CLI::App& app) {
  auto a = std::make_shared<EstimateArgs>();
  auto* cmd = app.add_subcommand(
      "train-estimate",
      "Energy, time, CO2 and cost of a training job on a GPU (training profile), or time and "
      "energy of one on a CPU (layer-wise profile)");
  cmd->add_option("target", a->target,
                  "Workload of data/workloads.json, zoo architecture or architecture .json")
      ->required();
  cmd->add_option("--gpu", a->gpu,
                  "GPU (data/hardware/gpus.json); without it, --model names a layer-wise CPU "
                  "profile");
  cmd->add_option("-b,--batch-size", a->batch, "Batch size")->required();
  AddSeqLenOption(cmd, &a->seq_len);
  cmd->add_option("--epochs", a->epochs, "Epochs")->capture_default_str();
  cmd->add_option("--dataset-size", a->dataset_size, "Samples per epoch (default: the workload's)");
  cmd->add_option("--power-limit", a->power_limit, "GPU power limit, W (default: TDP)");
  cmd->add_option("--pue", a->pue, "Power usage effectiveness of the facility")
      ->capture_default_str();
  cmd->add_option("--price", a->price, "Electricity price per kWh");
  auto* intensity =
      cmd->add_option("--intensity", a->intensity, "Grid carbon intensity, g CO2 per kWh");
  cmd->add_option("--region", a->region,
                  "Grid region code for the carbon intensity (data/carbon/grid_intensity.json)")
      ->excludes(intensity);
  cmd->add_option("--model", a->model,
                  "Training profile (with --gpu), or a layer-wise profile with train_step "
                  "predictors (a run on its CPU)")
      ->capture_default_str();
  cmd->add_option("--time-model", a->time_model,
                  "GPU operator model (models/gpu-latency.json): epoch time layer-wise, steps x "
                  "the network's training step, instead of the training profile's regression");
  cmd->add_option(
      "--optimizer", a->optimizer,
      "With --time-model: the optimizer (sgd, adam, adamw, adadelta, ...; default sgd)");
  cmd->add_option("--freeze", a->freeze,
                  "With --time-model or a layer-wise CPU profile: parameters or module scopes "
                  "that are not trained")
      ->delimiter(',');
  cmd->add_option("--trainable", a->trainable,
                  "The complement of --freeze: the parameters or module scopes that are trained, "
                  "every other parameter frozen")
      ->delimiter(',');
  cmd->add_option("--power", a->power,
                  "Layer-wise CPU profile: this machine's average power while training, W "
                  "(energy = power x time; overrides a power the profile measured)");
  cmd->add_option("--dtype", a->dtype,
                  "Element type of the run; a layer-wise profile must predict it")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->add_option("--html", a->html,
                  "Also write a self-contained HTML report (energy, time, CO2, baselines) to FILE");
  cmd->callback([a, cmd] {
    if (cmd->count("--html") > 0 && a->html.empty()) throw std::runtime_error("--html: empty path");
    CheckRunArgs(*a);
    if (!a->freeze.empty() && !a->trainable.empty())
      throw std::runtime_error("--freeze and --trainable: give one (--trainable freezes the rest)");
    if (!a->gpu.empty()) return RunEstimate(*a);
    a->model_given = cmd->count("--model") > 0;
    a->gpu_only.clear();
    for (const char* o : {"--power-limit", "--pue", "--region", "--intensity", "--price",
                          "--time-model", "--optimizer"}) {
      if (cmd->count(o) > 0) a->gpu_only.push_back(o);
    }
    RunCpuEstimate(*a);
  });
}

}  // namespace joulecast::cli
