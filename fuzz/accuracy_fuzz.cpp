// Accuracies for `compare`: the --accuracy-csv file (report::ReadAccuracyCsv) and, from the same
// bytes, the --accuracy NAME=VALUE,... list. What reads must be fractions in [0, 1], with names
// that are not empty and not repeated (case-insensitively).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "joulecast/report/accuracy.h"

using namespace joulecast;

namespace {

void Check(const std::vector<report::Accuracy>& accs) {
  if (accs.empty()) fuzz::Fail("no accuracies accepted");
  std::set<std::string> seen;
  for (const report::Accuracy& a : accs) {
    fuzz::CheckNonNegative(a.value, "accuracy of " + a.name);
    if (a.value > 1) fuzz::Fail("accuracy above 1 accepted for " + a.name);
    if (a.name.empty()) fuzz::Fail("empty name accepted");
    if (!seen.insert(report::FoldCase(a.name)).second) fuzz::Fail("repeated name " + a.name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] { Check(report::ReadAccuracyCsv(fuzz::ScratchFile(text))); });
  fuzz::Guard(text, [&] { Check(report::ParseAccuracyList(text, "--accuracy")); });
  return 0;
}
