#include "joulecast/predict/workload.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>

#include "joulecast/io/data_path.h"
#include "joulecast/io/json_file.h"

namespace joulecast {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

double Positive(const json& w, const char* key, const std::string& where) {
  auto it = w.find(key);
  if (it == w.end() || !it->is_number() || !std::isfinite(it->get<double>()) ||
      it->get<double>() <= 0) {
    throw std::runtime_error(fmt::format("{}: field '{}' must be a number > 0", where, key));
  }
  return it->get<double>();
}

std::string Str(const json& w, const char* key, const std::string& where, bool required) {
  auto it = w.find(key);
  if (it == w.end() || it->is_null()) {
    if (required) throw std::runtime_error(fmt::format("{}: missing field '{}'", where, key));
    return "";
  }
  if (!it->is_string())
    throw std::runtime_error(fmt::format("{}: field '{}' must be a string", where, key));
  return it->get<std::string>();
}

}  // namespace

WorkloadTable WorkloadTable::FromJson(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("workloads") || !j["workloads"].is_array()) {
    throw std::runtime_error(fmt::format("{}: expected an object with a 'workloads' array", where));
  }
  WorkloadTable t;
  std::set<std::string> names;
  for (std::size_t i = 0; i < j["workloads"].size(); ++i) {
    const json& w = j["workloads"][i];
    std::string at = fmt::format("{}: workloads[{}]", where, i);
    if (!w.is_object()) throw std::runtime_error(at + ": must be an object");
    Workload x;
    x.name = Str(w, "name", at, true);
    at += " (" + x.name + ")";
    if (x.name.empty() || !names.insert(Lower(x.name)).second)
      throw std::runtime_error(at + ": empty or duplicate name");
    x.network = Str(w, "network", at, true);
    x.dataset = Str(w, "dataset", at, true);
    if (auto it = w.find("zeus"); it != w.end() && !it->is_null()) {
      x.zeus_dataset = Str(*it, "dataset", at + ": zeus", true);
      x.zeus_network = Str(*it, "network", at + ": zeus", true);
    }
    x.architecture = Str(w, "architecture", at, false);
    x.forward_gmacs = Positive(w, "forward_gmacs", at);
    x.train_gflops_per_sample = Positive(w, "train_gflops_per_sample", at);
    if (std::abs(x.train_gflops_per_sample - 6 * x.forward_gmacs) >
        1e-6 * x.train_gflops_per_sample) {
      throw std::runtime_error(
          fmt::format("{}: train_gflops_per_sample {} is not 6 x forward_gmacs ({})", at,
                      x.train_gflops_per_sample, 6 * x.forward_gmacs));
    }
    x.params_m = Positive(w, "params_m", at);
    x.samples_per_epoch = Positive(w, "samples_per_epoch", at);
    x.input = w.value("input", json(nullptr));
    x.sources = w.value("sources", json::object());
    t.workloads_.push_back(std::move(x));
  }
  return t;
}

WorkloadTable WorkloadTable::Load(const std::string& path) {
  return FromJson(ReadJsonFile(path), path);
}

WorkloadTable WorkloadTable::LoadDefault() { return Load(FindDataFile("workloads.json")); }

const Workload* WorkloadTable::TryFind(const std::string& name) const {
  for (const auto& w : workloads_)
    if (Lower(w.name) == Lower(name)) return &w;
  return nullptr;
}

const Workload& WorkloadTable::Find(const std::string& name) const {
  if (const Workload* w = TryFind(name)) return *w;
  std::vector<std::string> names;
  for (const auto& w : workloads_) names.push_back(w.name);
  throw std::runtime_error(
      fmt::format("unknown workload '{}'; known: {}", name, fmt::join(names, ", ")));
}

const Workload& WorkloadTable::FindZeus(const std::string& dataset,
                                        const std::string& network) const {
  std::vector<std::string> keys;
  for (const auto& w : workloads_) {
    if (w.zeus_dataset.empty()) continue;
    if (w.zeus_dataset == dataset && w.zeus_network == network) return w;
    keys.push_back(w.zeus_dataset + "/" + w.zeus_network);
  }
  throw std::runtime_error(
      fmt::format("unknown Zeus workload (dataset '{}', network '{}'); known: {}", dataset, network,
                  fmt::join(keys, ", ")));
}

}  // namespace joulecast
