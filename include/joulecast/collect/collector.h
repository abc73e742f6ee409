// The collection loop: for each configuration of this shard that the store does not hold yet,
// measure it (MeasureFn: the libtorch plugin, or a fake in tests) with the energy meter spanning
// the timed runs, and append one measurement record.
//
// Record written per configuration (io/measurement.h), per run = one forward pass of the batch or
// one training step:
//   duration_s       median seconds per run over the timed samples; duration_s_std their sample
//                    standard deviation; repetitions = number of samples
//   energy_j         meter joules over the timed phase / timed runs (gross: the whole metered
//                    domain); null with meter "none"; idle_power_w measured once per run of the
//                    collector when a meter exists (dynamic energy = energy_j - idle_power_w *
//                    duration_s)
//   macs             ptflops MACs of the batch (summed over operations for whole networks)
//   context          the configuration's origin plus "threads" (requested; part of the store key),
//                    "heap": "keep" or "reserve" under those policies (part of the store key;
//                    absent: glibc's default heap, as in records before the policy existed),
//                    "spread" {"iqr_over_median", "q1_s", "q3_s", "min_s", "max_s", "mean_s"},
//                    "protocol" {"aggregate": "median", "runs", "runs_per_sample", "warmup_runs",
//                    "warmup_settled" (false: the last warm-up runs still faulted fresh pages in;
//                    with SettlesHeap the warm-up waited for them up to its cap),
//                    "faults_per_run" (minor page faults over the timed runs / runs; records
//                    before 2026-12-06 lack both),
//                    "min_seconds", "min_repetitions", "elapsed_s" (warm-up and timed runs),
//                    "wall_s" (the whole configuration: building the module and its inputs
//                    too), and where /proc can be
//                    read "other_cpus_busy" and "steal_cpus" (collect/cpu_load.h: how many
//                    CPUs other processes and other guests kept busy meanwhile)}; whole networks
//                    also "architecture": name (so that fit skips them and evaluate uses them)
//   hardware         DescribeHost() + libtorch description + meter description + threads used
//   provenance       {"source": "joulecast collect", "tool_version", "seed", "timestamp", "shard"}
// A configuration that fails (unsupported dtype on the device, out of memory) is reported through
// `warn`, counted, and not recorded, so that a re-run retries it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/collect/config_sampler.h"
#include "joulecast/collect/cpu_load.h"
#include "joulecast/collect/heap.h"
#include "joulecast/collect/meter.h"
#include "joulecast/collect/progress.h"
#include "joulecast/collect/shard.h"
#include "joulecast/collect/store.h"
#include "joulecast/collect/torch_runner.h"
#include "joulecast/io/measurement.h"

namespace joulecast {

struct CollectSettings {
  std::string device = "cpu";      // cpu | cuda
  std::string dtype = "float32";   // float32 | float16 | bfloat16
  std::string mode = "forward";    // forward | train_step
  std::int64_t threads = 1;        // intra-op threads of libtorch
  double min_seconds = 1.0;        // timed phase per configuration, at least
  std::int64_t min_repetitions = 5;
  double warmup_seconds = 0.2;
  std::uint64_t seed = 0;
  // Applied by RunCollection before the first measurement (collect/heap.h); a record names the
  // policy in its context ("heap": "keep" or "reserve", part of its store key), one of kDefault
  // says nothing.
  HeapPolicy heap = HeapPolicy::kKeep;
  Shard shard;
};

struct CollectStats {
  std::int64_t total = 0;      // configurations in the campaign
  std::int64_t in_shard = 0;   // of them, in this shard
  std::int64_t skipped = 0;    // already in the store
  std::int64_t measured = 0;   // recorded now
  std::int64_t failed = 0;     // measurement threw
  std::int64_t disturbed = 0;  // recorded with other_cpus_busy above CollectRun::disturbed_above
  std::int64_t unsettled = 0;  // with SettlesHeap: recorded with warmup_settled false
  double recorded_wall_s = 0;  // sum of the recorded configurations' context.protocol.wall_s
  bool interrupted = false;    // stopped by SIGINT/SIGTERM
  std::string first_error;
};

// The record for `config` before measuring: what ran and how (ConfigKey() of it is the store key).
Measurement RecordSkeleton(const CollectConfig& config, const CollectSettings& settings);
// `configs` without repeats: a configuration whose store key equals an earlier one's is dropped
// (random draws can repeat, a network repeats layers), so that it is measured once and shards of
// one campaign never measure the same configuration twice. Keeps the first occurrence's order.
std::vector<CollectConfig> DistinctConfigs(std::vector<CollectConfig> configs,
                                           const CollectSettings& settings);
// Whether the runner's warm-up waits for the heap to stop faulting (torch_runner.h): under the
// keep and reserve policies where they take effect (not glibc's default heap, not a sanitizer's
// allocator).
bool SettlesHeap(const CollectSettings& settings);
// The request handed to the runner (torch_runner_plugin.h documents it).
nlohmann::json MakeRequest(const CollectConfig& config, const CollectSettings& settings);

// {"cpu": model name from /proc/cpuinfo, "isa_flags" (predict/hardware.h's kIsaFlags among its
//  first "flags"), "logical_cpus", "physical_cores", "memory_gib", "kernel"}; fields it cannot
//  read are left out. `cpuinfo` is injectable for tests.
nlohmann::json DescribeHost(const std::string& cpuinfo = "/proc/cpuinfo");

// The time (microseconds) the kernel takes to give this process one fresh page of memory: the
// median over 3 rounds of writing one byte to each page of a new 16 MiB anonymous mapping, divided
// by its pages. Every allocation that the C library serves from new mappings (glibc: 32 MiB and
// more, and smaller ones after the heap is trimmed) pays it per page on first touch, so a machine
// where it is high (a virtual machine whose host backs guest memory lazily) runs large-activation
// networks slower than the sum of their operators, and differently from session to session.
// Returns a negative value when the mapping cannot be made.
double FreshPageMicroseconds();

struct CollectRun {
  const std::vector<CollectConfig>* configs;
  CollectSettings settings;
  MeasurementStore* store;
  EnergyMeter* meter;
  MeasureFn measure;
  nlohmann::json hardware = nlohmann::json::object();
  std::optional<double> idle_power_w;
  ProgressBar* progress = nullptr;                   // may be null
  std::function<void(const std::string&)> warn;      // may be empty
  // CPU accounting before and after each configuration (cpu_load.h); empty: ReadCpuTimes().
  std::function<CpuTimes()> cpu_times;
  // A record measured while other processes kept more CPUs than this busy is counted in
  // CollectStats::disturbed, and the first one is named through `warn`: its time may be inflated.
  double disturbed_above = 0.25;
};

CollectStats RunCollection(const CollectRun& run);

}  // namespace joulecast
