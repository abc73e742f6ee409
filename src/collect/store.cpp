#include "joulecast/collect/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace joulecast {
namespace {

std::string Errno() { return std::strerror(errno); }

}  // namespace

std::string ConfigKey(const Measurement& m) {
  nlohmann::json threads = nullptr;
  if (auto it = m.context.find("threads"); it != m.context.end()) threads = *it;
  // The heap policy (collect/heap.h) changes a network's time: a record of the other policy does
  // not stand for this one. Absent means glibc's default, as in records made before it existed.
  nlohmann::json heap = nullptr;
  if (auto it = m.context.find("heap"); it != m.context.end()) heap = *it;
  // nlohmann::json objects are ordered maps: dump() is canonical.
  return nlohmann::json{{"type", m.type},
                        {"params", m.params},
                        {"batch_size", m.batch_size},
                        {"input_shape", m.input_shape},
                        {"dtype", m.dtype},
                        {"mode", m.mode},
                        {"device", m.device},
                        {"threads", threads},
                        {"heap", heap}}
      .dump();
}

MeasurementStore::MeasurementStore(const std::string& path, Warn warn) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot open for appending: " + Errno());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw std::runtime_error(path + ": another process is appending to it (locked)");
  }
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::pread(fd_, buffer, sizeof buffer, static_cast<off_t>(text.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string e = Errno();
      ::close(fd_);
      throw std::runtime_error(path + ": read error: " + e);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  std::size_t pos = 0, line_no = 0, keep = 0;
  try {
    while (pos < text.size()) {
      const std::size_t end = text.find('\n', pos);
      const bool complete = end != std::string::npos;
      const std::string line = text.substr(pos, (complete ? end : text.size()) - pos);
      const std::size_t next = complete ? end + 1 : text.size() + 1;
      ++line_no;
      const bool last = next >= text.size();
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        if (complete) keep = next;
        pos = next;
        continue;
      }
      const std::string where = path + ":" + std::to_string(line_no);
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) {
        if (!last) throw std::runtime_error(where + ": invalid JSON (not the last line: fix it)");
        break;  // torn tail: cut below
      }
      keys_.insert(ConfigKey(MeasurementFromJson(j, where)));
      if (!complete) {
        // A whole record without its newline (written by hand, or by another tool): keep it.
        if (::write(fd_, "\n", 1) != 1) throw std::runtime_error(path + ": write error: " + Errno());
        text += '\n';
      }
      ++records_;
      keep = next;
      pos = next;
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
  if (keep < text.size()) {
    torn_ = text.size() - keep;
    if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0) {
      const std::string e = Errno();
      ::close(fd_);
      throw std::runtime_error(path + ": cannot cut the torn last line: " + e);
    }
    if (warn) {
      warn(path + ":" + std::to_string(line_no) + ": removed a torn last line (" +
           std::to_string(torn_) + " bytes, an interrupted write); " + std::to_string(records_) +
           " complete records kept");
    }
  }
}

MeasurementStore::~MeasurementStore() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

void MeasurementStore::Append(const Measurement& m) {
  const std::string line = ToJson(m).dump() + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path_ + ": write error: " + Errno());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0 && errno != EINVAL) {
    throw std::runtime_error(path_ + ": cannot flush to disk: " + Errno());
  }
  keys_.insert(ConfigKey(m));
  ++records_;
}

}  // namespace joulecast
