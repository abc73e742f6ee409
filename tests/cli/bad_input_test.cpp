// The bad-input catalogue (issue 7): the built joulecast binary is run on broken files
// (tests/data/bad/) and bad arguments, and each case must
//   - exit non-zero;
//   - print exactly one line "joulecast: error: ..." on stderr, as its last line (the only other
//     lines allowed are "joulecast: warning: ..." and "joulecast: note: ..." before it), and that
//     line must name the file (with the line where there is one), the field or the flag: the
//     case's expected text;
//   - print nothing on stdout (no half a result);
//   - leave the working directory exactly as it was: no output file (nor temporary) created, and
//     the existing measurement, training-run and profile files there byte-identical, also when
//     the failed command was told to write onto them.
// Placeholders in the arguments: {bad} tests/data/bad, {dir} the case's working directory (which
// holds existing.jsonl, runs.jsonl and profile.json), {model} the shipped layer profile, {log}
// the shipped partial training log.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using cli_test::kBinary;
using cli_test::Quote;
using cli_test::Slurp;
using cli_test::StartsWith;

const std::string kBad = std::string(JOULECAST_TEST_DATA) + "/bad";

struct Case {
  const char* name;
  std::string args;
  std::string expect;  // text the error line must contain (placeholders expanded)
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

// The ONNX cases' error: the reader's, or without the plugin (no libonnx-dev) that it is needed.
#ifdef JOULECAST_HAVE_ONNX
#define ONNX_ERROR(file, message) "{bad}/" file ": " message
#else
#define ONNX_ERROR(file, message) "{bad}/" file ": reading ONNX needs the joulecast_onnx plugin"
#endif

// clang-format off
const std::vector<Case> kCases = {
  // ---- predict: architecture files (JSON) ----
  {"PredictArchTruncated", "predict {bad}/arch_truncated.json --model {model}", "{bad}/arch_truncated.json: invalid JSON"},
  {"PredictArchTrailingGarbage", "predict {bad}/arch_trailing_garbage.json --model {model}", "{bad}/arch_trailing_garbage.json: invalid JSON"},
  {"PredictArchNotObject", "predict {bad}/arch_not_object.json --model {model}", "{bad}/arch_not_object.json: expected a JSON object"},
  {"PredictArchMissingLayers", "predict {bad}/arch_missing_layers.json --model {model}", "{bad}/arch_missing_layers.json: missing field 'layers'"},
  {"PredictArchEmptyLayers", "predict {bad}/arch_empty_layers.json --model {model}", "{bad}/arch_empty_layers.json: layers: expected at least one layer"},
  {"PredictArchUnknownLayer", "predict {bad}/arch_unknown_layer.json --model {model}", "{bad}/arch_unknown_layer.json: layers[0] (0): unknown layer type 'Conv3d'"},
  {"PredictArchUnknownField", "predict {bad}/arch_unknown_field.json --model {model}", "{bad}/arch_unknown_field.json: layers[0] (0): unknown argument 'strid'"},
  {"PredictArchBoolChannels", "predict {bad}/arch_bool_channels.json --model {model}", "{bad}/arch_bool_channels.json: layers[0].in_channels"},
  {"PredictArchFloatKernel", "predict {bad}/arch_float_kernel.json --model {model}", "{bad}/arch_float_kernel.json: layers[0].kernel_size"},
  {"PredictArchNegativeKernel", "predict {bad}/arch_negative_kernel.json --model {model}", "{bad}/arch_negative_kernel.json: layers[0].kernel_size"},
  {"PredictArchKernel2Pow60", "predict {bad}/arch_kernel_2pow60.json --model {model}", "{bad}/arch_kernel_2pow60.json: layers[0].kernel_size"},
  {"PredictArchZeroChannels", "predict {bad}/arch_zero_channels.json --model {model}", "{bad}/arch_zero_channels.json: layers[0].out_channels"},
  {"PredictArchZeroInput", "predict {bad}/arch_zero_input.json --model {model}", "{bad}/arch_zero_input.json: input:"},
  {"PredictArchInputString", "predict {bad}/arch_input_string.json --model {model}", "{bad}/arch_input_string.json: input:"},
  {"PredictArchInputTooLarge", "predict {bad}/arch_input_too_large.json --model {model}", "{bad}/arch_input_too_large.json: input: shape 1000000x1000000x1000000 has more than 2^53 elements"},
  {"PredictArchDropoutP", "predict {bad}/arch_dropout_p.json --model {model}", "{bad}/arch_dropout_p.json: layers[0].p"},
  {"PredictArchNanLiteral", "predict {bad}/arch_nan_literal.json --model {model}", "{bad}/arch_nan_literal.json: invalid JSON"},
  {"PredictArchNewlineInType", "predict {bad}/arch_newline_in_type.json --model {model}", "{bad}/arch_newline_in_type.json: layers[0] (0): unknown layer type 'Conv\\n2d'"},
  {"PredictArchChannelMismatch", "predict {bad}/arch_channel_mismatch.json --model {model}", "{bad}/arch_channel_mismatch.json: 0 (Conv2d): expected 4 input channels, got 3"},
  {"PredictArchKernelTooLarge", "predict {bad}/arch_kernel_too_large.json --model {model}", "{bad}/arch_kernel_too_large.json: 0 (Conv2d): kernel 64x64 is larger than the padded input 32x32"},
  {"PredictArchChannels1e9Megapixel", "predict {bad}/arch_channels_1e9_megapixel.json --model {model}", "{bad}/arch_channels_1e9_megapixel.json: 0 (Conv2d): output 1000000000x1000000x1000000 has more than 2^53 elements"},
  {"PredictArchMissingFile", "predict {dir}/nonexistent.json --model {model}", "{dir}/nonexistent.json: cannot open"},
  // ---- predict / inspect: graph JSON ----
  {"PredictGraphUnknownOperator", "predict {bad}/graph_unknown_op.json --model {model}", "{bad}/graph_unknown_op.json: nodes[0] (c): unknown operator 'conv3d' (did you mean: conv1d, conv2d?)"},
  {"PredictGraphCycle", "predict {bad}/graph_cycle.json --model {model}", "{bad}/graph_cycle.json: cycle through nodes a, b"},
  {"PredictGraphShapeMismatch", "predict {bad}/graph_shape_mismatch.json --model {model}", "{bad}/graph_shape_mismatch.json: sum (Add): cannot broadcast 1x4x6x6 with 1x3x8x8 (inputs c, x)"},
  {"PredictGraphChannelMismatch", "predict {bad}/graph_channel_mismatch.json --model {model}", "{bad}/graph_channel_mismatch.json: c (Conv2d): expected 5 input channels, got 3 (input 1x3x8x8)"},
  {"PredictGraphSize2Pow53", "predict {bad}/graph_size_2pow53.json --model {model}", "{bad}/graph_size_2pow53.json: input 'x': shape 1x1048576x1048576x16384 has more than 2^53 elements"},
  {"PredictGraphUnknownDimension", "predict {bad}/graph_unknown_dim.json --model {model}", "{bad}/graph_unknown_dim.json: inputs[0].shape: dimension 2 is unknown (null); give the per-sample input shape with --input"},
  {"PredictGraphBadAttribute", "predict {bad}/graph_bad_attribute.json --model {model}", "{bad}/graph_bad_attribute.json: nodes[0] (c): attribute 'stride' of conv2d: expected ints, got \"two\""},
  {"PredictGraphUndefinedInput", "predict {bad}/graph_undefined_input.json --model {model}", "{bad}/graph_undefined_input.json: nodes[0] (c): input 'y' is not an input, parameter or node output"},
  {"PredictGraphFormatVersion", "predict {bad}/graph_format_version.json --model {model}", "{bad}/graph_format_version.json: format_version 7 is not supported (this joulecast reads 1)"},
  {"InspectGraphCycle", "inspect {bad}/graph_cycle.json", "{bad}/graph_cycle.json: cycle through nodes a, b"},
  {"InspectUnknownArchitecture", "inspect resnet7", "unknown architecture 'resnet7'"},
  {"InspectTorchScriptWithoutInput", "inspect {bad}/not_a_zip.pt", "{bad}/not_a_zip.pt: a TorchScript file does not record its input shape"},
  {"InspectBatchZero", "inspect resnet18 -b 0", "--batch-size"},
  // ---- predict / inspect: Hugging Face config.json ----
  {"PredictHfUnknownModelType", "predict {bad}/hf_unknown_model_type.json --model {model}", "{bad}/hf_unknown_model_type.json: model_type \"t5\" is not supported (known: bert, gpt2, llama, mistral, opt, roberta, vit)"},
  {"PredictHfMissingSize", "predict {bad}/hf_missing_size.json --model {model}", "{bad}/hf_missing_size.json: n_embd: missing (a GPT-2 config states it"},
  {"PredictHfNegativeSize", "predict {bad}/hf_negative_size.json --model {model}", "{bad}/hf_negative_size.json: num_hidden_layers: must be a positive integer, got -2"},
  {"PredictHfNullSize", "predict {bad}/hf_null_size.json --model {model}", "{bad}/hf_null_size.json: hidden_size: must be a positive integer, got null"},
  {"PredictHfStringSize", "predict {bad}/hf_string_size.json --model {model}", "{bad}/hf_string_size.json: ffn_dim: must be a positive integer, got \"8192\""},
  {"PredictHfHeadsNotDividing", "predict {bad}/hf_heads_not_dividing.json --model {model}", "{bad}/hf_heads_not_dividing.json: hidden_size 1000 is not divisible by num_attention_heads 12"},
  {"PredictHfKeyValueHeads", "predict {bad}/hf_kv_heads.json --model {model}", "{bad}/hf_kv_heads.json: num_attention_heads 32 is not divisible by num_key_value_heads 5"},
  {"PredictHfUnknownActivation", "predict {bad}/hf_unknown_activation.json --model {model}", "{bad}/hf_unknown_activation.json: hidden_act: activation \"quick_gelu\" is not supported"},
  {"PredictHfSeqLenAbovePositions", "predict gpt2 --seq-len 2048 --model {model}", "hf/gpt2.json: --seq-len 2048 is above n_positions 1024 (GPT-2's position embeddings are learned"},
  {"PredictHfSeqLenZero", "predict gpt2 --seq-len 0 --model {model}", "--seq-len: Value 0 not in range"},
  {"PredictHfInput", "predict gpt2 --input 3x224x224 --model {model}", "hf/gpt2.json: --input does not apply to a Hugging Face config"},
  {"PredictHfVitSeqLen", "predict vit-base-patch16-224 --seq-len 128 --model {model}", "hf/vit-base-patch16-224.json: --seq-len does not apply to ViT"},
  {"PredictSeqLenOnACnn", "predict resnet18 --seq-len 128 --model {model}", "resnet18.json: --seq-len applies to Hugging Face configs"},
  {"PredictHfArchitectureUnknown", "predict bert-base-uncased --hf-architecture BertForQuestionAnswering --model {model}", "hf/bert-base-uncased.json: --hf-architecture BertForQuestionAnswering: not a head joulecast builds for this family; known: BertModel,"},
  {"InspectHfArchitectureOnACnn", "inspect resnet18 --hf-architecture BertModel", "resnet18.json: --hf-architecture applies to Hugging Face configs"},
  {"InspectHfSeqLenAbovePositions", "inspect bert-base-uncased --seq-len 1024", "hf/bert-base-uncased.json: --seq-len 1024 is above max_position_embeddings 512"},
  {"CompareHfBadConfig", "compare gpt2 {bad}/hf_missing_size.json --model {model}", "{bad}/hf_missing_size.json: n_embd: missing"},
  // ---- predict / inspect: ONNX (tools/make_onnx_fixtures.py writes these files) ----
  {"PredictOnnxTruncated", "predict {bad}/onnx_truncated.onnx --model {model}", ONNX_ERROR("onnx_truncated.onnx", "not an ONNX model (protobuf parsing failed: a truncated or corrupt file)")},
  {"PredictOnnxCorrupt", "predict {bad}/onnx_corrupt.onnx --model {model}", ONNX_ERROR("onnx_corrupt.onnx", "not an ONNX model (protobuf parsing failed: a truncated or corrupt file)")},
  {"PredictOnnxUnsupportedOp", "predict {bad}/onnx_unsupported_op.onnx --model {model}", ONNX_ERROR("onnx_unsupported_op.onnx", "unsupported ONNX operator CumSum at node '/features/features.1/CumSum'")},
  {"PredictOnnxDynamicDimWithoutInput", "predict {bad}/onnx_dynamic_dim.onnx --model {model}", ONNX_ERROR("onnx_dynamic_dim.onnx", "input 'x' dimension 2 ('height') is dynamic: give the per-sample shape with --input")},
  {"PredictOnnxInputOfAnotherRank", "predict {bad}/onnx_dynamic_dim.onnx --input 3x8 --model {model}", ONNX_ERROR("onnx_dynamic_dim.onnx", "--input gives 2 sizes, but input 'x' has 3 after the batch dimension")},
  {"InspectOnnxOpset9", "inspect {bad}/onnx_opset9.onnx", ONNX_ERROR("onnx_opset9.onnx", "ONNX opset 9 is not supported (this reader reads opsets 11 to 17)")},
  // ---- predict: printed models, TorchScript, arguments ----
  {"PredictReprGarbage", "predict {bad}/repr_garbage.txt --input 3x32x32 --model {model}", "{bad}/repr_garbage.txt:1: expected 'Class('"},
  {"PredictReprUnbalanced", "predict {bad}/repr_unbalanced.txt --input 3x32x32 --model {model}", "{bad}/repr_unbalanced.txt:2: unbalanced parentheses"},
  {"PredictReprUnknownClass", "predict {bad}/repr_unknown_class.txt --input 3x32x32 --model {model}", "{bad}/repr_unknown_class.txt:2: unknown layer class 'Conv3d'"},
  {"PredictReprBadArgument", "predict {bad}/repr_bad_argument.txt --input 3x32x32 --model {model}", "{bad}/repr_bad_argument.txt:2: bad argument 'kernel_size=(3, x)'"},
  {"PredictReprZeroKernel", "predict {bad}/repr_zero_kernel.txt --input 3x32x32 --model {model}", "{bad}/repr_zero_kernel.txt:2: conv (Conv2d): kernel_size"},
  {"PredictReprChannelMismatch", "predict {bad}/repr_channel_mismatch.txt --input 3x32x32 --model {model}", "{bad}/repr_channel_mismatch.txt:2: conv (Conv2d): expected 4 input channels, got 3"},
  {"PredictReprWithoutInput", "predict {bad}/repr_garbage.txt --model {model}", "{bad}/repr_garbage.txt: a printed model does not record its input shape; give it with --input"},
  {"PredictTorchScriptWithoutInput", "predict {bad}/not_a_zip.pt --model {model}", "{bad}/not_a_zip.pt: a TorchScript file does not record its input shape"},
  {"PredictInputZeroDim", "predict resnet18 --input 3x0x224 --model {model}", "--input: dimension 0 out of range in '3x0x224'"},
  {"PredictInputTrailingX", "predict resnet18 --input 3x224x --model {model}", "--input: expected dimensions like 3x224x224, got '3x224x'"},
  {"PredictInputHugeDim", "predict resnet18 --input 99999999999999x99999999 --model {model}", "--input: dimension 99999999999999 out of range"},
  {"PredictInputTooManyElements", "predict resnet18 --input 1048576x1048576x1048576 --model {model}", "--input: 1048576x1048576x1048576 has more than 2^53 elements"},
  {"PredictBatchZero", "predict resnet18 -b 0 --model {model}", "--batch-size: Value 0 not in range"},
  {"PredictBatchNotANumber", "predict resnet18 -b abc --model {model}", "--batch-size"},
  {"PredictPassesNegative", "predict resnet18 --passes -1 --model {model}", "--passes: must be > 0, got -1"},
  {"PredictUnknownZooName", "predict no_such_net --model {model}", "unknown architecture 'no_such_net'"},
  {"PredictProfileMissing", "predict resnet18 --model {dir}/nonexistent.json", "{dir}/nonexistent.json: cannot open profile"},
  {"PredictProfileIsArchitecture", "predict resnet18 --model {bad}/arch_not_object.json", "{bad}/arch_not_object.json: not a joulecast profile"},
  {"PredictProfileIsMeasurements", "predict resnet18 --model {dir}/existing.jsonl", "{dir}/existing.jsonl"},
  {"PredictHtmlEmptyPath", "predict resnet18 --model {model} --html ''", "--html: empty path"},
  {"PredictHtmlNoSuchDirectory", "predict resnet18 --model {model} --html {dir}/no/such/dir/r.html", "--html: {dir}/no/such/dir/r.html: cannot write"},
  {"PredictHtmlBadArchitecture", "predict {bad}/arch_truncated.json --model {model} --html {dir}/r.html", "{bad}/arch_truncated.json: invalid JSON"},
  // ---- compare ----
  {"CompareBadArchitecture", "compare resnet18 {bad}/arch_unknown_layer.json --model {model}", "{bad}/arch_unknown_layer.json: layers[0] (0): unknown layer type 'Conv3d'"},
  {"CompareUnknownZooName", "compare resnet18 no_such_net --model {model}", "unknown architecture 'no_such_net'"},
  {"CompareAccuracyNotANumber", "compare resnet18 vgg11 --model {model} --accuracy resnet18=abc", "--accuracy: 'abc' is not a number"},
  {"CompareAccuracyCsvMissing", "compare resnet18 vgg11 --model {model} --accuracy-csv {dir}/nonexistent.csv", "--accuracy-csv: {dir}/nonexistent.csv: cannot open"},
  {"CompareBatchZero", "compare resnet18 vgg11 --model {model} -b 0", "--batch-size"},
  {"CompareHtmlWithBadArchitecture", "compare resnet18 {bad}/arch_channel_mismatch.json --model {model} --html {dir}/c.html", "{bad}/arch_channel_mismatch.json: 0 (Conv2d)"},
  // ---- fit (layer measurements and training runs) ----
  {"FitMeasBadJsonLine3", "fit {bad}/meas_bad_json_line3.jsonl -o {dir}/p.json", "{bad}/meas_bad_json_line3.jsonl:3: invalid JSON"},
  {"FitMaxOtherCpusNegative", "fit data/getzner2023/random/linear.jsonl --max-other-cpus -1 -o {dir}/p.json", "--max-other-cpus: must be a number >= 0, got -1"},
  {"FitMeasBadMode", "fit {bad}/meas_bad_mode.jsonl -o {dir}/p.json", "{bad}/meas_bad_mode.jsonl:1: field 'mode'"},
  {"FitMeasBadVersion", "fit {bad}/meas_bad_version.jsonl -o {dir}/p.json", "{bad}/meas_bad_version.jsonl:1: unsupported format_version 2"},
  {"FitMeasHugeNumber", "fit {bad}/meas_huge_number.jsonl -o {dir}/p.json", "{bad}/meas_huge_number.jsonl:2: invalid JSON"},
  {"FitMeasMissingDuration", "fit {bad}/meas_missing_duration.jsonl -o {dir}/p.json", "{bad}/meas_missing_duration.jsonl:1: missing field 'duration_s'"},
  {"FitMeasNanString", "fit {bad}/meas_nan_string.jsonl -o {dir}/p.json", "{bad}/meas_nan_string.jsonl:1: field 'energy_j' must be a number"},
  {"FitMeasNegativeEnergy", "fit {bad}/meas_negative_energy.jsonl -o {dir}/p.json", "{bad}/meas_negative_energy.jsonl:1: field 'energy_j' must be finite and >= 0"},
  {"FitMeasNotObject", "fit {bad}/meas_not_object.jsonl -o {dir}/p.json", "{bad}/meas_not_object.jsonl:1: a measurement must be a JSON object"},
  {"FitMeasStringBatch", "fit {bad}/meas_string_batch.jsonl -o {dir}/p.json", "{bad}/meas_string_batch.jsonl:1: field 'batch_size'"},
  {"FitMeasZeroBatch", "fit {bad}/meas_zero_batch.jsonl -o {dir}/p.json", "{bad}/meas_zero_batch.jsonl:1: field 'batch_size' must be a positive integer, got 0"},
  {"FitMeasHugeInputShape", "fit {bad}/meas_huge_input_shape.jsonl -o {dir}/p.json", "{bad}/meas_huge_input_shape.jsonl:1: field 'input_shape'"},
  {"FitMeasZeroOutputShape", "fit {bad}/meas_zero_output_shape.jsonl -o {dir}/p.json", "{bad}/meas_zero_output_shape.jsonl:1: field 'context.output_shape' must hold positive integers, got [4,0]"},
  {"FitMeasPadding2Pow62", "fit {bad}/meas_conv_padding_2pow62.jsonl -o {dir}/p.json", "{bad}/meas_conv_padding_2pow62.jsonl:1: field 'params.padding' is 4611686018427387904"},
  {"FitEmptyFile", "fit {bad}/empty.jsonl -o {dir}/p.json", "fit: the measurement files hold no records"},
  {"FitNoFileMatches", "fit '{bad}/no_such_*.jsonl' -o {dir}/p.json", "{bad}/no_such_*.jsonl: no file matches"},
  {"FitOntoExistingProfile", "fit {bad}/meas_negative_energy.jsonl -o {dir}/profile.json", "{bad}/meas_negative_energy.jsonl:1"},
  {"FitOntoExistingMeasurements", "fit {bad}/meas_bad_mode.jsonl -o {dir}/existing.jsonl", "{bad}/meas_bad_mode.jsonl:1"},
  {"FitFoldsOne", "fit {dir}/existing.jsonl -o {dir}/p.json --folds 1", "--folds"},
  {"FitTargetUnknown", "fit {dir}/existing.jsonl -o {dir}/p.json --target watts", "--target"},
  {"FitRunsBadJson", "fit {bad}/runs_bad_json.jsonl -o {dir}/p.json", "{bad}/runs_bad_json.jsonl:2: invalid JSON"},
  {"FitRunsBadVersion", "fit {bad}/runs_bad_version.jsonl -o {dir}/p.json", "{bad}/runs_bad_version.jsonl:1: unsupported format_version 7"},
  {"FitRunsHugeNumber", "fit {bad}/runs_huge_number.jsonl -o {dir}/p.json", "{bad}/runs_huge_number.jsonl:1: invalid JSON"},
  {"FitRunsMissingTime", "fit {bad}/runs_missing_time.jsonl -o {dir}/p.json", "{bad}/runs_missing_time.jsonl:1: missing field 'epoch_time_s'"},
  {"FitRunsNegativePower", "fit {bad}/runs_negative_power.jsonl -o {dir}/p.json", "{bad}/runs_negative_power.jsonl:2: field 'average_power_w'"},
  {"FitRunsStringBatch", "fit {bad}/runs_string_batch.jsonl -o {dir}/p.json", "{bad}/runs_string_batch.jsonl:1: field 'batch_size'"},
  {"FitRunsUnknownGpu", "fit {bad}/runs_unknown_gpu.jsonl -o {dir}/p.json", "{bad}/runs_unknown_gpu.jsonl: record 1: field 'gpu': unknown GPU 'Imaginary GPU 9000'"},
  {"FitRunsMixedWithMeasurements", "fit {dir}/runs.jsonl {dir}/existing.jsonl -o {dir}/p.json", "fit: {dir}/runs.jsonl holds training runs but {dir}/existing.jsonl does not"},
  // ---- evaluate ----
  {"EvaluateMeasNegativeEnergy", "evaluate --model {model} {bad}/meas_negative_energy.jsonl", "{bad}/meas_negative_energy.jsonl:1: field 'energy_j'"},
  {"EvaluateMeasPadding2Pow62", "evaluate --model {model} {bad}/meas_conv_padding_2pow62.jsonl", "{bad}/meas_conv_padding_2pow62.jsonl:1: field 'params.padding'"},
  {"EvaluateEmptyFile", "evaluate --model {model} {bad}/empty.jsonl", "evaluate: the measurement files hold no records"},
  {"EvaluateProfileTruncated", "evaluate --model {bad}/arch_truncated.json {dir}/existing.jsonl", "{bad}/arch_truncated.json: invalid JSON"},
  {"EvaluateRunsUnknownGpu", "evaluate --model {dir}/profile.json {bad}/runs_unknown_gpu.jsonl", "{bad}/runs_unknown_gpu.jsonl: record 1: field 'gpu': unknown GPU 'Imaginary GPU 9000'"},
  {"EvaluateRunsNegativePower", "evaluate --model models/gpu-training.json {bad}/runs_negative_power.jsonl", "{bad}/runs_negative_power.jsonl:2: field 'average_power_w'"},
  {"EvaluateRunsUnknownGpuShippedModel", "evaluate --model models/gpu-training.json {bad}/runs_unknown_gpu.jsonl", "{bad}/runs_unknown_gpu.jsonl: record 1: field 'gpu'"},
  // ---- import codecarbon ----
  {"ImportCcEmpty", "import codecarbon {bad}/cc_empty.csv -o {dir}/out.jsonl", "{bad}/cc_empty.csv: empty file"},
  {"ImportCcHeaderOnly", "import codecarbon {bad}/cc_header_only.csv -o {dir}/out.jsonl", "{bad}/cc_header_only.csv: no valid rows: nothing imported (0 rows)"},
  {"ImportCcMissingDurationColumn", "import codecarbon {bad}/cc_missing_duration_column.csv -o {dir}/out.jsonl", "{bad}/cc_missing_duration_column.csv: missing column 'duration'"},
  {"ImportCcUnterminatedQuote", "import codecarbon {bad}/cc_unterminated_quote.csv -o {dir}/out.jsonl", "{bad}/cc_unterminated_quote.csv:2: unterminated quoted field"},
  {"ImportCcInfDuration", "import codecarbon {bad}/cc_inf_duration.csv -o {dir}/out.jsonl", "{bad}/cc_inf_duration.csv: no valid rows: nothing imported (1 rows; first skipped: {bad}/cc_inf_duration.csv:2: duration is not finite"},
  // Fuzz finding: the warning quoting this two-line quoted field was printed as two lines.
  {"ImportCcMultiLineField", "import codecarbon {bad}/cc_multiline_field.csv -o {dir}/existing.jsonl", "first skipped: {bad}/cc_multiline_field.csv:2: cpu_energy is not a number: '1\\n2'"},
  // Fuzz finding: negative MACs were imported into a file the measurement reader then refused.
  {"ImportCcNegativeMacs", "import codecarbon {bad}/cc_negative_macs.csv -o {dir}/existing.jsonl", "first skipped: {bad}/cc_negative_macs.csv:2: project_name field 'macs' is negative: -1000"},
  // Fuzz finding: a layer with more than 2^53 input elements was imported into a file the reader refused.
  {"ImportCcHugeInput", "import codecarbon {bad}/cc_huge_input.csv -o {dir}/existing.jsonl", "first skipped: {bad}/cc_huge_input.csv:2: input shape 10000000000000000 has more than 2^53 elements"},
  {"ImportCcNanEnergy", "import codecarbon {bad}/cc_nan_energy.csv -o {dir}/out.jsonl", "first skipped: {bad}/cc_nan_energy.csv:2: cpu_energy is not finite"},
  {"ImportCcNegativeEnergy", "import codecarbon {bad}/cc_negative_energy.csv -o {dir}/existing.jsonl", "first skipped: {bad}/cc_negative_energy.csv:2: cpu_energy is negative"},
  {"ImportCcShortRow", "import codecarbon {bad}/cc_short_row.csv -o {dir}/out.jsonl", "first skipped: {bad}/cc_short_row.csv:2: row has 4 fields, header has 13"},
  {"ImportCcZeroPasses", "import codecarbon {bad}/cc_zero_passes.csv -o {dir}/existing.jsonl", "first skipped: {bad}/cc_zero_passes.csv:2: forward_passes must be >= 1"},
  {"ImportCcStrictShortRow", "import codecarbon {bad}/cc_short_row.csv --strict -o {dir}/existing.jsonl", "{bad}/cc_short_row.csv:2: row has 4 fields"},
  {"ImportCcSlurmLogGarbage", "import codecarbon {data}/codecarbon/conv2d_2configs.csv --slurm-log {bad}/slurm_garbage.out -o {dir}/existing.jsonl", "{bad}/slurm_garbage.out: no 'Starting data-collection' section"},
  {"ImportCcMissingFile", "import codecarbon {dir}/nonexistent.csv -o {dir}/out.jsonl", "{dir}/nonexistent.csv"},
  // Fuzz finding (fuzz/regressions/codecarbon_csv_fuzz/): text that is not UTF-8 used to fail only when writing JSON.
  {"ImportCcInvalidUtf8", "import codecarbon {bad}/cc_invalid_utf8.csv -o {dir}/existing.jsonl", "{bad}/cc_invalid_utf8.csv:2: field 14 is not valid UTF-8 (byte 0xC5 at offset 17)"},
  // ---- import zeus ----
  {"ImportZeusDuplicate", "import zeus {bad}/zeus_duplicate.csv --gpu V100 -o {dir}/out.jsonl", "{bad}/zeus_duplicate.csv:3: configuration cifar100/shufflenetv2 batch 1024 adadelta 100 W already on line 2"},
  {"ImportZeusFloatBatch", "import zeus {bad}/zeus_float_batch.csv --gpu V100 -o {dir}/out.jsonl", "{bad}/zeus_float_batch.csv:2: batch_size is not an integer: '10.5'"},
  {"ImportZeusHeaderOnly", "import zeus {bad}/zeus_header_only.csv --gpu V100 -o {dir}/out.jsonl", "{bad}/zeus_header_only.csv: no rows"},
  {"ImportZeusMissingColumn", "import zeus {bad}/zeus_missing_column.csv --gpu V100 -o {dir}/out.jsonl", "{bad}/zeus_missing_column.csv:1: missing column 'average_power'"},
  {"ImportZeusNanPower", "import zeus {bad}/zeus_nan_power.csv --gpu V100 -o {dir}/runs.jsonl", "{bad}/zeus_nan_power.csv:2: average_power is not finite"},
  {"ImportZeusPowerLimitOutOfRange", "import zeus {bad}/zeus_power_limit_out_of_range.csv --gpu V100 -o {dir}/runs.jsonl", "{bad}/zeus_power_limit_out_of_range.csv:2: power limit 9000 W is outside the range"},
  {"ImportZeusShortRow", "import zeus {bad}/zeus_short_row.csv --gpu V100 -o {dir}/out.jsonl", "{bad}/zeus_short_row.csv:2: 3 fields, the header has 7"},
  {"ImportZeusUnknownWorkload", "import zeus {bad}/zeus_unknown_workload.csv --gpu V100 -o {dir}/out.jsonl", "{bad}/zeus_unknown_workload.csv:2: unknown Zeus workload"},
  // Fuzz finding (fuzz/regressions/zeus_csv_fuzz/), as above.
  {"ImportZeusInvalidUtf8", "import zeus {bad}/zeus_invalid_utf8.csv --gpu V100 -o {dir}/runs.jsonl", "{bad}/zeus_invalid_utf8.csv:3: field 4 is not valid UTF-8 (byte 0xFF at offset 4)"},
  {"ImportZeusUnknownGpu", "import zeus {bad}/zeus_short_row.csv --gpu NoSuchGpu -o {dir}/out.jsonl", "unknown GPU 'NoSuchGpu'"},
  // ---- train-estimate ----
  {"TrainEstimateBatchZero", "train-estimate resnet50_imagenet --gpu V100 -b 0", "--batch-size must be >= 1, got 0"},
  {"TrainEstimateUnknownGpu", "train-estimate resnet50_imagenet --gpu NoSuchGpu -b 64", "unknown GPU 'NoSuchGpu'"},
  {"TrainEstimateEpochsZero", "train-estimate resnet50_imagenet --gpu V100 -b 64 --epochs 0", "--epochs must be >= 1, got 0"},
  {"TrainEstimatePueBelowOne", "train-estimate resnet50_imagenet --gpu V100 -b 64 --pue 0.5", "--pue must be a finite number >= 1, got 0.5"},
  {"TrainEstimatePowerLimitOutOfRange", "train-estimate resnet50_imagenet --gpu V100 -b 64 --power-limit 9000", "power limit 9000 W is outside the range"},
  {"TrainEstimateUnknownRegion", "train-estimate resnet50_imagenet --gpu V100 -b 64 --region XX", "unknown region 'XX'"},
  {"TrainEstimateLayerProfile", "train-estimate resnet50_imagenet --gpu V100 -b 64 --model {model}", "{model}: not a joulecast_training_profile"},
  // Fuzz findings (fuzz/regressions/training_profile_fuzz/): curves of the wrong length were indexed past
  // their end, and a curve that overflows gave an infinite estimate.
  {"TrainEstimateProfileShortCurve", "train-estimate resnet50_imagenet --gpu V100 -b 64 --model {bad}/tp_short_curve.json", "{bad}/tp_short_curve.json: corrupt training profile: workload 'shufflenetv2_cifar100': 31 knots, but utilisation has 5 values and log_time 31"},
  {"TrainEstimateProfileCurveOverflow", "train-estimate deepspeech2_librispeech --gpu V100 -b 32768 --model {bad}/tp_curve_overflow.json", "workload 'deepspeech2_librispeech' at batch size 32768: the profile's curves give no finite prediction"},
  {"TrainEstimateProfileFloatBatch", "train-estimate resnet50_imagenet --gpu V100 -b 64 --model {bad}/tp_float_batch.json", "{bad}/tp_float_batch.json: corrupt training profile: field 'batch_min' must be an integer, got 1.5e+60"},
  {"TrainEstimateProfileIdleFraction", "train-estimate resnet50_imagenet --gpu V100 -b 64 --model {bad}/tp_idle_fraction.json", "{bad}/tp_idle_fraction.json: corrupt training profile: power.idle_fraction 1.5 is not in [0, 1)"},
  {"TrainEstimateHtmlNoSuchDirectory", "train-estimate resnet50_imagenet --gpu V100 -b 64 --epochs 0 --html {dir}/t.html", "--epochs must be >= 1"},
  // ---- extrapolate ----
  {"ExtrapolateMissingLog", "extrapolate {dir}/nonexistent.csv --epochs 100", "{dir}/nonexistent.csv: cannot open"},
  {"ExtrapolateEpochsZero", "extrapolate {log} --epochs 0", "--epochs must be >= 1, got 0"},
  {"ExtrapolateFewerEpochsThanLogged", "extrapolate {log} --epochs 5", "--epochs 5 is fewer than the 30 epochs already in {log}"},
  {"ExtrapolateWindowZero", "extrapolate {log} --epochs 100 --window 0", "--window must be >= 1, got 0"},
  {"ExtrapolateWindowTooLong", "extrapolate {log} --epochs 100 --window 500", "{log}: 30 epochs logged; the window of 500 epochs after stabilisation epoch 10 needs at least 510"},
  {"ExtrapolateWindowIntMax", "extrapolate {log} --epochs 100 --stable-epoch 2147483647 --window 2147483647", "needs at least 4294967294"},
  {"ExtrapolateStableEpochNegative", "extrapolate {log} --epochs 100 --stable-epoch -1", "--stable-epoch must be >= 0, got -1"},
  {"ExtrapolateCvThresholdNegative", "extrapolate {log} --epochs 100 --cv-threshold -1", "--cv-threshold must be > 0, got -1"},
  {"ExtrapolateLogEpochGap", "extrapolate {bad}/log_epoch_gap.csv --epochs 10 --stable-epoch 0 --window 1", "{bad}/log_epoch_gap.csv:3: epoch 2 expected, got 3"},
  {"ExtrapolateLogZeroDuration", "extrapolate {bad}/log_zero_duration.csv --epochs 10 --stable-epoch 0 --window 1", "{bad}/log_zero_duration.csv:2: duration_s must be > 0, got 0"},
  {"ExtrapolateLogNoDuration", "extrapolate {bad}/log_no_duration.csv --epochs 10", "{bad}/log_no_duration.csv:1: missing column 'duration_s'"},
  {"ExtrapolateLogNanPower", "extrapolate {bad}/log_nan_power.csv --epochs 10 --stable-epoch 0 --window 1", "{bad}/log_nan_power.csv:2: power_w is not finite: 'nan'"},
  {"ExtrapolateLogNegativeEnergy", "extrapolate {bad}/log_negative_energy.csv --epochs 10 --stable-epoch 0 --window 1", "{bad}/log_negative_energy.csv:2: energy_j must be >= 0, got -1"},
  {"ExtrapolateLogExtraField", "extrapolate {bad}/log_extra_field.csv --epochs 10 --stable-epoch 0 --window 1", "{bad}/log_extra_field.csv:2: 3 fields, the header has 2"},
  {"ExtrapolateLogEmpty", "extrapolate {bad}/cc_empty.csv --epochs 10", "{bad}/cc_empty.csv: empty file (expected a header with epoch, duration_s)"},
  {"ExtrapolateLogPowerOverflow", "extrapolate {bad}/log_power_overflow.csv --epochs 10 --stable-epoch 0 --window 1", "{bad}/log_power_overflow.csv:2: power_w 1e300 x duration_s 1e300 overflows a double"},
  {"ExtrapolateLogTotalsOverflow", "extrapolate {bad}/log_totals_overflow.csv --epochs 10 --stable-epoch 0 --window 1", "{bad}/log_totals_overflow.csv: the durations or energies are too large"},
  // ---- breakeven ----
  {"BreakevenNoSaving", "breakeven --e-enc 10 --e-enc-cls 5 --e-cls 8", "--e-enc-cls 5 J is not above --e-cls 8 J"},
  {"BreakevenNegative", "breakeven --e-enc -1 --e-enc-cls 10 --e-cls 8", "--e-enc must be a finite energy > 0 J, got -1"},
  {"BreakevenNan", "breakeven --e-enc nan --e-enc-cls 10 --e-cls 8", "--e-enc must be a finite energy > 0 J, got nan"},
  {"BreakevenInf", "breakeven --e-enc 10 --e-enc-cls inf --e-cls 8", "--e-enc-cls must be a finite energy > 0 J, got inf"},
  {"BreakevenZero", "breakeven --e-enc 10 --e-enc-cls 10 --e-cls 0", "--e-cls must be a finite energy > 0 J, got 0"},
  // ---- sweep ----
  {"SweepBatchNotANumber", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32,abc --power-limits 100", "--batch-sizes: 'abc' is not an integer >= 1"},
  {"SweepBatchZero", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 0 --power-limits 100", "--batch-sizes: '0' is not an integer >= 1"},
  {"SweepBatchEmptyItem", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32,,64 --power-limits 100", "--batch-sizes: '' is not an integer >= 1"},
  {"SweepBatchHuge", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 99999999999999999999 --power-limits 100", "--batch-sizes: '99999999999999999999' is not an integer >= 1"},
  {"SweepPowerLimitNan", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32 --power-limits 100,nan", "--power-limits: 'nan' is not a number of watts"},
  {"SweepPowerLimitOutOfRange", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32 --power-limits 9000", "power limit 9000 W is outside the range"},
  {"SweepUnknownWorkload", "sweep no_such_workload --gpu V100 --batch-sizes 32 --power-limits 100", "unknown workload 'no_such_workload'"},
  {"SweepEpochsZero", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32 --power-limits 100 --epochs 0", "--epochs must be >= 1, got 0"},
  {"SweepPueZero", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32 --power-limits 100 --pue 0", "--pue must be a finite number >= 1, got 0"},
  {"SweepUnknownRegion", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32 --power-limits 100 --region ZZ", "unknown region 'ZZ'"},
  {"SweepModelShortCurve", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32 --power-limits 100 --model {bad}/tp_short_curve.json", "{bad}/tp_short_curve.json: corrupt training profile: workload 'shufflenetv2_cifar100'"},
  {"SweepModelTruncated", "sweep shufflenetv2_cifar100 --gpu V100 --batch-sizes 32 --power-limits 100 --model {bad}/arch_truncated.json", "{bad}/arch_truncated.json: invalid JSON"},
  // ---- sweep and train-estimate on a CPU: layer-wise profiles, no --gpu ----
  {"SweepLayerwiseTwoProfilesOfOneDtype", "sweep resnet18 --model models/amd-epyc-2c-time.json,models/amd-epyc-2c-time.json --batch-sizes 8", "--model: models/amd-epyc-2c-time.json and models/amd-epyc-2c-time.json both predict float32 runs: give one profile per dtype"},
  {"SweepLayerwiseTwoMachines", "sweep resnet18 --model models/amd-epyc-2c-time.json,models/xeon-gold-5120.json --batch-sizes 8", "--model: models/amd-epyc-2c-time.json describes CPU 'AMD EPYC' but models/xeon-gold-5120.json"},
  {"SweepLayerwiseFreezeUnknownScope", "sweep resnet18 --model models/amd-epyc-2c-time.json --batch-sizes 8 --freeze-options 'none;layer9'", "--freeze-options: 'layer9' matches no parameter or module scope"},
  {"SweepLayerwiseFreezeEmptyChoice", "sweep resnet18 --model models/amd-epyc-2c-time.json --batch-sizes 8 --freeze-options 'none;'", "--freeze-options: '' in 'none;' is neither none nor a comma list of scopes"},
  {"SweepLayerwiseBatchZero", "sweep resnet18 --model models/amd-epyc-2c-time.json --batch-sizes 0", "--batch-sizes: '0' is not an integer >= 1"},
  {"SweepLayerwiseGpuOption", "sweep resnet18 --model models/amd-epyc-2c-time.json --batch-sizes 8 --power-limits 100", "--power-limits: only with --gpu"},
  {"SweepLayerwiseHtmlNoSuchDirectory", "sweep resnet18 --model models/amd-epyc-2c-time.json --batch-sizes 8 --html {dir}/no/such/dir/s.html", "--html: {dir}/no/such/dir/s.html"},
  {"TrainEstimateCpuDtypeTheProfileLacks", "train-estimate resnet18 --model models/amd-epyc-2c-time.json -b 8 --dataset-size 1000 --dtype bfloat16", "--dtype bfloat16: models/amd-epyc-2c-time.json: the profile amd-epyc-2c-time predicts float32 runs, not bfloat16"},
  {"TrainEstimateCpuNoTrainStep", "train-estimate resnet18 --model {model} -b 8 --dataset-size 1000", "{model}: no train_step predictors in the profile (it has: forward)"},
  {"TrainEstimateCpuWithoutModel", "train-estimate resnet18 -b 8 --dataset-size 1000", "--gpu: required with a training-run profile"},
  {"TrainEstimateCpuGpuOption", "train-estimate resnet18 --model models/amd-epyc-2c-time.json -b 8 --dataset-size 1000 --pue 1.2", "--pue: only with --gpu"},
  {"TrainEstimateCpuFreezeUnknownScope", "train-estimate resnet18 --model models/amd-epyc-2c-time.json -b 8 --dataset-size 1000 --freeze layer9", "--freeze: 'layer9' matches no parameter or module scope"},
  // ---- collect --dry-run ----
  {"CollectShardOutOfRange", "collect --layer Conv2d --samples 5 --shard 3/2 -o {dir}/c.jsonl --dry-run", "--shard: expected K/N with 0 <= K < N, got '3/2'"},
  {"CollectShardNotANumber", "collect --layer Conv2d --samples 5 --shard abc -o {dir}/existing.jsonl --dry-run", "--shard: expected K/N"},
  {"CollectFreezeForward", "collect --architecture resnet18 --freeze fc -o {dir}/c.jsonl --dry-run", "--freeze: only with --architecture and --mode train_step"},
  {"CollectFreezeUnknownScope", "collect --architecture resnet18 --mode train_step --freeze layer9 -o {dir}/c.jsonl --dry-run", "--freeze: 'layer9' matches no parameter or module scope"},
  {"CollectInputGradWholeNetwork", "collect --architecture resnet18 --mode input_grad -o {dir}/c.jsonl --dry-run", "--mode input_grad: measures one operator at a time (--layer or --configs-from); a whole network's input needs no gradient"},
  {"CalibrateUnknownDtype", "calibrate --base models/amd-epyc-2c-time.json --dtype int8 -o {dir}/cal.json", "--dtype: int8 not in {float32,float16,bfloat16}"},
  {"CollectUnknownHeap", "collect --layer Conv2d --samples 5 --heap jemalloc -o {dir}/c.jsonl --dry-run", "--heap: jemalloc not in {keep,reserve,default}"},
  {"CalibrateUnknownHeap", "calibrate --base models/amd-epyc-2c-time.json --heap tcmalloc -o {dir}/cal.json", "--heap: tcmalloc not in {keep,reserve,default}"},
  {"CollectUnknownLayer", "collect --layer Conv3d --samples 5 -o {dir}/c.jsonl --dry-run", "--layer: unknown layer type 'Conv3d'"},
  {"CollectMinMacsAboveMax", "collect --layer Linear --samples 5 --min-macs 5e9 --max-macs 1e9 -o {dir}/existing.jsonl", "--min-macs 5000000000 is above --max-macs 1000000000"},
  {"CollectKernelSizeWrongType", "collect --layer Linear --samples 5 --kernel-size 1 -o {dir}/existing.jsonl", "--kernel-size: applies to Conv2d, MaxPool2d and AvgPool2d, not Linear"},
  {"CollectKernelSizeZero", "collect --layer Conv2d --samples 5 --kernel-size 0 -o {dir}/existing.jsonl", "--kernel-size"},
  {"CollectKernelSizeWithArchitecture", "collect --architecture alexnet --kernel-size 1 -o {dir}/existing.jsonl", "--kernel-size: only with --layer"},
  {"CollectMinParametersAboveMax", "collect --layer Linear --samples 5 --min-parameters 2e8 -o {dir}/existing.jsonl", "--min-parameters 200000000 is above --max-parameters 134217728"},
  {"CollectMinParametersNegative", "collect --layer Linear --samples 5 --min-parameters -1 -o {dir}/existing.jsonl", "--min-parameters: must be a number >= 0, got -1"},
  {"CollectMinMacsNegative", "collect --layer Linear --samples 5 --min-macs -1 -o {dir}/existing.jsonl", "--min-macs: must be a number >= 0, got -1"},
  {"CollectMinMacsUnreachable", "collect --layer Identity --samples 5 --min-macs 1 -o {dir}/existing.jsonl", "--layer Identity: no valid configuration within max_macs"},
  {"CollectSeqLenOnTree", "collect --architecture alexnet --seq-len 128 -o {dir}/c.jsonl --dry-run", "--seq-len: alexnet is a module tree, which has no sequence length"},
  {"CollectSeqLenZero", "collect --architecture bert-base-uncased --seq-len 0 -o {dir}/c.jsonl --dry-run", "--seq-len"},
  {"CollectOperatorUnreachable", "collect --layer MatMul --samples 2 --max-macs 10 -o {dir}/c.jsonl --dry-run", "--layer MatMul: no valid configuration within max_macs 10"},
  {"CollectKernelSizeOperator", "collect --layer LayerNorm --samples 2 --kernel-size 3 -o {dir}/c.jsonl --dry-run", "--kernel-size: applies to Conv2d, MaxPool2d and AvgPool2d, not LayerNorm"},
  {"CollectBadArchitecture", "collect --architecture {bad}/arch_truncated.json -o {dir}/c.jsonl --dry-run", "{bad}/arch_truncated.json: invalid JSON"},
  {"CollectBadInput", "collect --architecture resnet18 --input 3x0x1 -o {dir}/c.jsonl --dry-run", "--input: dimension 0 out of range"},
  {"CollectBadPrintedModel", "collect --configs-from {bad}/repr_garbage.txt --input 3x32x32 -o {dir}/c.jsonl --dry-run", "{bad}/repr_garbage.txt:1: expected 'Class('"},
  {"CalibrateBaseMissing", "calibrate --base {dir}/nonexistent.json -o {dir}/cal.json", "{dir}/nonexistent.json: cannot open profile"},
  {"CalibrateBaseNotAProfile", "calibrate --base models/gpu-latency.json -o {dir}/cal.json", "models/gpu-latency.json: not a joulecast profile (kind must be 'joulecast_profile')"},
  {"CalibrateBaseLacksMode", "calibrate --base {model} --mode train_step -o {dir}/cal.json", "has no train_step predictors (it has: forward)"},
  {"CalibrateZeroMinutes", "calibrate --base {model} --minutes 0 -o {dir}/cal.json", "--minutes must be > 0, got 0"},
  {"CalibrateUnwritableOutput", "calibrate --base {model} -o {dir}/no/such/dir/cal.json", "{dir}/no/such/dir/cal.json: cannot write the calibrated profile: No such file or directory"},
  {"CalibrateUnknownTarget", "calibrate --base {model} --target joules -o {dir}/cal.json", "--target"},
  {"CalibrateNegativeMaxOtherCpus", "calibrate --base {model} --max-other-cpus -0.5 -o {dir}/cal.json", "--max-other-cpus: must be a number >= 0, got -0.5"},
  {"PredictPowerForEnergyProfile", "predict resnet18 --model {model} --power 50", "--power: profile xeon-gold-5120 predicts energy already (target energy_j)"},
  {"PredictDtypeTheProfileLacks", "predict resnet18 --model models/intel-xeon-2c-time.json --dtype bfloat16", "--dtype bfloat16: models/intel-xeon-2c-time.json: the profile intel-xeon-2c-time predicts float32 runs, not bfloat16; fit a bfloat16 profile from records of `collect --dtype bfloat16`"},
  {"CompareUnknownDtype", "compare resnet18 vgg11 --model {model} --dtype int8", "--dtype"},
  {"PredictGpuModelWithoutGpu", "predict gpt2 --model models/gpu-latency.json", "models/gpu-latency.json is a GPU operator model: name the GPU with --gpu"},
  {"PredictGpuUnknown", "predict gpt2 --model models/gpu-latency.json --gpu RTX5090", "unknown GPU 'RTX5090'; did you mean: "},
  {"PredictGpuFreezeUnknownScope", "predict resnet18 --model models/gpu-latency.json --gpu T4 --mode train_step --freeze layer9", "--freeze: 'layer9' matches no parameter or module scope"},
  {"PredictGpuFreezeEverything", "predict resnet18 --model models/gpu-latency.json --gpu T4 --mode train_step --freeze conv1,bn1,layer1,layer2,layer3,layer4,fc", "--freeze: every parameter of resnet18 is frozen: a training step would train nothing"},
  {"PredictGpuDtype", "predict resnet18 --model models/gpu-latency.json --gpu T4 --dtype float16", "--dtype float16: models/gpu-latency.json was fitted on float32 measurements only"},
  {"PredictFreezeForward", "predict resnet18 --model models/intel-xeon-2c-time.json --freeze fc", "--freeze needs --mode train_step (a forward pass trains nothing)"},
  {"PredictFreezeWithoutInputGrad", "predict resnet18 --model models/intel-xeon-2c-time.json --mode train_step --freeze fc", "models/intel-xeon-2c-time.json has no input_grad predictors: a frozen step needs an operator's step split into forward (collect --mode forward), input gradient (--mode input_grad) and weight gradient (--mode train_step) parts"},
  {"PredictFreezeAndTrainable", "predict resnet18 --model models/amd-epyc-2c-time.json --mode train_step --freeze fc --trainable layer4", "--freeze and --trainable: give one (--trainable freezes the rest)"},
  {"PredictTrainableUnknownScope", "predict resnet18 --model models/amd-epyc-2c-time.json --mode train_step --trainable layer9", "--trainable: 'layer9' matches no parameter or module scope"},
  {"PredictBf16ProfileAsFloat32", "predict resnet18 --model models/amd-epyc-2c-bf16-time.json", "--dtype float32: models/amd-epyc-2c-bf16-time.json: the profile amd-epyc-2c-bf16-time predicts bfloat16 runs, not float32"},
  {"PredictOptimizerWithTimeProfile", "predict resnet18 --model models/intel-xeon-2c-time.json --optimizer adam", "--optimizer, --power-model and --power-limit need a GPU operator model and --gpu"},
  {"GpuNetworksLabelsNegative", "gpu-ops networks --model models/gpu-latency.json --labels {bad}/gpu_labels_negative.csv", "{bad}/gpu_labels_negative.csv:2: e2e_ms, seq_len and batch must be > 0"},
  {"GpuNetworksLabelsUnknownModel", "gpu-ops networks --model models/gpu-latency.json --labels {bad}/gpu_labels_unknown_model.csv", "{bad}/gpu_labels_unknown_model.csv:2: data file 'neusight2025/model_configs/no_such_model.json' not found"},
  {"PredictPowerNegative", "predict resnet18 --model models/intel-xeon-2c-time.json --power -5", "--power must be > 0, got -5"},
  {"CollectOutputHoldsBadRecord", "collect --layer Conv2d --samples 5 -o {dir}/bad_batch.jsonl --dry-run", "{dir}/bad_batch.jsonl:1: field 'batch_size' must be a positive integer, got 0"},
};
// clang-format on

std::string Expand(std::string s, const std::string& dir) {
  const std::map<std::string, std::string> vars = {
      {"{bad}", kBad},
      {"{dir}", dir},
      {"{data}", JOULECAST_TEST_DATA},
      {"{model}", "models/xeon-gold-5120.json"},
      {"{log}", "data/trainlogs/vgg11_cifar_div2_cpu1.csv"}};
  for (const auto& [k, v] : vars) {
    for (std::size_t p = s.find(k); p != std::string::npos; p = s.find(k, p + v.size()))
      s.replace(p, k.size(), v);
  }
  return s;
}

// Every file under `dir` (recursively) with its bytes.
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    files[rel] = e.is_regular_file() ? Slurp(e.path()) : std::string("<not a regular file>");
  }
  return files;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The first lines of a real file (a valid JSON Lines file, to stand for existing data).
std::string Head(const std::string& path, int n) {
  std::ifstream in(path, std::ios::binary);
  std::string out, line;
  for (int i = 0; i < n && std::getline(in, line); ++i) out += line + "\n";
  return out;
}

class BadInput : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_bad_input_" + std::to_string(::getpid()) + "_" + GetParam().name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Write("existing.jsonl", Head("data/getzner2023/random/relu.jsonl", 3));
    Write("runs.jsonl", Head("data/zeus2023/v100.jsonl", 3));
    Write("profile.json", Slurp("models/gpu-training.json"));
    Write("bad_batch.jsonl", Slurp(kBad + "/meas_zero_batch.jsonl"));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_P(BadInput, FailsWithOneLineAndLeavesFilesAlone) {
  const Case& c = GetParam();
  const std::string args = Expand(c.args, dir_.string());
  const std::string expect = Expand(c.expect, dir_.string());
  const auto before = Snapshot(dir_);
  ASSERT_EQ(before.size(), 4u);
  ASSERT_FALSE(before.at("existing.jsonl").empty()) << "data/getzner2023 not found from "
                                                    << fs::current_path();

  const fs::path out = fs::temp_directory_path() /
                       ("joulecast_bad_input_" + std::to_string(::getpid()) + "_stdout.txt");
  const fs::path err = fs::temp_directory_path() /
                       ("joulecast_bad_input_" + std::to_string(::getpid()) + "_stderr.txt");
  const std::string cmd =
      Quote(kBinary) + " " + args + " >" + Quote(out.string()) + " 2>" + Quote(err.string());
  const int raw = std::system(cmd.c_str());
  const std::string stdout_text = Slurp(out), stderr_text = Slurp(err);
  fs::remove(out);
  fs::remove(err);
  SCOPED_TRACE("joulecast " + args + "\nstderr:\n" + stderr_text);

  ASSERT_TRUE(WIFEXITED(raw)) << "killed by a signal";
  EXPECT_NE(WEXITSTATUS(raw), 0);
  EXPECT_EQ(stdout_text, "") << "a failed command printed a (partial) result";

  const std::vector<std::string> lines = SplitLines(stderr_text);
  ASSERT_FALSE(lines.empty());
  std::size_t errors = 0;
  for (const std::string& l : lines) {
    if (StartsWith(l, "joulecast: error: ")) {
      ++errors;
    } else {
      EXPECT_TRUE(StartsWith(l, "joulecast: warning: ") || StartsWith(l, "joulecast: note: "))
          << "unexpected stderr line: " << l;
    }
  }
  EXPECT_EQ(errors, 1u);
  EXPECT_TRUE(StartsWith(lines.back(), "joulecast: error: ")) << "the error is not the last line";
  EXPECT_NE(lines.back().find(expect), std::string::npos)
      << "error line: " << lines.back() << "\nexpected to contain: " << expect;

  const auto after = Snapshot(dir_);
  for (const auto& [name, bytes] : after) {
    auto it = before.find(name);
    if (it == before.end()) {
      ADD_FAILURE() << "left behind: " << name << " (" << bytes.size() << " bytes)";
    } else {
      EXPECT_TRUE(it->second == bytes) << name << " changed";
    }
  }
  EXPECT_EQ(after.size(), before.size());
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadInput, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(BadInputCatalogue, HasAtLeastSixtyCases) { EXPECT_GE(kCases.size(), 60u); }

// The absurd layer that does not overflow: a Linear of 2^22 x 2^22 features (with bias) on a
// 2^22 x 2^22 input has 2^22 x (2^44 + 2^22) = 2^66 + 2^44 MACs, past int64 (2^63 - 1); the
// counts are doubles, so predict prints that number rather than a wrapped, negative or zero one.
TEST(BadInputCatalogue, AbsurdLinearCountsDoNotWrap) {
  const fs::path out = fs::temp_directory_path() /
                       ("joulecast_bad_input_" + std::to_string(::getpid()) + "_absurd.txt");
  const std::string cmd = Quote(kBinary) + " predict " +
                          Quote(kBad + "/arch_linear_output_overflow.json") +
                          " --model models/xeon-gold-5120.json --csv >" + Quote(out.string());
  const int raw = std::system(cmd.c_str());
  const std::string text = Slurp(out);
  fs::remove(out);
  ASSERT_TRUE(WIFEXITED(raw));
  ASSERT_EQ(WEXITSTATUS(raw), 0) << text;
  // 2^66 + 2^44 = 73786993887024250880.
  EXPECT_NE(text.find("Linear,1,"), std::string::npos) << text;
  EXPECT_NE(text.find(",7.3786993887024251e+19"), std::string::npos) << text;
}

}  // namespace
