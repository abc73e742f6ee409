#include "joulecast/predict/epochs_to_target.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <utility>

#include "joulecast/io/data_path.h"

namespace joulecast {
namespace {

using nlohmann::json;

bool SameTarget(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

const json& Field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw std::runtime_error(fmt::format("{}: missing field '{}'", where, key));
  return *it;
}

std::string String(const json& j, const char* key, const std::string& where) {
  const json& v = Field(j, key, where);
  if (!v.is_string() || v.get<std::string>().empty())
    throw std::runtime_error(fmt::format("{}: field '{}' must be a non-empty string", where, key));
  return v.get<std::string>();
}

double Number(const json& j, const char* key, const std::string& where) {
  const json& v = Field(j, key, where);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    throw std::runtime_error(fmt::format("{}: field '{}' must be a finite number", where, key));
  return v.get<double>();
}

std::int64_t PositiveInt(const json& j, const char* key, const std::string& where) {
  const json& v = Field(j, key, where);
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1)
    throw std::runtime_error(fmt::format("{}: field '{}' must be an integer >= 1", where, key));
  return v.get<std::int64_t>();
}

}  // namespace

EpochsToTargetTable EpochsToTargetTable::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  EpochsToTargetTable t;
  t.path_ = path;
  std::string text;
  std::size_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line);
    json j;
    try {
      j = json::parse(text);
    } catch (const json::parse_error& e) {
      throw std::runtime_error(fmt::format("{}: invalid JSON: {}", where, e.what()));
    }
    if (!j.is_object() || j.value("kind", "") != "epochs_to_target")
      throw std::runtime_error(where + ": not an epochs_to_target record");
    EpochsToTargetRecord r;
    r.line = line;
    r.workload = String(j, "workload", where);
    r.optimizer = String(j, "optimizer", where);
    r.batch_size = PositiveInt(j, "batch_size", where);
    r.run = static_cast<int>(PositiveInt(j, "run", where));
    r.learning_rate = Number(j, "learning_rate", where);
    r.target_metric = Number(j, "target_metric", where);
    const json& hib = Field(j, "higher_is_better", where);
    if (!hib.is_boolean())
      throw std::runtime_error(where + ": field 'higher_is_better' must be true or false");
    r.higher_is_better = hib.get<bool>();
    const json& e = Field(j, "target_epoch", where);
    if (!e.is_null()) {
      if (!e.is_number_integer() || e.get<int>() < 1)
        throw std::runtime_error(where + ": field 'target_epoch' must be an integer >= 1 or null");
      r.target_epoch = e.get<int>();
    }
    t.records_.push_back(std::move(r));
  }
  if (t.records_.empty()) throw std::runtime_error(fmt::format("{}: no records", path));
  return t;
}

EpochsToTargetTable EpochsToTargetTable::LoadDefault() {
  return Load(FindDataFile("zeus2023/epochs_to_target.jsonl"));
}

bool EpochsToTargetTable::Has(const std::string& workload) const {
  return HigherIsBetter(workload).has_value();
}

std::optional<bool> EpochsToTargetTable::HigherIsBetter(const std::string& workload) const {
  for (const auto& r : records_)
    if (r.workload == workload) return r.higher_is_better;
  return std::nullopt;
}

std::vector<double> EpochsToTargetTable::Targets(const std::string& workload) const {
  std::vector<double> out;
  for (const auto& r : records_) {
    if (r.workload != workload) continue;
    if (std::none_of(out.begin(), out.end(),
                     [&](double t) { return SameTarget(t, r.target_metric); }))
      out.push_back(r.target_metric);
  }
  const bool higher = HigherIsBetter(workload).value_or(true);
  std::sort(out.begin(), out.end(), [&](double a, double b) { return higher ? a < b : a > b; });
  return out;
}

std::optional<EpochsToTarget> EpochsToTargetTable::Find(const std::string& workload,
                                                        std::int64_t batch_size,
                                                        double target) const {
  // (optimizer, learning rate) -> run -> epoch (or nullopt)
  std::map<std::pair<std::string, double>, std::map<int, std::optional<int>>> configs;
  for (const auto& r : records_) {
    if (r.workload != workload || r.batch_size != batch_size ||
        !SameTarget(r.target_metric, target))
      continue;
    configs[{r.optimizer, r.learning_rate}][r.run] = r.target_epoch;
  }
  std::optional<EpochsToTarget> best;
  for (const auto& [config, runs] : configs) {
    EpochsToTarget e;
    e.target = target;
    e.optimizer = config.first;
    e.learning_rate = config.second;
    e.runs_total = static_cast<int>(runs.size());
    double sum = 0;
    for (const auto& [run, epoch] : runs) {
      if (!epoch) continue;
      sum += *epoch;
      ++e.runs_reached;
    }
    if (e.runs_reached == 0) continue;
    e.mean_epochs = sum / e.runs_reached;
    if (!best || e.mean_epochs < best->mean_epochs) best = e;
  }
  return best;
}

std::optional<double> EpochsToTargetTable::DefaultTarget(
    const std::string& workload, const std::vector<std::int64_t>& batch_sizes) const {
  std::set<std::int64_t> with_records;
  for (const auto& r : records_) {
    if (r.workload == workload &&
        std::find(batch_sizes.begin(), batch_sizes.end(), r.batch_size) != batch_sizes.end())
      with_records.insert(r.batch_size);
  }
  if (with_records.empty()) return std::nullopt;
  std::vector<double> targets = Targets(workload);
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) {
    if (std::all_of(with_records.begin(), with_records.end(),
                    [&](std::int64_t b) { return Find(workload, b, *it).has_value(); }))
      return *it;
  }
  return std::nullopt;
}

}  // namespace joulecast
