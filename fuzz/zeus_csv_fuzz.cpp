// Zeus power-trace CSV import; every run must pass the training-run reader when read back.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "joulecast/io/training_run.h"
#include "joulecast/io/zeus_import.h"

using namespace joulecast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const GpuTable gpus = GpuTable::LoadDefault();
  static const WorkloadTable workloads = WorkloadTable::LoadDefault();
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The traces' three GPUs, whose power-limit ranges differ.
  for (const char* gpu : {"V100 PCIe 32GB", "P100 PCIe 16GB", "Quadro RTX 6000"}) {
    fuzz::Guard(text, [&] {
      std::istringstream in(text);
      const auto runs = ImportZeus(in, "fuzz.csv", gpus.Find(gpu), workloads, "fuzz");
      for (const TrainingRun& r : runs) {
        try {
          TrainingRunFromJson(nlohmann::json::parse(ToJson(r).dump()), "readback");
        } catch (const std::exception& e) {
          fuzz::Fail(std::string("imported run does not read back: ") + e.what());
        }
        fuzz::CheckNonNegative(r.epoch_energy_j, "epoch_energy_j");
      }
    });
  }
  return 0;
}
