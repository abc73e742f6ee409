// Shape and data-movement operators: views (free) and copies (one read and one write per element).
//
// Views (cost class view, all counts zero; PyTorch returns an aliasing tensor, no kernel runs):
//   flatten, reshape (also view; sym_ints shape: the batch entry scales with the batch, one -1
//   inferred), permute, transpose, expand (sym_ints; -1 keeps a size), unsqueeze, squeeze,
//   split and chunk (one output per piece), slice (Python's start:end:step with wrapping and
//   clamping), select (removes the dimension).
// Copies (cost class data, macs = flops = 0, bytes: every input read once, every output written
// once): cat, stack, contiguous (the copy a permute or transpose is followed by; counted as a full
// copy, since the graph does not track strides), pad (constant, reflect, replicate, circular),
// roll, cast (read at the input's dtype, written at the new one).
#include <algorithm>
#include <limits>

#include "ops.h"

namespace joulecast::graph::ops {
namespace {

constexpr std::int64_t kToEnd = std::numeric_limits<std::int64_t>::max();

// The view's layer form: type, the attributes as constructor arguments, input 0 in, output out.
OpSchema View(const std::string& name, const std::string& type, const std::string& doc) {
  OpSchema s = MakeOp(name, type, CostClass::kView, doc);
  s.inputs = {"input"};
  s.count = ViewCounts;
  return s;
}

OpSchema Copy(const std::string& name, const std::string& type, const std::string& doc) {
  OpSchema s = MakeOp(name, type, CostClass::kDataMovement, doc);
  s.inputs = {"input"};
  s.count = CopyCounts;
  return s;
}

// Sizes of the pieces of split and chunk: `size` pieces of dimension `n`, the last smaller.
std::vector<std::int64_t> Pieces(std::int64_t n, std::int64_t size) {
  std::vector<std::int64_t> out;
  for (std::int64_t at = 0; at < n; at += size) out.push_back(std::min(size, n - at));
  if (out.empty()) out.push_back(0);  // PyTorch: one empty piece of an empty dimension
  return out;
}

// One output per piece along dim d; the node must have as many outputs as there are pieces.
std::vector<TensorType> PiecesOf(const OpCall& c, int d, const std::vector<std::int64_t>& sizes,
                                 const std::string& what) {
  const TensorType& x = c.in(0);
  if (OutputCount(c) != sizes.size())
    Fail(fmt::format("{} gives {} pieces {} of dim {} (input {}), the node has {} outputs", what,
                     sizes.size(), List(sizes), d, F(x.dims), OutputCount(c)));
  std::vector<TensorType> out;
  for (std::int64_t n : sizes) {
    TensorType t = x;
    t.dims[d] = n;
    out.push_back(t);
  }
  return out;
}

// split's and chunk's layer form: the attributes and the number of pieces.
LayerForm PiecesForm(const OpCall& c) {
  LayerForm f = DefaultLayerForm(c);
  f.params["num_outputs"] = c.outputs.size();
  return f;
}

// Python's slice index: negative counts from the end, then clamped to [0, n].
std::int64_t SliceIndex(std::int64_t i, std::int64_t n) {
  if (i < 0) i = i < -n ? 0 : i + n;
  return std::min(i, n);
}

}  // namespace

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
          Fail(fmt::format("input {} ({}) does not match input 0 ({}) outside dim {}", i, F(t.dims),
                           F(first.dims), d));
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

  // ---- views ----

  OpSchema reshape = View("reshape", "Reshape",
                          "the same elements in another shape (torch.reshape, Tensor.view); "
                          "shape is sym_ints with at most one -1");
  reshape.attrs = {Req("shape", AttrKind::kSymInts, "the new shape; the batch entry scales")};
  reshape.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    Dims shape = ResolveSizes(c.a().Sym("shape"), c.batch);
    int infer_at = -1;
    __int128 known = 1;  // product of the given sizes; each <= 2^53 + 1, stopped past 2^53
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == -1 && infer_at < 0) {
        infer_at = static_cast<int>(i);
      } else if (shape[i] < 0) {
        Fail(fmt::format("shape {} has {}", List(shape),
                         shape[i] == -1 ? "more than one -1" : "a negative size"));
      } else if (known <= kMaxSize) {
        known *= shape[i];
      }
    }
    __int128 total = 1;  // the input passed the shape pass: at most 2^53
    for (std::int64_t d : x.dims) total *= d;
    const bool ok =
        infer_at >= 0 ? known != 0 && known <= kMaxSize && total % known == 0 : known == total;
    if (!ok)
      Fail(fmt::format("shape {} is invalid for an input of {} elements ({})", List(shape),
                       static_cast<std::int64_t>(total), F(x.dims)));
    if (infer_at >= 0) shape[infer_at] = static_cast<std::int64_t>(total / known);
    return {Checked(Like(x, shape))};
  };
  reshape.layer = [](const OpCall& c) {
    return LayerForm{"Reshape", {{"shape", c.outputs[0].dims}}, c.in(0).dims, c.outputs[0].dims};
  };
  r.push_back(std::move(reshape));

  OpSchema permute = View("permute", "Permute", "dimensions reordered (torch.permute)");
  permute.attrs = {Req("dims", AttrKind::kInts, "a permutation of the input's dimensions")};
  permute.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const auto& dims = c.a().Ints("dims");
    if (static_cast<int>(dims.size()) != x.rank())
      Fail(fmt::format("dims {} has {} entries for the rank-{} input {}", List(dims), dims.size(),
                       x.rank(), F(x.dims)));
    Dims out;
    for (int d : WrapDims(dims, x.rank())) out.push_back(x.dims[d]);
    return {Like(x, out)};
  };
  r.push_back(std::move(permute));

  OpSchema transpose = View("transpose", "Transpose", "two dimensions swapped (torch.transpose)");
  transpose.attrs = {Req("dim0", AttrKind::kInt), Req("dim1", AttrKind::kInt)};
  transpose.infer = [](const OpCall& c) -> std::vector<TensorType> {
    TensorType t = c.in(0);
    const int a = WrapDim(c.a().Int("dim0"), t.rank()), b = WrapDim(c.a().Int("dim1"), t.rank());
    if (t.rank() > 0) std::swap(t.dims[a], t.dims[b]);
    return {t};
  };
  r.push_back(std::move(transpose));

  OpSchema expand = View("expand", "Expand",
                         "size-1 dimensions broadcast to sizes, new leading ones added "
                         "(Tensor.expand); sizes is sym_ints, -1 keeps a size");
  expand.attrs = {Req("sizes", AttrKind::kSymInts)};
  expand.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const Dims sizes = ResolveSizes(c.a().Sym("sizes"), c.batch);
    if (sizes.size() < x.dims.size())
      Fail(fmt::format("cannot expand {} to {} entries ({}): fewer than the input's {}", F(x.dims),
                       sizes.size(), List(sizes), x.rank()));
    const std::size_t lead = sizes.size() - x.dims.size();
    Dims out = sizes;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (i < lead) {
        if (sizes[i] < 0)
          Fail(fmt::format("cannot expand {} to {}: new leading dimension {} cannot be {}",
                           F(x.dims), List(sizes), i, sizes[i]));
        continue;
      }
      const std::int64_t have = x.dims[i - lead];
      if (sizes[i] == -1) {
        out[i] = have;
      } else if (sizes[i] < 0 || (have != 1 && sizes[i] != have)) {
        Fail(fmt::format("cannot expand {} to {}: size {} at dim {} is not 1 and differs from {}",
                         F(x.dims), List(sizes), have, i - lead, sizes[i]));
      }
    }
    return {Checked(Like(x, out))};
  };
  expand.layer = [](const OpCall& c) {
    return LayerForm{"Expand", {{"sizes", c.outputs[0].dims}}, c.in(0).dims, c.outputs[0].dims};
  };
  r.push_back(std::move(expand));

  OpSchema unsqueeze = View("unsqueeze", "Unsqueeze",
                            "a size-1 dimension inserted at dim "
                            "(torch.unsqueeze; dim in [-rank-1, rank])");
  unsqueeze.attrs = {Req("dim", AttrKind::kInt)};
  unsqueeze.infer = [](const OpCall& c) -> std::vector<TensorType> {
    TensorType t = c.in(0);
    const int d = WrapDim(c.a().Int("dim"), t.rank() + 1);
    t.dims.insert(t.dims.begin() + d, 1);
    return {t};
  };
  r.push_back(std::move(unsqueeze));

  OpSchema squeeze = View("squeeze", "Squeeze",
                          "size-1 dimensions removed (torch.squeeze): those of dim, or all of "
                          "them for dim []; a listed dimension of another size stays");
  squeeze.attrs = {Opt("dim", std::vector<std::int64_t>{}, "[]: every size-1 dimension")};
  squeeze.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const auto& dims = c.a().Ints("dim");
    std::vector<bool> drop(x.dims.size(), false);
    if (dims.empty()) {
      for (std::size_t i = 0; i < x.dims.size(); ++i) drop[i] = x.dims[i] == 1;
    } else {
      for (int d : WrapDims(dims, x.rank()))
        if (d < x.rank()) drop[d] = x.dims[d] == 1;
    }
    Dims out;
    for (std::size_t i = 0; i < x.dims.size(); ++i)
      if (!drop[i]) out.push_back(x.dims[i]);
    return {Like(x, out)};
  };
  r.push_back(std::move(squeeze));

  OpSchema split = View("split", "Split",
                        "pieces along dim (torch.split): of split_size each (the last smaller), "
                        "or of the sizes in sections; one output per piece");
  split.attrs = {Opt("split_size", std::int64_t{0}, "size of each piece (0: sections is used)"),
                 Opt("sections", std::vector<std::int64_t>{}, "sizes of the pieces"),
                 Opt("dim", std::int64_t{0})};
  split.num_outputs = -1;
  split.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    if (x.rank() == 0) Fail("cannot split a scalar");
    const int d = WrapDim(c.a().Int("dim"), x.rank());
    const std::int64_t size = c.a().Int("split_size");
    const auto& sections = c.a().Ints("sections");
    if ((size > 0) == !sections.empty())
      Fail(fmt::format("give either split_size > 0 or sections, got split_size {} and sections {}",
                       size, List(sections)));
    if (size < 0) Fail(fmt::format("split_size must be positive, got {}", size));
    if (size > 0)
      return PiecesOf(c, d, Pieces(x.dims[d], size), fmt::format("split_size {}", size));
    std::int64_t total = 0;
    for (std::int64_t n : sections) {
      if (n < 0) Fail(fmt::format("sections {} has a negative size", List(sections)));
      total += n;
    }
    if (total != x.dims[d])
      Fail(fmt::format("sections {} add up to {}, not to size {} of dim {} (input {})",
                       List(sections), total, x.dims[d], d, F(x.dims)));
    return PiecesOf(c, d, sections, fmt::format("sections {}", List(sections)));
  };
  split.layer = PiecesForm;
  r.push_back(std::move(split));

  OpSchema chunk = View("chunk", "Chunk",
                        "torch.chunk: pieces of ceil(size / chunks) along dim, the last smaller, "
                        "so there may be fewer than chunks; one output per piece");
  chunk.attrs = {Req("chunks", AttrKind::kInt), Opt("dim", std::int64_t{0})};
  chunk.num_outputs = -1;
  chunk.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    if (x.rank() == 0) Fail("cannot chunk a scalar");
    const int d = WrapDim(c.a().Int("dim"), x.rank());
    const std::int64_t chunks = c.a().Int("chunks");
    if (chunks < 1) Fail(fmt::format("chunks must be >= 1, got {}", chunks));
    const std::int64_t n = x.dims[d];
    const std::int64_t size = std::max<std::int64_t>(1, (n + chunks - 1) / chunks);
    return PiecesOf(c, d, Pieces(n, size), fmt::format("chunks {}", chunks));
  };
  chunk.layer = PiecesForm;
  r.push_back(std::move(chunk));

  OpSchema slice = View("slice", "Slice",
                        "x[start:end:step] along dim (aten::slice): Python's negative indices "
                        "and clamping; end 2^63-1 means to the end");
  slice.attrs = {Opt("dim", std::int64_t{0}), Opt("start", std::int64_t{0}), Opt("end", kToEnd),
                 Opt("step", std::int64_t{1})};
  slice.infer = [](const OpCall& c) -> std::vector<TensorType> {
    TensorType t = c.in(0);
    if (t.rank() == 0) Fail("cannot slice a scalar");
    const int d = WrapDim(c.a().Int("dim"), t.rank());
    const std::int64_t step = c.a().Int("step");
    if (step < 1) Fail(fmt::format("step must be positive, got {}", step));
    const std::int64_t n = t.dims[d];
    const std::int64_t start = SliceIndex(c.a().Int("start"), n);
    const std::int64_t end = std::max(start, SliceIndex(c.a().Int("end"), n));
    t.dims[d] = (end - start + step - 1) / step;
    return {t};
  };
  r.push_back(std::move(slice));

  OpSchema select =
      View("select", "Select", "x[..., index, ...] along dim, removing it (aten::select; x[:, 0])");
  select.attrs = {Req("dim", AttrKind::kInt), Req("index", AttrKind::kInt)};
  select.infer = [](const OpCall& c) -> std::vector<TensorType> {
    TensorType t = c.in(0);
    if (t.rank() == 0) Fail("cannot select from a scalar");
    const int d = WrapDim(c.a().Int("dim"), t.rank());
    const std::int64_t i = c.a().Int("index"), n = t.dims[d];
    if (i < -n || i >= n)
      Fail(fmt::format("index {} is out of range for size {} of dim {} (input {})", i, n, d,
                       F(t.dims)));
    t.dims.erase(t.dims.begin() + d);
    return {t};
  };
  r.push_back(std::move(select));

  // ---- copies ----

  OpSchema contiguous = Copy("contiguous", "Contiguous",
                             "a copy into contiguous memory (Tensor.contiguous after a permute "
                             "or transpose)");
  contiguous.infer = [](const OpCall& c) { return std::vector<TensorType>{c.in(0)}; };
  r.push_back(std::move(contiguous));

  OpSchema stack = Copy("stack", "Stack",
                        "inputs of one shape stacked along a new dim "
                        "(torch.stack)");
  stack.attrs = {Opt("dim", std::int64_t{0})};
  stack.inputs = {"tensors"};
  stack.variadic = true;
  stack.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& first = c.in(0);
    for (std::size_t i = 1; i < c.inputs.size(); ++i)
      if (c.in(i).dims != first.dims)
        Fail(fmt::format("input {} ({}) has another shape than input 0 ({})", i, F(c.in(i).dims),
                         F(first.dims)));
    const int d = WrapDim(c.a().Int("dim"), first.rank() + 1);
    Dims out = first.dims;
    out.insert(out.begin() + d, static_cast<std::int64_t>(c.inputs.size()));
    return {Checked(Like(first, out))};
  };
  r.push_back(std::move(stack));

  OpSchema pad = Copy("pad", "Pad",
                      "padding (torch.nn.functional.pad): pads in F.pad's order, (left, right) of "
                      "the last dimension first; mode constant (value), reflect, replicate or "
                      "circular");
  pad.attrs = {Req("pads", AttrKind::kInts), Opt("mode", std::string("constant")),
               Opt("value", 0.0)};
  pad.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const auto& pads = c.a().Ints("pads");
    const std::string& mode = c.a().String("mode");
    if (mode != "constant" && mode != "reflect" && mode != "replicate" && mode != "circular")
      Fail(fmt::format("mode must be constant, reflect, replicate or circular, got '{}'", mode));
    if (pads.size() % 2 != 0 || pads.empty())
      Fail(fmt::format("pads {} must have an even, non-zero length", List(pads)));
    const int padded = static_cast<int>(pads.size() / 2);
    if (padded > x.rank())
      Fail(fmt::format("pads {} pad {} dimensions of the rank-{} input {}", List(pads), padded,
                       x.rank(), F(x.dims)));
    if (mode != "constant") {
      // PyTorch 1.13 implements these for 1 to 3 padded dimensions, on inputs with one or two
      // dimensions more (unbatched or batched, channels first).
      if (padded > 3 || (x.rank() != padded + 1 && x.rank() != padded + 2))
        Fail(fmt::format("{} padding of {} dimensions needs a {}-d or {}-d input, got {}", mode,
                         padded, padded + 1, padded + 2, F(x.dims)));
    }
    Dims out = x.dims;
    for (int i = 0; i < padded; ++i) {
      const int d = x.rank() - 1 - i;
      const std::int64_t lo = pads[2 * i], hi = pads[2 * i + 1], n = x.dims[d];
      if (mode == "reflect" && (lo >= n || hi >= n || lo < 0 || hi < 0))
        Fail(
            fmt::format("reflect padding ({}, {}) of dim {} must be in [0, {}) for its size {} "
                        "(input {})",
                        lo, hi, d, n, n, F(x.dims)));
      if (mode == "circular" && (lo > n || hi > n || lo < 0 || hi < 0))
        Fail(
            fmt::format("circular padding ({}, {}) of dim {} must be in [0, {}] for its size {} "
                        "(input {})",
                        lo, hi, d, n, n, F(x.dims)));
      if (mode == "replicate" && (lo < 0 || hi < 0))
        Fail(fmt::format("replicate padding ({}, {}) of dim {} must not be negative", lo, hi, d));
      out[d] = n + lo + hi;
      if (out[d] < 0)
        Fail(fmt::format("padding ({}, {}) leaves dim {} of size {} with {} elements (input {})",
                         lo, hi, d, n, out[d], F(x.dims)));
    }
    return {Checked(Like(x, out))};
  };
  r.push_back(std::move(pad));

  OpSchema roll = Copy("roll", "Roll",
                       "elements shifted cyclically along dims (torch.roll); "
                       "dims [] rolls the flattened tensor by one shift");
  roll.attrs = {Req("shifts", AttrKind::kInts), Opt("dims", std::vector<std::int64_t>{})};
  roll.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const auto& shifts = c.a().Ints("shifts");
    const auto& dims = c.a().Ints("dims");
    if (dims.empty() ? shifts.size() != 1 : shifts.size() != dims.size())
      Fail(
          fmt::format("shifts {} and dims {} must have the same length (or dims [] and one "
                      "shift)",
                      List(shifts), List(dims)));
    for (std::int64_t d : dims) WrapDim(d, x.rank());
    return {x};
  };
  r.push_back(std::move(roll));

  OpSchema cast = Copy("cast", "Cast",
                       "a copy at another dtype (Tensor.to(dtype), .float(), "
                       ".half())");
  cast.attrs = {Req("dtype", AttrKind::kString, "float32, float16, bfloat16, ...")};
  cast.infer = [](const OpCall& c) -> std::vector<TensorType> {
    TensorType t = c.in(0);
    t.dtype = ParseDType(c.a().String("dtype"));
    return {t};
  };
  r.push_back(std::move(cast));
}

}  // namespace joulecast::graph::ops
