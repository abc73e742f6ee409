// Carbon intensity of grid electricity by country or region (data/carbon/grid_intensity.json):
// g CO2e per kWh with the source and the year of the data of each entry, used to turn energy into
// emissions: CO2e [kg] = energy [kWh] × intensity [g/kWh] / 1000.
//
// Codes are matched after normalisation: upper case, '_' and ' ' read as '-' ("us_ca", "US CA"
// and "US-CA" are one code). An entry can also be found by its name ("Germany"), case-insensitive.
//
// Errors (std::runtime_error):
//   Load/FromJson  "path: ..." for a missing file or invalid JSON; "path: regions[3] (DE): field
//                  'g_co2e_per_kwh' must be a number >= 0" for a missing or invalid field (code,
//                  name and source non-empty strings, year an integer or null); a duplicate code
//                  "path: code 'DE' appears twice"
//   Find           "unknown region 'DX'; did you mean: DE (Germany), DK (Denmark), ...? (path)": the
//                  up to 5 codes or names closest in edit distance (at most max(2, length/3)
//                  edits, or containing the query), or the list of all codes when none is close
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace joulecast {

struct GridRegion {
  std::string code, name;
  double g_co2e_per_kwh = 0;
  std::optional<int> year;  // year of the underlying data, when the source states one
  std::string source;
  nlohmann::json ToJson() const;  // {"code", "name", "g_co2e_per_kwh", "year", "source"}
};

// Upper case, '_' and ' ' turned into '-'.
std::string NormalizeRegionCode(const std::string& code);

// kg CO2e of `energy_j` joules at `g_co2e_per_kwh`.
double Co2eKg(double energy_j, double g_co2e_per_kwh);

class GridIntensityTable {
 public:
  static GridIntensityTable FromJson(const nlohmann::json& j, const std::string& where);
  static GridIntensityTable Load(const std::string& path);
  // data/carbon/grid_intensity.json, found by FindDataFile (io/data_path.h).
  static GridIntensityTable LoadDefault();

  const GridRegion& Find(const std::string& code_or_name) const;
  const GridRegion* TryFind(const std::string& code_or_name) const;
  const std::vector<GridRegion>& regions() const { return regions_; }
  const std::string& path() const { return path_; }
  const std::string& source() const { return source_; }  // the file's top-level "source"

 private:
  std::vector<GridRegion> regions_;
  std::string path_, source_;
};

}  // namespace joulecast
