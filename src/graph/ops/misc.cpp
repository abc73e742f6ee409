// Operators free at inference (dropout, identity), channel_shuffle, and interpolate: resampling of
// the spatial dimensions of an N x C x * input to `size` or by `scale_factor` (output size
// floor(in · scale), as PyTorch computes it), counted as one MAC per output element (ptflops'
// Upsample hook), cost class elementwise; its layer form is torch.nn.Upsample's.
#include <cmath>

#include "ops.h"

namespace joulecast::graph::ops {

void RegisterMiscOps(Registrar& r) {
  OpSchema dropout;
  dropout.name = "dropout";
  dropout.type = "Dropout";
  dropout.doc = "dropout (identity at inference); macs count one per element as ptflops does";
  dropout.cost = CostClass::kView;
  dropout.attrs = {Opt("p", 0.5)};
  dropout.inputs = {"input"};
  dropout.infer = [](const OpCall& c) { return std::vector<TensorType>{c.in(0)}; };
  dropout.layer = [](const OpCall& c) {
    return LayerForm{
        "Dropout", {{"p", c.a().Float("p")}, {"inplace", false}}, c.in(0).dims, c.outputs[0].dims};
  };
  // Free at inference. In training PyTorch's fused dropout draws the mask and scales in one
  // kernel (a read, two writes) and its backward scales by the mask in one (two reads, a write):
  // a mul proxy each. With p = 0 it returns its input and launches nothing (NeuSight's traces
  // time such a node at the host's cost alone).
  dropout.gpu = [](const OpCall& c) {
    GpuForm f;
    f.grads.resize(1);
    if (c.a().Float("p") > 0 && IsFloating(c.in(0).dtype)) {
      const GpuKernel k{"mul", ElementwiseRows(c.in(0)), true};
      f.training_forward = std::vector<GpuKernel>{k};
      f.grads[0] = {k};
    }
    return f;
  };
  r.push_back(std::move(dropout));

  OpSchema identity;
  identity.name = "identity";
  identity.type = "Identity";
  identity.doc = "the input itself (torch.nn.Identity)";
  identity.cost = CostClass::kView;
  identity.inputs = {"input"};
  identity.infer = [](const OpCall& c) { return std::vector<TensorType>{c.in(0)}; };
  identity.count = [](const OpCall&) { return NodeCounts{}; };
  r.push_back(std::move(identity));

  OpSchema shuffle;
  shuffle.name = "channel_shuffle";
  shuffle.type = "ChannelShuffle";
  shuffle.doc = "ShuffleNet's channel shuffle over dimension 1 (a copy)";
  shuffle.cost = CostClass::kDataMovement;
  shuffle.attrs = {Req("groups", AttrKind::kInt)};
  shuffle.inputs = {"input"};
  shuffle.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const std::int64_t g = c.a().Int("groups");
    if (x.rank() < 2) Fail(fmt::format("expected an input of rank >= 2, got {}", F(x.dims)));
    if (g < 1 || x.dims[1] % g != 0)
      Fail(fmt::format("{} channels are not divisible by groups {} (input {})", x.dims[1], g,
                       F(x.dims)));
    return {x};
  };
  shuffle.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    n.macs = 0;
    n.flops = 0;
    return n;
  };
  r.push_back(std::move(shuffle));

  OpSchema up = MakeOp("interpolate", "Upsample", CostClass::kElementwise,
                       "resampling of the spatial dimensions (F.interpolate, torch.nn.Upsample, "
                       "aten::upsample_*): to size, or by scale_factor");
  up.attrs = {Opt("size", std::vector<std::int64_t>{}, "output spatial sizes ([]: scale_factor)"),
              Opt("scale_factor", std::vector<double>{}, "one per spatial dimension, or one"),
              Opt("mode", std::string("nearest")), Opt("align_corners", false)};
  up.inputs = {"input"};
  up.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const auto& size = c.a().Ints("size");
    const auto& scale = c.a().Floats("scale_factor");
    const std::string& mode = c.a().String("mode");
    if (mode != "nearest" && mode != "nearest-exact" && mode != "linear" && mode != "bilinear" &&
        mode != "bicubic" && mode != "trilinear" && mode != "area")
      Fail(
          fmt::format("unknown mode '{}' (known: nearest, nearest-exact, linear, bilinear, "
                      "bicubic, trilinear, area)",
                      mode));
    if (x.rank() < 3) Fail(fmt::format("expected an N x C x * input, got {}", F(x.dims)));
    const std::size_t spatial = x.dims.size() - 2;
    if (size.empty() == scale.empty()) Fail("give either size or scale_factor");
    if (!size.empty() && size.size() != spatial && size.size() != 1)
      Fail(fmt::format("size {} has {} entries for {} spatial dimensions (input {})", List(size),
                       size.size(), spatial, F(x.dims)));
    if (!scale.empty() && scale.size() != spatial && scale.size() != 1)
      Fail(fmt::format("scale_factor has {} entries for {} spatial dimensions (input {})",
                       scale.size(), spatial, F(x.dims)));
    Dims out(x.dims.begin(), x.dims.begin() + 2);
    for (std::size_t i = 0; i < spatial; ++i) {
      if (!size.empty()) {
        out.push_back(size[size.size() == 1 ? 0 : i]);
      } else {
        const double f = scale[scale.size() == 1 ? 0 : i];
        out.push_back(
            static_cast<std::int64_t>(std::floor(static_cast<double>(x.dims[2 + i]) * f)));
      }
      if (out.back() < 1)
        Fail(fmt::format("output size {} of spatial dimension {} is not positive (input {})",
                         out.back(), i, F(x.dims)));
    }
    return {Checked(Like(x, out))};
  };
  up.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    n.macs = c.outputs[0].elements();
    n.flops = n.macs;
    return n;
  };
  up.layer = [](const OpCall& c) {
    const Dims& y = c.outputs[0].dims;
    LayerForm f;
    f.type = "Upsample";
    f.params = {{"size", Dims(y.begin() + 2, y.end())},
                {"mode", c.a().String("mode")},
                {"align_corners", c.a().Bool("align_corners")}};
    f.input = c.in(0).dims;
    f.output = y;
    return f;
  };
  r.push_back(std::move(up));
}

}  // namespace joulecast::graph::ops
