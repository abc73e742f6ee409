// joulecast breakeven --e-enc J --e-enc-cls J --e-cls J [--json]
// After how many downstream tasks pretraining an encoder once pays off
// (predict/online_estimate.h, PretrainingBreakeven): x = E_enc / (E_enc+cls − E_cls).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "joulecast/predict/online_estimate.h"

namespace joulecast::cli {
namespace {

struct BreakevenArgs {
  double e_enc = 0, e_enc_cls = 0, e_cls = 0;
  bool json = false;
};

void RunBreakeven(const BreakevenArgs& a) {
  const Breakeven b = PretrainingBreakeven(a.e_enc, a.e_enc_cls, a.e_cls);
  if (a.json) {
    std::cout << nlohmann::json{{"e_enc_j", a.e_enc},
                                {"e_enc_cls_j", a.e_enc_cls},
                                {"e_cls_j", a.e_cls},
                                {"tasks", b.tasks},
                                {"first_paying_task", b.first_paying_task
                                                          ? nlohmann::json(*b.first_paying_task)
                                                          : nlohmann::json(nullptr)}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << fmt::format(
      "x = E_enc / (E_enc+cls - E_cls) = {:.6g} / ({:.6g} - {:.6g}) = {:.4g} tasks\n", a.e_enc,
      a.e_enc_cls, a.e_cls, b.tasks);
  std::cout << fmt::format(
      "Training from scratch costs {:.6g} J per task; pretraining costs {:.6g} J once and then "
      "{:.6g} J per task. Both cost the same at x tasks: pretraining pays off for more than "
      "{:.4g} downstream tasks{}.\n",
      a.e_enc_cls, a.e_enc, a.e_cls, b.tasks,
      b.first_paying_task ? fmt::format(", i.e. from task {} on", *b.first_paying_task) : "");
}

}  // namespace

void RegisterBreakeven(CLI::App& app) {
  auto a = std::make_shared<BreakevenArgs>();
  auto* cmd = app.add_subcommand(
      "breakeven", "Downstream tasks after which pretraining an encoder pays off in energy");
  cmd->add_option("--e-enc", a->e_enc, "Energy to pretrain the encoder once, J")->required();
  cmd->add_option("--e-enc-cls", a->e_enc_cls,
                  "Energy to train encoder and classifier from scratch for one task, J")
      ->required();
  cmd->add_option("--e-cls", a->e_cls,
                  "Energy to train the classifier on the pretrained encoder for one task, J")
      ->required();
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->callback([a] { RunBreakeven(*a); });
}

}  // namespace joulecast::cli
