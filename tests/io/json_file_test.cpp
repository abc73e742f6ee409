#include "joulecast/io/json_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace joulecast {
namespace {

namespace fs = std::filesystem;

std::string Temp(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() /
                     ("joulecast_json_file_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p.string();
}

TEST(ReadJsonFile, ReadsTheDocument) {
  const std::string p = Temp("ok.json", R"({"a": [1, 2]})");
  EXPECT_EQ(ReadJsonFile(p)["a"][1], 2);
  fs::remove(p);
}

TEST(ReadJsonFile, ErrorsNameThePath) {
  const std::string missing = (fs::temp_directory_path() / "joulecast_no_such_file.json").string();
  try {
    ReadJsonFile(missing);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot open");
  }
  const std::string bad = Temp("bad.json", "{\"a\": ");
  try {
    ReadJsonFile(bad);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad + ": invalid JSON (", 0), 0u) << e.what();
  }
  fs::remove(bad);
}

}  // namespace
}  // namespace joulecast
