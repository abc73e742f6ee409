// joulecast predict ARCH --model PROFILE [--batch-size B] [--input 3x224x224] [--seq-len S]
//                   [--hf-architecture CLASS]
//                   [--passes N] [--power W]
//                   [--mode forward|train_step] [--per-layer] [--json|--csv] [--html FILE]
//                   [--dtype D] [--freeze SCOPE,... | --trainable SCOPE,...]
//                   [--gpu NAME [--optimizer sgd|adam|none] [--power-model P [--power-limit W]]]
// The totals are per run of the batch: one forward pass, or one training step with --mode
// train_step (the profile must have predictors of that mode); joules or seconds as the profile's
// target says. A time profile also gives energy, time × power, when the power is known: stated
// with --power W, or measured with the profile's records (predict/energy_from_time.h); the
// output says which. --freeze/--trainable give a training step with frozen parameters
// (predict/frozen_step.h on a CPU profile; predict/gpu_network.h with --gpu).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include "commands.h"
#include "common.h"
#include "html_cli.h"
#include "joulecast/arch/repr_parser.h"
#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/collect/collector.h"
#include "joulecast/io/json_file.h"
#include "joulecast/predict/energy_from_time.h"
#include "joulecast/predict/fresh_mappings.h"
#include "joulecast/predict/frozen_step.h"
#include "joulecast/predict/gpu_network.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/report/html_report.h"

namespace joulecast::cli {

namespace {

struct PredictArgs {
  std::string arch, model, input, html, mode = "forward", dtype = "float32", gpu, optimizer = "sgd",
                                        power_model, hf_architecture;
  std::optional<double> power_limit;
  std::vector<std::string> freeze, trainable;
  std::int64_t batch = 1, seq_len = 0;
  double passes = 1;
  std::optional<double> power;
  bool per_layer = false, json = false, csv = false;
};

// RFC 4180 quoting for names that might hold commas or quotes (user-written JSON names may).
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One row per layer type, a total row and one "unmodelled:<op>:<fallback>" row per operator that
// a fallback predicted; or per node with --per-layer; same numbers as --json.
void PrintCsv(const NetworkEstimate& est, bool per_layer, const char* unit) {
  if (per_layer) {
    std::cout << fmt::format("name,type,output_shape,macs,{},share,method\n", unit);
    for (const auto& le : est.layers) {
      std::cout << fmt::format("{},{},{},{:.17g},{:.17g},{:.17g},{}\n", CsvField(le.layer.name),
                               le.layer.type, FormatShape(le.layer.output_shape), le.counts.macs,
                               le.value, est.total > 0 ? le.value / est.total : 0.0, le.method);
    }
    return;
  }
  std::cout << fmt::format("type,count,{},share,macs\n", unit);
  for (const auto& [type, tt] : est.by_type) {
    std::cout << fmt::format("{},{},{:.17g},{:.17g},{:.17g}\n", type, tt.count, tt.value,
                             est.total > 0 ? tt.value / est.total : 0.0, tt.macs);
  }
  std::cout << fmt::format("total,{},{:.17g},1,{:.17g}\n", est.layers.size(), est.total, est.macs);
  // What fallbacks predicted, by operator: the row's count is nodes, its macs column is empty.
  for (const auto& [op, f] : est.unmodelled_by_op) {
    std::cout << fmt::format("{},{},{:.17g},{:.17g},\n",
                             CsvField("unmodelled:" + op + ":" + f.method), f.nodes, f.value,
                             est.total > 0 ? f.value / est.total : 0.0);
  }
}

// A GPU operator model's file (kind joulecast_gpu_op_model), told apart from a time profile by
// its kind before either loader sees it.
bool IsGpuModel(const std::string& path) {
  // A file that cannot be read or parsed is left to Profile::Load, whose errors name it.
  try {
    const nlohmann::json j = ReadJsonFile(path);
    return j.is_object() && j.value("kind", "") == GpuOpModel::kKind;
  } catch (const std::exception&) {
    return false;
  }
}

void RunPredictGpu(const PredictArgs& a) {
  if (a.gpu.empty()) {
    throw std::runtime_error(a.model +
                             " is a GPU operator model: name the GPU with --gpu (data/hardware/"
                             "gpus.json, e.g. --gpu \"A100 PCIe 40GB\")");
  }
  if (a.dtype != "float32") {
    throw std::runtime_error(
        fmt::format("--dtype {}: {} was fitted on float32 measurements only (NeuSight's tables)",
                    a.dtype, a.model));
  }
  if (a.power || !a.html.empty() || a.csv || a.passes != 1) {
    throw std::runtime_error(
        "--power, --html, --csv and --passes are for time and energy profiles, not with --gpu");
  }
  const GpuTable gpus = GpuTable::LoadDefault();
  const GpuSpec& gpu = gpus.Find(a.gpu);
  const GpuOpModel m = GpuOpModel::Load(a.model);
  GpuNetworkOptions o = GpuNetworkOptions::Of(m);
  o.mode = a.mode;
  o.optimizer = a.optimizer;
  const graph::Graph g = LoadGraphArg(a.arch, a.input, a.batch, a.seq_len, a.hf_architecture);
  o.frozen = FrozenScopes(g, a.freeze, a.trainable);
  const GpuNetworkEstimate est = EstimateOnGpu(g, m, gpu, o);
  std::optional<GpuPower> power;
  if (!a.power_model.empty()) {
    power = GpuNetworkPower(TrainingModel::Load(a.power_model), gpu, g, a.power_limit);
  } else if (a.power_limit) {
    throw std::runtime_error("--power-limit needs --power-model (the power law it bounds)");
  }
  if (a.json) {
    nlohmann::json j = est.ToJson();
    j["model"] = a.model;
    if (power) {
      j["energy"] = {{"total_j", power->watts * est.total_s},
                     {"per_sample_j", power->watts * est.total_s / double(est.batch_size)},
                     {"power_w", power->watts},
                     {"power_limit_w", power->limit_w},
                     {"power", "modelled"},
                     {"power_model", a.power_model},
                     {"workload_stand_in", power->workload},
                     {"workload_matched", power->matched}};
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} at batch {} on {}, model {}\n", est.name, est.batch_size, gpu.name,
                           a.model);
  const std::string per_run = fmt::format(
      "  per {} of the batch: ", a.mode == "train_step" ? "training step" : "forward pass");
  std::cout << fmt::format("{}{:.6g} s ({} kernels; {:.3g} s of it glue between them)\n", per_run,
                           est.total_s, est.kernels, est.glue_s);
  std::cout << fmt::format("{:<{}}{:.6g} s\n", "  per sample:", per_run.size(),
                           est.total_s / double(est.batch_size));
  std::cout << fmt::format(
      "{:<{}}{:.6g} s (max of FLOPs at the FP32 peak and bytes at the "
      "bandwidth, per kernel)\n",
      "  roofline:", per_run.size(), est.roofline_s);
  if (power) {
    std::cout << fmt::format(
        "{:<{}}{:.6g} J (time x {:.4g} W modelled by {} at a {:.4g} W limit, workload {} "
        "standing in{})\n",
        "  energy per run:", per_run.size(), power->watts * est.total_s, power->watts,
        a.power_model, power->limit_w, power->workload, power->matched ? "" : " as the nearest");
  }
  if (a.mode == "train_step") {
    std::cout << fmt::format(
        "  forward {:.4g} s, backward {:.4g} s, optimizer ({}) {:.4g} s; "
        "{:.4g} of {:.4g} parameters trainable\n",
        est.forward.s, est.backward.s, est.optimizer, est.optimizer_step.s,
        est.trainable_parameters, est.parameters);
  }
  std::cout << fmt::format("\n{:<30} {:>8} {:>12} {:>7}\n", "operator", "kernels", "s", "share");
  for (const auto& [op, t] : est.by_op) {
    std::cout << fmt::format("{:<30} {:>8} {:>12.5g} {:>6.1f}%\n", op, t.kernels, t.s,
                             est.total_s > 0 ? 100 * t.s / est.total_s : 0.0);
  }
  if (est.proxy_s > 0) {
    std::cout << fmt::format("\nstand-ins (proxy kernels): {:.1f}% of the total\n",
                             est.total_s > 0 ? 100 * est.proxy_s / est.total_s : 0.0);
    for (const auto& [op, t] : est.proxies) {
      std::cout << fmt::format("  {:<28} {:>8} {:>12.5g} {:>6.1f}%\n", op, t.kernels, t.s,
                               est.total_s > 0 ? 100 * t.s / est.total_s : 0.0);
    }
  }
}

// A CPU profile's training step with frozen parameters (predict/frozen_step.h).
void RunPredictFrozen(const PredictArgs& a) {
  if (a.mode != "train_step")
    throw std::runtime_error("--freeze needs --mode train_step (a forward pass trains nothing)");
  if (a.power || !a.html.empty() || a.csv || a.per_layer) {
    throw std::runtime_error("--freeze: --power, --html, --csv and --per-layer are not available");
  }
  const Profile profile = Profile::Load(a.model);
  profile.RequireDtype(a.dtype, "--dtype " + a.dtype + ": " + a.model);
  if (auto w = HardwareMismatch(profile, HostFingerprint()))
    std::cerr << "joulecast: warning: " << *w << "\n";
  const graph::Graph g = LoadGraphArg(a.arch, a.input, a.batch, a.seq_len, a.hf_architecture);
  const FrozenStepEstimate e =
      EstimateFrozenStep(profile, g, FrozenScopes(g, a.freeze, a.trainable), a.model);
  if (a.json) {
    nlohmann::json j = e.ToJson();
    if (!a.trainable.empty()) j["trainable"] = a.trainable;
    j["model"] = a.model;
    j["batch_size"] = a.batch;
    std::cout << j.dump(2) << "\n";
    return;
  }
  const char* unit = TargetUnit(profile.target);
  std::cout << fmt::format(
      "{} at batch {}, profile {}, {}\n", e.name, a.batch, a.model,
      a.trainable.empty()
          ? fmt::format("frozen: {}", fmt::join(e.frozen, ", "))
          : fmt::format("trainable: {} (the rest frozen)", fmt::join(a.trainable, ", ")));
  std::cout << fmt::format("  per training step: {:.6g} {} ({:.4g} of {:.4g} parameters trained)\n",
                           e.step, unit, e.trainable_parameters, e.parameters);
  std::cout << fmt::format("  nothing frozen:    {:.6g} {}; saving {:.1f} %\n", e.full, unit,
                           100 * e.saving());
  std::cout << fmt::format(
      "  {} nodes run forward only, {} compute part of their gradients; the plain sum of the "
      "training-step predictors is {:.6g} {}\n",
      e.forward_only_nodes, e.partial_nodes, e.plain_sum, unit);
  if (e.derived_nodes > 0) {
    std::cout << fmt::format(
        "  {} parameterised nodes have no input_grad predictor: their input-gradient part is "
        "their gradient kernels' share of (train_step - forward)\n",
        e.derived_nodes);
  }
}

void RunPredict(const PredictArgs& a) {
  if (!a.freeze.empty() && !a.trainable.empty())
    throw std::runtime_error("--freeze and --trainable: give one (--trainable freezes the rest)");
  if (!a.gpu.empty()) return RunPredictGpu(a);
  if (a.optimizer != "sgd" || !a.power_model.empty() || a.power_limit) {
    throw std::runtime_error(
        "--optimizer, --power-model and --power-limit need a GPU operator model and --gpu");
  }
  if (!a.freeze.empty() || !a.trainable.empty()) return RunPredictFrozen(a);
  Profile profile;
  try {
    profile = Profile::Load(a.model);
  } catch (const std::exception&) {
    // Only on failure, so that a time profile is read once.
    if (IsGpuModel(a.model)) RunPredictGpu(a);  // throws: no --gpu
    throw;
  }
  profile.SelectMode(a.mode, "--mode " + a.mode + ": " + a.model);
  profile.RequireDtype(a.dtype, "--dtype " + a.dtype + ": " + a.model);
  if (auto w = HardwareMismatch(profile, HostFingerprint()))
    std::cerr << "joulecast: warning: " << *w << "\n";
  const std::optional<PowerAssumption> power = PowerFor(profile, a.power);
  const graph::Graph g = LoadGraphArg(a.arch, a.input, a.batch, a.seq_len, a.hf_architecture);
  NetworkEstimate est = EstimateGraph(profile, g);
  const bool energy = profile.target == "energy_j";
  const FreshMappings fresh = CountFreshMappings(g, graph::ParseDType(a.dtype));
  // The probe touches 48 MiB (tens of milliseconds): only for a network that needs it.
  const double page_us = fresh.tensors > 0 ? FreshPageMicroseconds() : -1;
  const double kwh_for_passes = est.total * a.passes / 3.6e6;
  // The page is written before anything is printed, so a failure to write it is the only output.
  if (!a.html.empty()) {
    report::NetworkReport page =
        report::MakeNetworkReport(est, a.per_layer, report::SummarizeProfile(profile, a.model));
    page.passes = a.passes;
    if (energy)
      page.total_kwh_for_passes = report::Quantity{kwh_for_passes, "/total_kwh_for_passes"};
    WriteHtmlReport(a.html, report::NetworkReportHtml(page));
  }
  if (auto note =
          FreshMappingNote(fresh, est.name, est.batch_size, energy ? 0 : est.total, page_us))
    std::cerr << "joulecast: note: " << *note << "\n";
  if (a.json) {
    nlohmann::json j = est.ToJson(a.per_layer);
    j["model"] = a.model;
    j["passes"] = a.passes;
    if (energy) j["total_kwh_for_passes"] = kwh_for_passes;
    j["fresh_mappings"] = fresh.ToJson();
    if (page_us > 0) {
      j["fresh_mappings"]["page_us"] = page_us;
      j["fresh_mappings"]["at_least_s"] = FreshMappingSeconds(fresh, page_us);
    }
    if (power) {
      j["energy_from_time"] = {{"total_j", est.total * power->watts},
                               {"per_sample_j", est.total * power->watts / double(est.batch_size)},
                               {"power_w", power->watts},
                               {"power", power->source},
                               {"power_detail", power->detail}};
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  const char* unit = TargetUnit(profile.target);
  if (a.csv) {
    PrintCsv(est, a.per_layer, energy ? "j" : "s");
    return;
  }
  std::cout << fmt::format("{} at batch {} (input {}), profile {}\n", est.name, est.batch_size,
                           FormatShape(est.input), a.model);
  const std::string per_run = fmt::format("  per {} of the batch: ", RunName(est.mode));
  std::cout << fmt::format("{}{:.6g} {}\n", per_run, est.total, unit);
  std::cout << fmt::format("{:<{}}{:.6g} {}\n", "  per sample:", per_run.size(),
                           est.total / double(est.batch_size), unit);
  if (power) {
    std::cout << fmt::format("{:<{}}{:.6g} J (time x {:.4g} W, {}: {})\n",
                             "  energy per run:", per_run.size(), est.total * power->watts,
                             power->watts, power->Kind(), power->detail);
  }
  if (energy && a.passes != 1) {
    std::cout << fmt::format("  for {} passes:              {:.6g} kWh\n", a.passes,
                             kwh_for_passes);
  }
  std::cout << fmt::format("  MACs {:.4g} (matrix MACs {:.4g}), parameters {:.4g}, {} nodes\n\n",
                           est.macs, est.matrix_macs, est.parameters, est.layers.size());
  std::cout << fmt::format("{:<18} {:>6} {:>14} {:>8} {:>12}\n", "layer type", "count",
                           fmt::format("predicted {}", unit), "share", "MACs");
  for (const auto& [type, tt] : est.by_type) {
    std::cout << fmt::format("{:<18} {:>6} {:>14.6g} {:>7.1f}% {:>12.4g}\n", type, tt.count,
                             tt.value, est.total > 0 ? 100 * tt.value / est.total : 0.0, tt.macs);
  }
  if (est.unmodelled_layers > 0) {
    std::cout << fmt::format(
        "unmodelled: {} nodes, {:.1f}% of MACs, {:.1f}% of the total by fallbacks (see "
        "--per-layer)\n",
        est.unmodelled_layers, est.macs > 0 ? 100 * est.unmodelled_macs / est.macs : 0.0,
        est.total > 0 ? 100 * est.unmodelled_value / est.total : 0.0);
    for (const auto& [op, f] : est.unmodelled_by_op) {
      std::cout << fmt::format("  {:<24} {:>5} nodes {:>6.2f}%  {}\n", op, f.nodes,
                               est.total > 0 ? 100 * f.value / est.total : 0.0, f.method);
    }
  }
  if (a.per_layer) {
    // Grouped by module scope, in the order each scope first runs (as torchinfo lists modules).
    struct ScopeRow {
      std::string ops, output, methods;
      std::size_t nodes = 0;
      double macs = 0, value = 0;
    };
    std::vector<std::string> order;
    std::map<std::string, ScopeRow> rows;
    for (const auto& le : est.layers) {
      const std::string scope = le.scope.empty() ? "(top)" : le.scope;
      auto [it, fresh] = rows.try_emplace(scope);
      if (fresh) order.push_back(scope);
      ScopeRow& r = it->second;
      if (r.ops.find(le.op) == std::string::npos) r.ops += (r.ops.empty() ? "" : ",") + le.op;
      if (r.methods.find(le.method) == std::string::npos)
        r.methods += (r.methods.empty() ? "" : ",") + le.method;
      ++r.nodes;
      r.macs += le.counts.macs;
      r.value += le.value;
      r.output = FormatShape(le.output_shape);
    }
    std::cout << fmt::format("\n{:<34} {:<22} {:<18} {:>11} {:>12} {:>7}  {}\n", "scope",
                             "operators", "output", "MACs", fmt::format("{}", unit), "share",
                             "method");
    for (const std::string& scope : order) {
      const ScopeRow& r = rows[scope];
      std::cout << fmt::format("{:<34} {:<22} {:<18} {:>11.4g} {:>12.5g} {:>6.1f}%  {}\n", scope,
                               r.nodes > 1 ? fmt::format("{} ({})", r.ops, r.nodes) : r.ops,
                               r.output, r.macs, r.value,
                               est.total > 0 ? 100 * r.value / est.total : 0.0, r.methods);
    }
  }
  if (!a.html.empty()) std::cout << fmt::format("\nHTML report: {}\n", a.html);
}

}  // namespace

void RegisterPredict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand(
      "predict", "Predict the energy (or time) of a network's forward pass or training step");
  cmd->add_option("architecture", a->arch,
                  "Zoo name (e.g. resnet50, gpt2), architecture .json, Hugging Face config.json, "
                  "TorchScript .pt, or the text of print(model) in a .txt (the last two need "
                  "--input)")
      ->required();
  cmd->add_option("--model", a->model, "Profile (JSON)")->required();
  cmd->add_option("-b,--batch-size", a->batch, "Batch size")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 31));
  cmd->add_option("--input", a->input,
                  "Per-sample input shape, e.g. 3x224x224 (default: the architecture's)");
  AddSeqLenOption(cmd, &a->seq_len);
  AddHfArchitectureOption(cmd, &a->hf_architecture);
  cmd->add_option("--passes", a->passes, "Forward passes for the kWh total")
      ->capture_default_str()
      ->check(PositiveCheck());
  cmd->add_option("--power", a->power,
                  "Average power (W) of this machine while it runs the network: a time "
                  "profile's seconds become joules (overrides a power the profile measured)");
  cmd->add_option("--dtype", a->dtype,
                  "Element type the network runs in; the profile must have been measured in it")
      ->capture_default_str()
      ->check(CLI::IsMember({"float32", "float64", "float16", "bfloat16"}));
  cmd->add_option("--mode", a->mode,
                  "forward (one forward pass of the batch) or train_step (forward, backward and "
                  "optimizer step); the profile must have predictors of that mode")
      ->capture_default_str()
      ->check(CLI::IsMember({"forward", "train_step"}));
  cmd->add_option("--gpu", a->gpu,
                  "With a GPU operator model (models/gpu-latency.json): the GPU, as "
                  "data/hardware/gpus.json names it");
  cmd->add_option("--optimizer", a->optimizer,
                  "GPU training step: the optimizer's update (sgd with momentum, adam, none)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "none"}));
  cmd->add_option("--power-model", a->power_model,
                  "With --gpu: a training-run profile (models/gpu-training.json) whose power law "
                  "turns the time into joules (modelled power)");
  cmd->add_option("--power-limit", a->power_limit,
                  "With --power-model: the GPU's power limit, W (default: its TDP)");
  cmd->add_option("--freeze", a->freeze,
                  "Training step: parameters or module scopes (as inspect shows them) that are "
                  "not trained (a GPU model, or a profile with forward and train_step predictors)")
      ->delimiter(',');
  cmd->add_option("--trainable", a->trainable,
                  "Training step: the parameters or module scopes that are trained, every other "
                  "parameter frozen (the complement of --freeze)")
      ->delimiter(',');
  cmd->add_flag("--per-layer", a->per_layer,
                "Table by module scope (text), or of every node (--json, --csv)");
  auto* json = cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->add_flag("--csv", a->csv,
                "CSV on stdout: one row per layer type and a total row, or per operation with "
                "--per-layer")
      ->excludes(json);
  cmd->add_option("--html", a->html,
                  "Also write a self-contained HTML report (charts by layer type and along the "
                  "depth) to FILE");
  cmd->callback([a, cmd] {
    // An empty value is a mistake (an unset shell variable), not the absence of the option.
    if (cmd->count("--html") > 0 && a->html.empty()) throw std::runtime_error("--html: empty path");
    RunPredict(*a);
  });
}

}  // namespace joulecast::cli
