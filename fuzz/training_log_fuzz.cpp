// Partial training logs (io/training_log.h, the CSV `joulecast extrapolate` reads): every epoch
// read has a finite duration > 0 and, with energy, a finite energy >= 0; the extrapolations of
// what reads (fixed K = 1, w = 1 and detected K) are finite and non-negative or rejected with a
// one-line message.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "joulecast/io/training_log.h"
#include "joulecast/predict/online_estimate.h"

using namespace joulecast;

namespace {

void CheckOptional(const std::optional<double>& v, const char* what) {
  if (v) fuzz::CheckNonNegative(*v, what);
}

void CheckExtrapolation(const TrainingLog& log, const Extrapolation& x) {
  fuzz::CheckNonNegative(x.used_time_s, "used_time_s");
  fuzz::CheckNonNegative(x.window_time_s, "window_time_s");
  fuzz::CheckNonNegative(x.predicted_time_s, "predicted_time_s");
  CheckOptional(x.used_energy_j, "used_energy_j");
  CheckOptional(x.window_energy_j, "window_energy_j");
  CheckOptional(x.window_power_w, "window_power_w");
  CheckOptional(x.power_based_j, "power_based_j");
  CheckOptional(x.epoch_based_j, "epoch_based_j");
  if (x.used_energy_j.has_value() != log.has_energy())
    fuzz::Fail("energy estimate present without energy in the log, or missing with it");
  (void)x.ToJson().dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    std::istringstream in(text);
    const TrainingLog log = ReadTrainingLog(in, "fuzz.csv");
    if (log.epochs.empty()) fuzz::Fail("log without epochs accepted");
    for (std::size_t i = 0; i < log.epochs.size(); ++i) {
      const LogEpoch& e = log.epochs[i];
      if (e.epoch != static_cast<int>(i) + 1) fuzz::Fail("epochs out of order accepted");
      fuzz::CheckFinite(e.duration_s, "duration_s");
      if (!(e.duration_s > 0)) fuzz::Fail("duration_s <= 0 accepted");
      if (e.energy_j.has_value() != log.has_energy()) fuzz::Fail("energy missing on an epoch");
      CheckOptional(e.energy_j, "energy_j");
    }
    const int n = static_cast<int>(log.epochs.size());
    for (int total : {n, n + 1, 2 * n + 7}) {
      fuzz::Guard(text, [&] {
        OnlineOptions fixed;
        fixed.stable_epoch = n > 1 ? 1 : 0;
        fixed.window = 1;
        CheckExtrapolation(log, Extrapolate(log, total, fixed));
      });
      fuzz::Guard(text, [&] {
        OnlineOptions detect;
        detect.stable_epoch = std::nullopt;
        detect.window = 2;
        CheckExtrapolation(log, Extrapolate(log, total, detect));
      });
    }
  });
  return 0;
}
