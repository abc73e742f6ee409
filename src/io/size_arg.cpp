#include "joulecast/io/size_arg.h"

#include <fmt/format.h>

#include <stdexcept>

#include "joulecast/io/csv.h"

namespace joulecast {

Shape ParseShapeArg(const std::string& text, const std::string& what) {
  constexpr long long kMaxDim = 1LL << 40;
  constexpr double kMaxElements = 9007199254740992.0;  // 2^53
  Shape s;
  double elements = 1;
  std::size_t start = 0;
  while (true) {
    const std::size_t x = text.find('x', start);
    const std::string part =
        text.substr(start, x == std::string::npos ? std::string::npos : x - start);
    long long v = 0;
    try {
      v = ParseInt(part, what);
    } catch (const std::invalid_argument&) {
      throw std::runtime_error(
          fmt::format("{}: expected dimensions like 3x224x224, got '{}'", what, text));
    }
    if (v < 1 || v > kMaxDim) {
      throw std::runtime_error(fmt::format("{}: dimension {} out of range in '{}'", what, v, text));
    }
    s.push_back(v);
    elements *= static_cast<double>(v);
    if (elements > kMaxElements) {
      throw std::runtime_error(fmt::format("{}: {} has more than 2^53 elements", what, text));
    }
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return s;
}

}  // namespace joulecast
