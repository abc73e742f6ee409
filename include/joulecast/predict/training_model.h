// The training-run estimator: average GPU power, epoch time and epoch energy of a training job
// from the GPU's datasheet (predict/gpu_spec.h), the workload's size and cost, the batch size and
// the power limit, fitted on training-run records (io/training_run.h) with trend + RBF kernel
// ridge (regress/trend_kernel_ridge.h). Saved as a profile of kind "joulecast_training_profile".
//
// Features x (per run): log train_gflops_per_sample, log params_m, log batch_size,
// power_limit / tdp_w; with gpu_features also log fp32_tflops, log fp16 (or fp32) TFLOPS,
// log memory bandwidth, log tdp_w, log memory_gb. Targets, each a log of a dimensionless ratio so
// that the physical scale comes from the specs and the regression learns only the efficiency:
//   power   y = log(P / cap),                       cap = min(power limit, tdp_w)
//   time    y = log(t · S / (N · F))                N samples per epoch, F GFLOPs per sample,
//                                                    S the time scale of the GPU (below)
//   energy  "product": E = P̂ · t̂; "direct": y = log(E · S / (cap · N · F))
// Time scales S: "fp32" fp32_tflops, "fp16" fp16 (else fp32) TFLOPS, "bandwidth" memory
// bandwidth in TB/s, "fp32_bandwidth" sqrt(fp32_tflops · bandwidth TB/s).
// Predicted power is capped at the power limit.
//
// Selection (nested inside whatever data Fit is given): every candidate (trend/kernel options ×
// time scale × with/without GPU features; for energy also the product) is scored by the MAPE (%)
// of its out-of-fold predictions in W, s or J, where the folds are leave-one-GPU-out when the
// records hold at least two GPUs and shuffled K-fold otherwise; the lowest wins and is refitted
// on all records. A held-out GPU therefore never influences the choice when the caller leaves it
// out of Fit's records (LeaveOneGpuOut does).
//
// Errors: std::runtime_error for no records, a record whose GPU is not in the table (GpuTable's
// message), a power limit outside the GPU's range (CheckPowerLimit's message), non-positive
// inputs to Predict ("batch_size must be >= 1, got 0"), unfitted use, and, from FromJson/Load,
// "path: not a joulecast_training_profile (kind 'x')", "path: unsupported format_version 2 (this
// build reads 1)" or a corrupt regressor.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/io/training_run.h"
#include "joulecast/predict/gpu_spec.h"
#include "joulecast/regress/trend_kernel_ridge.h"

namespace joulecast {

struct TrainingModelOptions {
  std::vector<std::string> time_scales{"fp32", "fp16", "bandwidth", "fp32_bandwidth"};
  std::vector<bool> gpu_features{false, true};
  std::vector<double> ridge_alphas{0.1, 1.0, 10.0};
  std::vector<double> kernel_alphas{0.03, 0.3};  // with every gamma; plus the trend alone
  std::vector<double> gammas{0.03, 0.1, 0.3};
  std::size_t folds = 5;  // K-fold when the records hold a single GPU
  std::uint64_t seed = 0;
  nlohmann::json ToJson() const;
};

// What a prediction needs about one training job.
struct TrainingQuery {
  GpuSpec gpu;
  double train_gflops_per_sample = 0, params_m = 0, samples_per_epoch = 0;
  std::int64_t batch_size = 1;
  std::optional<double> power_limit_w;  // default: tdp_w
};

struct TrainingPrediction {
  double power_w = 0, epoch_time_s = 0, epoch_energy_j = 0;
};

// One fitted target: the chosen configuration and its regressor.
struct TargetModel {
  std::string time_scale;  // unused for power
  bool gpu_features = false;
  regress::TrendKernelRidge model;
  double cv_mape = 0;  // percent, of the chosen configuration
  std::size_t candidates = 0;
  nlohmann::json ToJson() const;
  static TargetModel FromJson(const nlohmann::json& j);
};

class TrainingModel {
 public:
  static constexpr const char* kKind = "joulecast_training_profile";
  static constexpr int kFormatVersion = 1;

  void Fit(const std::vector<TrainingRun>& runs, const GpuTable& gpus,
           const TrainingModelOptions& options = {});
  TrainingPrediction Predict(const TrainingQuery& q) const;
  std::vector<TrainingPrediction> PredictRuns(const std::vector<TrainingRun>& runs,
                                              const GpuTable& gpus) const;
  bool fitted() const { return power_.model.fitted(); }

  std::string name;
  const std::vector<std::string>& trained_gpus() const { return gpus_; }
  const std::string& energy_mode() const { return energy_mode_; }
  const TargetModel& power() const { return power_; }
  const TargetModel& time() const { return time_; }
  const std::optional<TargetModel>& energy_direct() const { return energy_; }
  double energy_cv_mape() const { return energy_cv_mape_; }

  nlohmann::json ToJson() const;
  static TrainingModel FromJson(const nlohmann::json& j, const std::string& where);
  static TrainingModel Load(const std::string& path);
  void Save(const std::string& path) const;
  // True when the file is a JSON object of kind "joulecast_training_profile".
  static bool IsTrainingProfile(const std::string& path);

 private:
  TargetModel power_, time_;
  std::optional<TargetModel> energy_;  // set when energy_mode_ == "direct"
  std::string energy_mode_ = "product";
  double energy_cv_mape_ = 0;
  std::vector<std::string> gpus_;
  std::size_t n_runs_ = 0;
  nlohmann::json training_ = nlohmann::json::object();
};

TrainingQuery QueryOf(const TrainingRun& r, const GpuTable& gpus);

// Measured against predicted over a set of runs, with the two baselines (energy_baselines.h, given
// the MEASURED epoch time and PUE 1) on the same rows.
struct RunsEvaluation {
  std::size_t n = 0;
  double power_mape = 0, time_mape = 0, energy_mape = 0;
  double tdp_time_energy_mape = 0, green_algorithms_energy_mape = 0;
  std::map<std::string, RunsEvaluation> by_gpu;  // filled one level deep
  // {"n", "power_mape", "time_mape", "energy_mape", "baselines": {"tdp_time": {"energy_mape"},
  //  "green_algorithms": {"energy_mape"}}, "by_gpu": {name: {...same without by_gpu}}}
  nlohmann::json ToJson() const;
};

RunsEvaluation EvaluateRuns(const TrainingModel& model, const std::vector<TrainingRun>& runs,
                            const GpuTable& gpus);

struct HeldOutGpu {
  std::string gpu;
  RunsEvaluation evaluation;
  TrainingModel model;  // fitted on the other GPUs
};

// For every GPU in the runs: Fit (selection included) on the other GPUs' runs, evaluate on its
// own. Throws when the runs hold fewer than 2 GPUs.
std::vector<HeldOutGpu> LeaveOneGpuOut(const std::vector<TrainingRun>& runs, const GpuTable& gpus,
                                       const TrainingModelOptions& options = {});

}  // namespace joulecast
