// Operators free at inference (dropout, identity) and channel_shuffle.
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
    return LayerForm{"Dropout", {{"p", c.a().Float("p")}, {"inplace", false}}, c.in(0).dims,
                     c.outputs[0].dims};
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
}

}  // namespace joulecast::graph::ops
