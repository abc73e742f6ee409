#include "joulecast/arch/layer.h"

#include <string>

namespace joulecast {

std::string FormatShape(const Shape& shape) {
  std::string out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(shape[i]);
  }
  return out;
}

}  // namespace joulecast
