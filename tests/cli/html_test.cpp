// `--html FILE` on predict, compare, train-estimate and sweep, run through the built binary: every
// figure the page marks (data-json / data-value) equals the --json output of the same command,
// the page is self-contained, ResNet152 and 20 architectures stay readable, and bad input gives a
// one-line error and leaves no file (or the previous one) behind.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.h"
#include "html_checks.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers

std::size_t Count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

using Figure = joulecast_test::HtmlFigure;
std::vector<Figure> Figures(const std::string& html) { return joulecast_test::HtmlFigures(html); }

// The rows (<tr>...</tr>) of the table with class `cls`, header included.
std::vector<std::string> TableRows(const std::string& html, const std::string& cls) {
  std::vector<std::string> rows;
  const std::size_t start = html.find("<table class=\"" + cls + "\">");
  if (start == std::string::npos) return rows;
  const std::size_t end = html.find("</table>", start);
  for (std::size_t p = html.find("<tr", start); p != std::string::npos && p < end;
       p = html.find("<tr", p + 1)) {
    rows.push_back(html.substr(p, html.find("</tr>", p) - p));
  }
  return rows;
}

class HtmlCliTest : public CliFixture {
 protected:
  // Runs `args --json --html PAGE` and returns (json, page); both come from one run.
  std::pair<json, std::string> JsonAndPage(const std::string& args) {
    const fs::path page = dir_ / "page.html";
    Result r = Run(args + " --json --html " + Quote(page.string()));
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    if (r.status != 0) return {json(), ""};
    return {json::parse(r.out), Slurp(page)};
  }

  // Every marked figure equals the JSON's number at its pointer; returns how many there were.
  std::size_t ExpectFiguresEqual(const json& j, const std::string& html) {
    const std::vector<Figure> figs = Figures(html);
    for (const Figure& f : figs) {
      const json::json_pointer ptr(f.pointer);
      EXPECT_TRUE(j.contains(ptr)) << f.pointer;
      if (j.contains(ptr)) EXPECT_EQ(f.value, j.at(ptr).get<double>()) << f.pointer;
    }
    return figs.size();
  }

  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    return names;
  }
};

void ExpectSelfContained(const std::string& html) {
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(joulecast_test::FirstActiveAttribute(html), "");
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(Count(html, "http"), Count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
}

TEST_F(HtmlCliTest, PredictPageEqualsJson) {
  const auto [j, html] = JsonAndPage("predict resnet152 --model " + Quote(kXeonGold) +
                                     " -b 16 --passes 2500 --per-layer");
  ASSERT_TRUE(j.is_object());
  ExpectSelfContained(html);
  const std::size_t n = j["layers"].size();
  ASSERT_GT(n, 500u);
  // Cards (total, per sample, kWh, MACs, parameters, unmodelled), the unmodelled call-out (3),
  // 3 per type (value, share, MACs), 3 per layer in the full table and in the top ten.
  const std::size_t expected = 6 + 3 + 3 * j["by_type"].size() + 3 * (n + 10);
  EXPECT_EQ(ExpectFiguresEqual(j, html), expected);
  EXPECT_NE(html.find("data-json=\"/total_kwh_for_passes\""), std::string::npos);
  EXPECT_NE(html.find("<div class=\"k\">for 2\u2009500 forward passes</div>"), std::string::npos);
  // Readable at 500+ operations: the depth chart bins them, the full list is folded away.
  const std::size_t per = (n + 159) / 160;
  EXPECT_NE(html.find(std::to_string(n) + " operations: each column sums " + std::to_string(per) +
                      " consecutive ones"),
            std::string::npos);
  EXPECT_EQ(TableRows(html, "layers").size(), n + 1);
  EXPECT_EQ(TableRows(html, "top").size(), 11u);
  // The same page without --json (pages are deterministic).
  const fs::path again = dir_ / "again.html";
  ASSERT_EQ(Run("predict resnet152 --model " + Quote(kXeonGold) +
                " -b 16 --passes 2500 --per-layer --html " + Quote(again.string()))
                .status,
            0);
  EXPECT_EQ(Slurp(again), html);
}

TEST_F(HtmlCliTest, PredictWithoutPerLayerMarksOnlyWhatJsonHas) {
  const auto [j, html] = JsonAndPage("predict vgg16 --model " + Quote(kXeonGold) + " -b 64");
  ASSERT_TRUE(j.is_object());
  EXPECT_FALSE(j.contains("layers"));
  EXPECT_EQ(ExpectFiguresEqual(j, html), 6 + 3 + 3 * j["by_type"].size());
  EXPECT_EQ(html.find("data-json=\"/layers/"), std::string::npos);
  // Every layer is still listed (VGG16: 13 Conv2d, 13 ReLU, 5 MaxPool2d, avgpool, flatten,
  // 3 Linear, 2 ReLU, 2 Dropout = 40 operations).
  EXPECT_EQ(TableRows(html, "layers").size(), 40u + 1);
  EXPECT_NE(html.find("<h1>vgg16: energy per forward pass</h1>"), std::string::npos);
}

TEST_F(HtmlCliTest, ComparePageEqualsJsonWithParetoFront) {
  const auto [j, html] =
      JsonAndPage("compare alexnet vgg16 resnet50 mobilenet_v2 --model " + Quote(kXeonGold) +
                  " --accuracy alexnet=0.5652,vgg16=0.7159,resnet50=0.7613,mobilenet_v2=0.7188");
  ASSERT_TRUE(j.is_object());
  ExpectSelfContained(html);
  const json& archs = j["architectures"];
  ASSERT_EQ(archs.size(), 4u);
  // Two cards (cheapest, dearest) and seven figures per row.
  EXPECT_EQ(ExpectFiguresEqual(j, html), 2 + 7 * archs.size());
  // The table lists the rows in the JSON's order; the front marks are the JSON's.
  const std::vector<std::string> rows = TableRows(html, "archs");
  ASSERT_EQ(rows.size(), 5u);
  std::size_t front = 0;
  for (std::size_t i = 0; i < archs.size(); ++i) {
    EXPECT_NE(rows[i + 1].find("<td>" + archs[i]["name"].get<std::string>() + "</td>"),
              std::string::npos);
    const bool on = archs[i]["pareto_front"].get<bool>();
    EXPECT_EQ(rows[i + 1].find("\u2713 front") != std::string::npos, on) << archs[i]["name"];
    front += on ? 1 : 0;
  }
  EXPECT_EQ(Count(html, "<circle class=\"point front\""), front);
  EXPECT_EQ(Count(html, "<circle class=\"point\""), 4 - front);
  EXPECT_NE(html.find("<h2>energy against accuracy</h2>"), std::string::npos);
}

TEST_F(HtmlCliTest, AccuracyCsvGivesTheSamePage) {
  const fs::path csv = dir_ / "acc.csv";
  std::ofstream(csv) << "name,accuracy,source\nalexnet,0.5652,torchvision\n"
                        "vgg16,0.7159,torchvision\nresnet50,0.7613,torchvision\n";
  const std::string base = "compare alexnet vgg16 resnet50 --model " + Quote(kXeonGold);
  const auto [a, from_list] =
      JsonAndPage(base + " --accuracy alexnet=0.5652,vgg16=0.7159,resnet50=0.7613");
  const auto [b, from_csv] = JsonAndPage(base + " --accuracy-csv " + Quote(csv.string()));
  EXPECT_EQ(a, b);
  EXPECT_EQ(from_list, from_csv);
  EXPECT_NE(from_csv.find("circle class=\"point"), std::string::npos);
}

TEST_F(HtmlCliTest, TwentyArchitecturesStayReadable) {
  // The 14 zoo networks and six AlexNets with other classifier widths (own names and files).
  std::vector<std::string> args = {
      "alexnet",       "vgg11",      "vgg13",     "vgg16",     "vgg19",        "resnet18",
      "resnet34",      "resnet50",   "resnet101", "resnet152", "mobilenet_v2", "shufflenet_v2_x1_0",
      "squeezenet1_0", "densenet121"};
  json alexnet = json::parse(Slurp(kSource + "/data/architectures/alexnet.json"));
  for (int k = 1; k <= 6; ++k) {
    json v = alexnet;
    v["name"] = "alexnet_with_a_long_name_classes_" + std::to_string(100 * k);
    v["layers"].back()["layers"].back()["out_features"] = 100 * k;
    const fs::path file = dir_ / ("alexnet_" + std::to_string(k) + ".json");
    std::ofstream(file) << v.dump();
    args.push_back(Quote(file.string()));
  }
  std::string list;
  for (std::size_t i = 0; i < args.size(); ++i) list += " " + args[i];
  const auto [j, html] = JsonAndPage("compare" + list + " --model " + Quote(kXeonGold));
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j["architectures"].size(), 20u);
  EXPECT_EQ(ExpectFiguresEqual(j, html), 2 + 6 * 20u);  // no accuracies: six per row
  EXPECT_EQ(TableRows(html, "archs").size(), 21u);
  EXPECT_EQ(Count(html, "<g class=\"bar"), 20u);
  // Bars keep 24 px per row, and long names are cut with the full name in the tooltip.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      html, m,
      std::regex("viewBox=\"0 0 1000.00 ([0-9.]+)\"[^>]*aria-label=\"energy per forward "
                 "pass by architecture\"")));
  EXPECT_GE(std::stod(m[1]), 20 * 24.0);
  EXPECT_NE(html.find(">alexnet_with_a_long_name_classe\u2026</text>"), std::string::npos);
  EXPECT_NE(html.find("<title>alexnet_with_a_long_name_classes_600: "), std::string::npos);
}

TEST_F(HtmlCliTest, TrainEstimatePageEqualsJson) {
  const auto [j, html] = JsonAndPage(
      "train-estimate resnet50_imagenet --gpu V100 -b 64 --epochs 90 --pue 1.2 --region FR");
  ASSERT_TRUE(j.is_object());
  ExpectSelfContained(html);
  // Cards (energy, time, CO2, power) and the table row (energy, time, CO2, power, 2 baselines).
  EXPECT_EQ(ExpectFiguresEqual(j, html), 4 + 6u);
  EXPECT_NE(html.find("<dt>GPU</dt><dd>V100 PCIe 32GB</dd>"), std::string::npos);
  EXPECT_NE(html.find("<th class=\"n\">TDP \u00d7 time ("), std::string::npos);
  EXPECT_NE(html.find("<th class=\"n\">Green Algorithms ("), std::string::npos);
  EXPECT_NE(html.find("<h2>Profile used</h2>"), std::string::npos);
  EXPECT_NE(html.find("leave-one-GPU-out"), std::string::npos);
  // The uncertainty note carries the JSON's figures; V100 is a training GPU of the profile.
  const json& u = j["uncertainty"];
  EXPECT_NE(html.find(fmt::format("MAPE is {:.1f} % for power, {:.1f} % for time and {:.1f} % "
                                  "for energy.",
                                  u["power_mape"].get<double>(), u["time_mape"].get<double>(),
                                  u["energy_mape"].get<double>())),
            std::string::npos);
  EXPECT_EQ(html.find("has no training runs"), std::string::npos);
}

TEST_F(HtmlCliTest, SweepPageEqualsJsonAndMarksTheCheapest) {
  const auto [j, html] = JsonAndPage(
      "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 64,128,256 --power-limits 150,250 "
      "--epochs 10 --pue 1.2 --region FR");
  ASSERT_TRUE(j.is_object());
  ExpectSelfContained(html);
  const json& settings = j["settings"];
  ASSERT_EQ(settings.size(), 6u);
  // Cards of the cheapest (energy, time, CO2, power); per row energy, time, CO2, power, two
  // baselines, epochs and energy to target.
  EXPECT_EQ(ExpectFiguresEqual(j, html), 4 + 8 * settings.size());
  const std::vector<std::string> rows = TableRows(html, "settings");
  ASSERT_EQ(rows.size(), 7u);
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const json& s = settings[i];
    const std::string name = "batch " + std::to_string(s["batch_size"].get<int>()) + ", " +
                             std::to_string(static_cast<int>(s["power_limit_w"].get<double>())) +
                             " W";
    EXPECT_NE(rows[i + 1].find("<td>" + name), std::string::npos) << name;
    EXPECT_EQ(rows[i + 1].rfind("<tr class=\"hl\">", 0) == 0, s["cheapest"].get<bool>()) << name;
    EXPECT_EQ(rows[i + 1].find("\u2605 cheapest") != std::string::npos, s["cheapest"].get<bool>());
    EXPECT_EQ(rows[i + 1].find(" \u2605</td>") != std::string::npos,
              s["to_target"]["cheapest"].get<bool>());
  }
  EXPECT_NE(html.find("validation target 0.65 (higher is better)"), std::string::npos);
  EXPECT_NE(html.find("Mixed precision: not shown"), std::string::npos);
}

TEST_F(HtmlCliTest, EmptyComparisonIsAnError) {
  const fs::path page = dir_ / "c.html";
  Result r = Run("compare --model " + Quote(kXeonGold) + " --html " + Quote(page.string()));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(Count(r.err, "\n"), 1u) << r.err;
  EXPECT_NE(r.err.find("architectures"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(page));
}

TEST_F(HtmlCliTest, AccuracyForAnUnknownNameIsAnErrorAndKeepsTheOldPage) {
  const fs::path page = dir_ / "c.html";
  std::ofstream(page) << "previous report";
  Result r = Run("compare alexnet vgg16 --model " + Quote(kXeonGold) +
                 " --accuracy alexnet=0.5652,resnet18=0.6976 --html " + Quote(page.string()));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "joulecast: error: --accuracy: unknown architecture 'resnet18' (compared: alexnet, "
            "vgg16)\n");
  EXPECT_EQ(Slurp(page), "previous report");
  EXPECT_EQ(Files(), std::vector<std::string>{"c.html"});  // no temporary left behind
}

TEST_F(HtmlCliTest, BadAccuracies) {
  const std::string base = "compare alexnet vgg16 --model " + Quote(kXeonGold);
  struct Case {
    std::string args, error;
  };
  const fs::path csv = dir_ / "acc.csv";
  std::ofstream(csv) << "name,top1\nalexnet,0.5652\n";
  const std::vector<Case> cases = {
      {"--accuracy alexnet=76.1",
       "--accuracy: accuracy of 'alexnet' must be between 0 and 1 (a fraction), got 76.1"},
      {"--accuracy alexnet", "--accuracy: expected NAME=VALUE, got 'alexnet'"},
      {"--accuracy alexnet=high", "--accuracy: 'high' is not a number (accuracy of 'alexnet')"},
      {"--accuracy alexnet=0.5,AlexNet=0.6", "--accuracy: 'AlexNet' given twice"},
      {"--accuracy ''", "--accuracy: expected NAME=VALUE,..., got nothing"},
      {"--accuracy-csv " + Quote(csv.string()),
       "--accuracy-csv: " + csv.string() + ": missing column 'accuracy'"},
  };
  for (const Case& c : cases) {
    const fs::path page = dir_ / "c.html";
    Result r = Run(base + " " + c.args + " --html " + Quote(page.string()));
    EXPECT_EQ(r.status, 1) << c.args;
    EXPECT_EQ(r.err.rfind("joulecast: error: " + c.error, 0), 0u) << c.args << "\n" << r.err;
    EXPECT_EQ(Count(r.err, "\n"), 1u) << r.err;
    EXPECT_FALSE(fs::exists(page)) << c.args;
  }
}

TEST_F(HtmlCliTest, UnwritablePathIsAnErrorWithNoFileLeft) {
  const fs::path file = dir_ / "plain";
  std::ofstream(file) << "x";
  const std::vector<std::string> commands = {
      "predict alexnet --model " + Quote(kXeonGold),
      "compare alexnet vgg16 --model " + Quote(kXeonGold),
      "train-estimate resnet50_imagenet --gpu V100 -b 64",
      "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 64,128",
  };
  for (const std::string& cmd : commands) {
    // A path under a regular file, and under a directory that does not exist.
    for (const fs::path& page : {file / "r.html", dir_ / "no" / "such" / "r.html"}) {
      Result r = Run(cmd + " --html " + Quote(page.string()));
      EXPECT_EQ(r.status, 1) << cmd;
      EXPECT_EQ(r.err.rfind("joulecast: error: --html: " + page.string() + ": cannot write (", 0),
                0u)
          << cmd << "\n"
          << r.err;
      EXPECT_EQ(Count(r.err, "\n"), 1u) << r.err;
      EXPECT_EQ(r.out, "") << cmd;  // nothing printed before the failure
    }
    Result empty = Run(cmd + " --html ''");
    EXPECT_EQ(empty.err, "joulecast: error: --html: empty path\n") << cmd;
    std::vector<std::string> files = Files();
    EXPECT_EQ(files, std::vector<std::string>{"plain"}) << cmd;
  }
}

}  // namespace
