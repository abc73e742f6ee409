// What collect and calibrate share when they measure on this machine.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "joulecast/collect/meter.h"
#include "joulecast/collect/torch_runner.h"

namespace CLI {
class App;
}

namespace joulecast::cli {

// $name when set and non-empty, else `fallback`.
std::string Env(const char* name, const char* fallback);

// The energy meter `name` (auto|rapl|nvml|none) for `device`, its files found through
// JOULECAST_RAPL_ROOT and JOULECAST_NVML_LIBRARY; what MakeMeter notes (a fallback) is printed as
// "joulecast: note: ..." unless `quiet`.
std::unique_ptr<EnergyMeter> MeasuringMeter(const std::string& name, const std::string& device,
                                            bool quiet);

// The "hardware" object of the records measured here: DescribeHost() (collect/collector.h), the
// libtorch version, parallel backend and BLAS it was built with, the BLAS library Debian's
// alternatives select, the GPU (NVML) for device cuda, and the meter.
nlohmann::json MeasuringHardware(const std::string& device, const TorchRunner& runner,
                                 const EnergyMeter& meter);

// Registers collect's and calibrate's --heap keep|reserve|default option (collect/heap.h; its
// default is what `heap` holds: keep for collect, reserve for calibrate; JOULECAST_HEAP when the
// flag is not given) on `cmd`, writing the name into `heap`.
void AddHeapOption(CLI::App* cmd, std::string* heap);

}  // namespace joulecast::cli
