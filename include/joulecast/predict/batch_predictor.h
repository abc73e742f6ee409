// Whole-network totals for many architectures at once (architecture search): the same number as
// EstimateNetwork(profile, arch, batch).total, without the per-layer breakdown, at a small fraction
// of its cost.
//
// What is computed: for every operation of InferOperations(arch) (module calls, repeats,
// functional layers, Add and Cat), the profile's predictor for its type, or the fallbacks of
// network_estimate.h ("zero", "per-element:T", "none"), gives
//   value = exp( trend(z) + Σ_i a_i·exp(-γ·||z - x_i||²) ) · Normaliser(layer, batch),
//   z = (features(layer, batch) - mean) / scale
// (layer_predictor.h, trend_kernel_ridge.h), and the total is the sum of the values in operation
// order, in the profile's target unit per forward pass of the whole batch (J or s).
//
// How it is fast (bench/predict/batch_predictor_bench.cpp):
//  - the architecture tree is walked without building LayerInstances: parameters are read
//    straight from the parsed JSON, shapes live in fixed arrays, and no JSON is created;
//  - feature rows are de-duplicated per predictor across all operations of all architectures of
//    one Totals() call (a ResNet repeats identical blocks; candidates of a search share layers), so
//    each distinct row is predicted once;
//  - the rows of each predictor are predicted together in one KernelRidge::Predict call (Eigen).
// Results agree with EstimateNetwork to round-off (the rows go through Predict as one matrix, not
// one at a time), tested to 1e-9. Throughput on the 2-core development machine, ResNet50-sized
// candidates: see the README's Benchmarks section (bench/predict/batch_predictor_bench.cpp).
//
// The fast walk accepts layers in the parser's normalised form (every argument present, sizes as
// [h, w]; ParseArchitecture, LoadZooArchitecture and ParseArchitecture(ToJson(a)) give it). An
// architecture it does not accept (arguments left out, an unknown layer type, a shape error, a
// feature recipe it does not know) is evaluated by EstimateNetwork itself, which gives the total or
// throws its error; so the result and the errors are always EstimateNetwork's.
//
// Errors (std::runtime_error): Total throws exactly what EstimateNetwork throws ("batch size must
// be >= 1, got 0", shape errors naming the layer); Totals prefixes the architecture's position and
// name: "architectures[3] (resnet50-x): layer1.0 (Residual): body output ... does not match ...",
// and throws "threads must be >= 0, got -1".
// Thread safety: the const methods may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/graph/graph.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

class BatchPredictor {
 public:
  // Resolves, per layer type, its predictor or fallback and feature recipe. The profile is copied.
  explicit BatchPredictor(const Profile& profile);
  ~BatchPredictor();
  BatchPredictor(BatchPredictor&&) noexcept;
  BatchPredictor& operator=(BatchPredictor&&) noexcept;

  const Profile& profile() const;
  // HardwareMismatch(profile, HostFingerprint()) (predict/hardware.h), computed once here: the line
  // to show when the profile was measured on a CPU other than this machine's; nullopt otherwise.
  std::optional<std::string> hardware_warning() const;

  // EstimateNetwork(profile(), arch, batch_size).total.
  double Total(const Architecture& arch, std::int64_t batch_size) const;
  // One total per architecture, in order. `threads` >= 1 splits the list into that many
  // contiguous parts evaluated in parallel (each part de-duplicates its own rows); 0 means
  // std::thread::hardware_concurrency().
  std::vector<double> Totals(const std::vector<Architecture>& archs, std::int64_t batch_size,
                             int threads = 1) const;

  // What one Totals() call did (for benchmarks): operations walked, rows predicted after
  // de-duplication, architectures that needed EstimateNetwork.
  struct Stats {
    std::size_t operations = 0;
    std::size_t distinct_rows = 0;
    std::size_t slow_path = 0;
  };
  std::vector<double> Totals(const std::vector<Architecture>& archs, std::int64_t batch_size,
                             int threads, Stats* stats) const;

  // Operator graphs from any reader (frontends/load_graph.h), each at its own batch and shapes
  // inferred: EstimateGraph(profile(), g).total for each, through the same resolver
  // (predict/resolver.h), with the layers that the graphs share (same predictor, layer and
  // batch) predicted once. Errors are EstimateGraph's, prefixed "graphs[i] (name): ".
  std::vector<double> GraphTotals(const std::vector<graph::Graph>& graphs) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace joulecast
