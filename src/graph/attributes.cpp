#include "joulecast/graph/attributes.h"

#include <fmt/format.h>

#include <stdexcept>

namespace joulecast::graph {

std::vector<std::int64_t> SymInts::Resolve(std::int64_t batch) const {
  std::vector<std::int64_t> out = values;
  if (batch_index >= 0 && batch_index < static_cast<int>(out.size())) out[batch_index] *= batch;
  return out;
}

const char* AttrKindName(AttrKind k) {
  switch (k) {
    case AttrKind::kInt: return "an int";
    case AttrKind::kFloat: return "a float";
    case AttrKind::kBool: return "a bool";
    case AttrKind::kString: return "a string";
    case AttrKind::kInts: return "ints";
    case AttrKind::kFloats: return "floats";
    case AttrKind::kSymInts: return "sym_ints";
  }
  return "?";
}

AttrKind KindOf(const AttrValue& v) { return static_cast<AttrKind>(v.index()); }

const AttrValue& Attributes::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::runtime_error(fmt::format("missing attribute '{}'", name));
  return it->second;
}

namespace {
template <typename T>
const T& As(const Attributes& a, const std::string& name, AttrKind want) {
  const AttrValue& v = a.Get(name);
  if (const T* p = std::get_if<T>(&v)) return *p;
  throw std::runtime_error(fmt::format("attribute '{}' is {}, expected {}", name,
                                       AttrKindName(KindOf(v)), AttrKindName(want)));
}
}  // namespace

std::int64_t Attributes::Int(const std::string& name) const {
  return As<std::int64_t>(*this, name, AttrKind::kInt);
}
double Attributes::Float(const std::string& name) const {
  const AttrValue& v = Get(name);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return As<double>(*this, name, AttrKind::kFloat);
}
bool Attributes::Bool(const std::string& name) const {
  return As<bool>(*this, name, AttrKind::kBool);
}
const std::string& Attributes::String(const std::string& name) const {
  return As<std::string>(*this, name, AttrKind::kString);
}
const std::vector<std::int64_t>& Attributes::Ints(const std::string& name) const {
  return As<std::vector<std::int64_t>>(*this, name, AttrKind::kInts);
}
const std::vector<double>& Attributes::Floats(const std::string& name) const {
  return As<std::vector<double>>(*this, name, AttrKind::kFloats);
}
const SymInts& Attributes::Sym(const std::string& name) const {
  return As<SymInts>(*this, name, AttrKind::kSymInts);
}

}  // namespace joulecast::graph
