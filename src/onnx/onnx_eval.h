// Constant tensors of the ONNX reader and the evaluation of ONNX operators on them (the shape
// computations that PyTorch's exporter writes: Shape, Gather, Unsqueeze, Concat, Slice, Cast,
// arithmetic, ConstantOfShape, Range, Expand, Where, ScatterND, ...). Private to src/onnx/.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace joulecast::onnx_reader {

using Dims = std::vector<std::int64_t>;

// Constants larger than this are not evaluated (nor read from a file): a guard against models,
// or fuzzed bytes, that would allocate without bound.
constexpr std::int64_t kMaxConstElements = std::int64_t{1} << 22;

// A tensor whose values are known. Floating types keep their values in `f`, integer and boolean
// types in `i` (int64 holds every integer type the exporter uses; a bool is 0 or 1).
struct Const {
  int elem = onnx::TensorProto::FLOAT;  // ONNX TensorProto data type
  Dims dims;
  std::vector<double> f;
  std::vector<std::int64_t> i;

  bool floating() const;
  std::size_t size() const { return floating() ? f.size() : i.size(); }
  double F(std::size_t k) const { return floating() ? f[k] : static_cast<double>(i[k]); }
  std::int64_t I(std::size_t k) const;     // floating values truncated and clamped to int64
  std::vector<std::int64_t> Ints() const;  // all values as integers

  static Const Int64s(const std::vector<std::int64_t>& v, bool scalar = false);
  static Const Int64(std::int64_t v) { return Int64s({v}, true); }
};

bool IsFloatingElem(int elem);
// "float32", "int64", ... as graph JSON names dtypes, or ONNX's name for the others ("int8").
std::string ElemName(int elem);
// The number of elements of `dims`, or -1 when a size is negative or the product passes 2^53.
std::int64_t Elements(const Dims& dims);

// The values of an initializer or a Constant's tensor; nullopt when it has no readable data
// (stored externally, no data field, or one whose size disagrees with its dims). Throws
// std::runtime_error for a type it cannot hold (strings, complex numbers) or a tensor over
// kMaxConstElements.
std::optional<Const> ReadTensor(const onnx::TensorProto& t);

// Whether Evaluate knows the ONNX operator `op` (default domain).
bool CanEvaluate(const std::string& op);

// The outputs of node `n` (default domain, opset `opset`) for constant inputs (`in[k]` null for
// an absent optional input). Throws std::runtime_error with a message without the node's name.
std::vector<Const> Evaluate(const onnx::NodeProto& n, const std::vector<const Const*>& in,
                            int opset);

// Attribute accessors of a node (defaults when absent; throws when present with another type).
std::int64_t AttrInt(const onnx::NodeProto& n, const std::string& name, std::int64_t def);
float AttrFloat(const onnx::NodeProto& n, const std::string& name, float def);
std::string AttrString(const onnx::NodeProto& n, const std::string& name, const std::string& def);
std::optional<std::vector<std::int64_t>> AttrInts(const onnx::NodeProto& n,
                                                  const std::string& name);
const onnx::AttributeProto* FindAttr(const onnx::NodeProto& n, const std::string& name);

// numpy's (ONNX's multidirectional) broadcast of two shapes; throws when they do not broadcast.
Dims BroadcastDims(const Dims& a, const Dims& b);
// An axis in [-rank, rank) wrapped into [0, rank); throws otherwise.
int WrapAxis(std::int64_t axis, int rank);

}  // namespace joulecast::onnx_reader
