// BatchPredictor::GraphTotals: operator graphs through the resolver, shared layers predicted once.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/batch_predictor.h"
#include "joulecast/predict/resolver.h"

namespace joulecast {

std::vector<double> BatchPredictor::GraphTotals(const std::vector<graph::Graph>& graphs) const {
  const Resolver resolver(profile());
  struct Rows {
    std::vector<LayerInstance> layers;
    std::vector<std::int64_t> batches;
    std::unordered_map<std::string, std::size_t> index;  // layer key -> row
  };
  std::map<const LayerPredictor*, Rows> rows;
  // Per graph, the (predictor, row) of each predicted node, in node order.
  std::vector<std::vector<std::pair<const LayerPredictor*, std::size_t>>> uses(graphs.size());
  for (std::size_t i = 0; i < graphs.size(); ++i) {
    const graph::Graph& g = graphs[i];
    for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(g.nodes().size()); ++n) {
      Resolution r;
      try {
        r = resolver.Resolve(g.node(n), graph::MakeCall(g, n));
      } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("graphs[{}] ({}): {}: {}", i, g.name,
                                             graph::NodeLabel(g.node(n)), e.what()));
      }
      if (!r.predictor) continue;
      Rows& rs = rows[r.predictor];
      std::string key = fmt::format("{}|{}|{}|{}|{}", r.layer.type, r.layer.params.dump(),
                                    fmt::join(r.layer.input_shape, "x"),
                                    fmt::join(r.layer.output_shape, "x"), r.batch);
      auto [it, fresh] = rs.index.try_emplace(std::move(key), rs.layers.size());
      if (fresh) {
        rs.layers.push_back(std::move(r.layer));
        rs.batches.push_back(r.batch);
      }
      uses[i].emplace_back(r.predictor, it->second);
    }
  }
  std::map<const LayerPredictor*, std::vector<double>> values;
  for (auto& [p, rs] : rows) {
    std::vector<const LayerInstance*> ptrs;
    for (const LayerInstance& l : rs.layers) ptrs.push_back(&l);
    try {
      values[p] = p->PredictMany(ptrs, rs.batches);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(e.what());
    }
  }
  std::vector<double> totals(graphs.size(), 0.0);
  for (std::size_t i = 0; i < graphs.size(); ++i)
    for (const auto& [p, row] : uses[i]) totals[i] += values[p][row];
  return totals;
}

}  // namespace joulecast
