// Energy baselines that need only a GPU's datasheet and the run time, scored beside the trained
// estimator on the same rows.
//
//   TDP × time          E = tdp_w × t                                  (J, t in s)
//   Green Algorithms    E = t × (n_gpu × tdp_w × u + memory_gb × 0.3725 W/GB) × PUE
//     Lannelongue, Grealey & Inouye, "Green Algorithms: Quantifying the Carbon Footprint of
//     Computation", Advanced Science 8 (2021) 2100707: power draw of a GPU = its TDP times a usage
//     factor (default 1), memory power 0.3725 W per GB of memory, times the data centre's PUE
//     (their default 1.67). We use one GPU, u = 1 and the GPU's own memory as the memory term
//     (the method counts the memory requested from the host; the traces have no host figure); the
//     PUE is an argument: 1.0 when scoring against GPU-only meters such as NVML, since a
//     facility overhead is not part of what those measure.
#pragma once

#include "joulecast/predict/gpu_spec.h"

namespace joulecast {

inline constexpr double kGreenAlgorithmsMemoryWPerGb = 0.3725;
inline constexpr double kGreenAlgorithmsGpuUsageFactor = 1.0;
inline constexpr double kGreenAlgorithmsDefaultPue = 1.67;

double TdpTimeEnergyJ(const GpuSpec& gpu, double seconds);
double GreenAlgorithmsEnergyJ(const GpuSpec& gpu, double seconds, double pue);

}  // namespace joulecast
