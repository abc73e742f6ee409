// Import of the Zeus power traces (You, Chung, Chowdhury, NSDI 2023; ml-energy/zeus,
// examples/research_reproducibility/zeus_nsdi23/trace/summary_power_<gpu>.csv) into training-run
// records (io/training_run.h).
//
// Input columns: dataset, network, batch_size, optimizer, power_limit (W), time_per_epoch (s),
// average_power (W); one row per configuration. Each row becomes one record with
// epoch_energy_j = time_per_epoch × average_power, the workload's size and cost from the workload
// table (matched on the trace's dataset and network), and provenance {source, file, line}.
//
// Errors: std::runtime_error "path:line: ..." for a missing column, a non-numeric or non-positive
// number, a batch size that is not a positive integer, an unknown workload
// (WorkloadTable::FindZeus's message), a power limit outside the GPU's range (CheckPowerLimit's
// message) or a configuration repeated in the file ("path:9: configuration cifar100/shufflenetv2
// batch 1024 adadelta 125 W already on line 3"); "path: no rows" for a file with a header only.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "joulecast/io/training_run.h"
#include "joulecast/predict/gpu_spec.h"
#include "joulecast/predict/workload.h"

namespace joulecast {

std::vector<TrainingRun> ImportZeusFile(const std::string& path, const GpuSpec& gpu,
                                        const WorkloadTable& workloads,
                                        const std::string& source = "");
// The same for CSV text from a stream; `name` stands for the path in error messages.
std::vector<TrainingRun> ImportZeus(std::istream& in, const std::string& name, const GpuSpec& gpu,
                                    const WorkloadTable& workloads, const std::string& source = "");

}  // namespace joulecast
