#include "joulecast/report/accuracy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <stdexcept>

#include "joulecast/io/csv.h"

namespace joulecast::report {

namespace {

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Returns the message of the first problem with (name, text), or "" and sets *value.
std::string Check(const std::string& name, const std::string& text, double* value) {
  if (name.empty()) return fmt::format("empty name in '{}'", text);
  try {
    *value = ParseDouble(text, "accuracy");
  } catch (const std::invalid_argument&) {
    return fmt::format("'{}' is not a number (accuracy of '{}')", text, name);
  }
  if (*value < 0 || *value > 1) {
    return fmt::format("accuracy of '{}' must be between 0 and 1 (a fraction), got {}", name,
                       text);
  }
  return "";
}

}  // namespace

std::string FoldCase(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::vector<Accuracy> ParseAccuracyList(const std::string& text, const std::string& option) {
  if (Trim(text).empty()) {
    throw std::invalid_argument(fmt::format("{}: expected NAME=VALUE,..., got nothing", option));
  }
  std::vector<Accuracy> out;
  std::set<std::string> seen;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string item =
        Trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) {
      throw std::invalid_argument(
          fmt::format("{}: expected NAME=VALUE, got '{}'", option, item));
    }
    Accuracy a{Trim(item.substr(0, eq)), 0};
    const std::string problem = Check(a.name, Trim(item.substr(eq + 1)), &a.value);
    if (!problem.empty()) throw std::invalid_argument(fmt::format("{}: {}", option, problem));
    if (!seen.insert(FoldCase(a.name)).second) {
      throw std::invalid_argument(fmt::format("{}: '{}' given twice", option, a.name));
    }
    out.push_back(a);
  }
  return out;
}

std::vector<Accuracy> ReadAccuracyCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  CsvReader reader(in, path);
  const auto header = reader.Next();
  if (!header) throw std::runtime_error(fmt::format("{}: empty file (expected name,accuracy)", path));
  std::vector<std::string> names;
  for (const auto& f : header->fields) names.push_back(Trim(f));
  const CsvHeader h(names);
  const std::size_t name_col = h.Index("name", path), acc_col = h.Index("accuracy", path);
  std::vector<Accuracy> out;
  std::set<std::string> seen;
  while (auto rec = reader.Next()) {
    const std::string where = fmt::format("{}:{}", path, rec->line);
    if (rec->fields.size() <= std::max(name_col, acc_col)) {
      throw std::runtime_error(fmt::format("{}: expected {} fields, got {}", where, h.size(),
                                           rec->fields.size()));
    }
    Accuracy a{Trim(rec->fields[name_col]), 0};
    const std::string problem = Check(a.name, Trim(rec->fields[acc_col]), &a.value);
    if (!problem.empty()) throw std::runtime_error(fmt::format("{}: {}", where, problem));
    if (!seen.insert(FoldCase(a.name)).second) {
      throw std::runtime_error(fmt::format("{}: '{}' given twice", where, a.name));
    }
    out.push_back(a);
  }
  if (out.empty()) throw std::runtime_error(fmt::format("{}: no accuracies (only a header)", path));
  return out;
}

}  // namespace joulecast::report
