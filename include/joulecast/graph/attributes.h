// Typed node attributes: the constant arguments of an operator (kernel sizes, strides, the dim of
// a softmax, the approximation of a GELU), stored by name with a kind, never as raw JSON.
//
// Kinds: int, float, bool, string, ints (a list of integers), floats, and sym_ints: a list of
// integers whose entry at `batch_index` is a multiple of the graph's batch size (a reshape to
// [B, 768, 196] is stored as ints {1, 768, 196} with batch_index 0; nn.MultiheadAttention's
// view(L, B·heads, d) as {L, heads, d} with batch_index 1), so a graph read from a file can be
// re-evaluated at any batch size (SymInts::Resolve).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace joulecast::graph {

struct SymInts {
  std::vector<std::int64_t> values;
  int batch_index = -1;  // -1: no entry scales with the batch
  // The concrete list for batch size `batch`.
  std::vector<std::int64_t> Resolve(std::int64_t batch) const;
  bool operator==(const SymInts& o) const {
    return values == o.values && batch_index == o.batch_index;
  }
};

enum class AttrKind { kInt, kFloat, kBool, kString, kInts, kFloats, kSymInts };
const char* AttrKindName(AttrKind k);

using AttrValue = std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>,
                               std::vector<double>, SymInts>;
AttrKind KindOf(const AttrValue& v);

// Attributes of one node. Getters throw std::runtime_error "missing attribute 'dim'" or
// "attribute 'dim' is a float, expected an int"; an int is accepted where a float is asked.
class Attributes {
 public:
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  void Set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  void Erase(const std::string& name) { values_.erase(name); }
  const AttrValue& Get(const std::string& name) const;

  std::int64_t Int(const std::string& name) const;
  double Float(const std::string& name) const;
  bool Bool(const std::string& name) const;
  const std::string& String(const std::string& name) const;
  const std::vector<std::int64_t>& Ints(const std::string& name) const;
  const std::vector<double>& Floats(const std::string& name) const;
  const SymInts& Sym(const std::string& name) const;

  const std::map<std::string, AttrValue>& values() const { return values_; }
  bool operator==(const Attributes& o) const { return values_ == o.values_; }

 private:
  std::map<std::string, AttrValue> values_;
};

}  // namespace joulecast::graph
