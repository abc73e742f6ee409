#include "joulecast/graph/op_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include "ops/ops.h"

namespace joulecast::graph {
namespace {

struct Registry {
  std::vector<std::unique_ptr<OpSchema>> schemas;
  std::map<std::string, const OpSchema*> by_name;
  std::map<std::string, const OpSchema*> by_type;
};

const Registry& TheRegistry() {
  // Leaked on purpose: schemas are referenced by nodes until exit.
  static const Registry* registry = [] {
    ops::Registrar all;
    ops::RegisterConvOps(all);
    ops::RegisterLinearOps(all);
    ops::RegisterPoolOps(all);
    ops::RegisterNormOps(all);
    ops::RegisterActivationOps(all);
    ops::RegisterArithmeticOps(all);
    ops::RegisterShapeOps(all);
    ops::RegisterAttentionOps(all);
    ops::RegisterMiscOps(all);
    auto* r = new Registry;
    for (OpSchema& s : all) {
      if (r->by_name.count(s.name))
        throw std::logic_error("operator registered twice: " + s.name);
      if (!s.infer) throw std::logic_error("operator without a shape rule: " + s.name);
      r->schemas.push_back(std::make_unique<OpSchema>(std::move(s)));
      const OpSchema* p = r->schemas.back().get();
      r->by_name[p->name] = p;
      r->by_type.emplace(p->type, p);
    }
    return r;
  }();
  return *registry;
}

// Edit distance for "did you mean" lists.
std::size_t Distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const char* CostClassName(CostClass c) {
  switch (c) {
    case CostClass::kCompute: return "compute";
    case CostClass::kElementwise: return "elementwise";
    case CostClass::kReduction: return "reduction";
    case CostClass::kDataMovement: return "data";
    case CostClass::kView: return "view";
  }
  return "?";
}

const TensorType& OpCall::in(std::size_t i) const {
  if (!has(i)) throw std::runtime_error(fmt::format("missing input {}", i));
  return *inputs[i];
}

const OpSchema* FindOp(const std::string& name) {
  const auto& r = TheRegistry();
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : it->second;
}

const OpSchema* FindOpByType(const std::string& type) {
  const auto& r = TheRegistry();
  auto it = r.by_type.find(type);
  return it == r.by_type.end() ? nullptr : it->second;
}

std::vector<const OpSchema*> AllOps() {
  std::vector<const OpSchema*> out;
  for (const auto& [name, s] : TheRegistry().by_name) out.push_back(s);
  return out;
}

const OpSchema& GetOp(const std::string& name) {
  if (const OpSchema* s = FindOp(name)) return *s;
  std::vector<std::pair<std::size_t, std::string>> close;
  for (const auto& [n, s] : TheRegistry().by_name) {
    const std::size_t d = Distance(name, n);
    if (d <= std::max<std::size_t>(2, name.size() / 3)) close.emplace_back(d, n);
  }
  std::sort(close.begin(), close.end());
  std::string hint;
  for (std::size_t i = 0; i < close.size() && i < 3; ++i)
    hint += (i ? ", " : "") + close[i].second;
  throw std::runtime_error(hint.empty()
                               ? fmt::format("unknown operator '{}'", name)
                               : fmt::format("unknown operator '{}' (did you mean: {}?)", name,
                                             hint));
}

namespace {

// The schema's attribute `name`; throws "unknown attribute 'strid' for conv2d (known: ...)".
const AttrSpec* SpecOf(const OpSchema& schema, const std::string& name) {
  for (const AttrSpec& a : schema.attrs)
    if (a.name == name) return &a;
  std::string known;
  for (const AttrSpec& a : schema.attrs) known += (known.empty() ? "" : ", ") + a.name;
  throw std::runtime_error(fmt::format("unknown attribute '{}' for {} (known: {})", name,
                                       schema.name, known.empty() ? "none" : known));
}

}  // namespace

void ValidateAttributes(const OpSchema& schema, Attributes& attrs) {
  for (const auto& entry : attrs.values()) {
    const std::string& name = entry.first;
    const AttrValue& value = entry.second;
    const AttrSpec* spec = SpecOf(schema, name);
    const AttrKind k = KindOf(value);
    const bool ok = k == spec->kind || (spec->kind == AttrKind::kFloat && k == AttrKind::kInt);
    if (!ok)
      throw std::runtime_error(fmt::format("attribute '{}' of {}: expected {}, got {}", name,
                                           schema.name, AttrKindName(spec->kind),
                                           AttrKindName(k)));
  }
  for (const AttrSpec& a : schema.attrs) {
    if (attrs.Has(a.name)) {
      if (a.kind == AttrKind::kFloat && KindOf(attrs.Get(a.name)) == AttrKind::kInt)
        attrs.Set(a.name, static_cast<double>(std::get<std::int64_t>(attrs.Get(a.name))));
      continue;
    }
    if (!a.default_value)
      throw std::runtime_error(
          fmt::format("missing attribute '{}' for {}", a.name, schema.name));
    attrs.Set(a.name, *a.default_value);
  }
}

nlohmann::json AttributesToJson(const Attributes& attrs) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& entry : attrs.values()) {
    const std::string& name = entry.first;
    const AttrValue& v = entry.second;
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, SymInts>) {
            j[name] = {{"values", x.values}, {"batch_index", x.batch_index}};
          } else {
            j[name] = x;
          }
        },
        v);
  }
  return j;
}

namespace {

bool IsInt(const nlohmann::json& v) {
  return v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) &&
                                   std::floor(v.get<double>()) == v.get<double>() &&
                                   std::fabs(v.get<double>()) <= 9007199254740992.0);
}
std::int64_t ToInt(const nlohmann::json& v) {
  return v.is_number_integer() ? v.get<std::int64_t>()
                               : static_cast<std::int64_t>(v.get<double>());
}
std::vector<std::int64_t> IntList(const nlohmann::json& v, bool* ok) {
  std::vector<std::int64_t> out;
  *ok = v.is_array();
  if (!*ok) return out;
  for (const auto& e : v) {
    if (!IsInt(e)) {
      *ok = false;
      return {};
    }
    out.push_back(ToInt(e));
  }
  return out;
}

}  // namespace

Attributes AttributesFromJson(const OpSchema& schema, const nlohmann::json& j) {
  if (!j.is_object())
    throw std::runtime_error(
        fmt::format("attributes of {}: expected an object, got {}", schema.name, j.dump()));
  Attributes attrs;
  for (const auto& item : j.items()) {
    const std::string name = item.key();
    const nlohmann::json& v = item.value();
    const AttrSpec* spec = SpecOf(schema, name);
    auto bad = [&]() {
      std::string shown = v.dump();
      if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
      return std::runtime_error(fmt::format("attribute '{}' of {}: expected {}, got {}", name,
                                            schema.name, AttrKindName(spec->kind), shown));
    };
    bool ok = true;
    switch (spec->kind) {
      case AttrKind::kInt:
        if (!IsInt(v)) throw bad();
        attrs.Set(name, ToInt(v));
        break;
      case AttrKind::kFloat:
        if (!v.is_number() || !std::isfinite(v.get<double>())) throw bad();
        attrs.Set(name, v.get<double>());
        break;
      case AttrKind::kBool:
        if (!v.is_boolean()) throw bad();
        attrs.Set(name, v.get<bool>());
        break;
      case AttrKind::kString:
        if (!v.is_string()) throw bad();
        attrs.Set(name, v.get<std::string>());
        break;
      case AttrKind::kInts: {
        auto list = IntList(v, &ok);
        if (!ok) throw bad();
        attrs.Set(name, std::move(list));
        break;
      }
      case AttrKind::kFloats: {
        if (!v.is_array()) throw bad();
        std::vector<double> list;
        for (const auto& e : v) {
          if (!e.is_number() || !std::isfinite(e.get<double>())) throw bad();
          list.push_back(e.get<double>());
        }
        attrs.Set(name, std::move(list));
        break;
      }
      case AttrKind::kSymInts: {
        SymInts s;
        if (v.is_array()) {
          s.values = IntList(v, &ok);
        } else if (v.is_object() && v.contains("values")) {
          s.values = IntList(v["values"], &ok);
          if (ok && v.contains("batch_index")) {
            ok = IsInt(v["batch_index"]) && ToInt(v["batch_index"]) >= -1 &&
                 ToInt(v["batch_index"]) < static_cast<std::int64_t>(s.values.size());
            if (ok) s.batch_index = static_cast<int>(ToInt(v["batch_index"]));
          }
          for (const auto& [k, unused] : v.items())
            if (k != "values" && k != "batch_index") ok = false;
        } else {
          ok = false;
        }
        if (!ok) throw bad();
        attrs.Set(name, std::move(s));
        break;
      }
    }
  }
  ValidateAttributes(schema, attrs);
  return attrs;
}

NodeCounts DefaultCounts(const OpCall& call) {
  NodeCounts c;
  c.macs = ops::InElems(call, 0);
  c.flops = c.macs;
  for (std::size_t i = 0; i < call.inputs.size(); ++i)
    if (call.has(i)) c.bytes_read += call.inputs[i]->bytes();
  for (const TensorType& t : call.outputs) c.bytes_written += t.bytes();
  return c;
}

LayerForm DefaultLayerForm(const OpCall& call) {
  LayerForm f;
  f.type = call.node && call.node->schema ? call.node->schema->type : "";
  f.params = call.attrs ? AttributesToJson(*call.attrs) : nlohmann::json::object();
  if (call.has(0)) f.input = call.in(0).dims;
  if (!call.outputs.empty()) f.output = call.outputs[0].dims;
  return f;
}

NodeCounts CountsOf(const OpSchema& schema, const OpCall& call) {
  return schema.count ? schema.count(call) : DefaultCounts(call);
}

LayerForm LayerFormOf(const OpSchema& schema, const OpCall& call) {
  return schema.layer ? schema.layer(call) : DefaultLayerForm(call);
}

}  // namespace joulecast::graph

namespace joulecast::graph {
namespace {

// (rows, h) of n elements whose last dimension is `last`.
std::vector<std::int64_t> RowsOf(double n, std::int64_t last) {
  const std::int64_t h = std::max<std::int64_t>(last, 1);
  return {static_cast<std::int64_t>(std::llround(n / static_cast<double>(h))), h};
}

std::int64_t LastDim(const TensorType& t) { return t.dims.empty() ? 1 : t.dims.back(); }

bool IsBinaryKernel(const std::string& op) {
  return op == "add" || op == "mul" || op == "div" || op == "pow";
}

}  // namespace

std::vector<GpuKernel> ElementwiseGradKernels(const GpuKernel& k, std::size_t input,
                                              bool broadcast) {
  const auto same = [&](const char* op) { return GpuKernel{op, k.sizes, k.proxy}; };
  std::vector<GpuKernel> g;
  if (k.op == "add" || k.op == "addu") {
    if (broadcast) g.push_back(GpuKernel{"addu", k.sizes, true});
  } else if (k.op == "mul") {
    g.push_back(same("mul"));
  } else if (k.op == "div") {
    g.push_back(same("div"));
    if (input == 1) g.push_back(same("mul"));
  } else if (k.op == "pow") {
    g.push_back(same("pow"));
    g.push_back(same("mul"));
  } else if (k.op == "mulu" || k.op == "divu") {
    g.push_back(same("mulu"));
  } else if (k.op == "powu") {
    g.push_back(same("powu"));
    g.push_back(same("mul"));
  } else if (k.op == "ln") {
    g.push_back(same("ln"));
    g.push_back(same("ln"));
  } else if (k.op == "softmax") {
    g.push_back(same("softmax"));
  } else {
    // A unary function: dy · f'(x), one binary kernel.
    g.push_back(same("mul"));
  }
  if (broadcast && k.op != "add" && k.op != "addu") g.push_back(GpuKernel{"addu", k.sizes, true});
  return g;
}

GpuKernel ProductGradKernel(const GpuKernel& k, std::size_t operand) {
  const std::int64_t b = k.sizes.at(0), m = k.sizes.at(1), n = k.sizes.at(2), kk = k.sizes.at(3);
  if (operand == 0) return GpuKernel{k.op, {b, m, kk, n}, k.proxy};
  // K×N = (K×M)(M×N); a linear's weight is shared by its B·M rows.
  if (k.op == "linear") return GpuKernel{"linear", {1, kk, n, b * m}, k.proxy};
  return GpuKernel{k.op, {b, kk, n, m}, k.proxy};
}

std::vector<std::int64_t> ElementwiseRows(const TensorType& t) {
  return RowsOf(t.elements(), LastDim(t));
}

GpuForm GpuFormOf(const OpSchema& schema, const OpCall& call) {
  if (schema.gpu) return schema.gpu(call);
  GpuForm f;
  f.grads.resize(call.inputs.size());
  if (schema.cost == CostClass::kView || call.outputs.empty()) return f;
  const TensorType& out = call.outputs[0];
  std::size_t tensors = 0;
  for (const TensorType* t : call.inputs) tensors += t != nullptr;
  switch (schema.cost) {
    case CostClass::kElementwise: {
      GpuKernel k{schema.gpu_kernel, RowsOf(out.elements(), LastDim(out)), schema.gpu_proxy};
      if (k.op.empty()) {
        k.op = tensors >= 2 ? "add" : "relu";
        k.proxy = true;
      } else if (tensors == 1 && IsBinaryKernel(k.op)) {
        k.op += "u";
      }
      f.forward.push_back(k);
      for (std::size_t i = 0; i < call.inputs.size(); ++i) {
        if (!call.has(i) || !IsFloating(call.in(i).dtype)) continue;
        f.grads[i] = ElementwiseGradKernels(k, i, call.in(i).elements() < out.elements());
      }
      return f;
    }
    case CostClass::kReduction: {
      if (schema.gpu_kernel == "ln" || schema.gpu_kernel == "softmax") {
        std::int64_t h = LastDim(call.in(0));
        if (call.attrs && call.attrs->Has("normalized_shape")) {
          h = 1;
          for (std::int64_t d : call.attrs->Ints("normalized_shape")) h *= d;
        } else if (call.attrs && call.attrs->Has("dim") && call.in(0).rank() > 0) {
          const std::int64_t r = static_cast<std::int64_t>(call.in(0).rank());
          std::int64_t d = call.attrs->Int("dim");
          if (d < 0) d += r;
          if (d >= 0 && d < r) h = call.in(0).dims[static_cast<std::size_t>(d)];
        }
        const GpuKernel k{schema.gpu_kernel, RowsOf(call.in(0).elements(), h), schema.gpu_proxy};
        f.forward.push_back(k);
        if (IsFloating(call.in(0).dtype)) f.grads[0] = ElementwiseGradKernels(k, 0, false);
        return f;
      }
      const GpuKernel k{"relu", RowsOf(call.in(0).elements(), LastDim(call.in(0))), true};
      f.forward.push_back(k);
      if (IsFloating(call.in(0).dtype)) f.grads[0] = {k};
      return f;
    }
    case CostClass::kDataMovement: {
      f.forward.push_back(GpuKernel{"relu", RowsOf(out.elements(), LastDim(out)), true});
      for (std::size_t i = 0; i < call.inputs.size(); ++i) {
        if (!call.has(i) || !IsFloating(call.in(i).dtype)) continue;
        f.grads[i] = {GpuKernel{"relu", RowsOf(call.in(i).elements(), LastDim(call.in(i))), true}};
      }
      return f;
    }
    case CostClass::kCompute: {
      if (!schema.proxy) return f;
      const std::optional<LayerForm> p = schema.proxy(call);
      if (!p) return f;
      const std::int64_t in = p->params.at("in_features").get<std::int64_t>();
      const std::int64_t outf = p->params.at("out_features").get<std::int64_t>();
      const std::int64_t rows = p->input.empty() ? 1 : p->input[0];
      const GpuKernel k{"linear", {1, rows, outf, in}, true};
      f.forward.push_back(k);
      // The proxy's two operands are the node's first two inputs.
      for (std::size_t i = 0; i < std::min<std::size_t>(call.inputs.size(), 2); ++i) {
        if (call.has(i) && IsFloating(call.in(i).dtype)) f.grads[i] = {ProductGradKernel(k, i)};
      }
      return f;
    }
    case CostClass::kView:
      break;
  }
  return f;
}

}  // namespace joulecast::graph
