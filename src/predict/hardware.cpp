#include "joulecast/predict/hardware.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace joulecast {

const std::vector<std::string> kIsaFlags = {
    "amx_bf16",    "amx_fp16",    "amx_int8",    "amx_tile", "avx",      "avx2",
    "avx512_bf16", "avx512_fp16", "avx512_vnni", "avx512bw", "avx512dq", "avx512f",
    "avx512vl",    "avx_vnni",    "f16c",        "fma",      "neon",     "sse4_2"};

namespace {

using json = nlohmann::json;

const char* const kFingerprintKeys[] = {
    "cpu", "cpu_id", "isa_flags", "logical_cpus", "threads", "libtorch", "blas", "gpu", "driver"};

std::string Str(const json& hw, const char* key) {
  const auto it = hw.find(key);
  return it != hw.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int Count(const json& hw, const char* key) {
  const auto it = hw.find(key);
  if (it == hw.end() || !it->is_number_integer()) return 0;
  const auto v = it->get<long long>();
  return v > 0 && v < (1LL << 30) ? static_cast<int>(v) : 0;
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string Described(const std::string& cpu, int logical) {
  return logical > 0 ? fmt::format("{} ({} logical CPUs)", cpu, logical) : cpu;
}

// "<cpu> [<cpu_id>]", or the cpu alone when the identity is unknown.
std::string WithIdentity(const std::string& cpu, const std::string& cpu_id) {
  return cpu_id.empty() ? cpu : fmt::format("{} [{}]", cpu, cpu_id);
}

}  // namespace

std::string NormaliseCpuName(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : Trim(s)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::vector<std::string> RelevantIsaFlags(const std::string& flags) {
  std::istringstream in(flags);
  std::set<std::string> have;
  std::string f;
  while (in >> f) have.insert(f);
  std::vector<std::string> out;
  for (const auto& k : kIsaFlags)
    if (have.count(k)) out.push_back(k);
  return out;
}

json HardwareFingerprint::ToJson() const {
  json j = json::object();
  if (!cpu.empty()) j["cpu"] = cpu;
  if (!cpu_id.empty()) j["cpu_id"] = cpu_id;
  if (!isa_flags.empty()) j["isa_flags"] = isa_flags;
  if (logical_cpus > 0) j["logical_cpus"] = logical_cpus;
  if (threads > 0) j["threads"] = threads;
  if (!libtorch.empty()) j["libtorch"] = libtorch;
  if (!blas.empty()) j["blas"] = blas;
  if (!gpu.empty()) j["gpu"] = gpu;
  if (!driver.empty()) j["driver"] = driver;
  return j;
}

HardwareFingerprint HardwareFingerprint::FromJson(const json& j) { return FingerprintOf(j); }

bool HardwareFingerprint::operator==(const HardwareFingerprint& o) const {
  return cpu == o.cpu && cpu_id == o.cpu_id && isa_flags == o.isa_flags &&
         logical_cpus == o.logical_cpus && threads == o.threads && libtorch == o.libtorch &&
         blas == o.blas && gpu == o.gpu && driver == o.driver;
}

std::string CpuIdentity(const std::map<std::string, std::string>& values) {
  const auto get = [&](const char* k) {
    const auto it = values.find(k);
    return it == values.end() ? std::string() : it->second;
  };
  if (!get("cpu family").empty() && !get("model").empty()) {
    std::string id = fmt::format("family {} model {}", get("cpu family"), get("model"));
    if (!get("stepping").empty()) id += " stepping " + get("stepping");
    return id;
  }
  if (!get("CPU implementer").empty() && !get("CPU part").empty()) {
    return fmt::format("implementer {} part {} variant {} revision {}", get("CPU implementer"),
                       get("CPU part"), get("CPU variant"), get("CPU revision"));
  }
  return "";
}

HardwareFingerprint FingerprintFromCpuinfo(const std::string& path) {
  HardwareFingerprint fp;
  std::ifstream in(path);
  std::string line;
  std::map<std::string, std::string> first;  // each key's first value: the first processor's
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, colon));
    if (key == "processor") ++fp.logical_cpus;
    first.emplace(key, Trim(line.substr(colon + 1)));
  }
  if (const auto it = first.find("model name"); it != first.end())
    fp.cpu = NormaliseCpuName(it->second);
  for (const char* flags : {"flags", "Features"}) {  // x86 | arm64
    if (const auto it = first.find(flags); it != first.end()) {
      fp.isa_flags = RelevantIsaFlags(it->second);
      break;
    }
  }
  fp.cpu_id = CpuIdentity(first);
  return fp;
}

HardwareFingerprint HostFingerprint() {
  const char* root = std::getenv("JOULECAST_PROC_ROOT");
  return FingerprintFromCpuinfo(std::string(root && *root ? root : "/proc") + "/cpuinfo");
}

HardwareFingerprint FingerprintOf(const json& hw) {
  HardwareFingerprint fp;
  if (!hw.is_object()) return fp;
  fp.cpu = NormaliseCpuName(Str(hw, "cpu"));
  fp.cpu_id = Str(hw, "cpu_id");
  if (const auto it = hw.find("isa_flags"); it != hw.end() && it->is_array()) {
    std::string all;
    for (const auto& f : *it)
      if (f.is_string()) all += f.get<std::string>() + " ";
    fp.isa_flags = RelevantIsaFlags(all);
  } else if (const std::string flags = Str(hw, "flags"); !flags.empty()) {
    fp.isa_flags = RelevantIsaFlags(flags);
  }
  fp.logical_cpus = Count(hw, "logical_cpus");
  if (fp.logical_cpus == 0) fp.logical_cpus = Count(hw, "cpu_count");  // getzner2023 records
  fp.threads = Count(hw, "threads");
  fp.libtorch = Str(hw, "libtorch");
  fp.blas = Str(hw, "blas");
  if (fp.blas.empty()) fp.blas = Str(hw, "blas_library");
  fp.gpu = NormaliseCpuName(Str(hw, "gpu"));
  fp.driver = Str(hw, "driver");
  return fp;
}

namespace {

bool Unknown(int v) { return v == 0; }
template <typename T>
bool Unknown(const T& v) {
  return v.empty();
}

// Folds one record's field into the set's: unknown on either side is no conflict.
template <typename T>
void Merge(T* out, const T& field, bool* conflict) {
  if (Unknown(field)) return;
  if (Unknown(*out)) {
    *out = field;
  } else if (!(*out == field)) {
    *conflict = true;
  }
}

}  // namespace

HardwareFingerprint FingerprintFromMeasurements(const std::vector<const Measurement*>& records) {
  HardwareFingerprint out;
  bool first = true;
  bool conflict[7] = {false, false, false, false, false, false, false};
  for (const Measurement* m : records) {
    const HardwareFingerprint fp = FingerprintOf(m->hardware);
    const bool other_id = !fp.cpu_id.empty() && !out.cpu_id.empty() && fp.cpu_id != out.cpu_id;
    if (!fp.cpu.empty() && !out.cpu.empty() && (fp.cpu != out.cpu || other_id)) {
      throw std::runtime_error(fmt::format(
          "fit: the records were measured on different CPU models, '{}' and '{}'; measurements "
          "of different CPU models never go into one profile: fit each machine's records "
          "separately",
          fp.cpu == out.cpu ? WithIdentity(out.cpu, out.cpu_id) : out.cpu,
          fp.cpu == out.cpu ? WithIdentity(fp.cpu, fp.cpu_id) : fp.cpu));
    }
    if (first) {
      out = fp;
      first = false;
      continue;
    }
    if (out.cpu.empty()) out.cpu = fp.cpu;
    if (out.cpu_id.empty()) out.cpu_id = fp.cpu_id;
    // A field a record does not state says nothing; one that records state differently is
    // unknown (and stays unknown).
    Merge(&out.isa_flags, fp.isa_flags, &conflict[0]);
    Merge(&out.logical_cpus, fp.logical_cpus, &conflict[1]);
    Merge(&out.threads, fp.threads, &conflict[2]);
    Merge(&out.libtorch, fp.libtorch, &conflict[3]);
    Merge(&out.blas, fp.blas, &conflict[4]);
    Merge(&out.gpu, fp.gpu, &conflict[5]);
    Merge(&out.driver, fp.driver, &conflict[6]);
  }
  if (conflict[0]) out.isa_flags.clear();
  if (conflict[1]) out.logical_cpus = 0;
  if (conflict[2]) out.threads = 0;
  if (conflict[3]) out.libtorch.clear();
  if (conflict[4]) out.blas.clear();
  if (conflict[5]) out.gpu.clear();
  if (conflict[6]) out.driver.clear();
  return out;
}

HardwareFingerprint FingerprintFromMeasurements(const std::vector<Measurement>& records) {
  std::vector<const Measurement*> p;
  p.reserve(records.size());
  for (const auto& m : records) p.push_back(&m);
  return FingerprintFromMeasurements(p);
}

json WithFingerprint(json hardware, const HardwareFingerprint& fp) {
  if (!hardware.is_object()) hardware = json::object();
  const json keys = fp.ToJson();
  for (const char* k : kFingerprintKeys) {
    if (keys.contains(k)) {
      hardware[k] = keys[k];
    } else {
      hardware.erase(k);
    }
  }
  return hardware;
}

std::optional<std::string> HardwareMismatch(const Profile& profile,
                                            const HardwareFingerprint& host) {
  if (profile.target != "time_s" && profile.target != "energy_j") return std::nullopt;
  const HardwareFingerprint p = FingerprintOf(profile.hardware);
  if (p.cpu.empty() || !p.gpu.empty() || host.cpu.empty()) return std::nullopt;
  const bool ids_known = !p.cpu_id.empty() && !host.cpu_id.empty();
  const bool same_cpu = p.cpu == host.cpu && (!ids_known || p.cpu_id == host.cpu_id);
  const bool same_count =
      p.logical_cpus == 0 || host.logical_cpus == 0 || p.logical_cpus == host.logical_cpus;
  if (same_cpu && same_count) return std::nullopt;
  // One model string on both sides: the identities say what differs.
  const bool show_ids = ids_known && p.cpu == host.cpu && p.cpu_id != host.cpu_id;
  return fmt::format(
      "profile {} was measured on {}, this machine is {}; its predictions do not describe this "
      "machine \u2014 calibrate or fit a profile here",
      profile.name, Described(show_ids ? WithIdentity(p.cpu, p.cpu_id) : p.cpu, p.logical_cpus),
      Described(show_ids ? WithIdentity(host.cpu, host.cpu_id) : host.cpu, host.logical_cpus));
}

std::optional<std::string> NonNativeDtypeNote(const std::string& dtype,
                                              const HardwareFingerprint& host) {
  std::vector<std::string> native;
  if (dtype == "bfloat16") native = {"avx512_bf16", "amx_bf16"};
  if (dtype == "float16") native = {"avx512_fp16", "amx_fp16"};
  const auto has = [&host](const std::string& flag) {
    return std::find(host.isa_flags.begin(), host.isa_flags.end(), flag) != host.isa_flags.end();
  };
  // Other architectures name their half-precision extensions otherwise; say nothing there.
  if (native.empty() || !(has("avx") || has("sse4_2"))) return std::nullopt;
  if (has(native[0]) || has(native[1])) return std::nullopt;
  return fmt::format(
      "this CPU, {}, has no native {} arithmetic (neither {} nor {} among its cpuinfo flags): "
      "libtorch converts to float32 and back around each operation, so {} times measured here "
      "describe that emulation, not {} hardware",
      WithIdentity(host.cpu.empty() ? "of unknown model" : host.cpu, host.cpu_id), dtype, native[0],
      native[1], dtype, dtype);
}

}  // namespace joulecast
