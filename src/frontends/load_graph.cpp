#include "joulecast/frontends/load_graph.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/repr_parser.h"
#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/hf_config.h"
#include "joulecast/frontends/onnx_loader.h"
#include "joulecast/frontends/tree_lowering.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast {
namespace {

bool EndsWith(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

// The graph's name for a Hugging Face config file: its stem, or for ".../NAME/config.json" (as
// the hub stores it) the directory's name.
std::string ConfigName(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string stem = p.stem().string();
  const std::string dir = p.parent_path().filename().string();
  return stem == "config" && !dir.empty() && dir != "." && dir != ".." ? dir : stem;
}

void RefuseHfArchitecture(const std::string& where, const GraphOptions& options) {
  if (!options.hf_architecture.empty())
    throw std::runtime_error(
        fmt::format("{}: --hf-architecture applies to Hugging Face configs; this architecture is "
                    "built as it is",
                    where));
}

graph::Graph FromJsonFile(const std::string& path, const GraphOptions& options,
                          std::vector<std::string>* notes) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(fmt::format("{}: invalid JSON: {}", path, e.what()));
  }
  if (IsHfConfig(j)) {
    std::vector<std::string> local;
    std::vector<std::string>& out = notes ? *notes : local;
    const std::size_t first = out.size();
    graph::Graph g = GraphFromHfConfig(j, ConfigName(path), path, options, &out);
    for (std::size_t i = first; i < out.size(); ++i) out[i] = ConfigName(path) + ": " + out[i];
    return g;
  }
  if (options.seq_len != 0)
    throw std::runtime_error(fmt::format(
        "{}: --seq-len applies to Hugging Face configs; this architecture has no sequence length "
        "to set",
        path));
  RefuseHfArchitecture(path, options);
  return GraphFromAnyJson(j, path, options);
}

std::string Prefixed(const std::string& where, const std::string& message) {
  return message.rfind(where + ": ", 0) == 0 ? message : where + ": " + message;
}

}  // namespace

void RetargetGraph(graph::Graph& g, const GraphOptions& options, const std::string& where) {
  try {
    if (!options.input.empty()) {
      if (g.inputs().empty()) throw std::runtime_error("the graph has no input");
      graph::Value& in = g.value(g.inputs()[0]);
      graph::Dims dims = options.input;
      if (in.batch_dim >= 0) dims.insert(dims.begin() + std::min<std::size_t>(in.batch_dim, dims.size()), options.batch);
      in.type.dims = dims;
    }
    g.SetBatch(options.batch);
    graph::InferShapes(g);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(Prefixed(where, e.what()));
  }
}

graph::Graph GraphFromAnyJson(const nlohmann::json& j, const std::string& where,
                              const GraphOptions& options) {
  if (graph::IsGraphJson(j)) {
    // Unknown (null) sizes of the first input are filled in from -b and --input, before parsing.
    nlohmann::json filled = j;
    if (filled.contains("inputs") && filled["inputs"].is_array() && !filled["inputs"].empty() &&
        filled["inputs"][0].is_object() && filled["inputs"][0].contains("shape") &&
        filled["inputs"][0]["shape"].is_array()) {
      nlohmann::json& in = filled["inputs"][0];
      nlohmann::json& shape = in["shape"];
      const int batch_dim =
          in.contains("batch_dim") && in["batch_dim"].is_number_integer() ? in["batch_dim"].get<int>() : 0;
      std::size_t sample = 0;
      for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool is_batch = static_cast<int>(i) == batch_dim;
        if (shape[i].is_null()) {
          if (is_batch) shape[i] = options.batch;
          else if (sample < options.input.size()) shape[i] = options.input[sample];
        }
        if (!is_batch) ++sample;
      }
    }
    graph::Graph g = graph::GraphFromJson(filled, where);
    RetargetGraph(g, options, where);
    return g;
  }
  const Architecture arch = ParseArchitecture(j, where);
  try {
    return LowerArchitecture(arch, options.batch, options.input);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(Prefixed(where, e.what()));
  }
}

graph::Graph LoadGraph(const std::string& arg, const GraphOptions& options,
                       std::vector<std::string>* notes) {
  if (options.batch < 1)
    throw std::runtime_error(fmt::format("batch size must be >= 1, got {}", options.batch));
  if (EndsWith(arg, ".json")) return FromJsonFile(arg, options, notes);
  if (EndsWith(arg, ".onnx") || EndsWith(arg, ".pt") || EndsWith(arg, ".txt"))
    RefuseHfArchitecture(arg, options);
  // ONNX records its input shapes; --input, -b and --seq-len fill the dynamic ones.
  if (EndsWith(arg, ".onnx"))
    return LoadOnnxGraph(arg, options.batch, options.input, options.seq_len);
  if (EndsWith(arg, ".pt") || EndsWith(arg, ".txt")) {
    if (options.seq_len != 0)
      throw std::runtime_error(fmt::format(
          "{}: --seq-len applies to Hugging Face configs; give a {} its shape with --input", arg,
          EndsWith(arg, ".pt") ? "TorchScript file" : "printed model"));
    // Neither form records the input, and guessing 3x224x224 would silently misprice any other.
    if (options.input.empty()) {
      throw std::runtime_error(fmt::format(
          "{}: a {} does not record its input shape; give it with --input, e.g. --input 3x224x224",
          arg, EndsWith(arg, ".pt") ? "TorchScript file" : "printed model"));
    }
    if (EndsWith(arg, ".pt")) {
      graph::Dims dims = options.input;
      dims.insert(dims.begin(), options.batch);
      return LoadTorchScriptGraph(arg, dims);
    }
    std::vector<std::string> local;
    const Architecture arch = LoadModelReprFile(arg, options.input, notes ? notes : &local);
    try {
      return LowerArchitecture(arch, options.batch, options.input);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(Prefixed(arg, e.what()));
    }
  }
  return FromJsonFile(FindZooFile(arg), options, notes);
}

}  // namespace joulecast
