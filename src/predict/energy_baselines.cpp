#include "joulecast/predict/energy_baselines.h"

namespace joulecast {

double TdpTimeEnergyJ(const GpuSpec& gpu, double seconds) { return gpu.tdp_w * seconds; }

double GreenAlgorithmsEnergyJ(const GpuSpec& gpu, double seconds, double pue) {
  return seconds *
         (gpu.tdp_w * kGreenAlgorithmsGpuUsageFactor +
          gpu.memory_gb * kGreenAlgorithmsMemoryWPerGb) *
         pue;
}

}  // namespace joulecast
