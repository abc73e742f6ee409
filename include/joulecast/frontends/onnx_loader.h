// Reading an ONNX file (.onnx) as an operator graph. The work is done by the joulecast_onnx plugin
// (src/onnx/, joulecast/onnx/onnx_reader.h: libonnx's protobuf classes, checker and shape
// inference, then lowering onto the operator registry), built when CMake finds Debian's
// libonnx-dev, and dlopen()ed by this loader on first use: the joulecast executable and the
// prediction path never link libonnx or protobuf. The plugin hands back graph JSON
// (joulecast/onnx/onnx_plugin.h), which is read like any graph file.
//
// Plugin search order: the TorchScript plugin's (arch/torchscript_loader.h):
// $JOULECAST_PLUGIN_DIR, the running executable's directory, <exe>/../lib/joulecast, the build
// directory this library was compiled in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "joulecast/arch/layer.h"
#include "joulecast/graph/graph.h"

namespace joulecast {

// The plugin's file name, e.g. "libjoulecast_onnx.so".
std::string OnnxPluginFileName();

// Reads the ONNX file at `path` as an operator graph named after the file (without its
// extension), at batch `batch`, with `sample` the per-sample shape of the first input where the
// model leaves sizes dynamic (empty: none given) and `seq_len` the sequence length of token inputs
// (0: none given); see onnx_reader.h for which dimension each fills. The result's shapes are
// inferred at `batch`. Throws std::runtime_error with one line starting with "path: ":
//   "m.onnx: cannot open file"
//   "m.onnx: reading ONNX needs the joulecast_onnx plugin (built when CMake finds libonnx-dev);
//    not found in: <dir>, ..."
//   "m.onnx: not an ONNX model (protobuf parsing failed: a truncated or corrupt file)"
//   "m.onnx: unsupported ONNX operator NonMaxSuppression at node '/roi/NonMaxSuppression'"
//   "m.onnx: input 'src' dimension 1 ('sequence') is dynamic: give the per-sample shape with
//    --input"
graph::Graph LoadOnnxGraph(const std::string& path, std::int64_t batch, const Shape& sample,
                           std::int64_t seq_len);
graph::Graph LoadOnnxGraph(const std::string& path, std::int64_t batch, const Shape& sample,
                           std::int64_t seq_len, const std::vector<std::string>& plugin_dirs);

}  // namespace joulecast
