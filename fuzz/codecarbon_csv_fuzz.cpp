// CodeCarbon CSV import (getzner2023 layout), non-strict and strict; every imported record must
// pass the measurement reader's own validation when read back.
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/io/codecarbon_import.h"
#include "joulecast/io/measurement.h"

using namespace joulecast;

namespace {

const std::vector<LayerInstance>& ZooLeaves(const std::string& arch) {
  static std::map<std::string, std::vector<LayerInstance>> cache;
  auto it = cache.find(arch);
  if (it == cache.end()) it = cache.emplace(arch, InferShapes(LoadZooArchitecture(arch))).first;
  return it->second;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (bool strict : {false, true}) {
    fuzz::Guard(text, [&] {
      CodeCarbonImportOptions opt;
      opt.strict = strict;
      opt.source = "fuzz";
      opt.resolve_layer = [](const std::string& arch, std::size_t leaf) {
        const auto& leaves = ZooLeaves(arch);
        if (leaf >= leaves.size()) throw std::invalid_argument("no such layer_idx");
        return leaves[leaf];
      };
      CodeCarbonImportResult result;
      std::istringstream in(text);
      ImportCodeCarbon(in, "fuzz.csv", nullptr, opt, result);
      // Warnings follow the rule of exception messages: the CLI prints them through OneLine
      // (a warning quoting a multi-line quoted field was once printed raw: a fuzz finding).
      for (const std::string& w : result.warnings) fuzz::CheckText(w, "warning");
      for (const Measurement& m : result.records) {
        try {
          MeasurementFromJson(nlohmann::json::parse(ToJson(m).dump()), "readback");
        } catch (const std::exception& e) {
          fuzz::Fail(std::string("imported record does not read back: ") + e.what());
        }
        fuzz::CheckNonNegative(m.duration_s, "duration_s");
        if (m.energy_j) fuzz::CheckNonNegative(*m.energy_j, "energy_j");
      }
    });
  }
  return 0;
}
