// 2-d pools over N x C x H x W inputs. MACs follow the getzner2023 data set's ptflops
// conventions: MaxPool2d ⌊Kh·Kw·Ho·Wo·C·B / 2⌋, average pools one per input element.
#include <cmath>

#include "ops.h"

namespace joulecast::graph::ops {
namespace {

std::vector<std::int64_t> Pair(const std::vector<std::int64_t>& v) {
  return v.size() == 1 ? std::vector<std::int64_t>{v[0], v[0]} : v;
}

void RequireNchw(const TensorType& x) {
  if (x.rank() != 4) Fail(fmt::format("expected an NxCxHxW input, got {}", F(x.dims)));
}

// kernel, stride (empty: the kernel), padding, dilation as [h, w]; PyTorch's checks.
struct Window {
  std::vector<std::int64_t> k, s, p, d;
};
Window WindowOf(const Attributes& a, bool dilated) {
  Window w{Pair(a.Ints("kernel_size")), Pair(a.Ints("stride")), Pair(a.Ints("padding")),
           dilated ? Pair(a.Ints("dilation")) : std::vector<std::int64_t>{1, 1}};
  if (w.s.empty()) w.s = w.k;
  for (auto* v : {&w.k, &w.s, &w.p, &w.d})
    if (v->size() != 2) Fail("kernel_size, stride, padding and dilation need 1 or 2 values");
  for (int i = 0; i < 2; ++i) {
    if (w.k[i] < 1 || w.s[i] < 1 || w.d[i] < 1 || w.p[i] < 0)
      Fail("pool sizes must be positive (padding >= 0)");
    if (2 * w.p[i] > w.k[i])
      Fail(fmt::format("padding {}x{} is more than half of kernel {}x{}", w.p[0], w.p[1], w.k[0],
                       w.k[1]));
  }
  return w;
}

std::vector<TensorType> PoolInfer(const OpCall& c, bool dilated) {
  const TensorType& x = c.in(0);
  RequireNchw(x);
  const Window w = WindowOf(c.a(), dilated);
  const bool ceil = c.a().Bool("ceil_mode");
  Dims out = {x.dims[0], x.dims[1], WindowOut(x.dims[2], w.k[0], w.s[0], w.p[0], w.d[0], ceil),
              WindowOut(x.dims[3], w.k[1], w.s[1], w.p[1], w.d[1], ceil)};
  return {Checked(Like(x, out))};
}

nlohmann::json WindowParams(const Window& w) {
  return {{"kernel_size", w.k}, {"stride", w.s}, {"padding", w.p}};
}

}  // namespace

void RegisterPoolOps(Registrar& r) {
  OpSchema max;
  max.name = "max_pool2d";
  max.type = "MaxPool2d";
  max.doc = "2-d max pooling (torch.nn.MaxPool2d); stride [] means the kernel size";
  max.cost = CostClass::kReduction;
  max.attrs = {Req("kernel_size", AttrKind::kInts), Opt("stride", std::vector<std::int64_t>{}),
               Opt("padding", std::vector<std::int64_t>{0, 0}),
               Opt("dilation", std::vector<std::int64_t>{1, 1}), Opt("ceil_mode", false)};
  max.inputs = {"input"};
  max.infer = [](const OpCall& c) { return PoolInfer(c, true); };
  max.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    const Window w = WindowOf(c.a(), true);
    n.macs = std::floor(static_cast<double>(w.k[0]) * static_cast<double>(w.k[1]) *
                        c.outputs[0].elements() / 2.0);
    n.flops = static_cast<double>(w.k[0] * w.k[1]) * c.outputs[0].elements();
    return n;
  };
  max.layer = [](const OpCall& c) {
    const Window w = WindowOf(c.a(), true);
    LayerForm f{"MaxPool2d", WindowParams(w), c.in(0).dims, c.outputs[0].dims};
    f.params["dilation"] = w.d;
    f.params["ceil_mode"] = c.a().Bool("ceil_mode");
    return f;
  };
  r.push_back(std::move(max));

  OpSchema avg;
  avg.name = "avg_pool2d";
  avg.type = "AvgPool2d";
  avg.doc = "2-d average pooling (torch.nn.AvgPool2d); stride [] means the kernel size";
  avg.cost = CostClass::kReduction;
  avg.attrs = {Req("kernel_size", AttrKind::kInts), Opt("stride", std::vector<std::int64_t>{}),
               Opt("padding", std::vector<std::int64_t>{0, 0}), Opt("ceil_mode", false),
               Opt("count_include_pad", true)};
  avg.inputs = {"input"};
  avg.infer = [](const OpCall& c) { return PoolInfer(c, false); };
  avg.layer = [](const OpCall& c) {
    const Window w = WindowOf(c.a(), false);
    LayerForm f{"AvgPool2d", WindowParams(w), c.in(0).dims, c.outputs[0].dims};
    f.params["ceil_mode"] = c.a().Bool("ceil_mode");
    f.params["count_include_pad"] = c.a().Bool("count_include_pad");
    return f;
  };
  r.push_back(std::move(avg));

  for (const char* kind : {"avg", "max"}) {
    OpSchema ad;
    const bool is_avg = std::string(kind) == "avg";
    ad.name = is_avg ? "adaptive_avg_pool2d" : "adaptive_max_pool2d";
    ad.type = is_avg ? "AdaptiveAvgPool2d" : "AdaptiveMaxPool2d";
    ad.doc = "adaptive 2-d pooling to output_size [h, w] (torch.nn.Adaptive*Pool2d)";
    ad.cost = CostClass::kReduction;
    ad.attrs = {Req("output_size", AttrKind::kInts)};
    ad.inputs = {"input"};
    ad.infer = [](const OpCall& c) -> std::vector<TensorType> {
      const TensorType& x = c.in(0);
      if (x.rank() != 4 && x.rank() != 3)
        Fail(fmt::format("expected an NxCxHxW input, got {}", F(x.dims)));
      const auto size = Pair(c.a().Ints("output_size"));
      if (size.size() != 2 || size[0] < 1 || size[1] < 1)
        Fail("output_size: expected one or two positive sizes");
      Dims out(x.dims.begin(), x.dims.end() - 2);
      out.push_back(size[0]);
      out.push_back(size[1]);
      return {Checked(Like(x, out))};
    };
    ad.layer = [is_avg](const OpCall& c) {
      return LayerForm{is_avg ? "AdaptiveAvgPool2d" : "AdaptiveMaxPool2d",
                       {{"output_size", Pair(c.a().Ints("output_size"))}},
                       c.in(0).dims,
                       c.outputs[0].dims};
    };
    r.push_back(std::move(ad));
  }
}

}  // namespace joulecast::graph::ops
