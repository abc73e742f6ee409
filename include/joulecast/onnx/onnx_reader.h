// The ONNX reader: an ONNX model (onnx::ModelProto, parsed by libonnx's protobuf classes) lowered
// into the operator graph (joulecast/graph/graph.h). Built into the joulecast_onnx plugin
// (joulecast/onnx/onnx_plugin.h), which the core loads on demand (frontends/onnx_loader.h), and
// linked directly into the fuzz target fuzz/onnx_fuzz.cpp; only code that links libonnx and
// protobuf includes this header.
//
// Steps, for the bytes of one .onnx file:
//   1. parse (ModelProto::ParseFromString; a truncated or corrupt file is refused);
//   2. weights are not needed: every initializer whose data cannot be read (external data, whose
//      file need not exist; no data field; a data field of the wrong size, as in stripped files)
//      is taken as shape-only: it is moved, with its dims and type, to a typed graph input of the
//      same name, so that the next steps see a valid model;
//   3. onnx::checker::check_model, then the opset check (the default domain at opsets 11 to 17);
//   4. the dynamic dimensions of the graph inputs are fixed (below);
//   5. lowering, node by node in the file's (topological) order, onto the registry's operators
//      (the table in src/onnx/onnx_reader.cpp's header comment): shape computations (Shape,
//      Gather, Concat, Slice, Unsqueeze, Cast, ConstantOfShape, Range, arithmetic on constants,
//      ...) are evaluated on concrete values (src/onnx/onnx_eval.cpp), as the TorchScript reader
//      evaluates integer arithmetic; scopes come from the node names PyTorch's exporter writes
//      ("/layer1/layer1.0/conv1/Conv" -> "layer1.0.conv1"); then, with those dimensions written
//      into the model, onnx::shape_inference::InferShapes runs (strict, types checked, data
//      propagation) and every node output's shape must be the one the registry's shape rules
//      gave it (after the lowering, which refuses what libonnx 1.12's shape rules would divide by
//      zero on: a convolution of stride 0, a shape computation dividing by 0);
//   6. with a dynamic batch, lowering at batch B and at B + 1 finds the reshape/expand targets
//      that scale with the batch (graph/batch_merge.h), as the TorchScript reader does;
//   7. the readers' shared fusion rules (graph/fuse.h) put back the operators PyTorch's exporter
//      decomposes: GELU, LayerNorm (below opset 17), SiLU, Hardswish (below opset 14), torch.roll,
//      the channel shuffle, the padded average pool, multi-head attention and the transformer
//      encoder layer.
//
// Dynamic dimensions (dim_param or no size): dimension 0 of every input is the batch
// (options.batch); the other dimensions of the first input come from options.sample (--input,
// the per-sample shape), dimension 1 of integer inputs (token ids, masks) from options.seq_len
// (--seq-len). A fixed size stays the model's, and an option that contradicts it is an error, as
// is a dynamic dimension no option gives, naming the input, the dimension and the flag:
//   "input 'src' dimension 1 ('sequence') is dynamic: give it with --input (the per-sample
//    shape, e.g. --input 10x64)".
//
// Errors (std::runtime_error), one line, no file name: "not an ONNX model (protobuf parsing
// failed: truncated or corrupt file)", "invalid ONNX model: <checker>", "ONNX opset 9 is not
// supported (this reader reads opsets 11 to 17)", "node '/blocks/blocks.0/Foo' (Foo):
// unsupported ONNX operator", "node 'conv1' (Conv): <registry shape rule>".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "joulecast/graph/graph.h"

namespace joulecast::onnx_reader {

struct Options {
  std::int64_t batch = 1;
  std::vector<std::int64_t> sample;  // the first input's sizes after the batch; empty: the model's
  std::int64_t seq_len = 0;          // 0: not given
};

// The lowest and highest opset of the default domain this reader reads.
constexpr int kMinOpset = 11;
constexpr int kMaxOpset = 17;

// Reads the serialized ModelProto `bytes` as an operator graph named `name`, at options.batch;
// shapes are inferred. `description` says what was read (e.g. "ONNX resnet18.onnx").
graph::Graph ReadOnnxModel(const std::string& bytes, const std::string& name,
                           const std::string& description, const Options& options);

}  // namespace joulecast::onnx_reader
