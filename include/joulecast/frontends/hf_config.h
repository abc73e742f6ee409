// Hugging Face config.json: a transformer named by its `transformers` configuration, lowered into
// the operator graph by one builder per family, as the `transformers` library's modelling code
// (4.3x-4.4x) runs it in eval mode at float32.
//
// A .json whose top level has a string "model_type" is such a config (LoadGraph routes it here;
// zoo names such as "gpt2" or "llama-2-7b" are configs under data/architectures/hf/). Families
// (model_type) and the heads (architectures[0]) built:
//   bert     BertModel (with the pooler), BertForMaskedLM and BertLMHeadModel (the prediction
//            head: dense, activation, LayerNorm, decoder tied to the word embeddings, its own
//            bias), BertForPreTraining (both heads), BertForSequenceClassification
//   roberta  RobertaModel (pooler), RobertaForMaskedLM / RobertaForCausalLM (lm_head, tied),
//            RobertaForSequenceClassification (classifier dense, tanh, out_proj)
//   gpt2     GPT2Model, GPT2LMHeadModel (lm_head tied to wte: its product is built, its weight
//            counted once)
//   opt      OPTModel, OPTForCausalLM (lm_head tied unless tie_word_embeddings is false)
//   llama    LlamaModel, LlamaForCausalLM (lm_head untied unless tie_word_embeddings)
//   mistral  MistralModel, MistralForCausalLM (as LLaMA, with the sliding window)
//   vit      ViTModel (pooler), ViTForImageClassification (classifier on the class token)
// Another architectures[0] (or none) gives the family's base model, as AutoModel builds it, and a
// note saying so.
//
// Input: token ids input_ids [B, S] int64 (ViT: pixel_values [B, num_channels, image_size,
// image_size]); B = options.batch, S = options.seq_len, or when 0 the smaller of 512 and the
// longest sequence the positions allow (max_position_embeddings, n_positions for GPT-2, minus
// RoBERTa's padding offset), with a note. A --seq-len above that bound is an error for the
// families with learned positions (BERT, RoBERTa, GPT-2, OPT: their tables have no more rows) and
// a note for the rotary ones (LLaMA, Mistral extrapolate). ViT takes no --seq-len (its sequence is
// its patches and the class token) and no family takes --input.
//
// Sizes: the sizes that define the model must be stated (transformers would silently use its class
// default, e.g. 768, and the estimate would be of another model): BERT/RoBERTa vocab_size,
// hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings;
// GPT-2 vocab_size, n_embd, n_layer, n_head, n_positions; OPT vocab_size, hidden_size,
// num_hidden_layers, num_attention_heads, ffn_dim, max_position_embeddings; LLaMA/Mistral
// vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
// max_position_embeddings; ViT hidden_size, num_hidden_layers, num_attention_heads,
// intermediate_size, image_size, patch_size. Each is a JSON integer in [1, 2^31] (layers at most
// 1024). The rest take transformers' defaults (absent or null): GPT-2 n_inner 4·n_embd,
// activation_function gelu_new, layer_norm_epsilon 1e-5, scale_attn_weights true; BERT hidden_act
// gelu, layer_norm_eps 1e-12, type_vocab_size 2, position_embedding_type absolute (the only one
// built), is_decoder false (true: a causal mask), RoBERTa pad_token_id 1; OPT word_embed_proj_dim =
// hidden_size, do_layer_norm_before true, enable_bias true, activation_function relu, layer norms
// with eps 1e-5; LLaMA/Mistral num_key_value_heads = num_attention_heads (Mistral: 8), head_dim =
// hidden_size / heads, hidden_act silu, rms_norm_eps 1e-6, attention_bias and mlp_bias false,
// tie_word_embeddings false; Mistral sliding_window 4096 (null: none); ViT num_channels 3, qkv_bias
// true, layer_norm_eps 1e-12; tie_word_embeddings true elsewhere; num_labels (or the length of
// id2label) 2. Activations: gelu (erf), gelu_new / gelu_pytorch_tanh / gelu_fast (tanh
// approximation, one gelu node), relu, silu / swish, tanh.
//
// What each builder lowers, in the modelling code's order, with HF's module paths as scopes
// ("encoder.layer.0.attention.self.query", "transformer.h.0.attn.c_attn",
// "model.layers.0.self_attn.q_proj"; the base model's prefix "bert.", "transformer.", "model.",
// "vit." when a head class wraps it) and parameters named as named_parameters() names them:
//   - attention of BERT, RoBERTa, GPT-2, OPT and ViT as their eager implementation: projections,
//     view + permute (OPT: transpose + contiguous and the (B·heads, S, head_dim) views of its
//     bmm), q·k^T as matmul, the scale (div by sqrt(head_dim); OPT multiplies q by its inverse),
//     the mask (BERT/RoBERTa add the extended mask, GPT-2 slices its causal `bias` buffer and
//     applies `where`, OPT adds its 4-d causal mask and clamps with maximum), softmax, dropout,
//     matmul by v, permute, contiguous, view; GPT-2's Conv1D as x.view(-1, nx), the weight
//     (stored [nx, nf]) transposed as a view, linear with bias, view back: what addmm computes
//     (its weight's elements show on that transpose node in per-node tables; totals count it
//     once)
//   - attention of LLaMA and Mistral as transformers' default "sdpa" implementation: projections,
//     view + transpose, rotary embeddings as apply_rotary_pos_emb and rotate_half (q·cos +
//     cat(-x2, x1)·sin: slice, slice, neg, cat, mul, mul, add for q and for k), the cos and sin
//     tables once per forward at model.rotary_emb (inv_freq ⊗ positions as HF's matmul, cat,
//     cos, sin, the attention scaling), grouped-query attention's repeat_kv (unsqueeze, expand,
//     and the copy reshape makes: contiguous + reshape) when num_key_value_heads < heads, one
//     scaled_dot_product_attention node (is_causal; Mistral's sliding_window as its window),
//     transpose, contiguous, reshape, o_proj; RMSNorm as rms_norm; the MLP as
//     down_proj(act(gate_proj(x)) · up_proj(x))
//   - constants the forward computes (position ids, the all-ones attention mask turned into the
//     additive mask, OPT's causal mask and dtype minimum) are buffers, not parameters
//     ("embeddings.position_ids", "extended_attention_mask", "decoder.causal_attention_mask"): what
//     preparing them costs (arange, cumsum, masked_fill over B·S² elements, once per forward) is
//     not modelled; BERT's token_type_ids and position_ids are HF's own buffers, sliced to S
//   - dropout modules stay as dropout nodes (free at inference)
//
// Counts that follow (per forward of B sequences of S tokens; d hidden, f intermediate, L layers,
// V vocabulary, h heads, g key-value heads, k head_dim, w OPT's word_embed_proj_dim), matrix MACs:
//   BERT/RoBERTa  L·B·S·(4d² + 2df) + L·2·B·S²·d, plus the pooler B·d², the MLM head B·S·(d² + dV),
//                 a classifier B·d·labels (RoBERTa's: B·(d² + d·labels))
//   GPT-2         L·B·S·(4d² + 2df) + L·2·B·S²·d + B·S·d·V (the tied LM head)
//   OPT           L·B·S·(4d² + 2df) + L·2·B·S²·d + B·S·w·V (+ 2·B·S·d·w when w ≠ d)
//   LLaMA         L·B·S·(2dhk + 2dgk + 3df) + L·2·B·S²·hk + S·k/2 (the rotary table) + B·S·d·V
//   Mistral       as LLaMA with S² replaced by S·min(S, sliding_window)
//   ViT           B·P·3·p²·d (patches: P = (image_size/p)², p = patch_size) + L·B·N·(4d² + 2df) +
//                 L·2·B·N²·d (N = P + 1) + B·d·labels (or the pooler's B·d²)
// Attention counts every query against every key, the causally masked half included, as PyTorch's
// eager matmuls and its math SDPA kernel compute them (the registry's scaled_dot_product_attention
// counts the same); only Mistral's window limits the keys (src/graph/ops/attention.cpp).
//
// Errors (std::runtime_error, one line, prefixed by `where`): "model_type \"t5\" is not supported
// (known: bert, gpt2, llama, mistral, opt, roberta, vit)", "n_embd: missing (...)", "n_layer: must
// be a positive integer, got -2", "hidden_size 1000 is not divisible by num_attention_heads 12",
// "--seq-len 2048 is above n_positions 1024 (...)", and the shape pass's own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "joulecast/frontends/load_graph.h"
#include "joulecast/graph/graph.h"

namespace joulecast {

// True for a JSON object with a string "model_type" at the top level.
bool IsHfConfig(const nlohmann::json& j);

// The model_type values the builders know, sorted: bert, gpt2, llama, mistral, opt, roberta, vit.
std::vector<std::string> HfModelTypes();

// The graph `config` describes at options.batch and options.seq_len, named `name`; errors start
// with `where` (the file); `notes` (may be null) receives the defaults taken and the head built.
// Shapes are inferred.
graph::Graph GraphFromHfConfig(const nlohmann::json& config, const std::string& name,
                               const std::string& where, const GraphOptions& options,
                               std::vector<std::string>* notes = nullptr);

}  // namespace joulecast
