// The CLI side of `--html FILE` (report/html_report.h builds the pages): writing the file and
// turning train-estimate's JSON into a report, so that the commands' own files change little.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

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

}  // namespace joulecast::cli
