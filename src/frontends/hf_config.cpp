#include "joulecast/frontends/hf_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "joulecast/graph/shape_pass.h"

namespace joulecast {
namespace {

using graph::Attributes;
using graph::Dims;
using graph::DType;
using graph::SymInts;
using graph::TensorType;
using graph::ValueId;
using nlohmann::json;

constexpr std::int64_t kMaxField = std::int64_t{1} << 31;
constexpr std::int64_t kMaxLayers = 1024;
constexpr std::int64_t kDefaultSeqCap = 512;
constexpr std::int64_t kToEnd = std::numeric_limits<std::int64_t>::max();

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "." + b;
}

// Reads the fields of one config, naming the file and the field in every error.
class Config {
 public:
  Config(const json& j, std::string where, std::vector<std::string>* notes)
      : j_(j), where_(std::move(where)), notes_(notes) {}

  [[noreturn]] void Fail(const std::string& message) const {
    throw std::runtime_error(fmt::format("{}: {}", where_, message));
  }
  void Note(const std::string& message) const {
    if (notes_) notes_->push_back(message);
  }
  const std::string& where() const { return where_; }

  bool Has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  // Present, null included (transformers tells an absent field, its class default, from null).
  bool Contains(const char* key) const { return j_.contains(key); }

  // A size the model is defined by: required, an integer in [1, limit].
  std::int64_t Size(const char* key, const char* family, std::int64_t limit = kMaxField) const {
    if (!j_.contains(key))
      Fail(fmt::format(
          "{}: missing (a {} config states it; transformers' class default is not assumed)", key,
          family));
    return Positive(key, j_[key], limit);
  }
  // An optional size: `fallback` when absent or null.
  std::int64_t SizeOr(const char* key, std::int64_t fallback,
                      std::int64_t limit = kMaxField) const {
    if (!Has(key)) return fallback;
    return Positive(key, j_[key], limit);
  }
  // A number (pad_token_id, rates, epsilons): finite.
  double NumberOr(const char* key, double fallback) const {
    if (!Has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      Fail(fmt::format("{}: must be a number, got {}", key, v.dump()));
    return v.get<double>();
  }
  // A probability (dropout rates): a number in [0, 1].
  double ProbabilityOr(const char* key, double fallback) const {
    const double p = NumberOr(key, fallback);
    if (p < 0 || p > 1) Fail(fmt::format("{}: must be in [0, 1], got {}", key, j_[key].dump()));
    return p;
  }
  // A layer norm epsilon: a finite number >= 0.
  double EpsOr(const char* key, double fallback) const {
    const double e = NumberOr(key, fallback);
    if (e < 0) Fail(fmt::format("{}: must be >= 0, got {}", key, j_[key].dump()));
    return e;
  }
  bool BoolOr(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_boolean()) Fail(fmt::format("{}: must be true or false, got {}", key, v.dump()));
    return v.get<bool>();
  }
  std::string StringOr(const char* key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_string()) Fail(fmt::format("{}: must be a string, got {}", key, v.dump()));
    return v.get<std::string>();
  }
  // num_labels, else the number of id2label entries, else 2 (PretrainedConfig).
  std::int64_t Labels() const {
    if (Has("num_labels")) return Positive("num_labels", j_["num_labels"], kMaxField);
    if (Has("id2label")) {
      const json& v = j_["id2label"];
      if (!v.is_object() || v.empty()) Fail("id2label: must be a non-empty object");
      return static_cast<std::int64_t>(v.size());
    }
    return 2;
  }
  // architectures[0], or "" when there is none.
  std::string Architecture() const {
    if (!Has("architectures")) return "";
    const json& v = j_["architectures"];
    if (!v.is_array())
      Fail(fmt::format("architectures: must be a list of names, got {}", v.dump()));
    if (v.empty()) return "";
    if (!v[0].is_string())
      Fail(fmt::format("architectures[0]: must be a class name, got {}", v[0].dump()));
    return v[0].get<std::string>();
  }

 private:
  std::int64_t Positive(const char* key, const json& v, std::int64_t limit) const {
    if (!v.is_number_integer())
      Fail(fmt::format("{}: must be a positive integer, got {}", key, v.dump()));
    const bool negative = !v.is_number_unsigned() && v.get<std::int64_t>() < 0;
    if (negative || v.get<std::uint64_t>() == 0)
      Fail(fmt::format("{}: must be a positive integer, got {}", key, v.dump()));
    if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(limit))
      Fail(fmt::format("{}: {} is above joulecast's limit of {}", key, v.dump(),
                       limit == kMaxField ? std::string("2^31") : std::to_string(limit)));
    return v.get<std::int64_t>();
  }

  const json& j_;
  std::string where_;
  std::vector<std::string>* notes_;
};

// Attributes by name, for the builders.
class A {
 public:
  A& I(const std::string& k, std::int64_t v) {
    a_.Set(k, v);
    return *this;
  }
  A& F(const std::string& k, double v) {
    a_.Set(k, v);
    return *this;
  }
  A& B(const std::string& k, bool v) {
    a_.Set(k, v);
    return *this;
  }
  A& S(const std::string& k, const std::string& v) {
    a_.Set(k, v);
    return *this;
  }
  A& Is(const std::string& k, std::vector<std::int64_t> v) {
    a_.Set(k, std::move(v));
    return *this;
  }
  // Sizes whose first entry is per sequence of the batch (scaled by the batch size).
  A& Batched(const std::string& k, std::vector<std::int64_t> v) {
    a_.Set(k, SymInts{std::move(v), 0});
    return *this;
  }
  operator Attributes() const { return a_; }

 private:
  Attributes a_;
};

// An activation function by its transformers name.
struct Activation {
  std::string op;           // registry operator
  std::string approximate;  // gelu's
};

Activation ActivationOf(const Config& c, const char* key, const std::string& fallback) {
  const std::string name = c.StringOr(key, fallback);
  if (name == "gelu") return {"gelu", "none"};
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return {"gelu", "tanh"};
  if (name == "relu") return {"relu", ""};
  if (name == "silu" || name == "swish") return {"silu", ""};
  if (name == "tanh") return {"tanh", ""};
  c.Fail(fmt::format(
      "{}: activation {} is not supported (known: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, "
      "relu, silu, swish, tanh)",
      key, json(name).dump()));
}

// Builds the graph node by node; sizes of reshapes are known from the config.
class Builder {
 public:
  explicit Builder(std::string name) { g.name = std::move(name); }

  graph::Graph g;

  ValueId Input(const std::string& name, DType t, Dims dims) {
    return g.AddInput(name, TensorType{t, std::move(dims)}, 0);
  }
  ValueId Param(const std::string& name, Dims dims) {
    return g.AddParameter(name, TensorType{DType::kFloat32, std::move(dims)});
  }
  ValueId Buffer(const std::string& name, DType t, Dims dims) {
    return g.AddParameter(name, TensorType{t, std::move(dims)}, true);
  }
  ValueId Op(const std::string& op, const std::string& scope, std::vector<ValueId> in,
             Attributes a = {}) {
    const graph::NodeId n = g.AddNode(op, std::move(a), in, scope);
    return g.node(n).outputs[0];
  }
  std::vector<ValueId> OpN(const std::string& op, const std::string& scope, std::vector<ValueId> in,
                           Attributes a, int outputs) {
    const graph::NodeId n = g.AddNode(op, std::move(a), in, scope, "", outputs);
    return g.node(n).outputs;
  }

  // nn.Linear: weight [out, in], bias [out] when `bias`.
  ValueId Linear(const std::string& scope, ValueId x, std::int64_t in, std::int64_t out,
                 bool bias) {
    std::vector<ValueId> ins = {x, Param(scope + ".weight", {out, in})};
    if (bias) ins.push_back(Param(scope + ".bias", {out}));
    return Op("linear", scope, ins);
  }
  // A linear layer whose weight is another module's (tied embeddings).
  ValueId TiedLinear(const std::string& scope, ValueId x, ValueId weight,
                     std::optional<ValueId> bias = std::nullopt) {
    std::vector<ValueId> ins = {x, weight};
    if (bias) ins.push_back(*bias);
    return Op("linear", scope, ins);
  }
  ValueId LayerNorm(const std::string& scope, ValueId x, std::int64_t d, double eps,
                    bool affine = true) {
    std::vector<ValueId> ins = {x};
    if (affine) {
      ins.push_back(Param(scope + ".weight", {d}));
      ins.push_back(Param(scope + ".bias", {d}));
    }
    return Op("layer_norm", scope, ins, A().Is("normalized_shape", {d}).F("eps", eps));
  }
  ValueId RmsNorm(const std::string& scope, ValueId x, std::int64_t d, double eps) {
    return Op("rms_norm", scope, {x, Param(scope + ".weight", {d})},
              A().Is("normalized_shape", {d}).F("eps", eps));
  }
  ValueId Embedding(const std::string& scope, ValueId ids, std::int64_t rows, std::int64_t d) {
    return Op("embedding", scope, {ids, Param(scope + ".weight", {rows, d})});
  }
  ValueId Dropout(const std::string& scope, ValueId x, double p) {
    return Op("dropout", scope, {x}, A().F("p", p));
  }
  ValueId Act(const std::string& scope, ValueId x, const Activation& act) {
    if (act.op == "gelu") return Op("gelu", scope, {x}, A().S("approximate", act.approximate));
    return Op(act.op, scope, {x});
  }
  // view/reshape to `per_sequence` with its first entry scaled by the batch.
  ValueId View(const std::string& scope, ValueId x, std::vector<std::int64_t> per_sequence) {
    return Op("reshape", scope, {x}, A().Batched("shape", std::move(per_sequence)));
  }
  ValueId Permute(const std::string& scope, ValueId x, std::vector<std::int64_t> dims) {
    return Op("permute", scope, {x}, A().Is("dims", std::move(dims)));
  }
  ValueId Transpose(const std::string& scope, ValueId x, std::int64_t a, std::int64_t b) {
    return Op("transpose", scope, {x}, A().I("dim0", a).I("dim1", b));
  }
  ValueId Slice(const std::string& scope, ValueId x, std::int64_t dim, std::int64_t start,
                std::int64_t end) {
    return Op("slice", scope, {x}, A().I("dim", dim).I("start", start).I("end", end));
  }
  // HF's Conv1D (GPT-2): addmm(bias, x.view(-1, nx), weight [nx, nf]), viewed back.
  ValueId Conv1D(const std::string& scope, ValueId x, std::int64_t s, std::int64_t nx,
                 std::int64_t nf) {
    const ValueId flat = View(scope, x, {s, nx});
    const ValueId wt = Transpose(scope, Param(scope + ".weight", {nx, nf}), 0, 1);
    const ValueId y = Op("linear", scope, {flat, wt, Param(scope + ".bias", {nf})});
    return View(scope, y, {1, s, nf});
  }
};

// The sequence length: --seq-len, or the default, checked against the `max_positions` the model
// has (`bound` says where that number comes from: "n_positions 1024").
std::int64_t SeqLen(const Config& c, const GraphOptions& o, std::int64_t max_positions,
                    const std::string& bound, bool learned, const std::string& family) {
  if (o.seq_len < 0) c.Fail(fmt::format("--seq-len must be >= 1, got {}", o.seq_len));
  if (o.seq_len == 0) {
    const std::int64_t s = std::min(max_positions, kDefaultSeqCap);
    c.Note(fmt::format("no --seq-len given: {} tokens (the smaller of {} and {})", s,
                       kDefaultSeqCap, bound));
    return s;
  }
  if (o.seq_len > max_positions) {
    if (learned)
      c.Fail(fmt::format(
          "--seq-len {} is above {} ({}'s position embeddings are learned: there are none for "
          "later positions)",
          o.seq_len, bound, family));
    c.Note(fmt::format(
        "--seq-len {} is above {}: {}'s rotary positions extrapolate (the counts hold; the model "
        "was not trained on sequences this long)",
        o.seq_len, bound, family));
  }
  return o.seq_len;
}

void RequireDivisible(const Config& c, const char* a, std::int64_t x, const char* b,
                      std::int64_t y) {
  if (x % y != 0) c.Fail(fmt::format("{} {} is not divisible by {} {}", a, x, b, y));
}

// The head to build: architectures[0] if the family knows it, else the base model with a note.
std::string Head(const Config& c, const GraphOptions& o, const std::vector<std::string>& known,
                 const std::string& base) {
  // Asked for by name, a head the builder lacks is an error: the base model would be another
  // network than the one asked for.
  if (!o.hf_architecture.empty()) {
    if (std::find(known.begin(), known.end(), o.hf_architecture) != known.end())
      return o.hf_architecture;
    c.Fail(
        fmt::format("--hf-architecture {}: not a head joulecast builds for this family; known: {}",
                    o.hf_architecture, fmt::join(known, ", ")));
  }
  const std::string arch = c.Architecture();
  if (std::find(known.begin(), known.end(), arch) != known.end()) return arch;
  if (arch.empty())
    c.Note(fmt::format(
        "no architectures entry: the base {} without a head (as AutoModel builds it)", base));
  else
    c.Note(
        fmt::format("architectures[0] {} is not modelled: the base {} without a head (known: "
                    "{})",
                    json(arch).dump(), base, fmt::join(known, ", ")));
  return base;
}

// ---- BERT and RoBERTa ----------------------------------------------------------------------

graph::Graph BuildBert(const Config& c, const GraphOptions& o, const std::string& name,
                       bool roberta) {
  const char* family = roberta ? "RoBERTa" : "BERT";
  const std::int64_t v = c.Size("vocab_size", family);
  const std::int64_t d = c.Size("hidden_size", family);
  const std::int64_t layers = c.Size("num_hidden_layers", family, kMaxLayers);
  const std::int64_t h = c.Size("num_attention_heads", family);
  const std::int64_t f = c.Size("intermediate_size", family);
  const std::int64_t max_pos = c.Size("max_position_embeddings", family);
  const std::int64_t types = c.SizeOr("type_vocab_size", 2);
  const double eps = c.EpsOr("layer_norm_eps", 1e-12);
  const double p_hidden = c.ProbabilityOr("hidden_dropout_prob", 0.1);
  const double p_attn = c.ProbabilityOr("attention_probs_dropout_prob", 0.1);
  const Activation act = ActivationOf(c, "hidden_act", "gelu");
  const bool decoder = c.BoolOr("is_decoder", false);
  if (c.BoolOr("add_cross_attention", false))
    c.Fail("add_cross_attention: cross-attention (an encoder-decoder BERT) is not supported");
  const std::string pet = c.StringOr("position_embedding_type", "absolute");
  if (pet != "absolute")
    c.Fail(fmt::format("position_embedding_type: {} is not supported (only \"absolute\")",
                       json(pet).dump()));
  RequireDivisible(c, "hidden_size", d, "num_attention_heads", h);
  const std::int64_t hd = d / h;
  // RoBERTa's positions start after its padding index: position ids pad+1 .. pad+S.
  std::int64_t offset = 0;
  if (roberta) {
    const double pad = c.NumberOr("pad_token_id", 1);
    if (pad < 0 || pad != std::floor(pad) || pad >= static_cast<double>(max_pos))
      c.Fail(fmt::format("pad_token_id: must be an integer in [0, max_position_embeddings), got {}",
                         pad));
    offset = static_cast<std::int64_t>(pad) + 1;
    if (offset >= max_pos)
      c.Fail(fmt::format("max_position_embeddings {} leaves no position after the padding index",
                         max_pos));
  }
  const std::string model = roberta ? "RobertaModel" : "BertModel";
  const std::vector<std::string> known =
      roberta ? std::vector<std::string>{"RobertaModel", "RobertaForMaskedLM", "RobertaForCausalLM",
                                         "RobertaForSequenceClassification"}
              : std::vector<std::string>{"BertModel", "BertForMaskedLM", "BertLMHeadModel",
                                         "BertForPreTraining", "BertForSequenceClassification"};
  const std::string head = Head(c, o, known, model);
  const std::int64_t s =
      SeqLen(c, o, max_pos - offset,
             roberta ? fmt::format("max_position_embeddings {} less the padding offset {}: {} "
                                   "positions",
                                   max_pos, offset, max_pos - offset)
                     : fmt::format("max_position_embeddings {}", max_pos),
             true, family);
  const bool pooler = head == "BertModel" || head == "BertForPreTraining" ||
                      head == "BertForSequenceClassification" || head == "RobertaModel";
  const std::string base = head == model ? "" : (roberta ? "roberta" : "bert");

  Builder b(name);
  b.g.description = fmt::format("Hugging Face {} ({}) at sequence length {}", head,
                                roberta ? "roberta" : "bert", s);
  const ValueId ids = b.Input("input_ids", DType::kInt64, {o.batch, s});
  const std::string e = Join(base, "embeddings");
  // BertModel.forward: the buffered token_type_ids, sliced to S and expanded over the batch.
  const ValueId type_ids =
      b.Op("expand", base,
           {b.Slice(base, b.Buffer(e + ".token_type_ids", DType::kInt64, {1, max_pos}), 1, 0, s)},
           A().Batched("sizes", {1, s}));
  // The additive attention mask of an all-ones attention_mask, expanded over the batch
  // ([B, 1, 1, S]; causal [B, 1, S, S] for a decoder).
  const std::int64_t rows = decoder ? s : 1;
  const ValueId mask =
      b.Op("expand", base,
           {b.Buffer(Join(base, "extended_attention_mask"), DType::kFloat32, {1, 1, rows, s})},
           A().Batched("sizes", {1, 1, rows, s}));
  ValueId pos_ids =
      b.Slice(e, b.Buffer(e + ".position_ids", DType::kInt64, {1, max_pos}), 1, offset, offset + s);
  if (roberta) pos_ids = b.Op("expand", e, {pos_ids}, A().Batched("sizes", {1, s}));
  ValueId x = b.Embedding(e + ".word_embeddings", ids, v, d);
  x = b.Op("add", e, {x, b.Embedding(e + ".token_type_embeddings", type_ids, types, d)});
  x = b.Op("add", e, {x, b.Embedding(e + ".position_embeddings", pos_ids, max_pos, d)});
  x = b.LayerNorm(e + ".LayerNorm", x, d, eps);
  x = b.Dropout(e + ".dropout", x, p_hidden);

  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string l = Join(base, fmt::format("encoder.layer.{}", i));
    const std::string at = l + ".attention.self";
    const auto heads = [&](ValueId t) {
      return b.Permute(at, b.View(at, t, {1, s, h, hd}), {0, 2, 1, 3});
    };
    const ValueId q = b.Linear(at + ".query", x, d, d, true);
    const ValueId k = heads(b.Linear(at + ".key", x, d, d, true));
    const ValueId val = heads(b.Linear(at + ".value", x, d, d, true));
    const ValueId qh = heads(q);
    ValueId w = b.Op("matmul", at, {qh, b.Transpose(at, k, -1, -2)});
    w = b.Op("div", at, {w}, A().F("scalar", std::sqrt(static_cast<double>(hd))));
    w = b.Op("add", at, {w, mask});
    w = b.Op("softmax", at, {w}, A().I("dim", -1));
    w = b.Dropout(at + ".dropout", w, p_attn);
    ValueId ctx = b.Op("matmul", at, {w, val});
    ctx = b.Op("contiguous", at, {b.Permute(at, ctx, {0, 2, 1, 3})});
    ctx = b.View(at, ctx, {1, s, d});
    const std::string out = l + ".attention.output";
    ValueId y = b.Dropout(out + ".dropout", b.Linear(out + ".dense", ctx, d, d, true), p_hidden);
    const ValueId attn = b.LayerNorm(out + ".LayerNorm", b.Op("add", out, {y, x}), d, eps);
    y = b.Linear(l + ".intermediate.dense", attn, d, f, true);
    y = b.Act(l + ".intermediate.intermediate_act_fn", y, act);
    y = b.Dropout(l + ".output.dropout", b.Linear(l + ".output.dense", y, f, d, true), p_hidden);
    x = b.LayerNorm(l + ".output.LayerNorm", b.Op("add", l + ".output", {y, attn}), d, eps);
  }
  b.g.MarkOutput(x);

  ValueId pooled = graph::kNoValue;
  if (pooler) {
    const std::string p = Join(base, "pooler");
    pooled = b.Op("select", p, {x}, A().I("dim", 1).I("index", 0));
    pooled = b.Op("tanh", p + ".activation", {b.Linear(p + ".dense", pooled, d, d, true)});
    b.g.MarkOutput(pooled);
  }
  const ValueId word = b.g.FindValue(e + ".word_embeddings.weight");
  if (head == "BertForMaskedLM" || head == "BertLMHeadModel" || head == "BertForPreTraining") {
    const std::string p = "cls.predictions";
    const ValueId bias = b.Param(p + ".bias", {v});
    ValueId y = b.Linear(p + ".transform.dense", x, d, d, true);
    y = b.Act(p + ".transform.transform_act_fn", y, act);
    y = b.LayerNorm(p + ".transform.LayerNorm", y, d, eps);
    b.g.MarkOutput(b.TiedLinear(p + ".decoder", y, word, bias));
    if (head == "BertForPreTraining")
      b.g.MarkOutput(b.Linear("cls.seq_relationship", pooled, d, 2, true));
  } else if (head == "BertForSequenceClassification") {
    b.g.MarkOutput(
        b.Linear("classifier", b.Dropout("dropout", pooled, p_hidden), d, c.Labels(), true));
  } else if (head == "RobertaForMaskedLM" || head == "RobertaForCausalLM") {
    const ValueId bias = b.Param("lm_head.bias", {v});
    ValueId y = b.Linear("lm_head.dense", x, d, d, true);
    y = b.Op("gelu", "lm_head", {y});
    y = b.LayerNorm("lm_head.layer_norm", y, d, eps);
    b.g.MarkOutput(b.TiedLinear("lm_head.decoder", y, word, bias));
  } else if (head == "RobertaForSequenceClassification") {
    ValueId y = b.Op("select", "classifier", {x}, A().I("dim", 1).I("index", 0));
    y = b.Dropout("classifier.dropout", y, p_hidden);
    y = b.Op("tanh", "classifier", {b.Linear("classifier.dense", y, d, d, true)});
    y = b.Dropout("classifier.dropout", y, p_hidden);
    b.g.MarkOutput(b.Linear("classifier.out_proj", y, d, c.Labels(), true));
  }
  return std::move(b.g);
}

// ---- GPT-2 ---------------------------------------------------------------------------------

graph::Graph BuildGpt2(const Config& c, const GraphOptions& o, const std::string& name) {
  const std::int64_t v = c.Size("vocab_size", "GPT-2");
  const std::int64_t d = c.Size("n_embd", "GPT-2");
  const std::int64_t layers = c.Size("n_layer", "GPT-2", kMaxLayers);
  const std::int64_t h = c.Size("n_head", "GPT-2");
  const std::int64_t max_pos = c.Size("n_positions", "GPT-2");
  RequireDivisible(c, "n_embd", d, "n_head", h);
  const std::int64_t inner = c.SizeOr("n_inner", 4 * d);
  const double eps = c.EpsOr("layer_norm_epsilon", 1e-5);
  const Activation act = ActivationOf(c, "activation_function", "gelu_new");
  const double p_embd = c.ProbabilityOr("embd_pdrop", 0.1);
  const double p_attn = c.ProbabilityOr("attn_pdrop", 0.1);
  const double p_resid = c.ProbabilityOr("resid_pdrop", 0.1);
  const bool scale = c.BoolOr("scale_attn_weights", true);
  const bool by_layer = c.BoolOr("scale_attn_by_inverse_layer_idx", false);
  if (c.BoolOr("add_cross_attention", false))
    c.Fail(
        "add_cross_attention: cross-attention (GPT-2 as a decoder of an encoder) is not supported");
  const std::string head = Head(c, o, {"GPT2Model", "GPT2LMHeadModel"}, "GPT2Model");
  const std::int64_t s =
      SeqLen(c, o, max_pos, fmt::format("n_positions {}", max_pos), true, "GPT-2");
  const std::int64_t hd = d / h;
  const std::string base = head == "GPT2Model" ? "" : "transformer";

  Builder b(name);
  b.g.description = fmt::format("Hugging Face {} (gpt2) at sequence length {}", head, s);
  const ValueId ids = b.Input("input_ids", DType::kInt64, {o.batch, s});
  // position_ids = arange(S).unsqueeze(0): the arange as a buffer of the forward.
  const ValueId pos =
      b.Op("unsqueeze", base, {b.Buffer(Join(base, "position_ids"), DType::kInt64, {s})},
           A().I("dim", 0));
  ValueId x = b.Embedding(Join(base, "wte"), ids, v, d);
  x = b.Op("add", base, {x, b.Embedding(Join(base, "wpe"), pos, max_pos, d)});
  x = b.Dropout(Join(base, "drop"), x, p_embd);
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string l = Join(base, fmt::format("h.{}", i));
    const std::string at = l + ".attn";
    ValueId y = b.LayerNorm(l + ".ln_1", x, d, eps);
    y = b.Conv1D(at + ".c_attn", y, s, d, 3 * d);
    const std::vector<ValueId> qkv = b.OpN("split", at, {y}, A().I("split_size", d).I("dim", 2), 3);
    const auto heads = [&](ValueId t) {
      return b.Permute(at, b.View(at, t, {1, s, h, hd}), {0, 2, 1, 3});
    };
    const ValueId q = heads(qkv[0]), k = heads(qkv[1]), val = heads(qkv[2]);
    ValueId w = b.Op("matmul", at, {q, b.Transpose(at, k, -1, -2)});
    if (scale) w = b.Op("div", at, {w}, A().F("scalar", std::sqrt(static_cast<double>(hd))));
    if (by_layer) w = b.Op("div", at, {w}, A().F("scalar", static_cast<double>(i + 1)));
    // The causal mask: the `bias` buffer sliced to [:, :, 0:S, :S], and where(mask, w, min).
    ValueId causal = b.Buffer(at + ".bias", DType::kBool, {1, 1, max_pos, max_pos});
    causal = b.Slice(at, b.Slice(at, causal, 2, 0, s), 3, 0, s);
    w = b.Op("where", at, {causal, w, b.Buffer(at + ".masked_bias", DType::kFloat32, {})});
    w = b.Op("softmax", at, {w}, A().I("dim", -1));
    w = b.Dropout(at + ".attn_dropout", w, p_attn);
    ValueId ctx = b.Op("matmul", at, {w, val});
    ctx = b.View(at, b.Op("contiguous", at, {b.Permute(at, ctx, {0, 2, 1, 3})}), {1, s, d});
    ctx = b.Dropout(at + ".resid_dropout", b.Conv1D(at + ".c_proj", ctx, s, d, d), p_resid);
    x = b.Op("add", l, {ctx, x});
    const std::string m = l + ".mlp";
    y = b.LayerNorm(l + ".ln_2", x, d, eps);
    y = b.Act(m + ".act", b.Conv1D(m + ".c_fc", y, s, d, inner), act);
    y = b.Dropout(m + ".dropout", b.Conv1D(m + ".c_proj", y, s, inner, d), p_resid);
    x = b.Op("add", l, {x, y});
  }
  x = b.LayerNorm(Join(base, "ln_f"), x, d, eps);
  if (head == "GPT2LMHeadModel")
    x = b.TiedLinear("lm_head", x, b.g.FindValue(Join(base, "wte.weight")));
  b.g.MarkOutput(x);
  return std::move(b.g);
}

// ---- OPT -----------------------------------------------------------------------------------

graph::Graph BuildOpt(const Config& c, const GraphOptions& o, const std::string& name) {
  const std::int64_t v = c.Size("vocab_size", "OPT");
  const std::int64_t d = c.Size("hidden_size", "OPT");
  const std::int64_t layers = c.Size("num_hidden_layers", "OPT", kMaxLayers);
  const std::int64_t h = c.Size("num_attention_heads", "OPT");
  const std::int64_t f = c.Size("ffn_dim", "OPT");
  const std::int64_t max_pos = c.Size("max_position_embeddings", "OPT");
  RequireDivisible(c, "hidden_size", d, "num_attention_heads", h);
  const std::int64_t w = c.SizeOr("word_embed_proj_dim", d);
  const bool pre = c.BoolOr("do_layer_norm_before", true);
  const bool remove_final = c.BoolOr("_remove_final_layer_norm", false);
  const bool bias = c.BoolOr("enable_bias", true);
  const bool affine = c.BoolOr("layer_norm_elementwise_affine", true);
  const bool tied = c.BoolOr("tie_word_embeddings", true);
  const Activation act = ActivationOf(c, "activation_function", "relu");
  const double p_drop = c.ProbabilityOr("dropout", 0.1);
  const double p_attn = c.ProbabilityOr("attention_dropout", 0.0);
  const std::string head = Head(c, o, {"OPTModel", "OPTForCausalLM"}, "OPTModel");
  const std::int64_t s =
      SeqLen(c, o, max_pos, fmt::format("max_position_embeddings {}", max_pos), true, "OPT");
  const std::int64_t hd = d / h;
  const double eps = 1e-5;  // nn.LayerNorm's default: OPT's config has no epsilon
  const std::string base = head == "OPTModel" ? "" : "model";
  const std::string dec = Join(base, "decoder");

  Builder b(name);
  b.g.description = fmt::format("Hugging Face {} (opt) at sequence length {}", head, s);
  const ValueId ids = b.Input("input_ids", DType::kInt64, {o.batch, s});
  ValueId x = b.Embedding(dec + ".embed_tokens", ids, v, w);
  // The 4-d causal mask of an all-ones attention_mask, and the dtype minimum the scores are
  // clamped to: constants of the forward.
  const ValueId mask = b.Buffer(dec + ".causal_attention_mask", DType::kFloat32, {1, 1, s, s});
  const ValueId lowest = b.Buffer(dec + ".dtype_min", DType::kFloat32, {});
  // Positions (cumsum of the attention mask) + 2: OPTLearnedPositionalEmbedding's offset.
  const std::string pe = dec + ".embed_positions";
  const ValueId pos = b.Op("expand", pe, {b.Buffer(pe + ".position_ids", DType::kInt64, {1, s})},
                           A().Batched("sizes", {1, s}));
  const ValueId pos_emb = b.Embedding(pe, pos, max_pos + 2, d);
  if (w != d) x = b.Linear(dec + ".project_in", x, w, d, false);
  x = b.Op("add", dec, {x, pos_emb});
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string l = fmt::format("{}.layers.{}", dec, i);
    const std::string at = l + ".self_attn";
    ValueId residual = x;
    if (pre) x = b.LayerNorm(l + ".self_attn_layer_norm", x, d, eps, affine);
    const ValueId q0 = b.Op("mul", at, {b.Linear(at + ".q_proj", x, d, d, bias)},
                            A().F("scalar", 1.0 / std::sqrt(static_cast<double>(hd))));
    // _shape: view(B, S, h, hd).transpose(1, 2).contiguous(); then view(B·h, S, hd) for bmm.
    const auto shape = [&](ValueId t) {
      return b.Op("contiguous", at, {b.Transpose(at, b.View(at, t, {1, s, h, hd}), 1, 2)});
    };
    const ValueId k0 = shape(b.Linear(at + ".k_proj", x, d, d, bias));
    const ValueId v0 = shape(b.Linear(at + ".v_proj", x, d, d, bias));
    const ValueId q = b.View(at, shape(q0), {h, s, hd});
    const ValueId k = b.View(at, k0, {h, s, hd});
    const ValueId val = b.View(at, v0, {h, s, hd});
    ValueId wts = b.Op("matmul", at, {q, b.Transpose(at, k, 1, 2)});
    wts = b.Op("add", at, {b.View(at, wts, {1, h, s, s}), mask});
    wts = b.Op("maximum", at, {wts, lowest});
    wts = b.Op("softmax", at, {b.View(at, wts, {h, s, s})}, A().I("dim", -1));
    wts = b.Dropout(at, wts, p_attn);
    ValueId ctx = b.Op("matmul", at, {wts, val});
    ctx = b.Transpose(at, b.View(at, ctx, {1, h, s, hd}), 1, 2);
    // reshape of the transposed (non-contiguous) tensor copies it.
    ctx = b.View(at, b.Op("contiguous", at, {ctx}), {1, s, d});
    ctx = b.Dropout(l, b.Linear(at + ".out_proj", ctx, d, d, bias), p_drop);
    x = b.Op("add", l, {residual, ctx});
    if (!pre) x = b.LayerNorm(l + ".self_attn_layer_norm", x, d, eps, affine);
    // The feed-forward on (B·S, d) rows.
    x = b.View(l, x, {s, d});
    residual = x;
    if (pre) x = b.LayerNorm(l + ".final_layer_norm", x, d, eps, affine);
    x = b.Act(l + ".activation_fn", b.Linear(l + ".fc1", x, d, f, bias), act);
    x = b.Dropout(l, b.Linear(l + ".fc2", x, f, d, bias), p_drop);
    x = b.View(l, b.Op("add", l, {residual, x}), {1, s, d});
    if (!pre) x = b.LayerNorm(l + ".final_layer_norm", x, d, eps, affine);
  }
  if (pre && !remove_final) x = b.LayerNorm(dec + ".final_layer_norm", x, d, eps, affine);
  if (w != d) x = b.Linear(dec + ".project_out", x, d, w, false);
  if (head == "OPTForCausalLM")
    x = tied ? b.TiedLinear("lm_head", x, b.g.FindValue(dec + ".embed_tokens.weight"))
             : b.Linear("lm_head", x, w, v, false);
  b.g.MarkOutput(x);
  return std::move(b.g);
}

// ---- LLaMA and Mistral ---------------------------------------------------------------------

graph::Graph BuildLlama(const Config& c, const GraphOptions& o, const std::string& name,
                        bool mistral) {
  const char* family = mistral ? "Mistral" : "LLaMA";
  const std::int64_t v = c.Size("vocab_size", family);
  const std::int64_t d = c.Size("hidden_size", family);
  const std::int64_t f = c.Size("intermediate_size", family);
  const std::int64_t layers = c.Size("num_hidden_layers", family, kMaxLayers);
  const std::int64_t h = c.Size("num_attention_heads", family);
  const std::int64_t max_pos = c.Size("max_position_embeddings", family);
  const std::int64_t g = c.SizeOr("num_key_value_heads", mistral ? 8 : h);
  RequireDivisible(c, "num_attention_heads", h, "num_key_value_heads", g);
  if (!c.Has("head_dim")) RequireDivisible(c, "hidden_size", d, "num_attention_heads", h);
  const std::int64_t hd = c.SizeOr("head_dim", d / h);
  if (hd % 2 != 0)
    c.Fail(fmt::format("head_dim {} is odd: rotary embeddings rotate pairs of features", hd));
  const double eps = c.EpsOr("rms_norm_eps", 1e-6);
  const bool attn_bias = c.BoolOr("attention_bias", false);
  const bool mlp_bias = c.BoolOr("mlp_bias", false);
  const bool tied = c.BoolOr("tie_word_embeddings", false);
  const Activation act = ActivationOf(c, "hidden_act", "silu");
  const double p_attn = c.ProbabilityOr("attention_dropout", 0.0);
  // Mistral's sliding_window: absent, MistralConfig's default 4096; null, none.
  std::int64_t window = 0;
  if (mistral) window = c.Contains("sliding_window") ? c.SizeOr("sliding_window", 0) : 4096;
  const std::string model = mistral ? "MistralModel" : "LlamaModel";
  const std::string causal = mistral ? "MistralForCausalLM" : "LlamaForCausalLM";
  const std::string head = Head(c, o, {model, causal}, model);
  const std::int64_t s =
      SeqLen(c, o, max_pos, fmt::format("max_position_embeddings {}", max_pos), false, family);
  const std::string base = head == model ? "" : "model";

  Builder b(name);
  b.g.description = fmt::format("Hugging Face {} ({}) at sequence length {}{}", head,
                                mistral ? "mistral" : "llama", s,
                                window > 0 ? fmt::format(", sliding window {}", window) : "");
  const ValueId ids = b.Input("input_ids", DType::kInt64, {o.batch, s});
  ValueId x = b.Embedding(Join(base, "embed_tokens"), ids, v, d);
  // The rotary tables, once per forward: freqs = inv_freq[None, :, None] @ positions[:, None, :],
  // transposed, emb = cat(freqs, freqs), cos and sin times the attention scaling (1 by default).
  const std::string re = Join(base, "rotary_emb");
  const ValueId inv = b.Buffer(re + ".inv_freq", DType::kFloat32, {hd / 2});
  const ValueId positions = b.Buffer(Join(base, "position_ids"), DType::kInt64, {1, s});
  const ValueId inv3 =
      b.Op("unsqueeze", re, {b.Op("unsqueeze", re, {inv}, A().I("dim", 0))}, A().I("dim", 2));
  const ValueId pos3 = b.Op("cast", re, {b.Op("unsqueeze", re, {positions}, A().I("dim", 1))},
                            A().S("dtype", "float32"));
  const ValueId freqs = b.Transpose(re, b.Op("matmul", re, {inv3, pos3}), 1, 2);
  const ValueId emb = b.Op("cat", re, {freqs, freqs}, A().I("dim", -1));
  const ValueId cos = b.Op("mul", re, {b.Op("cos", re, {emb})}, A().F("scalar", 1.0));
  const ValueId sin = b.Op("mul", re, {b.Op("sin", re, {emb})}, A().F("scalar", 1.0));

  const std::int64_t rep = h / g;
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string l = Join(base, fmt::format("layers.{}", i));
    const std::string at = l + ".self_attn";
    const ValueId residual = x;
    x = b.RmsNorm(l + ".input_layernorm", x, d, eps);
    const auto heads = [&](ValueId t, std::int64_t n) {
      return b.Transpose(at, b.View(at, t, {1, s, n, hd}), 1, 2);
    };
    ValueId q = heads(b.Linear(at + ".q_proj", x, d, h * hd, attn_bias), h);
    ValueId k = heads(b.Linear(at + ".k_proj", x, d, g * hd, attn_bias), g);
    ValueId val = heads(b.Linear(at + ".v_proj", x, d, g * hd, attn_bias), g);
    // apply_rotary_pos_emb: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(-x2, x1).
    const ValueId c4 = b.Op("unsqueeze", at, {cos}, A().I("dim", 1));
    const ValueId s4 = b.Op("unsqueeze", at, {sin}, A().I("dim", 1));
    const auto rotary = [&](ValueId t) {
      const ValueId tc = b.Op("mul", at, {t, c4});
      const ValueId x1 = b.Slice(at, t, -1, 0, hd / 2);
      const ValueId x2 = b.Slice(at, t, -1, hd / 2, kToEnd);
      const ValueId rot = b.Op("cat", at, {b.Op("neg", at, {x2}), x1}, A().I("dim", -1));
      return b.Op("add", at, {tc, b.Op("mul", at, {rot, s4})});
    };
    q = rotary(q);
    k = rotary(k);
    if (rep > 1) {
      // repeat_kv: [B, g, S, k] -> [B, g, rep, S, k] (expand) -> [B, h, S, k] (reshape copies).
      const auto repeat = [&](ValueId t) {
        const ValueId e = b.Op("expand", at, {b.Op("unsqueeze", at, {t}, A().I("dim", 2))},
                               A().Batched("sizes", {1, g, rep, s, hd}));
        return b.View(at, b.Op("contiguous", at, {e}), {1, h, s, hd});
      };
      k = repeat(k);
      val = repeat(val);
    }
    A sdpa;
    sdpa.B("is_causal", true).F("dropout_p", p_attn);
    if (window > 0) sdpa.I("window", window);
    ValueId ctx = b.Op("scaled_dot_product_attention", at, {q, k, val}, sdpa);
    ctx = b.Op("contiguous", at, {b.Transpose(at, ctx, 1, 2)});
    ctx = b.Linear(at + ".o_proj", b.View(at, ctx, {1, s, h * hd}), h * hd, d, attn_bias);
    x = b.Op("add", l, {residual, ctx});
    const ValueId residual2 = x;
    const std::string m = l + ".mlp";
    x = b.RmsNorm(l + ".post_attention_layernorm", x, d, eps);
    const ValueId gate = b.Act(m + ".act_fn", b.Linear(m + ".gate_proj", x, d, f, mlp_bias), act);
    const ValueId up = b.Linear(m + ".up_proj", x, d, f, mlp_bias);
    x = b.Linear(m + ".down_proj", b.Op("mul", m, {gate, up}), f, d, mlp_bias);
    x = b.Op("add", l, {residual2, x});
  }
  x = b.RmsNorm(Join(base, "norm"), x, d, eps);
  if (head == causal)
    x = tied ? b.TiedLinear("lm_head", x, b.g.FindValue(Join(base, "embed_tokens.weight")))
             : b.Linear("lm_head", x, d, v, false);
  b.g.MarkOutput(x);
  return std::move(b.g);
}

// ---- ViT -----------------------------------------------------------------------------------

graph::Graph BuildVit(const Config& c, const GraphOptions& o, const std::string& name) {
  const std::int64_t d = c.Size("hidden_size", "ViT");
  const std::int64_t layers = c.Size("num_hidden_layers", "ViT", kMaxLayers);
  const std::int64_t h = c.Size("num_attention_heads", "ViT");
  const std::int64_t f = c.Size("intermediate_size", "ViT");
  const std::int64_t image = c.Size("image_size", "ViT");
  const std::int64_t patch = c.Size("patch_size", "ViT");
  const std::int64_t channels = c.SizeOr("num_channels", 3);
  const bool qkv_bias = c.BoolOr("qkv_bias", true);
  const double eps = c.EpsOr("layer_norm_eps", 1e-12);
  const double p_hidden = c.ProbabilityOr("hidden_dropout_prob", 0.0);
  const double p_attn = c.ProbabilityOr("attention_probs_dropout_prob", 0.0);
  const Activation act = ActivationOf(c, "hidden_act", "gelu");
  RequireDivisible(c, "hidden_size", d, "num_attention_heads", h);
  if (patch > image)
    c.Fail(fmt::format("patch_size {} is larger than image_size {}", patch, image));
  if (o.seq_len != 0)
    c.Fail(fmt::format(
        "--seq-len does not apply to ViT: its sequence is its {} patches and the class token "
        "(image_size {}, patch_size {})",
        (image / patch) * (image / patch), image, patch));
  const std::string head = Head(c, o, {"ViTModel", "ViTForImageClassification"}, "ViTModel");
  const std::int64_t side = image / patch, n = side * side + 1, hd = d / h;
  const std::string base = head == "ViTModel" ? "" : "vit";

  Builder b(name);
  b.g.description =
      fmt::format("Hugging Face {} (vit) on {}x{} images, {} tokens", head, image, image, n);
  const ValueId pixels =
      b.Input("pixel_values", DType::kFloat32, {o.batch, channels, image, image});
  const std::string e = Join(base, "embeddings");
  const std::string pe = e + ".patch_embeddings";
  ValueId x = b.Op("conv2d", pe + ".projection",
                   {pixels, b.Param(pe + ".projection.weight", {d, channels, patch, patch}),
                    b.Param(pe + ".projection.bias", {d})},
                   A().Is("stride", {patch, patch}));
  x = b.Transpose(pe, b.Op("flatten", pe, {x}, A().I("start_dim", 2)), 1, 2);
  const ValueId cls =
      b.Op("expand", e, {b.Param(e + ".cls_token", {1, 1, d})}, A().Batched("sizes", {1, -1, -1}));
  x = b.Op("cat", e, {cls, x}, A().I("dim", 1));
  x = b.Op("add", e, {x, b.Param(e + ".position_embeddings", {1, n, d})});
  x = b.Dropout(e + ".dropout", x, p_hidden);
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string l = Join(base, fmt::format("encoder.layer.{}", i));
    const std::string at = l + ".attention.attention";
    const auto heads = [&](ValueId t) {
      return b.Permute(at, b.View(at, t, {1, n, h, hd}), {0, 2, 1, 3});
    };
    const ValueId y = b.LayerNorm(l + ".layernorm_before", x, d, eps);
    const ValueId q = b.Linear(at + ".query", y, d, d, qkv_bias);
    const ValueId k = heads(b.Linear(at + ".key", y, d, d, qkv_bias));
    const ValueId val = heads(b.Linear(at + ".value", y, d, d, qkv_bias));
    ValueId w = b.Op("matmul", at, {heads(q), b.Transpose(at, k, -1, -2)});
    w = b.Op("div", at, {w}, A().F("scalar", std::sqrt(static_cast<double>(hd))));
    w = b.Dropout(at + ".dropout", b.Op("softmax", at, {w}, A().I("dim", -1)), p_attn);
    ValueId ctx = b.Op("matmul", at, {w, val});
    ctx = b.View(at, b.Op("contiguous", at, {b.Permute(at, ctx, {0, 2, 1, 3})}), {1, n, d});
    const std::string out = l + ".attention.output";
    ctx = b.Dropout(out + ".dropout", b.Linear(out + ".dense", ctx, d, d, true), p_hidden);
    x = b.Op("add", l, {ctx, x});
    ValueId z = b.LayerNorm(l + ".layernorm_after", x, d, eps);
    z = b.Act(l + ".intermediate.intermediate_act_fn",
              b.Linear(l + ".intermediate.dense", z, d, f, true), act);
    z = b.Dropout(l + ".output.dropout", b.Linear(l + ".output.dense", z, f, d, true), p_hidden);
    x = b.Op("add", l + ".output", {z, x});
  }
  x = b.LayerNorm(Join(base, "layernorm"), x, d, eps);
  b.g.MarkOutput(x);
  if (head == "ViTModel") {
    const ValueId p = b.Op("select", "pooler", {x}, A().I("dim", 1).I("index", 0));
    b.g.MarkOutput(b.Op("tanh", "pooler.activation", {b.Linear("pooler.dense", p, d, d, true)}));
  } else {
    const ValueId p = b.Op("select", "", {x}, A().I("dim", 1).I("index", 0));
    b.g.MarkOutput(b.Linear("classifier", p, d, c.Labels(), true));
  }
  return std::move(b.g);
}

}  // namespace

bool IsHfConfig(const nlohmann::json& j) {
  return j.is_object() && j.contains("model_type") && j["model_type"].is_string();
}

std::vector<std::string> HfModelTypes() {
  return {"bert", "gpt2", "llama", "mistral", "opt", "roberta", "vit"};
}

graph::Graph GraphFromHfConfig(const nlohmann::json& config, const std::string& name,
                               const std::string& where, const GraphOptions& options,
                               std::vector<std::string>* notes) {
  if (!IsHfConfig(config))
    throw std::runtime_error(where + ": not a Hugging Face config (no string \"model_type\")");
  std::vector<std::string> local;
  const Config c(config, where, notes ? notes : &local);
  if (options.batch < 1) c.Fail(fmt::format("batch size must be >= 1, got {}", options.batch));
  if (!options.input.empty())
    c.Fail(
        "--input does not apply to a Hugging Face config: its input is token ids [B, S] (give "
        "--seq-len S and -b B; ViT's image size is its image_size)");
  const std::string type = config["model_type"].get<std::string>();
  graph::Graph g;
  try {
    if (type == "bert" || type == "roberta") {
      g = BuildBert(c, options, name, type == "roberta");
    } else if (type == "gpt2") {
      g = BuildGpt2(c, options, name);
    } else if (type == "opt") {
      g = BuildOpt(c, options, name);
    } else if (type == "llama" || type == "mistral") {
      g = BuildLlama(c, options, name, type == "mistral");
    } else if (type == "vit") {
      g = BuildVit(c, options, name);
    } else {
      // The name as JSON writes it: its escapes keep the message on one line.
      c.Fail(fmt::format("model_type {} is not supported (known: {})", json(type).dump(),
                         fmt::join(HfModelTypes(), ", ")));
    }
    graph::InferShapes(g);
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    if (m.rfind(where + ": ", 0) == 0) throw;
    throw std::runtime_error(where + ": " + m);
  }
  return g;
}

}  // namespace joulecast
