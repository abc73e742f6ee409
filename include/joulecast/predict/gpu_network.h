// Whole-network time on a GPU from its specification sheet: every node of the operator graph as
// the kernels of its GPU form (graph/op_schema.h GpuFormOf), each predicted by the GPU operator
// model (predict/gpu_op_model.h) for that GPU, summed, plus the glue between kernels.
//
//   forward     the forward kernels of every node
//   train_step  the forward kernels (a form's training_forward where it has one: dropout
//               draws its mask), then the backward pass: grads[i] of every node for every
//               input i that needs a gradient, then the optimizer's update of every parameter
//               tensor of P elements: "sgd" (SGD with momentum, as `collect` trains: buf = m·buf
//               + g and p -= lr·buf, an add and a mul per tensor), "adam" (five binary kernels:
//               the two moments, the bias-corrected step's division, the update and the weight
//               decay) or "none" (forward and backward only, what NeuSight's training labels
//               and tools/measure_gpu_reference.py time)
// A value needs a gradient when it is a floating parameter (not a buffer) or a node computed it
// from a value that needs one; graph inputs (images, token ids) do not. Frozen parameters (the
// `frozen` option: parameter names, or module scopes whose parameters all freeze) need none, so
// the nodes before the first trainable one have no backward kernels.
//
// Kernels in a stream: the operator tables time each kernel alone, so every latency holds the
// operator's fixed cost t0 (launch, synchronisation, timing events: 25-200 µs in
// models/gpu-latency.json). In a network the next launch overlaps the running kernel, so a kernel
// costs max(latency − t0, h) there, h the host's cost of one eager operation (no kernel can come
// faster than the host issues it: a small network at a small batch is host-bound), and each
// launch adds the glue g:
//   total = Σ max(latency_k − t0_op(k), h) + g · kernels
// h is GpuNetworkOptions::launch_floor_s (from the labels' traces: the latency of nodes that
// launch nothing), g GpuNetworkOptions::glue_s, fitted by FitGlue on whole-network measurements.
// With `isolated` the kernels are summed as timed alone (Σ latency_k, no floor, no glue).
//
// Units: seconds. Kernels marked proxy (graph/op_schema.h) are summed into proxy_s, so a caller
// can say how much of the total stands on stand-ins. Throws std::runtime_error for an operator
// the model lacks ("no model for operator 'conv' in models/x.json", naming the node), for a mode
// or optimizer not listed above, and for a frozen name that matches no parameter or scope.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/graph/graph.h"
#include "joulecast/predict/gpu_op_model.h"
#include "joulecast/predict/gpu_spec.h"
#include "joulecast/predict/training_model.h"

namespace joulecast {

struct GpuNetworkOptions {
  std::string mode = "forward";     // forward | train_step
  std::string optimizer = "sgd";    // train_step: sgd | adam | none
  double glue_s = 0;                // per kernel launched (>= 0)
  double launch_floor_s = 0;        // h above (>= 0)
  bool isolated = false;            // sum the kernels as timed alone (t0 kept, no glue)
  std::vector<std::string> frozen;  // parameter names or module scopes (train_step)
  // The defaults with the model's fitted glue and launch floor.
  static GpuNetworkOptions Of(const GpuOpModel& m) {
    GpuNetworkOptions o;
    o.glue_s = m.glue_s;
    o.launch_floor_s = m.launch_floor_s;
    return o;
  }
};

struct GpuPhaseTotal {
  std::size_t kernels = 0;
  double s = 0;
};

struct GpuNetworkEstimate {
  std::string name, gpu, mode, optimizer;
  std::int64_t batch_size = 1;
  double total_s = 0;     // kernels + glue
  double kernels_s = 0;   // Σ kernel costs in a stream (or alone with `isolated`)
  double isolated_s = 0;  // Σ kernel latencies as timed alone
  double glue_s = 0;      // glue per kernel × kernels
  double proxy_s = 0;     // of kernels_s, from proxy kernels
  double roofline_s = 0;  // Σ over the same kernels of max(flops / peak, bytes / bandwidth)
  std::size_t kernels = 0;
  GpuPhaseTotal forward, backward, optimizer_step;
  std::map<std::string, GpuPhaseTotal> by_op;      // graph operator
  std::map<std::string, GpuPhaseTotal> by_kernel;  // the model's operator
  std::map<std::string, GpuPhaseTotal> proxies;    // graph operator -> its proxy kernels
  double parameters = 0, trainable_parameters = 0;

  // {"name", "gpu", "mode", "optimizer", "batch_size", "total_s", "per_sample_s", "kernels_s",
  //  "glue_s", "roofline_s", "kernels", "phases": {"forward", "backward", "optimizer"}:
  //  {"kernels", "s"}, "by_op": {op: {"kernels", "s", "share"}}, "by_kernel": {...},
  //  "proxy": {"s", "share", "by_op": {...}}, "parameters", "trainable_parameters"}
  nlohmann::json ToJson() const;
  // ToJson's "phases": {"forward"} and, for a training step, "backward" and "optimizer".
  nlohmann::json PhasesJson() const;
};

// Graph `g` (shapes inferred) on `gpu`. Throws as above.
GpuNetworkEstimate EstimateOnGpu(const graph::Graph& g, const GpuOpModel& model, const GpuSpec& gpu,
                                 const GpuNetworkOptions& options);

// Which values of `g` need a gradient (index = value id) with `frozen` (names or scopes as
// above); throws "--freeze: 'enc.layer.3' matches no parameter or module scope" for a name that
// matches nothing, and "--freeze: every parameter of resnet18 is frozen: a training step would
// train nothing" when `frozen` leaves no parameter trainable.
std::vector<bool> NeedsGradient(const graph::Graph& g, const std::vector<std::string>& frozen);

// Average board power while the network runs on `gpu`: the power law of a training-run profile
// fitted on the zeus2023 traces (predict/training_model.h, models/gpu-training.json) for this
// GPU, batch and power limit (default the TDP; the law's soft cap keeps it <= the limit), with
// the fitted workload nearest to the network in training GFLOPs per sample (6 × MACs / batch, as
// data/workloads.json counts them) and parameters standing in for its utilisation curve. A
// modelled figure: energy = power × predicted time, of which only the time is layer-wise.
// Throws TrainingModel::Predict's errors (a power limit outside the GPU's range).
struct GpuPower {
  double watts = 0, limit_w = 0;
  std::string workload;  // the fitted workload that stood in
  bool matched = false;  // the network is that workload (same GFLOPs and parameters)
};
GpuPower GpuNetworkPower(const TrainingModel& power_model, const GpuSpec& gpu,
                         const graph::Graph& g, std::optional<double> power_limit_w);

// An epoch of training on a GPU, layer-wise: ceil(samples / batch) training steps of
// EstimateOnGpu (options.mode must be train_step; `g` at the batch size), the last partial batch
// counted as a whole step. Data loading, evaluation passes and host-side work between steps are
// not in it. Throws for samples < 1 and EstimateOnGpu's errors.
struct GpuEpoch {
  GpuNetworkEstimate step;
  double steps = 0, epoch_s = 0;
};
GpuEpoch EpochOnGpu(const graph::Graph& g, const GpuOpModel& model, const GpuSpec& gpu,
                    double samples, const GpuNetworkOptions& options);

// The update kernels (GpuNetworkOptions::optimizer) standing for a training run's optimizer:
// "sgd" for sgd, "adam" for the adaptive ones (adam, adamw, adadelta, adagrad, rmsprop: several
// element-wise passes over every tensor), "none" for none. Throws "unknown optimizer 'lbfgs';
// known: ..." (case-insensitive names).
std::string GpuOptimizerOf(const std::string& name);

// One whole-network measurement on a GPU (data/neusight2025/labels.csv, data/h200/models.jsonl).
struct GpuNetworkLabel {
  std::string gpu, model, mode;    // mode: forward | train_step
  std::string arch;                // what LoadGraphArg reads: a config path or a zoo name
  // The Hugging Face class the measurement built (GraphOptions::hf_architecture; empty: the
  // config's): BERT's inference labels are BertForSequenceClassification, its training labels
  // BertForPreTraining, in NeuSight's traces and tools/measure_gpu_reference.py alike.
  std::string hf_architecture;
  std::string optimizer = "none";  // of a training step: none (NeuSight's), sgd (collect's)
  bool tf32 = false;               // cuDNN convolutions may have used TF32 (collect's default)
  std::int64_t seq_len = 0, batch = 0;
  double measured_s = 0;
  double energy_j = 0, mean_power_w = 0;  // where measured (0: not)
  double forward_s = 0, backward_s = 0;   // a training step's two parts, where measured
  std::string source;                     // file:line
};

// labels.csv: gpu, model, mode (forward | fwd_bwd), seq_len, batch, num_layer, e2e_ms, fw_ms,
// bw_ms; or a .jsonl of tools/measure_gpu_reference.py rows ("gpu", "model", "kind" inf|train,
// "seq", "batch", "e2e_latency_ms", "energy_j_per_run", "mean_power_w"); the model's graph is
// the Hugging Face config data/neusight2025/model_configs/<model>.json. Or a .jsonl of `collect
// --architecture` records on a GPU ("device" cuda, "hardware.gpu", "type" the zoo name,
// "batch_size", "mode", "duration_s", "energy_j"; optimizer sgd, TF32 convolutions possible).
// Throws "path:12: ..." for a malformed row.
std::vector<GpuNetworkLabel> LoadGpuNetworkLabels(const std::string& path);

// The glue per kernel that minimises the squared relative error of total = kernels_s + g ·
// kernels over `predicted` (kernels_s, kernels; estimates in stream mode) and `measured`, clamped
// to >= 0.
double FitGlue(const std::vector<GpuNetworkEstimate>& predicted,
               const std::vector<double>& measured_s);

}  // namespace joulecast
