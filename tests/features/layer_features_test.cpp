#include "joulecast/features/layer_features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace joulecast {
namespace {

using nlohmann::json;

LayerInstance Layer(const std::string& type, json params, Shape in) {
  LayerInstance l;
  l.type = type;
  l.params = std::move(params);
  l.input_shape = std::move(in);
  return l;
}

// AlexNet features.0: Conv2d(3, 64, kernel_size=11, stride=4, padding=2) on 3x224x224.
LayerInstance AlexConv() {
  return Layer("Conv2d",
               {{"in_channels", 3},
                {"out_channels", 64},
                {"kernel_size", {11, 11}},
                {"stride", {4, 4}},
                {"padding", {2, 2}},
                {"dilation", {1, 1}},
                {"groups", 1},
                {"bias", true}},
               {3, 224, 224});
}
LayerInstance AlexPool() {
  return Layer("MaxPool2d", {{"kernel_size", 3}, {"stride", 2}, {"padding", 0}}, {64, 55, 55});
}
LayerInstance AlexFc() {
  return Layer("Linear", {{"in_features", 9216}, {"out_features", 4096}}, {9216});
}
LayerInstance Relu() { return Layer("ReLU", {{"inplace", true}}, {64, 55, 55}); }

TEST(LayerFeatures, NamesMatchFeatureLengthForEveryRecipe) {
  struct Case {
    std::string recipe;
    LayerInstance layer;
    std::size_t width;
  };
  std::vector<Case> cases = {{"conv2d_v1", AlexConv(), 14}, {"conv2d_v2", AlexConv(), 17},
                             {"pool2d_v1", AlexPool(), 9},  {"linear_v1", AlexFc(), 7},
                             {"eltwise_v1", Relu(), 3},     {"generic_v1", AlexConv(), 4},
                             {"generic_v1", Relu(), 4}};
  for (const auto& c : cases) {
    auto names = RecipeFeatureNames(c.recipe);
    Eigen::RowVectorXd f = ComputeFeatures(c.recipe, c.layer, 8);
    EXPECT_EQ(names.size(), c.width) << c.recipe;
    EXPECT_EQ(static_cast<std::size_t>(f.size()), names.size()) << c.recipe;
    for (Eigen::Index i = 0; i < f.size(); ++i)
      EXPECT_TRUE(std::isfinite(f[i])) << c.recipe << " " << names[i];
  }
}

TEST(LayerFeatures, Conv2dKnownValues) {
  // AlexNet features.0, batch 2:
  //   Ho = (224 + 2*2 - 11) / 4 + 1 = 217/4 + 1 = 54 + 1 = 55
  //   macs    = 2 * 55*55 * 64 * (11*11*3 + 1) = 2 * 3025 * 64 * 364 = 140,940,800
  //   in      = 2 * 3 * 224 * 224 = 301,056
  //   out     = 2 * 64 * 55 * 55  = 387,200
  //   weights = 64 * 363 + 64     = 23,296
  //   3 % 16 != 0 -> 0, 64 % 16 == 0 -> 1, padding (2 + 2) / 2 = 2
  Eigen::RowVectorXd f = ComputeFeatures("conv2d_v1", AlexConv(), 2);
  const std::vector<double> expected = {std::log(2.0),
                                        std::log(224.0),
                                        std::log(11.0),
                                        std::log(3.0),
                                        std::log(64.0),
                                        std::log(4.0),
                                        std::log(55.0),
                                        std::log(140940800.0),
                                        std::log(301056.0),
                                        std::log(387200.0),
                                        std::log(23296.0),
                                        0.0,
                                        1.0,
                                        2.0};
  ASSERT_EQ(static_cast<std::size_t>(f.size()), expected.size());
  auto names = RecipeFeatureNames("conv2d_v1");
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(f[static_cast<Eigen::Index>(i)], expected[i], 1e-12) << names[i];
  }
  EXPECT_EQ(names[0], "log_batch");
  EXPECT_EQ(names[7], "log_macs");
  EXPECT_EQ(names[13], "padding");
}

TEST(LayerFeatures, Conv2dV2KnownValues) {
  // AlexNet features.0, batch 2, counts as in Conv2dKnownValues: conv2d_v1's first eleven values
  // and its padding (2), then
  //   intensity = macs / (in + out + weights) = 140,940,800 / (301,056 + 387,200 + 23,296)
  //             = 140,940,800 / 711,552
  //   in lanes  = 16 * ceil(3 / 16) / 3   = 16 / 3
  //   out lanes = 16 * ceil(64 / 16) / 64 = 1
  //   kernel 11x11 -> not 1x1 (0), stride 4x4 -> not 1 (0)
  Eigen::RowVectorXd f = ComputeFeatures("conv2d_v2", AlexConv(), 2);
  const std::vector<double> expected = {std::log(2.0),
                                        std::log(224.0),
                                        std::log(11.0),
                                        std::log(3.0),
                                        std::log(64.0),
                                        std::log(4.0),
                                        std::log(55.0),
                                        std::log(140940800.0),
                                        std::log(301056.0),
                                        std::log(387200.0),
                                        std::log(23296.0),
                                        2.0,
                                        std::log(140940800.0 / 711552.0),
                                        std::log(16.0 / 3.0),
                                        0.0,
                                        0.0,
                                        0.0};
  auto names = RecipeFeatureNames("conv2d_v2");
  ASSERT_EQ(static_cast<std::size_t>(f.size()), expected.size());
  ASSERT_EQ(names.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(f[static_cast<Eigen::Index>(i)], expected[i], 1e-12) << names[i];
  }
  EXPECT_EQ(names[11], "padding");
  EXPECT_EQ(names[12], "log_intensity");
  EXPECT_EQ(names[14], "log_out_lanes_ratio");
  EXPECT_EQ(names[16], "stride_1");
  // Conv2d(17, 32, 1) on 17x224x224: lane ratios 32/17 and 1, a 1x1 kernel with stride 1.
  LayerInstance l = AlexConv();
  l.params["in_channels"] = 17;
  l.params["out_channels"] = 32;
  l.params["kernel_size"] = {1, 1};
  l.params["stride"] = {1, 1};
  l.params["padding"] = {0, 0};
  l.input_shape = {17, 224, 224};
  Eigen::RowVectorXd g = ComputeFeatures("conv2d_v2", l, 1);
  EXPECT_NEAR(g[13], std::log(32.0 / 17.0), 1e-12);
  EXPECT_NEAR(g[14], 0.0, 1e-12);
  EXPECT_EQ(g[15], 1.0);
  EXPECT_EQ(g[16], 1.0);
}

TEST(LayerFeatures, Conv2dV3AddsPathAndGroupFeatures) {
  // AlexNet features.0 at batch 2: conv2d_v2's 17 values, then
  //   thnn_1x1 = 0 (11x11 kernel), native_small = 0 (b = 2 > 1 and 11 > 3), depthwise = 0,
  //   log groups = 0, log Ci/groups = log 3, log Co/groups = log 64.
  Eigen::RowVectorXd v2 = ComputeFeatures("conv2d_v2", AlexConv(), 2);
  Eigen::RowVectorXd f = ComputeFeatures("conv2d_v3", AlexConv(), 2);
  auto names = RecipeFeatureNames("conv2d_v3");
  ASSERT_EQ(f.size(), 23);
  ASSERT_EQ(names.size(), 23u);
  EXPECT_EQ(f.head(17), v2);
  EXPECT_EQ(f[17], 0.0);
  EXPECT_EQ(f[18], 0.0);
  EXPECT_EQ(f[19], 0.0);
  EXPECT_NEAR(f[20], 0.0, 1e-12);
  EXPECT_NEAR(f[21], std::log(3.0), 1e-12);
  EXPECT_NEAR(f[22], std::log(64.0), 1e-12);
  EXPECT_EQ(names[17], "thnn_1x1");
  EXPECT_EQ(names[22], "log_out_per_group");
  // Depthwise 3x3 on 32x14x14 at batch 1: groups 32 -> not native (groups > 1), depthwise,
  // one channel per group in and out.
  LayerInstance d = AlexConv();
  d.params["in_channels"] = 32;
  d.params["out_channels"] = 32;
  d.params["groups"] = 32;
  d.params["kernel_size"] = {3, 3};
  d.params["stride"] = {1, 1};
  d.params["padding"] = {1, 1};
  d.input_shape = {32, 14, 14};
  Eigen::RowVectorXd g = ComputeFeatures("conv2d_v3", d, 1);
  EXPECT_EQ(g[17], 0.0);
  EXPECT_EQ(g[18], 0.0);
  EXPECT_EQ(g[19], 1.0);
  EXPECT_NEAR(g[20], std::log(32.0), 1e-12);
  EXPECT_NEAR(g[21], 0.0, 1e-12);
  // conv2d_v4 = conv2d_v3 plus hinges of a = ln(input + output elements) at 18, 20, 22 ln 2 and
  // depthwise * a. Depthwise 32x112x112 at batch 8: 2 * 8*32*112*112 = 6,422,528 elements
  // (a = 15.675, beyond 2^22 = 4,194,304): all three hinges open.
  LayerInstance big = d;
  big.input_shape = {32, 112, 112};
  Eigen::RowVectorXd v4 = ComputeFeatures("conv2d_v4", big, 8);
  ASSERT_EQ(v4.size(), 27);
  ASSERT_EQ(RecipeFeatureNames("conv2d_v4").size(), 27u);
  EXPECT_EQ(v4.head(23), ComputeFeatures("conv2d_v3", big, 8));
  const double a = std::log(2.0 * 8 * 32 * 112 * 112);
  EXPECT_NEAR(v4[23], a - 18 * std::log(2.0), 1e-12);
  EXPECT_NEAR(v4[24], a - 20 * std::log(2.0), 1e-12);
  EXPECT_NEAR(v4[25], a - 22 * std::log(2.0), 1e-12);
  EXPECT_NEAR(v4[26], a, 1e-12);
  // The small one (2 * 32*14*14 = 12,544 elements at batch 1) opens none; not depthwise -> 0.
  Eigen::RowVectorXd small = ComputeFeatures("conv2d_v4", d, 1);
  EXPECT_EQ(small[23], 0.0);
  EXPECT_EQ(small[25], 0.0);
  EXPECT_EQ(ComputeFeatures("conv2d_v4", AlexConv(), 2)[26], 0.0);
  // conv2d_v5 = conv2d_v4 plus thnn_1x1 times b, H, Ci, Co, MACs, in, out elements and weights
  // (logs). 1x1 320 -> 1280 on 7x7 at batch 1 takes the im2col path: the products are the logs.
  LayerInstance pw = d;
  pw.params["in_channels"] = 320;
  pw.params["out_channels"] = 1280;
  pw.params["groups"] = 1;
  pw.params["kernel_size"] = {1, 1};
  pw.params["padding"] = {0, 0};
  pw.input_shape = {320, 7, 7};
  Eigen::RowVectorXd v5 = ComputeFeatures("conv2d_v5", pw, 1);
  ASSERT_EQ(v5.size(), 35);
  ASSERT_EQ(RecipeFeatureNames("conv2d_v5").size(), 35u);
  EXPECT_EQ(v5.head(27), ComputeFeatures("conv2d_v4", pw, 1));
  EXPECT_EQ(v5[17], 1.0);
  EXPECT_NEAR(v5[27], 0.0, 1e-12);                                // ln 1 (batch)
  EXPECT_NEAR(v5[28], std::log(7.0), 1e-12);                      // image side
  EXPECT_NEAR(v5[29], std::log(320.0), 1e-12);                    // Ci
  EXPECT_NEAR(v5[30], std::log(1280.0), 1e-12);                   // Co
  EXPECT_NEAR(v5[31], std::log(49.0 * 1280 * (320 + 1)), 1e-12);  // MACs (bias counted)
  EXPECT_NEAR(v5[32], std::log(320.0 * 49), 1e-12);               // input elements
  EXPECT_NEAR(v5[33], std::log(1280.0 * 49), 1e-12);              // output elements
  EXPECT_NEAR(v5[34], std::log(1280.0 * (320 + 1)), 1e-12);       // weights and biases
  EXPECT_EQ(RecipeFeatureNames("conv2d_v5")[34], "thnn_log_weights");
  // At batch 16 the same layer goes to oneDNN: flag 0, every product 0.
  Eigen::RowVectorXd v5b16 = ComputeFeatures("conv2d_v5", pw, 16);
  EXPECT_EQ(v5b16[17], 0.0);
  EXPECT_EQ(v5b16.tail(8), Eigen::RowVectorXd::Zero(8));
  // A 1x1 stride-1 convolution at batch 8 takes ATen's im2col path on one thread; at batch 16
  // oneDNN's. 3x3 on 8x7x7 at batch 1 (392 elements <= 20480) is ATen's native small case.
  EXPECT_EQ(ConvPath(1, 1, 1, 1, 1, 1, 8, 1, 1000).thnn_1x1, 1.0);
  EXPECT_EQ(ConvPath(1, 1, 1, 1, 1, 1, 16, 1, 1000).thnn_1x1, 0.0);
  EXPECT_EQ(ConvPath(1, 1, 2, 2, 1, 1, 1, 1, 1000).thnn_1x1, 0.0);
  EXPECT_EQ(ConvPath(3, 3, 1, 1, 1, 1, 1, 1, 392).native_small, 1.0);
  EXPECT_EQ(ConvPath(3, 3, 1, 1, 1, 1, 1, 1, 20481).native_small, 0.0);
  EXPECT_EQ(ConvPath(5, 5, 1, 1, 1, 1, 1, 1, 392).native_small, 0.0);
}

TEST(LayerFeatures, PoolKnownValues) {
  // AlexNet features.2, MaxPool2d(3, 2) on 64x55x55, batch 1:
  //   Ho = (55 - 3) / 2 + 1 = 27
  //   macs = floor(3*3 * 27*27 * 64 * 1 / 2) = floor(419,904 / 2) = 209,952
  //   in = 64*55*55 = 193,600 ; out = 64*27*27 = 46,656
  Eigen::RowVectorXd f = ComputeFeatures("pool2d_v1", AlexPool(), 1);
  const std::vector<double> expected = {0.0,
                                        std::log(55.0),
                                        std::log(3.0),
                                        std::log(64.0),
                                        std::log(2.0),
                                        std::log(27.0),
                                        std::log(209952.0),
                                        std::log(193600.0),
                                        std::log(46656.0)};
  ASSERT_EQ(static_cast<std::size_t>(f.size()), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(f[static_cast<Eigen::Index>(i)], expected[i], 1e-12) << i;
}

TEST(LayerFeatures, AvgPoolOutImageFromParams) {
  // AvgPool2d(2, 2) on 3x8x8 without an output shape: out image 4 -> log 4 (not log 8).
  LayerInstance l =
      Layer("AvgPool2d", {{"kernel_size", 2}, {"stride", 2}, {"padding", 0}}, {3, 8, 8});
  Eigen::RowVectorXd f = ComputeFeatures("pool2d_v1", l, 1);
  EXPECT_NEAR(f[5], std::log(4.0), 1e-12);
}

TEST(LayerFeatures, LinearKnownValues) {
  // AlexNet classifier.1 (9216 -> 4096), batch 10:
  //   macs = 10 * (9216*4096 + 4096) = 10 * 37,752,832 = 377,528,320
  Eigen::RowVectorXd f = ComputeFeatures("linear_v1", AlexFc(), 10);
  const std::vector<double> expected = {std::log(10.0),        std::log(9216.0),  std::log(4096.0),
                                        std::log(377528320.0), std::log(92160.0), std::log(40960.0),
                                        std::log(37748736.0)};
  ASSERT_EQ(static_cast<std::size_t>(f.size()), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(f[static_cast<Eigen::Index>(i)], expected[i], 1e-12) << i;
}

TEST(LayerFeatures, EltwiseKnownValues) {
  // ReLU on 64x55x55 (n = 193,600), batch 3: log 3, log 193600, log 580800
  Eigen::RowVectorXd f = ComputeFeatures("eltwise_v1", Relu(), 3);
  ASSERT_EQ(f.size(), 3);
  EXPECT_NEAR(f[0], std::log(3.0), 1e-12);
  EXPECT_NEAR(f[1], std::log(193600.0), 1e-12);
  EXPECT_NEAR(f[2], std::log(580800.0), 1e-12);
}

TEST(LayerFeatures, GenericKnownValues) {
  // Flatten of 256x6x6, batch 2: in = out = 18,432, macs 0 -> log(1) = 0, parameters 0 -> 0
  Eigen::RowVectorXd f =
      ComputeFeatures("generic_v1", Layer("Flatten", json::object(), {256, 6, 6}), 2);
  ASSERT_EQ(f.size(), 4);
  EXPECT_NEAR(f[0], std::log(18432.0), 1e-12);
  EXPECT_NEAR(f[1], std::log(18432.0), 1e-12);
  EXPECT_EQ(f[2], 0.0);
  EXPECT_EQ(f[3], 0.0);
}

TEST(LayerFeatures, DefaultRecipe) {
  EXPECT_EQ(DefaultRecipe("Conv2d"), "conv2d_v3");
  EXPECT_EQ(
      CandidateRecipes("Conv2d"),
      (std::vector<std::string>{"conv2d_v2", "conv2d_v3", "conv2d_v4", "conv2d_v5", "conv2d_v6"}));
  EXPECT_EQ(CandidateRecipes("ReLU"), (std::vector<std::string>{"eltwise_v1", "eltwise_v2"}));
  EXPECT_EQ(CandidateRecipes("Linear"), std::vector<std::string>{"linear_v1"});
  EXPECT_EQ(DefaultRecipe("MaxPool2d"), "pool2d_v1");
  EXPECT_EQ(DefaultRecipe("AvgPool2d"), "pool2d_v1");
  EXPECT_EQ(DefaultRecipe("Linear"), "linear_v1");
  for (const char* t : {"ReLU", "ReLU6", "Sigmoid", "Tanh", "Softmax", "Dropout", "BatchNorm2d"}) {
    EXPECT_EQ(DefaultRecipe(t), "eltwise_v1") << t;
  }
  for (const char* t : {"Flatten", "AdaptiveAvgPool2d", "vgg16", "Conv3d"})
    EXPECT_EQ(DefaultRecipe(t), "generic_v1") << t;
  // Every default recipe is a known one.
  for (const char* t : {"Conv2d", "MaxPool2d", "Linear", "ReLU", "Flatten"}) {
    EXPECT_NO_THROW(RecipeFeatureNames(DefaultRecipe(t))) << t;
  }
}

// The operator recipes, on ViT-B/16's shapes (197 tokens of 768, 12 heads of 64), by hand.
TEST(LayerFeatures, RowsKnownValues) {
  // LayerNorm over 768 on 197x768, batch 2: rows 394, elements 302,592.
  const LayerInstance ln =
      Layer("LayerNorm", {{"normalized_shape", {768}}, {"eps", 1e-6}}, {197, 768});
  Eigen::RowVectorXd f = ComputeFeatures("rows_v1", ln, 2);
  ASSERT_EQ(f.size(), 4);
  EXPECT_NEAR(f[0], std::log(2.0), 1e-12);
  EXPECT_NEAR(f[1], std::log(394.0), 1e-12);
  EXPECT_NEAR(f[2], std::log(768.0), 1e-12);
  EXPECT_NEAR(f[3], std::log(302592.0), 1e-12);
  // Softmax over the last dim of 12x197x197 scores: rows 12·197 per sample; dim 1 of a flat
  // vector of classes: one row per sample.
  f = ComputeFeatures("rows_v1", Layer("Softmax", {{"dim", -1}}, {12, 197, 197}), 1);
  EXPECT_NEAR(f[1], std::log(12.0 * 197), 1e-12);
  EXPECT_NEAR(f[2], std::log(197.0), 1e-12);
  f = ComputeFeatures("rows_v1", Layer("Softmax", {{"dim", 1}}, {1000}), 4);
  EXPECT_NEAR(f[1], std::log(4.0), 1e-12);
  EXPECT_NEAR(f[2], std::log(1000.0), 1e-12);
  EXPECT_THROW(ComputeFeatures("rows_v1", Relu(), 1), std::invalid_argument);
}

TEST(LayerFeatures, MatMulKnownValues) {
  // q k^T of 12 heads: [2, 12, 197, 64] @ [2, 12, 64, 197]; P = 24 products of 197x64x197.
  LayerInstance mm = Layer("MatMul", {{"m", 197}, {"k", 64}, {"n", 197}}, {12, 197, 64});
  mm.output_shape = {12, 197, 197};
  Eigen::RowVectorXd f = ComputeFeatures("matmul_v1", mm, 2);
  const std::vector<double> expected = {std::log(24.0),
                                        std::log(197.0),
                                        std::log(64.0),
                                        std::log(197.0),
                                        std::log(24.0 * 197 * 64 * 197),
                                        std::log(24.0 * 197 * 64),
                                        std::log(24.0 * 64 * 197),
                                        std::log(24.0 * 197 * 197)};
  ASSERT_EQ(static_cast<std::size_t>(f.size()), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(f[static_cast<Eigen::Index>(i)], expected[i], 1e-12) << i;
  EXPECT_NEAR(Normaliser(mm, 2), 24.0 * 197 * 64 * 197, 1e-3);
}

TEST(LayerFeatures, AttentionKnownValues) {
  // ViT-B/16's self-attention, batch 1: nn.MultiheadAttention's arithmetic (closed form):
  // in-projections 3·L·E², products 2·L·L·E, out-projection L·E², biases 3·L·E + L·E and one
  // per score for the softmax, H·L·L.
  LayerInstance mha = Layer(
      "MultiheadAttention",
      {{"embed_dim", 768}, {"num_heads", 12}, {"bias", true}, {"key_length", 197}}, {197, 768});
  mha.output_shape = {197, 768};
  const double l = 197, e = 768, h = 12;
  const double macs = 4 * l * e * e + 2 * l * l * e + 4 * l * e + h * l * l;
  EXPECT_NEAR(Normaliser(mha, 1), macs, 1e-3);
  Eigen::RowVectorXd f = ComputeFeatures("attention_v1", mha, 1);
  ASSERT_EQ(f.size(), 9);
  EXPECT_NEAR(f[1], std::log(l), 1e-12);
  EXPECT_NEAR(f[2], std::log(l), 1e-12);
  EXPECT_NEAR(f[4], std::log(h), 1e-12);
  EXPECT_NEAR(f[5], std::log(64.0), 1e-12);
  EXPECT_NEAR(f[6], std::log(macs), 1e-12);
  EXPECT_NEAR(f[7], std::log(h * l * l), 1e-12);
}

TEST(LayerFeatures, ScaledDotProductAttentionKnownValues) {
  // Llama-2-7B's attention at sequence 512, batch 2: 32 heads of 128, causal. Closed form: both
  // products P·L·S·(E + Ev) and one MAC per score for the softmax, P·L·S, with P = 2·32.
  LayerInstance sdpa = Layer("ScaledDotProductAttention",
                             {{"query_length", 512},
                              {"key_length", 512},
                              {"embed_dim", 128},
                              {"value_dim", 128},
                              {"is_causal", true},
                              {"dropout_p", 0.0},
                              {"attn_mask", false}},
                             {32, 512, 128});
  sdpa.output_shape = {32, 512, 128};
  const double p = 2 * 32, l = 512, e = 128;
  const double macs = p * l * l * (e + e) + p * l * l;
  EXPECT_NEAR(Normaliser(sdpa, 2), macs, 1e-3);
  Eigen::RowVectorXd f = ComputeFeatures("sdpa_v1", sdpa, 2);
  ASSERT_EQ(static_cast<std::size_t>(f.size()), RecipeFeatureNames("sdpa_v1").size());
  const std::vector<double> expected = {std::log(p),         std::log(l), std::log(l),
                                        std::log(e),         std::log(e), std::log(macs),
                                        std::log(p * l * l), 1.0};
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(f[static_cast<Eigen::Index>(i)], expected[i], 1e-12) << i;
  // Mistral's sliding window caps the keys each query is scored against.
  sdpa.params["key_length"] = 8192;
  sdpa.params["window"] = 4096;
  f = ComputeFeatures("sdpa_v1", sdpa, 2);
  EXPECT_NEAR(f[2], std::log(4096.0), 1e-12);
  sdpa.params["is_causal"] = false;
  sdpa.params.erase("window");
  EXPECT_EQ(ComputeFeatures("sdpa_v1", sdpa, 2)[7], 0.0);
  EXPECT_THROW(ComputeFeatures("sdpa_v1", Relu(), 1), std::invalid_argument);
}

// eltwise_v2 and conv2d_v6 add the fresh-pages flag (an output of >= 2^23 elements, 32 MiB of
// float32: past glibc's largest mmap threshold) and the flag times ln(output elements).
TEST(LayerFeatures, FreshPagesFlag) {
  // SiLU on 96x112x112 (1,204,224 elements): batch 6 is below 2^23 = 8,388,608, batch 7 above.
  const LayerInstance silu = Layer("SiLU", json::object(), {96, 112, 112});
  Eigen::RowVectorXd f = ComputeFeatures("eltwise_v2", silu, 6);
  ASSERT_EQ(f.size(), 5);
  EXPECT_EQ(f[3], 0.0);
  EXPECT_EQ(f[4], 0.0);
  f = ComputeFeatures("eltwise_v2", silu, 7);
  EXPECT_EQ(f[3], 1.0);
  EXPECT_NEAR(f[4], std::log(7.0 * 1204224), 1e-12);
  // AlexNet's first convolution (64x55x55 out) at batch 64: 12,390,400 output elements.
  const Eigen::RowVectorXd v5 = ComputeFeatures("conv2d_v5", AlexConv(), 64);
  const Eigen::RowVectorXd v6 = ComputeFeatures("conv2d_v6", AlexConv(), 64);
  ASSERT_EQ(v6.size(), v5.size() + 2);
  EXPECT_EQ(v6.head(v5.size()), v5);
  EXPECT_EQ(v6[v5.size()], 1.0);
  EXPECT_NEAR(v6[v5.size() + 1], std::log(12390400.0), 1e-12);
  EXPECT_EQ(RecipeFeatureNames("conv2d_v6").size(), static_cast<std::size_t>(v6.size()));
}

TEST(LayerFeatures, OperatorRecipes) {
  EXPECT_EQ(DefaultRecipe("LayerNorm"), "rows_v1");
  EXPECT_EQ(DefaultRecipe("MatMul"), "matmul_v1");
  EXPECT_EQ(DefaultRecipe("MultiheadAttention"), "attention_v1");
  EXPECT_EQ(DefaultRecipe("ScaledDotProductAttention"), "sdpa_v1");
  EXPECT_EQ(DefaultRecipe("Embedding"), "gather_v1");
  for (const char* t : {"GELU", "SiLU", "Hardswish", "Hardsigmoid", "Mul", "Clamp", "Exp", "Div"})
    EXPECT_EQ(DefaultRecipe(t), "eltwise_v1") << t;
  EXPECT_EQ(CandidateRecipes("Softmax"), (std::vector<std::string>{"eltwise_v1", "rows_v1"}));
  EXPECT_EQ(CandidateRecipes("LayerNorm"), (std::vector<std::string>{"eltwise_v1", "rows_v1"}));
  EXPECT_THROW(ComputeFeatures("matmul_v1", Relu(), 1), std::invalid_argument);
}

TEST(LayerFeatures, UnknownRecipe) {
  try {
    RecipeFeatureNames("conv3d_v9");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown feature recipe 'conv3d_v9'");
  }
  try {
    ComputeFeatures("conv3d_v9", Relu(), 1);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown feature recipe 'conv3d_v9'");
  }
}

TEST(LayerFeatures, RecipeDoesNotFitLayer) {
  EXPECT_THROW(ComputeFeatures("conv2d_v1", AlexFc(), 1), std::invalid_argument);
  EXPECT_THROW(ComputeFeatures("conv2d_v2", AlexFc(), 1), std::invalid_argument);
  EXPECT_THROW(ComputeFeatures(
                   "pool2d_v1",
                   Layer("MaxPool2d", {{"kernel_size", 2}, {"stride", 2}, {"padding", 0}}, {8}), 1),
               std::invalid_argument);
  EXPECT_THROW(ComputeFeatures("linear_v1", Layer("Linear", {{"in_features", 4}}, {4}), 1),
               std::invalid_argument);
}

TEST(Normaliser, MacsOrElements) {
  EXPECT_EQ(Normaliser(AlexConv(), 2), 140940800.0);  // the MACs above
  EXPECT_EQ(Normaliser(Relu(), 3), 580800.0);         // B * elements
  EXPECT_EQ(Normaliser(Layer("Flatten", json::object(), {256, 6, 6}), 2),
            18432.0);                                                     // no MACs: input elements
  EXPECT_EQ(Normaliser(Layer("Identity", json::object(), {1}), 1), 1.0);  // never below 1
  EXPECT_THROW(Normaliser(Relu(), 0), std::invalid_argument);
}

}  // namespace
}  // namespace joulecast
