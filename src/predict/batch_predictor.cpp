#include "joulecast/predict/batch_predictor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "joulecast/graph/op_schema.h"
#include "joulecast/features/layer_features.h"
#include "joulecast/features/macs.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/regress/kernel_ridge.h"
#include "joulecast/regress/scaler.h"


namespace joulecast {
namespace {

using nlohmann::json;
// Sizes are at most 2^53, so products such as dilation·(kernel-1) reach 2^106: as in
// shape_inference.cpp, 128-bit arithmetic holds every intermediate value exactly.
using Wide = __int128;
constexpr std::int64_t kMaxSize = std::int64_t{1} << 53;
constexpr int kMaxRank = 8;
constexpr int kMaxWidth = 36;  // wider than any known recipe's row (conv2d_v5: 35)

// Thrown by the fast walk for anything it does not reproduce exactly; the architecture then goes
// through EstimateNetwork, which gives the total or throws the error.
struct SlowPath {};

enum Kind : std::uint8_t {
  kConv2d,
  kMaxPool2d,
  kAvgPool2d,
  kAdaptiveAvgPool2d,
  kBatchNorm2d,
  kLinear,
  kFlatten,
  kSoftmax,
  kChannelShuffle,
  kReLU,
  kReLU6,
  kSigmoid,
  kTanh,
  kDropout,
  kIdentity,
  kAdd,  // implicit operations of containers; never a leaf's type
  kCat,
  kNumKinds
};
constexpr Kind kFirstImplicit = kAdd;

constexpr const char* kKindNames[kNumKinds] = {
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d",
    "Linear", "Flatten",   "Softmax",   "ChannelShuffle",    "ReLU",
    "ReLU6",  "Sigmoid",   "Tanh",      "Dropout",           "Identity",
    "Add",    "Cat"};

// s == lit, comparing lengths first: most candidates differ in length, and the walk compares
// every argument name and container type.
template <std::size_t N>
bool Is(const std::string& s, const char (&lit)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

Kind LeafKind(const std::string& type) {
  for (int k = 0; k < kFirstImplicit; ++k) {
    const char* name = kKindNames[k];
    const std::size_t n = std::strlen(name);
    if (type.size() == n && std::memcmp(type.data(), name, n) == 0) return static_cast<Kind>(k);
  }
  throw SlowPath{};
}

enum class Recipe {
  kConv2d,
  kConv2dV2,
  kConv2dV3,
  kConv2dV4,
  kConv2dV5,
  kPool2d,
  kLinear,
  kEltwise,
  kGeneric,
  kUnknown
};

Recipe RecipeOf(const std::string& name) {
  if (name == "conv2d_v1") return Recipe::kConv2d;
  if (name == "conv2d_v2") return Recipe::kConv2dV2;
  if (name == "conv2d_v3") return Recipe::kConv2dV3;
  if (name == "conv2d_v4") return Recipe::kConv2dV4;
  if (name == "conv2d_v5") return Recipe::kConv2dV5;
  if (name == "pool2d_v1") return Recipe::kPool2d;
  if (name == "linear_v1") return Recipe::kLinear;
  if (name == "eltwise_v1") return Recipe::kEltwise;
  if (name == "generic_v1") return Recipe::kGeneric;
  return Recipe::kUnknown;
}

int RecipeWidth(Recipe r) {
  switch (r) {
    case Recipe::kConv2d:
      return 14;
    case Recipe::kConv2dV2:
      return 17;
    case Recipe::kConv2dV3:
      return 23;
    case Recipe::kConv2dV4:
      return 27;
    case Recipe::kConv2dV5:
      return 35;
    case Recipe::kPool2d:
      return 9;
    case Recipe::kLinear:
      return 7;
    case Recipe::kEltwise:
      return 3;
    case Recipe::kGeneric:
      return 4;
    case Recipe::kUnknown:
      break;
  }
  return 0;
}

// ---- Shapes and arguments, without JSON --------------------------------------------------------

struct Dims {
  int rank = 0;
  std::int64_t d[kMaxRank] = {};
  bool operator==(const Dims& o) const { return rank == o.rank && std::equal(d, d + rank, o.d); }
  bool operator!=(const Dims& o) const { return !(*this == o); }
};

// As features/macs.cpp's Elements: the product in double, left to right.
double Elements(const Dims& s) {
  double n = 1;
  for (int i = 0; i < s.rank; ++i) n *= static_cast<double>(s.d[i]);
  return n;
}

// The arguments of one leaf in the parser's normalised form.
struct Leaf {
  Kind kind = kIdentity;
  std::int64_t kernel[2] = {1, 1}, stride[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1};
  std::int64_t output_size[2] = {1, 1};
  std::int64_t in_channels = 0, out_channels = 0, groups = 1, num_features = 0;
  std::int64_t in_features = 0, out_features = 0, start_dim = 1, end_dim = -1, dim = 0;
  bool bias = true, ceil_mode = false, has_dim = false;
};

// The checks of NormalizeLayerParams (arch/architecture.cpp) on values already in normalised form;
// anything else (a bare integer for a pair, null stride, a missing default) is left to it.
std::int64_t AsInt(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) throw SlowPath{};
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  throw SlowPath{};
}

std::int64_t Size(const json& v, std::int64_t min) {
  const std::int64_t i = AsInt(v);
  if (i < min || i > kMaxSize) throw SlowPath{};
  return i;
}

void PairOf(const json& v, std::int64_t min, std::int64_t* out) {
  if (!v.is_array() || v.size() != 2) throw SlowPath{};
  out[0] = Size(v[0], min);
  out[1] = Size(v[1], min);
}

bool BoolOf(const json& v) {
  if (!v.is_boolean()) throw SlowPath{};
  return v.get<bool>();
}

void CheckNumber(const json& v, bool allow_null, double lo, double hi, bool lo_open) {
  if (allow_null && v.is_null()) return;
  if (!v.is_number()) throw SlowPath{};
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi || (lo_open && d == lo)) throw SlowPath{};
}

Leaf DecodeLeaf(const LayerSpec& spec) {
  Leaf l;
  l.kind = LeafKind(spec.type);
  if (!spec.params.is_object()) throw SlowPath{};
  const auto& args = spec.params.get_ref<const json::object_t&>();
  // Every argument of the type is present once (JSON keys are unique), so the count plus a match
  // for every key means exactly the normalised set.
  static constexpr std::size_t kArgCount[kNumKinds] = {8, 5, 5, 1, 5, 3, 2, 1, 1,
                                                       1, 1, 0, 0, 2, 0, 0, 0};
  if (args.size() != kArgCount[l.kind]) throw SlowPath{};
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (const auto& [key, v] : args) {
    switch (l.kind) {
      case kConv2d:
        if (Is(key, "in_channels")) {
          l.in_channels = Size(v, 1);
        } else if (Is(key, "out_channels")) {
          l.out_channels = Size(v, 1);
        } else if (Is(key, "kernel_size")) {
          PairOf(v, 1, l.kernel);
        } else if (Is(key, "stride")) {
          PairOf(v, 1, l.stride);
        } else if (Is(key, "padding")) {
          PairOf(v, 0, l.padding);
        } else if (Is(key, "dilation")) {
          PairOf(v, 1, l.dilation);
        } else if (Is(key, "groups")) {
          l.groups = Size(v, 1);
        } else if (Is(key, "bias")) {
          l.bias = BoolOf(v);
        } else {
          throw SlowPath{};
        }
        break;
      case kMaxPool2d:
      case kAvgPool2d:
        if (Is(key, "kernel_size")) {
          PairOf(v, 1, l.kernel);
        } else if (Is(key, "stride")) {
          PairOf(v, 1, l.stride);
        } else if (Is(key, "padding")) {
          PairOf(v, 0, l.padding);
        } else if (Is(key, "ceil_mode")) {
          l.ceil_mode = BoolOf(v);
        } else if (l.kind == kMaxPool2d && Is(key, "dilation")) {
          PairOf(v, 1, l.dilation);
        } else if (l.kind == kAvgPool2d && Is(key, "count_include_pad")) {
          BoolOf(v);
        } else {
          throw SlowPath{};
        }
        break;
      case kAdaptiveAvgPool2d:
        if (!Is(key, "output_size")) throw SlowPath{};
        PairOf(v, 1, l.output_size);
        break;
      case kBatchNorm2d:
        if (Is(key, "num_features")) {
          l.num_features = Size(v, 1);
        } else if (Is(key, "eps")) {
          CheckNumber(v, false, 0, kInf, true);
        } else if (Is(key, "momentum")) {
          CheckNumber(v, true, -kInf, kInf, false);
        } else if (Is(key, "affine") || Is(key, "track_running_stats")) {
          BoolOf(v);
        } else {
          throw SlowPath{};
        }
        break;
      case kLinear:
        if (Is(key, "in_features")) {
          l.in_features = Size(v, 1);
        } else if (Is(key, "out_features")) {
          l.out_features = Size(v, 1);
        } else if (Is(key, "bias")) {
          l.bias = BoolOf(v);
        } else {
          throw SlowPath{};
        }
        break;
      case kFlatten:
        if (Is(key, "start_dim")) {
          l.start_dim = AsInt(v);
        } else if (Is(key, "end_dim")) {
          l.end_dim = AsInt(v);
        } else {
          throw SlowPath{};
        }
        break;
      case kSoftmax:
        if (!Is(key, "dim")) throw SlowPath{};
        l.has_dim = !v.is_null();
        if (l.has_dim) l.dim = AsInt(v);
        break;
      case kChannelShuffle:
        if (!Is(key, "groups")) throw SlowPath{};
        l.groups = Size(v, 1);
        break;
      case kReLU:
      case kReLU6:
        if (!Is(key, "inplace")) throw SlowPath{};
        BoolOf(v);
        break;
      case kDropout:
        if (Is(key, "p")) {
          CheckNumber(v, false, 0, 1, false);
        } else if (Is(key, "inplace")) {
          BoolOf(v);
        } else {
          throw SlowPath{};
        }
        break;
      default:
        throw SlowPath{};
    }
  }
  return l;
}

// shape_inference.cpp's CheckedShape: refuses any dimension or element count above 2^53.
Dims Checked(const Wide* dims, int rank) {
  if (rank < 1 || rank > kMaxRank) throw SlowPath{};
  Dims out;
  out.rank = rank;
  Wide count = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] > kMaxSize) throw SlowPath{};
    count *= dims[i];
    if (count > kMaxSize) throw SlowPath{};
    out.d[i] = static_cast<std::int64_t>(dims[i]);
  }
  return out;
}

// shape_inference.cpp's WindowedOutput for CxHxW inputs.
Dims Windowed(const Dims& in, Wide channels, const Leaf& l, const std::int64_t* dilation,
              bool ceil_mode) {
  Wide dims[3] = {channels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    const Wide size_in = in.d[i + 1];
    const Wide padded = size_in + 2 * Wide{l.padding[i]};
    const Wide extent = Wide{dilation[i]} * (l.kernel[i] - 1) + 1;
    if (extent > padded) throw SlowPath{};
    const Wide stride = l.stride[i];
    Wide size = (padded - extent + (ceil_mode ? stride - 1 : 0)) / stride + 1;
    if (ceil_mode && (size - 1) * stride >= size_in + l.padding[i]) --size;
    dims[i + 1] = size;
  }
  return Checked(dims, 3);
}

std::int64_t ResolveDim(const Dims& in, std::int64_t dim) {
  const std::int64_t rank = in.rank + 1;
  if (dim < -rank || dim >= rank) throw SlowPath{};
  return dim < 0 ? dim + rank : dim;
}

// shape_inference.cpp's InferLeaf.
Dims OutputShape(const Leaf& l, const Dims& in) {
  const bool chw = in.rank == 3;
  const std::int64_t no_dilation[2] = {1, 1};
  switch (l.kind) {
    case kConv2d:
      if (!chw || l.in_channels % l.groups != 0 || l.out_channels % l.groups != 0 ||
          in.d[0] != l.in_channels) {
        throw SlowPath{};
      }
      return Windowed(in, l.out_channels, l, l.dilation, false);
    case kMaxPool2d:
    case kAvgPool2d:
      if (!chw || 2 * l.padding[0] > l.kernel[0] || 2 * l.padding[1] > l.kernel[1]) {
        throw SlowPath{};
      }
      return Windowed(in, in.d[0], l, l.kind == kMaxPool2d ? l.dilation : no_dilation, l.ceil_mode);
    case kAdaptiveAvgPool2d: {
      if (!chw) throw SlowPath{};
      const Wide dims[3] = {in.d[0], l.output_size[0], l.output_size[1]};
      return Checked(dims, 3);
    }
    case kBatchNorm2d:
      if (!chw || in.d[0] != l.num_features) throw SlowPath{};
      return in;
    case kLinear: {
      if (in.d[in.rank - 1] != l.in_features) throw SlowPath{};
      Wide dims[kMaxRank];
      for (int i = 0; i < in.rank; ++i) dims[i] = in.d[i];
      dims[in.rank - 1] = l.out_features;
      return Checked(dims, in.rank);
    }
    case kFlatten: {
      const std::int64_t start = ResolveDim(in, l.start_dim), end = ResolveDim(in, l.end_dim);
      if (start > end) throw SlowPath{};
      if (start == end) return in;
      if (start == 0) throw SlowPath{};
      Wide dims[kMaxRank];
      int rank = 0;
      Wide merged = 1;
      for (std::int64_t i = 0; i < in.rank; ++i) {
        if (i + 1 < start || i + 1 > end) {
          dims[rank++] = in.d[i];
        } else {
          merged *= in.d[i];
          if (i + 1 == end) dims[rank++] = merged;
        }
      }
      return Checked(dims, rank);
    }
    case kSoftmax:
      if (l.has_dim) ResolveDim(in, l.dim);
      return in;
    case kChannelShuffle:
      if (in.d[0] % l.groups != 0) throw SlowPath{};
      return in;
    case kReLU:
    case kReLU6:
    case kSigmoid:
    case kTanh:
    case kDropout:
    case kIdentity:
      return in;
    default:
      throw SlowPath{};
  }
}

// ---- Counts and features: features/macs.cpp and features/layer_features.cpp, operation for
// operation, so that the rows are bit-identical to ComputeFeatures' ------------------------------

struct Counts {
  double macs = 0, input_elements = 0, output_elements = 0, parameters = 0;
};

Counts Count(const Leaf& l, const Dims& in, const Dims& out, double b) {
  Counts c;
  c.input_elements = b * Elements(in);
  c.output_elements = b * Elements(out);
  switch (l.kind) {
    case kConv2d: {
      const double ho = std::floor(static_cast<double>(in.d[1] + 2 * l.padding[0] -
                                                       l.dilation[0] * (l.kernel[0] - 1) - 1) /
                                   static_cast<double>(l.stride[0])) +
                        1;
      const double wo = std::floor(static_cast<double>(in.d[2] + 2 * l.padding[1] -
                                                       l.dilation[1] * (l.kernel[1] - 1) - 1) /
                                   static_cast<double>(l.stride[1])) +
                        1;
      const double bias = l.bias ? 1.0 : 0.0;
      const double kernel = static_cast<double>(l.kernel[0]) * static_cast<double>(l.kernel[1]) *
                            static_cast<double>(l.in_channels) / static_cast<double>(l.groups);
      c.macs = b * ho * wo * static_cast<double>(l.out_channels) * (kernel + bias);
      c.output_elements = b * ho * wo * static_cast<double>(l.out_channels);
      c.parameters =
          static_cast<double>(l.out_channels) * kernel + bias * static_cast<double>(l.out_channels);
      break;
    }
    case kLinear: {
      const double bias = l.bias ? 1.0 : 0.0;
      const double rows = Elements(in) / static_cast<double>(in.d[in.rank - 1]);
      c.macs = b * rows *
               (static_cast<double>(l.in_features) * static_cast<double>(l.out_features) +
                bias * static_cast<double>(l.out_features));
      c.output_elements = b * rows * static_cast<double>(l.out_features);
      c.parameters = static_cast<double>(l.in_features) * static_cast<double>(l.out_features) +
                     bias * static_cast<double>(l.out_features);
      break;
    }
    case kMaxPool2d: {
      // CountLayer takes the pool's output size from the output shape when there is one.
      const double ho = static_cast<double>(out.d[1]), wo = static_cast<double>(out.d[2]);
      const double ch = static_cast<double>(in.d[0]);
      c.macs = std::floor(static_cast<double>(l.kernel[0]) * static_cast<double>(l.kernel[1]) * ho *
                          wo * ch * b / 2.0);
      c.output_elements = b * ch * ho * wo;
      break;
    }
    case kBatchNorm2d:
      c.macs = c.input_elements;
      c.parameters = 2.0 * static_cast<double>(in.d[0]);
      break;
    case kFlatten:
    case kIdentity:
    case kCat:
    case kChannelShuffle:
      c.macs = 0;
      break;
    default:
      c.macs = c.input_elements;
      break;
  }
  return c;
}

double Log(double x) { return std::log(std::max(x, 1.0)); }

double Lanes16(double c) { return 16.0 * std::ceil(c / 16.0) / c; }

// Writes the recipe's row into f; SlowPath where ComputeFeatures would throw.
void Features(Recipe recipe, const Leaf& l, const Dims& in, double b, const Counts& c, double* f) {
  switch (recipe) {
    case Recipe::kConv2d:
    case Recipe::kConv2dV2:
    case Recipe::kConv2dV3:
    case Recipe::kConv2dV4:
    case Recipe::kConv2dV5: {
      if (l.kind != kConv2d) throw SlowPath{};
      const double ci = static_cast<double>(l.in_channels);
      const double co = static_cast<double>(l.out_channels);
      const double h = static_cast<double>(in.d[1]);
      const double ho = c.output_elements / (b * co);
      f[0] = Log(b);
      f[1] = Log(h);
      f[2] = Log(std::sqrt(double(l.kernel[0] * l.kernel[1])));
      f[3] = Log(ci);
      f[4] = Log(co);
      f[5] = Log(std::sqrt(double(l.stride[0] * l.stride[1])));
      f[6] = Log(std::sqrt(ho));
      f[7] = Log(c.macs);
      f[8] = Log(c.input_elements);
      f[9] = Log(c.output_elements);
      f[10] = Log(c.parameters);
      const double pad = 0.5 * double(l.padding[0] + l.padding[1]);
      if (recipe == Recipe::kConv2d) {
        f[11] = std::fmod(ci, 16.0) == 0 ? 1.0 : 0.0;
        f[12] = std::fmod(co, 16.0) == 0 ? 1.0 : 0.0;
        f[13] = pad;
        return;
      }
      f[11] = pad;
      f[12] = Log(c.macs / (c.input_elements + c.output_elements + c.parameters));
      f[13] = std::log(Lanes16(ci));
      f[14] = std::log(Lanes16(co));
      f[15] = l.kernel[0] == 1 && l.kernel[1] == 1 ? 1.0 : 0.0;
      f[16] = l.stride[0] == 1 && l.stride[1] == 1 ? 1.0 : 0.0;
      if (recipe != Recipe::kConv2dV2) {
        const double g = static_cast<double>(l.groups);
        const ConvPathFlags flags =
            ConvPath(l.kernel[0], l.kernel[1], l.stride[0], l.stride[1], l.dilation[0],
                     l.dilation[1], b, g, Elements(in));
        f[17] = flags.thnn_1x1;
        f[18] = flags.native_small;
        f[19] = g > 1 && g == ci ? 1.0 : 0.0;
        f[20] = std::log(g);
        f[21] = std::log(ci / g);
        f[22] = std::log(co / g);
      }
      if (recipe == Recipe::kConv2dV4 || recipe == Recipe::kConv2dV5) {
        const auto extra = Conv2dV4Extras(c.input_elements, c.output_elements, f[19]);
        std::copy(extra.begin(), extra.end(), f + 23);
      }
      if (recipe == Recipe::kConv2dV5) {
        const auto extra = Conv2dV5Extras(f);
        std::copy(extra.begin(), extra.end(), f + 27);
      }
      return;
    }
    case Recipe::kPool2d: {
      // Needs kernel_size and stride arguments and a CxHxW input.
      if (l.kind != kConv2d && l.kind != kMaxPool2d && l.kind != kAvgPool2d) throw SlowPath{};
      const double ch = static_cast<double>(in.d[0]), h = static_cast<double>(in.d[1]);
      const double ho2 = c.output_elements / (b * ch);
      f[0] = Log(b);
      f[1] = Log(h);
      f[2] = Log(std::sqrt(double(l.kernel[0] * l.kernel[1])));
      f[3] = Log(ch);
      f[4] = Log(std::sqrt(double(l.stride[0] * l.stride[1])));
      f[5] = Log(std::sqrt(ho2));
      f[6] = Log(c.macs);
      f[7] = Log(c.input_elements);
      f[8] = Log(c.output_elements);
      return;
    }
    case Recipe::kLinear: {
      if (l.kind != kLinear) throw SlowPath{};
      const double fin = static_cast<double>(l.in_features);
      const double fout = static_cast<double>(l.out_features);
      const double rows = b * Elements(in) / static_cast<double>(in.d[in.rank - 1]);
      f[0] = Log(rows);
      f[1] = Log(fin);
      f[2] = Log(fout);
      f[3] = Log(c.macs);
      f[4] = Log(rows * fin);
      f[5] = Log(rows * fout);
      f[6] = Log(fin * fout);
      return;
    }
    case Recipe::kEltwise: {
      const double n = Elements(in);
      f[0] = Log(b);
      f[1] = Log(n);
      f[2] = Log(b * n);
      return;
    }
    case Recipe::kGeneric:
      f[0] = Log(c.input_elements);
      f[1] = Log(c.output_elements);
      f[2] = Log(c.macs + 1);
      f[3] = Log(c.parameters + 1);
      return;
    case Recipe::kUnknown:
      break;
  }
  throw SlowPath{};
}

// ---- Per-predictor state -----------------------------------------------------------------------

struct PredictorState {
  const LayerPredictor* predictor = nullptr;
  Recipe recipe = Recipe::kUnknown;
  int width = 0;
};

// How an operation of a kind is costed (network_estimate.h).
struct Handling {
  enum Method { kModel, kZero, kPerElement, kNone } method = kNone;
  int predictor = -1;
};

// Distinct feature rows of one predictor, in first-seen order, with open-addressing lookup.
class RowSet {
 public:
  explicit RowSet(int width) : width_(width), slots_(64, 0) {}

  std::uint32_t Insert(const double* row) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < width_; ++i) {
      std::uint64_t bits;
      std::memcpy(&bits, row + i, sizeof bits);
      h = (h ^ bits) * 0xFF51AFD7ED558CCDull;
      h ^= h >> 29;
    }
    std::size_t mask = slots_.size() - 1;
    for (std::size_t s = h & mask;; s = (s + 1) & mask) {
      const std::uint32_t slot = slots_[s];
      if (slot == 0) {
        const auto index = static_cast<std::uint32_t>(hashes_.size());
        rows_.insert(rows_.end(), row, row + width_);
        hashes_.push_back(h);
        slots_[s] = index + 1;
        if (2 * hashes_.size() > slots_.size()) Grow();
        return index;
      }
      if (hashes_[slot - 1] == h &&
          std::memcmp(&rows_[(slot - 1) * static_cast<std::size_t>(width_)], row,
                      sizeof(double) * static_cast<std::size_t>(width_)) == 0) {
        return slot - 1;
      }
    }
  }

  std::size_t size() const { return hashes_.size(); }
  const double* row(std::size_t i) const { return &rows_[i * static_cast<std::size_t>(width_)]; }

  // exp(log-efficiency) per row, for rows [0, evaluated).
  std::vector<double> value;

 private:
  void Grow() {
    std::vector<std::uint32_t> slots(slots_.size() * 2, 0);
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = 0; i < hashes_.size(); ++i) {
      std::size_t s = hashes_[i] & mask;
      while (slots[s] != 0) s = (s + 1) & mask;
      slots[s] = static_cast<std::uint32_t>(i + 1);
    }
    slots_ = std::move(slots);
  }

  int width_;
  std::vector<double> rows_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> slots_;
};

// One costed operation: value = rows[predictor].value[row] · normaliser.
struct Entry {
  std::uint32_t predictor;
  std::uint32_t row;
  double normaliser;
};

}  // namespace

struct BatchPredictor::Impl {
  Profile profile;
  std::optional<std::string> hardware_warning;  // HardwareMismatch(profile, HostFingerprint())
  std::vector<PredictorState> predictors;
  Handling handling[kNumKinds];
  Kind elementwise_kind = kReLU;

  // Per thread: the rows seen so far in one Totals() call.
  struct Context {
    std::vector<RowSet> rows;
    std::vector<Entry> entries;
    std::size_t operations = 0;
  };

  Context NewContext() const {
    Context ctx;
    for (const auto& p : predictors) ctx.rows.emplace_back(p.width);
    return ctx;
  }

  // ---- The walk: shape_inference.cpp's Walk, emitting entries instead of LayerInstances.

  void Emit(Context& ctx, const Leaf& leaf, const Dims& in, const Dims& out, double b) const {
    ++ctx.operations;
    const Handling& h = handling[leaf.kind];
    if (h.method == Handling::kZero || h.method == Handling::kNone) return;
    const PredictorState& p = predictors[static_cast<std::size_t>(h.predictor)];
    double f[kMaxWidth];
    Counts c;
    if (h.method == Handling::kModel) {
      c = Count(leaf, in, out, b);
      Features(p.recipe, leaf, in, b, c, f);
    } else {
      // network_estimate.cpp's proxy: a flat layer of the element-wise type with as many
      // elements per sample (and no output shape, which CountLayer then takes from the input).
      Leaf proxy;
      proxy.kind = elementwise_kind;
      Dims flat;
      flat.rank = 1;
      flat.d[0] = static_cast<std::int64_t>(Elements(in));
      c = Count(proxy, flat, flat, b);
      Features(p.recipe, proxy, flat, b, c, f);
    }
    const std::uint32_t row = ctx.rows[static_cast<std::size_t>(h.predictor)].Insert(f);
    ctx.entries.push_back(Entry{static_cast<std::uint32_t>(h.predictor), row,
                                std::max(c.macs > 0 ? c.macs : c.input_elements, 1.0)});
  }

  // The walk is bound by the latency of reading the parsed arguments, which sit in separately
  // allocated JSON nodes. Requesting the argument objects of a whole layer list first, then
  // their first nodes, lets those loads overlap instead of waiting for each in turn.
  static void Prefetch(const std::vector<LayerSpec>& layers) {
    for (const LayerSpec& spec : layers) {
      if (spec.params.is_object())
        __builtin_prefetch(&spec.params.get_ref<const json::object_t&>());
    }
    for (const LayerSpec& spec : layers) {
      if (!spec.params.is_object()) continue;
      const auto& args = spec.params.get_ref<const json::object_t&>();
      if (args.empty()) continue;
      const char* node = reinterpret_cast<const char*>(&*args.begin());
      for (int line = 0; line < 4; ++line) __builtin_prefetch(node + 64 * line);
    }
  }

  void Walk(Context& ctx, const std::vector<LayerSpec>& layers, Dims* cur, double b) const {
    Prefetch(layers);
    for (const LayerSpec& spec : layers) {
      if (Is(spec.type, "Sequential")) {
        Walk(ctx, spec.layers, cur, b);
      } else if (Is(spec.type, "Residual")) {
        Dims body = *cur;
        Walk(ctx, spec.layers, &body, b);
        Dims shortcut = *cur;
        Walk(ctx, spec.shortcut, &shortcut, b);
        if (body != shortcut) throw SlowPath{};
        Leaf add;
        add.kind = kAdd;
        Emit(ctx, add, body, body, b);
        *cur = body;
      } else if (Is(spec.type, "Concat")) {
        WalkConcat(ctx, spec, cur, b);
      } else {
        const Leaf leaf = DecodeLeaf(spec);
        const Dims out = OutputShape(leaf, *cur);
        Emit(ctx, leaf, *cur, out, b);
        *cur = out;
      }
    }
  }

  void WalkConcat(Context& ctx, const LayerSpec& spec, Dims* cur, double b) const {
    const auto n = static_cast<std::int64_t>(spec.branches.size());
    if (n == 0) throw SlowPath{};
    Dims input = *cur;
    if (spec.split) {
      if (input.d[0] % n != 0) throw SlowPath{};
      input.d[0] /= n;
    }
    Dims first;
    Wide channels = 0;
    for (std::size_t i = 0; i < spec.branches.size(); ++i) {
      Dims out = input;
      Walk(ctx, spec.branches[i], &out, b);
      if (i == 0) {
        first = out;
      } else if (out.rank != first.rank || !std::equal(out.d + 1, out.d + out.rank, first.d + 1)) {
        throw SlowPath{};
      }
      channels += out.d[0];
    }
    Wide dims[kMaxRank];
    for (int i = 0; i < first.rank; ++i) dims[i] = first.d[i];
    dims[0] = channels;
    const Dims cat = Checked(dims, first.rank);
    Leaf leaf;
    leaf.kind = kCat;
    Emit(ctx, leaf, cat, cat, b);
    *cur = cat;
  }

  // Appends arch's entries to ctx.entries; throws SlowPath (entries then partly appended).
  void WalkArchitecture(Context& ctx, const Architecture& arch, double b) const {
    const Shape& input = arch.input;
    if (input.empty() || input.size() > static_cast<std::size_t>(kMaxRank)) throw SlowPath{};
    Dims cur;
    cur.rank = static_cast<int>(input.size());
    Wide count = 1;
    for (int i = 0; i < cur.rank; ++i) {
      if (input[static_cast<std::size_t>(i)] <= 0) throw SlowPath{};
      cur.d[i] = input[static_cast<std::size_t>(i)];
      count *= cur.d[i];
      if (count > kMaxSize) throw SlowPath{};
    }
    Walk(ctx, arch.layers, &cur, b);
  }

  // ---- Prediction of the rows added since the last call.

  void Evaluate(Context& ctx) const {
    for (std::size_t k = 0; k < predictors.size(); ++k) {
      RowSet& rows = ctx.rows[k];
      const std::size_t from = rows.value.size(), m = rows.size() - from;
      if (m == 0) continue;
      const PredictorState& p = predictors[k];
      Eigen::MatrixXd X(static_cast<Eigen::Index>(m), p.width);
      for (std::size_t i = 0; i < m; ++i) {
        X.row(static_cast<Eigen::Index>(i)) =
            Eigen::Map<const Eigen::RowVectorXd>(rows.row(from + i), p.width);
      }
      const Eigen::VectorXd log_eff = p.predictor->model.Predict(X);
      for (std::size_t i = 0; i < m; ++i) {
        rows.value.push_back(std::exp(log_eff[static_cast<Eigen::Index>(i)]));
      }
    }
  }

  // Totals of archs[from, to) into out[from, to).
  void Run(const std::vector<Architecture>& archs, std::size_t from, std::size_t to,
           std::int64_t batch, double* out, BatchPredictor::Stats* stats) const {
    Context ctx = NewContext();
    const double b = static_cast<double>(batch);
    // Chunks keep the entry list short while the row sets carry over between chunks.
    constexpr std::size_t kChunk = 64;
    std::vector<std::size_t> begin(kChunk + 1);
    std::vector<bool> slow(kChunk);
    std::size_t slow_count = 0;
    for (std::size_t c0 = from; c0 < to; c0 += kChunk) {
      const std::size_t c1 = std::min(to, c0 + kChunk);
      ctx.entries.clear();
      for (std::size_t a = c0; a < c1; ++a) {
        const std::size_t mark = ctx.entries.size();
        begin[a - c0] = mark;
        slow[a - c0] = false;
        try {
          WalkArchitecture(ctx, archs[a], b);
        } catch (const SlowPath&) {
          ctx.entries.resize(mark);
          slow[a - c0] = true;
        }
      }
      begin[c1 - c0] = ctx.entries.size();
      Evaluate(ctx);
      for (std::size_t a = c0; a < c1; ++a) {
        if (slow[a - c0]) {
          ++slow_count;
          out[a] = SlowTotal(archs[a], batch, a);
          continue;
        }
        // Summed in operation order, as EstimateNetwork does (zero-valued operations add 0).
        double total = 0;
        for (std::size_t e = begin[a - c0]; e < begin[a - c0 + 1]; ++e) {
          const Entry& en = ctx.entries[e];
          total += ctx.rows[en.predictor].value[en.row] * en.normaliser;
        }
        out[a] = total;
      }
    }
    if (stats) {
      stats->operations += ctx.operations;
      for (const auto& r : ctx.rows) stats->distinct_rows += r.size();
      stats->slow_path += slow_count;
    }
  }

  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);

  double SlowTotal(const Architecture& arch, std::int64_t batch, std::size_t index) const {
    if (index == kNoIndex) return EstimateNetwork(profile, arch, batch).total;
    try {
      return EstimateNetwork(profile, arch, batch).total;
    } catch (const std::exception& e) {
      throw std::runtime_error(
          fmt::format("architectures[{}] ({}): {}", index, arch.name, e.what()));
    }
  }
};

BatchPredictor::BatchPredictor(const Profile& profile)
    : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  im.profile = profile;
  im.hardware_warning = HardwareMismatch(im.profile, HostFingerprint());
  std::map<std::string, int> index;
  for (const auto& [type, predictor] : im.profile.layers) {
    PredictorState s;
    s.predictor = &predictor;
    s.recipe = RecipeOf(predictor.recipe);
    s.width = RecipeWidth(s.recipe);
    if (s.recipe == Recipe::kUnknown || s.width != predictor.model.n_features()) {
      // A recipe this file does not compute: every architecture using the type goes through
      // EstimateNetwork (Features throws SlowPath for kUnknown).
      s.recipe = Recipe::kUnknown;
      s.width = static_cast<int>(predictor.model.n_features());
    }
    index[type] = static_cast<int>(im.predictors.size());
    im.predictors.push_back(std::move(s));
  }
  // network_estimate.cpp's element-wise fallback predictor.
  int elementwise = -1;
  for (Kind k : {kReLU, kSigmoid, kTanh, kSoftmax}) {
    auto it = index.find(kKindNames[k]);
    if (it != index.end()) {
      elementwise = it->second;
      im.elementwise_kind = k;
      break;
    }
  }
  // The resolver's policy (predict/resolver.h) by the operator's cost class in the registry: the
  // tree's layer types have no proxies, so a compute-bound one without a predictor is "none".
  for (int k = 0; k < kNumKinds; ++k) {
    Handling& h = im.handling[k];
    auto it = index.find(kKindNames[k]);
    const graph::OpSchema* schema = graph::FindOpByType(kKindNames[k]);
    const graph::CostClass cost = schema ? schema->cost : graph::CostClass::kElementwise;
    if (it != index.end()) {
      h = {Handling::kModel, it->second};
    } else if (cost == graph::CostClass::kView) {
      h = {Handling::kZero, -1};
    } else if (cost == graph::CostClass::kCompute) {
      h = {Handling::kNone, -1};
    } else if (elementwise >= 0) {
      h = {Handling::kPerElement, elementwise};
    } else {
      h = {Handling::kNone, -1};
    }
  }
}

BatchPredictor::~BatchPredictor() = default;
BatchPredictor::BatchPredictor(BatchPredictor&&) noexcept = default;
BatchPredictor& BatchPredictor::operator=(BatchPredictor&&) noexcept = default;

const Profile& BatchPredictor::profile() const { return impl_->profile; }

std::optional<std::string> BatchPredictor::hardware_warning() const {
  return impl_->hardware_warning;
}

double BatchPredictor::Total(const Architecture& arch, std::int64_t batch_size) const {
  if (batch_size < 1) return EstimateNetwork(impl_->profile, arch, batch_size).total;
  // A one-element list without copying the architecture.
  const Impl& im = *impl_;
  Impl::Context ctx = im.NewContext();
  try {
    im.WalkArchitecture(ctx, arch, static_cast<double>(batch_size));
  } catch (const SlowPath&) {
    return im.SlowTotal(arch, batch_size, Impl::kNoIndex);
  }
  im.Evaluate(ctx);
  double total = 0;
  for (const Entry& en : ctx.entries) {
    total += ctx.rows[en.predictor].value[en.row] * en.normaliser;
  }
  return total;
}

std::vector<double> BatchPredictor::Totals(const std::vector<Architecture>& archs,
                                           std::int64_t batch_size, int threads) const {
  return Totals(archs, batch_size, threads, nullptr);
}

std::vector<double> BatchPredictor::Totals(const std::vector<Architecture>& archs,
                                           std::int64_t batch_size, int threads,
                                           Stats* stats) const {
  if (batch_size < 1) {
    throw std::runtime_error(fmt::format("batch size must be >= 1, got {}", batch_size));
  }
  if (threads < 0) throw std::runtime_error(fmt::format("threads must be >= 0, got {}", threads));
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<double> out(archs.size());
  const std::size_t parts = std::min<std::size_t>(static_cast<std::size_t>(threads), archs.size());
  if (parts <= 1) {
    impl_->Run(archs, 0, archs.size(), batch_size, out.data(), stats);
    return out;
  }
  std::vector<std::exception_ptr> errors(parts);
  std::vector<Stats> part_stats(parts);
  auto run_part = [&](std::size_t p) {
    const std::size_t from = archs.size() * p / parts, to = archs.size() * (p + 1) / parts;
    try {
      impl_->Run(archs, from, to, batch_size, out.data(), &part_stats[p]);
    } catch (...) {
      errors[p] = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  for (std::size_t p = 1; p < parts; ++p) workers.emplace_back(run_part, p);
  run_part(0);
  for (auto& w : workers) w.join();
  // The error of the first failing architecture, as a single thread would report it.
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  if (stats) {
    for (const Stats& s : part_stats) {
      stats->operations += s.operations;
      stats->distinct_rows += s.distinct_rows;
      stats->slow_path += s.slow_path;
    }
  }
  return out;
}

}  // namespace joulecast
