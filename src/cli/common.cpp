#include "common.h"

#include <fmt/format.h>
#include <glob.h>

#include <stdexcept>

namespace joulecast::cli {

std::vector<std::string> ExpandGlobs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    if (a.find_first_of("*?[") == std::string::npos) {
      out.push_back(a);
      continue;
    }
    glob_t g{};
    int rc = ::glob(a.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      globfree(&g);
      throw std::runtime_error(fmt::format("{}: no file matches", a));
    }
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    globfree(&g);
  }
  return out;
}

std::vector<Measurement> LoadMeasurements(const std::vector<std::string>& args, const char* command,
                                          std::vector<std::string>* files) {
  std::vector<std::string> paths = ExpandGlobs(args);
  std::vector<Measurement> records = ReadMeasurementFiles(paths);
  if (files) *files = std::move(paths);
  if (records.empty())
    throw std::runtime_error(fmt::format("{}: the measurement files hold no records", command));
  return records;
}

}  // namespace joulecast::cli
