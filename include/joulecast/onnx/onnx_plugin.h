// The C interface of the joulecast_onnx plugin (src/onnx/: the ONNX reader of onnx_reader.h and
// this entry point), a module library that links Debian's libonnx and protobuf and is dlopen()ed
// by LoadOnnxGraph (joulecast/frontends/onnx_loader.h) only when an .onnx file is read, so that
// the joulecast executable itself, and the prediction path, never link them. The design is the
// TorchScript plugin's (joulecast/torchscript/torchscript_plugin.h): an ABI version symbol, the
// operator registry linked into the plugin, and the graph handed back as graph JSON text.
//
// Plain C types only: no C++ object or exception crosses the boundary.
#pragma once

#include <cstdint>

extern "C" {

// Bumped whenever a signature or the meaning of a result below changes; the loader refuses a
// plugin that reports another version.
#define JOULECAST_ONNX_ABI_VERSION 1

// Returns JOULECAST_ONNX_ABI_VERSION as the plugin was built.
typedef int (*JoulecastOnnxAbiVersionFn)(void);

// Reads the ONNX model file `path` (never run; weights never read: a tensor stored as external
// data, or without data, is taken by its shape) and lowers it into the operator graph, written as
// graph JSON text (format_version 1, joulecast/graph/graph_json.h) to *json_out. Dynamic input
// dimensions are taken from `batch` (dimension 0 of every input), from the `rank` sizes at
// `sample` (the per-sample shape of the first input, as --input gives it; rank 0: none) and from
// `seq_len` (dimension 1 of integer, i.e. token, inputs; 0: none). The graph is at that batch,
// with reshape/expand targets that scale with the batch stored as sym_ints. Returns 0 on success;
// otherwise non-zero with a one-line message in *error_out (no file name), e.g.
//   "node '/layer1/layer1.0/conv1/Conv' (ConvTranspose): unsupported ONNX operator".
// Both strings are allocated by the plugin and released with the free function below; the
// pointer that is not written is set to null.
typedef int (*JoulecastOnnxToGraphJsonFn)(const char* path, std::int64_t batch,
                                          const std::int64_t* sample, int rank,
                                          std::int64_t seq_len, char** json_out, char** error_out);

// Releases a string returned by the function above; null is allowed.
typedef void (*JoulecastOnnxFreeFn)(char* text);

// Symbol names the loader looks up.
#define JOULECAST_ONNX_ABI_VERSION_SYMBOL "joulecast_onnx_abi_version"
#define JOULECAST_ONNX_TO_GRAPH_JSON_SYMBOL "joulecast_onnx_to_graph_json"
#define JOULECAST_ONNX_FREE_SYMBOL "joulecast_onnx_free"

}  // extern "C"
