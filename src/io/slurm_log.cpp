#include "joulecast/io/slurm_log.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace joulecast {
namespace {

// Progress numbers are small; anything that does not fit is a corrupt log, reported with its line.
std::size_t Number(const std::string& text, const std::string& path, std::size_t line) {
  if (text.size() > 12)
    throw std::runtime_error(fmt::format("{}:{}: number '{}' out of range", path, line, text));
  return static_cast<std::size_t>(std::stoull(text));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

const SlurmSection& SlurmLog::SectionFor(const std::string& module) const {
  if (sections.size() == 1) return sections.front();
  std::vector<std::string> names;
  for (const auto& s : sections) {
    if (s.name == Lower(module)) return s;
    names.push_back(s.name);
  }
  throw std::runtime_error(fmt::format("{}: no section for module '{}' (sections: {})", path,
                                       module, fmt::join(names, ", ")));
}

SlurmLog ReadSlurmLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open file", path));
  SlurmLog log;
  log.path = path;
  static const std::regex kStart(R"(Starting data-collection for ([A-Za-z0-9_]+)\.\.\.)");
  static const std::regex kRowProgress(R"(^(\d+)/(\d+) \(config_no/rep_no\))");
  static const std::regex kBar(R"(current config:\[.*?\]:.*?\|\s*(\d+)/(\d+) \[)");
  const std::string kError = "[codecarbon ERROR";

  enum class Last { kNone, kRow, kBar } last = Last::kNone;
  std::size_t last_row = 0, last_config = 0;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    // tqdm redraws with carriage returns: each segment is its own event, in order.
    std::stringstream segments(line);
    std::string seg;
    while (std::getline(segments, seg, '\r')) {
      std::smatch m;
      if (std::regex_search(seg, m, kStart)) {
        log.sections.push_back(SlurmSection{Lower(m[1].str()), {}, {}, 0});
        last = Last::kNone;
        continue;
      }
      if (std::regex_search(seg, m, kRowProgress)) {
        std::size_t config = Number(m[1].str(), path, line_no),
                    rep = Number(m[2].str(), path, line_no);
        if (rep < 1)
          throw std::runtime_error(fmt::format("{}:{}: rep_no 0 in progress line", path, line_no));
        last_row = config * 3 + rep - 1;
        last = Last::kRow;
      }
      // A bar and an error can share one segment: take the bar first, the error belongs to it.
      for (std::sregex_iterator it(seg.begin(), seg.end(), kBar), end; it != end; ++it) {
        last_config = Number((*it)[1].str(), path, line_no);
        last = Last::kBar;
      }
      if (seg.find(kError) != std::string::npos) {
        if (log.sections.empty() || last == Last::kNone) {
          throw std::runtime_error(
              fmt::format("{}:{}: error before any progress line", path, line_no));
        }
        auto& s = log.sections.back();
        ++s.error_lines;
        if (last == Last::kRow) {
          s.bad_rows.insert(last_row);
        } else {
          s.bad_configs.insert(last_config);
        }
      }
    }
  }
  if (log.sections.empty())
    throw std::runtime_error(fmt::format("{}: no 'Starting data-collection' section", path));
  return log;
}

}  // namespace joulecast
