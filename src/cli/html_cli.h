// The CLI side of `--html FILE` (report/html_report.h builds the pages): writing the file and
// turning train-estimate's JSON into a report, so that the commands' own files change little.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "joulecast/predict/profile.h"
#include "joulecast/predict/training_model.h"
#include "joulecast/report/html_report.h"

namespace joulecast::cli {

// Writes `html` to `path` atomically (a failure leaves no partial file and an existing file as it
// was); throws std::runtime_error "--html: PATH: cannot write (reason)".
void WriteHtmlReport(const std::string& path, const std::string& html);

// train-estimate's report from the very JSON object it prints (`j`, see train_estimate.cpp): one
// setting whose every number carries its pointer into `j`, the two baselines beside it, the job's
// facts as context, and the training profile `model` loaded from `model_path`.
report::TrainingReport TrainEstimateReport(const nlohmann::json& j, const TrainingModel& model,
                                           const std::string& model_path);

// sweep's report from the JSON object it prints (`j`, see sweep.cpp): one setting per (batch size,
// power limit) row named "batch B, L W", energy, time, power, CO2e (with --region) and both
// baselines, the cheapest row marked as the JSON marks it, and the energy and epochs to the
// Zeus target where the JSON has them; every number carries its pointer into `j`.
report::TrainingReport SweepReport(const nlohmann::json& j, const TrainingModel& model,
                                   const std::string& model_path);

// train-estimate's layer-wise CPU route (predict/cpu_run.h) from the JSON it prints (`j`: the
// run's CpuRunEstimate::ToJson with "target", "model" and "cpu"): one setting, its total time,
// and its total energy and power where the JSON has them; `profile` (train_step active) and its
// file `path` summarised at the end.
report::TrainingReport CpuRunReport(const nlohmann::json& j, const Profile& profile,
                                    const std::string& path);

// sweep's layer-wise route from the JSON it prints (see sweep.cpp): one setting per row named
// "float32, batch 8, frozen: none", with the totals when the JSON has a dataset size and the
// figures per sample otherwise (said in a note), the cheapest row marked as the JSON marks it;
// `profile` is the first of the sweep's profiles.
report::TrainingReport CpuSweepReport(const nlohmann::json& j, const Profile& profile,
                                      const std::string& path);

}  // namespace joulecast::cli
