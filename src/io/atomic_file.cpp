#include "joulecast/io/atomic_file.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace joulecast {
namespace {

// fsync()s the file at `file` (reopened: std::ofstream does not expose its descriptor).
void SyncPath(const std::string& file, const std::string& target) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(fmt::format("{}: cannot sync to disk ({})", target, std::strerror(err)));
  }
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = fmt::format("{}.tmp.{}", path_, static_cast<long>(::getpid()));
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_)
    throw std::runtime_error(fmt::format("{}: cannot write ({})", path_, std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::Commit() {
  out_.flush();
  bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok) throw std::runtime_error(fmt::format("{}: write failed", path_));
  // The data must be on disk before the rename makes it the target: otherwise a power cut right
  // after the rename can leave an empty or partial file under the target's name.
  SyncPath(tmp_, path_);
  // The rename replaces the target's inode: carry its permissions over (a group-writable or
  // read-only profile keeps them; a new file gets the umask's, as any other).
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    ::chmod(tmp_.c_str(), st.st_mode & 07777);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw std::runtime_error(
        fmt::format("{}: cannot rename temporary file ({})", path_, std::strerror(errno)));
  }
  committed_ = true;
  // And the rename itself, which lives in the directory (best effort: some file systems refuse
  // fsync on a directory, and the file is complete either way).
  const std::size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.stream() << text;
  f.Commit();
}

}  // namespace joulecast
