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

struct Parts {
  const NetworkEstimate& fwd;
  const NetworkEstimate& input_grad;
  const NetworkEstimate& train;
};

struct RuleCounts {
  std::size_t forward_only = 0, partial = 0, derived = 0;
};

// The header's rule summed over the nodes, with `needs` from NeedsGradient.
double Rule(const graph::Graph& g, const Parts& parts, const std::vector<graph::GpuForm>& forms,
            const std::vector<bool>& needs, RuleCounts* counts) {
  double total = 0;
  for (std::size_t n = 0; n < g.nodes().size(); ++n) {
    const graph::Node& node = g.node(static_cast<graph::NodeId>(n));
    const double f = parts.fwd.layers[n].value, t = parts.train.layers[n].value;
    bool out_needs = false;
    for (graph::ValueId o : node.outputs) out_needs = out_needs || needs[o];
    if (!out_needs) {
      total += f;
      ++counts->forward_only;
      continue;
    }
    // Work of the gradient kernels, and the inputs counted, kept and in all: activations, then
    // parameters.
    double kept[2] = {0, 0}, all[2] = {0, 0};
    int kept_n[2] = {0, 0}, all_n[2] = {0, 0};
    for (std::size_t i = 0; i < node.inputs.size() && i < forms[n].grads.size(); ++i) {
      const graph::ValueId v = node.inputs[i];
      // Buffers (running statistics) never get a gradient, frozen or not.
      if (v == graph::kNoValue || !graph::IsFloating(g.value(v).type.dtype) ||
          g.value(v).role == graph::ValueRole::kBuffer)
        continue;
      const int k = g.value(v).role == graph::ValueRole::kParameter ? 1 : 0;
      const double w = WorkOfKernels(forms[n].grads[i]);
      all[k] += w;
      ++all_n[k];
      if (needs[v]) {
        kept[k] += w;
        ++kept_n[k];
      }
    }
    // A form whose gradient kernels carry no work for these inputs (batch_norm's element-wise
    // proxy) shares by count.
    const auto share = [&](int k) {
      if (all[k] > 0) return kept[k] / all[k];
      return all_n[k] > 0 ? static_cast<double>(kept_n[k]) / all_n[k] : 0.0;
    };
    const double a = share(0);
    if (all_n[1] == 0) {
      if (a < 1) ++counts->partial;
      total += f + (t - f) * (all_n[0] > 0 ? a : 1.0);
      continue;
    }
    double gi = parts.input_grad.layers[n].value;
    if (!parts.input_grad.layers[n].modelled()) {
      gi = f + (t - f) * (all[0] + all[1] > 0 ? all[0] / (all[0] + all[1]) : 0.5);
      ++counts->derived;
    }
    // Predicted separately, the parts can cross; measured, forward <= input_grad <= train_step.
    gi = std::clamp(gi, f, std::max(f, t));
    const double p = share(1);
    if (a < 1 || p < 1) ++counts->partial;
    total += f + (gi - f) * a + (t - gi) * p;
  }
  return total;
}

}  // namespace

FrozenStepEstimate EstimateFrozenStep(const Profile& profile, const graph::Graph& g,
                                      const std::vector<std::string>& frozen,
                                      const std::string& where) {
  for (const char* m : {"forward", "train_step", "input_grad"}) {
    if (!profile.HasMode(m)) {
      throw std::runtime_error(fmt::format(
          "{} has no {} predictors: a frozen step needs an operator's step split into forward "
          "(collect --mode forward), input gradient (--mode input_grad) and weight gradient "
          "(--mode train_step) parts",
          where, m));
    }
  }
  Profile fp = profile, ip = profile, tp = profile;
  fp.SelectMode("forward", where);
  ip.SelectMode("input_grad", where);
  tp.SelectMode("train_step", where);
  const NetworkEstimate fwd = EstimateGraph(fp, g), input_grad = EstimateGraph(ip, g),
                        train = EstimateGraph(tp, g);
  const Parts parts{fwd, input_grad, train};
  std::vector<graph::GpuForm> forms(g.nodes().size());
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(g.nodes().size()); ++n)
    forms[n] = graph::GpuFormOf(*g.node(n).schema, graph::MakeCall(g, n));
  FrozenStepEstimate e;
  e.name = g.name;
  e.target = profile.target;
  e.frozen = frozen;
  e.plain_sum = train.total;
  RuleCounts full_counts, counts;
  e.full = Rule(g, parts, forms, NeedsGradient(g, {}), &full_counts);
  const std::vector<bool> needs = NeedsGradient(g, frozen);
  e.step = Rule(g, parts, forms, needs, &counts);
  e.forward_only_nodes = counts.forward_only;
  e.partial_nodes = counts.partial;
  e.derived_nodes = counts.derived;
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
          {"derived_nodes", derived_nodes},
          {"trainable_parameters", trainable_parameters},
          {"parameters", parameters}};
}

}  // namespace joulecast
