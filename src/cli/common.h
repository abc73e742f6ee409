// Helpers shared by the subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/graph/graph.h"
#include "joulecast/io/measurement.h"
#include "joulecast/io/size_arg.h"  // ParseShapeArg (--input)
#include "joulecast/predict/profile.h"
#include "joulecast/predict/workload.h"

namespace joulecast::cli {

// Arguments may be glob patterns, quoted so that the shell leaves them ("data/*.jsonl"); a
// pattern that matches nothing is an error naming it.
std::vector<std::string> ExpandGlobs(const std::vector<std::string>& args);

// Every record of every file the arguments name (globs expanded into *files when given); throws
// when there is none at all.
std::vector<Measurement> LoadMeasurements(const std::vector<std::string>& args, const char* command,
                                          std::vector<std::string>* files = nullptr);

// The architecture an ARCH argument names: an architecture .json, a TorchScript .pt or a printed
// model .txt (these two need `input_arg`, the --input value), or else a zoo name (throws the zoo's
// "unknown architecture 'x'; available: ...").
Architecture LoadArchitectureArg(const std::string& arg, const std::string& input_arg);

// The operator graph an ARCH argument names (frontends/load_graph.h) at batch `batch`, with the
// --input value `input_arg` (empty: the model's), the --seq-len value `seq_len` (0: none given)
// and the --hf-architecture value (empty: the config's); notes of the readers go to stderr.
graph::Graph LoadGraphArg(const std::string& arg, const std::string& input_arg, std::int64_t batch,
                          std::int64_t seq_len = 0, const std::string& hf_architecture = "");

// The network of a workload of data/workloads.json (its "architecture": a zoo name, or a file
// relative to the source tree) at batch `batch`. Throws LoadGraph's errors; the caller checks
// that the workload has an architecture.
graph::Graph WorkloadGraph(const Workload& w, std::int64_t batch);

// What a layer-wise training-run estimate (train-estimate, sweep without --gpu) runs: a workload
// of data/workloads.json (its network; its samples per epoch unless `dataset_size` is given) or
// any ARCH argument at batch `batch`. `what` is "workload NAME" or "architecture NAME". Throws
// for a workload without an architecture, --seq-len with a workload, and LoadGraph's errors.
struct LayerwiseRunTarget {
  graph::Graph graph;
  std::optional<double> samples_per_epoch;
  std::string what;
};
LayerwiseRunTarget LoadLayerwiseRunTarget(const std::string& target, std::int64_t batch,
                                          std::int64_t seq_len, std::optional<double> dataset_size);

// A layer-wise profile for train-estimate and sweep without --gpu: Profile::Load, except that a
// training-run profile (for --gpu) throws `if_training_profile` instead of the loader's error.
Profile LoadLayerwiseProfile(const std::string& path, const std::string& if_training_profile);

// The parameters a training step freezes: `freeze`, or with --trainable every parameter outside
// `trainable` (graph::FrozenByTrainable). The caller refuses both given.
std::vector<std::string> FrozenScopes(const graph::Graph& g, const std::vector<std::string>& freeze,
                                      const std::vector<std::string>& trainable);

// The --seq-len option of the commands that take an architecture (Hugging Face configs).
void AddSeqLenOption(CLI::App* cmd, std::int64_t* seq_len);
// The --hf-architecture option (GraphOptions::hf_architecture).
void AddHfArchitectureOption(CLI::App* cmd, std::string* hf_architecture);

// CLI11 check of a finite number >= 0, failing as "--min-macs: must be a number >= 0, got -1"
// (CLI11's own NonNegativeNumber prints the largest double in full).
CLI::Validator NonNegativeCheck();
// CLI11 check of a number > 0: "--passes: must be > 0, got 0".
CLI::Validator PositiveCheck();

}  // namespace joulecast::cli
