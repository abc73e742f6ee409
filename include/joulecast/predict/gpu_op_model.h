// GPU operator latency from a GPU's specification sheet: one model per operator, fitted on
// measurements of a few GPUs (data/neusight2025: NeuSight's public tables), that predicts any GPU
// of data/hardware/gpus.json from its SM count, FP32 peak and memory bandwidth.
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
// The roofline (the baseline this model is judged against): max(flops / peak, bytes / bandwidth).
//
// The model (per operator): with waves = ceil(tiles / SMs),
//   t_c  = waves · SMs · tile_flops / peak      compute, whole waves (a partial wave costs one)
//   t_m  = bytes / bandwidth                    memory
//   base = t0 + max(t_c, t_m)                   t0: the operator's fixed cost (launch and
//                                               synchronisation), the 2nd percentile of the
//                                               training latencies
//   latency = base · exp(f(x)),  x = [ln(t_c/t_m), ln(tiles/(waves·SMs)), ln(tiles/SMs),
//                                     ln(base/t0)]
// f is a TrendKernelRidge (regress/trend_kernel_ridge.h). Every feature is a ratio, so GPUs
// enter only through the roofline terms: a model fitted on four GPUs has no GPU-specific inputs
// to extrapolate in. f's options are chosen per operator by leave-one-GPU-out cross-validation
// on the training GPUs (MAPE of latency), never a random split.
//
// Units: seconds. Errors (std::runtime_error): "unknown GPU operator 'lin'; known: ...",
// "linear: expected 4 sizes (B, M, N, K), got 3", "conv: sizes must be >= 1 (padding >= 0)",
// "conv: the kernel (7) is larger than the padded input (5)", "no model for operator 'conv' in
// models/x.json", and the file/field errors of FromJson and LoadNeuSightTable ("path:12: ...").
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

struct GpuOpModelOptions {
  // Rows a fit uses at most (a deterministic spread over the GPUs and the table's order): kernel
  // ridge is quadratic in them, and the tables hold up to 87,623 rows per operator.
  std::size_t max_rows = 1000;
  // Candidate options of f, chosen by leave-one-GPU-out MAPE among the training GPUs.
  std::vector<regress::TrendKernelRidgeOptions> grid = DefaultGrid();
  static std::vector<regress::TrendKernelRidgeOptions> DefaultGrid();
};

// One operator's model.
struct GpuOpPredictor {
  std::string op;
  double t0_s = 0;
  regress::TrendKernelRidge f;
  nlohmann::json cv = nlohmann::json::object();  // the grid's scores, the GPUs fitted on

  // base(call, gpu) · exp(f(x)).
  double Predict(const GpuOpCall& c, const GpuSpec& gpu) const;
};

class GpuOpModel {
 public:
  static constexpr const char* kKind = "joulecast_gpu_op_model";
  static constexpr int kFormatVersion = 1;

  // One predictor per operator that has records; each record's GPU must be in `gpus`.
  static GpuOpModel Fit(const std::vector<GpuOpRecord>& records, const GpuTable& gpus,
                        const GpuOpModelOptions& options = {});
  double Predict(const GpuOpCall& c, const GpuSpec& gpu) const;
  bool Has(const std::string& op) const;
  const std::vector<GpuOpPredictor>& predictors() const { return predictors_; }

  nlohmann::json ToJson() const;
  static GpuOpModel FromJson(const nlohmann::json& j, const std::string& where);
  static GpuOpModel Load(const std::string& path);

 private:
  std::vector<GpuOpPredictor> predictors_;
  std::string where_;
};

// The features x of one call on one GPU, and base (see above); exposed for tests.
std::vector<double> GpuOpFeatures(const GpuOpCall& c, const GpuSpec& gpu, double t0_s,
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
std::vector<GpuOpScore> ScoreGpuOps(const GpuOpModel& model, const std::vector<GpuOpRecord>& records,
                                    const GpuTable& gpus);

}  // namespace joulecast
