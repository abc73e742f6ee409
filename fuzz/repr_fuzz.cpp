// Printed PyTorch repr (print(model) text). An optional first line "input=CxHxW" chooses the input
// shape (through ParseShapeArg, as --input does); otherwise 3x224x224. The parsed network is then
// walked and predicted with the shipped profile.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "joulecast/arch/repr_parser.h"
#include "joulecast/arch/shape_inference.h"
#include "joulecast/io/size_arg.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile.h"

using namespace joulecast;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::ShippedProfile();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Profile& profile = fuzz::ShippedProfile();
  std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    Shape input = {3, 224, 224};
    if (text.rfind("input=", 0) == 0) {
      const std::size_t nl = text.find('\n');
      input = ParseShapeArg(text.substr(6, nl == std::string::npos ? nl : nl - 6), "--input");
      text = nl == std::string::npos ? std::string() : text.substr(nl + 1);
    }
    std::vector<std::string> notes;
    const Architecture arch = ParseModelRepr(text, input, "fuzz.txt", &notes);
    for (const std::string& n : notes) {
      if (n.find('\n') != std::string::npos) fuzz::Fail("multi-line note: " + n);
    }
    const NetworkEstimate est = EstimateNetwork(profile, arch, 1);
    fuzz::CheckFinite(est.total, "total");
    fuzz::CheckNonNegative(est.macs, "macs");
  });
  return 0;
}
