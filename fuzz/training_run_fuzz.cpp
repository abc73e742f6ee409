// Training-run JSON Lines; what reads must write and read back the same, with positive numbers.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "joulecast/io/training_run.h"

using namespace joulecast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    std::istringstream in(text);
    for (const TrainingRun& r : ReadTrainingRuns(in, "fuzz.jsonl")) {
      const nlohmann::json j = ToJson(r);
      TrainingRun back;
      try {
        back = TrainingRunFromJson(nlohmann::json::parse(j.dump()), "readback");
      } catch (const std::exception& e) {
        fuzz::Fail(std::string("run does not read back: ") + e.what());
      }
      if (ToJson(back) != j) fuzz::Fail("training run round trip differs");
      fuzz::CheckNonNegative(r.epoch_time_s, "epoch_time_s");
      fuzz::CheckNonNegative(r.average_power_w, "average_power_w");
      fuzz::CheckNonNegative(r.epoch_energy_j, "epoch_energy_j");
    }
  });
  return 0;
}
