// Whole-network totals for many networks at once (architecture search): the same number as
// EstimateGraph(profile, graph).total (predict/network_estimate.h) for each, without the per-node
// breakdown, at a small fraction of its cost.
//
// What is computed: every node of the operator graph (an architecture tree is lowered first by
// LowerArchitecture, frontends/tree_lowering.h) is resolved by the one Resolver
// (predict/resolver.h) to a predictor and the layer it sees, or to nothing (views, "none"); a
// predictor gives
//   value = exp( trend(z) + Σ_i a_i·exp(-γ·||z - x_i||²) ) · Normaliser(layer, batch),
//   z = (features(layer, batch) - mean) / scale
// (layer_predictor.h, trend_kernel_ridge.h), and the total is the sum of the values in node
// order, in the profile's target unit per forward pass of the whole batch (J or s).
//
// How it is fast (bench/predict/batch_predictor_bench.cpp): what the resolver answers for a node
// depends only on its signature (operator, attributes, input types, batch), so each distinct
// signature is resolved once per call and part, found again by a hash of the node without
// building anything; each distinct layer of a predictor is predicted once; and the layers of
// each predictor are predicted together in one matrix (Eigen). A tree is not lowered whole: each
// distinct leaf or Concat (with its input shape) is lowered alone once, and a tree's total is the
// sum of its units' node costs (batch_predictor.cpp says why that is the same sum). What a call
// resolved is kept for later calls (Total, Totals and GraphTotals share it): a search's next
// generation finds most of its units and layers known. The store is bounded (dropped past 2^16
// units and signatures per part) and dropped after a failed call. Results agree with
// EstimateGraph to round-off, tested to 1e-9.
// Throughput: see the README's Benchmarks section.
//
// Errors (std::runtime_error): exactly what EstimateNetwork / EstimateGraph throw for the first
// network that fails, prefixed by its position and name: "architectures[3] (resnet50-x):
// layer1.0 (Residual): body output ... does not match ...", "graphs[0] (g): ..."; "batch size
// must be >= 1, got 0" and "threads must be >= 0, got -1". Total throws EstimateNetwork's error
// unprefixed.
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
  // The profile is copied.
  explicit BatchPredictor(const Profile& profile);
  ~BatchPredictor();
  BatchPredictor(BatchPredictor&&) noexcept;
  BatchPredictor& operator=(BatchPredictor&&) noexcept;

  const Profile& profile() const;
  // HardwareMismatch(profile, HostFingerprint()) (predict/hardware.h), computed once here: the line
  // to show when the profile was measured on a CPU other than this machine's; nullopt otherwise.
  std::optional<std::string> hardware_warning() const;

  // EstimateNetwork(profile(), arch, batch_size).total. Concurrent calls work: a call that finds
  // the kept store in use works alone, with a fresh one.
  double Total(const Architecture& arch, std::int64_t batch_size) const;
  // One total per architecture, in order. `threads` >= 1 splits the list into that many
  // contiguous parts evaluated in parallel (part p de-duplicates its own rows, in the p-th kept
  // store); 0 means std::thread::hardware_concurrency().
  std::vector<double> Totals(const std::vector<Architecture>& archs, std::int64_t batch_size,
                             int threads = 1) const;

  // What one call did (for benchmarks), added to *stats: nodes walked, distinct tree units
  // lowered (Totals), distinct node signatures resolved, and layers predicted after
  // de-duplication (summed over parts; what earlier calls kept is not lowered, resolved or
  // predicted again).
  struct Stats {
    std::size_t operations = 0;
    std::size_t units = 0;
    std::size_t signatures = 0;
    std::size_t distinct_rows = 0;
  };
  std::vector<double> Totals(const std::vector<Architecture>& archs, std::int64_t batch_size,
                             int threads, Stats* stats) const;

  // Operator graphs from any reader (frontends/load_graph.h), each at its own batch with shapes
  // inferred: EstimateGraph(profile(), g).total for each. `threads` as for Totals.
  std::vector<double> GraphTotals(const std::vector<graph::Graph>& graphs, int threads = 1,
                                  Stats* stats = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace joulecast
