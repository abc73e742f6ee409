// joulecast compare ARCH... --model PROFILE [--batch-size B] [--input 3x224x224] [--seq-len S]
//                  [--json]
//                  [--mode forward|train_step]
//                  [--accuracy NAME=ACC,... | --accuracy-csv FILE] [--html FILE]
//
// One row per architecture, cheapest first: its prediction per run (forward pass, or training step
// with --mode train_step) of the batch and per
// sample, MACs, parameters, the factor to the cheapest, and the share of its MACs in layers the
// profile does not model (fallbacks, see network_estimate.h). Each row is what `predict` gives
// for that architecture with the same options. With accuracies (report/accuracy.h), each row
// that has one also gets it and whether it is on the Pareto front of per-sample cost against
// accuracy; --html writes the page of report/html_report.h.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "commands.h"
#include "common.h"
#include "html_cli.h"
#include "joulecast/predict/fresh_mappings.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/report/accuracy.h"
#include "joulecast/report/html_report.h"
#include "joulecast/report/svg.h"

namespace joulecast::cli {

namespace {

struct CompareArgs {
  std::vector<std::string> archs;
  std::string model, input, accuracy, accuracy_csv, html, mode = "forward", dtype = "float32";
  std::int64_t batch = 1, seq_len = 0;
  bool json = false;
};

// Accuracies by row of `rows`; an accuracy names a row by its architecture's name or by the
// argument as given (both case-insensitively).
std::vector<std::optional<double>> MatchAccuracies(const std::vector<report::Accuracy>& given,
                                                   const std::vector<NetworkEstimate>& rows,
                                                   const std::vector<std::string>& args,
                                                   const std::string& option) {
  std::vector<std::optional<double>> out(rows.size());
  for (const report::Accuracy& acc : given) {
    const std::string key = report::FoldCase(acc.name);
    std::vector<std::size_t> hits;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (report::FoldCase(rows[i].name) == key || report::FoldCase(args[i]) == key) {
        hits.push_back(i);
      }
    }
    if (hits.size() != 1) {
      std::string names;
      for (const NetworkEstimate& r : rows) names += (names.empty() ? "" : ", ") + r.name;
      throw std::runtime_error(
          hits.empty()
              ? fmt::format("{}: unknown architecture '{}' (compared: {})", option, acc.name, names)
              : fmt::format("{}: '{}' names {} of the compared architectures ({}); give their "
                            "arguments instead",
                            option, acc.name, hits.size(), names));
    }
    if (out[hits[0]]) {
      throw std::runtime_error(
          fmt::format("{}: two accuracies for architecture '{}'", option, rows[hits[0]].name));
    }
    out[hits[0]] = acc.value;
  }
  return out;
}

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
  // Malformed accuracies fail before any work; unknown names once the architectures are named.
  std::vector<report::Accuracy> given;
  const std::string acc_option = a.accuracy_csv.empty() ? "--accuracy" : "--accuracy-csv";
  if (!a.accuracy.empty()) given = report::ParseAccuracyList(a.accuracy, "--accuracy");
  if (!a.accuracy_csv.empty()) {
    try {
      given = report::ReadAccuracyCsv(a.accuracy_csv);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("--accuracy-csv: {}", e.what()));
    }
  }
  Profile profile = Profile::Load(a.model);
  profile.SelectMode(a.mode, "--mode " + a.mode + ": " + a.model);
  profile.RequireDtype(a.dtype, "--dtype " + a.dtype + ": " + a.model);
  if (auto w = HardwareMismatch(profile, HostFingerprint()))
    std::cerr << "joulecast: warning: " << *w << "\n";
  std::vector<NetworkEstimate> estimates;
  std::vector<std::pair<std::string, FreshMappings>> fresh;  // name and mappings of estimates[i]
  for (const std::string& arg : a.archs) {
    const graph::Graph g = LoadGraphArg(arg, a.input, a.batch, a.seq_len);
    estimates.push_back(EstimateGraph(profile, g));
    fresh.emplace_back(estimates.back().name, CountFreshMappings(g, graph::ParseDType(a.dtype)));
  }
  const std::vector<std::optional<double>> accuracy_of =
      MatchAccuracies(given, estimates, a.archs, acc_option);
  std::vector<std::size_t> order(estimates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return estimates[x].total < estimates[y].total;
  });
  std::vector<NetworkEstimate> rows;
  std::vector<FreshMappings> row_fresh;
  std::vector<std::optional<double>> accuracies;
  for (std::size_t i : order) {
    rows.push_back(estimates[i]);
    row_fresh.push_back(fresh[i].second);
    accuracies.push_back(accuracy_of[i]);
  }
  // Pareto front of per-sample cost against accuracy, over the rows that have an accuracy.
  std::vector<report::ScatterPoint> points;
  std::vector<std::size_t> point_row;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!accuracies[i]) continue;
    points.push_back({rows[i].name, rows[i].total / double(rows[i].batch_size), *accuracies[i]});
    point_row.push_back(i);
  }
  std::vector<std::optional<bool>> on_front(rows.size());
  const std::vector<bool> front = report::ParetoFront(points);
  for (std::size_t k = 0; k < points.size(); ++k) on_front[point_row[k]] = front[k];
  const double cheapest = rows.front().total;
  // A profile whose predictors all fall back to "none" predicts 0; no factor is defined then.
  auto factor = [&](double total) {
    if (cheapest > 0) return total / cheapest;
    return total == cheapest ? 1.0 : std::numeric_limits<double>::quiet_NaN();
  };
  const bool energy = profile.target == "energy_j";
  const std::string unit = energy ? "j" : "s";
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::json e = rows[i].ToJson(false);
    const double f = factor(rows[i].total);
    list.push_back({{"name", e["name"]},
                    {"input", e["input"]},
                    {"total_" + unit, e["total_" + unit]},
                    {"per_sample_" + unit, e["per_sample_" + unit]},
                    {"macs", e["macs"]},
                    {"parameters", e["parameters"]},
                    {"factor", std::isnan(f) ? nlohmann::json(nullptr) : nlohmann::json(f)},
                    {"unmodelled", e["unmodelled"]},
                    {"fresh_mappings", row_fresh[i].ToJson()}});
    if (!given.empty()) {
      list.back()["accuracy"] = accuracies[i] ? nlohmann::json(*accuracies[i]) : nullptr;
      list.back()["pareto_front"] = on_front[i] ? nlohmann::json(*on_front[i]) : nullptr;
    }
  }
  const nlohmann::json j = {{"model", a.model},
                            {"batch_size", a.batch},
                            {"target", profile.target},
                            {"mode", profile.mode},
                            {"architectures", list}};
  if (!a.html.empty()) {
    // Each figure is read back out of `j` by the pointer the page records, so the page and
    // --json cannot disagree.
    auto q = [&](const std::string& pointer) {
      return report::Quantity{j.at(nlohmann::json::json_pointer(pointer)).get<double>(), pointer};
    };
    report::ComparisonReport page;
    page.target = profile.target;
    page.mode = profile.mode;
    page.batch_size = a.batch;
    page.profile = report::SummarizeProfile(profile, a.model);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::string at = fmt::format("/architectures/{}/", i);
      report::ArchitectureRow row;
      row.name = rows[i].name;
      row.total = q(at + "total_" + unit);
      row.per_sample = q(at + "per_sample_" + unit);
      row.macs = q(at + "macs");
      row.parameters = q(at + "parameters");
      if (!j["architectures"][i]["factor"].is_null()) row.factor = q(at + "factor");
      row.unmodelled_macs_share = q(at + "unmodelled/macs_share");
      if (accuracies[i]) row.accuracy = q(at + "accuracy");
      page.rows.push_back(row);
    }
    WriteHtmlReport(a.html, report::ComparisonReportHtml(page));
  }
  if (auto note = FreshMappingListNote(fresh)) std::cerr << "joulecast: note: " << *note << "\n";
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  const char* u = TargetUnit(profile.target);
  std::size_t width = std::string("architecture").size();
  for (const NetworkEstimate& est : rows) width = std::max(width, est.name.size());
  std::cout << fmt::format("{} per {} at batch {}, profile {}; cheapest first\n",
                           energy ? "energy" : "time", RunName(profile.mode), a.batch,
                           a.model);
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
  if (!points.empty()) {
    std::cout << "\naccuracy against " << (energy ? "energy" : "time")
              << " per sample; * on the Pareto front (no other is cheaper and at least as "
                 "accurate)\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!accuracies[i]) continue;
      std::cout << fmt::format("{:<{}}  {:>8.4g} {}\n", rows[i].name, width, *accuracies[i],
                               *on_front[i] ? "*" : "");
    }
  }
  if (!a.html.empty()) std::cout << fmt::format("\nHTML report: {}\n", a.html);
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
  AddSeqLenOption(cmd, &a->seq_len);
  cmd->add_option("--dtype", a->dtype,
                  "Element type the networks run in; the profile must have been measured in it")
      ->capture_default_str()
      ->check(CLI::IsMember({"float32", "float64", "float16", "bfloat16"}));
  cmd->add_option("--mode", a->mode,
                  "forward (one forward pass of the batch) or train_step (forward, backward and "
                  "optimizer step); the profile must have predictors of that mode")
      ->capture_default_str()
      ->check(CLI::IsMember({"forward", "train_step"}));
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  auto* acc = cmd->add_option("--accuracy", a->accuracy,
                              "Accuracies to plot against energy: NAME=ACC,... with ACC a "
                              "fraction in [0, 1], e.g. alexnet=0.565,vgg16=0.716");
  cmd->add_option("--accuracy-csv", a->accuracy_csv,
                  "Accuracies from a CSV file with columns name,accuracy")
      ->excludes(acc);
  cmd->add_option("--html", a->html,
                  "Also write a self-contained HTML report (bars per architecture, energy "
                  "against accuracy) to FILE");
  cmd->callback([a, cmd] {
    // An empty value is a mistake (an unset shell variable), not the absence of the option.
    if (cmd->count("--accuracy") > 0 && a->accuracy.empty()) {
      throw std::runtime_error("--accuracy: expected NAME=VALUE,..., got nothing");
    }
    if (cmd->count("--html") > 0 && a->html.empty()) throw std::runtime_error("--html: empty path");
    RunCompare(*a);
  });
}

}  // namespace joulecast::cli
