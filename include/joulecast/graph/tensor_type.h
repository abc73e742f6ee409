// The type of a value in the operator graph: an element type and a full shape, batch dimension
// included (a 3x224x224 image batch of 8 is {8, 3, 224, 224}; a BERT activation at sequence 128 is
// {8, 128, 768}). A scalar has an empty shape. Sizes are at most 2^53 each, and so is the element
// count: counts are carried in double precision, exact to 2^53.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace joulecast::graph {

using Dims = std::vector<std::int64_t>;

enum class DType { kFloat32, kFloat16, kBFloat16, kFloat64, kInt64, kInt32, kBool, kUInt8 };

// "float32", "float16", "bfloat16", "float64", "int64", "int32", "bool", "uint8".
const char* DTypeName(DType t);
// The inverse; also accepts PyTorch's "float", "half", "double", "long", "int". Throws
// std::runtime_error "unknown dtype 'x' (known: float32, ...)".
DType ParseDType(const std::string& name);
// Bytes per element: 4, 2, 2, 8, 8, 4, 1, 1.
int DTypeBytes(DType t);
bool IsFloating(DType t);

constexpr std::int64_t kMaxSize = std::int64_t{1} << 53;

struct TensorType {
  DType dtype = DType::kFloat32;
  Dims dims;

  int rank() const { return static_cast<int>(dims.size()); }
  // Product of the dimensions as a double (1 for a scalar).
  double elements() const;
  double bytes() const { return elements() * DTypeBytes(dtype); }
  bool operator==(const TensorType& o) const { return dtype == o.dtype && dims == o.dims; }
  bool operator!=(const TensorType& o) const { return !(*this == o); }
};

// "8x3x224x224" ("scalar" for rank 0).
std::string FormatDims(const Dims& dims);

// PyTorch's dimension wrapping: d in [-rank, rank) becomes d mod rank. Throws std::runtime_error
// "dim 4 is out of range for a rank-4 tensor" otherwise (`rank` 0 is treated as 1, as PyTorch does).
int WrapDim(std::int64_t d, int rank);

}  // namespace joulecast::graph
