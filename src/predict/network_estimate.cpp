#include "joulecast/predict/network_estimate.h"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

#include "joulecast/frontends/tree_lowering.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/resolver.h"

namespace joulecast {

NetworkEstimate EstimateGraph(const Profile& profile, const graph::Graph& g) {
  NetworkEstimate est;
  est.name = g.name;
  est.target = profile.target;
  est.mode = profile.mode;
  est.batch_size = g.batch();
  if (!g.inputs().empty()) {
    const graph::Value& in = g.value(g.inputs()[0]);
    est.input = in.type.dims;
    if (in.batch_dim >= 0) est.input.erase(est.input.begin() + in.batch_dim);
  }
  const std::vector<graph::NodeCounts> counts = graph::CountNodes(g);
  const Resolver resolver(profile);
  std::vector<Resolution> res(g.nodes().size());
  // Batch the predictions per predictor: one feature matrix per predictor is far faster than one
  // call per layer.
  std::map<const LayerPredictor*, std::vector<std::size_t>> by_predictor;
  est.layers.resize(g.nodes().size());
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(g.nodes().size()); ++n) {
    const graph::Node& node = g.node(n);
    const graph::OpCall call = graph::MakeCall(g, n);
    try {
      res[n] = resolver.Resolve(node, call);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}: {}: {}", g.name, graph::NodeLabel(node), e.what()));
    }
    LayerEstimate& le = est.layers[n];
    le.op = node.op;
    le.scope = node.scope;
    le.method = res[n].method;
    // The node as the layer it stands for (its form), even when a fallback predicts it.
    const graph::LayerForm form = graph::LayerFormOf(*node.schema, call);
    std::int64_t unused = 1;
    le.layer = ToLayerInstance(form, node.name, &unused);
    le.layer.call = CallKind::kModule;
    le.counts.macs = counts[n].macs;
    le.counts.parameters = counts[n].parameters;
    le.counts.input_elements = call.has(0) ? call.in(0).elements() : 0;
    le.counts.output_elements = call.outputs.empty() ? 0 : call.outputs[0].elements();
    le.matrix_macs = counts[n].matrix_macs;
    for (const graph::TensorType* t : call.inputs) le.input_shapes.push_back(t ? t->dims : Shape{});
    if (!call.outputs.empty()) le.output_shape = call.outputs[0].dims;
    if (res[n].predictor) by_predictor[res[n].predictor].push_back(n);
  }
  for (const auto& [p, idx] : by_predictor) {
    std::vector<const LayerInstance*> ptrs;
    std::vector<std::int64_t> batches;
    for (std::size_t i : idx) {
      ptrs.push_back(&res[i].layer);
      batches.push_back(res[i].batch);
    }
    std::vector<double> v;
    try {
      v = p->PredictMany(ptrs, batches);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}: {}", g.name, e.what()));
    }
    for (std::size_t j = 0; j < idx.size(); ++j) est.layers[idx[j]].value = v[j];
    if (p->baseline_per_unit <= 0) {
      est.baseline_total = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    for (std::size_t j = 0; j < idx.size(); ++j)
      est.baseline_total += p->PredictBaseline(*ptrs[j], batches[j]);
  }
  for (const auto& le : est.layers) {
    TypeTotal& tt = est.by_type[le.layer.type];
    ++tt.count;
    tt.value += le.value;
    tt.macs += le.counts.macs;
    est.total += le.value;
    est.macs += le.counts.macs;
    est.matrix_macs += le.matrix_macs;
    if (!le.modelled()) {
      ++est.unmodelled_layers;
      est.unmodelled_macs += le.counts.macs;
      est.unmodelled_value += le.value;
      FallbackTotal& f = est.unmodelled_by_op[le.op];
      if (f.nodes++ == 0) f.method = le.method;
      f.value += le.value;
    }
  }
  est.parameters = g.ParameterCount();
  return est;
}

NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch) {
  return EstimateGraph(profile, LowerArchitecture(arch, batch, arch.input));
}

NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch, const Shape& input) {
  return EstimateGraph(profile, LowerArchitecture(arch, batch, input));
}

nlohmann::json NetworkEstimate::ToJson(bool per_layer) const {
  const bool energy = target == "energy_j";
  const std::string unit = energy ? "j" : "s";
  nlohmann::json j = {{"name", name},
                      {"target", target},
                      {"mode", mode},
                      {"batch_size", batch_size},
                      {"input", input},
                      {"total_" + unit, total},
                      {"per_sample_" + unit, total / double(batch_size)},
                      {"macs", macs},
                      {"matrix_macs", matrix_macs},
                      {"parameters", parameters},
                      {"nodes", layers.size()}};
  j["by_type"] = nlohmann::json::object();
  for (const auto& [type, tt] : by_type) {
    j["by_type"][type] = {{"count", tt.count},
                          {unit, tt.value},
                          {"share", total > 0 ? tt.value / total : 0.0},
                          {"macs", tt.macs}};
  }
  nlohmann::json by_op = nlohmann::json::object();
  for (const auto& [op, f] : unmodelled_by_op) {
    by_op[op] = {{"nodes", f.nodes},
                 {"share", total > 0 ? f.value / total : 0.0},
                 {"method", f.method}};
  }
  j["unmodelled"] = {{"layers", unmodelled_layers},
                     {"macs_share", macs > 0 ? unmodelled_macs / macs : 0.0},
                     {"share", total > 0 ? unmodelled_value / total : 0.0},
                     {"by_op", by_op}};
  if (per_layer) {
    j["layers"] = nlohmann::json::array();
    for (const auto& le : layers) {
      j["layers"].push_back({{"name", le.layer.name},
                             {"scope", le.scope},
                             {"op", le.op},
                             {"type", le.layer.type},
                             {"output_shape", le.layer.output_shape},
                             {"macs", le.counts.macs},
                             {unit, le.value},
                             {"share", total > 0 ? le.value / total : 0.0},
                             {"method", le.method}});
    }
  }
  return j;
}

}  // namespace joulecast
