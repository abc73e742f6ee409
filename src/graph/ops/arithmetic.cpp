// Element-wise arithmetic with PyTorch's broadcasting, and reductions. A binary operator takes two
// tensors, or one tensor and the attribute `scalar` (x + 2, x * 0.5). Counts: one MAC per output
// element.
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

}  // namespace

void RegisterArithmeticOps(Registrar& r) {
  r.push_back(Binary("add", "Add", "a + b (aten::add, residual connections)", 0.0));
}

}  // namespace joulecast::graph::ops
