// A whole JSON document read from a file, for the data tables and profiles that are one JSON
// object each (gpus.json, workloads.json, the grid intensity table, training profiles).
// Throws std::runtime_error "PATH: cannot open" or "PATH: invalid JSON (parser message)".
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace joulecast {

nlohmann::json ReadJsonFile(const std::string& path);

}  // namespace joulecast
