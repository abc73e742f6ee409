#include "joulecast/collect/torch_runner.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/collect/repeatability.h"
#include "joulecast/collect/torch_runner_plugin.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

struct Text {
  char* text = nullptr;
  JoulecastRunnerFreeFn free_text;
  ~Text() {
    if (text) free_text(text);
  }
};

struct PhaseContext {
  const PhaseFn* phase;
  std::exception_ptr error;
};

extern "C" int CallPhase(void* context, int phase) {
  auto* c = static_cast<PhaseContext*>(context);
  try {
    if (*c->phase) (*c->phase)(phase);
    return 0;
  } catch (...) {
    c->error = std::current_exception();
    return 1;
  }
}

}  // namespace

TimingSummary Summarize(std::vector<double> s) {
  if (s.empty()) throw std::invalid_argument("Summarize: no samples");
  std::sort(s.begin(), s.end());
  TimingSummary t;
  t.min_s = s.front();
  t.max_s = s.back();
  t.median_s = Quantile(s, 0.5);
  t.q1_s = Quantile(s, 0.25);
  t.q3_s = Quantile(s, 0.75);
  double sum = 0;
  for (double v : s) sum += v;
  t.mean_s = sum / double(s.size());
  double ss = 0;
  for (double v : s) ss += (v - t.mean_s) * (v - t.mean_s);
  t.std_s = s.size() > 1 ? std::sqrt(ss / double(s.size() - 1)) : 0.0;
  t.iqr_over_median = t.median_s > 0 ? (t.q3_s - t.q1_s) / t.median_s : 0.0;
  return t;
}

std::string TorchRunnerPluginFileName() { return "libjoulecast_collect_torch.so"; }

TorchRunner TorchRunner::Load() { return Load(TorchScriptPluginDirectories()); }

TorchRunner TorchRunner::Load(const std::vector<std::string>& dirs) {
  std::string found, searched;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    const fs::path candidate = fs::path(dir) / TorchRunnerPluginFileName();
    searched += (searched.empty() ? "" : ", ") + dir;
    if (fs::is_regular_file(candidate, ec)) {
      found = candidate.string();
      break;
    }
  }
  if (found.empty()) {
    throw std::runtime_error(
        "collect needs the joulecast_collect_torch plugin (built when libtorch is found); not "
        "found in: " +
        (searched.empty() ? std::string("(no directory)") : searched));
  }
  static std::mutex mutex;
  static std::map<std::string, TorchRunner> loaded;
  const std::lock_guard<std::mutex> lock(mutex);
  if (auto it = loaded.find(found); it != loaded.end()) return it->second;
  // RTLD_GLOBAL is not needed: the plugin carries libtorch as its own dependency.
  void* handle = dlopen(found.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = dlerror();
    throw std::runtime_error("cannot load the collector plugin " + found + ": " +
                             (e ? e : "unknown error"));
  }
  auto version = reinterpret_cast<JoulecastRunnerAbiVersionFn>(
      dlsym(handle, JOULECAST_RUNNER_ABI_VERSION_SYMBOL));
  TorchRunner r;
  r.file_ = found;
  r.info_ = dlsym(handle, JOULECAST_RUNNER_INFO_SYMBOL);
  r.measure_ = dlsym(handle, JOULECAST_RUNNER_MEASURE_SYMBOL);
  r.free_ = dlsym(handle, JOULECAST_RUNNER_FREE_SYMBOL);
  if (!version || !r.info_ || !r.measure_ || !r.free_) {
    throw std::runtime_error(found + " is not a joulecast collector plugin (missing " +
                             JOULECAST_RUNNER_MEASURE_SYMBOL + " or its companions)");
  }
  if (version() != JOULECAST_RUNNER_ABI_VERSION) {
    throw std::runtime_error("collector plugin " + found + " has interface version " +
                             std::to_string(version()) + ", this joulecast needs " +
                             std::to_string(JOULECAST_RUNNER_ABI_VERSION) + " (rebuild it)");
  }
  loaded.emplace(found, r);
  return r;
}

nlohmann::json TorchRunner::Info() const {
  const auto free_text = reinterpret_cast<JoulecastRunnerFreeFn>(free_);
  Text out{nullptr, free_text}, error{nullptr, free_text};
  if (reinterpret_cast<JoulecastRunnerInfoFn>(info_)(&out.text, &error.text) != 0 || !out.text) {
    throw std::runtime_error(std::string("collector plugin: ") +
                             (error.text ? error.text : "info failed"));
  }
  return nlohmann::json::parse(out.text);
}

RunResult TorchRunner::Measure(const nlohmann::json& request, const PhaseFn& phase) const {
  const auto free_text = reinterpret_cast<JoulecastRunnerFreeFn>(free_);
  Text out{nullptr, free_text}, error{nullptr, free_text};
  PhaseContext context{&phase, nullptr};
  const std::string text = request.dump();
  const int status = reinterpret_cast<JoulecastRunnerMeasureFn>(measure_)(
      text.c_str(), CallPhase, &context, &out.text, &error.text);
  if (context.error) std::rethrow_exception(context.error);
  if (status != 0 || !out.text) {
    throw std::runtime_error(error.text ? error.text : "the collector plugin failed");
  }
  const nlohmann::json j = nlohmann::json::parse(out.text);
  RunResult r;
  r.samples_s = j.at("samples_s").get<std::vector<double>>();
  r.runs_per_sample = j.at("runs_per_sample").get<std::int64_t>();
  r.runs = j.at("runs").get<std::int64_t>();
  r.elapsed_s = j.at("elapsed_s").get<double>();
  r.warmup_runs = j.at("warmup_runs").get<std::int64_t>();
  r.warmup_settled = j.at("warmup_settled").get<bool>();
  r.faults_per_run = j.at("faults_per_run").get<double>();
  r.threads = j.at("threads").get<std::int64_t>();
  return r;
}

MeasureFn TorchRunner::AsMeasureFn() const {
  const TorchRunner self = *this;
  return [self](const nlohmann::json& request, const PhaseFn& phase) {
    return self.Measure(request, phase);
  };
}

}  // namespace joulecast
