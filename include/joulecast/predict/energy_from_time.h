// Energy from a time profile, where no model of power exists: E = t · P, with P the machine's
// average power (W) while it runs the network, either
//   - measured: the records the profile was fitted or calibrated on had a meter (RAPL, NVML);
//     P = Σ energy_j / Σ duration_s over those records (gross power of the metered domain, as the
//     records' energy_j is), kept in the profile's "power" (profile.h); or
//   - stated by the user (predict --power W), which takes precedence.
// The output says which. A profile that predicts energy (target energy_j) needs neither.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

struct PowerAssumption {
  double watts = 0;
  std::string source;  // "measured" | "stated"
  std::string detail;  // "mean of 412 records with meter rapl" | "--power 65"
  // How outputs name the source: "measured", or "assumed" for a stated power.
  const char* Kind() const { return source == "stated" ? "assumed" : "measured"; }
};

// {"watts", "source": "measured", "meter", "records"} from the records with energy (whole
// networks included), or null when none has any.
nlohmann::json MeasuredPower(const std::vector<const Measurement*>& records);

// The power to turn `profile`'s seconds into joules: `stated` (> 0) when given, else the
// profile's measured power, else nullopt. Throws std::runtime_error
//   "--power: profile P predicts energy already (target energy_j); --power turns a time
//    profile's seconds into joules"
// when `stated` is given for an energy profile, and "--power must be > 0, got -3".
std::optional<PowerAssumption> PowerFor(const Profile& profile, std::optional<double> stated);

}  // namespace joulecast
