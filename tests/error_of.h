// What the unit tests share for checking error messages. MessageOf<E>(f, none) runs f and returns
// the message of the E it throws, or `none` when it throws nothing; an exception of another type
// escapes and fails the test. Named for the types the tests expect:
//   ErrorOf(f)                 any std::exception, "" when none is thrown;
//   RuntimeErrorOf(f)          a std::runtime_error only, "" when none is thrown;
//   InvalidArgumentMessage(f)  a std::invalid_argument only, "<no std::invalid_argument thrown>".
#pragma once

#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace joulecast_test {

template <typename E, typename F>
std::string MessageOf(F&& f, const std::string& none = "") {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return none;
}

inline std::string ErrorOf(const std::function<void()>& f) { return MessageOf<std::exception>(f); }

template <typename F>
std::string RuntimeErrorOf(F&& f) {
  return MessageOf<std::runtime_error>(std::forward<F>(f));
}

template <typename F>
std::string InvalidArgumentMessage(F&& f) {
  return MessageOf<std::invalid_argument>(std::forward<F>(f), "<no std::invalid_argument thrown>");
}

}  // namespace joulecast_test
