// Hugging Face config.json (frontends/hf_config.h): the reader's field checks, the builders of
// every family, shape inference and counts at a sequence length and batch drawn from the input's
// size (0: the reader's default), the graph JSON round trip, and a prediction with the shipped
// profile over the resolver (for graphs of up to 3000 nodes: a config may ask for 1024 layers).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/frontends/hf_config.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

using namespace joulecast;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::ShippedProfile();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Profile& profile = fuzz::ShippedProfile();
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (!IsHfConfig(j)) return;
    GraphOptions options;
    options.batch = 1 + static_cast<std::int64_t>(size % 3);
    options.seq_len = size % 4 == 0 ? 0 : 1 + static_cast<std::int64_t>(size % 97);
    std::vector<std::string> notes;
    graph::Graph g = GraphFromHfConfig(j, "fuzz", "fuzz.json", options, &notes);
    for (const std::string& n : notes) fuzz::CheckText(n, "note");
    const auto counts = graph::CountNodes(g);
    const graph::NodeCounts total = graph::TotalCounts(g, counts);
    fuzz::CheckNonNegative(total.macs, "macs");
    fuzz::CheckNonNegative(total.matrix_macs, "matrix_macs");
    fuzz::CheckNonNegative(total.parameters, "parameters");
    if (g.nodes().size() > 3000) return;
    // The graph reads back from its JSON with the same counts (what inspect --json writes).
    graph::Graph back = graph::GraphFromJson(graph::GraphToJson(g), "roundtrip");
    const graph::NodeCounts again = graph::TotalCounts(back, graph::CountNodes(back));
    if (again.matrix_macs != total.matrix_macs || again.parameters != total.parameters)
      fuzz::Fail("graph JSON round trip changes the counts");
    const NetworkEstimate est = EstimateGraph(profile, g);
    fuzz::CheckFinite(est.total, "total");
    fuzz::CheckNonNegative(est.total, "total");
  });
  return 0;
}
