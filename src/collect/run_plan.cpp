#include "joulecast/collect/run_plan.h"

#include <stdexcept>
#include <string>
#include <variant>

#include "joulecast/graph/attributes.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast {
namespace {

using nlohmann::json;

const char* RoleName(graph::ValueRole r) {
  switch (r) {
    case graph::ValueRole::kInput:
      return "input";
    case graph::ValueRole::kParameter:
      return "parameter";
    case graph::ValueRole::kBuffer:
      return "buffer";
    case graph::ValueRole::kActivation:
      return "activation";
  }
  return "activation";
}

json AttrJson(const graph::AttrValue& v, std::int64_t batch) {
  return std::visit(
      [batch](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, graph::SymInts>) {
          return x.Resolve(batch);
        } else {
          return x;
        }
      },
      v);
}

}  // namespace

json RunPlan(const graph::Graph& g) {
  json values = json::array();
  for (const graph::Value& v : g.values()) {
    if (v.role == graph::ValueRole::kActivation && v.producer < 0)
      throw std::runtime_error("RunPlan: value '" + v.name + "' has no producer");
    values.push_back({{"name", v.name},
                      {"shape", v.type.dims},
                      {"dtype", graph::DTypeName(v.type.dtype)},
                      {"role", RoleName(v.role)}});
  }
  json nodes = json::array();
  for (const graph::Node& n : g.nodes()) {
    json attrs = json::object();
    for (const auto& [name, value] : n.attrs.values()) attrs[name] = AttrJson(value, g.batch());
    nodes.push_back({{"name", n.name},
                     {"op", n.op},
                     {"inputs", n.inputs},
                     {"outputs", n.outputs},
                     {"attrs", std::move(attrs)}});
  }
  const std::vector<graph::NodeCounts> counts = graph::CountNodes(g);
  const graph::NodeCounts total = graph::TotalCounts(g, counts);
  return {{"values", std::move(values)},
          {"nodes", std::move(nodes)},
          {"outputs", g.outputs()},
          {"macs", total.macs}};
}

}  // namespace joulecast
