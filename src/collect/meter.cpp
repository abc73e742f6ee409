#include "joulecast/collect/meter.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace joulecast {
namespace {

namespace fs = std::filesystem;

bool ReadNumber(const std::string& file, double* out) {
  std::ifstream in(file);
  long double v = 0;
  if (!(in >> v)) return false;
  *out = static_cast<double>(v);
  return true;
}

std::string ReadLine(const std::string& file) {
  std::ifstream in(file);
  std::string s;
  std::getline(in, s);
  return s;
}

bool IsZone(const std::string& dir_name, int depth) {
  // "intel-rapl:0" (depth 1) or "intel-rapl:0:1" (depth 2).
  const std::string prefix = "intel-rapl:";
  if (dir_name.rfind(prefix, 0) != 0) return false;
  return static_cast<int>(std::count(dir_name.begin(), dir_name.end(), ':')) == depth;
}

// NVML's C interface, as far as joulecast uses it.
using NvmlReturn = int;
constexpr NvmlReturn kNvmlSuccess = 0;
using NvmlDevice = void*;

}  // namespace

// ----------------------------------------------------------------------------------------- RAPL

RaplMeter::RaplMeter(const std::string& root) {
  std::error_code ec;
  std::vector<fs::path> packages;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (IsZone(e.path().filename().string(), 1)) packages.push_back(e.path());
  }
  std::sort(packages.begin(), packages.end());
  std::string unreadable;
  auto add = [&](const fs::path& zone) {
    Domain d;
    d.name = ReadLine((zone / "name").string());
    d.energy_file = (zone / "energy_uj").string();
    double probe = 0;
    if (!ReadNumber(d.energy_file, &probe) ||
        !ReadNumber((zone / "max_energy_range_uj").string(), &d.max_range_uj)) {
      unreadable = d.energy_file;
      return;
    }
    domains_.push_back(d);
  };
  for (const fs::path& pkg : packages) {
    if (ReadLine((pkg / "name").string()) == "psys") continue;  // platform: overlaps the package
    add(pkg);
    std::vector<fs::path> subs;
    for (const auto& e : fs::directory_iterator(pkg, ec)) {
      if (IsZone(e.path().filename().string(), 2) &&
          ReadLine((e.path() / "name").string()) == "dram") {
        subs.push_back(e.path());
      }
    }
    std::sort(subs.begin(), subs.end());
    for (const auto& s : subs) add(s);
  }
  if (domains_.empty()) {
    throw std::runtime_error(
        "--meter rapl: no readable RAPL counter under " + root +
        (unreadable.empty() ? std::string(" (no intel-rapl:N zone)")
                            : " (" + unreadable + " is not readable; Linux >= 5.10 needs root)"));
  }
}

void RaplMeter::Start() {
  for (Domain& d : domains_) {
    if (!ReadNumber(d.energy_file, &d.start_uj)) {
      throw std::runtime_error("rapl: cannot read " + d.energy_file);
    }
  }
}

double RaplMeter::Stop() {
  double total_uj = 0;
  for (const Domain& d : domains_) {
    double now = 0;
    if (!ReadNumber(d.energy_file, &now)) {
      throw std::runtime_error("rapl: cannot read " + d.energy_file);
    }
    double delta = now - d.start_uj;
    if (delta < 0) delta += d.max_range_uj;  // the counter wrapped once
    total_uj += delta;
  }
  return total_uj * 1e-6;
}

nlohmann::json RaplMeter::Describe() const {
  nlohmann::json names = nlohmann::json::array();
  for (const Domain& d : domains_) names.push_back(d.name);
  return {{"domains", names}};
}

// ----------------------------------------------------------------------------------------- NVML

struct NvmlMeter::Api {
  void* lib = nullptr;
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*handle_by_index)(unsigned, NvmlDevice*) = nullptr;
  NvmlReturn (*total_energy)(NvmlDevice, unsigned long long*) = nullptr;
  NvmlReturn (*power_usage)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*get_name)(NvmlDevice, char*, unsigned) = nullptr;
  NvmlReturn (*driver_version)(char*, unsigned) = nullptr;
  bool initialised = false;
};

namespace {

template <typename Fn>
void Resolve(void* lib, const char* symbol, Fn* out, const std::string& library, bool required) {
  *out = reinterpret_cast<Fn>(dlsym(lib, symbol));
  if (*out == nullptr && required) {
    throw std::runtime_error("--meter nvml: " + library + " lacks " + symbol);
  }
}

}  // namespace

NvmlMeter::NvmlMeter(const std::string& library, unsigned index, double sample_interval_s,
                     bool force_power_sampling)
    : api_(std::make_unique<Api>()), sample_interval_s_(sample_interval_s) {
  Api& a = *api_;
  a.lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (a.lib == nullptr) {
    const char* e = dlerror();
    throw std::runtime_error("--meter nvml: cannot load " + library + ": " +
                             (e ? e : "unknown error"));
  }
  try {
    Resolve(a.lib, "nvmlInit_v2", &a.init, library, true);
    Resolve(a.lib, "nvmlShutdown", &a.shutdown, library, true);
    Resolve(a.lib, "nvmlDeviceGetHandleByIndex_v2", &a.handle_by_index, library, true);
    Resolve(a.lib, "nvmlDeviceGetTotalEnergyConsumption", &a.total_energy, library, false);
    Resolve(a.lib, "nvmlDeviceGetPowerUsage", &a.power_usage, library, false);
    Resolve(a.lib, "nvmlDeviceGetName", &a.get_name, library, false);
    Resolve(a.lib, "nvmlSystemGetDriverVersion", &a.driver_version, library, false);
    if (NvmlReturn r = a.init(); r != kNvmlSuccess) {
      throw std::runtime_error("--meter nvml: nvmlInit_v2 failed (error " + std::to_string(r) +
                               ")");
    }
    a.initialised = true;
    if (NvmlReturn r = a.handle_by_index(index, &device_); r != kNvmlSuccess) {
      throw std::runtime_error("--meter nvml: no GPU " + std::to_string(index) + " (error " +
                               std::to_string(r) + ")");
    }
    char buffer[256] = {0};
    if (a.get_name && a.get_name(device_, buffer, sizeof buffer) == kNvmlSuccess) {
      gpu_name_ = buffer;
    }
    buffer[0] = 0;
    if (a.driver_version && a.driver_version(buffer, sizeof buffer) == kNvmlSuccess) {
      driver_ = buffer;
    }
    unsigned long long mj = 0;
    energy_counter_ = !force_power_sampling && a.total_energy &&
                      a.total_energy(device_, &mj) == kNvmlSuccess;
    if (!energy_counter_) {
      unsigned mw = 0;
      NvmlReturn r = a.power_usage ? a.power_usage(device_, &mw) : -1;
      if (r != kNvmlSuccess) {
        throw std::runtime_error("--meter nvml: nvmlDeviceGetPowerUsage failed (error " +
                                 std::to_string(r) + ") and no energy counter");
      }
    }
  } catch (...) {
    if (a.initialised) a.shutdown();
    dlclose(a.lib);
    throw;
  }
}

NvmlMeter::~NvmlMeter() {
  if (sampler_.joinable()) {
    sampling_ = false;
    sampler_.join();
  }
  if (api_->initialised) api_->shutdown();
  // The library stays loaded: NVML may keep threads of its own.
}

void NvmlMeter::Start() {
  Api& a = *api_;
  if (energy_counter_) {
    NvmlReturn r = a.total_energy(device_, &start_mj_);
    if (r != kNvmlSuccess) {
      throw std::runtime_error("nvml: nvmlDeviceGetTotalEnergyConsumption failed (error " +
                               std::to_string(r) + ")");
    }
    return;
  }
  if (sampler_.joinable()) {
    sampling_ = false;
    sampler_.join();
  }
  sampled_j_ = 0;
  sample_error_.clear();
  sampling_ = true;
  sampler_ = std::thread([this] {
    using Clock = std::chrono::steady_clock;
    const auto interval = std::chrono::duration<double>(sample_interval_s_);
    unsigned mw = 0;
    if (api_->power_usage(device_, &mw) != kNvmlSuccess) {
      sample_error_ = "nvml: nvmlDeviceGetPowerUsage failed";
      return;
    }
    double last_w = mw * 1e-3;
    auto last_t = Clock::now();
    for (;;) {
      const bool more = sampling_.load();
      if (more) std::this_thread::sleep_for(interval);
      if (api_->power_usage(device_, &mw) != kNvmlSuccess) {
        sample_error_ = "nvml: nvmlDeviceGetPowerUsage failed";
        return;
      }
      const auto now = Clock::now();
      const double w = mw * 1e-3;
      sampled_j_ += 0.5 * (w + last_w) * std::chrono::duration<double>(now - last_t).count();
      last_w = w;
      last_t = now;
      if (!more) return;
    }
  });
}

double NvmlMeter::Stop() {
  if (energy_counter_) {
    unsigned long long now = 0;
    NvmlReturn r = api_->total_energy(device_, &now);
    if (r != kNvmlSuccess) {
      throw std::runtime_error("nvml: nvmlDeviceGetTotalEnergyConsumption failed (error " +
                               std::to_string(r) + ")");
    }
    return static_cast<double>(now - start_mj_) * 1e-3;
  }
  if (!sampler_.joinable()) throw std::runtime_error("nvml: Stop() without Start()");
  sampling_ = false;
  sampler_.join();
  if (!sample_error_.empty()) throw std::runtime_error(sample_error_);
  return sampled_j_;
}

nlohmann::json NvmlMeter::Describe() const {
  return {{"gpu", gpu_name_},
          {"driver", driver_},
          {"method", energy_counter_ ? "nvmlDeviceGetTotalEnergyConsumption"
                                     : "nvmlDeviceGetPowerUsage sampling"}};
}

// ------------------------------------------------------------------------------------- factory

std::unique_ptr<EnergyMeter> MakeMeter(const std::string& spec, const std::string& device,
                                       const MeterPaths& paths, std::string* note) {
  if (spec == "none") return std::make_unique<NoMeter>();
  if (spec == "rapl") return std::make_unique<RaplMeter>(paths.rapl_root);
  if (spec == "nvml") return std::make_unique<NvmlMeter>(paths.nvml_library, paths.gpu_index);
  if (spec != "auto") {
    throw std::invalid_argument("--meter: expected auto, rapl, nvml or none, got '" + spec + "'");
  }
  try {
    if (device == "cuda") return std::make_unique<NvmlMeter>(paths.nvml_library, paths.gpu_index);
    return std::make_unique<RaplMeter>(paths.rapl_root);
  } catch (const std::exception& e) {
    if (note) *note = std::string(e.what()) + "; measuring time only";
    return std::make_unique<NoMeter>();
  }
}

std::optional<double> MeasureIdlePower(EnergyMeter& meter, double seconds) {
  if (!meter.has_energy() || seconds <= 0) return std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  meter.Start();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double joules = meter.Stop();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return joules / elapsed;
}

nlohmann::json DescribeNvmlGpu(const std::string& library, unsigned index) {
  try {
    NvmlMeter m(library, index, 0.02, /*force_power_sampling=*/false);
    return {{"gpu", m.gpu_name()}, {"driver", m.driver()}};
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

}  // namespace joulecast
