// Element-wise arithmetic with PyTorch's broadcasting, and reductions. A binary operator takes two
// tensors, or one tensor and the attribute `scalar` (x + 2, x * 0.5). Counts: one MAC per output
// element.
//
//   add, sub, mul, div, pow   a op b, or a op scalar (pow's scalar defaults to 2: x ** 2)
//   maximum, minimum          of two tensors (torch.maximum; a scalar bound is clamp)
//   where(cond, a, b)         the broadcast of the three; cond bool
//   masked_fill(input, mask)  value where mask; the broadcast of input and mask (as the
//                             out-of-place torch.masked_fill gives it); mask bool
//   clamp                     min and max as lists of zero or one value ([]: no bound; at least
//                             one bound), since JSON has no infinity and a NaN would pass unseen
//   mean, sum, amax, amin,    over `dims` ([]: all), keepdim as PyTorch; var and std ignore the
//   var, std, norm            correction (it changes no count); norm is the p-norm (attribute p,
//                             default 2; finite, since JSON has no infinity) of torch.norm,
//                             torch.linalg.vector_norm and F.normalize; mean, var, std and norm
//                             need a floating input, sum gives int64 for integral ones, as
//                             PyTorch does
//
// Counts: binary, where and masked_fill one MAC and one flop per output element; clamp and the
// reductions one per input element (a var reads its input twice and does ~3 flops per element:
// not modelled). Element-wise operators are cost class elementwise, reductions reduction. Two
// tensors of mixed types give the promoted type (floating over integral, the wider of two), except
// add, whose legacy rule keeps a floating first operand's type; an integral division gives float32.
#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "ops.h"

namespace joulecast::graph::ops {
namespace {

OpSchema Binary(const std::string& name, const std::string& type, const std::string& doc,
                double scalar_default) {
  OpSchema s;
  s.name = name;
  s.type = type;
  s.doc = doc + "; with one input, the other operand is the attribute scalar";
  s.cost = CostClass::kElementwise;
  s.attrs = {Opt("scalar", scalar_default)};
  s.inputs = {"a", "b?"};
  s.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& a = c.in(0);
    if (!c.has(1)) return {a};
    const TensorType& b = c.in(1);
    TensorType out = a;
    out.dims = Broadcast(a.dims, b.dims);
    if (!IsFloating(a.dtype) && IsFloating(b.dtype)) out.dtype = b.dtype;
    return {Checked(out)};
  };
  s.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    n.macs = c.outputs[0].elements();
    n.flops = n.macs;
    return n;
  };
  // The residual add of a tree architecture: one operand's shape in and out.
  s.layer = [type](const OpCall& c) {
    return LayerForm{type, nlohmann::json::object(), c.outputs[0].dims, c.outputs[0].dims};
  };
  return s;
}

// One per output element.
NodeCounts PerOutput(const OpCall& c) {
  NodeCounts n = DefaultCounts(c);
  n.macs = c.outputs[0].elements();
  n.flops = n.macs;
  return n;
}

// Binary's shape with PyTorch's promotion of the two operands' types.
std::vector<TensorType> PromotedBinary(const OpCall& c) {
  const TensorType& a = c.in(0);
  if (!c.has(1)) return {a};
  const TensorType& b = c.in(1);
  return {Checked(TensorType{Promote(a.dtype, b.dtype), Broadcast(a.dims, b.dims)})};
}

void RequireBool(const TensorType& t, const char* what) {
  if (t.dtype != DType::kBool && t.dtype != DType::kUInt8)
    Fail(fmt::format("{} must be bool, got {} ({})", what, DTypeName(t.dtype), F(t.dims)));
}

// A reduction over `dims` ([]: all) with keepdim.
OpSchema Reduction(const std::string& name, const std::string& type, const std::string& doc,
                   bool floating_only) {
  OpSchema s = MakeOp(name, type, CostClass::kReduction, doc);
  s.attrs = {Opt("dims", std::vector<std::int64_t>{}, "dimensions reduced; [] reduces all"),
             Opt("keepdim", false)};
  s.inputs = {"input"};
  s.infer = [floating_only, name](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const std::vector<std::int64_t>& dims = c.a().Ints("dims");
    const bool keep = c.a().Bool("keepdim");
    TensorType out = x;
    if (floating_only && !IsFloating(x.dtype))
      Fail(fmt::format("{} needs a floating input, got {} ({})", name, DTypeName(x.dtype),
                       F(x.dims)));
    if (name == "sum" && !IsFloating(x.dtype)) out.dtype = DType::kInt64;
    std::vector<bool> reduced(x.dims.size(), dims.empty());
    for (int d : WrapDims(dims, x.rank()))
      if (d < x.rank()) reduced[d] = true;
    out.dims.clear();
    for (std::size_t i = 0; i < x.dims.size(); ++i) {
      if (!reduced[i])
        out.dims.push_back(x.dims[i]);
      else if (keep)
        out.dims.push_back(1);
    }
    return {out};
  };
  return s;
}

}  // namespace

void RegisterArithmeticOps(Registrar& r) {
  OpSchema add = Binary("add", "Add", "a + b (aten::add, residual connections)", 0.0);
  add.gpu_kernel = "add";
  r.push_back(std::move(add));

  for (auto [name, type, doc, scalar] :
       {std::tuple{"sub", "Sub", "a - b (aten::sub, aten::rsub with the operands swapped)", 0.0},
        std::tuple{"mul", "Mul", "a * b (aten::mul)", 1.0},
        std::tuple{"div", "Div", "a / b, true division (aten::div)", 1.0},
        std::tuple{"pow", "Pow", "a ** b (aten::pow)", 2.0}}) {
    OpSchema s = Binary(name, type, doc, scalar);
    // a - b as the GPU model's add: the same kernel with a negated scalar.
    s.gpu_kernel = std::string(name) == "sub" ? "add" : name;
    if (std::string(name) == "div") {
      s.infer = [](const OpCall& c) {
        std::vector<TensorType> out = PromotedBinary(c);
        if (!IsFloating(out[0].dtype)) out[0].dtype = DType::kFloat32;
        return out;
      };
    } else {
      s.infer = PromotedBinary;
    }
    r.push_back(std::move(s));
  }

  for (auto [name, type] : {std::pair{"maximum", "Maximum"}, std::pair{"minimum", "Minimum"}}) {
    OpSchema s =
        Binary(name, type, std::string("element-wise ") + name + " (torch." + name + ")", 0.0);
    s.doc = std::string("element-wise ") + name + " of two tensors (torch." + name + ")";
    s.attrs.clear();
    s.inputs = {"a", "b"};
    s.min_inputs = 2;
    s.infer = PromotedBinary;
    r.push_back(std::move(s));
  }

  OpSchema where = MakeOp("where", "Where", CostClass::kElementwise,
                          "cond ? a : b element-wise with broadcasting (torch.where)");
  where.inputs = {"condition", "a", "b"};
  where.min_inputs = 3;
  where.infer = [](const OpCall& c) -> std::vector<TensorType> {
    RequireBool(c.in(0), "condition");
    Dims dims = Broadcast(c.in(0).dims, Broadcast(c.in(1).dims, c.in(2).dims));
    return {Checked(TensorType{Promote(c.in(1).dtype, c.in(2).dtype), dims})};
  };
  where.count = PerOutput;
  r.push_back(std::move(where));

  OpSchema fill = MakeOp("masked_fill", "MaskedFill", CostClass::kElementwise,
                         "input with value where mask is true (torch.Tensor.masked_fill)");
  fill.attrs = {Opt("value", 0.0, "the fill value")};
  fill.inputs = {"input", "mask"};
  fill.min_inputs = 2;
  fill.infer = [](const OpCall& c) -> std::vector<TensorType> {
    RequireBool(c.in(1), "mask");
    return {Checked(Like(c.in(0), Broadcast(c.in(0).dims, c.in(1).dims)))};
  };
  fill.count = PerOutput;
  r.push_back(std::move(fill));

  OpSchema clamp = MakeOp("clamp", "Clamp", CostClass::kElementwise,
                          "min(max(x, min), max) (torch.clamp); a bound is [] (none) or [v]");
  clamp.attrs = {Opt("min", std::vector<double>{}, "[] or [lower bound]"),
                 Opt("max", std::vector<double>{}, "[] or [upper bound]")};
  clamp.inputs = {"input"};
  clamp.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const auto& lo = c.a().Floats("min");
    const auto& hi = c.a().Floats("max");
    if (lo.size() > 1 || hi.size() > 1)
      Fail(fmt::format("min and max take at most one value each, got {} and {}", lo.size(),
                       hi.size()));
    if (lo.empty() && hi.empty()) Fail("at least one of min and max must be given");
    return {c.in(0)};
  };
  clamp.layer = [](const OpCall& c) {
    const auto& lo = c.a().Floats("min");
    const auto& hi = c.a().Floats("max");
    LayerForm f;
    f.type = "Clamp";
    f.params = {{"min", lo.empty() ? nlohmann::json() : nlohmann::json(lo[0])},
                {"max", hi.empty() ? nlohmann::json() : nlohmann::json(hi[0])}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  r.push_back(std::move(clamp));

  r.push_back(Reduction("mean", "Mean", "mean over dims (torch.mean)", true));
  r.push_back(Reduction("sum", "Sum", "sum over dims (torch.sum)", false));
  r.push_back(
      Reduction("amax", "AMax", "maximum over dims (torch.amax, torch.max(dim)[0])", false));
  r.push_back(
      Reduction("amin", "AMin", "minimum over dims (torch.amin, torch.min(dim)[0])", false));
  r.push_back(Reduction("var", "Var", "variance over dims (torch.var; correction ignored)", true));
  r.push_back(Reduction("std", "Std",
                        "standard deviation over dims (torch.std; correction "
                        "ignored)",
                        true));

  OpSchema norm = Reduction(
      "norm", "Norm", "p-norm over dims (torch.norm, torch.linalg.vector_norm, F.normalize)", true);
  norm.attrs.push_back(Opt("p", 2.0, "the order of the norm (finite)"));
  norm.infer = [reduce = norm.infer](const OpCall& c) {
    const double p = c.a().Float("p");
    if (!std::isfinite(p)) Fail(fmt::format("p must be finite, got {}", p));
    return reduce(c);
  };
  r.push_back(std::move(norm));
}

}  // namespace joulecast::graph::ops
