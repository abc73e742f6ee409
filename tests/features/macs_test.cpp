#include "joulecast/features/macs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace joulecast {
namespace {

using nlohmann::json;

// getzner2023 project_name ("k:v,k:v,...") -> map; built here, independently of the importer.
std::map<std::string, std::string> Parse(const std::string& pn) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = pn.find(',', start);
    std::string item =
        pn.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t colon = item.find(':');
    out[item.substr(0, colon)] = item.substr(colon + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::int64_t I(const std::map<std::string, std::string>& m, const char* k) {
  return std::stoll(m.at(k));
}

// The PyTorch layer of a getzner2023 row, written out by hand (scalar sizes as in PyTorch's
// constructors, no output shape: CountLayer must derive it).
LayerInstance FromRow(const std::map<std::string, std::string>& r) {
  LayerInstance l;
  l.type = r.at("module");
  if (l.type == "Conv2d") {
    l.params = {{"in_channels", I(r, "in_channels")}, {"out_channels", I(r, "out_channels")},
                {"kernel_size", I(r, "kernel_size")}, {"stride", I(r, "stride")},
                {"padding", I(r, "padding")},         {"bias", true}};
    l.input_shape = {I(r, "in_channels"), I(r, "image_size"), I(r, "image_size")};
  } else if (l.type == "MaxPool2d") {
    l.params = {{"kernel_size", I(r, "kernel_size")},
                {"stride", I(r, "stride")},
                {"padding", I(r, "padding")}};
    l.input_shape = {I(r, "in_channels"), I(r, "image_size"), I(r, "image_size")};
  } else if (l.type == "Linear") {
    l.params = {{"in_features", I(r, "input_size")}, {"out_features", I(r, "output_size")}};
    l.input_shape = {I(r, "input_size")};
  } else {
    l.input_shape = {I(r, "input_size")};
  }
  return l;
}

// Real rows (rep_no 1) copied verbatim from /work/shared/datasets/getzner2023/raw; `macs` is what
// ptflops recorded for the whole batch. CountLayer must reproduce it exactly.
const char* kRealRows[] = {
    // conv2d/00_conv2d-raw.csv lines 2, 5, 8
    "module:Conv2d,rep_no:1,macs:218534484375,batch_size:123,image_size:127,kernel_size:7,in_"
    "channels:80,out_channels:29,stride:1,padding:2,freeText:,forward_passes:6",
    "module:Conv2d,rep_no:1,macs:1086294141180,batch_size:73,image_size:158,kernel_size:4,in_"
    "channels:344,out_channels:412,stride:2,padding:3,freeText:,forward_passes:2",
    "module:Conv2d,rep_no:1,macs:5237314555,batch_size:107,image_size:211,kernel_size:1,in_"
    "channels:54,out_channels:167,stride:3,padding:3,freeText:,forward_passes:56",
    // conv2d/02_conv2d-raw.csv line 2
    "module:Conv2d,rep_no:1,macs:11600635904,batch_size:52,image_size:30,kernel_size:4,in_channels:"
    "225,out_channels:242,stride:2,padding:2,freeText:,forward_passes:101",
    // conv2d/01_conv2d-architecture-configs-raw.csv lines 2, 5 (AlexNet features.0 and features.3)
    "module:Conv2d,rep_no:1,macs:16701484800,batch_size:237,image_size:224,kernel_size:11,in_"
    "channels:3,out_channels:64,stride:4,padding:2,freeText:architecture=alexnet;layer_idx=0,"
    "forward_passes:58",
    "module:Conv2d,rep_no:1,macs:30700161216,batch_size:137,image_size:27,kernel_size:5,in_"
    "channels:64,out_channels:192,stride:1,padding:2,freeText:architecture=alexnet;layer_idx=3,"
    "forward_passes:45",
    // linear/00_linear-raw.csv lines 2, 5; linear/01_linear-architecture-configs-raw.csv line 2
    "module:Linear,rep_no:1,macs:4210391040,batch_size:472,input_size:4645,output_size:1920,"
    "freeText:,forward_passes:303",
    "module:Linear,rep_no:1,macs:4089126195,batch_size:385,input_size:2960,output_size:3587,"
    "freeText:,forward_passes:301",
    "module:Linear,rep_no:1,macs:18800910336,batch_size:498,input_size:9216,output_size:4096,"
    "freeText:architecture=alexnet;layer_idx=15,forward_passes:67",
    // maxpool2d/00_maxpool2d-raw.csv lines 2, 5, 32 (line 32: K²·Ho²·C·B is odd, the /2 floors);
    // maxpool2d/01_maxpool2d-architecture-configs-raw.csv line 2 (AlexNet features.2)
    "module:MaxPool2d,rep_no:1,macs:938070540,batch_size:110,image_size:152,kernel_size:6,in_"
    "channels:493,stride:5,padding:3,freeText:,forward_passes:10",
    "module:MaxPool2d,rep_no:1,macs:2478552300,batch_size:186,image_size:141,kernel_size:7,in_"
    "channels:444,stride:4,padding:1,freeText:,forward_passes:4",
    "module:MaxPool2d,rep_no:1,macs:1250667062,batch_size:235,image_size:184,kernel_size:5,in_"
    "channels:311,stride:5,padding:2,freeText:,forward_passes:6",
    "module:MaxPool2d,rep_no:1,macs:42200352,batch_size:201,image_size:55,kernel_size:3,in_"
    "channels:64,stride:2,padding:0,freeText:architecture=alexnet;layer_idx=2,forward_passes:137",
    // activations/00_relu-raw.csv lines 2, 5; activations/01_relu_raw.csv line 2
    "module:ReLU,rep_no:1,macs:795076168,batch_size:173,input_size:4595816,freeText:,forward_"
    "passes:19",
    "module:ReLU,rep_no:1,macs:2164936497,batch_size:489,input_size:4427273,freeText:,forward_"
    "passes:8",
    "module:ReLU,rep_no:1,macs:2537016377,batch_size:511,input_size:4964807,freeText:,forward_"
    "passes:7",
};

TEST(CountLayer, MatchesRecordedPtflopsMacsOfRealRows) {
  for (const char* pn : kRealRows) {
    auto r = Parse(pn);
    LayerInstance l = FromRow(r);
    LayerCounts c = CountLayer(l, I(r, "batch_size"));
    EXPECT_EQ(c.macs, static_cast<double>(I(r, "macs"))) << pn;
  }
}

TEST(CountLayer, RealRowsWithArrayParams) {
  // The same rows with [h, w] params (the importer's and the zoo's form).
  for (const char* pn : kRealRows) {
    auto r = Parse(pn);
    LayerInstance l = FromRow(r);
    for (const char* k : {"kernel_size", "stride", "padding"}) {
      if (l.params.contains(k)) l.params[k] = json::array({l.params[k], l.params[k]});
    }
    EXPECT_EQ(CountLayer(l, I(r, "batch_size")).macs, static_cast<double>(I(r, "macs"))) << pn;
  }
}

TEST(CountLayer, Conv2dElementsOfARealRow) {
  // conv2d/00 line 2: B 123, Ci 80, H 127, K 7, Co 29, S 1, P 2.
  // Ho = (127 + 4 - 7) / 1 + 1 = 125
  // input  = 123 * 80 * 127 * 127 = 9,840 * 16,129 = 158,709,360
  // output = 123 * 29 * 125 * 125 = 55,734,375
  // params = 29 * (7*7*80) + 29 = 113,680 + 29 = 113,709
  auto r = Parse(kRealRows[0]);
  LayerCounts c = CountLayer(FromRow(r), 123);
  EXPECT_EQ(c.input_elements, 158709360.0);
  EXPECT_EQ(c.output_elements, 55734375.0);
  EXPECT_EQ(c.parameters, 113709.0);
}

LayerInstance Conv(std::int64_t ci, std::int64_t co, json k, json s, json p, std::int64_t g, json d,
                   bool bias, Shape in) {
  LayerInstance l;
  l.type = "Conv2d";
  l.params = {{"in_channels", ci}, {"out_channels", co}, {"kernel_size", k}, {"stride", s},
              {"padding", p},      {"groups", g},        {"dilation", d},    {"bias", bias}};
  l.input_shape = std::move(in);
  return l;
}

TEST(CountLayer, GroupedConv) {
  // Ci 32, Co 64, groups 4, K 3, S 1, P 1, 16x16, B 2: Ho = Wo = 16.
  // macs = 2 * 16*16 * 64 * (3*3*32/4 + 1) = 2 * 256 * 64 * 73 = 2,392,064
  // params = 64 * 72 + 64 = 4,672
  LayerCounts c = CountLayer(Conv(32, 64, 3, 1, 1, 4, 1, true, {32, 16, 16}), 2);
  EXPECT_EQ(c.macs, 2392064.0);
  EXPECT_EQ(c.parameters, 4672.0);
  EXPECT_EQ(c.output_elements, 2.0 * 64 * 16 * 16);
}

TEST(CountLayer, DepthwiseConvWithoutBias) {
  // Ci = Co = groups = 16, K 3, S 2, P 1, 15x15, B 1, no bias:
  // Ho = (15 + 2 - 3) / 2 + 1 = 7 + 1 = 8
  // macs = 1 * 8*8 * 16 * (9*16/16) = 64 * 16 * 9 = 9,216 ; params = 16 * 9 = 144
  LayerCounts c = CountLayer(Conv(16, 16, 3, 2, 1, 16, 1, false, {16, 15, 15}), 1);
  EXPECT_EQ(c.macs, 9216.0);
  EXPECT_EQ(c.parameters, 144.0);
}

TEST(CountLayer, DilatedRectangularConv) {
  // Ci 3, Co 8, K [3, 5], S [1, 2], P [0, 1], dilation [2, 1], input 3x20x30, B 3, bias:
  // Ho = (20 + 0 - 2*(3-1) - 1) / 1 + 1 = 15 + 1 = 16
  // Wo = (30 + 2 - 1*(5-1) - 1) / 2 + 1 = 27/2 + 1 = 13 + 1 = 14
  // macs = 3 * 16 * 14 * 8 * (3*5*3 + 1) = 3 * 224 * 8 * 46 = 247,296
  LayerCounts c = CountLayer(Conv(3, 8, {3, 5}, {1, 2}, {0, 1}, 1, {2, 1}, true, {3, 20, 30}), 3);
  EXPECT_EQ(c.macs, 247296.0);
  EXPECT_EQ(c.output_elements, 3.0 * 8 * 16 * 14);
  EXPECT_EQ(c.input_elements, 3.0 * 3 * 20 * 30);
}

TEST(CountLayer, LinearOnA3dInputAndWithoutBias) {
  LayerInstance l;
  l.type = "Linear";
  l.params = {{"in_features", 64}, {"out_features", 10}, {"bias", true}};
  l.input_shape = {7, 5, 64};  // rows = 7*5 = 35 per sample
  // macs = B * rows * (I*O + O) = 4 * 35 * (640 + 10) = 91,000
  LayerCounts c = CountLayer(l, 4);
  EXPECT_EQ(c.macs, 91000.0);
  EXPECT_EQ(c.output_elements, 4.0 * 35 * 10);
  EXPECT_EQ(c.parameters, 650.0);
  l.params["bias"] = false;
  // 4 * 35 * 640 = 89,600 ; params 640
  c = CountLayer(l, 4);
  EXPECT_EQ(c.macs, 89600.0);
  EXPECT_EQ(c.parameters, 640.0);
}

TEST(CountLayer, ElementwiseAndZeroCostLayers) {
  LayerInstance l;
  l.input_shape = {64, 55, 55};
  for (const char* t : {"ReLU", "Sigmoid", "Tanh", "Softmax", "Dropout", "ReLU6"}) {
    l.type = t;
    // 2 * 64 * 55 * 55 = 387,200
    EXPECT_EQ(CountLayer(l, 2).macs, 387200.0) << t;
  }
  l.type = "Flatten";
  EXPECT_EQ(CountLayer(l, 2).macs, 0.0);
  l.type = "BatchNorm2d";
  l.params = {{"num_features", 64}};
  LayerCounts c = CountLayer(l, 2);
  EXPECT_EQ(c.macs, 387200.0);
  EXPECT_EQ(c.parameters, 128.0);
}

TEST(CountLayer, AvgPoolDerivesItsOutputShape) {
  // AvgPool2d k 2, s 2 on 3x8x8, B 1, no output_shape given: output = 3*4*4 = 48 elements;
  // macs = B * input elements = 192 (macs.h).
  LayerInstance l;
  l.type = "AvgPool2d";
  l.params = {{"kernel_size", 2}, {"stride", 2}, {"padding", 0}};
  l.input_shape = {3, 8, 8};
  LayerCounts c = CountLayer(l, 1);
  EXPECT_EQ(c.macs, 192.0);
  EXPECT_EQ(c.output_elements, 48.0);
}

TEST(CountLayer, AdaptiveAvgPoolDerivesItsOutputShape) {
  // AdaptiveAvgPool2d output_size [6, 6] on 256x13x13, B 2: output = 2*256*36 = 18,432 elements.
  LayerInstance l;
  l.type = "AdaptiveAvgPool2d";
  l.params = {{"output_size", {6, 6}}};
  l.input_shape = {256, 13, 13};
  EXPECT_EQ(CountLayer(l, 2).output_elements, 18432.0);
}

TEST(CountLayer, Errors) {
  LayerInstance conv = Conv(3, 8, 3, 1, 1, 1, 1, true, {3, 10, 10});
  conv.params.erase("kernel_size");
  try {
    CountLayer(conv, 1);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "Conv2d: missing parameter 'kernel_size'");
  }
  conv = Conv(3, 8, 3, 1, 1, 1, 1, true, {3, 10, 10});
  conv.params.erase("in_channels");
  try {
    CountLayer(conv, 1);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "Conv2d: missing parameter 'in_channels'");
  }
  LayerInstance lin;
  lin.type = "Linear";
  lin.params = {{"in_features", 5}};
  lin.input_shape = {5};
  try {
    CountLayer(lin, 1);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "Linear: missing parameter 'out_features'");
  }
  // batch 0 and negative batches
  conv = Conv(3, 8, 3, 1, 1, 1, 1, true, {3, 10, 10});
  EXPECT_THROW(CountLayer(conv, 0), std::invalid_argument);
  EXPECT_THROW(CountLayer(conv, -1), std::invalid_argument);
  // empty input shape
  LayerInstance relu;
  relu.type = "ReLU";
  EXPECT_THROW(CountLayer(relu, 1), std::invalid_argument);
  // kernel larger than the padded input: 12 > 10 + 0
  EXPECT_THROW(CountLayer(Conv(3, 8, 12, 1, 0, 1, 1, true, {3, 10, 10}), 1), std::invalid_argument);
  // wrong rank
  EXPECT_THROW(CountLayer(Conv(3, 8, 3, 1, 1, 1, 1, true, {3, 10}), 1), std::invalid_argument);
  // malformed pair
  EXPECT_THROW(CountLayer(Conv(3, 8, json::array({3, 3, 3}), 1, 1, 1, 1, true, {3, 10, 10}), 1),
               std::invalid_argument);
  EXPECT_THROW(CountLayer(Conv(3, 8, "3", 1, 1, 1, 1, true, {3, 10, 10}), 1),
               std::invalid_argument);
}

TEST(CountLayer, AbsurdLayerIsFiniteAndHuge) {
  // Ci = Co = 1e9, K 3, S 1, P 1, 1e6 x 1e6 image, B 1000:
  // macs = 1e3 * 1e6 * 1e6 * 1e9 * (9e9 + 1) ≈ 9e33: far beyond int64, finite as a double.
  const std::int64_t ch = 1000000000, h = 1000000;
  LayerCounts c = CountLayer(Conv(ch, ch, 3, 1, 1, 1, 1, true, {ch, h, h}), 1000);
  EXPECT_TRUE(std::isfinite(c.macs));
  EXPECT_GT(c.macs, 8.9e33);
  EXPECT_LT(c.macs, 9.1e33);
  EXPECT_NEAR(c.input_elements, 1e3 * 1e9 * 1e12, 1e3 * 1e9 * 1e12 * 1e-12);
  EXPECT_TRUE(std::isfinite(c.parameters));

  LayerInstance lin;
  lin.type = "Linear";
  lin.params = {{"in_features", ch}, {"out_features", ch}};
  lin.input_shape = {h, ch};
  c = CountLayer(lin, 1000000);
  // 1e6 * 1e6 * (1e18 + 1e9) ≈ 1e30
  EXPECT_TRUE(std::isfinite(c.macs));
  EXPECT_NEAR(c.macs, 1e30, 1e30 * 1e-6);
}

TEST(Elements, ProductAsDouble) {
  EXPECT_EQ(Elements({3, 224, 224}), 150528.0);
  EXPECT_EQ(Elements({}), 1.0);
  // 2^40 * 2^40 = 2^80 does not wrap
  EXPECT_EQ(Elements({1LL << 40, 1LL << 40}), std::ldexp(1.0, 80));
}

TEST(PairParam, IntOrPair) {
  LayerInstance l;
  l.type = "MaxPool2d";
  l.params = {{"kernel_size", 3}, {"stride", {2, 1}}, {"padding", {1}}, {"dilation", {1.5, 1}}};
  EXPECT_EQ(PairParam(l, "kernel_size"), (std::pair<std::int64_t, std::int64_t>{3, 3}));
  EXPECT_EQ(PairParam(l, "stride"), (std::pair<std::int64_t, std::int64_t>{2, 1}));
  EXPECT_THROW(PairParam(l, "padding"), std::invalid_argument);
  EXPECT_THROW(PairParam(l, "dilation"), std::invalid_argument);
  try {
    PairParam(l, "ceil_mode");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "MaxPool2d: missing parameter 'ceil_mode'");
  }
}

}  // namespace
}  // namespace joulecast
