// The one front door for architectures: any form a user has, as an operator graph, chosen by the
// argument's form (in the library, not the CLI):
//
//   *.pt     TorchScript (scripted or traced), lowered op by op by the libtorch plugin
//            (arch/torchscript_loader.h); needs the per-sample input shape
//   *.txt    the text of print(model) (arch/repr_parser.h); needs the input shape
//   *.onnx   an ONNX model, read by the libonnx plugin (frontends/onnx_loader.h); its dynamic
//            dimensions come from -b (dimension 0), `input` (the first input's others) and
//            `seq_len` (dimension 1 of token inputs)
//   *.json   graph JSON (graph/graph_json.h, "kind": "joulecast_graph"), a Hugging Face
//            config.json (a top-level "model_type": frontends/hf_config.h) or the module-tree
//            format (data/architectures/README.md), lowered by frontends/tree_lowering.h
//   NAME     a zoo network (arch/zoo.h): data/architectures/NAME.json in any of these JSON forms,
//            or data/architectures/hf/.../NAME.json (Hugging Face configs)
//
// The graph is at batch `batch` (graph JSON files are re-targeted: their inputs' batch dimension
// and every batch-scaled attribute) and, when `input` is given, with that per-sample input shape
// instead of the model's. Shapes are inferred.
//
// Errors (std::runtime_error), one line: "m.pt: a TorchScript file does not record its input
// shape; give it with --input, e.g. --input 3x224x224", "g.json: nodes[3] (fc): ...",
// "unknown architecture 'resnet7'; available: ...", and every reader's own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "joulecast/arch/layer.h"
#include "joulecast/graph/graph.h"

namespace joulecast {

struct GraphOptions {
  std::int64_t batch = 1;
  Shape input;  // per sample; empty: the model's (required for .pt and .txt)
  // Tokens per sequence (--seq-len) of a Hugging Face config or of an ONNX model's token inputs;
  // 0: the reader's default. The other forms have no sequence length to set and refuse one.
  std::int64_t seq_len = 0;
  // The Hugging Face class to build from a config (--hf-architecture, e.g.
  // BertForSequenceClassification) instead of its architectures[0]; empty: the config's. A name
  // the family's builder lacks is an error, and the other forms refuse one.
  std::string hf_architecture;
};

// `notes` (may be null) receives what a reader wants the user to know (e.g. the printed-repr
// reader's assumptions).
graph::Graph LoadGraph(const std::string& arg, const GraphOptions& options,
                       std::vector<std::string>* notes = nullptr);

// A graph JSON or tree JSON document already parsed; `where` prefixes errors.
graph::Graph GraphFromAnyJson(const nlohmann::json& j, const std::string& where,
                              const GraphOptions& options);

// Re-targets a graph at another batch size and per-sample input shape (empty: unchanged) and
// infers its shapes; errors start with `where`.
void RetargetGraph(graph::Graph& g, const GraphOptions& options, const std::string& where);

}  // namespace joulecast
