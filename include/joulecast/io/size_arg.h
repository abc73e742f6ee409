// Command-line size arguments: "--input 3x224x224" as a per-sample shape.
#pragma once

#include <string>

#include "joulecast/arch/layer.h"

namespace joulecast {

// "3x224x224" -> {3, 224, 224}: one or more decimal integers in [1, 2^40] joined by 'x', whose
// product is at most 2^53. `what` ("--input") prefixes the one-line std::runtime_error:
//   "--input: expected dimensions like 3x224x224, got '3x'"
//   "--input: dimension 0 out of range in '3x0x2'"
//   "--input: 1099511627776x1099511627776 has more than 2^53 elements"
Shape ParseShapeArg(const std::string& text, const std::string& what);

}  // namespace joulecast
