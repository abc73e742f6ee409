// The first line of a message, for the libtorch plugins (the TorchScript reader and the
// collector's runner), which hand their errors back to joulecast as one line: libtorch's what()
// spans several lines (the message, then context and a backtrace), and a TorchScript exception
// message may start with a line break. Header-only: the plugins do not link joulecast's core
// library. (joulecast::OneLine of io/one_line.h, for the CLI, escapes line breaks instead.)
#pragma once

#include <algorithm>
#include <string>

namespace joulecast {

// The first line of `text` that is not empty once trailing '\r' and spaces are removed, without
// them; `text` itself when it has no such line.
inline std::string FirstLine(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) return line;
    start = end + 1;
  }
  return text;
}

// FirstLine(text) with every tab replaced by a space.
inline std::string FirstLineNoTabs(const std::string& text) {
  std::string line = FirstLine(text);
  std::replace(line.begin(), line.end(), '\t', ' ');
  return line;
}

}  // namespace joulecast
