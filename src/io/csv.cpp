#include "joulecast/io/csv.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace joulecast {

std::size_t InvalidUtf8At(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (RFC 3629)
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string::npos;
}

CsvReader::CsvReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

std::optional<CsvRecord> CsvReader::Next() {
  std::string line;
  while (true) {
    if (!std::getline(in_, line)) return std::nullopt;
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) break;
  }
  CsvRecord rec;
  rec.line = line_;
  std::string field;
  bool in_quotes = false;
  std::size_t i = 0;
  while (true) {
    if (i == line.size()) {
      if (in_quotes) {
        // A quoted field may span lines; keep the newline it contained.
        std::string more;
        if (!std::getline(in_, more)) {
          throw std::runtime_error(
              fmt::format("{}:{}: unterminated quoted field", name_, rec.line));
        }
        ++line_;
        if (!more.empty() && more.back() == '\r') more.pop_back();
        field += '\n';
        line = std::move(more);
        i = 0;
        continue;
      }
      rec.fields.push_back(std::move(field));
      break;
    }
    char c = line[i++];
    if (in_quotes) {
      if (c == '"') {
        if (i < line.size() && line[i] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',') {
      rec.fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  // Fields end up in JSON records, which must be UTF-8: refuse other text here, where the line
  // is known, rather than fail when writing.
  for (std::size_t k = 0; k < rec.fields.size(); ++k) {
    const std::size_t at = InvalidUtf8At(rec.fields[k]);
    if (at != std::string::npos) {
      throw std::runtime_error(
          fmt::format("{}:{}: field {} is not valid UTF-8 (byte 0x{:02X} at offset {})", name_,
                      rec.line, k + 1, static_cast<unsigned char>(rec.fields[k][at]), at));
    }
  }
  return rec;
}

CsvHeader::CsvHeader(const std::vector<std::string>& names) : names_(names) {
  for (std::size_t i = 0; i < names.size(); ++i) index_.emplace(names[i], i);
}

std::size_t CsvHeader::Index(const std::string& name, const std::string& where) const {
  auto it = index_.find(name);
  if (it == index_.end())
    throw std::runtime_error(fmt::format("{}: missing column '{}'", where, name));
  return it->second;
}

void CsvHeader::RequireWidth(const CsvRecord& r, const std::string& name) const {
  if (r.fields.size() != names_.size()) {
    throw std::runtime_error(fmt::format("{}:{}: {} fields, the header has {}", name, r.line,
                                         r.fields.size(), names_.size()));
  }
}

namespace {

// strtod/strtoll also take leading blanks and hexadecimal; a CSV number must be plain decimal.
void RequirePlain(const std::string& text, const std::string& what) {
  if (std::isspace(static_cast<unsigned char>(text.front())) ||
      text.find_first_of("xX") != std::string::npos) {
    throw std::invalid_argument(fmt::format("{} is not a number: '{}'", what, text));
  }
}

}  // namespace

double ParseDouble(const std::string& text, const std::string& what) {
  if (text.empty()) throw std::invalid_argument(fmt::format("{} is empty", what));
  RequirePlain(text, what);
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE) {
    throw std::invalid_argument(fmt::format("{} is not a number: '{}'", what, text));
  }
  if (!std::isfinite(v))
    throw std::invalid_argument(fmt::format("{} is not finite: '{}'", what, text));
  return v;
}

long long ParseInt(const std::string& text, const std::string& what) {
  if (text.empty()) throw std::invalid_argument(fmt::format("{} is empty", what));
  RequirePlain(text, what);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size() || errno == ERANGE) {
    // Python writes integral floats as "3.0"; accept those exactly, nothing else.
    double d = 0;
    try {
      d = ParseDouble(text, what);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument(fmt::format("{} is not an integer: '{}'", what, text));
    }
    if (std::floor(d) != d || std::fabs(d) > 9.0e15) {
      throw std::invalid_argument(fmt::format("{} is not an integer: '{}'", what, text));
    }
    return static_cast<long long>(d);
  }
  return v;
}

}  // namespace joulecast
