// Element-wise activations (output = input's type) and softmax. Counts: one MAC per input element
// (the convention of the getzner2023 data set); flops documented per operator.
#include "ops.h"

namespace joulecast::graph::ops {
namespace {

std::vector<TensorType> SameAsInput(const OpCall& c) { return {c.in(0)}; }

OpSchema Unary(const std::string& name, const std::string& type, const std::string& doc,
               std::vector<AttrSpec> attrs = {}) {
  OpSchema s;
  s.name = name;
  s.type = type;
  s.doc = doc;
  s.cost = CostClass::kElementwise;
  s.attrs = std::move(attrs);
  s.inputs = {"input"};
  s.infer = SameAsInput;
  return s;
}

}  // namespace

void RegisterActivationOps(Registrar& r) {
  auto relu = Unary("relu", "ReLU", "max(x, 0) (torch.nn.ReLU, aten::relu/relu_)");
  relu.layer = [](const OpCall& c) {
    return LayerForm{"ReLU", {{"inplace", false}}, c.in(0).dims, c.outputs[0].dims};
  };
  r.push_back(std::move(relu));
  auto relu6 = Unary("relu6", "ReLU6", "min(max(x, 0), 6) (torch.nn.ReLU6, aten::hardtanh(0, 6))");
  relu6.layer = [](const OpCall& c) {
    return LayerForm{"ReLU6", {{"inplace", false}}, c.in(0).dims, c.outputs[0].dims};
  };
  r.push_back(std::move(relu6));
  r.push_back(Unary("sigmoid", "Sigmoid", "1 / (1 + exp(-x)) (torch.nn.Sigmoid)"));
  r.push_back(Unary("tanh", "Tanh", "tanh(x) (torch.nn.Tanh)"));

  OpSchema softmax = Unary("softmax", "Softmax", "softmax along dim (torch.nn.Softmax)",
                           {Opt("dim", std::int64_t{-1})});
  softmax.cost = CostClass::kReduction;
  softmax.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    WrapDim(c.a().Int("dim"), x.rank());
    return {x};
  };
  r.push_back(std::move(softmax));
}

}  // namespace joulecast::graph::ops
