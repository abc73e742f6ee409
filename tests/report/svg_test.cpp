// The report's SVG writer: escaping, number formatting, axis ticks, the Pareto front, and the
// geometry that keeps 20 or 200 rows (and a 500-operation network) legible.
#include "joulecast/report/svg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "error_of.h"
#include "html_checks.h"

namespace joulecast::report {
namespace {

using joulecast_test::Count;
using joulecast_test::InvalidArgumentMessage;

// Every value of attribute `name` in `svg`, in document order.
std::vector<std::string> Attrs(const std::string& svg, const std::string& name) {
  std::vector<std::string> out;
  const std::regex re(" " + name + "=\"([^\"]*)\"");
  for (std::sregex_iterator it(svg.begin(), svg.end(), re), end; it != end; ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

double SvgHeight(const std::string& svg) { return std::stod(Attrs(svg, "height").at(0)); }

TEST(EscapeTextTest, EscapesMarkupAndDropsControlCharacters) {
  EXPECT_EQ(EscapeText("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;");
  EXPECT_EQ(EscapeText(std::string("a\x01" "b\x7f" "c\td\n")), "abc\td\n");
  EXPECT_EQ(EscapeText("CO\u2082 \u00d7"), "CO\u2082 \u00d7");  // UTF-8 passes through
}

TEST(FormatNumberTest, SignificantDigits) {
  EXPECT_EQ(FormatNumber(0), "0");
  EXPECT_EQ(FormatNumber(12.3456), "12.35");
  EXPECT_EQ(FormatNumber(0.000123456, 3), "0.000123");
  EXPECT_EQ(FormatNumber(15470000000.0), "1.547e+10");
  EXPECT_EQ(FormatNumber(123456, 6), "123456");
}

TEST(NiceTicksTest, RoundStepsCoveringTheRange) {
  EXPECT_EQ(NiceTicks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(NiceTicks(0, 9.3, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(NiceTicks(0, 0.37, 4), (std::vector<double>{0, 0.1, 0.2, 0.30000000000000004, 0.4}));
  EXPECT_EQ(NiceTicks(1, 152, 8), (std::vector<double>{0, 20, 40, 60, 80, 100, 120, 140, 160}));
  // A single value is widened by 10 % each way, zero to [-1, 1].
  EXPECT_EQ(NiceTicks(0, 0, 2), (std::vector<double>{-1, 0, 1}));
  EXPECT_EQ(NiceTicks(5, 5, 2), (std::vector<double>{4.5, 5, 5.5}));
  EXPECT_EQ(InvalidArgumentMessage([] { NiceTicks(2, 1, 5); }), "NiceTicks: bad range [2, 1]");
  EXPECT_EQ(InvalidArgumentMessage([] { NiceTicks(0, std::nan(""), 5); }),
            "NiceTicks: bad range [0, nan]");
}

TEST(ParetoFrontTest, NoOtherPointCheaperAndAtLeastAsGood) {
  // Energy per sample (J) against top-1 accuracy of four torchvision networks (accuracies from
  // torchvision's model table; the costs are made up for the test and ordered as predicted).
  const std::vector<ScatterPoint> pts = {{"alexnet", 0.05, 0.565},
                                         {"vgg16", 1.2, 0.716},
                                         {"resnet50", 0.4, 0.761},
                                         {"mobilenet_v2", 0.03, 0.719}};
  EXPECT_EQ(ParetoFront(pts), (std::vector<bool>{false, false, true, true}));
  // Equal points are both on the front; a point equal in cost but worse is not.
  EXPECT_EQ(ParetoFront({{"a", 1, 0.5}, {"b", 1, 0.5}, {"c", 1, 0.4}}),
            (std::vector<bool>{true, true, false}));
  EXPECT_TRUE(ParetoFront({}).empty());
}

TEST(HorizontalBarChartTest, RowsKeepTheirHeightFor20And200Bars) {
  for (std::size_t n : {std::size_t{20}, std::size_t{200}}) {
    std::vector<Bar> bars;
    for (std::size_t i = 0; i < n; ++i) bars.push_back({"layer " + std::to_string(i), 1.0 + i});
    ChartOptions o;
    o.title = "t";
    const std::string svg = HorizontalBarChart(bars, o);
    // 24 px per row plus 8 above and 26 for the axis: never squeezed to fit a fixed height.
    EXPECT_DOUBLE_EQ(SvgHeight(svg), 8 + 24.0 * n + 26) << n;
    EXPECT_EQ(Count(svg, "<g class=\"bar\">"), n);
    // The bars' heights are the row minus 8 px of gap: labels (12 px) never overlap.
    const auto heights = Attrs(svg, "height");
    EXPECT_EQ(std::count(heights.begin(), heights.end(), "16.00"), static_cast<long>(n));
  }
}

TEST(HorizontalBarChartTest, LongLabelsAreCutWithTheFullLabelInTheTooltip) {
  const std::string label(50, 'x');
  ChartOptions o;
  const std::string svg = HorizontalBarChart({{label, 2, "(1.00\u00d7)", true}}, o);
  EXPECT_NE(svg.find(">" + std::string(31, 'x') + "\u2026</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>" + label + ": 2 (1.00\u00d7)</title>"), std::string::npos);
  EXPECT_NE(svg.find("<g class=\"bar hl\">"), std::string::npos);  // highlighted
}

TEST(HorizontalBarChartTest, BarLengthIsProportionalToTheValue) {
  ChartOptions o;
  o.width = 600;
  const std::string svg = HorizontalBarChart({{"a", 10}, {"b", 5}, {"c", 0}}, o);
  std::vector<double> widths;
  for (const std::string& w : Attrs(svg, "width")) widths.push_back(std::stod(w));
  // [svg width, a, b, c]
  ASSERT_EQ(widths.size(), 4u);
  EXPECT_NEAR(widths[1], 2 * widths[2], 0.02);
  EXPECT_EQ(widths[3], 0);
}

TEST(HorizontalBarChartTest, Errors) {
  ChartOptions o;
  EXPECT_EQ(InvalidArgumentMessage([&] { HorizontalBarChart({}, o); }),
            "horizontal bar chart: no bars");
  EXPECT_EQ(InvalidArgumentMessage([&] {
              HorizontalBarChart({{"conv1", -1}}, o);
            }),
            "horizontal bar chart: value of 'conv1' must be finite and >= 0, got -1");
  EXPECT_EQ(InvalidArgumentMessage([&] {
              HorizontalBarChart({{"fc", std::nan("")}}, o);
            }),
            "horizontal bar chart: value of 'fc' must be finite and >= 0, got nan");
}

TEST(BarChartTest, LegendAndTurnedLabelsWhenCrowded) {
  ChartOptions o;
  o.width = 400;
  std::vector<BarGroup> few = {{"a", {1, 2}}, {"b", {3, 4}}};
  const std::string svg = BarChart({"ours", "baseline"}, few, o);
  EXPECT_NE(svg.find(">ours</text>"), std::string::npos);      // legend
  EXPECT_NE(svg.find(">baseline</text>"), std::string::npos);
  EXPECT_EQ(svg.find("rotate(-40"), std::string::npos);         // short labels fit side by side
  std::vector<BarGroup> many;
  for (int i = 0; i < 20; ++i) many.push_back({"batch " + std::to_string(32 * (i + 1)) + ", 250 W", {1.0 + i}});
  const std::string crowded = BarChart({"ours"}, many, o);
  EXPECT_EQ(Count(crowded, "rotate(-40"), 20u);
  EXPECT_EQ(crowded.find(">ours</text>"), std::string::npos);  // one series: no legend
}

TEST(BarChartTest, HighlightedGroupIsShaded) {
  ChartOptions o;
  const std::string svg = BarChart({"e"}, {{"a", {1}}, {"b", {2}, true}}, o);
  EXPECT_EQ(Count(svg, "<g class=\"group hl\">"), 1u);
  EXPECT_EQ(Count(svg, "fill-opacity=\"0.13\""), 1u);
}

TEST(BarChartTest, Errors) {
  ChartOptions o;
  EXPECT_EQ(InvalidArgumentMessage([&] { BarChart({}, {{"a", {}}}, o); }), "bar chart: no series");
  EXPECT_EQ(InvalidArgumentMessage([&] { BarChart({"e"}, {}, o); }), "bar chart: no groups");
  EXPECT_EQ(InvalidArgumentMessage([&] {
              BarChart({"e", "f"}, {{"batch 64", {1}}}, o);
            }),
            "bar chart: group 'batch 64' has 1 values for 2 series");
  EXPECT_EQ(InvalidArgumentMessage([&] {
              BarChart({"e"}, {{"batch 64", {-2}}}, o);
            }),
            "bar chart: value of 'batch 64' must be finite and >= 0, got -2");
}

TEST(DepthChartTest, OneColumnPerOperationUpToTheLimit) {
  std::vector<DepthPoint> pts;
  for (int i = 0; i < 100; ++i) pts.push_back({"op" + std::to_string(i), 1.0, i == 7});
  DepthChartOptions o;
  const std::string svg = DepthChart(pts, o);
  EXPECT_EQ(Count(svg, "fill=\"transparent\""), 100u);
  EXPECT_NE(svg.find(">per operation</text>"), std::string::npos);
  EXPECT_EQ(svg.find("each column sums"), std::string::npos);
  EXPECT_NE(svg.find("<title>#8 op7: 1, 1 unmodelled</title>"), std::string::npos);
  EXPECT_NE(svg.find(">unmodelled (fallback)</text>"), std::string::npos);
}

TEST(DepthChartTest, LongNetworksAreBinnedAndSaySo) {
  // 500 operations, 160 columns at most: runs of ceil(500 / 160) = 4, so 125 columns.
  std::vector<DepthPoint> pts;
  for (int i = 0; i < 500; ++i) pts.push_back({"op" + std::to_string(i), i < 4 ? 2.0 : 0.5});
  DepthChartOptions o;
  o.width = 1000;
  const std::string svg = DepthChart(pts, o);
  EXPECT_EQ(Count(svg, "fill=\"transparent\""), 125u);
  EXPECT_NE(svg.find(">per 4 operations</text>"), std::string::npos);
  EXPECT_NE(svg.find(">500 operations: each column sums 4 consecutive ones</text>"),
            std::string::npos);
  EXPECT_NE(svg.find("<title>#1-4 (op0 ... op3): 8</title>"), std::string::npos);
  // Columns stay several pixels wide (hover targets span a column each).
  const std::regex col("width=\"([0-9.]+)\" height=\"[0-9.]+\" fill=\"transparent\"");
  std::size_t cols = 0;
  for (std::sregex_iterator it(svg.begin(), svg.end(), col), end; it != end; ++it, ++cols) {
    EXPECT_GE(std::stod((*it)[1]), 6.0);
  }
  EXPECT_EQ(cols, 125u);
  EXPECT_EQ(svg.find("unmodelled (fallback)"), std::string::npos);  // nothing flagged
}

TEST(DepthChartTest, Errors) {
  DepthChartOptions o;
  EXPECT_EQ(InvalidArgumentMessage([&] { DepthChart({}, o); }), "depth chart: no points");
  EXPECT_EQ(InvalidArgumentMessage([&] {
              DepthChart({{"conv1 (Conv2d)", -0.5}}, o);
            }),
            "depth chart: value of 'conv1 (Conv2d)' must be finite and >= 0, got -0.5");
}

TEST(ScatterChartTest, FrontPointsFilledAndJoined) {
  const std::vector<ScatterPoint> pts = {{"alexnet", 0.05, 56.5},
                                         {"vgg16", 1.2, 71.6},
                                         {"resnet50", 0.4, 76.1},
                                         {"mobilenet_v2", 0.03, 71.9}};
  ScatterOptions o;
  o.log_x = true;
  const std::string svg = ScatterChart(pts, o);
  EXPECT_EQ(Count(svg, "<circle class=\"point front\""), 2u);
  EXPECT_EQ(Count(svg, "<circle class=\"point\""), 2u);
  EXPECT_EQ(Count(svg, "<path class=\"front\""), 1u);
  EXPECT_NE(svg.find("<title>resnet50: x 0.4, y 76.1 (Pareto front)</title>"), std::string::npos);
  for (const char* name : {"alexnet", "vgg16", "resnet50", "mobilenet_v2"}) {
    EXPECT_NE(svg.find(std::string(">") + name + "</text>"), std::string::npos) << name;
  }
}

TEST(ScatterChartTest, CrowdedLabelsBecomeNumbersWithAKey) {
  // 20 points almost on top of each other: their labels cannot all sit beside them.
  std::vector<ScatterPoint> pts;
  for (int i = 0; i < 20; ++i) {
    pts.push_back({"architecture_" + std::to_string(i), 1.0 + 0.001 * i, 70.0 + 0.01 * i});
  }
  ScatterOptions o;
  const std::string svg = ScatterChart(pts, o);
  std::size_t named = 0, keyed = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string name = "architecture_" + std::to_string(i);
    if (svg.find(">" + name + "</text>") != std::string::npos) ++named;
    if (svg.find(">" + std::to_string(i + 1) + ": " + name + "</text>") != std::string::npos) ++keyed;
  }
  EXPECT_EQ(named + keyed, 20u);  // each is named once, beside the point or in the key
  EXPECT_GT(keyed, 0u);
  EXPECT_GT(SvgHeight(svg), 320 + 34 + 44);  // the key adds rows under the plot
}

TEST(ScatterChartTest, Errors) {
  ScatterOptions o;
  EXPECT_EQ(InvalidArgumentMessage([&] { ScatterChart({}, o); }), "scatter chart: no points");
  EXPECT_EQ(InvalidArgumentMessage([&] {
              ScatterChart({{"a", std::nan(""), 1}}, o);
            }),
            "scatter chart: point 'a' has a coordinate that is not finite");
  o.log_x = true;
  EXPECT_EQ(InvalidArgumentMessage([&] {
              ScatterChart({{"a", 0, 1}}, o);
            }),
            "scatter chart: point 'a' has x = 0 on a logarithmic axis");
}

TEST(SvgTest, NoScriptsLinksOrExternalReferences) {
  ChartOptions o;
  o.title = "<script>x</script>";
  const std::string svg = HorizontalBarChart({{"<img src=x onerror=y>", 1}}, o);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("<img"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);
  EXPECT_NE(svg.find("&lt;img src=x onerror=y&gt;"), std::string::npos);
}

}  // namespace
}  // namespace joulecast::report
