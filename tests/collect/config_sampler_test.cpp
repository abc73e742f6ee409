// The collector's configuration sampler (collect/config_sampler.h): every type yields valid
// configurations within the limits, the ranges cover what real networks use, and sampling is
// deterministic and extensible.
#include "joulecast/collect/config_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "joulecast/arch/shape_inference.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/features/macs.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/graph/shape_pass.h"

namespace joulecast {
namespace {

constexpr int kN = 400;  // samples per type in the range checks

std::int64_t P(const CollectConfig& c, const char* key) { return c.layer.params.at(key).get<std::int64_t>(); }
std::int64_t P0(const CollectConfig& c, const char* key) {
  return c.layer.params.at(key).at(0).get<std::int64_t>();
}

TEST(ConfigSampler, TypesAreTheWalksLeafTypesAddCatAndTheOperatorTypes) {
  const std::vector<std::string> types = SampleableLayerTypes();
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));
  std::vector<std::string> expected = KnownLayerTypes();
  expected.push_back("Add");
  expected.push_back("Cat");
  for (const char* t :
       {"Clamp", "Div", "Einsum", "Embedding", "Exp", "GELU", "Hardsigmoid", "Hardswish",
        "LayerNorm", "MatMul", "Mul", "MultiheadAttention", "ScaledDotProductAttention", "SiLU"})
    expected.push_back(t);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(types, expected);
  for (const char* t : {"Conv2d", "Linear", "BatchNorm2d", "ChannelShuffle", "Dropout",
                        "Identity", "Flatten", "AdaptiveAvgPool2d", "ReLU6"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  }
}

TEST(ConfigSampler, EveryTypeYieldsValidConfigurationsWithinTheLimits) {
  SamplerOptions o;
  o.max_macs = 5e9;
  o.max_elements = 1 << 22;
  o.max_parameters = 1 << 23;
  for (const std::string& type : SampleableLayerTypes()) {
    const std::vector<CollectConfig> configs = SampleConfigs(type, 150, 11, o);
    ASSERT_EQ(configs.size(), 150u) << type;
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const CollectConfig& c = configs[i];
      SCOPED_TRACE(type + " sample " + std::to_string(i));
      EXPECT_EQ(c.layer.type, type);
      EXPECT_TRUE(c.architecture.is_null());
      EXPECT_EQ(c.context["sample"], static_cast<std::int64_t>(i));
      EXPECT_EQ(c.context["seed"], 11);
      if (c.plan.is_null()) {
        // Valid: MakeConfig (shape inference) accepts it and infers the same output.
        const CollectConfig again = MakeConfig(c.layer, c.batch_size);
        EXPECT_EQ(again.layer.output_shape, c.layer.output_shape);
      } else {
        // An operator: a one-node graph that the shape pass accepted, its layer form as kept.
        EXPECT_EQ(c.plan.at("nodes").size(), 1u);
        EXPECT_EQ(c.context["operator"], c.plan["nodes"][0]["op"]);
      }
      EXPECT_FALSE(c.layer.output_shape.empty());
      const LayerCounts n = CountLayer(c.layer, c.batch_size);
      EXPECT_LE(n.macs, o.max_macs);
      EXPECT_LE(std::max(n.input_elements, n.output_elements), o.max_elements);
      EXPECT_LE(n.parameters, o.max_parameters);
      const std::vector<std::int64_t> batches = {1, 2, 4, 8, 16, 32, 64};
      EXPECT_NE(std::find(batches.begin(), batches.end(), c.batch_size), batches.end());
    }
  }
}

TEST(ConfigSampler, ConvolutionsCoverRealShapes) {
  const auto configs = SampleConfigs("Conv2d", kN, 0);
  int depthwise = 0, grouped = 0, mult16 = 0, mult8 = 0, k1 = 0, k3 = 0, k7 = 0, k11 = 0,
      s2 = 0, first_layer = 0;
  for (const auto& c : configs) {
    const std::int64_t in = P(c, "in_channels"), out = P(c, "out_channels"), g = P(c, "groups");
    ASSERT_EQ(c.layer.input_shape[0], in);
    ASSERT_LE(in, 1024);
    ASSERT_LE(out, 1024);
    ASSERT_EQ(in % g, 0);
    ASSERT_EQ(out % g, 0);
    if (g > 1 && g == in && g == out) ++depthwise;
    if (g > 1 && g != in) ++grouped;
    if (out % 16 == 0) ++mult16;
    if (out % 8 == 0) ++mult8;
    if (in == 3) ++first_layer;
    const std::int64_t k = P0(c, "kernel_size");
    k1 += k == 1;
    k3 += k == 3;
    k7 += k == 7;
    k11 += k == 11;
    s2 += P0(c, "stride") == 2;
  }
  // Documented shares (config_sampler.h), with room for the redraws the limits cause.
  EXPECT_GT(depthwise, kN * 0.10);  // p 0.2
  EXPECT_GT(grouped, kN * 0.01);    // p 0.05
  EXPECT_GT(mult16, kN * 0.40);     // multiples of 16: p 0.5 (and some "any" draws)
  EXPECT_GT(mult8, kN * 0.65);      // multiples of 8: p 0.5 + 0.3
  EXPECT_LT(mult8, kN * 0.98);      // ... but not only: p 0.2 any value
  EXPECT_GT(first_layer, 0);
  EXPECT_GT(k1, kN * 0.2);
  EXPECT_GT(k3, kN * 0.3);
  EXPECT_GT(k7, 0);
  EXPECT_GT(k11, 0);
  EXPECT_GT(s2, kN * 0.1);
}

TEST(ConfigSampler, PoolsIncludeKernel2Stride2AndKernel3Stride2) {
  for (const char* type : {"MaxPool2d", "AvgPool2d"}) {
    const auto configs = SampleConfigs(type, kN, 0);
    int k2s2 = 0, k3s2p1 = 0, ceil = 0;
    for (const auto& c : configs) {
      const std::int64_t k = P0(c, "kernel_size"), s = P0(c, "stride"), p = P0(c, "padding");
      k2s2 += k == 2 && s == 2 && p == 0;
      k3s2p1 += k == 3 && s == 2 && p == 1;
      ceil += c.layer.params.at("ceil_mode").get<bool>();
      ASSERT_LE(p, k / 2);
    }
    EXPECT_GT(k2s2, kN * 0.3) << type;    // p 0.4
    EXPECT_GT(k3s2p1, kN * 0.2) << type;  // p 0.3
    EXPECT_GT(ceil, 0) << type;
  }
}

TEST(ConfigSampler, ReluRunsInPlaceAndOutOfPlace) {
  for (const char* type : {"ReLU", "ReLU6"}) {
    int inplace = 0, flat = 0;
    for (const auto& c : SampleConfigs(type, kN, 0)) {
      inplace += c.layer.params.at("inplace").get<bool>();
      flat += c.layer.input_shape.size() == 1;
    }
    EXPECT_GT(inplace, kN * 0.5) << type;  // p 0.6
    EXPECT_LT(inplace, kN * 0.7) << type;
    EXPECT_GT(flat, kN * 0.1) << type;  // p 0.2: after a Flatten, between Linear layers
  }
}

TEST(ConfigSampler, LinearReachesVggsClassifier) {
  int at_max = 0, over_9000 = 0, big_weights = 0;
  std::int64_t largest = 0;
  for (const auto& c : SampleConfigs("Linear", kN, 0)) {
    const std::int64_t in = P(c, "in_features"), out = P(c, "out_features");
    ASSERT_GE(in, 16);
    ASSERT_LE(in, 25088);
    ASSERT_GE(out, 2);
    ASSERT_LE(out, 4096);
    // A vector, or (token inputs) S x in_features.
    ASSERT_EQ(c.layer.input_shape.back(), in);
    ASSERT_LE(c.layer.input_shape.size(), 2u);
    largest = std::max(largest, in);
    at_max += in == 25088;
    over_9000 += in >= 9216;
    big_weights += in * out >= 25088 * 4096 / 10;
  }
  EXPECT_EQ(largest, 25088);  // VGG's first classifier layer: 512x7x7 inputs
  EXPECT_GT(at_max, kN * 0.02);
  EXPECT_GT(over_9000, kN * 0.1);
  // Weights within 10x of VGG's 25088x4096: log-uniform weight counts put 0.7 x ln 10 / ln(3.2e6)
  // = 11% of the samples there, plus the real pairs (9216x4096 or 25088x{1000,4096}: 0.3 x 3/28).
  EXPECT_GT(big_weights, kN * 0.08);
}

TEST(ConfigSampler, DeterministicAndExtensible) {
  for (const char* type : {"Conv2d", "Linear", "ChannelShuffle", "Cat", "MatMul", "LayerNorm"}) {
    const auto a = SampleConfigs(type, 100, 5), b = SampleConfigs(type, 100, 5);
    const auto longer = SampleConfigs(type, 200, 5);
    const auto other = SampleConfigs(type, 100, 6);
    ASSERT_EQ(longer.size(), 200u);
    int differ = 0;
    for (std::size_t i = 0; i < 100; ++i) {
      auto text = [](const CollectConfig& c) {
        return c.layer.params.dump() + FormatShape(c.layer.input_shape) + "b" +
               std::to_string(c.batch_size);
      };
      EXPECT_EQ(text(a[i]), text(b[i])) << type << " " << i;
      // --samples 200 starts with the 100 configurations of --samples 100.
      EXPECT_EQ(text(a[i]), text(longer[i])) << type << " " << i;
      // Sample i alone is sample i of the list (what shards and resumes rely on).
      EXPECT_EQ(text(a[i]), text(SampleConfig(type, 5, static_cast<std::int64_t>(i))));
      differ += text(a[i]) != text(other[i]);
    }
    EXPECT_GT(differ, 90) << type << ": another seed gives other configurations";
  }
  // Known values: samples 0 and 1 of Linear with seed 0, as the campaign in data/collect/ci-2c
  // (tools/collect_campaign.sh) recorded them on another machine.
  const CollectConfig c0 = SampleConfig("Linear", 0, 0), c1 = SampleConfig("Linear", 0, 1);
  EXPECT_EQ(c0.context.dump(), R"({"sample":0,"seed":0})");
  EXPECT_EQ(c0.layer.params.dump(), R"({"bias":true,"in_features":9216,"out_features":100})");
  EXPECT_EQ(c0.batch_size, 32);
  EXPECT_EQ(c1.layer.params.dump(), R"({"bias":true,"in_features":25088,"out_features":4096})");
  EXPECT_EQ(c1.batch_size, 1);
}

// An operator's record holds the form the resolver gives its predictor inside a network, and
// CountLayer (what fit and predict normalise by) counts it as the registry counts the node.
TEST(ConfigSampler, OperatorRecordsCountAsTheirGraphNode) {
  for (const char* type :
       {"Einsum", "LayerNorm", "GELU", "SiLU", "Hardswish", "Hardsigmoid", "Mul", "MatMul",
        "MultiheadAttention", "ScaledDotProductAttention", "Embedding", "Clamp", "Exp", "Div"}) {
    for (const CollectConfig& c : SampleConfigs(type, 60, 3)) {
      SCOPED_TRACE(std::string(type) + " " + c.layer.params.dump());
      ASSERT_FALSE(c.plan.is_null());
      // The first value is the node's first input, batched.
      const auto x = c.plan["values"][0]["shape"].get<std::vector<std::int64_t>>();
      EXPECT_EQ(x[0], c.batch_size);
      EXPECT_EQ(Shape(x.begin() + 1, x.end()), c.layer.input_shape);
      EXPECT_NEAR(CountLayer(c.layer, c.batch_size).macs, c.plan["macs"].get<double>(),
                  1e-9 * c.plan["macs"].get<double>());
    }
  }
  // MatMul by hand: B·(leading dims)·m·k·n.
  for (const CollectConfig& c : SampleConfigs("MatMul", 40, 4)) {
    const auto& in = c.layer.input_shape;
    double lead = static_cast<double>(c.batch_size);
    for (std::size_t i = 0; i + 2 < in.size(); ++i) lead *= static_cast<double>(in[i]);
    EXPECT_DOUBLE_EQ(CountLayer(c.layer, c.batch_size).macs,
                     lead * static_cast<double>(P(c, "m") * P(c, "k") * P(c, "n")));
  }
}

TEST(ConfigSampler, OperatorRangesCoverTransformersAndModernCnns) {
  int tokens_768 = 0, channels_last = 0, attention_products = 0, se_scales = 0, long_rows = 0;
  std::set<std::int64_t> head_dims;
  for (const CollectConfig& c : SampleConfigs("LayerNorm", kN, 0)) {
    tokens_768 += c.layer.input_shape.size() == 2 && c.layer.input_shape[1] == 768;
    channels_last += c.layer.input_shape.size() == 3;
    EXPECT_EQ(c.layer.params["normalized_shape"][0], c.layer.input_shape.back());
  }
  for (const CollectConfig& c : SampleConfigs("MatMul", kN, 0))
    attention_products += c.layer.input_shape.size() == 3;  // heads x S x d per sample
  for (const CollectConfig& c : SampleConfigs("Mul", kN, 0))
    se_scales += c.plan["values"].size() == 3 && c.plan["values"][1]["shape"].size() == 4 &&
                 c.plan["values"][1]["shape"][2] == 1;
  for (const CollectConfig& c : SampleConfigs("MultiheadAttention", kN, 0)) {
    head_dims.insert(P(c, "embed_dim") / P(c, "num_heads"));
    EXPECT_LE(c.layer.input_shape[0], 1024);
  }
  for (const CollectConfig& c : SampleConfigs("Softmax", kN, 0))
    long_rows += c.layer.input_shape.size() == 3 && c.layer.input_shape[2] >= 128;
  int linear_tokens = 0;
  for (const CollectConfig& c : SampleConfigs("Linear", kN, 0))
    linear_tokens += c.layer.input_shape.size() == 2;
  EXPECT_GE(tokens_768, 2);  // p 0.6 x 0.6 / 16 = 2 %, before the limits
  EXPECT_GT(channels_last, kN / 5);
  EXPECT_GT(attention_products, kN / 2);
  EXPECT_GT(se_scales, kN / 4);
  EXPECT_EQ(head_dims, (std::set<std::int64_t>{32, 64, 96, 128}));
  EXPECT_GT(long_rows, kN / 10);
  EXPECT_GT(linear_tokens, kN / 4);
  for (const CollectConfig& c : SampleConfigs("Embedding", 50, 0))
    EXPECT_EQ(c.plan["values"][0]["dtype"], "int64");
}

// Scaled dot-product attention covers causal decoders, encoders and one query against a cache,
// with the issue's sequence (1-4096), head (1-64) and head-dimension (32-256) ranges, and its
// score matrix, which the unfused kernel materialises, within max_elements.
TEST(ConfigSampler, ScaledDotProductAttentionRanges) {
  SamplerOptions o;
  o.max_macs = 5e9;  // tools/collect_operators.sh's limit
  int causal = 0, bidirectional = 0, one_query = 0, long_keys = 0;
  std::int64_t longest_keys = 0, most_heads = 0, largest_head_dim = 0, smallest_head_dim = 1 << 20;
  for (const CollectConfig& c : SampleConfigs("ScaledDotProductAttention", kN, 0, o)) {
    SCOPED_TRACE(c.layer.params.dump());
    ASSERT_EQ(c.layer.input_shape.size(), 3u);  // heads x L x d per sample
    const std::int64_t h = c.layer.input_shape[0];
    const std::int64_t l = P(c, "query_length"), s = P(c, "key_length");
    EXPECT_EQ(l, c.layer.input_shape[1]);
    EXPECT_EQ(P(c, "embed_dim"), P(c, "value_dim"));
    EXPECT_LE(static_cast<double>(c.batch_size * h * l * s), o.max_elements);
    EXPECT_GE(s, l);
    const bool is_causal = c.layer.params.at("is_causal").get<bool>();
    causal += is_causal;
    if (is_causal) EXPECT_EQ(s, l);
    bidirectional += !is_causal && s == l && l > 1;
    one_query += l == 1 && s > 1;
    long_keys += s >= 1024;
    longest_keys = std::max(longest_keys, s);
    most_heads = std::max(most_heads, h);
    largest_head_dim = std::max(largest_head_dim, P(c, "embed_dim"));
    smallest_head_dim = std::min(smallest_head_dim, P(c, "embed_dim"));
    EXPECT_FALSE(c.layer.params.at("attn_mask").get<bool>());
  }
  EXPECT_GT(causal, kN / 4);
  EXPECT_GT(bidirectional, kN / 8);
  EXPECT_GT(one_query, kN / 40);
  EXPECT_GT(long_keys, kN / 40);  // 1024 keys or more: limited by the score matrix's size
  EXPECT_GE(longest_keys, 2048);
  EXPECT_GT(most_heads, 32);
  EXPECT_EQ(smallest_head_dim, 32);
  EXPECT_EQ(largest_head_dim, 256);
}

TEST(ConfigSampler, WholeGraphNetworkAtItsBatch) {
  GraphOptions o;
  o.batch = 2;
  const CollectConfig c = WholeGraphConfig("vit_b_16", LoadGraph("vit_b_16", o));
  EXPECT_EQ(c.layer.type, "vit_b_16");
  EXPECT_EQ(c.batch_size, 2);
  EXPECT_EQ(c.layer.input_shape, (Shape{3, 224, 224}));
  EXPECT_EQ(c.layer.output_shape, (Shape{1000}));
  EXPECT_EQ(c.context.dump(), R"({"architecture":"vit_b_16"})");
  // The patch reshape to [B, 768, 196] at batch 2.
  EXPECT_EQ(c.plan["nodes"][1]["attrs"]["shape"], nlohmann::json::parse("[2, 768, 196]"));
  EXPECT_EQ(WholeGraphConfig("bert", LoadGraph("bert-base-uncased", {}), 128).context["seq_len"],
            128);
}

TEST(ConfigSampler, GivenBatchSizesAreUsed) {
  SamplerOptions o;
  o.batch_sizes = {3, 5};
  std::set<std::int64_t> seen;
  for (const auto& c : SampleConfigs("ReLU", 50, 0, o)) seen.insert(c.batch_size);
  EXPECT_EQ(seen, (std::set<std::int64_t>{3, 5}));
}

TEST(ConfigSampler, MinMacsDrawsOnlyTheLargeEnd) {
  SamplerOptions o;
  o.min_macs = 2e8;
  o.max_macs = 4e9;
  int real_vgg_width = 0;
  for (const CollectConfig& c : SampleConfigs("Linear", 60, 0, o)) {
    const LayerCounts n = CountLayer(c.layer, c.batch_size);
    EXPECT_GE(n.macs, 2e8) << c.layer.params.dump() << " batch " << c.batch_size;
    EXPECT_LE(n.macs, 4e9) << c.layer.params.dump() << " batch " << c.batch_size;
    real_vgg_width += c.layer.params["in_features"] == 25088;
  }
  // VGG's first classifier layer is reachable at batch sizes beyond 8 (2e8 .. 4e9 MACs).
  EXPECT_GT(real_vgg_width, 0);
  // A type without MACs cannot meet a lower limit: an error, not an endless redraw.
  try {
    SampleConfig("Identity", 0, 0, o);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("with at least min_macs 200000000 after 1000 draws"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConfigSampler, MinParametersDrawsOnlyLargeWeightsAtAnyBatch) {
  SamplerOptions o;
  o.min_parameters = 1.6e7;
  o.max_macs = 4e9;
  std::set<std::int64_t> batches;
  int real_classifier = 0;
  for (const CollectConfig& c : SampleConfigs("Linear", 60, 0, o)) {
    const LayerCounts n = CountLayer(c.layer, c.batch_size);
    EXPECT_GE(n.parameters, 1.6e7) << c.layer.params.dump();
    EXPECT_LE(n.macs, 4e9) << c.layer.params.dump() << " batch " << c.batch_size;
    batches.insert(c.batch_size);
    // AlexNet's 9216x4096 and VGG's 25088x4096 (torchvision), the shapes such a stage is for.
    const auto in = c.layer.params["in_features"].get<std::int64_t>();
    real_classifier += c.layer.params["out_features"] == 4096 && (in == 9216 || in == 25088);
  }
  EXPECT_GT(real_classifier, 0);
  EXPECT_TRUE(batches.count(1)) << "a weight limit must not exclude batch 1";
  // A parameter-free operator type cannot meet it either.
  for (const std::string type : {"ReLU", "GELU"}) {
    try {
      SampleConfig(type, 0, 0, o);
      FAIL() << type;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(
          std::string(e.what()).find("with at least min_parameters 16000000 after 1000 draws"),
          std::string::npos)
          << e.what();
    }
  }
}

TEST(ConfigSampler, KernelSizesKeepOnlyThoseKernels) {
  SamplerOptions o;
  o.kernel_sizes = {1};
  o.batch_sizes = {1, 2, 4, 8};
  int pointwise_stride1 = 0;
  for (const CollectConfig& c : SampleConfigs("Conv2d", 80, 0, o)) {
    EXPECT_EQ(c.layer.params["kernel_size"], nlohmann::json::array({1, 1}));
    pointwise_stride1 += c.layer.params["stride"] == nlohmann::json::array({1, 1});
  }
  // The other ranges stay as without the filter: most draws are stride 1 (p 0.7).
  EXPECT_GT(pointwise_stride1, 40);
  o.kernel_sizes = {2, 3};
  for (const CollectConfig& c : SampleConfigs("MaxPool2d", 40, 0, o)) {
    const auto k = c.layer.params["kernel_size"];
    EXPECT_TRUE(k == nlohmann::json::array({2, 2}) || k == nlohmann::json::array({3, 3})) << k;
  }
  // Unrestricted sampling is unchanged by the option's existence: sample 3 without it is the same.
  EXPECT_EQ(SampleConfig("Conv2d", 0, 3).layer.params,
            SampleConfig("Conv2d", 0, 3, SamplerOptions{}).layer.params);
  try {
    SampleConfig("Linear", 0, 0, o);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--kernel-size: applies to Conv2d, MaxPool2d and AvgPool2d, not Linear");
  }
  // A kernel no draw can have: an error naming it, not an endless redraw.
  o.kernel_sizes = {9};
  try {
    SampleConfig("Conv2d", 0, 0, o);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("with kernel_size in {9} after 1000 draws"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConfigSampler, ErrorsNameTheProblem) {
  try {
    SampleConfig("Conv3d", 0, 0);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind(
                  "--layer: unknown layer type 'Conv3d'; known: AdaptiveAvgPool2d, Add, ", 0),
              0u)
        << e.what();
  }
  SamplerOptions tight;
  tight.max_macs = 1;
  try {
    SampleConfig("Conv2d", 0, 0, tight);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--layer Conv2d: no valid configuration within max_macs ",
                                          0),
              0u)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(" after 1000 draws"), std::string::npos) << e.what();
  }
  LayerInstance l;
  l.type = "Conv2d";
  l.params = {{"in_channels", 3}, {"out_channels", 8}, {"kernel_size", 11}};
  l.input_shape = {3, 4, 4};
  try {
    MakeConfig(l, 1);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("impossible configuration: ", 0), 0u) << e.what();
  }
  l.input_shape = {3, 32, 32};
  try {
    MakeConfig(l, 0);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "impossible configuration: batch size must be >= 1, got 0");
  }
  EXPECT_EQ(MakeConfig(l, 2).layer.output_shape, (Shape{8, 22, 22}));
}

// GPT-2's Conv1D: a weight stored [K, N] and read through its transpose. Its configuration keeps
// the transpose, so the runner reads the stored layout as the network does (a fresh [N, K]
// parameter would be nn.Linear's kernel, which the reference BLAS runs ~1.7x slower here).
TEST(ConfigSampler, ConfigsFromAGraphKeepAWeightReadAsStored) {
  graph::Graph g;
  g.name = "conv1d";
  const graph::ValueId x = g.AddInput("x", graph::TensorType{graph::DType::kFloat32, {16, 8}}, 0);
  const graph::ValueId w = g.AddParameter("w", graph::TensorType{graph::DType::kFloat32, {8, 24}});
  const graph::ValueId b = g.AddParameter("b", graph::TensorType{graph::DType::kFloat32, {24}});
  graph::Attributes swap;
  swap.Set("dim0", std::int64_t{0});
  swap.Set("dim1", std::int64_t{1});
  const graph::NodeId t = g.AddNode("transpose", swap, {w}, "c_attn", "c_attn#1", 1);
  const graph::NodeId l =
      g.AddNode("linear", {}, {x, g.node(t).outputs[0], b}, "c_attn", "c_attn#2", 1);
  g.MarkOutput(g.node(l).outputs[0]);
  graph::InferShapes(g);
  const std::vector<CollectConfig> configs = ConfigsFromGraph("conv1d", g);
  ASSERT_EQ(configs.size(), 1u);  // the transpose is a view
  const CollectConfig& c = configs[0];
  EXPECT_EQ(c.layer.type, "MatMul");
  EXPECT_EQ(c.layer.params, (nlohmann::json{{"m", 16}, {"k", 8}, {"n", 24}}));
  ASSERT_EQ(c.plan.at("nodes").size(), 2u);
  EXPECT_EQ(c.plan["nodes"][0]["op"], "transpose");
  EXPECT_EQ(c.plan["nodes"][1]["op"], "linear");
  std::vector<nlohmann::json> params;
  for (const nlohmann::json& v : c.plan.at("values"))
    if (v.at("role") == "parameter") params.push_back(v.at("shape"));
  EXPECT_EQ(params, (std::vector<nlohmann::json>{nlohmann::json::array({8, 24}),
                                                 nlohmann::json::array({24})}));
}

TEST(ConfigSampler, ConfigsFromANetworkAreItsDistinctOperations) {
  const Architecture arch = LoadZooArchitecture("resnet18");
  const auto ops = InferOperations(arch);
  const auto configs = ConfigsFromArchitecture(arch, {1, 8});
  ASSERT_FALSE(configs.empty());
  ASSERT_EQ(configs.size() % 2, 0u);
  const std::size_t per_batch = configs.size() / 2;
  EXPECT_LT(per_batch, ops.size());  // repeats measured once
  std::set<std::string> types;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    EXPECT_EQ(configs[i].batch_size, i < per_batch ? 1 : 8);
    EXPECT_EQ(configs[i].context["from_architecture"], "resnet18");
    types.insert(configs[i].layer.type);
  }
  EXPECT_TRUE(types.count("Conv2d") && types.count("Add") && types.count("BatchNorm2d") &&
              types.count("Linear"));
  EXPECT_EQ(configs[0].layer.type, ops[0].type);  // execution order
  const CollectConfig whole = WholeNetworkConfig(arch, 4);
  EXPECT_EQ(whole.layer.type, "resnet18");
  EXPECT_EQ(whole.context["architecture"], "resnet18");
  EXPECT_EQ(whole.layer.output_shape, (Shape{1000}));
  EXPECT_EQ(whole.batch_size, 4);
  EXPECT_THROW(WholeNetworkConfig(arch, 0), std::invalid_argument);
}

}  // namespace
}  // namespace joulecast
