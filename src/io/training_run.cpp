#include "joulecast/io/training_run.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <stdexcept>

namespace joulecast {
namespace {

using nlohmann::json;

double Positive(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw std::runtime_error(fmt::format("{}: missing field '{}'", where, key));
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0) {
    throw std::runtime_error(
        fmt::format("{}: field '{}' must be a finite number > 0, got {}", where, key, it->dump()));
  }
  return it->get<double>();
}

std::string Str(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw std::runtime_error(fmt::format("{}: missing field '{}'", where, key));
  if (!it->is_string() || it->get<std::string>().empty())
    throw std::runtime_error(fmt::format("{}: field '{}' must be a non-empty string", where, key));
  return it->get<std::string>();
}

}  // namespace

json ToJson(const TrainingRun& r) {
  return json{{"kind", kTrainingRunKind},
              {"format_version", kTrainingRunFormatVersion},
              {"gpu", r.gpu},
              {"workload", r.workload},
              {"batch_size", r.batch_size},
              {"optimizer", r.optimizer},
              {"power_limit_w", r.power_limit_w ? json(*r.power_limit_w) : json(nullptr)},
              {"epoch_time_s", r.epoch_time_s},
              {"average_power_w", r.average_power_w},
              {"epoch_energy_j", r.epoch_energy_j},
              {"samples_per_epoch", r.samples_per_epoch},
              {"train_gflops_per_sample", r.train_gflops_per_sample},
              {"params_m", r.params_m},
              {"meter", r.meter},
              {"provenance", r.provenance}};
}

TrainingRun TrainingRunFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) throw std::runtime_error(where + ": a training run must be a JSON object");
  if (j.value("kind", std::string()) != kTrainingRunKind) {
    throw std::runtime_error(
        fmt::format("{}: field 'kind' must be \"{}\"", where, kTrainingRunKind));
  }
  if (auto it = j.find("format_version");
      it == j.end() || !it->is_number_integer() || it->get<int>() != kTrainingRunFormatVersion) {
    throw std::runtime_error(fmt::format("{}: unsupported format_version {} (this build reads {})",
                                         where, it == j.end() ? "(missing)" : it->dump(),
                                         kTrainingRunFormatVersion));
  }
  TrainingRun r;
  r.gpu = Str(j, "gpu", where);
  r.workload = Str(j, "workload", where);
  auto bs = j.find("batch_size");
  if (bs == j.end() || !bs->is_number_integer() || bs->get<std::int64_t>() < 1) {
    throw std::runtime_error(
        fmt::format("{}: field 'batch_size' must be a positive integer", where));
  }
  r.batch_size = bs->get<std::int64_t>();
  if (auto it = j.find("optimizer"); it != j.end() && it->is_string()) r.optimizer = *it;
  if (auto it = j.find("power_limit_w"); it != j.end() && !it->is_null())
    r.power_limit_w = Positive(j, "power_limit_w", where);
  r.epoch_time_s = Positive(j, "epoch_time_s", where);
  r.average_power_w = Positive(j, "average_power_w", where);
  r.epoch_energy_j = Positive(j, "epoch_energy_j", where);
  r.samples_per_epoch = Positive(j, "samples_per_epoch", where);
  r.train_gflops_per_sample = Positive(j, "train_gflops_per_sample", where);
  r.params_m = Positive(j, "params_m", where);
  if (auto it = j.find("meter"); it != j.end() && it->is_string()) r.meter = *it;
  if (auto it = j.find("provenance"); it != j.end() && it->is_object()) r.provenance = *it;
  return r;
}

void WriteTrainingRun(std::ostream& out, const TrainingRun& r) {
  out << ToJson(r).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  out.flush();
}

std::vector<TrainingRun> ReadTrainingRuns(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  return ReadTrainingRuns(in, path);
}

std::vector<TrainingRun> ReadTrainingRuns(std::istream& in, const std::string& path) {
  std::vector<TrainingRun> runs;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, n);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e999
      throw std::runtime_error(fmt::format("{}: invalid JSON ({})", where, e.what()));
    }
    runs.push_back(TrainingRunFromJson(j, where));
  }
  return runs;
}

std::vector<TrainingRun> ReadTrainingRunFiles(const std::vector<std::string>& paths) {
  std::vector<TrainingRun> all;
  for (const auto& p : paths) {
    auto r = ReadTrainingRuns(p);
    all.insert(all.end(), r.begin(), r.end());
  }
  return all;
}

bool IsTrainingRunFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    return j.is_object() && j.value("kind", std::string()) == kTrainingRunKind;
  }
  return false;
}

}  // namespace joulecast
