// joulecast collect (--layer TYPE[,TYPE...] --samples N | --configs-from ARCH[,...] |
//                    --architecture ARCH[,...]) [--batch-size B[,B...]] [--device cpu|cuda]
//                   [--dtype float32|float16|bfloat16] [--mode forward|train_step|input_grad]
//                   [--threads T] [--heap keep|reserve|default]
//                   [--min-seconds S] [--seed S] [--shard K/N] [--meter auto|rapl|nvml|none]
//                   -o OUT.jsonl
// Measures with libtorch through the joulecast_collect_torch plugin (loaded here only) and appends
// one record per configuration to OUT.jsonl (collect/collector.h documents the record and
// collect/torch_runner.h the protocol). Re-running the same command resumes.
// Environment: JOULECAST_RAPL_ROOT (default /sys/class/powercap) and JOULECAST_NVML_LIBRARY
// (default libnvidia-ml.so.1) point the meters elsewhere (tests, unusual installs);
// JOULECAST_PROC_ROOT (default /proc) the CPU accounting of collect/cpu_load.h.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "commands.h"
#include "common.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/collect/collector.h"
#include "joulecast/collect/config_sampler.h"
#include "joulecast/collect/meter.h"
#include "joulecast/collect/progress.h"
#include "joulecast/collect/shard.h"
#include "joulecast/collect/store.h"
#include "joulecast/collect/torch_runner.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/io/one_line.h"
#include "joulecast/predict/hardware.h"
#include "measuring.h"

namespace joulecast::cli {

namespace {

struct CollectArgs {
  std::vector<std::string> layers, configs_from, architectures, freeze;
  std::int64_t samples = 0, seq_len = 0;
  std::vector<std::int64_t> batch_sizes, kernel_sizes;
  std::string input, output, shard = "0/1", meter = "auto", heap = "keep";
  CollectSettings settings;
  double idle_seconds = 3;
  double max_macs = SamplerOptions().max_macs;
  double min_macs = SamplerOptions().min_macs;
  double max_elements = SamplerOptions().max_elements;
  double max_parameters = SamplerOptions().max_parameters;
  double min_parameters = SamplerOptions().min_parameters;
  bool dry_run = false, quiet = false;
};

// A module-tree network (run by the runner's tree executor, as the records of earlier versions
// were): a tree-form zoo name or .json file; every other form is an operator graph.
bool IsModuleTree(const std::string& arg) {
  const std::filesystem::path p(arg);
  const std::string ext = p.extension().string();
  if (ext == ".pt" || ext == ".onnx" || ext == ".txt") return false;
  if (ext == ".json") return std::filesystem::exists(p) && !IsGraphZooFile(arg);
  const std::string file = FindZooFile(arg);  // throws for an unknown name
  return !IsGraphZooFile(file);
}

std::vector<CollectConfig> BuildConfigs(const CollectArgs& a) {
  const int given = !a.layers.empty() + !a.configs_from.empty() + !a.architectures.empty();
  if (given != 1) {
    throw std::invalid_argument(
        "collect: give exactly one of --layer, --configs-from or --architecture");
  }
  std::vector<CollectConfig> configs;
  if (!a.layers.empty()) {
    if (a.samples < 1) throw std::invalid_argument("--samples: required with --layer, >= 1");
    SamplerOptions o;
    o.batch_sizes = a.batch_sizes;
    o.max_macs = a.max_macs;
    o.min_macs = a.min_macs;
    if (a.min_macs > a.max_macs) {
      throw std::invalid_argument(
          fmt::format("--min-macs {} is above --max-macs {}", a.min_macs, a.max_macs));
    }
    o.max_elements = a.max_elements;
    o.max_parameters = a.max_parameters;
    o.min_parameters = a.min_parameters;
    if (a.min_parameters > a.max_parameters) {
      throw std::invalid_argument(fmt::format("--min-parameters {} is above --max-parameters {}",
                                              a.min_parameters, a.max_parameters));
    }
    o.kernel_sizes = a.kernel_sizes;
    for (const std::string& type : a.layers) {
      for (auto& c : SampleConfigs(type, a.samples, a.settings.seed, o)) configs.push_back(c);
    }
    return configs;
  }
  if (a.samples != 0) {
    throw std::invalid_argument("--samples: only with --layer");
  }
  if (!a.kernel_sizes.empty()) {
    throw std::invalid_argument("--kernel-size: only with --layer");
  }
  const std::vector<std::int64_t> batches =
      a.batch_sizes.empty() ? std::vector<std::int64_t>{1} : a.batch_sizes;
  const bool whole = !a.architectures.empty();
  if (whole && a.settings.mode == "input_grad") {
    throw std::invalid_argument(
        "--mode input_grad: measures one operator at a time (--layer or --configs-from); a whole "
        "network's input needs no gradient");
  }
  if (!a.freeze.empty() && (!whole || a.settings.mode != "train_step")) {
    throw std::invalid_argument(
        "--freeze: only with --architecture and --mode train_step (frozen parameters change "
        "nothing else)");
  }
  for (const std::string& name : whole ? a.architectures : a.configs_from) {
    // Frozen parameters are a property of the graph's values: a module tree runs as its graph.
    if (!a.freeze.empty() || !IsModuleTree(name)) {
      // An operator graph (zoo graph, Hugging Face config, ONNX, TorchScript): run as a graph,
      // whole or operator by operator.
      GraphOptions options;
      if (!a.input.empty()) options.input = ParseShapeArg(a.input, "--input");
      options.seq_len = a.seq_len;
      for (std::int64_t b : batches) {
        options.batch = b;
        const graph::Graph g = LoadGraph(name, options);
        if (whole) {
          configs.push_back(WholeGraphConfig(name, g, a.seq_len));
          if (!a.freeze.empty()) {
            // The runner keeps a frozen parameter out of autograd and the optimizer.
            const std::vector<bool> frozen = graph::FrozenParameters(g, a.freeze);
            CollectConfig& c = configs.back();
            for (std::size_t v = 0; v < frozen.size(); ++v)
              if (frozen[v]) c.plan["values"][v]["role"] = "frozen";
            // In the parameters, so that the store tells a frozen step from the full one.
            c.layer.params["frozen"] = a.freeze;
          }
        } else {
          for (auto& c : ConfigsFromGraph(name, g)) {
            // The operators' shapes depend on it, and a record says where they came from.
            if (a.seq_len > 0) c.context["seq_len"] = a.seq_len;
            configs.push_back(std::move(c));
          }
        }
      }
      continue;
    }
    if (a.seq_len > 0)
      throw std::invalid_argument(
          fmt::format("--seq-len: {} is a module tree, which has no sequence length", name));
    Architecture arch = LoadArchitectureArg(name, a.input);
    if (!a.input.empty()) arch.input = ParseShapeArg(a.input, "--input");
    if (whole) {
      for (std::int64_t b : batches) configs.push_back(WholeNetworkConfig(arch, b));
    } else {
      for (auto& c : ConfigsFromArchitecture(arch, batches)) configs.push_back(c);
    }
  }
  return configs;
}

void RunCollect(CollectArgs& a) {
  a.settings.shard = ParseShard(a.shard);
  a.settings.heap = ParseHeapPolicy(a.heap);
  std::vector<CollectConfig> configs = DistinctConfigs(BuildConfigs(a), a.settings);
  // A torn line quoted in a store warning may hold control characters: keep the warning one line.
  const auto warn = [](const std::string& m) {
    std::cerr << "joulecast: warning: " << OneLine(m) << "\n";
  };
  MeasurementStore store(a.output, warn);
  std::int64_t in_shard = 0, done = 0;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (!a.settings.shard.Owns(static_cast<std::int64_t>(i))) continue;
    ++in_shard;
    if (store.Done(ConfigKey(RecordSkeleton(configs[i], a.settings)))) ++done;
  }
  if (a.settings.device == "cpu") {
    if (auto note = NonNativeDtypeNote(a.settings.dtype, HostFingerprint())) warn(*note);
  }
  if (a.dry_run) {
    std::cout << fmt::format("{} configurations, {} in shard {}, {} already in {}, {} to measure\n",
                             configs.size(), in_shard, a.settings.shard.ToString(), done, a.output,
                             in_shard - done);
    return;
  }
  if (in_shard == done) {
    if (!a.quiet) {
      std::cerr << fmt::format("joulecast: all {} configurations of shard {} are in {}\n", in_shard,
                               a.settings.shard.ToString(), a.output);
    }
    return;
  }
  const TorchRunner runner = TorchRunner::Load();
  std::unique_ptr<EnergyMeter> meter = MeasuringMeter(a.meter, a.settings.device, a.quiet);
  CollectRun run;
  run.configs = &configs;
  run.settings = a.settings;
  run.store = &store;
  run.meter = meter.get();
  run.measure = runner.AsMeasureFn();
  run.hardware = MeasuringHardware(a.settings.device, runner, *meter);
  run.idle_power_w = MeasureIdlePower(*meter, a.idle_seconds);
  run.warn = warn;
  const std::string proc = Env("JOULECAST_PROC_ROOT", "/proc");
  run.cpu_times = [proc] { return ReadCpuTimes(proc + "/stat", proc + "/self/stat"); };
  ProgressBar bar(in_shard, a.quiet ? nullptr : stderr);
  run.progress = &bar;
  StopRequest stop;
  const CollectStats st = RunCollection(run);
  bar.Finish(a.quiet ? ""
                     : fmt::format("collected {} configurations into {} ({} skipped as done, {} "
                                   "failed; meter {})",
                                   st.measured, a.output, st.skipped, st.failed, meter->name()));
  if (st.disturbed > 0) {
    warn(fmt::format(
        "{} of the {} records measured now were taken while other processes kept more than {} "
        "CPUs busy (context.protocol.other_cpus_busy): measure on an otherwise idle machine, or "
        "re-measure them",
        st.disturbed, st.measured, run.disturbed_above));
  }
  if (st.unsettled > 0) {
    warn(fmt::format(
        "{} of the {} records measured now were timed while their runs still faulted fresh pages "
        "in (context.protocol.warmup_settled false: the heap gave memory back or kept growing); "
        "--heap reserve keeps blocks that fit 1.5 GiB on pages touched once (collect/heap.h)",
        st.unsettled, st.measured));
  }
  if (st.interrupted) {
    throw std::runtime_error(fmt::format(
        "interrupted: {} of {} configurations of shard {} are in {}; re-run the same command to "
        "resume",
        st.skipped + st.measured, in_shard, a.settings.shard.ToString(), a.output));
  }
  if (st.failed > 0 && st.measured == 0 && st.skipped == 0) {
    throw std::runtime_error(fmt::format("every configuration failed; first: {}", st.first_error));
  }
}

}  // namespace

void RegisterCollect(CLI::App& app) {
  auto a = std::make_shared<CollectArgs>();
  auto* cmd = app.add_subcommand(
      "collect",
      "Measure layers or whole networks with libtorch (time, and energy where a meter exists) "
      "into a JSON Lines file; re-running resumes");
  std::string types;
  for (const auto& t : SampleableLayerTypes()) types += (types.empty() ? "" : ", ") + t;
  auto* layer = cmd->add_option("--layer", a->layers,
                                "Random configurations of these layer types (comma list): " + types)
                    ->delimiter(',');
  cmd->add_option("--samples", a->samples, "Random configurations per --layer type")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 31));
  auto* from = cmd->add_option("--configs-from", a->configs_from,
                               "The distinct layers of these networks (zoo names or files, comma "
                               "list)")
                   ->delimiter(',');
  auto* whole = cmd->add_option("--architecture", a->architectures,
                                "Whole networks (zoo names or files, comma list)")
                    ->delimiter(',');
  layer->excludes(from)->excludes(whole);
  from->excludes(whole);
  cmd->add_option("--freeze", a->freeze,
                  "With --architecture and --mode train_step: parameters or module scopes (as "
                  "inspect shows them) that are not trained (no gradient, no update)")
      ->delimiter(',');
  cmd->add_option("--input", a->input, "Per-sample input shape, e.g. 3x224x224");
  cmd->add_option("--seq-len", a->seq_len,
                  "Tokens per sequence of a Hugging Face config or ONNX model (--architecture, "
                  "--configs-from)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd->add_option("-b,--batch-size", a->batch_sizes,
                  "Batch sizes (comma list); --layer default: sampled from 1,2,4,...,64; "
                  "otherwise 1")
      ->delimiter(',')
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd->add_option("--device", a->settings.device)
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--dtype", a->settings.dtype)
      ->capture_default_str()
      ->check(CLI::IsMember({"float32", "float16", "bfloat16"}));
  cmd->add_option("--mode", a->settings.mode,
                  "forward (eval, no grad), train_step (forward, backward, SGD step) or "
                  "input_grad (one operator: forward and the gradient of its input, its "
                  "parameters frozen)")
      ->capture_default_str()
      ->check(CLI::IsMember({"forward", "train_step", "input_grad"}));
  cmd->add_option("--threads", a->settings.threads, "libtorch intra-op threads")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1024}));
  AddHeapOption(cmd, &a->heap);
  cmd->add_option("--min-seconds", a->settings.min_seconds,
                  "Timed seconds per configuration, at least")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--min-repetitions", a->settings.min_repetitions,
                  "Timed samples per configuration, at least")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000}));
  cmd->add_option("--warmup-seconds", a->settings.warmup_seconds,
                  "Warm-up per configuration (and at least 2 runs)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--seed", a->settings.seed, "Seed of the random configurations and weights")
      ->capture_default_str();
  cmd->add_option("--shard", a->shard,
                  "Measure shard K of N (0-based: K = 0..N-1), e.g. "
                  "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with --array=0-(N-1)")
      ->capture_default_str();
  cmd->add_option("--meter", a->meter, "Energy meter")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "rapl", "nvml", "none"}));
  cmd->add_option("--idle-seconds", a->idle_seconds,
                  "Seconds of idle power measurement before collecting (with a meter)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  cmd->add_option("--max-macs", a->max_macs, "Sampler limit: MACs per run of the batch")
      ->capture_default_str();
  cmd->add_option("--min-macs", a->min_macs,
                  "Sampler limit: at least this many MACs per run of the batch (to add "
                  "configurations at the large end; types without MACs cannot meet it)")
      ->capture_default_str()
      ->check(NonNegativeCheck());
  cmd->add_option("--kernel-size", a->kernel_sizes,
                  "Sampler filter: only k x k kernels with k in this list (Conv2d, MaxPool2d, "
                  "AvgPool2d), e.g. 1 for pointwise convolutions")
      ->delimiter(',')
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{64}));
  cmd->add_option("--max-elements", a->max_elements,
                  "Sampler limit: elements of the batch's input or output")
      ->capture_default_str();
  cmd->add_option("--max-parameters", a->max_parameters, "Sampler limit: weights of the layer")
      ->capture_default_str();
  cmd->add_option("--min-parameters", a->min_parameters,
                  "Sampler limit: at least this many weights (to add the large classifiers whose "
                  "training steps are dear at any batch; types without weights cannot meet it)")
      ->capture_default_str()
      ->check(NonNegativeCheck());
  cmd->add_option("-o,--output", a->output, "JSON Lines file to append to")->required();
  cmd->add_flag("--dry-run", a->dry_run,
                "Count the configurations (all, in this shard, already done) and stop");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress bar or summary");
  cmd->callback([a] { RunCollect(*a); });
}

}  // namespace joulecast::cli
