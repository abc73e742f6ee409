#include "joulecast/predict/profile.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "joulecast/io/atomic_file.h"

namespace joulecast {

const LayerPredictor* Profile::Find(const std::string& layer_type) const {
  auto it = layers.find(layer_type);
  return it == layers.end() ? nullptr : &it->second;
}

nlohmann::json Profile::ToJson() const {
  nlohmann::json j = {{"kind", "joulecast_profile"},
                      {"format_version", kFormatVersion},
                      {"name", name},
                      {"target", target},
                      {"hardware", hardware},
                      {"data", data}};
  j["layers"] = nlohmann::json::object();
  for (const auto& [type, p] : layers) j["layers"][type] = p.ToJson();
  return j;
}

Profile Profile::FromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || j.value("kind", "") != "joulecast_profile") {
    throw std::runtime_error(
        fmt::format("{}: not a joulecast profile (kind must be 'joulecast_profile')", where));
  }
  if (!j.contains("format_version") || !j["format_version"].is_number_integer() ||
      j["format_version"].get<int>() != kFormatVersion) {
    throw std::runtime_error(fmt::format(
        "{}: unsupported profile format_version {} (this build reads {})", where,
        j.contains("format_version") ? j["format_version"].dump() : "(missing)", kFormatVersion));
  }
  Profile p;
  p.name = j.value("name", "");
  p.target = j.value("target", "");
  if (p.target != "energy_j" && p.target != "time_s") {
    throw std::runtime_error(
        fmt::format("{}: target must be energy_j or time_s, got '{}'", where, p.target));
  }
  p.hardware = j.value("hardware", nlohmann::json::object());
  p.data = j.value("data", nlohmann::json::object());
  if (!j.contains("layers") || !j["layers"].is_object() || j["layers"].empty()) {
    throw std::runtime_error(fmt::format("{}: profile has no layer predictors", where));
  }
  for (const auto& [type, lj] : j["layers"].items()) {
    p.layers.emplace(type, LayerPredictor::FromJson(lj, fmt::format("{}: layers.{}", where, type)));
  }
  return p;
}

Profile Profile::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open profile", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(fmt::format("{}: invalid JSON: {}", path, e.what()));
  }
  return FromJson(j, path);
}

void Profile::Save(const std::string& path) const {
  // replace: a non-UTF-8 name or path must not fail the write
  WriteFileAtomically(
      path, ToJson().dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

const char* TargetUnit(const std::string& target) { return target == "time_s" ? "s" : "J"; }

}  // namespace joulecast
