// The ONNX reader (joulecast/onnx/onnx_reader.h): libonnx parses, checks and infers shapes; this
// file lowers the nodes onto the operator registry.
//
// Lowering, per ONNX operator (default domain, opsets 11-17; `x` a tensor computed from the
// inputs, W an initializer). Any node whose inputs are all constants is evaluated instead
// (onnx_eval.cpp), and Shape/Size of anything give constants: so shape computations never reach
// the graph.
//   Conv                     conv2d / conv1d (pads per side: asymmetric ones as a pad node
//                            first; auto_pad SAME_UPPER/SAME_LOWER/VALID computed)
//   Gemm                     linear (transB, C of [N] as the bias; alpha and beta other than 1 as
//                            mul nodes, transA as a transpose); with a computed B: matmul
//   MatMul                   with W^T (Transpose of a 2-d initializer, or an initializer read only
//                            as MatMul's right operand, which is then W stored transposed): linear,
//                            and an Add of a 1-d initializer of N that is the product's only
//                            reader becomes its bias (PyTorch's nn.Linear on 3-d input);
//                            otherwise matmul
//   BatchNormalization       batch_norm (inference only)
//   LayerNormalization       layer_norm (opset 17) over the dimensions from `axis`
//   InstanceNormalization    group_norm with one group per channel
//   Relu Sigmoid Tanh Erf Exp Log Sqrt Reciprocal Neg Abs Sin Cos Softplus Elu LeakyRelu
//   HardSwish                the registry's element-wise operator of that name
//   HardSigmoid              hardsigmoid at PyTorch's alpha 1/6, beta 1/2; otherwise mul, add,
//                            clamp [0, 1]
//   Clip                     relu6 for [0, 6], clamp otherwise (bounds must be constants)
//   Add Sub Mul Div Pow      add sub mul div pow; a one-element constant operand (a Constant,
//                            or an initializer of one element) is the `scalar` attribute
//   Max Min Sum              maximum / minimum (a scalar bound: clamp), add
//   Where                    where
//   Softmax LogSoftmax       softmax / log_softmax (below opset 13 the last axis only)
//   ReduceMean ReduceSum ReduceMax ReduceMin ReduceL2 ReduceL1
//                            mean sum amax amin norm(p=2) norm(p=1)
//   GlobalAveragePool GlobalMaxPool  adaptive_avg_pool2d / adaptive_max_pool2d to 1x1
//   MaxPool AveragePool      max_pool2d / avg_pool2d (2-d, symmetric pads, ceil_mode); an
//                            AveragePool of kernel 1, stride 1 and no padding is
//                            adaptive_avg_pool2d to its input's size (what torch.onnx exports
//                            AdaptiveAvgPool2d to when the input already has the output size, e.g.
//                            VGG's and AlexNet's)
//   Flatten                  flatten (axis 1) or reshape to 2-d
//   Reshape Expand           reshape / expand to the computed sizes (batch-scaled entries found
//                            by lowering at two batch sizes)
//   Transpose                transpose (one swap) or permute; none for the identity; of a 2-d
//                            initializer, pending (see MatMul)
//   Squeeze Unsqueeze        squeeze / unsqueeze (one node per inserted axis)
//   Concat Split Slice       cat / split / slice (one node per sliced axis; full ranges none)
//   Gather                   select (scalar index), slice (one index), embedding (indices into
//                            a 2-d table on axis 0)
//   Pad                      pad (constant, reflect, edge as replicate)
//   Resize                   interpolate (nearest, linear as bilinear, cubic as bicubic)
//   Einsum                   einsum (two operands)
//   Identity                 nothing; Dropout: dropout; Cast: cast when the type changes
// Anything else, another domain, training-mode nodes and optional outputs the registry lacks
// (MaxPool's indices, LayerNormalization's statistics) are refused, naming the operator and the
// node. Initializers become values when a node reads them as tensors: parameters, except
// buffers: integer tensors, BatchNormalization's running statistics, and tensors read only as
// the left operand of MatMul, Gemm or Conv (a constant input, e.g. swin_v2's coordinate table);
// a floating initializer that no node reads counts as a parameter (PyTorch counts it).
// Constants that reach the graph are buffers "<scope>.constant<k>".
#include "joulecast/onnx/onnx_reader.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "joulecast/graph/attributes.h"
#include "joulecast/graph/batch_merge.h"
#include "joulecast/graph/fuse.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/graph/tensor_type.h"
#include "joulecast/io/first_line.h"
#include "onnx_eval.h"

namespace joulecast::onnx_reader {
namespace {

namespace jg = joulecast::graph;
using TP = onnx::TensorProto;

class ReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string F(const Dims& d) { return jg::FormatDims(d); }

// A float attribute as the double its shortest decimal form names (1e-5f -> 1e-05, not
// 9.99999974e-06), as PyTorch wrote it.
double Dec(float f) { return std::stod(fmt::format("{}", f)); }

jg::DType ToDType(int elem) {
  switch (elem) {
    case TP::FLOAT:
      return jg::DType::kFloat32;
    case TP::FLOAT16:
      return jg::DType::kFloat16;
    case TP::BFLOAT16:
      return jg::DType::kBFloat16;
    case TP::DOUBLE:
      return jg::DType::kFloat64;
    case TP::INT64:
      return jg::DType::kInt64;
    case TP::INT32:
      return jg::DType::kInt32;
    case TP::BOOL:
      return jg::DType::kBool;
    case TP::UINT8:
      return jg::DType::kUInt8;
    default:
      throw ReadError("unsupported tensor type " + ElemName(elem));
  }
}

// PyTorch's exporter names nodes by the module path: "/layer1/layer1.0/conv1/Conv" ran in module
// "layer1.0.conv1" (each component is the child's name, or its full path below the parent).
std::string ScopeOf(const std::string& name) {
  if (name.empty() || name[0] != '/') return "";
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    parts.push_back(name.substr(start, end - start));
    start = end + 1;
  }
  parts.pop_back();  // the operator's own name
  std::string path;
  for (const std::string& c : parts) {
    if (c.empty()) continue;
    if (!path.empty() && c.rfind(path + ".", 0) == 0) {
      path = c;
    } else {
      path = path.empty() ? c : path + "." + c;
    }
  }
  return path;
}

// libonnx's checker and shape inference write warnings to std::cerr (e.g. "Checker does not
// support models with experimental ops"); the CLI's stderr holds joulecast's own lines only, and
// what such a model lacks is reported as an error anyway. This mutes std::cerr while it lives.
class QuietCerr {
 public:
  QuietCerr() : old_(std::cerr.rdbuf(sink_.rdbuf())) {}
  ~QuietCerr() { std::cerr.rdbuf(old_); }
  QuietCerr(const QuietCerr&) = delete;
  QuietCerr& operator=(const QuietCerr&) = delete;

 private:
  std::ostringstream sink_;
  std::streambuf* old_;
};

// Whether an initializer's values can be read without copying them.
bool HasReadableData(const TP& t) {
  if (t.data_location() == TP::EXTERNAL) return false;
  const std::int64_t n = Elements(Dims(t.dims().begin(), t.dims().end()));
  if (n < 0) return false;
  const auto count = static_cast<std::size_t>(n);
  int bytes = 0;
  switch (t.data_type()) {
    case TP::FLOAT:
    case TP::INT32:
    case TP::UINT32:
      bytes = 4;
      break;
    case TP::DOUBLE:
    case TP::INT64:
    case TP::UINT64:
      bytes = 8;
      break;
    case TP::FLOAT16:
    case TP::BFLOAT16:
    case TP::INT16:
    case TP::UINT16:
      bytes = 2;
      break;
    case TP::INT8:
    case TP::UINT8:
    case TP::BOOL:
      bytes = 1;
      break;
    default:
      return false;
  }
  if (t.has_raw_data() && !t.raw_data().empty())
    return t.raw_data().size() == count * static_cast<std::size_t>(bytes);
  switch (t.data_type()) {
    case TP::FLOAT:
      return static_cast<std::size_t>(t.float_data_size()) == count;
    case TP::DOUBLE:
      return static_cast<std::size_t>(t.double_data_size()) == count;
    case TP::INT64:
      return static_cast<std::size_t>(t.int64_data_size()) == count;
    case TP::UINT64:
    case TP::UINT32:
      return static_cast<std::size_t>(t.uint64_data_size()) == count;
    default:
      return static_cast<std::size_t>(t.int32_data_size()) == count;
  }
}

struct InitInfo {
  const TP* tensor = nullptr;  // its values are readable; null: shape-only
  int elem = TP::FLOAT;
  Dims dims;
  bool buffer = false;
  bool transposed_weight = false;  // 2-d, read only as MatMul's right operand: W^T stored
  bool read = false;               // some node reads it
};

struct InputPlan {
  std::string name;
  int elem = TP::FLOAT;
  Dims dims;
  int batch_dim = -1;
};

// The model after parsing, normalisation and checking; shared by the lowerings.
struct Model {
  onnx::ModelProto proto;
  int opset = 0;
  std::map<std::string, InitInfo> inits;
  std::vector<const onnx::ValueInfoProto*> inputs;  // graph inputs that are no initializer
  std::unordered_map<std::string, std::vector<int>> consumers;  // value -> nodes reading it
  std::set<std::string> outputs;
};

void Prepare(const std::string& bytes, Model& m) {
  if (!m.proto.ParseFromString(bytes))
    throw ReadError("not an ONNX model (protobuf parsing failed: a truncated or corrupt file)");
  if (!m.proto.has_graph()) throw ReadError("not an ONNX model (it has no graph)");
  onnx::GraphProto* g = m.proto.mutable_graph();
  if (g->sparse_initializer_size() > 0) throw ReadError("sparse initializers are not supported");
  // Shape-only initializers become typed inputs of the same name (see onnx_reader.h).
  std::set<std::string> input_names;
  for (const auto& in : g->input()) input_names.insert(in.name());
  google::protobuf::RepeatedPtrField<TP> kept;
  for (const TP& t : g->initializer()) {
    if (HasReadableData(t)) {
      *kept.Add() = t;
      continue;
    }
    if (!input_names.count(t.name())) {
      onnx::ValueInfoProto* in = g->add_input();
      in->set_name(t.name());
      onnx::TypeProto_Tensor* tt = in->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(t.data_type());
      onnx::TensorShapeProto* shape = tt->mutable_shape();
      for (std::int64_t d : t.dims()) shape->add_dim()->set_dim_value(d);
      input_names.insert(t.name());
    }
    InitInfo info;
    info.elem = t.data_type();
    info.dims.assign(t.dims().begin(), t.dims().end());
    m.inits[t.name()] = info;
  }
  g->mutable_initializer()->Swap(&kept);
  try {
    const QuietCerr quiet;
    onnx::checker::check_model(m.proto);
  } catch (const std::exception& e) {
    throw ReadError("invalid ONNX model: " + FirstLineNoTabs(e.what()));
  }
  m.opset = -1;
  for (const auto& o : m.proto.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") m.opset = static_cast<int>(o.version());
  if (m.opset < 0) throw ReadError("the model imports no opset of the default ONNX domain");
  if (m.opset < kMinOpset || m.opset > kMaxOpset)
    throw ReadError("ONNX opset " + std::to_string(m.opset) +
                    " is not supported (this reader reads opsets " + std::to_string(kMinOpset) +
                    " to " + std::to_string(kMaxOpset) + ")");
  for (const TP& t : m.proto.graph().initializer()) {
    InitInfo info;
    info.tensor = &t;
    info.elem = t.data_type();
    info.dims.assign(t.dims().begin(), t.dims().end());
    m.inits[t.name()] = info;
  }
  for (const auto& in : m.proto.graph().input())
    if (!m.inits.count(in.name())) m.inputs.push_back(&in);
  for (const auto& out : m.proto.graph().output()) m.outputs.insert(out.name());

  // Who reads what; an initializer's readers through Identity nodes (deduplicated weights).
  const auto& nodes = m.proto.graph().node();
  std::unordered_map<std::string, std::string> alias;  // Identity output -> initializer
  auto root = [&](const std::string& v) {
    const auto it = alias.find(v);
    return it == alias.end() ? v : it->second;
  };
  std::map<std::string, std::vector<std::pair<std::string, int>>> uses;
  for (int i = 0; i < nodes.size(); ++i) {
    const onnx::NodeProto& n = nodes[i];
    for (int k = 0; k < n.input_size(); ++k) {
      if (n.input(k).empty()) continue;
      m.consumers[n.input(k)].push_back(i);
      const std::string r = root(n.input(k));
      if (!m.inits.count(r)) continue;
      if (n.op_type() == "Identity" && n.output_size() == 1) {
        alias[n.output(0)] = r;
        continue;
      }
      uses[r].push_back({n.op_type(), k});
    }
  }
  for (auto& [name, info] : m.inits) {
    const auto it = uses.find(name);
    if (it == uses.end()) continue;
    info.read = true;
    bool stats = true, data = true, right = true;
    for (const auto& [op, k] : it->second) {
      stats = stats && op == "BatchNormalization" && (k == 3 || k == 4);
      data = data && (op == "MatMul" || op == "Gemm" || op == "Conv") && k == 0;
      right = right && op == "MatMul" && k == 1;
    }
    info.buffer = !IsFloatingElem(info.elem) || stats || data;
    info.transposed_weight = right && info.dims.size() == 2 && IsFloatingElem(info.elem);
  }
}

// The concrete shape of every graph input at batch `batch` (see onnx_reader.h).
std::vector<InputPlan> PlanInputs(const Model& m, const Options& o, std::int64_t batch,
                                  bool& dynamic_batch) {
  dynamic_batch = false;
  std::vector<InputPlan> plan;
  if (!o.sample.empty() && m.inputs.empty())
    throw ReadError("--input gives a shape, but the model has no input");
  for (std::size_t k = 0; k < m.inputs.size(); ++k) {
    const onnx::ValueInfoProto& in = *m.inputs[k];
    if (!in.type().has_tensor_type()) throw ReadError("input '" + in.name() + "' is not a tensor");
    const auto& tt = in.type().tensor_type();
    InputPlan p;
    p.name = in.name();
    p.elem = tt.elem_type();
    ToDType(p.elem);  // refuses types the graph cannot hold
    if (!tt.has_shape()) throw ReadError("input '" + in.name() + "' has no shape");
    const int rank = tt.shape().dim_size();
    if (k == 0 && !o.sample.empty() && static_cast<int>(o.sample.size()) != rank - 1) {
      throw ReadError("--input gives " + std::to_string(o.sample.size()) + " sizes, but input '" +
                      in.name() + "' has " + std::to_string(std::max(rank - 1, 0)) +
                      " after the batch dimension");
    }
    for (int j = 0; j < rank; ++j) {
      const auto& dim = tt.shape().dim(j);
      const std::string label =
          "input '" + in.name() + "' dimension " + std::to_string(j) +
          (dim.has_dim_param() && !dim.dim_param().empty() ? " ('" + dim.dim_param() + "')" : "");
      if (dim.has_dim_value()) {
        const std::int64_t v = dim.dim_value();
        if (v < 1) throw ReadError(label + " has size " + std::to_string(v));
        if (j == 0 && k == 0 && v != o.batch) {
          throw ReadError(
              "input '" + in.name() + "' has a fixed batch size of " + std::to_string(v) +
              " (dimension 0); the model reads that batch only: give -b " + std::to_string(v));
        }
        if (k == 0 && j > 0 && !o.sample.empty() && o.sample[j - 1] != v) {
          throw ReadError(label + " is " + std::to_string(v) + " in the model, but --input gives " +
                          std::to_string(o.sample[j - 1]));
        }
        p.dims.push_back(v);
        continue;
      }
      std::int64_t v = 0;
      if (j == 0) {
        v = batch;
        p.batch_dim = 0;
        dynamic_batch = true;
      } else if (k == 0 && !o.sample.empty()) {
        v = o.sample[j - 1];
      } else if (!IsFloatingElem(p.elem) && j == 1 && o.seq_len > 0) {
        v = o.seq_len;
      } else if (!IsFloatingElem(p.elem) && j == 1) {
        throw ReadError(label + " is dynamic: give the sequence length with --seq-len");
      } else if (k == 0) {
        throw ReadError(label + " is dynamic: give the per-sample shape with --input");
      } else {
        throw ReadError(label +
                        " is dynamic, and no flag gives it (-b gives dimension 0, --input the "
                        "first input's others, --seq-len dimension 1 of token inputs)");
      }
      if (v < 1 || v > jg::kMaxSize)
        throw ReadError(label + ": size " + std::to_string(v) + " is out of range");
      p.dims.push_back(v);
    }
    if (k == 0 && rank > 0 && tt.shape().dim(0).has_dim_value()) p.batch_dim = -1;
    if (Elements(p.dims) < 0)
      throw ReadError("input '" + in.name() + "' has more than 2^53 elements");
    plan.push_back(std::move(p));
  }
  return plan;
}

// ONNX's shape inference at the planned input shapes: fully known shapes by value name.
std::unordered_map<std::string, Dims> InferOnnxShapes(const Model& m,
                                                      const std::vector<InputPlan>& plan) {
  onnx::ModelProto copy = m.proto;
  onnx::GraphProto* g = copy.mutable_graph();
  g->clear_value_info();
  for (auto& in : *g->mutable_input()) {
    for (const InputPlan& p : plan) {
      if (p.name != in.name()) continue;
      onnx::TensorShapeProto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
      shape->clear_dim();
      for (std::int64_t d : p.dims) shape->add_dim()->set_dim_value(d);
    }
  }
  try {
    const onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1,
                                              /*data_prop=*/true);
    const QuietCerr quiet;
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw ReadError("ONNX shape inference failed: " + FirstLineNoTabs(e.what()));
  }
  std::unordered_map<std::string, Dims> out;
  auto record = [&](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return;
    Dims d;
    for (const auto& dim : v.type().tensor_type().shape().dim()) {
      if (!dim.has_dim_value()) return;
      d.push_back(dim.dim_value());
    }
    out[v.name()] = std::move(d);
  };
  for (const auto& v : g->value_info()) record(v);
  for (const auto& v : g->output()) record(v);
  return out;
}

class Lowerer {
 public:
  Lowerer(const Model& m, const std::vector<InputPlan>& plan) : m_(m), plan_(plan) {}

  // After Run: ONNX's shape inference (`inferred`, fully known shapes by value name) against the
  // shape the lowering gave each node output. Throws naming the node.
  void CheckShapes(const std::unordered_map<std::string, Dims>& inferred) {
    for (const auto& [name, have] : lowered_) {
      const auto want = inferred.find(name);
      if (want == inferred.end() || want->second == have.second) continue;
      index_ = have.first;
      node_ = &m_.proto.graph().node(have.first);
      Fail("output '" + name + "' is " + F(have.second) + " by joulecast's shape rules but " +
           F(want->second) + " by ONNX shape inference");
    }
    node_ = nullptr;
  }

  jg::Graph Run(const std::string& name, const std::string& description) {
    g_.name = name;
    g_.description = description;
    for (const InputPlan& p : plan_) {
      const jg::ValueId v =
          g_.AddInput(p.name, jg::TensorType{ToDType(p.elem), p.dims}, p.batch_dim);
      env_[p.name] = TensorSym(v);
    }
    for (const auto& [name, info] : m_.inits) {
      Sym s;
      s.kind = Sym::Kind::kInit;
      s.init = name;
      if (info.tensor != nullptr && !IsFloatingElem(info.elem)) {
        std::optional<Const> c;
        try {
          c = ReadTensor(*info.tensor);
        } catch (const std::exception&) {
          c.reset();
        }
        if (c) s = ConstSym(std::move(*c));
      }
      env_[name] = std::move(s);
    }
    const auto& nodes = m_.proto.graph().node();
    skip_.assign(static_cast<std::size_t>(nodes.size()), false);
    for (int i = 0; i < nodes.size(); ++i) {
      if (skip_[i]) continue;
      index_ = i;
      node_ = &nodes[i];
      scope_ = ScopeOf(node_->name());
      LowerNode();
      RecordShapes();
    }
    node_ = nullptr;
    int marked = 0;
    for (const auto& out : m_.proto.graph().output()) {
      const auto it = env_.find(out.name());
      if (it == env_.end()) throw ReadError("graph output '" + out.name() + "' is never computed");
      if (it->second.kind == Sym::Kind::kConst) continue;  // a constant: nothing is computed
      g_.MarkOutput(Materialize(it->second));
      ++marked;
    }
    if (marked == 0) throw ReadError("the graph computes no output from its inputs");
    // Floating initializers no node reads count as parameters, as PyTorch counts them.
    for (const auto& [name, info] : m_.inits) {
      if (info.read || !IsFloatingElem(info.elem) || g_.FindValue(name) >= 0) continue;
      g_.AddParameter(name, jg::TensorType{ToDType(info.elem), info.dims}, false);
    }
    return std::move(g_);
  }

 private:
  struct Sym {
    enum class Kind { kConst, kTensor, kInit };
    Kind kind = Kind::kConst;
    std::shared_ptr<const Const> c;  // kConst
    jg::ValueId v = jg::kNoValue;    // kTensor
    std::string init;                // kInit: the initializer
    bool transposed = false;         // kInit: Transpose(W) of a 2-d initializer, not emitted
  };

  static Sym TensorSym(jg::ValueId v) {
    Sym s;
    s.kind = Sym::Kind::kTensor;
    s.v = v;
    return s;
  }
  static Sym ConstSym(Const c) {
    Sym s;
    s.c = std::make_shared<const Const>(std::move(c));
    return s;
  }

  // --- errors -------------------------------------------------------------------------------

  std::string Label() const {
    if (node_ == nullptr) return "graph";
    const std::string name =
        node_->name().empty() ? "#" + std::to_string(index_) : "'" + node_->name() + "'";
    return "node " + name + " (" + node_->op_type() + ")";
  }
  [[noreturn]] void Fail(const std::string& m) const { throw ReadError(Label() + ": " + m); }
  [[noreturn]] void Unsupported(const std::string& detail = "") const {
    const std::string op = node_->domain().empty() || node_->domain() == "ai.onnx"
                               ? node_->op_type()
                               : node_->domain() + "." + node_->op_type();
    const std::string name =
        node_->name().empty() ? "#" + std::to_string(index_) : "'" + node_->name() + "'";
    throw ReadError("unsupported ONNX operator " + op +
                    (detail.empty() ? "" : " (" + detail + ")") + " at node " + name);
  }

  // --- inputs -------------------------------------------------------------------------------

  bool Has(int k) const { return k < node_->input_size() && !node_->input(k).empty(); }
  Sym& S(int k) {
    if (!Has(k)) Fail("input " + std::to_string(k) + " is missing");
    const auto it = env_.find(node_->input(k));
    if (it == env_.end()) Fail("input '" + node_->input(k) + "' is never computed");
    return it->second;
  }
  Dims DimsOf(const Sym& s) const {
    switch (s.kind) {
      case Sym::Kind::kConst:
        return s.c->dims;
      case Sym::Kind::kTensor:
        return g_.value(s.v).type.dims;
      case Sym::Kind::kInit: {
        Dims d = m_.inits.at(s.init).dims;
        if (s.transposed) std::reverse(d.begin(), d.end());
        return d;
      }
    }
    return {};
  }
  Dims DimsOf(int k) { return DimsOf(S(k)); }
  int RankOf(int k) { return static_cast<int>(DimsOf(k).size()); }
  int ElemOf(const Sym& s) const {
    switch (s.kind) {
      case Sym::Kind::kConst:
        return s.c->elem;
      case Sym::Kind::kTensor: {
        switch (g_.value(s.v).type.dtype) {
          case jg::DType::kFloat32:
            return TP::FLOAT;
          case jg::DType::kFloat16:
            return TP::FLOAT16;
          case jg::DType::kBFloat16:
            return TP::BFLOAT16;
          case jg::DType::kFloat64:
            return TP::DOUBLE;
          case jg::DType::kInt64:
            return TP::INT64;
          case jg::DType::kInt32:
            return TP::INT32;
          case jg::DType::kBool:
            return TP::BOOL;
          case jg::DType::kUInt8:
            return TP::UINT8;
        }
        return TP::FLOAT;
      }
      case Sym::Kind::kInit:
        return m_.inits.at(s.init).elem;
    }
    return TP::FLOAT;
  }
  // The values of input k, when known: a constant, or an initializer with data.
  std::optional<Const> ValueOf(int k) {
    if (!Has(k)) return std::nullopt;
    const Sym& s = S(k);
    if (s.kind == Sym::Kind::kConst) return *s.c;
    if (s.kind == Sym::Kind::kInit && !s.transposed) {
      const InitInfo& info = m_.inits.at(s.init);
      if (info.tensor == nullptr) return std::nullopt;
      try {
        return ReadTensor(*info.tensor);
      } catch (const std::exception& e) {
        Fail(FirstLineNoTabs(e.what()));
      }
    }
    return std::nullopt;
  }
  Const Need(int k, const std::string& what) {
    std::optional<Const> c = ValueOf(k);
    if (!c) {
      Fail("input " + std::to_string(k) + " ('" + (Has(k) ? node_->input(k) : std::string()) +
           "', " + what +
           ") must be a constant; it is computed from the graph's inputs or has no data");
    }
    return *c;
  }
  double NeedScalar(int k, const std::string& what) {
    const Const c = Need(k, what);
    if (c.size() != 1) Fail(what + " must have one element, it has " + std::to_string(c.size()));
    return c.F(0);
  }
  // A one-element constant operand of an element-wise operator.
  std::optional<double> ScalarOperand(int k) {
    const Sym& s = S(k);
    if (s.kind == Sym::Kind::kTensor || s.transposed) return std::nullopt;
    if (s.kind == Sym::Kind::kInit) {
      const Dims& d = m_.inits.at(s.init).dims;
      if (Elements(d) != 1) return std::nullopt;
    }
    const std::optional<Const> c = ValueOf(k);
    if (!c || c->size() != 1) return std::nullopt;
    const double v = c->F(0);
    if (!std::isfinite(v)) return std::nullopt;
    return c->elem == TP::FLOAT ? Dec(static_cast<float>(v)) : v;
  }

  // The graph value of `s`: declares an initializer or a constant, emits a pending transpose.
  jg::ValueId Materialize(Sym& s) {
    switch (s.kind) {
      case Sym::Kind::kTensor:
        return s.v;
      case Sym::Kind::kConst: {
        const auto it = const_values_.find(s.c.get());
        if (it != const_values_.end()) return it->second;
        const std::string name = FreeName((scope_.empty() ? "" : scope_ + ".") + "constant" +
                                          std::to_string(constants_++));
        const jg::ValueId v =
            g_.AddParameter(name, jg::TensorType{ToDType(s.c->elem), s.c->dims}, true);
        const_values_[s.c.get()] = v;
        return v;
      }
      case Sym::Kind::kInit: {
        const jg::ValueId base = InitValue(s.init);
        if (!s.transposed) return base;
        jg::Attributes a;
        a.Set("dim0", std::int64_t{0});
        a.Set("dim1", std::int64_t{1});
        const jg::ValueId t = Emit("transpose", a, {base});
        s = TensorSym(t);
        return t;
      }
    }
    return jg::kNoValue;
  }
  jg::ValueId T(int k) { return Materialize(S(k)); }
  jg::ValueId OptT(int k) { return Has(k) ? T(k) : jg::kNoValue; }

  // The value of an initializer (declared once), with its own dims or, for a weight stored
  // transposed, [N, K].
  jg::ValueId InitValue(const std::string& name) {
    const auto it = init_values_.find(name);
    if (it != init_values_.end()) return it->second;
    const InitInfo& info = m_.inits.at(name);
    Dims dims = info.dims;
    if (info.transposed_weight) std::reverse(dims.begin(), dims.end());
    jg::TensorType type{ToDType(info.elem), dims};
    std::string vname = name;
    const jg::ValueId existing = g_.FindValue(vname);
    if (existing >= 0) vname = FreeName(name + "#init");
    const jg::ValueId v = g_.AddParameter(vname, type, info.buffer);
    init_values_[name] = v;
    return v;
  }
  std::string FreeName(const std::string& base) {
    std::string name = base;
    for (int k = 1; g_.FindValue(name) >= 0 || g_.FindNode(name) >= 0; ++k)
      name = base + "#" + std::to_string(k);
    return name;
  }

  // A linear layer's weight [N, K] from the right operand of a product x·B, when B is W^T of an
  // initializer W (a pending transpose, or a weight stored transposed); else kNoValue.
  jg::ValueId LinearWeight(const Sym& b) {
    if (b.kind != Sym::Kind::kInit || !IsFloatingElem(m_.inits.at(b.init).elem))
      return jg::kNoValue;
    const InitInfo& info = m_.inits.at(b.init);
    if (info.dims.size() != 2) return jg::kNoValue;
    if (b.transposed && !info.transposed_weight) return InitValue(b.init);
    if (!b.transposed && info.transposed_weight) return InitValue(b.init);
    return jg::kNoValue;
  }

  // --- outputs ------------------------------------------------------------------------------

  void Bind(int o, Sym s) {
    if (o >= node_->output_size() || node_->output(o).empty()) return;
    env_[node_->output(o)] = std::move(s);
  }
  void BindT(int o, jg::ValueId v) { Bind(o, TensorSym(v)); }
  bool Used(int o) const {
    if (o >= node_->output_size() || node_->output(o).empty()) return false;
    const std::string& name = node_->output(o);
    return m_.outputs.count(name) || m_.consumers.count(name);
  }

  std::vector<jg::ValueId> EmitN(const std::string& op, jg::Attributes attrs,
                                 const std::vector<jg::ValueId>& inputs, int num_outputs) {
    // Graph JSON has no infinity or NaN: such an attribute (an unbounded Clip, a NaN epsilon)
    // would not survive the plugin's hand-over.
    for (const auto& [name, value] : attrs.values()) {
      bool finite = true;
      if (const double* d = std::get_if<double>(&value)) finite = std::isfinite(*d);
      if (const auto* v = std::get_if<std::vector<double>>(&value))
        for (double x : *v) finite = finite && std::isfinite(x);
      if (!finite) Fail(op + ": attribute '" + name + "' is not finite");
    }
    jg::NodeId id;
    try {
      id = g_.AddNode(op, std::move(attrs), inputs, scope_, "", num_outputs);
      const jg::Node& nd = g_.node(id);
      jg::OpCall call = jg::MakeCall(g_, id);
      call.outputs.clear();
      const std::vector<jg::TensorType> out = nd.schema->infer(call);
      if (out.size() != nd.outputs.size())
        throw std::runtime_error("the shape rule gave " + std::to_string(out.size()) + " outputs");
      for (std::size_t i = 0; i < out.size(); ++i) g_.value(nd.outputs[i]).type = out[i];
    } catch (const ReadError&) {
      throw;
    } catch (const std::exception& e) {
      std::string shapes;
      for (jg::ValueId v : inputs) {
        if (v == jg::kNoValue) continue;
        shapes += (shapes.empty() ? "" : ", ") + F(g_.value(v).type.dims);
      }
      Fail(op + " (inputs " + shapes + "): " + FirstLineNoTabs(e.what()));
    }
    return g_.node(id).outputs;
  }
  jg::ValueId Emit(const std::string& op, jg::Attributes attrs,
                   const std::vector<jg::ValueId>& inputs) {
    return EmitN(op, std::move(attrs), inputs, 1)[0];
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

  // The shape the lowering gave each output of the current node, for CheckShapes.
  void RecordShapes() {
    for (int o = 0; o < node_->output_size(); ++o) {
      const std::string& name = node_->output(o);
      const auto have = name.empty() ? env_.end() : env_.find(name);
      if (have != env_.end()) lowered_[name] = {index_, DimsOf(have->second)};
    }
  }

  // --- nodes --------------------------------------------------------------------------------

  void LowerNode() {
    const onnx::NodeProto& n = *node_;
    const std::string& op = n.op_type();
    if (!n.domain().empty() && n.domain() != "ai.onnx") Unsupported();
    for (const auto& a : n.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS)
        Unsupported("control flow");
    if (op == "Shape") {
      Dims d = DimsOf(0);
      const auto r = static_cast<std::int64_t>(d.size());
      std::int64_t start = AttrInt(n, "start", 0), end = AttrInt(n, "end", r);
      if (start < 0) start += r;
      if (end < 0) end += r;
      start = std::clamp<std::int64_t>(start, 0, r);
      end = std::clamp<std::int64_t>(end, start, r);
      Bind(0, ConstSym(Const::Int64s(Dims(d.begin() + start, d.begin() + end))));
      return;
    }
    if (op == "Size") {
      const std::int64_t e = Elements(DimsOf(0));
      if (e < 0) Fail("more than 2^53 elements");
      Bind(0, ConstSym(Const::Int64(e)));
      return;
    }
    if (CanEvaluate(op)) {
      bool all_const = true;
      std::vector<const Const*> in;
      for (int k = 0; k < n.input_size(); ++k) {
        if (n.input(k).empty()) {
          in.push_back(nullptr);
          continue;
        }
        const Sym& s = S(k);
        if (s.kind != Sym::Kind::kConst) {
          all_const = false;
          break;
        }
        in.push_back(s.c.get());
      }
      if (all_const) {
        std::vector<Const> out;
        try {
          out = Evaluate(n, in, m_.opset);
        } catch (const std::exception& e) {
          Fail(FirstLineNoTabs(e.what()));
        }
        for (std::size_t o = 0; o < out.size(); ++o)
          Bind(static_cast<int>(o), ConstSym(std::move(out[o])));
        return;
      }
    }
    LowerOp(op);
  }

  void Binary(const std::string& op) {
    const std::optional<double> sa = ScalarOperand(0), sb = ScalarOperand(1);
    const int ra = RankOf(0), rb = RankOf(1);
    if (sb && !sa && rb <= ra) {
      BindT(0, Emit(op, A({{"scalar", *sb}}), {T(0)}));
    } else if (sa && !sb && ra <= rb) {
      BindT(0, Emit(op, A({{"scalar", *sa}}), {T(1)}));
    } else {
      BindT(0, Emit(op, {}, {T(0), T(1)}));
    }
  }

  // Pads [b0, b1, ..., e0, e1, ...] (ONNX) in F.pad's order: (begin, end) of the last dimension
  // first; pairs of leading dimensions without padding dropped (one pair at least).
  static std::vector<std::int64_t> TorchPads(const std::vector<std::int64_t>& pads, int rank) {
    std::vector<std::int64_t> out;
    for (int d = rank - 1; d >= 0; --d) {
      out.push_back(pads[d]);
      out.push_back(pads[d + rank]);
    }
    while (out.size() > 2 && out[out.size() - 1] == 0 && out[out.size() - 2] == 0)
      out.resize(out.size() - 2);
    return out;
  }

  // Spatial pads of a convolution or pool: [begin..., end...] from pads or auto_pad.
  std::vector<std::int64_t> WindowPads(const Dims& x, const std::vector<std::int64_t>& kernel,
                                       const std::vector<std::int64_t>& strides,
                                       const std::vector<std::int64_t>& dilations) {
    const std::size_t sp = kernel.size();
    for (std::size_t i = 0; i < sp; ++i) {
      if (strides[i] < 1 || dilations[i] < 1 || kernel[i] < 1)
        Fail("kernel, strides and dilations must be positive");
      if (strides[i] > jg::kMaxSize || dilations[i] > jg::kMaxSize || kernel[i] > jg::kMaxSize)
        Fail("kernel, strides and dilations must be at most 2^53");
    }
    const std::string auto_pad = AttrString(*node_, "auto_pad", "NOTSET");
    std::vector<std::int64_t> pads(2 * sp, 0);
    if (auto_pad == "NOTSET") {
      if (const auto p = AttrInts(*node_, "pads")) {
        if (p->size() != 2 * sp) Fail("pads has " + std::to_string(p->size()) + " values");
        pads = *p;
      }
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      for (std::size_t i = 0; i < sp; ++i) {
        const std::int64_t in = x[2 + i], s = strides[i];
        const std::int64_t out = (in - 1) / s + 1;
        const __int128 need = static_cast<__int128>(out - 1) * s +
                              static_cast<__int128>(kernel[i] - 1) * dilations[i] + 1 - in;
        if (need > jg::kMaxSize) Fail("SAME padding of more than 2^53");
        const std::int64_t total = std::max<std::int64_t>(0, static_cast<std::int64_t>(need));
        const std::int64_t small = total / 2, big = total - small;
        pads[i] = auto_pad == "SAME_UPPER" ? small : big;
        pads[i + sp] = auto_pad == "SAME_UPPER" ? big : small;
      }
    } else if (auto_pad != "VALID") {
      Fail("unknown auto_pad '" + auto_pad + "'");
    }
    for (std::int64_t p : pads)
      if (p < 0) Fail("negative pads");
    return pads;
  }

  std::vector<std::int64_t> IntsOr(const char* name, std::size_t n, std::int64_t def) {
    std::vector<std::int64_t> v =
        AttrInts(*node_, name).value_or(std::vector<std::int64_t>(n, def));
    if (v.size() != n)
      Fail(std::string(name) + " has " + std::to_string(v.size()) + " values, expected " +
           std::to_string(n));
    return v;
  }

  void LowerOp(const std::string& op) {
    const onnx::NodeProto& n = *node_;
    static const std::map<std::string, std::string> unary = {{"Relu", "relu"},
                                                             {"Sigmoid", "sigmoid"},
                                                             {"Tanh", "tanh"},
                                                             {"Erf", "erf"},
                                                             {"Exp", "exp"},
                                                             {"Log", "log"},
                                                             {"Sqrt", "sqrt"},
                                                             {"Reciprocal", "reciprocal"},
                                                             {"Neg", "neg"},
                                                             {"Abs", "abs"},
                                                             {"Sin", "sin"},
                                                             {"Cos", "cos"},
                                                             {"HardSwish", "hardswish"}};
    static const std::map<std::string, std::string> binary = {
        {"Add", "add"}, {"Sub", "sub"}, {"Mul", "mul"}, {"Div", "div"}, {"Pow", "pow"}};

    if (op == "Identity") {
      Bind(0, S(0));
      return;
    }
    if (op == "Dropout") {
      const double p = Has(1) ? NeedScalar(1, "ratio") : Dec(AttrFloat(n, "ratio", 0.5f));
      // In training mode with a ratio above 0 it is no inference network (torchvision 0.14's
      // swin calls F.dropout(attn, p=0.0) in training mode: the identity).
      if (Has(2) && p != 0.0) {
        const Const t = Need(2, "training_mode");
        if (t.size() != 1 || t.F(0) != 0) Fail("training mode is not supported");
      }
      if (Used(1)) Unsupported("its mask output");
      BindT(0, Emit("dropout", A({{"p", p}}), {T(0)}));
      return;
    }
    if (const auto it = unary.find(op); it != unary.end()) {
      BindT(0, Emit(it->second, {}, {T(0)}));
      return;
    }
    if (const auto it = binary.find(op); it != binary.end()) {
      Binary(it->second);
      return;
    }
    if (op == "Elu") {
      BindT(0, Emit("elu", A({{"alpha", Dec(AttrFloat(n, "alpha", 1.0f))}}), {T(0)}));
      return;
    }
    if (op == "LeakyRelu") {
      BindT(0,
            Emit("leaky_relu", A({{"negative_slope", Dec(AttrFloat(n, "alpha", 0.01f))}}), {T(0)}));
      return;
    }
    if (op == "Softplus") {
      BindT(0, Emit("softplus", {}, {T(0)}));
      return;
    }
    if (op == "HardSigmoid") {
      const double alpha = Dec(AttrFloat(n, "alpha", 0.2f)), beta = Dec(AttrFloat(n, "beta", 0.5f));
      if (std::abs(alpha - 1.0 / 6) < 1e-6 && std::abs(beta - 0.5) < 1e-6) {
        BindT(0, Emit("hardsigmoid", {}, {T(0)}));
      } else {
        jg::ValueId v = Emit("mul", A({{"scalar", alpha}}), {T(0)});
        v = Emit("add", A({{"scalar", beta}}), {v});
        jg::Attributes c;
        c.Set("min", std::vector<double>{0.0});
        c.Set("max", std::vector<double>{1.0});
        BindT(0, Emit("clamp", c, {v}));
      }
      return;
    }
    if (op == "Clip") {
      std::optional<double> lo, hi;
      if (Has(1)) lo = NeedScalar(1, "min");
      if (Has(2)) hi = NeedScalar(2, "max");
      if (lo && std::isinf(*lo) && *lo < 0) lo.reset();  // -inf: no lower bound
      if (hi && std::isinf(*hi) && *hi > 0) hi.reset();
      if (!lo && !hi) {
        Bind(0, S(0));
        return;
      }
      if (lo && hi && *lo == 0.0 && *hi == 6.0) {
        BindT(0, Emit("relu6", {}, {T(0)}));
        return;
      }
      jg::Attributes c;
      c.Set("min", lo ? std::vector<double>{*lo} : std::vector<double>{});
      c.Set("max", hi ? std::vector<double>{*hi} : std::vector<double>{});
      BindT(0, Emit("clamp", c, {T(0)}));
      return;
    }
    if (op == "Max" || op == "Min" || op == "Sum") {
      if (n.input_size() == 1) {
        Bind(0, S(0));
        return;
      }
      jg::ValueId acc = jg::kNoValue;
      for (int k = 0; k < n.input_size(); ++k) {
        const std::optional<double> s = op == "Sum" ? std::nullopt : ScalarOperand(k);
        if (acc == jg::kNoValue && k == 0 && !s) {
          acc = T(0);
          continue;
        }
        if (s) {
          if (acc == jg::kNoValue) Unsupported("a constant first operand");
          jg::Attributes c;
          c.Set(op == "Max" ? "min" : "max", std::vector<double>{*s});
          acc = Emit("clamp", c, {acc});
        } else {
          acc = Emit(op == "Max" ? "maximum" : op == "Min" ? "minimum" : "add", {}, {acc, T(k)});
        }
      }
      BindT(0, acc);
      return;
    }
    if (op == "Where") {
      BindT(0, Emit("where", {}, {T(0), T(1), T(2)}));
      return;
    }
    if (op == "Cast" || op == "CastLike") {
      const int to = op == "Cast" ? static_cast<int>(AttrInt(n, "to", TP::FLOAT)) : ElemOf(S(1));
      if (to == ElemOf(S(0))) {
        Bind(0, S(0));
        return;
      }
      BindT(0, Emit("cast", A({{"dtype", std::string(jg::DTypeName(ToDType(to)))}}), {T(0)}));
      return;
    }
    if (op == "Conv") {
      const Dims x = DimsOf(0), w = DimsOf(1);
      const int sp = static_cast<int>(w.size()) - 2;
      if (sp != 1 && sp != 2)
        Unsupported("a " + std::to_string(std::max(sp, 0)) + "-d convolution");
      if (static_cast<int>(x.size()) != sp + 2)
        Fail("input " + F(x) + " does not match the weight " + F(w));
      const std::vector<std::int64_t> kernel =
          AttrInts(n, "kernel_shape").value_or(Dims(w.begin() + 2, w.end()));
      if (kernel != Dims(w.begin() + 2, w.end()))
        Fail("kernel_shape does not match the weight " + F(w));
      const std::vector<std::int64_t> strides = IntsOr("strides", sp, 1),
                                      dil = IntsOr("dilations", sp, 1);
      std::vector<std::int64_t> pads = WindowPads(x, kernel, strides, dil);
      jg::ValueId in = T(0);
      bool symmetric = true;
      for (int i = 0; i < sp; ++i) symmetric = symmetric && pads[i] == pads[i + sp];
      std::vector<std::int64_t> padding(pads.begin(), pads.begin() + sp);
      if (!symmetric) {
        std::vector<std::int64_t> full(2 * (sp + 2), 0);
        for (int i = 0; i < sp; ++i) {
          full[2 + i] = pads[i];
          full[sp + 4 + i] = pads[sp + i];
        }
        in = Emit("pad",
                  A({{"pads", TorchPads(full, sp + 2)},
                     {"mode", std::string("constant")},
                     {"value", 0.0}}),
                  {in});
        padding.assign(sp, 0);
      }
      jg::Attributes a = A({{"stride", strides},
                            {"padding", padding},
                            {"dilation", dil},
                            {"groups", AttrInt(n, "group", 1)}});
      BindT(0, Emit(sp == 2 ? "conv2d" : "conv1d", a, {in, T(1), OptT(2)}));
      return;
    }
    if (op == "MatMul") {
      const jg::ValueId w = LinearWeight(S(1));
      if (w == jg::kNoValue) {
        BindT(0, Emit("matmul", {}, {T(0), T(1)}));
        return;
      }
      const jg::ValueId x = T(0);
      // nn.Linear on a 3-d input: MatMul then Add(bias), the bias a 1-d initializer of N.
      const std::int64_t out_features = g_.value(w).type.dims[0];
      const std::string& product = n.output(0);
      const auto readers = m_.consumers.find(product);
      if (!m_.outputs.count(product) && readers != m_.consumers.end() &&
          readers->second.size() == 1) {
        const int j = readers->second[0];
        const onnx::NodeProto& add = m_.proto.graph().node(j);
        if (add.op_type() == "Add" && add.input_size() == 2 && add.input(0) != add.input(1) &&
            add.domain().empty()) {
          const std::string& other = add.input(0) == product ? add.input(1) : add.input(0);
          const auto it = env_.find(other);
          if (it != env_.end() && it->second.kind == Sym::Kind::kInit && !it->second.transposed &&
              IsFloatingElem(m_.inits.at(it->second.init).elem) &&
              m_.inits.at(it->second.init).dims == Dims{out_features}) {
            const jg::ValueId y = Emit("linear", {}, {x, w, Materialize(it->second)});
            BindT(0, y);
            env_[add.output(0)] = TensorSym(y);
            skip_[j] = true;
            return;
          }
        }
      }
      BindT(0, Emit("linear", {}, {x, w}));
      return;
    }
    if (op == "Gemm") {
      const bool trans_a = AttrInt(n, "transA", 0) != 0, trans_b = AttrInt(n, "transB", 0) != 0;
      const double alpha = Dec(AttrFloat(n, "alpha", 1.0f)), beta = Dec(AttrFloat(n, "beta", 1.0f));
      jg::ValueId a = T(0);
      if (trans_a)
        a = Emit("transpose", A({{"dim0", std::int64_t{0}}, {"dim1", std::int64_t{1}}}), {a});
      // The linear weight W [N, K] of y = a·B: B itself with transB, a pending W^T without.
      const Sym& b = S(1);
      jg::ValueId w = jg::kNoValue;
      if (b.kind == Sym::Kind::kInit && IsFloatingElem(m_.inits.at(b.init).elem) &&
          m_.inits.at(b.init).dims.size() == 2 && !m_.inits.at(b.init).transposed_weight &&
          b.transposed != trans_b) {
        w = InitValue(b.init);
      }
      jg::ValueId y;
      bool bias_done = false;
      if (w != jg::kNoValue) {
        const std::int64_t nout = g_.value(w).type.dims[0];
        if (Has(2) && beta == 1.0 && DimsOf(2) == Dims{nout} && S(2).kind != Sym::Kind::kTensor &&
            alpha == 1.0) {
          y = Emit("linear", {}, {a, w, T(2)});
          bias_done = true;
        } else {
          y = Emit("linear", {}, {a, w});
        }
      } else {
        jg::ValueId bv = T(1);
        if (trans_b)
          bv = Emit("transpose", A({{"dim0", std::int64_t{0}}, {"dim1", std::int64_t{1}}}), {bv});
        y = Emit("matmul", {}, {a, bv});
      }
      if (alpha != 1.0) y = Emit("mul", A({{"scalar", alpha}}), {y});
      if (Has(2) && !bias_done) {
        jg::ValueId c = T(2);
        if (beta != 1.0) c = Emit("mul", A({{"scalar", beta}}), {c});
        y = Emit("add", {}, {y, c});
      }
      BindT(0, y);
      return;
    }
    if (op == "BatchNormalization") {
      if (AttrInt(n, "training_mode", 0) != 0) Fail("training mode is not supported");
      for (int o = 1; o < n.output_size(); ++o)
        if (Used(o)) Unsupported("its running statistics outputs (training mode)");
      jg::Attributes a =
          A({{"eps", Dec(AttrFloat(n, "epsilon", 1e-5f))},
             {"momentum", std::round((1.0 - Dec(AttrFloat(n, "momentum", 0.9f))) * 1e9) / 1e9}});
      BindT(0, Emit("batch_norm", a, {T(0), T(1), T(2), T(3), T(4)}));
      return;
    }
    if (op == "LayerNormalization") {
      for (int o = 1; o < n.output_size(); ++o)
        if (Used(o)) Unsupported("its mean and inverse standard deviation outputs");
      const Dims x = DimsOf(0);
      const int axis = WrapAxis(AttrInt(n, "axis", -1), static_cast<int>(x.size()));
      jg::Attributes a = A({{"normalized_shape", Dims(x.begin() + axis, x.end())},
                            {"eps", Dec(AttrFloat(n, "epsilon", 1e-5f))}});
      BindT(0, Emit("layer_norm", a, {T(0), T(1), OptT(2)}));
      return;
    }
    if (op == "InstanceNormalization") {
      const Dims x = DimsOf(0);
      if (x.size() < 3) Fail("input " + F(x) + " has no spatial dimension");
      jg::Attributes a = A({{"num_groups", x[1]}, {"eps", Dec(AttrFloat(n, "epsilon", 1e-5f))}});
      BindT(0, Emit("group_norm", a, {T(0), T(1), T(2)}));
      return;
    }
    if (op == "Softmax" || op == "LogSoftmax") {
      const int r = RankOf(0);
      const std::int64_t axis = AttrInt(n, "axis", m_.opset >= 13 ? -1 : 1);
      const int a = WrapAxis(axis, r);
      if (m_.opset < 13 && a != r - 1)
        Unsupported("axis " + std::to_string(axis) +
                    " below opset 13, where it flattens the dimensions from it");
      BindT(0, Emit(op == "Softmax" ? "softmax" : "log_softmax", A({{"dim", axis}}), {T(0)}));
      return;
    }
    if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin" ||
        op == "ReduceL2" || op == "ReduceL1") {
      const int r = RankOf(0);
      std::optional<std::vector<std::int64_t>> axes;
      if (op == "ReduceSum" && m_.opset >= 13) {
        if (Has(1)) axes = Need(1, "axes").Ints();
      } else {
        axes = AttrInts(n, "axes");
      }
      if (!axes || axes->empty()) {
        if (op == "ReduceSum" && m_.opset >= 13 && AttrInt(n, "noop_with_empty_axes", 0) != 0) {
          Bind(0, S(0));
          return;
        }
        axes = std::vector<std::int64_t>();
        for (int k = 0; k < r; ++k) axes->push_back(k);
      }
      const bool keep = AttrInt(n, "keepdims", 1) != 0;
      static const std::map<std::string, std::string> names = {
          {"ReduceMean", "mean"}, {"ReduceSum", "sum"}, {"ReduceMax", "amax"},
          {"ReduceMin", "amin"},  {"ReduceL2", "norm"}, {"ReduceL1", "norm"}};
      jg::Attributes a = A({{"dims", *axes}, {"keepdim", keep}});
      if (op == "ReduceL1") a.Set("p", 1.0);
      BindT(0, Emit(names.at(op), a, {T(0)}));
      return;
    }
    if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
      if (RankOf(0) != 4) Unsupported("on a rank-" + std::to_string(RankOf(0)) + " input");
      BindT(0, Emit(op == "GlobalAveragePool" ? "adaptive_avg_pool2d" : "adaptive_max_pool2d",
                    A({{"output_size", std::vector<std::int64_t>{1, 1}}}), {T(0)}));
      return;
    }
    if (op == "MaxPool" || op == "AveragePool") {
      const Dims x = DimsOf(0);
      if (x.size() != 4) Unsupported("on a rank-" + std::to_string(x.size()) + " input");
      if (op == "MaxPool" && Used(1)) Unsupported("its indices output");
      if (op == "MaxPool" && AttrInt(n, "storage_order", 0) != 0)
        Unsupported("column-major indices");
      const auto kernel = AttrInts(n, "kernel_shape");
      if (!kernel || kernel->size() != 2) Fail("kernel_shape must have 2 values");
      const std::vector<std::int64_t> strides = IntsOr("strides", 2, 1);
      const std::vector<std::int64_t> dil =
          op == "MaxPool" ? IntsOr("dilations", 2, 1) : std::vector<std::int64_t>{1, 1};
      const std::vector<std::int64_t> pads = WindowPads(x, *kernel, strides, dil);
      if (pads[0] != pads[2] || pads[1] != pads[3]) Unsupported("asymmetric padding");
      const bool ceil = AttrInt(n, "ceil_mode", 0) != 0;
      const std::vector<std::int64_t> padding = {pads[0], pads[1]};
      if (op == "AveragePool" && (*kernel)[0] == 1 && (*kernel)[1] == 1 && strides[0] == 1 &&
          strides[1] == 1 && padding[0] == 0 && padding[1] == 0) {
        BindT(0, Emit("adaptive_avg_pool2d",
                      A({{"output_size", std::vector<std::int64_t>{x[2], x[3]}}}), {T(0)}));
        return;
      }
      jg::Attributes a = A({{"kernel_size", *kernel},
                            {"stride", strides},
                            {"padding", padding},
                            {"ceil_mode", ceil}});
      if (op == "MaxPool") {
        a.Set("dilation", dil);
        BindT(0, Emit("max_pool2d", a, {T(0)}));
      } else {
        a.Set("count_include_pad", AttrInt(n, "count_include_pad", 0) != 0);
        BindT(0, Emit("avg_pool2d", a, {T(0)}));
      }
      return;
    }
    if (op == "Flatten") {
      const Dims x = DimsOf(0);
      const int r = static_cast<int>(x.size());
      std::int64_t axis = AttrInt(n, "axis", 1);
      if (axis < 0) axis += r;
      if (axis < 0 || axis > r) Fail("axis out of range for " + F(x));
      if (axis == 1 && r >= 2) {
        BindT(0, Emit("flatten", A({{"start_dim", std::int64_t{1}}, {"end_dim", std::int64_t{-1}}}),
                      {T(0)}));
        return;
      }
      std::int64_t outer = 1, inner = 1;
      for (int k = 0; k < r; ++k) (k < axis ? outer : inner) *= x[k];
      BindT(0, Emit("reshape", A({{"shape", Fixed({outer, inner})}}), {T(0)}));
      return;
    }
    if (op == "Reshape") {
      const Dims x = DimsOf(0);
      const std::vector<std::int64_t> shape = Need(1, "shape").Ints();
      const bool allowzero = AttrInt(n, "allowzero", 0) != 0;
      Dims out;
      int infer = -1;
      std::int64_t known = 1;
      for (std::size_t k = 0; k < shape.size(); ++k) {
        std::int64_t d = shape[k];
        if (d == 0 && !allowzero) {
          if (k >= x.size()) Fail("shape entry 0 copies a dimension the input lacks");
          d = x[k];
        }
        if (d == -1) {
          if (infer >= 0) Fail("two -1 in the shape");
          infer = static_cast<int>(k);
          out.push_back(1);
          continue;
        }
        if (d < 0 || d > jg::kMaxSize) Fail("shape entry " + std::to_string(d));
        out.push_back(d);
        known = static_cast<std::int64_t>(
            std::min<double>(static_cast<double>(known) * static_cast<double>(d), 9.0e18));
      }
      const std::int64_t total = Elements(x);
      if (infer >= 0) {
        if (known == 0 || total % known != 0)
          Fail("cannot reshape " + F(x) + " to " + jg::FormatDims(shape));
        out[infer] = total / known;
      }
      BindT(0, Emit("reshape", A({{"shape", Fixed(out)}}), {T(0)}));
      return;
    }
    if (op == "Transpose") {
      const int r = RankOf(0);
      std::vector<std::int64_t> perm = AttrInts(n, "perm").value_or(std::vector<std::int64_t>{});
      if (perm.empty())
        for (int k = r - 1; k >= 0; --k) perm.push_back(k);
      if (static_cast<int>(perm.size()) != r)
        Fail("perm does not match the rank " + std::to_string(r));
      std::vector<int> moved;
      for (int k = 0; k < r; ++k)
        if (WrapAxis(perm[k], r) != k) moved.push_back(k);
      if (moved.empty()) {
        Bind(0, S(0));
        return;
      }
      Sym& in = S(0);
      if (in.kind == Sym::Kind::kInit && r == 2 && IsFloatingElem(m_.inits.at(in.init).elem)) {
        Sym t = in;
        t.transposed = !t.transposed;
        Bind(0, t);
        return;
      }
      if (moved.size() == 2 && WrapAxis(perm[moved[0]], r) == moved[1]) {
        BindT(0, Emit("transpose",
                      A({{"dim0", std::int64_t{moved[0]}}, {"dim1", std::int64_t{moved[1]}}}),
                      {T(0)}));
      } else {
        BindT(0, Emit("permute", A({{"dims", perm}}), {T(0)}));
      }
      return;
    }
    if (op == "Squeeze" || op == "Unsqueeze") {
      const Dims x = DimsOf(0);
      const int r = static_cast<int>(x.size());
      std::optional<std::vector<std::int64_t>> axes =
          m_.opset >= 13 ? (Has(1) ? std::optional(Need(1, "axes").Ints()) : std::nullopt)
                         : AttrInts(n, "axes");
      if (op == "Squeeze") {
        std::vector<std::int64_t> dims;
        if (!axes || axes->empty()) {
          for (int k = 0; k < r; ++k)
            if (x[k] == 1) dims.push_back(k);
        } else {
          for (std::int64_t a : *axes) {
            const int w = WrapAxis(a, r);
            if (x[w] != 1) Fail("dimension " + std::to_string(w) + " of " + F(x) + " is not 1");
            dims.push_back(w);
          }
        }
        if (dims.empty()) {
          Bind(0, S(0));
          return;
        }
        BindT(0, Emit("squeeze", A({{"dim", dims}}), {T(0)}));
        return;
      }
      if (!axes || axes->empty()) Fail("no axes");
      const int out_rank = r + static_cast<int>(axes->size());
      std::vector<std::int64_t> sorted;
      for (std::int64_t a : *axes) sorted.push_back(WrapAxis(a, out_rank));
      std::sort(sorted.begin(), sorted.end());
      jg::ValueId v = T(0);
      for (std::int64_t a : sorted) v = Emit("unsqueeze", A({{"dim", a}}), {v});
      BindT(0, v);
      return;
    }
    if (op == "Concat") {
      std::vector<jg::ValueId> parts;
      int last = -1;
      for (int k = 0; k < n.input_size(); ++k) {
        if (!Has(k) || Elements(DimsOf(k)) == 0) continue;
        parts.push_back(T(k));
        last = k;
      }
      if (parts.empty()) Fail("no non-empty input");
      if (parts.size() == 1) {
        Bind(0, S(last));
        return;
      }
      BindT(0, Emit("cat", A({{"dim", AttrInt(n, "axis", 0)}}), parts));
      return;
    }
    if (op == "Split") {
      const Dims x = DimsOf(0);
      const int r = static_cast<int>(x.size());
      const std::int64_t axis = AttrInt(n, "axis", 0);
      const int a = WrapAxis(axis, r);
      std::vector<std::int64_t> sizes;
      if (m_.opset >= 13 ? Has(1) : FindAttr(n, "split") != nullptr) {
        sizes = m_.opset >= 13 ? Need(1, "split").Ints() : *AttrInts(n, "split");
      } else {
        const std::int64_t parts = n.output_size();
        if (parts < 1 || x[a] % parts != 0)
          Fail("dimension " + std::to_string(x[a]) + " does not split in " + std::to_string(parts));
        sizes.assign(static_cast<std::size_t>(parts), x[a] / parts);
      }
      if (static_cast<int>(sizes.size()) != n.output_size())
        Fail("split sizes do not match the outputs");
      const std::vector<jg::ValueId> outs = EmitN("split", A({{"dim", axis}, {"sections", sizes}}),
                                                  {T(0)}, static_cast<int>(sizes.size()));
      for (std::size_t o = 0; o < outs.size(); ++o) BindT(static_cast<int>(o), outs[o]);
      return;
    }
    if (op == "Slice") {
      const Dims x = DimsOf(0);
      const int r = static_cast<int>(x.size());
      const std::vector<std::int64_t> starts = Need(1, "starts").Ints(),
                                      ends = Need(2, "ends").Ints();
      std::vector<std::int64_t> axes, steps;
      if (Has(3)) {
        axes = Need(3, "axes").Ints();
      } else {
        for (std::size_t k = 0; k < starts.size(); ++k)
          axes.push_back(static_cast<std::int64_t>(k));
      }
      steps = Has(4) ? Need(4, "steps").Ints() : std::vector<std::int64_t>(starts.size(), 1);
      if (ends.size() != starts.size() || axes.size() != starts.size() ||
          steps.size() != starts.size())
        Fail("starts, ends, axes and steps differ in length");
      Sym out = S(0);
      for (std::size_t k = 0; k < starts.size(); ++k) {
        const int ax = WrapAxis(axes[k], r);
        const std::int64_t step = steps[k], dim = x[ax];
        if (step <= 0) Unsupported("a step of " + std::to_string(step));
        auto wrap = [dim](std::int64_t v) {
          if (v < 0) v = v < -dim ? 0 : v + dim;
          return std::clamp<std::int64_t>(v, 0, dim);
        };
        const std::int64_t s = wrap(starts[k]), e = std::max(wrap(ends[k]), s);
        if (s == 0 && e == dim && step == 1) continue;
        out = TensorSym(
            Emit("slice", A({{"dim", std::int64_t{ax}}, {"start", s}, {"end", e}, {"step", step}}),
                 {Materialize(out)}));
      }
      Bind(0, out);
      return;
    }
    if (op == "Gather") {
      const Dims x = DimsOf(0);
      const int r = static_cast<int>(x.size());
      if (r == 0) Fail("gathers from a scalar");
      const int a = WrapAxis(AttrInt(n, "axis", 0), r);
      const std::optional<Const> idx = S(1).kind == Sym::Kind::kConst ? ValueOf(1) : std::nullopt;
      if (idx && idx->size() == 1) {
        std::int64_t i = idx->I(0);
        if (i < 0) i += x[a];
        if (i < 0 || i >= x[a])
          Fail("index " + std::to_string(idx->I(0)) + " is out of range for size " +
               std::to_string(x[a]));
        if (idx->dims.empty()) {
          BindT(0, Emit("select", A({{"dim", std::int64_t{a}}, {"index", i}}), {T(0)}));
        } else if (idx->dims.size() == 1) {
          BindT(0, Emit("slice",
                        A({{"dim", std::int64_t{a}},
                           {"start", i},
                           {"end", i + 1},
                           {"step", std::int64_t{1}}}),
                        {T(0)}));
        } else {
          Unsupported("an index tensor of shape " + F(idx->dims));
        }
        return;
      }
      if (a == 0 && r == 2 && !IsFloatingElem(ElemOf(S(1)))) {
        BindT(0, Emit("embedding", {}, {T(1), T(0)}));
        return;
      }
      Unsupported("gathering along axis " + std::to_string(a) + " of a rank-" + std::to_string(r) +
                  " tensor with an index tensor");
    }
    if (op == "Expand") {
      const Dims x = DimsOf(0);
      const std::vector<std::int64_t> shape = Need(1, "shape").Ints();
      Dims out;
      try {
        out = BroadcastDims(x, shape);
      } catch (const std::exception& e) {
        Fail(FirstLineNoTabs(e.what()));
      }
      BindT(0, Emit("expand", A({{"sizes", Fixed(out)}}), {T(0)}));
      return;
    }
    if (op == "Pad") {
      const Dims x = DimsOf(0);
      const int r = static_cast<int>(x.size());
      const std::string mode = AttrString(n, "mode", "constant");
      static const std::map<std::string, std::string> modes = {{"constant", "constant"},
                                                               {"reflect", "reflect"},
                                                               {"edge", "replicate"},
                                                               {"wrap", "circular"}};
      if (!modes.count(mode)) Fail("unknown mode '" + mode + "'");
      const std::vector<std::int64_t> pads = Need(1, "pads").Ints();
      if (static_cast<int>(pads.size()) != 2 * r)
        Fail("pads has " + std::to_string(pads.size()) + " values for rank " + std::to_string(r));
      for (std::int64_t p : pads)
        if (p < 0) Unsupported("negative pads (cropping)");
      double value = 0.0;
      if (Has(2)) {
        const Const c = Need(2, "constant_value");
        if (c.size() == 1) value = c.F(0);
      }
      if (!std::isfinite(value)) Unsupported("a non-finite padding value");
      BindT(0, Emit("pad",
                    A({{"pads", TorchPads(pads, r)}, {"mode", modes.at(mode)}, {"value", value}}),
                    {T(0)}));
      return;
    }
    if (op == "Resize") {
      const Dims x = DimsOf(0);
      const int r = static_cast<int>(x.size());
      if (r != 3 && r != 4) Unsupported("on a rank-" + std::to_string(r) + " input");
      const std::string mode = AttrString(n, "mode", "nearest");
      const std::string ctm = AttrString(n, "coordinate_transformation_mode", "half_pixel");
      jg::Attributes a;
      if (mode == "nearest") {
        a.Set("mode", std::string("nearest"));
      } else if (mode == "linear") {
        a.Set("mode", std::string(r == 4 ? "bilinear" : "linear"));
        a.Set("align_corners", ctm == "align_corners");
      } else if (mode == "cubic") {
        a.Set("mode", std::string("bicubic"));
        a.Set("align_corners", ctm == "align_corners");
      } else {
        Fail("unknown mode '" + mode + "'");
      }
      std::optional<Const> sizes = Has(3) ? std::optional(Need(3, "sizes")) : std::nullopt;
      if (sizes && sizes->size() > 0) {
        const std::vector<std::int64_t> s = sizes->Ints();
        if (static_cast<int>(s.size()) != r || s[0] != x[0] || s[1] != x[1])
          Unsupported("resizing the batch or channel dimension");
        a.Set("size", std::vector<std::int64_t>(s.begin() + 2, s.end()));
      } else {
        const Const scales = Need(2, "scales");
        if (static_cast<int>(scales.size()) != r || scales.F(0) != 1.0 || scales.F(1) != 1.0)
          Unsupported("resizing the batch or channel dimension");
        std::vector<double> f;
        for (int k = 2; k < r; ++k) f.push_back(scales.F(k));
        a.Set("scale_factor", f);
      }
      BindT(0, Emit("interpolate", a, {T(0)}));
      return;
    }
    if (op == "Einsum") {
      if (n.input_size() != 2) Unsupported(std::to_string(n.input_size()) + " operands");
      BindT(0, Emit("einsum", A({{"equation", AttrString(n, "equation", "")}}), {T(0), T(1)}));
      return;
    }
    Unsupported();
  }

  const Model& m_;
  const std::vector<InputPlan>& plan_;
  std::unordered_map<std::string, std::pair<int, Dims>> lowered_;  // output -> (node, shape)
  jg::Graph g_;
  std::unordered_map<std::string, Sym> env_;
  std::unordered_map<std::string, jg::ValueId> init_values_;
  std::unordered_map<const Const*, jg::ValueId> const_values_;
  std::vector<bool> skip_;
  const onnx::NodeProto* node_ = nullptr;
  int index_ = 0;
  std::string scope_;
  int constants_ = 0;
};

jg::Graph LowerAt(const Model& m, const std::vector<InputPlan>& plan, const std::string& name,
                  const std::string& description) {
  // ONNX's shape inference runs after the lowering, which refuses what some of libonnx 1.12's
  // shape rules would divide by zero on (a Conv of stride 0, a shape Div by 0: SIGFPE there).
  Lowerer lowerer(m, plan);
  jg::Graph g = lowerer.Run(name, description);
  lowerer.CheckShapes(InferOnnxShapes(m, plan));
  return g;
}

}  // namespace

graph::Graph ReadOnnxModel(const std::string& bytes, const std::string& name,
                           const std::string& description, const Options& options) {
  if (options.batch < 1 || options.batch > jg::kMaxSize)
    throw ReadError("batch size must be in [1, 2^53], got " + std::to_string(options.batch));
  for (std::int64_t d : options.sample)
    if (d < 1 || d > jg::kMaxSize) throw ReadError("--input sizes must be in [1, 2^53]");
  if (options.seq_len < 0 || options.seq_len > jg::kMaxSize)
    throw ReadError("--seq-len must be in [1, 2^53]");
  Model m;
  Prepare(bytes, m);
  std::string desc = description;
  {
    std::string producer = m.proto.producer_name();
    if (!m.proto.producer_version().empty()) producer += " " + m.proto.producer_version();
    desc += " (" + (producer.empty() ? std::string() : producer + ", ") + "opset " +
            std::to_string(m.opset) + ")";
  }
  bool dynamic = false;
  const std::vector<InputPlan> plan = PlanInputs(m, options, options.batch, dynamic);
  jg::Graph g = LowerAt(m, plan, name, desc);
  if (dynamic) {
    // Lowered again at batch + 1 to find the sizes that scale with the batch.
    std::string problem;
    try {
      bool again = false;
      const std::vector<InputPlan> next = PlanInputs(m, options, options.batch + 1, again);
      const jg::Graph other = LowerAt(m, next, name, desc);
      jg::Graph merged = g;
      if (jg::MergeBatch(merged, other, options.batch)) {
        g = std::move(merged);
      } else {
        problem = "its structure depends on the batch size";
      }
    } catch (const std::exception& e) {
      problem = FirstLineNoTabs(e.what());
    }
    if (!problem.empty())
      g.description +=
          " (sizes fixed at batch " + std::to_string(options.batch) + ": " + problem + ")";
  }
  jg::FuseGraph(g);
  return g;
}

}  // namespace joulecast::onnx_reader
