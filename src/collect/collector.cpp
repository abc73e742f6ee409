#include "joulecast/collect/collector.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "joulecast/arch/shape_inference.h"
#include "joulecast/features/macs.h"
#include "joulecast/predict/hardware.h"

namespace joulecast {
namespace {

using nlohmann::json;

std::string Timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

double Macs(const CollectConfig& c) {
  if (!c.plan.is_null()) return c.plan.value("macs", 0.0);
  if (c.architecture.is_null()) return CountLayer(c.layer, c.batch_size).macs;
  double macs = 0;
  const Architecture arch = ParseArchitecture(c.architecture, c.layer.type);
  for (const LayerInstance& op : InferOperations(arch)) macs += CountLayer(op, c.batch_size).macs;
  return macs;
}

std::string Label(const CollectConfig& c) {
  return c.layer.type + " b" + std::to_string(c.batch_size) + " " +
         FormatShape(c.layer.input_shape);
}

// A lone in-place layer cannot run backward on an input that requires grad (autograd forbids
// in-place ops on leaves), so train_step measures it out of place and says so.
json EffectiveParams(const CollectConfig& c, const CollectSettings& s) {
  json p = c.layer.params.is_object() ? c.layer.params : json::object();
  if (s.mode != "forward" && c.architecture.is_null() && c.plan.is_null() &&
      p.value("inplace", false)) {
    p["inplace"] = false;
  }
  return p;
}

}  // namespace

std::vector<CollectConfig> DistinctConfigs(std::vector<CollectConfig> configs,
                                           const CollectSettings& settings) {
  std::set<std::string> seen;
  std::vector<CollectConfig> out;
  out.reserve(configs.size());
  for (CollectConfig& c : configs) {
    if (seen.insert(ConfigKey(RecordSkeleton(c, settings))).second) out.push_back(std::move(c));
  }
  return out;
}

Measurement RecordSkeleton(const CollectConfig& c, const CollectSettings& s) {
  Measurement m;
  m.type = c.layer.type;
  m.params = EffectiveParams(c, s);
  m.batch_size = c.batch_size;
  m.input_shape = c.layer.input_shape;
  m.dtype = s.dtype;
  m.mode = s.mode;
  m.device = s.device;
  m.context = c.context.is_object() ? c.context : json::object();
  m.context["threads"] = s.threads;
  // What fit's LayerOf gives the layer back (io/measurement.h), so that a fit sees the features
  // a prediction sees.
  if (!c.layer.output_shape.empty()) m.context["output_shape"] = c.layer.output_shape;
  if (s.heap != HeapPolicy::kDefault) m.context["heap"] = HeapPolicyName(s.heap);
  if (m.params != c.layer.params && c.layer.params.is_object())
    m.context["inplace_requested"] = true;
  return m;
}

bool SettlesHeap(const CollectSettings& s) {
  return s.heap != HeapPolicy::kDefault && KeepPolicyTakesEffect();
}

json MakeRequest(const CollectConfig& c, const CollectSettings& s) {
  json r = {{"batch_size", c.batch_size},
            {"device", s.device},
            {"dtype", s.dtype},
            {"mode", s.mode},
            {"threads", s.threads},
            {"min_seconds", s.min_seconds},
            {"min_repetitions", s.min_repetitions},
            {"warmup_seconds", s.warmup_seconds},
            // Waiting for the heap to settle means something only where the kept heap is in
            // force: glibc's default heap faults large blocks in on every run, and a sanitizer's
            // allocator holds freed memory back in quarantine.
            {"settle_heap", SettlesHeap(s)},
            {"seed", s.seed}};
  if (!c.plan.is_null()) {
    r["graph"] = c.plan;
  } else if (c.architecture.is_null()) {
    r["layer"] = {{"type", c.layer.type},
                  {"params", EffectiveParams(c, s)},
                  {"input_shape", c.layer.input_shape}};
  } else {
    r["architecture"] = c.architecture;
  }
  return r;
}

json DescribeHost(const std::string& cpuinfo) {
  json h = json::object();
  std::ifstream in(cpuinfo);
  std::string line;
  std::set<std::string> cores;  // "physical id/core id" pairs
  std::map<std::string, std::string> first;  // each key's first value: the first processor's
  std::string physical;
  int logical = 0;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (key == "processor") ++logical;
    if (key == "model name" && !h.contains("cpu")) h["cpu"] = value;
    // The ISA extensions kernels dispatch on (predict/hardware.h): what tells two machines of
    // one model name apart, and whether bfloat16 runs natively.
    if ((key == "flags" || key == "Features") && !h.contains("isa_flags"))
      h["isa_flags"] = RelevantIsaFlags(value);
    if (key == "physical id") physical = value;
    if (key == "core id") cores.insert(physical + "/" + value);
    first.emplace(key, value);
  }
  if (logical > 0) h["logical_cpus"] = logical;
  if (const std::string id = CpuIdentity(first); !id.empty()) h["cpu_id"] = id;
  if (!cores.empty()) h["physical_cores"] = cores.size();
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) h["memory_gib"] = double(pages) * double(page) / (1 << 30);
  struct utsname u;
  if (uname(&u) == 0) h["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  return h;
}

double FreshPageMicroseconds() {
  constexpr std::size_t kBytes = std::size_t{16} << 20;
  std::vector<double> rounds;
  for (int round = 0; round < 3; ++round) {
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1.0;
    const auto start = std::chrono::steady_clock::now();
    const std::size_t pages = TouchEachPage(p, kBytes);
    const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    munmap(p, kBytes);
    if (pages == 0) return -1.0;
    rounds.push_back(took.count() / static_cast<double>(pages));
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[1];
}

CollectStats RunCollection(const CollectRun& run) {
  CollectStats st;
  const auto& configs = *run.configs;
  st.total = static_cast<std::int64_t>(configs.size());
  for (std::int64_t i = 0; i < st.total; ++i) {
    if (run.settings.shard.Owns(i)) ++st.in_shard;
  }
  const std::function<CpuTimes()> read_cpu_times =
      run.cpu_times ? run.cpu_times : [] { return ReadCpuTimes(); };
  ApplyHeapPolicy(run.settings.heap);
  for (std::int64_t i = 0; i < st.total; ++i) {
    if (!run.settings.shard.Owns(i)) continue;
    const CollectConfig& c = configs[static_cast<std::size_t>(i)];
    Measurement m = RecordSkeleton(c, run.settings);
    if (run.store->Done(ConfigKey(m))) {
      ++st.skipped;
      if (run.progress) run.progress->Skipped();
      continue;
    }
    if (StopRequest::Requested()) {
      st.interrupted = true;
      break;
    }
    RunResult r;
    double joules = 0;
    const CpuTimes cpu_before = read_cpu_times();
    const auto wall0 = std::chrono::steady_clock::now();
    try {
      r = run.measure(MakeRequest(c, run.settings), [&](int phase) {
        if (phase == 0) run.meter->Start();
        if (phase == 1) joules = run.meter->Stop();
      });
      if (r.samples_s.empty() || r.runs < 1) throw std::runtime_error("no timed runs");
    } catch (const std::exception& e) {
      ++st.failed;
      const std::string message = Label(c) + ": " + e.what();
      if (st.first_error.empty()) st.first_error = message;
      if (run.warn) run.warn(message);
      if (run.progress) run.progress->Measured(Label(c) + " (failed)");
      continue;
    }
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    const std::optional<CpuLoad> load = LoadBetween(cpu_before, read_cpu_times());
    const TimingSummary t = Summarize(r.samples_s);
    m.repetitions = static_cast<std::int64_t>(r.samples_s.size());
    m.duration_s = t.median_s;
    m.duration_s_std = t.std_s;
    if (run.meter->has_energy()) m.energy_j = joules / double(r.runs);
    m.meter = run.meter->name();
    m.idle_power_w = run.idle_power_w;
    m.macs = Macs(c);
    m.hardware = run.hardware;
    m.hardware["threads"] = r.threads;
    m.context["spread"] = {{"iqr_over_median", t.iqr_over_median},
                           {"q1_s", t.q1_s},
                           {"q3_s", t.q3_s},
                           {"min_s", t.min_s},
                           {"max_s", t.max_s},
                           {"mean_s", t.mean_s}};
    m.context["protocol"] = {{"aggregate", "median"},
                             {"runs", r.runs},
                             {"runs_per_sample", r.runs_per_sample},
                             {"warmup_runs", r.warmup_runs},
                             {"warmup_settled", r.warmup_settled},
                             {"faults_per_run", r.faults_per_run},
                             {"min_seconds", run.settings.min_seconds},
                             {"min_repetitions", run.settings.min_repetitions},
                             {"elapsed_s", r.elapsed_s},
                             {"wall_s", wall_s}};
    if (SettlesHeap(run.settings) && !r.warmup_settled) ++st.unsettled;
    if (load) {
      m.context["protocol"]["other_cpus_busy"] = load->other_cpus;
      m.context["protocol"]["steal_cpus"] = load->steal_cpus;
      if (load->other_cpus > run.disturbed_above && ++st.disturbed == 1 && run.warn) {
        run.warn(fmt::format(
            "{}: other processes kept {:.2f} CPUs busy while it was measured, so its time may "
            "be inflated (records say so in context.protocol.other_cpus_busy; later ones are "
            "counted, not named)",
            Label(c), load->other_cpus));
      }
    }
    m.provenance = {{"source", "joulecast collect"},
                    {"tool_version", JOULECAST_VERSION},
                    {"seed", run.settings.seed},
                    {"timestamp", Timestamp()},
                    {"shard", run.settings.shard.ToString()}};
    run.store->Append(m);
    ++st.measured;
    st.recorded_wall_s += wall_s;
    if (run.progress) run.progress->Measured(Label(c));
  }
  return st;
}

}  // namespace joulecast
