// What the unit tests share for checking error messages: ErrorOf(f) runs f and returns the message
// of the std::exception it throws, or "" when it throws none.
#pragma once

#include <exception>
#include <functional>
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

}  // namespace joulecast_test
