// Normalisation. batch_norm: per-channel statistics over dimension 1 (running statistics at
// inference); the layer form is BatchNorm2d for 4-d inputs, BatchNorm1d otherwise.
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
        Fail(fmt::format("expected {} input channels, got {} (input {})", p.dims.empty() ? 0 : p.dims[0],
                         x.dims[1], F(Dims(x.dims.begin() + 1, x.dims.end()))));
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
}

}  // namespace joulecast::graph::ops
