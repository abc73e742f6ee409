// joulecast calibrate --base PROFILE -o OUT.json [--minutes M] [--for ARCH[,ARCH...]]
//                     [-b B[,B...]] [--threads N] [--heap keep|reserve|default]
//                     [--mode forward|train_step|input_grad|both|all]
//                     [--meter auto|rapl|nvml|none] [--target time_s|energy_j]
//                     [--dtype float32|float16|bfloat16]
//                     [--store FILE.jsonl] [--seed S] [--max-other-cpus C]
//                     [--fresh-page-time remove|keep] [--dry-run] [-q]
// Adapts a profile of another machine to this one within a time budget: measures the
// configurations of predict/calibration.h's plan in order (with collect's protocol and store:
// appended, durable, resumable; under the reserve heap unless --heap says otherwise) until the
// budget is spent, then fits one transfer per layer type and writes a profile with this machine's
// fingerprint. The budget counts each configuration's
// whole wall time (context.protocol.wall_s of the store's records of this plan, walked in plan
// order), so a re-run after an interruption (Ctrl-C, kill -9) measures only the rest, and a
// shorter budget fits the prefix of a longer calibration's store; Ctrl-C stops measuring and still
// writes the profile from what was measured. With --mode both (forward and train_step) or all (and
// input_grad, the part of a step a frozen layer keeps) the budget is split evenly between
// the modes. --dtype measures in another precision than the base's: a float32 profile calibrated
// with bfloat16 runs predicts bfloat16 runs of this machine (the transfer learns the change).
// The fit takes each kept-heap record without the time its runs spent faulting fresh pages in
// (CalibrateOptions::remove_fresh_page_time, io/measurement.h WithoutFreshPageTime) unless
// --fresh-page-time keep.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "commands.h"
#include "common.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/collect/collector.h"
#include "joulecast/collect/heap.h"
#include "joulecast/collect/progress.h"
#include "joulecast/collect/store.h"
#include "joulecast/io/one_line.h"
#include "joulecast/predict/calibration.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/profile_fit.h"
#include "measuring.h"

namespace joulecast::cli {

namespace {

struct CalibrateArgs {
  std::string base, output, store, mode = "forward", meter = "auto", target = "time_s";
  // Operators measured alone on a heap grown first, as inside a network whose heap has grown:
  // under keep, blocks of 32 MiB and more fault fresh pages in on every run.
  std::string heap = "reserve";
  std::string dtype;  // empty: the base profile's
  double minutes = 10;
  std::vector<std::string> for_networks;
  std::vector<std::int64_t> batch_sizes = {1, 8};
  std::int64_t threads = 1;
  std::uint64_t seed = 0;
  double max_other_cpus = std::numeric_limits<double>::infinity();
  std::string fresh_page_time = "remove";
  bool dry_run = false, quiet = false;
};

// A warning when `by_key` holds records of `modes` measured under another heap than `heap`: this
// run neither resumes nor fits them (the heap is part of a record's key).
std::optional<std::string> OtherHeapNote(const std::map<std::string, Measurement>& by_key,
                                         const std::vector<std::string>& modes, HeapPolicy heap,
                                         const std::string& store_path) {
  std::map<std::string, std::size_t> other;
  for (const auto& [key, m] : by_key) {
    if (IsWholeNetwork(m) || std::find(modes.begin(), modes.end(), m.mode) == modes.end()) continue;
    if (const std::string h = RecordHeap(m); h != HeapPolicyName(heap)) ++other[h];
  }
  if (other.empty()) return std::nullopt;
  std::vector<std::string> parts;
  for (const auto& [h, n] : other) parts.push_back(fmt::format("{} under --heap {}", n, h));
  return fmt::format(
      "{} holds records measured under another heap ({}), which this run (--heap {}) neither "
      "resumes nor fits; pass that --heap to resume them",
      store_path, fmt::join(parts, ", "), HeapPolicyName(heap));
}

// The store beside the output: out.json -> out.calibration.jsonl.
std::string DefaultStore(const std::string& output) {
  std::filesystem::path p(output);
  if (p.extension() == ".json") p.replace_extension();
  return p.string() + ".calibration.jsonl";
}

// Fails now, not after the budget is spent, when OUT cannot be written.
void CheckWritable(const std::string& path) {
  const bool existed = std::filesystem::exists(path);
  {
    std::ofstream probe(path, std::ios::app);
    if (!probe) {
      throw std::runtime_error(
          fmt::format("{}: cannot write the calibrated profile: {}", path, std::strerror(errno)));
    }
  }
  if (!existed) std::filesystem::remove(path);
}

// Draws "[=====>    ] 3m10s of 10m00s measured, 214 records, 6m50s left  Conv2d" on a terminal.
class BudgetBar {
 public:
  BudgetBar(double budget_s, bool quiet) : budget_s_(budget_s), tty_(!quiet && isatty(2)) {}
  void Draw(double spent_s, std::size_t records, const std::string& label) {
    if (!tty_) return;
    const int width = 24;
    const double f = std::clamp(spent_s / budget_s_, 0.0, 1.0);
    const int fill = static_cast<int>(f * width);
    std::string bar(static_cast<std::size_t>(fill), '=');
    if (fill < width) bar += '>' + std::string(static_cast<std::size_t>(width - fill - 1), ' ');
    std::cerr << fmt::format("\r\033[K[{}] {} of {} measured, {} records, {} left  {}", bar,
                             ProgressBar::FormatEta(spent_s), ProgressBar::FormatEta(budget_s_),
                             records, ProgressBar::FormatEta(std::max(0.0, budget_s_ - spent_s)),
                             label.substr(0, 40));
  }
  void Finish() {
    if (tty_) std::cerr << "\r\033[K";
  }

 private:
  double budget_s_;
  bool tty_;
};

// What measuring a record cost: its whole configuration's wall time where recorded, else its
// warm-up and timed runs.
double Cost(const Measurement& m) {
  const nlohmann::json& p = m.context.value("protocol", nlohmann::json::object());
  const double wall = p.value("wall_s", 0.0);
  if (wall > 0) return wall;
  const double e = p.value("elapsed_s", 0.0);
  return e > 0 ? e : 0.0;
}

// One mode's plan (PlanCalibration, without repeats), drawn only as far as a walk along it goes:
// first the configurations the budget could buy if each cost the least a measurement takes, and
// twice as many each time a walk reaches the end of a truncated plan (failures cost less, records
// measured under a lighter load too). A plan of n is the first n of the whole plan, so growing it
// changes nothing already walked, and the budget's prefix is the whole plan's.
class GrowingPlan {
 public:
  GrowingPlan(const Profile& base, const std::vector<Architecture>& for_networks,
              const std::vector<Architecture>& weight_networks, CalibrationPlanOptions options,
              CollectSettings settings, double budget_s)
      : base_(base),
        for_networks_(for_networks),
        weight_networks_(weight_networks),
        options_(std::move(options)),
        settings_(std::move(settings)) {
    const double least = std::max(options_.warmup_s + options_.min_seconds, 1e-3);
    Draw(static_cast<std::size_t>(std::ceil(budget_s / least)) + 64);
  }
  // The i-th configuration, or nullptr past the end of the whole plan.
  const CollectConfig* At(std::size_t i) {
    while (i >= configs_.size() && !complete_) Draw(2 * options_.max_configs);
    return i < configs_.size() ? &configs_[i] : nullptr;
  }
  std::size_t drawn() const { return configs_.size(); }
  const CollectSettings& settings() const { return settings_; }

 private:
  void Draw(std::size_t n) {
    options_.max_configs = n;
    std::vector<CollectConfig> raw =
        PlanCalibration(base_, for_networks_, weight_networks_, options_);
    complete_ = raw.size() < n;
    configs_ = DistinctConfigs(std::move(raw), settings_);
  }
  const Profile& base_;
  const std::vector<Architecture>& for_networks_;
  const std::vector<Architecture>& weight_networks_;
  CalibrationPlanOptions options_;
  CollectSettings settings_;
  std::vector<CollectConfig> configs_;
  bool complete_ = false;
};

// The records a budget buys: the plan walked in order, each configuration the store holds taken
// while the cost of those before it is under the budget (a calibration of fewer minutes is a
// prefix of a longer one). `spent` gets the cost of the records taken. The walk ends where no
// record of the plan's mode is left in the store to find, so that it draws no more of the plan
// than the store's records reach.
std::vector<Measurement> Prefix(GrowingPlan& plan, const std::map<std::string, Measurement>& by_key,
                                double budget_s, double* spent) {
  std::vector<Measurement> out;
  *spent = 0;
  std::size_t left = 0;
  for (const auto& [key, m] : by_key) left += m.mode == plan.settings().mode;
  for (std::size_t i = 0; *spent < budget_s && left > 0; ++i) {
    const CollectConfig* c = plan.At(i);
    if (!c) break;
    auto it = by_key.find(ConfigKey(RecordSkeleton(*c, plan.settings())));
    if (it == by_key.end()) continue;
    *spent += Cost(it->second);
    out.push_back(it->second);
    --left;
  }
  return out;
}

std::map<std::string, Measurement> ReadStore(const std::string& path) {
  std::map<std::string, Measurement> by_key;
  if (!std::filesystem::exists(path)) return by_key;
  for (Measurement& m : ReadMeasurements(path)) {
    std::string key = ConfigKey(m);
    by_key.emplace(std::move(key), std::move(m));
  }
  return by_key;
}

void RunCalibrate(const CalibrateArgs& a) {
  if (!(a.minutes > 0)) {
    throw std::invalid_argument(fmt::format("--minutes must be > 0, got {}", a.minutes));
  }
  const Profile base = Profile::Load(a.base);
  CheckCalibrationBase(base);  // before ten minutes of measuring, not after
  if (base.target != "time_s" && base.target != "energy_j") {
    throw std::runtime_error(fmt::format(
        "{}: the base profile predicts '{}'; calibrate adapts CPU time or energy profiles "
        "(time_s, energy_j)",
        a.base, base.target));
  }
  if (base.hardware.contains("gpu")) {
    throw std::runtime_error(fmt::format(
        "{}: the base profile describes a GPU ({}); calibrate measures on this machine's CPU",
        a.base, base.hardware["gpu"].dump()));
  }
  std::vector<std::string> modes = {a.mode};
  if (a.mode == "both") modes = {"forward", "train_step"};
  if (a.mode == "all") modes = {"forward", "train_step", "input_grad"};
  for (const std::string& m : modes) {
    if (!base.HasMode(m)) {
      throw std::runtime_error(
          fmt::format("{}: the base profile {} has no {} predictors (it has: {})", a.base,
                      base.name, m, fmt::join(base.Modes(), ", ")));
    }
  }
  CheckWritable(a.output);
  const std::string store_path = a.store.empty() ? DefaultStore(a.output) : a.store;

  std::vector<Architecture> for_networks, weight_networks;
  for (const std::string& name : a.for_networks)
    for_networks.push_back(LoadArchitectureArg(name, ""));
  if (!for_networks.empty()) {
    weight_networks = for_networks;
  } else {
    for (const std::string& name : ZooTreeNames())
      weight_networks.push_back(LoadZooArchitecture(name));
  }

  const double budget_s = 60.0 * a.minutes / static_cast<double>(modes.size());
  // One plan per mode, as collect would measure it (its store keys).
  std::map<std::string, GrowingPlan> plans;
  const HeapPolicy heap = ParseHeapPolicy(a.heap);
  for (const std::string& m : modes) {
    CalibrationPlanOptions po;
    po.mode = m;
    po.batch_sizes = a.batch_sizes;
    po.seed = a.seed;
    po.min_seconds = 0.1;
    CollectSettings s;
    s.mode = m;
    s.dtype = a.dtype.empty() ? base.dtype : a.dtype;
    s.threads = a.threads;
    s.heap = heap;
    s.seed = a.seed;
    // Shorter than the campaign's (data/collect/ci-2c: 0.25 s): the budget buys records.
    s.min_seconds = po.min_seconds;
    s.min_repetitions = po.min_repetitions;
    s.warmup_seconds = po.warmup_s;
    plans.emplace(std::piecewise_construct, std::forward_as_tuple(m),
                  std::forward_as_tuple(base, for_networks, weight_networks, po, s, budget_s));
  }

  const auto warn = [](const std::string& m) {
    std::cerr << "joulecast: warning: " << OneLine(m) << "\n";
  };
  MeasurementStore store(store_path, warn);
  if (auto note = NonNativeDtypeNote(a.dtype.empty() ? base.dtype : a.dtype, HostFingerprint()))
    warn(*note);
  if (a.dry_run) {
    const std::map<std::string, Measurement> by_key = ReadStore(store_path);
    if (auto note = OtherHeapNote(by_key, modes, heap, store_path)) warn(*note);
    for (const std::string& mode : modes) {
      double spent = 0;
      GrowingPlan& plan = plans.at(mode);
      const std::size_t held = Prefix(plan, by_key, budget_s, &spent).size();
      std::cout << fmt::format(
          "{}: {} configurations planned, {} of them in {} within the budget ({} of {} spent)\n",
          mode, plan.drawn(), held, store_path, ProgressBar::FormatEta(spent),
          ProgressBar::FormatEta(budget_s));
    }
    return;
  }

  bool interrupted = false;
  std::size_t measured = 0, failed = 0;
  {
    const std::map<std::string, Measurement> by_key = ReadStore(store_path);
    if (auto note = OtherHeapNote(by_key, modes, heap, store_path)) warn(*note);
    std::unique_ptr<TorchRunner> runner;
    std::unique_ptr<EnergyMeter> meter;
    nlohmann::json hardware;
    std::optional<double> idle;
    const std::string proc = Env("JOULECAST_PROC_ROOT", "/proc");
    StopRequest stop;
    for (const std::string& mode : modes) {
      BudgetBar bar(budget_s, a.quiet);
      double spent = 0;
      std::size_t records = 0;
      GrowingPlan& plan = plans.at(mode);
      for (std::size_t i = 0;; ++i) {
        if (spent >= budget_s || StopRequest::Requested()) break;
        const CollectConfig* next = plan.At(i);
        if (!next) break;
        const CollectConfig& c = *next;
        auto held = by_key.find(ConfigKey(RecordSkeleton(c, plan.settings())));
        if (held != by_key.end()) {
          spent += Cost(held->second);
          ++records;
          continue;
        }
        if (!runner) {  // only when something is left to measure
          runner = std::make_unique<TorchRunner>(TorchRunner::Load());
          meter = MeasuringMeter(a.meter, "cpu", a.quiet);
          hardware = MeasuringHardware("cpu", *runner, *meter);
          idle = MeasureIdlePower(*meter, 3);
        }
        bar.Draw(spent, records, mode + " " + c.layer.type);
        const std::vector<CollectConfig> one = {c};
        CollectRun run;
        run.configs = &one;
        run.settings = plan.settings();
        run.store = &store;
        run.meter = meter.get();
        run.measure = runner->AsMeasureFn();
        run.hardware = hardware;
        run.idle_power_w = idle;
        run.warn = warn;
        run.cpu_times = [proc] { return ReadCpuTimes(proc + "/stat", proc + "/self/stat"); };
        const auto t0 = std::chrono::steady_clock::now();
        const CollectStats st = RunCollection(run);
        // A record costs what Prefix will count for it on a re-run (its wall_s), so that the same
        // budget run again stops at the same record; a failure is not in the store, and a re-run
        // retries it, so its time counts as it passes.
        spent += st.measured > 0
                     ? st.recorded_wall_s
                     : std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        measured += static_cast<std::size_t>(st.measured);
        failed += static_cast<std::size_t>(st.failed);
        records += static_cast<std::size_t>(st.measured);
        if (st.interrupted) break;
      }
      bar.Finish();
      if (StopRequest::Requested()) {
        interrupted = true;
        break;
      }
    }
  }

  // What the budget buys of each plan, from the store: this run's records and earlier ones'.
  std::vector<Measurement> records;
  {
    const std::map<std::string, Measurement> by_key = ReadStore(store_path);
    for (const std::string& mode : modes) {
      double spent = 0;
      for (Measurement& m : Prefix(plans.at(mode), by_key, budget_s, &spent))
        records.push_back(std::move(m));
    }
  }
  if (records.empty()) {
    throw std::runtime_error(
        fmt::format("calibrate: nothing was measured into {} ({} failed); see the warnings above",
                    store_path, failed));
  }
  CalibrateOptions co;
  co.target = a.target;
  co.max_other_cpus = a.max_other_cpus;
  co.remove_fresh_page_time = a.fresh_page_time == "remove";
  co.weight_networks = weight_networks;
  Profile out = CalibrateProfile(base, records, co);
  out.name = std::filesystem::path(a.output).stem().string();
  out.data["calibration"]["store"] = store_path;
  out.data["calibration"]["minutes"] = a.minutes;
  out.data["calibration"]["for"] = a.for_networks;
  {
    // The networks the plan's type shares and the selection score were weighted by.
    std::vector<std::string> names;
    for (const Architecture& arch : weight_networks) names.push_back(arch.name);
    out.data["calibration"]["weight_networks"] = names;
  }
  out.data["calibration"]["interrupted"] = interrupted;
  out.Save(a.output);
  if (!a.quiet) {
    std::cerr << fmt::format(
        "joulecast: calibrated {} to this machine ({}) from {} records ({} measured now, {} "
        "failed) into {}\n",
        base.name, out.hardware.value("cpu", "?"), records.size(), measured, failed, a.output);
    if (out.power.is_object()) {
      std::cerr << fmt::format(
          "  mean power while measuring: {:.4g} W (meter {}): predictions "
          "give energy as time x power\n",
          out.power["watts"].get<double>(), out.power.value("meter", "?"));
    }
    for (const auto& [mode, info] : out.data["calibration"]["modes"].items()) {
      for (const auto& [type, t] : info["types"].items()) {
        std::cerr << fmt::format("  {} {:<18} {:>4} records  {:<9} {}\n", mode, type,
                                 t["records"].get<std::size_t>(), t["transfer"].get<std::string>(),
                                 t.contains("cv_mape")
                                     ? fmt::format("CV MAPE {:.1f} %", t["cv_mape"].get<double>())
                                     : "");
      }
    }
  }
  if (interrupted) {
    std::cerr << fmt::format(
        "joulecast: interrupted: {} was written from the records measured so far; re-run the same "
        "command to spend the rest of the budget\n",
        a.output);
  }
}

}  // namespace

void RegisterCalibrate(CLI::App& app) {
  auto a = std::make_shared<CalibrateArgs>();
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Adapt a profile of another machine to this one: measure the most telling layer "
      "configurations for --minutes, fit a transfer per layer type, write a profile of this "
      "machine; re-running resumes");
  cmd->add_option("--base", a->base, "The profile to adapt (models/*.json)")->required();
  cmd->add_option("-o,--output", a->output, "The calibrated profile to write")->required();
  cmd->add_option("--minutes", a->minutes,
                  "Measuring budget in minutes (records already in the store count)")
      ->capture_default_str();
  cmd->add_option("--for", a->for_networks,
                  "Networks to predict (zoo names or files, comma list): their layers are "
                  "measured first and weight the rest")
      ->delimiter(',');
  cmd->add_option("-b,--batch-size", a->batch_sizes, "Batch sizes of the --for networks' layers")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd->add_option("--threads", a->threads, "libtorch intra-op threads")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1024}));
  cmd->add_option("--mode", a->mode,
                  "forward, train_step, input_grad, both (forward and train_step) or all three "
                  "(the budget split evenly)")
      ->capture_default_str()
      ->check(CLI::IsMember({"forward", "train_step", "input_grad", "both", "all"}));
  AddHeapOption(cmd, &a->heap);
  cmd->add_option("--meter", a->meter, "Energy meter")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "rapl", "nvml", "none"}));
  cmd->add_option("--target", a->target,
                  "What the calibrated profile predicts: time_s, or energy_j (needs a meter)")
      ->capture_default_str()
      ->check(CLI::IsMember({"time_s", "energy_j"}));
  cmd->add_option("--dtype", a->dtype,
                  "Precision to measure and predict (default: the base profile's)")
      ->check(CLI::IsMember({"float32", "float16", "bfloat16"}));
  cmd->add_option("--store", a->store,
                  "JSON Lines file of the calibration measurements (default: OUT with "
                  ".calibration.jsonl)");
  cmd->add_option("--seed", a->seed, "Seed of the random configurations")->capture_default_str();
  cmd->add_option("--max-other-cpus", a->max_other_cpus,
                  "Leave out of the fit the records measured while other processes kept more "
                  "than this many CPUs busy (context.protocol.other_cpus_busy; they stay in the "
                  "store and count against the budget)")
      ->check(NonNegativeCheck());
  cmd->add_option("--fresh-page-time", a->fresh_page_time,
                  "remove (fit each kept-heap record without the time its runs spent faulting "
                  "fresh pages in, as inside a network whose heap has grown) or keep (as "
                  "measured)")
      ->check(CLI::IsMember({"remove", "keep"}))
      ->capture_default_str();
  cmd->add_flag("--dry-run", a->dry_run,
                "Print the plan's size and what the store holds, measure nothing");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress bar or summary");
  cmd->callback([a] { RunCalibrate(*a); });
}

}  // namespace joulecast::cli
