#include "joulecast/graph/tensor_type.h"

#include <fmt/format.h>

#include <stdexcept>

namespace joulecast::graph {

namespace {
struct DTypeInfo {
  DType type;
  const char* name;
  int bytes;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::kFloat32, "float32", 4}, {DType::kFloat16, "float16", 2},
    {DType::kBFloat16, "bfloat16", 2}, {DType::kFloat64, "float64", 8},
    {DType::kInt64, "int64", 8},     {DType::kInt32, "int32", 4},
    {DType::kBool, "bool", 1},       {DType::kUInt8, "uint8", 1},
};
}  // namespace

const char* DTypeName(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

int DTypeBytes(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.bytes;
  return 4;
}

bool IsFloating(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 ||
         t == DType::kFloat64;
}

DType ParseDType(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return d.type;
  if (name == "float") return DType::kFloat32;
  if (name == "half") return DType::kFloat16;
  if (name == "double") return DType::kFloat64;
  if (name == "long") return DType::kInt64;
  if (name == "int") return DType::kInt32;
  std::string known;
  for (const auto& d : kDTypes) known += std::string(known.empty() ? "" : ", ") + d.name;
  throw std::runtime_error(fmt::format("unknown dtype '{}' (known: {})", name, known));
}

double TensorType::elements() const {
  double n = 1;
  for (std::int64_t d : dims) n *= static_cast<double>(d);
  return n;
}

std::string FormatDims(const Dims& dims) {
  if (dims.empty()) return "scalar";
  return fmt::format("{}", fmt::join(dims, "x"));
}

int WrapDim(std::int64_t d, int rank) {
  const int r = rank == 0 ? 1 : rank;
  if (d < -r || d >= r)
    throw std::runtime_error(fmt::format("dim {} is out of range for a rank-{} tensor", d, rank));
  return static_cast<int>(d < 0 ? d + r : d);
}

}  // namespace joulecast::graph
