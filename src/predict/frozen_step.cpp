#include "joulecast/predict/frozen_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/gpu_network.h"
#include "joulecast/predict/gpu_op_model.h"

namespace joulecast {
namespace {

double WorkOfKernels(const std::vector<graph::GpuKernel>& ks) {
  double w = 0;
  for (const graph::GpuKernel& k : ks) {
    const GpuOpWork work = WorkOf(GpuOpCall{k.op, k.sizes});
    w += std::max(work.flops, work.bytes);
  }
  return w;
}

// Σ f_n or f_n + (t_n − f_n)·k_n over the nodes, with `needs` from NeedsGradient.
double Rule(const graph::Graph& g, const NetworkEstimate& fwd, const NetworkEstimate& train,
            const std::vector<graph::GpuForm>& forms, const std::vector<bool>& needs,
            std::size_t* forward_only, std::size_t* partial) {
  double total = 0;
  for (std::size_t n = 0; n < g.nodes().size(); ++n) {
    const graph::Node& node = g.node(static_cast<graph::NodeId>(n));
    const double f = fwd.layers[n].value, t = train.layers[n].value;
    bool out_needs = false;
    for (graph::ValueId o : node.outputs) out_needs = out_needs || needs[o];
    if (!out_needs) {
      total += f;
      if (forward_only) ++*forward_only;
      continue;
    }
    double kept = 0, all = 0;
    for (std::size_t i = 0; i < node.inputs.size() && i < forms[n].grads.size(); ++i) {
      const graph::ValueId v = node.inputs[i];
      if (v == graph::kNoValue || !graph::IsFloating(g.value(v).type.dtype)) continue;
      const double w = WorkOfKernels(forms[n].grads[i]);
      all += w;
      if (needs[v]) kept += w;
    }
    const double k = all > 0 ? kept / all : 1.0;
    if (k < 1 && partial) ++*partial;
    total += f + (t - f) * k;
  }
  return total;
}

}  // namespace

FrozenStepEstimate EstimateFrozenStep(const Profile& profile, const graph::Graph& g,
                                      const std::vector<std::string>& frozen,
                                      const std::string& where) {
  for (const char* m : {"forward", "train_step"}) {
    if (!profile.HasMode(m)) {
      throw std::runtime_error(fmt::format(
          "{} has no {} predictors: a frozen step needs forward and train_step", where, m));
    }
  }
  Profile fp = profile, tp = profile;
  fp.SelectMode("forward", where);
  tp.SelectMode("train_step", where);
  const NetworkEstimate fwd = EstimateGraph(fp, g), train = EstimateGraph(tp, g);
  std::vector<graph::GpuForm> forms(g.nodes().size());
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(g.nodes().size()); ++n)
    forms[n] = graph::GpuFormOf(*g.node(n).schema, graph::MakeCall(g, n));
  FrozenStepEstimate e;
  e.name = g.name;
  e.target = profile.target;
  e.frozen = frozen;
  e.plain_sum = train.total;
  e.full = Rule(g, fwd, train, forms, NeedsGradient(g, {}), nullptr, nullptr);
  const std::vector<bool> needs = NeedsGradient(g, frozen);
  e.step = Rule(g, fwd, train, forms, needs, &e.forward_only_nodes, &e.partial_nodes);
  for (std::size_t v = 0; v < g.values().size(); ++v) {
    if (g.values()[v].role != graph::ValueRole::kParameter) continue;
    e.parameters += g.values()[v].type.elements();
    if (needs[v]) e.trainable_parameters += g.values()[v].type.elements();
  }
  return e;
}

nlohmann::json FrozenStepEstimate::ToJson() const {
  const std::string u = target == "energy_j" ? "j" : "s";
  return {{"name", name},
          {"target", target},
          {"mode", "train_step"},
          {"frozen", frozen},
          {"total_" + u, step},
          {"full_step_" + u, full},
          {"plain_sum_" + u, plain_sum},
          {"saving", saving()},
          {"forward_only_nodes", forward_only_nodes},
          {"partial_nodes", partial_nodes},
          {"trainable_parameters", trainable_parameters},
          {"parameters", parameters}};
}

}  // namespace joulecast
