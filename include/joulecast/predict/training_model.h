// The training-run estimator: average GPU power, epoch time and epoch energy of a training job
// from the GPU's datasheet (predict/gpu_spec.h), the workload, the batch size and the power
// limit, fitted on training-run records (io/training_run.h). Saved as a profile of kind
// "joulecast_training_profile", format_version 2 ("physical" model). Version 1 files (the
// kernel-ridge estimator of earlier builds) are refused with a message that says to refit.
//
// Why a physical model: with three GPUs in the data, a flexible learner on GPU features cannot
// extrapolate to an unseen GPU (leave-one-GPU-out power MAPE 17-28 %, energy 42-51 % for the
// kernel ridge). Here the GPU enters only through a few spec ratios with shared parameters; what
// is learned per workload is the part that the training GPUs have in common. What it cannot
// learn from two or three GPUs is how the GPU ratio differs between workloads (DeepSpeech2 runs
// 3.9 × slower on the P100 than the mean of the RTX 6000 and V100, ResNet-50 1.5 ×, NCF 1.3 ×):
// tools/analyse_zeus2023_logo.py prints that spread and the leave-one-GPU-out error it leaves
// even with the GPU's overall factor known exactly.
//
// Notation: b batch size, L = log2 b, w the workload, g the GPU, TDP_g its board power (W),
// PL the power limit (W, default TDP_g), N samples per epoch, F training GFLOPs per sample.
// X_g^s denotes the spec value of scale s: "none" 1, "fp32" fp32_tflops, "fp16" fp16 (else
// fp32) TFLOPS, "bandwidth" memory bandwidth in TB/s, "fp32_bandwidth" sqrt(fp32_tflops · TB/s),
// "fp32_per_watt" fp32 GFLOPS per W of TDP, "bandwidth_per_watt" GB/s per W of TDP;
// R_g^s = X_g^s / X_ref^s, X_ref^s the geometric mean over the training GPUs.
//
// Which scales and exponents are candidates (TrainingModelOptions' defaults), and why: a GPU
// that is k times another in every unit and in TDP should draw the same fraction of its TDP and
// train k times faster, not faster. So the power scales, which multiply a fraction of TDP, are
// per-watt quantities (a GPU with much compute per watt of board power, such as a T4, runs at its
// limit; one with headroom, such as a P100, stays below it), and the time law is at most linear
// in throughput (γ <= 1): with γ = 2 on fp32_bandwidth the three Zeus GPUs put an H100 SXM at
// 9 × a V100 on ResNet-50, with γ <= 1 at 3.7 ×. The absolute scales remain valid in profiles.
//
//   idle      I_g = c · TDP_g                                   (W; c the idle fraction)
//   demand    D = TDP_g · (c + (1 - c) · (R_g^ps)^η · u_w(L))   (W; u_w >= 0 clamped)
//   power     P = (D^-n + (ρ · PL)^-n)^(-1/n)                   (W; a soft min, <= ρ·PL <= PL)
//   time      ln t = ln(N · F) + θ_w(L) - γ · ln R_g^ts + κ · ln max(1, (D - I_g) / (P - I_g))
//             (s; the last term is the slowdown when the limit cuts the demanded power: with
//             dynamic power ∝ clock³, κ = 1/3 would be the textbook value; κ is fitted)
//   energy    E = P · t                                         (J)
//
// u_w and θ_w are per-workload curves in L: piecewise linear on knots L = 0, s, 2s, ... Lmax
// (s = knot_step), fitted by least squares with a penalty smoothness · Σ (second differences)²
// + 1e-3 · Σ (first differences)², so that between the batch sizes seen they interpolate and
// beyond them they extend linearly. Power: u_w is fitted to the demand D̂ of each (GPU, workload,
// batch, optimizer) group, taken as the power measured at the group's highest power limit (the
// Zeus traces always include the TDP), minimising the relative error of D; then (ρ, n) are picked
// from cap_rhos × cap_softness by the power MAPE on the training rows. Time: θ_w and κ by least
// squares on ln t with D and P the model's own predictions.
//
// Selection (only on the records Fit is given): the power hypothesis (power scale ps, exponent
// η, idle fraction c) is chosen among power_scales × power_exponents × idle_fractions ("none"
// once) by the MAPE of out-of-fold power; then the time hypothesis (time scale ts, exponent γ)
// among time_scales × time_exponents by the out-of-fold time MAPE with the chosen power
// hypothesis. Folds are leave-one-GPU-out when the records hold at least two GPUs (fit on the
// others, predict the one left out, MAPE over all out-of-fold rows pooled), else shuffled K-fold
// (options.folds, options.seed; the GPU scaling is then irrelevant and ties keep the first
// candidate). A GPU held out by LeaveOneGpuOut is never in Fit's records, so it never influences
// the choice. Ties keep the earlier candidate.
//
// Workloads: a query names its workload (TrainingQuery::workload, filled by QueryOf); when the
// name is empty or not among the fitted ones, the fitted workload with the same
// train_gflops_per_sample and params_m (relative difference <= 1e-6) is used, else the nearest
// in (ln F, ln params_m) — a crude stand-in for an unseen network, reported in
// TrainingPrediction::workload.
//
// Errors: std::runtime_error for no records, a record whose GPU is not in the table (GpuTable's
// message), a power limit outside the GPU's range (CheckPowerLimit's message), non-positive
// inputs to Predict ("batch_size must be >= 1, got 0"), unfitted use, unknown scale names
// ("unknown time scale 'x' (none, fp32, fp16, bandwidth, fp32_bandwidth)"), and, from
// FromJson/Load, "path: not a joulecast_training_profile (kind 'x')", "path: format_version 1 is
// the kernel-ridge training profile of an older build: refit it with `joulecast fit RUNS... -o
// path` (this build reads 2)", "path: unsupported format_version 3 (this build reads 2)" or
// "path: corrupt training profile: ...".
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/io/training_run.h"
#include "joulecast/predict/gpu_spec.h"

namespace joulecast {

struct TrainingModelOptions {
  // Time scales ts tried for the GPU speed ratio (see the header comment).
  std::vector<std::string> time_scales{"none", "fp32", "fp16", "bandwidth", "fp32_bandwidth"};
  std::vector<double> time_exponents{0.5, 1.0};  // γ <= 1; "none" is tried once
  std::vector<std::string> power_scales{"none", "fp32_per_watt", "bandwidth_per_watt"};
  std::vector<double> power_exponents{0.5, 1.0};              // η; "none" is tried once
  std::vector<double> idle_fractions{0.08, 0.12, 0.16, 0.2};  // c
  std::vector<double> cap_rhos{0.9, 0.93, 0.95, 0.97, 1.0};   // ρ
  std::vector<double> cap_softness{4, 8, 16, 32};             // n
  double smoothness = 1.0;     // weight of the second-difference penalty on u_w and θ_w
  double knot_step = 0.5;      // s, in log2 batch units
  double log2_batch_max = 15;  // Lmax: the last knot (batch 32768); larger batches extend linearly
  std::size_t folds = 5;       // K-fold when the records hold a single GPU
  std::uint64_t seed = 0;
  nlohmann::json ToJson() const;
};

// What a prediction needs about one training job.
struct TrainingQuery {
  GpuSpec gpu;
  double train_gflops_per_sample = 0, params_m = 0, samples_per_epoch = 0;
  std::int64_t batch_size = 1;
  std::optional<double> power_limit_w;  // default: tdp_w
  std::string workload;                 // optional; see "Workloads" above
};

struct TrainingPrediction {
  double power_w = 0, epoch_time_s = 0, epoch_energy_j = 0;
  std::string workload;          // the fitted workload whose curves were used
  bool workload_matched = true;  // false when the nearest workload stood in
};

// The selected GPU scaling of one target, with its cross-validated MAPE.
struct TargetModel {
  std::string scale;    // time: ts; power: ps
  double exponent = 0;  // γ or η
  double cv_mape = 0;   // percent, of the chosen configuration (0 when fitted on one record)
  std::size_t candidates = 0;
  nlohmann::json ToJson() const;
  static TargetModel FromJson(const nlohmann::json& j);
};

// Fitted per-workload curves, on the knots 0, knot_step, ..., log2_batch_max.
struct WorkloadCurves {
  std::string name;
  double train_gflops_per_sample = 0, params_m = 0;
  std::int64_t batch_min = 0, batch_max = 0;  // the batch sizes seen in fitting
  std::vector<double> utilisation;            // u_w at the knots
  std::vector<double> log_time;               // θ_w at the knots
};

// The physical model's fitted parameters (see the header comment).
struct PhysicalParams {
  double idle_fraction = 0.1;  // c
  std::string power_scale = "none";
  double power_exponent = 0, power_scale_ref = 1;  // η, X_ref of ps
  double cap_rho = 1, cap_softness = 8;            // ρ, n
  std::string time_scale = "none";
  double time_exponent = 0, time_scale_ref = 1;  // γ, X_ref of ts
  double powerlimit_exponent = 0;                // κ
  double knot_step = 0.5, log2_batch_max = 15;
  std::vector<WorkloadCurves> workloads;
};

class TrainingModel {
 public:
  static constexpr const char* kKind = "joulecast_training_profile";
  static constexpr int kFormatVersion = 2;

  void Fit(const std::vector<TrainingRun>& runs, const GpuTable& gpus,
           const TrainingModelOptions& options = {});
  TrainingPrediction Predict(const TrainingQuery& q) const;
  std::vector<TrainingPrediction> PredictRuns(const std::vector<TrainingRun>& runs,
                                              const GpuTable& gpus) const;
  bool fitted() const { return !params_.workloads.empty(); }

  std::string name;
  const std::vector<std::string>& trained_gpus() const { return gpus_; }
  const std::string& energy_mode() const { return energy_mode_; }  // always "product"
  const TargetModel& power() const { return power_; }
  const TargetModel& time() const { return time_; }
  double energy_cv_mape() const { return energy_cv_mape_; }
  const PhysicalParams& physical() const { return params_; }
  // Builds a model from given parameters (tests, hand-made profiles); fitted() once it has a
  // workload.
  static TrainingModel FromParams(const PhysicalParams& p, const std::vector<std::string>& gpus);

  nlohmann::json ToJson() const;
  static TrainingModel FromJson(const nlohmann::json& j, const std::string& where);
  static TrainingModel Load(const std::string& path);
  void Save(const std::string& path) const;
  // True when the file is a JSON object of kind "joulecast_training_profile".
  static bool IsTrainingProfile(const std::string& path);

 private:
  PhysicalParams params_;
  TargetModel power_, time_;
  std::string energy_mode_ = "product";
  double energy_cv_mape_ = 0;
  std::vector<std::string> gpus_;
  std::size_t n_runs_ = 0;
  nlohmann::json training_ = nlohmann::json::object();
};

TrainingQuery QueryOf(const TrainingRun& r, const GpuTable& gpus);

// How far a prediction lies from what the model was fitted on, for reporting uncertainty:
// whether the GPU is a training GPU, its value X_g^s of the chosen time and power scales against
// their range over the training GPUs (GPUs the table lacks are left out of the range; "none"
// scales are 1 everywhere), and the batch size against the batch sizes the workload's curves saw.
struct ScaleCoverage {
  std::string scale;  // "fp32_bandwidth", ...
  double value = 1, min = 1, max = 1;
  bool Outside() const;           // value beyond [min, max] by more than 1e-9 relative
  nlohmann::json ToJson() const;  // {"scale", "value", "min", "max", "outside"}
};
struct TrainingCoverage {
  bool gpu_in_training = false;
  ScaleCoverage time, power;
  std::int64_t batch_min = 0, batch_max = 0;  // of the workload curves used
  bool batch_outside = false;
  bool Extrapolating() const { return time.Outside() || power.Outside() || batch_outside; }
  nlohmann::json ToJson() const;
};
// Throws as Predict does for an unfitted model, and std::runtime_error when the prediction's
// workload is not one of the model's.
TrainingCoverage CoverageOf(const TrainingModel& m, const TrainingQuery& q,
                            const TrainingPrediction& p, const GpuTable& gpus);

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
