// Error messages are printed as one line ("joulecast: error: <message>"), but they may quote what
// the user gave (a JSON string value, an argument), which can hold line breaks or other control
// characters. OneLine escapes those so that the message stays one line.
#pragma once

#include <string>

namespace joulecast {

// Control characters become C escapes ("\n", "\r", "\t", "\x1b"); other bytes are kept. A trailing
// line break is dropped rather than escaped.
std::string OneLine(const std::string& message);

}  // namespace joulecast
