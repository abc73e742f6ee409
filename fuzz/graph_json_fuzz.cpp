// Graph JSON (graph/graph_json.h): parsing, the topological sort, shape inference and counts, the
// round trip through GraphToJson, re-targeting at another batch, and a prediction with the shipped
// profile over the resolver.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
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
    graph::Graph g = graph::GraphFromJson(j, "fuzz.json");
    // The documented round trip: reading what GraphToJson writes gives the same graph.
    const nlohmann::json out = graph::GraphToJson(g);
    if (graph::GraphToJson(graph::GraphFromJson(out, "roundtrip")) != out)
      fuzz::Fail("GraphToJson round trip differs");
    const auto counts = graph::CountNodes(g);
    const graph::NodeCounts total = graph::TotalCounts(g, counts);
    fuzz::CheckNonNegative(total.macs, "macs");
    fuzz::CheckNonNegative(total.matrix_macs, "matrix_macs");
    fuzz::CheckNonNegative(total.parameters, "parameters");
    GraphOptions options;
    options.batch = 1 + static_cast<int>(size % 3);
    RetargetGraph(g, options, "fuzz.json");
    const NetworkEstimate est = EstimateGraph(profile, g);
    fuzz::CheckFinite(est.total, "total");
    fuzz::CheckNonNegative(est.total, "total");
  });
  return 0;
}
