#include "joulecast/arch/torchscript_loader.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "joulecast/arch/shape_inference.h"
#include "joulecast/graph/graph_json.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/torchscript/torchscript_plugin.h"

#ifndef JOULECAST_TORCHSCRIPT_PLUGIN_FILE
#define JOULECAST_TORCHSCRIPT_PLUGIN_FILE "libjoulecast_torchscript.so"
#endif

namespace joulecast {
namespace {

namespace fs = std::filesystem;

struct Plugin {
  JoulecastTorchScriptToJsonFn to_json = nullptr;
  JoulecastTorchScriptToGraphJsonFn to_graph_json = nullptr;
  JoulecastTorchScriptFreeFn free_text = nullptr;
};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Loads the plugin file once per process. It is never unloaded: libtorch registers operators and
// thread pools in static objects that do not survive dlclose().
Plugin OpenPlugin(const std::string& file, const std::string& where) {
  static std::mutex mutex;
  static std::map<std::string, Plugin> loaded;
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = loaded.find(file); it != loaded.end()) return it->second;
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    throw std::runtime_error(where + ": cannot load the TorchScript plugin " + file + ": " +
                             (error ? error : "unknown error"));
  }
  const auto version = reinterpret_cast<JoulecastTorchScriptAbiVersionFn>(
      dlsym(handle, JOULECAST_TORCHSCRIPT_ABI_VERSION_SYMBOL));
  Plugin plugin;
  plugin.to_json = reinterpret_cast<JoulecastTorchScriptToJsonFn>(
      dlsym(handle, JOULECAST_TORCHSCRIPT_TO_JSON_SYMBOL));
  plugin.free_text = reinterpret_cast<JoulecastTorchScriptFreeFn>(
      dlsym(handle, JOULECAST_TORCHSCRIPT_FREE_SYMBOL));
  plugin.to_graph_json = reinterpret_cast<JoulecastTorchScriptToGraphJsonFn>(
      dlsym(handle, JOULECAST_TORCHSCRIPT_TO_GRAPH_JSON_SYMBOL));
  if (version == nullptr || plugin.to_json == nullptr || plugin.free_text == nullptr) {
    throw std::runtime_error(where + ": " + file +
                             " is not a joulecast TorchScript plugin (missing " +
                             JOULECAST_TORCHSCRIPT_TO_JSON_SYMBOL + " or its companions)");
  }
  if (version() != JOULECAST_TORCHSCRIPT_ABI_VERSION || plugin.to_graph_json == nullptr) {
    throw std::runtime_error(where + ": TorchScript plugin " + file + " has interface version " +
                             std::to_string(version()) + ", this joulecast needs " +
                             std::to_string(JOULECAST_TORCHSCRIPT_ABI_VERSION) +
                             " (rebuild the plugin)");
  }
  loaded.emplace(file, plugin);
  return plugin;
}

// Frees a string from the plugin on every path out of the call.
struct PluginText {
  char* text = nullptr;
  JoulecastTorchScriptFreeFn free_text;
  ~PluginText() { free_text(text); }
};

}  // namespace

std::string TorchScriptPluginFileName() { return JOULECAST_TORCHSCRIPT_PLUGIN_FILE; }

std::vector<std::string> TorchScriptPluginDirectories() {
  std::vector<std::string> dirs;
  if (const char* dir = std::getenv("JOULECAST_PLUGIN_DIR"); dir && *dir) dirs.emplace_back(dir);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().string());
    dirs.push_back((exe.parent_path().parent_path() / "lib" / "joulecast").string());
  }
#ifdef JOULECAST_PLUGIN_BUILD_DIR
  dirs.emplace_back(JOULECAST_PLUGIN_BUILD_DIR);
#endif
  return dirs;
}

Architecture LoadTorchScriptFile(const std::string& path, const Shape& input) {
  return LoadTorchScriptFile(path, input, TorchScriptPluginDirectories());
}

namespace {

// The plugin for reading `path`: checks the file, finds and loads the plugin.
Plugin PluginFor(const std::string& path, const std::vector<std::string>& plugin_dirs) {
  // Checked here so that a mistyped path gets the same message as a zoo file, plugin or not.
  if (!std::ifstream(path, std::ios::binary)) throw std::runtime_error(path + ": cannot open file");
  std::string found;
  for (const std::string& dir : plugin_dirs) {
    std::error_code ec;
    const fs::path candidate = fs::path(dir) / TorchScriptPluginFileName();
    if (fs::is_regular_file(candidate, ec)) {
      found = candidate.string();
      break;
    }
  }
  if (found.empty()) {
    throw std::runtime_error(
        path +
        ": reading TorchScript needs the joulecast_torchscript plugin (built "
        "when libtorch is found); not found in: " +
        (plugin_dirs.empty() ? std::string("(no directory)") : Join(plugin_dirs)));
  }
  return OpenPlugin(found, path);
}

}  // namespace

Architecture LoadTorchScriptFile(const std::string& path, const Shape& input,
                                 const std::vector<std::string>& plugin_dirs) {
  const Plugin plugin = PluginFor(path, plugin_dirs);
  PluginText json{nullptr, plugin.free_text};
  PluginText error{nullptr, plugin.free_text};
  const int status = plugin.to_json(path.c_str(), input.data(), static_cast<int>(input.size()),
                                    &json.text, &error.text);
  if (status != 0 || json.text == nullptr) {
    throw std::runtime_error(path + ": " +
                             (error.text ? error.text : "the TorchScript plugin failed"));
  }
  Architecture arch = ParseArchitectureText(json.text, path);
  try {
    InferShapes(arch);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  return arch;
}

graph::Graph LoadTorchScriptGraph(const std::string& path, const graph::Dims& input) {
  return LoadTorchScriptGraph(path, input, graph::DType::kFloat32, TorchScriptPluginDirectories());
}

graph::Graph LoadTorchScriptGraph(const std::string& path, const graph::Dims& input,
                                  const std::vector<std::string>& plugin_dirs) {
  return LoadTorchScriptGraph(path, input, graph::DType::kFloat32, plugin_dirs);
}

graph::Graph LoadTorchScriptGraph(const std::string& path, const graph::Dims& input,
                                  graph::DType input_dtype,
                                  const std::vector<std::string>& plugin_dirs) {
  const Plugin plugin = PluginFor(path, plugin_dirs);
  if (input.size() < 1) {
    throw std::runtime_error(path + ": input: expected the batch dimension and the sample's sizes");
  }
  for (const std::int64_t d : input) {
    if (d < 1 || d > graph::kMaxSize) {
      throw std::runtime_error(path + ": input: expected positive sizes up to 2^53, got " +
                               graph::FormatDims(input));
    }
  }
  PluginText text{nullptr, plugin.free_text};
  PluginText error{nullptr, plugin.free_text};
  const int status =
      plugin.to_graph_json(path.c_str(), input.data(), static_cast<int>(input.size()),
                           graph::DTypeName(input_dtype), &text.text, &error.text);
  if (status != 0 || text.text == nullptr) {
    throw std::runtime_error(path + ": " +
                             (error.text ? error.text : "the TorchScript plugin failed"));
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.text);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": the TorchScript plugin wrote invalid graph JSON: " +
                             e.what());
  }
  // GraphFromJson's messages start with `path`.
  graph::Graph g = graph::GraphFromJson(j, path);
  try {
    g.SetBatch(input[0]);
    graph::InferShapes(g);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  return g;
}

}  // namespace joulecast
