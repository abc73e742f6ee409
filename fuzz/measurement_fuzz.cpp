// Measurement JSON Lines; what reads must write and read back the same, and its layer must count.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "joulecast/features/macs.h"
#include "joulecast/io/measurement.h"

using namespace joulecast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    std::istringstream in(text);
    for (const Measurement& m : ReadMeasurements(in, "fuzz.jsonl")) {
      const nlohmann::json j = ToJson(m);
      Measurement back;
      try {
        back = MeasurementFromJson(nlohmann::json::parse(j.dump()), "readback");
      } catch (const std::exception& e) {
        fuzz::Fail(std::string("record does not read back: ") + e.what());
      }
      if (ToJson(back) != j) fuzz::Fail("measurement round trip differs");
      fuzz::CheckNonNegative(m.duration_s, "duration_s");
      if (m.energy_j) fuzz::CheckNonNegative(*m.energy_j, "energy_j");
      fuzz::Guard(text, [&] {
        const LayerCounts c = CountLayer(LayerOf(m), m.batch_size);
        fuzz::CheckNonNegative(c.macs, "macs");
        fuzz::CheckNonNegative(c.input_elements, "input_elements");
      });
    }
  });
  return 0;
}
