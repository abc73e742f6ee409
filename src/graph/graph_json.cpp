#include "joulecast/graph/graph_json.h"

#include <fmt/format.h>

#include <map>
#include <queue>
#include <stdexcept>

#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast::graph {
namespace {

using nlohmann::json;

[[noreturn]] void Fail(const std::string& where, const std::string& message) {
  throw std::runtime_error(where + ": " + message);
}

std::string Shown(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

Dims ShapeOf(const json& v, const std::string& where, const std::string& field, bool allow_zero) {
  bool ok = v.is_array();
  Dims dims;
  if (ok) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      const json& d = v[i];
      if (d.is_null() && !allow_zero)
        Fail(where, fmt::format("{}: dimension {} is unknown (null); give the per-sample input "
                                "shape with --input (and the batch with -b)",
                                field, i));
      if (!d.is_number_integer() || d.get<std::int64_t>() < (allow_zero ? 0 : 1) ||
          d.get<std::int64_t>() > kMaxSize) {
        ok = false;
        break;
      }
      dims.push_back(d.get<std::int64_t>());
    }
  }
  if (!ok)
    Fail(where, fmt::format("{}: expected an array of {} integers up to 2^53, got {}", field,
                            allow_zero ? "non-negative" : "positive", Shown(v)));
  return dims;
}

std::string StringField(const json& obj, const char* key, const std::string& where,
                        const std::string& field, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) Fail(where, fmt::format("{}: missing field '{}'", field, key));
    return "";
  }
  if (!it->is_string())
    Fail(where, fmt::format("{}.{}: expected a string, got {}", field, key, Shown(*it)));
  return it->get<std::string>();
}

void CheckKeys(const json& obj, std::initializer_list<const char*> known, const std::string& where,
               const std::string& field) {
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* n : known) ok = ok || k == n;
    if (!ok) Fail(where, fmt::format("{}: unknown field '{}'", field, k));
  }
}

DType DTypeField(const json& obj, const std::string& where, const std::string& field) {
  auto it = obj.find("dtype");
  if (it == obj.end()) return DType::kFloat32;
  if (!it->is_string()) Fail(where, fmt::format("{}.dtype: expected a string", field));
  try {
    return ParseDType(it->get<std::string>());
  } catch (const std::exception& e) {
    Fail(where, fmt::format("{}.dtype: {}", field, e.what()));
  }
}

}  // namespace

bool IsGraphJson(const json& j) {
  return j.is_object() && j.contains("kind") && j["kind"] == "joulecast_graph";
}

Graph GraphFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) Fail(where, "expected a JSON object");
  if (!IsGraphJson(j)) Fail(where, "not a joulecast graph (\"kind\": \"joulecast_graph\" missing)");
  CheckKeys(j,
            {"kind", "format_version", "name", "description", "batch", "inputs", "initializers",
             "nodes", "outputs", "macs", "matrix_macs", "flops", "parameters"},
            where, "graph");
  if (!j.contains("format_version") || !j["format_version"].is_number_integer())
    Fail(where, "format_version: expected an integer");
  if (j["format_version"].get<std::int64_t>() != kGraphFormatVersion)
    Fail(where, fmt::format("format_version {} is not supported (this joulecast reads {})",
                            j["format_version"].dump(), kGraphFormatVersion));
  Graph g;
  g.name = StringField(j, "name", where, "graph", false);
  g.description = StringField(j, "description", where, "graph", false);
  for (const char* key : {"inputs", "nodes", "outputs"})
    if (!j.contains(key) || !j[key].is_array())
      Fail(where, fmt::format("{}: expected an array", key));
  if (j["inputs"].empty()) Fail(where, "inputs: expected at least one input");
  std::int64_t batch = -1;
  try {
    for (std::size_t i = 0; i < j["inputs"].size(); ++i) {
      const json& in = j["inputs"][i];
      const std::string field = fmt::format("inputs[{}]", i);
      if (!in.is_object()) Fail(where, field + ": expected an object");
      CheckKeys(in, {"name", "dtype", "shape", "batch_dim"}, where, field);
      const std::string name = StringField(in, "name", where, field, true);
      if (!in.contains("shape")) Fail(where, field + ": missing field 'shape'");
      TensorType t{DTypeField(in, where, field), ShapeOf(in["shape"], where, field + ".shape", false)};
      int batch_dim = 0;
      if (in.contains("batch_dim")) {
        if (!in["batch_dim"].is_number_integer() || in["batch_dim"].get<std::int64_t>() < -1 ||
            in["batch_dim"].get<std::int64_t>() >= static_cast<std::int64_t>(t.dims.size()))
          Fail(where, fmt::format("{}.batch_dim: expected -1 or a dimension of the shape, got {}",
                                  field, Shown(in["batch_dim"])));
        batch_dim = in["batch_dim"].get<int>();
      }
      if (t.dims.empty()) batch_dim = -1;
      if (batch_dim >= 0) {
        if (batch >= 0 && t.dims[batch_dim] != batch)
          Fail(where, fmt::format("{}: batch {} differs from the first input's {}", field,
                                  t.dims[batch_dim], batch));
        batch = t.dims[batch_dim];
      }
      try {
        g.AddInput(name, t, batch_dim);
      } catch (const std::exception& e) {
        Fail(where, field + ": " + e.what());
      }
    }
    // "initializers"; files of the first graph writer named the list "parameters", which
    // inspect --json now uses for the total count.
    const char* list_key = j.contains("initializers")                               ? "initializers"
                           : j.contains("parameters") && j["parameters"].is_array() ? "parameters"
                                                                                    : nullptr;
    if (list_key) {
      if (!j[list_key].is_array()) Fail(where, fmt::format("{}: expected an array", list_key));
      for (std::size_t i = 0; i < j[list_key].size(); ++i) {
        const json& p = j[list_key][i];
        const std::string field = fmt::format("{}[{}]", list_key, i);
        if (!p.is_object()) Fail(where, field + ": expected an object");
        CheckKeys(p, {"name", "dtype", "shape", "buffer"}, where, field);
        const std::string name = StringField(p, "name", where, field, true);
        if (!p.contains("shape")) Fail(where, field + ": missing field 'shape'");
        TensorType t{DTypeField(p, where, field), ShapeOf(p["shape"], where, field + ".shape", true)};
        bool buffer = false;
        if (p.contains("buffer")) {
          if (!p["buffer"].is_boolean()) Fail(where, field + ".buffer: expected true or false");
          buffer = p["buffer"].get<bool>();
        }
        if (g.FindValue(name) >= 0) Fail(where, fmt::format("{}: duplicate name '{}'", field, name));
        g.AddParameter(name, t, buffer);
      }
    }
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    if (m.rfind(where + ": ", 0) == 0) throw;
    Fail(where, m);
  }

  // Nodes: validate fields, then sort topologically by the names their inputs use.
  const json& nodes = j["nodes"];
  struct Pending {
    std::string name, op, scope;
    std::vector<std::string> inputs;  // "" for null
    std::vector<std::string> outputs;
    const json* attrs = nullptr;
  };
  std::vector<Pending> pending(nodes.size());
  std::map<std::string, std::size_t> producer;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const json& n = nodes[i];
    std::string field = fmt::format("nodes[{}]", i);
    if (!n.is_object()) Fail(where, field + ": expected an object");
    CheckKeys(n,
              {"name", "op", "scope", "inputs", "outputs", "attrs", "type", "cost", "input_shapes",
               "output_shape", "output_shapes", "macs", "matrix_macs", "parameters", "flops"},
              where, field);
    Pending& p = pending[i];
    p.name = StringField(n, "name", where, field, true);
    field += " (" + p.name + ")";
    p.op = StringField(n, "op", where, field, true);
    p.scope = StringField(n, "scope", where, field, false);
    if (!n.contains("inputs") || !n["inputs"].is_array())
      Fail(where, field + ".inputs: expected an array of value names");
    for (const json& in : n["inputs"]) {
      if (in.is_null()) {
        p.inputs.emplace_back();
      } else if (in.is_string() && !in.get<std::string>().empty()) {
        p.inputs.push_back(in.get<std::string>());
      } else {
        Fail(where, fmt::format("{}.inputs: expected value names or null, got {}", field,
                                Shown(in)));
      }
    }
    if (n.contains("outputs")) {
      if (!n["outputs"].is_array() || n["outputs"].empty())
        Fail(where, field + ".outputs: expected a non-empty array of names");
      for (const json& o : n["outputs"]) {
        if (!o.is_string() || o.get<std::string>().empty())
          Fail(where, fmt::format("{}.outputs: expected names, got {}", field, Shown(o)));
        p.outputs.push_back(o.get<std::string>());
      }
    } else {
      p.outputs.push_back(p.name);
    }
    for (const std::string& o : p.outputs) {
      if (producer.count(o) || g.FindValue(o) >= 0)
        Fail(where, fmt::format("{}: value name '{}' is defined twice", field, o));
      producer[o] = i;
    }
    p.attrs = n.contains("attrs") ? &n["attrs"] : nullptr;
  }
  // Kahn's algorithm, keeping file order among ready nodes.
  std::vector<int> missing(pending.size(), 0);
  std::vector<std::vector<std::size_t>> users(pending.size());
  for (std::size_t i = 0; i < pending.size(); ++i) {
    for (const std::string& in : pending[i].inputs) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it != producer.end()) {
        ++missing[i];
        users[it->second].push_back(i);
      } else if (g.FindValue(in) < 0) {
        Fail(where, fmt::format("nodes[{}] ({}): input '{}' is not an input, parameter or node "
                                "output",
                                i, pending[i].name, in));
      }
    }
  }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < pending.size(); ++i)
    if (missing[i] == 0) ready.push(i);
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    const std::size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (std::size_t u : users[i])
      if (--missing[u] == 0) ready.push(u);
  }
  if (order.size() != pending.size()) {
    std::string names;
    int shown = 0;
    for (std::size_t i = 0; i < pending.size() && shown < 5; ++i)
      if (missing[i] > 0) {
        names += (shown++ ? ", " : "") + pending[i].name;
      }
    Fail(where, "cycle through nodes " + names);
  }
  for (std::size_t i : order) {
    const Pending& p = pending[i];
    const std::string field = fmt::format("nodes[{}] ({})", i, p.name);
    const OpSchema* schema = FindOp(p.op);
    if (!schema) {
      try {
        GetOp(p.op);
      } catch (const std::exception& e) {
        Fail(where, field + ": " + e.what());
      }
    }
    Attributes attrs;
    std::vector<ValueId> inputs;
    try {
      attrs = AttributesFromJson(*schema, p.attrs ? *p.attrs : json::object());
      for (const std::string& in : p.inputs) inputs.push_back(in.empty() ? kNoValue : g.FindValue(in));
      g.AddNode(p.op, std::move(attrs), inputs, p.scope, p.name,
                static_cast<int>(p.outputs.size()), p.outputs);
    } catch (const std::exception& e) {
      Fail(where, field + ": " + e.what());
    }
  }
  for (std::size_t i = 0; i < j["outputs"].size(); ++i) {
    const json& o = j["outputs"][i];
    if (!o.is_string() || g.FindValue(o.get<std::string>()) < 0)
      Fail(where, fmt::format("outputs[{}]: {} is not a value of the graph", i, Shown(o)));
    g.MarkOutput(g.FindValue(o.get<std::string>()));
  }
  if (j.contains("batch")) {
    if (!j["batch"].is_number_integer() || j["batch"].get<std::int64_t>() < 1)
      Fail(where, fmt::format("batch: expected a positive integer, got {}", Shown(j["batch"])));
    if (batch >= 0 && j["batch"].get<std::int64_t>() != batch)
      Fail(where, fmt::format("batch {} differs from the inputs' batch dimension {}",
                              j["batch"].get<std::int64_t>(), batch));
  }
  if (batch >= 0) g.SetBatch(batch);
  try {
    InferShapes(g);
  } catch (const std::exception& e) {
    Fail(where, e.what());
  }
  return g;
}

json GraphToJson(const Graph& g, bool annotate) {
  json j = {{"kind", "joulecast_graph"}, {"format_version", kGraphFormatVersion}, {"name", g.name}};
  if (!g.description.empty()) j["description"] = g.description;
  j["batch"] = g.batch();
  j["inputs"] = json::array();
  for (ValueId v : g.inputs()) {
    const Value& in = g.value(v);
    j["inputs"].push_back({{"name", in.name},
                           {"dtype", DTypeName(in.type.dtype)},
                           {"shape", in.type.dims},
                           {"batch_dim", in.batch_dim}});
  }
  j["initializers"] = json::array();
  for (const Value& v : g.values()) {
    if (v.role != ValueRole::kParameter && v.role != ValueRole::kBuffer) continue;
    json p = {{"name", v.name}, {"shape", v.type.dims}};
    if (v.type.dtype != DType::kFloat32) p["dtype"] = DTypeName(v.type.dtype);
    if (v.role == ValueRole::kBuffer) p["buffer"] = true;
    j["initializers"].push_back(std::move(p));
  }
  std::vector<NodeCounts> counts;
  if (annotate) counts = CountNodes(g);
  j["nodes"] = json::array();
  for (NodeId n = 0; n < static_cast<NodeId>(g.nodes().size()); ++n) {
    const Node& node = g.node(n);
    json jn = {{"name", node.name}, {"op", node.op}};
    if (!node.scope.empty()) jn["scope"] = node.scope;
    jn["inputs"] = json::array();
    for (ValueId v : node.inputs) {
      if (v == kNoValue) jn["inputs"].push_back(nullptr);
      else jn["inputs"].push_back(g.value(v).name);
    }
    const bool default_outputs = node.outputs.size() == 1 && g.value(node.outputs[0]).name == node.name;
    if (!default_outputs) {
      jn["outputs"] = json::array();
      for (ValueId v : node.outputs) jn["outputs"].push_back(g.value(v).name);
    }
    // Only attributes that differ from the schema's defaults, to keep files small.
    Attributes shown;
    for (const auto& [name, value] : node.attrs.values()) {
      bool is_default = false;
      for (const AttrSpec& a : node.schema->attrs)
        if (a.name == name && a.default_value && *a.default_value == value) is_default = true;
      if (!is_default) shown.Set(name, value);
    }
    if (!shown.values().empty()) jn["attrs"] = AttributesToJson(shown);
    if (annotate) {
      jn["type"] = node.schema->type;
      jn["cost"] = CostClassName(node.schema->cost);
      jn["input_shapes"] = json::array();
      for (ValueId v : node.inputs) {
        if (v == kNoValue) jn["input_shapes"].push_back(nullptr);
        else jn["input_shapes"].push_back(g.value(v).type.dims);
      }
      jn["output_shape"] = g.value(node.outputs[0]).type.dims;
      if (node.outputs.size() > 1) {
        jn["output_shapes"] = json::array();
        for (ValueId v : node.outputs) jn["output_shapes"].push_back(g.value(v).type.dims);
      }
      jn["macs"] = counts[n].macs;
      jn["matrix_macs"] = counts[n].matrix_macs;
      jn["parameters"] = counts[n].parameters;
    }
    j["nodes"].push_back(std::move(jn));
  }
  j["outputs"] = json::array();
  for (ValueId v : g.outputs()) j["outputs"].push_back(g.value(v).name);
  return j;
}

}  // namespace joulecast::graph
