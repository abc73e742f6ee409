// The C interface of the joulecast_torchscript plugin (src/torchscript/torchscript_plugin.cpp), a
// module library that links libtorch and is dlopen()ed by LoadTorchScriptFile
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
#define JOULECAST_TORCHSCRIPT_ABI_VERSION 1

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

// Releases a string returned by the function above; null is allowed.
typedef void (*JoulecastTorchScriptFreeFn)(char* text);

// Symbol names the loader looks up.
#define JOULECAST_TORCHSCRIPT_ABI_VERSION_SYMBOL "joulecast_torchscript_abi_version"
#define JOULECAST_TORCHSCRIPT_TO_JSON_SYMBOL "joulecast_torchscript_to_json"
#define JOULECAST_TORCHSCRIPT_FREE_SYMBOL "joulecast_torchscript_free"

}  // extern "C"
