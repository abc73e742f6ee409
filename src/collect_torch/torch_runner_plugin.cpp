// joulecast_collect_torch: builds a layer configuration or a whole architecture as a libtorch
// module and times it (forward or one training step) under the protocol of
// joulecast/collect/torch_runner.h. Module library dlopen()ed by `joulecast collect` only.
// The only translation unit of the collector that includes libtorch (~17 s, ~1.1 GB to compile).

#include "joulecast/collect/torch_runner_plugin.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "joulecast/collect/warm_up.h"
#include "joulecast/io/first_line.h"

namespace {

using joulecast::FirstLine;
using joulecast::HeapSettled;
using joulecast::kSettledFaults;
using joulecast::WarmUpDone;
using joulecast::WarmUpProgress;

using json = nlohmann::json;
using torch::Tensor;
namespace nn = torch::nn;

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<std::int64_t> PairOf(const json& p, const char* key, const json& fallback = nullptr) {
  const json* v = p.contains(key) ? &p.at(key) : &fallback;
  if (v->is_null()) v = &fallback;
  if (v->is_null()) throw Error(std::string("missing argument '") + key + "'");
  if (v->is_number_integer()) return {v->get<std::int64_t>(), v->get<std::int64_t>()};
  return {v->at(0).get<std::int64_t>(), v->at(1).get<std::int64_t>()};
}

template <typename T>
T Get(const json& p, const char* key, T fallback) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  return it->get<T>();
}

// One leaf operation: a function of one tensor, and the module that holds its parameters (null
// for functional operations).
struct Op {
  std::function<Tensor(const Tensor&)> fn;
  std::shared_ptr<nn::Module> module;
};

// PyTorch's implicit softmax dim (_get_softmax_dim) for a batched tensor of rank `rank`.
std::int64_t ImplicitSoftmaxDim(std::int64_t rank) {
  return (rank == 0 || rank == 1 || rank == 3) ? 0 : 1;
}

Op MakeOp(const std::string& type, const json& p) {
  Op op;
  if (type == "Conv2d") {
    auto m = nn::Conv2d(nn::Conv2dOptions(p.at("in_channels").get<std::int64_t>(),
                                          p.at("out_channels").get<std::int64_t>(),
                                          PairOf(p, "kernel_size"))
                            .stride(PairOf(p, "stride", 1))
                            .padding(PairOf(p, "padding", 0))
                            .dilation(PairOf(p, "dilation", 1))
                            .groups(Get<std::int64_t>(p, "groups", 1))
                            .bias(Get<bool>(p, "bias", true)));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "BatchNorm2d") {
    nn::BatchNorm2dOptions o(p.at("num_features").get<std::int64_t>());
    o.eps(Get<double>(p, "eps", 1e-5))
        .affine(Get<bool>(p, "affine", true))
        .track_running_stats(Get<bool>(p, "track_running_stats", true));
    if (p.contains("momentum") && p.at("momentum").is_null()) {
      o.momentum(c10::nullopt);
    } else {
      o.momentum(Get<double>(p, "momentum", 0.1));
    }
    auto m = nn::BatchNorm2d(o);
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "MaxPool2d") {
    const auto k = PairOf(p, "kernel_size");
    auto m = nn::MaxPool2d(nn::MaxPool2dOptions(k)
                               .stride(PairOf(p, "stride", k))
                               .padding(PairOf(p, "padding", 0))
                               .dilation(PairOf(p, "dilation", 1))
                               .ceil_mode(Get<bool>(p, "ceil_mode", false)));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "AvgPool2d") {
    const auto k = PairOf(p, "kernel_size");
    auto m = nn::AvgPool2d(nn::AvgPool2dOptions(k)
                               .stride(PairOf(p, "stride", k))
                               .padding(PairOf(p, "padding", 0))
                               .ceil_mode(Get<bool>(p, "ceil_mode", false))
                               .count_include_pad(Get<bool>(p, "count_include_pad", true)));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "AdaptiveAvgPool2d") {
    const auto s = PairOf(p, "output_size");
    auto m = nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({s[0], s[1]}));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "Linear") {
    auto m = nn::Linear(nn::LinearOptions(p.at("in_features").get<std::int64_t>(),
                                          p.at("out_features").get<std::int64_t>())
                            .bias(Get<bool>(p, "bias", true)));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "ReLU") {
    auto m = nn::ReLU(nn::ReLUOptions().inplace(Get<bool>(p, "inplace", false)));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "ReLU6") {
    auto m = nn::ReLU6(nn::ReLU6Options().inplace(Get<bool>(p, "inplace", false)));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "Sigmoid") {
    op.fn = [](const Tensor& x) { return torch::sigmoid(x); };
  } else if (type == "Tanh") {
    op.fn = [](const Tensor& x) { return torch::tanh(x); };
  } else if (type == "Softmax") {
    const json dim = p.contains("dim") ? p.at("dim") : json(nullptr);
    op.fn = [dim](const Tensor& x) {
      return torch::softmax(x,
                            dim.is_null() ? ImplicitSoftmaxDim(x.dim()) : dim.get<std::int64_t>());
    };
  } else if (type == "Dropout") {
    auto m = nn::Dropout(
        nn::DropoutOptions().p(Get<double>(p, "p", 0.5)).inplace(Get<bool>(p, "inplace", false)));
    op.module = m.ptr();
    op.fn = [m](const Tensor& x) mutable { return m->forward(x); };
  } else if (type == "Flatten") {
    const auto start = Get<std::int64_t>(p, "start_dim", 1),
               end = Get<std::int64_t>(p, "end_dim", -1);
    op.fn = [start, end](const Tensor& x) { return torch::flatten(x, start, end); };
  } else if (type == "Identity") {
    op.fn = [](const Tensor& x) { return x; };
  } else if (type == "ChannelShuffle") {
    // torchvision's channel_shuffle (ShuffleNetV2): view, transpose, contiguous, view.
    const auto g = p.at("groups").get<std::int64_t>();
    op.fn = [g](const Tensor& x) {
      const auto s = x.sizes();
      std::vector<std::int64_t> split = {s[0], g, s[1] / g};
      split.insert(split.end(), s.begin() + 2, s.end());
      return x.view(split).transpose(1, 2).contiguous().view(s);
    };
  } else {
    throw Error("unknown layer type '" + type + "'");
  }
  return op;
}

// ------------------------------------------------------------------------- whole architectures

struct Node {
  enum class Kind { kSequential, kResidual, kConcat, kLeaf };
  Kind kind = Kind::kLeaf;
  std::vector<Node> layers, shortcut;
  std::vector<std::vector<Node>> branches;
  bool split = false;
  std::shared_ptr<Op> op;  // leaves (shared by repeats)
};

class NetworkImpl : public nn::Module {
 public:
  explicit NetworkImpl(const json& arch) {
    std::map<std::string, std::shared_ptr<Op>> by_name;
    int functional = 0;
    root_ = BuildList(arch.at("layers"), &by_name, &functional);
  }
  Tensor forward(const Tensor& x) { return RunList(root_, x); }

 private:
  std::vector<Node> BuildList(const json& list, std::map<std::string, std::shared_ptr<Op>>* names,
                              int* functional) {
    std::vector<Node> out;
    for (const json& j : list) out.push_back(Build(j, names, functional));
    return out;
  }
  Node Build(const json& j, std::map<std::string, std::shared_ptr<Op>>* names, int* functional) {
    const std::string type = j.at("type").get<std::string>();
    Node n;
    if (type == "Sequential") {
      n.kind = Node::Kind::kSequential;
      n.layers = BuildList(j.at("layers"), names, functional);
    } else if (type == "Residual") {
      n.kind = Node::Kind::kResidual;
      n.layers = BuildList(j.at("body"), names, functional);
      if (j.contains("shortcut")) n.shortcut = BuildList(j.at("shortcut"), names, functional);
    } else if (type == "Concat") {
      n.kind = Node::Kind::kConcat;
      for (const json& b : j.at("branches")) n.branches.push_back(BuildList(b, names, functional));
      n.split = Get<bool>(j, "split", false);
    } else {
      const std::string name = Get<std::string>(j, "name", "");
      if (Get<bool>(j, "repeat", false)) {
        auto it = names->find(name);
        if (it == names->end()) throw Error(name + " (" + type + "): repeat of an unknown module");
        n.op = it->second;
        return n;
      }
      json params = j;
      for (const char* meta : {"type", "name", "functional", "repeat"}) params.erase(meta);
      try {
        n.op = std::make_shared<Op>(MakeOp(type, params));
      } catch (const std::exception& e) {
        throw Error(name + " (" + type + "): " + FirstLine(e.what()));
      }
      if (n.op->module) {
        // Module names may not hold dots: "features.0" -> "features_0".
        std::string key = name.empty() ? "f" + std::to_string((*functional)++) : name;
        std::replace(key.begin(), key.end(), '.', '_');
        while (named_children().contains(key)) key += "_";
        register_module(key, n.op->module);
      }
      if (!name.empty()) (*names)[name] = n.op;
    }
    return n;
  }
  Tensor RunList(const std::vector<Node>& list, Tensor x) {
    for (const Node& n : list) x = Run(n, x);
    return x;
  }
  Tensor Run(const Node& n, const Tensor& x) {
    switch (n.kind) {
      case Node::Kind::kSequential:
        return RunList(n.layers, x);
      case Node::Kind::kResidual: {
        // Shortcut first: an in-place op in the body (ReLU(inplace)) must not see it consumed.
        Tensor shortcut = n.shortcut.empty() ? x : RunList(n.shortcut, x);
        Tensor body = RunList(n.layers, x);
        return body + shortcut;
      }
      case Node::Kind::kConcat: {
        std::vector<Tensor> inputs;
        if (n.split) {
          inputs = x.chunk(static_cast<std::int64_t>(n.branches.size()), 1);
        } else {
          inputs.assign(n.branches.size(), x);
        }
        std::vector<Tensor> outs;
        for (std::size_t b = 0; b < n.branches.size(); ++b) {
          outs.push_back(RunList(n.branches[b], inputs[b]));
        }
        return torch::cat(outs, 1);
      }
      case Node::Kind::kLeaf:
        return n.op->fn(x);
    }
    return x;
  }
  std::vector<Node> root_;
};
TORCH_MODULE(Network);

// ------------------------------------------------------------------------------ operator graphs

std::vector<std::int64_t> Ints(const json& attrs, const char* key) {
  if (!attrs.contains(key)) throw Error(std::string("missing attribute '") + key + "'");
  const json& v = attrs.at(key);
  if (v.is_number_integer()) return {v.get<std::int64_t>()};
  return v.get<std::vector<std::int64_t>>();
}

// An ints attribute that may be absent (the registry's default, `fallback`, applies).
std::vector<std::int64_t> IntsOr(const json& attrs, const char* key,
                                 std::vector<std::int64_t> fallback) {
  if (!attrs.contains(key) || attrs.at(key).is_null()) return fallback;
  return Ints(attrs, key);
}

torch::Dtype ValueDtype(const std::string& name, torch::Dtype floating) {
  if (name == "int64") return torch::kLong;
  if (name == "int32") return torch::kInt;
  if (name == "bool") return torch::kBool;
  if (name == "uint8") return torch::kByte;
  return floating;  // every floating value runs in the measured dtype
}

// Self-attention as nn.MultiheadAttention's slow path computes it (in-projection, per-head
// scaled products, softmax, out-projection): what training runs, since the fused kernel of the
// fast path has no backward. Query [B, L, E], key and value [B, S, E].
Tensor AttentionMath(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, std::int64_t heads,
                     const Tensor& w, const Tensor& b, const Tensor& pw, const Tensor& pb) {
  const auto bsz = q_in.size(0), l = q_in.size(1), e = q_in.size(2), s = k_in.size(1);
  const auto d = e / heads;
  auto ws = w.chunk(3, 0);
  std::vector<Tensor> bs = b.defined() ? b.chunk(3, 0) : std::vector<Tensor>{{}, {}, {}};
  auto split = [&](const Tensor& x, std::int64_t n) {
    return x.reshape({bsz, n, heads, d}).transpose(1, 2);
  };
  Tensor q = split(torch::linear(q_in, ws[0], bs[0]), l);
  Tensor k = split(torch::linear(k_in, ws[1], bs[1]), s);
  Tensor v = split(torch::linear(v_in, ws[2], bs[2]), s);
  Tensor a = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(d)), -1);
  Tensor o = torch::matmul(a, v).transpose(1, 2).reshape({bsz, l, e});
  return torch::linear(o, pw, pb);
}

// Runs a collect/run_plan.h plan: parameters and buffers are this module's (so that training
// updates them), graph inputs are random tensors made once.
class GraphNetImpl : public nn::Module {
 public:
  GraphNetImpl(const json& plan, torch::TensorOptions topt, bool inputs_require_grad)
      : plan_(plan) {
    const json& values = plan.at("values");
    values_.resize(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const json& v = values[i];
      const std::string role = v.at("role").get<std::string>();
      if (role == "activation") continue;
      const auto shape = v.at("shape").get<std::vector<std::int64_t>>();
      const torch::Dtype dt =
          ValueDtype(v.at("dtype").get<std::string>(), c10::typeMetaToScalarType(topt.dtype()));
      const auto opt = topt.dtype(dt);
      const std::string name = v.at("name").get<std::string>();
      Tensor t;
      if (dt == torch::kBool) {
        t = torch::ones(shape, opt);
      } else if (!c10::isFloatingType(dt)) {
        // Token ids and indices: 0 or 1 are valid rows of every embedding table.
        t = role == "input" ? torch::randint(2, shape, opt) : torch::zeros(shape, opt);
      } else if (role == "buffer") {
        t = name.find("var") != std::string::npos ? torch::ones(shape, opt)
                                                  : torch::zeros(shape, opt);
      } else {
        t = torch::randn(shape, opt) * (role == "parameter" || role == "frozen" ? 0.02 : 1.0);
      }
      std::string key = "v" + std::to_string(i);
      if (role == "parameter") {
        t = register_parameter(key, t);
      } else if (role == "buffer" || role == "frozen") {
        // A frozen parameter (collect --freeze): a weight outside autograd and the optimizer.
        t = register_buffer(key, t);
      } else if (inputs_require_grad && c10::isFloatingType(dt)) {
        t.requires_grad_(true);
        grad_inputs_.push_back(t);
      }
      values_[i] = t;
    }
  }
  const std::vector<Tensor>& grad_inputs() const { return grad_inputs_; }

  Tensor forward() {
    std::vector<Tensor> v = values_;
    for (const json& n : plan_.at("nodes")) {
      std::vector<Tensor> in;
      for (const json& id : n.at("inputs")) {
        const auto k = id.get<std::int64_t>();
        in.push_back(k < 0 ? Tensor() : v.at(static_cast<std::size_t>(k)));
      }
      std::vector<Tensor> out;
      try {
        out = Run(n.at("op").get<std::string>(), n.at("attrs"), in, n.at("outputs").size());
      } catch (const c10::Error& e) {
        throw Error("node '" + n.at("name").get<std::string>() +
                    "': " + FirstLine(e.what_without_backtrace()));
      } catch (const std::exception& e) {
        throw Error("node '" + n.at("name").get<std::string>() + "': " + FirstLine(e.what()));
      }
      const json& outs = n.at("outputs");
      for (std::size_t i = 0; i < outs.size() && i < out.size(); ++i)
        v.at(outs[i].get<std::size_t>()) = out[i];
    }
    return v.at(plan_.at("outputs").at(0).get<std::size_t>());
  }

 private:
  std::vector<Tensor> Run(const std::string& op, const json& a, const std::vector<Tensor>& in,
                          std::size_t outputs) {
    auto x = [&](std::size_t i) -> const Tensor& {
      if (i >= in.size() || !in[i].defined())
        throw Error("input " + std::to_string(i) + " is missing");
      return in[i];
    };
    auto opt = [&](std::size_t i) { return i < in.size() ? in[i] : Tensor(); };
    auto f = [&](const char* k, double d) { return a.contains(k) ? a.at(k).get<double>() : d; };
    auto i64 = [&](const char* k, std::int64_t d) {
      return a.contains(k) && !a.at(k).is_null() ? a.at(k).get<std::int64_t>() : d;
    };
    auto b = [&](const char* k, bool d) { return a.contains(k) ? a.at(k).get<bool>() : d; };
    const bool training = is_training();
    if (op == "conv2d")
      return {torch::conv2d(x(0), x(1), opt(2), Ints(a, "stride"), Ints(a, "padding"),
                            Ints(a, "dilation"), i64("groups", 1))};
    if (op == "batch_norm") {
      const bool stats = opt(3).defined() && opt(4).defined();
      return {torch::batch_norm(x(0), opt(1), opt(2), opt(3), opt(4), training || !stats,
                                f("momentum", 0.1), f("eps", 1e-5), true)};
    }
    if (op == "relu") return {torch::relu(x(0))};
    if (op == "relu6") return {torch::hardtanh(x(0), 0, 6)};
    if (op == "silu") return {torch::silu(x(0))};
    if (op == "sigmoid") return {torch::sigmoid(x(0))};
    if (op == "tanh") return {torch::tanh(x(0))};
    if (op == "hardswish") return {torch::hardswish(x(0))};
    if (op == "hardsigmoid") return {torch::hardsigmoid(x(0))};
    if (op == "gelu") return {torch::gelu(x(0), a.value("approximate", std::string("none")))};
    if (op == "clamp") {
      const auto bound = [&](const char* k) -> c10::optional<at::Scalar> {
        if (!a.contains(k) || a.at(k).is_null() || a.at(k).empty()) return c10::nullopt;
        return at::Scalar(a.at(k).at(0).get<double>());
      };
      return {torch::clamp(x(0), bound("min"), bound("max"))};
    }
    if (op == "exp") return {torch::exp(x(0))};
    if (op == "log") return {torch::log(x(0))};
    if (op == "sqrt") return {torch::sqrt(x(0))};
    if (op == "rsqrt") return {torch::rsqrt(x(0))};
    if (op == "neg") return {torch::neg(x(0))};
    if (op == "abs") return {torch::abs(x(0))};
    if (op == "erf") return {torch::erf(x(0))};
    if (op == "reciprocal") return {torch::reciprocal(x(0))};
    if (op == "square") return {torch::square(x(0))};
    if (op == "add" || op == "sub" || op == "mul" || op == "div") {
      const Tensor& l = x(0);
      if (opt(1).defined()) {
        const Tensor& r = in[1];
        if (op == "add") return {l + r};
        if (op == "sub") return {l - r};
        if (op == "mul") return {l * r};
        return {l / r};
      }
      const double sc = f("scalar", op == "mul" || op == "div" ? 1.0 : 0.0);
      if (op == "add") return {l + sc};
      if (op == "sub") return {l - sc};
      if (op == "mul") return {l * sc};
      return {l / sc};
    }
    if (op == "adaptive_avg_pool2d")
      return {torch::adaptive_avg_pool2d(x(0), Ints(a, "output_size"))};
    if (op == "max_pool2d")
      return {torch::max_pool2d(x(0), Ints(a, "kernel_size"), Ints(a, "stride"), Ints(a, "padding"),
                                Ints(a, "dilation"), b("ceil_mode", false))};
    if (op == "avg_pool2d")
      return {torch::avg_pool2d(x(0), Ints(a, "kernel_size"), Ints(a, "stride"), Ints(a, "padding"),
                                b("ceil_mode", false), b("count_include_pad", true))};
    if (op == "flatten") return {torch::flatten(x(0), i64("start_dim", 1), i64("end_dim", -1))};
    if (op == "dropout") return {torch::dropout(x(0), f("p", 0.5), training)};
    if (op == "identity") return {x(0)};
    if (op == "contiguous") return {x(0).contiguous()};
    if (op == "linear") return {torch::linear(x(0), x(1), opt(2))};
    if (op == "layer_norm")
      return {torch::layer_norm(x(0), Ints(a, "normalized_shape"), opt(1), opt(2), f("eps", 1e-5))};
    if (op == "permute") return {x(0).permute(Ints(a, "dims"))};
    if (op == "reshape") return {x(0).reshape(Ints(a, "shape"))};
    if (op == "expand") return {x(0).expand(Ints(a, "sizes"))};
    if (op == "cat") {
      std::vector<Tensor> parts;
      for (std::size_t i = 0; i < in.size(); ++i) parts.push_back(x(i));
      return {torch::cat(parts, i64("dim", 0))};
    }
    if (op == "select") return {x(0).select(i64("dim", 0), i64("index", 0))};
    if (op == "slice") {
      const std::int64_t dim = i64("dim", 0);
      const std::int64_t size = x(0).size(dim);
      return {x(0).slice(dim, i64("start", 0), std::min(i64("end", size), size), i64("step", 1))};
    }
    if (op == "transpose") return {x(0).transpose(i64("dim0", 0), i64("dim1", 1))};
    if (op == "unsqueeze") return {x(0).unsqueeze(i64("dim", 0))};
    if (op == "squeeze") {
      if (a.contains("dim") && !a.at("dim").is_null()) {
        Tensor t = x(0);
        auto dims = Ints(a, "dim");
        std::sort(dims.rbegin(), dims.rend());
        for (std::int64_t d : dims) t = t.squeeze(d < 0 ? d + x(0).dim() : d);
        return {t};
      }
      return {x(0).squeeze()};
    }
    if (op == "split" || op == "chunk") {
      const std::int64_t dim = i64("dim", 0);
      std::vector<Tensor> parts;
      if (op == "chunk") {
        parts = x(0).chunk(i64("chunks", 1), dim);
      } else if (a.contains("sections") && !a.at("sections").is_null() &&
                 !a.at("sections").empty()) {
        parts = x(0).split_with_sizes(Ints(a, "sections"), dim);
      } else {
        parts = x(0).split(i64("split_size", 1), dim);
      }
      if (parts.size() < outputs) throw Error("split gave fewer pieces than the node's outputs");
      return parts;
    }
    if (op == "where") return {torch::where(x(0), x(1), x(2))};
    if (op == "matmul") return {torch::matmul(x(0), x(1))};
    if (op == "einsum") {
      std::vector<Tensor> operands;
      for (std::size_t i = 0; i < in.size(); ++i) operands.push_back(x(i));
      return {torch::einsum(a.at("equation").get<std::string>(), operands)};
    }
    if (op == "softmax") {
      const std::int64_t dim = a.contains("dim") && !a.at("dim").is_null()
                                   ? a.at("dim").get<std::int64_t>()
                                   : ImplicitSoftmaxDim(x(0).dim());
      return {torch::softmax(x(0), dim)};
    }
    if (op == "embedding") return {torch::embedding(x(1), x(0))};
    if (op == "multi_head_attention") {
      const std::int64_t heads = i64("num_heads", 1);
      if (!training && !torch::GradMode::is_enabled() && !opt(7).defined() &&
          !b("need_weights", false)) {
        // What nn.MultiheadAttention's fast path calls at inference (ViT under torch 1.13).
        const Tensor qb = opt(4).defined() ? in[4] : torch::zeros({x(3).size(0)}, x(3).options());
        const Tensor pb = opt(6).defined() ? in[6] : torch::zeros({x(5).size(0)}, x(5).options());
        auto r =
            at::_native_multi_head_attention(x(0), x(1), x(2), x(0).size(2), heads, x(3), qb, x(5),
                                             pb, c10::nullopt, false, true, c10::nullopt);
        return {std::get<0>(r), std::get<1>(r)};
      }
      return {AttentionMath(x(0), x(1), x(2), heads, x(3), opt(4), x(5), opt(6)), Tensor()};
    }
    if (op == "scaled_dot_product_attention") {
      Tensor s = torch::matmul(x(0), x(1).transpose(-2, -1)) / std::sqrt(double(x(0).size(-1)));
      if (opt(3).defined())
        s = opt(3).scalar_type() == torch::kBool ? s.masked_fill(~in[3], -1e9) : s + in[3];
      if (b("is_causal", false)) {
        const auto l = s.size(-2), k = s.size(-1);
        s = s.masked_fill(torch::ones({l, k}, s.options().dtype(torch::kBool)).triu(1), -1e9);
      }
      return {torch::matmul(torch::softmax(s, -1), x(2))};
    }
    if (op == "mean" || op == "sum" || op == "amax" || op == "amin" || op == "std" || op == "var" ||
        op == "norm") {
      // Over `dims`, [] = every dimension (graph/ops/arithmetic.cpp's Reduction), so that
      // keepdim keeps them all as the registry's shapes say.
      std::vector<std::int64_t> dims = IntsOr(a, "dims", {});
      if (dims.empty()) {
        dims.resize(static_cast<std::size_t>(x(0).dim()));
        for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = static_cast<std::int64_t>(i);
      }
      const bool keep = b("keepdim", false);
      const Tensor& t = x(0);
      if (op == "mean") return {t.mean(dims, keep)};
      if (op == "sum") return {t.sum(dims, keep)};
      if (op == "amax") return {t.amax(dims, keep)};
      if (op == "amin") return {t.amin(dims, keep)};
      if (op == "std") return {t.std(dims, true, keep)};
      if (op == "var") return {t.var(dims, true, keep)};
      return {at::linalg_vector_norm(t, f("p", 2.0), dims, keep)};
    }
    if (op == "cos") return {torch::cos(x(0))};
    if (op == "sin") return {torch::sin(x(0))};
    if (op == "mish") return {torch::mish(x(0))};
    if (op == "elu") return {torch::elu(x(0), f("alpha", 1.0))};
    if (op == "leaky_relu") return {torch::leaky_relu(x(0), f("negative_slope", 0.01))};
    if (op == "hardtanh") return {torch::hardtanh(x(0), f("min_val", -1.0), f("max_val", 1.0))};
    if (op == "softplus") return {torch::softplus(x(0), f("beta", 1.0), f("threshold", 20.0))};
    if (op == "maximum") return {torch::maximum(x(0), x(1))};
    if (op == "minimum") return {torch::minimum(x(0), x(1))};
    if (op == "pow") {
      if (opt(1).defined()) return {torch::pow(x(0), in[1])};
      return {torch::pow(x(0), f("scalar", 2.0))};
    }
    if (op == "log_softmax") return {torch::log_softmax(x(0), i64("dim", -1))};
    if (op == "masked_fill") return {x(0).masked_fill(x(1).to(torch::kBool), f("value", 0.0))};
    if (op == "cast") {
      const std::string dt = a.value("dtype", std::string("float32"));
      return {x(0).to(ValueDtype(
          dt, x(0).is_floating_point() ? x(0).scalar_type()
                                       : torch::typeMetaToScalarType(torch::get_default_dtype())))};
    }
    if (op == "channel_shuffle") {
      // torchvision's channel_shuffle, as the module-tree ChannelShuffle runs it.
      const auto g = i64("groups", 1);
      const auto sz = x(0).sizes();
      std::vector<std::int64_t> split = {sz[0], g, sz[1] / g};
      split.insert(split.end(), sz.begin() + 2, sz.end());
      return {x(0).view(split).transpose(1, 2).contiguous().view(sz)};
    }
    if (op == "conv1d")
      return {torch::conv1d(x(0), x(1), opt(2), IntsOr(a, "stride", {1}), IntsOr(a, "padding", {0}),
                            IntsOr(a, "dilation", {1}), i64("groups", 1))};
    if (op == "group_norm")
      return {torch::group_norm(x(0), i64("num_groups", 1), opt(1), opt(2), f("eps", 1e-5))};
    if (op == "rms_norm") {
      // LLaMA's RMSNorm (no fused kernel in this libtorch): x·rsqrt(mean(x²) + eps)·weight over
      // the normalised trailing dimensions.
      const auto shape = Ints(a, "normalized_shape");
      std::vector<std::int64_t> over;
      for (std::size_t i = 0; i < shape.size(); ++i)
        over.push_back(-1 - static_cast<std::int64_t>(i));
      Tensor y = x(0) * torch::rsqrt(x(0).pow(2).mean(over, true) + f("eps", 1e-6));
      return {opt(1).defined() ? y * in[1] : y};
    }
    if (op == "adaptive_max_pool2d")
      return {std::get<0>(torch::adaptive_max_pool2d(x(0), Ints(a, "output_size")))};
    if (op == "pad") {
      const std::string mode = a.value("mode", std::string("constant"));
      namespace F = torch::nn::functional;
      F::PadFuncOptions o(Ints(a, "pads"));
      if (mode == "constant") {
        o.mode(torch::kConstant).value(f("value", 0.0));
      } else if (mode == "reflect") {
        o.mode(torch::kReflect);
      } else if (mode == "replicate") {
        o.mode(torch::kReplicate);
      } else if (mode == "circular") {
        o.mode(torch::kCircular);
      } else {
        throw Error("pad: unknown mode '" + mode + "'");
      }
      return {F::pad(x(0), o)};
    }
    if (op == "roll") return {torch::roll(x(0), Ints(a, "shifts"), IntsOr(a, "dims", {}))};
    if (op == "stack") {
      std::vector<Tensor> parts;
      for (std::size_t i = 0; i < in.size(); ++i) parts.push_back(x(i));
      return {torch::stack(parts, i64("dim", 0))};
    }
    if (op == "interpolate") {
      namespace F = torch::nn::functional;
      F::InterpolateFuncOptions o;
      const auto size = IntsOr(a, "size", {});
      if (!size.empty()) {
        o.size(size);
      } else {
        o.scale_factor(a.at("scale_factor").get<std::vector<double>>());
      }
      const std::string mode = a.value("mode", std::string("nearest"));
      bool linear = true;
      if (mode == "nearest") {
        o.mode(torch::kNearest);
        linear = false;
      } else if (mode == "nearest-exact") {
        o.mode(torch::kNearestExact);
        linear = false;
      } else if (mode == "area") {
        o.mode(torch::kArea);
        linear = false;
      } else if (mode == "linear") {
        o.mode(torch::kLinear);
      } else if (mode == "bilinear") {
        o.mode(torch::kBilinear);
      } else if (mode == "bicubic") {
        o.mode(torch::kBicubic);
      } else if (mode == "trilinear") {
        o.mode(torch::kTrilinear);
      } else {
        throw Error("interpolate: unknown mode '" + mode + "'");
      }
      // align_corners is an error for the modes that do not interpolate.
      if (linear) o.align_corners(b("align_corners", false));
      return {F::interpolate(x(0), o)};
    }
    if (op == "transformer_encoder_layer") {
      const std::int64_t heads = i64("num_heads", 1);
      const bool gelu = b("use_gelu", false), norm_first = b("norm_first", false);
      const double eps = f("eps", 1e-5);
      const std::int64_t e = x(0).size(2);
      if (!training && !torch::GradMode::is_enabled() && !opt(13).defined()) {
        // What nn.TransformerEncoderLayer's fast path calls at inference under torch 1.13.
        return {at::_transformer_encoder_layer_fwd(x(0), e, heads, x(1), x(2), x(3), x(4), gelu,
                                                   norm_first, eps, x(5), x(6), x(7), x(8), x(9),
                                                   x(10), x(11), x(12))};
      }
      // The slow path, which training runs: attention as above, the feed-forward, two layer
      // norms and two residual adds, in the order norm_first selects.
      const auto attend = [&](const Tensor& t) {
        return AttentionMath(t, t, t, heads, x(1), x(2), x(3), x(4));
      };
      const auto ffn = [&](const Tensor& t) {
        const Tensor h = torch::linear(t, x(9), x(10));
        return torch::linear(gelu ? torch::gelu(h) : torch::relu(h), x(11), x(12));
      };
      const auto norm = [&](const Tensor& t, std::size_t w) {
        return torch::layer_norm(t, {e}, x(w), x(w + 1), eps);
      };
      Tensor y = x(0);
      if (norm_first) {
        y = y + attend(norm(y, 5));
        return {y + ffn(norm(y, 7))};
      }
      y = norm(y + attend(y), 5);
      return {norm(y + ffn(y), 7)};
    }
    throw Error("operator '" + op + "' cannot be run by the collector");
  }

  json plan_;
  std::vector<Tensor> values_;
  std::vector<Tensor> grad_inputs_;
};
TORCH_MODULE(GraphNet);

// ---------------------------------------------------------------------------------- measuring

using Clock = std::chrono::steady_clock;

// Page faults served without I/O so far in this process (fresh pages mapped in); 0 where
// getrusage fails.
long MinorFaults() {
  rusage u{};
  return ::getrusage(RUSAGE_SELF, &u) == 0 ? u.ru_minflt : 0;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

torch::Dtype ParseDtype(const std::string& d) {
  if (d == "float32") return torch::kFloat32;
  if (d == "float16") return torch::kFloat16;
  if (d == "bfloat16") return torch::kBFloat16;
  throw Error("--dtype: expected float32, float16 or bfloat16, got '" + d + "'");
}

std::vector<std::int64_t> Batched(std::int64_t batch, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> s = {batch};
  s.insert(s.end(), shape.begin(), shape.end());
  return s;
}

json Measure(const json& req, JoulecastRunnerPhaseFn phase, void* context) {
  const std::string device_name = req.at("device").get<std::string>();
  if (device_name != "cpu" && device_name != "cuda") {
    throw Error("--device: expected cpu or cuda, got '" + device_name + "'");
  }
  const bool cuda = device_name == "cuda";
  if (cuda && !torch::cuda::is_available()) {
    throw Error("--device cuda: this libtorch sees no CUDA device (built without CUDA, or no GPU)");
  }
  const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
  const torch::Dtype dtype = ParseDtype(req.at("dtype").get<std::string>());
  const std::string mode = req.at("mode").get<std::string>();
  if (mode != "forward" && mode != "train_step" && mode != "input_grad") {
    throw Error("--mode: expected forward, train_step or input_grad, got '" + mode + "'");
  }
  // input_grad: forward and backward to the activation inputs, parameters frozen (no weight
  // gradients, no optimizer): what a frozen operator after the first trainable one costs.
  const bool input_grad = mode == "input_grad";
  const bool train = mode == "train_step" || input_grad;
  if (input_grad && (req.contains("architecture") ||
                     (req.contains("graph") && req.at("graph").at("nodes").size() != 1))) {
    throw Error(
        "--mode input_grad: measures one operator; a whole network's input needs no "
        "gradient");
  }
  const auto threads = req.at("threads").get<std::int64_t>();
  if (threads >= 1) at::set_num_threads(static_cast<int>(threads));
  const auto batch = req.at("batch_size").get<std::int64_t>();
  const double min_seconds = req.at("min_seconds").get<double>();
  const auto min_reps = std::max<std::int64_t>(1, req.at("min_repetitions").get<std::int64_t>());
  const double warmup_seconds = req.at("warmup_seconds").get<double>();
  const bool settle_heap = req.value("settle_heap", false);
  torch::manual_seed(req.value("seed", std::uint64_t{0}));
  const auto topt = torch::TensorOptions().device(device).dtype(dtype);

  // What one run does, built once.
  std::shared_ptr<nn::Module> module;
  std::function<Tensor()> forward;
  std::vector<Tensor> inputs;  // leaves whose .grad must be cleared between steps
  bool classifier = false;
  if (req.contains("graph")) {
    const json& plan = req.at("graph");
    // One operator measured alone: its activation inputs require grad, as inside a network; a
    // whole network's input (images, token ids) does not.
    const bool alone = plan.at("nodes").size() == 1;
    auto net = GraphNet(plan, topt, alone && train);
    module = net.ptr();
    inputs = net->grad_inputs();
    forward = [net]() mutable { return net->forward(); };
    classifier = !alone;
  } else if (req.contains("architecture")) {
    const json& arch = req.at("architecture");
    auto net = Network(arch);
    module = net.ptr();
    // Network input: no gradient, as in training (images do not require grad).
    Tensor x =
        torch::randn(Batched(batch, arch.at("input").get<std::vector<std::int64_t>>()), topt);
    forward = [net, x]() mutable { return net->forward(x); };
    classifier = true;
  } else {
    const json& l = req.at("layer");
    const std::string type = l.at("type").get<std::string>();
    const auto shape = l.at("input_shape").get<std::vector<std::int64_t>>();
    const json params = l.value("params", json::object());
    if (type == "Add" || type == "Cat") {
      std::vector<std::int64_t> piece = shape;
      if (type == "Cat") piece[0] /= 2;
      Tensor a = torch::randn(Batched(batch, piece), topt).requires_grad_(train);
      Tensor b = torch::randn(Batched(batch, piece), topt).requires_grad_(train);
      inputs = {a, b};
      if (type == "Add") {
        forward = [a, b]() { return a + b; };
      } else {
        forward = [a, b]() { return torch::cat({a, b}, 1); };
      }
    } else {
      auto op = std::make_shared<Op>(MakeOp(type, params));
      module = op->module ? op->module : std::make_shared<nn::Module>();
      Tensor x = torch::randn(Batched(batch, shape), topt).requires_grad_(train);
      inputs = {x};
      forward = [op, x]() { return op->fn(x); };
    }
  }
  if (module) {
    // A graph's tensors are made on the device in their dtypes (token ids stay integers).
    if (!req.contains("graph")) module->to(device, dtype);
    if (train) {
      module->train();
    } else {
      module->eval();
    }
  }
  std::vector<Tensor> params = module ? module->parameters() : std::vector<Tensor>{};
  if (input_grad) {
    for (Tensor& t : params) t.requires_grad_(false);
    params.clear();
  }
  std::unique_ptr<torch::optim::SGD> sgd;
  if (train && !params.empty()) {
    sgd = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(0.01).momentum(0.9));
  }
  Tensor grad_out, labels;
  std::function<void()> run;
  if (!train) {
    run = [&]() {
      torch::NoGradGuard no_grad;
      forward();
    };
  } else {
    run = [&]() {
      if (sgd) sgd->zero_grad();
      for (Tensor& t : inputs) t.mutable_grad().reset();
      Tensor out = forward();
      // Frozen parameters and integer inputs only (an embedding lookup): nothing to differentiate.
      if (input_grad && !out.requires_grad()) return;
      if (classifier && out.dim() == 2) {
        if (!labels.defined()) {
          labels = torch::randint(out.size(1), {out.size(0)},
                                  torch::TensorOptions().device(device).dtype(torch::kLong));
        }
        torch::nn::functional::cross_entropy(out, labels).backward();
      } else {
        if (!grad_out.defined() || grad_out.sizes() != out.sizes())
          grad_out = torch::ones_like(out);
        out.backward(grad_out);
      }
      if (sgd) sgd->step();
    };
  }
  auto sync = [cuda]() {
    if (cuda) torch::cuda::synchronize();
  };

  // Warm-up: collect/warm_up.h's rule; the last run estimates the run time.
  // A heap that keeps freed memory still grows for several runs of a configuration whose blocks
  // do not fit what it holds (collect/heap.h), each growth a page fault per 4 KiB, and not on
  // every run; a network's heap, or a training run's after its first steps, has long settled.
  WarmUpProgress warm;
  double last = 0;
  const auto w0 = Clock::now();
  do {
    const long f0 = MinorFaults();
    const auto t0 = Clock::now();
    run();
    sync();
    last = Seconds(t0, Clock::now());
    warm.quiet_in_a_row = MinorFaults() - f0 <= kSettledFaults ? warm.quiet_in_a_row + 1 : 0;
    ++warm.runs;
    warm.seconds = Seconds(w0, Clock::now());
  } while (!WarmUpDone(warm, warmup_seconds, settle_heap));
  // k runs per sample: a sample of >= 1 ms (clock and loop overhead negligible), but no more
  // than min_seconds / min_repetitions so that the sample count is reached in time.
  std::int64_t k = static_cast<std::int64_t>(std::ceil(1e-3 / std::max(last, 1e-9)));
  const auto cap = static_cast<std::int64_t>(min_seconds / double(min_reps) / std::max(last, 1e-9));
  k = std::max<std::int64_t>(1, std::min(k, std::max<std::int64_t>(cap, 1)));

  std::vector<double> samples;
  std::int64_t runs = 0;
  sync();
  if (phase && phase(context, 0) != 0) throw Error("energy meter failed to start");
  const long timed_f0 = MinorFaults();
  const auto p0 = Clock::now();
  for (;;) {
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < k; ++i) run();
    sync();
    const auto t1 = Clock::now();
    samples.push_back(Seconds(t0, t1) / double(k));
    runs += k;
    if (static_cast<std::int64_t>(samples.size()) >= min_reps && Seconds(p0, t1) >= min_seconds) {
      break;
    }
  }
  const double elapsed = Seconds(p0, Clock::now());
  const long timed_faults = MinorFaults() - timed_f0;
  if (phase && phase(context, 1) != 0) throw Error("energy meter failed to stop");
  return {{"samples_s", samples},
          {"runs_per_sample", k},
          {"runs", runs},
          {"elapsed_s", elapsed},
          {"warmup_runs", warm.runs},
          {"warmup_settled", HeapSettled(warm)},
          {"faults_per_run", static_cast<double>(timed_faults) / static_cast<double>(runs)},
          {"threads", at::get_num_threads()}};
}

char* Copy(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

template <typename F>
int Guard(char** json_out, char** error_out, F&& f) {
  *json_out = nullptr;
  *error_out = nullptr;
  try {
    *json_out = Copy(f().dump());
    return 0;
  } catch (const c10::Error& e) {
    *error_out = Copy(FirstLine(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    *error_out = Copy(FirstLine(e.what()));
  } catch (...) {
    *error_out = Copy("unknown error");
  }
  return 1;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int joulecast_runner_abi_version(void) {
  return JOULECAST_RUNNER_ABI_VERSION;
}

__attribute__((visibility("default"))) int joulecast_runner_info(char** json_out,
                                                                 char** error_out) {
  return Guard(json_out, error_out, []() {
    return json{{"libtorch", TORCH_VERSION},
                {"parallel", at::get_parallel_info()},
                {"config", at::show_config()},
                {"cuda_available", torch::cuda::is_available()},
                {"cuda_devices", torch::cuda::device_count()}};
  });
}

__attribute__((visibility("default"))) int joulecast_runner_measure(const char* request,
                                                                    JoulecastRunnerPhaseFn phase,
                                                                    void* context, char** json_out,
                                                                    char** error_out) {
  return Guard(json_out, error_out,
               [&]() { return Measure(json::parse(request), phase, context); });
}

__attribute__((visibility("default"))) void joulecast_runner_free(char* text) { std::free(text); }

}  // extern "C"
