// Measurement records: one JSON object per line (JSON Lines), one record per measured
// configuration.
//
// A record describes what ran (layer type and parameters, or an architecture name as type, batch
// size, per-sample input shape, dtype, mode, device, hardware) and what was measured per run, where
// a run is ONE forward pass of the whole batch (mode "forward") or one training step
// ("train_step"), or one operator's forward and input gradient with frozen parameters
// ("input_grad", predict/frozen_step.h):
//   duration_s  wall time per run in seconds (median or mean over repetitions, see `aggregate`)
//   energy_j    energy per run in joules, or null when no meter was available
// plus the spread over repetitions, the meter name, idle power when known and provenance.
//
// ReadMeasurements/WriteMeasurement throw std::runtime_error with "path:line: message" on malformed
// input (bad JSON, missing or mistyped field, NaN/negative values).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/arch/layer.h"

namespace joulecast {

inline constexpr int kMeasurementFormatVersion = 1;

// The kinds of run a record measures and a profile predicts: "forward", "train_step",
// "input_grad".
bool IsRunMode(const std::string& mode);

struct Measurement {
  std::string type;  // "Conv2d", ... or an architecture name ("vgg16") for whole networks
  nlohmann::json params = nlohmann::json::object();  // PyTorch argument names
  std::int64_t batch_size = 1;
  Shape input_shape;  // per sample
  std::string dtype = "float32";
  std::string mode = "forward";  // "forward" | "train_step" | "input_grad"
  std::string device = "cpu";
  nlohmann::json hardware = nlohmann::json::object();  // {"cpu": "...", "cores": 2, ...}
  std::int64_t repetitions = 1;        // independent measurements aggregated into this record
  double duration_s = 0.0;             // per run
  std::optional<double> energy_j;      // per run; nullopt = no meter
  std::optional<double> energy_j_std;  // spread over repetitions (sample std), when > 1
  std::optional<double> duration_s_std;
  std::optional<double> macs;  // whole batch, ptflops convention, as recorded by the source
  std::string meter = "none";  // "rapl", "nvml", "codecarbon-rapl", "none"
  std::optional<double> idle_power_w;
  nlohmann::json context =
      nlohmann::json::object();  // e.g. {"architecture": "vgg16", "layer_index": 3}
  nlohmann::json provenance = nlohmann::json::object();  // source, tool_version, seed, timestamp
};

nlohmann::json ToJson(const Measurement& m);
// `where` prefixes error messages, e.g. "data/x.jsonl:12".
Measurement MeasurementFromJson(const nlohmann::json& j, const std::string& where);

// Reads every record of a JSON Lines file; blank lines are skipped.
std::vector<Measurement> ReadMeasurements(const std::string& path);
// The same for text from a stream; `name` stands for the path in error messages.
std::vector<Measurement> ReadMeasurements(std::istream& in, const std::string& name);
// Appends one line and flushes.
void WriteMeasurement(std::ostream& out, const Measurement& m);

// Reads and concatenates several files (in order).
std::vector<Measurement> ReadMeasurementFiles(const std::vector<std::string>& paths);

// The layer a record measured: type, params, input shape and, where the record's context has
// one (collect writes it; the reader checks it holds positive integers), the output shape per
// sample, which the counts and features of a layer whose output is not its input's shape (a
// matrix product, a lookup, a broadcast) need, as a prediction from a graph has it. No name.
LayerInstance LayerOf(const Measurement& m);

// The value a profile is fitted to: "energy_j" or "time_s". Throws if the record lacks it.
double TargetValue(const Measurement& m, const std::string& target);

// How many CPUs other processes kept busy while the record was measured
// (context.protocol.other_cpus_busy, collect/cpu_load.h); nullopt when the record does not say
// (records of older collectors), which `fit --max-other-cpus` and calibrate keep.
std::optional<double> OtherCpusBusy(const Measurement& m);

// The heap policy a record was measured under (context.heap: "keep" or "reserve",
// collect/heap.h), "default" where the record does not say (glibc's own policy, as every record
// made before the field existed).
std::string RecordHeap(const Measurement& m);

// The seconds per run a record spent faulting fresh pages in, where it can be told:
// context.protocol.faults_per_run × hardware.fresh_page_us × 1e-6 for a record measured under a
// kept heap (context.heap "keep" or "reserve", collect/heap.h). nullopt for glibc's default heap
// (there a network's own tensors land on fresh pages as the operator's did) and for records
// without the fields. 0 when the runs faulted nothing.
std::optional<double> FreshPageSeconds(const Measurement& m);

// The record as its run would have been on a heap that had grown, as a network's has by the time
// its large activations come (collect/heap.h: under the kept heap, a block of 32 MiB or more
// measured alone is mapped afresh on every run, inside a network it is cut from space the heap
// already holds): duration_s less FreshPageSeconds, energy_j and the spreads scaled by the same
// factor (the runs' average power kept), faults_per_run set to 0 and
// context.protocol.fresh_page_s_removed set to what was taken off. Unchanged where
// FreshPageSeconds is nullopt or 0, or where it is at least the whole duration (the page cost
// measured when the collector started does not describe these runs: nothing is taken off).
Measurement WithoutFreshPageTime(const Measurement& m);

}  // namespace joulecast
