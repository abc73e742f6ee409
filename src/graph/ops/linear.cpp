// Products: linear (x W^T + b on the last dimension of an input of any rank), matmul (torch.matmul
// with its broadcasting rules), einsum (torch.einsum of two operands), and the embedding lookup.
//
// Counts: linear and matmul count matrix_macs = rows · K · N (bias excluded), macs adding one per
// output element for a bias (ptflops), flops = 2 · matrix_macs (+ the bias adds). aten::bmm is
// not an operator of its own: readers map it to matmul, whose rule gives bmm's shapes for 3-d
// operands of one batch (bmm's stricter checks, no broadcasting and rank 3 only, are left to the
// model that was traced). einsum: the equation ("bhid,bhjd->bhij"; spaces ignored; "..." for
// broadcast dimensions, PyTorch's implicit output without "->") is parsed by its shape rule, which
// checks that each index has one size in both operands (or 1, broadcast as torch.einsum does);
// matrix_macs = macs = the product of the sizes of all distinct indices, flops twice that. One
// operand, three or more, and an index repeated in one operand (diagonals, traces) are errors
// naming the equation. embedding is a gather: macs = flops = 0, bytes read = the indices and
// the rows gathered (not the whole table), bytes written = the output.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "ops.h"

namespace joulecast::graph::ops {
namespace {

// An einsum equation applied to its two operands: the label of each operand dimension and of each
// output dimension, and the size of every label. Labels: an index letter is its character code;
// the dimensions "..." covers are kEllipsisLabel + k, k counting the broadcast ellipsis dimensions
// from the left (an operand whose "..." covers fewer dimensions has the last ones).
struct EinsumPlan {
  std::vector<std::vector<int>> operands;
  std::vector<int> output;
  std::map<int, std::int64_t> sizes;
};

constexpr int kEllipsisToken = -1;
constexpr int kEllipsisLabel = 1000;

std::string LabelName(int label) {
  if (label >= kEllipsisLabel) return fmt::format("dimension {} of '...'", label - kEllipsisLabel);
  return fmt::format("index '{}'", static_cast<char>(label));
}

// One term of the equation: its letters, and kEllipsisToken for "...".
std::vector<int> ParseEinsumTerm(const std::string& equation, const std::string& term,
                                 const std::string& what) {
  std::vector<int> out;
  bool ellipsis = false;
  for (std::size_t i = 0; i < term.size(); ++i) {
    const char ch = term[i];
    if (ch == '.') {
      if (term.compare(i, 3, "...") != 0)
        Fail(fmt::format("einsum '{}': {} has a '.' that is not part of '...'", equation, what));
      if (ellipsis) Fail(fmt::format("einsum '{}': {} has '...' twice", equation, what));
      ellipsis = true;
      out.push_back(kEllipsisToken);
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(ch))) {
      if (std::find(out.begin(), out.end(), ch) != out.end())
        Fail(
            fmt::format("einsum '{}': index '{}' appears twice in {} (diagonals and traces are "
                        "not supported)",
                        equation, ch, what));
      out.push_back(ch);
    } else {
      Fail(fmt::format("einsum '{}': unexpected character '{}' in {}", equation, ch, what));
    }
  }
  return out;
}

EinsumPlan PlanEinsum(const OpCall& c) {
  const std::string& equation = c.a().String("equation");
  std::string eq;
  for (char ch : equation)
    if (!std::isspace(static_cast<unsigned char>(ch))) eq += ch;
  const std::size_t arrow = eq.find("->");
  if (arrow != std::string::npos && eq.find("->", arrow + 2) != std::string::npos)
    Fail(fmt::format("einsum '{}': '->' appears twice", equation));
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (std::size_t start = 0;;) {
    const std::size_t comma = lhs.find(',', start);
    terms.push_back(
        lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != 2)
    Fail(fmt::format("einsum '{}': {} operand{}; only contractions of two operands are supported",
                     equation, terms.size(), terms.size() == 1 ? "" : "s"));
  if (c.inputs.size() != 2)
    Fail(fmt::format("einsum '{}' names 2 operands, got {} inputs", equation, c.inputs.size()));

  EinsumPlan p;
  std::vector<std::vector<int>> parsed;
  int ellipsis_rank = 0;  // dimensions "..." stands for after broadcasting
  for (std::size_t k = 0; k < 2; ++k) {
    parsed.push_back(ParseEinsumTerm(equation, terms[k], fmt::format("operand {}", k)));
    const int letters = static_cast<int>(std::count_if(parsed[k].begin(), parsed[k].end(),
                                                       [](int t) { return t != kEllipsisToken; }));
    const bool ellipsis = static_cast<int>(parsed[k].size()) != letters;
    const TensorType& t = c.in(k);
    if (ellipsis ? t.rank() < letters : t.rank() != letters)
      Fail(fmt::format("einsum '{}': operand {} ({}) has {} dimensions but '{}' names {}{}",
                       equation, k, F(t.dims), t.rank(), terms[k], letters,
                       ellipsis ? " besides '...'" : ""));
    if (ellipsis) ellipsis_rank = std::max(ellipsis_rank, t.rank() - letters);
  }
  for (std::size_t k = 0; k < 2; ++k) {
    const Dims& d = c.in(k).dims;
    const int covered = static_cast<int>(d.size()) -
                        static_cast<int>(std::count_if(parsed[k].begin(), parsed[k].end(),
                                                       [](int t) { return t != kEllipsisToken; }));
    std::vector<int> labels;
    for (int token : parsed[k]) {
      if (token == kEllipsisToken) {
        for (int j = 0; j < covered; ++j)
          labels.push_back(kEllipsisLabel + ellipsis_rank - covered + j);
      } else {
        labels.push_back(token);
      }
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto [it, fresh] = p.sizes.emplace(labels[i], d[i]);
      if (fresh || it->second == d[i] || d[i] == 1) continue;
      if (it->second != 1)  // an index repeated in one operand is refused above: operand 0 vs 1
        Fail(fmt::format("einsum '{}': {} has size {} in operand 0 ({}) and {} in operand 1 ({})",
                         equation, LabelName(labels[i]), it->second, F(c.in(0).dims), d[i], F(d)));
      it->second = d[i];  // broadcast from 1
    }
    p.operands.push_back(std::move(labels));
  }
  if (arrow != std::string::npos) {
    for (int token : ParseEinsumTerm(equation, eq.substr(arrow + 2), "the output")) {
      if (token == kEllipsisToken) {
        for (int j = 0; j < ellipsis_rank; ++j) p.output.push_back(kEllipsisLabel + j);
      } else if (!p.sizes.count(token)) {
        Fail(fmt::format("einsum '{}': output index '{}' is in neither operand", equation,
                         static_cast<char>(token)));
      } else {
        p.output.push_back(token);
      }
    }
  } else {
    // PyTorch's implicit output: the "..." dimensions, then the indices that appear once, in
    // alphabetical (character code) order.
    for (int j = 0; j < ellipsis_rank; ++j) p.output.push_back(kEllipsisLabel + j);
    std::map<int, int> uses;
    for (const auto& labels : p.operands)
      for (int l : labels)
        if (l < kEllipsisLabel) ++uses[l];
    for (const auto& [label, n] : uses)
      if (n == 1) p.output.push_back(label);
  }
  return p;
}

// The contraction as a batched matrix product: batch = the indices of both operands and the
// output, m = of the first operand and the output only, n = of the second and the output only,
// k = the summed ones (not in the output). batch · m · n · k = the product of all sizes.
struct EinsumFactors {
  double batch = 1, m = 1, n = 1, k = 1;
};

// A factor as a size (at most 2^53: k may be a product of both operands' sizes).
std::int64_t Size(double v) { return static_cast<std::int64_t>(std::min(v, double(kMaxSize))); }

EinsumFactors FactorEinsum(const EinsumPlan& p) {
  EinsumFactors f;
  const auto has = [](const std::vector<int>& v, int l) {
    return std::find(v.begin(), v.end(), l) != v.end();
  };
  for (const auto& [label, size] : p.sizes) {
    const double s = static_cast<double>(size);
    const bool a = has(p.operands[0], label), b = has(p.operands[1], label);
    if (!has(p.output, label)) {
      f.k *= s;
    } else if (a && b) {
      f.batch *= s;
    } else if (a) {
      f.m *= s;
    } else {
      f.n *= s;
    }
  }
  return f;
}

// The Linear form of a linear call: torch.nn.Linear's arguments, its input and output.
LayerForm LinearForm(const OpCall& c) {
  LayerForm f;
  f.type = "Linear";
  f.params = {
      {"in_features", c.in(1).dims[1]}, {"out_features", c.in(1).dims[0]}, {"bias", c.has(2)}};
  f.input = c.in(0).dims;
  f.output = c.outputs[0].dims;
  return f;
}

// The MatMul form of a product of `a` by `b` (torch.matmul's operands) with output `out`.
LayerForm MatMulForm(const Dims& ad, const Dims& bd, const Dims& out) {
  LayerForm f;
  f.type = "MatMul";
  f.params = {{"m", ad.size() >= 2 ? ad[ad.size() - 2] : 1},
              {"k", ad.back()},
              {"n", bd.size() >= 2 ? bd.back() : 1}};
  f.input = ad;
  f.output = out;
  return f;
}

}  // namespace

void RegisterLinearOps(Registrar& r) {
  OpSchema linear;
  linear.name = "linear";
  linear.type = "Linear";
  linear.doc = "y = x W^T + b on the last dimension (torch.nn.Linear, aten::linear/addmm)";
  linear.cost = CostClass::kCompute;
  linear.inputs = {"input", "weight", "bias?"};
  linear.min_inputs = 2;
  linear.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& x = c.in(0);
    const TensorType& w = c.in(1);
    if (w.rank() != 2) Fail(fmt::format("weight {} is not a matrix", F(w.dims)));
    if (x.rank() < 1) Fail("expected an input of rank >= 1");
    if (x.dims.back() != w.dims[1]) {
      std::string m =
          fmt::format("in_features is {} but the input has {} features", w.dims[1], x.dims.back());
      if (x.rank() > 2)
        m += fmt::format(" (input {}; Linear acts on the last dimension)", F(x.dims));
      Fail(m);
    }
    if (c.has(2) && (c.in(2).rank() != 1 || c.in(2).dims[0] != w.dims[0]))
      Fail(fmt::format("bias {} does not match out_features {}", F(c.in(2).dims), w.dims[0]));
    Dims out = x.dims;
    out.back() = w.dims[0];
    return {Checked(Like(x, out))};
  };
  linear.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    const TensorType& w = c.in(1);
    const double rows = c.in(0).elements() / static_cast<double>(w.dims[1]);
    n.matrix_macs = rows * w.elements();
    n.macs = n.matrix_macs + (c.has(2) ? rows * static_cast<double>(w.dims[0]) : 0.0);
    n.flops = 2 * n.matrix_macs + (c.has(2) ? rows * static_cast<double>(w.dims[0]) : 0.0);
    return n;
  };
  // The GPU model's linear, rows = the input's elements / K; gradients by ProductGradKernel, a
  // bias's as an addu proxy over the output (the sum over rows).
  linear.gpu = [](const OpCall& c) {
    const std::int64_t k = c.in(1).dims[1], n = c.in(1).dims[0];
    const auto rows = static_cast<std::int64_t>(c.in(0).elements() / static_cast<double>(k));
    const GpuKernel kernel{"linear", {1, rows, n, k}};
    GpuForm f;
    f.forward = {kernel};
    f.grads.resize(c.inputs.size());
    f.grads[0] = {ProductGradKernel(kernel, 0)};
    f.grads[1] = {ProductGradKernel(kernel, 1)};
    if (c.has(2)) f.grads[2] = {GpuKernel{"addu", {rows, n}, true}};
    return f;
  };
  // A weight that is the transpose of a stored [K, N] matrix (GPT-2's Conv1D, addmm(b, x, W)) is
  // read as stored: the kernel is x·W, not x·W^T, and a CPU BLAS runs the two at different
  // speeds (the reference BLAS ~1.7x apart at GPT-2's sizes), so its form is that product's,
  // MatMul; a profile without MatMul predicts it as the Linear it computes (the proxy).
  linear.layer = [](const OpCall& c) {
    if (c.is_transposed_parameter(1)) {
      const Dims& w = c.in(1).dims;
      return MatMulForm(c.in(0).dims, Dims{w[1], w[0]}, c.outputs[0].dims);
    }
    return LinearForm(c);
  };
  linear.proxy_doc =
      "for a weight read as stored (MatMul form): the Linear of the same in_features, "
      "out_features and bias";
  linear.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    if (!c.is_transposed_parameter(1)) return std::nullopt;
    return LinearForm(c);
  };
  r.push_back(std::move(linear));

  // torch.matmul: 1-d operands are promoted (and the added dimension removed), batch dimensions
  // broadcast.
  OpSchema matmul;
  matmul.name = "matmul";
  matmul.type = "MatMul";
  matmul.doc = "torch.matmul / aten::bmm / @: batched matrix product with broadcasting";
  matmul.cost = CostClass::kCompute;
  matmul.inputs = {"a", "b"};
  matmul.min_inputs = 2;
  matmul.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& a = c.in(0);
    const TensorType& b = c.in(1);
    if (a.rank() < 1 || b.rank() < 1) Fail("matmul needs operands of rank >= 1");
    Dims ad = a.dims, bd = b.dims;
    const bool a1 = ad.size() == 1, b1 = bd.size() == 1;
    if (a1) ad.insert(ad.begin(), 1);
    if (b1) bd.push_back(1);
    const std::int64_t m = ad[ad.size() - 2], k = ad.back(), k2 = bd[bd.size() - 2], n = bd.back();
    if (k != k2)
      Fail(fmt::format("cannot multiply {} by {}: inner sizes {} and {} differ", F(a.dims),
                       F(b.dims), k, k2));
    Dims batch = Broadcast(Dims(ad.begin(), ad.end() - 2), Dims(bd.begin(), bd.end() - 2));
    Dims out = batch;
    if (!a1) out.push_back(m);
    if (!b1) out.push_back(n);
    return {Checked(Like(a, out))};
  };
  matmul.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    const Dims& ad = c.in(0).dims;
    const double k = static_cast<double>(ad.back());
    n.matrix_macs = c.outputs[0].elements() * k;
    n.macs = n.matrix_macs;
    n.flops = 2 * n.matrix_macs;
    return n;
  };
  matmul.layer = [](const OpCall& c) {
    return MatMulForm(c.in(0).dims, c.in(1).dims, c.outputs[0].dims);
  };
  // A second operand of rank <= 2 is shared by every row of the first: the GPU model's linear on
  // rows = the output's elements / N; otherwise its bmm over the broadcast batch.
  matmul.gpu = [](const OpCall& c) {
    const Dims& ad = c.in(0).dims;
    const Dims& bd = c.in(1).dims;
    const std::int64_t k = ad.back();
    const std::int64_t n = bd.size() >= 2 ? bd.back() : 1;
    const std::int64_t m = ad.size() >= 2 ? ad[ad.size() - 2] : 1;
    const double out = c.outputs[0].elements();
    GpuKernel kernel;
    if (bd.size() <= 2) {
      kernel = {"linear", {1, static_cast<std::int64_t>(out / static_cast<double>(n)), n, k}};
    } else {
      kernel = {"bmm", {static_cast<std::int64_t>(out / (static_cast<double>(m) * n)), m, n, k}};
    }
    GpuForm f;
    f.forward = {kernel};
    f.grads = {{ProductGradKernel(kernel, 0)}, {ProductGradKernel(kernel, 1)}};
    return f;
  };
  matmul.form_macs = [](const LayerForm& f) {
    double out = 1;
    for (std::int64_t d : f.output) out *= static_cast<double>(d);
    return out * static_cast<double>(f.params.at("k").get<std::int64_t>());
  };
  matmul.proxy_doc =
      "a Linear layer without bias, in_features = K, out_features = N, on rows "
      "= every batch entry times M";
  matmul.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    const Dims& bd = c.in(1).dims;
    const Dims& ad = c.in(0).dims;
    const std::int64_t k = ad.back();
    const std::int64_t n = bd.size() >= 2 ? bd.back() : 1;
    // Rows: the output's elements over N, as one batch of that many vectors.
    const std::int64_t rows = static_cast<std::int64_t>(c.outputs[0].elements() / double(n));
    return LinearProxy(rows, k, n);
  };
  r.push_back(std::move(matmul));

  OpSchema einsum = MakeOp("einsum", "Einsum", CostClass::kCompute,
                           "a product of two tensors as an Einstein summation, e.g. "
                           "'bhid,bhjd->bhij' (torch.einsum, aten::einsum)");
  einsum.attrs = {Req("equation", AttrKind::kString,
                      "two operands' indices and the output's: 'bij,bjk->bik' ('...' allowed)")};
  einsum.inputs = {"operands"};
  einsum.variadic = true;  // the count is checked against the equation, which the error names
  einsum.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const EinsumPlan p = PlanEinsum(c);
    Dims out;
    for (int l : p.output) out.push_back(p.sizes.at(l));
    return {Checked(TensorType{Promote(c.in(0).dtype, c.in(1).dtype), out})};
  };
  einsum.count = [](const OpCall& c) {
    NodeCounts n = DefaultCounts(c);
    double product = 1;
    for (const auto& [label, size] : PlanEinsum(c).sizes) product *= static_cast<double>(size);
    n.matrix_macs = product;
    n.macs = product;
    n.flops = 2 * product;
    return n;
  };
  einsum.layer = [](const OpCall& c) {
    const EinsumFactors e = FactorEinsum(PlanEinsum(c));
    LayerForm f;
    f.type = "Einsum";
    f.params = {{"equation", c.a().String("equation")},
                {"batch", Size(e.batch)},
                {"m", Size(e.m)},
                {"k", Size(e.k)},
                {"n", Size(e.n)}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  einsum.proxy_doc =
      "a Linear layer without bias, in_features = K (the summed indices), out_features = N (the "
      "indices of the second operand and the output only), on rows = batch (the indices of both "
      "operands and the output) times M (of the first operand and the output only)";
  einsum.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    const EinsumFactors e = FactorEinsum(PlanEinsum(c));
    return LinearProxy(Size(e.batch * e.m), Size(e.k), Size(e.n));
  };
  einsum.form_macs = [](const LayerForm& f) {
    double product = 1;
    for (const char* k : {"batch", "m", "k", "n"})
      product *= static_cast<double>(f.params.at(k).get<std::int64_t>());
    return product;
  };
  r.push_back(std::move(einsum));

  // torch.nn.Embedding / F.embedding: out[..., :] = weight[indices[...], :].
  OpSchema emb = MakeOp("embedding", "Embedding", CostClass::kDataMovement,
                        "row lookup weight[indices] (torch.nn.Embedding, aten::embedding)");
  emb.inputs = {"indices", "weight"};
  emb.min_inputs = 2;
  emb.infer = [](const OpCall& c) -> std::vector<TensorType> {
    const TensorType& idx = c.in(0);
    const TensorType& w = c.in(1);
    if (idx.dtype != DType::kInt64 && idx.dtype != DType::kInt32)
      Fail(fmt::format("indices must be int64 or int32, got {} (indices {})", DTypeName(idx.dtype),
                       F(idx.dims)));
    if (w.rank() != 2)
      Fail(fmt::format("weight {} is not a num_embeddings x embedding_dim matrix", F(w.dims)));
    Dims out = idx.dims;
    out.push_back(w.dims[1]);
    return {Checked(Like(w, out))};
  };
  emb.count = [](const OpCall& c) {
    NodeCounts n;
    // A gather touches only the rows it copies: as many elements as it writes.
    n.bytes_read = c.in(0).bytes() + c.outputs[0].bytes();
    n.bytes_written = c.outputs[0].bytes();
    return n;
  };
  emb.layer = [](const OpCall& c) {
    LayerForm f;
    f.type = "Embedding";
    f.params = {{"num_embeddings", c.in(1).dims[0]}, {"embedding_dim", c.in(1).dims[1]}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
  };
  emb.form_macs = [](const LayerForm&) { return 0.0; };  // a gather: no arithmetic
  // A gather as a relu proxy over the output (a read and a write per element); the weight's
  // gradient a scatter-add, an add proxy over the output's elements.
  emb.gpu = [](const OpCall& c) {
    const Dims& out = c.outputs[0].dims;
    const std::vector<std::int64_t> rows = {
        static_cast<std::int64_t>(c.outputs[0].elements() / static_cast<double>(out.back())),
        out.back()};
    GpuForm f;
    f.forward = {GpuKernel{"relu", rows, true}};
    f.grads = {{}, {GpuKernel{"add", rows, true}}};
    return f;
  };
  r.push_back(std::move(emb));
}

}  // namespace joulecast::graph::ops
