// The collector's append-only store: a JSON Lines file of measurement records (io/measurement.h)
// that never loses a complete record.
//
//   - Append() builds the whole line in memory and hands it to the kernel with write() on an
//     O_APPEND descriptor, then fdatasync()s it: a process killed at any instant (kill -9) leaves
//     either the whole line or none of it; a crash of the machine mid-write can leave a torn tail.
//   - Opening an existing file reads every record and remembers its configuration key, so that a
//     re-run with the same arguments skips what is done (resume). A torn last line (no newline at
//     the end of the file, or a last line that is not valid JSON) is cut off with a warning; a
//     broken line before the last one is an error, since cutting it would lose complete records.
//   - An exclusive flock() keeps a second collector from appending to the same file at once.
//
// Errors (std::runtime_error) name the file: "out.jsonl: cannot open for appending: Permission
// denied", "out.jsonl:12: invalid JSON: ...", "out.jsonl: another process is appending to it".
#pragma once

#include <cstddef>
#include <functional>
#include <set>
#include <string>

#include "joulecast/io/measurement.h"

namespace joulecast {

// The identity of a measured configuration: what ran and how, not what was measured nor where it
// came from. Canonical JSON of type, params, batch_size, input_shape, dtype, mode, device and
// context.threads (null when absent). Two records with the same key measure the same thing.
std::string ConfigKey(const Measurement& m);

class MeasurementStore {
 public:
  using Warn = std::function<void(const std::string&)>;

  // Opens `path` for appending (creating it), locks it and reads the records already there.
  // `warn` receives one-line warnings (a torn last line that was cut off).
  MeasurementStore(const std::string& path, Warn warn);
  ~MeasurementStore();
  MeasurementStore(const MeasurementStore&) = delete;
  MeasurementStore& operator=(const MeasurementStore&) = delete;

  bool Done(const std::string& key) const { return keys_.count(key) > 0; }
  // Appends one record (one line), durable when this returns. Throws on a write error.
  void Append(const Measurement& m);

  const std::string& path() const { return path_; }
  std::size_t records() const { return records_; }         // in the file, old and new
  std::size_t torn_bytes_removed() const { return torn_; }  // 0 unless a torn tail was cut

 private:
  std::string path_;
  int fd_ = -1;
  std::set<std::string> keys_;
  std::size_t records_ = 0;
  std::size_t torn_ = 0;
};

}  // namespace joulecast
