// Architecture JSON: ParseArchitectureText, shape inference, and a prediction with the shipped
// profile through both EstimateNetwork and BatchPredictor's fast path, which must agree.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/arch/architecture.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/predict/batch_predictor.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

using namespace joulecast;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::ShippedProfile();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Profile& profile = fuzz::ShippedProfile();
  static const BatchPredictor batch(profile);
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    const Architecture arch = ParseArchitectureText(text, "fuzz.json");
    // The documented round trip: ParseArchitecture(ToJson(a)) reproduces a.
    const nlohmann::json j = ToJson(arch);
    if (ToJson(ParseArchitecture(j, "roundtrip")) != j) fuzz::Fail("ToJson round trip differs");
    const std::vector<LayerInstance> leaves = InferShapes(arch);
    const NetworkEstimate est = EstimateNetwork(profile, arch, 1 + static_cast<int>(size % 3));
    fuzz::CheckFinite(est.total, "total");
    fuzz::CheckNonNegative(est.macs, "macs");
    fuzz::CheckNonNegative(est.parameters, "parameters");
    const double fast = batch.Total(arch, 1 + static_cast<int>(size % 3));
    fuzz::CheckFinite(fast, "BatchPredictor total");
    if (std::fabs(fast - est.total) > 1e-9 * std::max(1.0, std::fabs(est.total)))
      fuzz::Fail("BatchPredictor total differs from EstimateNetwork");
  });
  return 0;
}
