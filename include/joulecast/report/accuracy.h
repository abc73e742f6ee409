// Accuracies that `compare` plots against energy: `--accuracy alexnet=0.565,vgg16=0.716` or
// `--accuracy-csv FILE` (a header row with columns "name" and "accuracy", other columns ignored).
// An accuracy is a fraction in [0, 1] (top-1 0.761, not 76.1).
//
// Errors (std::invalid_argument from the list, std::runtime_error "path:line: ..." from the file),
// each naming the value:
//   "--accuracy: expected NAME=VALUE, got 'alexnet'"
//   "--accuracy: 'abc' is not a number (accuracy of 'alexnet')"
//   "--accuracy: accuracy of 'alexnet' must be between 0 and 1 (a fraction), got 76.1"
//   "--accuracy: 'alexnet' given twice"   (names compare case-insensitively)
#pragma once

#include <string>
#include <vector>

namespace joulecast::report {

struct Accuracy {
  std::string name;
  double value = 0;
};

// `option` ("--accuracy") prefixes the messages. An empty text is an error too.
std::vector<Accuracy> ParseAccuracyList(const std::string& text, const std::string& option);

// Throws std::runtime_error for a missing or unreadable file, a missing column, a bad or
// out-of-range number or a repeated name ("acc.csv:3: ..."), and for a file without rows.
std::vector<Accuracy> ReadAccuracyCsv(const std::string& path);

// Lower-case ASCII copy: how names are matched against the compared architectures.
std::string FoldCase(const std::string& name);

}  // namespace joulecast::report
