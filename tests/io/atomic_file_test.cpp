#include "joulecast/io/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace joulecast {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_atomic_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Number of entries in the directory (to catch leftover temporaries).
  std::size_t Entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }
  fs::path dir_;
};

TEST_F(AtomicFileTest, CommitCreatesTheFile) {
  const fs::path target = dir_ / "out.json";
  {
    AtomicFile f(target.string());
    f.stream() << "{\"a\": 1}\n";
    EXPECT_FALSE(fs::exists(target)) << "the target must not appear before Commit";
    f.Commit();
    EXPECT_TRUE(fs::exists(target));
  }
  EXPECT_EQ(Read(target), "{\"a\": 1}\n");
  EXPECT_EQ(Entries(), 1u) << "temporary left behind";
}

TEST_F(AtomicFileTest, DestructorWithoutCommitLeavesNoFile) {
  const fs::path target = dir_ / "out.jsonl";
  {
    AtomicFile f(target.string());
    f.stream() << "partial";
  }
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(Entries(), 0u) << "temporary left behind";
}

TEST_F(AtomicFileTest, DestructorWithoutCommitLeavesExistingTargetUntouched) {
  const fs::path target = dir_ / "profile.json";
  std::ofstream(target, std::ios::binary) << "old contents";
  {
    AtomicFile f(target.string());
    f.stream() << "new contents that must never land";
  }
  EXPECT_EQ(Read(target), "old contents");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(AtomicFileTest, ExceptionBeforeCommitLeavesExistingTargetUntouched) {
  const fs::path target = dir_ / "profile.json";
  std::ofstream(target, std::ios::binary) << "old";
  try {
    AtomicFile f(target.string());
    f.stream() << "half";
    throw std::runtime_error("fit failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(Read(target), "old");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(AtomicFileTest, CommitReplacesExistingTarget) {
  const fs::path target = dir_ / "profile.json";
  std::ofstream(target, std::ios::binary) << "old contents, longer than the new ones";
  WriteFileAtomically(target.string(), "new");
  EXPECT_EQ(Read(target), "new");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(AtomicFileTest, CommitKeepsTheTargetsPermissions) {
  const fs::path target = dir_ / "profile.json";
  WriteFileAtomically(target.string(), "old\n");
  // 0604: a mode no usual umask gives a new file, so the check fails without the carry-over.
  ASSERT_EQ(::chmod(target.c_str(), 0604), 0);
  WriteFileAtomically(target.string(), "new\n");
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  EXPECT_EQ(Read(target), "new\n");
}

TEST_F(AtomicFileTest, MissingDirectoryThrows) {
  const std::string target = (dir_ / "no_such_dir" / "out.json").string();
  try {
    AtomicFile f(target);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), target + ": cannot write (No such file or directory)");
  }
  EXPECT_FALSE(fs::exists(dir_ / "no_such_dir"));
}

TEST_F(AtomicFileTest, UnwritableDirectoryThrows) {
  // Permission bits do not stop root; a path through a regular file fails for everyone (ENOTDIR).
  const fs::path file = dir_ / "plain_file";
  std::ofstream(file) << "x";
  const std::string target = (file / "out.json").string();
  try {
    AtomicFile f(target);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), target + ": cannot write (Not a directory)");
  }
  if (::geteuid() != 0) {
    const fs::path ro = dir_ / "readonly";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec, fs::perm_options::replace);
    const std::string t2 = (ro / "out.json").string();
    try {
      AtomicFile f(t2);
      FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), t2 + ": cannot write (Permission denied)");
    }
    fs::permissions(ro, fs::perms::owner_all, fs::perm_options::add);
  }
}

TEST_F(AtomicFileTest, CommitOntoADirectoryThrowsAndCleansUp) {
  // rename(file, existing non-empty directory) fails: Commit must throw, and the temporary must go.
  const fs::path target = dir_ / "taken";
  fs::create_directories(target / "inner");
  {
    AtomicFile f(target.string());
    f.stream() << "data";
    EXPECT_THROW(f.Commit(), std::runtime_error);
  }
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_EQ(Entries(), 1u) << "temporary left behind after a failed Commit";
}

}  // namespace
}  // namespace joulecast
