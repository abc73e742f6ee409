// Products: linear (x W^T + b on the last dimension of an input of any rank), matmul (torch.matmul
// with its broadcasting rules), and the embedding lookup.
//
// Counts: linear and matmul count matrix_macs = rows · K · N (bias excluded), macs adding one per
// output element for a bias (ptflops), flops = 2 · matrix_macs (+ the bias adds). aten::bmm is
// not an operator of its own: readers map it to matmul, whose rule gives bmm's shapes for 3-d
// operands of one batch (bmm's stricter checks, no broadcasting and rank 3 only, are left to the
// model that was traced). embedding is a gather: macs = flops = 0, bytes read = the indices and
// the rows gathered (not the whole table), bytes written = the output.
#include "ops.h"

namespace joulecast::graph::ops {

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
  linear.layer = [](const OpCall& c) {
    LayerForm f;
    f.type = "Linear";
    f.params = {
        {"in_features", c.in(1).dims[1]}, {"out_features", c.in(1).dims[0]}, {"bias", c.has(2)}};
    f.input = c.in(0).dims;
    f.output = c.outputs[0].dims;
    return f;
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
    LayerForm f;
    f.type = "MatMul";
    const Dims& ad = c.in(0).dims;
    const Dims& bd = c.in(1).dims;
    f.params = {{"m", ad.size() >= 2 ? ad[ad.size() - 2] : 1},
                {"k", ad.back()},
                {"n", bd.size() >= 2 ? bd.back() : 1}};
    f.input = ad;
    f.output = c.outputs[0].dims;
    return f;
  };
  matmul.proxy_doc =
      "a Linear layer without bias, in_features = K, out_features = N, on rows "
      "= every batch entry times M";
  matmul.proxy = [](const OpCall& c) -> std::optional<LayerForm> {
    const Dims& bd = c.in(1).dims;
    const Dims& ad = c.in(0).dims;
    const std::int64_t k = ad.back();
    const std::int64_t n = bd.size() >= 2 ? bd.back() : 1;
    LayerForm f;
    f.type = "Linear";
    f.params = {{"in_features", k}, {"out_features", n}, {"bias", false}};
    // Rows: the output's elements over N, as one batch of that many vectors.
    const std::int64_t rows = static_cast<std::int64_t>(c.outputs[0].elements() / double(n));
    f.input = {rows, k};
    f.output = {rows, n};
    return f;
  };
  r.push_back(std::move(matmul));

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
  r.push_back(std::move(emb));
}

}  // namespace joulecast::graph::ops
