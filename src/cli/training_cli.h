// The training-run side of `fit` and `evaluate` (records of kind "training_run", profiles of kind
// "joulecast_training_profile"), kept out of fit.cpp and evaluate.cpp, which only branch here.
#pragma once

#include <string>
#include <vector>

namespace joulecast::cli {

// True when every file the arguments name (globs expanded) holds training-run records; throws
// when some do and some do not ("fit: a.jsonl holds training runs but b.jsonl does not: give one
// kind of record").
bool AreTrainingRunFiles(const std::vector<std::string>& args, const char* command);

// fit: TrainingModel::Fit on every record, saved to `output`; prints the chosen configurations
// and their cross-validated MAPE unless quiet.
void FitTrainingRuns(const std::vector<std::string>& args, const std::string& output,
                     const std::string& name, bool quiet);

// evaluate: predicts every record with the profile and prints MAPE for power, time and energy,
// and the baselines' energy MAPE (JSON: {"model", "runs": RunsEvaluation::ToJson()}).
void EvaluateTrainingRuns(const std::string& model, const std::vector<std::string>& args,
                          bool json);

}  // namespace joulecast::cli
