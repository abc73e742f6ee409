// Text helpers shared by the readers.
#pragma once

#include <string>

namespace joulecast {

// `s` with the ASCII letters A-Z lowered; every other byte (UTF-8 included) unchanged. For names
// compared without case: layer types, zoo names, close matches.
std::string ToLowerAscii(std::string s);

}  // namespace joulecast
