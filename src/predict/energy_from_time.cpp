#include "joulecast/predict/energy_from_time.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <stdexcept>

namespace joulecast {

nlohmann::json MeasuredPower(const std::vector<const Measurement*>& records) {
  double joules = 0, seconds = 0;
  std::size_t n = 0;
  std::set<std::string> meters;
  for (const Measurement* m : records) {
    if (!m->energy_j || !(*m->energy_j > 0) || !(m->duration_s > 0)) continue;
    joules += *m->energy_j;
    seconds += m->duration_s;
    meters.insert(m->meter);
    ++n;
  }
  if (n == 0 || !(seconds > 0)) return nullptr;
  std::string meter;
  for (const std::string& s : meters) meter += (meter.empty() ? "" : ",") + s;
  return {{"watts", joules / seconds}, {"source", "measured"}, {"meter", meter}, {"records", n}};
}

std::optional<PowerAssumption> PowerFor(const Profile& profile, std::optional<double> stated) {
  if (stated) {
    if (!(*stated > 0) || !std::isfinite(*stated)) {
      throw std::runtime_error(fmt::format("--power must be > 0, got {}", *stated));
    }
    if (profile.target != "time_s") {
      throw std::runtime_error(fmt::format(
          "--power: profile {} predicts energy already (target {}); --power turns a time "
          "profile's seconds into joules",
          profile.name, profile.target));
    }
    return PowerAssumption{*stated, "stated", fmt::format("--power {}", *stated)};
  }
  if (profile.target == "time_s" && profile.power.is_object() && profile.power.contains("watts")) {
    return PowerAssumption{
        profile.power["watts"].get<double>(), "measured",
        fmt::format("mean of {} records with meter {}", profile.power.value("records", 0),
                    profile.power.value("meter", "?"))};
  }
  return std::nullopt;
}

}  // namespace joulecast
