// Checks shared by the HTML report tests (tests/report/html_report_test.cpp,
// tests/cli/html_test.cpp). Scanned by hand rather than with std::regex: libstdc++'s regex executor
// recurses once per character matched by a starred class ("[^>]*"), which overflows the stack on
// the long tags and attributes of a big page in an unoptimised AddressSanitizer build.
#pragma once

#include <cctype>
#include <cstddef>
#include <string>
#include <vector>

namespace joulecast_test {

// The number of non-overlapping occurrences of `needle` in `hay`.
inline std::size_t Count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

struct HtmlFigure {
  std::string pointer;  // data-json: a JSON pointer into the command's --json output
  double value;         // data-value
};

// Every data-json="P" data-value="V" pair on the page, in document order (std::stod's exceptions
// for a value that is not a number).
inline std::vector<HtmlFigure> HtmlFigures(const std::string& html) {
  std::vector<HtmlFigure> out;
  const std::string key = "data-json=\"", next = "\" data-value=\"";
  for (std::size_t p = html.find(key); p != std::string::npos; p = html.find(key, p + 1)) {
    const std::size_t a = p + key.size(), a_end = html.find('"', a);
    if (a_end == std::string::npos || html.compare(a_end, next.size(), next) != 0) continue;
    const std::size_t b = a_end + next.size(), b_end = html.find('"', b);
    if (b_end == std::string::npos) break;
    out.push_back({html.substr(a, a_end - a), std::stod(html.substr(b, b_end - b))});
  }
  return out;
}

// The first attribute inside a tag that a browser would fetch or run (src, href, on<event>), as
// "name in <tag...", or "" when there is none. Escaped text ("&lt;img src=x&gt;") is not a tag.
inline std::string FirstActiveAttribute(const std::string& html) {
  for (std::size_t open = html.find('<'); open != std::string::npos;
       open = html.find('<', open + 1)) {
    const std::size_t close = html.find('>', open);
    const std::string tag =
        html.substr(open, close == std::string::npos ? std::string::npos : close - open);
    for (std::size_t i = 0; i + 1 < tag.size(); ++i) {
      if (!std::isspace(static_cast<unsigned char>(tag[i]))) continue;
      std::size_t j = i + 1;
      while (j < tag.size() && tag[j] >= 'a' && tag[j] <= 'z') ++j;
      const std::string name = tag.substr(i + 1, j - i - 1);
      while (j < tag.size() && std::isspace(static_cast<unsigned char>(tag[j]))) ++j;
      if (j == tag.size() || tag[j] != '=') continue;
      if (name == "src" || name == "href" || (name.size() > 2 && name.compare(0, 2, "on") == 0)) {
        return name + " in " + tag.substr(0, 80);
      }
    }
  }
  return "";
}

}  // namespace joulecast_test
