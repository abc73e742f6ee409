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
    if (x != y && x != 1 && y != 1)
      Fail(fmt::format("cannot broadcast {} with {}", F(a), F(b)));
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

}  // namespace joulecast::graph::ops
