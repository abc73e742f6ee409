#include "joulecast/io/atomic_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace joulecast {

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
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw std::runtime_error(
        fmt::format("{}: cannot rename temporary file ({})", path_, std::strerror(errno)));
  }
  committed_ = true;
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.stream() << text;
  f.Commit();
}

}  // namespace joulecast
