// Shape and data-movement operators: views (free) and copies (one read and one write per element).
#include "ops.h"

namespace joulecast::graph::ops {

void RegisterShapeOps(Registrar& r) {
  OpSchema flatten;
  flatten.name = "flatten";
  flatten.type = "Flatten";
  flatten.doc = "merges dimensions start_dim..end_dim (torch.flatten, torch.nn.Flatten)";
  flatten.cost = CostClass::kView;
  flatten.attrs = {Opt("start_dim", std::int64_t{1}), Opt("end_dim", std::int64_t{-1})};
  flatten.inputs = {"input"};
  flatten.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    if (x.rank() == 0) return {Like(x, {1})};
    const int s = WrapDim(c.a().Int("start_dim"), x.rank());
    const int e = WrapDim(c.a().Int("end_dim"), x.rank());
    if (s > e)
      Fail(fmt::format("start_dim {} comes after end_dim {} for the input {}",
                       c.a().Int("start_dim"), c.a().Int("end_dim"), F(x.dims)));
    Dims out(x.dims.begin(), x.dims.begin() + s);
    std::int64_t merged = 1;
    for (int i = s; i <= e; ++i) merged *= x.dims[i];
    out.push_back(merged);
    out.insert(out.end(), x.dims.begin() + e + 1, x.dims.end());
    return {Like(x, out)};
  };
  flatten.count = [](const OpCall&) { return NodeCounts{}; };
  r.push_back(std::move(flatten));

  OpSchema cat;
  cat.name = "cat";
  cat.type = "Cat";
  cat.doc = "concatenation along dim (torch.cat): copies every input element once";
  cat.cost = CostClass::kDataMovement;
  cat.attrs = {Opt("dim", std::int64_t{0})};
  cat.inputs = {"tensors"};
  cat.variadic = true;
  cat.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& first = c.in(0);
    const int d = WrapDim(c.a().Int("dim"), first.rank());
    Dims out = first.dims;
    for (std::size_t i = 1; i < c.inputs.size(); ++i) {
      const TensorType& t = c.in(i);
      if (t.rank() != first.rank())
        Fail(fmt::format("input {} ({}) has another rank than input 0 ({})", i, F(t.dims),
                         F(first.dims)));
      for (int k = 0; k < t.rank(); ++k)
        if (k != d && t.dims[k] != first.dims[k])
          Fail(fmt::format("input {} ({}) does not match input 0 ({}) outside dim {}", i,
                           F(t.dims), F(first.dims), d));
      out[d] += t.dims[d];
    }
    return {Checked(Like(first, out))};
  };
  cat.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    n.macs = 0;
    n.flops = 0;
    return n;
  };
  // As the tree format's Cat: the concatenated shape in and out.
  cat.layer = [](const OpCall& c) {
    return LayerForm{"Cat", {{"dim", c.a().Int("dim")}}, c.outputs[0].dims, c.outputs[0].dims};
  };
  r.push_back(std::move(cat));
}

}  // namespace joulecast::graph::ops
