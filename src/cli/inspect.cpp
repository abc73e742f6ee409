// joulecast inspect ARCH [--input S] [--seq-len S] [--hf-architecture C] [-b B] [--json]: the
// operator graph as a table a PyTorch user recognises (module scope, operator, input and output
// shapes, MACs, parameters), totals at the bottom; --json writes graph JSON (graph/graph_json.h)
// annotated per node, which every command reads back.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "common.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast::cli {
namespace {

struct InspectArgs {
  std::string arch;
  std::string input, hf_architecture;
  std::int64_t batch = 1, seq_len = 0;
  bool json = false;
  bool operators = false;
};

// The operator registry: what each operator is, its predictor type, cost class and attributes.
void PrintOperators(bool as_json) {
  nlohmann::json j = nlohmann::json::array();
  for (const graph::OpSchema* s : graph::AllOps()) {
    nlohmann::json attrs = nlohmann::json::object();
    for (const graph::AttrSpec& a : s->attrs) {
      nlohmann::json d = nullptr;
      if (a.default_value) {
        graph::Attributes one;
        one.Set(a.name, *a.default_value);
        d = graph::AttributesToJson(one)[a.name];
      }
      attrs[a.name] = {{"kind", graph::AttrKindName(a.kind)}, {"default", d}};
    }
    j.push_back({{"op", s->name},
                 {"type", s->type},
                 {"cost", graph::CostClassName(s->cost)},
                 {"inputs", s->inputs},
                 {"attrs", attrs},
                 {"proxy", s->proxy_doc},
                 {"doc", s->doc}});
  }
  if (as_json) {
    std::cout << j.dump(1) << "\n";
    return;
  }
  std::cout << fmt::format("{:<30} {:<26} {:<12} {}\n", "operator", "type", "cost", "what");
  for (const auto& o : j)
    std::cout << fmt::format("{:<30} {:<26} {:<12} {}\n", o["op"].get<std::string>(),
                             o["type"].get<std::string>(), o["cost"].get<std::string>(),
                             o["doc"].get<std::string>());
  std::cout << fmt::format("\n{} operators\n", j.size());
}

std::string Shapes(const graph::Graph& g, const graph::Node& n) {
  std::string out;
  for (graph::ValueId v : n.inputs) {
    if (v == graph::kNoValue) continue;
    const graph::Value& val = g.value(v);
    if (val.role == graph::ValueRole::kParameter || val.role == graph::ValueRole::kBuffer) continue;
    out += (out.empty() ? "" : ", ") + graph::FormatDims(val.type.dims);
  }
  return out;
}

std::string Short(const std::string& s, std::size_t width) {
  return s.size() <= width ? s : "…" + s.substr(s.size() - (width - 1));
}

void RunInspect(const InspectArgs& a) {
  if (a.operators) {
    PrintOperators(a.json);
    return;
  }
  if (a.arch.empty()) throw std::runtime_error("inspect: give an architecture, or --operators");
  const graph::Graph g = LoadGraphArg(a.arch, a.input, a.batch, a.seq_len, a.hf_architecture);
  const std::vector<graph::NodeCounts> counts = graph::CountNodes(g);
  const graph::NodeCounts total = graph::TotalCounts(g, counts);
  if (a.json) {
    nlohmann::json j = graph::GraphToJson(g, /*annotate=*/true);
    j["macs"] = total.macs;
    j["matrix_macs"] = total.matrix_macs;
    j["flops"] = total.flops;
    j["parameters"] = total.parameters;
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{} at batch {}: {} nodes\n\n", g.name, g.batch(), g.nodes().size());
  std::cout << fmt::format("{:<32} {:<22} {:<26} {:<18} {:>11} {:>11}\n", "scope", "operator",
                           "input", "output", "MACs", "parameters");
  for (graph::NodeId n = 0; n < static_cast<graph::NodeId>(g.nodes().size()); ++n) {
    const graph::Node& node = g.node(n);
    std::cout << fmt::format("{:<32} {:<22} {:<26} {:<18} {:>11.4g} {:>11.0f}\n",
                             Short(node.scope.empty() ? "(top)" : node.scope, 32),
                             Short(node.op, 22), Short(Shapes(g, node), 26),
                             Short(graph::FormatDims(g.value(node.outputs[0]).type.dims), 18),
                             counts[n].macs, counts[n].parameters);
  }
  std::cout << fmt::format(
      "\ntotal: {} nodes, MACs {:.6g}, matrix MACs {:.6g} (convolutions, linear layers and matrix "
      "products, bias excluded), parameters {:.0f}\n",
      g.nodes().size(), total.macs, total.matrix_macs, total.parameters);
}

}  // namespace

void RegisterInspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand(
      "inspect", "Show a network's operator graph: scopes, operators, shapes, MACs, parameters");
  cmd->add_option(
      "architecture", a->arch,
      "Zoo name, graph or architecture .json, Hugging Face config.json, TorchScript .pt, "
      "or print(model) .txt");
  cmd->add_option("--input", a->input, "Per-sample input shape, e.g. 3x224x224");
  AddSeqLenOption(cmd, &a->seq_len);
  AddHfArchitectureOption(cmd, &a->hf_architecture);
  cmd->add_option("-b,--batch-size", a->batch, "Batch size")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 31));
  cmd->add_flag("--json", a->json, "Graph JSON on stdout, each node annotated");
  cmd->add_flag("--operators", a->operators,
                "List the operator registry instead (operator, predictor type, cost class)");
  cmd->callback([a] { RunInspect(*a); });
}

}  // namespace joulecast::cli
