#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "commands.h"
#include "joulecast/io/one_line.h"

int main(int argc, char** argv) {
  CLI::App app{"joulecast: predict the energy and time of neural networks before running them"};
  app.set_version_flag("--version", std::string("joulecast ") + JOULECAST_VERSION);
  app.require_subcommand(1);
  joulecast::cli::RegisterImport(app);
  joulecast::cli::RegisterFit(app);
  joulecast::cli::RegisterEvaluate(app);
  joulecast::cli::RegisterPredict(app);
  joulecast::cli::RegisterEvaluateLogo(app);
  joulecast::cli::RegisterTrainEstimate(app);
  joulecast::cli::RegisterCompare(app);
  joulecast::cli::RegisterExtrapolate(app);
  joulecast::cli::RegisterBreakeven(app);
  joulecast::cli::RegisterSweep(app);
  joulecast::cli::RegisterCollect(app);
  joulecast::cli::RegisterSpread(app);
  joulecast::cli::RegisterInspect(app);
  joulecast::cli::RegisterGpuOps(app);
  joulecast::cli::RegisterCalibrate(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "joulecast: error: " << joulecast::OneLine(e.what()) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "joulecast: error: " << joulecast::OneLine(e.what()) << "\n";
    return 1;
  }
  return 0;
}
