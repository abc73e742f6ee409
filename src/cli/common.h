// Helpers shared by the subcommands.
#pragma once

#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/io/measurement.h"

namespace joulecast::cli {

// Arguments may be glob patterns, quoted so that the shell leaves them ("data/*.jsonl"); a
// pattern that matches nothing is an error naming it.
std::vector<std::string> ExpandGlobs(const std::vector<std::string>& args);

// Every record of every file the arguments name (globs expanded into *files when given); throws
// when there is none at all.
std::vector<Measurement> LoadMeasurements(const std::vector<std::string>& args, const char* command,
                                          std::vector<std::string>* files = nullptr);

// "3x224x224" -> {3, 224, 224}; `what` ("--input") prefixes the errors ("--input: expected
// dimensions like 3x224x224, got '3x'", "--input: dimension 0 out of range in '3x0x2'").
Shape ParseShapeArg(const std::string& text, const std::string& what);

// The architecture an ARCH argument names: an architecture .json, a TorchScript .pt or a printed
// model .txt (these two need `input_arg`, the --input value), or else a zoo name (throws the zoo's
// "unknown architecture 'x'; available: ...").
Architecture LoadArchitectureArg(const std::string& arg, const std::string& input_arg);

}  // namespace joulecast::cli
