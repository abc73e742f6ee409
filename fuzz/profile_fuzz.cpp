// Profiles: Profile::FromJson, a ToJson round trip, then predictions of a small network and of one
// layer per predictor; every prediction must be finite.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/predict/batch_predictor.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

using namespace joulecast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Architecture arch = fuzz::SmallArchitecture();
  static const std::vector<LayerInstance> ops = InferOperations(arch);
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    const nlohmann::json j = nlohmann::json::parse(text);
    const Profile p = Profile::FromJson(j, "fuzz.json");
    try {
      Profile::FromJson(nlohmann::json::parse(p.ToJson().dump()), "roundtrip");
    } catch (const std::exception& e) {
      fuzz::Fail(std::string("profile does not read back: ") + e.what());
    }
    const NetworkEstimate est = EstimateNetwork(p, arch, 2);
    fuzz::CheckFinite(est.total, "total");
    const double fast = BatchPredictor(p).Total(arch, 2);
    fuzz::CheckFinite(fast, "BatchPredictor total");
    for (const LayerInstance& op : ops) {
      if (const LayerPredictor* lp = p.Find(op.type)) {
        fuzz::Guard(text, [&] { fuzz::CheckFinite(lp->Predict(op, 4), op.type + " prediction"); });
      }
    }
  });
  return 0;
}
