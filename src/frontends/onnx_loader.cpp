#include "joulecast/frontends/onnx_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "joulecast/arch/torchscript_loader.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/onnx/onnx_plugin.h"

#ifndef JOULECAST_ONNX_PLUGIN_FILE
#define JOULECAST_ONNX_PLUGIN_FILE "libjoulecast_onnx.so"
#endif

namespace joulecast {
namespace {

namespace fs = std::filesystem;

struct Plugin {
  JoulecastOnnxToGraphJsonFn to_graph_json = nullptr;
  JoulecastOnnxFreeFn free_text = nullptr;
};

// Loads the plugin file once per process (never unloaded: protobuf's descriptor pool lives in
// static objects).
Plugin OpenPlugin(const std::string& file, const std::string& where) {
  static std::mutex mutex;
  static std::map<std::string, Plugin> loaded;
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = loaded.find(file); it != loaded.end()) return it->second;
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    throw std::runtime_error(where + ": cannot load the ONNX plugin " + file + ": " +
                             (error ? error : "unknown error"));
  }
  const auto version =
      reinterpret_cast<JoulecastOnnxAbiVersionFn>(dlsym(handle, JOULECAST_ONNX_ABI_VERSION_SYMBOL));
  Plugin plugin;
  plugin.to_graph_json = reinterpret_cast<JoulecastOnnxToGraphJsonFn>(
      dlsym(handle, JOULECAST_ONNX_TO_GRAPH_JSON_SYMBOL));
  plugin.free_text =
      reinterpret_cast<JoulecastOnnxFreeFn>(dlsym(handle, JOULECAST_ONNX_FREE_SYMBOL));
  if (version == nullptr || plugin.to_graph_json == nullptr || plugin.free_text == nullptr) {
    throw std::runtime_error(where + ": " + file + " is not a joulecast ONNX plugin (missing " +
                             JOULECAST_ONNX_TO_GRAPH_JSON_SYMBOL + " or its companions)");
  }
  if (version() != JOULECAST_ONNX_ABI_VERSION) {
    throw std::runtime_error(where + ": ONNX plugin " + file + " has interface version " +
                             std::to_string(version()) + ", this joulecast needs " +
                             std::to_string(JOULECAST_ONNX_ABI_VERSION) + " (rebuild the plugin)");
  }
  loaded.emplace(file, plugin);
  return plugin;
}

struct PluginText {
  char* text = nullptr;
  JoulecastOnnxFreeFn free_text;
  ~PluginText() { free_text(text); }
};

}  // namespace

std::string OnnxPluginFileName() { return JOULECAST_ONNX_PLUGIN_FILE; }

graph::Graph LoadOnnxGraph(const std::string& path, std::int64_t batch, const Shape& sample,
                           std::int64_t seq_len) {
  return LoadOnnxGraph(path, batch, sample, seq_len, TorchScriptPluginDirectories());
}

graph::Graph LoadOnnxGraph(const std::string& path, std::int64_t batch, const Shape& sample,
                           std::int64_t seq_len, const std::vector<std::string>& plugin_dirs) {
  // Checked here so that a mistyped path gets the same message with or without the plugin.
  if (!std::ifstream(path, std::ios::binary)) throw std::runtime_error(path + ": cannot open file");
  std::string found;
  for (const std::string& dir : plugin_dirs) {
    std::error_code ec;
    const fs::path candidate = fs::path(dir) / OnnxPluginFileName();
    if (fs::is_regular_file(candidate, ec)) {
      found = candidate.string();
      break;
    }
  }
  if (found.empty()) {
    std::string dirs;
    for (const std::string& d : plugin_dirs) dirs += (dirs.empty() ? "" : ", ") + d;
    throw std::runtime_error(path +
                             ": reading ONNX needs the joulecast_onnx plugin (built when CMake "
                             "finds libonnx-dev); not found in: " +
                             (dirs.empty() ? std::string("(no directory)") : dirs));
  }
  const Plugin plugin = OpenPlugin(found, path);
  PluginText text{nullptr, plugin.free_text};
  PluginText error{nullptr, plugin.free_text};
  const int status =
      plugin.to_graph_json(path.c_str(), batch, sample.data(), static_cast<int>(sample.size()),
                           seq_len, &text.text, &error.text);
  if (status != 0 || text.text == nullptr) {
    throw std::runtime_error(path + ": " + (error.text ? error.text : "the ONNX plugin failed"));
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.text);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": the ONNX plugin wrote invalid graph JSON: " + e.what());
  }
  graph::Graph g = graph::GraphFromJson(j, path);
  try {
    g.SetBatch(batch);
    graph::InferShapes(g);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  return g;
}

}  // namespace joulecast
