// What the unit tests share for checking error messages: ErrorOf(f) runs f and returns the message
// of the std::exception it throws, or "" when it throws none; InvalidArgumentMessage(f) the message
// of the std::invalid_argument it throws (any other exception escapes and fails the test), or
// "<no std::invalid_argument thrown>".
#pragma once

#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

namespace joulecast_test {

inline std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

template <typename F>
std::string InvalidArgumentMessage(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no std::invalid_argument thrown>";
}

}  // namespace joulecast_test
