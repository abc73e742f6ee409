// joulecast gpu-ops: operator latency on NVIDIA GPUs from their specs (predict/gpu_op_model.h).
//
//   gpu-ops fit [--data DIR] [--ops L] [--no-cv] -o FILE
//                                             fits one model per operator on DIR/train/*.csv and
//                                             writes it with its leave-one-GPU-out scores ('cv')
//                                             and provenance ('hardware')
//   gpu-ops evaluate [--data DIR] [--ops L] [--json]
//                                             leave-one-GPU-out on the training GPUs, then the
//                                             model fitted on all of them on DIR/test/*.csv (two
//                                             of its GPUs it never saw); the roofline beside each
//   gpu-ops evaluate --model FILE --test DIR [--ops L] [--json]
//                                             a fitted model, unchanged, on the tables of DIR
//                                             (the test tables' columns; e.g. your own GPU's)
//   gpu-ops predict OP SIZES --gpu NAME --model FILE
//                                             one call, e.g. `linear 8,512,4096,1024 --gpu H100`
//
// DIR defaults to data/neusight2025 (tools/import_neusight.py).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "commands.h"
#include "joulecast/io/atomic_file.h"
#include "joulecast/io/csv.h"
#include "joulecast/io/data_path.h"
#include "joulecast/predict/gpu_op_model.h"

namespace joulecast::cli {
namespace {

struct GpuOpsArgs {
  std::string data, out, model, gpu, op, sizes, ops, test;
  bool json = false, no_cv = false;
};

std::string DataDir(const std::string& given) {
  if (!given.empty()) return given;
  // FindDataFile finds files: the folder is that of a table it holds.
  return std::filesystem::path(FindDataFile("neusight2025/train/linear.csv"))
      .parent_path()
      .parent_path()
      .string();
}

std::set<std::string> OpFilter(const std::string& list) {
  std::set<std::string> ops;
  std::stringstream ss(list);
  for (std::string op; std::getline(ss, op, ',');) {
    if (op.empty()) continue;
    const auto& known = GpuOps();
    if (std::find(known.begin(), known.end(), op) == known.end()) {
      throw std::runtime_error(
          fmt::format("--ops: unknown GPU operator '{}'; known: {}", op, fmt::join(known, ", ")));
    }
    ops.insert(op);
  }
  return ops;
}

// Every table of `folder` (sorted by file name), keeping the operators of `ops` (empty: all).
std::vector<GpuOpRecord> LoadTables(const std::filesystem::path& folder,
                                    const std::set<std::string>& ops, const GpuTable& gpus) {
  if (!std::filesystem::is_directory(folder))
    throw std::runtime_error(folder.string() + ": not a folder (tools/import_neusight.py)");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    if (e.path().extension() == ".csv") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<GpuOpRecord> out;
  for (const std::string& f : files) {
    for (GpuOpRecord& r : LoadNeuSightTable(f, gpus)) {
      if (ops.empty() || ops.count(r.call.op)) out.push_back(std::move(r));
    }
  }
  if (out.empty()) throw std::runtime_error(folder.string() + ": no records");
  return out;
}

std::vector<GpuOpRecord> LoadPart(const std::string& dir, const std::string& part,
                                  const std::set<std::string>& ops, const GpuTable& gpus) {
  return LoadTables(std::filesystem::path(dir) / part, ops, gpus);
}

void PrintScores(const std::string& title, const std::vector<GpuOpScore>& scores) {
  std::cout << title << "\n"
            << fmt::format("{:<9} {:<16} {:>7} {:>9} {:>12}\n", "operator", "gpu", "n", "MAPE%",
                           "roofline%");
  for (const GpuOpScore& s : scores) {
    std::cout << fmt::format("{:<9} {:<16} {:>7} {:>9.1f} {:>12.1f}\n", s.op, s.gpu, s.n, s.mape,
                             s.roofline_mape);
  }
}

// The provenance block written with a fitted model.
nlohmann::json Provenance(const GpuOpModel& m, const std::string& dir) {
  nlohmann::json h = m.hardware;
  h["source"] =
      "NeuSight's public operator latency tables (Lee et al., NeuSight, ASPLOS 2025; "
      "sitar-lab/NeuSight commit 6945927, scripts/asplos/op_latency/train)";
  h["licence"] = "MIT (data/neusight2025/LICENSE)";
  h["source_path"] = (std::filesystem::path(dir) / "train").string();
  h["measured"] = "PyTorch 2.1, CUDA 12.1, float32 (TF32 off), latency from CUDA events";
  h["gpu_specs"] = "data/hardware/gpus.json";
  h["note"] =
      "conv was measured on the A100 PCIe 80GB, every other operator on the A100 PCIe 40GB; the "
      "test tables' L4 (and the A100 PCIe 80GB, except for conv) have no training rows";
  return h;
}

void RunFit(const GpuOpsArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  const std::string dir = DataDir(a.data);
  const std::vector<GpuOpRecord> records = LoadPart(dir, "train", OpFilter(a.ops), gpus);
  GpuOpModel m = GpuOpModel::Fit(records, gpus);
  m.hardware = Provenance(m, a.data.empty() ? "data/neusight2025" : a.data);
  m.cv = a.no_cv ? nlohmann::json::array() : GpuOpScoresJson(LeaveOneGpuOut(records, gpus));
  WriteFileAtomically(a.out, m.ToJson().dump(1) + "\n");
  std::cout << fmt::format("{}: {} operators from {} records{}\n", a.out, m.predictors().size(),
                           records.size(), a.no_cv ? "" : ", leave-one-GPU-out scores in 'cv'");
  for (const GpuOpPredictor& p : m.predictors()) {
    const auto& o = p.f.options();
    std::cout << fmt::format("  {:<8} power {:<13} c {:<9.4g} degree {} kernel {:<3} features {}\n",
                             p.op, p.power, p.power_c, o.degree, o.use_kernel ? "on" : "off",
                             p.kept.size());
  }
}

// The records of operators `m` predicts; the other operators go to `lacking` when given.
std::vector<GpuOpRecord> Predicted(const GpuOpModel& m, std::vector<GpuOpRecord> records,
                                   std::set<std::string>* lacking = nullptr) {
  std::vector<GpuOpRecord> kept;
  for (GpuOpRecord& r : records) {
    if (m.Has(r.call.op)) {
      kept.push_back(std::move(r));
    } else if (lacking) {
      lacking->insert(r.call.op);
    }
  }
  return kept;
}

// A shipped model, unchanged, on tables measured elsewhere (`--model FILE --test DIR`): no
// refit, so the figures are those a user of that model file gets.
void RunEvaluateModel(const GpuOpsArgs& a, const GpuTable& gpus) {
  const GpuOpModel m = GpuOpModel::Load(a.model);
  std::set<std::string> lacking;
  const std::vector<GpuOpRecord> scored =
      Predicted(m, LoadTables(a.test, OpFilter(a.ops), gpus), &lacking);
  if (scored.empty()) {
    throw std::runtime_error(a.test + ": no records of an operator that " + a.model + " predicts");
  }
  const std::vector<GpuOpScore> scores = ScoreGpuOps(m, scored, gpus);
  if (a.json) {
    std::cout << nlohmann::json{{"model", a.model},
                                {"test", GpuOpScoresJson(scores)},
                                {"operators_without_predictor", lacking}}
                     .dump(1)
              << "\n";
    return;
  }
  PrintScores(fmt::format("{} on the tables of {}:", a.model, a.test), scores);
  if (!lacking.empty()) {
    std::cout << fmt::format("not scored (no predictor in the model): {}\n",
                             fmt::join(lacking, ", "));
  }
}

void RunEvaluate(const GpuOpsArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  if (a.model.empty() != a.test.empty()) {
    throw std::runtime_error(
        "gpu-ops evaluate: --model and --test go together (a fitted model "
        "scored on the tables of a folder)");
  }
  if (!a.model.empty()) return RunEvaluateModel(a, gpus);
  const std::string dir = DataDir(a.data);
  const std::set<std::string> ops = OpFilter(a.ops);
  const std::vector<GpuOpRecord> train = LoadPart(dir, "train", ops, gpus);
  const std::vector<GpuOpScore> logo = LeaveOneGpuOut(train, gpus);
  std::vector<GpuOpRecord> test;
  for (GpuOpRecord& r : LoadPart(dir, "test", {}, gpus)) {
    if (ops.empty() || ops.count(r.call.op)) test.push_back(std::move(r));
  }
  const GpuOpModel m = GpuOpModel::Fit(train, gpus);
  const std::vector<GpuOpScore> held_out = ScoreGpuOps(m, Predicted(m, std::move(test)), gpus);
  if (a.json) {
    std::cout << nlohmann::json{{"leave_one_gpu_out", GpuOpScoresJson(logo)},
                                {"test", GpuOpScoresJson(held_out)}}
                     .dump(1)
              << "\n";
    return;
  }
  PrintScores(
      "leave-one-GPU-out on the training tables (each GPU predicted by a model fitted on "
      "the others):",
      logo);
  std::cout << "\n";
  PrintScores(
      "test tables, model fitted on all training GPUs (L4 and A100 PCIe 80GB have no "
      "training rows for these operators):",
      held_out);
}

std::vector<std::int64_t> ParseSizes(const std::string& text) {
  std::vector<std::int64_t> sizes;
  std::stringstream ss(text);
  for (std::string s; std::getline(ss, s, ',');) sizes.push_back(ParseInt(s, "SIZES"));
  return sizes;
}

void RunPredict(const GpuOpsArgs& a) {
  const GpuTable gpus = GpuTable::LoadDefault();
  const GpuSpec& gpu = gpus.Find(a.gpu);
  const GpuOpModel m = GpuOpModel::Load(a.model);
  const GpuOpCall call{a.op, ParseSizes(a.sizes)};
  const double s = m.Predict(call, gpu);
  const double roof = RooflineSeconds(WorkOf(call), gpu);
  if (a.json) {
    std::cout << nlohmann::json{{"op", a.op},
                                {"sizes", call.sizes},
                                {"gpu", gpu.name},
                                {"latency_s", s},
                                {"roofline_s", roof}}
                     .dump(1)
              << "\n";
    return;
  }
  std::cout << fmt::format("{} {} on {}: {:.4g} ms (roofline {:.4g} ms)\n", a.op, a.sizes, gpu.name,
                           s * 1e3, roof * 1e3);
}

}  // namespace

void RegisterGpuOps(CLI::App& app) {
  auto args = std::make_shared<GpuOpsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gpu-ops", "Operator latency on NVIDIA GPUs from their specs (NeuSight's public tables)");
  cmd->require_subcommand(1);

  CLI::App* fit = cmd->add_subcommand("fit", "Fit one model per operator on DIR/train");
  fit->add_option("--data", args->data, "Tables folder (default data/neusight2025)");
  fit->add_option("--ops", args->ops, "Comma list of operators (default: all)");
  fit->add_option("-o,--output", args->out, "Model file to write")->required();
  fit->add_flag("--no-cv", args->no_cv, "Skip the leave-one-GPU-out scores (field 'cv')");
  fit->callback([args] { RunFit(*args); });

  CLI::App* ev = cmd->add_subcommand(
      "evaluate", "Leave-one-GPU-out and test-set MAPE per operator and GPU, roofline beside");
  ev->add_option("--data", args->data, "Tables folder (default data/neusight2025)");
  ev->add_option("--ops", args->ops, "Comma list of operators (default: all)");
  ev->add_option("--model", args->model,
                 "Score this fitted model, unchanged, on --test (no refit, no leave-one-GPU-out)");
  ev->add_option("--test", args->test, "Folder of tables in the test tables' columns");
  ev->add_flag("--json", args->json, "JSON output");
  ev->callback([args] { RunEvaluate(*args); });

  CLI::App* pr = cmd->add_subcommand("predict", "Latency of one operator call on a GPU");
  pr->add_option("op", args->op, "Operator (linear, bmm, conv, ln, softmax, add, ...)")->required();
  pr->add_option("sizes", args->sizes, "Sizes, comma separated (linear: B,M,N,K)")->required();
  pr->add_option("--gpu", args->gpu, "GPU name (data/hardware/gpus.json)")->required();
  pr->add_option("--model", args->model, "Model file from gpu-ops fit")->required();
  pr->add_flag("--json", args->json, "JSON output");
  pr->callback([args] { RunPredict(*args); });
}

}  // namespace joulecast::cli
