#include "joulecast/predict/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "joulecast/io/atomic_file.h"
#include "joulecast/io/measurement.h"

namespace joulecast {
namespace {

std::string JoinModes(const std::vector<std::string>& modes) {
  std::string out;
  for (const auto& m : modes) out += (out.empty() ? "" : ", ") + m;
  return out;
}

// Reads {type: predictor} at `j`, naming `path` ("layers" or "modes.M.layers") in errors.
std::map<std::string, LayerPredictor> ReadLayers(const nlohmann::json& j, const std::string& where,
                                                 const std::string& path) {
  if (!j.is_object() || j.empty()) {
    throw std::runtime_error(path == "layers"
                                 ? fmt::format("{}: profile has no layer predictors", where)
                                 : fmt::format("{}: {}: no layer predictors", where, path));
  }
  std::map<std::string, LayerPredictor> out;
  for (const auto& [type, lj] : j.items()) {
    out.emplace(type, LayerPredictor::FromJson(lj, fmt::format("{}: {}.{}", where, path, type)));
  }
  return out;
}

}  // namespace

const LayerPredictor* Profile::Find(const std::string& layer_type) const {
  auto it = layers.find(layer_type);
  return it == layers.end() ? nullptr : &it->second;
}

std::vector<std::string> Profile::Modes() const {
  std::vector<std::string> out;
  bool placed = false;
  for (const auto& [m, unused] : other_modes) {
    (void)unused;
    if (!placed && mode < m) {
      out.push_back(mode);
      placed = true;
    }
    out.push_back(m);
  }
  if (!placed) out.push_back(mode);
  return out;
}

bool Profile::HasMode(const std::string& m) const { return m == mode || other_modes.count(m) > 0; }

void Profile::SelectMode(const std::string& m, const std::string& where) {
  if (m == mode) return;
  auto it = other_modes.find(m);
  if (it == other_modes.end()) {
    throw std::runtime_error(fmt::format("{}: no {} predictors in the profile (it has: {})", where,
                                         m, JoinModes(Modes())));
  }
  std::map<std::string, LayerPredictor> next = std::move(it->second);
  other_modes.erase(it);
  other_modes.emplace(mode, std::move(layers));
  layers = std::move(next);
  mode = m;
}

void Profile::RequireDtype(const std::string& d, const std::string& where) const {
  if (d == dtype) return;
  throw std::runtime_error(fmt::format(
      "{}: the profile {} predicts {} runs, not {}; fit a {} profile from records of `collect "
      "--dtype {}`",
      where, name.empty() ? "(unnamed)" : name, dtype, d, d, d));
}

nlohmann::json Profile::ToJson() const {
  nlohmann::json j = {{"kind", "joulecast_profile"},
                      {"format_version", kFormatVersion},
                      {"name", name},
                      {"target", target},
                      {"dtype", dtype},
                      {"hardware", hardware},
                      {"data", data}};
  if (!power.is_null()) j["power"] = power;
  j["modes"] = nlohmann::json::object();
  auto write = [&](const std::string& m, const std::map<std::string, LayerPredictor>& preds) {
    nlohmann::json lj = nlohmann::json::object();
    for (const auto& [type, p] : preds) lj[type] = p.ToJson();
    j["modes"][m] = {{"layers", lj}};
  };
  write(mode, layers);
  for (const auto& [m, preds] : other_modes) write(m, preds);
  return j;
}

Profile Profile::FromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || j.value("kind", "") != "joulecast_profile") {
    throw std::runtime_error(
        fmt::format("{}: not a joulecast profile (kind must be 'joulecast_profile')", where));
  }
  const int version = j.contains("format_version") && j["format_version"].is_number_integer()
                          ? j["format_version"].get<int>()
                          : 0;
  if (version != 1 && version != kFormatVersion) {
    throw std::runtime_error(fmt::format(
        "{}: unsupported profile format_version {} (this build reads 1 and {})", where,
        j.contains("format_version") ? j["format_version"].dump() : "(missing)", kFormatVersion));
  }
  Profile p;
  p.name = j.value("name", "");
  p.target = j.value("target", "");
  if (p.target != "energy_j" && p.target != "time_s") {
    throw std::runtime_error(
        fmt::format("{}: target must be energy_j or time_s, got '{}'", where, p.target));
  }
  if (j.contains("dtype")) {
    const nlohmann::json& d = j["dtype"];
    static const std::vector<std::string> known = {"float32", "float64", "float16", "bfloat16"};
    if (!d.is_string() ||
        std::find(known.begin(), known.end(), d.get<std::string>()) == known.end())
      throw std::runtime_error(fmt::format(
          "{}: dtype must be one of float32, float64, float16, bfloat16, got {}", where, d.dump()));
    p.dtype = d.get<std::string>();
  }
  p.hardware = j.value("hardware", nlohmann::json::object());
  p.data = j.value("data", nlohmann::json::object());
  if (j.contains("power") && !j["power"].is_null()) {
    const nlohmann::json& pw = j["power"];
    if (!pw.is_object() || !pw.contains("watts") || !pw["watts"].is_number() ||
        !(pw["watts"].get<double>() > 0) || !std::isfinite(pw["watts"].get<double>())) {
      throw std::runtime_error(fmt::format(
          "{}: power: expected {{\"watts\": a positive number, ...}}, got {}", where, pw.dump()));
    }
    if (p.target != "time_s") {
      throw std::runtime_error(fmt::format(
          "{}: power: only a time profile (target time_s) turns time into energy", where));
    }
    p.power = pw;
  }
  if (version == 1) {
    // Version 1 had one set of predictors, fitted on forward passes.
    p.mode = "forward";
    p.layers = ReadLayers(j.contains("layers") ? j["layers"] : nlohmann::json(), where, "layers");
    return p;
  }
  if (!j.contains("modes") || !j["modes"].is_object() || j["modes"].empty()) {
    throw std::runtime_error(
        fmt::format("{}: profile has no modes (expected \"modes\": "
                    "{{\"forward\": {{\"layers\": ...}}}})",
                    where));
  }
  std::map<std::string, std::map<std::string, LayerPredictor>> all;
  for (const auto& [m, mj] : j["modes"].items()) {
    if (!IsRunMode(m)) {
      throw std::runtime_error(fmt::format(
          "{}: modes.{}: unknown mode (expected forward, input_grad or train_step)", where, m));
    }
    const std::string path = fmt::format("modes.{}.layers", m);
    all.emplace(
        m, ReadLayers(mj.is_object() && mj.contains("layers") ? mj["layers"] : nlohmann::json(),
                      where, path));
  }
  auto active = all.count("forward") ? all.find("forward") : all.begin();
  p.mode = active->first;
  p.layers = std::move(active->second);
  all.erase(active);
  p.other_modes = std::move(all);
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

const char* RunName(const std::string& mode) {
  if (mode == "train_step") return "training step";
  return mode == "input_grad" ? "forward and input-gradient pass" : "forward pass";
}

}  // namespace joulecast
