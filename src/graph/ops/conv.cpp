// Convolutions. conv2d: input N x Ci x H x W, weight Co x Ci/groups x Kh x Kw, bias Co (optional);
// conv1d: N x Ci x L with weight Co x Ci/groups x K (a Conv2d of height 1 for the proxy).
#include <algorithm>

#include "ops.h"

namespace joulecast::graph::ops {
namespace {

std::vector<std::int64_t> Pair(const Attributes& a, const char* name) {
  std::vector<std::int64_t> v = a.Ints(name);
  if (v.size() == 1) v.push_back(v[0]);
  return v;
}

// Shared by conv1d (spatial rank 1) and conv2d (2).
std::vector<TensorType> ConvInfer(const OpCall& c, int spatial) {
  const TensorType& x = c.in(0);
  const TensorType& w = c.in(1);
  const Attributes& a = c.a();
  const std::int64_t groups = a.Int("groups");
  if (groups < 1) Fail(fmt::format("groups must be >= 1, got {}", groups));
  if (x.rank() != spatial + 2)
    Fail(fmt::format("expected a {} input, got {}", spatial == 2 ? "NxCxHxW" : "NxCxL", F(x.dims)));
  if (w.rank() != spatial + 2)
    Fail(fmt::format("weight {} is not a rank-{} kernel", F(w.dims), spatial + 2));
  const std::int64_t co = w.dims[0], ci = w.dims[1] * groups;
  if (co % groups != 0)
    Fail(fmt::format("out_channels {} is not divisible by groups {}", co, groups));
  if (x.dims[1] != ci)
    Fail(fmt::format("expected {} input channels, got {} (input {})", ci, x.dims[1], F(x.dims)));
  if (c.has(2) && (c.in(2).rank() != 1 || c.in(2).dims[0] != co))
    Fail(fmt::format("bias {} does not match {} output channels", F(c.in(2).dims), co));
  std::vector<std::int64_t> s = a.Ints("stride"), p = a.Ints("padding"), d = a.Ints("dilation");
  for (auto* v : {&s, &p, &d}) {
    if (v->size() == 1) v->resize(spatial, (*v)[0]);
    if (static_cast<int>(v->size()) != spatial)
      Fail(fmt::format("stride, padding and dilation need {} values", spatial));
  }
  Dims out = {x.dims[0], co};
  for (int i = 0; i < spatial; ++i) {
    if (s[i] < 1 || d[i] < 1 || p[i] < 0)
      Fail("stride and dilation must be >= 1 and padding >= 0");
    out.push_back(WindowOut(x.dims[2 + i], w.dims[2 + i], s[i], p[i], d[i], false));
  }
  return {Checked(Like(x, out))};
}

// ptflops' count: B·Ho·Wo·Co·(K·Ci/groups + bias); matrix MACs without the bias term.
NodeCounts ConvCount(const OpCall& c) {
  NodeCounts n = DefaultCounts(c);
  const TensorType& w = c.in(1);
  const double kernel = w.elements() / static_cast<double>(w.dims[0]);  // Ci/g · Kh · Kw
  const double out = c.outputs[0].elements();
  n.matrix_macs = out * kernel;
  n.macs = out * (kernel + (c.has(2) ? 1.0 : 0.0));
  n.flops = 2 * n.matrix_macs + (c.has(2) ? out : 0.0);
  return n;
}

LayerForm Conv2dForm(const OpCall& c) {
  const Attributes& a = c.a();
  const TensorType& w = c.in(1);
  LayerForm f;
  f.type = "Conv2d";
  f.params = {{"in_channels", w.dims[1] * a.Int("groups")},
              {"out_channels", w.dims[0]},
              {"kernel_size", {w.dims[2], w.dims[3]}},
              {"stride", PairJson(Pair(a, "stride"))},
              {"padding", PairJson(Pair(a, "padding"))},
              {"dilation", PairJson(Pair(a, "dilation"))},
              {"groups", a.Int("groups")},
              {"bias", c.has(2)}};
  f.input = c.in(0).dims;
  f.output = c.outputs[0].dims;
  return f;
}

std::vector<AttrSpec> ConvAttrs(int spatial) {
  const std::vector<std::int64_t> one(spatial, 1), zero(spatial, 0);
  return {Opt("stride", one, "per spatial dimension"), Opt("padding", zero, "zeros on each side"),
          Opt("dilation", one), Opt("groups", std::int64_t{1})};
}

}  // namespace

// A square, ungrouped, undilated conv2d with equal stride and padding on both axes is the GPU
// model's conv (the input's gradient and the weight's each as a conv of the same sizes: the same
// FLOPs); a depthwise one (one input channel per group) a mul proxy over the output; anything
// else its implicit GEMM (proxy): B·Ho·Wo rows by Co columns with Ci·Kh·Kw terms as a linear,
// or per group as a bmm, gradients by ProductGradKernel. A bias's gradient is an addu proxy over
// the output (the sum over rows).
static GpuForm ConvGpu(const OpCall& c) {
  const TensorType& x = c.in(0);
  const TensorType& w = c.in(1);
  const TensorType& y = c.outputs[0];
  const Attributes& a = c.a();
  const std::int64_t groups = a.Int("groups");
  GpuForm f;
  f.grads.resize(c.inputs.size());
  const std::vector<std::int64_t> s = a.Ints("stride"), p = a.Ints("padding"),
                                  d = a.Ints("dilation");
  const auto uniform = [](const std::vector<std::int64_t>& v) {
    return std::all_of(v.begin(), v.end(), [&](std::int64_t e) { return e == v[0]; });
  };
  const bool square = x.rank() == 4 && x.dims[2] == x.dims[3] && w.dims[2] == w.dims[3];
  if (square && groups == 1 && uniform(s) && uniform(p) && d[0] == 1 && uniform(d)) {
    const GpuKernel k{"conv", {x.dims[0], x.dims[1], w.dims[0], w.dims[2], x.dims[2], s[0], p[0]}};
    f.forward.push_back(k);
    f.grads[0] = {k};
    f.grads[1] = {k};
  } else if (w.dims[1] == 1 && w.dims[0] == groups) {
    // Depthwise: Kh·Kw multiply-adds per output element, far below any GPU's ridge point, so a
    // memory-bound pass: a mul over the output (two reads and a write an element); each
    // gradient another.
    const GpuKernel k{"mul",
                      {static_cast<std::int64_t>(y.elements() / static_cast<double>(y.dims.back())),
                       y.dims.back()},
                      true};
    f.forward.push_back(k);
    f.grads[0] = {k};
    f.grads[1] = {k};
  } else {
    const double kernel = w.elements() / static_cast<double>(w.dims[0]);  // Ci/g · Kh · Kw
    const double rows = y.elements() / static_cast<double>(y.dims[1]);    // B · Ho · Wo
    const GpuKernel k = groups == 1
                            ? GpuKernel{"linear",
                                        {1, static_cast<std::int64_t>(rows), w.dims[0],
                                         static_cast<std::int64_t>(kernel)},
                                        true}
                            : GpuKernel{"bmm",
                                        {groups, static_cast<std::int64_t>(rows),
                                         w.dims[0] / groups, static_cast<std::int64_t>(kernel)},
                                        true};
    f.forward.push_back(k);
    f.grads[0] = {ProductGradKernel(k, 0)};
    f.grads[1] = {ProductGradKernel(k, 1)};
  }
  if (c.has(2)) {
    f.grads[2] = {GpuKernel{
        "addu",
        {y.elements() > 0
             ? static_cast<std::int64_t>(y.elements() / static_cast<double>(y.dims.back()))
             : 0,
         y.dims.back()},
        true}};
  }
  return f;
}

// The schema both convolutions share; `spatial` is 1 or 2.
static OpSchema ConvSchema(const char* name, const char* type, const char* doc, int spatial) {
  OpSchema s;
  s.name = name;
  s.type = type;
  s.doc = doc;
  s.cost = CostClass::kCompute;
  s.attrs = ConvAttrs(spatial);
  s.inputs = {"input", "weight", "bias?"};
  s.min_inputs = 2;
  s.infer = [spatial](const OpCall& c) { return ConvInfer(c, spatial); };
  s.count = ConvCount;
  s.gpu = ConvGpu;
  return s;
}

void RegisterConvOps(Registrar& r) {
  OpSchema conv2d = ConvSchema(
      "conv2d", "Conv2d", "2-d convolution (torch.nn.Conv2d, aten::conv2d / aten::_convolution)", 2);
  conv2d.layer = Conv2dForm;
  r.push_back(std::move(conv2d));

  OpSchema conv1d = ConvSchema("conv1d", "Conv1d", "1-d convolution (torch.nn.Conv1d)", 1);
  conv1d.layer = [](const OpCall& c) {
    const Attributes& a = c.a();
    const TensorType& w = c.in(1);
    LayerForm f;
    f.type = "Conv1d";
    f.params = {{"in_channels", w.dims[1] * a.Int("groups")}, {"out_channels", w.dims[0]},
                {"kernel_size", w.dims[2]},   {"stride", a.Ints("stride")[0]},
                {"padding", a.Ints("padding")[0]}, {"dilation", a.Ints("dilation")[0]},
                {"groups", a.Int("groups")},  {"bias", c.has(2)}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  conv1d.proxy_doc = "a Conv2d over a 1 x L image with a 1 x K kernel";
  conv1d.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    const Attributes& a = c.a();
    const TensorType& w = c.in(1);
    LayerForm f;
    f.type = "Conv2d";
    f.params = {{"in_channels", w.dims[1] * a.Int("groups")},
                {"out_channels", w.dims[0]},
                {"kernel_size", {1, w.dims[2]}},
                {"stride", {1, a.Ints("stride")[0]}},
                {"padding", {0, a.Ints("padding")[0]}},
                {"dilation", {1, a.Ints("dilation")[0]}},
                {"groups", a.Int("groups")},
                {"bias", c.has(2)}};
    const Dims& x = c.in(0).dims;
    const Dims& y = c.outputs[0].dims;
    f.input = {x[0], x[1], 1, x[2]};
    f.output = {y[0], y[1], 1, y[2]};
    return f;
  };
  r.push_back(std::move(conv1d));
}

}  // namespace joulecast::graph::ops
