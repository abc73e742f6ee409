// Whole-file outputs (profiles, imported measurement sets, reports) are written to a temporary file
// beside the target ("target.tmp.<pid>", same directory, so the rename is atomic), synced to disk
// and renamed over it on Commit(), so a crash or power cut never leaves a truncated file and a
// failed command leaves an existing file untouched. (The collector's append-only store is
// different: it appends and flushes record by record.)
#pragma once

#include <fstream>
#include <string>

namespace joulecast {

class AtomicFile {
 public:
  // Throws std::runtime_error "path: cannot write (reason)" when the temporary cannot be created.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  // Flushes and checks the stream, fsync()s the temporary, renames it onto the target and
  // fsync()s the directory. Throws "path: write failed", "path: cannot sync to disk (reason)" or
  // "path: cannot rename temporary file (reason)"; the temporary is then removed by the destructor.
  void Commit();

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

// Convenience: writes `text` atomically.
void WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace joulecast
