#include "joulecast/collect/progress.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>

namespace joulecast {
namespace {

volatile std::sig_atomic_t g_stop = 0;
struct sigaction g_old_int, g_old_term;

extern "C" void OnStopSignal(int sig) {
  if (g_stop) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop = 1;
  static const char kMessage[] =
      "\njoulecast: stopping after the current configuration (Ctrl-C again to kill)\n";
  ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
}

}  // namespace

ProgressBar::ProgressBar(std::int64_t total, std::FILE* out, bool force_tty)
    : total_(total),
      out_(out),
      tty_(force_tty || (out != nullptr && isatty(fileno(out)))),
      start_(std::chrono::steady_clock::now()) {}

std::string ProgressBar::FormatEta(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<long long>(std::llround(s));
  char buffer[32];
  if (t >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  } else if (t >= 60) {
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", t / 60, t % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%llds", t);
  }
  return buffer;
}

std::string ProgressBar::Render(std::int64_t done, std::int64_t total, std::int64_t skipped,
                                double eta_s, const std::string& label, int width) {
  const double frac = total > 0 ? std::clamp(double(done) / double(total), 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(frac * width);
  std::string bar = "[";
  for (int i = 0; i < width; ++i) bar += i < filled ? '=' : (i == filled ? '>' : ' ');
  bar += "] " + std::to_string(done) + "/" + std::to_string(total);
  if (skipped > 0) bar += " (" + std::to_string(skipped) + " skipped)";
  bar += " " + FormatEta(eta_s) + " left";
  if (!label.empty()) bar += "  " + label;
  return bar;
}

void ProgressBar::Skipped() {
  ++done_;
  ++skipped_;
  Draw(false);
}

void ProgressBar::Measured(const std::string& label) {
  ++done_;
  ++measured_;
  label_ = label;
  Draw(false);
}

void ProgressBar::Draw(bool force) {
  if (!tty_ || out_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = measured_ > 0 ? elapsed / double(measured_) * double(total_ - done_)
                                   : (done_ >= total_ ? 0.0 : NAN);
  std::string line = Render(done_, total_, skipped_, eta, label_, 30);
  if (line.size() > 110) line.resize(110);
  std::fprintf(out_, "\r%s\033[K", line.c_str());
  std::fflush(out_);
}

void ProgressBar::Finish(const std::string& summary) {
  if (out_ == nullptr) return;
  if (tty_) {
    Draw(true);
    std::fputc('\n', out_);
  }
  if (!summary.empty()) std::fprintf(out_, "%s\n", summary.c_str());
  std::fflush(out_);
}

StopRequest::StopRequest() {
  g_stop = 0;
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopRequest::~StopRequest() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool StopRequest::Requested() { return g_stop != 0; }
void StopRequest::Reset() { g_stop = 0; }

}  // namespace joulecast
