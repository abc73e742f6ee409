// Normalisation. batch_norm: per-channel statistics over dimension 1 (running statistics at
// inference); the layer form is BatchNorm2d for 4-d inputs, BatchNorm1d otherwise.
//   layer_norm  (x - mean) / sqrt(var + eps) · weight + bias over the LAST len(normalized_shape)
//               dimensions, which must equal normalized_shape: [B, S, D] with [D] for
//               transformers, [N, H, W, C] with [C] for channels-last ConvNeXt blocks
//   group_norm  statistics per sample over C/num_groups channels and all spatial positions of an
//               N x C x * input; weight and bias per channel
//   rms_norm    x / sqrt(mean(x^2) + eps) · weight over the last dimensions (LLaMA's RMSNorm,
//               torch.nn.RMSNorm of PyTorch 2.4; no bias, eps 1e-6 as LLaMA sets it)
//
// Counts: one MAC and one flop per input element, as batch_norm (the legacy convention for
// element-wise layers; a normalisation does about 5-8 flops per element, not modelled). The three
// statistical norms are cost class reduction, since they compute their statistics at inference
// (batch_norm reads running statistics: element-wise).
#include <algorithm>

#include "ops.h"

namespace joulecast::graph::ops {

void RegisterNormOps(Registrar& r) {
  OpSchema bn;
  bn.name = "batch_norm";
  bn.type = "BatchNorm2d";
  bn.doc = "batch normalisation over dimension 1 (torch.nn.BatchNorm1d/2d, aten::batch_norm)";
  bn.cost = CostClass::kElementwise;
  bn.attrs = {Opt("eps", 1e-5), Opt("momentum", 0.1)};
  bn.inputs = {"input", "weight?", "bias?", "running_mean?", "running_var?"};
  bn.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    if (x.rank() < 2) Fail(fmt::format("expected an input of rank >= 2, got {}", F(x.dims)));
    for (std::size_t i = 1; i < 5; ++i) {
      if (!c.has(i)) continue;
      const TensorType& p = c.in(i);
      if (p.rank() != 1 || p.dims[0] != x.dims[1])
        Fail(fmt::format("expected {} input channels, got {} (input {})",
                         p.dims.empty() ? 0 : p.dims[0], x.dims[1],
                         F(Dims(x.dims.begin() + 1, x.dims.end()))));
    }
    return {x};
  };
  bn.layer = [](const OpCall& c) {
    const TensorType& x = c.in(0);
    LayerForm f;
    f.type = x.rank() == 4 ? "BatchNorm2d" : "BatchNorm1d";
    f.params = {{"num_features", x.dims[1]},
                {"eps", c.a().Float("eps")},
                {"momentum", c.a().Float("momentum")},
                {"affine", c.has(1)},
                {"track_running_stats", c.has(3)}};
    f.input = x.dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  r.push_back(std::move(bn));

  // layer_norm and rms_norm share the rule; rms_norm has no bias input.
  for (const bool rms : {false, true}) {
    OpSchema ln = MakeOp(rms ? "rms_norm" : "layer_norm", rms ? "RMSNorm" : "LayerNorm",
                         CostClass::kReduction,
                         rms ? "x / sqrt(mean(x^2) + eps) * weight over the last dimensions "
                               "(LLaMA's RMSNorm, torch.nn.RMSNorm)"
                             : "layer normalisation over the last dimensions (torch.nn.LayerNorm, "
                               "aten::layer_norm)");
    ln.attrs = {Req("normalized_shape", AttrKind::kInts, "the last dimensions normalised"),
                Opt("eps", rms ? 1e-6 : 1e-5)};
    ln.inputs = rms ? std::vector<std::string>{"input", "weight?"}
                    : std::vector<std::string>{"input", "weight?", "bias?"};
    ln.infer = [](const OpCall& c) -> std::vector<TensorType> {
      const TensorType& x = c.in(0);
      const std::vector<std::int64_t>& ns = c.a().Ints("normalized_shape");
      if (ns.empty()) Fail("normalized_shape must have at least one dimension");
      const std::size_t k = ns.size();
      if (x.dims.size() < k || !std::equal(ns.begin(), ns.end(), x.dims.end() - k))
        Fail(fmt::format("normalized_shape {} expects an input of shape *x{}, got {}", List(ns),
                         F(ns), F(x.dims)));
      for (std::size_t i = 1; i < c.inputs.size(); ++i)
        if (c.has(i) && c.in(i).dims != ns)
          Fail(fmt::format("{} {} does not match normalized_shape {}", i == 1 ? "weight" : "bias",
                           F(c.in(i).dims), List(ns)));
      return {x};
    };
    ln.layer = [rms](const OpCall& c) {
      LayerForm f;
      f.type = rms ? "RMSNorm" : "LayerNorm";
      f.params = {{"normalized_shape", c.a().Ints("normalized_shape")},
                  {"eps", c.a().Float("eps")},
                  {"elementwise_affine", c.has(1)}};
      f.input = c.in(0).dims;
      f.output = c.outputs[0].dims;
      return f;
    };
    ln.gpu_kernel = "ln";
    ln.gpu_proxy = rms;
    r.push_back(std::move(ln));
  }

  OpSchema gn = MakeOp("group_norm", "GroupNorm", CostClass::kReduction,
                       "group normalisation of an N x C x * input (torch.nn.GroupNorm)");
  gn.attrs = {Req("num_groups", AttrKind::kInt), Opt("eps", 1e-5)};
  gn.inputs = {"input", "weight?", "bias?"};
  gn.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const std::int64_t g = c.a().Int("num_groups");
    if (x.rank() < 2) Fail(fmt::format("expected an N x C x * input, got {}", F(x.dims)));
    if (g < 1 || x.dims[1] % g != 0)
      Fail(fmt::format("{} channels are not divisible by num_groups {} (input {})", x.dims[1], g,
                       F(x.dims)));
    for (std::size_t i = 1; i < 3; ++i)
      if (c.has(i) && c.in(i).dims != Dims{x.dims[1]})
        Fail(fmt::format("{} {} does not match {} channels", i == 1 ? "weight" : "bias",
                         F(c.in(i).dims), x.dims[1]));
    return {x};
  };
  gn.layer = [](const OpCall& c) {
    LayerForm f;
    f.type = "GroupNorm";
    f.params = {{"num_groups", c.a().Int("num_groups")},
                {"num_channels", c.in(0).dims[1]},
                {"eps", c.a().Float("eps")},
                {"affine", c.has(1)}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  r.push_back(std::move(gn));
}

}  // namespace joulecast::graph::ops
