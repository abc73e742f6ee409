// joulecast spread MEASUREMENTS... [--json]: how repeatable the measurements are
// (collect/repeatability.h): the spread of the timed runs inside each record, and between records
// of the same configuration measured more than once.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "joulecast/collect/repeatability.h"

namespace joulecast::cli {

namespace {

struct SpreadArgs {
  std::vector<std::string> files;
  bool json = false;
};

std::string Pct(const SpreadSummary& s) {
  if (s.n == 0) return "n/a";
  return fmt::format("median {:.2f} %, p90 {:.2f} %, max {:.2f} % (n {})", 100 * s.median,
                     100 * s.p90, 100 * s.max, s.n);
}

void RunSpread(const SpreadArgs& a) {
  const RepeatabilityReport r = AnalyseRepeatability(LoadMeasurements(a.files, "spread"));
  if (a.json) {
    std::cout << r.ToJson().dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} records\n", r.records);
  std::cout << "within a record, IQR / median of its timed runs: " << Pct(r.within) << "\n";
  if (r.repeated.empty()) {
    std::cout << "between records: no configuration was measured more than once\n";
    return;
  }
  std::cout << "between records of the same configuration, (max - min) / median: "
            << Pct(r.between_rel_range) << "\n";
  std::cout << "                                       coefficient of variation: "
            << Pct(r.between_cv) << "\n";
  std::cout << fmt::format("{:>5} {:>12} {:>9} {:>8}  {}\n", "runs", "median s", "range %",
                           "CV %", "configuration");
  for (const RepeatedConfig& c : r.repeated) {
    std::cout << fmt::format("{:>5} {:>12.6g} {:>9.2f} {:>8.2f}  {}\n", c.runs, c.median_s,
                             100 * c.rel_range, 100 * c.cv, c.label);
  }
}

}  // namespace

void RegisterSpread(CLI::App& app) {
  auto a = std::make_shared<SpreadArgs>();
  CLI::App* sub = app.add_subcommand(
      "spread", "How repeatable measurements are: spread within each record and between records "
                "of the same configuration");
  sub->add_option("measurements", a->files, "JSON Lines measurement files or quoted glob patterns")
      ->required();
  sub->add_flag("--json", a->json, "One JSON object on stdout");
  sub->callback([a] { RunSpread(*a); });
}

}  // namespace joulecast::cli
