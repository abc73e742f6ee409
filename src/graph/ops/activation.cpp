// Element-wise activations (output = input's type) and softmax. Counts: one MAC per input element
// (the convention of the getzner2023 data set); flops documented per operator.
//
// Counts of every operator of this file: macs = flops = one per input element (DefaultCounts).
// That is exact for relu, neg, abs and the like and low for transcendental ones (an erf GELU
// takes about 8 flops per element, a tanh GELU about 10, mish about 12); the true per-element
// cost is left to the predictor of each type, which sees the type, not the flop count.
//
// Layer forms: type and the PyTorch constructor arguments (the attributes carry those names:
// GELU's approximate, Hardtanh's min_val and max_val, LeakyReLU's negative_slope, ELU's alpha,
// Softplus' beta and threshold, (Log)Softmax's dim). The math functions exp, log, sqrt, rsqrt,
// erf, sin, cos and reciprocal give float32 for an integral input, as PyTorch does; neg, abs and
// square keep the type.
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

// torch.exp and friends: integral (and bool) inputs give float32.
std::vector<TensorType> FloatOfInput(const OpCall& c) {
  TensorType t = c.in(0);
  if (!IsFloating(t.dtype)) t.dtype = DType::kFloat32;
  return {t};
}

}  // namespace

void RegisterActivationOps(Registrar& r) {
  auto relu = Unary("relu", "ReLU", "max(x, 0) (torch.nn.ReLU, aten::relu/relu_)");
  relu.layer = [](const OpCall& c) {
    return LayerForm{"ReLU", {{"inplace", false}}, c.in(0).dims, c.outputs[0].dims};
  };
  relu.gpu_kernel = "relu";
  r.push_back(std::move(relu));
  auto relu6 = Unary("relu6", "ReLU6", "min(max(x, 0), 6) (torch.nn.ReLU6, aten::hardtanh(0, 6))");
  relu6.layer = [](const OpCall& c) {
    return LayerForm{"ReLU6", {{"inplace", false}}, c.in(0).dims, c.outputs[0].dims};
  };
  r.push_back(std::move(relu6));
  r.push_back(Unary("sigmoid", "Sigmoid", "1 / (1 + exp(-x)) (torch.nn.Sigmoid)"));
  OpSchema tanh = Unary("tanh", "Tanh", "tanh(x) (torch.nn.Tanh)");
  tanh.gpu_kernel = "tanh";
  r.push_back(std::move(tanh));

  OpSchema softmax = Unary("softmax", "Softmax", "softmax along dim (torch.nn.Softmax)",
                           {Opt("dim", std::int64_t{-1})});
  softmax.cost = CostClass::kReduction;
  softmax.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    WrapDim(c.a().Int("dim"), x.rank());
    return {x};
  };
  softmax.gpu_kernel = "softmax";
  r.push_back(std::move(softmax));

  OpSchema log_softmax =
      Unary("log_softmax", "LogSoftmax", "log(softmax(x)) along dim (torch.nn.LogSoftmax)",
            {Opt("dim", std::int64_t{-1})});
  log_softmax.cost = CostClass::kReduction;
  log_softmax.infer = [](const OpCall& c) -> std::vector<TensorType> {
    WrapDim(c.a().Int("dim"), c.in(0).rank());
    return {c.in(0)};
  };
  log_softmax.gpu_kernel = "softmax";
  log_softmax.gpu_proxy = true;
  r.push_back(std::move(log_softmax));

  OpSchema gelu = Unary("gelu", "GELU",
                        "x·Φ(x), exact (approximate 'none', with erf) or with tanh (torch.nn.GELU)",
                        {Opt("approximate", std::string("none"), "'none' or 'tanh'")});
  gelu.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const std::string& a = c.a().String("approximate");
    if (a != "none" && a != "tanh")
      Fail(fmt::format("approximate must be 'none' or 'tanh', got '{}'", a));
    return {c.in(0)};
  };
  gelu.gpu_kernel = "gelu";
  r.push_back(std::move(gelu));

  r.push_back(Unary("silu", "SiLU", "x·sigmoid(x), swish (torch.nn.SiLU)"));
  r.push_back(Unary("hardswish", "Hardswish", "x·relu6(x + 3)/6 (torch.nn.Hardswish)"));
  r.push_back(Unary("hardsigmoid", "Hardsigmoid", "relu6(x + 3)/6 (torch.nn.Hardsigmoid)"));
  r.push_back(Unary("mish", "Mish", "x·tanh(softplus(x)) (torch.nn.Mish)"));

  OpSchema hardtanh =
      Unary("hardtanh", "Hardtanh", "clamp(x, min_val, max_val) (torch.nn.Hardtanh)",
            {Opt("min_val", -1.0), Opt("max_val", 1.0)});
  hardtanh.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const double lo = c.a().Float("min_val"), hi = c.a().Float("max_val");
    if (!(hi > lo)) Fail(fmt::format("max_val {} must be greater than min_val {}", hi, lo));
    return {c.in(0)};
  };
  r.push_back(std::move(hardtanh));

  r.push_back(Unary("leaky_relu", "LeakyReLU",
                    "max(x, 0) + negative_slope·min(x, 0) "
                    "(torch.nn.LeakyReLU)",
                    {Opt("negative_slope", 0.01)}));
  r.push_back(
      Unary("elu", "ELU", "x > 0 ? x : alpha·(exp(x) - 1) (torch.nn.ELU)", {Opt("alpha", 1.0)}));
  r.push_back(Unary("softplus", "Softplus",
                    "log(1 + exp(beta·x))/beta, linear above threshold (torch.nn.Softplus)",
                    {Opt("beta", 1.0), Opt("threshold", 20.0)}));

  // Math functions (torch.exp, ...): what readers give for the aten calls of a traced model.
  struct Math {
    const char* name;
    const char* type;
    const char* doc;
    bool float_out;
  };
  for (const Math& m :
       {Math{"exp", "Exp", "e^x (torch.exp)", true},
        Math{"log", "Log", "natural logarithm (torch.log)", true},
        Math{"sqrt", "Sqrt", "square root (torch.sqrt)", true},
        Math{"rsqrt", "Rsqrt", "1/sqrt(x) (torch.rsqrt)", true},
        Math{"neg", "Neg", "-x (torch.neg)", false}, Math{"abs", "Abs", "|x| (torch.abs)", false},
        Math{"erf", "Erf", "the error function (torch.erf)", true},
        Math{"sin", "Sin", "sine (torch.sin)", true},
        Math{"cos", "Cos", "cosine (torch.cos)", true},
        Math{"reciprocal", "Reciprocal", "1/x (torch.reciprocal)", true},
        Math{"square", "Square", "x·x (torch.square)", false}}) {
    OpSchema s = Unary(m.name, m.type, m.doc);
    if (m.float_out) s.infer = FloatOfInput;
    r.push_back(std::move(s));
  }
}

}  // namespace joulecast::graph::ops
