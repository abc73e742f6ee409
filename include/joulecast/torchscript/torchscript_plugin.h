// The C interface of the joulecast_torchscript plugin (src/torchscript/: torchscript_plugin.cpp, the
// module-tree reader, and torchscript_graph.cpp, the operator-graph lowering), a module library
// that links libtorch and is dlopen()ed by LoadTorchScriptFile / LoadTorchScriptGraph
// (joulecast/arch/torchscript_loader.h) only when a TorchScript file is read, so that the
// joulecast executable itself never pays libtorch's ~0.4 s of start-up.
//
// Plain C types only: the plugin and its caller may be built with different compilers or standard
// libraries, and no C++ exception may cross the boundary.
#pragma once

#include <cstdint>

extern "C" {

// Bumped whenever a signature or the meaning of a result below changes; the loader refuses a
// plugin that reports another version.
#define JOULECAST_TORCHSCRIPT_ABI_VERSION 2

// Returns JOULECAST_TORCHSCRIPT_ABI_VERSION as the plugin was built.
typedef int (*JoulecastTorchScriptAbiVersionFn)(void);

// Reads the TorchScript file `path` (scripted or traced; loaded on the CPU, never run) and writes
// its architecture as JSON text in the format of data/architectures/README.md to *json_out, with
// "input" set to the `rank` sizes at `input` (per sample, without the batch dimension; the file
// does not record it). Returns 0 on success. Otherwise returns non-zero and writes a one-line
// message to *error_out, without the file name (the caller prefixes it), e.g.
//   "layer1.0 (BasicBlock): unsupported operation aten::mul in forward() (at model.py:12)".
// Both strings are allocated by the plugin and must be released with the free function below;
// the pointer that is not written is set to null.
typedef int (*JoulecastTorchScriptToJsonFn)(const char* path, const std::int64_t* input, int rank,
                                            char** json_out, char** error_out);

// Version 2. Reads the TorchScript file `path` (loaded on the CPU, never run) and lowers its forward()
// operation by operation into the operator graph, written as graph JSON text (format_version 1,
// joulecast/graph/graph_json.h) to *json_out. `input` holds the `rank` sizes of forward()'s one
// tensor argument, batch dimension (dimension 0) included, e.g. {8, 3, 224, 224}; `input_dtype`
// is its dtype as graph JSON names it ("float32", "int64", ...; null: "float32"). The graph is at
// that batch, with reshape/expand targets that scale with the batch stored as sym_ints. Returns 0
// on success; otherwise non-zero with a one-line message in *error_out (no file name), e.g.
//   "layer1.0 (BasicBlock): unsupported operation aten::foo (at model.py:12)".
// Both strings as above.
typedef int (*JoulecastTorchScriptToGraphJsonFn)(const char* path, const std::int64_t* input,
                                                 int rank, const char* input_dtype,
                                                 char** json_out, char** error_out);

// Releases a string returned by the functions above; null is allowed.
typedef void (*JoulecastTorchScriptFreeFn)(char* text);

// Symbol names the loader looks up.
#define JOULECAST_TORCHSCRIPT_ABI_VERSION_SYMBOL "joulecast_torchscript_abi_version"
#define JOULECAST_TORCHSCRIPT_TO_JSON_SYMBOL "joulecast_torchscript_to_json"
#define JOULECAST_TORCHSCRIPT_FREE_SYMBOL "joulecast_torchscript_free"
#define JOULECAST_TORCHSCRIPT_TO_GRAPH_JSON_SYMBOL "joulecast_torchscript_to_graph_json"

}  // extern "C"
