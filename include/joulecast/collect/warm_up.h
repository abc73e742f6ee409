// When the collector's warm-up of one configuration ends, before its timed runs (the libtorch
// runner's protocol, collect/torch_runner.h).
//
// A warm-up takes at least kMinWarmUpRuns runs and `warmup_seconds` (s). Without settling the
// heap that is all. With it (collector.h SettlesHeap: the kept and reserve heaps) it goes on until
// the last two runs in a row each faulted at most kSettledFaults fresh pages in (the heap no
// longer grows), or kMaxWarmUpRuns runs, or kMaxWarmUpSeconds (s) of warm-up, the time cap counting
// only from kMinRunsAtTimeCap runs on: a run that faults needs two quiet runs after it, so a cap
// that ended a step of 30 s at its second run could never see the heap settle.
// Header-only: the runner plugin (src/collect_torch/) links no joulecast library. Throws nothing.
#pragma once

#include <cstdint>

namespace joulecast {

inline constexpr std::int64_t kMinWarmUpRuns = 2;
inline constexpr long kSettledFaults = 64;  // 256 KiB of 4 KiB pages
inline constexpr std::int64_t kMaxWarmUpRuns = 32;
inline constexpr double kMaxWarmUpSeconds = 60;
inline constexpr std::int64_t kMinRunsAtTimeCap = 4;

struct WarmUpProgress {
  std::int64_t runs = 0;   // warm-up runs so far
  double seconds = 0;      // wall time since the warm-up began
  int quiet_in_a_row = 0;  // the last runs in a row that faulted at most kSettledFaults pages
};

// Whether the heap has settled: the last two runs in a row were quiet (a record's warmup_settled).
inline bool HeapSettled(const WarmUpProgress& p) { return p.quiet_in_a_row >= 2; }

inline bool WarmUpDone(const WarmUpProgress& p, double warmup_seconds, bool settle_heap) {
  if (p.runs < kMinWarmUpRuns || p.seconds < warmup_seconds) return false;
  if (!settle_heap || HeapSettled(p) || p.runs >= kMaxWarmUpRuns) return true;
  return p.seconds >= kMaxWarmUpSeconds && p.runs >= kMinRunsAtTimeCap;
}

}  // namespace joulecast
