// ONNX models (onnx/onnx_reader.h), the reader's code linked directly (no plugin, so the sanitizers
// see it): protobuf parsing, the shape-only normalisation of initializers, libonnx's checker and
// shape inference, the lowering with its constant evaluation, the batch merge and the fusion rules
// at a batch and sequence length drawn from the input's size; then the counts, the graph JSON
// round trip, and a prediction with the shipped profile (for graphs of up to 3000 nodes). Built
// only when CMake finds libonnx (fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/onnx/onnx_reader.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

using namespace joulecast;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::ShippedProfile();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Profile& profile = fuzz::ShippedProfile();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(bytes, [&] {
    onnx_reader::Options options;
    options.batch = 1 + static_cast<std::int64_t>(size % 3);
    if (size % 2 == 1) options.seq_len = 7;
    graph::Graph g = onnx_reader::ReadOnnxModel(bytes, "fuzz", "fuzz.onnx", options);
    if (g.batch() != options.batch && !g.inputs().empty() && g.value(g.inputs()[0]).batch_dim >= 0)
      fuzz::Fail("the graph is not at the batch asked for");
    const graph::NodeCounts total = graph::TotalCounts(g, graph::CountNodes(g));
    fuzz::CheckNonNegative(total.macs, "macs");
    fuzz::CheckNonNegative(total.matrix_macs, "matrix_macs");
    fuzz::CheckNonNegative(total.parameters, "parameters");
    // What the plugin hands back reads back to the same graph.
    const nlohmann::json out = graph::GraphToJson(g);
    graph::Graph back = graph::GraphFromJson(out, "fuzz.onnx");
    back.SetBatch(g.batch());
    graph::InferShapes(back);
    if (graph::GraphToJson(back) != out) fuzz::Fail("graph JSON round trip differs");
    if (g.nodes().size() <= 3000) {
      const NetworkEstimate est = EstimateGraph(profile, g);
      fuzz::CheckNonNegative(est.total, "total");
    }
  });
  return 0;
}
