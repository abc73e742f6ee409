#include "joulecast/graph/batch_merge.h"

#include <stdexcept>
#include <string>
#include <variant>

namespace joulecast::graph {

bool MergeBatch(Graph& a, const Graph& c, std::int64_t b) {
  if (a.nodes().size() != c.nodes().size() || a.values().size() != c.values().size()) return false;
  for (std::size_t n = 0; n < a.nodes().size(); ++n) {
    const Node& x = a.nodes()[n];
    const Node& y = c.nodes()[n];
    if (x.op != y.op || x.name != y.name || x.inputs != y.inputs || x.outputs != y.outputs)
      return false;
  }
  for (std::size_t n = 0; n < a.nodes().size(); ++n) {
    Node& x = a.node(static_cast<NodeId>(n));
    const Node& y = c.nodes()[n];
    for (const auto& [name, value] : x.attrs.values()) {
      const AttrValue& other = y.attrs.Get(name);
      if (value == other) continue;
      const std::string label = NodeLabel(x);
      if (!std::holds_alternative<SymInts>(value) || !std::holds_alternative<SymInts>(other)) {
        throw std::runtime_error(label + ": attribute '" + name +
                                 "' depends on the batch size in a way the graph cannot express");
      }
      SymInts s = std::get<SymInts>(value);
      const SymInts& t = std::get<SymInts>(other);
      int index = -1;
      for (std::size_t i = 0; i < s.values.size() && s.values.size() == t.values.size(); ++i) {
        if (s.values[i] == t.values[i]) continue;
        const std::int64_t k = t.values[i] - s.values[i];
        if (index >= 0 || k <= 0 || s.values[i] != k * b) {
          index = -2;
          break;
        }
        index = static_cast<int>(i);
      }
      if (index < 0) {
        throw std::runtime_error(label + ": attribute '" + name +
                                 "' depends on the batch size other than as one multiple of it");
      }
      s.values[index] /= b;
      s.batch_index = index;
      x.attrs.Set(name, s);
    }
  }
  return true;
}

}  // namespace joulecast::graph
