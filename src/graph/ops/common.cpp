#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ops.h"

namespace joulecast::graph::ops {

AttrSpec Req(const std::string& name, AttrKind kind, const std::string& doc) {
  return AttrSpec{name, kind, std::nullopt, doc};
}

AttrSpec Opt(const std::string& name, AttrValue default_value, const std::string& doc) {
  const AttrKind kind = KindOf(default_value);
  return AttrSpec{name, kind, std::move(default_value), doc};
}

TensorType Checked(TensorType t) {
  // Each factor <= 2^53 and the running product checked before it can pass 2^106: exact in 128
  // bits.
  __int128 n = 1;
  bool too_many = false;
  for (std::int64_t d : t.dims) {
    if (d < 0) Fail(fmt::format("output {} has a negative size", F(t.dims)));
    if (d > kMaxSize) too_many = true;
    if (!too_many) n *= d;
    if (n > kMaxSize) too_many = true;
  }
  if (too_many) Fail(fmt::format("output {} has more than 2^53 elements", F(t.dims)));
  return t;
}

TensorType Like(const TensorType& t, Dims dims) { return TensorType{t.dtype, std::move(dims)}; }

Dims Broadcast(const Dims& a, const Dims& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Dims out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (x != y && x != 1 && y != 1) Fail(fmt::format("cannot broadcast {} with {}", F(a), F(b)));
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::int64_t WindowOut(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p,
                       std::int64_t d, bool ceil_mode) {
  const __int128 padded = static_cast<__int128>(in) + 2 * static_cast<__int128>(p);
  const __int128 extent = static_cast<__int128>(d) * (k - 1) + 1;
  if (extent > padded)
    Fail(fmt::format("kernel {} (dilation {}) is larger than the padded input {}", k, d,
                     static_cast<std::int64_t>(padded)));
  const __int128 span = padded - extent;
  __int128 size = (span + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (size - 1) * s >= static_cast<__int128>(in) + p) --size;
  return static_cast<std::int64_t>(size);
}

double InElems(const OpCall& c, std::size_t i) { return c.has(i) ? c.in(i).elements() : 0.0; }

nlohmann::json PairJson(const std::vector<std::int64_t>& v) {
  if (v.size() == 1) return nlohmann::json::array({v[0], v[0]});
  return nlohmann::json(v);
}

OpSchema MakeOp(const std::string& name, const std::string& type, CostClass cost,
                const std::string& doc) {
  OpSchema s;
  s.name = name;
  s.type = type;
  s.cost = cost;
  s.doc = doc;
  return s;
}

LayerForm LinearProxy(std::int64_t rows, std::int64_t in, std::int64_t out) {
  LayerForm f;
  f.type = "Linear";
  f.params = {{"in_features", in}, {"out_features", out}, {"bias", false}};
  f.input = {rows, in};
  f.output = {rows, out};
  return f;
}

NodeCounts ViewCounts(const OpCall&) { return NodeCounts{}; }

NodeCounts CopyCounts(const OpCall& c) {
  NodeCounts n = DefaultCounts(c);
  n.macs = 0;
  n.flops = 0;
  return n;
}

std::size_t OutputCount(const OpCall& c) { return c.node ? c.node->outputs.size() : 1; }

std::vector<std::int64_t> ResolveSizes(const SymInts& s, std::int64_t batch) {
  std::vector<std::int64_t> out = s.values;
  const int i = s.batch_index;
  if (i >= 0 && i < static_cast<int>(out.size()) && out[i] >= 0) {
    // In 128 bits: a size times the batch may pass 2^63; Checked() reports it as too large.
    const __int128 v = static_cast<__int128>(out[i]) * batch;
    out[i] = v > kMaxSize ? kMaxSize + 1 : static_cast<std::int64_t>(v);
  }
  return out;
}

std::string List(const std::vector<std::int64_t>& v) {
  return fmt::format("[{}]", fmt::join(v, ", "));
}

std::vector<int> WrapDims(const std::vector<std::int64_t>& dims, int rank) {
  std::vector<int> out;
  for (std::int64_t d : dims) {
    const int w = WrapDim(d, rank);
    if (std::find(out.begin(), out.end(), w) != out.end())
      Fail(fmt::format("dim {} appears twice in {}", w, List(dims)));
    out.push_back(w);
  }
  return out;
}

DType Promote(DType a, DType b) {
  if (a == b) return a;
  if (IsFloating(a) != IsFloating(b)) return IsFloating(a) ? a : b;
  if (IsFloating(a)) {
    const bool half_a = DTypeBytes(a) == 2, half_b = DTypeBytes(b) == 2;
    if (half_a && half_b) return DType::kFloat32;  // float16 with bfloat16
    return DTypeBytes(a) >= DTypeBytes(b) ? a : b;
  }
  // Integral and bool: bool < uint8 < int32 < int64 (uint8 vs bool both 1 byte: uint8).
  if (a == DType::kBool) return b;
  if (b == DType::kBool) return a;
  return DTypeBytes(a) >= DTypeBytes(b) ? a : b;
}

}  // namespace joulecast::graph::ops
