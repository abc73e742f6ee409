#include "joulecast/io/data_path.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace joulecast {

std::string FindDataFile(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("JOULECAST_DATA_DIR"); dir && *dir) {
    candidates.push_back(fs::path(dir) / relative);
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path() / ".." / "share" / "joulecast" / relative);
  candidates.push_back(fs::path(JOULECAST_SOURCE_DIR) / "data" / relative);
  std::vector<std::string> searched;
  for (const fs::path& p : candidates) {
    std::error_code file_ec;
    if (fs::is_regular_file(p, file_ec)) return p.lexically_normal().string();
    searched.push_back(p.lexically_normal().string());
  }
  throw std::runtime_error(
      fmt::format("data file '{}' not found (searched: {})", relative, fmt::join(searched, ", ")));
}

}  // namespace joulecast
