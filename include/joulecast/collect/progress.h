// Feedback and stopping for long collection runs.
//
// ProgressBar draws "[=====>    ] 40/100 (12 skipped) 1m20s left  Conv2d 64x56x56" on one line of
// stderr when stderr is a terminal, redrawn at most 10 times a second; the ETA is the mean time of
// the configurations measured in this run times those remaining. Off a terminal it prints nothing
// (logs stay clean; Finish() prints a one-line summary either way).
//
// StopRequest installs SIGINT/SIGTERM handlers for its lifetime: the first signal only sets a flag
// that the collector checks between configurations (the record in flight is finished and
// written); a second signal restores the default action, so a second Ctrl-C kills at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace joulecast {

class ProgressBar {
 public:
  // `total`: configurations this run will visit (done ones included); `out`: usually stderr.
  ProgressBar(std::int64_t total, std::FILE* out, bool force_tty = false);
  void Skipped();                           // a configuration already in the store
  void Measured(const std::string& label);  // one configuration done (measured or failed)
  void Finish(const std::string& summary);  // ends the bar and prints `summary` on its own line
  bool tty() const { return tty_; }

  // "[=====>    ] 40/100 ..." for given numbers; exposed for tests.
  static std::string Render(std::int64_t done, std::int64_t total, std::int64_t skipped,
                            double eta_s, const std::string& label, int width);
  // "1h02m", "3m05s", "42s", "?"
  static std::string FormatEta(double seconds);

 private:
  void Draw(bool force);
  std::int64_t total_, done_ = 0, skipped_ = 0, measured_ = 0;
  std::FILE* out_;
  bool tty_;
  std::string label_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

class StopRequest {
 public:
  StopRequest();   // installs the handlers
  ~StopRequest();  // restores the previous ones
  StopRequest(const StopRequest&) = delete;
  StopRequest& operator=(const StopRequest&) = delete;
  static bool Requested();
  static void Reset();  // for tests
};

}  // namespace joulecast
