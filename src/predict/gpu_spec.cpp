#include "joulecast/predict/gpu_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

#include "joulecast/io/data_path.h"
#include "joulecast/io/json_file.h"

namespace joulecast {
namespace {

using nlohmann::json;

double PositiveNumber(const json& g, const char* key, const std::string& where) {
  auto it = g.find(key);
  if (it == g.end() || !it->is_number() || !std::isfinite(it->get<double>()) ||
      it->get<double>() <= 0) {
    throw std::runtime_error(fmt::format("{}: field '{}' must be a number > 0", where, key));
  }
  return it->get<double>();
}

std::optional<double> OptionalPositive(const json& g, const char* key, const std::string& where) {
  auto it = g.find(key);
  if (it == g.end() || it->is_null()) return std::nullopt;
  return PositiveNumber(g, key, where);
}

std::string String(const json& g, const char* key, const std::string& where, bool required) {
  auto it = g.find(key);
  if (it == g.end() || it->is_null()) {
    if (required) throw std::runtime_error(fmt::format("{}: missing field '{}'", where, key));
    return "";
  }
  if (!it->is_string() || (required && it->get<std::string>().empty())) {
    throw std::runtime_error(fmt::format("{}: field '{}' must be a non-empty string", where, key));
  }
  return it->get<std::string>();
}

}  // namespace

std::string NormalizeGpuName(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
  }
  if (out.rfind("nvidia", 0) == 0 && out.size() > 6) out.erase(0, 6);
  return out;
}

std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

json GpuSpec::ToJson() const {
  return json{{"name", name},
              {"aliases", aliases},
              {"architecture", architecture},
              {"chip", chip},
              {"compute_capability", compute_capability},
              {"cuda_cores", cuda_cores},
              {"sms", sms},
              {"tensor_cores", tensor_cores},
              {"memory_gb", memory_gb},
              {"memory_type", memory_type},
              {"memory_bandwidth_gbs", memory_bandwidth_gbs},
              {"tdp_w", tdp_w},
              {"boost_clock_mhz", boost_clock_mhz},
              {"fp32_tflops", fp32_tflops},
              {"fp16_tflops", fp16_tflops ? json(*fp16_tflops) : json(nullptr)},
              {"power_limit_min_w", power_limit_min_w ? json(*power_limit_min_w) : json(nullptr)},
              {"l2_cache_mb", l2_cache_mb ? json(*l2_cache_mb) : json(nullptr)},
              {"source", source}};
}

GpuTable GpuTable::FromJson(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("gpus") || !j["gpus"].is_array() || j["gpus"].empty()) {
    throw std::runtime_error(
        fmt::format("{}: expected an object with a non-empty 'gpus' array", where));
  }
  GpuTable t;
  t.path_ = where;
  std::map<std::string, std::string> owner;  // normalised name or alias -> GPU name
  for (std::size_t i = 0; i < j["gpus"].size(); ++i) {
    const json& g = j["gpus"][i];
    std::string at = fmt::format("{}: gpus[{}]", where, i);
    if (!g.is_object()) throw std::runtime_error(at + ": must be an object");
    GpuSpec s;
    s.name = String(g, "name", at, true);
    at += " (" + s.name + ")";
    if (auto it = g.find("aliases"); it != g.end()) {
      if (!it->is_array()) throw std::runtime_error(at + ": field 'aliases' must be an array");
      for (const auto& a : *it) {
        if (!a.is_string() || a.get<std::string>().empty())
          throw std::runtime_error(at + ": field 'aliases' must hold non-empty strings");
        s.aliases.push_back(a.get<std::string>());
      }
    }
    s.architecture = String(g, "architecture", at, true);
    s.chip = String(g, "chip", at, false);
    s.compute_capability = String(g, "compute_capability", at, false);
    s.memory_type = String(g, "memory_type", at, false);
    s.source = String(g, "source", at, true);
    s.cuda_cores = static_cast<int>(PositiveNumber(g, "cuda_cores", at));
    s.sms = static_cast<int>(PositiveNumber(g, "sms", at));
    if (auto it = g.find("tensor_cores"); it != g.end() && it->is_number_integer())
      s.tensor_cores = it->get<int>();
    s.memory_gb = PositiveNumber(g, "memory_gb", at);
    s.memory_bandwidth_gbs = PositiveNumber(g, "memory_bandwidth_gbs", at);
    s.tdp_w = PositiveNumber(g, "tdp_w", at);
    s.boost_clock_mhz = PositiveNumber(g, "boost_clock_mhz", at);
    s.fp32_tflops = PositiveNumber(g, "fp32_tflops", at);
    s.fp16_tflops = OptionalPositive(g, "fp16_tflops", at);
    s.power_limit_min_w = OptionalPositive(g, "power_limit_min_w", at);
    s.l2_cache_mb = OptionalPositive(g, "l2_cache_mb", at);
    if (s.power_limit_min_w && *s.power_limit_min_w > s.tdp_w) {
      throw std::runtime_error(fmt::format("{}: power_limit_min_w {} exceeds tdp_w {}", at,
                                           *s.power_limit_min_w, s.tdp_w));
    }
    std::vector<std::string> keys{s.name};
    keys.insert(keys.end(), s.aliases.begin(), s.aliases.end());
    for (const auto& k : keys) {
      const std::string n = NormalizeGpuName(k);
      auto [it, inserted] = owner.emplace(n, s.name);
      if (!inserted && it->second != s.name) {
        throw std::runtime_error(
            fmt::format("{}: '{}' names both {} and {}", where, n, it->second, s.name));
      }
    }
    t.gpus_.push_back(std::move(s));
  }
  return t;
}

GpuTable GpuTable::Load(const std::string& path) { return FromJson(ReadJsonFile(path), path); }

GpuTable GpuTable::LoadDefault() { return Load(FindDataFile("hardware/gpus.json")); }

const GpuSpec* GpuTable::TryFind(const std::string& name) const {
  const std::string key = NormalizeGpuName(name);
  for (const auto& g : gpus_) {
    if (NormalizeGpuName(g.name) == key) return &g;
    for (const auto& a : g.aliases)
      if (NormalizeGpuName(a) == key) return &g;
  }
  return nullptr;
}

const GpuSpec& GpuTable::Find(const std::string& name) const {
  if (const GpuSpec* g = TryFind(name)) return *g;
  const std::string key = NormalizeGpuName(name);
  // (distance, label): the closest spelling of each GPU, name or alias.
  std::vector<std::pair<std::size_t, std::string>> close;
  for (const auto& g : gpus_) {
    std::size_t best = static_cast<std::size_t>(-1);
    std::string best_label;
    std::vector<std::string> keys{g.name};
    keys.insert(keys.end(), g.aliases.begin(), g.aliases.end());
    for (const auto& k : keys) {
      const std::string n = NormalizeGpuName(k);
      std::size_t d = EditDistance(key, n);
      const bool contains = !key.empty() && n.find(key) != std::string::npos;
      if (contains) d = std::min<std::size_t>(d, 1);
      if (d < best) {
        best = d;
        best_label = k == g.name ? g.name : fmt::format("{} ({})", g.name, k);
      }
    }
    if (best <= std::max<std::size_t>(2, key.size() / 3)) close.emplace_back(best, best_label);
  }
  std::stable_sort(close.begin(), close.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (close.size() > 5) close.resize(5);
  std::vector<std::string> labels;
  if (close.empty()) {
    for (const auto& g : gpus_) labels.push_back(g.name);
    throw std::runtime_error(
        fmt::format("unknown GPU '{}'; known GPUs: {} ({})", name, fmt::join(labels, ", "), path_));
  }
  for (const auto& c : close) labels.push_back(c.second);
  throw std::runtime_error(fmt::format("unknown GPU '{}'; did you mean: {}? ({})", name,
                                       fmt::join(labels, ", "), path_));
}

void CheckPowerLimit(const GpuSpec& gpu, double watts) {
  const double lo = gpu.power_limit_min_w.value_or(0.0);
  const bool ok = std::isfinite(watts) && watts <= gpu.tdp_w &&
                  (gpu.power_limit_min_w ? watts >= lo : watts > 0);
  if (ok) return;
  if (gpu.power_limit_min_w) {
    throw std::runtime_error(fmt::format("power limit {} W is outside the range of {} ({}-{} W)",
                                         watts, gpu.name, lo, gpu.tdp_w));
  }
  throw std::runtime_error(
      fmt::format("power limit {} W is outside the range of {} (0-{} W; its lowest NVML limit is "
                  "not in gpus.json)",
                  watts, gpu.name, gpu.tdp_w));
}

}  // namespace joulecast
