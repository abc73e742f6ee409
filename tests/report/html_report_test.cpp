// The HTML pages: self-contained (no scripts, nothing fetched), every machine-readable figure equal
// to the JSON it points into, readable for ResNet152 and 20 architectures, clear errors for empty
// reports, and the profile's trust figures on every page.
#include "joulecast/report/html_report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"
#include "html_checks.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"
#include "joulecast/predict/training_model.h"

namespace joulecast::report {
namespace {

const std::string kProfile = std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json";
const std::string kTraining = std::string(JOULECAST_SOURCE_DIR) + "/models/gpu-training.json";

using Figure = joulecast_test::HtmlFigure;
using joulecast_test::Count;
using joulecast_test::HtmlFigures;
using joulecast_test::InvalidArgumentMessage;
std::vector<Figure> Figures(const std::string& html) { return HtmlFigures(html); }

// Nothing a browser would run or fetch: no scripts, no src/href attributes, no CSS url() or
// @import, no event handlers. (The only "http" is the SVG namespace name, never fetched.)
void ExpectSelfContained(const std::string& html) {
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Inside a tag (escaped text such as "&lt;img src=x&gt;" is harmless and may occur).
  EXPECT_EQ(joulecast_test::FirstActiveAttribute(html), "");
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  std::string rest = html;
  for (std::size_t p; (p = rest.find("http")) != std::string::npos;) {
    EXPECT_EQ(rest.substr(p, 26), "http://www.w3.org/2000/svg");
    rest = rest.substr(p + 4);
  }
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>\n"), std::string::npos);
}

class NetworkPageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    profile_ = new Profile(Profile::Load(kProfile));
    est_ = new NetworkEstimate(EstimateNetwork(*profile_, LoadZooArchitecture("resnet152"), 32));
  }
  static void TearDownTestSuite() {
    delete est_;
    delete profile_;
  }
  static Profile* profile_;
  static NetworkEstimate* est_;
};
Profile* NetworkPageTest::profile_ = nullptr;
NetworkEstimate* NetworkPageTest::est_ = nullptr;

// The page checks themselves (tests/html_checks.h) find what they look for.
TEST(HtmlChecks, FindActiveAttributesInTagsOnly) {
  EXPECT_EQ(joulecast_test::FirstActiveAttribute("<p class=\"x\">&lt;img src=x&gt;</p>"), "");
  EXPECT_EQ(joulecast_test::FirstActiveAttribute("<svg viewBox=\"0 0 1 1\"><path d=\"M0\"/>"), "");
  EXPECT_EQ(joulecast_test::FirstActiveAttribute("<img  src = \"a.png\">"),
            "src in <img  src = \"a.png\"");
  EXPECT_EQ(joulecast_test::FirstActiveAttribute("<a\nhref=x>"), "href in <a\nhref=x");
  EXPECT_EQ(joulecast_test::FirstActiveAttribute("<div onclick=\"f()\">"),
            "onclick in <div onclick=\"f()\"");
  EXPECT_EQ(joulecast_test::FirstActiveAttribute("<div srcset=x on=y>"), "");
  const auto figs = joulecast_test::HtmlFigures(
      "<td data-json=\"/a/0\" data-value=\"1.5\">1.5</td><b data-json=\"/b\" data-value=\"-2e3\">");
  ASSERT_EQ(figs.size(), 2u);
  EXPECT_EQ(figs[0].pointer, "/a/0");
  EXPECT_EQ(figs[0].value, 1.5);
  EXPECT_EQ(figs[1].pointer, "/b");
  EXPECT_EQ(figs[1].value, -2000.0);
}

TEST_F(NetworkPageTest, FiguresEqualTheEstimatesJson) {
  for (bool per_layer : {false, true}) {
    const nlohmann::json j = est_->ToJson(per_layer);
    NetworkReport r = MakeNetworkReport(*est_, per_layer, SummarizeProfile(*profile_, kProfile));
    const std::string html = NetworkReportHtml(r);
    const std::vector<Figure> figs = Figures(html);
    std::size_t layer_figs = 0;
    for (const Figure& f : figs) {
      ASSERT_TRUE(j.contains(nlohmann::json::json_pointer(f.pointer))) << f.pointer;
      EXPECT_EQ(f.value, j.at(nlohmann::json::json_pointer(f.pointer)).get<double>()) << f.pointer;
      if (f.pointer.rfind("/layers/", 0) == 0) ++layer_figs;
    }
    // Totals, per sample, MACs, parameters and the unmodelled figures; each type's four numbers.
    for (const char* p : {"/total_j", "/per_sample_j", "/macs", "/parameters", "/unmodelled/layers",
                          "/unmodelled/macs_share", "/unmodelled/share", "/by_type/Conv2d/j",
                          "/by_type/BatchNorm2d/share"}) {
      EXPECT_TRUE(std::any_of(figs.begin(), figs.end(),
                              [&](const Figure& f) { return f.pointer == p; }))
          << p;
    }
    // Layer rows carry their figures only when --json lists the layers: each operation appears
    // in the full table, the ten dearest again in the top-10 table (value, share, MACs each).
    EXPECT_EQ(layer_figs, per_layer ? 3 * (est_->layers.size() + 10) : 0u);
  }
}

TEST_F(NetworkPageTest, ResNet152StaysReadable) {
  ASSERT_GT(est_->layers.size(), 500u);  // convolutions, norms, ReLUs, adds: 500+ operations
  NetworkReport r = MakeNetworkReport(*est_, false, SummarizeProfile(*profile_, kProfile));
  const std::string html = NetworkReportHtml(r);
  ExpectSelfContained(html);
  // The depth chart sums runs of operations into at most 160 columns and says so.
  const std::size_t n = est_->layers.size(), per = (n + 159) / 160;
  EXPECT_NE(html.find(fmt::format("{} operations: each column sums {} consecutive ones", n, per)),
            std::string::npos);
  EXPECT_EQ(Count(html, "fill=\"transparent\""), (n + per - 1) / per);
  // The full list is folded away; the top ten come first.
  EXPECT_NE(html.find(fmt::format("<details><summary>All {} operations in forward order", n)),
            std::string::npos);
  EXPECT_NE(html.find(fmt::format("The 10 most expensive of {} operations", n)),
            std::string::npos);
  // Every layer row is in the full table (plus the header row).
  const std::size_t table = html.find("<table class=\"layers\">");
  ASSERT_NE(table, std::string::npos);
  const std::string layers = html.substr(table, html.find("</table>", table) - table);
  EXPECT_EQ(Count(layers, "<tr"), n + 1);
}

TEST_F(NetworkPageTest, UnmodelledLayersAreCalledOut) {
  NetworkReport r = MakeNetworkReport(*est_, false, SummarizeProfile(*profile_, kProfile));
  const std::string html = NetworkReportHtml(r);
  // The shipped profile has no BatchNorm2d, AdaptiveAvgPool2d or Add model: costed per element
  // as ReLU, red in the tables and flagged under the depth chart.
  EXPECT_NE(html.find(fmt::format(
                "<p class=\"callout\"><span data-json=\"/unmodelled/layers\" data-value=\"{}\">{}</span> "
                "operations have no model",
                est_->unmodelled_layers, est_->unmodelled_layers)),
            std::string::npos);
  EXPECT_NE(html.find("<tr><td>BatchNorm2d</td><td>per-element:ReLU</td><td class=\"n\">155</td>"),
            std::string::npos);
  EXPECT_NE(html.find("unmodelled (fallback)"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"card warn\"><div class=\"k\">unmodelled operations"),
            std::string::npos);
}

TEST_F(NetworkPageTest, KwhForPassesAndRunNameFromTheMode) {
  NetworkReport r = MakeNetworkReport(*est_, false, SummarizeProfile(*profile_, kProfile));
  r.passes = 1e6;
  r.total_kwh_for_passes = Quantity{est_->total * 1e6 / 3.6e6, "/total_kwh_for_passes"};
  std::string html = NetworkReportHtml(r);
  EXPECT_NE(html.find("<div class=\"k\">for 1\u2009000\u2009000 forward passes</div>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"d\">32\u2009000\u2009000 samples</div>"), std::string::npos);
  EXPECT_NE(html.find("<h1>resnet152: energy per forward pass</h1>"), std::string::npos);
  // ResNet152: 11.57 GMACs per 224x224 sample (torchvision's figure is 11.51 G plus the adds,
  // pools and norms counted here), 60.19 M parameters; "macs" is for the whole batch of 32.
  EXPECT_NE(html.find("<div class=\"k\">MACs (batch 32)</div><div class=\"v\" data-json=\"/macs\" "
                      "data-value=\"370284166400\">370.3\u202fG</div><div class=\"d\">11.57\u202fG per "
                      "sample</div>"),
            std::string::npos);
  EXPECT_NE(html.find("data-value=\"60192808\">60.19\u202fM</div>"), std::string::npos);
  r.mode = "train_step";
  html = NetworkReportHtml(r);
  EXPECT_NE(html.find("<div class=\"k\">for 1\u2009000\u2009000 training steps</div>"), std::string::npos);
  EXPECT_NE(html.find("<h1>resnet152: energy per training step</h1>"), std::string::npos);
  EXPECT_EQ(html.find("per forward pass ("), std::string::npos);
}

TEST_F(NetworkPageTest, ProfileSectionShowsHardwareDataAndCvError) {
  const ProfileSummary p = SummarizeProfile(*profile_, kProfile);
  EXPECT_EQ(p.name, "xeon-gold-5120");
  ASSERT_FALSE(p.hardware.empty());
  EXPECT_EQ(p.hardware[0], (std::pair<std::string, std::string>{
                               "cpu", "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz"}));
  EXPECT_EQ(p.sources.size(), 7u);
  EXPECT_EQ(p.errors.size(), 7u);
  // The figures of the README's cross-validation table (5-fold and extrapolation MAPE).
  ASSERT_EQ(p.errors[0].what, "Conv2d");
  EXPECT_NEAR(p.errors[0].mape_percent, 10.45, 0.005);
  ASSERT_TRUE(p.errors[0].extrapolation_mape_percent);
  EXPECT_NEAR(*p.errors[0].extrapolation_mape_percent, 4.70, 0.005);
  EXPECT_EQ(p.errors[0].n, 974u);
  NetworkReport r = MakeNetworkReport(*est_, false, p);
  const std::string html = NetworkReportHtml(r);
  EXPECT_NE(html.find("<dt>cpu</dt><dd>Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz</dd>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><td>Conv2d</td><td class=\"n\">974</td><td class=\"n\">10.5%</td><td "
                      "class=\"n\">4.7%</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<li>data/getzner2023/random/conv2d.jsonl</li>"), std::string::npos);
}

TEST(NetworkReportTest, NoLayersIsAnError) {
  NetworkReport r;
  r.network = "empty";
  EXPECT_EQ(InvalidArgumentMessage([&] { NetworkReportHtml(r); }),
            "network report of 'empty': no layers");
}

ComparisonReport Comparison(std::size_t n, bool with_accuracy) {
  ComparisonReport r;
  r.batch_size = 8;
  r.profile.name = "p";
  for (std::size_t i = 0; i < n; ++i) {
    ArchitectureRow a;
    a.name = "architecture_number_" + std::to_string(i);
    const double total = 1.0 + 0.5 * static_cast<double>(i);
    a.total = {total, fmt::format("/architectures/{}/total_j", i)};
    a.per_sample = {total / 8, fmt::format("/architectures/{}/per_sample_j", i)};
    a.macs = {1e9 * total, fmt::format("/architectures/{}/macs", i)};
    a.parameters = {1e6, fmt::format("/architectures/{}/parameters", i)};
    a.factor = Quantity{total, fmt::format("/architectures/{}/factor", i)};
    a.unmodelled_macs_share = {0.01, fmt::format("/architectures/{}/unmodelled/macs_share", i)};
    // Accuracy rises with cost except every third, which is dominated.
    if (with_accuracy) {
      a.accuracy = Quantity{0.5 + 0.02 * static_cast<double>(i) - (i % 3 == 2 ? 0.05 : 0.0),
                            fmt::format("/architectures/{}/accuracy", i)};
    }
    r.rows.push_back(a);
  }
  return r;
}

TEST(ComparisonReportTest, TwentyArchitecturesStayReadable) {
  const ComparisonReport r = Comparison(20, true);
  const std::string html = ComparisonReportHtml(r);
  ExpectSelfContained(html);
  // One bar and one table row per architecture; the bar chart grows with the rows (24 px each).
  EXPECT_EQ(Count(html, "<g class=\"bar"), 20u);
  const std::size_t table = html.find("<table class=\"archs\">");
  ASSERT_NE(table, std::string::npos);
  EXPECT_EQ(Count(html.substr(table, html.find("</table>", table) - table), "<tr"), 21u);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, std::regex("aria-label=\"energy per forward pass by "
                                                    "architecture\"")));
  const std::regex bar_h("viewBox=\"0 0 1000.00 ([0-9.]+)\" width=\"1000.00\" height=\"[0-9.]+\" "
                         "role=\"img\" aria-label=\"energy per forward pass by");
  ASSERT_TRUE(std::regex_search(html, m, bar_h));
  EXPECT_GE(std::stod(m[1]), 20 * 24.0);
  // Pareto front: the rows whose accuracy no cheaper row matches (i % 3 != 2 here, since
  // accuracy otherwise rises with cost), marked in the table and drawn filled.
  std::size_t expected = 0;
  for (std::size_t i = 0; i < 20; ++i) expected += i % 3 != 2 ? 1 : 0;
  EXPECT_EQ(Count(html, "<td>\u2713 front</td>"), expected);
  EXPECT_EQ(Count(html, "<circle class=\"point front\""), expected);
  // Every figure in the table carries its pointer.
  EXPECT_EQ(Figures(html).size(), 2 + 20 * 7u);  // two cards + 7 numbers per row
}

TEST(ComparisonReportTest, WithoutAccuraciesThereIsNoScatter) {
  const std::string html = ComparisonReportHtml(Comparison(3, false));
  EXPECT_EQ(html.find("against accuracy"), std::string::npos);
  EXPECT_EQ(html.find("Pareto"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"card hl\"><div class=\"k\">cheapest: architecture_number_0"),
            std::string::npos);
}

TEST(ComparisonReportTest, PartialAccuraciesNameTheMissing) {
  ComparisonReport r = Comparison(3, true);
  r.rows[1].accuracy.reset();
  const std::string html = ComparisonReportHtml(r);
  EXPECT_NE(html.find("No accuracy given for: architecture_number_1."), std::string::npos);
}

TEST(ComparisonReportTest, NoArchitecturesIsAnError) {
  EXPECT_EQ(InvalidArgumentMessage([] { ComparisonReportHtml(ComparisonReport{}); }),
            "comparison report: no architectures");
}

TEST(ComparisonReportTest, NamesAreEscaped) {
  ComparisonReport r = Comparison(2, true);
  r.rows[0].name = "<script>alert(1)</script>";
  r.profile.name = "\"><img src=x>";
  const std::string html = ComparisonReportHtml(r);
  ExpectSelfContained(html);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
}

TrainingSetting Setting(const std::string& name, double e, double t, bool cheapest) {
  TrainingSetting s;
  s.name = name;
  s.energy_j = Quantity{e, "/e"};
  s.time_s = Quantity{t, "/t"};
  s.co2_kg = Quantity{e / 3.6e6 * 0.4, "/co2"};
  s.power_w = Quantity{e / t, "/p"};
  s.baselines = {{"TDP \u00d7 time", {t * 250, "/b0"}}, {"Green Algorithms", {t * 262, "/b1"}}};
  s.cheapest = cheapest;
  return s;
}

TEST(TrainingReportTest, SweepMarksTheCheapestAndShowsBaselines) {
  TrainingReport r;
  r.title = "Training resnet50 on V100";
  r.context = {{"GPU", "V100"}};
  r.settings = {Setting("batch 32, 250 W", 9e7, 4e5, false),
                Setting("batch 64, 250 W", 7.2e7, 3.5e5, true),
                Setting("batch 128, 250 W", 8e7, 3.6e5, false)};
  const std::string html = TrainingReportHtml(r);
  ExpectSelfContained(html);
  EXPECT_EQ(Count(html, "<tr class=\"hl\">"), 1u);
  EXPECT_NE(html.find("<td>batch 64, 250 W \u2605 cheapest</td>"), std::string::npos);
  EXPECT_EQ(Count(html, "<g class=\"group hl\">"), 2u);  // energy and time charts
  // Energy in kWh (above 360 kJ), time in days (above two days), CO2 in kg.
  EXPECT_NE(html.find("<th class=\"n\">energy (kWh)</th><th class=\"n\">time (days)</th><th "
                      "class=\"n\">CO\u2082 (kg)</th><th class=\"n\">power (W)</th><th "
                      "class=\"n\">TDP \u00d7 time (kWh)</th><th class=\"n\">Green Algorithms (kWh)</th>"),
            std::string::npos);
  // 7.2e7 J = 20 kWh; TDP x time 250 W x 3.5e5 s = 8.75e7 J = 24.31 kWh, 1.22x ours.
  EXPECT_NE(html.find("data-value=\"72000000\">20</td>"), std::string::npos);
  EXPECT_NE(html.find("data-value=\"87500000\">24.31 (1.22\u00d7)</td>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"k\">energy (cheapest: batch 64, 250 W)</div>"),
            std::string::npos);
}

TEST(TrainingReportTest, SettingsWithoutEnergy) {
  // A CPU time profile without a power (train-estimate, sweep without --gpu): time only, no
  // baselines; no energy card, chart or column, and "-" where one of several settings lacks it.
  TrainingReport r;
  r.settings = {Setting("batch 8", 1, 4000, true), Setting("batch 32", 1, 9000, false)};
  for (TrainingSetting& s : r.settings) {
    s.energy_j.reset();
    s.co2_kg.reset();
    s.power_w.reset();
    s.baselines.clear();
  }
  std::string html = TrainingReportHtml(r);
  ExpectSelfContained(html);
  EXPECT_EQ(html.find("energy ("), std::string::npos);
  EXPECT_EQ(html.find("Energy per setting"), std::string::npos);
  EXPECT_EQ(html.find("Baseline columns"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"k\">time (cheapest: batch 8)</div>"), std::string::npos);
  EXPECT_NE(html.find("<h2>Time per setting</h2>"), std::string::npos);
  EXPECT_NE(html.find("<td>batch 8 \u2605 cheapest</td>"), std::string::npos);
  r.settings[1].energy_j = Quantity{5e6, "/e1"};
  html = TrainingReportHtml(r);
  EXPECT_NE(html.find("<th class=\"n\">energy (kWh)</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"n\">-</td>"), std::string::npos);
  EXPECT_EQ(html.find("Energy per setting"), std::string::npos);  // not every setting has it
}

TEST(TrainingReportTest, Errors) {
  EXPECT_EQ(InvalidArgumentMessage([] { TrainingReportHtml(TrainingReport{}); }),
            "training report: no settings");
  TrainingReport r;
  r.settings = {Setting("a", 1, 1, true), Setting("b", 2, 2, false)};
  r.settings[1].baselines.pop_back();
  EXPECT_EQ(InvalidArgumentMessage([&] { TrainingReportHtml(r); }),
            "training report: setting 'b' has other baselines than 'a'");
}

TEST(TrainingReportTest, TrainingProfileSummary) {
  const TrainingModel m = TrainingModel::Load(kTraining);
  const ProfileSummary p = SummarizeTrainingModel(m, kTraining);
  ASSERT_EQ(p.errors.size(), 3u);
  EXPECT_EQ(p.errors[0].what, "power");
  EXPECT_EQ(p.errors[0].mape_percent, m.power().cv_mape);
  EXPECT_EQ(p.errors[2].mape_percent, m.energy_cv_mape());
  EXPECT_EQ(p.sources, m.trained_gpus());
  EXPECT_FALSE(p.sources.empty());
}

}  // namespace
}  // namespace joulecast::report
