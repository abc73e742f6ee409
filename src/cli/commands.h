// One Register* function per subcommand, each in src/cli/<command>.cpp. A subcommand's callback
// throws on any error; main turns the exception into "joulecast: error: ..." and exit status 1.
#pragma once

#include <CLI/CLI.hpp>

namespace joulecast::cli {

void RegisterImport(CLI::App& app);
void RegisterFit(CLI::App& app);
void RegisterEvaluate(CLI::App& app);
void RegisterPredict(CLI::App& app);
void RegisterEvaluateLogo(CLI::App& app);
void RegisterTrainEstimate(CLI::App& app);
void RegisterCompare(CLI::App& app);
void RegisterExtrapolate(CLI::App& app);
void RegisterBreakeven(CLI::App& app);
void RegisterSweep(CLI::App& app);
void RegisterCollect(CLI::App& app);
void RegisterSpread(CLI::App& app);
void RegisterInspect(CLI::App& app);
void RegisterGpuOps(CLI::App& app);
void RegisterCalibrate(CLI::App& app);

}  // namespace joulecast::cli
