// Graph JSON: the operator graph as a file (what `joulecast inspect --json` writes and every
// command reads back). Versioned; format_version 1:
//
//   {"kind": "joulecast_graph", "format_version": 1, "name": "resnet18", "description": "...",
//    "batch": 1,
//    "inputs": [{"name": "x", "dtype": "float32", "shape": [1, 3, 224, 224], "batch_dim": 0}],
//    "initializers": [{"name": "conv1.weight", "dtype": "float32", "shape": [64, 3, 7, 7]},
//                   {"name": "bn1.running_mean", "shape": [64], "buffer": true}, ...],
//    "nodes": [{"name": "conv1", "op": "conv2d", "scope": "conv1", "inputs": ["x",
//               "conv1.weight", null], "outputs": ["conv1"], "attrs": {"kernel_size": [7, 7],
//               ...}}, ...],
//    "outputs": ["fc"]}
//
// "initializers" are the parameters and buffers (ONNX's word; "parameters" at the top is the total
// count that inspect adds; a file whose "parameters" is an array is read as the list).
// "dtype" defaults to float32, "batch_dim" to 0, "buffer" to false, "scope" to "", "attrs" to {}.
// Attribute values are read by the kinds of the operator's schema (op_schema.h). Nodes may be
// listed in any order; they are sorted topologically, and a cycle is an error. Fields that
// `inspect --json` adds to nodes for people ("type", "input_shapes", "output_shape", "macs",
// "matrix_macs", "parameters", "cost") and the totals it adds at the top ("macs", "matrix_macs",
// "flops", "parameters") are ignored on reading.
//
// Errors (std::runtime_error) start with `where` and name the field or node:
//   "g.json: nodes[3] (layer1.0.conv1): unknown operator 'conv3d'"
//   "g.json: nodes[4] (relu): input 'conv9' is not an input, parameter or node output"
//   "g.json: cycle through nodes a, b"
//   "g.json: inputs[0].shape: expected an array of positive integers, got [1, -3]"
//   "g.json: format_version 7 is not supported (this joulecast reads 1)"
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "joulecast/graph/graph.h"

namespace joulecast::graph {

constexpr int kGraphFormatVersion = 1;

// True when `j` looks like graph JSON ("kind": "joulecast_graph").
bool IsGraphJson(const nlohmann::json& j);

// Parses and validates; the result's shapes are inferred (InferShapes) at the file's batch.
Graph GraphFromJson(const nlohmann::json& j, const std::string& where);

// The graph as JSON; with `annotate`, each node also gets "type", "cost", "input_shapes",
// "output_shape", "macs", "matrix_macs" and "parameters" (the shapes must be inferred).
nlohmann::json GraphToJson(const Graph& g, bool annotate = false);

}  // namespace joulecast::graph
