// joulecast predict ARCH --model PROFILE [--batch-size B] [--input 3x224x224] [--passes N]
//                   [--per-layer] [--json]
#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "commands.h"
#include "joulecast/arch/repr_parser.h"
#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/io/csv.h"
#include "joulecast/predict/network_estimate.h"

namespace joulecast::cli {

Shape ParseShapeArg(const std::string& text, const std::string& what) {
  Shape s;
  std::size_t start = 0;
  while (true) {
    std::size_t x = text.find('x', start);
    std::string part = text.substr(start, x == std::string::npos ? std::string::npos : x - start);
    long long v = 0;
    try {
      v = ParseInt(part, what);
    } catch (const std::invalid_argument&) {
      throw std::runtime_error(
          fmt::format("{}: expected dimensions like 3x224x224, got '{}'", what, text));
    }
    if (v < 1 || v > (1LL << 40)) {
      throw std::runtime_error(fmt::format("{}: dimension {} out of range in '{}'", what, v, text));
    }
    s.push_back(v);
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return s;
}

Architecture LoadArchitectureArg(const std::string& arg, const std::string& input_arg) {
  auto ends_with = [&](const char* ext) {
    std::string e(ext);
    return arg.size() >= e.size() && arg.compare(arg.size() - e.size(), e.size(), e) == 0;
  };
  if (ends_with(".json")) return LoadArchitectureFile(arg);
  if (ends_with(".pt") || ends_with(".txt")) {
    // Neither form records the input, and guessing 3x224x224 would silently misprice any other.
    if (input_arg.empty()) {
      throw std::runtime_error(fmt::format(
          "{}: a {} does not record its input shape; give it with --input, e.g. --input 3x224x224",
          arg, ends_with(".pt") ? "TorchScript file" : "printed model"));
    }
    const Shape input = ParseShapeArg(input_arg, "--input");
    if (ends_with(".pt")) return LoadTorchScriptFile(arg, input);
    std::vector<std::string> notes;
    Architecture arch = LoadModelReprFile(arg, input, &notes);
    for (const std::string& note : notes) std::cerr << "joulecast: note: " << note << "\n";
    return arch;
  }
  return LoadZooArchitecture(arg);
}

namespace {

struct PredictArgs {
  std::string arch, model, input;
  std::int64_t batch = 1;
  double passes = 1;
  bool per_layer = false, json = false;
};

void RunPredict(const PredictArgs& a) {
  Profile profile = Profile::Load(a.model);
  Architecture arch = LoadArchitectureArg(a.arch, a.input);
  NetworkEstimate est =
      a.input.empty() ? EstimateNetwork(profile, arch, a.batch)
                      : EstimateNetwork(profile, arch, a.batch, ParseShapeArg(a.input, "--input"));
  const bool energy = profile.target == "energy_j";
  if (a.json) {
    nlohmann::json j = est.ToJson(a.per_layer);
    j["model"] = a.model;
    j["passes"] = a.passes;
    if (energy) j["total_kwh_for_passes"] = est.total * a.passes / 3.6e6;
    std::cout << j.dump(2) << "\n";
    return;
  }
  const char* unit = TargetUnit(profile.target);
  std::cout << fmt::format("{} at batch {} (input {}), profile {}\n", est.name, est.batch_size,
                           FormatShape(est.input), a.model);
  std::cout << fmt::format("  per forward pass of the batch: {:.6g} {}\n", est.total, unit);
  std::cout << fmt::format("  per sample:                    {:.6g} {}\n",
                           est.total / double(est.batch_size), unit);
  if (energy && a.passes != 1) {
    std::cout << fmt::format("  for {} passes:              {:.6g} kWh\n", a.passes,
                             est.total * a.passes / 3.6e6);
  }
  std::cout << fmt::format("  MACs {:.4g}, parameters {:.4g}\n\n", est.macs, est.parameters);
  std::cout << fmt::format("{:<18} {:>6} {:>14} {:>8} {:>12}\n", "layer type", "count",
                           fmt::format("predicted {}", unit), "share", "MACs");
  for (const auto& [type, tt] : est.by_type) {
    std::cout << fmt::format("{:<18} {:>6} {:>14.6g} {:>7.1f}% {:>12.4g}\n", type, tt.count,
                             tt.value, est.total > 0 ? 100 * tt.value / est.total : 0.0, tt.macs);
  }
  if (est.unmodelled_layers > 0) {
    std::cout << fmt::format(
        "unmodelled: {} layers, {:.1f}% of MACs, {:.1f}% of the total by fallbacks (see "
        "--per-layer)\n",
        est.unmodelled_layers, est.macs > 0 ? 100 * est.unmodelled_macs / est.macs : 0.0,
        est.total > 0 ? 100 * est.unmodelled_value / est.total : 0.0);
  }
  if (a.per_layer) {
    std::cout << fmt::format("\n{:<16} {:<18} {:<14} {:>12} {:>12} {:>7}  {}\n", "name", "type",
                             "output", "MACs", fmt::format("{}", unit), "share", "method");
    for (const auto& le : est.layers) {
      std::cout << fmt::format("{:<16} {:<18} {:<14} {:>12.4g} {:>12.5g} {:>6.1f}%  {}\n",
                               le.layer.name, le.layer.type, FormatShape(le.layer.output_shape),
                               le.counts.macs, le.value,
                               est.total > 0 ? 100 * le.value / est.total : 0.0, le.method);
    }
  }
}

}  // namespace

void RegisterPredict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd =
      app.add_subcommand("predict", "Predict the energy (or time) of a network's forward pass");
  cmd->add_option("architecture", a->arch,
                  "Zoo name (e.g. resnet50), architecture .json, TorchScript .pt, or the text of "
                  "print(model) in a .txt (the last two need --input)")
      ->required();
  cmd->add_option("--model", a->model, "Profile (JSON)")->required();
  cmd->add_option("-b,--batch-size", a->batch, "Batch size")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 31));
  cmd->add_option("--input", a->input,
                  "Per-sample input shape, e.g. 3x224x224 (default: the architecture's)");
  cmd->add_option("--passes", a->passes, "Forward passes for the kWh total")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            double d = 0;
            try {
              d = ParseDouble(v, "value");
            } catch (const std::invalid_argument& e) {
              return e.what();
            }
            return d > 0 ? "" : "must be > 0, got " + v;
          },
          "POSITIVE"));
  cmd->add_flag("--per-layer", a->per_layer, "Table of every layer");
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->callback([a] { RunPredict(*a); });
}

}  // namespace joulecast::cli
