// A small RFC 4180 CSV reader: comma separated, double-quoted fields may hold commas, doubled
// quotes and newlines. Each record remembers the 1-based line it starts on so that errors can say
// "path:line:". None of the project's allowed libraries reads CSV, hence this file.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace joulecast {

struct CsvRecord {
  std::size_t line = 0;  // 1-based line on which the record starts
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  // `name` is used in error messages (usually the path). Throws std::runtime_error
  // "name:line: unterminated quoted field" on a quote that never closes.
  CsvReader(std::istream& in, std::string name);

  // Next record, or nullopt at end of input. Empty lines are skipped. Throws std::runtime_error
  // "name:line: field 3 is not valid UTF-8 (byte 0xC5 at offset 18)" for text that is not UTF-8.
  std::optional<CsvRecord> Next();

 private:
  std::istream& in_;
  std::string name_;
  std::size_t line_ = 0;
};

// Header lookup: column index by name.
class CsvHeader {
 public:
  CsvHeader() = default;
  explicit CsvHeader(const std::vector<std::string>& names);
  // Throws std::runtime_error "`where`: missing column 'name'".
  std::size_t Index(const std::string& name, const std::string& where) const;
  bool Has(const std::string& name) const { return index_.count(name) != 0; }
  // Throws std::runtime_error "name:line: 6 fields, the header has 7" unless `r` has one field
  // per column (`name` as given to the CsvReader).
  void RequireWidth(const CsvRecord& r, const std::string& name) const;
  std::size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t> index_;
};

// Position of the first byte that is not part of valid UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or std::string::npos when all of `s` is valid.
std::size_t InvalidUtf8At(const std::string& s);

// Strict number parsing of a whole field: throws std::invalid_argument naming `what` when the text
// is empty, has trailing garbage, or is not finite.
double ParseDouble(const std::string& text, const std::string& what);
long long ParseInt(const std::string& text, const std::string& what);

}  // namespace joulecast
