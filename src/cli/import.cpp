// joulecast import codecarbon FILE... [--slurm-log LOG]... [--strict] -o OUT.jsonl
// joulecast import zeus FILE --gpu NAME -o RUNS.jsonl [--source TEXT]
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>

#include "commands.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/io/atomic_file.h"
#include "joulecast/io/codecarbon_import.h"
#include "joulecast/io/one_line.h"
#include "joulecast/io/zeus_import.h"

namespace joulecast::cli {
namespace {

struct ImportArgs {
  std::vector<std::string> files, logs;
  std::string output, energy_column = "cpu_energy", source;
  bool strict = false, quiet = false;
};

void RunCodeCarbon(const ImportArgs& a) {
  if (!a.logs.empty() && a.logs.size() != 1 && a.logs.size() != a.files.size()) {
    throw std::runtime_error(
        fmt::format("--slurm-log: give one log for all files or one per file ({} files, {} logs)",
                    a.files.size(), a.logs.size()));
  }
  CodeCarbonImportOptions opt;
  opt.energy_column = a.energy_column;
  opt.strict = a.strict;
  opt.source = a.source;
  // Zoo networks are walked once each and cached: layerwise files hold thousands of rows.
  auto cache = std::make_shared<std::map<std::string, std::vector<LayerInstance>>>();
  opt.resolve_layer = [cache](const std::string& arch, std::size_t leaf) {
    auto it = cache->find(arch);
    if (it == cache->end()) it = cache->emplace(arch, InferShapes(LoadZooArchitecture(arch))).first;
    if (leaf >= it->second.size()) {
      throw std::invalid_argument(
          fmt::format("{} has {} layers, no layer_idx {}", arch, it->second.size(), leaf + 1));
    }
    return it->second[leaf];
  };
  std::vector<SlurmLog> logs;
  for (const auto& l : a.logs) logs.push_back(ReadSlurmLog(l));
  CodeCarbonImportResult result;
  for (std::size_t i = 0; i < a.files.size(); ++i) {
    const SlurmLog* log = logs.empty() ? nullptr : (logs.size() == 1 ? &logs[0] : &logs[i]);
    ImportCodeCarbonFile(a.files[i], log, opt, result);
  }
  // A warning may quote a quoted CSV field, which can hold line breaks: keep it one line.
  for (const auto& w : result.warnings)
    std::cerr << "joulecast: warning: " << OneLine(w) << " (row skipped)\n";
  if (result.records.empty()) {
    // Name the file(s) and the first reason, so that the error line stands on its own.
    throw std::runtime_error(fmt::format(
        "{}: no valid rows: nothing imported ({} rows{})",
        a.files.size() == 1 ? a.files[0] : fmt::format("{} files", a.files.size()), result.rows,
        result.warnings.empty() ? std::string() : "; first skipped: " + result.warnings[0]));
  }
  AtomicFile out(a.output);
  for (const auto& m : result.records) WriteMeasurement(out.stream(), m);
  out.Commit();
  if (!a.quiet) {
    std::cerr << fmt::format(
        "imported {} configurations from {} rows ({} dropped by the Slurm log, {} malformed) -> "
        "{}\n",
        result.records.size(), result.rows, result.rows_dropped_by_log, result.rows_malformed,
        a.output);
  }
}

struct ZeusArgs {
  std::string file, gpu, output, source;
  bool quiet = false;
};

void RunZeus(const ZeusArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  const GpuSpec& gpu = gpus.Find(a.gpu);
  std::vector<TrainingRun> runs =
      ImportZeusFile(a.file, gpu, WorkloadTable::LoadDefault(), a.source);
  AtomicFile out(a.output);
  for (const auto& r : runs) WriteTrainingRun(out.stream(), r);
  out.Commit();
  if (!a.quiet) {
    std::cerr << fmt::format("imported {} training runs on {} -> {}\n", runs.size(), gpu.name,
                             a.output);
  }
}

}  // namespace

void RegisterImport(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "import", "Convert published measurements into joulecast records (JSON Lines)");
  cmd->require_subcommand(1);
  auto args = std::make_shared<ImportArgs>();
  auto* cc = cmd->add_subcommand("codecarbon",
                                 "CodeCarbon CSVs with the layer configuration in project_name");
  cc->add_option("files", args->files, "CodeCarbon CSV files")
      ->required()
      ->check(CLI::ExistingFile);
  cc->add_option(
        "--slurm-log", args->logs,
        "Slurm log of the collection run; rows it shows a '[codecarbon ERROR' for are dropped "
        "(one log for all files, or one per file in order)")
      ->check(CLI::ExistingFile);
  cc->add_option("-o,--output", args->output, "Output JSON Lines file")->required();
  cc->add_option("--energy-column", args->energy_column, "Energy column (kWh) to use")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu_energy", "energy_consumed", "gpu_energy", "ram_energy"}));
  cc->add_option("--source", args->source, "Provenance text stored in every record");
  cc->add_flag("--strict", args->strict, "Fail on the first malformed row instead of skipping it");
  cc->add_flag("-q,--quiet", args->quiet, "No summary line");
  cc->callback([args] { RunCodeCarbon(*args); });

  auto zargs = std::make_shared<ZeusArgs>();
  auto* zeus = cmd->add_subcommand(
      "zeus", "Zeus power trace (summary_power_<gpu>.csv) into training-run records");
  zeus->add_option("file", zargs->file, "summary_power_<gpu>.csv")
      ->required()
      ->check(CLI::ExistingFile);
  zeus->add_option("--gpu", zargs->gpu, "GPU the trace was measured on (data/hardware/gpus.json)")
      ->required();
  zeus->add_option("-o,--output", zargs->output, "Output JSON Lines file")->required();
  zeus->add_option("--source", zargs->source, "Provenance text stored in every record");
  zeus->add_flag("-q,--quiet", zargs->quiet, "No summary line");
  zeus->callback([zargs] { RunZeus(*zargs); });
}

}  // namespace joulecast::cli
