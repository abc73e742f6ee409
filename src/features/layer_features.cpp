#include "joulecast/features/layer_features.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "joulecast/features/macs.h"

namespace joulecast {
namespace {

double Log(double x) { return std::log(std::max(x, 1.0)); }

// Channels a 16-float (512-bit) SIMD register processes for c real ones, over c: 1 when c is a
// multiple of 16, up to 16 for c = 1.
double Lanes16(double c) { return 16.0 * std::ceil(c / 16.0) / c; }

double Int(const LayerInstance& l, const char* key) {
  auto it = l.params.find(key);
  if (it == l.params.end() || !it->is_number_integer()) {
    throw std::invalid_argument(
        fmt::format("{}: parameter '{}' missing or not an integer", l.type, key));
  }
  return static_cast<double>(it->get<std::int64_t>());
}

// An output of at least 2^23 elements (32 MiB of float32) is past glibc's largest mmap
// threshold: each call gets it from fresh pages, and the page faults may cost more than the
// arithmetic. The flag, and the flag times ln(output elements).
std::array<double, 2> FreshPageExtras(double output_elements) {
  const double fresh = output_elements >= 8388608.0 ? 1.0 : 0.0;
  return {fresh, fresh * Log(output_elements)};
}

void RequireType(const LayerInstance& l, const char* type, const std::string& recipe) {
  if (l.type != type)
    throw std::invalid_argument(fmt::format("recipe {} does not apply to {}", recipe, l.type));
}

// Elements per row of a normalisation or softmax: the product of LayerNorm's normalized_shape,
// or the size of Softmax/LogSoftmax's dim (of the batched input; PyTorch's implicit dim when
// null).
double RowLength(const LayerInstance& l, const std::string& recipe) {
  if (l.input_shape.empty())
    throw std::invalid_argument(fmt::format("recipe {}: {} has no input shape", recipe, l.type));
  if (l.type == "LayerNorm" || l.type == "RMSNorm") {
    double row = 1;
    for (const auto& d : l.params.at("normalized_shape")) row *= d.get<double>();
    return row;
  }
  if (l.type == "Softmax" || l.type == "LogSoftmax") {
    const std::int64_t rank = static_cast<std::int64_t>(l.input_shape.size()) + 1;
    std::int64_t dim = 0;
    const auto it = l.params.find("dim");
    if (it == l.params.end() || it->is_null()) {
      dim = (rank == 0 || rank == 1 || rank == 3) ? 0 : 1;
    } else {
      dim = it->get<std::int64_t>();
    }
    if (dim < 0) dim += rank;
    if (dim < 1 || dim >= rank)  // the batch dimension (or none): a row per sample
      return 1.0;
    return static_cast<double>(l.input_shape[static_cast<std::size_t>(dim - 1)]);
  }
  throw std::invalid_argument(fmt::format("recipe {} does not apply to {}", recipe, l.type));
}

void RequireRank(const LayerInstance& l, std::size_t rank, const std::string& recipe) {
  if (l.input_shape.size() != rank) {
    throw std::invalid_argument(fmt::format("recipe {}: {} needs a rank-{} input, got {}", recipe,
                                            l.type, rank, FormatShape(l.input_shape)));
  }
}

}  // namespace

std::array<double, 4> Conv2dV4Extras(double input_elements, double output_elements,
                                     double depthwise) {
  // Activations against cache-like scales: 2^18, 2^20 and 2^22 elements (1, 4, 16 MiB in float32),
  // as hinges in log size, so that the time per MAC may bend where the layer's data stops fitting;
  // and the depthwise flag times log size (depthwise convolutions are memory-bound).
  const double act = std::log(input_elements + output_elements);
  return {std::max(0.0, act - 18.0 * std::log(2.0)), std::max(0.0, act - 20.0 * std::log(2.0)),
          std::max(0.0, act - 22.0 * std::log(2.0)), depthwise * act};
}

std::array<double, 8> Conv2dV5Extras(const double* v4) {
  constexpr std::array<int, 8> kInteracted = {0, 1, 3, 4, 7, 8, 9, 10};
  std::array<double, 8> out{};
  for (std::size_t i = 0; i < kInteracted.size(); ++i) out[i] = v4[17] * v4[kInteracted[i]];
  return out;
}

ConvPathFlags ConvPath(std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw,
                       std::int64_t dh, std::int64_t dw, double batch, double groups,
                       double sample_elements) {
  ConvPathFlags f;
  const bool plain_1x1 = kh == 1 && kw == 1 && sh == 1 && sw == 1 && dh == 1 && dw == 1;
  f.thnn_1x1 = plain_1x1 && batch < 16 ? 1.0 : 0.0;
  const bool big_kernel = kh > 3 && kw > 3;
  f.native_small =
      !(groups > 1 || big_kernel || batch > 1 || batch * sample_elements > 20480) ? 1.0 : 0.0;
  return f;
}

std::string DefaultRecipe(const std::string& type) {
  if (type == "Conv2d") return "conv2d_v3";
  if (type == "MaxPool2d" || type == "AvgPool2d") return "pool2d_v1";
  if (type == "Linear") return "linear_v1";
  if (type == "ReLU" || type == "ReLU6" || type == "Sigmoid" || type == "Tanh" ||
      type == "Softmax" || type == "Dropout" || type == "BatchNorm2d" || type == "GELU" ||
      type == "SiLU" || type == "Hardswish" || type == "Hardsigmoid" || type == "Mul" ||
      type == "Clamp" || type == "Exp" || type == "Div") {
    return "eltwise_v1";
  }
  if (type == "LayerNorm") return "rows_v1";
  if (type == "MatMul" || type == "Einsum") return "matmul_v1";
  if (type == "MultiheadAttention") return "attention_v1";
  if (type == "ScaledDotProductAttention") return "sdpa_v1";
  if (type == "Embedding") return "gather_v1";
  return "generic_v1";
}

std::vector<std::string> CandidateRecipes(const std::string& type) {
  if (type == "Conv2d") return {"conv2d_v2", "conv2d_v3", "conv2d_v4", "conv2d_v5", "conv2d_v6"};
  if (type == "Softmax" || type == "LayerNorm") return {"eltwise_v1", "rows_v1"};
  if (DefaultRecipe(type) == "eltwise_v1") return {"eltwise_v1", "eltwise_v2"};
  return {DefaultRecipe(type)};
}

std::vector<std::string> RecipeFeatureNames(const std::string& recipe) {
  if (recipe == "conv2d_v1") {
    return {"log_batch",           "log_image",        "log_kernel",    "log_in_channels",
            "log_out_channels",    "log_stride",       "log_out_image", "log_macs",
            "log_in_elements",     "log_out_elements", "log_weights",   "in_channels_mult16",
            "out_channels_mult16", "padding"};
  }
  if (recipe == "conv2d_v2") {
    return {"log_batch",        "log_image",          "log_kernel",          "log_in_channels",
            "log_out_channels", "log_stride",         "log_out_image",       "log_macs",
            "log_in_elements",  "log_out_elements",   "log_weights",         "padding",
            "log_intensity",    "log_in_lanes_ratio", "log_out_lanes_ratio", "kernel_1x1",
            "stride_1"};
  }
  if (recipe == "conv2d_v3") {
    std::vector<std::string> names = RecipeFeatureNames("conv2d_v2");
    for (const char* n : {"thnn_1x1", "native_small", "depthwise", "log_groups",
                          "log_in_per_group", "log_out_per_group"})
      names.push_back(n);
    return names;
  }
  if (recipe == "conv2d_v4") {
    std::vector<std::string> names = RecipeFeatureNames("conv2d_v3");
    for (const char* n : {"act_over_2e18", "act_over_2e20", "act_over_2e22", "depthwise_log_act"})
      names.push_back(n);
    return names;
  }
  if (recipe == "conv2d_v5") {
    std::vector<std::string> names = RecipeFeatureNames("conv2d_v4");
    for (const char* n :
         {"thnn_log_batch", "thnn_log_image", "thnn_log_in_channels", "thnn_log_out_channels",
          "thnn_log_macs", "thnn_log_in_elements", "thnn_log_out_elements", "thnn_log_weights"})
      names.push_back(n);
    return names;
  }
  if (recipe == "conv2d_v6") {
    std::vector<std::string> names = RecipeFeatureNames("conv2d_v5");
    names.push_back("fresh_pages");
    names.push_back("fresh_pages_log_out_elements");
    return names;
  }
  if (recipe == "pool2d_v1") {
    return {"log_batch",     "log_image", "log_kernel",      "log_channels",    "log_stride",
            "log_out_image", "log_macs",  "log_in_elements", "log_out_elements"};
  }
  if (recipe == "linear_v1") {
    return {"log_batch",    "log_in",        "log_out",   "log_macs",
            "log_batch_in", "log_batch_out", "log_in_out"};
  }
  if (recipe == "eltwise_v1") return {"log_batch", "log_elements", "log_batch_elements"};
  if (recipe == "eltwise_v2") {
    return {"log_batch", "log_elements", "log_batch_elements", "fresh_pages",
            "fresh_pages_log_out_elements"};
  }
  if (recipe == "generic_v1")
    return {"log_in_elements", "log_out_elements", "log_macs", "log_parameters"};
  if (recipe == "rows_v1") return {"log_batch", "log_rows", "log_row_length", "log_batch_elements"};
  if (recipe == "matmul_v1") {
    return {"log_products", "log_m",          "log_k",          "log_n",
            "log_macs",     "log_a_elements", "log_b_elements", "log_out_elements"};
  }
  if (recipe == "attention_v1") {
    return {"log_batch",     "log_query_length", "log_key_length",
            "log_embed_dim", "log_heads",        "log_head_dim",
            "log_macs",      "log_scores",       "log_batch_tokens_embed"};
  }
  if (recipe == "sdpa_v1") {
    return {"log_products",  "log_query_length", "log_keys",   "log_embed_dim",
            "log_value_dim", "log_macs",         "log_scores", "causal"};
  }
  if (recipe == "gather_v1") return {"log_indices", "log_out_elements", "log_row_length"};
  throw std::invalid_argument(fmt::format("unknown feature recipe '{}'", recipe));
}

Eigen::RowVectorXd ComputeFeatures(const std::string& recipe, const LayerInstance& l,
                                   std::int64_t batch) {
  return ComputeFeatures(recipe, l, batch, CountLayer(l, batch));
}

Eigen::RowVectorXd ComputeFeatures(const std::string& recipe, const LayerInstance& l,
                                   std::int64_t batch, const LayerCounts& c) {
  const double b = static_cast<double>(batch);
  std::vector<double> f;
  if (recipe == "conv2d_v1" || recipe == "conv2d_v2" || recipe == "conv2d_v3" ||
      recipe == "conv2d_v4" || recipe == "conv2d_v5" || recipe == "conv2d_v6") {
    if (l.type != "Conv2d")
      throw std::invalid_argument(fmt::format("recipe {} does not apply to {}", recipe, l.type));
    RequireRank(l, 3, recipe);
    auto [kh, kw] = PairParam(l, "kernel_size");
    auto [sh, sw] = PairParam(l, "stride");
    auto [ph, pw] = PairParam(l, "padding");
    double ci = Int(l, "in_channels"), co = Int(l, "out_channels");
    double h = static_cast<double>(l.input_shape[1]);
    double ho = c.output_elements / (b * co);
    f = {Log(b),
         Log(h),
         Log(std::sqrt(double(kh * kw))),
         Log(ci),
         Log(co),
         Log(std::sqrt(double(sh * sw))),
         Log(std::sqrt(ho)),
         Log(c.macs),
         Log(c.input_elements),
         Log(c.output_elements),
         Log(c.parameters),
         std::fmod(ci, 16.0) == 0 ? 1.0 : 0.0,
         std::fmod(co, 16.0) == 0 ? 1.0 : 0.0,
         0.5 * double(ph + pw)};
    if (recipe != "conv2d_v1") {
      // The channel-count flags give way to the lane ratios, which say how far from a multiple.
      f.erase(f.begin() + 11, f.begin() + 13);
      f.push_back(Log(c.macs / (c.input_elements + c.output_elements + c.parameters)));
      f.push_back(std::log(Lanes16(ci)));
      f.push_back(std::log(Lanes16(co)));
      // oneDNN runs 1x1 and stride-1 convolutions through their own kernels.
      f.push_back(kh == 1 && kw == 1 ? 1.0 : 0.0);
      f.push_back(sh == 1 && sw == 1 ? 1.0 : 0.0);
    }
    if (recipe != "conv2d_v1" && recipe != "conv2d_v2") {
      auto [dh, dw] = PairParam(l, "dilation");
      const double g = Int(l, "groups");
      const double hw = Elements(l.input_shape);
      ConvPathFlags flags = ConvPath(kh, kw, sh, sw, dh, dw, b, g, hw);
      f.push_back(flags.thnn_1x1);
      f.push_back(flags.native_small);
      f.push_back(g > 1 && g == ci ? 1.0 : 0.0);
      f.push_back(std::log(g));
      f.push_back(std::log(ci / g));
      f.push_back(std::log(co / g));
    }
    if (recipe == "conv2d_v4" || recipe == "conv2d_v5" || recipe == "conv2d_v6") {
      // f[19]: conv2d_v3's depthwise flag
      for (double v : Conv2dV4Extras(c.input_elements, c.output_elements, f[19])) f.push_back(v);
    }
    if (recipe == "conv2d_v5" || recipe == "conv2d_v6") {
      for (double v : Conv2dV5Extras(f.data())) f.push_back(v);
    }
    if (recipe == "conv2d_v6") {
      for (double v : FreshPageExtras(c.output_elements)) f.push_back(v);
    }
  } else if (recipe == "pool2d_v1") {
    RequireRank(l, 3, recipe);
    auto [kh, kw] = PairParam(l, "kernel_size");
    auto [sh, sw] = PairParam(l, "stride");
    double ch = static_cast<double>(l.input_shape[0]), h = static_cast<double>(l.input_shape[1]);
    double ho2 = c.output_elements / (b * ch);
    f = {Log(b),
         Log(h),
         Log(std::sqrt(double(kh * kw))),
         Log(ch),
         Log(std::sqrt(double(sh * sw))),
         Log(std::sqrt(ho2)),
         Log(c.macs),
         Log(c.input_elements),
         Log(c.output_elements)};
  } else if (recipe == "linear_v1") {
    double in = Int(l, "in_features"), out = Int(l, "out_features");
    double rows = b * Elements(l.input_shape) / static_cast<double>(l.input_shape.back());
    f = {Log(rows), Log(in), Log(out), Log(c.macs), Log(rows * in), Log(rows * out), Log(in * out)};
  } else if (recipe == "eltwise_v1" || recipe == "eltwise_v2") {
    double n = Elements(l.input_shape);
    f = {Log(b), Log(n), Log(b * n)};
    if (recipe == "eltwise_v2") {
      for (double v : FreshPageExtras(c.output_elements)) f.push_back(v);
    }
  } else if (recipe == "generic_v1") {
    f = {Log(c.input_elements), Log(c.output_elements), Log(c.macs + 1), Log(c.parameters + 1)};
  } else if (recipe == "rows_v1") {
    const double row = RowLength(l, recipe);
    f = {Log(b), Log(c.input_elements / row), Log(row), Log(c.input_elements)};
  } else if (recipe == "matmul_v1") {
    if (l.type != "MatMul" && l.type != "Einsum")
      throw std::invalid_argument(fmt::format("recipe {} does not apply to {}", recipe, l.type));
    const double m = Int(l, "m"), k = Int(l, "k"), n = Int(l, "n");
    const double products = c.output_elements / (m * n);
    f = {Log(products),
         Log(m),
         Log(k),
         Log(n),
         Log(c.macs),
         Log(products * m * k),
         Log(products * k * n),
         Log(c.output_elements)};
  } else if (recipe == "attention_v1") {
    RequireType(l, "MultiheadAttention", recipe);
    RequireRank(l, 2, recipe);
    const double q = static_cast<double>(l.input_shape[0]), e = Int(l, "embed_dim"),
                 h = Int(l, "num_heads");
    const double kv = l.params.contains("key_length") ? Int(l, "key_length") : q;
    f = {Log(b),        Log(q),     Log(kv),     Log(e),
         Log(h),        Log(e / h), Log(c.macs), Log(b * h * q * kv),
         Log(b * q * e)};
  } else if (recipe == "sdpa_v1") {
    RequireType(l, "ScaledDotProductAttention", recipe);
    if (l.input_shape.size() < 2) RequireRank(l, 2, recipe);
    // products: the batch times the query's leading dimensions (heads); keys: those each
    // query is scored against, from the registry's count (graph/ops/attention.cpp:
    // products·L·S'·(E + Ev + 1), where a sliding window caps S').
    double products = b;
    for (std::size_t i = 0; i + 2 < l.input_shape.size(); ++i)
      products *= static_cast<double>(l.input_shape[i]);
    const double q = Int(l, "query_length"), e = Int(l, "embed_dim"), ev = Int(l, "value_dim");
    const double keys = c.macs / (products * q * (e + ev + 1));
    const auto causal = l.params.find("is_causal");
    f = {Log(products),
         Log(q),
         Log(keys),
         Log(e),
         Log(ev),
         Log(c.macs),
         Log(products * q * keys),
         causal != l.params.end() && causal->is_boolean() && causal->get<bool>() ? 1.0 : 0.0};
  } else if (recipe == "gather_v1") {
    const double row = l.output_shape.empty() ? 1.0 : static_cast<double>(l.output_shape.back());
    f = {Log(c.input_elements), Log(c.output_elements), Log(row)};
  } else {
    throw std::invalid_argument(fmt::format("unknown feature recipe '{}'", recipe));
  }
  return Eigen::Map<Eigen::RowVectorXd>(f.data(), static_cast<Eigen::Index>(f.size()));
}

double Normaliser(const LayerInstance& l, std::int64_t batch) {
  return Normaliser(CountLayer(l, batch));
}

double Normaliser(const LayerCounts& c) {
  return std::max(c.macs > 0 ? c.macs : c.input_elements, 1.0);
}

}  // namespace joulecast
