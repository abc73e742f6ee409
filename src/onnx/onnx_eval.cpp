// Constant evaluation for the ONNX reader (onnx_eval.h). Every operator works on Const values with
// numpy broadcasting where ONNX broadcasts; results larger than kMaxConstElements are refused.
#include "onnx_eval.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>

#include "joulecast/graph/tensor_type.h"

namespace joulecast::onnx_reader {
namespace {

using TP = onnx::TensorProto;

[[noreturn]] void Fail(const std::string& m) { throw std::runtime_error(m); }

Const Make(int elem, Dims dims) {
  const std::int64_t n = Elements(dims);
  if (n < 0) Fail("constant of shape " + graph::FormatDims(dims) + " has more than 2^53 elements");
  if (n > kMaxConstElements)
    Fail("constant of shape " + graph::FormatDims(dims) + " has more than " +
         std::to_string(kMaxConstElements) + " elements");
  Const c;
  c.elem = elem;
  c.dims = std::move(dims);
  if (c.floating()) {
    c.f.assign(static_cast<std::size_t>(n), 0.0);
  } else {
    c.i.assign(static_cast<std::size_t>(n), 0);
  }
  return c;
}

void Set(Const& c, std::size_t k, double v) {
  if (c.floating()) {
    c.f[k] = v;
  } else if (c.elem == TP::BOOL) {
    c.i[k] = v != 0.0;
  } else {
    c.i[k] = std::isfinite(v) ? static_cast<std::int64_t>(std::clamp(
                                    std::trunc(v), -9.2233720368547e18, 9.2233720368547e18))
                              : 0;
  }
}

// Strides of a row-major tensor.
std::vector<std::int64_t> Strides(const Dims& d) {
  std::vector<std::int64_t> s(d.size(), 1);
  for (int k = static_cast<int>(d.size()) - 2; k >= 0; --k) s[k] = s[k + 1] * d[k + 1];
  return s;
}

// For each element of `out` (a broadcast of `in`), the index of the element of `in` it reads.
std::vector<std::size_t> BroadcastIndex(const Dims& in, const Dims& out) {
  const std::int64_t n = Elements(out);
  std::vector<std::size_t> idx(static_cast<std::size_t>(n), 0);
  const int r = static_cast<int>(out.size()), ri = static_cast<int>(in.size());
  const std::vector<std::int64_t> so = Strides(out), si = Strides(in);
  for (std::int64_t o = 0; o < n; ++o) {
    std::int64_t rest = o, src = 0;
    for (int k = 0; k < r; ++k) {
      const std::int64_t coord = rest / so[k];
      rest %= so[k];
      const int kin = k - (r - ri);
      if (kin >= 0 && in[kin] != 1) src += coord * si[kin];
    }
    idx[static_cast<std::size_t>(o)] = static_cast<std::size_t>(src);
  }
  return idx;
}

const Const& In(const std::vector<const Const*>& in, std::size_t k, const std::string& op) {
  if (k >= in.size() || in[k] == nullptr) Fail(op + ": missing input " + std::to_string(k));
  return *in[k];
}

bool Has(const std::vector<const Const*>& in, std::size_t k) {
  return k < in.size() && in[k] != nullptr;
}

// Axes from the attribute (older opsets) or the input `k` (newer).
std::optional<std::vector<std::int64_t>> Axes(const onnx::NodeProto& n,
                                              const std::vector<const Const*>& in, std::size_t k) {
  if (Has(in, k)) return in[k]->Ints();
  return AttrInts(n, "axes");
}

Const Binary(const Const& a, const Const& b, int elem,
             const std::function<double(double, double)>& fd,
             const std::function<std::int64_t(std::int64_t, std::int64_t)>& fi) {
  Const out = Make(elem, BroadcastDims(a.dims, b.dims));
  const auto ia = BroadcastIndex(a.dims, out.dims), ib = BroadcastIndex(b.dims, out.dims);
  const bool integral = !a.floating() && !b.floating() && fi;
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (integral && !out.floating()) {
      out.i[k] = fi(a.i[ia[k]], b.i[ib[k]]);
      if (out.elem == TP::BOOL) out.i[k] = out.i[k] != 0;
    } else {
      Set(out, k, fd(a.F(ia[k]), b.F(ib[k])));
    }
  }
  return out;
}

Const Unary(const Const& a, int elem, const std::function<double(double)>& fd) {
  Const out = Make(elem, a.dims);
  for (std::size_t k = 0; k < out.size(); ++k) Set(out, k, fd(a.F(k)));
  return out;
}

std::int64_t CheckedMul(std::int64_t a, std::int64_t b) {
  if (a != 0 && std::llabs(b) > std::numeric_limits<std::int64_t>::max() / std::llabs(a))
    Fail("integer overflow in a shape computation");
  return a * b;
}

std::int64_t CheckedAdd(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) Fail("integer overflow in a shape computation");
  return r;
}

// Gathers the sub-tensor of `src` at `coords` of the leading dimensions (a copy helper).
Const Reshaped(const Const& c, Dims dims) {
  Const out = c;
  out.dims = std::move(dims);
  return out;
}

Const Transposed(const Const& a, const std::vector<std::int64_t>& perm_in) {
  const int r = static_cast<int>(a.dims.size());
  std::vector<int> perm(r);
  if (perm_in.empty()) {
    for (int k = 0; k < r; ++k) perm[k] = r - 1 - k;
  } else {
    if (static_cast<int>(perm_in.size()) != r) Fail("Transpose: perm does not match the rank");
    std::set<int> seen;
    for (int k = 0; k < r; ++k) {
      perm[k] = WrapAxis(perm_in[k], r);
      if (!seen.insert(perm[k]).second) Fail("Transpose: perm repeats an axis");
    }
  }
  Dims od(r);
  for (int k = 0; k < r; ++k) od[k] = a.dims[perm[k]];
  Const out = Make(a.elem, od);
  const auto si = Strides(a.dims), so = Strides(od);
  for (std::size_t o = 0; o < out.size(); ++o) {
    std::int64_t rest = static_cast<std::int64_t>(o), src = 0;
    for (int k = 0; k < r; ++k) {
      const std::int64_t coord = rest / so[k];
      rest %= so[k];
      src += coord * si[perm[k]];
    }
    if (out.floating()) {
      out.f[o] = a.f[static_cast<std::size_t>(src)];
    } else {
      out.i[o] = a.i[static_cast<std::size_t>(src)];
    }
  }
  return out;
}

// ONNX Slice's clamping of start and end for one axis of size `dim` and step `step`.
void ClampSlice(std::int64_t dim, std::int64_t step, std::int64_t& start, std::int64_t& end) {
  auto wrap = [&](std::int64_t v) {
    if (v < 0) return v < -dim ? (step > 0 ? std::int64_t{0} : std::int64_t{-1}) : v + dim;
    return v;
  };
  start = wrap(start);
  end = wrap(end);
  if (step > 0) {
    start = std::clamp<std::int64_t>(start, 0, dim);
    end = std::clamp<std::int64_t>(end, 0, dim);
  } else {
    start = std::clamp<std::int64_t>(start, 0, dim - 1);
    end = std::clamp<std::int64_t>(end, -1, dim - 1);
  }
}

Const Reduce(const onnx::NodeProto& n, const Const& a, const std::vector<const Const*>& in,
             int opset) {
  const std::string& op = n.op_type();
  const int r = static_cast<int>(a.dims.size());
  std::optional<std::vector<std::int64_t>> axes =
      (op == "ReduceSum" && opset >= 13)
          ? (Has(in, 1) ? std::optional(in[1]->Ints()) : std::nullopt)
          : AttrInts(n, "axes");
  const bool keep = AttrInt(n, "keepdims", 1) != 0;
  std::vector<bool> reduced(r, false);
  if (!axes || axes->empty()) {
    if (op == "ReduceSum" && opset >= 13 && AttrInt(n, "noop_with_empty_axes", 0) != 0) return a;
    std::fill(reduced.begin(), reduced.end(), true);
  } else {
    for (std::int64_t ax : *axes) reduced[WrapAxis(ax, r)] = true;
  }
  Dims od;
  for (int k = 0; k < r; ++k) {
    if (!reduced[k]) {
      od.push_back(a.dims[k]);
    } else if (keep) {
      od.push_back(1);
    }
  }
  Dims kd = a.dims;  // keepdims shape, to map input coordinates
  for (int k = 0; k < r; ++k)
    if (reduced[k]) kd[k] = 1;
  Const out = Make(a.elem, od);
  std::vector<double> acc(out.size(), op == "ReduceProd" ? 1.0 : 0.0);
  std::vector<bool> first(out.size(), true);
  const auto sk = Strides(kd), si = Strides(a.dims);
  std::vector<std::int64_t> count(out.size(), 0);
  for (std::size_t src = 0; src < a.size(); ++src) {
    std::int64_t rest = static_cast<std::int64_t>(src), dst = 0;
    for (int k = 0; k < r; ++k) {
      const std::int64_t coord = rest / si[k];
      rest %= si[k];
      if (!reduced[k]) dst += coord * sk[k];
    }
    const double v = a.F(src);
    double& x = acc[static_cast<std::size_t>(dst)];
    if (op == "ReduceSum" || op == "ReduceMean") {
      x += v;
    } else if (op == "ReduceProd") {
      x *= v;
    } else if (op == "ReduceMax") {
      x = first[dst] ? v : std::max(x, v);
    } else if (op == "ReduceMin") {
      x = first[dst] ? v : std::min(x, v);
    } else {
      Fail(op + " is not evaluated");
    }
    first[dst] = false;
    ++count[dst];
  }
  for (std::size_t k = 0; k < out.size(); ++k)
    Set(out, k, op == "ReduceMean" && count[k] ? acc[k] / static_cast<double>(count[k]) : acc[k]);
  return out;
}

}  // namespace

bool IsFloatingElem(int elem) {
  return elem == TP::FLOAT || elem == TP::DOUBLE || elem == TP::FLOAT16 || elem == TP::BFLOAT16;
}

bool Const::floating() const { return IsFloatingElem(elem); }

std::int64_t Const::I(std::size_t k) const {
  if (!floating()) return i[k];
  const double v = f[k];
  if (!std::isfinite(v)) Fail("a non-finite value where an integer is needed");
  return static_cast<std::int64_t>(
      std::clamp(std::trunc(v), -9.2233720368547e18, 9.2233720368547e18));
}

std::vector<std::int64_t> Const::Ints() const {
  std::vector<std::int64_t> out(size());
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = I(k);
  return out;
}

Const Const::Int64s(const std::vector<std::int64_t>& v, bool scalar) {
  Const c;
  c.elem = TP::INT64;
  if (!scalar) c.dims = {static_cast<std::int64_t>(v.size())};
  c.i = v;
  return c;
}

std::string ElemName(int elem) {
  switch (elem) {
    case TP::FLOAT:
      return "float32";
    case TP::FLOAT16:
      return "float16";
    case TP::BFLOAT16:
      return "bfloat16";
    case TP::DOUBLE:
      return "float64";
    case TP::INT64:
      return "int64";
    case TP::INT32:
      return "int32";
    case TP::BOOL:
      return "bool";
    case TP::UINT8:
      return "uint8";
    case TP::INT8:
      return "int8";
    case TP::INT16:
      return "int16";
    case TP::UINT16:
      return "uint16";
    case TP::UINT32:
      return "uint32";
    case TP::UINT64:
      return "uint64";
    case TP::STRING:
      return "string";
    case TP::COMPLEX64:
      return "complex64";
    case TP::COMPLEX128:
      return "complex128";
    default:
      return "type " + std::to_string(elem);
  }
}

std::int64_t Elements(const Dims& dims) {
  double n = 1;
  std::int64_t exact = 1;
  for (std::int64_t d : dims) {
    if (d < 0) return -1;
    n *= static_cast<double>(d);
    if (n > 9007199254740992.0) return -1;
    exact *= d;
  }
  return exact;
}

namespace {

float HalfToFloat(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) {
    v = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 31) {
    v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  }
  return sign ? -v : v;
}

float BFloatToFloat(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

int ElemBytes(int elem) {
  switch (elem) {
    case TP::FLOAT:
    case TP::INT32:
    case TP::UINT32:
      return 4;
    case TP::DOUBLE:
    case TP::INT64:
    case TP::UINT64:
      return 8;
    case TP::FLOAT16:
    case TP::BFLOAT16:
    case TP::INT16:
    case TP::UINT16:
      return 2;
    case TP::INT8:
    case TP::UINT8:
    case TP::BOOL:
      return 1;
    default:
      return 0;
  }
}

}  // namespace

std::optional<Const> ReadTensor(const TP& t) {
  const int elem = t.data_type();
  if (ElemBytes(elem) == 0)
    Fail("tensor '" + t.name() + "' has unsupported type " + ElemName(elem));
  Dims dims(t.dims().begin(), t.dims().end());
  const std::int64_t n = Elements(dims);
  if (n < 0) Fail("tensor '" + t.name() + "' has an invalid shape " + graph::FormatDims(dims));
  if (t.data_location() == TP::EXTERNAL) return std::nullopt;
  const std::size_t count = static_cast<std::size_t>(n);
  const int bytes = ElemBytes(elem);
  std::size_t have = 0;
  if (t.has_raw_data() && !t.raw_data().empty()) {
    have = t.raw_data().size() % static_cast<std::size_t>(bytes) == 0
               ? t.raw_data().size() / static_cast<std::size_t>(bytes)
               : 0;
    if (t.raw_data().size() != count * static_cast<std::size_t>(bytes)) return std::nullopt;
  } else if (elem == TP::FLOAT) {
    have = static_cast<std::size_t>(t.float_data_size());
  } else if (elem == TP::DOUBLE) {
    have = static_cast<std::size_t>(t.double_data_size());
  } else if (elem == TP::INT64) {
    have = static_cast<std::size_t>(t.int64_data_size());
  } else if (elem == TP::UINT64 || elem == TP::UINT32) {
    have = static_cast<std::size_t>(t.uint64_data_size());
  } else {
    have = static_cast<std::size_t>(t.int32_data_size());
  }
  if (have != count) return std::nullopt;
  if (n > kMaxConstElements) return std::nullopt;  // too large to hold: shape-only
  Const c;
  c.elem = elem;
  c.dims = dims;
  if (c.floating()) {
    c.f.resize(count);
  } else {
    c.i.resize(count);
  }
  if (t.has_raw_data() && !t.raw_data().empty()) {
    const char* p = t.raw_data().data();
    for (std::size_t k = 0; k < count; ++k, p += bytes) {
      switch (elem) {
        case TP::FLOAT: {
          float v;
          std::memcpy(&v, p, 4);
          c.f[k] = v;
          break;
        }
        case TP::DOUBLE: {
          double v;
          std::memcpy(&v, p, 8);
          c.f[k] = v;
          break;
        }
        case TP::FLOAT16: {
          std::uint16_t v;
          std::memcpy(&v, p, 2);
          c.f[k] = HalfToFloat(v);
          break;
        }
        case TP::BFLOAT16: {
          std::uint16_t v;
          std::memcpy(&v, p, 2);
          c.f[k] = BFloatToFloat(v);
          break;
        }
        case TP::INT64: {
          std::int64_t v;
          std::memcpy(&v, p, 8);
          c.i[k] = v;
          break;
        }
        case TP::UINT64: {
          std::uint64_t v;
          std::memcpy(&v, p, 8);
          c.i[k] = static_cast<std::int64_t>(
              std::min<std::uint64_t>(v, std::numeric_limits<std::int64_t>::max()));
          break;
        }
        case TP::INT32: {
          std::int32_t v;
          std::memcpy(&v, p, 4);
          c.i[k] = v;
          break;
        }
        case TP::UINT32: {
          std::uint32_t v;
          std::memcpy(&v, p, 4);
          c.i[k] = v;
          break;
        }
        case TP::INT16: {
          std::int16_t v;
          std::memcpy(&v, p, 2);
          c.i[k] = v;
          break;
        }
        case TP::UINT16: {
          std::uint16_t v;
          std::memcpy(&v, p, 2);
          c.i[k] = v;
          break;
        }
        case TP::INT8: {
          std::int8_t v;
          std::memcpy(&v, p, 1);
          c.i[k] = v;
          break;
        }
        case TP::UINT8: {
          std::uint8_t v;
          std::memcpy(&v, p, 1);
          c.i[k] = v;
          break;
        }
        case TP::BOOL: {
          std::uint8_t v;
          std::memcpy(&v, p, 1);
          c.i[k] = v != 0;
          break;
        }
        default:
          break;
      }
    }
    return c;
  }
  for (std::size_t k = 0; k < count; ++k) {
    const int ik = static_cast<int>(k);
    switch (elem) {
      case TP::FLOAT:
        c.f[k] = t.float_data(ik);
        break;
      case TP::DOUBLE:
        c.f[k] = t.double_data(ik);
        break;
      case TP::INT64:
        c.i[k] = t.int64_data(ik);
        break;
      case TP::UINT64:
      case TP::UINT32:
        c.i[k] = static_cast<std::int64_t>(
            std::min<std::uint64_t>(t.uint64_data(ik), std::numeric_limits<std::int64_t>::max()));
        break;
      case TP::FLOAT16:
        c.f[k] = HalfToFloat(static_cast<std::uint16_t>(t.int32_data(ik)));
        break;
      case TP::BFLOAT16:
        c.f[k] = BFloatToFloat(static_cast<std::uint16_t>(t.int32_data(ik)));
        break;
      case TP::BOOL:
        c.i[k] = t.int32_data(ik) != 0;
        break;
      default:
        c.i[k] = t.int32_data(ik);
        break;
    }
  }
  return c;
}

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::int64_t AttrInt(const onnx::NodeProto& n, const std::string& name, std::int64_t def) {
  const auto* a = FindAttr(n, name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::INT) Fail("attribute '" + name + "' is not an int");
  return a->i();
}

float AttrFloat(const onnx::NodeProto& n, const std::string& name, float def) {
  const auto* a = FindAttr(n, name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::FLOAT) Fail("attribute '" + name + "' is not a float");
  return a->f();
}

std::string AttrString(const onnx::NodeProto& n, const std::string& name, const std::string& def) {
  const auto* a = FindAttr(n, name);
  if (!a) return def;
  if (a->type() != onnx::AttributeProto::STRING) Fail("attribute '" + name + "' is not a string");
  return a->s();
}

std::optional<std::vector<std::int64_t>> AttrInts(const onnx::NodeProto& n,
                                                  const std::string& name) {
  const auto* a = FindAttr(n, name);
  if (!a) return std::nullopt;
  if (a->type() != onnx::AttributeProto::INTS)
    Fail("attribute '" + name + "' is not a list of ints");
  return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
}

Dims BroadcastDims(const Dims& a, const Dims& b) {
  const std::size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (std::size_t k = 0; k < r; ++k) {
    const std::int64_t x = k + a.size() >= r ? a[k + a.size() - r] : 1;
    const std::int64_t y = k + b.size() >= r ? b[k + b.size() - r] : 1;
    if (x != y && x != 1 && y != 1)
      Fail("cannot broadcast " + graph::FormatDims(a) + " with " + graph::FormatDims(b));
    out[k] = x == 1 ? y : x;
  }
  return out;
}

int WrapAxis(std::int64_t axis, int rank) {
  const int r = std::max(rank, 1);
  if (axis < -r || axis >= r)
    Fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

bool CanEvaluate(const std::string& op) {
  static const std::set<std::string> ops = {"Constant",
                                            "Identity",
                                            "Dropout",
                                            "Cast",
                                            "CastLike",
                                            "Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Mod",
                                            "Pow",
                                            "Neg",
                                            "Abs",
                                            "Sqrt",
                                            "Exp",
                                            "Log",
                                            "Floor",
                                            "Ceil",
                                            "Round",
                                            "Reciprocal",
                                            "Relu",
                                            "Sigmoid",
                                            "Tanh",
                                            "Erf",
                                            "Sign",
                                            "Not",
                                            "Equal",
                                            "Less",
                                            "LessOrEqual",
                                            "Greater",
                                            "GreaterOrEqual",
                                            "And",
                                            "Or",
                                            "Xor",
                                            "Where",
                                            "Max",
                                            "Min",
                                            "Sum",
                                            "Mean",
                                            "Clip",
                                            "ConstantOfShape",
                                            "Range",
                                            "Reshape",
                                            "Transpose",
                                            "Expand",
                                            "Tile",
                                            "ScatterND",
                                            "Flatten",
                                            "Unsqueeze",
                                            "Squeeze",
                                            "Concat",
                                            "Slice",
                                            "Gather",
                                            "ReduceProd",
                                            "ReduceSum",
                                            "ReduceMean",
                                            "ReduceMax",
                                            "ReduceMin",
                                            "Split"};
  return ops.count(op) != 0;
}

std::vector<Const> Evaluate(const onnx::NodeProto& n, const std::vector<const Const*>& in,
                            int opset) {
  const std::string& op = n.op_type();
  if (op == "Constant") {
    if (const auto* a = FindAttr(n, "value")) {
      if (a->type() != onnx::AttributeProto::TENSOR) Fail("Constant: 'value' is not a tensor");
      std::optional<Const> c = ReadTensor(a->t());
      if (!c) Fail("Constant: its tensor has no readable data");
      return {*c};
    }
    if (const auto* a = FindAttr(n, "value_float")) {
      Const c;
      c.elem = TP::FLOAT;
      c.f = {a->f()};
      return {c};
    }
    if (const auto* a = FindAttr(n, "value_floats")) {
      Const c;
      c.elem = TP::FLOAT;
      c.f.assign(a->floats().begin(), a->floats().end());
      c.dims = {static_cast<std::int64_t>(c.f.size())};
      return {c};
    }
    if (const auto* a = FindAttr(n, "value_int")) return {Const::Int64(a->i())};
    if (const auto* a = FindAttr(n, "value_ints"))
      return {Const::Int64s(std::vector<std::int64_t>(a->ints().begin(), a->ints().end()))};
    Fail("Constant: unsupported value (sparse tensor or strings)");
  }
  if (op == "Identity" || op == "Dropout") {
    std::vector<Const> out = {In(in, 0, op)};
    if (op == "Dropout" && n.output_size() > 1) {
      Const mask = Make(TP::BOOL, out[0].dims);
      std::fill(mask.i.begin(), mask.i.end(), 1);
      out.push_back(mask);
    }
    return out;
  }
  if (op == "Cast" || op == "CastLike") {
    const Const& a = In(in, 0, op);
    const int to =
        op == "Cast" ? static_cast<int>(AttrInt(n, "to", TP::FLOAT)) : In(in, 1, op).elem;
    if (ElemBytes(to) == 0) Fail("Cast to unsupported type " + ElemName(to));
    Const out = Make(to, a.dims);
    for (std::size_t k = 0; k < out.size(); ++k) {
      if (!out.floating() && !a.floating()) {
        out.i[k] = to == TP::BOOL ? a.i[k] != 0 : a.i[k];
      } else {
        Set(out, k, a.F(k));
      }
    }
    return {out};
  }
  static const std::map<std::string, std::function<double(double, double)>> arith = {
      {"Add", [](double a, double b) { return a + b; }},
      {"Sub", [](double a, double b) { return a - b; }},
      {"Mul", [](double a, double b) { return a * b; }},
      {"Div", [](double a, double b) { return a / b; }},
      {"Pow", [](double a, double b) { return std::pow(a, b); }}};
  if (const auto it = arith.find(op); it != arith.end()) {
    const Const& a = In(in, 0, op);
    const Const& b = In(in, 1, op);
    std::function<std::int64_t(std::int64_t, std::int64_t)> fi;
    if (op == "Add") fi = CheckedAdd;
    if (op == "Sub")
      fi = [](std::int64_t x, std::int64_t y) {
        return CheckedAdd(x, y == std::numeric_limits<std::int64_t>::min()
                                 ? std::numeric_limits<std::int64_t>::max()
                                 : -y);
      };
    if (op == "Mul") fi = CheckedMul;
    if (op == "Div")
      fi = [](std::int64_t x, std::int64_t y) {
        if (y == 0) Fail("integer division by zero in a shape computation");
        if (x == std::numeric_limits<std::int64_t>::min() && y == -1)
          Fail("integer overflow in a shape computation");
        return x / y;
      };
    return {Binary(a, b, a.elem, it->second, fi)};
  }
  if (op == "Mod") {
    const bool fmod = AttrInt(n, "fmod", 0) != 0;
    const Const& a = In(in, 0, op);
    const Const& b = In(in, 1, op);
    return {Binary(
        a, b, a.elem,
        [fmod](double x, double y) {
          const double r = std::fmod(x, y);
          return fmod || r == 0 || (r < 0) == (y < 0) ? r : r + y;
        },
        [fmod](std::int64_t x, std::int64_t y) -> std::int64_t {
          if (y == 0) Fail("integer modulo by zero in a shape computation");
          if (y == -1) return 0;
          const std::int64_t r = x % y;
          return fmod || r == 0 || (r < 0) == (y < 0) ? r : r + y;
        })};
  }
  static const std::map<std::string, std::function<double(double)>> unary = {
      {"Neg", [](double x) { return -x; }},
      {"Abs", [](double x) { return std::fabs(x); }},
      {"Sqrt", [](double x) { return std::sqrt(x); }},
      {"Exp", [](double x) { return std::exp(x); }},
      {"Log", [](double x) { return std::log(x); }},
      {"Floor", [](double x) { return std::floor(x); }},
      {"Ceil", [](double x) { return std::ceil(x); }},
      {"Round", [](double x) { return std::nearbyint(x); }},
      {"Reciprocal", [](double x) { return 1.0 / x; }},
      {"Relu", [](double x) { return std::max(x, 0.0); }},
      {"Sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {"Tanh", [](double x) { return std::tanh(x); }},
      {"Erf", [](double x) { return std::erf(x); }},
      {"Sign", [](double x) { return static_cast<double>((x > 0) - (x < 0)); }},
      {"Not", [](double x) { return x == 0 ? 1.0 : 0.0; }}};
  if (const auto it = unary.find(op); it != unary.end()) {
    const Const& a = In(in, 0, op);
    if (op == "Neg" && !a.floating()) {
      Const out = a;
      for (auto& v : out.i) {
        if (v == std::numeric_limits<std::int64_t>::min())
          Fail("integer overflow in a shape computation");
        v = -v;
      }
      return {out};
    }
    if (op == "Abs" && !a.floating()) {
      Const out = a;
      for (auto& v : out.i) {
        if (v == std::numeric_limits<std::int64_t>::min())
          Fail("integer overflow in a shape computation");
        v = std::llabs(v);
      }
      return {out};
    }
    return {Unary(a, op == "Not" ? TP::BOOL : a.elem, it->second)};
  }
  static const std::map<std::string, std::function<double(double, double)>> compare = {
      {"Equal", [](double a, double b) { return static_cast<double>(a == b); }},
      {"Less", [](double a, double b) { return static_cast<double>(a < b); }},
      {"LessOrEqual", [](double a, double b) { return static_cast<double>(a <= b); }},
      {"Greater", [](double a, double b) { return static_cast<double>(a > b); }},
      {"GreaterOrEqual", [](double a, double b) { return static_cast<double>(a >= b); }},
      {"And", [](double a, double b) { return static_cast<double>(a != 0 && b != 0); }},
      {"Or", [](double a, double b) { return static_cast<double>(a != 0 || b != 0); }},
      {"Xor", [](double a, double b) { return static_cast<double>((a != 0) != (b != 0)); }}};
  if (const auto it = compare.find(op); it != compare.end()) {
    const Const& a = In(in, 0, op);
    const Const& b = In(in, 1, op);
    std::function<std::int64_t(std::int64_t, std::int64_t)> fi;
    if (op == "Equal") fi = [](std::int64_t x, std::int64_t y) -> std::int64_t { return x == y; };
    if (op == "Less") fi = [](std::int64_t x, std::int64_t y) -> std::int64_t { return x < y; };
    if (op == "LessOrEqual")
      fi = [](std::int64_t x, std::int64_t y) -> std::int64_t { return x <= y; };
    if (op == "Greater") fi = [](std::int64_t x, std::int64_t y) -> std::int64_t { return x > y; };
    if (op == "GreaterOrEqual")
      fi = [](std::int64_t x, std::int64_t y) -> std::int64_t { return x >= y; };
    return {Binary(a, b, TP::BOOL, it->second, fi)};
  }
  if (op == "Where") {
    const Const& c = In(in, 0, op);
    const Const& a = In(in, 1, op);
    const Const& b = In(in, 2, op);
    Const out = Make(a.elem, BroadcastDims(c.dims, BroadcastDims(a.dims, b.dims)));
    const auto ic = BroadcastIndex(c.dims, out.dims), ia = BroadcastIndex(a.dims, out.dims),
               ib = BroadcastIndex(b.dims, out.dims);
    for (std::size_t k = 0; k < out.size(); ++k) {
      const bool take_a = c.F(ic[k]) != 0;
      if (!out.floating() && !a.floating() && !b.floating()) {
        out.i[k] = take_a ? a.i[ia[k]] : b.i[ib[k]];
      } else {
        Set(out, k, take_a ? a.F(ia[k]) : b.F(ib[k]));
      }
    }
    return {out};
  }
  if (op == "Max" || op == "Min" || op == "Sum" || op == "Mean") {
    if (in.empty()) Fail(op + " without inputs");
    Const acc = In(in, 0, op);
    for (std::size_t k = 1; k < in.size(); ++k) {
      const Const& b = In(in, k, op);
      if (op == "Max") {
        acc = Binary(
            acc, b, acc.elem, [](double x, double y) { return std::max(x, y); },
            [](std::int64_t x, std::int64_t y) { return std::max(x, y); });
      } else if (op == "Min") {
        acc = Binary(
            acc, b, acc.elem, [](double x, double y) { return std::min(x, y); },
            [](std::int64_t x, std::int64_t y) { return std::min(x, y); });
      } else {
        acc = Binary(
            acc, b, acc.elem, [](double x, double y) { return x + y; }, CheckedAdd);
      }
    }
    if (op == "Mean") {
      const double count = static_cast<double>(in.size());
      acc = Unary(acc, acc.elem, [count](double x) { return x / count; });
    }
    return {acc};
  }
  if (op == "Clip") {
    Const a = In(in, 0, op);
    std::optional<double> lo, hi;
    if (Has(in, 1) && in[1]->size() == 1) lo = in[1]->F(0);
    if (Has(in, 2) && in[2]->size() == 1) hi = in[2]->F(0);
    for (std::size_t k = 0; k < a.size(); ++k) {
      double v = a.F(k);
      if (lo) v = std::max(v, *lo);
      if (hi) v = std::min(v, *hi);
      Set(a, k, v);
    }
    return {a};
  }
  if (op == "ConstantOfShape") {
    const std::vector<std::int64_t> shape = In(in, 0, op).Ints();
    for (std::int64_t d : shape)
      if (d < 0) Fail("ConstantOfShape: negative size");
    Const value;
    value.elem = TP::FLOAT;
    value.f = {0.0};
    if (const auto* a = FindAttr(n, "value")) {
      std::optional<Const> v =
          a->type() == onnx::AttributeProto::TENSOR ? ReadTensor(a->t()) : std::nullopt;
      if (!v || v->size() != 1) Fail("ConstantOfShape: 'value' is not a one-element tensor");
      value = *v;
    }
    Const out = Make(value.elem, shape);
    for (std::size_t k = 0; k < out.size(); ++k) Set(out, k, value.F(0));
    if (!out.floating())
      std::fill(out.i.begin(), out.i.end(), value.floating() ? out.I(0) : value.i[0]);
    return {out};
  }
  if (op == "Range") {
    const Const& s = In(in, 0, op);
    const Const& l = In(in, 1, op);
    const Const& d = In(in, 2, op);
    if (s.size() != 1 || l.size() != 1 || d.size() != 1) Fail("Range: inputs must be scalars");
    const double start = s.F(0), limit = l.F(0), delta = d.F(0);
    if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta))
      Fail("Range: invalid start, limit or delta");
    const double count = std::max(std::ceil((limit - start) / delta), 0.0);
    if (count > static_cast<double>(kMaxConstElements)) Fail("Range: too many elements");
    Const out = Make(s.elem, {static_cast<std::int64_t>(count)});
    for (std::size_t k = 0; k < out.size(); ++k) {
      if (out.floating()) {
        out.f[k] = start + delta * static_cast<double>(k);
      } else {
        out.i[k] = CheckedAdd(s.i[0], CheckedMul(d.I(0), static_cast<std::int64_t>(k)));
      }
    }
    return {out};
  }
  if (op == "Reshape") {
    const Const& a = In(in, 0, op);
    const std::vector<std::int64_t> shape = In(in, 1, op).Ints();
    const bool allowzero = AttrInt(n, "allowzero", 0) != 0;
    Dims out;
    int infer = -1;
    std::int64_t known = 1;
    for (std::size_t k = 0; k < shape.size(); ++k) {
      std::int64_t d = shape[k];
      if (d == 0 && !allowzero) {
        if (k >= a.dims.size()) Fail("Reshape: 0 copies a dimension the input lacks");
        d = a.dims[k];
      }
      if (d == -1) {
        if (infer >= 0) Fail("Reshape: two -1 in the shape");
        infer = static_cast<int>(k);
        out.push_back(1);
        continue;
      }
      if (d < 0) Fail("Reshape: negative size");
      out.push_back(d);
      known = CheckedMul(known, d);
    }
    const auto total = static_cast<std::int64_t>(a.size());
    if (infer >= 0) {
      if (known == 0 || total % known != 0) Fail("Reshape: cannot infer -1");
      out[infer] = total / known;
    } else if (known != total) {
      Fail("Reshape: " + graph::FormatDims(a.dims) + " cannot become " + graph::FormatDims(out));
    }
    return {Reshaped(a, out)};
  }
  if (op == "Transpose") {
    return {Transposed(In(in, 0, op), AttrInts(n, "perm").value_or(std::vector<std::int64_t>{}))};
  }
  if (op == "Expand" || op == "Tile") {
    const Const& a = In(in, 0, op);
    const std::vector<std::int64_t> s = In(in, 1, op).Ints();
    if (op == "Expand") {
      const Dims od = BroadcastDims(a.dims, s);
      Const out = Make(a.elem, od);
      const auto idx = BroadcastIndex(a.dims, od);
      for (std::size_t k = 0; k < out.size(); ++k) {
        if (out.floating()) {
          out.f[k] = a.f[idx[k]];
        } else {
          out.i[k] = a.i[idx[k]];
        }
      }
      return {out};
    }
    if (s.size() != a.dims.size()) Fail("Tile: repeats do not match the rank");
    Dims od = a.dims;
    for (std::size_t k = 0; k < od.size(); ++k) {
      if (s[k] < 0) Fail("Tile: negative repeat");
      od[k] = CheckedMul(od[k], s[k]);
    }
    Const out = Make(a.elem, od);
    const auto so = Strides(od), si = Strides(a.dims);
    for (std::size_t o = 0; o < out.size(); ++o) {
      std::int64_t rest = static_cast<std::int64_t>(o), src = 0;
      for (std::size_t k = 0; k < od.size(); ++k) {
        const std::int64_t coord = rest / so[k];
        rest %= so[k];
        src += (coord % a.dims[k]) * si[k];
      }
      if (out.floating()) {
        out.f[o] = a.f[static_cast<std::size_t>(src)];
      } else {
        out.i[o] = a.i[static_cast<std::size_t>(src)];
      }
    }
    return {out};
  }
  if (op == "ScatterND") {
    if (AttrString(n, "reduction", "none") != "none") Fail("ScatterND: only reduction 'none'");
    Const out = In(in, 0, op);
    const Const& idx = In(in, 1, op);
    const Const& upd = In(in, 2, op);
    if (idx.dims.empty()) Fail("ScatterND: scalar indices");
    const std::int64_t k = idx.dims.back();
    const int r = static_cast<int>(out.dims.size());
    if (k < 1 || k > r)
      Fail("ScatterND: index depth " + std::to_string(k) + " for rank " + std::to_string(r));
    const auto so = Strides(out.dims);
    std::int64_t slice = 1;
    for (int d = static_cast<int>(k); d < r; ++d) slice *= out.dims[d];
    const std::size_t count = idx.size() / static_cast<std::size_t>(k);
    if (upd.size() != count * static_cast<std::size_t>(slice))
      Fail("ScatterND: updates do not match");
    for (std::size_t q = 0; q < count; ++q) {
      std::int64_t base = 0;
      for (std::int64_t d = 0; d < k; ++d) {
        std::int64_t v = idx.I(q * static_cast<std::size_t>(k) + static_cast<std::size_t>(d));
        if (v < 0) v += out.dims[d];
        if (v < 0 || v >= out.dims[d]) Fail("ScatterND: index out of range");
        base += v * so[d];
      }
      for (std::int64_t e = 0; e < slice; ++e) {
        const std::size_t dst = static_cast<std::size_t>(base + e);
        const std::size_t src = q * static_cast<std::size_t>(slice) + static_cast<std::size_t>(e);
        if (out.floating()) {
          out.f[dst] = upd.F(src);
        } else {
          out.i[dst] = upd.I(src);
        }
      }
    }
    return {out};
  }
  if (op == "Flatten") {
    const Const& a = In(in, 0, op);
    const int r = static_cast<int>(a.dims.size());
    std::int64_t axis = AttrInt(n, "axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) Fail("Flatten: axis out of range");
    std::int64_t outer = 1, inner = 1;
    for (int k = 0; k < r; ++k) (k < axis ? outer : inner) *= a.dims[k];
    return {Reshaped(a, {outer, inner})};
  }
  if (op == "Unsqueeze") {
    const Const& a = In(in, 0, op);
    const std::optional<std::vector<std::int64_t>> axes = Axes(n, in, 1);
    if (!axes) Fail("Unsqueeze: no axes");
    const int r = static_cast<int>(a.dims.size() + axes->size());
    std::vector<bool> inserted(r, false);
    for (std::int64_t ax : *axes) {
      const int w = WrapAxis(ax, r);
      if (inserted[w]) Fail("Unsqueeze: an axis repeats");
      inserted[w] = true;
    }
    Dims od;
    std::size_t src = 0;
    for (int k = 0; k < r; ++k) od.push_back(inserted[k] ? 1 : a.dims.at(src++));
    return {Reshaped(a, od)};
  }
  if (op == "Squeeze") {
    const Const& a = In(in, 0, op);
    const int r = static_cast<int>(a.dims.size());
    const std::optional<std::vector<std::int64_t>> axes = Axes(n, in, 1);
    std::vector<bool> drop(r, false);
    if (!axes || axes->empty()) {
      for (int k = 0; k < r; ++k) drop[k] = a.dims[k] == 1;
    } else {
      for (std::int64_t ax : *axes) {
        const int w = WrapAxis(ax, r);
        if (a.dims[w] != 1) Fail("Squeeze: dimension " + std::to_string(w) + " is not 1");
        drop[w] = true;
      }
    }
    Dims od;
    for (int k = 0; k < r; ++k)
      if (!drop[k]) od.push_back(a.dims[k]);
    return {Reshaped(a, od)};
  }
  if (op == "Concat") {
    if (in.empty()) Fail("Concat without inputs");
    const Const& first = In(in, 0, op);
    const int r = static_cast<int>(first.dims.size());
    const int axis = WrapAxis(AttrInt(n, "axis", 0), r);
    Dims od = first.dims;
    od[axis] = 0;
    for (std::size_t k = 0; k < in.size(); ++k) {
      const Const& c = In(in, k, op);
      if (static_cast<int>(c.dims.size()) != r) Fail("Concat: inputs of different ranks");
      for (int d = 0; d < r; ++d)
        if (d != axis && c.dims[d] != first.dims[d]) Fail("Concat: inputs of different shapes");
      od[axis] = CheckedAdd(od[axis], c.dims[axis]);
    }
    Const out = Make(first.elem, od);
    std::int64_t outer = 1;
    for (int d = 0; d < axis; ++d) outer *= od[d];
    std::int64_t inner = 1;
    for (int d = axis + 1; d < r; ++d) inner *= od[d];
    std::size_t dst = 0;
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::size_t k = 0; k < in.size(); ++k) {
        const Const& c = *in[k];
        const std::int64_t chunk = c.dims[axis] * inner;
        for (std::int64_t e = 0; e < chunk; ++e, ++dst) {
          const std::size_t src = static_cast<std::size_t>(o * chunk + e);
          if (out.floating()) {
            out.f[dst] = c.F(src);
          } else {
            out.i[dst] = c.I(src);
          }
        }
      }
    }
    return {out};
  }
  if (op == "Slice") {
    const Const& a = In(in, 0, op);
    const int r = static_cast<int>(a.dims.size());
    const std::vector<std::int64_t> starts = In(in, 1, op).Ints(), ends = In(in, 2, op).Ints();
    std::vector<std::int64_t> axes, steps;
    if (Has(in, 3)) {
      axes = in[3]->Ints();
    } else {
      for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<std::int64_t>(k));
    }
    steps = Has(in, 4) ? in[4]->Ints() : std::vector<std::int64_t>(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() ||
        steps.size() != starts.size())
      Fail("Slice: starts, ends, axes and steps differ in length");
    std::vector<std::int64_t> lo(r, 0), step(r, 1);
    Dims od = a.dims;
    for (std::size_t k = 0; k < starts.size(); ++k) {
      const int ax = WrapAxis(axes[k], r);
      if (steps[k] == 0) Fail("Slice: step 0");
      std::int64_t s = starts[k], e = ends[k];
      ClampSlice(a.dims[ax], steps[k], s, e);
      // Elements taken: ceil(distance / |step|), without overflowing for huge steps.
      const std::int64_t mag = steps[k] == std::numeric_limits<std::int64_t>::min()
                                   ? std::numeric_limits<std::int64_t>::max()
                                   : std::llabs(steps[k]);
      const std::int64_t dist = steps[k] > 0 ? e - s : s - e;
      const std::int64_t len = dist > 0 ? (dist - 1) / mag + 1 : 0;
      lo[ax] = s;
      step[ax] = steps[k];
      od[ax] = len;
    }
    Const out = Make(a.elem, od);
    const auto so = Strides(od), si = Strides(a.dims);
    for (std::size_t o = 0; o < out.size(); ++o) {
      std::int64_t rest = static_cast<std::int64_t>(o), src = 0;
      for (int k = 0; k < r; ++k) {
        const std::int64_t coord = rest / so[k];
        rest %= so[k];
        src += (lo[k] + coord * step[k]) * si[k];
      }
      if (out.floating()) {
        out.f[o] = a.f[static_cast<std::size_t>(src)];
      } else {
        out.i[o] = a.i[static_cast<std::size_t>(src)];
      }
    }
    return {out};
  }
  if (op == "Gather") {
    const Const& a = In(in, 0, op);
    const Const& idx = In(in, 1, op);
    const int r = static_cast<int>(a.dims.size());
    if (r == 0) Fail("Gather on a scalar");
    const int axis = WrapAxis(AttrInt(n, "axis", 0), r);
    Dims od(a.dims.begin(), a.dims.begin() + axis);
    od.insert(od.end(), idx.dims.begin(), idx.dims.end());
    od.insert(od.end(), a.dims.begin() + axis + 1, a.dims.end());
    Const out = Make(a.elem, od);
    std::int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; ++k) outer *= a.dims[k];
    for (int k = axis + 1; k < r; ++k) inner *= a.dims[k];
    const std::int64_t size = a.dims[axis];
    std::size_t dst = 0;
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::size_t q = 0; q < idx.size(); ++q) {
        std::int64_t v = idx.I(q);
        if (v < 0) v += size;
        if (v < 0 || v >= size)
          Fail("Gather: index " + std::to_string(idx.I(q)) + " out of range for size " +
               std::to_string(size));
        for (std::int64_t e = 0; e < inner; ++e, ++dst) {
          const std::size_t src = static_cast<std::size_t>((o * size + v) * inner + e);
          if (out.floating()) {
            out.f[dst] = a.f[src];
          } else {
            out.i[dst] = a.i[src];
          }
        }
      }
    }
    return {out};
  }
  if (op == "Split") {
    const Const& a = In(in, 0, op);
    const int r = static_cast<int>(a.dims.size());
    const int axis = WrapAxis(AttrInt(n, "axis", 0), r);
    std::vector<std::int64_t> sizes;
    if (opset >= 13 ? Has(in, 1) : FindAttr(n, "split") != nullptr) {
      sizes = opset >= 13 ? in[1]->Ints() : *AttrInts(n, "split");
    } else {
      const std::int64_t parts = n.output_size();
      if (parts < 1 || a.dims[axis] % parts != 0) Fail("Split: size not divisible by the outputs");
      sizes.assign(static_cast<std::size_t>(parts), a.dims[axis] / parts);
    }
    if (static_cast<int>(sizes.size()) != n.output_size())
      Fail("Split: sizes do not match the outputs");
    std::vector<Const> outs;
    std::int64_t start = 0;
    for (std::int64_t s : sizes) {
      if (s < 0) Fail("Split: negative size");
      onnx::NodeProto slice;
      slice.set_op_type("Slice");
      Const st = Const::Int64s({start}), en = Const::Int64s({CheckedAdd(start, s)}),
            ax = Const::Int64s({axis});
      outs.push_back(Evaluate(slice, {&a, &st, &en, &ax}, opset)[0]);
      start = CheckedAdd(start, s);
    }
    if (start != a.dims[axis]) Fail("Split: sizes do not add up to the dimension");
    return outs;
  }
  if (op == "ReduceProd" || op == "ReduceSum" || op == "ReduceMean" || op == "ReduceMax" ||
      op == "ReduceMin") {
    return {Reduce(n, In(in, 0, op), in, opset)};
  }
  Fail(op + " cannot be evaluated");
}

}  // namespace joulecast::onnx_reader
