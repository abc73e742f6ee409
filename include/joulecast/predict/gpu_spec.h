// GPU specifications (data/hardware/gpus.json): vendor figures per NVIDIA GPU, each with its named
// source, used as the GPU features of the training-run estimator and by the baselines.
//
// Units: memory_gb in GB, memory_bandwidth_gbs in GB/s (1e9 bytes), l2_cache_mb in MB (2^20 bytes), tdp_w and power limits in W,
// boost_clock_mhz in MHz, fp32_tflops = 2 · cuda_cores · boost clock (peak, non-tensor),
// fp16_tflops = peak dense FP16 matrix rate with FP32 accumulate (Tensor Cores where present),
// absent for GPUs without an FP16 path.
//
// Names are matched after normalisation: lower case, every character other than a letter or a
// digit dropped, and a leading "nvidia" removed ("Tesla V100", "tesla-v100" and "teslav100" are
// one name). Each GPU is found by its name or any of its aliases.
//
// Errors (std::runtime_error):
//   Load/FromJson  "path: ..." for a missing file or invalid JSON; "path: gpus[3] (T4): field
//                  'tdp_w' must be a number > 0" for a missing or invalid field; a duplicate name
//                  or alias after normalisation: "path: 'v100' names both V100 PCIe 32GB and ..."
//   Find           "unknown GPU 'V10'; did you mean: V100 PCIe 32GB (V100), ...? (data/...)": the
//                  up to 5 names or aliases closest in edit distance (Levenshtein on the
//                  normalised names, at most max(2, length/3) edits, or containing the query),
//                  or the full list of names when none is close
//   CheckPowerLimit "power limit 90 W is outside the range of V100 PCIe 32GB (100-250 W)", or
//                  "(0-250 W; its lowest NVML limit is not in gpus.json)" when the minimum is
//                  unknown; a non-finite limit is refused the same way
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace joulecast {

struct GpuSpec {
  std::string name;
  std::vector<std::string> aliases;
  std::string architecture, chip, compute_capability, memory_type;
  int cuda_cores = 0, sms = 0, tensor_cores = 0;
  double memory_gb = 0, memory_bandwidth_gbs = 0, tdp_w = 0, boost_clock_mhz = 0;
  double fp32_tflops = 0;
  std::optional<double> fp16_tflops;
  std::optional<double> power_limit_min_w;
  std::optional<double> l2_cache_mb;  // MB (2^20 bytes); needed by the GPU operator model
  std::string source;

  // fp16_tflops when known, else fp32_tflops (a GPU without an FP16 path computes in FP32).
  double Fp16OrFp32() const { return fp16_tflops.value_or(fp32_tflops); }
  nlohmann::json ToJson() const;
};

// Lower case letters and digits only, a leading "nvidia" dropped.
std::string NormalizeGpuName(const std::string& name);
// Levenshtein distance (insertions, deletions, substitutions, each costing 1).
std::size_t EditDistance(const std::string& a, const std::string& b);

class GpuTable {
 public:
  static GpuTable FromJson(const nlohmann::json& j, const std::string& where);
  static GpuTable Load(const std::string& path);
  // data/hardware/gpus.json, found by FindDataFile (io/data_path.h).
  static GpuTable LoadDefault();

  const GpuSpec& Find(const std::string& name) const;
  const GpuSpec* TryFind(const std::string& name) const;
  const std::vector<GpuSpec>& gpus() const { return gpus_; }
  const std::string& path() const { return path_; }

 private:
  std::vector<GpuSpec> gpus_;
  std::string path_;
};

// Throws (see above) unless min (or 0, exclusive, when unknown) <= watts <= tdp_w.
void CheckPowerLimit(const GpuSpec& gpu, double watts);

}  // namespace joulecast
