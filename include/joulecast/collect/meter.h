// Energy meters behind one interface: Start() ... Stop() gives the joules the metered domain used
// in between (whole-domain energy, not only the process's; idle power is measured separately so
// that dynamic energy = energy - idle_power_w * seconds can be derived).
//
//   rapl        Linux powercap (RAPL, Intel and AMD): package zones <root>/intel-rapl:N/energy_uj
//               (names "package-N") plus their "dram" subzones where present; psys and core/uncore
//               subzones are skipped (they overlap the package). Counters are in microjoules and
//               wrap at max_energy_range_uj; one wrap between Start and Stop is undone (minutes
//               to hours at real power). Reading energy_uj needs root on Linux >= 5.10.
//   nvml        NVIDIA NVML loaded at run time with dlopen (never linked): the total-energy
//               counter nvmlDeviceGetTotalEnergyConsumption (millijoules, Volta and later).
//   nvml-power  the same library where that counter is missing: a thread samples
//               nvmlDeviceGetPowerUsage (milliwatts) every `sample_interval_s` and integrates
//               (trapezoids over steady-clock time).
//   none        no counter: Stop() returns 0 and has_energy() is false; records state
//               meter "none" and energy_j null (time only).
//
// Errors (std::runtime_error) are one line naming the option and what is missing, e.g.
//   "--meter rapl: no readable RAPL counter under /sys/class/powercap (...)"
//   "--meter nvml: cannot load libnvidia-ml.so.1: <dlerror>"
//   "--meter nvml: nvmlDeviceGetPowerUsage failed (error 3) and no energy counter"
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace joulecast {

class EnergyMeter {
 public:
  virtual ~EnergyMeter() = default;
  virtual std::string name() const = 0;  // "rapl", "nvml", "nvml-power", "none"
  virtual bool has_energy() const = 0;
  virtual void Start() = 0;
  // Joules since Start(); 0 for "none". Throws on a read error.
  virtual double Stop() = 0;
  // What is metered, e.g. {"domains": ["package-0", "dram"]} or {"gpu": "...", "driver": "..."}.
  virtual nlohmann::json Describe() const { return nlohmann::json::object(); }
};

class NoMeter : public EnergyMeter {
 public:
  std::string name() const override { return "none"; }
  bool has_energy() const override { return false; }
  void Start() override {}
  double Stop() override { return 0; }
};

class RaplMeter : public EnergyMeter {
 public:
  // Scans `root` (a powercap directory). Throws if no readable package counter is found.
  explicit RaplMeter(const std::string& root = "/sys/class/powercap");
  std::string name() const override { return "rapl"; }
  bool has_energy() const override { return true; }
  void Start() override;
  double Stop() override;
  nlohmann::json Describe() const override;

  struct Domain {
    std::string name;  // "package-0", "dram"
    std::string energy_file;
    double max_range_uj = 0;  // wrap-around period of the counter
    double start_uj = 0;
  };
  const std::vector<Domain>& domains() const { return domains_; }

 private:
  std::vector<Domain> domains_;
};

class NvmlMeter : public EnergyMeter {
 public:
  // Loads `library` (a path or a soname for dlopen), initialises NVML and opens GPU `index`.
  // force_power_sampling: use nvmlDeviceGetPowerUsage even when the energy counter works.
  explicit NvmlMeter(const std::string& library = "libnvidia-ml.so.1", unsigned index = 0,
                     double sample_interval_s = 0.02, bool force_power_sampling = false);
  ~NvmlMeter() override;
  std::string name() const override { return energy_counter_ ? "nvml" : "nvml-power"; }
  bool has_energy() const override { return true; }
  void Start() override;
  double Stop() override;
  nlohmann::json Describe() const override;

  const std::string& gpu_name() const { return gpu_name_; }
  const std::string& driver() const { return driver_; }

 private:
  struct Api;
  std::unique_ptr<Api> api_;
  void* device_ = nullptr;
  bool energy_counter_ = false;
  double sample_interval_s_;
  unsigned long long start_mj_ = 0;
  std::string gpu_name_, driver_;
  std::thread sampler_;
  std::atomic<bool> sampling_{false};
  double sampled_j_ = 0;
  std::string sample_error_;
};

// Where the meters look; tests point these at fakes.
struct MeterPaths {
  std::string rapl_root = "/sys/class/powercap";
  std::string nvml_library = "libnvidia-ml.so.1";
  unsigned gpu_index = 0;
};

// `spec`: "auto" (device "cuda": nvml if it loads, else none; "cpu": rapl if readable, else none),
// "rapl", "nvml" or "none". An explicit meter that is unavailable throws; "auto" never does and
// reports why it fell back through `note` (may be null).
std::unique_ptr<EnergyMeter> MakeMeter(const std::string& spec, const std::string& device,
                                       const MeterPaths& paths = {}, std::string* note = nullptr);

// Average power in watts over `seconds` of sleeping; nullopt for a meter without energy.
std::optional<double> MeasureIdlePower(EnergyMeter& meter, double seconds);

// {"gpu": name, "driver": version} of GPU `index` through NVML, or an empty object when NVML is
// not available. Never throws.
nlohmann::json DescribeNvmlGpu(const std::string& library = "libnvidia-ml.so.1",
                               unsigned index = 0);

}  // namespace joulecast
