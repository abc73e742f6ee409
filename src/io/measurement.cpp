#include "joulecast/io/measurement.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace joulecast {

bool IsRunMode(const std::string& mode) {
  return mode == "forward" || mode == "train_step" || mode == "input_grad";
}
namespace {

using nlohmann::json;

json OptionalNumber(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

const json& Require(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw std::runtime_error(fmt::format("{}: missing field '{}'", where, key));
  return *it;
}

std::string RequireString(const json& j, const char* key, const std::string& where) {
  const json& v = Require(j, key, where);
  if (!v.is_string())
    throw std::runtime_error(fmt::format("{}: field '{}' must be a string", where, key));
  return v.get<std::string>();
}

double RequireNonNegative(const json& v, const char* key, const std::string& where) {
  if (!v.is_number())
    throw std::runtime_error(fmt::format("{}: field '{}' must be a number", where, key));
  double d = v.get<double>();
  if (!std::isfinite(d) || d < 0) {
    throw std::runtime_error(
        fmt::format("{}: field '{}' must be finite and >= 0, got {}", where, key, d));
  }
  return d;
}

std::optional<double> OptionalNonNegative(const json& j, const char* key,
                                          const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return RequireNonNegative(*it, key, where);
}

std::int64_t RequirePositiveInt(const json& j, const char* key, const std::string& where) {
  const json& v = Require(j, key, where);
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1) {
    throw std::runtime_error(
        fmt::format("{}: field '{}' must be a positive integer, got {}", where, key, v.dump()));
  }
  return v.get<std::int64_t>();
}

}  // namespace

json ToJson(const Measurement& m) {
  json j;
  j["format_version"] = kMeasurementFormatVersion;
  j["type"] = m.type;
  j["params"] = m.params;
  j["batch_size"] = m.batch_size;
  j["input_shape"] = m.input_shape;
  j["dtype"] = m.dtype;
  j["mode"] = m.mode;
  j["device"] = m.device;
  j["hardware"] = m.hardware;
  j["repetitions"] = m.repetitions;
  j["duration_s"] = m.duration_s;
  j["duration_s_std"] = OptionalNumber(m.duration_s_std);
  j["energy_j"] = OptionalNumber(m.energy_j);
  j["energy_j_std"] = OptionalNumber(m.energy_j_std);
  j["macs"] = OptionalNumber(m.macs);
  j["meter"] = m.meter;
  j["idle_power_w"] = OptionalNumber(m.idle_power_w);
  j["context"] = m.context;
  j["provenance"] = m.provenance;
  return j;
}

Measurement MeasurementFromJson(const json& j, const std::string& where) {
  if (!j.is_object())
    throw std::runtime_error(fmt::format("{}: a measurement must be a JSON object", where));
  if (auto it = j.find("format_version"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int>() != kMeasurementFormatVersion) {
      throw std::runtime_error(
          fmt::format("{}: unsupported format_version {} (this build reads {})", where, it->dump(),
                      kMeasurementFormatVersion));
    }
  }
  Measurement m;
  m.type = RequireString(j, "type", where);
  if (m.type.empty()) throw std::runtime_error(fmt::format("{}: field 'type' is empty", where));
  if (auto it = j.find("params"); it != j.end()) {
    if (!it->is_object())
      throw std::runtime_error(fmt::format("{}: field 'params' must be an object", where));
    m.params = *it;
    // As for architectures: sizes above 2^53 are rejected here, with the file and line, rather
    // than turned into huge feature values by the counts (a padding of 2^62 made fit and
    // evaluate fail on non-finite numbers without naming the record).
    for (const auto& [key, v] : m.params.items()) {
      const auto too_large = [](const json& x) {
        if (x.is_number_unsigned()) return x.get<std::uint64_t>() > (std::uint64_t{1} << 53);
        return x.is_number_integer() && x.get<std::int64_t>() > (std::int64_t{1} << 53);
      };
      bool bad = too_large(v);
      if (v.is_array()) {
        for (const auto& x : v) bad = bad || too_large(x);
      }
      if (bad) {
        throw std::runtime_error(
            fmt::format("{}: field 'params.{}' is {} (sizes above 2^53 are not supported)", where,
                        key, v.dump()));
      }
    }
  }
  m.batch_size = RequirePositiveInt(j, "batch_size", where);
  if (auto it = j.find("input_shape"); it != j.end()) {
    if (!it->is_array())
      throw std::runtime_error(fmt::format("{}: field 'input_shape' must be an array", where));
    for (const auto& d : *it) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 1) {
        throw std::runtime_error(fmt::format(
            "{}: field 'input_shape' must hold positive integers, got {}", where, it->dump()));
      }
      m.input_shape.push_back(d.get<std::int64_t>());
    }
    // As for architectures: at most 2^53 elements per sample, so that counts stay exact and finite.
    double elements = 1;
    for (const std::int64_t d : m.input_shape) elements *= static_cast<double>(d);
    if (elements > 9007199254740992.0) {
      throw std::runtime_error(
          fmt::format("{}: field 'input_shape' {} has more than 2^53 elements", where, it->dump()));
    }
  }
  if (j.contains("dtype")) m.dtype = RequireString(j, "dtype", where);
  if (j.contains("mode")) m.mode = RequireString(j, "mode", where);
  if (!IsRunMode(m.mode)) {
    throw std::runtime_error(
        fmt::format("{}: field 'mode' must be 'forward', 'train_step' or 'input_grad', got '{}'",
                    where, m.mode));
  }
  if (j.contains("device")) m.device = RequireString(j, "device", where);
  if (auto it = j.find("hardware"); it != j.end() && !it->is_null()) m.hardware = *it;
  if (j.contains("repetitions")) m.repetitions = RequirePositiveInt(j, "repetitions", where);
  m.duration_s = RequireNonNegative(Require(j, "duration_s", where), "duration_s", where);
  m.duration_s_std = OptionalNonNegative(j, "duration_s_std", where);
  m.energy_j = OptionalNonNegative(j, "energy_j", where);
  m.energy_j_std = OptionalNonNegative(j, "energy_j_std", where);
  m.macs = OptionalNonNegative(j, "macs", where);
  if (j.contains("meter")) m.meter = RequireString(j, "meter", where);
  m.idle_power_w = OptionalNonNegative(j, "idle_power_w", where);
  if (auto it = j.find("context"); it != j.end() && !it->is_null()) m.context = *it;
  if (m.context.is_object()) {
    if (auto it = m.context.find("output_shape"); it != m.context.end()) {
      bool ok = it->is_array();
      if (ok)
        for (const auto& d : *it) ok = ok && d.is_number_integer() && d.get<std::int64_t>() >= 1;
      if (!ok)
        throw std::runtime_error(
            fmt::format("{}: field 'context.output_shape' must hold positive integers, got {}",
                        where, it->dump()));
    }
  }
  if (auto it = j.find("provenance"); it != j.end() && !it->is_null()) m.provenance = *it;
  return m;
}

std::vector<Measurement> ReadMeasurements(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open file", path));
  return ReadMeasurements(in, path);
}

std::vector<Measurement> ReadMeasurements(std::istream& in, const std::string& path) {
  std::vector<Measurement> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = fmt::format("{}:{}", path, n);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e999
      throw std::runtime_error(fmt::format("{}: invalid JSON: {}", where, e.what()));
    }
    out.push_back(MeasurementFromJson(j, where));
  }
  if (in.bad()) throw std::runtime_error(fmt::format("{}: read error", path));
  return out;
}

std::vector<Measurement> ReadMeasurementFiles(const std::vector<std::string>& paths) {
  std::vector<Measurement> all;
  for (const auto& p : paths) {
    auto r = ReadMeasurements(p);
    all.insert(all.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
  }
  return all;
}

std::optional<double> OtherCpusBusy(const Measurement& m) {
  const auto protocol = m.context.find("protocol");
  if (protocol == m.context.end() || !protocol->is_object()) return std::nullopt;
  const auto busy = protocol->find("other_cpus_busy");
  if (busy == protocol->end() || !busy->is_number()) return std::nullopt;
  return busy->get<double>();
}

std::string RecordHeap(const Measurement& m) {
  if (!m.context.is_object()) return "default";
  const auto heap = m.context.find("heap");
  return heap != m.context.end() && heap->is_string() ? heap->get<std::string>() : "default";
}

std::optional<double> FreshPageSeconds(const Measurement& m) {
  if (const std::string heap = RecordHeap(m); heap != "keep" && heap != "reserve") {
    return std::nullopt;
  }
  const auto protocol = m.context.find("protocol");
  if (protocol == m.context.end() || !protocol->is_object()) return std::nullopt;
  const auto faults = protocol->find("faults_per_run");
  if (faults == protocol->end() || !faults->is_number()) return std::nullopt;
  const double n = faults->get<double>();
  if (!(n > 0)) return std::isfinite(n) ? std::optional<double>(0.0) : std::nullopt;
  if (!m.hardware.is_object()) return std::nullopt;
  const auto page = m.hardware.find("fresh_page_us");
  if (page == m.hardware.end() || !page->is_number()) return std::nullopt;
  const double s = n * page->get<double>() * 1e-6;
  if (!(s >= 0) || !std::isfinite(s)) return std::nullopt;
  return s;
}

Measurement WithoutFreshPageTime(const Measurement& m) {
  const std::optional<double> fresh = FreshPageSeconds(m);
  if (!fresh || !(*fresh > 0) || !(*fresh < m.duration_s)) return m;
  Measurement out = m;
  const double f = (m.duration_s - *fresh) / m.duration_s;
  out.duration_s = m.duration_s - *fresh;
  if (out.duration_s_std) *out.duration_s_std *= f;
  if (out.energy_j) *out.energy_j *= f;
  if (out.energy_j_std) *out.energy_j_std *= f;
  nlohmann::json& protocol = out.context["protocol"];
  protocol["faults_per_run"] = 0.0;
  protocol["fresh_page_s_removed"] = *fresh;
  return out;
}

LayerInstance LayerOf(const Measurement& m) {
  LayerInstance l;
  l.type = m.type;
  l.params = m.params;
  l.input_shape = m.input_shape;
  // Shapes the reader checked (or the collector wrote): context.output_shape, per sample.
  if (m.context.is_object())
    if (auto it = m.context.find("output_shape"); it != m.context.end() && it->is_array())
      l.output_shape = it->get<Shape>();
  return l;
}

void WriteMeasurement(std::ostream& out, const Measurement& m) {
  // replace: a non-UTF-8 path in provenance must not fail the write
  out << ToJson(m).dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  out.flush();
}

double TargetValue(const Measurement& m, const std::string& target) {
  if (target == "energy_j") {
    if (!m.energy_j) throw std::runtime_error("record has no energy_j (measured without a meter)");
    return *m.energy_j;
  }
  if (target == "time_s") return m.duration_s;
  throw std::runtime_error(
      fmt::format("unknown target '{}' (expected energy_j or time_s)", target));
}

}  // namespace joulecast
