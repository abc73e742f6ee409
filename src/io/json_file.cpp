#include "joulecast/io/json_file.h"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace joulecast {

nlohmann::json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(fmt::format("{}: invalid JSON ({})", path, e.what()));
  }
}

}  // namespace joulecast
