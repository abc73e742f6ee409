#include "joulecast/collect/shard.h"

#include <stdexcept>

namespace joulecast {
namespace {

// Plain decimal digits only, at most 10 of them, value < 2^31.
bool ParseCount(const std::string& s, std::int64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v >= (std::int64_t{1} << 31)) return false;
  *out = v;
  return true;
}

}  // namespace

std::string Shard::ToString() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

Shard ParseShard(const std::string& text) {
  const std::size_t slash = text.find('/');
  Shard s;
  if (slash == std::string::npos || !ParseCount(text.substr(0, slash), &s.index) ||
      !ParseCount(text.substr(slash + 1), &s.count) || s.count < 1 || s.index >= s.count) {
    throw std::invalid_argument("--shard: expected K/N with 0 <= K < N, got '" + text + "'");
  }
  return s;
}

}  // namespace joulecast
