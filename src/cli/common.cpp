#include "common.h"

#include <fmt/format.h>
#include <glob.h>

#include <cmath>
#include <iostream>
#include <stdexcept>

#include "joulecast/arch/repr_parser.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/io/csv.h"
#include "joulecast/predict/training_model.h"

namespace joulecast::cli {

std::vector<std::string> ExpandGlobs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    if (a.find_first_of("*?[") == std::string::npos) {
      out.push_back(a);
      continue;
    }
    glob_t g{};
    int rc = ::glob(a.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      globfree(&g);
      throw std::runtime_error(fmt::format("{}: no file matches", a));
    }
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    globfree(&g);
  }
  return out;
}

std::vector<Measurement> LoadMeasurements(const std::vector<std::string>& args, const char* command,
                                          std::vector<std::string>* files) {
  std::vector<std::string> paths = ExpandGlobs(args);
  std::vector<Measurement> records = ReadMeasurementFiles(paths);
  if (files) *files = std::move(paths);
  if (records.empty())
    throw std::runtime_error(fmt::format("{}: the measurement files hold no records", command));
  return records;
}

Architecture LoadArchitectureArg(const std::string& arg, const std::string& input_arg) {
  auto ends_with = [&](const char* ext) {
    std::string e(ext);
    return arg.size() >= e.size() && arg.compare(arg.size() - e.size(), e.size(), e) == 0;
  };
  if (ends_with(".json")) {
    Architecture arch = LoadArchitectureFile(arg);
    // Walk the shapes here, so that an inconsistent layer (channels that do not match, a kernel
    // larger than its input) is reported against the file; the estimators name only the layer.
    const Shape input = input_arg.empty() ? Shape{} : ParseShapeArg(input_arg, "--input");
    try {
      if (input.empty()) {
        InferShapes(arch);
      } else {
        InferShapes(arch, input);
      }
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("{}: {}", arg, e.what()));
    }
    return arch;
  }
  if (ends_with(".pt") || ends_with(".txt")) {
    // Neither form records the input, and guessing 3x224x224 would silently misprice any other.
    if (input_arg.empty()) {
      throw std::runtime_error(fmt::format(
          "{}: a {} does not record its input shape; give it with --input, e.g. --input 3x224x224",
          arg, ends_with(".pt") ? "TorchScript file" : "printed model"));
    }
    const Shape input = ParseShapeArg(input_arg, "--input");
    if (ends_with(".pt")) return LoadTorchScriptFile(arg, input);
    std::vector<std::string> notes;
    Architecture arch = LoadModelReprFile(arg, input, &notes);
    for (const std::string& note : notes) std::cerr << "joulecast: note: " << note << "\n";
    return arch;
  }
  return LoadZooArchitecture(arg);
}

graph::Graph WorkloadGraph(const Workload& w, std::int64_t batch) {
  GraphOptions options;
  options.batch = batch;
  const bool file = w.architecture.find('/') != std::string::npos;
  return LoadGraph(file ? std::string(JOULECAST_SOURCE_DIR) + "/" + w.architecture : w.architecture,
                   options);
}

Profile LoadLayerwiseProfile(const std::string& path, const std::string& if_training_profile) {
  try {
    return Profile::Load(path);
  } catch (const std::exception&) {
    // Only on failure, so that a large profile is read once.
    if (TrainingModel::IsTrainingProfile(path)) throw std::runtime_error(if_training_profile);
    throw;
  }
}

std::vector<std::string> FrozenScopes(const graph::Graph& g, const std::vector<std::string>& freeze,
                                      const std::vector<std::string>& trainable) {
  return trainable.empty() ? freeze : graph::FrozenByTrainable(g, trainable);
}

LayerwiseRunTarget LoadLayerwiseRunTarget(const std::string& target, std::int64_t batch,
                                          std::int64_t seq_len,
                                          std::optional<double> dataset_size) {
  const WorkloadTable workloads = WorkloadTable::LoadDefault();
  if (const Workload* w = workloads.TryFind(target)) {
    if (w->architecture.empty()) {
      throw std::runtime_error(fmt::format(
          "workload {} has no architecture in data/workloads.json (a layer-wise profile needs "
          "the network)",
          w->name));
    }
    if (seq_len != 0) {
      throw std::runtime_error(
          fmt::format("--seq-len applies to a Hugging Face config, not workload {}", w->name));
    }
    return {WorkloadGraph(*w, batch), dataset_size ? dataset_size : w->samples_per_epoch,
            "workload " + w->name};
  }
  graph::Graph g = LoadGraphArg(target, "", batch, seq_len);
  std::string what = "architecture " + g.name;
  return {std::move(g), dataset_size, std::move(what)};
}

graph::Graph LoadGraphArg(const std::string& arg, const std::string& input_arg, std::int64_t batch,
                          std::int64_t seq_len, const std::string& hf_architecture) {
  GraphOptions options;
  options.batch = batch;
  options.seq_len = seq_len;
  options.hf_architecture = hf_architecture;
  if (!input_arg.empty()) options.input = ParseShapeArg(input_arg, "--input");
  std::vector<std::string> notes;
  graph::Graph g = LoadGraph(arg, options, &notes);
  for (const std::string& note : notes) std::cerr << "joulecast: note: " << note << "\n";
  return g;
}

void AddSeqLenOption(CLI::App* cmd, std::int64_t* seq_len) {
  cmd->add_option("--seq-len", *seq_len,
                  "Tokens per sequence of a Hugging Face config.json (default: the smaller of 512 "
                  "and the model's max_position_embeddings)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 31));
}

void AddHfArchitectureOption(CLI::App* cmd, std::string* hf_architecture) {
  cmd->add_option("--hf-architecture", *hf_architecture,
                  "The Hugging Face class to build from a config.json instead of its "
                  "architectures[0], e.g. BertForSequenceClassification");
}

namespace {

// One parse for both bounds: > 0 (strict) or a finite number >= 0.
CLI::Validator LowerBoundCheck(bool strict) {
  return CLI::Validator(
      [strict](std::string& v) -> std::string {
        double d = 0;
        try {
          d = ParseDouble(v, "value");
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
        if (strict) return d > 0 ? "" : "must be > 0, got " + v;
        return d >= 0 && std::isfinite(d) ? "" : "must be a number >= 0, got " + v;
      },
      strict ? "POSITIVE" : "NUMBER >= 0");
}

}  // namespace

CLI::Validator NonNegativeCheck() { return LowerBoundCheck(false); }

CLI::Validator PositiveCheck() { return LowerBoundCheck(true); }

}  // namespace joulecast::cli
