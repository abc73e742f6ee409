// joulecast_onnx: the C entry points of joulecast/onnx/onnx_plugin.h around the ONNX reader
// (joulecast/onnx/onnx_reader.h): reads the file, lowers it, and hands back graph JSON.
#include "joulecast/onnx/onnx_plugin.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "joulecast/graph/graph_json.h"
#include "joulecast/io/first_line.h"
#include "joulecast/onnx/onnx_reader.h"

namespace {

char* Duplicate(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

std::string ToGraphJson(const char* path, std::int64_t batch, const std::int64_t* sample, int rank,
                        std::int64_t seq_len) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("cannot read file");
  joulecast::onnx_reader::Options options;
  options.batch = batch;
  if (rank > 0) options.sample.assign(sample, sample + rank);
  options.seq_len = seq_len;
  const std::filesystem::path p(path);
  const joulecast::graph::Graph g = joulecast::onnx_reader::ReadOnnxModel(
      bytes, p.stem().string(), "ONNX " + p.filename().string(), options);
  return joulecast::graph::GraphToJson(g).dump();
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int joulecast_onnx_abi_version(void) {
  return JOULECAST_ONNX_ABI_VERSION;
}

__attribute__((visibility("default"))) int joulecast_onnx_to_graph_json(
    const char* path, std::int64_t batch, const std::int64_t* sample, int rank,
    std::int64_t seq_len, char** json_out, char** error_out) {
  *json_out = nullptr;
  *error_out = nullptr;
  try {
    if (path == nullptr || rank < 0 || (rank > 0 && sample == nullptr))
      throw std::runtime_error("invalid arguments");
    *json_out = Duplicate(ToGraphJson(path, batch, sample, rank, seq_len));
    if (*json_out == nullptr) {
      *error_out = Duplicate("out of memory");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    *error_out = Duplicate(joulecast::FirstLineNoTabs(e.what()));
  } catch (...) {
    *error_out = Duplicate("unknown error");
  }
  return 1;
}

__attribute__((visibility("default"))) void joulecast_onnx_free(char* text) { std::free(text); }

}  // extern "C"
