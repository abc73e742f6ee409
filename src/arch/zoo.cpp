#include "joulecast/arch/zoo.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "joulecast/io/text.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

// The search order of zoo.h, existing or not.
std::vector<fs::path> CandidateDirectories() {
  std::vector<fs::path> dirs;
  if (const char* data_dir = std::getenv("JOULECAST_DATA_DIR"); data_dir && *data_dir) {
    dirs.push_back(fs::path(data_dir) / "architectures");
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path() / ".." / "share" / "joulecast" / "architectures");
  dirs.push_back(fs::path(JOULECAST_SOURCE_DIR) / "data" / "architectures");
  return dirs;
}

bool IsDirectory(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Zoo files of one directory: regular *.json files, keyed by their lower-case stem, and those of
// its hf/ subdirectory and the folders below it (Hugging Face configs). Matching against a listing
// (rather than opening dir/name.json) keeps a name such as "../x" from reaching outside the zoo.
// A name in the directory itself wins over the same name under hf/.
std::vector<std::pair<std::string, fs::path>> ListZoo(const fs::path& dir) {
  std::vector<std::pair<std::string, fs::path>> entries, nested;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code file_ec;
    if (p.extension() == ".json" && fs::is_regular_file(p, file_ec)) {
      entries.emplace_back(ToLowerAscii(p.stem().string()), p);
    }
  }
  std::error_code hf_ec;
  for (fs::recursive_directory_iterator it(dir / "hf", hf_ec), end; !hf_ec && it != end;
       it.increment(hf_ec)) {
    const fs::path& p = it->path();
    std::error_code file_ec;
    if (p.extension() == ".json" && fs::is_regular_file(p, file_ec)) {
      nested.emplace_back(ToLowerAscii(p.stem().string()), p);
    }
  }
  std::sort(entries.begin(), entries.end());
  std::sort(nested.begin(), nested.end());
  for (auto& n : nested) {
    const bool shadowed = std::any_of(entries.begin(), entries.end(),
                                      [&](const auto& e) { return e.first == n.first; });
    if (!shadowed) entries.push_back(std::move(n));
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

}  // namespace

std::vector<std::string> ZooDirectories() {
  std::vector<std::string> dirs;
  for (const fs::path& dir : CandidateDirectories()) {
    if (IsDirectory(dir)) dirs.push_back(dir.lexically_normal().string());
  }
  return dirs;
}

std::vector<std::string> ZooNames() {
  std::vector<std::string> names;
  for (const std::string& dir : ZooDirectories()) {
    for (const auto& entry : ListZoo(dir)) names.push_back(entry.first);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string FindZooFile(const std::string& name) {
  const std::string key = ToLowerAscii(name);
  const std::vector<std::string> dirs = ZooDirectories();
  for (const std::string& dir : dirs) {
    for (const auto& entry : ListZoo(dir)) {
      if (entry.first == key) return entry.second.string();
    }
  }
  if (dirs.empty()) {
    std::string searched;
    for (const fs::path& dir : CandidateDirectories()) {
      searched += (searched.empty() ? "" : ", ") + dir.lexically_normal().string();
    }
    throw std::runtime_error("unknown architecture '" + name +
                             "': no architecture zoo found (searched: " + searched + ")");
  }
  std::string available;
  for (const std::string& n : ZooNames()) available += (available.empty() ? "" : ", ") + n;
  throw std::runtime_error("unknown architecture '" + name + "'; available: " + available);
}

bool IsGraphZooFile(const std::string& path) {
  // Graph JSON says "kind": "joulecast_graph" (graph/graph_json.h), anywhere among its keys, and a
  // Hugging Face config has "model_type"; a tree file has neither string.
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.find("\"joulecast_graph\"") != std::string::npos ||
         text.find("\"model_type\"") != std::string::npos;
}

std::vector<std::string> ZooTreeNames() {
  std::vector<std::string> names;
  for (const std::string& n : ZooNames())
    if (!IsGraphZooFile(FindZooFile(n))) names.push_back(n);
  return names;
}

Architecture LoadZooArchitecture(const std::string& name) {
  const std::string path = FindZooFile(name);
  if (IsGraphZooFile(path))
    throw std::runtime_error(path + ": '" + name +
                             "' is an operator graph or a Hugging Face config, not a module tree; "
                             "it is read as a graph (frontends/load_graph.h), and commands that "
                             "need a tree take only the tree-form zoo networks");
  return LoadArchitectureFile(path);
}

}  // namespace joulecast
