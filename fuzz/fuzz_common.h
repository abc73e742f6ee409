// Shared by the libFuzzer targets (fuzz/*_fuzz.cpp, built with -DJOULECAST_FUZZ=ON and clang).
//
// A target feeds the bytes to one reader. Rejecting input with a std::exception is the expected
// outcome for most inputs; what counts as a finding (abort, so that libFuzzer saves the input):
// a crash or sanitizer report, an exception message that is empty or spans several lines (the CLI
// prints it as its one-line error), an exception that is not a std::exception, or a result that
// "lies": a non-finite or negative number, or a record that the reader itself would reject when
// read back.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "joulecast/arch/architecture.h"
#include "joulecast/predict/profile.h"

namespace joulecast::fuzz {

[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
  std::abort();
}

// A rejection must be a non-empty message. It may quote the input, so it may hold a line break
// only when the input has one (raw, or as a JSON/Python escape): the CLI escapes those
// (io/one_line.h); a line break the reader invents itself is a finding.
inline const std::string*& CurrentInput() {
  static const std::string* input = nullptr;
  return input;
}

inline void CheckText(const std::string& m, const char* what) {
  if (m.empty()) Fail(std::string("empty ") + what);
  const std::string* in = CurrentInput();
  const bool input_has_break = in && (in->find_first_of("\n\r\\") != std::string::npos);
  if (!input_has_break && m.find_first_of("\n\r") != std::string::npos)
    Fail(std::string("multi-line ") + what + ": " + m);
}

inline void CheckMessage(const std::exception& e) { CheckText(e.what(), "exception message"); }

inline void CheckFinite(double v, const std::string& what) {
  if (!std::isfinite(v)) Fail(what + " is not finite");
}

inline void CheckNonNegative(double v, const std::string& what) {
  CheckFinite(v, what);
  if (v < 0) Fail(what + " is negative");
}

// Runs `f`; std::exceptions are checked and swallowed, anything else escapes to libFuzzer.
template <typename F>
void Guard(const std::string& input, F&& f) {
  CurrentInput() = &input;
  try {
    f();
  } catch (const std::exception& e) {
    CheckMessage(e);
  }
}

// A small network with Conv2d, ReLU, MaxPool2d, Linear and a residual add, for the targets that
// need something to predict.
inline Architecture SmallArchitecture() {
  return ParseArchitectureText(R"({"name": "fuzz_small", "input": [3, 32, 32], "layers": [
    {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"type": "ReLU"},
    {"type": "Residual", "functional": true, "body": [
      {"type": "Conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": 3, "padding": 1},
      {"type": "BatchNorm2d", "num_features": 8}]},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Flatten", "functional": true},
    {"type": "Linear", "in_features": 2048, "out_features": 10},
    {"type": "Softmax", "dim": 1}]})",
                               "fuzz_small");
}

inline std::string SourcePath(const char* rel) {
  return std::string(JOULECAST_SOURCE_DIR) + "/" + rel;
}

// For the readers that take a path: `bytes` written to one scratch file of this process (in the
// system's temporary directory, replaced on every call), whose path is returned.
inline std::string ScratchFile(const std::string& bytes) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("joulecast-fuzz-" + std::to_string(getpid())))
          .string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) Fail("cannot write the scratch file " + path);
  return path;
}

// The shipped layer profile (1.4 MB of JSON). Targets that predict with it load it from
// LLVMFuzzerInitialize: loaded by the first input instead, under ASan and on a busy core, it took
// longer than libFuzzer's per-input timeout and was reported as a (false) timeout of that input.
inline const Profile& ShippedProfile() {
  static const Profile profile = Profile::Load(SourcePath("models/xeon-gold-5120.json"));
  return profile;
}

}  // namespace joulecast::fuzz
