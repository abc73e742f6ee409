#include "joulecast/io/training_log.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <stdexcept>

#include "joulecast/io/csv.h"

namespace joulecast {
namespace {

double Field(const CsvRecord& r, std::size_t i, const std::string& where, const char* col) {
  try {
    return ParseDouble(r.fields[i], fmt::format("{}:{}: {}", where, r.line, col));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
}

}  // namespace

TrainingLog ReadTrainingLog(std::istream& in, const std::string& name,
                            const std::string& time_column) {
  if (time_column.empty() || time_column == "epoch" || time_column == "energy_j" ||
      time_column == "power_w") {
    throw std::runtime_error(fmt::format(
        "time column '{}' cannot hold epoch times: name a column of seconds other than epoch, "
        "energy_j and power_w",
        time_column));
  }
  CsvReader reader(in, name);
  const std::optional<CsvRecord> head = reader.Next();
  if (!head)
    throw std::runtime_error(
        fmt::format("{}: empty file (expected a header with epoch, {})", name, time_column));
  const CsvHeader header(head->fields);
  const std::string at_header = fmt::format("{}:{}", name, head->line);
  const std::size_t i_epoch = header.Index("epoch", at_header);
  const std::size_t i_dur = header.Index(time_column, at_header);
  const bool has_e = header.Has("energy_j"), has_p = header.Has("power_w");
  const std::size_t i_e = has_e ? header.Index("energy_j", at_header) : 0;
  const std::size_t i_p = has_p ? header.Index("power_w", at_header) : 0;
  TrainingLog log;
  log.path = name;
  log.energy_column = has_e ? "energy_j" : has_p ? "power_w" : "";
  log.time_column = time_column;
  while (std::optional<CsvRecord> r = reader.Next()) {
    header.RequireWidth(*r, name);
    LogEpoch e;
    e.line = r->line;
    const double epoch = Field(*r, i_epoch, name, "epoch");
    const int expected = static_cast<int>(log.epochs.size()) + 1;
    if (epoch != expected) {
      throw std::runtime_error(
          fmt::format("{}:{}: epoch {} expected, got {}", name, r->line, expected, r->fields[i_epoch]));
    }
    e.epoch = expected;
    e.duration_s = Field(*r, i_dur, name, time_column.c_str());
    if (!(e.duration_s > 0))
      throw std::runtime_error(fmt::format("{}:{}: {} must be > 0, got {}", name, r->line,
                                           time_column, r->fields[i_dur]));
    std::optional<double> power;
    if (has_p) {
      power = Field(*r, i_p, name, "power_w");
      if (*power < 0)
        throw std::runtime_error(
            fmt::format("{}:{}: power_w must be >= 0, got {}", name, r->line, r->fields[i_p]));
    }
    if (has_e) {
      e.energy_j = Field(*r, i_e, name, "energy_j");
      if (*e.energy_j < 0)
        throw std::runtime_error(
            fmt::format("{}:{}: energy_j must be >= 0, got {}", name, r->line, r->fields[i_e]));
    } else if (power) {
      e.energy_j = *power * e.duration_s;
      if (!std::isfinite(*e.energy_j)) {
        throw std::runtime_error(fmt::format("{}:{}: power_w {} x {} {} overflows a double", name,
                                             r->line, r->fields[i_p], time_column,
                                             r->fields[i_dur]));
      }
    }
    log.epochs.push_back(e);
  }
  if (log.epochs.empty()) throw std::runtime_error(fmt::format("{}: no epochs after the header", name));
  return log;
}

TrainingLog LoadTrainingLog(const std::string& path, const std::string& time_column) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  return ReadTrainingLog(in, path, time_column);
}

}  // namespace joulecast
