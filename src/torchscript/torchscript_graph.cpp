// joulecast_torchscript, part 2: lowers a TorchScript file, operation by operation, into the
// operator graph (joulecast/graph/graph.h) and writes it as graph JSON. The entry point is
// joulecast_torchscript_to_graph_json (joulecast/torchscript/torchscript_plugin.h).
//
// The model is never run. forward() is interpreted abstractly, one TorchScript node at a time:
//   - tensors are values of the graph being built; each aten operation on them becomes a node of
//     the registry (aten::conv2d -> conv2d, aten::mul -> mul, ...), whose shape rule is applied at
//     once, so that every tensor has its concrete shape;
//   - everything else (ints, floats, bools, strings, lists of them, None, devices, constant
//     tensors) is a concrete value: aten::size / dim / len of a tensor read its shape, and any
//     operation whose inputs are all concrete is executed with libtorch's own kernel (integer
//     arithmetic, list building, comparisons, torch.zeros for a mask, ...), so branches and loops
//     on such values are followed like the interpreter would;
//   - prim::GetAttr resolves module attributes: submodules, parameters and buffers (graph values
//     named by their full path, "layer1.0.conv1.weight"; all of them are declared up front, so
//     the parameter count is sum(p.numel()) and a shared module's weights count once), constants;
//   - prim::CallMethod of a submodule interprets its method with that module as the scope (the
//     named_modules() path: "layer1.0.conv1"); prim::CallFunction interprets the function in the
//     caller's scope.
// Anything else is an error naming the module, the operation and the source line.
//
// After lowering, the fusion rules of joulecast/graph/fuse.h rewrite the patterns they know
// (torchvision's traced channel_shuffle: view, transpose, contiguous, view -> channel_shuffle).
//
// Batch scaling: forward() is lowered at the requested batch B and again at B + 1, and
// joulecast/graph/batch_merge.h's MergeBatch (shared with the ONNX reader) stores a sym_ints
// attribute entry that is k·B in the first and k·(B + 1) in the second as k with batch_index at
// that entry (a reshape to [B·heads, L, d]). Any other difference is an error; if the second
// lowering fails (a model that only accepts one batch size), the first is kept with every size
// fixed.
//
// Only the two translation units of this directory include libtorch (~17 s and ~1.1 GB each to
// compile).

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "joulecast/graph/attributes.h"
#include "joulecast/graph/batch_merge.h"
#include "joulecast/graph/fuse.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/graph/tensor_type.h"
#include "joulecast/io/first_line.h"
#include "joulecast/torchscript/torchscript_plugin.h"

namespace {

using joulecast::FirstLineNoTabs;

namespace tj = torch::jit;
namespace jg = joulecast::graph;
using json = nlohmann::json;

class LowerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "__torch__.torch.nn.modules.conv.___torch_mangle_14.Conv2d" -> "Conv2d".
std::string ShortClass(const std::string& qualified) {
  std::string last;
  std::size_t start = 0;
  while (start <= qualified.size()) {
    std::size_t end = qualified.find('.', start);
    if (end == std::string::npos) end = qualified.size();
    const std::string part = qualified.substr(start, end - start);
    if (!part.empty() && part != "__torch__" && part.rfind("___torch_mangle_", 0) != 0) last = part;
    start = end + 1;
  }
  return last.empty() ? "?" : last;
}

std::string QualifiedClass(const tj::Module& m) {
  const auto& name = m.type()->name();
  if (!name) return "?";
  std::string out;
  std::size_t start = 0;
  const std::string q = name->qualifiedName();
  while (start <= q.size()) {
    std::size_t end = q.find('.', start);
    if (end == std::string::npos) end = q.size();
    const std::string part = q.substr(start, end - start);
    if (part != "__torch__" && part.rfind("___torch_mangle_", 0) != 0) {
      if (!out.empty()) out += '.';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

std::string JoinName(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string SourceLocation(const tj::Node* node) {
  if (node == nullptr) return "";
  tj::SourceRange range = node->sourceRange();
  if (auto original = range.findSourceRangeThatGenerated()) range = *original;
  const auto flc = range.file_line_col();
  if (!flc || std::get<0>(*flc).empty()) return "";
  return " (at " + std::filesystem::path(std::get<0>(*flc)).filename().string() + ":" +
         std::to_string(std::get<1>(*flc)) + ")";
}

jg::DType ToDType(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return jg::DType::kFloat32;
    case c10::ScalarType::Half: return jg::DType::kFloat16;
    case c10::ScalarType::BFloat16: return jg::DType::kBFloat16;
    case c10::ScalarType::Double: return jg::DType::kFloat64;
    case c10::ScalarType::Long: return jg::DType::kInt64;
    case c10::ScalarType::Int: return jg::DType::kInt32;
    case c10::ScalarType::Bool: return jg::DType::kBool;
    case c10::ScalarType::Byte: return jg::DType::kUInt8;
    default: throw LowerError(std::string("unsupported tensor dtype ") + c10::toString(t));
  }
}

c10::ScalarType ToScalarType(jg::DType t) {
  switch (t) {
    case jg::DType::kFloat32: return c10::ScalarType::Float;
    case jg::DType::kFloat16: return c10::ScalarType::Half;
    case jg::DType::kBFloat16: return c10::ScalarType::BFloat16;
    case jg::DType::kFloat64: return c10::ScalarType::Double;
    case jg::DType::kInt64: return c10::ScalarType::Long;
    case jg::DType::kInt32: return c10::ScalarType::Int;
    case jg::DType::kBool: return c10::ScalarType::Bool;
    case jg::DType::kUInt8: return c10::ScalarType::Byte;
  }
  return c10::ScalarType::Float;
}

jg::TensorType TypeOf(const at::Tensor& t) {
  jg::TensorType type;
  type.dtype = ToDType(t.scalar_type());
  type.dims.assign(t.sizes().begin(), t.sizes().end());
  return type;
}

// The abstract value of a TorchScript value.
struct Sym {
  enum class Kind { kConst, kTensor, kModule, kList, kFunction };
  Kind kind = Kind::kConst;
  c10::IValue value;                      // kConst
  jg::ValueId tensor = jg::kNoValue;      // kTensor
  jg::ValueId transposed = jg::kNoValue;  // kTensor: W^T of parameter W, not emitted (yet)
  tj::Module module;                      // kModule
  std::string path;                       // kModule: named_modules() path
  std::shared_ptr<std::vector<Sym>> items;  // kList: list or tuple holding tensors
  tj::Function* function = nullptr;       // kFunction

  bool IsTensor() const { return kind == Kind::kTensor; }
  bool IsConst() const { return kind == Kind::kConst; }
};

Sym Const(c10::IValue v) {
  Sym s;
  s.value = std::move(v);
  return s;
}

Sym TensorSym(jg::ValueId v) {
  Sym s;
  s.kind = Sym::Kind::kTensor;
  s.tensor = v;
  return s;
}

Sym ListSym(std::vector<Sym> items) {
  Sym s;
  s.kind = Sym::Kind::kList;
  s.items = std::make_shared<std::vector<Sym>>(std::move(items));
  return s;
}

std::string Describe(const Sym& s) {
  switch (s.kind) {
    case Sym::Kind::kTensor: return "a tensor";
    case Sym::Kind::kModule: return "module " + (s.path.empty() ? std::string("<root>") : s.path);
    case Sym::Kind::kList: return "a list of " + std::to_string(s.items->size());
    case Sym::Kind::kFunction: return "a function";
    case Sym::Kind::kConst: return "a constant " + s.value.tagKind();
  }
  return "?";
}

// The module whose code is being interpreted.
struct Frame {
  std::string path;  // scope
  std::string type;  // short class name
  std::string Label() const { return path.empty() ? type : path + " (" + type + ")"; }
};

using Env = std::unordered_map<const tj::Value*, Sym>;

bool IsTensorListType(const c10::TypePtr& t) {
  if (auto list = t->cast<c10::ListType>()) {
    auto e = list->getElementType();
    if (auto opt = e->cast<c10::OptionalType>()) e = opt->getElementType();
    return e->kind() == c10::TypeKind::TensorType;
  }
  return false;
}

class Lowerer {
 public:
  Lowerer(const tj::Module& root, jg::Dims input, jg::DType dtype)
      : root_(root), input_(std::move(input)), dtype_(dtype) {}

  jg::Graph Run(const std::string& name, const std::string& description) {
    g_ = jg::Graph();
    g_.name = name;
    g_.description = description;
    constants_ = 0;
    // Every parameter and buffer, once, by full path.
    for (const auto& p : root_.named_parameters(/*recurse=*/true)) {
      if (g_.FindValue(p.name) < 0) g_.AddParameter(p.name, TypeOf(p.value), false);
    }
    for (const auto& b : root_.named_buffers(/*recurse=*/true)) {
      if (g_.FindValue(b.name) < 0) g_.AddParameter(b.name, TypeOf(b.value), true);
    }
    const tj::Method forward = root_.get_method("forward");
    const auto& graph = *forward.graph();
    const auto& schema = forward.function().getSchema();
    Frame frame{"", ShortClass(QualifiedClass(root_))};
    std::vector<Sym> args;
    Sym self;
    self.kind = Sym::Kind::kModule;
    self.module = root_;
    args.push_back(self);
    bool have_tensor = false;
    for (std::size_t i = 1; i < graph.inputs().size(); ++i) {
      const tj::Value* v = graph.inputs()[i];
      const c10::TypePtr t = v->type();
      const bool tensor_arg = t->kind() == c10::TypeKind::TensorType;
      if (tensor_arg && !have_tensor) {
        std::string arg = i < schema.arguments().size() ? schema.arguments()[i].name() : "";
        if (arg.empty()) arg = v->debugNameBase();
        if (arg.empty() || arg == "self") arg = "input";
        jg::TensorType type;
        type.dtype = dtype_;
        type.dims = input_;
        const jg::ValueId in = g_.AddInput(arg, type, 0);
        g_.SetBatch(input_.empty() ? 1 : input_[0]);
        args.push_back(TensorSym(in));
        have_tensor = true;
        continue;
      }
      if (i < schema.arguments().size() && schema.arguments()[i].default_value()) {
        args.push_back(Const(*schema.arguments()[i].default_value()));
        continue;
      }
      throw LowerError(frame.Label() + ": forward() takes " + std::to_string(graph.inputs().size() - 1) +
                       " arguments; only one tensor (and arguments with defaults) is supported");
    }
    if (!have_tensor) throw LowerError(frame.Label() + ": forward() takes no tensor argument");
    const std::vector<Sym> outs = RunGraph(graph, args, frame);
    std::vector<Sym> flat;
    for (const Sym& o : outs) Flatten(o, flat);
    int marked = 0;
    for (Sym& o : flat) {
      if (!o.IsTensor()) continue;
      g_.MarkOutput(Tensor(o, frame, nullptr));
      ++marked;
    }
    if (marked == 0) throw LowerError(frame.Label() + ": forward() returns no tensor");
    return std::move(g_);
  }

 private:
  void Flatten(const Sym& s, std::vector<Sym>& out) {
    if (s.kind == Sym::Kind::kList) {
      for (const Sym& i : *s.items) Flatten(i, out);
    } else {
      out.push_back(s);
    }
  }

  // --- errors -------------------------------------------------------------------------------

  [[noreturn]] void Fail(const Frame& f, const tj::Node* node, const std::string& message) {
    throw LowerError(f.Label() + ": " + message + SourceLocation(node));
  }

  [[noreturn]] void Unsupported(const Frame& f, const tj::Node* node, const std::string& what) {
    Fail(f, node, "unsupported operation " + what);
  }

  // --- interpretation -------------------------------------------------------------------------

  std::vector<Sym> RunGraph(const tj::Graph& graph, const std::vector<Sym>& args, const Frame& f) {
    if (++depth_ > 200) Fail(f, nullptr, "calls nest more than 200 deep");
    Env env;
    const auto inputs = graph.inputs();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      env[inputs[i]] = i < args.size() ? args[i] : Const(c10::IValue());
    }
    RunBlock(graph.block(), env, f);
    std::vector<Sym> outs;
    for (const tj::Value* v : graph.outputs()) outs.push_back(Get(env, v, nullptr, f));
    --depth_;
    return outs;
  }

  void RunBlock(const tj::Block* block, Env& env, const Frame& f) {
    for (const tj::Node* node : block->nodes()) RunNode(const_cast<tj::Node*>(node), env, f);
  }

  Sym Get(Env& env, const tj::Value* v, const tj::Node* node, const Frame& f) {
    const auto it = env.find(v);
    if (it == env.end()) Fail(f, node, "uses a value that was never computed (%" + v->debugName() + ")");
    return it->second;
  }

  // --- accessors ------------------------------------------------------------------------------

  struct Args {
    Lowerer* self;
    Env* env;
    tj::Node* node;
    const Frame* f;
    std::vector<Sym> in;
    std::string what;

    std::size_t size() const { return in.size(); }
    Sym& operator[](std::size_t i) { return in.at(i); }
    bool Has(std::size_t i) const { return i < in.size(); }
    bool IsNone(std::size_t i) const { return !Has(i) || (in[i].IsConst() && in[i].value.isNone()); }
    [[noreturn]] void Bad(std::size_t i, const std::string& expected) const {
      self->Fail(*f, node, what + ": argument " + std::to_string(i) + " is " +
                               (Has(i) ? Describe(in[i]) : std::string("missing")) + ", expected " +
                               expected);
    }
    const c10::IValue& C(std::size_t i, const char* expected) const {
      if (!Has(i) || !in[i].IsConst()) Bad(i, expected);
      return in[i].value;
    }
    std::int64_t Int(std::size_t i) const {
      const c10::IValue& v = C(i, "an int");
      if (v.isInt()) return v.toInt();
      if (v.isBool()) return v.toBool() ? 1 : 0;
      if (v.isTensor() && v.toTensor().numel() == 1) return v.toTensor().item<std::int64_t>();
      Bad(i, "an int");
    }
    double Num(std::size_t i) const {
      const c10::IValue& v = C(i, "a number");
      if (v.isDouble()) return v.toDouble();
      if (v.isInt()) return static_cast<double>(v.toInt());
      if (v.isBool()) return v.toBool() ? 1.0 : 0.0;
      if (v.isTensor() && v.toTensor().numel() == 1) return v.toTensor().item<double>();
      Bad(i, "a number");
    }
    bool Bool(std::size_t i) const {
      const c10::IValue& v = C(i, "a bool");
      if (v.isBool()) return v.toBool();
      if (v.isInt()) return v.toInt() != 0;
      Bad(i, "a bool");
    }
    std::string Str(std::size_t i) const {
      const c10::IValue& v = C(i, "a string");
      if (!v.isString()) Bad(i, "a string");
      return v.toStringRef();
    }
    std::vector<std::int64_t> Ints(std::size_t i) const {
      const c10::IValue& v = C(i, "a list of ints");
      if (v.isInt()) return {v.toInt()};
      if (v.isIntList()) return v.toIntVector();
      if (v.isList() || v.isTuple()) {
        std::vector<std::int64_t> out;
        const auto elems = v.isList() ? v.toListRef().vec() : v.toTupleRef().elements().vec();
        for (const c10::IValue& e : elems) {
          if (!e.isInt()) Bad(i, "a list of ints");
          out.push_back(e.toInt());
        }
        return out;
      }
      Bad(i, "a list of ints");
    }
    jg::ValueId T(std::size_t i) {
      if (!Has(i)) Bad(i, "a tensor");
      const jg::ValueId v = self->Tensor(in[i], *f, node);
      return v;
    }
    jg::ValueId OptT(std::size_t i) { return IsNone(i) ? jg::kNoValue : T(i); }
    const jg::TensorType& Type(std::size_t i) { return self->g_.value(T(i)).type; }
    std::vector<jg::ValueId> Tensors(std::size_t i) {
      std::vector<jg::ValueId> out;
      if (Has(i) && in[i].kind == Sym::Kind::kList) {
        for (Sym& s : *in[i].items) out.push_back(self->Tensor(s, *f, node));
        return out;
      }
      if (Has(i) && in[i].IsConst() && in[i].value.isTensorList()) {
        for (const at::Tensor& t : in[i].value.toTensorVector()) {
          Sym c = Const(t);
          out.push_back(self->Tensor(c, *f, node));
        }
        return out;
      }
      Bad(i, "a list of tensors");
    }
  };

  // The graph value of a tensor: emits a pending transpose, declares a constant tensor as a
  // buffer ("<scope>.constant<k>").
  jg::ValueId Tensor(Sym& s, const Frame& f, const tj::Node* node) {
    if (s.IsTensor()) {
      if (s.tensor == jg::kNoValue && s.transposed != jg::kNoValue) {
        jg::Attributes a;
        a.Set("dim0", std::int64_t{0});
        a.Set("dim1", std::int64_t{1});
        s.tensor = Emit(f, node, "aten::t", "transpose", a, {s.transposed})[0];
      }
      return s.tensor;
    }
    if (s.IsConst() && s.value.isTensor()) {
      const at::Tensor t = s.value.toTensor();
      const std::string name = JoinName(f.path, "constant" + std::to_string(constants_++));
      const jg::ValueId v = g_.AddParameter(name, TypeOf(t), true);
      s = TensorSym(v);
      return v;
    }
    Fail(f, node, "expected a tensor, got " + Describe(s));
  }

  // Adds a node of registry op `op` in scope f.path and infers its outputs' types.
  std::vector<jg::ValueId> Emit(const Frame& f, const tj::Node* node, const std::string& aten,
                                const std::string& op, jg::Attributes attrs,
                                const std::vector<jg::ValueId>& inputs, int num_outputs = 1) {
    if (jg::FindOp(op) == nullptr) {
      Fail(f, node,
           "unsupported operation " + aten + " (joulecast's operator registry has no '" + op + "')");
    }
    jg::NodeId n;
    try {
      n = g_.AddNode(op, std::move(attrs), inputs, f.path, "", num_outputs);
      const jg::Node& nd = g_.node(n);
      jg::OpCall call = jg::MakeCall(g_, n);
      call.outputs.clear();
      const std::vector<jg::TensorType> out = nd.schema->infer(call);
      if (out.size() != nd.outputs.size())
        throw std::runtime_error("shape rule gave " + std::to_string(out.size()) + " outputs for " +
                                 std::to_string(nd.outputs.size()));
      for (std::size_t i = 0; i < out.size(); ++i) g_.value(nd.outputs[i]).type = out[i];
    } catch (const LowerError&) {
      throw;
    } catch (const std::exception& e) {
      std::string shapes;
      for (jg::ValueId v : inputs) {
        if (v == jg::kNoValue) continue;
        shapes += (shapes.empty() ? "" : ", ") + jg::FormatDims(g_.value(v).type.dims);
      }
      Fail(f, node, aten + " (" + op + ", inputs " + shapes + "): " + FirstLineNoTabs(e.what()));
    }
    return g_.node(n).outputs;
  }

  jg::ValueId Emit1(const Frame& f, const tj::Node* node, const std::string& aten,
                    const std::string& op, jg::Attributes attrs,
                    const std::vector<jg::ValueId>& inputs) {
    return Emit(f, node, aten, op, std::move(attrs), inputs)[0];
  }

  static jg::Attributes A(std::initializer_list<std::pair<const char*, jg::AttrValue>> kv) {
    jg::Attributes a;
    for (const auto& [k, v] : kv) a.Set(k, v);
    return a;
  }

  static jg::SymInts Fixed(std::vector<std::int64_t> v) {
    jg::SymInts s;
    s.values = std::move(v);
    return s;
  }

  // --- nodes ----------------------------------------------------------------------------------

  void RunNode(tj::Node* node, Env& env, const Frame& f) {
    const std::string kind = node->kind().toQualString();
    Args in{this, &env, node, &f, {}, kind};
    for (const tj::Value* v : node->inputs()) in.in.push_back(Get(env, v, node, f));
    auto set = [&](std::size_t i, Sym s) { env[node->outputs().at(i)] = std::move(s); };

    if (kind == "prim::Constant") {
      const tj::Value* out = node->output();
      if (const auto fn = out->type()->cast<c10::FunctionType>()) {
        Sym s;
        s.kind = Sym::Kind::kFunction;
        s.function = fn->function();
        set(0, s);
        return;
      }
      const auto value = tj::toIValue(out);
      if (!value) Fail(f, node, "unsupported constant of type " + out->type()->str());
      set(0, Const(*value));
      return;
    }
    if (kind == "prim::GetAttr") {
      const Sym& obj = in[0];
      const std::string name = node->s(c10::attr::name);
      if (obj.kind != Sym::Kind::kModule) Fail(f, node, "reads attribute '" + name + "' of " + Describe(obj));
      const c10::IValue value = obj.module.attr(name);
      const std::string path = JoinName(obj.path, name);
      if (value.isObject() && value.toObject()->type()->is_module()) {
        Sym s;
        s.kind = Sym::Kind::kModule;
        s.module = tj::Module(value.toObject());
        s.path = path;
        set(0, s);
      } else if (value.isTensor() && g_.FindValue(path) >= 0) {
        set(0, TensorSym(g_.FindValue(path)));
      } else {
        set(0, Const(value));
      }
      return;
    }
    if (kind == "prim::SetAttr") Fail(f, node, "forward() changes attribute '" + node->s(c10::attr::name) + "' of a module");
    if (kind == "prim::If") {
      if (!in[0].IsConst() || !in[0].value.isBool())
        Fail(f, node, "data-dependent control flow (prim::If on " + Describe(in[0]) + ")");
      const tj::Block* block = node->blocks()[in[0].value.toBool() ? 0 : 1];
      RunBlock(block, env, f);
      for (std::size_t i = 0; i < node->outputs().size(); ++i) set(i, Get(env, block->outputs()[i], node, f));
      return;
    }
    if (kind == "prim::Loop") {
      RunLoop(node, in, env, f);
      return;
    }
    if (kind == "prim::CallMethod") {
      const Sym& callee = in[0];
      const std::string method = node->s(c10::attr::name);
      if (callee.kind != Sym::Kind::kModule) Fail(f, node, "calls " + method + "() of " + Describe(callee));
      const auto m = callee.module.find_method(method);
      if (!m) Fail(f, node, "calls missing method " + method + "()");
      Frame inner{callee.path, ShortClass(QualifiedClass(callee.module))};
      const std::vector<Sym> outs = RunGraph(*m->graph(), in.in, inner);
      for (std::size_t i = 0; i < outs.size() && i < node->outputs().size(); ++i) set(i, outs[i]);
      return;
    }
    if (kind == "prim::CallFunction") {
      const Sym& fn = in[0];
      if (fn.kind != Sym::Kind::kFunction || fn.function == nullptr) Fail(f, node, "prim::CallFunction of " + Describe(fn));
      std::vector<Sym> args(in.in.begin() + 1, in.in.end());
      const std::vector<Sym> outs = RunGraph(*tj::toGraphFunction(*fn.function).graph(), args, f);
      for (std::size_t i = 0; i < outs.size() && i < node->outputs().size(); ++i) set(i, outs[i]);
      return;
    }
    if (kind == "prim::RaiseException") {
      std::string message = in.Has(0) && in[0].IsConst() && in[0].value.isString() ? in[0].value.toStringRef() : "";
      Fail(f, node,
           "forward() raises an exception" +
               (message.empty() ? "" : ": " + FirstLineNoTabs(message)));
    }
    if (kind == "aten::warn" || kind == "prim::Print") return;

    // Structural operations on lists holding tensors.
    bool symbolic = false;
    for (const Sym& s : in.in) symbolic |= !s.IsConst();
    if (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct") {
      if (symbolic || (kind == "prim::ListConstruct" && IsTensorListType(node->output()->type()))) {
        set(0, ListSym(in.in));
        return;
      }
    }
    if ((kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") && in[0].kind == Sym::Kind::kList) {
      const auto& items = *in[0].items;
      if (items.size() != node->outputs().size())
        Fail(f, node, kind + " of " + std::to_string(items.size()) + " values into " + std::to_string(node->outputs().size()));
      for (std::size_t i = 0; i < items.size(); ++i) set(i, items[i]);
      return;
    }
    if ((kind == "prim::TupleIndex" || kind == "aten::__getitem__") && in[0].kind == Sym::Kind::kList) {
      const auto& items = *in[0].items;
      std::int64_t i = in.Int(1);
      const auto n = static_cast<std::int64_t>(items.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) Fail(f, node, kind + ": index out of range");
      set(0, items[static_cast<std::size_t>(i)]);
      return;
    }
    if (kind == "aten::append" && in[0].kind == Sym::Kind::kList) {
      in[0].items->push_back(in[1]);
      set(0, in[0]);
      return;
    }
    if (kind == "aten::len" && in[0].kind == Sym::Kind::kList) {
      set(0, Const(static_cast<std::int64_t>(in[0].items->size())));
      return;
    }
    if (kind == "prim::unchecked_cast") {
      set(0, in[0]);
      return;
    }
    if (kind == "aten::__is__" || kind == "aten::__isnot__") {
      // A tensor, module or list is never None; None is None.
      // Two graph tensors are the same object when they are the same value.
      auto is_none = [](const Sym& s) { return s.IsConst() && s.value.isNone(); };
      if (symbolic) {
        bool same = is_none(in[0]) && is_none(in[1]);
        if (in[0].IsTensor() && in[1].IsTensor()) {
          same = in[0].tensor == in[1].tensor && in[0].transposed == in[1].transposed;
        } else if (in[0].kind == Sym::Kind::kModule && in[1].kind == Sym::Kind::kModule) {
          same = in[0].module._ivalue() == in[1].module._ivalue();
        } else if (!is_none(in[0]) && !is_none(in[1]) && in[0].kind == in[1].kind) {
          Fail(f, node, kind + " of " + Describe(in[0]) + " and " + Describe(in[1]));
        }
        set(0, Const(kind == "aten::__is__" ? same : !same));
        return;
      }
    }

    // Shape queries of a graph tensor.
    if (symbolic && in[0].IsTensor()) {
      const jg::TensorType& t = in.Type(0);
      if (kind == "aten::size" && in.size() == 1) {
        set(0, Const(c10::IValue(t.dims)));
        return;
      }
      if (kind == "prim::shape") {
        set(0, Const(c10::IValue(t.dims)));
        return;
      }
      if (kind == "aten::size" && in.size() == 2) {
        set(0, Const(t.dims.at(jg::WrapDim(in.Int(1), t.rank()))));
        return;
      }
      if (kind == "aten::dim") {
        set(0, Const(static_cast<std::int64_t>(t.rank())));
        return;
      }
      if (kind == "aten::len") {
        if (t.rank() == 0) Fail(f, node, "len() of a 0-d tensor");
        set(0, Const(t.dims[0]));
        return;
      }
      if (kind == "aten::numel") {
        set(0, Const(static_cast<std::int64_t>(t.elements())));
        return;
      }
      if (kind == "prim::dtype") {
        set(0, Const(static_cast<std::int64_t>(ToScalarType(t.dtype))));
        return;
      }
      if (kind == "prim::device") {
        set(0, Const(c10::Device(c10::kCPU)));
        return;
      }
      if (kind == "prim::is_cuda" || kind == "prim::is_quantized" || kind == "prim::requires_grad" ||
          kind == "prim::is_mkldnn" || kind == "prim::is_sparse" || kind == "prim::is_meta" ||
          kind == "prim::is_xpu" || kind == "prim::is_mps" || kind == "prim::is_nested") {
        set(0, Const(false));
        return;
      }
      if (kind == "aten::is_floating_point") {
        set(0, Const(jg::IsFloating(t.dtype)));
        return;
      }
      if (kind == "prim::layout") {
        set(0, Const(static_cast<std::int64_t>(0)));
        return;
      }
      // Tensors made from a tensor's shape and dtype only.
      if (kind == "aten::new_zeros" || kind == "aten::new_ones" || kind == "aten::new_empty" ||
          kind == "aten::new_full") {
        const std::vector<std::int64_t> size = in.Ints(1);
        auto opts = at::TensorOptions().dtype(ToScalarType(t.dtype));
        if (kind == "aten::new_full") {
          set(0, Const(at::full(size, in.Num(2), opts)));
        } else {
          set(0, Const(kind == "aten::new_ones" ? at::ones(size, opts) : at::zeros(size, opts)));
        }
        return;
      }
      if (kind == "aten::zeros_like" || kind == "aten::ones_like") {
        auto opts = at::TensorOptions().dtype(ToScalarType(t.dtype));
        set(0, Const(kind == "aten::ones_like" ? at::ones(t.dims, opts) : at::zeros(t.dims, opts)));
        return;
      }
    }

    // Interpreter instructions without an operator, on concrete values.
    if (!symbolic) {
      if (kind == "prim::ListConstruct") {
        const auto list_type = node->output()->type()->expect<c10::ListType>();
        c10::impl::GenericList list(list_type->getElementType());
        for (const Sym& s : in.in) list.push_back(s.value);
        set(0, Const(c10::IValue(list)));
        return;
      }
      if (kind == "prim::TupleConstruct") {
        std::vector<c10::IValue> elems;
        for (const Sym& s : in.in) elems.push_back(s.value);
        set(0, Const(c10::ivalue::Tuple::create(std::move(elems))));
        return;
      }
      if (kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") {
        const c10::IValue& v = in[0].value;
        const std::vector<c10::IValue> elems =
            v.isList() ? v.toListRef().vec() : v.isTuple() ? v.toTupleRef().elements().vec()
                                                           : std::vector<c10::IValue>{};
        if (elems.size() != node->outputs().size())
          Fail(f, node, kind + " of " + std::to_string(elems.size()) + " values into " + std::to_string(node->outputs().size()));
        for (std::size_t i = 0; i < elems.size(); ++i) set(i, Const(elems[i]));
        return;
      }
      if (kind == "prim::TupleIndex" && in[0].value.isTuple()) {
        const auto elems = in[0].value.toTupleRef().elements();
        std::int64_t i = in.Int(1);
        if (i < 0) i += static_cast<std::int64_t>(elems.size());
        set(0, Const(elems.at(static_cast<std::size_t>(i))));
        return;
      }
      if (kind == "prim::Uninitialized") {
        set(0, Const(c10::IValue()));
        return;
      }
    }

    // Everything concrete: libtorch's own operator computes it.
    if (!symbolic && node->blocks().empty()) {
      if (node->maybeOperator() == nullptr) Unsupported(f, node, kind + " (no operator to evaluate it)");
      std::vector<c10::IValue> stack;
      for (const Sym& s : in.in) stack.push_back(s.value);
      // Variadic operators (aten::format, ...) read their input count from the stack, as the
      // interpreter pushes it.
      if (const c10::FunctionSchema* schema = node->maybeSchema(); schema && schema->is_vararg()) {
        stack.emplace_back(static_cast<std::int64_t>(in.size()));
      }
      try {
        node->getOperation()(stack);
      } catch (const c10::Error& e) {
        Fail(f, node, kind + " failed: " + FirstLineNoTabs(e.what_without_backtrace()));
      } catch (const std::exception& e) {
        Fail(f, node, kind + " failed: " + FirstLineNoTabs(e.what()));
      }
      if (stack.size() != node->outputs().size()) Fail(f, node, kind + ": unexpected number of results");
      for (std::size_t i = 0; i < stack.size(); ++i) set(i, Const(stack[i]));
      return;
    }

    const std::vector<Sym> outs = Lower(kind, in, f, node);
    if (outs.size() != node->outputs().size()) {
      Fail(f, node, kind + ": lowered to " + std::to_string(outs.size()) + " values for " +
                        std::to_string(node->outputs().size()) + " results");
    }
    for (std::size_t i = 0; i < outs.size(); ++i) set(i, outs[i]);
    // In-place operations (relu_, add_, ...): later uses of the operand see the result.
    if (kind.size() > 1 && kind.back() == '_' && kind[kind.size() - 2] != '_' && !node->inputs().empty() &&
        !outs.empty() && in[0].IsTensor()) {
      env[node->inputs()[0]] = outs[0];
    }
  }

  void RunLoop(tj::Node* node, Args& in, Env& env, const Frame& f) {
    // inputs: max trip count, initial condition, carried...; block inputs: iteration, carried...;
    // block outputs: condition, carried...
    const tj::Block* body = node->blocks()[0];
    std::int64_t max_trips = std::numeric_limits<std::int64_t>::max();
    if (!in.IsNone(0)) max_trips = in.Int(0);
    if (!in[1].IsConst() || !in[1].value.isBool()) Fail(f, node, "data-dependent loop condition");
    bool cond = in[1].value.toBool();
    std::vector<Sym> carried(in.in.begin() + 2, in.in.end());
    for (std::int64_t i = 0; cond && i < max_trips; ++i) {
      if (i > 100000) Fail(f, node, "loop runs more than 100000 times");
      env[body->inputs()[0]] = Const(i);
      for (std::size_t k = 0; k < carried.size(); ++k) env[body->inputs()[k + 1]] = carried[k];
      RunBlock(body, env, f);
      const Sym c = Get(env, body->outputs()[0], node, f);
      if (!c.IsConst() || !c.value.isBool()) Fail(f, node, "data-dependent loop condition");
      cond = c.value.toBool();
      for (std::size_t k = 0; k < carried.size(); ++k) carried[k] = Get(env, body->outputs()[k + 1], node, f);
    }
    for (std::size_t k = 0; k < node->outputs().size(); ++k) env[node->outputs()[k]] = carried.at(k);
  }

  // --- lowering of tensor operations ----------------------------------------------------------

  static std::string Base(const std::string& kind) {
    std::string name = kind.substr(kind.find("::") + 2);
    if (name.size() > 1 && name.back() == '_' && name[name.size() - 2] != '_') name.pop_back();
    return name;
  }

  bool IsParameter(jg::ValueId v) const {
    return v != jg::kNoValue && g_.value(v).role == jg::ValueRole::kParameter;
  }

  // A pending W^T of a 2-d parameter (aten::t, transpose(0, 1), permute([1, 0])).
  Sym TransposedParameter(Sym& x) {
    Sym s;
    s.kind = Sym::Kind::kTensor;
    s.transposed = x.tensor;
    return s;
  }

  std::vector<std::int64_t> PoolPair(std::vector<std::int64_t> v) {
    if (v.size() == 1) v.push_back(v[0]);
    return v;
  }

  std::vector<Sym> One(jg::ValueId v) { return {TensorSym(v)}; }

  // a (op) b for add/sub/mul/div/pow/...; either operand may be a scalar.
  std::vector<Sym> Binary(const std::string& kind, const std::string& op, Args& in, const Frame& f,
                          const tj::Node* node, double alpha = 1.0) {
    auto scalar_of = [&](std::size_t i) -> std::optional<double> {
      const Sym& s = in[i];
      if (!s.IsConst()) return std::nullopt;
      if (s.value.isTensor() && s.value.toTensor().numel() != 1) return std::nullopt;
      return in.Num(i);
    };
    const std::optional<double> a_scalar = scalar_of(0), b_scalar = scalar_of(1);
    if (!a_scalar && !b_scalar) {
      if (alpha != 1.0) {
        const jg::ValueId scaled = Emit1(f, node, kind, "mul", A({{"scalar", alpha}}), {in.T(1)});
        return One(Emit1(f, node, kind, op, {}, {in.T(0), scaled}));
      }
      return One(Emit1(f, node, kind, op, {}, {in.T(0), in.T(1)}));
    }
    // One tensor operand; scalar - x and scalar / x are counted as x - scalar and x / scalar (the
    // same cost and shape).
    const std::size_t t = a_scalar ? 1 : 0;
    const double scalar = (a_scalar ? *a_scalar : *b_scalar) * (a_scalar ? 1.0 : alpha);
    return One(Emit1(f, node, kind, op, A({{"scalar", scalar}}), {in.T(t)}));
  }

  std::vector<Sym> Lower(const std::string& kind, Args& in, const Frame& f, const tj::Node* node) {
    const std::string base = Base(kind);
    const bool aten = kind.rfind("aten::", 0) == 0;
    if (!aten) Unsupported(f, node, kind);
    if (base == "Bool" || base == "Int" || base == "Float" || base == "item" ||
        base == "ScalarImplicit" || base == "is_nonzero" || base == "tolist") {
      Fail(f, node, "reads the value of a tensor (" + kind +
                        "); data-dependent control flow and sizes are not supported");
    }

    // Convolutions.
    if (base == "_convolution" || base == "conv2d" || base == "conv1d" || base == "convolution") {
      if (base == "_convolution" || base == "convolution") {
        if (in.Bool(6)) Unsupported(f, node, kind + " (transposed convolution)");
      }
      const jg::ValueId w = in.T(1);
      const int rank = g_.value(w).type.rank();
      if (rank != 3 && rank != 4) Unsupported(f, node, kind + " with a rank-" + std::to_string(rank) + " weight");
      std::vector<std::int64_t> padding;
      if (in[4].IsConst() && in[4].value.isString()) {
        const std::string mode = in.Str(4);
        if (mode == "valid") {
          padding.assign(rank - 2, 0);
        } else {
          // "same" with stride 1: (dilation * (k - 1)) / 2 per side when even.
          const auto& wd = g_.value(w).type.dims;
          const std::vector<std::int64_t> dil = in.Ints(5);
          for (int i = 0; i < rank - 2; ++i) {
            const std::int64_t total = dil[dil.size() == 1 ? 0 : i] * (wd[2 + i] - 1);
            if (total % 2 != 0) Unsupported(f, node, kind + " with padding='same' and an asymmetric padding");
            padding.push_back(total / 2);
          }
        }
      } else {
        padding = in.Ints(4);
      }
      const std::int64_t groups = (base == "_convolution" || base == "convolution") ? in.Int(8) : in.Int(6);
      jg::Attributes a = A({{"stride", in.Ints(3)}, {"padding", padding}, {"dilation", in.Ints(5)}, {"groups", groups}});
      return One(Emit1(f, node, kind, rank == 4 ? "conv2d" : "conv1d", a, {in.T(0), w, in.OptT(2)}));
    }
    // Products.
    if (base == "linear") return One(Emit1(f, node, kind, "linear", {}, {in.T(0), in.T(1), in.OptT(2)}));
    if (base == "t" || (base == "transpose" && in.Has(2)) || base == "permute" || base == "numpy_T") {
      if (in[0].IsTensor() && IsParameter(in[0].tensor) && in.Type(0).rank() == 2) {
        bool swap = base == "t" || base == "numpy_T";
        if (base == "transpose") {
          const int d0 = jg::WrapDim(in.Int(1), 2), d1 = jg::WrapDim(in.Int(2), 2);
          swap = d0 != d1;
          if (!swap) return {in[0]};
        }
        if (base == "permute") swap = jg::WrapDim(in.Ints(1).at(0), 2) == 1;
        if (swap) return {TransposedParameter(in[0])};
        return {in[0]};
      }
    }
    if (base == "addmm") {
      if (in.Num(3) != 1.0 || in.Num(4) != 1.0) Unsupported(f, node, kind + " with beta or alpha other than 1");
      if (in[2].IsTensor() && in[2].tensor == jg::kNoValue && in[2].transposed != jg::kNoValue)
        return One(Emit1(f, node, kind, "linear", {}, {in.T(1), in[2].transposed, in.T(0)}));
      const jg::ValueId mm = Emit1(f, node, kind, "matmul", {}, {in.T(1), in.T(2)});
      return One(Emit1(f, node, kind, "add", {}, {mm, in.T(0)}));
    }
    if (base == "matmul" || base == "mm" || base == "bmm") {
      if (in[1].IsTensor() && in[1].tensor == jg::kNoValue && in[1].transposed != jg::kNoValue)
        return One(Emit1(f, node, kind, "linear", {}, {in.T(0), in[1].transposed}));
      return One(Emit1(f, node, kind, "matmul", {}, {in.T(0), in.T(1)}));
    }
    if (base == "baddbmm") {
      jg::ValueId mm = Emit1(f, node, kind, "matmul", {}, {in.T(1), in.T(2)});
      const double beta = in.Num(3), alpha = in.Num(4);
      if (alpha != 1.0) mm = Emit1(f, node, kind, "mul", A({{"scalar", alpha}}), {mm});
      if (beta == 0.0) return One(mm);
      jg::ValueId bias = in.T(0);
      if (beta != 1.0) bias = Emit1(f, node, kind, "mul", A({{"scalar", beta}}), {bias});
      return One(Emit1(f, node, kind, "add", {}, {mm, bias}));
    }
    if (base == "einsum") {
      // einsum(equation, tensors, path?): the registry's shape rule checks the equation (two
      // operands only) and names it in its errors.
      return One(Emit1(f, node, kind, "einsum", A({{"equation", in.Str(0)}}), in.Tensors(1)));
    }
    if (base == "embedding") {
      return One(Emit1(f, node, kind, "embedding", {}, {in.T(1), in.T(0)}));
    }
    // Normalisation.
    if (base == "batch_norm") {
      if (in.Bool(5)) Unsupported(f, node, kind + " in training mode");
      jg::Attributes a = A({{"momentum", in.IsNone(6) ? 0.1 : in.Num(6)}, {"eps", in.Num(7)}});
      return One(Emit1(f, node, kind, "batch_norm", a, {in.T(0), in.OptT(1), in.OptT(2), in.OptT(3), in.OptT(4)}));
    }
    if (base == "layer_norm") {
      jg::Attributes a = A({{"normalized_shape", in.Ints(1)}, {"eps", in.Num(4)}});
      return One(Emit1(f, node, kind, "layer_norm", a, {in.T(0), in.OptT(2), in.OptT(3)}));
    }
    if (base == "group_norm") {
      jg::Attributes a = A({{"num_groups", in.Int(1)}, {"eps", in.Num(4)}});
      return One(Emit1(f, node, kind, "group_norm", a, {in.T(0), in.OptT(2), in.OptT(3)}));
    }
    // Activations.
    if (base == "relu" || base == "relu6" || base == "sigmoid" || base == "tanh" || base == "silu" ||
        base == "hardswish" || base == "hardsigmoid" || base == "erf" || base == "exp" ||
        base == "sqrt" || base == "rsqrt" || base == "log" || base == "neg" || base == "abs" ||
        base == "sin" || base == "cos" || base == "reciprocal" || base == "square" || base == "mish") {
      return One(Emit1(f, node, kind, base, {}, {in.T(0)}));
    }
    if (base == "hardtanh") {
      const double lo = in.Num(1), hi = in.Num(2);
      if (lo == 0.0 && hi == 6.0) return One(Emit1(f, node, kind, "relu6", {}, {in.T(0)}));
      return One(Emit1(f, node, kind, "hardtanh", A({{"min_val", lo}, {"max_val", hi}}), {in.T(0)}));
    }
    if (base == "gelu") {
      const std::string approximate = in.Has(1) && !in.IsNone(1) ? in.Str(1) : "none";
      return One(Emit1(f, node, kind, "gelu", A({{"approximate", approximate}}), {in.T(0)}));
    }
    if (base == "elu") {
      if ((in.Has(2) && in.Num(2) != 1.0) || (in.Has(3) && in.Num(3) != 1.0))
        Unsupported(f, node, kind + " with scale or input_scale other than 1");
      return One(Emit1(f, node, kind, "elu", A({{"alpha", in.Has(1) ? in.Num(1) : 1.0}}), {in.T(0)}));
    }
    if (base == "softplus") {
      return One(Emit1(f, node, kind, "softplus",
                       A({{"beta", in.Has(1) ? in.Num(1) : 1.0}, {"threshold", in.Has(2) ? in.Num(2) : 20.0}}), {in.T(0)}));
    }
    if (base == "where" && in.size() == 3) {
      return One(Emit1(f, node, kind, "where", {}, {in.T(0), in.T(1), in.T(2)}));
    }
    if (base == "var" || base == "std") {
      // var.dim(x, dims, unbiased, keepdim) / var.correction(x, dims, correction, keepdim)
      std::vector<std::int64_t> dims;
      if (in.Has(1) && !in.IsNone(1) && !(in[1].IsConst() && in[1].value.isBool())) dims = in.Ints(1);
      const bool keepdim = in.Has(3) ? in.Bool(3) : false;
      return One(Emit1(f, node, kind, base, A({{"dims", dims}, {"keepdim", keepdim}}), {in.T(0)}));
    }
    if (base == "leaky_relu") {
      return One(Emit1(f, node, kind, "leaky_relu", A({{"negative_slope", in.Has(1) ? in.Num(1) : 0.01}}), {in.T(0)}));
    }
    if (base == "softmax" || base == "log_softmax" || base == "_softmax" || base == "_log_softmax") {
      const std::string op = base.find("log") != std::string::npos ? "log_softmax" : "softmax";
      return One(Emit1(f, node, kind, op, A({{"dim", in.Int(1)}}), {in.T(0)}));
    }
    if (base == "clamp" || base == "clip" || base == "clamp_min" || base == "clamp_max") {
      jg::Attributes a;
      if (base == "clamp_min") {
        a.Set("min", std::vector<double>{in.Num(1)});
      } else if (base == "clamp_max") {
        a.Set("max", std::vector<double>{in.Num(1)});
      } else {
        if (!in.IsNone(1)) a.Set("min", std::vector<double>{in.Num(1)});
        if (!in.IsNone(2)) a.Set("max", std::vector<double>{in.Num(2)});
      }
      return One(Emit1(f, node, kind, "clamp", a, {in.T(0)}));
    }
    // Arithmetic.
    if (base == "add" || base == "sub") {
      const double alpha = in.Has(2) && !in.IsNone(2) ? in.Num(2) : 1.0;
      return Binary(kind, base, in, f, node, alpha);
    }
    if (base == "rsub") return Binary(kind, "sub", in, f, node, in.Has(2) ? in.Num(2) : 1.0);
    if (base == "mul" || base == "pow" || base == "maximum" || base == "minimum") return Binary(kind, base, in, f, node);
    if (base == "div") {
      if (in.Has(2) && !in.IsNone(2)) Unsupported(f, node, kind + " with rounding_mode");
      return Binary(kind, "div", in, f, node);
    }
    if (base == "masked_fill") {
      return One(Emit1(f, node, kind, "masked_fill", A({{"value", in.Num(2)}}), {in.T(0), in.T(1)}));
    }
    // Reductions.
    if (base == "mean" || base == "sum" || base == "amax" || base == "amin") {
      const jg::ValueId x = in.T(0);
      std::vector<std::int64_t> dims;
      bool keepdim = false;
      if (in.size() >= 3 && !(in[1].IsConst() && in[1].value.isNone())) {
        dims = in.Ints(1);
        keepdim = in.Bool(2);
      } else if (in.size() >= 3 && in.IsNone(1)) {
        keepdim = in.Bool(2);
      }
      if (dims.empty()) {
        for (int i = 0; i < g_.value(x).type.rank(); ++i) dims.push_back(i);
      }
      return One(Emit1(f, node, kind, base, A({{"dims", dims}, {"keepdim", keepdim}}), {x}));
    }
    if (base == "norm" || base == "linalg_vector_norm" || base == "frobenius_norm") {
      // norm.Scalar(x, p), norm.ScalarOpt_dtype(x, p, dtype), norm.ScalarOpt_dim(x, p, dim,
      // keepdim) (F.normalize), norm.ScalarOpt_dim_dtype(x, p, dim, keepdim, dtype);
      // linalg_vector_norm(x, ord, dim?, keepdim, dtype?); frobenius_norm(x[, dim, keepdim])
      // (torch.norm(x) without p). p None: 2.
      const jg::ValueId x = in.T(0);
      const bool frobenius = base == "frobenius_norm";
      const double p = frobenius || in.IsNone(1) ? 2.0 : in.Num(1);
      std::vector<std::int64_t> dims;
      bool keepdim = false;
      std::size_t dtype_arg = 0;
      if (frobenius) {
        if (in.Has(1)) dims = in.Ints(1);
        keepdim = in.Has(2) && in.Bool(2);
        dtype_arg = in.size();  // none
      } else if (base == "linalg_vector_norm") {
        if (!in.IsNone(2)) dims = in.Ints(2);
        keepdim = in.Bool(3);
        dtype_arg = 4;
      } else if (in.size() >= 4) {
        dims = in.Ints(2);
        keepdim = in.Bool(3);
        dtype_arg = 4;
      } else {
        dtype_arg = 2;
      }
      if (dims.empty()) {
        for (int i = 0; i < g_.value(x).type.rank(); ++i) dims.push_back(i);
      }
      jg::ValueId out =
          Emit1(f, node, kind, "norm", A({{"dims", dims}, {"keepdim", keepdim}, {"p", p}}), {x});
      if (!in.IsNone(dtype_arg)) {
        const jg::DType dtype = ToDType(static_cast<c10::ScalarType>(in.Int(dtype_arg)));
        if (dtype != g_.value(out).type.dtype)
          out = Emit1(f, node, kind, "cast", A({{"dtype", std::string(jg::DTypeName(dtype))}}),
                      {out});
      }
      return One(out);
    }
    // Pools.
    if (base == "adaptive_avg_pool2d" || base == "adaptive_max_pool2d") {
      std::vector<std::int64_t> size = PoolPair(in.Ints(1));
      const jg::ValueId out = Emit1(f, node, kind, base, A({{"output_size", size}}), {in.T(0)});
      if (base == "adaptive_max_pool2d") return {TensorSym(out), TensorSym(out)};
      return One(out);
    }
    if (base == "max_pool2d" || base == "max_pool2d_with_indices") {
      jg::Attributes a = A({{"kernel_size", PoolPair(in.Ints(1))}, {"stride", PoolPair(in.Ints(2))},
                            {"padding", PoolPair(in.Ints(3))}, {"dilation", PoolPair(in.Ints(4))},
                            {"ceil_mode", in.Bool(5)}});
      const jg::ValueId out = Emit1(f, node, kind, "max_pool2d", a, {in.T(0)});
      if (base == "max_pool2d_with_indices") return {TensorSym(out), TensorSym(out)};
      return One(out);
    }
    if (base == "avg_pool2d") {
      if (in.Has(6) && !in.IsNone(6)) Unsupported(f, node, kind + " with divisor_override");
      jg::Attributes a = A({{"kernel_size", PoolPair(in.Ints(1))}, {"stride", PoolPair(in.Ints(2))},
                            {"padding", PoolPair(in.Ints(3))}, {"ceil_mode", in.Bool(4)},
                            {"count_include_pad", in.Bool(5)}});
      return One(Emit1(f, node, kind, "avg_pool2d", a, {in.T(0)}));
    }
    // Free at inference.
    if (base == "dropout" || base == "feature_dropout" || base == "alpha_dropout" ||
        base == "feature_alpha_dropout") {
      return One(Emit1(f, node, kind, "dropout", A({{"p", in.Num(1)}}), {in.T(0)}));
    }
    // zero_: swin_v2's attention zeroes the key third of a cloned bias in place
    // (qkv_bias[length:2 * length].zero_()); filling with a constant is counted as free.
    if (base == "detach" || base == "clone" || base == "type_as" || base == "to" ||
        base == "alias" || base == "lift_fresh" || base == "float" || base == "half" ||
        base == "zero") {
      // Only a change of dtype is an operation: a copy (cast).
      std::optional<jg::DType> dtype;
      if (base == "to") {
        for (std::size_t i = 1; i < in.size() && i < 3; ++i) {
          if (in[i].IsConst() && in[i].value.isInt()) {
            dtype = ToDType(static_cast<c10::ScalarType>(in[i].value.toInt()));
            break;
          }
          if (in[i].IsTensor()) {
            dtype = in.Type(i).dtype;
            break;
          }
        }
      } else if (base == "type_as") {
        dtype = in.Type(1).dtype;
      } else if (base == "float") {
        dtype = jg::DType::kFloat32;
      } else if (base == "half") {
        dtype = jg::DType::kFloat16;
      }
      if (dtype && *dtype != in.Type(0).dtype) {
        return One(Emit1(f, node, kind, "cast", A({{"dtype", std::string(jg::DTypeName(*dtype))}}), {in.T(0)}));
      }
      return {in[0]};
    }
    // Shapes.
    if (base == "flatten") {
      return One(Emit1(f, node, kind, "flatten", A({{"start_dim", in.Int(1)}, {"end_dim", in.Int(2)}}), {in.T(0)}));
    }
    if (base == "view" || base == "reshape" || base == "_reshape_alias" || base == "view_as" ||
        base == "reshape_as" || base == "unflatten") {
      const jg::ValueId x = in.T(0);
      std::vector<std::int64_t> shape;
      if (base == "view_as" || base == "reshape_as") {
        shape = in.Type(1).dims;
      } else if (base == "unflatten") {
        const jg::Dims d = g_.value(x).type.dims;
        const int dim = jg::WrapDim(in.Int(1), static_cast<int>(d.size()));
        shape.assign(d.begin(), d.begin() + dim);
        for (std::int64_t s : in.Ints(2)) shape.push_back(s);
        shape.insert(shape.end(), d.begin() + dim + 1, d.end());
      } else {
        shape = in.Ints(1);
      }
      return One(Emit1(f, node, kind, "reshape", A({{"shape", Fixed(shape)}}), {x}));
    }
    if (base == "permute") return One(Emit1(f, node, kind, "permute", A({{"dims", in.Ints(1)}}), {in.T(0)}));
    if (base == "transpose" || base == "swapaxes") {
      return One(Emit1(f, node, kind, "transpose", A({{"dim0", in.Int(1)}, {"dim1", in.Int(2)}}), {in.T(0)}));
    }
    if (base == "t" || base == "numpy_T") {
      if (in.Type(0).rank() < 2) return {in[0]};
      return One(Emit1(f, node, kind, "transpose", A({{"dim0", std::int64_t{0}}, {"dim1", std::int64_t{1}}}), {in.T(0)}));
    }
    if (base == "contiguous") {
      if (jg::FindOp("contiguous") == nullptr) return {in[0]};
      return One(Emit1(f, node, kind, "contiguous", {}, {in.T(0)}));
    }
    if (base == "expand" || base == "expand_as") {
      const std::vector<std::int64_t> sizes = base == "expand" ? in.Ints(1) : in.Type(1).dims;
      return One(Emit1(f, node, kind, "expand", A({{"sizes", Fixed(sizes)}}), {in.T(0)}));
    }
    if (base == "unsqueeze") return One(Emit1(f, node, kind, "unsqueeze", A({{"dim", in.Int(1)}}), {in.T(0)}));
    if (base == "squeeze") {
      const jg::Dims d = in.Type(0).dims;
      if (in.Has(1)) {
        const int dim = jg::WrapDim(in.Int(1), static_cast<int>(d.size()));
        if (d.empty() || d[dim] != 1) return {in[0]};
        return One(Emit1(f, node, kind, "squeeze", A({{"dim", std::vector<std::int64_t>{in.Int(1)}}}), {in.T(0)}));
      }
      // Every size-1 dimension: which ones may depend on the batch (size 1), so the dims are
      // listed explicitly.
      std::vector<std::int64_t> ones;
      for (std::size_t i = 0; i < d.size(); ++i) if (d[i] == 1) ones.push_back(static_cast<std::int64_t>(i));
      if (ones.empty()) return {in[0]};
      return One(Emit1(f, node, kind, "squeeze", A({{"dim", ones}}), {in.T(0)}));
    }
    if (base == "cat" || base == "concat" || base == "concatenate") {
      const std::vector<jg::ValueId> xs = in.Tensors(0);
      if (xs.size() == 1) return One(xs[0]);
      return One(Emit1(f, node, kind, "cat", A({{"dim", in.Int(1)}}), xs));
    }
    if (base == "stack") return One(Emit1(f, node, kind, "stack", A({{"dim", in.Int(1)}}), in.Tensors(0)));
    if (base == "chunk" || base == "split" || base == "split_with_sizes" || base == "unsafe_chunk" ||
        base == "unsafe_split" || base == "tensor_split") {
      const jg::ValueId x = in.T(0);
      const jg::Dims d = g_.value(x).type.dims;
      const std::int64_t dim_arg = in.Int(2);
      const int dim = jg::WrapDim(dim_arg, static_cast<int>(d.size()));
      const std::int64_t size = d[dim];
      std::vector<std::int64_t> sizes;
      if (base == "chunk" || base == "unsafe_chunk") {
        const std::int64_t chunks = in.Int(1);
        if (chunks < 1) Fail(f, node, kind + ": chunks must be >= 1");
        const std::int64_t piece = (size + chunks - 1) / chunks;
        for (std::int64_t s = 0; s < size; s += piece) sizes.push_back(std::min(piece, size - s));
        if (sizes.empty()) sizes.push_back(0);
        std::vector<jg::ValueId> outs = Emit(f, node, kind, "chunk", A({{"chunks", chunks}, {"dim", dim_arg}}), {x},
                                             static_cast<int>(sizes.size()));
        return ListOrValues(outs, node);
      }
      if (base == "tensor_split") Unsupported(f, node, kind);
      if (in[1].IsConst() && in[1].value.isInt()) {
        const std::int64_t piece = in.Int(1);
        if (piece < 1) Fail(f, node, kind + ": split_size must be >= 1");
        for (std::int64_t s = 0; s < size; s += piece) sizes.push_back(std::min(piece, size - s));
      } else {
        sizes = in.Ints(1);
      }
      jg::Attributes a = A({{"dim", dim_arg}});
      if (in[1].IsConst() && in[1].value.isInt()) {
        a.Set("split_size", in.Int(1));
      } else {
        a.Set("sections", sizes);
      }
      std::vector<jg::ValueId> outs = Emit(f, node, kind, "split", a, {x}, static_cast<int>(sizes.size()));
      return ListOrValues(outs, node);
    }
    if (base == "unbind") {
      const jg::ValueId x = in.T(0);
      const std::int64_t dim = in.Int(1);
      const jg::Dims d = g_.value(x).type.dims;
      const std::int64_t n = d.at(jg::WrapDim(dim, static_cast<int>(d.size())));
      std::vector<jg::ValueId> outs;
      for (std::int64_t i = 0; i < n; ++i)
        outs.push_back(Emit1(f, node, kind, "select", A({{"dim", dim}, {"index", i}}), {x}));
      return ListOrValues(outs, node);
    }
    if (base == "slice") {
      const jg::ValueId x = in.T(0);
      const jg::Dims d = g_.value(x).type.dims;
      const std::int64_t dim = in.Int(1);
      const std::int64_t size = d.at(jg::WrapDim(dim, static_cast<int>(d.size())));
      std::int64_t start = in.IsNone(2) ? 0 : in.Int(2);
      std::int64_t end = in.IsNone(3) ? std::numeric_limits<std::int64_t>::max() : in.Int(3);
      const std::int64_t step = in.Has(4) ? in.Int(4) : 1;
      if (start < 0) start += size;
      if (end < 0) end += size;
      start = std::clamp<std::int64_t>(start, 0, size);
      end = std::clamp<std::int64_t>(end, start, size);
      // x[:, ...]: the whole dimension (the batch, often) is no operation.
      if (start == 0 && end == size && step == 1) return {in[0]};
      return One(Emit1(f, node, kind, "slice", A({{"dim", dim}, {"start", start}, {"end", end}, {"step", step}}), {x}));
    }
    if (base == "select") return One(Emit1(f, node, kind, "select", A({{"dim", in.Int(1)}, {"index", in.Int(2)}}), {in.T(0)}));
    if (base == "constant_pad_nd" || base == "pad" || base == "reflection_pad2d" ||
        base == "replication_pad2d" || base == "reflection_pad1d" || base == "replication_pad1d") {
      std::string mode = "constant";
      double value = 0.0;
      if (base == "constant_pad_nd") {
        if (in.Has(2) && !in.IsNone(2)) value = in.Num(2);
      } else if (base == "pad") {
        mode = in.Has(2) ? in.Str(2) : "constant";
        if (in.Has(3) && !in.IsNone(3)) value = in.Num(3);
      } else {
        mode = base.rfind("reflection", 0) == 0 ? "reflect" : "replicate";
      }
      return One(Emit1(f, node, kind, "pad", A({{"pads", in.Ints(1)}, {"mode", mode}, {"value", value}}), {in.T(0)}));
    }
    if (base == "roll") {
      return One(Emit1(f, node, kind, "roll", A({{"shifts", in.Ints(1)}, {"dims", in.Ints(2)}}), {in.T(0)}));
    }
    if (base == "index") {
      // table[idx] with one integer index tensor on dimension 0: an embedding lookup.
      const Sym& list = in[1];
      std::vector<Sym> idx;
      if (list.kind == Sym::Kind::kList) idx = *list.items;
      if (idx.size() == 1 && !(idx[0].IsConst() && idx[0].value.isNone())) {
        Sym i = idx[0];
        const jg::ValueId iv = Tensor(i, f, node);
        if (!jg::IsFloating(g_.value(iv).type.dtype) && g_.value(iv).type.dtype != jg::DType::kBool)
          return One(Emit1(f, node, kind, "embedding", {}, {iv, in.T(0)}));
      }
      Unsupported(f, node, kind + " (only table[index_tensor] on the first dimension)");
    }
    if (base == "_native_multi_head_attention") {
      // (query, key, value, embed_dim, num_head, qkv_weight, qkv_bias, proj_weight, proj_bias,
      //  mask, need_weights, average_attn_weights, mask_type) -> (output, weights)
      const bool need_weights = in.Bool(10);
      jg::Attributes a = A({{"num_heads", in.Int(4)}, {"need_weights", need_weights},
                            {"average_attn_weights", in.Bool(11)}});
      const std::vector<jg::ValueId> outs =
          Emit(f, node, kind, "multi_head_attention", a,
               {in.T(0), in.T(1), in.T(2), in.T(5), in.OptT(6), in.T(7), in.OptT(8), in.OptT(9)},
               need_weights ? 2 : 1);
      std::vector<Sym> r = {TensorSym(outs[0])};
      if (outs.size() > 1) {
        r.push_back(TensorSym(outs[1]));
      } else {
        r.push_back(Const(c10::IValue()));
      }
      return r;
    }
    if (base == "_transformer_encoder_layer_fwd") {
      // (src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu,
      //  norm_first, eps, norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2, ffn_weight_1,
      //  ffn_bias_1, ffn_weight_2, ffn_bias_2, mask, mask_type)
      jg::Attributes a = A({{"num_heads", in.Int(2)}, {"use_gelu", in.Bool(7)},
                            {"norm_first", in.Bool(8)}, {"eps", in.Num(9)}});
      std::vector<jg::ValueId> inputs = {in.T(0)};
      for (std::size_t i = 3; i <= 6; ++i) inputs.push_back(in.T(i));
      for (std::size_t i = 10; i <= 17; ++i) inputs.push_back(in.T(i));
      inputs.push_back(in.OptT(18));
      return One(Emit1(f, node, kind, "transformer_encoder_layer", a, inputs));
    }
    if (base == "scaled_dot_product_attention") {
      return One(Emit1(f, node, kind, "scaled_dot_product_attention",
                       A({{"is_causal", in.Has(5) ? in.Bool(5) : false}}),
                       {in.T(0), in.T(1), in.T(2), in.OptT(3)}));
    }
    if (base == "channel_shuffle" || base == "native_channel_shuffle") {
      return One(Emit1(f, node, kind, "channel_shuffle", A({{"groups", in.Int(1)}}), {in.T(0)}));
    }
    if (base == "upsample_nearest2d" || base == "upsample_bilinear2d" || base == "upsample_bicubic2d" ||
        base == "upsample_nearest1d" || base == "upsample_linear1d" || base == "_upsample_nearest_exact2d") {
      // (input, output_size?, [align_corners,] scale_factors?) or (..., scales_h?, scales_w?)
      std::string mode = base.find("nearest_exact") != std::string::npos ? "nearest-exact"
                         : base.find("nearest") != std::string::npos     ? "nearest"
                         : base.find("bilinear") != std::string::npos    ? "bilinear"
                         : base.find("bicubic") != std::string::npos     ? "bicubic"
                                                                         : "linear";
      const bool corners = mode != "nearest" && mode != "nearest-exact";
      jg::Attributes a = A({{"mode", mode}});
      if (corners && in.Has(2) && in[2].IsConst() && in[2].value.isBool()) a.Set("align_corners", in.Bool(2));
      if (!in.IsNone(1)) {
        a.Set("size", in.Ints(1));
      } else {
        std::vector<double> scales;
        for (std::size_t i = corners ? 3 : 2; i < in.size(); ++i) {
          if (in.IsNone(i)) continue;
          const c10::IValue& v = in[i].value;
          if (v.isDoubleList()) {
            for (double d : v.toDoubleVector()) scales.push_back(d);
          } else {
            scales.push_back(in.Num(i));
          }
        }
        if (scales.empty()) Unsupported(f, node, kind + " without output_size or scale factors");
        a.Set("scale_factor", scales);
      }
      return One(Emit1(f, node, kind, "interpolate", a, {in.T(0)}));
    }
    Unsupported(f, node, kind);
  }

  // A multi-output operation: one result per output (prim::ListUnpack after it, or a list).
  std::vector<Sym> ListOrValues(const std::vector<jg::ValueId>& outs, const tj::Node* node) {
    std::vector<Sym> items;
    for (jg::ValueId v : outs) items.push_back(TensorSym(v));
    if (node->outputs().size() == items.size() && items.size() != 1) return items;
    return {ListSym(items)};
  }

  tj::Module root_;
  jg::Dims input_;
  jg::DType dtype_;
  jg::Graph g_;
  int constants_ = 0;
  int depth_ = 0;
};

std::string ToGraphJson(const std::string& path, const std::int64_t* input, int rank,
                        const char* input_dtype) {
  tj::Module module;
  try {
    module = tj::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw LowerError("cannot read TorchScript: " + FirstLineNoTabs(e.what_without_backtrace()));
  }
  module.eval();
  if (rank < 1) throw LowerError("input: expected the batch dimension and the sample's sizes");
  jg::Dims dims(input, input + rank);
  for (std::int64_t d : dims)
    if (d < 1) throw LowerError("input: expected positive sizes, got " + jg::FormatDims(dims));
  const jg::DType dtype = input_dtype && *input_dtype ? jg::ParseDType(input_dtype) : jg::DType::kFloat32;
  const std::string name = std::filesystem::path(path).stem().string();
  const std::string description =
      "TorchScript " + std::filesystem::path(path).filename().string() + ": " + QualifiedClass(module);
  const std::int64_t batch = dims[0];
  jg::Graph g = Lowerer(module, dims, dtype).Run(name, description);
  std::optional<jg::Graph> next;
  try {
    jg::Dims more = dims;
    more[0] = batch + 1;
    next = Lowerer(module, more, dtype).Run(name, description);
  } catch (const std::exception&) {
    next.reset();  // a model that accepts only this batch: its sizes stay fixed
  }
  if (next && !jg::MergeBatch(g, *next, batch)) {
    g.description += " (its structure depends on the batch size; lowered at batch " + std::to_string(batch) + ")";
  }
  // The readers' shared fusion rules (joulecast/graph/fuse.h): torchvision's traced
  // channel_shuffle (view, transpose, contiguous, view) becomes one channel_shuffle node.
  jg::FuseGraph(g);
  return jg::GraphToJson(g).dump();
}

char* Duplicate(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int joulecast_torchscript_to_graph_json(
    const char* path, const std::int64_t* input, int rank, const char* input_dtype,
    char** json_out, char** error_out) {
  *json_out = nullptr;
  *error_out = nullptr;
  try {
    if (path == nullptr || rank < 0 || (rank > 0 && input == nullptr)) throw LowerError("invalid arguments");
    *json_out = Duplicate(ToGraphJson(path, input, rank, input_dtype));
    return *json_out == nullptr ? (*error_out = Duplicate("out of memory"), 1) : 0;
  } catch (const c10::Error& e) {
    *error_out = Duplicate(FirstLineNoTabs(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    *error_out = Duplicate(FirstLineNoTabs(e.what()));
  } catch (...) {
    *error_out = Duplicate("unknown error");
  }
  return 1;
}

}  // extern "C"
