// The operator registry: one OpSchema per operator, holding everything joulecast knows about it, in
// the manner of ONNX's OpSchema (onnx/defs/*/defs.cc): its attributes with kinds and defaults, its
// inputs, its shape rule, its counts, its cost class, the form in which predictors see it and, for
// compute-bound operators, the proxy used when a profile has no predictor for it.
//
// Counts of one call over the whole batch (NodeCounts), all in double precision:
//   macs         the multiply-accumulates joulecast has always reported, per ptflops' conventions
//                (convolution and linear include the bias; element-wise operators and pools count
//                one per input element; MaxPool2d ⌊Kh·Kw·Ho·Wo·C·B / 2⌋; views and copies 0)
//   matrix_macs  multiply-accumulates of convolutions, linear layers and matrix products only,
//                bias excluded (what fvcore counts)
//   flops        floating-point operations (2 per MAC of a product, about one per element
//                otherwise; documented per operator)
//   bytes_read / bytes_written  activations and parameters read, outputs written, at their dtype
//   parameters   elements of the parameter inputs (the graph counts each parameter once)
//
// Cost classes decide the fallback when a profile has no predictor (predict/resolver.h):
//   kCompute      products and convolutions: the schema's proxy (e.g. matmul as a Linear)
//   kElementwise  per element of the input (activations, arithmetic, normalisation)
//   kReduction    per element of the input (pools, means, softmax)
//   kDataMovement per element moved (cat, permute copies, pad, roll, embedding lookups)
//   kView         free: reshapes, views, dropout and identity at inference
//
// Schemas are registered once, by the Register*Ops functions of src/graph/ops/ (one file per
// family, declared in src/graph/ops/ops.h), when the registry is first used.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/graph/attributes.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/tensor_type.h"

namespace joulecast::graph {

enum class CostClass { kCompute, kElementwise, kReduction, kDataMovement, kView };
const char* CostClassName(CostClass c);  // "compute", "elementwise", "reduction", "data", "view"

struct NodeCounts {
  double macs = 0;
  double matrix_macs = 0;
  double flops = 0;
  double bytes_read = 0;
  double bytes_written = 0;
  double parameters = 0;
};

// What a shape rule or count sees of one call: attributes (complete), input types (nullptr for an
// absent optional input), the graph's batch size and, for counts, the inferred outputs.
// `transposed_parameter[i]`: input i is the transpose of a stored rank-2 parameter, so the kernel
// reads the matrix in its stored order (GPT-2's Conv1D weight [K, N], which addmm reads as
// stored); empty where the caller does not know (a call built without its graph).
struct OpCall {
  const Node* node = nullptr;
  const Attributes* attrs = nullptr;
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;  // empty while inferring
  std::int64_t batch = 1;
  std::vector<bool> transposed_parameter;

  const TensorType& in(std::size_t i) const;   // throws "missing input i" for an absent one
  bool has(std::size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  bool is_transposed_parameter(std::size_t i) const {
    return i < transposed_parameter.size() && transposed_parameter[i];
  }
  const Attributes& a() const { return *attrs; }
};

// How a predictor sees a node: a layer of a PyTorch type with its constructor arguments (the
// features of features/layer_features.h read these), the layer's input and output with the
// batch dimension first, and the batch size (the input's first dimension).
struct LayerForm {
  std::string type;                                   // "Conv2d", "Linear", "GELU", ...
  nlohmann::json params = nlohmann::json::object();   // PyTorch constructor arguments
  Dims input;                                         // batched
  Dims output;                                        // batched
};

// How a GPU operator model (predict/gpu_op_model.h) sees a node: kernels, each a call of one of
// that model's operators with its sizes:
//   linear B, M, N, K (a (B·M)×K by K×N product), bmm B, M, N, K (B products M×K by K×N),
//   conv B, in_channels, out_channels, kernel_size, input_size, stride, padding (square, one
//   group), ln and softmax B rows of H, add mul div pow (two tensors of B·H elements), addu mulu
//   divu powu (one tensor and a scalar), gelu relu tanh (unary), B·H elements.
// A kernel marked proxy stands for work the model has no operator of its own for (a SiLU as a
// relu: one read and one write per element; a grouped convolution as the bmm of its implicit
// GEMM): GpuFormOf's rules below say which.
struct GpuKernel {
  std::string op;
  std::vector<std::int64_t> sizes;
  bool proxy = false;
};

// A node's GPU work: the forward pass's kernels and, per input, the kernels of the backward pass
// that compute that input's gradient from the output's (empty: free, as add's pass-through, or
// none, as integer indices). A caller adds grads[i] only where input i needs a gradient.
struct GpuForm {
  std::vector<GpuKernel> forward;
  // The forward kernels in a training step where they differ from `forward` (dropout is the
  // identity at inference and draws its mask in training); unset: `forward`.
  std::optional<std::vector<GpuKernel>> training_forward;
  std::vector<std::vector<GpuKernel>> grads;  // by input index
};

struct AttrSpec {
  std::string name;
  AttrKind kind;
  std::optional<AttrValue> default_value;  // none: required
  std::string doc;
};

struct OpSchema {
  std::string name;  // registry name, e.g. "conv2d"; what graph JSON and errors use
  std::string type;  // the predictor key: a PyTorch class name where one exists ("Conv2d")
  std::string doc;
  CostClass cost = CostClass::kElementwise;
  std::vector<AttrSpec> attrs;
  // Input names; a name ending in '?' is optional; variadic: the last name repeats.
  std::vector<std::string> inputs;
  bool variadic = false;
  int min_inputs = 1;
  int num_outputs = 1;  // -1: from the node (split/chunk)

  // Output types from input types and attributes; throws std::runtime_error with a message that
  // names the numbers (the shape pass prefixes the node).
  std::function<std::vector<TensorType>(const OpCall&)> infer;
  // Counts; when unset, DefaultCounts below.
  std::function<NodeCounts(const OpCall&)> count;
  // The layer form predictors see; when unset, DefaultLayerForm.
  std::function<LayerForm(const OpCall&)> layer;
  // MACs of one call from its layer form alone (what a measurement record keeps of it): for
  // operators whose form is not counted as a legacy layer (features/macs.h's CountLayer) nor
  // as one per input element. Must agree with `count` on the call the form came from (tests
  // check it). Unset: CountLayer's per-element rule.
  std::function<double(const LayerForm&)> form_macs;
  // For kCompute operators: the layer a profile without this operator's predictor predicts
  // instead (matmul: a Linear of the same M, K, N); unset: none.
  std::function<std::optional<LayerForm>(const OpCall&)> proxy;
  // What the proxy stands for, for the documentation and --per-layer output.
  std::string proxy_doc;
  // The GPU operator model's operator that computes this one exactly ("gelu", "add", "ln",
  // "softmax", ...; see GpuKernel); empty: GpuFormOf's cost-class rule (a proxy).
  std::string gpu_kernel;
  // gpu_kernel stands in for this operator (RMSNorm as ln): its kernels are marked proxy.
  bool gpu_proxy = false;
  // The GPU form where the rules of GpuFormOf do not fit (products, convolutions, attention,
  // embedding lookups); unset: GpuFormOf's rules.
  std::function<GpuForm(const OpCall&)> gpu;
};

// Element-wise defaults: macs = flops = input elements of input 0, bytes = every input read once
// and every output written once, parameters = elements of parameter inputs (set by the shape pass).
NodeCounts DefaultCounts(const OpCall& call);
// type = schema.type, params = the attributes as JSON, input = input 0, output = output 0.
LayerForm DefaultLayerForm(const OpCall& call);
// A call's counts and layer form by its schema: its own rule where it has one, else the defaults
// above (what every caller must use, so that a node is counted and seen one way).
NodeCounts CountsOf(const OpSchema& schema, const OpCall& call);
LayerForm LayerFormOf(const OpSchema& schema, const OpCall& call);

// A node's GPU form: the schema's `gpu` where set, else by these rules, where n is the output's
// elements as B = n / H rows of H = its last dimension:
//   view                  nothing
//   elementwise           one kernel: gpu_kernel (with one tensor input, "add"/"mul"/"div"/
//                         "pow" become their scalar forms "addu"/...), else a proxy: relu with
//                         one tensor input (a read and a write per element), add with more.
//                         Gradients, per floating input: unary kernels a mul (dy·f'(x)); add a
//                         pass-through (nothing) unless the input was broadcast (then an addu
//                         proxy: the sum over the broadcast dimensions); mul a mul; div a div
//                         (and a mul for the divisor); pow a pow and a mul; mulu, divu a mulu;
//                         powu a powu and a mul
//   reduction             gpu_kernel "ln" or "softmax": rows of H = the input's last dimension
//                         (layer_norm: the normalised dimensions); gradient: two ln kernels (the
//                         two row sums of LayerNorm's backward), one softmax kernel (softmax's
//                         backward, a row reduction). Others: a relu proxy over the input's
//                         elements, and one for the gradient
//   data                  a relu proxy over the output's elements (a copy), and per floating
//                         input a relu proxy over its elements for the gradient
//   compute               the schema's proxy (a Linear of rows, in, out) as a linear kernel
//                         [1, rows, out, in] (proxy); the gradients of the first two inputs as
//                         ProductGradKernel's of operands 0 and 1
// Throws what the schema's functions throw.
GpuForm GpuFormOf(const OpSchema& schema, const OpCall& call);
// (B, H) of an element-wise kernel over `t`: H its last dimension (1 for a scalar), B = elements /
// H. The sizes GpuFormOf's rules give such kernels, for schemas whose `gpu` builds them.
std::vector<std::int64_t> ElementwiseRows(const TensorType& t);
// The kernels of a's gradient under the rules above for kernel `k` applied to elements of shape
// (rows, h); `broadcast`: the input had fewer elements than the output. Shared by schemas whose
// `gpu` builds element-wise kernels.
std::vector<GpuKernel> ElementwiseGradKernels(const GpuKernel& k, std::size_t input,
                                              bool broadcast);
// The gradient kernels of a product kernel ("linear" or "bmm", sizes B, M, N, K) for operand 0
// (B·M×K: a product of M×N by N×K) and operand 1 (K×N: K×M by M×N, per batch entry for bmm).
GpuKernel ProductGradKernel(const GpuKernel& k, std::size_t operand);

// The registry. Lookup by registry name; FindOpByType by predictor key (first registered wins).
const OpSchema* FindOp(const std::string& name);
const OpSchema* FindOpByType(const std::string& type);
// Every schema, sorted by name.
std::vector<const OpSchema*> AllOps();
// Throws std::runtime_error "unknown operator 'aten::foo'" (the registry's close matches listed).
const OpSchema& GetOp(const std::string& name);

// Checks `attrs` against the schema (unknown names, wrong kinds) and fills in defaults. Throws
// std::runtime_error "unknown attribute 'strid' for conv2d (known: ...)", "attribute 'stride' of
// conv2d: expected ints, got a string", "missing attribute 'kernel_size' for conv2d".
void ValidateAttributes(const OpSchema& schema, Attributes& attrs);

// Attributes to and from JSON by the schema's kinds: ints as arrays, sym_ints as
// {"values": [...], "batch_index": i}. FromJson throws as ValidateAttributes, and
// "attribute 'stride' of conv2d: expected ints, got 2.5".
nlohmann::json AttributesToJson(const Attributes& attrs);
Attributes AttributesFromJson(const OpSchema& schema, const nlohmann::json& j);

}  // namespace joulecast::graph
