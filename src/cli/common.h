// Helpers shared by the subcommands.
#pragma once

#include <string>
#include <vector>

#include "joulecast/io/measurement.h"

namespace joulecast::cli {

// Arguments may be glob patterns, quoted so that the shell leaves them ("data/*.jsonl"); a
// pattern that matches nothing is an error naming it.
std::vector<std::string> ExpandGlobs(const std::vector<std::string>& args);

// Every record of every file the arguments name (globs expanded into *files when given); throws
// when there is none at all.
std::vector<Measurement> LoadMeasurements(const std::vector<std::string>& args, const char* command,
                                          std::vector<std::string>* files = nullptr);

}  // namespace joulecast::cli
