// The Hugging Face config reader (frontends/hf_config.h) against independent references:
//   - parameter counts equal the published ones (model cards, papers, and
//     sum(p.numel() for p in model.parameters()) as the transformers classes give it), each also
//     worked out from the architecture's closed form written beside it;
//   - matrix MACs equal the closed form of each family (hf_config.h), and HF's ViT-B/16 equals
//     torchvision's vit_b_16 as PyTorch's dispatcher counted it (tests/data/zoo_reference.json);
//   - one BERT block and one GPT-2 block match, node for node (operator, input and output
//     shapes), the torch.fx traces of NeuSight (tests/data/hf/, tools/neusight_block_rows.py);
//   - the zoo's configs, defaults, heads, and the errors and notes of bad input.
#include "joulecast/frontends/hf_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "error_of.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/op_schema.h"
#include "joulecast/graph/shape_pass.h"

using joulecast_test::ErrorOf;
using nlohmann::json;

namespace joulecast {
namespace {

namespace fs = std::filesystem;

json ZooConfig(const std::string& name) {
  std::ifstream in(FindZooFile(name));
  return json::parse(in);
}

json WithArch(json j, const std::string& arch) {
  j["architectures"] = {arch};
  return j;
}

graph::Graph Build(const json& config, std::int64_t batch = 1, std::int64_t seq = 0,
                   std::vector<std::string>* notes = nullptr) {
  GraphOptions o;
  o.batch = batch;
  o.seq_len = seq;
  return GraphFromHfConfig(config, "model", "f.json", o, notes);
}

double MatrixMacs(const graph::Graph& g) {
  return graph::TotalCounts(g, graph::CountNodes(g)).matrix_macs;
}

// ---- parameters ----------------------------------------------------------------------------

// BERT: embeddings V·d + P·d + T·d + LayerNorm 2d; per layer q, k, v, o 4(d² + d), intermediate
// d·f + f, output f·d + d, two LayerNorms 4d; pooler d² + d.
double BertModelParams(double v, double p, double t, double d, double f, double l) {
  return v * d + p * d + t * d + 2 * d + l * (4 * (d * d + d) + 2 * d * f + f + d + 4 * d) + d * d +
         d;
}

// GPT-2: wte V·d + wpe P·d; per layer ln_1, ln_2 4d, c_attn d·3d + 3d, c_proj d² + d, c_fc d·4d +
// 4d, mlp c_proj 4d·d + d = 12d² + 13d; ln_f 2d; lm_head tied (no parameters of its own).
double Gpt2Params(double v, double p, double d, double l) {
  return v * d + p * d + l * (12 * d * d + 13 * d) + 2 * d;
}

// LLaMA/Mistral: embed_tokens V·d, lm_head V·d (untied); per layer q d·hk, k and v d·gk each,
// o hk·d, gate/up/down 3·d·f, two RMSNorms 2d; final norm d.
double LlamaParams(double v, double d, double f, double l, double h, double g, double k) {
  return 2 * v * d + l * (2 * d * h * k + 2 * d * g * k + 3 * d * f + 2 * d) + d;
}

TEST(HfConfig, ParametersEqualThePublishedCounts) {
  // BertModel, bert-base-uncased: 109,482,240 (V 30522, P 512, T 2, d 768, f 3072, L 12).
  EXPECT_EQ(BertModelParams(30522, 512, 2, 768, 3072, 12), 109482240.0);
  EXPECT_EQ(Build(WithArch(ZooConfig("bert-base-uncased"), "BertModel")).ParameterCount(),
            109482240.0);
  // BertModel, bert-large-uncased: 335,141,888.
  EXPECT_EQ(BertModelParams(30522, 512, 2, 1024, 4096, 24), 335141888.0);
  EXPECT_EQ(Build(WithArch(ZooConfig("bert-large-uncased"), "BertModel")).ParameterCount(),
            335141888.0);
  // The published config's own head, BertForMaskedLM: no pooler (−(d² + d)), the prediction
  // head's transform d² + d + 2d and its bias V; the decoder's weight is the word embeddings':
  // 109,482,240 − 590,592 + 591,360 + 30,522 = 109,514,298, as transformers counts it.
  EXPECT_EQ(Build(ZooConfig("bert-base-uncased")).ParameterCount(), 109514298.0);
  // GPT2LMHeadModel: 124,439,808 / 354,823,168 / 774,030,080 / 1,557,611,200.
  EXPECT_EQ(Gpt2Params(50257, 1024, 768, 12), 124439808.0);
  EXPECT_EQ(Gpt2Params(50257, 1024, 1024, 24), 354823168.0);
  EXPECT_EQ(Gpt2Params(50257, 1024, 1280, 36), 774030080.0);
  EXPECT_EQ(Gpt2Params(50257, 1024, 1600, 48), 1557611200.0);
  EXPECT_EQ(Build(ZooConfig("gpt2")).ParameterCount(), 124439808.0);
  EXPECT_EQ(Build(ZooConfig("gpt2-medium")).ParameterCount(), 354823168.0);
  EXPECT_EQ(Build(ZooConfig("gpt2-large")).ParameterCount(), 774030080.0);
  EXPECT_EQ(Build(ZooConfig("gpt2-xl")).ParameterCount(), 1557611200.0);
  // OPTForCausalLM 1.3B: embed_tokens V·d, positions (P + 2)·d, per layer 4(d² + d) + 2·d·f + f +
  // d + two LayerNorms 4d, final LayerNorm 2d, lm_head tied: 1,315,758,080.
  const double d = 2048, f = 8192;
  EXPECT_EQ(50272 * d + 2050 * d + 24 * (4 * (d * d + d) + 2 * d * f + f + d + 4 * d) + 2 * d,
            1315758080.0);
  EXPECT_EQ(Build(ZooConfig("opt-1.3b")).ParameterCount(), 1315758080.0);
  // LlamaForCausalLM, Llama-2-7B: 6,738,415,616; MistralForCausalLM 7B (8 key-value heads):
  // 7,241,732,096.
  EXPECT_EQ(LlamaParams(32000, 4096, 11008, 32, 32, 32, 128), 6738415616.0);
  EXPECT_EQ(LlamaParams(32000, 4096, 14336, 32, 32, 8, 128), 7241732096.0);
  EXPECT_EQ(Build(ZooConfig("llama-2-7b")).ParameterCount(), 6738415616.0);
  EXPECT_EQ(Build(ZooConfig("mistral-7b")).ParameterCount(), 7241732096.0);
  // ViTForImageClassification, vit-base-patch16-224: cls token d, positions 197·d, patch
  // convolution 3·16²·d + d, 12 layers as BERT's, final LayerNorm 2d, classifier d·1000 + 1000:
  // 86,567,656 (torchvision's vit_b_16 has the same, tests/data/zoo_reference.json).
  const double v = 768, vf = 3072;
  EXPECT_EQ(v + 197 * v + 3 * 256 * v + v + 12 * (4 * (v * v + v) + 2 * v * vf + vf + v + 4 * v) +
                2 * v + v * 1000 + 1000,
            86567656.0);
  EXPECT_EQ(Build(ZooConfig("vit-base-patch16-224")).ParameterCount(), 86567656.0);
}

TEST(HfConfig, RobertaBaseAndTheNeuSightConfigs) {
  // RobertaModel, roberta-base (its published config): 124,645,632 = BERT's form with V 50265,
  // P 514, T 1.
  const json roberta = json::parse(R"({
    "architectures": ["RobertaForMaskedLM"], "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "layer_norm_eps": 1e-05, "max_position_embeddings": 514, "model_type": "roberta",
    "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1, "type_vocab_size": 1,
    "vocab_size": 50265})");
  EXPECT_EQ(BertModelParams(50265, 514, 1, 768, 3072, 12), 124645632.0);
  EXPECT_EQ(Build(WithArch(roberta, "RobertaModel")).ParameterCount(), 124645632.0);
  // RobertaForMaskedLM: no pooler, lm_head dense d² + d, layer_norm 2d, bias V: 124,697,433.
  EXPECT_EQ(Build(roberta).ParameterCount(), 124645632.0 - 590592 + 590592 + 1536 + 50265);
  // RoBERTa's positions start after the padding index: 512 tokens fit, 513 do not.
  EXPECT_NO_THROW(Build(roberta, 1, 512));
  EXPECT_EQ(ErrorOf([&] { Build(roberta, 1, 513); }),
            "f.json: --seq-len 513 is above max_position_embeddings 514 less the padding offset "
            "2: 512 positions (RoBERTa's position embeddings are learned: there are none for "
            "later positions)");

  // NeuSight's configs (data/architectures/hf/neusight2025/): GPT-2 shapes of GPT-3 and BERT with
  // the LM head. GPT-3 2.7B as GPT2LMHeadModel: V 50257, P 2048, d 2560, L 32.
  EXPECT_EQ(Build(ZooConfig("gpt3_27")).ParameterCount(), Gpt2Params(50257, 2048, 2560, 32));
  EXPECT_EQ(Build(ZooConfig("gpt3_13")).ParameterCount(), Gpt2Params(50257, 2048, 5120, 40));
  EXPECT_EQ(Build(ZooConfig("gpt2_med")).ParameterCount(), 354823168.0);
  // BertLMHeadModel, bert_large: BertModel without the pooler, with the prediction head.
  EXPECT_EQ(Build(ZooConfig("bert_large")).ParameterCount(),
            335141888.0 - (1024.0 * 1024 + 1024) + (1024.0 * 1024 + 1024 + 2048) + 30522);
  // NeuSight's "opt": hidden 512 with word_embed_proj_dim 2048: project_in 2048·512 and project_out
  // 512·2048 (no bias), embed_tokens V·2048 tied to lm_head, positions 2050·512, one layer.
  const double h = 512, ff = 2048, w = 2048;
  EXPECT_EQ(
      Build(ZooConfig("opt")).ParameterCount(),
      50272 * w + 2050 * h + 2 * w * h + (4 * (h * h + h) + 2 * h * ff + ff + h + 4 * h) + 2 * h);
}

// ---- matrix MACs ---------------------------------------------------------------------------

// Per layer: projections B·S·(4d² + 2df), attention scores and context 2·B·S²·d.
double EncoderMacs(double b, double s, double d, double f, double l) {
  return l * (b * s * (4 * d * d + 2 * d * f) + 2 * b * s * s * d);
}

// LLaMA and Mistral: per layer B·S·(2d·hk + 2d·gk + 3df) + 2·B·S·keys·hk (keys = S, or
// min(S, sliding_window)), the rotary table S·k/2, the LM head B·S·d·V.
double LlamaMacs(double b, double s, double d, double f, double l, double h, double g, double k,
                 double v, double keys) {
  return l * (b * s * (2 * d * h * k + 2 * d * g * k + 3 * d * f) + 2 * b * s * keys * h * k) +
         s * k / 2 + b * s * d * v;
}

TEST(HfConfig, MatrixMacsEqualTheClosedForms) {
  // BertModel at B 2, S 128: layers + pooler B·d².
  const json base = ZooConfig("bert-base-uncased");
  EXPECT_EQ(MatrixMacs(Build(WithArch(base, "BertModel"), 2, 128)),
            EncoderMacs(2, 128, 768, 3072, 12) + 2.0 * 768 * 768);
  // BertForMaskedLM: no pooler; the head's transform and decoder B·S·(d² + d·V).
  EXPECT_EQ(MatrixMacs(Build(base, 2, 128)),
            EncoderMacs(2, 128, 768, 3072, 12) + 2.0 * 128 * (768.0 * 768 + 768.0 * 30522));
  // BertForSequenceClassification (as NeuSight traced bert_large): pooler and classifier.
  EXPECT_EQ(MatrixMacs(Build(WithArch(base, "BertForSequenceClassification"), 8, 512)),
            EncoderMacs(8, 512, 768, 3072, 12) + 8.0 * 768 * 768 + 8.0 * 768 * 2);
  // GPT2LMHeadModel: the causal attention counted in full (S², as the eager matmuls compute it),
  // and the tied LM head B·S·d·V.
  const struct {
    const char* name;
    double d, l;
  } gpt2s[] = {{"gpt2", 768, 12},
               {"gpt2-medium", 1024, 24},
               {"gpt2-large", 1280, 36},
               {"gpt2-xl", 1600, 48}};
  for (const auto& g : gpt2s) {
    SCOPED_TRACE(g.name);
    EXPECT_EQ(MatrixMacs(Build(ZooConfig(g.name), 1, 1024)),
              EncoderMacs(1, 1024, g.d, 4 * g.d, g.l) + 1024.0 * g.d * 50257);
  }
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("gpt2"), 3, 100)),
            EncoderMacs(3, 100, 768, 3072, 12) + 300.0 * 768 * 50257);
  // OPT-1.3B: the same form, LM head B·S·w·V; NeuSight's opt adds project_in and project_out.
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("opt-1.3b"), 2, 2048)),
            EncoderMacs(2, 2048, 2048, 8192, 24) + 2.0 * 2048 * 2048 * 50272);
  EXPECT_EQ(
      MatrixMacs(Build(ZooConfig("opt"), 2, 256)),
      EncoderMacs(2, 256, 512, 2048, 1) + 2.0 * 256 * 2048 * 50272 + 2 * 2.0 * 256 * 512 * 2048);
  // Llama-2-7B: per layer B·S·(2d·hk + 2d·gk + 3df) + 2·B·S²·hk, the rotary table S·k/2 (HF's
  // inv_freq ⊗ positions matmul, once per forward), the LM head B·S·d·V.
  const auto llama = LlamaMacs;
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("llama-2-7b"), 1, 2048)),
            llama(1, 2048, 4096, 11008, 32, 32, 32, 128, 32000, 2048));
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("llama-2-7b"), 2, 100)),
            llama(2, 100, 4096, 11008, 32, 32, 32, 128, 32000, 100));
  // Mistral-7B: grouped-query projections (g 8) and its sliding window: S·min(S, 4096) keys.
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("mistral-7b"), 1, 1024)),
            llama(1, 1024, 4096, 14336, 32, 32, 8, 128, 32000, 1024));
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("mistral-7b"), 1, 8192)),
            llama(1, 8192, 4096, 14336, 32, 32, 8, 128, 32000, 4096));
  // ViT-B/16 at 224: patches B·196·3·16²·d, N = 197 tokens, classifier B·d·1000; equal to what
  // PyTorch's dispatcher counted for torchvision's vit_b_16, the same network (17,563,828,224).
  const double vit = 196.0 * 768 * 768 + EncoderMacs(1, 197, 768, 3072, 12) + 768.0 * 1000;
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("vit-base-patch16-224"))), vit);
  std::ifstream ref_file(std::string(JOULECAST_TEST_DATA) + "/zoo_reference.json");
  const json ref = json::parse(ref_file);
  EXPECT_EQ(vit, ref.at("networks").at("vit_b_16").at("matrix_macs_b1").get<double>());
  EXPECT_EQ(MatrixMacs(Build(ZooConfig("vit-base-patch16-224"), 2)),
            ref.at("networks").at("vit_b_16").at("matrix_macs_b2").get<double>());
}

// Graph JSON written by inspect --json reads back, at another batch, to the same counts.
TEST(HfConfig, GraphJsonRoundTripAtAnotherBatch) {
  for (const char* name :
       {"bert-base-uncased", "gpt2", "opt-1.3b", "mistral-7b", "vit-base-patch16-224"}) {
    SCOPED_TRACE(name);
    const bool vit = std::string(name).rfind("vit", 0) == 0;
    const graph::Graph one = Build(ZooConfig(name), 1, vit ? 0 : 64);
    graph::Graph back = graph::GraphFromJson(graph::GraphToJson(one), "roundtrip");
    GraphOptions o;
    o.batch = 3;
    RetargetGraph(back, o, "roundtrip");
    const graph::Graph three = Build(ZooConfig(name), 3, vit ? 0 : 64);
    EXPECT_EQ(MatrixMacs(back), MatrixMacs(three));
    EXPECT_EQ(graph::TotalCounts(back, graph::CountNodes(back)).macs,
              graph::TotalCounts(three, graph::CountNodes(three)).macs);
    EXPECT_EQ(back.ParameterCount(), three.ParameterCount());
  }
}

// ---- the NeuSight traces -------------------------------------------------------------------

// The nodes of one block as the trace lists them (tools/neusight_block_rows.py's rules): the
// nodes in scope `block`, each with its op, the shapes of its inputs that are activations (not
// parameters or buffers, nor a parameter's transpose: GPT-2's Conv1D weight, which addmm reads as
// stored) and its output shapes.
json BlockRows(const graph::Graph& g, const std::string& block) {
  std::set<graph::ValueId> constants;
  for (graph::ValueId v = 0; v < static_cast<graph::ValueId>(g.values().size()); ++v)
    if (g.value(v).role == graph::ValueRole::kParameter ||
        g.value(v).role == graph::ValueRole::kBuffer)
      constants.insert(v);
  json rows = json::array();
  for (const graph::Node& n : g.nodes()) {
    if (n.scope != block && n.scope.rfind(block + ".", 0) != 0) continue;
    if (n.op == "transpose" && constants.count(n.inputs[0])) {
      constants.insert(n.outputs[0]);
      continue;
    }
    json ins = json::array(), outs = json::array();
    for (graph::ValueId v : n.inputs)
      if (v != graph::kNoValue && !constants.count(v)) ins.push_back(g.value(v).type.dims);
    for (graph::ValueId v : n.outputs) outs.push_back(g.value(v).type.dims);
    rows.push_back({n.op, ins, outs});
  }
  return rows;
}

void ExpectTraceBlock(const std::string& file) {
  std::ifstream in(std::string(JOULECAST_TEST_DATA) + "/hf/" + file);
  const json trace = json::parse(in);
  const std::string config = trace.at("config").get<std::string>();
  const graph::Graph g =
      Build(ZooConfig(config.substr(config.find('/') + 1)), trace.at("batch").get<std::int64_t>(),
            trace.at("seq_len").get<std::int64_t>());
  const json ours = BlockRows(g, trace.at("block").get<std::string>());
  const json& want = trace.at("rows");
  ASSERT_EQ(ours.size(), want.size()) << ours.dump();
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(ours[i], want[i]) << "row " << i;
}

TEST(HfConfig, BertBlockMatchesNeuSightsTrace) {
  // bert_large at batch 8, sequence 512 (labels/NVIDIA_A100-PCIE-40GB/bert_large-inf-512-8.csv):
  // 29 operations of bert.encoder.layer.0.
  ExpectTraceBlock("neusight_bert_large_block.json");
}

TEST(HfConfig, Gpt2BlockMatchesNeuSightsTrace) {
  // gpt2_large at batch 4, sequence 1024 (gpt2_large-inf-1024-4.csv): 38 operations of
  // transformer.h.0, the Conv1D views, split, causal-mask slices and where included.
  ExpectTraceBlock("neusight_gpt2_large_block.json");
}

// ---- structure -----------------------------------------------------------------------------

std::vector<std::string> Scopes(const graph::Graph& g) {
  std::vector<std::string> out;
  for (const graph::Node& n : g.nodes()) out.push_back(n.scope);
  return out;
}

bool HasScope(const graph::Graph& g, const std::string& s) {
  const auto v = Scopes(g);
  return std::find(v.begin(), v.end(), s) != v.end();
}

const graph::Node* NodeIn(const graph::Graph& g, const std::string& scope, const std::string& op) {
  for (const graph::Node& n : g.nodes())
    if (n.scope == scope && n.op == op) return &n;
  return nullptr;
}

TEST(HfConfig, ScopesAndParametersAreHuggingFaces) {
  const graph::Graph bert = Build(WithArch(ZooConfig("bert-base-uncased"), "BertModel"), 1, 16);
  EXPECT_TRUE(HasScope(bert, "encoder.layer.0.attention.self.query"));
  EXPECT_TRUE(HasScope(bert, "pooler.dense"));
  EXPECT_GE(bert.FindValue("encoder.layer.11.output.LayerNorm.weight"), 0);
  EXPECT_EQ(bert.value(bert.inputs()[0]).type.dtype, graph::DType::kInt64);
  EXPECT_EQ(bert.value(bert.inputs()[0]).type.dims, (graph::Dims{1, 16}));

  const graph::Graph gpt2 = Build(ZooConfig("gpt2"), 2, 16);
  EXPECT_TRUE(HasScope(gpt2, "transformer.h.0.attn.c_attn"));
  EXPECT_EQ(gpt2.value(gpt2.FindValue("transformer.h.0.attn.c_attn.weight")).type.dims,
            (graph::Dims{768, 2304}));  // Conv1D stores [nx, nf]
  // The LM head multiplies by the word embeddings: one parameter, two uses.
  const graph::Node* head = NodeIn(gpt2, "lm_head", "linear");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(gpt2.value(head->inputs[1]).name, "transformer.wte.weight");
  EXPECT_EQ(gpt2.value(head->outputs[0]).type.dims, (graph::Dims{2, 16, 50257}));
  // gelu_new is the tanh approximation.
  const graph::Node* act = NodeIn(gpt2, "transformer.h.0.mlp.act", "gelu");
  ASSERT_NE(act, nullptr);
  EXPECT_EQ(act->attrs.String("approximate"), "tanh");

  const graph::Graph llama = Build(ZooConfig("llama-2-7b"), 1, 32);
  EXPECT_TRUE(HasScope(llama, "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(HasScope(llama, "model.layers.31.mlp.act_fn"));
  EXPECT_GE(llama.FindValue("lm_head.weight"), 0);  // untied
  EXPECT_EQ(NodeIn(llama, "model.layers.0.self_attn.q_proj", "linear")->inputs.size(), 2u);
  EXPECT_EQ(NodeIn(llama, "model.layers.0.mlp.act_fn", "silu")->op, "silu");
  // Rotary embeddings as rotate_half for q and k: two neg and two cat per layer, the tables once.
  int neg = 0, cat = 0;
  for (const graph::Node& n : llama.nodes()) {
    neg += n.op == "neg";
    cat += n.op == "cat" && n.scope == "model.layers.0.self_attn";
  }
  EXPECT_EQ(neg, 2 * 32);
  EXPECT_EQ(cat, 2);
  EXPECT_NE(NodeIn(llama, "model.rotary_emb", "cos"), nullptr);
  // Llama-2-7B has as many key-value heads as heads: no repeat_kv.
  EXPECT_EQ(NodeIn(llama, "model.layers.0.self_attn", "expand"), nullptr);
  const graph::Node* sdpa =
      NodeIn(llama, "model.layers.0.self_attn", "scaled_dot_product_attention");
  ASSERT_NE(sdpa, nullptr);
  EXPECT_TRUE(sdpa->attrs.Bool("is_causal"));
  EXPECT_EQ(sdpa->attrs.Int("window"), 0);
  // Tied embeddings when the config says so: V·d fewer parameters.
  json tied = ZooConfig("llama-2-7b");
  tied["tie_word_embeddings"] = true;
  EXPECT_EQ(Build(tied, 1, 32).ParameterCount(), 6738415616.0 - 32000.0 * 4096);

  // Mistral: grouped-query attention repeats 8 key-value heads 4 times; the window of 4096.
  const graph::Graph mistral = Build(ZooConfig("mistral-7b"), 1, 32);
  const graph::Node* rep = NodeIn(mistral, "model.layers.0.self_attn", "expand");
  ASSERT_NE(rep, nullptr);
  EXPECT_EQ(mistral.value(rep->outputs[0]).type.dims, (graph::Dims{1, 8, 4, 32, 128}));
  EXPECT_EQ(mistral.value(mistral.FindValue("model.layers.0.self_attn.k_proj.weight")).type.dims,
            (graph::Dims{1024, 4096}));
  EXPECT_EQ(NodeIn(mistral, "model.layers.0.self_attn", "scaled_dot_product_attention")
                ->attrs.Int("window"),
            4096);
  // sliding_window null: no window (MistralConfig(sliding_window=None)).
  json open = ZooConfig("mistral-7b");
  open["sliding_window"] = nullptr;
  EXPECT_EQ(MatrixMacs(Build(open, 1, 8192)),
            LlamaMacs(1, 8192, 4096, 14336, 32, 32, 8, 128, 32000, 8192));

  const graph::Graph vit = Build(ZooConfig("vit-base-patch16-224"), 2);
  EXPECT_EQ(vit.value(vit.inputs()[0]).type.dims, (graph::Dims{2, 3, 224, 224}));
  EXPECT_TRUE(HasScope(vit, "vit.encoder.layer.0.attention.attention.query"));
  EXPECT_EQ(vit.value(NodeIn(vit, "classifier", "linear")->outputs[0]).type.dims,
            (graph::Dims{2, 1000}));
}

TEST(HfConfig, DefaultsAsTransformers) {
  // GPT-2: n_inner absent is 4·n_embd, given it is used; activation_function absent is gelu_new.
  json g = json::parse(R"({"model_type": "gpt2", "vocab_size": 100, "n_embd": 64, "n_layer": 2,
                           "n_head": 4, "n_positions": 32})");
  EXPECT_EQ(Build(g, 1, 8).ParameterCount(), Gpt2Params(100, 32, 64, 2));
  g["n_inner"] = 100;
  EXPECT_EQ(Build(g, 1, 8).ParameterCount(),
            Gpt2Params(100, 32, 64, 2) - 2 * (2 * 64.0 * 256 + 256) + 2 * (2 * 64.0 * 100 + 100));
  EXPECT_EQ(NodeIn(Build(g, 1, 8), "h.0.mlp.act", "gelu")->attrs.String("approximate"), "tanh");
  g["activation_function"] = "relu";
  EXPECT_NE(NodeIn(Build(g, 1, 8), "h.0.mlp.act", "relu"), nullptr);
  // OPT: relu, biases, pre-norm and a final LayerNorm; do_layer_norm_before false drops the
  // final LayerNorm (OPT-350m); enable_bias false drops every linear bias.
  json o = json::parse(R"({"model_type": "opt", "vocab_size": 100, "hidden_size": 64,
                           "num_hidden_layers": 2, "num_attention_heads": 4, "ffn_dim": 128,
                           "max_position_embeddings": 32, "architectures": ["OPTForCausalLM"]})");
  const graph::Graph opt = Build(o, 1, 8);
  EXPECT_NE(NodeIn(opt, "model.decoder.layers.0.activation_fn", "relu"), nullptr);
  EXPECT_GE(opt.FindValue("model.decoder.final_layer_norm.weight"), 0);
  EXPECT_EQ(opt.value(opt.FindValue("model.decoder.embed_positions.weight")).type.dims,
            (graph::Dims{34, 64}));  // OPT's offset of 2
  o["do_layer_norm_before"] = false;
  EXPECT_EQ(Build(o, 1, 8).FindValue("model.decoder.final_layer_norm.weight"), -1);
  o["do_layer_norm_before"] = true;
  o["enable_bias"] = false;
  EXPECT_EQ(Build(o, 1, 8).ParameterCount(), opt.ParameterCount() - 2 * (4 * 64.0 + 128 + 64));
  // LLaMA: num_key_value_heads absent = heads; Mistral's absent = 8; silu; no biases.
  json l = json::parse(R"({"model_type": "llama", "vocab_size": 100, "hidden_size": 64,
                           "intermediate_size": 96, "num_hidden_layers": 1,
                           "num_attention_heads": 8, "max_position_embeddings": 64})");
  // (No architectures entry: the base model, without lm_head's V·d.)
  EXPECT_EQ(Build(l, 1, 8).ParameterCount(), LlamaParams(100, 64, 96, 1, 8, 8, 8) - 100 * 64);
  l["model_type"] = "mistral";
  EXPECT_EQ(Build(l, 1, 8).ParameterCount(),
            LlamaParams(100, 64, 96, 1, 8, 8, 8) - 100 * 64);  // g 8 = h
  l["num_attention_heads"] = 16;
  l["head_dim"] = 8;  // explicit head_dim: q is d x 16·8
  EXPECT_EQ(Build(l, 1, 8).ParameterCount(), LlamaParams(100, 64, 96, 1, 16, 8, 8) - 100 * 64);
}

TEST(HfConfig, HeadsFollowArchitectures) {
  std::vector<std::string> notes;
  const json gpt2 = ZooConfig("gpt2");
  // GPT2Model: no lm_head; scopes without the "transformer." prefix.
  const graph::Graph bare = Build(WithArch(gpt2, "GPT2Model"), 1, 8, &notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_TRUE(HasScope(bare, "h.0.attn.c_attn"));
  EXPECT_FALSE(HasScope(bare, "lm_head"));
  // An architecture the family does not build: the base model, and a note saying so.
  const graph::Graph other = Build(WithArch(gpt2, "GPT2ForSequenceClassification"), 1, 8, &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(
      notes[0],
      "architectures[0] \"GPT2ForSequenceClassification\" is not modelled: the base GPT2Model "
      "without a head (known: GPT2Model, GPT2LMHeadModel)");
  EXPECT_EQ(other.ParameterCount(), bare.ParameterCount());
  notes.clear();
  json none = gpt2;
  none.erase("architectures");
  Build(none, 1, 8, &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "no architectures entry: the base GPT2Model without a head (as AutoModel "
            "builds it)");
  // The default sequence length is noted.
  notes.clear();
  const graph::Graph dflt = Build(gpt2, 1, 0, &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "no --seq-len given: 512 tokens (the smaller of 512 and n_positions 1024)");
  EXPECT_EQ(dflt.value(dflt.inputs()[0]).type.dims, (graph::Dims{1, 512}));
  notes.clear();
  const graph::Graph small = Build(ZooConfig("opt"), 1, 0, &notes);  // 2048 positions
  EXPECT_EQ(small.value(small.inputs()[0]).type.dims, (graph::Dims{1, 512}));
}

// ---- errors and notes ----------------------------------------------------------------------

TEST(HfConfig, BadInputNamesTheFileAndTheField) {
  const json gpt2 = ZooConfig("gpt2");
  const auto err = [](json j, std::int64_t seq = 8) { return ErrorOf([&] { Build(j, 1, seq); }); };
  json j = gpt2;
  j["model_type"] = "t5";
  EXPECT_EQ(err(j),
            "f.json: model_type \"t5\" is not supported (known: bert, gpt2, llama, "
            "mistral, opt, roberta, vit)");
  j = gpt2;
  j.erase("n_embd");
  EXPECT_EQ(err(j),
            "f.json: n_embd: missing (a GPT-2 config states it; transformers' class "
            "default is not assumed)");
  j = gpt2;
  j["n_layer"] = -2;
  EXPECT_EQ(err(j), "f.json: n_layer: must be a positive integer, got -2");
  j["n_layer"] = 0;
  EXPECT_EQ(err(j), "f.json: n_layer: must be a positive integer, got 0");
  j["n_layer"] = 5000;
  EXPECT_EQ(err(j), "f.json: n_layer: 5000 is above joulecast's limit of 1024");
  j = gpt2;
  j["n_embd"] = nullptr;
  EXPECT_EQ(err(j), "f.json: n_embd: must be a positive integer, got null");
  j["n_embd"] = 768.5;
  EXPECT_EQ(err(j), "f.json: n_embd: must be a positive integer, got 768.5");
  j["n_embd"] = "768";
  EXPECT_EQ(err(j), "f.json: n_embd: must be a positive integer, got \"768\"");
  j["n_embd"] = 3000000000LL;
  EXPECT_EQ(err(j), "f.json: n_embd: 3000000000 is above joulecast's limit of 2^31");
  j = gpt2;
  j["n_embd"] = 1000;
  EXPECT_EQ(err(j), "f.json: n_embd 1000 is not divisible by n_head 12");
  j = gpt2;
  j["activation_function"] = "quick_gelu";
  EXPECT_EQ(err(j),
            "f.json: activation_function: activation \"quick_gelu\" is not supported "
            "(known: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish, "
            "tanh)");
  j = gpt2;
  j["scale_attn_weights"] = "yes";
  EXPECT_EQ(err(j), "f.json: scale_attn_weights: must be true or false, got \"yes\"");
  j = gpt2;
  j["architectures"] = "GPT2LMHeadModel";
  EXPECT_EQ(err(j), "f.json: architectures: must be a list of names, got \"GPT2LMHeadModel\"");
  // --seq-len above the learned positions: an error; above rotary positions: a note.
  EXPECT_EQ(err(gpt2, 1025),
            "f.json: --seq-len 1025 is above n_positions 1024 (GPT-2's position embeddings are "
            "learned: there are none for later positions)");
  EXPECT_EQ(err(ZooConfig("bert-base-uncased"), 513),
            "f.json: --seq-len 513 is above max_position_embeddings 512 (BERT's position "
            "embeddings are learned: there are none for later positions)");
  EXPECT_EQ(err(ZooConfig("opt-1.3b"), 4096),
            "f.json: --seq-len 4096 is above max_position_embeddings 2048 (OPT's position "
            "embeddings are learned: there are none for later positions)");
  std::vector<std::string> notes;
  Build(ZooConfig("llama-2-7b"), 1, 8192, &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "--seq-len 8192 is above max_position_embeddings 4096: LLaMA's rotary "
            "positions extrapolate (the counts hold; the model was not trained on "
            "sequences this long)");
  // Grouped-query attention needs heads divisible by key-value heads.
  j = ZooConfig("mistral-7b");
  j["num_key_value_heads"] = 5;
  EXPECT_EQ(err(j), "f.json: num_attention_heads 32 is not divisible by num_key_value_heads 5");
  // --input and ViT's --seq-len do not apply.
  GraphOptions o;
  o.input = {3, 224, 224};
  EXPECT_EQ(ErrorOf([&] { GraphFromHfConfig(gpt2, "m", "f.json", o); }),
            "f.json: --input does not apply to a Hugging Face config: its input is token ids "
            "[B, S] (give --seq-len S and -b B; ViT's image size is its image_size)");
  EXPECT_EQ(err(ZooConfig("vit-base-patch16-224"), 100),
            "f.json: --seq-len does not apply to ViT: its sequence is its 196 patches and the "
            "class token (image_size 224, patch_size 16)");
  // A shape the graph cannot hold: the shape pass names the node.
  EXPECT_NE(err(gpt2, 1000000).find("f.json: --seq-len 1000000 is above"), std::string::npos);
  j = ZooConfig("llama-2-7b");
  EXPECT_NE(ErrorOf([&] { Build(j, 1 << 30, 1 << 30); }).find("more than 2^53 elements"),
            std::string::npos);
}

// ---- LoadGraph and the zoo ------------------------------------------------------------------

TEST(HfConfig, HfArchitectureBuildsTheClassAsked) {
  // NeuSight's bert_large config says BertLMHeadModel; its inference labels ran
  // BertForSequenceClassification and its training labels BertForPreTraining. Parameter counts
  // of those two classes as transformers gave them (sum of p.numel(), data/h200/models.jsonl):
  // 335,143,938 and 336,226,108.
  GraphOptions o;
  o.seq_len = 512;
  o.hf_architecture = "BertForSequenceClassification";
  const graph::Graph cls = LoadGraph("bert_large", o);
  EXPECT_EQ(cls.ParameterCount(), 335143938.0);
  EXPECT_TRUE(HasScope(cls, "classifier"));
  EXPECT_FALSE(HasScope(cls, "cls.predictions"));
  o.hf_architecture = "BertForPreTraining";
  EXPECT_EQ(LoadGraph("bert_large", o).ParameterCount(), 336226108.0);
  // A class the family's builder lacks is an error (never the base model in its place), and the
  // forms that are not configs refuse the option.
  o.hf_architecture = "BertForQuestionAnswering";
  EXPECT_NE(ErrorOf([&] { LoadGraph("bert_large", o); })
                .find("--hf-architecture BertForQuestionAnswering: not a head joulecast builds "
                      "for this family; known: BertModel, BertForMaskedLM, BertLMHeadModel, "
                      "BertForPreTraining, BertForSequenceClassification"),
            std::string::npos);
  o.hf_architecture = "BertForSequenceClassification";
  o.seq_len = 0;
  EXPECT_NE(ErrorOf([&] {
              LoadGraph("resnet18", o);
            }).find("--hf-architecture applies to Hugging Face configs"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LoadGraph("model.onnx", o);
            }).find("model.onnx: --hf-architecture applies to Hugging Face configs"),
            std::string::npos);
}

TEST(HfConfig, LoadGraphRoutesConfigsAndTheZooFindsThem) {
  const std::vector<std::string> trees = ZooTreeNames();
  for (const char* name : {"bert-base-uncased",
                           "bert-large-uncased",
                           "gpt2",
                           "gpt2-medium",
                           "gpt2-large",
                           "gpt2-xl",
                           "opt-1.3b",
                           "llama-2-7b",
                           "mistral-7b",
                           "vit-base-patch16-224",
                           "bert",
                           "bert_large",
                           "gpt2_large",
                           "gpt2_med",
                           "gpt2_xl",
                           "gpt3_13",
                           "gpt3_27",
                           "gpt3_67",
                           "gpt3_xl",
                           "opt",
                           "opt_13"}) {
    SCOPED_TRACE(name);
    const std::string path = FindZooFile(name);
    EXPECT_NE(path.find("/hf/"), std::string::npos);
    EXPECT_TRUE(IsGraphZooFile(path));
    EXPECT_EQ(std::find(trees.begin(), trees.end(), name), trees.end());
    std::vector<std::string> notes;
    GraphOptions o;
    const graph::Graph g = LoadGraph(name, o, &notes);
    EXPECT_EQ(g.name, name);
    EXPECT_GT(g.ParameterCount(), 0);
    if (std::string(name).rfind("vit", 0) != 0) {
      ASSERT_FALSE(notes.empty());
      EXPECT_EQ(notes[0].rfind(std::string(name) + ": no --seq-len given", 0), 0u) << notes[0];
    }
  }
  EXPECT_EQ(
      ErrorOf([] { LoadZooArchitecture("gpt2"); }).find("not a module tree") != std::string::npos,
      true);
  // A hub-style .../NAME/config.json is named after its folder; --seq-len reaches the config.
  const fs::path dir =
      fs::temp_directory_path() / ("hf_config_test_" + std::to_string(getpid())) / "tiny-gpt2";
  fs::create_directories(dir);
  std::ofstream(dir / "config.json")
      << R"({"model_type": "gpt2", "vocab_size": 100, "n_embd": 64, "n_layer": 2, "n_head": 4,
            "n_positions": 32, "architectures": ["GPT2LMHeadModel"]})";
  GraphOptions o;
  o.batch = 2;
  o.seq_len = 16;
  const graph::Graph tiny = LoadGraph((dir / "config.json").string(), o);
  EXPECT_EQ(tiny.name, "tiny-gpt2");
  EXPECT_EQ(tiny.value(tiny.inputs()[0]).type.dims, (graph::Dims{2, 16}));
  o.seq_len = 64;
  EXPECT_EQ(ErrorOf([&] { LoadGraph((dir / "config.json").string(), o); }),
            (dir / "config.json").string() +
                ": --seq-len 64 is above n_positions 32 (GPT-2's position embeddings are learned: "
                "there are none for later positions)");
  fs::remove_all(dir.parent_path());
  // The other forms have no sequence length.
  o.seq_len = 128;
  EXPECT_EQ(ErrorOf([&] { LoadGraph("resnet18", o); })
                .find("--seq-len applies to Hugging Face "
                      "configs"),
            FindZooFile("resnet18").size() + 2);
}

}  // namespace
}  // namespace joulecast
