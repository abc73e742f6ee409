// Shipped data files (data/hardware/gpus.json, data/workloads.json, data/carbon/grid_intensity.json)
// looked up as the zoo looks up architectures (arch/zoo.h), first existing file wins:
//   1. $JOULECAST_DATA_DIR/<relative>            (when the variable is set and non-empty)
//   2. <directory of the running executable>/../share/joulecast/<relative>   (installed tree)
//   3. JOULECAST_SOURCE_DIR/data/<relative>      (the source tree this library was built from)
#pragma once

#include <string>

namespace joulecast {

// Path of the first existing candidate. Throws std::runtime_error
// "data file 'hardware/gpus.json' not found (searched: a, b, c)".
std::string FindDataFile(const std::string& relative);

}  // namespace joulecast
