// The main() of every area's test executable (tests/CMakeLists.txt: tests/<area>/*_test.cpp linked
// into <area>_tests):
//
//   <area>_tests [gtest flags]                   every test of the area
//   <area>_tests --source=PATH [gtest flags]     the tests defined in PATH only (gtest's
//                                                TestInfo::file(), the file of TEST/TEST_F/TEST_P)
//
// ctest runs each test file as its own entry with --source, so that a file's tests run in a process
// of their own as when every file was an executable. With --source, a --gtest_filter may only
// exclude (-PATTERN). A PATH that defines no test of this executable is an error (exit 1): a
// renamed or moved file cannot make its entry pass by running nothing.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string source;
  constexpr const char* kFlag = "--source=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], kFlag, std::strlen(kFlag)) == 0) {
      source = argv[i] + std::strlen(kFlag);
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s' (expected --source=PATH or gtest flags)\n",
                   argv[0], argv[i]);
      return 1;
    }
  }
  if (source.empty()) return RUN_ALL_TESTS();

  std::string names;
  const testing::UnitTest& all = *testing::UnitTest::GetInstance();
  for (int s = 0; s < all.total_test_suite_count(); ++s) {
    const testing::TestSuite& suite = *all.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const testing::TestInfo& info = *suite.GetTestInfo(t);
      if (source != info.file()) continue;
      if (!names.empty()) names += ':';
      names += std::string(info.test_suite_name()) + "." + info.name();
    }
  }
  if (names.empty()) {
    std::fprintf(stderr, "%s: no test is defined in %s\n", argv[0], source.c_str());
    return 1;
  }
  // A given filter's negative part is kept; a positive part other than * cannot be intersected
  // with the file's tests in gtest's filter syntax: run the executable without --source for that.
  const std::string given = GTEST_FLAG_GET(filter);
  const std::string::size_type dash = given.find('-');
  const std::string positive = given.substr(0, dash);
  if (!positive.empty() && positive != "*") {
    std::fprintf(stderr, "%s: --source and a positive --gtest_filter ('%s') cannot be combined\n",
                 argv[0], given.c_str());
    return 1;
  }
  GTEST_FLAG_SET(filter, names + (dash == std::string::npos ? "" : given.substr(dash)));
  return RUN_ALL_TESTS();
}
