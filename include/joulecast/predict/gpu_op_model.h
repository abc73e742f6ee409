// GPU operator latency from a GPU's specification sheet: one model per operator, fitted on
// measurements of a few GPUs (data/neusight2025: NeuSight's public tables), that predicts any GPU
// of data/hardware/gpus.json from its SM count, FP32 peak, memory bandwidth, L2 size and board
// power (TDP).
//
// Operators and their sizes (as the tables give them, float32):
//   linear  B, M, N, K      (B·M)×K by K×N (a weight shared by the batch)
//   bmm     B, M, N, K      B products M×K by K×N
//   conv    B, in_channels, out_channels, kernel_size, input_size, stride, padding (square)
//   ln, softmax             B rows of H
//   add mul div pow         B·H elements, two tensor operands; addu mulu divu powu: one tensor
//   gelu relu tanh          and a scalar; unary element-wise
//
// Work of a call (WorkOf): flops (2 per multiply–accumulate; one per element for element-wise
// ops, five for ln and softmax), bytes (every operand read once and the output written once, 4
// bytes an element), and how the work splits over the SMs: output tiles of 128×128 for the
// products (implicit GEMM for conv: B·Ho² rows by out_channels), one per row for ln and
// softmax, 1024 elements for element-wise ops; tile_flops is one tile's flops.
//
// The roofline (the baseline this model is judged against): max(flops / peak, bytes / bandwidth),
// peak = fp32_tflops·1e12 FLOP/s, bandwidth = memory_bandwidth_gbs·1e9 B/s.
//
// The model (per operator): with waves = ceil(tiles / SMs),
//   q    = clamp(tdp_w / fp32_tflops, q_lo, q_hi)  power term "tdp_per_tflop" (W per peak
//          or clamp(tdp_w, q_lo, q_hi)             TFLOP/s) or "tdp" (W), bounded to the range of
//                                                  the GPUs fitted on
//   s    = min(1, c·q)                             the share of the FP32 peak the power budget
//                                                  sustains; s = 1 for power term "none". The
//                                                  term is chosen by leave-one-GPU-out, c (1/q)
//                                                  fitted: the value of 41 log-spaced over
//                                                  [0.25/q_hi, 4/q_lo] with the least mean
//                                                  |ln(latency/base)| on the fitted rows
//   t_c  = waves · SMs · tile_flops / (s · peak)    compute, whole waves (a partial wave costs one)
//   t_m  = bytes / bandwidth                        memory
//   base = t0 + max(t_c, t_m)                       t0: the operator's fixed cost (launch and
//                                                   synchronisation), the 2nd percentile of the
//                                                   training latencies
//   latency = base · exp(clamp(f(x), f_lo, f_hi)), [f_lo, f_hi] the range of f's targets in
//   fitting (a trend far out in the features' joint range never predicts a factor over the
//   base that no fitted GPU showed),
//   x = [t_c/(t_c+t_m), tiles/(waves·SMs), 1/waves, t0/base, bytes/(bytes + L2 bytes)]
// Every feature lies in [0, 1] and is a ratio, so GPUs enter only through the terms above (q_lo,
// q_hi and c come from the fitted rows' GPUs only). Before f sees them, features are clamped to the
// range seen in fitting (a fold never extrapolates f's polynomial trend), and a feature whose
// standard deviation in the fitted rows is below min_feature_std is dropped (a near-constant
// feature, standardised, would blow up a degree-2 trend on a GPU where it moves). f is a
// TrendKernelRidge (regress/trend_kernel_ridge.h) on the kept features, target ln(latency/base).
// (The power term, f's options) are chosen per operator by leave-one-GPU-out cross-validation on
// the training GPUs (mean of per-GPU MAPE of latency), never a random split.
//
// Units: seconds, FLOP, bytes. Errors (std::runtime_error), one line each:
//   "unknown GPU operator 'lin'; known: ...", "linear: expected 4 sizes (B, M, N, K), got 3",
//   "conv: size padding = -1 must be >= 0 and <= 2^40", "conv: the kernel (7) is larger than the
//   padded input (5)", "GPU 'GTX 1050': field 'l2_cache_mb' is needed by the GPU operator model
//   (data/hardware/gpus.json)", "no model for operator 'conv' in models/x.json", FromJson's
//   "path: ops.linear: field 'power_c' must be a number > 0" (file, then field), and
//   LoadNeuSightTable's "path:12: ..." (file, line). Unknown GPUs are GpuTable::Find's error
//   (with the closest names).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/predict/gpu_spec.h"
#include "joulecast/regress/trend_kernel_ridge.h"

namespace joulecast {

struct GpuOpCall {
  std::string op;
  std::vector<std::int64_t> sizes;
};

struct GpuOpRecord {
  GpuOpCall call;
  std::string gpu;       // as gpus.json names it
  double latency_s = 0;  // measured
  std::size_t line = 0;  // in its table (errors)
};

struct GpuOpWork {
  double flops = 0, bytes = 0, tiles = 0, tile_flops = 0;
};

// The operators WorkOf knows, in the order above.
const std::vector<std::string>& GpuOps();
GpuOpWork WorkOf(const GpuOpCall& c);
double RooflineSeconds(const GpuOpWork& w, const GpuSpec& gpu);

// One candidate of the leave-one-GPU-out choice: the power exponent a and f's options.
struct GpuOpCandidate {
  std::string power = "none";  // "none", "tdp_per_tflop" or "tdp" (see above)
  regress::TrendKernelRidgeOptions f;
  nlohmann::json ToJson() const;
};

struct GpuOpModelOptions {
  // Rows a fit uses at most (a deterministic spread over the table's order, which keeps every
  // GPU's share): kernel ridge is cubic in them, and the tables hold up to 87,623 rows per
  // operator.
  std::size_t max_rows = 1000;
  // Features whose standard deviation in the fitted rows is below this are dropped (all
  // features lie in [0, 1]).
  double min_feature_std = 0.02;
  // Candidates, chosen per operator by leave-one-GPU-out MAPE among the training GPUs.
  std::vector<GpuOpCandidate> grid = DefaultGrid();
  // power term none/tdp_per_tflop/tdp × degree in {1, 2} × kernel off/on (ridge_alpha 1,
  // kernel_alpha 0.1, gamma 0.1).
  static std::vector<GpuOpCandidate> DefaultGrid();
  // Operators fitted only on the GPUs of compute capability >= min_compute_capability (GPUs
  // without one, such as AMD's, are kept): the matrix products on Volta and newer. With the two
  // Pascal GPUs (P4, P100) in, leave-one-GPU-out on the three newer training GPUs was worse for
  // both (README, "Whole networks on a GPU"). When no record passes, all are used.
  std::vector<std::string> newer_gpus_only = {"linear", "bmm"};
  double min_compute_capability = 7.0;
};

constexpr int kGpuOpFeatures = 5;

// One operator's model.
struct GpuOpPredictor {
  std::string op;
  double t0_s = 0;
  std::string power = "none";      // the power term
  double power_c = 1;              // c, in 1/q (unused for "none")
  double r_lo = 0, r_hi = 0;       // clamp of q (q_lo, q_hi)
  std::vector<double> x_lo, x_hi;  // clamp of each feature (kGpuOpFeatures)
  std::vector<int> kept;           // the features f sees, in order
  // f's output is clamped to the targets' range in fitting, [min, max] of ln(latency / base)
  // ("target_range"; absent from files written before it, and lo = hi: no clamp).
  double f_lo = 0, f_hi = 0;
  regress::TrendKernelRidge f;
  nlohmann::json cv = nlohmann::json::object();  // the grid's scores, the GPUs fitted on

  // base(call, gpu) · exp(f(clamped x)).
  double Predict(const GpuOpCall& c, const GpuSpec& gpu) const;
  // s of the model above for `gpu` (1 for power term "none").
  double PowerShare(const GpuSpec& gpu) const;
};

class GpuOpModel {
 public:
  static constexpr const char* kKind = "joulecast_gpu_op_model";
  static constexpr int kFormatVersion = 3;  // 2 still loads (glue_s 0)

  // One predictor per operator that has records; each record's GPU must be in `gpus`.
  static GpuOpModel Fit(const std::vector<GpuOpRecord>& records, const GpuTable& gpus,
                        const GpuOpModelOptions& options = {});
  double Predict(const GpuOpCall& c, const GpuSpec& gpu) const;
  bool Has(const std::string& op) const;
  const std::vector<GpuOpPredictor>& predictors() const { return predictors_; }

  // Provenance (the "hardware" block: GPUs fitted on, source, licence) and the leave-one-GPU-out
  // scores written with the model; both are free-form JSON kept through ToJson/FromJson.
  nlohmann::json hardware = nlohmann::json::object();
  nlohmann::json cv = nlohmann::json::array();
  // Whole networks (predict/gpu_network.h): the glue per kernel launched, in seconds (>= 0), and
  // how it was fitted and scored (free-form, written by gpu-ops networks --fit-glue).
  double glue_s = 0;
  // The host's cost of one eager operation (s, >= 0): no kernel in a stream is shorter (0 in
  // files before format 3).
  double launch_floor_s = 0;
  nlohmann::json network = nlohmann::json::object();

  nlohmann::json ToJson() const;
  static GpuOpModel FromJson(const nlohmann::json& j, const std::string& where);
  static GpuOpModel Load(const std::string& path);

 private:
  std::vector<GpuOpPredictor> predictors_;
  std::string where_;
};

// The unclamped features x of one call on one GPU with power share `s` (see above), and base.
// Throws when `gpu` lacks l2_cache_mb.
std::vector<double> GpuOpFeatures(const GpuOpCall& c, const GpuSpec& gpu, double t0_s, double s,
                                  double* base_s);

// A table of data/neusight2025 (op, gpu, sizes..., latency_ms). Throws "path:line: ..." for a
// malformed row, an unknown operator or a GPU that `gpus` does not know.
std::vector<GpuOpRecord> LoadNeuSightTable(const std::string& path, const GpuTable& gpus);

// Scores of an operator on one GPU: the model's and the roofline's MAPE (percent).
struct GpuOpScore {
  std::string op, gpu;
  std::size_t n = 0;
  double mape = 0, roofline_mape = 0;
};

// Leave-one-GPU-out: per operator and per GPU with records, a model fitted (options chosen
// among the remaining GPUs) on the other GPUs predicts the GPU's records.
std::vector<GpuOpScore> LeaveOneGpuOut(const std::vector<GpuOpRecord>& records,
                                       const GpuTable& gpus, const GpuOpModelOptions& options = {});
// A fitted model on other records (a test set), per operator and GPU.
std::vector<GpuOpScore> ScoreGpuOps(const GpuOpModel& model,
                                    const std::vector<GpuOpRecord>& records, const GpuTable& gpus);
nlohmann::json GpuOpScoresJson(const std::vector<GpuOpScore>& scores);

}  // namespace joulecast
