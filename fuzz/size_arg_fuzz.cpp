// The --input size argument: ParseShapeArg accepts only dims in [1, 2^40] with at most 2^53
// elements, and what it accepts, printed back as AxBxC, parses to the same shape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/io/size_arg.h"

using namespace joulecast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    const Shape s = ParseShapeArg(text, "--input");
    if (s.empty()) fuzz::Fail("empty shape accepted");
    double elements = 1;
    std::string printed;
    for (std::int64_t d : s) {
      if (d < 1 || d > (std::int64_t{1} << 40)) fuzz::Fail("dimension out of range accepted");
      elements *= static_cast<double>(d);
      printed += (printed.empty() ? "" : "x") + std::to_string(d);
    }
    if (elements > 9007199254740992.0) fuzz::Fail("more than 2^53 elements accepted");
    if (ParseShapeArg(printed, "--input") != s) fuzz::Fail("round trip differs: " + printed);
  });
  return 0;
}
