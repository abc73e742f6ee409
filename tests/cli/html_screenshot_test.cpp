// Renders `compare alexnet vgg16 resnet50 mobilenet_v2 --html` in headless Chromium (Debian's
// chromium package, installed by tools/install-deps.sh) to a PNG screenshot and checks that it has
// the window's size and is not blank: the PNG is decoded (zlib) and must hold the report's own
// colours, the blue of the bars and the orange of the cheapest architecture and the Pareto front,
// over a good share of its pixels. Skipped, saying why, when Chromium is not installed.
//
// JOULECAST_CHROMIUM overrides the browser's path. JOULECAST_KEEP_SCREENSHOT=FILE copies the PNG
// there (how docs/compare-report.png is made).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifdef JOULECAST_HAVE_ZLIB
#include <zlib.h>
#endif

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;

using namespace cli_test;  // NOLINT(google-build-using-namespace): test helpers
constexpr int kWidth = 1100, kHeight = 1500;

std::uint32_t Be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) |
         (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

std::string FindChromium() {
  if (const char* env = std::getenv("JOULECAST_CHROMIUM")) return env;
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

struct Png {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  std::string idat;  // concatenated IDAT payloads
};

// Reads the chunk structure; fails the test on anything that is not a PNG.
Png ParsePng(const std::string& data) {
  Png png;
  const std::string signature = "\x89PNG\r\n\x1a\n";
  EXPECT_EQ(data.substr(0, 8), signature);
  std::size_t at = 8;
  while (at + 12 <= data.size()) {
    const std::uint32_t len = Be32(data, at);
    const std::string type = data.substr(at + 4, 4);
    if (at + 12 + len > data.size()) break;
    if (type == "IHDR") {
      png.width = Be32(data, at + 8);
      png.height = Be32(data, at + 12);
      png.bit_depth = std::uint8_t(data[at + 16]);
      png.color_type = std::uint8_t(data[at + 17]);
      png.interlace = std::uint8_t(data[at + 20]);
    } else if (type == "IDAT") {
      png.idat += data.substr(at + 8, len);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  return png;
}

#ifdef JOULECAST_HAVE_ZLIB
// RGB of every pixel (8-bit RGB or RGBA, not interlaced: what Chromium writes), scanline filters
// undone as the PNG specification (section 9) defines them.
std::vector<std::array<std::uint8_t, 3>> DecodePixels(const Png& png) {
  const int channels = png.color_type == 6 ? 4 : png.color_type == 2 ? 3 : 0;
  if (png.bit_depth != 8 || channels == 0 || png.interlace != 0) {
    ADD_FAILURE() << "unexpected PNG format: bit depth " << png.bit_depth << ", colour type "
                  << png.color_type << ", interlace " << png.interlace;
    return {};
  }
  const std::size_t stride = std::size_t(png.width) * channels;
  std::vector<std::uint8_t> raw((stride + 1) * png.height);
  uLongf raw_len = raw.size();
  const int rc = uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(png.idat.data()),
                            png.idat.size());
  if (rc != Z_OK || raw_len != raw.size()) {
    ADD_FAILURE() << "zlib uncompress failed (" << rc << "), " << raw_len << " of " << raw.size()
                  << " bytes";
    return {};
  }
  std::vector<std::uint8_t> cur(stride), prev(stride, 0);
  std::vector<std::array<std::uint8_t, 3>> pixels;
  pixels.reserve(std::size_t(png.width) * png.height);
  for (std::uint32_t y = 0; y < png.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* line = &raw[y * (stride + 1) + 1];
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= std::size_t(channels) ? cur[i - channels] : 0;
      const int b = prev[i];
      const int c = i >= std::size_t(channels) ? prev[i - channels] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          ADD_FAILURE() << "bad PNG filter " << int(filter) << " on line " << y;
          return {};
      }
      cur[i] = std::uint8_t(line[i] + pred);
    }
    for (std::uint32_t x = 0; x < png.width; ++x) {
      pixels.push_back({cur[x * channels], cur[x * channels + 1], cur[x * channels + 2]});
    }
    std::swap(cur, prev);
  }
  return pixels;
}
#endif

TEST(HtmlScreenshotTest, CompareReportRendersInChromium) {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (Debian package 'chromium'; tools/install-deps.sh "
                    "installs it); set JOULECAST_CHROMIUM to use another path";
  }
  const fs::path dir = fs::temp_directory_path() / ("joulecast_shot_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path html = dir / "compare.html", png_path = dir / "compare.png";
  const std::string report =
      Quote(kBinary) + " compare alexnet vgg16 resnet50 mobilenet_v2 --model " +
      Quote(kSource + "/models/xeon-gold-5120.json") +
      " --accuracy alexnet=0.5652,vgg16=0.7159,resnet50=0.7613,mobilenet_v2=0.7188 --html " +
      Quote(html.string()) + " >/dev/null";
  ASSERT_EQ(std::system(report.c_str()), 0) << report;
  // A private profile directory keeps the run from touching the user's; no network is used
  // (the page fetches nothing, and background networking is off).
  const std::string shot =
      "timeout 180 " + Quote(chromium) +
      " --headless --no-sandbox --disable-gpu --disable-background-networking --hide-scrollbars "
      "--no-first-run --user-data-dir=" +
      Quote((dir / "profile").string()) + " --window-size=" + std::to_string(kWidth) + "," +
      std::to_string(kHeight) + " --screenshot=" + Quote(png_path.string()) + " " +
      Quote("file://" + html.string()) + " >" + Quote((dir / "chromium.log").string()) + " 2>&1";
  const int raw = std::system(shot.c_str());
  const int status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  ASSERT_EQ(status, 0) << shot << "\n" << Slurp(dir / "chromium.log");
  ASSERT_TRUE(fs::exists(png_path)) << Slurp(dir / "chromium.log");
  const std::string data = Slurp(png_path);
  if (const char* keep = std::getenv("JOULECAST_KEEP_SCREENSHOT")) {
    fs::copy_file(png_path, keep, fs::copy_options::overwrite_existing);
  }
  fs::remove_all(dir);

  const Png png = ParsePng(data);
  EXPECT_EQ(png.width, std::uint32_t(kWidth));
  EXPECT_EQ(png.height, std::uint32_t(kHeight));
  // A blank page of this size compresses to a few kB; the report, with text and charts, to
  // over a hundred.
  EXPECT_GT(data.size(), 50000u);
#ifdef JOULECAST_HAVE_ZLIB
  const auto pixels = DecodePixels(png);
  ASSERT_EQ(pixels.size(), std::size_t(kWidth) * kHeight);
  std::map<std::array<std::uint8_t, 3>, std::size_t> count;
  for (const auto& p : pixels) ++count[p];
  const std::size_t page = count[{0xf5, 0xf7, 0xfa}], white = count[{0xff, 0xff, 0xff}];
  const std::size_t blue = count[{0x3f, 0x6f, 0xb0}], orange = count[{0xd9, 0x82, 0x2b}];
  // Bars of the three dearer architectures (blue), the cheapest's bar and the front's points
  // (orange), and plenty of everything else (text, grid, tables).
  EXPECT_GT(blue, 8000u);
  EXPECT_GT(orange, 500u);
  EXPECT_GT(pixels.size() - page - white, pixels.size() / 20);
  EXPECT_GT(count.size(), 100u);  // anti-aliased text and lines give many shades
#else
  std::cout << "zlib not found at configure time: pixel colours not checked\n";
#endif
}

}  // namespace
