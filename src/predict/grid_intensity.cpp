#include "joulecast/predict/grid_intensity.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>
#include <utility>

#include "joulecast/io/data_path.h"
#include "joulecast/io/json_file.h"
#include "joulecast/predict/gpu_spec.h"  // EditDistance

namespace joulecast {
namespace {

using nlohmann::json;

std::string RequiredString(const json& r, const char* key, const std::string& where) {
  auto it = r.find(key);
  if (it == r.end() || !it->is_string() || it->get<std::string>().empty())
    throw std::runtime_error(fmt::format("{}: field '{}' must be a non-empty string", where, key));
  return it->get<std::string>();
}

}  // namespace

nlohmann::json GridRegion::ToJson() const {
  return json{{"code", code},
              {"name", name},
              {"g_co2e_per_kwh", g_co2e_per_kwh},
              {"year", year ? json(*year) : json(nullptr)},
              {"source", source}};
}

std::string NormalizeRegionCode(const std::string& code) {
  std::string out;
  for (unsigned char c : code) {
    out += (c == '_' || c == ' ') ? '-' : static_cast<char>(std::toupper(c));
  }
  return out;
}

double Co2eKg(double energy_j, double g_co2e_per_kwh) {
  return energy_j / 3.6e6 * g_co2e_per_kwh / 1000.0;
}

GridIntensityTable GridIntensityTable::FromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("regions") || !j["regions"].is_array())
    throw std::runtime_error(fmt::format("{}: expected an object with a 'regions' array", where));
  GridIntensityTable t;
  t.path_ = where;
  if (j.contains("source") && j["source"].is_string()) t.source_ = j["source"].get<std::string>();
  std::set<std::string> seen;
  const json& regions = j["regions"];
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const json& r = regions[i];
    std::string at = fmt::format("{}: regions[{}]", where, i);
    if (!r.is_object()) throw std::runtime_error(at + ": expected an object");
    GridRegion g;
    g.code = RequiredString(r, "code", at);
    at += " (" + g.code + ")";
    g.name = RequiredString(r, "name", at);
    g.source = RequiredString(r, "source", at);
    auto v = r.find("g_co2e_per_kwh");
    if (v == r.end() || !v->is_number() || !std::isfinite(v->get<double>()) ||
        v->get<double>() < 0) {
      throw std::runtime_error(fmt::format("{}: field 'g_co2e_per_kwh' must be a number >= 0", at));
    }
    g.g_co2e_per_kwh = v->get<double>();
    auto y = r.find("year");
    if (y != r.end() && !y->is_null()) {
      if (!y->is_number_integer())
        throw std::runtime_error(fmt::format("{}: field 'year' must be an integer or null", at));
      g.year = y->get<int>();
    }
    if (!seen.insert(NormalizeRegionCode(g.code)).second)
      throw std::runtime_error(fmt::format("{}: code '{}' appears twice", where, g.code));
    t.regions_.push_back(std::move(g));
  }
  if (t.regions_.empty()) throw std::runtime_error(where + ": no regions");
  return t;
}

GridIntensityTable GridIntensityTable::Load(const std::string& path) {
  return FromJson(ReadJsonFile(path), path);
}

GridIntensityTable GridIntensityTable::LoadDefault() {
  return Load(FindDataFile("carbon/grid_intensity.json"));
}

const GridRegion* GridIntensityTable::TryFind(const std::string& code_or_name) const {
  const std::string key = NormalizeRegionCode(code_or_name);
  for (const auto& r : regions_)
    if (NormalizeRegionCode(r.code) == key) return &r;
  for (const auto& r : regions_)
    if (NormalizeRegionCode(r.name) == key) return &r;
  return nullptr;
}

const GridRegion& GridIntensityTable::Find(const std::string& code_or_name) const {
  if (const GridRegion* r = TryFind(code_or_name)) return *r;
  const std::string key = NormalizeRegionCode(code_or_name);
  const std::size_t limit = std::max<std::size_t>(1, key.size() / 3);
  std::vector<std::pair<std::size_t, std::string>> close;
  for (const auto& r : regions_) {
    std::size_t best = static_cast<std::size_t>(-1);
    for (const std::string& k : {r.code, r.name}) {
      const std::string n = NormalizeRegionCode(k);
      std::size_t d = EditDistance(key, n);
      if (key.size() >= 3 && n.find(key) != std::string::npos) d = std::min<std::size_t>(d, 1);
      best = std::min(best, d);
    }
    if (best <= limit) close.emplace_back(best, fmt::format("{} ({})", r.code, r.name));
  }
  std::stable_sort(close.begin(), close.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (close.size() > 5) close.resize(5);
  std::vector<std::string> labels;
  if (close.empty()) {
    for (const auto& r : regions_) labels.push_back(r.code);
    throw std::runtime_error(fmt::format("unknown region '{}'; known codes: {} ({})", code_or_name,
                                         fmt::join(labels, ", "), path_));
  }
  for (const auto& c : close) labels.push_back(c.second);
  throw std::runtime_error(fmt::format("unknown region '{}'; did you mean: {}? ({})", code_or_name,
                                       fmt::join(labels, ", "), path_));
}

}  // namespace joulecast
