// Registration of the built-in operators, one function per family (one .cpp each), and helpers
// shared by their shape rules and counts. Private to the graph library.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "joulecast/graph/op_schema.h"

namespace joulecast::graph::ops {

using Registrar = std::vector<OpSchema>;

// Every family; called once, in this order, when the registry is first used (op_schema.cpp).
void RegisterConvOps(Registrar& r);        // conv2d, conv1d
void RegisterLinearOps(Registrar& r);      // linear, matmul (also aten::bmm), einsum, embedding
void RegisterPoolOps(Registrar& r);        // max/avg/adaptive pools
void RegisterNormOps(Registrar& r);        // batch_norm, layer_norm, group_norm, rms_norm
void RegisterActivationOps(Registrar& r);  // relu, relu6, gelu, silu, ..., softmax
void RegisterArithmeticOps(Registrar& r);  // add, sub, mul, ..., where, clamp, reductions, norm
void RegisterShapeOps(Registrar& r);       // views, permute, cat, split, slice, pad, ...
void RegisterAttentionOps(Registrar& r);   // sdpa, multi-head attention, encoder layer
void RegisterMiscOps(Registrar& r);        // dropout, identity, interpolate, channel_shuffle

// Throws std::runtime_error(message): shape rules report their numbers through this.
[[noreturn]] inline void Fail(const std::string& message) { throw std::runtime_error(message); }

// Attribute helpers for schemas.
AttrSpec Req(const std::string& name, AttrKind kind, const std::string& doc = "");
AttrSpec Opt(const std::string& name, AttrValue default_value, const std::string& doc = "");

// Checks that no dimension or element count exceeds 2^53; throws "output AxB has more than 2^53
// elements".
TensorType Checked(TensorType t);
// t with other dims.
TensorType Like(const TensorType& t, Dims dims);
// The broadcast of two shapes under PyTorch's (numpy's) rules; throws "cannot broadcast AxB with
// CxD".
Dims Broadcast(const Dims& a, const Dims& b);
// "1x3x224x224".
inline std::string F(const Dims& d) { return FormatDims(d); }
// Output size of a sliding window: floor or ceil((in + 2p - d(k-1) - 1) / s) + 1, with PyTorch's
// rule that the last window must start inside the input or left padding (ceil_mode). Throws when
// the result is < 1.
std::int64_t WindowOut(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p,
                       std::int64_t d, bool ceil_mode);
// Elements of input i, or 0 when absent.
double InElems(const OpCall& c, std::size_t i);
// A JSON [h, w] from an ints attribute.
nlohmann::json PairJson(const std::vector<std::int64_t>& v);

// A schema with its identity filled in (the rest is set by the caller).
OpSchema MakeOp(const std::string& name, const std::string& type, CostClass cost,
                const std::string& doc);
// The layer form of the proxy of a product (matmul, einsum, attention): a Linear layer without
// bias, in_features `in`, out_features `out`, on a batch of `rows` vectors ({rows, in} to
// {rows, out}), so that a Linear predictor sees rows · in · out MACs.
LayerForm LinearProxy(std::int64_t rows, std::int64_t in, std::int64_t out);
// Counts of a view: all zero (no arithmetic, no traffic).
NodeCounts ViewCounts(const OpCall& c);
// Counts of a copy: DefaultCounts' bytes (every input read once, every output written once) with
// macs = flops = 0.
NodeCounts CopyCounts(const OpCall& c);
// How many outputs the node has (schemas with num_outputs -1: split, chunk); 1 without a node.
std::size_t OutputCount(const OpCall& c);
// A sym_ints attribute at batch `batch`: the batch entry times the batch, except that a negative
// entry (reshape's and expand's -1) is kept as it is.
std::vector<std::int64_t> ResolveSizes(const SymInts& s, std::int64_t batch);
// "[1, -1, 768]": a list as PyTorch prints it, for messages.
std::string List(const std::vector<std::int64_t>& v);
// Distinct wrapped dimensions of a rank-`rank` tensor; throws "dim 1 appears twice in [1, -2]".
std::vector<int> WrapDims(const std::vector<std::int64_t>& dims, int rank);
// PyTorch's type promotion of two tensors, simplified: floating wins over integral and bool; of
// two floating (or two integral) types the wider; float16 with bfloat16 gives float32.
DType Promote(DType a, DType b);

}  // namespace joulecast::graph::ops
