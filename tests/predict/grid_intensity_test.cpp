// The grid carbon-intensity table: lookup by code or name, suggestions for unknown codes, the
// shipped table's values against its source, and malformed tables.
#include "joulecast/predict/grid_intensity.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "error_of.h"

namespace joulecast {
namespace {

using nlohmann::json;

using joulecast_test::ErrorOf;

json Region(const std::string& code, const std::string& name, double g) {
  return json{{"code", code}, {"name", name}, {"g_co2e_per_kwh", g}, {"year", 2020},
              {"source", "test"}};
}

TEST(GridIntensityTest, ShippedTableMatchesGreenAlgorithms) {
  // Values of Green Algorithms' data/v2.2/CI_aggregated.csv (the table's stated source).
  const GridIntensityTable t = GridIntensityTable::LoadDefault();
  EXPECT_EQ(t.regions().size(), 131u);
  EXPECT_DOUBLE_EQ(t.Find("DE").g_co2e_per_kwh, 338.66);
  EXPECT_DOUBLE_EQ(t.Find("FR").g_co2e_per_kwh, 51.28);
  EXPECT_DOUBLE_EQ(t.Find("WORLD").g_co2e_per_kwh, 475);
  const GridRegion& ca = t.Find("US-CA");
  EXPECT_EQ(ca.name, "California (USA)");
  EXPECT_DOUBLE_EQ(ca.g_co2e_per_kwh, 216.43);
  EXPECT_EQ(ca.year, 2020);
  EXPECT_EQ(ca.source, "carbonfootprint (March 2022) (data from 2020 published in 2022)");
  // GB's source gives 2019/20 data: stored as 2020. Taiwan's states no year.
  EXPECT_EQ(t.Find("GB").year, 2020);
  EXPECT_FALSE(t.Find("TW").year.has_value());
  EXPECT_TRUE(t.Find("TW").ToJson()["year"].is_null());
  EXPECT_NE(t.source().find("Green Algorithms"), std::string::npos);
}

TEST(GridIntensityTest, CodesAreNormalisedAndNamesWork) {
  const GridIntensityTable t = GridIntensityTable::LoadDefault();
  EXPECT_EQ(NormalizeRegionCode("us_ca"), "US-CA");
  EXPECT_EQ(NormalizeRegionCode("us ca"), "US-CA");
  EXPECT_EQ(&t.Find("us_ca"), &t.Find("US-CA"));
  EXPECT_EQ(&t.Find("us ca"), &t.Find("US-CA"));
  EXPECT_EQ(t.Find("germany").code, "DE");
  EXPECT_EQ(t.TryFind("Atlantis"), nullptr);
}

TEST(GridIntensityTest, UnknownRegionListsCloseMatches) {
  const GridIntensityTable t = GridIntensityTable::LoadDefault();
  // "DX" is one edit from DK, DE and MX (table order kept among equal distances).
  EXPECT_EQ(ErrorOf([&] { t.Find("DX"); }),
            "unknown region 'DX'; did you mean: DK (Denmark), DE (Germany), MX (Mexico)? (" +
                t.path() + ")");
  // A misspelt name: "Germny" is one edit from "GERMANY".
  EXPECT_EQ(ErrorOf([&] { t.Find("Germny"); }).rfind("unknown region 'Germny'; did you mean: DE "
                                                     "(Germany)",
                                                     0),
            0u);
  // Nothing close: the known codes are listed.
  const GridIntensityTable small = GridIntensityTable::FromJson(
      json{{"regions", {Region("DE", "Germany", 300), Region("FR", "France", 50)}}}, "t.json");
  EXPECT_EQ(ErrorOf([&] { small.Find("QQQQQQ"); }),
            "unknown region 'QQQQQQ'; known codes: DE, FR (t.json)");
}

TEST(GridIntensityTest, Co2e) {
  // 3.6e6 J = 1 kWh; at 400 g/kWh that is 0.4 kg.
  EXPECT_DOUBLE_EQ(Co2eKg(3.6e6, 400), 0.4);
  EXPECT_DOUBLE_EQ(Co2eKg(0, 400), 0);
}

TEST(GridIntensityTest, MalformedTables) {
  auto err = [](const json& j) {
    return ErrorOf([&] { GridIntensityTable::FromJson(j, "t.json"); });
  };
  EXPECT_EQ(err(json::array()), "t.json: expected an object with a 'regions' array");
  EXPECT_EQ(err(json{{"regions", json::array()}}), "t.json: no regions");
  json r = Region("DE", "Germany", 300);
  r.erase("g_co2e_per_kwh");
  EXPECT_EQ(err(json{{"regions", {r}}}),
            "t.json: regions[0] (DE): field 'g_co2e_per_kwh' must be a number >= 0");
  EXPECT_EQ(err(json{{"regions", {Region("FR", "France", 50), Region("DE", "Germany", -1)}}}),
            "t.json: regions[1] (DE): field 'g_co2e_per_kwh' must be a number >= 0");
  r = Region("DE", "Germany", 300);
  r["year"] = "2020";
  EXPECT_EQ(err(json{{"regions", {r}}}),
            "t.json: regions[0] (DE): field 'year' must be an integer or null");
  r = Region("DE", "Germany", 300);
  r["source"] = "";
  EXPECT_EQ(err(json{{"regions", {r}}}),
            "t.json: regions[0] (DE): field 'source' must be a non-empty string");
  EXPECT_EQ(err(json{{"regions", {json{{"name", "x"}}}}}),
            "t.json: regions[0]: field 'code' must be a non-empty string");
  EXPECT_EQ(err(json{{"regions", {Region("DE", "Germany", 300), Region("de", "Again", 1)}}}),
            "t.json: code 'de' appears twice");
  EXPECT_EQ(ErrorOf([] { GridIntensityTable::Load("/nonexistent/grid.json"); }),
            "/nonexistent/grid.json: cannot open");
}

}  // namespace
}  // namespace joulecast
