// joulecast compare ARCH... --model PROFILE [--batch-size B] [--input 3x224x224] [--json]
//
// One row per architecture, cheapest first: its prediction per forward pass of the batch and per
// sample, MACs, parameters, the factor to the cheapest, and the share of its MACs in layers the
// profile does not model (fallbacks, see network_estimate.h). Each row is what `predict` gives
// for that architecture with the same options.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "commands.h"
#include "common.h"
#include "joulecast/predict/network_estimate.h"

namespace joulecast::cli {

namespace {

struct CompareArgs {
  std::vector<std::string> archs;
  std::string model, input;
  std::int64_t batch = 1;
  bool json = false;
};

// Two arguments name the same architecture when they are the same file, or the same zoo name
// (zoo names match case-insensitively).
std::string Identity(const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    const auto canonical = std::filesystem::weakly_canonical(arg, ec);
    return "file:" + (ec ? arg : canonical.string());
  }
  std::string lower = arg;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "name:" + lower;
}

void RunCompare(const CompareArgs& a) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < a.archs.size(); ++i) {
    ids.push_back(Identity(a.archs[i]));
    for (std::size_t j = 0; j < i; ++j) {
      if (ids[j] == ids[i]) {
        throw std::runtime_error(fmt::format(
            "compare: arguments {} ('{}') and {} ('{}') name the same architecture; give each "
            "once",
            j + 1, a.archs[j], i + 1, a.archs[i]));
      }
    }
  }
  const Profile profile = Profile::Load(a.model);
  std::vector<NetworkEstimate> rows;
  for (const std::string& arg : a.archs) {
    const Architecture arch = LoadArchitectureArg(arg, a.input);
    rows.push_back(a.input.empty() ? EstimateNetwork(profile, arch, a.batch)
                                   : EstimateNetwork(profile, arch, a.batch,
                                                     ParseShapeArg(a.input, "--input")));
  }
  std::stable_sort(
      rows.begin(), rows.end(),
      [](const NetworkEstimate& x, const NetworkEstimate& y) { return x.total < y.total; });
  const double cheapest = rows.front().total;
  // A profile whose predictors all fall back to "none" predicts 0; no factor is defined then.
  auto factor = [&](double total) {
    if (cheapest > 0) return total / cheapest;
    return total == cheapest ? 1.0 : std::numeric_limits<double>::quiet_NaN();
  };
  const bool energy = profile.target == "energy_j";
  const std::string unit = energy ? "j" : "s";
  if (a.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const NetworkEstimate& est : rows) {
      const nlohmann::json e = est.ToJson(false);
      const double f = factor(est.total);
      list.push_back({{"name", e["name"]},
                      {"input", e["input"]},
                      {"total_" + unit, e["total_" + unit]},
                      {"per_sample_" + unit, e["per_sample_" + unit]},
                      {"macs", e["macs"]},
                      {"parameters", e["parameters"]},
                      {"factor", std::isnan(f) ? nlohmann::json(nullptr) : nlohmann::json(f)},
                      {"unmodelled", e["unmodelled"]}});
    }
    const nlohmann::json j = {{"model", a.model},
                              {"batch_size", a.batch},
                              {"target", profile.target},
                              {"architectures", list}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  const char* u = TargetUnit(profile.target);
  std::size_t width = std::string("architecture").size();
  for (const NetworkEstimate& est : rows) width = std::max(width, est.name.size());
  std::cout << fmt::format("{} per forward pass at batch {}, profile {}; cheapest first\n",
                           energy ? "energy" : "time", a.batch, a.model);
  std::cout << fmt::format("{:<{}}  {:>12} {:>12} {:>10} {:>10} {:>8} {:>11}\n", "architecture",
                           width, fmt::format("{} per pass", u), fmt::format("{} per sample", u),
                           "MACs", "parameters", "factor", "unmodelled");
  for (const NetworkEstimate& est : rows) {
    const double f = factor(est.total);
    std::cout << fmt::format(
        "{:<{}}  {:>12.6g} {:>12.6g} {:>10.4g} {:>10.4g} {:>8} {:>10.1f}%\n", est.name, width,
        est.total, est.total / static_cast<double>(est.batch_size), est.macs, est.parameters,
        std::isnan(f) ? std::string("n/a") : fmt::format("{:.2f}x", f),
        est.macs > 0 ? 100 * est.unmodelled_macs / est.macs : 0.0);
  }
  std::cout << "unmodelled: share of the MACs in layers costed by fallbacks (see predict "
               "--per-layer)\n";
}

}  // namespace

void RegisterCompare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare", "Predict several networks with one profile and rank them, cheapest first");
  cmd->add_option("architectures", a->archs,
                  "Zoo names (e.g. resnet50) or architecture files, as for predict")
      ->required();
  cmd->add_option("--model", a->model, "Profile (JSON)")->required();
  cmd->add_option("-b,--batch-size", a->batch, "Batch size")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 31));
  cmd->add_option("--input", a->input,
                  "Per-sample input shape for every architecture, e.g. 3x224x224 (default: each "
                  "architecture's own)");
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->callback([a] { RunCompare(*a); });
}

}  // namespace joulecast::cli
