// Self-contained HTML reports (`--html FILE` on predict, compare, train-estimate): one file with
// inline CSS and SVG charts (report/svg.h), no scripts and nothing fetched from anywhere, built
// from the plain structs below, never from CLI code.
//
// Every number that the command's --json output also holds is passed as a Quantity carrying the
// RFC 6901 pointer of that number in the JSON. The page writes it on the element that shows it as
//   data-json="/architectures/0/total_j" data-value="12.345678901234567"
// (data-value: the exact double, shortest round-trip form), so a test or a reader's script can
// check that the page and --json agree. Displayed text is rounded; data-value is not.
//
// Pages: NetworkReportHtml (one network: totals per pass, per sample and for N passes, energy by
// layer type, cost along the depth, the unmodelled layers), ComparisonReportHtml (architectures
// side by side; energy per sample against accuracy with the Pareto front when accuracies are
// given), TrainingReportHtml (one or more training settings: energy, time, CO2, baselines beside
// ours, the cheapest marked, and the energy to a target accuracy where known; `train-estimate`
// gives one setting, `sweep` many). Each page ends with
// the profile used (ProfileSummary): hardware, training data, cross-validated error.
//
// Every text is escaped (names come from user files). The output is deterministic (no dates).
// Errors: std::invalid_argument for an empty report (no layers, no architectures, no settings) or
// inconsistent rows (settings with different baseline names), naming what is missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"
#include "joulecast/predict/training_model.h"

namespace joulecast::report {

// A number shown on the page and where --json holds the same number ("" when it does not).
struct Quantity {
  double value = 0;
  std::string json_pointer;
};

struct CvError {
  std::string what;  // a layer type ("Conv2d") or a training target ("energy")
  std::size_t n = 0;  // records it was fitted on (0: not recorded)
  double mape_percent = 0;
  std::optional<double> extrapolation_mape_percent;  // layer profiles: largest 20 % held out
};

struct ProfileSummary {
  std::string name;
  std::string path;     // the file the command loaded
  std::string kind;     // "layer profile, energy per forward pass (J)", "training profile"
  std::vector<std::pair<std::string, std::string>> hardware;  // ("cpu", "Intel Xeon ...")
  std::string data;     // one line: "5400 records from 7 files"
  std::vector<std::string> sources;  // data files / GPUs it was fitted on
  std::string cv_method;             // how CvError was measured
  std::vector<CvError> errors;
};

// What a layer profile (predict, compare) or a training profile (train-estimate) says about
// itself: hardware, data and per-type (per-target) cross-validated MAPE.
ProfileSummary SummarizeProfile(const Profile& profile, const std::string& path);
ProfileSummary SummarizeTrainingModel(const TrainingModel& model, const std::string& path);

struct TypeRow {
  std::string type;
  std::size_t count = 0;
  Quantity value, share, macs;  // target unit per pass of the batch; share of the total in 0..1
};

struct LayerRow {
  std::string name, type;
  std::string method;  // "model" or the fallback (network_estimate.h)
  Quantity value, share, macs;
};

struct NetworkReport {
  std::string network;
  std::string target = "energy_j";  // energy_j | time_s: the unit of every value below
  std::string mode = "forward";     // a run of the batch: forward pass or train_step
  std::int64_t batch_size = 1;
  std::string input;  // "3x224x224"
  Quantity total, per_sample;  // per run (forward pass or training step) of the batch, per sample
  double passes = 1;                             // runs of the batch for the kWh total
  std::optional<Quantity> total_kwh_for_passes;  // energy profiles only
  Quantity macs, parameters;
  std::vector<TypeRow> by_type;
  std::vector<LayerRow> layers;  // every operation in forward order
  Quantity unmodelled_layers, unmodelled_macs_share, unmodelled_share;
  ProfileSummary profile;
};

// The report of `predict` from the estimate it prints, with pointers into est.ToJson(per_layer)
// (layer rows point into "/layers/i" only when per_layer, as only then does the JSON hold them).
// Passes and the kWh total are the caller's (they are not in the estimate).
NetworkReport MakeNetworkReport(const NetworkEstimate& est, bool per_layer,
                                const ProfileSummary& profile);

struct ArchitectureRow {
  std::string name;
  Quantity total, per_sample, macs, parameters;
  std::optional<Quantity> factor;  // to the cheapest; none when undefined (cheapest predicts 0)
  Quantity unmodelled_macs_share;  // 0..1
  std::optional<Quantity> accuracy;  // 0..1, when the user gave one
};

struct ComparisonReport {
  std::string target = "energy_j";
  std::string mode = "forward";  // a run of the batch: forward pass or train_step
  std::int64_t batch_size = 1;
  std::vector<ArchitectureRow> rows;  // cheapest first, as the command ranks them
  ProfileSummary profile;
};

struct Baseline {
  std::string name;  // "TDP × time", "Green Algorithms"
  Quantity energy_j;
};

struct TrainingSetting {
  std::string name;  // what distinguishes it: "batch 64, 250 W" (a sweep) or the job
  // Either may be unknown (a CPU time profile without a power has no energy, an energy profile no
  // time): its card, chart and column are left out when no setting has it, "-" where one lacks it.
  std::optional<Quantity> energy_j, time_s;
  std::optional<Quantity> co2_kg;   // when a carbon intensity was given
  std::optional<Quantity> power_w;  // average power
  std::vector<Baseline> baselines;  // the same names, in the same order, in every setting
  bool cheapest = false;            // marked on the page (the caller decides by what)
  // Energy to reach the report's target quality (TrainingReport::target) at this setting, and the
  // epochs that takes; none where no measured run at this setting reached it.
  std::optional<Quantity> target_energy_j, target_epochs;
  bool cheapest_to_target = false;  // lowest energy to target (the caller decides)
};

struct TrainingReport {
  std::string title;  // "Training resnet50 on V100 PCIe 32GB"
  // Facts shared by every setting, shown under the title: ("GPU", "V100"), ("epochs", "90").
  std::vector<std::pair<std::string, std::string>> context;
  std::vector<TrainingSetting> settings;
  std::vector<std::string> notes;  // paragraphs under the charts (how the baselines are computed)
  // What "to target" means ("validation accuracy 0.65"); empty: no to-target columns.
  std::string target;
  ProfileSummary profile;
};

std::string NetworkReportHtml(const NetworkReport& report);
std::string ComparisonReportHtml(const ComparisonReport& report);
std::string TrainingReportHtml(const TrainingReport& report);

}  // namespace joulecast::report
