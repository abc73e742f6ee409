#include "measuring.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "joulecast/collect/collector.h"

namespace joulecast::cli {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

namespace {

// The BLAS that libtorch's Linear layers end up in on Debian (update-alternatives), if any.
std::string BlasAlternative() {
  std::error_code ec;
  for (const char* link : {"/etc/alternatives/libblas.so.3-x86_64-linux-gnu",
                           "/etc/alternatives/libblas.so.3-aarch64-linux-gnu"}) {
    auto target = std::filesystem::read_symlink(link, ec);
    if (!ec) return target.string();
  }
  return "";
}

}  // namespace

std::unique_ptr<EnergyMeter> MeasuringMeter(const std::string& name, const std::string& device,
                                            bool quiet) {
  MeterPaths paths;
  paths.rapl_root = Env("JOULECAST_RAPL_ROOT", "/sys/class/powercap");
  paths.nvml_library = Env("JOULECAST_NVML_LIBRARY", "libnvidia-ml.so.1");
  std::string note;
  std::unique_ptr<EnergyMeter> meter = MakeMeter(name, device, paths, &note);
  if (!note.empty() && !quiet) std::cerr << "joulecast: note: " << note << "\n";
  return meter;
}

void AddHeapOption(CLI::App* cmd, std::string* heap) {
  cmd->add_option(
         "--heap", *heap,
         "How malloc treats freed memory while measuring: keep (mapped for reuse, as "
         "jemalloc does; the same run takes the same time), reserve (keep, and the heap grown to "
         "1.5 GiB of touched pages first, so that an operator's large tensors reuse "
         "pages as inside a network whose heap has grown) or default (glibc's own "
         "trimming, under which a network's time depends on the heap's history; records "
         "made before 2026-12-05 were, so a store of theirs resumes with default); "
         "JOULECAST_HEAP sets it too")
      ->envname("JOULECAST_HEAP")
      ->capture_default_str()
      ->check(CLI::IsMember({"keep", "reserve", "default"}));
}

nlohmann::json MeasuringHardware(const std::string& device, const TorchRunner& runner,
                                 const EnergyMeter& meter) {
  nlohmann::json h = DescribeHost();
  if (const double us = FreshPageMicroseconds(); us > 0) h["fresh_page_us"] = us;
  const nlohmann::json info = runner.Info();
  h["libtorch"] = info.value("libtorch", "");
  // The first line of at::get_parallel_info() names the backend; keep what matters.
  std::istringstream parallel(info.value("parallel", ""));
  std::string line;
  while (std::getline(parallel, line)) {
    if (line.find("ATen parallel backend") != std::string::npos ||
        line.find("MKL") != std::string::npos || line.find("OpenMP") != std::string::npos) {
      h["parallel"].push_back(line);
    }
  }
  std::istringstream config(info.value("config", ""));
  while (std::getline(config, line)) {
    if (line.find("BLAS_INFO") != std::string::npos ||
        line.find("LAPACK_INFO") != std::string::npos ||
        line.find("USE_MKLDNN") != std::string::npos) {
      h["torch_build"].push_back(line.substr(line.find_first_not_of(" -")));
    }
  }
  if (const std::string blas = BlasAlternative(); !blas.empty()) h["blas_library"] = blas;
  if (device == "cuda") {
    nlohmann::json gpu = DescribeNvmlGpu(Env("JOULECAST_NVML_LIBRARY", "libnvidia-ml.so.1"));
    for (auto& [k, v] : gpu.items()) h[k] = v;
  }
  h["meter"] = meter.Describe();
  h["meter"]["name"] = meter.name();
  return h;
}

}  // namespace joulecast::cli
